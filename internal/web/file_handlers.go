package web

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/pythonide/pythonide/internal/apierror"
	"github.com/pythonide/pythonide/internal/auth"
	"github.com/pythonide/pythonide/internal/workspace"
)

func actor(p auth.Principal) workspace.Actor {
	return workspace.Actor{Username: p.Username, Professor: p.Professor(), Limits: p.Limits}
}

type fileInfoView struct {
	Path  string    `json:"path"`
	Size  int64     `json:"size"`
	Mtime time.Time `json:"mtime"`
	ETag  string    `json:"etag"`
}

func infoView(fi workspace.FileInfo) fileInfoView {
	return fileInfoView{fi.Path, fi.Size, fi.Mtime.UTC(), fi.ETag}
}

type entryView struct {
	Name     string    `json:"name"`
	Path     string    `json:"path"`
	Type     string    `json:"type"`
	Size     int64     `json:"size"`
	Mtime    time.Time `json:"mtime"`
	Writable bool      `json:"writable"`
}

func (s *Server) listFiles(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	dir := r.URL.Query().Get("path")
	entries, err := s.ws.List(actor(p), dir)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := make([]entryView, 0, len(entries))
	for _, e := range entries {
		out = append(out, entryView{e.Name, e.Path, e.Type, e.Size, e.Mtime.UTC(), e.Writable})
	}
	writeJSON(w, http.StatusOK, map[string]any{"path": dir, "entries": out})
}

// contentType is the type a file is served with. Anything a browser could
// run (HTML, SVG, JavaScript) is served as plain text: students upload files
// and a teacher opens them on this same origin.
func contentType(name string) string {
	ext := strings.ToLower(path.Ext(name))
	switch ext {
	case ".png", ".jpg", ".jpeg", ".gif", ".webp", ".pdf", ".zip":
		return mime.TypeByExtension(ext)
	case ".py":
		return "text/x-python; charset=utf-8"
	case ".json":
		return "application/json; charset=utf-8"
	case ".csv":
		return "text/csv; charset=utf-8"
	}
	return "text/plain; charset=utf-8"
}

func (s *Server) readFile(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	name := r.URL.Query().Get("path")
	f, fi, err := s.ws.Read(actor(p), name)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	defer f.Close()
	h := w.Header()
	h.Set("Content-Type", contentType(name))
	h.Set("ETag", fi.ETag)
	h.Set("Cache-Control", "no-cache")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	http.ServeContent(w, r, "", fi.Mtime, f)
}

func (s *Server) writeFile(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	name := r.URL.Query().Get("path")
	body := http.MaxBytesReader(w, r.Body, s.cfg.MaxFileBytes+1)
	fi, err := s.ws.Write(actor(p), name, body, r.Header.Get("If-Match"))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			err = apierror.New(apierror.TooLarge, "The file is too large: the limit is %s.", humanBytes(s.cfg.MaxFileBytes))
		}
		s.writeError(w, r, err)
		return
	}
	s.note(r.Context(), p.Username, "save", name) // in the exam's log, when p sits one
	w.Header().Set("ETag", fi.ETag)
	writeJSON(w, http.StatusOK, infoView(fi))
}

type pathReq struct {
	Path string `json:"path"`
}

type moveReq struct {
	From string `json:"from"`
	To   string `json:"to"`
}

func (s *Server) mkdir(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	var req pathReq
	if err := s.decodeJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.Path == "" {
		s.writeError(w, r, apierror.New(apierror.BadRequest, "Give the new folder a name."))
		return
	}
	if err := s.ws.Mkdir(actor(p), req.Path); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.note(r.Context(), p.Username, "mkdir", req.Path)
	writeJSON(w, http.StatusCreated, req)
}

func (s *Server) move(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	var req moveReq
	if err := s.decodeJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.ws.Move(actor(p), req.From, req.To); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.note(r.Context(), p.Username, "move", req.From+" → "+req.To)
	writeJSON(w, http.StatusOK, req)
}

func (s *Server) copy(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	var req moveReq
	if err := s.decodeJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.ws.Copy(actor(p), req.From, req.To); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.note(r.Context(), p.Username, "copy", req.From+" → "+req.To)
	writeJSON(w, http.StatusCreated, req)
}

func (s *Server) deleteFile(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	path := r.URL.Query().Get("path")
	if err := s.ws.Delete(actor(p), path); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.note(r.Context(), p.Username, "delete", path)
	w.WriteHeader(http.StatusNoContent)
}

// upload streams each part of a multipart body into the workspace; nothing
// is buffered whole in memory. Each file is limited like a save, the quota
// limits the total.
func (s *Server) upload(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	dir := r.URL.Query().Get("dir")
	r.Body = http.MaxBytesReader(w, r.Body, s.cfg.QuotaBytes+s.cfg.MaxFileBytes+(1<<20))
	mr, err := r.MultipartReader()
	if err != nil {
		s.writeError(w, r, apierror.Wrap(err, apierror.BadRequest, "Send the files as a multipart form with the field \"file\"."))
		return
	}
	var saved []fileInfoView
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				s.writeError(w, r, apierror.New(apierror.TooLarge, "The upload is too large."))
				return
			}
			s.writeError(w, r, apierror.Wrap(err, apierror.BadRequest, "The upload could not be read. Please try again."))
			return
		}
		if part.FormName() != "file" {
			part.Close()
			continue
		}
		name := part.FileName()
		if name == "" {
			part.Close()
			s.writeError(w, r, apierror.New(apierror.BadRequest, "Every uploaded file needs a name."))
			return
		}
		target, err := workspace.JoinName(dir, name)
		if err != nil {
			part.Close()
			s.writeError(w, r, err)
			return
		}
		fi, err := s.ws.Write(actor(p), target, part, "")
		part.Close()
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		saved = append(saved, infoView(fi))
		s.note(r.Context(), p.Username, "save", target+" (uploaded)")
	}
	if len(saved) == 0 {
		s.writeError(w, r, apierror.New(apierror.BadRequest, "No file was sent: use the form field \"file\"."))
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"files": saved})
}

func (s *Server) download(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	name := r.URL.Query().Get("path")
	e, err := s.ws.Stat(actor(p), name)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	base := e.Name
	if base == "" {
		base = "workspace"
	}
	if e.Type == "dir" {
		w.Header().Set("Content-Type", "application/zip")
		w.Header().Set("Content-Disposition", attachment(base+".zip"))
		zw := &countingWriter{w: w}
		if err := s.ws.Zip(actor(p), name, zw); err != nil {
			if zw.n == 0 { // refused before the first byte (the root, Local): say why
				w.Header().Del("Content-Disposition")
				s.writeError(w, r, err)
				return
			}
			// Headers are gone; the truncated zip fails to open, which is
			// the honest outcome. Log why.
			s.log.Warn("zip download failed", "path", name, "err", err)
		}
		return
	}
	f, fi, err := s.ws.Read(actor(p), name)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	defer f.Close()
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", attachment(base))
	w.Header().Set("ETag", fi.ETag)
	http.ServeContent(w, r, "", fi.Mtime, f)
}

// searchFiles searches a folder's file names and text; the workspace bounds
// the work (matches, files, bytes, two seconds) and stops if the asker goes.
func (s *Server) searchFiles(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	q := r.URL.Query()
	res, err := s.ws.Search(actor(p), q.Get("path"), q.Get("q"), workspace.SearchOptions{Done: r.Context().Done()})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// countingWriter counts what went through it, to know whether the answer
// has begun.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}

// attachment is a Content-Disposition that survives any file name.
func attachment(name string) string {
	ascii := strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' {
			return '_'
		}
		return r
	}, name)
	return `attachment; filename="` + ascii + `"; filename*=UTF-8''` + url.PathEscape(name)
}

func humanBytes(n int64) string {
	if n%(1<<20) == 0 {
		return strconv.FormatInt(n>>20, 10) + " MB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}
