#!/usr/bin/env bash
# Builds, once, the chroot in which the tests and users run Debian's MySQL.
#
# Debian bookworm has no MySQL package; the unstable suite ("sid") has
# MySQL 9.7, whose binaries need a newer glibc and libstdc++ than bookworm
# has. So we debootstrap a minimal sid into a cache directory, with
# mysql-server-core and mysql-client, and run mysqld inside it. The chroot
# shares the host's network: a mysqld in it on 127.0.0.1:PORT is reachable
# from the host as usual.
#
# Usage: scripts/mysql-chroot.sh [DIR]
#   DIR defaults to $DATAINGEST_MYSQL_CHROOT, else /var/cache/dataingest/mysql-sid.
# Re-running is cheap: a finished chroot (marked by DIR/.dataingest-ready)
# is left as it is. Needs root (debootstrap and chroot); takes about two
# minutes and 640 MiB the first time.
set -euo pipefail

dir=${1:-${DATAINGEST_MYSQL_CHROOT:-/var/cache/dataingest/mysql-sid}}
suite=${DATAINGEST_MYSQL_SUITE:-sid}
packages=mysql-server-core,mysql-client

if [ -f "$dir/.dataingest-ready" ] && [ -x "$dir/usr/sbin/mysqld" ]; then
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "mysql-chroot: building the MySQL chroot in $dir needs root (debootstrap, chroot); run 'sudo $0 $dir'," >&2
	echo "mysql-chroot: or point DATAINGEST_TEST_MYSQLD at your own mysqld (see README)" >&2
	exit 1
fi

if ! command -v debootstrap >/dev/null 2>&1; then
	echo "mysql-chroot: installing debootstrap with apt-get"
	apt-get update
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends debootstrap
fi

# The Debian mirror this machine already uses: the first URI of a deb822
# sources file, else the first deb line of a one-line sources.list.
mirror=${DATAINGEST_DEBIAN_MIRROR:-}
if [ -z "$mirror" ]; then
	mirror=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
		awk '/^URIs:/ && $2 ~ /\/debian\/?$/ {print $2; exit}')
fi
if [ -z "$mirror" ]; then
	mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
		awk '$1 == "deb" && $2 ~ /\/debian\/?$/ {print $2; exit}')
fi
if [ -z "$mirror" ]; then
	echo "mysql-chroot: no Debian mirror found in /etc/apt; set DATAINGEST_DEBIAN_MIRROR" >&2
	exit 1
fi

# A half-built chroot from an interrupted run is started over.
rm -rf "$dir.partial"
mkdir -p "$(dirname "$dir")"
echo "mysql-chroot: debootstrap $suite with $packages into $dir (about two minutes, once)"
debootstrap --variant=minbase --include="$packages" "$suite" "$dir.partial" "$mirror"
rm -rf "$dir"
mv "$dir.partial" "$dir"
chroot "$dir" mysqld --version >/dev/null
touch "$dir/.dataingest-ready"
echo "mysql-chroot: ready: $(chroot "$dir" mysqld --version)"
