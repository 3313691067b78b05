package main

import "github.com/hdo-build/hdo/engine"

// builtins returns the built-in rules: targets no .do file covers.
func builtins(e *env) []engine.Builtin { return nil }

// graphStyle labels package targets in hdo graph.
func graphStyle() engine.GraphStyle { return engine.GraphStyle{} }
