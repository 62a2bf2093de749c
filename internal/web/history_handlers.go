package web

import (
	"net/http"
	"time"

	"github.com/pythonide/pythonide/internal/auth"
)

// File history and the trash (internal/workspace history.go, trash.go).

type versionView struct {
	ID      string    `json:"id"`
	SavedAt time.Time `json:"saved_at"`
	Size    int64     `json:"size"`
	ETag    string    `json:"etag"`
}

// fileHistory lists the kept versions of a file, newest first.
func (s *Server) fileHistory(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	name := r.URL.Query().Get("path")
	vs, err := s.ws.History(actor(p), name)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := make([]versionView, 0, len(vs))
	for _, v := range vs {
		out = append(out, versionView{v.ID, v.SavedAt.UTC(), v.Size, v.ETag})
	}
	writeJSON(w, http.StatusOK, map[string]any{"path": name, "versions": out})
}

// versionContent serves one version's bytes as GET /api/files/content
// serves the file: nothing a browser could run is served as such.
func (s *Server) versionContent(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	q := r.URL.Query()
	name := q.Get("path")
	f, v, err := s.ws.Version(actor(p), name, q.Get("version"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	defer f.Close()
	h := w.Header()
	h.Set("Content-Type", contentType(name))
	h.Set("ETag", v.ETag)
	h.Set("Cache-Control", "no-cache")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	http.ServeContent(w, r, "", v.SavedAt, f)
}

type restoreVersionReq struct {
	Path    string `json:"path"`
	Version string `json:"version"`
}

// restoreVersion saves a version as the file's content (an ordinary save:
// what the file held becomes a version).
func (s *Server) restoreVersion(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	var req restoreVersionReq
	if err := s.decodeJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	fi, err := s.ws.Restore(actor(p), req.Path, req.Version)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("ETag", fi.ETag)
	writeJSON(w, http.StatusOK, infoView(fi))
}

type trashItemView struct {
	ID        string    `json:"id"`
	Path      string    `json:"path"`
	Type      string    `json:"type"`
	Size      int64     `json:"size"`
	DeletedAt time.Time `json:"deleted_at"`
}

// listTrash lists the asker's trash (a professor: ?user=U's), newest first.
func (s *Server) listTrash(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	items, err := s.ws.Trash(actor(p), r.URL.Query().Get("user"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := make([]trashItemView, 0, len(items))
	for _, it := range items {
		out = append(out, trashItemView{it.ID, it.Path, it.Type, it.Size, it.DeletedAt.UTC()})
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": out})
}

type restoreTrashReq struct {
	ID   string `json:"id"`
	User string `json:"user"` // a professor restoring a student's item; "" is the asker
}

// restoreTrash puts an item back; the answer says where it went.
func (s *Server) restoreTrash(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	var req restoreTrashReq
	if err := s.decodeJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	at, err := s.ws.RestoreTrash(actor(p), req.User, req.ID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"path": at})
}
