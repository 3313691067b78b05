package sandbox

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCodec(t *testing.T) {
	cfg := initConfig{
		Layers:      []Layer{{"pkg/a", "/store/a"}, {"pkg/é:b", "/store/b\x00c"}},
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
