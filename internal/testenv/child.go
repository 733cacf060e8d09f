package testenv

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// ErrWaitTimeout is returned by Process.Wait when the process is still
// running at the deadline.
var ErrWaitTimeout = errors.New("process still running")

// child is one started process and the channel closed when it has exited.
// The process leads its own process group, so group signals also reach
// anything it forked (Redis's AOF rewrite, a shell's children).
type child struct {
	cmd    *exec.Cmd
	exited chan struct{} // closed after cmd.Wait returned; then state is set
	state  *os.ProcessState
}

// startChild starts path with args and env (nil env inherits this process's),
// stdout and stderr appended to outPath.
func startChild(path string, args, env []string, outPath string) (*child, error) {
	out, err := os.OpenFile(outPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening output file: %w", err)
	}
	// The child gets its own copy of the descriptor; ours is not needed after Start.
	defer out.Close()
	cmd := exec.Command(path, args...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", path, err)
	}
	c := &child{cmd: cmd, exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait() // the exit status is in cmd.ProcessState
		c.state = cmd.ProcessState
		close(c.exited)
	}()
	return c, nil
}

// pid is the child's process id (and process group id).
func (c *child) pid() int { return c.cmd.Process.Pid }

// done reports whether the child has exited.
func (c *child) done() bool {
	select {
	case <-c.exited:
		return true
	default:
		return false
	}
}

// signal sends sig to the child alone.
func (c *child) signal(sig os.Signal) error {
	if c.done() {
		return fmt.Errorf("pid %d has already exited", c.pid())
	}
	return c.cmd.Process.Signal(sig)
}

// signalGroup sends sig to the child's whole process group.
func (c *child) signalGroup(sig syscall.Signal) error {
	if c.done() {
		return fmt.Errorf("pid %d has already exited", c.pid())
	}
	err := syscall.Kill(-c.pid(), sig)
	if errors.Is(err, syscall.ESRCH) {
		return nil // exited between the check and the signal
	}
	return err
}

// wait waits up to timeout for the child to exit.
func (c *child) wait(timeout time.Duration) error {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-c.exited:
		return nil
	case <-timer.C:
		return fmt.Errorf("pid %d after %v: %w", c.pid(), timeout, ErrWaitTimeout)
	}
}

// kill sends SIGKILL to the child's group and waits for the child to exit.
func (c *child) kill() error {
	if c.done() {
		return nil
	}
	if err := c.signalGroup(syscall.SIGKILL); err != nil {
		return err
	}
	return c.wait(10 * time.Second)
}

// terminate asks the child to shut down (SIGTERM, then SIGCONT in case it is
// paused), waits up to timeout, and kills it if it has not exited by then.
func (c *child) terminate(timeout time.Duration) error {
	if c.done() {
		return nil
	}
	if err := c.signal(syscall.SIGTERM); err != nil {
		return err
	}
	_ = c.signalGroup(syscall.SIGCONT)
	if err := c.wait(timeout); err != nil {
		killErr := c.kill()
		return errors.Join(fmt.Errorf("no graceful exit, killed: %w", err), killErr)
	}
	return nil
}

// pause SIGSTOPs the child's group and waits until every thread of the child
// is stopped: kill(2) returns before a multi-threaded server has stopped (one
// thread starts the group stop, the others may run on meanwhile), and a test
// that queries it at once could still get an answer. A thread blocked in the
// kernel (state D) counts as stopped after a short grace: it stops on its way
// out, and it may not leave before Resume (a shell waiting in vfork for a
// child that is stopped too).
func (c *child) pause() error {
	if err := c.signalGroup(syscall.SIGSTOP); err != nil {
		return err
	}
	start := time.Now()
	for {
		states, err := threadStates(c.pid())
		if err != nil {
			return err
		}
		stopped := "TtZX" // stopped, or exiting
		if time.Since(start) > 200*time.Millisecond {
			stopped += "D"
		}
		if strings.Trim(states, stopped) == "" {
			return nil
		}
		if time.Since(start) > 5*time.Second {
			return fmt.Errorf("pid %d not stopped 5s after SIGSTOP: thread states %q", c.pid(), states)
		}
		time.Sleep(time.Millisecond)
	}
}

// threadStates returns the state letter (R, S, D, T...) of each thread of
// pid, read from /proc/PID/task/TID/stat.
func threadStates(pid int) (string, error) {
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/stat", pid))
	if err != nil || len(tasks) == 0 {
		return "", fmt.Errorf("listing threads of pid %d: no /proc entries (%v)", pid, err)
	}
	var states []byte
	for _, stat := range tasks {
		b, err := os.ReadFile(stat)
		if err != nil {
			continue // the thread exited
		}
		// The state follows the command name, which is in parentheses and
		// may itself contain spaces or parentheses: "TID (comm) S ...".
		i := bytes.LastIndexByte(b, ')')
		if i < 0 || i+2 >= len(b) {
			return "", fmt.Errorf("parsing %s: %q", stat, b)
		}
		states = append(states, b[i+2])
	}
	return string(states), nil
}
