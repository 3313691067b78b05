package main

import (
	"context"
	"io"
	"os"
	"strings"

	"github.com/hdo-build/hdo/engine"
	"github.com/hdo-build/hdo/internal/doshell"
)

// redoCommand runs hdo invoked under one of the redo-* names.
func redoCommand(ctx context.Context, e *env, name string, args []string) error {
	sock := e.getenv("HDO_SOCK")
	switch name {
	case "redo":
		return buildCommand(ctx, e, name, args, true)
	case "redo-ifchange":
		return buildCommand(ctx, e, name, args, false)
	case "redo-ifcreate":
		if sock == "" {
			return usagef("must be run by a .do script")
		}
		return send(e, sock, "ifcreate", args, nil)
	case "redo-always":
		if sock == "" {
			return usagef("must be run by a .do script")
		}
		return send(e, sock, "always", nil, nil)
	case "redo-stamp":
		data, err := io.ReadAll(e.stdin)
		if err != nil {
			return err
		}
		if sock == "" {
			return usagef("must be run by a .do script")
		}
		return send(e, sock, "stamp", nil, data)
	case "redo-whichdo":
		return verbs["whichdo"].run(ctx, e, args)
	case "redo-ood":
		return verbs["ood"].run(ctx, e, args)
	case "redo-targets":
		return verbs["targets"].run(ctx, e, args)
	case "redo-sources":
		return verbs["sources"].run(ctx, e, args)
	case "redo-log":
		return verbs["log"].run(ctx, e, args)
	}
	return usagef("unknown command %s (hdo answers to: hdo %v)", name, engine.Commands)
}

// send passes a request from a .do script to the hdo running it, with
// this process's environment and stderr: the builds it asks for run with
// them.
func send(e *env, sock, op string, args []string, data []byte) error {
	return sendRequest(e, sock, &engine.Request{Op: op, Args: args, Data: data})
}

func sendRequest(e *env, sock string, req *engine.Request) error {
	req.Job = e.getenv("HDO_JOB")
	req.Cwd = e.cwd
	req.Env = e.environ
	stderr, _ := e.stderr.(*os.File)
	return engine.Send(sock, req, stderr)
}

// inProcessCommands are the redo* commands for the engine's embedded
// shell: each runs in this process as it would in one of its own, with
// the calling script's directory, environment and descriptors.
func inProcessCommands() map[string]doshell.Command {
	m := make(map[string]doshell.Command, len(engine.Commands))
	for _, name := range engine.Commands {
		m[name] = func(ctx context.Context, c *doshell.Call) int {
			e := &env{stdin: c.Stdin, stdout: c.Stdout, stderr: c.Stderr, cwd: c.Dir, getenv: envLookup(c.Env), environ: c.Env}
			if e.stdin == nil {
				e.stdin = strings.NewReader("")
			}
			return exitCode(e, name, dispatch(ctx, e, name, c.Args))
		}
	}
	return m
}

// envLookup returns a getenv over environ.
func envLookup(environ []string) func(string) string {
	return func(key string) string {
		for i := len(environ) - 1; i >= 0; i-- {
			if k, v, ok := strings.Cut(environ[i], "="); ok && k == key {
				return v
			}
		}
		return ""
	}
}
