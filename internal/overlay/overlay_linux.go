// Package overlay mounts the read-only overlayfs that the sandbox's root
// and hostroot's merged directories are made of: one implementation, so
// that both get the same flags (ro, nosuid, nodev) and the same fallback.
package overlay

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// errNoMountAPI says the kernel lacks fsopen or overlayfs's "lowerdir+".
var errNoMountAPI = errors.New("no fsconfig lowerdir+ support")

// Mount mounts a read-only, nosuid, nodev overlayfs at target whose lower
// layers are lowers, the first on top. It uses the fsopen/fsconfig mount API,
// which takes one layer at a time and so has no limit on their number but
// overlayfs's own (500), and falls back to mount(2) with a "lowerdir="
// option, limited to one page, on kernels older than 6.8; legacy forces
// the fallback.
func Mount(target string, lowers []string, legacy bool) error {
	if !legacy {
		err := overlayMountAPI(target, lowers)
		if !errors.Is(err, errNoMountAPI) {
			return err
		}
	}
	return overlayLegacy(target, lowers)
}

func overlayMountAPI(target string, lowers []string) error {
	fd, err := unix.Fsopen("overlay", unix.FSOPEN_CLOEXEC)
	if errors.Is(err, unix.ENOSYS) {
		return errNoMountAPI
	}
	if err != nil {
		return fmt.Errorf("fsopen overlay: %w", err)
	}
	defer unix.Close(fd)
	for i, l := range lowers {
		if err := unix.FsconfigSetString(fd, "lowerdir+", l); err != nil {
			if i == 0 && errors.Is(err, unix.EINVAL) && strings.Contains(fsLog(fd), "lowerdir+") {
				return errNoMountAPI
			}
			return fmt.Errorf("add %s to overlay: %w%s", l, err, fsLog(fd))
		}
	}
	if err := unix.FsconfigCreate(fd); err != nil {
		return fmt.Errorf("create overlay of %d layers: %w%s", len(lowers), err, fsLog(fd))
	}
	mfd, err := unix.Fsmount(fd, unix.FSMOUNT_CLOEXEC, unix.MOUNT_ATTR_RDONLY|unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NODEV)
	if err != nil {
		return fmt.Errorf("fsmount overlay: %w%s", err, fsLog(fd))
	}
	defer unix.Close(mfd)
	if err := unix.MoveMount(mfd, "", unix.AT_FDCWD, target, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return fmt.Errorf("move overlay mount to %s: %w", target, err)
	}
	return nil
}

// fsLog returns the messages the kernel left on an fsopen fd, which say
// what overlayfs disliked, as ": msg; msg".
func fsLog(fd int) string {
	var msgs []string
	buf := make([]byte, 4096)
	for {
		n, err := unix.Read(fd, buf)
		if err != nil || n <= 0 {
			break
		}
		// Each message is "e ", "w " or "i " and the text.
		msgs = append(msgs, strings.TrimSpace(string(buf[min(n, 2):n])))
	}
	if len(msgs) == 0 {
		return ""
	}
	return " (" + strings.Join(msgs, "; ") + ")"
}

func overlayLegacy(target string, lowers []string) error {
	esc := strings.NewReplacer(`\`, `\\`, `:`, `\:`, `,`, `\,`)
	var b strings.Builder
	b.WriteString("lowerdir=")
	for i, l := range lowers {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(esc.Replace(l))
	}
	opts := b.String()
	if len(opts) >= os.Getpagesize() {
		return fmt.Errorf("mount overlay of %d layers: option string of %d bytes exceeds the page size (%d): use a kernel with fsconfig lowerdir+ (6.8 or later) or fewer layers",
			len(lowers), len(opts), os.Getpagesize())
	}
	if err := unix.Mount("overlay", target, "overlay", unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV, opts); err != nil {
		return fmt.Errorf("mount overlay of %d layers: %w", len(lowers), err)
	}
	return nil
}
