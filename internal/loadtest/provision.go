package loadtest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// FullName is the full name the load test gives its students; an existing
// account is taken over (its password reset) only when it is a student
// with this name, so a real student whose username happens to match is
// never touched.
func FullName(username string) string { return "Load test " + username }

// Ours says whether an existing account was made by a load test.
func Ours(username, fullName, role string) bool {
	return role == "student" && fullName == FullName(username)
}

func notOurs(username string) error {
	return fmt.Errorf("the account %s exists and was not made by a load test: choose another --user-prefix", username)
}

// AdminAPI makes the students through the teacher's API, logged in as a
// professor. With the server's --single-session (the default) this login
// ends that professor's other sessions: use an account kept for testing.
type AdminAPI struct {
	URL      string
	Username string
	Password string
	// Parallel is how many accounts are made at once; each costs the
	// server a password hash. Default 2.
	Parallel int
}

// Provision creates each student, or resets the password of one that
// exists, so the load test knows every password.
func (a AdminAPI) Provision(ctx context.Context, usernames []string, password string) error {
	c := newClient(a.URL, http.DefaultTransport)
	lctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := c.login(lctx, a.Username, a.Password); err != nil {
		return fmt.Errorf("logging in as %s: %v", a.Username, err)
	}
	defer c.logout(context.Background())

	existing, err := a.existing(lctx, c)
	if err != nil {
		return err
	}
	for _, n := range usernames {
		if u, ok := existing[n]; ok && !Ours(n, u.FullName, u.Role) {
			return notOurs(n)
		}
	}

	par := max(a.Parallel, 1)
	if a.Parallel == 0 {
		par = 2
	}
	names := make(chan string)
	errs := make(chan error, len(usernames))
	var wg sync.WaitGroup
	for range par {
		wg.Go(func() {
			for n := range names {
				_, exists := existing[n]
				if err := a.one(ctx, c, n, password, exists); err != nil {
					errs <- err
				}
			}
		})
	}
	for _, n := range usernames {
		select {
		case names <- n:
		case <-ctx.Done():
		}
	}
	close(names)
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err // the first is enough to act on
	}
	return ctx.Err()
}

type account struct {
	Username string `json:"username"`
	Role     string `json:"role"`
	FullName string `json:"full_name"`
}

func (a AdminAPI) existing(ctx context.Context, c *client) (map[string]account, error) {
	res, err := c.do(ctx, "list users", http.MethodGet, "/api/admin/users", nil, nil)
	if err != nil {
		return nil, err
	}
	if err := res.expect("list users", http.StatusOK); err != nil {
		return nil, err
	}
	var l struct {
		Users []account `json:"users"`
	}
	if err := json.Unmarshal(res.body, &l); err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	m := make(map[string]account, len(l.Users))
	for _, u := range l.Users {
		m[u.Username] = u
	}
	return m, nil
}

// one creates a student, or resets the password of one left by an
// earlier load test.
func (a AdminAPI) one(ctx context.Context, c *client, name, password string, exists bool) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if exists {
		b, h := jsonBody(map[string]string{"password": password})
		res, err := c.do(ctx, "reset password", http.MethodPost, "/api/admin/users/"+url.PathEscape(name)+"/password", b, h)
		if err != nil {
			return err
		}
		return asError(res.expect("reset password of "+name, http.StatusNoContent))
	}
	b, h := jsonBody(map[string]string{"username": name, "password": password, "role": "student", "full_name": FullName(name)})
	res, err := c.do(ctx, "create user", http.MethodPost, "/api/admin/users", b, h)
	if err != nil {
		return err
	}
	return asError(res.expect("create user "+name, http.StatusCreated))
}
