package state

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestUntrusted(t *testing.T) {
	base := t.TempDir()
	mk := func(name string, mode os.FileMode) string {
		p := filepath.Join(base, name)
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ok := mk("tree/.hdo", 0o755)
	groupw := mk("gw/.hdo", 0o775)
	mk("pub", 0o777)
	inPub := mk("pub/.hdo", 0o755)
	link := filepath.Join(base, "link")
	if err := os.Symlink(ok, filepath.Join(base, "link")); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		path, want string
	}{
		{ok, ""},
		{groupw, "is writable by others"},
		{inPub, "which anyone can write to"},
		{link, "is a symlink"},
	} {
		if got := Untrusted(tt.path); (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
			t.Errorf("Untrusted(%s) = %q, want %q", tt.path, got, tt.want)
		}
	}
	if os.Geteuid() == 0 {
		other := mk("other/.hdo", 0o755)
		if err := os.Chown(other, 65534, 65534); err != nil {
			t.Fatal(err)
		}
		if got := Untrusted(other); !strings.Contains(got, "belongs to uid 65534, not to you") {
			t.Errorf("Untrusted(another user's .hdo) = %q", got)
		}
	}
}

func TestOpenDirTrust(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	root := t.TempDir()
	var notes []string
	note := func(f string, args ...any) { notes = append(notes, f) }
	d, err := OpenDir(root, note)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.MkdirAll("log/a"); err != nil {
		t.Fatal(err)
	}
	d.Close()
	// Made by us for this tree: trusted as it is.
	d, err = OpenDir(root, note)
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
	if len(notes) != 0 {
		t.Fatalf("notes %q for our own state dir", notes)
	}
	// Copied to another tree: moved aside there.
	root2 := t.TempDir()
	if err := os.Mkdir(filepath.Join(root2, Dir), 0o755); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(root, Dir, ownerFile))
	os.WriteFile(filepath.Join(root2, Dir, ownerFile), b, 0o644)
	d, err = OpenDir(root2, note)
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
	if len(notes) != 1 {
		t.Fatalf("notes %q, want one for the copied state dir", notes)
	}
	if _, err := os.Stat(filepath.Join(root2, Dir+".untrusted-1", ownerFile)); err != nil {
		t.Errorf("the copied state dir was not kept aside: %v", err)
	}
	// Another user's key does not vouch for ours.
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	d, err = OpenDir(root, note)
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
	if len(notes) != 2 {
		t.Fatalf("notes %q, want one more for a state dir under another key", notes)
	}
}

func TestOpenFileNoSymlinks(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	root := t.TempDir()
	d, err := OpenDir(root, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	victim := filepath.Join(root, "victim")
	os.WriteFile(victim, []byte("precious\n"), 0o644)
	os.Symlink(victim, filepath.Join(d.Path, "f"))
	os.Symlink(root, filepath.Join(d.Path, "dir"))
	for _, name := range []string{"f", "dir/victim", "../victim"} {
		if f, err := d.OpenFile(name, os.O_WRONLY|os.O_TRUNC, 0); err == nil {
			f.Close()
			t.Errorf("OpenFile(%s) went through a symlink or out of the dir", name)
		}
	}
	if err := d.MkdirAll("dir/sub"); err == nil {
		t.Errorf("MkdirAll went through a symlink")
	}
	if b, _ := os.ReadFile(victim); string(b) != "precious\n" {
		t.Errorf("victim = %q", b)
	}
}
