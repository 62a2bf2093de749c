package web

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/pythonide/pythonide/internal/apierror"
	"github.com/pythonide/pythonide/internal/workspace"
)

// writeJSON answers with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

type errorBody struct {
	Error struct {
		Code    apierror.Code `json:"code"`
		Message string        `json:"message"`
	} `json:"error"`
}

// writeError answers with the API's error body. Internal causes go to the
// log, never to the client.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	e := apiError(err)
	status := e.HTTPStatus()
	if errors.Is(err, workspace.ErrFenced) {
		s.noteDenied(r, e.Message) // an exam's student outside their folder: in the exam's log
	}
	if status >= 500 {
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "code", e.Code, "err", err)
	} else if e.Err != nil {
		s.log.Debug("request refused", "method", r.Method, "path", r.URL.Path, "code", e.Code, "err", err)
	}
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(e.RetryAfter.Seconds()+0.999)))
	}
	var body errorBody
	body.Error.Code, body.Error.Message = e.Code, e.Message
	writeJSON(w, status, body)
}

// decodeJSON reads one JSON object of at most the configured size into v.
func (s *Server) decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return apierror.New(apierror.BadRequest, "Send the request body as JSON (Content-Type: application/json).")
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, s.cfg.MaxJSONBytes))
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return apierror.New(apierror.TooLarge, "The request is too large.")
		}
		if errors.Is(err, io.EOF) {
			return apierror.New(apierror.BadRequest, "The request body is empty; it should be JSON.")
		}
		return apierror.Wrap(err, apierror.BadRequest, "The request body is not valid JSON.")
	}
	if dec.More() {
		return apierror.New(apierror.BadRequest, "The request body has extra data after the JSON object.")
	}
	return nil
}

// logAttrs is what the access log records for every request.
func logAttrs(r *http.Request, status int, bytes int64) []slog.Attr {
	return []slog.Attr{
		slog.String("method", r.Method),
		slog.String("route", r.Pattern),
		slog.String("path", r.URL.Path),
		slog.Int("status", status),
		slog.Int64("bytes", bytes),
	}
}
