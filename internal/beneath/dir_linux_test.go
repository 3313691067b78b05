package beneath

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// bothResolvers runs f once with openat2 and once with the component-wise
// openat fallback.
func bothResolvers(t *testing.T, f func(t *testing.T)) {
	for _, on := range []bool{true, false} {
		name := "openat2"
		if !on {
			name = "openat"
		}
		t.Run(name, func(t *testing.T) {
			was := UseOpenat2(on)
			defer UseOpenat2(was)
			f(t)
		})
	}
}

// setup makes dest with directories d and d/e, a file f, a symlink "up"
// to the directory outside beside dest (which holds a directory o) and a
// symlink "dl" to d, and opens dest.
func setup(t *testing.T) (*Dir, string, string) {
	t.Helper()
	top := t.TempDir()
	dest, outside := filepath.Join(top, "dest"), filepath.Join(top, "outside")
	for _, d := range []string{dest, outside, filepath.Join(outside, "o"), filepath.Join(dest, "d"), filepath.Join(dest, "d", "e")} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dest, "f"), []byte("f"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dest, "up")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("d", filepath.Join(dest, "dl")); err != nil {
		t.Fatal(err)
	}
	d, err := Open(dest)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d, dest, outside
}

// TestDirRefusesSymlinkParents: no operation resolves a parent through a
// symlink, whether it leads outside or stays inside.
func TestDirRefusesSymlinkParents(t *testing.T) {
	bothResolvers(t, func(t *testing.T) {
		d, dest, outside := setup(t)
		ops := map[string]func(name string) error{
			"Mkdir":   func(n string) error { return d.Mkdir(n, 0o755) },
			"Create":  func(n string) error { _, err := d.Create(n, 0o644); return err },
			"Symlink": func(n string) error { return d.Symlink("x", n) },
			"Link":    func(n string) error { return d.Link("f", n) },
			"LinkOld": func(n string) error { return d.Link(n, "new") },
			"Remove":  func(n string) error { return d.Remove(n) },
			"Lstat":   func(n string) error { _, err := d.Lstat(n); return err },
		}
		for op, f := range ops {
			// A symlink as the last parent, and as one further up.
			for _, parent := range []string{"up", "dl", "d/../up", "up/o", "dl/e"} {
				name := parent + "/x"
				if op == "LinkOld" || op == "Remove" || op == "Lstat" {
					// these need something there to succeed by mistake
					for _, p := range []string{"outside/x", "outside/o/x", "dest/d/x", "dest/d/e/x"} {
						os.WriteFile(filepath.Join(filepath.Dir(dest), p), nil, 0o644)
					}
				}
				if err := f(name); err == nil {
					t.Errorf("%s(%q) succeeded through a symlink", op, name)
				}
			}
		}
		for _, dir := range []string{outside, filepath.Join(outside, "o")} {
			if ents, _ := os.ReadDir(dir); len(ents) > 2 {
				t.Errorf("%s holds %d entries, want only what the test planted", dir, len(ents))
			}
		}
		if _, err := os.Lstat(filepath.Join(dest, "new")); err == nil {
			t.Error("Link made new from a name under a symlink")
		}
	})
}

func TestDirMakes(t *testing.T) {
	bothResolvers(t, func(t *testing.T) {
		d, dest, _ := setup(t)
		d.Epoch = true
		if err := d.Mkdir("d/n", 0o700); err != nil {
			t.Fatal(err)
		}
		w, err := d.Create("d/n/file", 0o4755) // setuid is never kept
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte("hello")); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := d.Create("d/n/file", 0o644); !errors.Is(err, fs.ErrExist) {
			t.Errorf("Create of an existing file: %v, want EEXIST", err)
		}
		if err := d.Symlink("/etc/passwd", "d/n/sym"); err != nil {
			t.Fatal(err)
		}
		// A hard link to a symlink links the symlink, never its target.
		if err := d.Link("d/n/sym", "d/hard"); err != nil {
			t.Fatal(err)
		}
		if err := d.ChmodDir("d/n", 0o555); err != nil {
			t.Fatal(err)
		}
		if err := d.ChmodDir("dl", 0o700); err == nil {
			t.Error("ChmodDir followed a symlink")
		}
		if err := d.ChmodDir("f", 0o700); err == nil {
			t.Error("ChmodDir changed a regular file")
		}

		for _, c := range []struct {
			name string
			mode fs.FileMode
		}{
			{"d/n", fs.ModeDir | 0o555},
			{"d/n/file", 0o755},
			{"d/n/sym", fs.ModeSymlink | 0o777},
			{"d/hard", fs.ModeSymlink | 0o777},
		} {
			mode, err := d.Lstat(c.name)
			if err != nil || mode != c.mode {
				t.Errorf("Lstat(%s) = %v, %v; want %v", c.name, mode, err, c.mode)
			}
			fi, err := os.Lstat(filepath.Join(dest, c.name))
			if err != nil {
				t.Fatal(err)
			}
			if !fi.ModTime().Equal(time.Unix(0, 0)) {
				t.Errorf("%s: mtime %v, want the epoch", c.name, fi.ModTime())
			}
		}
		if b, _ := os.ReadFile(filepath.Join(dest, "d/n/file")); string(b) != "hello" {
			t.Errorf("file holds %q", b)
		}
		st, _ := os.Lstat(filepath.Join(dest, "d/hard"))
		if st.Sys().(*syscall.Stat_t).Nlink != 2 {
			t.Error("d/hard is not a second name of d/e/sym")
		}
		os.Chmod(filepath.Join(dest, "d/n"), 0o755) // let TempDir clean up
		if err := d.Remove("d/n/file"); err != nil {
			t.Fatal(err)
		}
		if _, err := d.Lstat("d/n/file"); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Lstat after Remove: %v, want ENOENT", err)
		}
	})
}

// TestDirNoEpoch: without Epoch, times are the time of creation.
func TestDirNoEpoch(t *testing.T) {
	d, dest, _ := setup(t)
	if err := d.Symlink("x", "s"); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Lstat(filepath.Join(dest, "s"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.ModTime().Before(time.Now().Add(-time.Hour)) {
		t.Errorf("mtime %v without Epoch", fi.ModTime())
	}
}
