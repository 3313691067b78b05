package fetch

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fakeEtc writes files (paths relative to root) and returns root.
func fakeEtc(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, content := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

const debianOSRelease = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_CODENAME=bookworm\n"

func TestAptDebianMirror(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"one-line", map[string]string{
			"etc/apt/sources.list": "# comment\n" +
				"deb http://security.example/debian-security bookworm-security main\n" +
				"deb-src http://src.example/debian bookworm main\n" +
				"deb [arch=amd64 signed-by=/usr/share/keyrings/k.gpg] http://mirror.example/debian/ bookworm main contrib # trailing\n",
		}, "http://mirror.example/debian"},
		{"options with spaces", map[string]string{
			"etc/apt/sources.list": "deb [ arch=amd64 ] https://mirror.example/debian bookworm main\n",
		}, "https://mirror.example/debian"},
		{"deb822", map[string]string{
			"etc/apt/sources.list.d/debian.sources": "Types: deb\n" +
				"# http://snapshot.example/archive/debian/20250520T000000Z\n" +
				"URIs: http://mirror.example/debian\n" +
				"Suites: bookworm bookworm-updates\n" +
				"Components: main\n" +
				"Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n" +
				"\n" +
				"Types: deb\n" +
				"URIs: http://mirror.example/debian-security\n" +
				"Suites: bookworm-security\n" +
				"Components: main\n",
		}, "http://mirror.example/debian"},
		{"security first, multi-line field", map[string]string{
			"etc/apt/sources.list.d/a.sources": "Types: deb\nURIs: http://sec.example/debian\nSuites: bookworm-security\nComponents: main\n",
			"etc/apt/sources.list.d/b.sources": "Enabled: no\nTypes: deb\nURIs: http://disabled.example/debian\nSuites: bookworm\nComponents: main\n\n" +
				"types: deb deb-src\nuris:\n http://one.example/debian\n http://two.example/debian\nsuites: bookworm\ncomponents: main\n",
		}, "http://one.example/debian"},
		{"third-party repos lose", map[string]string{
			"etc/os-release":                               debianOSRelease,
			"etc/apt/sources.list":                         "deb https://vendor.example/apt cloud-sdk-bookworm main\ndeb https://pkgs.example/debian/12/prod bookworm main\n",
			"etc/apt/sources.list.d/nodesource.sources":    "Types: deb\nURIs: https://node.example/node_20.x\nSuites: nodistro\nComponents: main\n",
			"etc/apt/sources.list.d/docker.list":           "deb https://docker.example/linux/debian bookworm stable\n",
			"etc/apt/sources.list.d/z-debian.list":         "deb http://mirror.example/debian bookworm main\n",
			"etc/apt/sources.list.d/ignored.list.disabled": "deb http://ignored.example/debian bookworm main\n",
		}, "http://mirror.example/debian"},
		{"snapshot archive", map[string]string{
			"etc/apt/sources.list": "deb http://snapshot.example/archive/debian/20250520T000000Z bookworm main\n",
		}, "http://snapshot.example/archive/debian/20250520T000000Z"},
		{"codename match on a Debian host", map[string]string{
			"etc/os-release":       debianOSRelease,
			"etc/apt/sources.list": "deb http://proxy.example:3142/deb bookworm main\n",
		}, "http://proxy.example:3142/deb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := AptDebianMirror(fakeEtc(t, tt.files))
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestAptDebianMirrorNone(t *testing.T) {
	for name, files := range map[string]map[string]string{
		"no files":      {},
		"security only": {"etc/apt/sources.list": "deb http://mirror.example/debian-security bookworm-security main\n"},
		"not debian":    {"etc/os-release": "ID=ubuntu\nVERSION_CODENAME=noble\n", "etc/apt/sources.list": "deb http://mirror.example/ubuntu noble main\n"},
		"no main":       {"etc/apt/sources.list": "deb http://mirror.example/debian bookworm contrib\n"},
		"cdrom":         {"etc/apt/sources.list": "deb cdrom:[Debian]/ bookworm main\n"},
	} {
		t.Run(name, func(t *testing.T) {
			root := fakeEtc(t, files)
			_, err := AptDebianMirror(root)
			want := "no Debian archive found in " + filepath.Join(root, "etc/apt") + "/sources.list or sources.list.d; set HDO_MIRROR_DEBIAN"
			if err == nil || err.Error() != want {
				t.Errorf("got error %v\nwant %s", err, want)
			}
		})
	}
}

func TestMirrorsFromEnv(t *testing.T) {
	apt := fakeEtc(t, map[string]string{"etc/apt/sources.list": "deb http://apt.example/debian bookworm main\n"})
	tests := []struct {
		name string
		env  []string
		want map[string][]string
	}{
		{"apt default", []string{"PATH=/bin"}, map[string][]string{"debian": {"http://apt.example/debian"}}},
		{"env wins", []string{"HDO_MIRROR_DEBIAN=http://a.example/debian  http://b.example/debian", "HDO_MIRROR_GNU=https://gnu.example/gnu"},
			map[string][]string{"debian": {"http://a.example/debian", "http://b.example/debian"}, "gnu": {"https://gnu.example/gnu"}}},
		{"empty means unset", []string{"HDO_MIRROR_DEBIAN=", "HDO_MIRROR_X=a", "HDO_MIRROR_X= "}, map[string][]string{"debian": {"http://apt.example/debian"}}},
		{"later wins", []string{"HDO_MIRROR_Gnu=a", "HDO_MIRROR_GNU=b"}, map[string][]string{"debian": {"http://apt.example/debian"}, "gnu": {"b"}}},
		{"not mirrors", []string{"HDO_MIRROR_=x", "XHDO_MIRROR_A=x", "HDO_MIRRORS=x"}, map[string][]string{"debian": {"http://apt.example/debian"}}},
		{"goproxy from GOPROXY", []string{"GOPROXY=https://p1.example/mod/,direct|https://p2.example"},
			map[string][]string{"debian": {"http://apt.example/debian"}, "goproxy": {"https://p1.example/mod", "https://p2.example"}}},
		{"HDO_MIRROR_GOPROXY wins", []string{"GOPROXY=https://p1.example", "HDO_MIRROR_GOPROXY=file:///srv/mod"},
			map[string][]string{"debian": {"http://apt.example/debian"}, "goproxy": {"file:///srv/mod"}}},
		{"GOPROXY without a proxy", []string{"GOPROXY=direct"}, map[string][]string{"debian": {"http://apt.example/debian"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, mirrorsFromEnv(tt.env, apt)); diff != "" {
				t.Errorf("diff (-want +got):\n%s", diff)
			}
		})
	}
	// Without apt sources there is no debian default.
	if diff := cmp.Diff(map[string][]string{}, mirrorsFromEnv(nil, t.TempDir())); diff != "" {
		t.Errorf("diff (-want +got):\n%s", diff)
	}
}

func TestGoProxyBases(t *testing.T) {
	tests := []struct {
		list string
		want []string
	}{
		{"https://p.example/mod/,direct", []string{"https://p.example/mod"}},
		{" https://a.example | http://b.example , file:///srv/mod ", []string{"https://a.example", "http://b.example", "file:///srv/mod"}},
		{"off", nil},
		{"direct", nil},
		{"", nil},
		{"p.example,ftp://x.example", nil},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, GoProxyBases(tt.list)); diff != "" {
			t.Errorf("GoProxyBases(%q) diff (-want +got):\n%s", tt.list, diff)
		}
	}
}

func TestSourceMirrorsFromEnv(t *testing.T) {
	got := SourceMirrorsFromEnv([]string{"HDO_SOURCE_MIRRORS=old", "A=b", "HDO_SOURCE_MIRRORS= https://s1.example/src  file:///srv/src "})
	if diff := cmp.Diff([]string{"https://s1.example/src", "file:///srv/src"}, got); diff != "" {
		t.Errorf("diff (-want +got):\n%s", diff)
	}
	if got := SourceMirrorsFromEnv([]string{"HOME=/root"}); got != nil {
		t.Errorf("got %v, want nil", got)
	}
}

func TestAptDebianSecurityMirror(t *testing.T) {
	root := fakeEtc(t, map[string]string{
		"etc/apt/sources.list.d/debian.sources": "Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\nComponents: main\n\n" +
			"Types: deb\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\nComponents: main\n",
	})
	got, err := AptDebianSecurityMirror(root)
	if err != nil || got != "http://mirror.example/debian-security" {
		t.Errorf("AptDebianSecurityMirror = %q, %v; want http://mirror.example/debian-security", got, err)
	}
	m := mirrorsFromEnv(nil, root)
	if m["debian-security"] == nil || m["debian-security"][0] != "http://mirror.example/debian-security" || m["debian"][0] != "http://mirror.example/debian" {
		t.Errorf("mirrorsFromEnv defaults = %v", m)
	}
	m = mirrorsFromEnv([]string{"HDO_MIRROR_DEBIAN_SECURITY=http://other.example/sec"}, root)
	if m["debian-security"][0] != "http://other.example/sec" {
		t.Errorf("HDO_MIRROR_DEBIAN_SECURITY not used: %v", m)
	}
}

// HostMirrors works each default out once, when asked: apt sources for
// debian, GOPROXY (else go env) for goproxy.
func TestHostMirrors(t *testing.T) {
	root := fakeEtc(t, map[string]string{
		"etc/os-release":       debianOSRelease,
		"etc/apt/sources.list": "deb http://mirror.example/debian bookworm main\n",
	})
	goEnvCalls := 0
	goEnv := func() []string { goEnvCalls++; return []string{"https://proxy.example"} }
	m := hostMirrors([]string{"PATH=/bin"}, root, goEnv)
	if got := m("goproxy"); len(got) != 1 || got[0] != "https://proxy.example" {
		t.Errorf("goproxy = %q", got)
	}
	m("goproxy")
	if goEnvCalls != 1 {
		t.Errorf("go env asked %d times, want once", goEnvCalls)
	}
	if got := m("debian"); len(got) != 1 || got[0] != "http://mirror.example/debian" {
		t.Errorf("debian = %q, want the apt sources' archive", got)
	}
	if got := m("gnu"); got != nil {
		t.Errorf("gnu = %q, want none: it has no host default", got)
	}
	withEnv := hostMirrors([]string{"GOPROXY=https://a.example,direct"}, root, goEnv)
	if got := withEnv("goproxy"); len(got) != 1 || got[0] != "https://a.example" || goEnvCalls != 1 {
		t.Errorf("goproxy from GOPROXY = %q (go env asked %d times)", got, goEnvCalls)
	}
	if got := EnvMirrors([]string{"HDO_MIRROR_DEBIAN_SECURITY=https://s.example https://t.example", "HDO_MIRROR_X="}); len(got) != 1 || len(got["debian-security"]) != 2 {
		t.Errorf("EnvMirrors = %v", got)
	}
}
