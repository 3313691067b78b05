package bootstrap

import (
	"fmt"
	"runtime"
	"strings"
)

// stage0Commands are the u-root core commands of the standard stage0 seed.
// (u-root v0.16.0 has no sed, awk, cut, expr, install, diff, patch or
// make; the shell's builtins cover echo, printf, test and [.)
var stage0Commands = []string{
	"base64", "basename", "cat", "chmod", "cmp", "comm", "cp", "date", "dd",
	"dirname", "du", "echo", "false", "find", "grep", "gzip", "head", "hexdump",
	"id", "ln", "ls", "md5sum", "mkdir", "mkfifo", "mktemp", "mv", "printenv",
	"pwd", "readlink", "realpath", "rm", "seq", "shasum", "sleep", "sort",
	"strings", "sync", "tail", "tar", "tee", "timeout", "touch", "tr", "true",
	"truncate", "tsort", "uname", "uniq", "wc", "which", "xargs", "yes",
}

// Stage0Lock returns the lock of the standard stage0 seed for the machine's
// architecture (arm64 on arm64, amd64 otherwise): the stage0 shell at
// /bin/sh, env at /bin/env and /usr/bin/env, and the u-root core commands
// above in /bin. Test suites write it to a seed package's seed.lock.
func Stage0Lock() []byte {
	arch := "amd64"
	if runtime.GOARCH == "arm64" {
		arch = "arm64"
	}
	return stage0LockFor(arch)
}

func stage0LockFor(arch string) []byte {
	var b strings.Builder
	b.WriteString("# The standard stage0 seed: a static multicall binary of the hdo shell,\n")
	b.WriteString("# env and the u-root core commands, built by hdo from pinned Go modules.\n")
	b.WriteString(LockHeader + "\n")
	fmt.Fprintf(&b, "arch %s\n", arch)
	b.WriteString("go go1.26.8\n")
	b.WriteString("stage0 github.com/u-root/u-root v0.16.0 h1:wY40O83MBVks97+Is0WlFlOPSwKQMIrWP9R1IsrExg8= h1:yL/XdSSW27PdGLgUh4MNRBy54mKM+TBLzpwiB4nwj90=\n")
	b.WriteString("cmd hdo/sh /bin/sh\n")
	b.WriteString("cmd hdo/env /bin/env\n")
	b.WriteString("cmd hdo/env /usr/bin/env\n")
	for _, c := range stage0Commands {
		fmt.Fprintf(&b, "cmd github.com/u-root/u-root/cmds/core/%s /bin/%s\n", c, c)
	}
	return []byte(b.String())
}
