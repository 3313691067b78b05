package bootstrap

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/klauspost/compress/gzip"
	"github.com/pierrec/lz4/v4"
	"github.com/ulikunitz/xz"
)

// DefaultListsDir is where apt keeps the package indexes it downloaded.
const DefaultListsDir = "/var/lib/apt/lists"

// aptIndex is one Packages file in apt's lists directory.
type aptIndex struct {
	path   string // e.g. /var/lib/apt/lists/HOST_debian_dists_bookworm_main_binary-amd64_Packages.lz4, HOST the mirror in the host's apt sources
	mirror string // archive name, the last element of its URI path, e.g. debian or debian-security
}

// findIndexes lists the Packages files in dir for arch (and "all") whose
// Release file names one of origins, sorted by path.
//
// apt names list files after their URI with '/' turned into '_' (and '_'
// escaped as %5f): HOST_PATH_dists_SUITE_COMPONENT_binary-ARCH_Packages[.EXT],
// next to HOST_PATH_dists_SUITE_InRelease.
func findIndexes(dir, arch string, origins []string) ([]aptIndex, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read apt lists: %w", err)
	}
	names := map[string]bool{}
	for _, e := range entries {
		names[e.Name()] = true
	}
	var out []aptIndex
	for _, e := range entries {
		base := e.Name()
		for _, ext := range []string{"", ".lz4", ".gz", ".xz"} {
			stem, ok := strings.CutSuffix(base, "_Packages"+ext)
			if !ok {
				continue
			}
			parts := strings.Split(stem, "_")
			d := -1
			for i, p := range parts {
				if p == "dists" {
					d = i
				}
			}
			last := parts[len(parts)-1]
			if d < 2 || d+2 >= len(parts) || !strings.HasPrefix(last, "binary-") {
				break
			}
			if a := strings.TrimPrefix(last, "binary-"); a != arch && a != "all" {
				break
			}
			mirror, err := url.PathUnescape(parts[d-1])
			if err != nil {
				break
			}
			origin := ""
			for k := len(parts) - 2; k > d; k-- {
				prefix := strings.Join(parts[:k+1], "_")
				for _, rel := range []string{"_InRelease", "_Release"} {
					if origin == "" && names[prefix+rel] {
						origin, err = releaseOrigin(filepath.Join(dir, prefix+rel))
						if err != nil {
							return nil, err
						}
					}
				}
			}
			for _, o := range origins {
				if o == origin {
					out = append(out, aptIndex{path: filepath.Join(dir, base), mirror: mirror})
				}
			}
			break
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].path < out[j].path })
	return out, nil
}

// releaseOrigin returns the Origin field of an (In)Release file.
func releaseOrigin(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for n := 0; sc.Scan() && n < 100; n++ {
		if v, ok := strings.CutPrefix(sc.Text(), "Origin:"); ok {
			return strings.TrimSpace(v), nil
		}
	}
	return "", sc.Err()
}

// openIndex opens a Packages file, decompressing it by its extension.
func openIndex(path string) (io.ReadCloser, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	var r io.Reader
	switch filepath.Ext(path) {
	case ".lz4":
		r = lz4.NewReader(f)
	case ".gz":
		zr, err := gzip.NewReader(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		r = zr
	case ".xz":
		zr, err := xz.NewReader(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		r = zr
	default:
		r = f
	}
	return struct {
		io.Reader
		io.Closer
	}{r, f}, nil
}

// candidate is one binary package offered by a package index.
type candidate struct {
	Name       string
	Version    string
	ver        Version
	Arch       string
	Priority   string
	URL        string // mirror://NAME/POOLPATH
	Size       int64
	SHA256     string
	Depends    string
	PreDepends string
	Provides   string
	from       string // index path, for errors
}

var indexFields = map[string]bool{
	"package": true, "version": true, "architecture": true, "priority": true,
	"filename": true, "size": true, "sha256": true, "depends": true,
	"pre-depends": true, "provides": true,
}

// readIndexes reads the indexes and keeps the highest version of every
// package for arch or "all". Between equal versions the first index (in
// path order) wins.
func readIndexes(indexes []aptIndex, arch string) (map[string]*candidate, error) {
	best := map[string]*candidate{}
	for _, ix := range indexes {
		rc, err := openIndex(ix.path)
		if err != nil {
			return nil, err
		}
		err = readParagraphsOnly(rc, indexFields, func(p Paragraph) error {
			if a := p["architecture"]; a != arch && a != "all" {
				return nil
			}
			c, err := newCandidate(p, ix)
			if err != nil {
				return err
			}
			if old, ok := best[c.Name]; !ok || c.ver.Compare(old.ver) > 0 {
				best[c.Name] = c
			}
			return nil
		})
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", ix.path, err)
		}
	}
	return best, nil
}

func newCandidate(p Paragraph, ix aptIndex) (*candidate, error) {
	name := p["package"]
	if name == "" {
		return nil, errors.New("paragraph without a Package field")
	}
	v, err := ParseVersion(p["version"])
	if err != nil {
		return nil, fmt.Errorf("package %s: %w", name, err)
	}
	var size int64
	if _, err := fmt.Sscanf(p["size"], "%d", &size); err != nil || size <= 0 {
		return nil, fmt.Errorf("package %s: bad Size %q", name, p["size"])
	}
	sum := strings.ToLower(p["sha256"])
	if !sha256RE().MatchString(sum) {
		return nil, fmt.Errorf("package %s: bad or missing SHA256 %q", name, p["sha256"])
	}
	if p["filename"] == "" {
		return nil, fmt.Errorf("package %s: no Filename", name)
	}
	return &candidate{
		Name: name, Version: p["version"], ver: v, Arch: p["architecture"],
		Priority: p["priority"], URL: "mirror://" + ix.mirror + "/" + p["filename"],
		Size: size, SHA256: sum, Depends: p["depends"], PreDepends: p["pre-depends"],
		Provides: p["provides"], from: ix.path,
	}, nil
}
