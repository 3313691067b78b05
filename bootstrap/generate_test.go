package bootstrap

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/pierrec/lz4/v4"
)

// stanza renders one Packages paragraph; fields are "Name: value" lines.
func stanza(name, version, arch string, fields ...string) string {
	sum := sha256Hex([]byte(name + version))
	s := fmt.Sprintf("Package: %s\nVersion: %s\nArchitecture: %s\nMaintainer: X <x@example.invalid>\n", name, version, arch)
	for _, f := range fields {
		s += f + "\n"
	}
	pool := name
	if i := strings.IndexByte(name, '-'); i > 0 {
		pool = name[:i]
	}
	s += fmt.Sprintf("Filename: pool/main/%c/%s/%s_%s_%s.deb\nSize: %d\nSHA256: %s\nDescription: %s\n long\n\n",
		name[0], pool, name, version, arch, 100+len(name), sum, name)
	return s
}

// writeLists makes a fake apt lists directory: a main archive (lz4), a
// security archive with a newer libc6 (gz), a foreign repository (xz, not
// Debian) and an i386 index, both to be ignored.
func writeLists(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	write := func(name string, data []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	lz4c := func(s string) []byte {
		var b bytes.Buffer
		w := lz4.NewWriter(&b)
		w.Write([]byte(s))
		w.Close()
		return b.Bytes()
	}
	main := stanza("app", "1.0-1", "amd64",
		"Priority: optional",
		"Depends: libfoo (>= 2.0), awk, missing-pkg | libbar,\n libc6 (>= 2.36)",
		"Pre-Depends: dpkg-helper",
		"Recommends: bloat", "Suggests: bloat") +
		stanza("libfoo", "1.0", "amd64") +
		stanza("libfoo", "2.1", "amd64") +
		stanza("mawk", "1.3.4", "amd64", "Priority: required", "Provides: awk", "Pre-Depends: libc6 (>= 2.29)") +
		stanza("gawk", "5.2", "amd64", "Priority: optional", "Provides: awk") +
		stanza("libbar", "3", "amd64", "Depends: libc6") +
		stanza("libc6", "2.36-9", "amd64", "Depends: libgcc-s1") +
		stanza("libgcc-s1", "12.2.0-14", "amd64", "Depends: libc6 (>= 2.35)") +
		stanza("dpkg-helper", "1.0", "all", "Depends: libc6:any") +
		stanza("bloat", "1", "amd64") +
		stanza("essential-thing", "1", "amd64", "Essential: yes", "Priority: required") +
		stanza("vers", "2", "amd64", "Provides: virt (= 1.5)") +
		stanza("app2", "1", "amd64", "Depends: virt (>= 1.0), libfoo [i386] | nothing [amd64] | libbar") +
		stanza("app3", "1", "amd64", "Depends: nope (>= 3) | libfoo (<< 1.0)") +
		stanza("arm-only", "1", "arm64")
	write("deb.example.invalid_debian_dists_bookworm_InRelease", []byte("-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\nOrigin: Debian\nLabel: Debian\n"))
	write("deb.example.invalid_debian_dists_bookworm_main_binary-amd64_Packages.lz4", lz4c(main))
	write("deb.example.invalid_debian-security_dists_bookworm-security_Release", []byte("Origin: Debian\nLabel: Debian-Security\n"))
	write("deb.example.invalid_debian-security_dists_bookworm-security_main_binary-amd64_Packages.gz",
		compress(t, ".gz", []byte(stanza("libc6", "2.36-9+deb12u10", "amd64", "Depends: libgcc-s1"))))
	write("deb.example.invalid_debian_dists_bookworm_main_binary-i386_Packages",
		[]byte(stanza("libfoo", "9.0", "i386")))
	write("other.example.invalid_repo_dists_x_InRelease", []byte("Origin: Other\n"))
	write("other.example.invalid_repo_dists_x_main_binary-amd64_Packages.xz",
		compress(t, ".xz", []byte(stanza("libfoo", "99", "amd64"))))
	return dir
}

func debLine(name, version, arch, mirror string) string {
	pool := name
	if i := strings.IndexByte(name, '-'); i > 0 {
		pool = name[:i]
	}
	return fmt.Sprintf("deb %s %s mirror://%s/pool/main/%c/%s/%s_%s_%s.deb %d %s",
		name, version, mirror, name[0], pool, name, version, arch, 100+len(name), sha256Hex([]byte(name+version)))
}

func TestGenerateLock(t *testing.T) {
	lists := writeLists(t)
	got, err := GenerateLock(context.Background(), LockOptions{Packages: []string{"app"}, ListsDir: lists, Name: "seed.lock"})
	if err != nil {
		t.Fatal(err)
	}
	// Dependencies first; the libc6/libgcc-s1 cycle together by name; the
	// security update of libc6 wins; mawk (required) provides awk.
	want := strings.Join([]string{
		"hdo-seed-lock 1",
		"arch amd64",
		"packages app",
		debLine("libc6", "2.36-9+deb12u10", "amd64", "debian-security"),
		debLine("libgcc-s1", "12.2.0-14", "amd64", "debian"),
		debLine("dpkg-helper", "1.0", "all", "debian"),
		debLine("libbar", "3", "amd64", "debian"),
		debLine("libfoo", "2.1", "amd64", "debian"),
		debLine("mawk", "1.3.4", "amd64", "debian"),
		debLine("app", "1.0-1", "amd64", "debian"),
	}, "\n") + "\n"
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("GenerateLock: diff (-want +got):\n%s", diff)
	}
	again, err := GenerateLock(context.Background(), LockOptions{Packages: []string{"app"}, ListsDir: lists, Name: "seed.lock"})
	if err != nil || !bytes.Equal(got, again) {
		t.Errorf("a second GenerateLock differs (err %v)", err)
	}
}

func TestGenerateLockKeepsOldLines(t *testing.T) {
	lists := writeLists(t)
	old, err := ParseLock("pkg/seed/seed.lock", []byte(`# my seed
hdo-seed-lock 1
arch amd64
go go1.26.8
stage0 github.com/u-root/u-root v0.16.0 h1:wY40O83MBVks97+Is0WlFlOPSwKQMIrWP9R1IsrExg8= h1:yL/XdSSW27PdGLgUh4MNRBy54mKM+TBLzpwiB4nwj90=
cmd hdo/sh /bin/sh
packages app2
`+debLine("libfoo", "1.0", "amd64", "debian")+`
link /usr/bin/cc gcc-12
`))
	if err != nil {
		t.Fatal(err)
	}
	got, err := GenerateLock(context.Background(), LockOptions{Old: old, ListsDir: lists})
	if err != nil {
		t.Fatal(err)
	}
	// app2: virt through the versioned Provides of vers; the [i386]
	// alternative does not apply and "nothing" does not exist, so libbar.
	want := strings.Join([]string{
		"# my seed",
		"hdo-seed-lock 1",
		"arch amd64",
		"go go1.26.8",
		"stage0 github.com/u-root/u-root v0.16.0 h1:wY40O83MBVks97+Is0WlFlOPSwKQMIrWP9R1IsrExg8= h1:yL/XdSSW27PdGLgUh4MNRBy54mKM+TBLzpwiB4nwj90=",
		"cmd hdo/sh /bin/sh",
		"packages app2",
		debLine("libc6", "2.36-9+deb12u10", "amd64", "debian-security"),
		debLine("libgcc-s1", "12.2.0-14", "amd64", "debian"),
		debLine("libbar", "3", "amd64", "debian"),
		debLine("vers", "2", "amd64", "debian"),
		debLine("app2", "1", "amd64", "debian"),
		"link /usr/bin/cc gcc-12",
	}, "\n") + "\n"
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("GenerateLock: diff (-want +got):\n%s", diff)
	}
}

func TestGenerateLockErrors(t *testing.T) {
	lists := writeLists(t)
	for _, tc := range []struct {
		name string
		opts LockOptions
		want string
	}{
		{"unknown package", LockOptions{Packages: []string{"nosuch"}}, "package nosuch is in none of the package lists; check the name, or run apt-get update"},
		{"unsatisfiable", LockOptions{Packages: []string{"app3"}}, `package app3 1 depends on "nope (>= 3) | libfoo (<< 1.0)", which no package in the lists satisfies`},
		{"other arch only", LockOptions{Packages: []string{"arm-only"}}, "package arm-only is in none of the package lists"},
		{"no packages", LockOptions{}, "no Debian packages to resolve: name them (hdo bootstrap lock --debian NAME... SEEDDIR)"},
		{"no indexes", LockOptions{Packages: []string{"app"}, Arch: "arm64"}, "no package indexes for arm64 from origin [Debian] in " + lists + "; run apt-get update"},
		{"arch mismatch", LockOptions{Packages: []string{"app"}, Arch: "arm64", Old: &Lock{Name: "s.lock", Arch: "amd64"}}, "s.lock: the lock is for amd64, not arm64; start a new lock for another architecture"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.ListsDir = lists
			_, err := GenerateLock(context.Background(), tc.opts)
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("GenerateLock error = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestParseRelations(t *testing.T) {
	got, err := parseRelations("aa, bb (>= 1.0) | cc:any, dd (<< 2~) [amd64 !i386] <!nocheck>, ee (> 1)")
	if err != nil {
		t.Fatal(err)
	}
	want := [][]relation{
		{{name: "aa"}},
		{{name: "bb", op: ">=", version: MustParseVersion("1.0")}, {name: "cc", archQ: "any"}},
		{{name: "dd", op: "<<", version: MustParseVersion("2~"), archs: []string{"amd64", "!i386"}}},
		{{name: "ee", op: ">=", version: MustParseVersion("1")}},
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(relation{})); diff != "" {
		t.Errorf("diff (-want +got):\n%s", diff)
	}
	for _, bad := range []string{"aa (>= 1", "aa (~ 1)", "AA", "aa [amd64"} {
		if _, err := parseRelations(bad); err == nil {
			t.Errorf("parseRelations(%q) succeeded, want an error", bad)
		}
	}
}

func TestOrderCycles(t *testing.T) {
	r := &resolver{chosen: map[string]*candidate{}, edges: map[string][]string{
		"z":  {"a"},
		"a":  {"b"},
		"b":  {"c"},
		"c":  {"a"}, // a -> b -> c -> a
		"y":  {"x"},
		"x":  {},
		"m":  {"z", "y"},
		"aa": {},
	}}
	for n := range r.edges {
		r.chosen[n] = &candidate{Name: n}
	}
	var got []string
	for _, c := range r.order() {
		got = append(got, c.Name)
	}
	want := []string{"a", "b", "c", "aa", "x", "y", "z", "m"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("order: diff (-want +got):\n%s", diff)
	}
}
