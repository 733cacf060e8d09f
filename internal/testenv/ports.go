package testenv

import (
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"testing"
)

// startAttempts is how many ports a server's first start tries before giving
// up: another process may take a port between FreePort and the server's bind.
const startAttempts = 3

// errAddrInUse marks a start that failed because the chosen port was taken.
var errAddrInUse = errors.New("address already in use")

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago: it
// listens on port 0, takes the port the kernel chose and closes the listener.
// Another process may take the port before the caller binds it; the first
// start of a Redis or MariaDB retries with another port when that happens.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// logSaysAddrInUse reports whether a server's log output says its bind
// failed because the port was taken (Redis and MariaDB both print errno's
// text, "Address already in use").
func logSaysAddrInUse(log string) bool {
	return strings.Contains(strings.ToLower(log), "address already in use")
}

// binaryHint tells how to install each server binary the package runs.
var binaryHint = map[string]string{
	"redis-server":       "apt-get install redis-server",
	"mariadbd":           "apt-get install mariadb-server",
	"mariadb-install-db": "apt-get install mariadb-server",
	"mariadb":            "apt-get install mariadb-client",
	"mariadb-admin":      "apt-get install mariadb-client",
	"chromium":           "apt-get install chromium",
}

// lookBinary returns the path of the named binary in PATH, or an error that
// says how to install it.
func lookBinary(name string) (string, error) {
	path, err := exec.LookPath(name)
	if err != nil {
		hint := binaryHint[name]
		if hint == "" {
			hint = "install it"
		}
		return "", fmt.Errorf("%s not found in PATH: %s, or run `make test`, which installs it", name, hint)
	}
	return path, nil
}

// mustLookBinary is lookBinary that fails the test.
func mustLookBinary(t testing.TB, name string) string {
	t.Helper()
	path, err := lookBinary(name)
	if err != nil {
		t.Fatal(err)
	}
	return path
}
