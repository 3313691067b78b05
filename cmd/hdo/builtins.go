package main

import (
	"github.com/hdo-build/hdo/engine"
	"github.com/hdo-build/hdo/engine/pkgrule"
)

// builtins returns the built-in rules for the tree at root: the package
// targets, used where no .do file applies.
func builtins(root string) []engine.Builtin { return pkgrule.Builtins(root) }
