package main

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestPackageMap checks the README's package map against the module: it
// lists every package, and no package imports what its row forbids.
func TestPackageMap(t *testing.T) {
	const module = "github.com/hdo-build/hdo/"
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	code := regexp.MustCompile("`([^`]+)`")
	type row struct{ dirs, banned []string }
	var rows []row
	in := false
	for _, line := range strings.Split(string(readme), "\n") {
		if strings.HasPrefix(line, "## ") {
			in = line == "## Package map"
			continue
		}
		cells := strings.Split(line, "|")
		if !in || len(cells) != 5 || strings.HasPrefix(strings.TrimSpace(cells[1]), "---") || strings.TrimSpace(cells[1]) == "directory" {
			continue
		}
		var r row
		for _, m := range code.FindAllStringSubmatch(cells[1], -1) {
			r.dirs = append(r.dirs, m[1])
		}
		for _, m := range code.FindAllStringSubmatch(cells[3], -1) {
			r.banned = append(r.banned, m[1])
		}
		rows = append(rows, r)
	}
	if len(rows) < 10 {
		t.Fatalf("README package map: %d rows found", len(rows))
	}
	// matches reports whether the module-relative path p is named by
	// pattern: a dir, a dir/* (its subpackages), a prefix ending in / or *.
	matches := func(pattern, p string) bool {
		switch {
		case strings.HasSuffix(pattern, "/*"):
			return strings.HasPrefix(p, strings.TrimSuffix(pattern, "*"))
		case strings.HasSuffix(pattern, "*"):
			return strings.HasPrefix(p, strings.TrimSuffix(pattern, "*"))
		case strings.HasSuffix(pattern, "/"):
			return strings.HasPrefix(p, pattern)
		}
		return p == pattern || strings.HasPrefix(p, pattern+"/")
	}
	cmd := exec.Command("go", "list", "-json", "./...")
	cmd.Dir = filepath.Join("..", "..")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(bufio.NewReader(strings.NewReader(string(out))))
	for dec.More() {
		var pkg struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&pkg); err != nil {
			t.Fatal(err)
		}
		p := strings.TrimPrefix(pkg.ImportPath, module)
		if strings.Contains(p, "/testdata/") {
			continue
		}
		var r *row
		for i := range rows {
			for _, d := range rows[i].dirs {
				if d == p || strings.HasSuffix(d, "/*") && matches(d, p) {
					r = &rows[i]
				}
			}
		}
		if r == nil {
			t.Errorf("%s is not in the README's package map", p)
			continue
		}
		for _, imp := range pkg.Imports {
			ip, ok := strings.CutPrefix(imp, module)
			if !ok || ip == p {
				continue
			}
			for _, b := range r.banned {
				if matches(b, ip) {
					t.Errorf("%s imports %s, which its row in the package map forbids (%s)", p, ip, b)
				}
			}
		}
	}
}
