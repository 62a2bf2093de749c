package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// migration is one schema step, written once per dialect. Steps are only
// ever appended: a released step is never edited, because databases in the
// field have already run it.
type migration struct {
	name     string
	sqlite   []string
	postgres []string
}

func (m migration) statements(d dialect) []string {
	if d == dialectPostgres {
		return m.postgres
	}
	return m.sqlite
}

// migrations is the ordered schema history; version N is migrations()[N-1].
// Usernames and token hashes compare bytewise on both backends (SQLite's
// BINARY; COLLATE "C" on PostgreSQL) so uniqueness and ORDER BY agree.
func migrations() []migration {
	return []migration{
		{
			name: "users and user_sessions",
			sqlite: []string{
				`CREATE TABLE users (
					id            INTEGER PRIMARY KEY AUTOINCREMENT,
					username      TEXT    NOT NULL UNIQUE,
					password_hash TEXT    NOT NULL,
					full_name     TEXT    NOT NULL DEFAULT '',
					role          TEXT    NOT NULL CHECK (role IN ('student', 'professor')),
					active        INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
					created_at    INTEGER NOT NULL,
					last_login_at INTEGER
				) STRICT`,
				`CREATE TABLE user_sessions (
					id               INTEGER PRIMARY KEY AUTOINCREMENT,
					username         TEXT    NOT NULL REFERENCES users (username) ON DELETE CASCADE,
					token_hash       TEXT    NOT NULL UNIQUE,
					client_addr      TEXT    NOT NULL DEFAULT '',
					login_time       INTEGER NOT NULL,
					last_activity    INTEGER NOT NULL,
					expires_at       INTEGER NOT NULL,
					active_processes TEXT    NOT NULL DEFAULT '[]'
						CHECK (json_valid(active_processes) AND json_type(active_processes) = 'array'),
					resource_usage   TEXT    NOT NULL DEFAULT '{}'
						CHECK (json_valid(resource_usage) AND json_type(resource_usage) = 'object')
				) STRICT`,
				`CREATE INDEX user_sessions_username_idx ON user_sessions (username)`,
				`CREATE INDEX user_sessions_last_activity_idx ON user_sessions (last_activity)`,
				`CREATE INDEX user_sessions_expires_at_idx ON user_sessions (expires_at)`,
			},
			postgres: []string{
				`CREATE TABLE users (
					id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
					username      TEXT COLLATE "C" NOT NULL UNIQUE,
					password_hash TEXT        NOT NULL,
					full_name     TEXT        NOT NULL DEFAULT '',
					role          TEXT        NOT NULL CHECK (role IN ('student', 'professor')),
					active        BOOLEAN     NOT NULL DEFAULT TRUE,
					created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
					last_login_at TIMESTAMPTZ
				)`,
				`CREATE TABLE user_sessions (
					id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
					username         TEXT COLLATE "C" NOT NULL REFERENCES users (username) ON DELETE CASCADE,
					token_hash       TEXT COLLATE "C" NOT NULL UNIQUE,
					client_addr      TEXT        NOT NULL DEFAULT '',
					login_time       TIMESTAMPTZ NOT NULL DEFAULT now(),
					last_activity    TIMESTAMPTZ NOT NULL DEFAULT now(),
					expires_at       TIMESTAMPTZ NOT NULL,
					active_processes JSONB       NOT NULL DEFAULT '[]'
						CHECK (jsonb_typeof(active_processes) = 'array'),
					resource_usage   JSONB       NOT NULL DEFAULT '{}'
						CHECK (jsonb_typeof(resource_usage) = 'object')
				)`,
				`CREATE INDEX user_sessions_username_idx ON user_sessions (username)`,
				`CREATE INDEX user_sessions_last_activity_idx ON user_sessions (last_activity)`,
				`CREATE INDEX user_sessions_expires_at_idx ON user_sessions (expires_at)`,
			},
		},
		{
			// Several instances sharing one database (internal/cluster):
			// the servers alive, their live processes (global admission),
			// which server hosts each student's programs, failed logins
			// (throttling across instances), and the secret the servers
			// vouch for each other with.
			name: "instances, live processes, homes, login failures, cluster secret",
			sqlite: []string{
				`CREATE TABLE instances (
					id           TEXT    PRIMARY KEY,
					address      TEXT    NOT NULL,
					started_at   INTEGER NOT NULL,
					heartbeat_at INTEGER NOT NULL,
					draining     INTEGER NOT NULL DEFAULT 0 CHECK (draining IN (0, 1))
				) STRICT`,
				`CREATE TABLE live_processes (
					id          TEXT    PRIMARY KEY,
					instance    TEXT    NOT NULL,
					owner       TEXT    NOT NULL,
					path        TEXT    NOT NULL DEFAULT '',
					kind        TEXT    NOT NULL,
					charged     INTEGER NOT NULL,
					counted     INTEGER NOT NULL DEFAULT 1 CHECK (counted IN (0, 1)),
					admitted_at INTEGER NOT NULL
				) STRICT`,
				`CREATE INDEX live_processes_instance_idx ON live_processes (instance)`,
				`CREATE INDEX live_processes_owner_idx ON live_processes (owner)`,
				`CREATE TABLE homes (
					owner    TEXT    PRIMARY KEY,
					instance TEXT    NOT NULL,
					since    INTEGER NOT NULL
				) STRICT`,
				`CREATE TABLE login_failures (
					key TEXT    NOT NULL,
					at  INTEGER NOT NULL
				) STRICT`,
				`CREATE INDEX login_failures_key_idx ON login_failures (key, at)`,
				`CREATE TABLE cluster_secret (
					id     INTEGER PRIMARY KEY CHECK (id = 1),
					secret TEXT    NOT NULL
				) STRICT`,
			},
			postgres: []string{
				`CREATE TABLE instances (
					id           TEXT COLLATE "C" PRIMARY KEY,
					address      TEXT        NOT NULL,
					started_at   TIMESTAMPTZ NOT NULL,
					heartbeat_at TIMESTAMPTZ NOT NULL,
					draining     BOOLEAN     NOT NULL DEFAULT FALSE
				)`,
				`CREATE TABLE live_processes (
					id          TEXT COLLATE "C" PRIMARY KEY,
					instance    TEXT COLLATE "C" NOT NULL,
					owner       TEXT COLLATE "C" NOT NULL,
					path        TEXT        NOT NULL DEFAULT '',
					kind        TEXT        NOT NULL,
					charged     BIGINT      NOT NULL,
					counted     BOOLEAN     NOT NULL DEFAULT TRUE,
					admitted_at TIMESTAMPTZ NOT NULL
				)`,
				`CREATE INDEX live_processes_instance_idx ON live_processes (instance)`,
				`CREATE INDEX live_processes_owner_idx ON live_processes (owner)`,
				`CREATE TABLE homes (
					owner    TEXT COLLATE "C" PRIMARY KEY,
					instance TEXT COLLATE "C" NOT NULL,
					since    TIMESTAMPTZ NOT NULL
				)`,
				`CREATE TABLE login_failures (
					key TEXT COLLATE "C" NOT NULL,
					at  TIMESTAMPTZ NOT NULL
				)`,
				`CREATE INDEX login_failures_key_idx ON login_failures (key, at)`,
				`CREATE TABLE cluster_secret (
					id     INTEGER PRIMARY KEY CHECK (id = 1),
					secret TEXT    NOT NULL
				)`,
			},
		},
		{
			// Homework (internal/assignment): assignments with their tests
			// (kept here, out of every file system a program sees), and the
			// students' submissions with their grades. The snapshots
			// themselves are folders on the data volume.
			name: "assignments, tests, submissions",
			sqlite: []string{
				`CREATE TABLE assignments (
					id           TEXT    PRIMARY KEY,
					title        TEXT    NOT NULL,
					instructions TEXT    NOT NULL DEFAULT '',
					starter      TEXT    NOT NULL DEFAULT '',
					due_at       INTEGER NOT NULL,
					time_zone    TEXT    NOT NULL,
					late_minutes INTEGER NOT NULL DEFAULT 0,
					feedback     TEXT    NOT NULL DEFAULT 'all' CHECK (feedback IN ('all', 'summary')),
					test_seconds INTEGER NOT NULL DEFAULT 10,
					points       TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(points) AND json_type(points) = 'object'),
					created_by   TEXT    NOT NULL,
					created_at   INTEGER NOT NULL,
					published_at INTEGER
				) STRICT`,
				`CREATE TABLE assignment_tests (
					assignment TEXT NOT NULL REFERENCES assignments (id) ON DELETE CASCADE,
					name       TEXT NOT NULL,
					content    TEXT NOT NULL,
					PRIMARY KEY (assignment, name)
				) STRICT`,
				`CREATE TABLE submissions (
					id           TEXT    PRIMARY KEY,
					assignment   TEXT    NOT NULL REFERENCES assignments (id) ON DELETE CASCADE,
					username     TEXT    NOT NULL,
					seq          INTEGER NOT NULL,
					submitted_at INTEGER NOT NULL,
					late         INTEGER NOT NULL DEFAULT 0 CHECK (late IN (0, 1)),
					files        INTEGER NOT NULL,
					bytes        INTEGER NOT NULL,
					chosen       INTEGER NOT NULL DEFAULT 0 CHECK (chosen IN (0, 1)),
					grade_state  TEXT    NOT NULL DEFAULT '',
					score        REAL    NOT NULL DEFAULT 0,
					max_score    REAL    NOT NULL DEFAULT 0,
					results      TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(results) AND json_type(results) = 'array'),
					graded_at    INTEGER,
					comment      TEXT    NOT NULL DEFAULT '',
					UNIQUE (assignment, username, seq)
				) STRICT`,
				`CREATE INDEX submissions_user_idx ON submissions (username)`,
			},
			postgres: []string{
				`CREATE TABLE assignments (
					id           TEXT COLLATE "C" PRIMARY KEY,
					title        TEXT        NOT NULL,
					instructions TEXT        NOT NULL DEFAULT '',
					starter      TEXT        NOT NULL DEFAULT '',
					due_at       TIMESTAMPTZ NOT NULL,
					time_zone    TEXT        NOT NULL,
					late_minutes INTEGER     NOT NULL DEFAULT 0,
					feedback     TEXT        NOT NULL DEFAULT 'all' CHECK (feedback IN ('all', 'summary')),
					test_seconds INTEGER     NOT NULL DEFAULT 10,
					points       JSONB       NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(points) = 'object'),
					created_by   TEXT        NOT NULL,
					created_at   TIMESTAMPTZ NOT NULL,
					published_at TIMESTAMPTZ
				)`,
				`CREATE TABLE assignment_tests (
					assignment TEXT COLLATE "C" NOT NULL REFERENCES assignments (id) ON DELETE CASCADE,
					name       TEXT COLLATE "C" NOT NULL,
					content    TEXT NOT NULL,
					PRIMARY KEY (assignment, name)
				)`,
				`CREATE TABLE submissions (
					id           TEXT COLLATE "C" PRIMARY KEY,
					assignment   TEXT COLLATE "C" NOT NULL REFERENCES assignments (id) ON DELETE CASCADE,
					username     TEXT COLLATE "C" NOT NULL,
					seq          INTEGER     NOT NULL,
					submitted_at TIMESTAMPTZ NOT NULL,
					late         BOOLEAN     NOT NULL DEFAULT FALSE,
					files        INTEGER     NOT NULL,
					bytes        BIGINT      NOT NULL,
					chosen       BOOLEAN     NOT NULL DEFAULT FALSE,
					grade_state  TEXT        NOT NULL DEFAULT '',
					score        DOUBLE PRECISION NOT NULL DEFAULT 0,
					max_score    DOUBLE PRECISION NOT NULL DEFAULT 0,
					results      JSONB       NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(results) = 'array'),
					graded_at    TIMESTAMPTZ,
					comment      TEXT        NOT NULL DEFAULT '',
					UNIQUE (assignment, username, seq)
				)`,
				`CREATE INDEX submissions_user_idx ON submissions (username)`,
			},
		},
		{
			// The grading queue (internal/assignment): who grades a
			// submission now and since when, so several instances take
			// each one once and a grader that died gives it back.
			name: "grading claims",
			sqlite: []string{
				`ALTER TABLE submissions ADD COLUMN grading_by TEXT NOT NULL DEFAULT ''`,
				`ALTER TABLE submissions ADD COLUMN grading_since INTEGER`,
				`CREATE INDEX submissions_grade_idx ON submissions (grade_state, submitted_at)`,
			},
			postgres: []string{
				`ALTER TABLE submissions ADD COLUMN grading_by TEXT NOT NULL DEFAULT ''`,
				`ALTER TABLE submissions ADD COLUMN grading_since TIMESTAMPTZ`,
				`CREATE INDEX submissions_grade_idx ON submissions (grade_state, submitted_at)`,
			},
		},
		{
			// What a user's IDE had open (tabs, cursors, the tree's open
			// folders, consoles), so a reload or another browser brings it
			// back. Opaque JSON to the store; the web layer bounds it.
			name: "workspace states",
			sqlite: []string{
				`CREATE TABLE ui_states (
					username   TEXT    PRIMARY KEY REFERENCES users (username) ON DELETE CASCADE,
					state      TEXT    NOT NULL,
					updated_at INTEGER NOT NULL
				)`,
			},
			postgres: []string{
				`CREATE TABLE ui_states (
					username   TEXT COLLATE "C" PRIMARY KEY REFERENCES users (username) ON DELETE CASCADE,
					state      JSONB       NOT NULL,
					updated_at TIMESTAMPTZ NOT NULL
				)`,
			},
		},
		{
			// Exams (internal/exam): an assignment with a time window for
			// some students. The start and the end are each claimed by one
			// instance (started_at/by, ended_at/by) and marked done
			// (opened_at, finished_at), so they happen once and a claim
			// left by an instance that died is taken over. exam_students
			// keeps who sits it, whether they are connected (written by the
			// instance that holds their WebSocket) and their final
			// snapshot; exam_events is the log the teacher reads.
			name: "exams",
			sqlite: []string{
				`CREATE TABLE exams (
					assignment   TEXT    PRIMARY KEY REFERENCES assignments (id) ON DELETE CASCADE,
					starts_at    INTEGER NOT NULL,
					ends_at      INTEGER NOT NULL,
					course_notes INTEGER NOT NULL DEFAULT 0 CHECK (course_notes IN (0, 1)),
					created_by   TEXT    NOT NULL,
					created_at   INTEGER NOT NULL,
					started_at   INTEGER,
					started_by   TEXT    NOT NULL DEFAULT '',
					opened_at    INTEGER,
					ended_at     INTEGER,
					ended_by     TEXT    NOT NULL DEFAULT '',
					finished_at  INTEGER,
					CHECK (ends_at >= starts_at)
				) STRICT`,
				`CREATE INDEX exams_ends_idx ON exams (ends_at)`,
				`CREATE TABLE exam_students (
					exam       TEXT    NOT NULL REFERENCES exams (assignment) ON DELETE CASCADE,
					username   TEXT    NOT NULL REFERENCES users (username) ON DELETE CASCADE,
					connected  INTEGER NOT NULL DEFAULT 0 CHECK (connected IN (0, 1)),
					seen_at    INTEGER,
					final      TEXT    NOT NULL DEFAULT '',
					PRIMARY KEY (exam, username)
				) STRICT`,
				`CREATE INDEX exam_students_user_idx ON exam_students (username)`,
				`CREATE TABLE exam_events (
					id       INTEGER PRIMARY KEY AUTOINCREMENT,
					exam     TEXT    NOT NULL REFERENCES exams (assignment) ON DELETE CASCADE,
					username TEXT    NOT NULL,
					at       INTEGER NOT NULL,
					kind     TEXT    NOT NULL,
					detail   TEXT    NOT NULL DEFAULT ''
				) STRICT`,
				`CREATE INDEX exam_events_exam_idx ON exam_events (exam, id)`,
				`CREATE INDEX exam_events_last_idx ON exam_events (exam, username, kind, at)`,
			},
			postgres: []string{
				`CREATE TABLE exams (
					assignment   TEXT COLLATE "C" PRIMARY KEY REFERENCES assignments (id) ON DELETE CASCADE,
					starts_at    TIMESTAMPTZ NOT NULL,
					ends_at      TIMESTAMPTZ NOT NULL,
					course_notes BOOLEAN     NOT NULL DEFAULT FALSE,
					created_by   TEXT        NOT NULL,
					created_at   TIMESTAMPTZ NOT NULL,
					started_at   TIMESTAMPTZ,
					started_by   TEXT        NOT NULL DEFAULT '',
					opened_at    TIMESTAMPTZ,
					ended_at     TIMESTAMPTZ,
					ended_by     TEXT        NOT NULL DEFAULT '',
					finished_at  TIMESTAMPTZ,
					CHECK (ends_at >= starts_at)
				)`,
				`CREATE INDEX exams_ends_idx ON exams (ends_at)`,
				`CREATE TABLE exam_students (
					exam       TEXT COLLATE "C" NOT NULL REFERENCES exams (assignment) ON DELETE CASCADE,
					username   TEXT COLLATE "C" NOT NULL REFERENCES users (username) ON DELETE CASCADE,
					connected  BOOLEAN     NOT NULL DEFAULT FALSE,
					seen_at    TIMESTAMPTZ,
					final      TEXT        NOT NULL DEFAULT '',
					PRIMARY KEY (exam, username)
				)`,
				`CREATE INDEX exam_students_user_idx ON exam_students (username)`,
				`CREATE TABLE exam_events (
					id       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
					exam     TEXT COLLATE "C" NOT NULL REFERENCES exams (assignment) ON DELETE CASCADE,
					username TEXT COLLATE "C" NOT NULL,
					at       TIMESTAMPTZ NOT NULL,
					kind     TEXT        NOT NULL,
					detail   TEXT        NOT NULL DEFAULT ''
				)`,
				`CREATE INDEX exam_events_exam_idx ON exam_events (exam, id)`,
				`CREATE INDEX exam_events_last_idx ON exam_events (exam, username, kind, at)`,
			},
		},
	}
}

// migrate applies the missing steps in one transaction, so a failed step
// leaves the schema as it was. On PostgreSQL a transaction-scoped advisory
// lock (keyed by schema) makes instances that start together queue: the
// first migrates, the others then find nothing to do. On SQLite the
// immediate transaction already holds the database's write lock.
func migrate(ctx context.Context, db *sql.DB, d dialect) error {
	all := migrations()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: connecting to the database: %w", err)
	}
	defer tx.Rollback()

	versionTable := `CREATE TABLE IF NOT EXISTS schema_version (
		version    INTEGER PRIMARY KEY,
		name       TEXT    NOT NULL,
		applied_at INTEGER NOT NULL
	) STRICT`
	if d == dialectPostgres {
		if _, err := tx.ExecContext(ctx,
			`SELECT pg_advisory_xact_lock(hashtext('pythonide.migrate:' || current_schema()))`); err != nil {
			return fmt.Errorf("store: locking for migration: %w", err)
		}
		versionTable = `CREATE TABLE IF NOT EXISTS schema_version (
			version    INTEGER     PRIMARY KEY,
			name       TEXT        NOT NULL,
			applied_at TIMESTAMPTZ NOT NULL
		)`
	}
	if _, err := tx.ExecContext(ctx, versionTable); err != nil {
		return fmt.Errorf("store: creating schema_version: %w", err)
	}

	var current int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_version`).Scan(&current); err != nil {
		return fmt.Errorf("store: reading schema version: %w", err)
	}
	if current > len(all) {
		// A newer server has migrated this database; running old code on it
		// could corrupt data, so refuse rather than guess.
		return fmt.Errorf("store: database schema version %d is newer than this server knows (%d); upgrade the server", current, len(all))
	}
	for v := current + 1; v <= len(all); v++ {
		m := all[v-1]
		for _, stmt := range m.statements(d) {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("store: migration %d (%s): %w", v, m.name, err)
			}
		}
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO schema_version (version, name, applied_at) VALUES ($1, $2, $3)`,
			v, m.name, d.timeArg(time.Now())); err != nil {
			return fmt.Errorf("store: recording migration %d: %w", v, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: committing migrations: %w", err)
	}
	return nil
}
