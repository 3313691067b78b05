package fetch

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// aptSource is one apt source: a deb line or a deb822 stanza.
type aptSource struct {
	types, uris, suites, components []string
}

// AptDebianMirror returns the base URI of the main Debian archive named in
// the apt sources under root (normally "/"): etc/apt/sources.list (one-line
// format) and etc/apt/sources.list.d/*.list and *.sources (deb822). Only
// "deb" sources with http or https URIs and the main component count;
// security archives (all suites ending in -security, or "debian-security"
// in the path) are skipped. A URI whose path ends in /debian is preferred,
// then one with a /debian/ element (as in snapshot archives), then, on a
// Debian host, one serving the host's release (VERSION_CODENAME in
// etc/os-release). The result has no trailing slash.
func AptDebianMirror(root string) (string, error) {
	return aptMirror(root, false)
}

// AptDebianSecurityMirror returns the base URI of the Debian security
// archive named in the apt sources under root (for mirror://debian-security/,
// where Debian's security updates live): a "deb" source with the main
// component whose suites all end in -security or whose path holds
// debian-security; a path ending in /debian-security is preferred.
func AptDebianSecurityMirror(root string) (string, error) {
	return aptMirror(root, true)
}

func aptMirror(root string, security bool) (string, error) {
	dir := filepath.Join(root, "etc", "apt")
	files := []string{filepath.Join(dir, "sources.list")}
	parts, err := os.ReadDir(filepath.Join(dir, "sources.list.d"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("apt sources: %w", err)
	}
	var names []string
	for _, e := range parts {
		if n := e.Name(); strings.HasSuffix(n, ".list") || strings.HasSuffix(n, ".sources") {
			names = append(names, n)
		}
	}
	sort.Strings(names) // apt reads them in this order
	for _, n := range names {
		files = append(files, filepath.Join(dir, "sources.list.d", n))
	}
	var srcs []aptSource
	for _, name := range files {
		data, err := os.ReadFile(name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("apt sources: %w", err)
		}
		if strings.HasSuffix(name, ".sources") {
			srcs = append(srcs, parseDeb822(data)...)
		} else {
			srcs = append(srcs, parseOneLine(data)...)
		}
	}
	codename := debianCodename(root)
	best, bestScore := "", 0
	for _, s := range srcs {
		if !slices.Contains(s.types, "deb") || !slices.Contains(s.components, "main") {
			continue
		}
		for _, raw := range s.uris {
			u, err := url.Parse(raw)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				continue
			}
			p := strings.Trim(u.Path, "/")
			isSecurity := allSecurity(s.suites) || strings.Contains(p, "debian-security")
			if isSecurity != security {
				continue
			}
			want := "debian"
			if security {
				want = "debian-security"
			}
			score := 0
			switch elems := strings.Split(p, "/"); {
			case elems[len(elems)-1] == want:
				score = 4
			case slices.Contains(elems, want):
				score = 2
			case security:
				score = 1 // a -security suite on an unusual path
			}
			if codename != "" && slices.Contains(s.suites, codename) {
				score++
			}
			if score > bestScore {
				best, bestScore = strings.TrimRight(raw, "/"), score
			}
		}
	}
	if best == "" {
		if security {
			return "", fmt.Errorf("no Debian security archive found in %s/sources.list or sources.list.d; set HDO_MIRROR_DEBIAN_SECURITY", dir)
		}
		return "", fmt.Errorf("no Debian archive found in %s/sources.list or sources.list.d; set HDO_MIRROR_DEBIAN", dir)
	}
	return best, nil
}

// parseOneLine parses sources.list lines: TYPE [OPTIONS] URI SUITE [COMPONENT...].
func parseOneLine(data []byte) []aptSource {
	var out []aptSource
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		f := strings.Fields(line)
		if len(f) < 3 {
			continue
		}
		i := 1
		if strings.HasPrefix(f[1], "[") {
			for i < len(f) && !strings.HasSuffix(f[i], "]") {
				i++
			}
			i++
		}
		if i+1 >= len(f) {
			continue
		}
		out = append(out, aptSource{types: f[:1], uris: f[i : i+1], suites: f[i+1 : i+2], components: f[i+2:]})
	}
	return out
}

// parseDeb822 parses .sources stanzas (Types, URIs, Suites, Components,
// Enabled); other fields are ignored.
func parseDeb822(data []byte) []aptSource {
	var out []aptSource
	fields := map[string]string{}
	last := ""
	flush := func() {
		if len(fields) > 0 && !strings.EqualFold(fields["enabled"], "no") {
			out = append(out, aptSource{
				types:      strings.Fields(fields["types"]),
				uris:       strings.Fields(fields["uris"]),
				suites:     strings.Fields(fields["suites"]),
				components: strings.Fields(fields["components"]),
			})
		}
		fields, last = map[string]string{}, ""
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.TrimSpace(line) == "":
			flush()
		case strings.HasPrefix(line, "#"):
		case line[0] == ' ' || line[0] == '\t':
			if last != "" {
				fields[last] += " " + strings.TrimSpace(line)
			}
		default:
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				continue
			}
			last = strings.ToLower(strings.TrimSpace(k))
			fields[last] = strings.TrimSpace(v)
		}
	}
	flush()
	return out
}

// debianCodename is VERSION_CODENAME from root/etc/os-release on a Debian
// host, else "".
func debianCodename(root string) string {
	data, err := os.ReadFile(filepath.Join(root, "etc", "os-release"))
	if err != nil {
		return ""
	}
	vars := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			vars[k] = strings.Trim(v, `"'`)
		}
	}
	if vars["ID"] != "debian" {
		return ""
	}
	return vars["VERSION_CODENAME"]
}

func allSecurity(suites []string) bool {
	for _, s := range suites {
		if !strings.HasSuffix(s, "-security") && !strings.Contains(s, "/updates") {
			return false
		}
	}
	return len(suites) > 0
}
