#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# dkms-check.sh [--tsv] [KERNEL...]: prove that DKMS adds, builds, installs
# and removes kvisor for each KERNEL (a release, or a prefix such as 6.12
# for the newest one with headers; default 6.1 and 6.12), and that what it
# builds is for that kernel: vermagic and version are checked on the built
# module, depmod's index on the installed one.
#
# Nothing real can be touched: the copy of the sources (what git tracks
# plus new files) is DKMS package kvisor-dkmscheck, version 0.0-dkmscheck,
# whose module installs as kvisor_dkmscheck.ko; DKMS's own trees (and a
# signing key, when the machine has none) are in a temporary directory.
# The module file under /lib/modules/KERNEL/updates/dkms is all it puts in
# the system, and "dkms remove" takes it away again; on failure or an
# interrupt the cleanup does, and so does the next run, which also waits
# for one that is still going.  Logs: build/dkms-check/<kernel>.log.
#
# Output, one line per kernel:
#   ok N - build: dkms add/build/install/remove for Linux 6.1.0-57-amd64
#   not ok N - ... # dkms build failed: module/vm.c:12: error: ...
#   ok N - ... # SKIP no Linux 6.12 headers installed
# or with --tsv, for check.sh's tap(): "ok|fail|skip<TAB>name<TAB>reason".
# Exit status 0 when nothing failed.
set -uo pipefail
TOP=$(cd "$(dirname "$0")/../.." && pwd)
LOGS=$TOP/build/dkms-check
NAME=kvisor-dkmscheck VER=0.0-dkmscheck MOD=kvisor_dkmscheck
tsv=0
[ "${1:-}" = --tsv ] && { tsv=1; shift; }
[ $# -gt 0 ] || set -- 6.1 6.12
kernels=("$@") n=0 failed=0

result() { # ok|fail|skip name [reason]
	n=$((n + 1))
	[ "$1" = fail ] && failed=$((failed + 1))
	if [ $tsv = 1 ]; then
		printf '%s\t%s\t%s\n' "$1" "$2" "${3:-}"
		return
	fi
	case $1 in
	ok)	echo "ok $n - $2" ;;
	skip)	echo "ok $n - $2 # SKIP $3" ;;
	*)	echo "not ok $n - $2 # $3" ;;
	esac
}

say() { # a comment: into the TAP stream, or to stderr beside --tsv
	if [ $tsv = 1 ]; then echo "# $*" >&2; else echo "# $*"; fi
}

# A kernel release with headers: the name itself, or the newest PREFIX.*
resolve() {
	if [ -e "/lib/modules/$1/build/Makefile" ]; then
		echo "$1"
	else
		printf '%s\n' /lib/modules/"$1".*-amd64/build/Makefile |
			grep -v '\*' | sort -V | tail -1 | cut -d/ -f4
	fi
}

depmod_if_installed() { # kernel
	[ ! -e "/lib/modules/$1/modules.order" ] || depmod "$1"
}

# What an earlier run left (it was killed before its cleanup), and this
# run's own leftovers.
sweep() {
	local f k
	find /lib/modules -path "*/updates/dkms/$MOD.ko*" 2>/dev/null |
	while read -r f; do
		k=${f#/lib/modules/}; k=${k%%/*}
		rm -f "$f"
		rmdir -p --ignore-fail-on-non-empty "${f%/*}" 2>/dev/null
		depmod_if_installed "$k"
	done
}

# depmod for a kernel with headers only (dkms runs it for any kernel)
# writes index files that were not there: they go again.
INDEX="modules.alias modules.alias.bin modules.builtin.alias.bin
	modules.builtin.bin modules.dep modules.dep.bin modules.devname
	modules.softdep modules.symbols modules.symbols.bin modules.weakdep"
tmp=
# shellcheck disable=SC2317 # called from the traps
cleanup() {
	local k i
	[ -n "$tmp" ] || return
	$DKMS remove -m "$NAME" -v "$VER" --all >/dev/null 2>&1
	sweep
	for k in "${noindex[@]}"; do
		[ -e "/lib/modules/$k/modules.order" ] && continue
		for i in $INDEX; do rm -f "/lib/modules/$k/$i"; done
	done
	rm -rf "$tmp"
	tmp=
}

# Every kernel gets its line, whatever stopped the script.
on_exit() {
	local rc=$?
	while [ $n -lt ${#kernels[@]} ]; do
		result fail "build: dkms add/build/install/remove for Linux ${kernels[$n]}" \
			"dkms-check.sh stopped before this result (status $rc)"
	done
	cleanup
	[ $tsv = 1 ] || echo "1..$n"
	[ $failed = 0 ] || rc=1
	exit $rc
}

run() { # dkms STEP ...: for check_kernel, timed, into its log
	local s=$SECONDS r
	echo "== dkms $*" >> "$log"
	$DKMS "$@" >> "$log" 2>&1
	r=$?
	times+=" $1 $((SECONDS - s)) s,"
	return $r
}

check_kernel() { # kernel -> result line
	local k=$1 name="build: dkms add/build/install/remove for Linux $1"
	local built vm ver f mlog=$tmp/dkms/$NAME/$VER/build/make.log

	log=$LOGS/$k.log times=
	: > "$log"
	[ -e "/lib/modules/$k/modules.dep" ] || noindex+=("$k")
	if ! run add "$tmp/src/$NAME-$VER"; then
		result fail "$name" "dkms add failed: $(tail -1 "$log")"
		return
	fi
	if ! run build -m $NAME -v $VER -k "$k"; then
		cat "$mlog" >> "$log" 2>/dev/null
		f=$(grep -m1 -E 'error:|\*\*\*' "$mlog" 2>/dev/null || tail -1 "$log")
		f=${f//$tmp\/dkms\/$NAME\/$VER\/build\//}
		result fail "$name" "dkms build failed: $f"
		return
	fi
	cat "$tmp/dkms/$NAME/$VER/$k"/*/log/make.log >> "$log" 2>/dev/null
	built=$(ls "$tmp/dkms/$NAME/$VER/$k"/*/module/$MOD.ko* 2>/dev/null | head -1)
	vm=$(modinfo -F vermagic "$built" 2>/dev/null)
	ver=$(modinfo -F version "$built" 2>/dev/null)
	if [ "${vm%% *}" != "$k" ]; then
		result fail "$name" "built module's vermagic is '${vm%% *}', not $k"
		return
	fi
	if [ "$ver" != $VER ]; then
		result fail "$name" "built module's version is '$ver', not dkms.conf's $VER"
		return
	fi
	if ! run install -m $NAME -v $VER -k "$k"; then
		result fail "$name" "dkms install failed: $(grep -m1 -i error "$log")"
		return
	fi
	f=$(ls /lib/modules/"$k"/updates/dkms/$MOD.ko* 2>/dev/null)
	if [ -z "$f" ]; then
		result fail "$name" "dkms install put no $MOD.ko under /lib/modules/$k/updates/dkms"
		return
	fi
	if [ -e "/lib/modules/$k/modules.order" ] &&
	   [ "$(modinfo -k "$k" -F version $MOD 2>/dev/null)" != $VER ]; then
		result fail "$name" "depmod did not index $f"
		return
	fi
	if ! run remove -m $NAME -v $VER --all; then
		result fail "$name" "dkms remove failed: $(grep -m1 -i error "$log")"
		return
	fi
	f=$(find /lib/modules -name "$MOD.ko*")
	if [ -n "$f" ]; then
		result fail "$name" "dkms remove left $f"
		return
	fi
	say "Linux $k: dkms${times%,}"
	result ok "$name"
}

# Every kernel's line, skipped with one reason when nothing can run.
skip_all() {
	for k in "$@"; do
		result skip "build: dkms add/build/install/remove for Linux $k" "$why"
	done
	exit 0
}
trap on_exit EXIT
trap 'exit 130' INT TERM
why=
[ "$(id -u)" = 0 ] || why="dkms needs root"
command -v dkms >/dev/null || why="dkms is not installed (apt-get install dkms)"
grep -qsE '^[[:space:]]*modprobe_on_install=.' /etc/dkms/framework.conf \
	/etc/dkms/framework.conf.d/*.conf &&
	why="DKMS here loads what it installs (modprobe_on_install in /etc/dkms)"
[ -z "$why" ] || skip_all "$@"

# One run at a time on a machine (from any checkout): the test module's
# name is fixed.
mkdir -p "$LOGS"
exec 9> "$(ls -d /run/lock 2>/dev/null || echo /tmp)/kvisor-dkms-check.lock"
flock -w 1200 9 || { why="another dkms-check.sh held the lock for 20 minutes"; skip_all "$@"; }
sweep

tmp=$(mktemp -d /tmp/kvisor-dkms-check.XXXXXX)
DKMS="dkms -j ${JOBS:-2} --dkmstree $tmp/dkms --sourcetree $tmp/src"
noindex=()
mkdir -p "$tmp/dkms" "$tmp/src/$NAME-$VER"
if [ ! -e /var/lib/dkms/mok.key ]; then
	# a signing key for this run only, not one left for the machine
	export mok_signing_key=$tmp/mok.key mok_certificate=$tmp/mok.pub
fi

# The sources, as "dkms add" of a clean checkout would see them.
src=$tmp/src/$NAME-$VER
if [ -e "$TOP/.git" ] && command -v git >/dev/null; then
	(cd "$TOP" && git ls-files -z -co --exclude-standard |
		while IFS= read -r -d '' f; do [ -e "$f" ] && echo "$f"; done |
		cpio -pdm --quiet "$src")
else
	(cd "$TOP" && cp -a Makefile Kbuild dkms.conf scripts module uapi "$src")
fi
sed -i -e "s/^PACKAGE_NAME=.*/PACKAGE_NAME=\"$NAME\"/" \
	-e "s/^PACKAGE_VERSION=.*/PACKAGE_VERSION=\"$VER\"/" "$src/dkms.conf" &&
	echo "DEST_MODULE_NAME[0]=\"$MOD\"" >> "$src/dkms.conf"
if ! grep -q "^PACKAGE_NAME=\"$NAME\"" "$src/dkms.conf" ||
   ! grep -q "^PACKAGE_VERSION=\"$VER\"" "$src/dkms.conf"; then
	for k in "$@"; do
		result fail "build: dkms add/build/install/remove for Linux $k" \
			"dkms.conf has no PACKAGE_NAME or PACKAGE_VERSION line to set"
	done
	exit 1
fi

for arg in "$@"; do
	k=$(resolve "$arg")
	if [ -z "$k" ]; then
		result skip "build: dkms add/build/install/remove for Linux $arg" \
			"no Linux $arg headers installed"
		continue
	fi
	check_kernel "$k"
	# the next kernel starts from nothing, as the first did
	$DKMS remove -m "$NAME" -v "$VER" --all >/dev/null 2>&1
done
exit 0
