package web

import "net/http"

// indexPage stands in until the browser IDE is built: it tells a visitor the
// server is up and where the API is described.
const indexPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>pythonide</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: system-ui, sans-serif; max-width: 40em; margin: 3em auto; line-height: 1.5">
<h1>pythonide is running</h1>
<p>The server, accounts and files are ready. The browser editor is not part of this build yet;
the JSON API is described in <code>docs/api.md</code>.</p>
</body></html>
`

func (s *Server) index(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	_, _ = w.Write([]byte(indexPage))
}
