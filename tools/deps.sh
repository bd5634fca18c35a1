#!/bin/bash
# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
#
# Installs the Debian packages of PACKAGE... that are missing (make deps).
# Some are daemons the tests start themselves (redis-server, nginx), with a
# private configuration on free ports: Debian's maintainer scripts would
# start them as system services, so the install runs under a policy-rc.d
# that forbids every service start (invoke-rc.d and deb-systemd-invoke both
# ask it), and the one the system had, if any, is put back afterwards.
#
#   tools/deps.sh PACKAGE...
#
# Prints one line naming what it installs; exits 1 with one line on stderr
# when the install fails or left one of DAEMONS running.
set -uo pipefail

# the daemons of the packages the tests start on their own
DAEMONS='nginx prometheus redis-server'
POLICY=/usr/sbin/policy-rc.d
SAVED=$POLICY.parkwatch-saved

missing=()
for p in "$@"; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' ||
		missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "deps: installing ${missing[*]}"

daemon_pids() {
	ps -e -o pid=,comm= | awk -v names=" $DAEMONS " 'index(names, " " $2 " ") { print $1 }' | sort
}

restore_policy() {
	rm -f "$POLICY"
	if [ -e "$SAVED" ]; then mv "$SAVED" "$POLICY"; fi
}

before=$(daemon_pids)
if [ -e "$POLICY" ]; then mv "$POLICY" "$SAVED" || exit 1; fi
trap restore_policy EXIT
trap 'exit 130' INT TERM
printf '#!/bin/sh\n# parkwatch make deps: no service starts while it installs\nexit 101\n' >"$POLICY"
chmod 755 "$POLICY"

export DEBIAN_FRONTEND=noninteractive
if ! { apt-get update -qq >/dev/null &&
       apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }; then
	echo "deps: apt-get install failed (run as root with Debian's archive reachable)" >&2
	exit 1
fi

started=$(comm -13 <(echo "$before") <(daemon_pids) | tr '\n' ' ')
if [ -n "${started// /}" ]; then
	echo "deps: the install started daemons (pids $started) despite $POLICY (stop them: kill $started)" >&2
	exit 1
fi
