package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hdo-build/hdo/internal/archive"
	"github.com/hdo-build/hdo/internal/cache"
)

// faultServer serves a cache directory over HTTP on loopback, letting a
// fault answer a request instead. It counts the requests per file.
type faultServer struct {
	dir   string
	fault func(w http.ResponseWriter, name string, n int, data []byte) bool

	mu    sync.Mutex
	count map[string]int
}

func (s *faultServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := path.Base(r.URL.Path)
	s.mu.Lock()
	n := s.count[name]
	s.count[name]++
	s.mu.Unlock()
	data, err := os.ReadFile(filepath.Join(s.dir, name))
	if s.fault != nil && s.fault(w, name, n, data) {
		return
	}
	if err != nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Length", fmt.Sprint(len(data)))
	w.Write(data)
}

func (s *faultServer) requests(name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.count[name]
}

// hijackHalf sends a 200 with the whole Content-Length, then half the
// body, then closes the connection (a reset in the middle of the body).
func hijackHalf(w http.ResponseWriter, data []byte) {
	conn, buf, err := w.(http.Hijacker).Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	fmt.Fprintf(buf, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", len(data))
	buf.Write(data[:len(data)/2])
	buf.Flush()
}

// cacheFixture is a published cache of a stage0 tree (app with lib in its
// run-time closure, signed) and the tarballs a local build makes.
type cacheFixture struct {
	dir        string            // the cache directory
	pub        string            // the public key, name:base64
	local      map[string][]byte // pkg/app, pkg/lib -> tarball built locally
	hash       map[string]string // pkg/app, pkg/lib -> pkghash
	forgedInfo []byte            // an .info for lib naming a tampered tarball, self-consistent but unsigned
	forgedTgz  []byte
}

func newCacheFixture(t *testing.T) *cacheFixture {
	t.Helper()
	base := t.TempDir()
	h := newHdoTree(t, filepath.Join(base, "pub"))
	writeStageTree(t, h.root, h.cache)
	key := filepath.Join(base, "builder")
	h.run(t, "key", "generate", key)
	f := &cacheFixture{dir: filepath.Join(base, "cache"), local: map[string][]byte{}, hash: map[string]string{}}
	h.run(t, "publish", "-q", "-o", f.dir, "--key", key+".sec", "pkg/app")
	pub, err := os.ReadFile(key + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	f.pub = strings.TrimSpace(string(pub))
	for _, p := range []string{"pkg/app", "pkg/lib"} {
		f.local[p] = readFile(t, filepath.Join(h.root, p, ".pkg.tar.gz"))
		f.hash[p] = strings.TrimSpace(string(readFile(t, filepath.Join(h.root, p, ".pkghash"))))
	}

	// A tampered lib whose .info matches it: only a signature tells.
	tampered := filepath.Join(base, "tampered")
	if err := os.MkdirAll(filepath.Join(tampered, "lib"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tampered, "lib/lib.txt"), []byte("not lib\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var tgz bytes.Buffer
	content, err := archive.WriteTarGz(&tgz, tampered)
	if err != nil {
		t.Fatal(err)
	}
	info, err := cache.ParseInfo(readFile(t, filepath.Join(f.dir, f.hash["pkg/lib"]+".info")))
	if err != nil {
		t.Fatal(err)
	}
	info.Size, info.SHA256, info.Content, info.Sigs = int64(tgz.Len()), sha256Hex(tgz.Bytes()), content, nil
	if f.forgedInfo, err = info.MarshalText(); err != nil {
		t.Fatal(err)
	}
	f.forgedTgz = tgz.Bytes()
	return f
}

func readFile(t testing.TB, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestCacheFaults runs hdo end to end against a binary cache that
// misbehaves: it must retry what is worth retrying, fall back to building
// (or fail with --binary-only), and never install a byte the local build
// would not have made, in the tree or in its downloads.
func TestCacheFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("builds stage0 packages")
	}
	f := newCacheFixture(t)
	isTar := func(name string) bool { return strings.HasSuffix(name, ".tar.gz") }
	isInfo := func(name string) bool { return strings.HasSuffix(name, ".info") }
	libTar := f.hash["pkg/lib"] + ".tar.gz"
	appTar := f.hash["pkg/app"] + ".tar.gz"

	type fault = func(w http.ResponseWriter, name string, n int, data []byte) bool
	tests := []struct {
		name       string
		fault      fault
		trusted    bool   // set HDO_TRUSTED_KEYS to the publisher's key
		binaryOnly bool   // --binary-only
		wantHit    bool   // pkg/app comes from the cache (else it is built)
		wantErr    string // --binary-only: a line of stderr matches
		wantWarn   string // a line of stderr matches
		check      func(t *testing.T, s *faultServer)
	}{
		{name: "healthy", trusted: true, wantHit: true},
		{
			name:    "500 twice then fine",
			fault:   func(w http.ResponseWriter, name string, n int, data []byte) bool { return n < 2 && http500(w) },
			wantHit: true,
			check: func(t *testing.T, s *faultServer) {
				if n := s.requests(appTar); n < 3 {
					t.Errorf("%s requested %d times, want 3 (two 500s, then the file)", appTar, n)
				}
			},
		},
		{
			name:     "always 500",
			fault:    func(w http.ResponseWriter, name string, n int, data []byte) bool { return http500(w) },
			wantWarn: `unreachable after 3 tries: .*500.*; building locally`,
		},
		{
			name:       "always 500, binary only",
			fault:      func(w http.ResponseWriter, name string, n int, data []byte) bool { return http500(w) },
			binaryOnly: true,
			wantErr:    `pkg/app/.pkg.tar.gz: package [0-9a-f]{64} is in no binary cache \[http://127\.0\.0\.1:[0-9]+: unreachable after 3 tries`,
		},
		{
			name: "reset mid-body once",
			fault: func(w http.ResponseWriter, name string, n int, data []byte) bool {
				if isTar(name) && n == 0 {
					hijackHalf(w, data)
					return true
				}
				return false
			},
			wantHit: true,
		},
		{
			name: "always truncated",
			fault: func(w http.ResponseWriter, name string, n int, data []byte) bool {
				if isTar(name) {
					hijackHalf(w, data)
					return true
				}
				return false
			},
			wantWarn: `unreachable after 3 tries: unexpected EOF; building locally`,
		},
		{
			name:     "wrong bytes",
			fault:    flipLastByte(isTar),
			wantWarn: `cache http://127\.0\.0\.1:[0-9]+: [0-9a-f]{64}\.tar\.gz: .*; treating it as a miss`,
		},
		{
			name:       "wrong bytes, binary only",
			fault:      flipLastByte(isTar),
			binaryOnly: true,
			wantErr:    `pkg/(app|lib)/.pkg.tar.gz: package [0-9a-f]{64} is in no binary cache \[http://127\.0\.0\.1:[0-9]+: bad entry`,
		},
		{
			name: "forged entry, trusted keys",
			fault: func(w http.ResponseWriter, name string, n int, data []byte) bool {
				switch name {
				case f.hash["pkg/lib"] + ".info":
					w.Write(f.forgedInfo)
				case libTar:
					w.Write(f.forgedTgz)
				default:
					return false
				}
				return true
			},
			trusted:  true,
			wantHit:  true, // app is genuine; lib is built
			wantWarn: `\.info: .*sign.*; treating it as a miss`,
		},
		{
			name: "slow trickle",
			fault: func(w http.ResponseWriter, name string, n int, data []byte) bool {
				w.Header().Set("Content-Length", fmt.Sprint(len(data)))
				for i := 0; i < len(data); i += 16 {
					w.Write(data[i:min(i+16, len(data))])
					w.(http.Flusher).Flush()
					time.Sleep(3 * time.Millisecond)
				}
				return true
			},
			wantHit: true,
		},
		{
			name: "redirect loop",
			fault: func(w http.ResponseWriter, name string, n int, data []byte) bool {
				w.Header().Set("Location", "/"+name)
				w.WriteHeader(http.StatusFound)
				return true
			},
			wantWarn: `redirect`,
		},
		{
			name: "huge info",
			fault: func(w http.ResponseWriter, name string, n int, data []byte) bool {
				if !isInfo(name) {
					return false
				}
				// No Content-Length: the client must stop reading by itself.
				chunk := bytes.Repeat([]byte("name: x\n"), 8192)
				for range 4096 { // 256 MiB at most
					if _, err := w.Write(chunk); err != nil {
						break
					}
				}
				return true
			},
			wantWarn: `\.info: larger than 262144 bytes; treating it as a miss`,
		},
		{
			name: "html for everything",
			fault: func(w http.ResponseWriter, name string, n int, data []byte) bool {
				w.Header().Set("Content-Type", "text/html")
				w.Write([]byte("<html><body>Please log in to the network</body></html>\n"))
				return true
			},
			wantWarn: `\.info: .*; treating it as a miss`,
		},
		{
			name: "tarball missing",
			fault: func(w http.ResponseWriter, name string, n int, data []byte) bool {
				if isTar(name) {
					http.NotFound(w, nil)
					return true
				}
				return false
			},
			wantWarn: `\.info is there but [0-9a-f]{64}\.tar\.gz is not; treating it as a miss`,
		},
		{
			name: "empty cache, binary only",
			fault: func(w http.ResponseWriter, name string, n int, data []byte) bool {
				http.NotFound(w, nil)
				return true
			},
			binaryOnly: true,
			wantErr:    `package [0-9a-f]{64} is in no binary cache \[http://127\.0\.0\.1:[0-9]+: miss\]`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &faultServer{dir: f.dir, fault: tt.fault, count: map[string]int{}}
			srv := httptest.NewServer(s)
			defer srv.Close()
			h := newHdoTree(t, t.TempDir())
			writeStageTree(t, h.root, h.cache)
			args := []string{"pkg/app/.pkg.tar.gz"}
			if tt.binaryOnly {
				args = append([]string{"--binary-only"}, args...)
			}
			cmd := h.command(t, args...)
			cmd.Env = append(cmd.Env, "HDO_CACHE_URL="+srv.URL)
			if tt.trusted {
				cmd.Env = append(cmd.Env, "HDO_TRUSTED_KEYS="+f.pub)
			}
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			out := stderr.String()
			if strings.Contains(out, "goroutine ") || strings.Contains(out, "panic:") {
				t.Fatalf("hdo panicked:\n%s", out)
			}
			var ee *exec.ExitError
			switch {
			case tt.wantErr != "" && !errors.As(err, &ee):
				t.Errorf("hdo: %v, want exit status 1", err)
			case tt.wantErr != "" && !matchLine(out, tt.wantErr):
				t.Errorf("no line of stderr matches %q", tt.wantErr)
			case tt.wantErr == "" && err != nil:
				t.Errorf("hdo: %v", err)
			}
			if tt.wantWarn != "" && !matchLine(out, tt.wantWarn) {
				t.Errorf("no line of stderr matches %q", tt.wantWarn)
			}
			// Each warning is given once, however many packages ask.
			seen := map[string]bool{}
			for _, line := range strings.Split(out, "\n") {
				if strings.Contains(line, "cache http") && seen[line] {
					t.Errorf("warning repeated: %s", line)
				}
				seen[line] = true
			}
			if hit := strings.Contains(out, "pkg/app: from the binary cache"); hit != tt.wantHit && tt.wantErr == "" {
				t.Errorf("pkg/app from the binary cache: %v, want %v", hit, tt.wantHit)
			}
			// Never a wrong byte: what is installed is what a local
			// build makes; a failed --binary-only run installs nothing.
			for p, want := range f.local {
				got, err := os.ReadFile(filepath.Join(h.root, p, ".pkg.tar.gz"))
				switch {
				case err == nil && !bytes.Equal(got, want):
					t.Errorf("%s/.pkg.tar.gz differs from the local build (%d bytes, want %d)", p, len(got), len(want))
				case err == nil && tt.wantErr != "" && p == "pkg/app":
					t.Errorf("%s/.pkg.tar.gz installed by a failed --binary-only run", p)
				case err != nil && tt.wantErr == "":
					t.Errorf("%s/.pkg.tar.gz: %v", p, err)
				}
			}
			des, _ := os.ReadDir(filepath.Join(h.cache, "hdo", "downloads"))
			for _, de := range des {
				got := readFile(t, filepath.Join(h.cache, "hdo", "downloads", de.Name()))
				if !bytes.Equal(got, f.local["pkg/app"]) && !bytes.Equal(got, f.local["pkg/lib"]) {
					t.Errorf("downloads/%s holds %d bytes no local build made", de.Name(), len(got))
				}
			}
			if tt.check != nil {
				tt.check(t, s)
			}
			if t.Failed() {
				t.Logf("stderr:\n%s", out)
			}
		})
	}
}

func http500(w http.ResponseWriter) bool {
	http.Error(w, "internal error", http.StatusInternalServerError)
	return true
}

// flipLastByte serves the files match accepts with their last byte
// changed: same size, wrong content.
func flipLastByte(match func(string) bool) func(http.ResponseWriter, string, int, []byte) bool {
	return func(w http.ResponseWriter, name string, n int, data []byte) bool {
		if !match(name) || len(data) == 0 {
			return false
		}
		bad := append([]byte(nil), data...)
		bad[len(bad)-1] ^= 0xff
		w.Header().Set("Content-Length", fmt.Sprint(len(bad)))
		w.Write(bad)
		return true
	}
}

// matchLine reports whether a line of text matches the regexp.
func matchLine(text, re string) bool {
	rx := regexp.MustCompile(re)
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		if rx.MatchString(sc.Text()) {
			return true
		}
	}
	return false
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
