package main

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Web attacks that need the real binary's http.Server settings (issue 7,
// part 2): the header timeout against slowloris and the header size limit.
// The rest is in internal/web/attack_test.go and attack_ws_test.go.

// readHeaderTimeout is what serve sets (internal/cli/serve.go).
const readHeaderTimeout = 10 * time.Second

func TestAttackSlowHeadersAreCutOff(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real server and waits out its header timeout")
	}
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	addr := freeAddr(t)
	startServer(t, data, addr)

	// Several clients send their headers a byte at a time, for ever.
	const clients = 8
	request := "GET /healthz HTTP/1.1\r\nHost: " + addr + "\r\nUser-Agent: slowloris\r\nX-Padding: " + strings.Repeat("a", 200)
	var wg sync.WaitGroup
	cut := make([]time.Duration, clients)
	start := time.Now()
	for i := range clients {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Error(err)
				return
			}
			defer conn.Close()
			closed := make(chan struct{})
			go func() { // the server's only answer may be closing the connection
				io.Copy(io.Discard, conn)
				close(closed)
			}()
			for j := 0; ; j++ {
				select {
				case <-closed:
					cut[i] = time.Since(start)
					return
				case <-time.After(250 * time.Millisecond):
				}
				if time.Since(start) > 3*readHeaderTimeout {
					cut[i] = -1
					return
				}
				if _, err := conn.Write([]byte{request[j%len(request)]}); err != nil {
					<-closed
					cut[i] = time.Since(start)
					return
				}
			}
		}(i)
	}
	// Meanwhile everyone else is served at once.
	c := &http.Client{Timeout: 5 * time.Second}
	for time.Since(start) < readHeaderTimeout/2 {
		res, err := c.Get("http://" + addr + "/healthz")
		if err != nil {
			t.Fatalf("/healthz during the slow clients: %v", err)
		}
		res.Body.Close()
		time.Sleep(500 * time.Millisecond)
	}
	wg.Wait()
	for i, d := range cut {
		if d < 0 || d > readHeaderTimeout+5*time.Second {
			t.Errorf("slow client %d was not cut off within %v (%v)", i, readHeaderTimeout+5*time.Second, d)
		}
	}
	t.Logf("slow clients cut off after %v", cut)
}

func TestAttackHugeHeadersRefused(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real server")
	}
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	addr := freeAddr(t)
	startServer(t, data, addr)
	for _, h := range []struct{ name, value string }{
		{"Cookie", "pythonide_session=" + strings.Repeat("c", 128<<10)},
		{"X-Junk", strings.Repeat("j", 128<<10)},
	} {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		conn.SetDeadline(time.Now().Add(30 * time.Second))
		go conn.Write([]byte("GET /api/me HTTP/1.1\r\nHost: " + addr + "\r\n" + h.name + ": " + h.value + "\r\n\r\n"))
		res, err := http.ReadResponse(bufio.NewReader(conn), nil)
		var ne net.Error
		switch {
		case errors.As(err, &ne) && ne.Timeout():
			t.Errorf("a 128 KiB %s header: no answer", h.name)
		case err == nil && res.StatusCode != http.StatusRequestHeaderFieldsTooLarge:
			t.Errorf("a 128 KiB %s header: %d, want 431", h.name, res.StatusCode)
		}
		conn.Close()
	}
	res, err := http.Get("http://" + addr + "/healthz")
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("/healthz after huge headers: %v %v", res, err)
	}
	res.Body.Close()
}
