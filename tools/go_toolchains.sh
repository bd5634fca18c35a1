#!/bin/bash
# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
#
# Go toolchains the goroutine tests build their targets with, from Debian:
# golang-1.X-go and golang-1.X-src are downloaded with apt-get from a
# private apt configuration (its own source list, package lists and cache
# under CACHE, so the system's apt sources are never touched) and unpacked
# with dpkg -x into CACHE/go1.X.  Nothing is installed into the system.
# Releases already in CACHE are not fetched again.
#
#   tools/go_toolchains.sh CACHE 1.21 1.22 ...
#
# Prints nothing on success but one line per release it fetched; exits 1
# with one line on stderr when a release can't be fetched.
set -euo pipefail

usage() { echo "usage: $0 CACHE RELEASE..." >&2; exit 2; }
[ $# -ge 2 ] || usage
cache=$1; shift
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)

suite_of() {
	case $1 in
	1.19) echo bookworm ;;
	1.21|1.22|1.23) echo bookworm-backports ;;
	1.24) echo trixie ;;
	*) echo trixie-backports ;;
	esac
}

missing=()
for rel in "$@"; do
	[[ $rel =~ ^1\.[0-9]+$ ]] || { echo "go_toolchains: '$rel' is not a release like 1.23" >&2; exit 2; }
	[ -x "$cache/go$rel/usr/lib/go-$rel/bin/go" ] || missing+=("$rel")
done
[ ${#missing[@]} -gt 0 ] || exit 0

apt_dir=$cache/apt
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/debs"
: > "$apt_dir/sources.list"
for rel in "${missing[@]}"; do
	echo "deb http://deb.debian.org/debian $(suite_of "$rel") main" >> "$apt_dir/sources.list"
done
sort -u -o "$apt_dir/sources.list" "$apt_dir/sources.list"
apt_opts=(-q -o Dir::Etc::SourceList="$apt_dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
	-o Dir::State::Lists="$apt_dir/lists" -o Dir::Cache="$apt_dir/cache"
	-o APT::Get::List-Cleanup=0 -o Debug::NoLocking=1)
if ! apt-get "${apt_opts[@]}" update > "$apt_dir/update.log" 2>&1; then
	echo "go_toolchains: apt-get update failed (see $apt_dir/update.log)" >&2
	exit 1
fi
for rel in "${missing[@]}"; do
	echo "  FETCH   go$rel"
	rm -rf "$apt_dir/debs"/* "$cache/go$rel.tmp"
	if ! (cd "$apt_dir/debs" && apt-get "${apt_opts[@]}" download "golang-$rel-go" "golang-$rel-src") \
		> "$apt_dir/download.log" 2>&1; then
		echo "go_toolchains: can't download golang-$rel-go (see $apt_dir/download.log)" >&2
		exit 1
	fi
	for deb in "$apt_dir/debs"/*.deb; do
		dpkg -x "$deb" "$cache/go$rel.tmp"
	done
	# whole or not at all: an interrupted unpack leaves no half toolchain
	mv "$cache/go$rel.tmp" "$cache/go$rel"
done
rm -rf "$apt_dir/debs"
