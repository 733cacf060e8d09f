package testenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// chromiumTimeout bounds one headless chromium run in real time: loading a
// page from 127.0.0.1 and running its scripts for a virtual-time budget of
// seconds takes one to three seconds on a quiet machine.
const chromiumTimeout = 90 * time.Second

// DumpDOM loads url in Debian's chromium, headless, lets the page's scripts
// run for budget of virtual time (chromium advances it as fast as the page
// lets it, holding it while a request is under way, so timers of a few
// seconds fire at once and every fetch they start completes) and returns
// the DOM serialized as HTML: what the page shows once its scripts ran.
// console holds what the page logged to its console, the browser's own
// messages included: a script's uncaught exception, a request the page's
// Content-Security-Policy refused, a failed fetch.
func DumpDOM(t testing.TB, url string, budget time.Duration) (dom string, console []string) {
	t.Helper()
	stdout, stderr := runChromium(t, url, budget, "--dump-dom")
	for line := range strings.Lines(stderr) {
		// [pid:tid:time:INFO:CONSOLE:line] "message", source: url (line)
		if _, msg, ok := strings.Cut(line, ":CONSOLE:"); ok {
			if _, msg, ok = strings.Cut(msg, "] "); ok {
				console = append(console, strings.TrimSpace(msg))
			}
		}
	}
	return stdout, console
}

// Screenshot is DumpDOM that saves a PNG of the page, rendered in a window
// of width x height pixels, at path.
func Screenshot(t testing.TB, url string, budget time.Duration, path string, width, height int) {
	t.Helper()
	_ = os.Remove(path) // so that the check below sees this run's file
	_, stderr := runChromium(t, url, budget, fmt.Sprintf("--window-size=%d,%d", width, height), "--screenshot="+path)
	if fi, err := os.Stat(path); err != nil || fi.Size() == 0 {
		t.Fatalf("chromium wrote no screenshot to %s (%v)\n%s", path, err, tailLines(stderr, 20))
	}
}

// runChromium runs one headless chromium on url with its own profile
// directory and home, and returns its standard output and error. Chromium
// forks a zygote, renderers and a crash handler; it leads its own process
// group, which is killed afterwards so that none of them outlives the test,
// and it dies with the test process (parent-death signal). Its output goes
// to files, not pipes: a helper that keeps the descriptors open after
// chromium exited would otherwise hold Wait until it is killed.
func runChromium(t testing.TB, url string, budget time.Duration, args ...string) (stdout, stderr string) {
	t.Helper()
	path := mustLookBinary(t, "chromium")
	dir := t.TempDir()
	args = append([]string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--enable-logging=stderr", "--v=0", // the page's console on stderr
		"--user-data-dir=" + filepath.Join(dir, "profile"), fmt.Sprintf("--virtual-time-budget=%d", budget.Milliseconds()),
	}, args...)
	outFile, errFile := createFile(t, filepath.Join(dir, "stdout")), createFile(t, filepath.Join(dir, "stderr"))
	ctx, cancel := context.WithTimeout(context.Background(), chromiumTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, append(args, url)...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}
	cmd.Stdout, cmd.Stderr = outFile, errFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	err := cmd.Run()
	if cmd.Process != nil {
		if kerr := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); kerr != nil && !errors.Is(kerr, syscall.ESRCH) {
			t.Errorf("killing what chromium left behind: %v", kerr)
		}
	}
	outFile.Close()
	errFile.Close()
	out, _ := os.ReadFile(outFile.Name())
	errOut, _ := os.ReadFile(errFile.Name())
	if err != nil {
		t.Fatalf("chromium on %s: %v (timeout %v)\n%s", url, err, chromiumTimeout, tailLines(string(errOut), 20))
	}
	return string(out), string(errOut)
}

func createFile(t testing.TB, path string) *os.File {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	return f
}
