# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=sh
#
# life.sh, in a test host /kvisor/life.sh: how qemu_lifecycle and
# libvirt_domain read the lifecycle guest's serial log (build-qemu-guest.sh,
# its /life): every line "L2-LIFE <counter> <md5 of its random file>
# <uptime> scratch=ok|BAD" must follow the one before, across whatever the
# test did to the VM in between.  POSIX sh, for busybox.  Sourced after
# /kvisor/lib.sh by a script that sets T (its folder: VM's serial log is
# $T/VM.log) and has fail WHY (the test fails, with why).

# alive PID: that process runs (not a zombie)
alive() {
	[ -d "/proc/$1" ] && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null
}

# life_md5 VM: the md5 of VM's guest's random data, from its L2-LIFE-MD5
# line, in MD5 (what check compares every line with); fails without one
life_md5() {
	MD5=$(tr -d '\r' < $T/"$1".log |
		sed -n 's/^L2-LIFE-MD5 \([0-9a-f]\{32\}\)$/\1/p' | head -1)
	[ -n "$MD5" ] || fail "$1: no L2-LIFE-MD5 line"
}

# lives VM: the guest's whole L2-LIFE lines in VM's serial log
lives() {
	tr -d '\r' < $T/"$1".log |
		grep -E '^L2-LIFE [0-9]+ [0-9a-f]{32} [0-9]+\.[0-9]+ scratch=(ok|BAD)$'
}

# until_lives VM N SECS: wait for N L2-LIFE lines in VM's log
until_lives() {
	_t=$(now)
	while [ "$(lives "$1" | wc -l)" -lt "$2" ]; do
		[ "$(took "$_t" | cut -d. -f1)" -lt "$3" ] ||
			fail "$1: not $2 L2-LIFE lines after $3 s but $(lives "$1" | wc -l)"
		sleep 0.5
	done
}

# check VM [N UP [SKIP]]: VM's L2-LIFE lines (after its first SKIP) go
# on, one counter after the other with the same md5 and scratch=ok, the
# uptime never going back, and (given the last counter N and uptime UP of
# the guest's state before: another QEMU's, a snapshot's) the first line
# the counter after N (or one later: a line cut in half) at UP or later.
# Sets N and UP to its last line's.  Given N, the log may show BOOTS
# boots (L2-HELLO lines; by default none: another QEMU's log that began
# with an incoming migration).
check() {
	if tr -d '\r' < $T/"$1".log | grep -q '^L2-LIFE-BAD'; then
		fail "$1: $(tr -d '\r' < $T/"$1".log | grep -m1 '^L2-LIFE-BAD')"
	fi
	_c=$(lives "$1" | tail -n +$((${4:-0} + 1)) |
		awk -v md5="$MD5" -v pn="${2:-}" -v pu="${3:-}" '
		{ n = $2 + 0; up = $4 + 0 }
		$3 != md5 { print "line " n ": md5 " $3 ", not " md5; bad = 1; exit }
		$5 != "scratch=ok" { print "line " n ": " $5; bad = 1; exit }
		NR == 1 && pn != "" && (n <= pn || n > pn + 2) {
			print "counter " n " after " pn; bad = 1; exit }
		NR == 1 && pu != "" && up < pu + 0 {
			print "uptime " up " after " pu; bad = 1; exit }
		NR > 1 && n != ln + 1 { print "counter " n " after " ln; bad = 1; exit }
		NR > 1 && up < lu { print "uptime " up " after " lu; bad = 1; exit }
		{ ln = n; lu = up }
		END { if (!bad) { if (NR) print ln, lu; else print "no lines" } }')
	case $_c in
	[0-9]*) N=${_c% *} UP=${_c#* } ;;
	*) fail "$1: $_c" ;;
	esac
	if [ -n "${2:-}" ] &&
	   [ "$(tr -d '\r' < $T/"$1".log | grep -c 'L2-HELLO')" -gt "${BOOTS:-0}" ]; then
		fail "$1: the guest booted again"
	fi
}

