package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestParseArgs(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		want    *invocation
		wantErr string
	}{
		{args: nil, want: &invocation{name: "sh", stdin: true}},
		{args: []string{"script.do", "t", "t.base", "tmp"}, want: &invocation{name: "script.do", args: []string{"t", "t.base", "tmp"}}},
		{args: []string{"-e", "build"}, want: &invocation{opts: []string{"-e"}, name: "build"}},
		{args: []string{"-eux", "+x", "-o", "pipefail", "b"}, want: &invocation{opts: []string{"-e", "-u", "-x", "+x", "-o", "pipefail"}, name: "b"}},
		{args: []string{"-ec", "echo $0", "me", "a"}, want: &invocation{opts: []string{"-e"}, hasCmd: true, command: "echo $0", name: "me", args: []string{"a"}}},
		{args: []string{"-c", "-e", "true"}, want: &invocation{opts: []string{"-e"}, hasCmd: true, command: "true", name: "sh"}},
		{args: []string{"-s", "a", "b"}, want: &invocation{stdin: true, name: "sh", args: []string{"a", "b"}}},
		{args: []string{"--", "-script"}, want: &invocation{name: "-script"}},
		{args: []string{"-i"}, want: &invocation{name: "sh", stdin: true}},
		{args: []string{"-c"}, wantErr: "-c needs a command string"},
		{args: []string{"-o"}, wantErr: "-o needs an option name"},
		{args: []string{"-v", "x"}, wantErr: "-v: unsupported option (this shell knows -c -s -o and -aefnux)"},
		{args: []string{"+c", "x"}, wantErr: "+c: unsupported option"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			got, err := parseArgs(tc.args)
			if tc.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) {
					t.Fatalf("parseArgs error = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(invocation{}), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("diff (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRun(t *testing.T) {
	for _, tc := range []struct {
		name     string
		args     []string
		stdin    string
		want     string
		wantCode int
	}{
		{"errexit", []string{"-e", "-c", "echo a; false; echo b"}, "", "a\n", 1},
		{"no errexit", []string{"-c", "false; echo b"}, "", "b\n", 0},
		{"params", []string{"-c", `echo "$0 $# $1 $2"`, "n", "x", "y"}, "", "n 2 x y\n", 0},
		{"heredoc", []string{"-c", "v=1\ncat <<EOF\nv=$v\nEOF\n"}, "", "v=1\n", 0},
		{"stdin keeps going", []string{"-s"}, "false\necho $?\n", "1\n", 0},
		{"stdin errexit", []string{"-e"}, "echo a\nfalse\necho b\n", "a\n", 1},
		{"syntax error", []string{"-c", "if then"}, "", "", 2},
		{"unsupported fd", []string{"-c", "echo x >&3"}, "", "", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tc.args, strings.NewReader(tc.stdin), &stdout, &stderr)
			if code != tc.wantCode {
				t.Errorf("exit %d, want %d (stderr %q)", code, tc.wantCode, stderr.String())
			}
			if diff := cmp.Diff(tc.want, stdout.String()); diff != "" {
				t.Errorf("stdout: diff (-want +got):\n%s", diff)
			}
		})
	}
}
