package main

import (
	"context"
	"io"
	"os"

	"github.com/hdo-build/hdo/engine"
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
