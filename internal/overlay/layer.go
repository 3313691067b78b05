package overlay

// Layer is one read-only tree a root is assembled from: a package's store
// entry, named for messages. The sandbox's root (sandbox.Layer) and
// hostroot's plans (hostroot.Tree) are made of Layers.
type Layer struct {
	Name string // names the layer in errors, e.g. pkg/zlib
	Dir  string // a host directory, e.g. /home/me/.cache/hdo/store/3f9a...
}
