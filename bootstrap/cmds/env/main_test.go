package main

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestParseArgs(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		want    *request
		wantErr string
	}{
		{args: nil, want: &request{command: []string{}}},
		{args: []string{"sh", "-c", "x"}, want: &request{command: []string{"sh", "-c", "x"}}},
		{args: []string{"-i", "A=1", "B=x=y", "cmd", "C=2"}, want: &request{clear: true, set: []string{"A=1", "B=x=y"}, command: []string{"cmd", "C=2"}}},
		{args: []string{"-", "-u", "HOME", "-uPATH", "ls"}, want: &request{clear: true, unset: []string{"HOME", "PATH"}, command: []string{"ls"}}},
		{args: []string{"--", "-x"}, want: &request{command: []string{"-x"}}},
		{args: []string{"=x", "cmd"}, want: &request{command: []string{"=x", "cmd"}}},
		{args: []string{"-u"}, wantErr: "-u needs a variable name"},
		{args: []string{"-v", "sh"}, wantErr: "-v: unsupported option (this env knows -i and -u)"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			got, err := parseArgs(tc.args)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("parseArgs error = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(request{}), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("diff (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEnviron(t *testing.T) {
	req := &request{unset: []string{"HOME"}, set: []string{"PATH=/bin", "NEW=1"}}
	got := req.environ([]string{"HOME=/root", "PATH=/usr/bin", "TERM=x"})
	if diff := cmp.Diff([]string{"TERM=x", "PATH=/bin", "NEW=1"}, got); diff != "" {
		t.Errorf("diff (-want +got):\n%s", diff)
	}
	req.clear = true
	if diff := cmp.Diff([]string{"PATH=/bin", "NEW=1"}, req.environ([]string{"TERM=x"})); diff != "" {
		t.Errorf("with -i: diff (-want +got):\n%s", diff)
	}
}

func TestPrint(t *testing.T) {
	t.Setenv("HDO_ENV_TEST", "yes")
	var stdout, stderr bytes.Buffer
	if code := run([]string{"-i", "A=1"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if got := stdout.String(); got != "A=1\n" {
		t.Errorf("env -i A=1 printed %q, want %q", got, "A=1\n")
	}
	// run replaces the process environment before it execs; put it back.
	saved := os.Environ()
	t.Cleanup(func() {
		os.Clearenv()
		for _, kv := range saved {
			k, v, _ := strings.Cut(kv, "=")
			os.Setenv(k, v)
		}
	})
	if code := run([]string{"-i", "nosuch-command-hdo"}, &stdout, &stderr); code != 127 {
		t.Errorf("missing command: exit %d, want 127", code)
	}
}
