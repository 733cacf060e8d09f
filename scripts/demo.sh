#!/usr/bin/env bash
# The DataIngest demo (`make demo`): a private redis-server and a private
# MariaDB with a row-based binlog, three dataingest nodes, and one MYSQL_CDC
# task streaming shop.orders into the Redis stream debezium:task:events:{orders}.
# A background writer inserts, updates and deletes rows; the foreground shows
# the task's events as `dataingestctl tail` decodes them, one JSON object a line.
#
# Everything lives under .demo/ in the repository (or a temporary directory
# when that path is too long for a unix socket) and on ports of 127.0.0.1
# that were free: the machine's own Redis (6379) and MariaDB (3306) are never
# used. Ctrl-C stops everything the script started and leaves nothing running.
#
# Needs bin/dataingest and bin/dataingestctl (`make build`), redis-server,
# mariadbd, mariadb-install-db, mariadb and mariadb-admin (`make deps`).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=$ROOT/bin
export PATH="$PATH:/usr/sbin:/sbin" # mariadbd is in /usr/sbin

# ---------------------------------------------------------------------------
# The background writer: `demo.sh __writer CNF` runs in its own session, so
# that the cleanup can stop it and its children with one signal.
# ---------------------------------------------------------------------------
if [[ ${1-} == __writer ]]; then
	cnf=$2
	sql() { mariadb --defaults-file="$cnf" shop -e "$1"; }
	sleep 1
	sql "INSERT INTO orders (customer, amount, status) VALUES ('alice', 19.99, 'new'), ('bob', 5.00, 'new'), ('carol', 120.50, 'new')"
	sleep 1
	sql "UPDATE orders SET status = 'paid', amount = amount + 1.00 WHERE customer = 'alice'"
	sleep 1
	sql "DELETE FROM orders WHERE customer = 'bob'"
	n=0
	customers=(dave erin frank grace heidi ivan judy mallory)
	while :; do
		sleep 1
		n=$((n + 1))
		c=${customers[$((n % ${#customers[@]}))]}
		sql "INSERT INTO orders (customer, amount, status) VALUES ('$c-$n', $((n * 7 % 100)).$((n % 10))5, 'new')"
	done
fi

# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
die() {
	printf 'demo: %s\n' "$*" >&2
	exit 1
}

need() {
	local b
	for b in "$@"; do
		command -v "$b" >/dev/null 2>&1 || die "$b not found in PATH: run 'make demo', which installs it (apt-get install redis-server mariadb-server mariadb-client)"
	done
}

# port_free PORT: nothing accepts connections on 127.0.0.1:PORT.
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# pick_port VAR WANT: sets VAR to WANT if that port is free, else to the next
# free port above it that this script has not picked already.
USED_PORTS=" "
pick_port() {
	local p=$2
	while [[ $USED_PORTS == *" $p "* ]] || ! port_free "$p"; do
		p=$((p + 1))
		((p < 65535)) || die "no free port above $2"
	done
	USED_PORTS+="$p "
	printf -v "$1" '%s' "$p"
}

# redis_ping PORT: the server answers PING with PONG.
redis_ping() {
	local line
	{
		exec 3<>"/dev/tcp/127.0.0.1/$1" &&
			printf 'PING\r\n' >&3 &&
			IFS= read -r -t 2 line <&3 &&
			[[ $line == +PONG* ]]
	} 2>/dev/null
}

# start NAME DIR CMD...: starts CMD in DIR in a session of its own (so that
# Ctrl-C in the terminal does not reach it: the cleanup stops the pieces in
# order), output appended to $STATE/NAME.log; records the pid.
declare -A PIDS=()
start() {
	local name=$1 dir=$2
	shift 2
	(cd "$dir" && exec setsid "$@") >>"$STATE/$name.log" 2>&1 </dev/null &
	PIDS[$name]=$!
	echo "$!" >"$STATE/pids/$name"
}

alive() { kill -0 "$1" 2>/dev/null; }

# term NAME: sends SIGTERM to NAME, once. Only once: a node that gets a
# second SIGTERM while it hands its tasks over dies at once (the first one
# restores the signal's default action).
declare -A TERMED=()
term() {
	local pid=${PIDS[$1]-}
	[[ -n $pid && -z ${TERMED[$1]-} ]] || return 0
	TERMED[$1]=1
	kill -TERM "$pid" 2>/dev/null || true
}

# stop NAME SECONDS: SIGTERM (unless sent already), wait up to SECONDS, then
# SIGKILL.
stop() {
	local name=$1 secs=$2 pid=${PIDS[$1]-} i
	[[ -n $pid ]] || return 0
	if alive "$pid"; then
		term "$name"
		for ((i = 0; i < secs * 10; i++)); do
			alive "$pid" || break
			sleep 0.1
		done
		if alive "$pid"; then
			echo "demo: $name (pid $pid) still running after ${secs}s: SIGKILL" >&2
			kill -KILL "$pid" 2>/dev/null || true
		fi
	fi
	local rc=0
	wait "$pid" 2>/dev/null || rc=$?
	case $name:$rc in
	*:0 | writer:*) ;; # a clean exit (the writer dies of its SIGTERM)
	*) echo "demo: $name exited with status $rc; see its log in $STATE" >&2 ;;
	esac
	unset "PIDS[$name]"
	rm -f "$STATE/pids/$name"
}

CLEANED=
cleanup() {
	[[ -z $CLEANED ]] || return 0
	CLEANED=1
	trap '' INT TERM # a second Ctrl-C must not cut the cleanup short
	echo
	echo "demo: stopping everything it started..."
	if [[ -n ${PIDS[writer]-} ]]; then
		kill -TERM -- "-${PIDS[writer]}" 2>/dev/null || true # its session: bash, sleep, mariadb
		TERMED[writer]=1
		stop writer 5
	fi
	# Nodes first, while Redis is up, so that they hand their tasks over.
	local n
	for n in node1 node2 node3; do
		term "$n"
	done
	for n in node1 node2 node3; do stop "$n" 20; done
	stop mariadbd 60
	stop redis 10
	rm -f "${STATE:?}/demo.pid"
	echo "demo: stopped. Logs and data are in $STATE (removed by the next run, or 'make clean')."
}

# kill_leftovers: processes of an earlier run that was killed before it could
# clean up. A pid counts only while its working directory is in $STATE
# (every process this script starts runs there), so a reused pid is spared.
kill_leftovers() {
	local name f pid cwd
	for name in writer node1 node2 node3 mariadbd redis; do
		f=$STATE/pids/$name
		[[ -e $f ]] || continue
		pid=$(<"$f")
		cwd=$(readlink "/proc/$pid/cwd" 2>/dev/null || true)
		if [[ -n $cwd && $cwd == "$STATE"* ]]; then
			echo "demo: stopping $name (pid $pid) left over from an earlier run"
			kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
			for _ in $(seq 1 100); do
				alive "$pid" || break
				sleep 0.1
			done
			kill -KILL "$pid" 2>/dev/null || true
		fi
	done
}

# ---------------------------------------------------------------------------
# Preflight and state directory
# ---------------------------------------------------------------------------
need redis-server mariadbd mariadb-install-db mariadb mariadb-admin setsid
[[ -x $BIN/dataingest && -x $BIN/dataingestctl ]] || die "$BIN/dataingest or dataingestctl missing: run 'make build' (or 'make demo')"

STATE=$ROOT/.demo
if ((${#STATE} > 80)); then # the MariaDB socket path must stay under ~100 bytes
	STATE=$(mktemp -d "${TMPDIR:-/tmp}/dataingest-demo.XXXXXX")
fi
mkdir -p "$STATE"
if [[ -f $STATE/demo.pid ]] && alive "$(<"$STATE/demo.pid")"; then
	die "another demo (pid $(<"$STATE/demo.pid")) is running in $STATE: stop it with Ctrl-C first"
fi
kill_leftovers
rm -rf "${STATE:?}"/*
mkdir -p "$STATE/pids" "$STATE/redis" "$STATE/mariadb/data" "$STATE/mariadb/tmp"
echo "$$" >"$STATE/demo.pid"

trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Only the settings below reach the nodes and the CLI: none of the caller's
# DATAINGEST_* or Java fallback variables (which could point them at another
# Redis).
while IFS= read -r v; do unset "$v"; done < <(compgen -e | grep -E '^(DATAINGEST_|SPRING_REDIS_|SERVER_PORT$)' || true)

pick_port REDIS_PORT 16379
pick_port MARIADB_PORT 13306
pick_port NODE1_PORT 18081
pick_port NODE2_PORT 18082
pick_port NODE3_PORT 18083
NODE_PORTS=("$NODE1_PORT" "$NODE2_PORT" "$NODE3_PORT")
export DATAINGEST_REDIS_ADDRS=127.0.0.1:$REDIS_PORT
export DATAINGEST_LOG_FORMAT=console

# ---------------------------------------------------------------------------
# Redis
# ---------------------------------------------------------------------------
say "Starting redis-server on 127.0.0.1:$REDIS_PORT (dir $STATE/redis)"
cat >"$STATE/redis/redis.conf" <<EOF
bind 127.0.0.1
port $REDIS_PORT
dir $STATE/redis
daemonize no
save ""
appendonly no
EOF
start redis "$STATE/redis" redis-server "$STATE/redis/redis.conf"
for i in $(seq 1 100); do
	redis_ping "$REDIS_PORT" && break
	alive "${PIDS[redis]}" || die "redis-server exited; see $STATE/redis.log: $(tail -n 5 "$STATE/redis.log")"
	((i < 100)) || die "redis-server did not answer PING within 10s; see $STATE/redis.log"
	sleep 0.1
done

# ---------------------------------------------------------------------------
# MariaDB
# ---------------------------------------------------------------------------
say "Starting MariaDB on 127.0.0.1:$MARIADB_PORT (binlog ROW, FULL image, FULL metadata; dir $STATE/mariadb)"
CNF=$STATE/mariadb/my.cnf
SOCK=$STATE/mariadb/mariadb.sock
{
	echo "[client]"
	echo "socket=$SOCK"
	echo "user=$(id -un)" # socket authentication: the OS user is the MariaDB user
	echo
	echo "[mariadbd]"
	if ((EUID == 0)); then echo "user=root"; fi # mariadbd refuses to run as root without it
	cat <<EOF
datadir=$STATE/mariadb/data
tmpdir=$STATE/mariadb/tmp
socket=$SOCK
pid-file=$STATE/mariadb/mariadb.pid
log-error=$STATE/mariadb/mariadb.err
port=$MARIADB_PORT
bind-address=127.0.0.1
server_id=1
log-bin=binlog
binlog_format=ROW
binlog_row_image=FULL
binlog_row_metadata=FULL
innodb_buffer_pool_size=64M
innodb_log_file_size=32M
innodb_flush_log_at_trx_commit=2
sync_binlog=0
performance_schema=OFF
character-set-server=utf8mb4
collation-server=utf8mb4_general_ci
skip-name-resolve
EOF
} >"$CNF"
install_args=(--defaults-file="$CNF")
if ((EUID == 0)); then install_args+=(--user=root); fi
# root@localhost and OS user's account of the same name log in by socket (as
# non-root, the second account must be named, or it is root as well).
install_args+=(--auth-root-authentication-method=socket --auth-root-socket-user="$(id -un)" --skip-test-db)
mariadb-install-db "${install_args[@]}" >"$STATE/mariadb-install-db.log" 2>&1 ||
	die "mariadb-install-db failed; see $STATE/mariadb-install-db.log: $(tail -n 5 "$STATE/mariadb-install-db.log")"
start mariadbd "$STATE/mariadb" mariadbd --defaults-file="$CNF"
for i in $(seq 1 300); do
	mariadb-admin --defaults-file="$CNF" --connect-timeout=2 ping >/dev/null 2>&1 && break
	alive "${PIDS[mariadbd]}" || die "mariadbd exited; see $STATE/mariadb/mariadb.err: $(tail -n 5 "$STATE/mariadb/mariadb.err")"
	((i < 300)) || die "mariadbd did not answer within 30s; see $STATE/mariadb/mariadb.err"
	sleep 0.1
done
mariadb --defaults-file="$CNF" <<'EOF'
CREATE USER 'cdc'@'127.0.0.1' IDENTIFIED BY 'cdcpass';
CREATE USER 'cdc'@'localhost' IDENTIFIED BY 'cdcpass';
GRANT REPLICATION SLAVE, REPLICATION CLIENT, SELECT ON *.* TO 'cdc'@'127.0.0.1';
GRANT REPLICATION SLAVE, REPLICATION CLIENT, SELECT ON *.* TO 'cdc'@'localhost';
CREATE DATABASE shop;
CREATE TABLE shop.orders (
	id INT AUTO_INCREMENT PRIMARY KEY,
	customer VARCHAR(64),
	amount DECIMAL(10,2),
	status ENUM('new','paid','shipped'),
	created_at DATETIME(6) DEFAULT CURRENT_TIMESTAMP(6)
);
EOF
echo "CDC user cdc/cdcpass (REPLICATION SLAVE, REPLICATION CLIENT, SELECT on *.*); table shop.orders created."

# ---------------------------------------------------------------------------
# Three nodes
# ---------------------------------------------------------------------------
say "Starting three dataingest nodes"
# One random key for the fleet: passwords in stored task configs are sealed.
SECRET_KEY=$(head -c 32 /dev/urandom | base64)
# The CLI seals the task's password with it before it queues the start.
export DATAINGEST_SECRET_KEY=$SECRET_KEY
for i in 1 2 3; do
	port=${NODE_PORTS[$((i - 1))]}
	start "node$i" "$STATE" env \
		DATAINGEST_NODE_ID="node$i" \
		DATAINGEST_HTTP_ADDR="127.0.0.1:$port" \
		DATAINGEST_SECRET_KEY="$SECRET_KEY" \
		DATAINGEST_HEARTBEAT_INTERVAL=2s \
		DATAINGEST_FAILOVER_TIMEOUT=10s \
		DATAINGEST_TASK_MONITOR_INTERVAL=5s \
		"$BIN/dataingest"
	echo "node$i: http://127.0.0.1:$port (log $STATE/node$i.log)"
done
for i in $(seq 1 100); do
	up=$("$BIN/dataingestctl" nodes 2>/dev/null | awk '$2 == "true"' | wc -l || true)
	((up >= 3)) && break
	for n in node1 node2 node3; do
		alive "${PIDS[$n]}" || die "$n exited; see $STATE/$n.log: $(tail -n 5 "$STATE/$n.log")"
	done
	((i < 100)) || die "the nodes did not all heartbeat within 20s; see $STATE/node*.log"
	sleep 0.2
done

# ---------------------------------------------------------------------------
# The task
# ---------------------------------------------------------------------------
TASK_FILE=$STATE/orders.json
cat >"$TASK_FILE" <<EOF
{
  "taskName": "shop.orders to redis",
  "taskType": "MYSQL_CDC",
  "dataSourceConfigs": [
    {"host": "127.0.0.1", "port": $MARIADB_PORT, "username": "cdc", "password": "cdcpass", "flavor": "mariadb"}
  ],
  "cdcTables": ["shop.orders"],
  "snapshotMode": "never",
  "format": "msgpack"
}
EOF
say "Starting task orders: bin/dataingestctl start orders -f $TASK_FILE"
"$BIN/dataingestctl" start orders -f "$TASK_FILE"
# RUNNING, and a binlog position in the status: the task has taken the
# server's current position, so the writer's rows below are all captured.
for i in $(seq 1 150); do
	st=$("$BIN/dataingestctl" status orders 2>/dev/null || true)
	if grep -q '"status": "RUNNING"' <<<"$st" && grep -q '"position": "binlog\.' <<<"$st"; then
		break
	fi
	if grep -q '"status": "FAILED"' <<<"$st"; then
		echo "$st" >&2
		die "task orders FAILED; see $STATE/node*.log"
	fi
	((i < 150)) || {
		echo "$st" >&2
		die "task orders is not RUNNING after 30s; see $STATE/node*.log"
	}
	sleep 0.2
done
echo "$st"
sleep 2 # one heartbeat, so that the node list shows who runs the task

say "bin/dataingestctl nodes"
"$BIN/dataingestctl" nodes
say "bin/dataingestctl tasks"
"$BIN/dataingestctl" tasks
if command -v redis-cli >/dev/null 2>&1; then
	say "redis-cli -p $REDIS_PORT XINFO CONSUMERS debezium:commands workers (pending = tasks the node runs)"
	# One consumer a line: the reply is name/value pairs, each consumer starting with "name".
	redis-cli -p "$REDIS_PORT" XINFO CONSUMERS debezium:commands workers |
		awk 'NR % 2 { k = $0; next } { if (k == "name" && NR > 2) print ""; printf "%s %s   ", k, $0 } END { print "" }' || true
fi

# ---------------------------------------------------------------------------
# Writer and tail
# ---------------------------------------------------------------------------
start writer "$STATE" "$BASH" "$ROOT/scripts/demo.sh" __writer "$CNF"

cat <<EOF

================================================================================
 Running:
   redis-server  127.0.0.1:$REDIS_PORT              (log $STATE/redis.log)
   mariadbd      127.0.0.1:$MARIADB_PORT, socket $SOCK
   node1..node3  http://127.0.0.1:${NODE_PORTS[0]} :${NODE_PORTS[1]} :${NODE_PORTS[2]}  (logs $STATE/node1.log ...)
   writer        inserts 3 orders, pays one, deletes one, then one insert a second

 Try, in another terminal:
   redis-cli -p $REDIS_PORT XINFO GROUPS debezium:commands
   redis-cli -p $REDIS_PORT XINFO CONSUMERS debezium:commands workers
   redis-cli -p $REDIS_PORT XRANGE 'debezium:task:events:{orders}' - + COUNT 3
   redis-cli -p $REDIS_PORT HGETALL 'debezium:task:status:{orders}'
   DATAINGEST_REDIS_ADDRS=127.0.0.1:$REDIS_PORT bin/dataingestctl tasks
   curl -s http://127.0.0.1:${NODE_PORTS[0]}/dataingest/cluster/nodes
   DATAINGEST_REDIS_ADDRS=127.0.0.1:$REDIS_PORT bin/dataingestctl lag
   open http://127.0.0.1:${NODE_PORTS[0]}/ in a browser: the status page
   curl -s http://127.0.0.1:${NODE_PORTS[0]}/metrics | grep '^dataingest_fleet'
   mariadb --defaults-file=$CNF shop -e "UPDATE orders SET status='shipped' WHERE id=1"

 Below: bin/dataingestctl tail orders --follow (one decoded event a line).
 Ctrl-C stops everything.
================================================================================

EOF
"$BIN/dataingestctl" tail orders --follow
