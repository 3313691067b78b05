package sandbox

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCodec(t *testing.T) {
	cfg := initConfig{
		Layers:      []Layer{{Name: "pkg/a", Dir: "/store/a"}, {Name: "pkg/é:b", Dir: "/store/b\x00c"}},
		Assembly:    AssembleBind,
		Work:        "/work",
		DestDir:     "",
		Args:        []string{"/bin/sh", "-e", "./build", ""},
		Env:         []string{"A=1", "B="},
		NExtra:      2,
		TmpSize:     1 << 40,
		Interactive: true,
	}
	var got initConfig
	if err := got.decode(cfg.encode()); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(cfg, got); diff != "" {
		t.Errorf("config round trip: diff (-want +got):\n%s", diff)
	}

	rep := report{Error: "mount: EPERM", Exit: 143, Signal: 15, Assembly: "bind", AssembleNs: 1, SetupNs: -2}
	var gotRep report
	if err := gotRep.decode(rep.encode()); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(rep, gotRep); diff != "" {
		t.Errorf("report round trip: diff (-want +got):\n%s", diff)
	}

	b := cfg.encode()
	for n := range len(b) {
		if err := new(initConfig).decode(b[:n]); err == nil {
			t.Errorf("decode of %d of %d bytes: no error", n, len(b))
		}
	}
	if err := new(initConfig).decode(append(b, 0)); err == nil {
		t.Errorf("decode with a byte left over: no error")
	}
}

// FuzzCodec decodes arbitrary bytes as the messages the sandbox's
// processes exchange (a build's configuration, its report, spawner
// requests): no panic or unbounded allocation, and what decodes encodes
// back to the same bytes.
func FuzzCodec(f *testing.F) {
	cfg := initConfig{Layers: []Layer{{Name: "pkg/a", Dir: "/store/a"}}, Work: "/w", Args: []string{"/bin/sh"}, Env: []string{"A=1"}, TmpSize: 1 << 30}
	f.Add(cfg.encode())
	f.Add((&report{Error: "x", Exit: 1, Assembly: "bind"}).encode())
	f.Add((&message{Kind: msgStart, ID: 7, Err: "e"}).encode())
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		var c initConfig
		if c.decode(b) == nil {
			var again initConfig
			if err := again.decode(c.encode()); err != nil {
				t.Fatalf("config round trip: %v", err)
			}
			if diff := cmp.Diff(c, again); diff != "" {
				t.Fatalf("config round trip (-first +second):\n%s", diff)
			}
		}
		var r report
		if r.decode(b) == nil {
			var again report
			if err := again.decode(r.encode()); err != nil || again != r {
				t.Fatalf("report round trip: %+v, %v; want %+v", again, err, r)
			}
		}
		var m message
		if m.decode(b) == nil {
			var again message
			if err := again.decode(m.encode()); err != nil || again != m {
				t.Fatalf("message round trip: %+v, %v; want %+v", again, err, m)
			}
		}
	})
}
