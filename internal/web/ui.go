package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
)

// The browser IDE, built from ui/ by `npm run build` (see docs/ui.md) and
// committed, so `go build` alone yields the whole product.
//
//go:embed all:assets
var uiAssets embed.FS

// uiFile is one built file, kept compressed beside the original so each
// request costs no compression work.
type uiFile struct {
	body  []byte
	gz    []byte // nil when compressing does not pay
	ctype string
	etag  string
}

// uiFiles are the embedded index page and its hashed assets.
type uiFiles struct {
	index  uiFile
	assets map[string]uiFile // by name under /assets/
}

func loadUI(fsys fs.FS) (*uiFiles, error) {
	u := &uiFiles{assets: map[string]uiFile{}}
	idx, err := fs.ReadFile(fsys, "assets/index.html")
	if err != nil {
		return nil, fmt.Errorf("the UI build is missing (run npm run build in ui/): %w", err)
	}
	u.index = newUIFile("index.html", idx)
	entries, err := fs.ReadDir(fsys, "assets/assets")
	if err != nil {
		return nil, fmt.Errorf("the UI build has no assets folder: %w", err)
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		b, err := fs.ReadFile(fsys, "assets/assets/"+e.Name())
		if err != nil {
			return nil, err
		}
		u.assets[e.Name()] = newUIFile(e.Name(), b)
	}
	return u, nil
}

func newUIFile(name string, b []byte) uiFile {
	sum := sha256.Sum256(b)
	f := uiFile{body: b, etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
	f.ctype = mime.TypeByExtension(path.Ext(name))
	switch path.Ext(name) { // not every system's mime table knows these
	case ".js":
		f.ctype = "text/javascript; charset=utf-8"
	case ".css":
		f.ctype = "text/css; charset=utf-8"
	case ".html":
		f.ctype = "text/html; charset=utf-8"
	}
	if f.ctype == "" {
		f.ctype = "application/octet-stream"
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	_, _ = zw.Write(b)
	_ = zw.Close()
	if buf.Len() < len(b)*9/10 {
		f.gz = buf.Bytes()
	}
	return f
}

// serve writes f with its validators, compressed when the browser takes it.
func (f uiFile) serve(w http.ResponseWriter, r *http.Request, cacheControl string) {
	h := w.Header()
	h.Set("Content-Type", f.ctype)
	h.Set("Cache-Control", cacheControl)
	h.Set("ETag", f.etag)
	h.Add("Vary", "Accept-Encoding")
	if match := r.Header.Get("If-None-Match"); match != "" && strings.Contains(match, f.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	body := f.body
	if f.gz != nil && acceptsGzip(r) {
		h.Set("Content-Encoding", "gzip")
		body = f.gz
	}
	h.Set("Content-Length", fmt.Sprint(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(name), "gzip") {
			continue
		}
		if v, ok := strings.CutPrefix(strings.ReplaceAll(params, " ", ""), "q="); ok {
			q, err := strconv.ParseFloat(v, 64)
			return err == nil && q > 0
		}
		return true
	}
	return false
}

// uiCSP allows only this origin's scripts, styles (CodeMirror sets inline
// styles), images (figures arrive as data: URLs) and connections (the API and
// the WebSocket, named explicitly for browsers whose 'self' omits ws:).
func uiCSP(r *http.Request) string {
	connect := "'self'"
	if validHost(r.Host) {
		connect += " ws://" + r.Host + " wss://" + r.Host
	}
	return "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; " +
		"connect-src " + connect + "; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
}

// validHost keeps a strange Host header out of the policy it is written into.
func validHost(h string) bool {
	if h == "" || len(h) > 255 {
		return false
	}
	for _, c := range h {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune(".-:[]", c)) {
			return false
		}
	}
	return true
}

// routeUI serves the IDE: the index page (never cached, so a new build is
// picked up at once) and the hashed assets (cached for a year: a new build
// has new names).
func (s *Server) routeUI(mux *http.ServeMux) {
	ui, err := loadUI(uiAssets)
	if err != nil {
		s.log.Error("browser IDE not available", "err", err)
		ui = &uiFiles{index: newUIFile("index.html", []byte("<!doctype html><title>pythonide</title><p>The browser IDE was not built into this binary.</p>")), assets: map[string]uiFile{}}
	}
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", uiCSP(r))
		ui.index.serve(w, r, "no-cache")
	})
	mux.HandleFunc("GET /assets/{name}", func(w http.ResponseWriter, r *http.Request) {
		f, ok := ui.assets[r.PathValue("name")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		f.serve(w, r, "public, max-age=31536000, immutable")
	})
}
