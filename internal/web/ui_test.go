package web

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/pythonide/pythonide/internal/store/storetest"
)

func uiGet(t *testing.T, url string, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	// A bare transport: the default one would ask for gzip itself and hide the encoding.
	res, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, b
}

// TestUIServesTheBuiltIDE checks the embedded build is whole: the index
// names assets that exist, with the caching and policy headers each needs.
func TestUIServesTheBuiltIDE(t *testing.T) {
	r := newRig(t, storetest.SQLite(t), nil)
	res, body := uiGet(t, r.srv.URL+"/", nil)
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("index: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	if cc := res.Header.Get("Cache-Control"); cc != "no-cache" {
		t.Errorf("index Cache-Control %q", cc)
	}
	csp := res.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'self'", "script-src 'self'", "img-src 'self' data: blob:", "connect-src 'self'", "object-src 'none'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "'unsafe-eval'") || strings.Contains(csp, "script-src 'self' 'unsafe-inline'") {
		t.Errorf("CSP allows inline or eval scripts: %q", csp)
	}
	refs := regexp.MustCompile(`/assets/[A-Za-z0-9._-]+\.(js|css)`).FindAllString(string(body), -1)
	if len(refs) < 2 {
		t.Fatalf("index names %d assets:\n%s", len(refs), body)
	}
	for _, ref := range refs {
		res, plain := uiGet(t, r.srv.URL+ref, nil)
		if res.StatusCode != 200 || len(plain) == 0 {
			t.Fatalf("%s: %d", ref, res.StatusCode)
		}
		if cc := res.Header.Get("Cache-Control"); !strings.Contains(cc, "immutable") || !strings.Contains(cc, "max-age=31536000") {
			t.Errorf("%s Cache-Control %q", ref, cc)
		}
		want := map[bool]string{true: "text/javascript", false: "text/css"}[strings.HasSuffix(ref, ".js")]
		if !strings.HasPrefix(res.Header.Get("Content-Type"), want) {
			t.Errorf("%s Content-Type %q", ref, res.Header.Get("Content-Type"))
		}
		res, zipped := uiGet(t, r.srv.URL+ref, map[string]string{"Accept-Encoding": "gzip, br"})
		if res.Header.Get("Content-Encoding") != "gzip" {
			t.Fatalf("%s not compressed for a browser that takes gzip", ref)
		}
		zr, err := gzip.NewReader(bytes.NewReader(zipped))
		if err != nil {
			t.Fatal(err)
		}
		unzipped, _ := io.ReadAll(zr)
		if !bytes.Equal(unzipped, plain) {
			t.Fatalf("%s: gzip body differs from the plain one", ref)
		}
		res, _ = uiGet(t, r.srv.URL+ref, map[string]string{"If-None-Match": res.Header.Get("ETag")})
		if res.StatusCode != http.StatusNotModified {
			t.Errorf("%s revalidation: %d", ref, res.StatusCode)
		}
	}
	if res, _ := uiGet(t, r.srv.URL+"/assets/nothing-here.js", nil); res.StatusCode != 404 {
		t.Errorf("missing asset: %d", res.StatusCode)
	}
	if res, b := uiGet(t, r.srv.URL+"/api/nothing", nil); res.StatusCode != 404 || !bytes.Contains(b, []byte(`"not_found"`)) {
		t.Errorf("API 404 changed: %d %s", res.StatusCode, b)
	}
}

func TestUICSPIgnoresStrangeHosts(t *testing.T) {
	for _, tc := range []struct {
		host string
		ws   bool
	}{
		{"ide.school.org", true},
		{"127.0.0.1:8080", true},
		{"[::1]:8080", true},
		{"evil; script-src *", false},
		{"a b", false},
		{"", false},
	} {
		r, _ := http.NewRequest("GET", "/", nil)
		r.Host = tc.host
		csp := uiCSP(r)
		if got := strings.Contains(csp, "ws://"); got != tc.ws {
			t.Errorf("host %q: ws in CSP = %v: %s", tc.host, got, csp)
		}
		if strings.Contains(csp, "*") {
			t.Errorf("host %q widened the policy: %s", tc.host, csp)
		}
	}
}

func TestLoadUIFailsPlainlyWithoutABuild(t *testing.T) {
	if _, err := loadUI(fstest.MapFS{}); err == nil || !strings.Contains(err.Error(), "npm run build") {
		t.Fatalf("missing build: %v", err)
	}
	u, err := loadUI(fstest.MapFS{
		"assets/index.html":         {Data: []byte("<!doctype html>")},
		"assets/assets/a-1.js":      {Data: bytes.Repeat([]byte("let x = 1;\n"), 100)},
		"assets/assets/tiny-2.css":  {Data: []byte("a{}")},
		"assets/assets/sub/skip.js": {Data: []byte("x")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(u.assets) != 2 || u.assets["a-1.js"].gz == nil || u.assets["tiny-2.css"].gz != nil {
		t.Fatalf("assets %v; a gz %v, tiny gz %v", len(u.assets), u.assets["a-1.js"].gz != nil, u.assets["tiny-2.css"].gz != nil)
	}
}

func TestAcceptsGzip(t *testing.T) {
	for h, want := range map[string]bool{
		"": false, "gzip": true, "gzip, deflate, br": true, "br;q=1, gzip;q=0.5": true,
		"gzip;q=0": false, "gzip; q=0.0": false, "identity": false, "GZIP": true,
	} {
		r, _ := http.NewRequest("GET", "/", nil)
		r.Header.Set("Accept-Encoding", h)
		if got := acceptsGzip(r); got != want {
			t.Errorf("%q: %v", h, got)
		}
	}
}
