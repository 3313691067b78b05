package archive

import "github.com/hdo-build/hdo/internal/beneath"

// cleanName checks an entry name (or hard link target) from an untrusted
// archive against lim and returns it cleaned, or a reason to refuse it;
// see beneath.CleanName.
func cleanName(name string, lim Limits) (string, string) {
	return beneath.CleanName(name, beneath.NameLimits{
		MaxNameLen: lim.MaxNameLen,
		MaxPathLen: lim.MaxPathLen,
		MaxDepth:   lim.MaxDepth,
	})
}
