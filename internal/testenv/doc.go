// Package testenv starts the real servers and processes that DataIngest's
// integration tests run against: a private redis-server, a private mariadbd
// or mysqld with a row-based binlog, and the project's own binaries. Nothing
// is mocked.
//
// The two database flavors share one type, DB, so that a test can run the
// same code against both: StartMariaDB runs Debian's mariadbd, StartMySQL
// Debian's MySQL 9 inside a chroot (bookworm has no MySQL; see
// scripts/mysql-chroot.sh) or a mysqld named by DATAINGEST_TEST_MYSQLD. Each
// keeps its flavor's defaults where they matter to CDC (MariaDB's binlog has
// full row metadata here, MySQL's minimal), and ReplicateFrom makes one
// server a GTID replica of another.
//
// Every server gets its own directory, a free port on 127.0.0.1 and its own
// log file, so tests may run in parallel with each other and with the
// machine's own Redis (6379) and MariaDB (3306), which are never touched.
// Readiness is polled with a deadline, and a failure names the server and
// includes the tail of its log. A port taken between choosing and binding is
// retried with another port a few times on the first start; later starts
// (Start, Restart) reuse the same port and data so that clients can reconnect.
//
// Faults are injected the way they happen in production: Kill (SIGKILL),
// Stop (SIGTERM, a graceful shutdown), Start, Restart, and Pause/Resume
// (SIGSTOP/SIGCONT, a server that hangs without closing its connections).
//
// Cleanup: StartRedis, StartMariaDB, StartMySQL and StartProcess register
// t.Cleanup to kill what they started. Children run in their own process
// group, so a Ctrl-C of `go test` reaches only the test binary, and with a
// parent-death signal (SIGKILL), so a test binary that dies without running
// its cleanups (interrupt, panic, -timeout) takes its servers with it; the
// signal survives chroot(8)'s exec of mysqld. The parent-death signal is
// tied to the OS thread that started the child, which in Go lives as long as
// the process unless a goroutine exits while locked to its thread; tests
// should not start servers from such a goroutine.
//
// DumpDOM and Screenshot run Debian's chromium headless on a page, to see
// what a page's scripts show (the nodes' status page); chromium's helper
// processes are killed with it.
//
// When a required binary is missing the helpers fail the test with a message
// that says how to install it; they never skip.
//
// The package is Linux-only: it uses the parent-death signal and reads
// /proc to see that a paused process has really stopped.
package testenv
