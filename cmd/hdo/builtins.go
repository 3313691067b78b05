package main

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/hdo-build/hdo/engine"
	"github.com/hdo-build/hdo/internal/cache"
	"github.com/hdo-build/hdo/internal/pkgrule"
)

// pkgConfig configures the package rules from the environment:
// HDO_CACHE_URL/PKG_CACHE_URL, HDO_TRUSTED_KEYS, HDO_BINARY_ONLY (or
// PKG_FORCE_BINARY=yes, or --binary-only), HDO_BUILD_TIMEOUT,
// HDO_BUILD_TMPSIZE, HDO_BUILD_MEMORY, HDO_BUILD_PIDS, and the source
// fetcher's variables.
func pkgConfig(e *env, root string, binaryOnly bool, status engine.Status) (pkgrule.Config, error) {
	cfg := pkgrule.Config{
		Root:     root,
		CacheDir: cacheDir(e),
		Fetcher:  newFetcher(e),
		Log:      func(format string, args ...any) { status.Warn(format, args...) },
	}
	cfg.Fetcher.Log = cfg.Log
	c, err := cache.ClientFromEnv(e.environ)
	if err != nil {
		return cfg, err
	}
	if binaryOnly || e.getenv("PKG_FORCE_BINARY") == "yes" {
		c.BinaryOnly = true
	}
	if len(c.URLs) > 0 {
		c.Log = cfg.Log
		if isTerminal(e, e.stderr) {
			c.Progress = e.stderr
		}
		cfg.Cache = c
	} else if c.BinaryOnly {
		return cfg, errors.New("--binary-only (HDO_BINARY_ONLY, PKG_FORCE_BINARY) needs a binary cache: set HDO_CACHE_URL")
	}
	if v := e.getenv("HDO_BUILD_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return cfg, fmt.Errorf("HDO_BUILD_TIMEOUT=%q: want a duration such as 2h", v)
		}
		cfg.Timeout = d
	}
	if v := e.getenv("HDO_BUILD_TMPSIZE"); v != "" {
		n, err := parseSize(v)
		if err != nil {
			return cfg, fmt.Errorf("HDO_BUILD_TMPSIZE=%q: want a size such as 8G or 512M (0: half of the RAM)", v)
		}
		cfg.TmpSize = n
		if n == 0 {
			cfg.TmpSize = -1 // the kernel's default
		}
	}
	if v := e.getenv("HDO_BUILD_MEMORY"); v != "" {
		n, err := parseSize(v)
		if err != nil {
			return cfg, fmt.Errorf("HDO_BUILD_MEMORY=%q: want a size such as 8G or 512M (0: no limit)", v)
		}
		cfg.MemoryMax = n
	}
	if v := e.getenv("HDO_BUILD_PIDS"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return cfg, fmt.Errorf("HDO_BUILD_PIDS=%q: want a number of processes such as 4096 (0: no limit)", v)
		}
		cfg.PidsMax = n
		if n == 0 {
			cfg.PidsMax = -1
		}
	}
	return cfg, nil
}

// parseSize parses a byte count with an optional K, M, G or T suffix
// (powers of 1024), e.g. 512M.
func parseSize(s string) (int64, error) {
	mult := int64(1)
	if i := strings.IndexAny(s, "KMGTkmgt"); i >= 0 && i == len(s)-1 {
		mult = int64(1) << (10 * (1 + strings.IndexByte("kmgt", s[i]|0x20)))
		s = s[:i]
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > math.MaxInt64/mult {
		return 0, fmt.Errorf("bad size %q", s)
	}
	return n * mult, nil
}

// builtins returns the built-in rules: the package targets, used where no
// .do file applies.
func builtins(cfg pkgrule.Config) []engine.Builtin { return pkgrule.Builtins(cfg) }
