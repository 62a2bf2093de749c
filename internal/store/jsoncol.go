package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// ErrInvalidJSON is returned when a JSON column is given something that is not
// JSON of the expected kind.
var ErrInvalidJSON = errors.New("invalid JSON")

// jsonArg validates raw as a JSON array ('[') or object ('{') and returns it
// compacted; empty means def. Checking here gives the same error on both
// backends, before the database's own CHECK constraint would.
func jsonArg(raw json.RawMessage, kind byte, def string) (string, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return def, nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return "", fmt.Errorf("%w: %v", ErrInvalidJSON, err)
	}
	if buf.Len() == 0 || buf.Bytes()[0] != kind {
		want := "an array"
		if kind == '{' {
			want = "an object"
		}
		return "", fmt.Errorf("%w: want %s, got %.40s", ErrInvalidJSON, want, buf.String())
	}
	return buf.String(), nil
}

// jsonCol scans a JSON column (TEXT on SQLite, JSONB on PostgreSQL) into a
// compact RawMessage, so both backends return the same bytes for the same
// value (JSONB still reorders object keys; compare values, not bytes).
type jsonCol struct{ m *json.RawMessage }

func (c jsonCol) Scan(src any) error {
	var b []byte
	switch v := src.(type) {
	case nil:
		*c.m = nil
		return nil
	case string:
		b = []byte(v)
	case []byte:
		b = v
	default:
		return fmt.Errorf("store: cannot scan %T into JSON", src)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return fmt.Errorf("store: stored JSON is invalid: %w", err)
	}
	*c.m = json.RawMessage(buf.Bytes())
	return nil
}
