#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# shellcheck disable=SC2034	# HERE, TOP, CACHE, OOPS: for the scripts that source this
#
# lib.sh: what the build machine's scripts around the test hosts share.
# Sourced by the bash scripts of selftests/hosts (not by guest/, which runs
# under busybox sh inside the hosts: it has guest/lib.sh).  Sets
#   HERE   this folder, selftests/hosts
#   TOP    the repository
#   CACHE  where install-deps.sh builds Bochs and boot-host.sh keeps vmlinux
#   KVER   the kernel the test hosts boot, unless given: kver below
#   ME     the script's name, for messages (bench, conformance, ...)
# and gives the functions below.  Run as a program it answers the kernel
# questions, for the Makefile and by hand:
#   selftests/hosts/lib.sh kver [SERIES]	e.g. 6.1.0-57-amd64
#   selftests/hosts/lib.sh kheaders SERIES	e.g. /usr/src/linux-headers-6.12.22-amd64

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
CACHE=${KVISOR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kvisor}
ME=${ME:-$(basename "$0" .sh)}

# --- kernels ---------------------------------------------------------------

# newest PATH...: the last PATH that exists, in version order (so, given a
# glob's matches, the newest); nothing when none does
newest() {
	local p
	for p; do [ ! -e "$p" ] || echo "$p"; done | sort -V | tail -1
}

# kver [SERIES]: the newest Debian amd64 kernel of SERIES (default 6.1, the
# one the test hosts boot) in /lib/modules, as its version; nothing if none
kver() {
	local k
	k=$(newest /lib/modules/"${1:-6.1}".*-amd64)
	echo "${k##*/}"
}

# kheaders SERIES: the newest Debian amd64 kernel headers of SERIES, as
# their directory; nothing if none (check.sh builds against 6.12 with them)
kheaders() {
	newest /usr/src/linux-headers-"$1".*-amd64
}

# --- setup -------------------------------------------------------------------

# die MESSAGE: the end of a script that cannot go on, with the time it took
die() {
	echo "$ME: $*" >&2
	echo "$ME: failed after $SECONDS s" >&2
	exit 1
}

# deps: install what is missing (install-deps.sh, its output to stderr),
# unless KVISOR_NO_DEPS=1; then KVER is probed again, since a kernel may
# just have come.  Fails when install-deps.sh does.
deps() {
	[ "${KVISOR_NO_DEPS:-0}" = 1 ] && return 0
	"$HERE/install-deps.sh" >&2 || return 1
	KVER=$(kver 6.1)
}

# known_hosts HOST...: die unless each is svm or vmx
known_hosts() {
	local h
	for h; do
		case $h in
		svm | vmx) ;;
		*) die "unknown host $h (svm or vmx)" ;;
		esac
	done
}

# --- what a test host reports ------------------------------------------------
# A host writes "@@KV <what>" lines to its second serial port, which the
# emulator puts in OUTDIR/results.txt (guest/init and the mode scripts
# there say which lines); its console goes to OUTDIR/console.log.

# kv_lines RESULTS: the "@@KV " lines of a results file, without the prefix
# and without CRs
kv_lines() {
	tr -d '\r' 2>/dev/null < "$1" | grep -a '^@@KV ' | cut -c6-
}

# kv_get WHAT LINES: the rest of the "WHAT ..." lines of kv_lines' output
kv_get() {
	sed -n "s/^$1 //p" "$2"
}

# powered_off RESULTS: did the host reach the end of its /init?
powered_off() {
	grep -q '^@@KV poweroff' "$1"
}

# console_oops CONSOLE [N]: the first N (default 1) lines of a host's console
# that say its kernel died or complained
OOPS='Kernel panic|BUG:|Oops|detected stalls'
console_oops() {
	grep -a -m"${2:-1}" -E "$OOPS" "$1" 2>/dev/null | tr -d '\r'
}

# --- TAP, as make check and make check-debug print it ----------------------
# tap STATUS NAME [REASON]: one line (STATUS ok, skip or anything else for
# a failure); tap_finish: the plan and the "N passed, N failed[, N skipped]"
# line, and the exit status (0 only when nothing failed).
tap_n=0 tap_passed=0 tap_failed=0 tap_skipped=0 tap_tails=
tap() {
	tap_n=$((tap_n + 1))
	case $1 in
	ok)	tap_passed=$((tap_passed + 1)); echo "ok $tap_n $2" ;;
	skip)	tap_skipped=$((tap_skipped + 1)); echo "ok $tap_n $2 # SKIP $3" ;;
	*)	tap_failed=$((tap_failed + 1)); echo "not ok $tap_n $2${3:+ # $3}" ;;
	esac
}

tap_finish() {
	# last, where a log cut to its head and tail still shows them
	[ -n "$tap_tails" ] && printf '%s' "$tap_tails"
	echo "1..$tap_n"
	if [ $tap_skipped -gt 0 ]; then
		echo "$tap_passed passed, $tap_failed failed, $tap_skipped skipped"
	else
		echo "$tap_passed passed, $tap_failed failed"
	fi
	[ $tap_failed -eq 0 ]
	exit
}

# tap_host NAME HOSTDIR LIST: the TAP lines of one test host's run in
# HOSTDIR (results.txt, console.log, rc, host.log, as check.sh leaves
# them), a failure for each test of LIST it did not report, and one for
# the host itself when it did not run to its end.
tap_host() {
	local h=$1 dir=$2 list=$3 rc clean init off load oops why line what t cur=
	local -A seen=()
	rc=$(cat "$dir/rc" 2>/dev/null || echo none)
	clean=$dir/results.clean
	kv_lines "$dir/results.txt" > "$clean"
	init=$(kv_get init "$clean")
	off=$(kv_get poweroff "$clean")
	echo "# $h: $(kv_get loaded "$clean")"
	echo "# $h: init at ${init:-?} s guest time, suite done at ${off:-?} s; host log: $(tail -1 "$dir/host.log" 2>/dev/null)"
	load=$(kv_get load-failed "$clean")
	while IFS= read -r line; do
		read -r what t _ <<< "$line"
		case $what in
		ok)	tap ok "$h: $t"; seen[$t]=1; cur= ;;
		skip)	tap skip "$h: $t" "${line#skip "$t" }"; seen[$t]=1; cur= ;;
		fail)	tap fail "$h: $t" "${line#fail "$t" }"; seen[$t]=1; cur=$t ;;
		'#')	[ -n "$cur" ] && echo "#   $line" ;;
		esac
	done < "$clean"
	why="host ended before it ran (emulator rc $rc)"
	[ -n "$load" ] && why="kvisor did not load: $load"
	oops=$(console_oops "$dir/console.log")
	[ -n "$oops" ] && why="$why; console: $oops"
	while read -r t || [ -n "$t" ]; do
		[ -z "$t" ] || [ -n "${seen[$t]:-}" ] || tap fail "$h: $t" "$why"
	done < "$list"
	if [ "$rc" != 0 ] && ! grep -q '^end$' "$clean"; then
		tap fail "$h: test host ran to its end" "$why"
		tap_tails+="# $h ended early; its console's last lines:"$'\n'
		tap_tails+=$(tail -25 "$dir/console.log" 2>/dev/null | tr -d '\r' |
			cut -c1-200 | sed 's/^/#   /')$'\n'
		# and what the emulator itself said (QEMU's aborts, Bochs' panics)
		tap_tails+=$(tail -q -n5 "$dir/qemu.log" "$dir/bochs.out" 2>/dev/null |
			cut -c1-200 | sed 's/^/#   emulator: /')$'\n'
	fi
}

KVER=${KVER:-$(kver 6.1)}
export KVER

# run as a program: one of the kernel questions above
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	case ${1:-} in
	kver | kheaders) "$@" ;;
	*) echo "usage: $0 kver [SERIES] | kheaders SERIES" >&2; exit 2 ;;
	esac
fi
