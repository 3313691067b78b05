package bootstrap

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/mod/modfile"

	"github.com/hdo-build/hdo/internal/rmtree"
)

// Stage0Binary is where the stage0 multicall binary lives in the seed; each
// cmd path is a relative symlink to it.
const Stage0Binary = "/bin/bb"

// makebbPackage is the gobusybox command that rewrites Go commands into one
// multicall program. It comes from the stage0 module's own requirements,
// so the lock pins its version too.
const makebbPackage = "github.com/u-root/gobusybox/src/cmd/makebb"

// stage0Dirs is the root skeleton of a stage0 seed, with modes.
var stage0Dirs = []struct {
	path string
	mode os.FileMode
}{
	{"bin", 0o755}, {"dev", 0o755}, {"etc", 0o755}, {"home", 0o755},
	{"proc", 0o755}, {"tmp", 0o777 | os.ModeSticky}, {"usr", 0o755}, {"usr/bin", 0o755},
}

// BuildStage0 builds the lock's stage0 commands into outDir (an empty
// directory): one static multicall binary at /bin/bb, a relative symlink to
// it at every cmd path, and the root skeleton (/bin /dev /etc /home /proc
// /tmp /usr/bin).
//
// The commands are compiled by gobusybox's makebb with the Go toolchain the
// lock's go line names (through GOTOOLCHAIN, so the local go only starts
// it), CGO_ENABLED=0, -trimpath and -ldflags "-s -w -buildid=", in a
// temporary module whose go.mod and go.sum come from the pinned stage0
// module: the lock pins its zip and go.mod hashes, and its own go.sum pins
// everything it depends on. The same lock gives the same bytes on any
// machine. Modules come through the host's GOPROXY and module cache.
func BuildStage0(ctx context.Context, lock *Lock, outDir string, opts Options) error {
	r, err := openRoot(outDir)
	if err != nil {
		return err
	}
	defer r.close()
	if err := buildStage0(ctx, lock, r, opts); err != nil {
		return err
	}
	return r.finish()
}

func buildStage0(ctx context.Context, lock *Lock, r *root, opts Options) error {
	if lock.Stage0 == nil || len(lock.Cmds) == 0 {
		return fmt.Errorf("%s: no stage0 commands in the lock", lock.Name)
	}
	lineErr := func(line int, err error) error {
		return fmt.Errorf("%s:%d: %w", lock.Name, line, err)
	}
	m := lock.Stage0
	for _, c := range lock.Cmds {
		if c.Path == Stage0Binary {
			return lineErr(c.Line, fmt.Errorf("cmd: %s is where the multicall binary goes; install the command elsewhere", Stage0Binary))
		}
	}
	work, err := os.MkdirTemp(opts.TempDir, "hdo-stage0-")
	if err != nil {
		return err
	}
	defer rmtree.Remove(work)

	g, err := newGoRunner(ctx, lock, work, opts)
	if err != nil {
		return lineErr(m.Line, err)
	}
	logf(opts.Log, "bootstrap: stage0 with %s (%s), %s %s", lock.Go, g.goroot, m.Path, m.Version)

	// A module that requires exactly what the stage0 module requires
	// selects the same versions; the pinned hashes vouch for its go.sum.
	mod := filepath.Join(work, "mod")
	if err := os.Mkdir(mod, 0o755); err != nil {
		return err
	}
	goLine := strings.TrimPrefix(lock.Go, "go")
	pinned := fmt.Sprintf("%s %s %s\n%s %s/go.mod %s\n", m.Path, m.Version, m.Sum, m.Path, m.Version, m.ModSum)
	if err := writeModule(mod, goLine, []string{m.Path + " " + m.Version}, pinned); err != nil {
		return err
	}
	out, err := g.run(ctx, mod, nil, "mod", "download", "-json", m.Path+"@"+m.Version)
	var dl struct{ Dir, Sum, GoModSum, Error string }
	if jerr := json.Unmarshal(out, &dl); jerr != nil && err == nil {
		err = jerr
	}
	if dl.Error != "" {
		err = errors.New(dl.Error)
	}
	if err != nil {
		return lineErr(m.Line, fmt.Errorf("stage0 %s %s: %w", m.Path, m.Version, err))
	}
	if dl.Sum != m.Sum || dl.GoModSum != m.ModSum {
		return lineErr(m.Line, fmt.Errorf("stage0 %s %s: got sums %s %s, want %s %s", m.Path, m.Version, dl.Sum, dl.GoModSum, m.Sum, m.ModSum))
	}
	requires, err := moduleRequires(filepath.Join(dl.Dir, "go.mod"))
	if err != nil {
		return lineErr(m.Line, err)
	}
	sums, err := os.ReadFile(filepath.Join(dl.Dir, "go.sum"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if err := writeModule(mod, goLine, append([]string{m.Path + " " + m.Version}, requires...), pinned+string(sums)); err != nil {
		return err
	}
	for _, name := range embeddedNames() {
		src, _ := cmdSources.ReadFile(embeddedCmds[name])
		if err := os.MkdirAll(filepath.Join(mod, name), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(mod, name, "main.go"), src, 0o644); err != nil {
			return err
		}
	}

	pkgs, err := checkCommands(ctx, g, mod, lock)
	if err != nil {
		return err
	}

	logf(opts.Log, "bootstrap: building makebb")
	makebb := filepath.Join(work, "makebb")
	if _, err := g.run(ctx, mod, g.hostEnv, "build", "-trimpath", "-o", makebb, makebbPackage); err != nil {
		return lineErr(m.Line, fmt.Errorf("build %s: %w", makebbPackage, err))
	}
	gen := filepath.Join(work, "gen")
	logf(opts.Log, "bootstrap: generating the multicall source for %d commands", len(pkgs))
	if err := g.runTool(ctx, mod, makebb, append([]string{"-g", "-gen-dir", gen}, pkgs...)...); err != nil {
		return lineErr(m.Line, fmt.Errorf("makebb: %w", err))
	}
	logf(opts.Log, "bootstrap: compiling the multicall binary")
	bin := filepath.Join(work, "bb")
	gopathEnv := []string{"GO111MODULE=off", "GOPATH=" + gen, "GOFLAGS="}
	if _, err := g.run(ctx, filepath.Join(gen, "src", "bb.u-root.com", "bb"), gopathEnv,
		"build", "-trimpath", "-buildvcs=false", "-ldflags=-s -w -buildid=", "-o", bin, "."); err != nil {
		return lineErr(m.Line, fmt.Errorf("compile the multicall binary: %w", err))
	}

	for _, d := range stage0Dirs {
		if err := r.mkdir(d.path, d.mode); err != nil {
			return err
		}
	}
	f, err := os.Open(bin)
	if err != nil {
		return err
	}
	err = r.writeFile(strings.TrimPrefix(Stage0Binary, "/"), 0o755, f)
	f.Close()
	if err != nil {
		return err
	}
	for _, c := range lock.Cmds {
		target, err := filepath.Rel(path.Dir(c.Path), Stage0Binary)
		if err != nil {
			return err
		}
		if err := r.symlink(strings.TrimPrefix(c.Path, "/"), filepath.ToSlash(target)); err != nil {
			return lineErr(c.Line, fmt.Errorf("cmd: %w", err))
		}
	}
	return nil
}

// writeModule writes go.mod (module hdo, the given requirements) and go.sum
// into dir.
func writeModule(dir, goLine string, requires []string, sums string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "module hdo\n\ngo %s\n\nrequire (\n", goLine)
	for _, r := range requires {
		fmt.Fprintf(&b, "\t%s\n", r)
	}
	b.WriteString(")\n")
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(b.String()), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "go.sum"), []byte(sums), 0o644)
}

// moduleRequires returns the "path version" requirements of a go.mod.
func moduleRequires(file string) ([]string, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	mf, err := modfile.ParseLax(file, data, nil)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, r := range mf.Require {
		out = append(out, r.Mod.Path+" "+r.Mod.Version)
	}
	sort.Strings(out)
	return out, nil
}

// checkCommands makes sure every cmd line names a main package, so that a
// typo is reported against its lock line, and returns the distinct
// packages in lock order.
func checkCommands(ctx context.Context, g *goRunner, mod string, lock *Lock) ([]string, error) {
	var pkgs []string
	line := map[string]int{}
	for _, c := range lock.Cmds {
		if _, ok := line[c.Package]; !ok {
			line[c.Package] = c.Line
			pkgs = append(pkgs, c.Package)
		}
	}
	out, err := g.run(ctx, mod, nil, append([]string{"list", "-e", "-json=ImportPath,Name,Error"}, pkgs...)...)
	if err != nil {
		return nil, fmt.Errorf("%s:%d: go list: %w", lock.Name, lock.Stage0.Line, err)
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p struct {
			ImportPath, Name string
			Error            *struct{ Err string }
		}
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			return nil, fmt.Errorf("go list: %w", err)
		}
		n := line[p.ImportPath]
		switch {
		case p.Error != nil:
			return nil, fmt.Errorf("%s:%d: cmd %s: %s", lock.Name, n, p.ImportPath, strings.TrimSpace(p.Error.Err))
		case p.Name != "main":
			return nil, fmt.Errorf("%s:%d: cmd %s is package %s, not a command (package main)", lock.Name, n, p.ImportPath, p.Name)
		}
	}
	return pkgs, nil
}

// goRunner runs the go command with a controlled environment: the host's
// module download settings, nothing else from the host's Go configuration.
type goRunner struct {
	goBin   string   // e.g. /root/sdk/go1.26.8/bin/go
	goroot  string   // its GOROOT
	env     []string // environment for target builds
	hostEnv []string // overrides that build tools for the host instead
	log     io.Writer
}

// passEnv are the host variables a go command may need to reach the
// module proxy.
var passEnv = []string{"PATH", "HOME", "TMPDIR", "http_proxy", "https_proxy", "no_proxy",
	"HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "SSL_CERT_FILE", "SSL_CERT_DIR", "NETRC"}

// hostGoVars are the host's go settings that only say where modules come
// from and where caches are; they cannot change what is built.
var hostGoVars = []string{"GOPROXY", "GONOPROXY", "GOPRIVATE", "GOSUMDB", "GONOSUMDB",
	"GOINSECURE", "GOMODCACHE", "GOCACHE", "GOVCS"}

var goArch = map[string][]string{
	"amd64": {"GOARCH=amd64", "GOAMD64=v1"},
	"arm64": {"GOARCH=arm64", "GOARM64=v8.0"},
}

func newGoRunner(ctx context.Context, lock *Lock, work string, opts Options) (*goRunner, error) {
	goCmd := opts.Go
	if goCmd == "" {
		goCmd = "go"
	}
	goBin, err := exec.LookPath(goCmd)
	if err != nil {
		return nil, fmt.Errorf("stage0 needs a go command (go1.21 or later) to fetch and run %s: %w", lock.Go, err)
	}
	var env []string
	for _, k := range passEnv {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	// Ask the host go where modules come from; then never read its
	// configuration again (GOENV=off), so no GOFLAGS, GOEXPERIMENT or
	// GOAMD64 of the host changes the bytes.
	hostVals, err := goEnvJSON(ctx, goBin, work, os.Environ(), hostGoVars)
	if err != nil {
		return nil, err
	}
	for _, k := range hostGoVars {
		env = append(env, k+"="+hostVals[k])
	}
	env = append(env, "GOENV=off", "GOFLAGS=-mod=readonly", "GOWORK=off", "GO111MODULE=on",
		"CGO_ENABLED=0", "GOOS=linux", "GOEXPERIMENT=")
	env = append(env, goArch[lock.Arch]...)

	// GOTOOLCHAIN makes the go command fetch and run the lock's release
	// (or run itself, if it is that release).
	vals, err := goEnvJSON(ctx, goBin, work, append(env[:len(env):len(env)], "GOTOOLCHAIN="+lock.Go),
		[]string{"GOROOT", "GOVERSION", "GOHOSTARCH"})
	if err != nil {
		return nil, fmt.Errorf("switch to %s: %w", lock.Go, err)
	}
	if vals["GOVERSION"] != lock.Go {
		return nil, fmt.Errorf("go command %s runs %s, want %s (it needs go1.21 or later to switch toolchains)", goBin, vals["GOVERSION"], lock.Go)
	}
	g := &goRunner{
		goBin:  filepath.Join(vals["GOROOT"], "bin", "go"),
		goroot: vals["GOROOT"],
		log:    opts.Log,
	}
	g.env = append(env, "GOTOOLCHAIN=local", "GOROOT="+g.goroot)
	g.hostEnv = []string{"GOARCH=" + vals["GOHOSTARCH"], "GOAMD64=", "GOARM64="}
	return g, nil
}

// goEnvJSON runs `go env -json vars...` and returns the values.
func goEnvJSON(ctx context.Context, goBin, dir string, env, vars []string) (map[string]string, error) {
	cmd := exec.CommandContext(ctx, goBin, append([]string{"env", "-json"}, vars...)...)
	cmd.Dir = dir
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s env: %w\n%s", goBin, err, tail(stderr.Bytes()))
	}
	vals := map[string]string{}
	if err := json.Unmarshal(out, &vals); err != nil {
		return nil, fmt.Errorf("%s env: %w", goBin, err)
	}
	return vals, nil
}

// run runs the go command in dir with extra environment overrides and
// returns its standard output; a failure carries the end of its output.
func (g *goRunner) run(ctx context.Context, dir string, extra []string, args ...string) ([]byte, error) {
	return g.exec(ctx, dir, g.goBin, extra, args...)
}

// runTool runs a tool built in the stage0 module, with the target
// environment.
func (g *goRunner) runTool(ctx context.Context, dir, tool string, args ...string) error {
	_, err := g.exec(ctx, dir, tool, nil, args...)
	return err
}

func (g *goRunner) exec(ctx context.Context, dir, bin string, extra []string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	cmd.Env = append(append([]string(nil), g.env...), extra...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		msg := tail(append(stderr.Bytes(), stdout.Bytes()...))
		return stdout.Bytes(), fmt.Errorf("%s %s: %w\n%s", filepath.Base(bin), strings.Join(args, " "), err, msg)
	}
	return stdout.Bytes(), nil
}

// tail returns the last lines of a command's output for an error message.
func tail(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 20 {
		lines = append([]string{"..."}, lines[len(lines)-20:]...)
	}
	return strings.Join(lines, "\n")
}

// goProxyURL returns the first proxy URL of the GOPROXY list.
func goProxyURL(ctx context.Context, opts Options) (string, error) {
	list := opts.GoProxy
	if list == "" {
		list = os.Getenv("GOPROXY")
	}
	if list == "" {
		goCmd := opts.Go
		if goCmd == "" {
			goCmd = "go"
		}
		out, err := exec.CommandContext(ctx, goCmd, "env", "GOPROXY").Output()
		if err != nil {
			return "", fmt.Errorf("go env GOPROXY: %w", err)
		}
		list = strings.TrimSpace(string(out))
	}
	for _, p := range strings.FieldsFunc(list, func(r rune) bool { return r == ',' || r == '|' }) {
		if p != "direct" && p != "off" {
			return strings.TrimRight(p, "/"), nil
		}
	}
	return "", fmt.Errorf("GOPROXY %q names no module proxy; the Go toolchain zip comes from one (set GOPROXY)", list)
}
