// Package sockdir names the private temp dirs a running hdo keeps its
// control socket in (e.g. /tmp/hdo-sock-123456/sock) and finds the ones
// killed hdo processes left behind, so that gc can sweep them without
// importing the engine.
package sockdir

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Prefix begins the name of every socket dir, e.g. hdo-sock-123456.
const Prefix = "hdo-sock-"

// SocketName is the name of the socket inside its dir.
const SocketName = "sock"

// Make creates a new socket dir, mode 0700, in the temp dir and returns
// it with the path of the socket to listen on inside it.
func Make() (dir, sock string, err error) {
	dir, err = os.MkdirTemp("", Prefix)
	if err != nil {
		return "", "", err
	}
	return dir, filepath.Join(dir, SocketName), nil
}

// Stale lists the socket dirs in tmp that the user's killed hdo processes
// left behind: dirs owned by the user whose socket refuses connections, or
// that never got one and are over a minute old. A dir of a running hdo is
// never listed, nor one holding anything but the socket.
func Stale(tmp string) []string {
	ents, err := os.ReadDir(tmp)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range ents {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), Prefix) {
			continue
		}
		dir := filepath.Join(tmp, e.Name())
		if isStale(dir) {
			out = append(out, dir)
		}
	}
	return out
}

func isStale(dir string) bool {
	fi, err := os.Lstat(dir)
	if err != nil || !fi.IsDir() {
		return false
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); !ok || int(st.Uid) != os.Getuid() {
		return false
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	switch {
	case len(ents) == 0:
		return time.Since(fi.ModTime()) > time.Minute
	case len(ents) != 1 || ents[0].Name() != SocketName:
		return false
	}
	c, err := net.DialTimeout("unix", filepath.Join(dir, SocketName), time.Second)
	if err == nil {
		c.Close()
		return false
	}
	return errors.Is(err, syscall.ECONNREFUSED)
}
