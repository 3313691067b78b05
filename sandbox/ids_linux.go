package sandbox

import (
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"
)

// hostBuildID is the host uid and gid a build of root's runs as: nobody
// and nogroup, the kernel's overflow ids. A build of root's as host uid 0
// would own every root-owned file and kernel interface it can reach (a
// cgroup's cgroup.kill, say), capabilities or not. A normal user's build
// runs as that user, the only id it may map.
const hostBuildID = 65534

// BuildOwner returns the host uid and gid a build runs as when that is not
// the caller's (root's builds), so that its inputs can be given to it.
func BuildOwner() (uid, gid int, ok bool) {
	if os.Geteuid() != 0 {
		return 0, 0, false
	}
	return hostBuildID, hostBuildID, true
}

// idMaps returns the uid and gid maps of an init's user namespace: the
// caller's ids as 0 (the init, which assembles the root), and for a caller
// who is root, hostBuildID as buildUID and buildGID too. buildID is the id
// of that namespace the build user maps to in its own: buildUID when
// mapped, else 0.
func idMaps() (uids, gids []syscall.SysProcIDMap, buildID int) {
	uids = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Geteuid(), Size: 1}}
	gids = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getegid(), Size: 1}}
	if os.Geteuid() != 0 {
		return uids, gids, 0
	}
	uids = append(uids, syscall.SysProcIDMap{ContainerID: buildUID, HostID: hostBuildID, Size: 1})
	gids = append(gids, syscall.SysProcIDMap{ContainerID: buildGID, HostID: hostBuildID, Size: 1})
	return uids, gids, buildUID
}

// giveFileToBuild makes f the build user's, as giveToBuild does the work
// dir, when f is a pipe (anonymous: a named one is the caller's to keep),
// so that the build can reopen its pipes as /dev/stdout or /dev/fd/4, as
// shells and dd do.
func giveFileToBuild(f *os.File) error {
	if os.Geteuid() != 0 {
		return nil
	}
	var fs unix.Statfs_t
	if err := unix.Fstatfs(int(f.Fd()), &fs); err != nil || fs.Type != unix.PIPEFS_MAGIC {
		return err
	}
	return f.Chown(hostBuildID, hostBuildID)
}

// giveToBuild makes the trees at dirs (the work dir and destdir) the
// build user's where the build does not run as the caller: root's builds,
// which run as hostBuildID. Symlinks are changed, not followed.
func giveToBuild(dirs ...string) error {
	if os.Geteuid() != 0 {
		return nil
	}
	for _, dir := range dirs {
		if dir == "" {
			continue
		}
		err := filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			return os.Lchown(p, hostBuildID, hostBuildID)
		})
		if err != nil {
			return err
		}
	}
	return nil
}
