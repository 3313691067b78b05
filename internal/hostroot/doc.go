// Package hostroot runs a command with the host's root filesystem, except
// that some top-level directories (bin, lib, usr, etc, ...) are replaced by
// package trees: what hdo venv's venv-run and hdo run do.
//
// The command runs in a new mount namespace (and, for a user other than
// root, a new user namespace mapping the caller's uid and gid to
// themselves), so nothing changes for any other process. Go cannot enter
// a user namespace from a running, multithreaded process, so Run
// re-executes the calling binary (/proc/self/exe) into the new namespaces;
// that child builds the new root and execs the command. Every program that
// calls Run must therefore call Main first thing in main (and in TestMain).
//
// The new root is a small read-only tmpfs holding one entry per top-level
// name: the host's directories bound (recursively) where the plan has
// nothing, the plan's directories bound (one tree) or merged read-only
// with overlayfs (several), and symlinks and files as the plan or the host
// has them. The kernel's and the users' directories (Kept) always stay the
// host's. Working directory, environment, standard streams and inherited
// file descriptors are the caller's; the command's exit status is Run's.
package hostroot
