package testenv

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"
)

// logTailLines is how many lines of a server's log an error message quotes.
const logTailLines = 40

// daemon runs a server binary, one run at a time, and can start it again with
// the same arguments (so on the same port and data). Signals go to the
// server's whole process group.
type daemon struct {
	name         string       // binary name, for messages
	path         string       // binary to run
	args         []string     // its arguments, the same on every start
	logPath      string       // the server's stdout and stderr are appended here
	ready        func() error // returns nil once the server serves clients
	readyTimeout time.Duration
	stopTimeout  time.Duration // how long a graceful stop may take before SIGKILL

	mu  sync.Mutex // guards cur
	cur *child     // the latest run; nil before the first start
}

// start starts the server and waits until it is ready. It fails if the server
// is already running. A failure includes the tail of the log written by this
// run and wraps errAddrInUse when the port was taken.
func (d *daemon) start() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cur != nil && !d.cur.done() {
		return fmt.Errorf("%s is already running (pid %d)", d.name, d.cur.pid())
	}
	offset := fileSize(d.logPath)
	c, err := startChild(d.path, d.args, nil, d.logPath)
	if err != nil {
		return err
	}
	d.cur = c
	if err := d.waitReady(c); err != nil {
		_ = c.kill()
		logged := readFrom(d.logPath, offset)
		if logSaysAddrInUse(logged) {
			err = fmt.Errorf("%w: %w", errAddrInUse, err)
		}
		return fmt.Errorf("%s (pid %d) did not become ready: %w\n--- tail of %s ---\n%s",
			d.name, c.pid(), err, d.logPath, tailLines(logged, logTailLines))
	}
	return nil
}

// waitReady polls the readiness probe until it succeeds, the server exits or
// the deadline passes.
func (d *daemon) waitReady(c *child) error {
	deadline := time.Now().Add(d.readyTimeout)
	for {
		if c.done() {
			return fmt.Errorf("exited during start: %v", c.state)
		}
		err := d.ready()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %v: %w", d.readyTimeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// current returns the latest run, or an error naming the server if it is
// not running.
func (d *daemon) current() (*child, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cur == nil || d.cur.done() {
		return nil, fmt.Errorf("%s is not running", d.name)
	}
	return d.cur, nil
}

// kill SIGKILLs the server and waits for it to exit; a server that is not
// running is left alone.
func (d *daemon) kill() error {
	c, err := d.current()
	if err != nil {
		return nil
	}
	if err := c.kill(); err != nil {
		return fmt.Errorf("killing %s: %w", d.name, err)
	}
	return nil
}

// stop shuts the server down gracefully (SIGTERM) and waits for it to exit,
// killing it after stopTimeout; a server that is not running is left alone.
func (d *daemon) stop() error {
	c, err := d.current()
	if err != nil {
		return nil
	}
	if err := c.terminate(d.stopTimeout); err != nil {
		return fmt.Errorf("stopping %s: %w\n--- tail of %s ---\n%s", d.name, err, d.logPath, d.logTail())
	}
	return nil
}

// signal sends sig to the running server's process group.
func (d *daemon) signal(sig syscall.Signal) error {
	c, err := d.current()
	if err != nil {
		return err
	}
	if err := c.signalGroup(sig); err != nil {
		return fmt.Errorf("sending %v to %s: %w", sig, d.name, err)
	}
	return nil
}

// pause stops the running server's process group (SIGSTOP) and waits until
// the server is stopped.
func (d *daemon) pause() error {
	c, err := d.current()
	if err != nil {
		return err
	}
	if err := c.pause(); err != nil {
		return fmt.Errorf("pausing %s: %w", d.name, err)
	}
	return nil
}

// logTail returns the last lines of the server's log.
func (d *daemon) logTail() string {
	return tailLines(readFrom(d.logPath, 0), logTailLines)
}

// fileSize returns the size of the file at path, 0 if it does not exist.
func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// readFrom returns the file's contents from offset on, or a note saying why
// it could not be read.
func readFrom(path string, offset int64) string {
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "(no log written)"
		}
		return fmt.Sprintf("(reading log: %v)", err)
	}
	if offset > int64(len(b)) {
		offset = 0
	}
	return string(b[offset:])
}

// tailLines returns the last n lines of s.
func tailLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
