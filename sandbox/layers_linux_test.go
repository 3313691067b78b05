package sandbox

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLayerUnion(t *testing.T) {
	forModes(t, func(t *testing.T, mode Assembly) {
		a, b := t.TempDir(), t.TempDir()
		writeTree(t, a, map[string]string{
			"usr/bin/a":           "a",
			"usr/share/x":         "A",
			"usr/lib/libz.so":     "->libz.so.1",
			"usr/lib/libz.so.1":   "z",
			"etc/a.conf":          "a",
			"etc/passwd":          "hidden by the generated one",
			"home/other/f":        "f",
			"opt/":                "",
			"tmp/hidden-by-tmpfs": "",
		})
		writeTree(t, b, map[string]string{
			"usr/bin/b":   "b",
			"usr/share/x": "B",
			"usr/share/y": "y",
			"usr/lib":     "a file, hidden by a's directory",
			"bin/tool":    "t",
			"etc/b.conf":  "b",
		})
		f := newFixture(t, mode, Layer{Name: "pkg/a", Dir: a}, Layer{Name: "pkg/b", Dir: b})
		got := f.mustRun(t, "ls", "/", "+", "ls", "/usr/bin", "+", "read", "/usr/share/x", "+", "read", "/usr/share/y",
			"+", "read", "/usr/lib/libz.so", "+", "ls", "/etc", "+", "user", "+", "ls", "/bin", "+", "ls", "/home",
			"+", "read", "/home/other/f", "+", "ls", "/opt", "+", "ls", "/tmp")
		want := `ls /: bin destdir dev etc home opt proc tmp usr
ls /usr/bin: a b
read /usr/share/x: "A"
read /usr/share/y: "y"
read /usr/lib/libz.so: "z"
ls /etc: a.conf b.conf group hosts passwd
user: build
ls /bin: probe tool true
ls /home: build other
read /home/other/f: "f"
ls /opt: 
ls /tmp: 
`
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("diff (-want +got):\n%s", diff)
		}
	})
}

// manyLayers makes n layers, each holding /usr/bin/fI, in directories
// named with prefix.
func manyLayers(t *testing.T, n int, prefix string) []Layer {
	t.Helper()
	root := t.TempDir()
	layers := make([]Layer, n)
	for i := range layers {
		dir := filepath.Join(root, fmt.Sprintf("%s%03d", prefix, i))
		writeTree(t, dir, map[string]string{fmt.Sprintf("usr/bin/f%03d", i): ""})
		layers[i] = Layer{Name: fmt.Sprintf("pkg/p%d", i), Dir: dir}
	}
	return layers
}

func TestManyLayers(t *testing.T) {
	l600 := manyLayers(t, 600, "l")
	long100 := manyLayers(t, 100, strings.Repeat("long-layer-name-", 6))
	odd := manyLayers(t, 3, `a:b,c\d `)
	tests := []struct {
		name    string
		layers  []Layer
		mode    Assembly
		wantErr string // empty: runs
		want    Assembly
	}{
		// Beyond overlayfs's limit of 500 lower layers.
		{name: "600 auto", layers: l600, mode: AssembleAuto, want: AssembleBind},
		{name: "600 overlay", layers: l600, mode: AssembleOverlay, wantErr: "overlayfs"},
		// Beyond the page mount(2) options must fit in, not beyond fsconfig.
		{name: "100 long overlay", layers: long100, mode: AssembleOverlay, want: AssembleOverlay},
		{name: "100 long legacy", layers: long100, mode: assembleOverlayLegacy, wantErr: "exceeds the page size"},
		{name: "100 long bind", layers: long100, mode: AssembleBind, want: AssembleBind},
		// Characters the legacy option string must escape.
		{name: "odd names legacy", layers: odd, mode: assembleOverlayLegacy, want: assembleOverlayLegacy},
		{name: "odd names overlay", layers: odd, mode: AssembleOverlay, want: AssembleOverlay},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, tt.mode, tt.layers...)
			out, rep, err := f.run(t, "ls", "/usr/bin")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Run: got %v, want an error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Run: %v\n%s", err, out)
			}
			if rep.Assembly != tt.want.String() {
				t.Errorf("root assembled by %s, want %s", rep.Assembly, tt.want)
			}
			if got := len(strings.Fields(field(out, "ls /usr/bin"))); got != len(tt.layers) {
				t.Errorf("/usr/bin holds %d files, want one per layer: %d", got, len(tt.layers))
			}
		})
	}
}
