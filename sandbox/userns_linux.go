package sandbox

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// procSys is where the kernel's sysctls are read, for diagnoseUserNS.
var procSys = "/proc/sys"

// diagnoseUserNS turns a failure to start the sandbox's namespaces into
// one line saying which kernel setting forbids user namespaces here and
// how to allow them. hdo never falls back to a weaker sandbox.
func diagnoseUserNS(sys string, euid int, err error) error {
	read := func(name string) string {
		b, rerr := os.ReadFile(filepath.Join(sys, filepath.FromSlash(name)))
		if rerr != nil {
			return ""
		}
		return strings.TrimSpace(string(b))
	}
	switch {
	case read("user/max_user_namespaces") == "0":
		return fmt.Errorf("cannot start the build sandbox: user namespaces are disabled (user.max_user_namespaces=0); allow them with: sysctl -w user.max_user_namespaces=15000 (%w)", err)
	case euid != 0 && read("kernel/unprivileged_userns_clone") == "0":
		return fmt.Errorf("cannot start the build sandbox: this kernel forbids user namespaces to normal users (kernel.unprivileged_userns_clone=0); allow them with: sysctl -w kernel.unprivileged_userns_clone=1 (%w)", err)
	case euid != 0 && read("kernel/apparmor_restrict_unprivileged_userns") == "1":
		return fmt.Errorf("cannot start the build sandbox: AppArmor restricts user namespaces of normal users (kernel.apparmor_restrict_unprivileged_userns=1); allow them with: sysctl -w kernel.apparmor_restrict_unprivileged_userns=0, or an AppArmor profile with 'userns,' for hdo (%w)", err)
	}
	return fmt.Errorf("cannot start the build sandbox in new namespaces: %w", err)
}
