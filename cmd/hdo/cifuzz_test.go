package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestCIFuzz runs .ci/fuzz on one target with a stand-in for go that
// fails the way the scenario says: go's coordinator deadline race (no
// failing input) is run again and not counted; a failure that writes a
// failing input fails the script at once.
func TestCIFuzz(t *testing.T) {
	script, err := filepath.Abs("../../.ci/fuzz")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		fake     string // body of the fake go; $calls counts its runs
		wantErr  bool
		wantRuns int
		wantLine string
	}{
		{"pass", "exit 0", false, 1, "fuzz: 1 targets, no failure"},
		{"race then pass", `[ "$n" -ge 2 ] && exit 0; echo '--- FAIL: FuzzParseDeps (5.01s)'; echo '    context deadline exceeded'; exit 1`, false, 2, "running it again"},
		{"race every time", `echo '    context deadline exceeded'; exit 1`, false, 3, "not counted as a failure"},
		{"crasher", `echo '    Failing input written to testdata/fuzz/FuzzParseDeps/0123'; echo 'context deadline exceeded'; exit 1`, true, 1, "fuzz: failed: ./internal/pkgspec:FuzzParseDeps"},
		{"other failure", `echo 'build failed'; exit 1`, true, 1, "fuzz: failed:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bin := t.TempDir()
			calls := filepath.Join(bin, "calls")
			fake := "#!/bin/sh\necho \"$*\" >> " + calls + "\nn=$(wc -l < " + calls + ")\n" + tt.fake + "\n"
			if err := os.WriteFile(filepath.Join(bin, "go"), []byte(fake), 0o755); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command("sh", script, "FuzzParseDeps")
			cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"), "FUZZTIME=1s")
			out, err := cmd.CombinedOutput()
			if (err != nil) != tt.wantErr {
				t.Errorf(".ci/fuzz: %v, want error %v\n%s", err, tt.wantErr, out)
			}
			if !strings.Contains(string(out), tt.wantLine) {
				t.Errorf("output lacks %q:\n%s", tt.wantLine, out)
			}
			b, _ := os.ReadFile(calls)
			runs := strings.Count(string(b), "\n")
			if runs != tt.wantRuns {
				t.Errorf("go ran %d times, want %d:\n%s", runs, tt.wantRuns, b)
			}
			if !strings.Contains(string(b), "-fuzzminimizetime 1s") {
				t.Errorf("go was not given -fuzzminimizetime 1s:\n%s", b)
			}
		})
	}
}
