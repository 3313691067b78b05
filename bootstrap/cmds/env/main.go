// Command env is the stage0 env(1): it runs a command in a modified
// environment, or prints the environment. u-root has no env, and scripts
// starting with "#!/usr/bin/env sh" need one.
//
// Usage:
//
//	env [-i] [-u name]... [-] [name=value]... [command [arg...]]
//
// The command is looked up in the modified PATH. hdo compiles this file into
// the stage0 multicall binary; its bytes are part of every stage0 seed's key.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// request is a parsed env command line.
type request struct {
	clear   bool     // -i: start from an empty environment
	unset   []string // -u names
	set     []string // name=value assignments
	command []string // command and arguments; empty to print
}

func parseArgs(args []string) (*request, error) {
	req := &request{}
	i := 0
options:
	for ; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-" || a == "-i":
			req.clear = true
		case a == "--":
			i++
			break options
		case a == "-u":
			i++
			if i == len(args) {
				return nil, errors.New("-u needs a variable name")
			}
			req.unset = append(req.unset, args[i])
		case strings.HasPrefix(a, "-u"):
			req.unset = append(req.unset, a[2:])
		case strings.HasPrefix(a, "-") && len(a) > 1:
			return nil, fmt.Errorf("%s: unsupported option (this env knows -i and -u)", a)
		default:
			break options
		}
	}
	for ; i < len(args) && strings.Contains(args[i], "=") && !strings.HasPrefix(args[i], "="); i++ {
		req.set = append(req.set, args[i])
	}
	req.command = args[i:]
	return req, nil
}

// environ applies the request to the environment env.
func (req *request) environ(env []string) []string {
	if req.clear {
		env = nil
	}
	drop := map[string]bool{}
	for _, n := range req.unset {
		drop[n] = true
	}
	for _, kv := range req.set {
		drop[kv[:strings.IndexByte(kv, '=')]] = true
	}
	var out []string
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if !drop[name] {
			out = append(out, kv)
		}
	}
	return append(out, req.set...)
}

func run(args []string, stdout, stderr io.Writer) int {
	req, err := parseArgs(args)
	if err != nil {
		fmt.Fprintf(stderr, "env: %v\nusage: env [-i] [-u name]... [name=value]... [command [arg...]]\n", err)
		return 125
	}
	env := req.environ(os.Environ())
	if len(req.command) == 0 {
		for _, kv := range env {
			fmt.Fprintln(stdout, kv)
		}
		return 0
	}
	os.Clearenv()
	for _, kv := range env {
		name, value, _ := strings.Cut(kv, "=")
		os.Setenv(name, value)
	}
	path, err := exec.LookPath(req.command[0])
	if err != nil {
		fmt.Fprintf(stderr, "env: %s: %v\n", req.command[0], err)
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, os.ErrNotExist) {
			return 127
		}
		return 126
	}
	err = syscall.Exec(path, req.command, env)
	fmt.Fprintf(stderr, "env: %s: %v\n", req.command[0], err)
	if errors.Is(err, syscall.ENOENT) {
		return 127
	}
	return 126
}
