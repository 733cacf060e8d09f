package testenv

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-mysql-org/go-mysql/client"
)

// A MySQL server is a CDC source with MySQL's own defaults, whose account
// logs in with caching_sha2_password over plain TCP and over TLS, and that
// has the basics every flavor has (testDBBasics).
func TestMySQL(t *testing.T) {
	t.Parallel()
	start := time.Now()
	m := StartMySQL(t)
	t.Logf("StartMySQL took %v", time.Since(start))

	// First, while no login of DBUser is cached (nothing has logged in as it
	// over TCP, and FLUSH PRIVILEGES empties the cache), so that the login
	// takes caching_sha2_password's full exchange: without TLS, the password
	// goes encrypted with the server's RSA key.
	t.Run("plain TCP login with an empty auth cache", func(t *testing.T) {
		if err := m.rootSQL("FLUSH PRIVILEGES"); err != nil {
			t.Fatal(err)
		}
		if got := sessionStatus(t, m.Conn(t), "Ssl_cipher"); got != "" {
			t.Fatalf("Conn uses TLS (cipher %q), want plain TCP", got)
		}
	})
	t.Run("TLS login", func(t *testing.T) {
		if got := sessionStatus(t, m.ConnTLS(t), "Ssl_cipher"); got == "" {
			t.Fatal("ConnTLS has no TLS cipher")
		}
	})
	t.Run("account plugin", func(t *testing.T) {
		res, err := m.Conn(t).Execute("SELECT host, plugin FROM mysql.user WHERE user = ? ORDER BY host", DBUser)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for i := range res.RowNumber() {
			host, _ := res.GetString(i, 0)
			plugin, _ := res.GetString(i, 1)
			got = append(got, host+" "+plugin)
		}
		want := []string{"127.0.0.1 caching_sha2_password", "localhost caching_sha2_password"}
		if strings.Join(got, "; ") != strings.Join(want, "; ") {
			t.Fatalf("accounts %q, want %q", got, want)
		}
	})
	t.Run("variables", func(t *testing.T) {
		conn := m.Conn(t)
		if v := conn.GetServerVersion(); !strings.HasPrefix(v, "9.") {
			t.Errorf("server version %q, want 9.x", v)
		}
		assertVars(t, conn, map[string]string{
			"gtid_mode": "ON", "enforce_gtid_consistency": "ON", "log_bin": "1", "server_id": "1",
			"binlog_format": "ROW", "binlog_row_image": "FULL", "binlog_row_metadata": "MINIMAL",
			"log_replica_updates": "1",
		})
	})

	m.Exec(t,
		"CREATE DATABASE app",
		"CREATE TABLE app.items (id INT PRIMARY KEY, name VARCHAR(20))",
		"INSERT INTO app.items VALUES (1, 'one'), (2, 'two')",
	)
	t.Run("binary log status", func(t *testing.T) {
		res, err := m.Conn(t).Execute("SHOW BINARY LOG STATUS")
		if err != nil {
			t.Fatal(err)
		}
		if gtids, _ := res.GetStringByName(0, "Executed_Gtid_Set"); gtids == "" {
			t.Fatal("no GTIDs executed after three transactions")
		}
	})
	testDBBasics(t, m)
}

// sessionStatus returns the value of a session status variable of conn.
func sessionStatus(t *testing.T, conn *client.Conn, name string) string {
	t.Helper()
	res, err := conn.Execute("SHOW SESSION STATUS LIKE '" + name + "'")
	if err != nil {
		t.Fatal(err)
	}
	if res.RowNumber() != 1 {
		t.Fatalf("SHOW SESSION STATUS LIKE '%s': %d rows, want 1", name, res.RowNumber())
	}
	v, _ := res.GetString(0, 1)
	return v
}

// Options reach my.cnf, and Close removes the directory.
func TestMySQLOptions(t *testing.T) {
	t.Parallel()
	m, err := StartMySQLE(WithServerID(7), WithConfig("binlog_row_metadata=FULL"))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if m.Flavor != FlavorMySQL || m.ServerID != 7 {
		t.Fatalf("Flavor %q, ServerID %d; want mysql, 7", m.Flavor, m.ServerID)
	}
	assertVars(t, m.Conn(t), map[string]string{"server_id": "7", "binlog_row_metadata": "FULL"})
	m.Close()
	if _, err := os.Stat(m.Dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("after Close, stat %s: %v, want not exist", m.Dir, err)
	}
	m.Close() // a second Close is harmless
}

// findMySQLD runs a user's own mysqld when DATAINGEST_TEST_MYSQLD names
// one, else the chroot's as root, and otherwise says how to get one.
func TestFindMySQLD(t *testing.T) {
	empty := t.TempDir()
	chroot := t.TempDir()
	if err := os.MkdirAll(filepath.Join(chroot, "usr/sbin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(chroot, chrootMysqld), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, own, chroot string
		euid              int
		want              mysqldCommand // compared without chrootBin
		wantErr           []string
	}{
		{name: "own mysqld", own: "/bin/true", euid: 1000, want: mysqldCommand{mysqld: "/bin/true"}},
		{name: "own mysqld missing", own: filepath.Join(empty, "mysqld"), euid: 0,
			wantErr: []string{"DATAINGEST_TEST_MYSQLD=" + filepath.Join(empty, "mysqld")}},
		{name: "chroot", chroot: chroot, euid: 0, want: mysqldCommand{chroot: chroot, mysqld: "/usr/sbin/mysqld"}},
		{name: "no chroot", chroot: empty, euid: 0,
			wantErr: []string{"run 'make deps' (as root it builds Debian's MySQL into " + empty + " with scripts/mysql-chroot.sh) or set DATAINGEST_TEST_MYSQLD to your own mysqld"}},
		{name: "chroot but not root", chroot: chroot, euid: 1000,
			wantErr: []string{"needs root", "run 'make deps'", "DATAINGEST_TEST_MYSQLD"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := findMySQLD(tt.own, tt.chroot, tt.euid)
			if tt.wantErr != nil {
				if err == nil {
					t.Fatalf("got %+v, want an error", got)
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q lacks %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.want.chroot != "" && got.chrootBin == "" {
				t.Error("no chroot binary")
			}
			got.chrootBin = ""
			if got != tt.want {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
	wantDefault := "run 'make deps' (as root it builds Debian's MySQL into /var/cache/dataingest/mysql-sid with scripts/mysql-chroot.sh) or set DATAINGEST_TEST_MYSQLD to your own mysqld"
	if got := strings.ReplaceAll(mysqldHint, "%s", defaultMySQLChroot); got != wantDefault {
		t.Errorf("default hint %q, want %q", got, wantDefault)
	}
}

// The chroot's /proc is found mounted or not, whatever its path holds.
func TestIsMountPoint(t *testing.T) {
	if got := unescapeMountinfo(`/a\040b\134c\011`); got != "/a b\\c\t" {
		t.Errorf("unescapeMountinfo = %q", got)
	}
	for path, want := range map[string]bool{"/proc": true, t.TempDir(): false} {
		got, err := isMountPoint(path)
		if err != nil || got != want {
			t.Errorf("isMountPoint(%s) = %v, %v; want %v", path, got, err, want)
		}
	}
}
