package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
)

// Forward sends r to the peer at addr, vouched, and relays the answer — a
// WebSocket upgrade included, which then stays a tunnel between the
// browser's connection and the peer. The request keeps its Host (the site
// the browser asked for, so the peer's origin check sees the same site) and
// carries what this instance learned of the client: its address and whether
// it came over TLS, which the peer believes because the request is vouched.
func (c *Cluster) Forward(w http.ResponseWriter, r *http.Request, addr, clientIP string, overTLS bool) {
	target := &url.URL{Scheme: "http", Host: addr}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Host = pr.In.Host
			pr.Out.Header.Set(PeerHeader, c.secret)
			pr.Out.Header.Set("X-Forwarded-For", clientIP)
			proto := "http"
			if overTLS {
				proto = "https"
			}
			pr.Out.Header.Set("X-Forwarded-Proto", proto)
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			c.log.Warn("forwarding to the instance that hosts this student failed", "peer", addr, "path", r.URL.Path, "err", err)
			http.Error(w, `{"error":{"code":"unavailable","message":"The server that runs your programs does not answer; try again in a moment."}}`, http.StatusBadGateway)
		},
	}
	proxy.ServeHTTP(w, r)
}

// Ask sends a copy of r (its method, the given path and query, its cookie)
// to the peer at addr, vouched, and decodes the JSON answer into v: how a
// teacher's table is gathered from every instance.
func (c *Cluster) Ask(ctx context.Context, r *http.Request, addr, pathAndQuery string, v any) error {
	req, err := http.NewRequestWithContext(ctx, r.Method, "http://"+addr+pathAndQuery, nil)
	if err != nil {
		return err
	}
	req.Host = r.Host
	req.Header.Set(PeerHeader, c.secret)
	for _, ck := range r.Cookies() {
		req.AddCookie(ck)
	}
	res, err := c.client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(res.Body, 512))
		return fmt.Errorf("peer %s answered %d: %s", addr, res.StatusCode, b)
	}
	return json.NewDecoder(res.Body).Decode(v)
}
