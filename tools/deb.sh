#!/bin/sh
# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
# tools/deb.sh ROOT VERSION OUT.deb: the Debian package of what `make
# install PREFIX=/usr DESTDIR=ROOT` put in ROOT (make deb runs both).
# Its shared-library dependencies are dpkg-shlibdeps' reading of the
# binary, so they follow whatever the build linked.
set -eu
root=$(realpath "$1") version=$2 out=$3
arch=$(dpkg --print-architecture)

# Debian ships man pages compressed
gzip -9n "$root/usr/share/man/man8/parkwatch.8"

# dpkg-shlibdeps wants a source package around the binary
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/debian"
printf 'Source: parkwatch\n\nPackage: parkwatch\nArchitecture: any\n' > "$work/debian/control"
depends=$(cd "$work" && dpkg-shlibdeps -O -e"$root/usr/sbin/parkwatch" 2>/dev/null |
	sed -n 's/^shlibs:Depends=//p')
[ -n "$depends" ] || { echo "parkwatch: dpkg-shlibdeps found no dependencies" >&2; exit 1; }

mkdir -p "$root/DEBIAN"
cat > "$root/DEBIAN/control" <<CONTROL
Package: parkwatch
Version: $version
Architecture: $arch
Maintainer: parkwatch developers <parkwatch@localhost>
Installed-Size: $(du -sk --exclude=DEBIAN "$root" | cut -f1)
Depends: $depends
Recommends: libcapstone4, libc6-dbg
Section: admin
Priority: optional
Description: find parked threads and goroutines, why and since when
 parkwatch finds the threads of a process that are parked (off CPU and not
 runnable) and tells why, since when and where, with symbolized stacks, from
 outside the process and without stopping it; for Go programs, the
 goroutines. It prints dumps, JSON, pprof profiles and folded stacks, and
 serves Prometheus metrics and pprof profiles over HTTP. libcapstone4 lets
 it read stripped Go binaries; libc6-dbg names glibc's internal functions.
CONTROL
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z |
	xargs -0 md5sum > DEBIAN/md5sums)
dpkg-deb --root-owner-group -Zxz --build "$root" "$out" >/dev/null
