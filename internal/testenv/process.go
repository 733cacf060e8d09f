package testenv

import (
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Process is a program started by StartProcess, typically one of the
// project's binaries built by BuildBinary. Its stdout and stderr go to one
// file, read by Output. t.Cleanup kills it if it is still running.
type Process struct {
	path    string
	outPath string
	c       *child
}

// StartProcess starts the program at path with args. Its environment is
// PATH and HOME from this process followed by env ("KEY=value" entries, which
// win over the base ones). Stdout and stderr are captured to a file in
// t.TempDir(). The process leads its own process group; Kill, Pause and
// Resume act on the whole group.
func StartProcess(t testing.TB, path string, env []string, args ...string) *Process {
	t.Helper()
	base := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	p := &Process{path: path, outPath: filepath.Join(t.TempDir(), filepath.Base(path)+".log")}
	c, err := startChild(path, args, append(base, env...), p.outPath)
	if err != nil {
		t.Fatalf("starting process: %v", err)
	}
	p.c = c
	t.Cleanup(func() {
		if err := c.kill(); err != nil {
			t.Errorf("cleanup of %s: %v", path, err)
		}
		if out := p.Output(); strings.Contains(out, "WARNING: DATA RACE") {
			i := strings.Index(out, "WARNING: DATA RACE")
			t.Errorf("%s reported a data race:\n%s", path, out[i:min(len(out), i+8000)])
		}
	})
	return p
}

// Pid returns the process id.
func (p *Process) Pid() int { return p.c.pid() }

// Signal sends sig to the process alone (not its group), for example
// syscall.SIGTERM to test a graceful shutdown.
func (p *Process) Signal(t testing.TB, sig os.Signal) {
	t.Helper()
	if err := p.c.signal(sig); err != nil {
		t.Fatalf("sending %v to %s: %v", sig, p.path, err)
	}
}

// Kill SIGKILLs the process group and waits for the process to exit. A
// process that has already exited is left alone.
func (p *Process) Kill(t testing.TB) {
	t.Helper()
	if err := p.c.kill(); err != nil {
		t.Fatalf("killing %s: %v", p.path, err)
	}
}

// Pause stops the process group with SIGSTOP and waits until the process
// is stopped.
func (p *Process) Pause(t testing.TB) {
	t.Helper()
	if err := p.c.pause(); err != nil {
		t.Fatalf("pausing %s: %v", p.path, err)
	}
}

// Resume continues the process group with SIGCONT.
func (p *Process) Resume(t testing.TB) {
	t.Helper()
	if err := p.c.signalGroup(syscall.SIGCONT); err != nil {
		t.Fatalf("resuming %s: %v", p.path, err)
	}
}

// Wait waits up to timeout for the process to exit and returns its exit
// code: -1 if a signal ended it. The error wraps ErrWaitTimeout when the
// process is still running at the deadline; it is nil otherwise.
func (p *Process) Wait(timeout time.Duration) (exitCode int, err error) {
	if err := p.c.wait(timeout); err != nil {
		return 0, fmt.Errorf("waiting for %s: %w", p.path, err)
	}
	return p.c.state.ExitCode(), nil
}

// Output returns what the process has written to stdout and stderr so far.
func (p *Process) Output() string {
	b, err := os.ReadFile(p.outPath)
	if err != nil {
		return fmt.Sprintf("(reading output: %v)", err)
	}
	return string(b)
}

// builds caches BuildBinary's results by package path for the life of the
// test process; mu guards the map, each entry's once guards its build.
var builds = struct {
	mu      sync.Mutex
	entries map[string]*buildEntry
}{entries: map[string]*buildEntry{}}

// buildEntry is one package's build, done once.
type buildEntry struct {
	once sync.Once
	path string
	err  error
}

// BuildBinary builds the main package pkg (an import path such as
// "github.com/dataingest/dataingest/cmd/dataingest") with `go build`
// (with -race when the test itself runs with it) and returns the binary's
// path. Each package is built once per test process, into one directory
// shared by every test process (testenv-bin under the temporary
// directory), one file per checkout, test package, package built and race
// mode: a build replaces the file by renaming a fresh one over it, so a
// process still running the old binary keeps it and nothing piles up from
// run to run.
func BuildBinary(t testing.TB, pkg string) string {
	t.Helper()
	builds.mu.Lock()
	e := builds.entries[pkg]
	if e == nil {
		e = &buildEntry{}
		builds.entries[pkg] = e
	}
	builds.mu.Unlock()
	e.once.Do(func() { e.path, e.err = goBuild(pkg) })
	if e.err != nil {
		t.Fatal(e.err)
	}
	return e.path
}

// goBuild builds pkg into the shared build directory.
func goBuild(pkg string) (string, error) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		return "", errors.New("go not found in PATH: BuildBinary runs `go build`")
	}
	dir := filepath.Join(os.TempDir(), "testenv-bin")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("creating build directory: %w", err)
	}
	// One file per checkout and test package (the test's working
	// directory), package built and race mode: a run in another checkout
	// never replaces this one's binary.
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	h := fnv.New64a()
	h.Write([]byte(wd + "\x00" + pkg))
	name := fmt.Sprintf("%s-%x", path.Base(pkg), h.Sum64())
	if raceEnabled {
		name += "-race"
	}
	out := filepath.Join(dir, name)
	tmp, err := os.MkdirTemp(dir, name+".build-")
	if err != nil {
		return "", fmt.Errorf("creating build directory: %w", err)
	}
	defer os.RemoveAll(tmp)
	built := filepath.Join(tmp, name)
	args := []string{"build", "-o", built}
	if raceEnabled {
		// The node processes of a `go test -race` run are checked for
		// races too: StartProcess fails the test on a race report.
		args = append(args, "-race")
	}
	if b, err := exec.Command(goTool, append(args, pkg)...).CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %w\n%s", pkg, err, b)
	}
	if err := os.Rename(built, out); err != nil {
		return "", fmt.Errorf("placing the build of %s: %w", pkg, err)
	}
	return out, nil
}
