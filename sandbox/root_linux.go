package sandbox

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hdo-build/hdo/internal/overlay"
)

// Paths in the scratch tmpfs the init works in before it enters the new
// root.
const (
	oldRoot   = "/oldroot" // the host's root
	skelDir   = "/skel"    // the generated files and mount points, the top layer
	newRoot   = "/newroot" // the sandbox root being assembled
	readyDev  = "/dev"     // the sandbox's /dev, made before the root
	readyProc = "/proc"    // the sandbox's /proc, made before the root
)

// prepareRoot does what the sandbox needs whatever the build: a scratch
// tmpfs to work in, /dev and /proc ready to move into the root, the
// hostname, and loopback unless the network is the host's. An init started
// ahead of time does it while it waits for its build.
func prepareRoot(hostNetwork bool) error {
	unix.Umask(0) // modes below are meant as written
	// Bringing up lo takes a while: do it meanwhile on another thread (all
	// threads share the network namespace).
	lo := make(chan error, 1)
	if hostNetwork {
		lo <- nil
	} else {
		go func() { lo <- loopbackUp() }()
	}
	// Supplementary groups can be dropped when the caller is root (and the
	// kernel refuses otherwise; they then show as nobody inside).
	unix.Setgroups(nil)
	// The mounts copied from the host are slaves of the host's (the kernel
	// makes them so in a less privileged user namespace): nothing mounted
	// here propagates out, and the host's unmounts propagate in.
	//
	// Work in a tmpfs that becomes the root for a while: the host's root is
	// then at /oldroot, whole (its /tmp no longer hidden by this tmpfs), so
	// any host path P is oldRoot+P.
	if err := mount("tmpfs", "/tmp", "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=0755"); err != nil {
		return err
	}
	for _, d := range []string{oldRoot, newRoot, readyDev, readyProc} {
		if err := unix.Mkdir("/tmp"+d, 0o755); err != nil {
			return fmt.Errorf("mkdir %s: %w", d, err)
		}
	}
	if err := unix.PivotRoot("/tmp", "/tmp"+oldRoot); err != nil {
		return fmt.Errorf("pivot_root to a scratch tmpfs: %w", err)
	}
	if err := unix.Chdir("/"); err != nil {
		return fmt.Errorf("chdir /: %w", err)
	}
	if err := mount("proc", readyProc, "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return err
	}
	if err := protectProc(readyProc); err != nil {
		return err
	}
	if err := mountDev(readyDev); err != nil {
		return err
	}
	if err := unix.Sethostname([]byte("build")); err != nil {
		return fmt.Errorf("sethostname: %w", err)
	}
	return <-lo
}

// procReadOnly are the parts of /proc that reach beyond the sandbox's
// namespaces: host-wide sysctls (kernel.core_pattern runs a program as
// the host's root), the magic SysRq key, IRQ affinities, bus and
// filesystem settings. The build runs as the caller's uid, and when that
// is root the kernel gives it the owner's write permission on these
// root-owned files, capabilities or not: they are made read-only.
var procReadOnly = []string{"sys", "sysrq-trigger", "irq", "bus", "fs"}

// procMasked are /proc files that tell about the whole host's memory,
// kernel objects and timers, readable by root: a build of root's would
// read them, so they are covered with /dev/null, as container runtimes do.
var procMasked = []string{"kcore", "keys", "key-users", "kpagecount", "kpageflags", "kpagecgroup", "slabinfo", "pagetypeinfo", "vmallocinfo", "timer_list", "sched_debug", "latency_stats", "sysvipc/shm"}

// procMaskedDirs are /proc dirs about host hardware, covered with an empty
// read-only tmpfs.
var procMaskedDirs = []string{"acpi", "scsi", "asound"}

// protectProc makes procReadOnly read-only in the proc mounted at dir and
// masks procMasked and procMaskedDirs.
func protectProc(dir string) error {
	for _, name := range procMasked {
		p := dir + "/" + name
		if fi, err := os.Lstat(p); err != nil || !fi.Mode().IsRegular() {
			continue // not in this kernel
		}
		if err := mount(oldRoot+"/dev/null", p, "", unix.MS_BIND, ""); err != nil {
			return err
		}
	}
	for _, name := range procMaskedDirs {
		p := dir + "/" + name
		if fi, err := os.Lstat(p); err != nil || !fi.IsDir() {
			continue
		}
		if err := mount("tmpfs", p, "tmpfs", unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "size=0"); err != nil {
			return err
		}
	}
	for _, name := range procReadOnly {
		p := dir + "/" + name
		if _, err := os.Lstat(p); err != nil {
			continue // not in this kernel
		}
		if err := mount(p, p, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return err
		}
		if err := remount(p, unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC); err != nil {
			return err
		}
	}
	return nil
}

// finishRoot assembles the sandbox root from cfg on the prepared scratch
// tmpfs and makes it the init's root. It returns the assembly method used
// and the time it took.
func finishRoot(cfg *initConfig) (Assembly, int64, error) {
	t0 := time.Now()
	method, err := assemble(cfg)
	assembleNs := time.Since(t0).Nanoseconds()
	if err != nil {
		return 0, 0, err
	}
	if err := mountSpecials(cfg); err != nil {
		return 0, 0, err
	}
	if err := enterRoot(newRoot); err != nil {
		return 0, 0, err
	}
	return method, assembleNs, nil
}

// assemble mounts the read-only union of the skeleton and cfg's layers at
// newRoot, by the method cfg asks for.
func assemble(cfg *initConfig) (Assembly, error) {
	switch cfg.Assembly {
	case AssembleBind:
		return AssembleBind, assembleBind(cfg)
	case AssembleOverlay, assembleOverlayLegacy:
		return cfg.Assembly, assembleOverlay(cfg, cfg.Assembly == assembleOverlayLegacy)
	}
	err := assembleOverlay(cfg, false)
	if err == nil {
		return AssembleOverlay, nil
	}
	if err2 := assembleBind(cfg); err2 != nil {
		return 0, fmt.Errorf("%w; falling back to bind mounts: %w", err, err2)
	}
	return AssembleBind, nil
}

// assembleOverlay mounts an overlayfs whose lower layers are the skeleton
// and then the layers.
func assembleOverlay(cfg *initConfig, legacy bool) error {
	if err := unix.Mkdir(skelDir, 0o755); err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("mkdir %s: %w", skelDir, err)
	}
	if err := writeSkeleton(skelDir, cfg); err != nil {
		return err
	}
	lowers := make([]string, 0, len(cfg.Layers)+1)
	lowers = append(lowers, skelDir)
	for _, l := range cfg.Layers {
		lowers = append(lowers, oldRoot+l.Dir)
	}
	if err := overlay.Mount(newRoot, lowers, legacy); err != nil {
		return fmt.Errorf("assemble root with overlayfs: %w", layerError(err, cfg.Layers))
	}
	return nil
}

// assembleBind builds the root in a tmpfs: the skeleton, then the layers
// merged by bind mounts; then makes all of it read-only.
func assembleBind(cfg *initConfig) error {
	if err := mount("tmpfs", newRoot, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=0755"); err != nil {
		return err
	}
	if err := writeSkeleton(newRoot, cfg); err != nil {
		return err
	}
	srcs := make([]string, len(cfg.Layers))
	for i, l := range cfg.Layers {
		srcs[i] = oldRoot + l.Dir
	}
	var m merger
	if err := m.merge(newRoot, srcs); err != nil {
		return fmt.Errorf("assemble root with bind mounts: %w", layerError(err, cfg.Layers))
	}
	if err := makeReadOnly(newRoot, m.binds); err != nil {
		return fmt.Errorf("assemble root with bind mounts: %w", err)
	}
	return nil
}

// layerError rewrites the host paths of layers in err to name the layers.
func layerError(err error, layers []Layer) error {
	msg := err.Error()
	for _, l := range layers {
		msg = strings.ReplaceAll(msg, oldRoot+l.Dir, fmt.Sprintf("layer %s (%s)", l.Name, l.Dir))
	}
	msg = strings.ReplaceAll(msg, oldRoot+"/", "/")
	return errors.New(msg)
}

// writeSkeleton writes the generated files and the mount points of the
// sandbox root into dir.
func writeSkeleton(dir string, cfg *initConfig) error {
	for _, d := range []string{"etc", "proc", "dev", "tmp", "home", "home/build", "destdir"} {
		if err := unix.Mkdir(dir+"/"+d, 0o755); err != nil {
			return fmt.Errorf("mkdir /%s: %w", d, err)
		}
	}
	files := []struct{ name, data string }{
		{"etc/passwd", "root:x:0:0:root:/root:/bin/sh\n" +
			"build:x:" + strconv.Itoa(buildUID) + ":" + strconv.Itoa(buildGID) + ":build:" + buildHome + ":/bin/sh\n" +
			"nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"},
		{"etc/group", "root:x:0:\nbuild:x:" + strconv.Itoa(buildGID) + ":\nnogroup:x:65534:\n"},
		{"etc/hosts", "127.0.0.1\tlocalhost build\n::1\tlocalhost build\n"},
	}
	if cfg.Network {
		b, err := os.ReadFile(oldRoot + "/etc/resolv.conf")
		if err == nil {
			files = append(files, struct{ name, data string }{"etc/resolv.conf", string(b)})
		}
	}
	for _, f := range files {
		if err := os.WriteFile(dir+"/"+f.name, []byte(f.data), 0o644); err != nil {
			return fmt.Errorf("write /%s: %w", f.name, err)
		}
	}
	return nil
}

// mountSpecials moves the prepared /proc and /dev onto the assembled root
// and mounts /tmp, /home/build and /destdir.
func mountSpecials(cfg *initConfig) error {
	for _, d := range []string{readyProc, readyDev} {
		if err := mount(d, newRoot+d, "", unix.MS_MOVE, ""); err != nil {
			return err
		}
	}
	tmpOpts := "mode=1777"
	if cfg.TmpSize > 0 {
		tmpOpts += ",size=" + strconv.FormatInt(cfg.TmpSize, 10)
	}
	// /dev/shm is memory too: bounded like /tmp.
	for _, d := range []string{"/tmp", "/dev/shm"} {
		if err := mount("tmpfs", newRoot+d, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, tmpOpts); err != nil {
			return err
		}
	}
	for _, b := range []struct{ host, at string }{{cfg.Work, buildHome}, {cfg.DestDir, "/destdir"}} {
		if b.host == "" {
			continue
		}
		if err := mount(oldRoot+b.host, newRoot+b.at, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return err
		}
	}
	return nil
}

// mountDev mounts a minimal /dev: a read-only tmpfs holding the host's
// harmless device nodes, the usual symlinks, /dev/pts and the mount point
// of /dev/shm (mounted with /tmp's size by mountSpecials).
func mountDev(dev string) error {
	if err := mount("tmpfs", dev, "tmpfs", unix.MS_NOSUID|unix.MS_NOEXEC, "mode=0755,size=64k"); err != nil {
		return err
	}
	for _, n := range []string{"null", "zero", "full", "random", "urandom", "tty"} {
		fd, err := unix.Open(dev+"/"+n, unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_CLOEXEC, 0o666)
		if err != nil {
			return fmt.Errorf("create /dev/%s: %w", n, err)
		}
		unix.Close(fd)
		if err := mount(oldRoot+"/dev/"+n, dev+"/"+n, "", unix.MS_BIND, ""); err != nil {
			return err
		}
	}
	for _, l := range [][2]string{
		{"/proc/self/fd", "fd"},
		{"/proc/self/fd/0", "stdin"},
		{"/proc/self/fd/1", "stdout"},
		{"/proc/self/fd/2", "stderr"},
		{"pts/ptmx", "ptmx"},
	} {
		if err := unix.Symlink(l[0], dev+"/"+l[1]); err != nil {
			return fmt.Errorf("symlink /dev/%s: %w", l[1], err)
		}
	}
	for _, d := range []string{"shm", "pts"} {
		if err := unix.Mkdir(dev+"/"+d, 0o755); err != nil {
			return fmt.Errorf("mkdir /dev/%s: %w", d, err)
		}
	}
	if err := mount("devpts", dev+"/pts", "devpts", unix.MS_NOSUID|unix.MS_NOEXEC, "newinstance,ptmxmode=0666,mode=620"); err != nil {
		return err
	}
	return remount(dev, unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NOEXEC)
}

// enterRoot makes dir the root and forgets the scratch tmpfs and the host
// root beneath it.
func enterRoot(dir string) error {
	if err := unix.Chdir(dir); err != nil {
		return fmt.Errorf("chdir %s: %w", dir, err)
	}
	// pivot_root(".", ".") stacks the old root on the new one; unmounting
	// "." then drops it (see pivot_root(2)).
	if err := unix.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot_root to the sandbox root: %w", err)
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("detach the host root: %w", err)
	}
	if err := unix.Chdir("/"); err != nil {
		return fmt.Errorf("chdir /: %w", err)
	}
	return nil
}

// mount is mount(2) with an error naming the source and target as the
// sandbox will see them.
func mount(source, target, fstype string, flags uintptr, data string) error {
	if err := unix.Mount(source, target, fstype, flags, data); err != nil {
		return fmt.Errorf("mount %s on %s: %w", sandboxPath(source), sandboxPath(target), err)
	}
	return nil
}

// remount changes the flags of the mount at target, which must be one of
// ours (the host's mounts have flags we may not clear).
func remount(target string, flags uintptr) error {
	if err := unix.Mount("", target, "", unix.MS_REMOUNT|unix.MS_BIND|flags, ""); err != nil {
		return fmt.Errorf("remount %s: %w", sandboxPath(target), err)
	}
	return nil
}

// sandboxPath turns a scratch path into the path the host or the build
// knows it by.
func sandboxPath(p string) string {
	if q, ok := strings.CutPrefix(p, oldRoot+"/"); ok {
		return "/" + q
	}
	if q, ok := strings.CutPrefix(p, newRoot+"/"); ok {
		return "/" + q
	}
	return p
}
