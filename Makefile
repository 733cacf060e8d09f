# DataIngest: build, test, demo and benchmark targets.
#
#   make demo    three nodes, a private Redis and MariaDB, a CDC task and its events
#   make test    go vet, gofmt check, and the whole test suite against real servers
#
# Both install redis-server, mariadb-server and mariadb-client, chromium (the
# status page's tests run it headless), and the C toolchain that
# `go test -race` needs (gcc, libc6-dev), with apt-get when they are missing
# (see `deps`).

# The build stamp shown by the nodes' heartbeats and logs.
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)

GO ?= go
BIN := bin

# mariadbd lives in /usr/sbin, which is not on a normal user's PATH on
# Debian; Go's tarball installs into /usr/local/go/bin. Appended, so that
# anything already on PATH wins. Exported to the tests and the demo too.
export PATH := $(PATH):/usr/sbin:/sbin:/usr/local/go/bin

# The server binaries the tests and the demo run, each with the Debian
# package that provides it; chromium, in which the status page's tests run
# the page's script (about 35 s to install with its dependencies); and gcc:
# `go test -race` needs cgo, hence a C compiler (Go's tarball brings none,
# and without one Go turns cgo off).
DEP_BINARIES := redis-server:redis-server mariadbd:mariadb-server \
	mariadb-install-db:mariadb-server mariadb:mariadb-client mariadb-admin:mariadb-client \
	chromium:chromium gcc:gcc

# The C library's headers and start files, which cgo needs besides the
# compiler and which have no binary to look for: `deps` installs this package
# when gcc is missing or cannot build and link a one-line C program.
DEP_LIBC := libc6-dev

# A C program that needs the headers and start files of $(DEP_LIBC).
C_PROBE := '\043include <stdlib.h>\nint main(void) { return EXIT_SUCCESS; }\n'

# A program that needs cgo, as `go test -race` does.
CGO_PROBE := 'package main\n\n// \043include <stdlib.h>\nimport "C"\n\nfunc main() { C.free(nil) }\n'

.PHONY: all build deps test fmt vet demo bench bench-fleet clean

all: build

## build: both binaries into bin/, stamped with $(VERSION)
build:
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o $(BIN)/ ./cmd/dataingest ./cmd/dataingestctl

## deps: check for Go; install the server and C toolchain packages that are
## missing, then check that Go can build with cgo (-race needs it); unless
## DATAINGEST_TEST_MYSQLD names your own mysqld, build (once, as root) the
## chroot with Debian's MySQL that the MySQL tests run (scripts/mysql-chroot.sh)
deps:
	@command -v $(GO) >/dev/null 2>&1 || { \
		echo "make: '$(GO)' not found in PATH: install Go (the version go.mod names or later) from https://go.dev/dl/ and put its bin directory on PATH" >&2; \
		exit 1; }
	@missing=""; \
	for bp in $(DEP_BINARIES); do \
		b=$${bp%%:*}; p=$${bp#*:}; \
		command -v $$b >/dev/null 2>&1 && continue; \
		case " $$missing " in *" $$p "*) ;; *) missing="$$missing $$p" ;; esac; \
	done; \
	command -v gcc >/dev/null 2>&1 && printf $(C_PROBE) | gcc -x c -o /dev/null - >/dev/null 2>&1 || \
		missing="$$missing $(DEP_LIBC)"; \
	[ -z "$$missing" ] && exit 0; \
	echo "make deps: installing$$missing with apt-get"; \
	command -v apt-get >/dev/null 2>&1 || { \
		echo "make deps: apt-get not found: install$$missing yourself" >&2; exit 1; }; \
	sudo=""; \
	if [ "$$(id -u)" -ne 0 ]; then \
		command -v sudo >/dev/null 2>&1 || { \
			echo "make deps: not root and no sudo: as root, run apt-get install$$missing" >&2; exit 1; }; \
		sudo=sudo; \
	fi; \
	$$sudo apt-get update && \
	$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing
	@d="$$(mktemp -d)" && trap 'rm -rf "$$d"' EXIT && printf $(CGO_PROBE) >"$$d/cgo.go" && \
	if ! (cd "$$d" && CGO_ENABLED=1 $(GO) build -o cgo cgo.go) >"$$d/log" 2>&1; then \
		echo "make deps: go test -race needs cgo, and a cgo build failed (CC=$$($(GO) env CC)):" >&2; \
		cat "$$d/log" >&2; \
		echo "make deps: install a C compiler and the C library headers (Debian: apt-get install gcc libc6-dev), or set CC" >&2; \
		exit 1; \
	fi
	@[ -n "$$DATAINGEST_TEST_MYSQLD" ] || scripts/mysql-chroot.sh

## test: vet, gofmt check, and every test (with -race) against real servers
test: deps
	$(GO) vet ./...
	@unformatted="$$(gofmt -l .)"; \
	if [ -n "$$unformatted" ]; then \
		echo "gofmt: these files are not formatted (run 'make fmt'):" >&2; \
		echo "$$unformatted" >&2; \
		exit 1; \
	fi
	$(GO) test -race -count=1 -timeout 15m ./...

## fmt: format every Go file
fmt:
	gofmt -w .

## vet: go vet
vet:
	$(GO) vet ./...

## demo: three nodes streaming a private MariaDB's shop.orders into a private Redis
demo: deps build
	scripts/demo.sh

## bench: the data path's benchmarks in ./bench (CDC, latency, snapshot, memory per task, failover), each run once
bench: deps build
	$(GO) test -run '^$$' -bench '^Benchmark(CDC|Latency|Snapshot|TasksMemory|Failover)$$' -benchtime 1x -timeout 30m ./bench/

## bench-fleet: the fleet's benchmarks (coordination cost, 1,000 tasks), with minute-long windows
bench-fleet: deps build
	$(GO) test -run '^$$' -bench '^Benchmark(Coordination|ThousandTasks)$$' -benchtime 1x -timeout 30m ./bench/

## clean: remove the binaries and the demo's state
clean:
	rm -rf $(BIN) .demo
