package engine

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// StaleSocketDirs lists the socket dirs in tmp (see SocketDirPrefix) that
// the user's killed hdo processes left behind: dirs owned by the user
// whose socket refuses connections, or that never got one and are over a
// minute old. A dir of a running hdo is never listed.
func StaleSocketDirs(tmp string) []string {
	ents, err := os.ReadDir(tmp)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range ents {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), SocketDirPrefix) {
			continue
		}
		dir := filepath.Join(tmp, e.Name())
		if isStaleSocketDir(dir) {
			out = append(out, dir)
		}
	}
	return out
}

func isStaleSocketDir(dir string) bool {
	fi, err := os.Lstat(dir)
	if err != nil || !fi.IsDir() {
		return false
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); !ok || int(st.Uid) != os.Getuid() {
		return false
	}
	names, err := readNames(dir)
	if err != nil {
		return false
	}
	_, sock := names["sock"]
	switch {
	case len(names) == 0:
		return time.Since(fi.ModTime()) > time.Minute
	case len(names) != 1 || !sock:
		return false
	}
	c, err := net.DialTimeout("unix", filepath.Join(dir, "sock"), time.Second)
	if err == nil {
		c.Close()
		return false
	}
	return errors.Is(err, syscall.ECONNREFUSED)
}
