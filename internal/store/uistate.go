package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// UIState returns the saved state of username's IDE (a JSON object), or
// nil when none was saved.
func (s *Store) UIState(ctx context.Context, username string) (json.RawMessage, error) {
	var state string
	err := s.db.QueryRowContext(ctx, `SELECT state FROM ui_states WHERE username = $1`, username).Scan(&state)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: the workspace state of %s: %w", username, err)
	}
	return json.RawMessage(state), nil
}

// SetUIState saves state (a JSON object) as username's IDE state.
func (s *Store) SetUIState(ctx context.Context, username string, state json.RawMessage, now time.Time) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO ui_states (username, state, updated_at) VALUES ($1, $2, $3)
		ON CONFLICT (username) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at`,
		username, string(state), s.d.timeArg(now))
	if isForeignKeyViolation(err) {
		return fmt.Errorf("store: user %q: %w", username, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("store: the workspace state of %s: %w", username, err)
	}
	return nil
}
