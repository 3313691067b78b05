package sandbox

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestDiagnoseUserNS(t *testing.T) {
	for _, tt := range []struct {
		name  string
		files map[string]string
		euid  int
		want  string
	}{
		{"max 0", map[string]string{"user/max_user_namespaces": "0\n"}, 0, "user.max_user_namespaces=0); allow them with: sysctl -w user.max_user_namespaces="},
		{"debian", map[string]string{"user/max_user_namespaces": "63000\n", "kernel/unprivileged_userns_clone": "0\n"}, 1000, "kernel.unprivileged_userns_clone=0); allow them with: sysctl -w kernel.unprivileged_userns_clone=1"},
		{"debian, root", map[string]string{"kernel/unprivileged_userns_clone": "0\n"}, 0, "cannot start the build sandbox in new namespaces: operation not permitted"},
		{"ubuntu", map[string]string{"kernel/apparmor_restrict_unprivileged_userns": "1\n"}, 1000, "kernel.apparmor_restrict_unprivileged_userns=1); allow them with"},
		{"other", nil, 1000, "cannot start the build sandbox in new namespaces: operation not permitted"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sys := t.TempDir()
			for name, text := range tt.files {
				p := filepath.Join(sys, name)
				os.MkdirAll(filepath.Dir(p), 0o755)
				os.WriteFile(p, []byte(text), 0o644)
			}
			err := diagnoseUserNS(sys, tt.euid, syscall.EPERM)
			if !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("got %q, want one line containing %q", err, tt.want)
			}
			if !errors.Is(err, syscall.EPERM) {
				t.Errorf("%v does not wrap the cause", err)
			}
		})
	}
}
