package sockdir

import (
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// deadSocket leaves a socket file no process listens on, as a killed hdo
// does.
func deadSocket(t *testing.T, path string) {
	t.Helper()
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close()
}

func TestStale(t *testing.T) {
	tmp := t.TempDir()
	mk := func(name string) string {
		dir := filepath.Join(tmp, name)
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	dead := mk(Prefix + "1")
	deadSocket(t, filepath.Join(dead, SocketName))

	live := mk(Prefix + "2")
	ln, err := net.Listen("unix", filepath.Join(live, SocketName))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()

	oldEmpty := mk(Prefix + "3")
	old := time.Now().Add(-time.Hour)
	os.Chtimes(oldEmpty, old, old)
	mk(Prefix + "4") // just made: its hdo may be about to listen

	other := mk(Prefix + "5") // something else lives there too
	deadSocket(t, filepath.Join(other, SocketName))
	os.WriteFile(filepath.Join(other, "notes"), nil, 0o600)

	notOurs := mk("other-1") // another program's dir
	deadSocket(t, filepath.Join(notOurs, SocketName))

	got := Stale(tmp)
	want := []string{dead, oldEmpty}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("Stale = %q, want %q", got, want)
	}
}

func TestMake(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	dir, sock, err := Make()
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode() != os.ModeDir|0o700 || filepath.Dir(dir) != os.TempDir() || sock != filepath.Join(dir, SocketName) {
		t.Errorf("Make = %s (%v), %s", dir, fi.Mode(), sock)
	}
}
