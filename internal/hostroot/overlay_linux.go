package hostroot

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// mountOverlay mounts a read-only overlayfs of lowers (the first on top)
// at target. The fsconfig mount API takes one layer at a time (kernels
// 6.8 and later); older kernels get one "lowerdir=" option string, which
// must fit in a page.
func mountOverlay(target string, lowers []string) error {
	fd, err := unix.Fsopen("overlay", unix.FSOPEN_CLOEXEC)
	if err == nil {
		defer unix.Close(fd)
		err = overlayByLayer(fd, target, lowers)
		if !errors.Is(err, errNoLowerdirPlus) {
			return err
		}
	}
	return overlayByOption(target, lowers)
}

var errNoLowerdirPlus = errors.New("no lowerdir+")

func overlayByLayer(fd int, target string, lowers []string) error {
	for i, l := range lowers {
		if err := unix.FsconfigSetString(fd, "lowerdir+", l); err != nil {
			if i == 0 && errors.Is(err, unix.EINVAL) {
				return errNoLowerdirPlus
			}
			return fmt.Errorf("overlay layer %s: %w", l, err)
		}
	}
	if err := unix.FsconfigCreate(fd); err != nil {
		return fmt.Errorf("overlay of %d layers: %w", len(lowers), err)
	}
	mfd, err := unix.Fsmount(fd, unix.FSMOUNT_CLOEXEC, unix.MOUNT_ATTR_RDONLY|unix.MOUNT_ATTR_NODEV)
	if err != nil {
		return fmt.Errorf("overlay of %d layers: %w", len(lowers), err)
	}
	defer unix.Close(mfd)
	return unix.MoveMount(mfd, "", unix.AT_FDCWD, target, unix.MOVE_MOUNT_F_EMPTY_PATH)
}

func overlayByOption(target string, lowers []string) error {
	esc := strings.NewReplacer(`\`, `\\`, `:`, `\:`, `,`, `\,`)
	parts := make([]string, len(lowers))
	for i, l := range lowers {
		parts[i] = esc.Replace(l)
	}
	opts := "lowerdir=" + strings.Join(parts, ":")
	if len(opts) >= os.Getpagesize() {
		return fmt.Errorf("overlay of %d layers: %d bytes of options exceed a page; a kernel with fsconfig lowerdir+ (6.8 or later) takes any number", len(lowers), len(opts))
	}
	if err := unix.Mount("overlay", target, "overlay", unix.MS_RDONLY|unix.MS_NODEV, opts); err != nil {
		return fmt.Errorf("overlay of %d layers: %w", len(lowers), err)
	}
	return nil
}
