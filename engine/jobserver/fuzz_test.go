package jobserver

import (
	"strings"
	"testing"
)

// FuzzMakeFlags checks the MAKEFLAGS an hdo passes to its scripts, made
// from whatever MAKEFLAGS it inherited: exactly one jobserver, its own,
// exactly one -j word, its own, and every other word kept in order.
// (FromMakeflags opens the descriptors and paths it names, so it is not
// fuzzed; its parsing is the same word split.)
func FuzzMakeFlags(f *testing.F) {
	p, err := New(4, Pipe)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { p.Close() })
	for _, s := range []string{"", "k -j8 --jobserver-auth=7,8 --no-print-directory", " -j --jobserver-fds=3,4 -j2", "--jobserver-auth=fifo:/tmp/x -w", "-j4x\t--jobserver-auth="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got := p.MakeFlags(in, 3)
		var auths, js int
		for _, w := range strings.Fields(got) {
			switch {
			case strings.HasPrefix(w, "--jobserver-auth=") || strings.HasPrefix(w, "--jobserver-fds="):
				auths++
				if w != "--jobserver-auth=3,4" {
					t.Errorf("MakeFlags(%q) = %q: names jobserver %q", in, got, w)
				}
			case w == "-j" || strings.HasPrefix(w, "-j") && isDigits(w[2:]):
				js++
			}
		}
		if auths != 1 || js != 1 {
			t.Errorf("MakeFlags(%q) = %q: %d jobserver words and %d -j words, want 1 and 1", in, got, auths, js)
		}
		var kept []string
		for _, w := range strings.Fields(in) {
			if !(strings.HasPrefix(w, "--jobserver-auth=") || strings.HasPrefix(w, "--jobserver-fds=") || w == "-j" || strings.HasPrefix(w, "-j") && isDigits(w[2:])) {
				kept = append(kept, w)
			}
		}
		if want := strings.Join(kept, " "); !strings.HasPrefix(got, want) {
			t.Errorf("MakeFlags(%q) = %q, want it to start with the other words %q", in, got, want)
		}
	})
}
