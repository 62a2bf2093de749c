package roster

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pythonide/pythonide/internal/auth"
	"github.com/pythonide/pythonide/internal/store"
	"github.com/pythonide/pythonide/internal/store/storetest"
	"github.com/pythonide/pythonide/internal/workspace"
)

func newRoster(t *testing.T) *Roster {
	ws, err := workspace.Open(filepath.Join(t.TempDir(), "ide"), workspace.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	return &Roster{Store: storetest.SQLite(t), Workspace: ws}
}

func TestImportRoster(t *testing.T) {
	r := newRoster(t)
	ctx := context.Background()
	hash, _ := auth.HashPassword("from-old-system")
	// A BOM, columns in another order, spaces, a quoted comma, a blank line,
	// a hash from the old system, a generated password, bad rows.
	csv := "\ufeffrole, username ,full_name,password\n" +
		"student,ada,\"Lovelace, Ada\",ada-secret\n" +
		"\n" +
		"teacher,grace,Grace Hopper,\n" +
		"student,linus,Linus," + hash + "\n" +
		"student,ada,Again,whatever1\n" +
		"wizard,merlin,Merlin,abcdefg\n" +
		"student,bad name,Bad,abcdefg\n" +
		"student,short,Short,abc\n"
	res, err := r.Import(ctx, strings.NewReader(csv))
	if err != nil {
		t.Fatal(err)
	}
	if res.Created != 3 || res.Skipped != 1 || res.Failed != 3 {
		t.Fatalf("%+v", res)
	}
	u, err := r.Store.GetUser(ctx, "ada")
	if err != nil || u.FullName != "Lovelace, Ada" || !auth.CheckPassword(u.PasswordHash, "ada-secret") {
		t.Fatalf("ada: %+v %v", u, err)
	}
	if g, _ := r.Store.GetUser(ctx, "grace"); g.Role != store.RoleProfessor {
		t.Fatalf("teacher is a professor: %+v", g)
	}
	if l, _ := r.Store.GetUser(ctx, "linus"); !auth.CheckPassword(l.PasswordHash, "from-old-system") {
		t.Fatal("an imported bcrypt hash does not verify")
	}
	for _, row := range res.Rows {
		if row.Username == "grace" && (row.Status != "created" || len(row.Password) != 10) {
			t.Errorf("grace's generated password not reported: %+v", row)
		}
		if row.Status == "failed" && row.Message == "" {
			t.Errorf("failure without a reason: %+v", row)
		}
	}
	if _, err := os.Stat(filepath.Join(r.Workspace.HomePath("ada"), "welcome.py")); err != nil {
		t.Fatalf("home not created: %v", err)
	}
	for _, bad := range []string{"", "name,password\nx,y\n", "username\n\"unterminated\n"} {
		res, err := r.Import(ctx, strings.NewReader(bad))
		if err == nil && res.Failed == 0 {
			t.Errorf("%q accepted: %+v", bad, res)
		}
	}
}

func TestRosterChanges(t *testing.T) {
	r := newRoster(t)
	ctx := context.Background()
	if _, err := r.Create(ctx, NewUser{Username: "eve", Password: "evepass1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Create(ctx, NewUser{Username: "eve", Password: "evepass1"}); !errors.Is(err, ErrTaken) {
		t.Fatalf("duplicate: %v", err)
	}
	if err := r.SetPassword(ctx, "nobody", "whatever1"); !errors.Is(err, ErrNoUser) {
		t.Fatalf("unknown user: %v", err)
	}
	off := false
	if u, err := r.Update(ctx, "eve", nil, nil, &off); err != nil || u.Active {
		t.Fatalf("deactivate: %+v %v", u, err)
	}
	wizard := store.Role("wizard")
	if _, err := r.Update(ctx, "eve", nil, &wizard, nil); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad role: %v", err)
	}
	if p := GeneratePassword(); len(p) != 10 || strings.ContainsAny(p, "0O1lI") {
		t.Fatalf("generated %q", p)
	}
}
