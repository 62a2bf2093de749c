package workspace

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func (f *fixture) trashOf(a Actor, user string) []TrashItem {
	f.t.Helper()
	items, err := f.ws.Trash(a, user)
	if err != nil {
		f.t.Fatalf("trash of %q: %v", user, err)
	}
	return items
}

func (f *fixture) del(a Actor, p string) {
	f.t.Helper()
	if err := f.ws.Delete(a, p); err != nil {
		f.t.Fatalf("delete %s: %v", p, err)
	}
}

func (f *fixture) restoreTrash(a Actor, user, id string) string {
	f.t.Helper()
	p, err := f.ws.RestoreTrash(a, user, id)
	if err != nil {
		f.t.Fatalf("restore %s: %v", id, err)
	}
	return p
}

func TestTrashDeleteAndRestoreToTheOriginalPath(t *testing.T) {
	c := newClock()
	f := newFixture(t, areaOpts(t, c))
	const p = "Local/alice/hw1.py"
	f.save(alice, p, "print('hi')\n")
	before, _ := f.ws.Usage("alice")
	f.del(alice, p)
	if f.exists(p) {
		t.Fatal("the file is still in the home")
	}
	if after, _ := f.ws.Usage("alice"); after != before-12 {
		t.Fatalf("usage %d after deleting from %d: the trash counts", after, before)
	}
	items := f.trashOf(alice, "")
	if len(items) != 1 || items[0].Path != p || items[0].Type != "file" || items[0].Size != 12 || items[0].DeletedAt.IsZero() {
		t.Fatalf("trash: %+v", items)
	}
	if got := f.restoreTrash(alice, "", items[0].ID); got != p {
		t.Fatalf("restored to %q", got)
	}
	if c, _ := f.content(p); c != "print('hi')\n" {
		t.Fatalf("restored content %q", c)
	}
	if items := f.trashOf(alice, ""); len(items) != 0 {
		t.Fatalf("the trash still holds %+v", items)
	}
	_, err := f.ws.RestoreTrash(alice, "", items[0].ID)
	wantCode(t, err, ErrNotFound)
	// The history goes on at the same path.
	f.save(alice, p, "print('again')\n")
	if vs := f.history(alice, p); len(vs) != 1 {
		t.Fatalf("history after a restore: %+v", vs)
	}

	// A folder with everything in it, and a link (itself, not its target).
	f.mkdir("Local/alice/week1/data")
	f.put("Local/alice/week1/a.py", "a")
	f.put("Local/alice/week1/data/b.csv", "bb")
	f.symlink("a.py", "Local/alice/week1/link")
	f.del(alice, "Local/alice/week1/link")
	if c, _ := f.content("Local/alice/week1/a.py"); c != "a" {
		t.Fatal("deleting a link touched its target")
	}
	f.del(alice, "Local/alice/week1")
	items = f.trashOf(alice, "")
	if len(items) != 2 || items[0].Type != "dir" || items[0].Size != 3 || items[1].Type != "link" || items[1].Path != "Local/alice/week1/link" {
		t.Fatalf("trash: %+v", items)
	}
	f.restoreTrash(alice, "", items[0].ID)
	f.restoreTrash(alice, "", items[1].ID)
	if c, _ := f.content("Local/alice/week1/data/b.csv"); c != "bb" {
		t.Fatalf("the folder came back without its files: %q", c)
	}
	if target, err := os.Readlink(f.host("Local/alice/week1/link")); err != nil || target != "a.py" {
		t.Fatalf("the link came back as %q, %v", target, err)
	}
}

func TestTrashRestoreBesideWhatIsThereNow(t *testing.T) {
	f := newFixture(t, areaOpts(t, newClock()))
	const p = "Local/alice/hw1.py"
	for _, content := range []string{"first", "second", "third"} {
		f.save(alice, p, content)
		f.del(alice, p)
	}
	f.save(alice, p, "current")
	items := f.trashOf(alice, "") // newest first: third, second, first
	want := []string{"Local/alice/hw1 (restored).py", "Local/alice/hw1 (restored 2).py", "Local/alice/hw1 (restored 3).py"}
	for i, it := range items {
		if got := f.restoreTrash(alice, "", it.ID); got != want[i] {
			t.Fatalf("restore %d went to %q, want %q", i, got, want[i])
		}
	}
	for p, c := range map[string]string{p: "current", want[0]: "third", want[1]: "second", want[2]: "first"} {
		if got, _ := f.content(p); got != c {
			t.Fatalf("%s holds %q, want %q", p, got, c)
		}
	}
	// A folder and a dot file keep their whole name.
	f.mkdir("Local/alice/proj.v2")
	f.put("Local/alice/.env", "x")
	f.del(alice, "Local/alice/proj.v2")
	f.del(alice, "Local/alice/.env")
	f.mkdir("Local/alice/proj.v2")
	f.put("Local/alice/.env", "y")
	got := []string{}
	for _, it := range f.trashOf(alice, "") {
		got = append(got, f.restoreTrash(alice, "", it.ID))
	}
	if strings.Join(got, "|") != "Local/alice/.env (restored)|Local/alice/proj.v2 (restored)" {
		t.Fatalf("restored as %q", got)
	}
}

func TestTrashRestoreRecreatesAMissingParent(t *testing.T) {
	f := newFixture(t, areaOpts(t, newClock()))
	f.mkdir("Local/alice/a/b")
	f.put("Local/alice/a/b/c.py", "c")
	f.del(alice, "Local/alice/a/b/c.py")
	f.del(alice, "Local/alice/a")
	items := f.trashOf(alice, "")
	if len(items) != 2 || items[1].Path != "Local/alice/a/b/c.py" {
		t.Fatalf("trash %+v", items)
	}
	if got := f.restoreTrash(alice, "", items[1].ID); got != "Local/alice/a/b/c.py" {
		t.Fatalf("restored to %q", got)
	}
	if c, _ := f.content("Local/alice/a/b/c.py"); c != "c" {
		t.Fatalf("content %q", c)
	}
	fi, err := os.Stat(f.host("Local/alice/a/b"))
	if err != nil || fi.Mode().Perm() != dirPerm {
		t.Fatalf("recreated folder: %v %v", fi, err)
	}
	// The folder now exists again: the deleted one goes beside it.
	if got := f.restoreTrash(alice, "", items[0].ID); got != "Local/alice/a (restored)" {
		t.Fatalf("restored to %q", got)
	}
	// A file where the parent folder was is in the way.
	f.put("Local/alice/x", "a file")
	f.mkdir("Local/alice/y")
	f.put("Local/alice/y/z.py", "z")
	f.del(alice, "Local/alice/y/z.py")
	f.del(alice, "Local/alice/y")
	f.put("Local/alice/y", "now a file")
	_, err = f.ws.RestoreTrash(alice, "", f.trashOf(alice, "")[1].ID)
	wantCode(t, err, ErrExists)
}

func TestTrashPurgeAfter14Days(t *testing.T) {
	c := newClock()
	f := newFixture(t, areaOpts(t, c))
	f.save(alice, "Local/alice/old.py", "old")
	f.del(alice, "Local/alice/old.py")
	c.advance(10 * 24 * time.Hour)
	f.save(alice, "Local/alice/new.py", "new")
	f.del(alice, "Local/alice/new.py")
	if items := f.trashOf(alice, ""); len(items) != 2 {
		t.Fatalf("after 10 days: %+v", items)
	}
	c.advance(5 * 24 * time.Hour)
	items := f.trashOf(alice, "")
	if len(items) != 1 || items[0].Path != "Local/alice/new.py" {
		t.Fatalf("after 15 days: %+v", items)
	}
	if entries, _ := os.ReadDir(filepath.Join(f.opts.TrashDir, "alice")); len(entries) != 1 {
		t.Fatalf("the purged item is still on disk: %v", entries)
	}
	c.advance(10 * 24 * time.Hour)
	f.save(alice, "Local/alice/x.py", "x")
	f.del(alice, "Local/alice/x.py") // a delete purges too
	if entries, _ := os.ReadDir(filepath.Join(f.opts.TrashDir, "alice")); len(entries) != 1 {
		t.Fatalf("a delete did not purge: %v", entries)
	}
}

func TestTrashBoundPurgesTheOldestNeverTheNewest(t *testing.T) {
	o := areaOpts(t, newClock())
	o.TrashBytes = 250
	f := newFixture(t, o)
	for _, n := range []string{"a", "b", "c"} {
		f.save(alice, "Local/alice/"+n+".py", strings.Repeat(n, 100))
		f.del(alice, "Local/alice/"+n+".py")
	}
	items := f.trashOf(alice, "")
	if len(items) != 2 || items[0].Path != "Local/alice/c.py" || items[1].Path != "Local/alice/b.py" {
		t.Fatalf("trash %+v", items)
	}
	f.save(alice, "Local/alice/big.py", strings.Repeat("x", 400))
	f.del(alice, "Local/alice/big.py")
	if items := f.trashOf(alice, ""); len(items) != 1 || items[0].Path != "Local/alice/big.py" {
		t.Fatalf("an item over the bound: %+v", items)
	}
}

func TestTrashIsTheOwnersAndTheProfessorsToSee(t *testing.T) {
	f := newFixture(t, areaOpts(t, newClock()))
	f.del(bob, "Local/bob/secret.py")
	f.del(prof, "Local/bob/sub") // a teacher's delete goes to the owner's trash
	if items := f.trashOf(prof, "bob"); len(items) != 2 {
		t.Fatalf("professor lists bob's trash: %+v", items)
	}
	if items := f.trashOf(bob, ""); len(items) != 2 {
		t.Fatalf("bob's own trash: %+v", items)
	}
	if items := f.trashOf(alice, ""); len(items) != 0 {
		t.Fatalf("alice sees %+v", items)
	}
	id := f.trashOf(bob, "")[1].ID
	_, listErr := f.ws.List(alice, "Local/bob")
	_, err := f.ws.Trash(alice, "bob")
	wantCode(t, err, ErrNotFound)
	if message(err) != message(listErr) {
		t.Fatalf("trash says %q, listing says %q", message(err), message(listErr))
	}
	_, err = f.ws.RestoreTrash(alice, "bob", id)
	wantCode(t, err, ErrNotFound)
	_, err = f.ws.RestoreTrash(alice, "", id) // not in alice's trash
	wantCode(t, err, ErrNotFound)
	for _, bad := range []string{"../bob", "", "x"} {
		_, err := f.ws.RestoreTrash(bob, "", bad)
		wantCode(t, err, ErrInvalid)
	}
	_, err = f.ws.Trash(prof, "../bob")
	wantCode(t, err, ErrInvalid)
	if got := f.restoreTrash(prof, "bob", id); got != "Local/bob/secret.py" {
		t.Fatalf("professor restored to %q", got)
	}
	if c, _ := f.content("Local/bob/secret.py"); c != bobSecret {
		t.Fatalf("content %q", c)
	}
	// Course folders keep no trash: a teacher's delete there is final.
	f.del(prof, course+"/week1.py")
	if items := f.trashOf(prof, ""); len(items) != 0 {
		t.Fatalf("a course file went to the trash: %+v", items)
	}
	// No trash folder: deletes are final, and the trash says so.
	g := newFixture(t, Options{})
	g.del(alice, "Local/alice/welcome.py")
	_, err = g.ws.Trash(alice, "")
	wantCode(t, err, ErrInvalid)
}

func TestTrashRestoreCountsAgainstTheQuota(t *testing.T) {
	o := areaOpts(t, newClock())
	o.QuotaBytes = 2048
	f := newFixture(t, o)
	f.save(alice, "Local/alice/big.py", strings.Repeat("x", 1200))
	f.del(alice, "Local/alice/big.py")
	f.save(alice, "Local/alice/other.py", strings.Repeat("y", 700)) // fits: the trash is not counted
	id := f.trashOf(alice, "")[0].ID
	_, err := f.ws.RestoreTrash(alice, "", id)
	wantCode(t, err, ErrQuota)
	if f.exists("Local/alice/big.py") || len(f.trashOf(alice, "")) != 1 {
		t.Fatal("a refused restore changed something")
	}
	f.del(alice, "Local/alice/other.py")
	f.restoreTrash(alice, "", id)
}

// A crash mid-delete leaves an entry without its item (the item is still in
// the home) or a hidden temp: neither is listed, both go once stale.
func TestTrashCrashMidDelete(t *testing.T) {
	f := newFixture(t, areaOpts(t, newClock()))
	f.del(alice, "Local/alice/welcome.py")
	dir := filepath.Join(f.opts.TrashDir, "alice")
	half := filepath.Join(dir, "00000000000000000001-0123456789abcdef")
	tmp := filepath.Join(dir, tempPrefix+"0123456789abcdef")
	for _, d := range []string{half, tmp} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	// (half is very old by its id: purged at once; make a young one too)
	young := filepath.Join(dir, newTrashID(time.Now()))
	if err := os.MkdirAll(young, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(young, trashMetaFile), []byte(`{"path":"Local/alice/x.py"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if items := f.trashOf(alice, ""); len(items) != 1 || items[0].Path != "Local/alice/welcome.py" {
		t.Fatalf("trash %+v", items)
	}
	if _, err := os.Stat(young); err != nil {
		t.Fatal("a fresh entry (maybe being made by another instance) was removed")
	}
	old := time.Now().Add(-2 * time.Hour)
	for _, d := range []string{young, tmp} {
		if err := os.Chtimes(d, old, old); err != nil {
			t.Fatal(err)
		}
	}
	f.trashOf(alice, "")
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("leftovers stayed: %v", entries)
	}
}

// Two instances share the trash; when the trash is on another file system
// than the homes, items are copied across (the rename fails with EXDEV).
func TestTrashTwoInstancesAndAcrossFileSystems(t *testing.T) {
	o := areaOpts(t, newClock())
	f := newFixture(t, o)
	other, err := Open(f.dir, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	f.del(alice, "Local/alice/welcome.py")
	items, err := other.Trash(alice, "")
	if err != nil || len(items) != 1 {
		t.Fatalf("the other instance sees %+v, %v", items, err)
	}
	if _, err := other.RestoreTrash(alice, "", items[0].ID); err != nil {
		t.Fatal(err)
	}
	_, err = f.ws.RestoreTrash(alice, "", items[0].ID)
	wantCode(t, err, ErrNotFound)

	real := renameAcross
	t.Cleanup(func() { renameAcross = real })
	renameAcross = func(*os.Root, string, *os.Root, string) error {
		return &os.LinkError{Op: "rename", Err: syscall.EXDEV}
	}
	f.mkdir("Local/alice/proj/sub")
	f.put("Local/alice/proj/sub/a.py", "a")
	f.del(alice, "Local/alice/proj")
	if f.exists("Local/alice/proj") {
		t.Fatal("the folder stayed in the home")
	}
	items = f.trashOf(alice, "")
	if len(items) != 1 || items[0].Size != 1 {
		t.Fatalf("trash %+v", items)
	}
	f.restoreTrash(alice, "", items[0].ID)
	if c, _ := f.content("Local/alice/proj/sub/a.py"); c != "a" {
		t.Fatalf("copied back: %q", c)
	}
	if entries, _ := os.ReadDir(filepath.Join(o.TrashDir, "alice")); len(entries) != 0 {
		t.Fatalf("the trash kept %v", entries)
	}
}

// In the trash an item is the server's, so a program still inside a
// deleted folder cannot go on filling it; restored, it is the programs'
// user's again.
func TestTrashItemsAreTheServers(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("changing file owners needs root")
	}
	const uid, gid = 54321, 54322
	o := areaOpts(t, newClock())
	o.HomeUID, o.HomeGID = uid, gid
	f := newFixture(t, o)
	if err := f.ws.Mkdir(alice, "Local/alice/d"); err != nil {
		t.Fatal(err)
	}
	f.save(alice, "Local/alice/d/a.py", "a")
	if err := os.Chmod(f.host("Local/alice/d"), 0o777); err != nil { // a program's chmod
		t.Fatal(err)
	}
	f.symlink("/etc/passwd", "Local/alice/d/link")
	f.del(alice, "Local/alice/d")
	items := f.trashOf(alice, "")
	item := filepath.Join(o.TrashDir, "alice", items[0].ID, trashItemName)
	for _, p := range []string{item, filepath.Join(item, "a.py"), filepath.Join(item, "link")} {
		wantOwner(t, p, 0, 0)
	}
	if fi, _ := os.Stat(item); fi.Mode().Perm() != 0o755 {
		t.Fatalf("a trashed folder's mode: %v", fi.Mode())
	}
	f.restoreTrash(alice, "", items[0].ID)
	for _, p := range []string{"Local/alice/d", "Local/alice/d/a.py", "Local/alice/d/link"} {
		wantOwner(t, f.host(p), uid, gid)
	}
}
