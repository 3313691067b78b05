package sandbox

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// A build runs in cgroups of its own where the host lets hdo create them:
// a child of hdo's cgroup in the cgroup v2 hierarchy (root's always; a
// normal user's when systemd or the like delegates hdo's cgroup), and for
// limits v2 cannot apply here (its memory or pids controller not enabled
// for hdo's children), a child of hdo's cgroup in the v1 memory or pids
// hierarchy. The init moves itself in before it starts the build, the
// build gets a cgroup namespace rooted there (so a cgroup2 it mounts shows
// its own cgroup and nothing above), the limits bound the build as a
// whole, and at the end the v2 cgroup is killed and every one removed.
//
// Without a cgroup of its own the build still gets a cgroup namespace,
// rooted at hdo's cgroup, and no limits.

// cgroupFS is where the kernel's process and mount tables are read; for
// tests.
var cgroupFS = struct{ self, mountinfo string }{"/proc/self/cgroup", "/proc/self/mountinfo"}

var cgroupSeq atomic.Uint64

// buildCgroup is the set of cgroups one build runs in.
type buildCgroup struct {
	dirs []string   // created, the v2 one first when there is one
	fds  []*os.File // the dirs opened, for the init
	v2   bool       // dirs[0] is a v2 cgroup
	// unenforced names the limits asked for that no cgroup applies,
	// e.g. "memory".
	unenforced []string
}

// hierarchy is one mounted cgroup hierarchy hdo's process is in.
type hierarchy struct {
	v2          bool
	controllers []string // v1 only, e.g. {"memory"}
	dir         string   // hdo's cgroup in it, e.g. /sys/fs/cgroup/unified/user.slice
}

// newBuildCgroup creates the cgroups of one build with the limits given (0:
// none). It fails only when a cgroup it created cannot be set up; a host
// that gives hdo no cgroup gives a buildCgroup with no dirs and every
// limit asked for in unenforced.
func newBuildCgroup(memoryMax, pidsMax int64) (*buildCgroup, error) {
	cg := new(buildCgroup)
	hs, err := ownHierarchies()
	if err != nil {
		hs = nil // no cgroups to use: the namespace alone
	}
	name := fmt.Sprintf("hdo-build-%d-%d", os.Getpid(), cgroupSeq.Add(1))
	limits := map[string]struct {
		v2, v1 string
		value  int64
	}{
		"memory": {"memory.max", "memory.limit_in_bytes", memoryMax},
		"pids":   {"pids.max", "pids.max", pidsMax},
	}
	need := map[string]bool{"memory": memoryMax > 0, "pids": pidsMax > 0}
	for _, h := range hs {
		if !h.v2 {
			continue
		}
		dir := filepath.Join(h.dir, name)
		if err := cg.mkdir(dir); err != nil {
			break // not ours to create in: no v2 cgroup
		}
		cg.v2 = true
		for _, c := range []string{"memory", "pids"} {
			l := limits[c]
			if !need[c] {
				continue
			}
			if _, err := os.Stat(filepath.Join(dir, l.v2)); err != nil {
				continue // the controller is not enabled for hdo's children
			}
			if err := writeCgroupFile(dir, l.v2, l.value); err != nil {
				cg.remove()
				return nil, err
			}
			need[c] = false
		}
		break
	}
	for _, c := range []string{"memory", "pids"} {
		if !need[c] {
			continue
		}
		for _, h := range hs {
			if h.v2 || !slices.Contains(h.controllers, c) {
				continue
			}
			dir := filepath.Join(h.dir, name)
			if err := cg.mkdir(dir); err != nil {
				break
			}
			if err := writeCgroupFile(dir, limits[c].v1, limits[c].value); err != nil {
				cg.remove()
				return nil, err
			}
			need[c] = false
			break
		}
		if need[c] {
			cg.unenforced = append(cg.unenforced, c)
		}
	}
	return cg, nil
}

// mkdir creates the cgroup dir and opens it for the init.
func (cg *buildCgroup) mkdir(dir string) error {
	if err := unix.Mkdir(dir, 0o755); err != nil {
		return err
	}
	cg.dirs = append(cg.dirs, dir)
	f, err := os.OpenFile(dir, unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	cg.fds = append(cg.fds, f)
	return nil
}

// closeFDs closes the dirs opened for the init once it has them.
func (cg *buildCgroup) closeFDs() {
	for _, f := range cg.fds {
		f.Close()
	}
	cg.fds = nil
}

// remove kills what is left in the v2 cgroup and removes every cgroup,
// waiting a little for processes still exiting.
func (cg *buildCgroup) remove() {
	cg.closeFDs()
	if cg.v2 {
		os.WriteFile(filepath.Join(cg.dirs[0], "cgroup.kill"), []byte("1"), 0)
	}
	for _, dir := range cg.dirs {
		for i := 0; ; i++ {
			err := unix.Rmdir(dir)
			if err == nil || errors.Is(err, unix.ENOENT) || i == 200 {
				break
			}
			time.Sleep(5 * time.Millisecond) // EBUSY: a process not yet gone
		}
	}
	cg.dirs = nil
}

// joinCgroups moves the calling process (the init) into the cgroups whose
// dirs are open as fds.
func joinCgroups(fds []int) error {
	for _, dir := range fds {
		fd, err := unix.Openat(dir, "cgroup.procs", unix.O_WRONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("join the build's cgroup: %w", err)
		}
		_, err = unix.Write(fd, []byte("0")) // 0: the writer
		unix.Close(fd)
		if err != nil {
			return fmt.Errorf("join the build's cgroup: %w", err)
		}
	}
	return nil
}

func writeCgroupFile(dir, name string, v int64) error {
	if err := os.WriteFile(filepath.Join(dir, name), []byte(strconv.FormatInt(v, 10)), 0); err != nil {
		return fmt.Errorf("set the build's cgroup limit: %w", err)
	}
	return nil
}

// ownHierarchies is hierarchies, read once per process: hdo's cgroups do
// not move while it runs, and every build would otherwise parse the whole
// mount table again.
var ownHierarchies = sync.OnceValues(hierarchies)

// hierarchies returns the cgroup hierarchies hdo's process is in and where
// its cgroup is in each, from /proc/self/cgroup and /proc/self/mountinfo.
func hierarchies() ([]hierarchy, error) {
	type mnt struct{ root, point string }
	v1 := map[string]mnt{} // controller -> mount
	var v2 *mnt
	f, err := os.Open(cgroupFS.mountinfo)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	s.Buffer(nil, 1<<20)
	for s.Scan() {
		pre, post, ok := strings.Cut(s.Text(), " - ")
		fields, tail := strings.Fields(pre), strings.Fields(post)
		if !ok || len(fields) < 5 || len(tail) < 3 {
			continue
		}
		m := mnt{unescapeMount(fields[3]), unescapeMount(fields[4])}
		switch tail[0] {
		case "cgroup2":
			if v2 == nil {
				v2 = &m
			}
		case "cgroup":
			for _, o := range strings.Split(tail[2], ",") {
				if _, seen := v1[o]; !seen {
					v1[o] = m
				}
			}
		}
	}
	if err := s.Err(); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(cgroupFS.self)
	if err != nil {
		return nil, err
	}
	var hs []hierarchy
	at := func(m mnt, path string) (string, bool) {
		rel, ok := strings.CutPrefix(path, m.root)
		if !ok || (rel != "" && m.root != "/" && rel[0] != '/') {
			return "", false // hdo's cgroup is not under this mount
		}
		return filepath.Join(m.point, rel), true
	}
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		parts := strings.SplitN(l, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[1] == "" {
			if v2 != nil {
				if dir, ok := at(*v2, parts[2]); ok {
					hs = append(hs, hierarchy{v2: true, dir: dir})
				}
			}
			continue
		}
		ctrls := strings.Split(parts[1], ",")
		if m, ok := v1[ctrls[0]]; ok {
			if dir, ok := at(m, parts[2]); ok {
				hs = append(hs, hierarchy{controllers: ctrls, dir: dir})
			}
		}
	}
	return hs, nil
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
