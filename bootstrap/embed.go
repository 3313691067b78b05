package bootstrap

import (
	"embed"
	"encoding/hex"
	"fmt"
	"path"
	"sort"
	"sync"

	"github.com/zeebo/blake3"
)

// cmdSources holds the commands hdo carries itself, compiled into stage0 as
// hdo/<name>. They are built in hdo's own tree too, so go vet and the tests
// see them.
//
//go:embed cmds/sh/main.go cmds/env/main.go
var cmdSources embed.FS

// embeddedCmds maps an embedded command name to its source file in cmdSources.
var embeddedCmds = map[string]string{
	"sh":  "cmds/sh/main.go",
	"env": "cmds/env/main.go",
}

// embeddedHash is the hex blake3-256 of the embedded command sources, part of
// every seed's key so that editing them changes the key. It is computed on
// first use, not at every hdo start.
var embeddedHash = sync.OnceValue(hashEmbedded)

func hashEmbedded() string {
	h := blake3.New()
	for _, name := range embeddedNames() {
		data, err := cmdSources.ReadFile(embeddedCmds[name])
		if err != nil {
			panic(fmt.Sprintf("bootstrap: embedded command %s: %v", name, err))
		}
		fmt.Fprintf(h, "%s %d\n", path.Join(EmbeddedPrefix, name), len(data))
		h.Write(data)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func embeddedNames() []string {
	var names []string
	for n := range embeddedCmds {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
