package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
)

// maxBody bounds what the load test reads of any answer.
const maxBody = 16 << 20

// client is one browser: its own cookies, the shared connection pool.
type client struct {
	base string
	http *http.Client
}

func newClient(base string, transport http.RoundTripper) *client {
	jar, _ := cookiejar.New(nil) // never fails without options
	return &client{base: strings.TrimSuffix(base, "/"), http: &http.Client{Jar: jar, Transport: transport}}
}

// response is an answer read in full.
type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends one request; ctx bounds it. where names the operation in errors.
func (c *client) do(ctx context.Context, where, method, path string, body []byte, hdr http.Header) (*response, *opError) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, failure(where+": request", "%v", err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	res, err := c.http.Do(req)
	if err != nil {
		return nil, transportError(where, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, maxBody))
	if err != nil {
		return nil, transportError(where, err)
	}
	return &response{status: res.StatusCode, header: res.Header, body: b}, nil
}

// expect turns an answer with another status into the API error it holds.
func (r *response) expect(where string, status int) *opError {
	if r.status == status {
		return nil
	}
	var e struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	if json.Unmarshal(r.body, &e) != nil || e.Error.Code == "" {
		e.Error.Code = "unexpected"
		e.Error.Message = string(r.body[:min(len(r.body), 200)])
	}
	return apiError(where, r.status, e.Error.Code, e.Error.Message)
}

func jsonBody(v any) ([]byte, http.Header) {
	b, _ := json.Marshal(v) // maps and structs of strings always marshal
	return b, http.Header{"Content-Type": {"application/json"}}
}

func (c *client) login(ctx context.Context, username, password string) *opError {
	b, h := jsonBody(map[string]string{"username": username, "password": password})
	res, err := c.do(ctx, "login", http.MethodPost, "/api/login", b, h)
	if err != nil {
		return err
	}
	return res.expect("login", http.StatusOK)
}

func (c *client) logout(ctx context.Context) {
	c.do(ctx, "logout", http.MethodPost, "/api/logout", nil, nil)
}

func q(path string) string { return "?path=" + url.QueryEscape(path) }

// list returns the names in a folder.
func (c *client) list(ctx context.Context, dir string) ([]string, *opError) {
	res, err := c.do(ctx, "list", http.MethodGet, "/api/files"+q(dir), nil, nil)
	if err != nil {
		return nil, err
	}
	if err := res.expect("list", http.StatusOK); err != nil {
		return nil, err
	}
	var l struct {
		Entries []struct{ Name string } `json:"entries"`
	}
	if err := json.Unmarshal(res.body, &l); err != nil {
		return nil, failure("list: bad answer", "%v", err)
	}
	names := make([]string, len(l.Entries))
	for i, e := range l.Entries {
		names[i] = e.Name
	}
	return names, nil
}

// open returns a file's content and ETag.
func (c *client) open(ctx context.Context, path string) ([]byte, string, *opError) {
	res, err := c.do(ctx, "open", http.MethodGet, "/api/files/content"+q(path), nil, nil)
	if err != nil {
		return nil, "", err
	}
	if err := res.expect("open", http.StatusOK); err != nil {
		return nil, "", err
	}
	return res.body, res.header.Get("ETag"), nil
}

// save writes a file, conditionally when etag is given, and returns the new ETag.
func (c *client) save(ctx context.Context, path string, content []byte, etag string) (string, *opError) {
	var hdr http.Header
	if etag != "" {
		hdr = http.Header{"If-Match": {etag}}
	}
	res, err := c.do(ctx, "save", http.MethodPut, "/api/files/content"+q(path), content, hdr)
	if err != nil {
		return "", err
	}
	if err := res.expect("save", http.StatusOK); err != nil {
		return "", err
	}
	tag := res.header.Get("ETag")
	if tag == "" {
		return "", failure("save: no etag", "PUT %s answered without an ETag", path)
	}
	return tag, nil
}
