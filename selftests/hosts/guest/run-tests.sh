#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside a test host: load kvisor, run every selftest with a time
# limit, and report one line per test on the results channel:
#   @@KV ok <test> <seconds>
#   @@KV skip <test> <reason>
#   @@KV fail <test> <reason>
#   @@KV # <diagnostic line of a failed test>
# A test fails too when the kernel logged an oops, a BUG or a WARNING while
# it ran, whatever the test itself said.  A file TEST.env beside a test
# holds its environment, one VAR=value a line (make check-debug's counts
# for the fuzzers and the stress tests).  A file TEST.timeout holds a
# longer time limit for that test, in seconds (KVHOST_TEST_TIMEOUT, when
# longer, wins).
T=/kvisor/tests
TMO=${KVHOST_TEST_TIMEOUT:-300}
# shellcheck source=lib.sh
. /kvisor/lib.sh
KVISOR_KO=/kvisor/kvisor.ko
KVISOR_INTREE=$(cat /kvisor/intree/order 2>/dev/null)
export KVISOR_KO KVISOR_INTREE

# KVHOST_HYPERVISOR=intree runs the same tests against in-tree KVM
# (KVHOST_KVM_INTEL: see load_intree in lib.sh).  KVHOST_KVISOR gives
# kvisor module parameters, comma-separated (ple_gap=0,...).
params=$(echo "${KVHOST_KVISOR:-}" | tr , ' ')
# shellcheck disable=SC2086	# module parameters, one word each
if [ "$KVHOST_HYPERVISOR" = intree ]; then
	load_intree
	export KVISOR_INTREE=
elif ! insmod $KVISOR_KO $params; then
	say "load-failed $(kvisor_failed)"
	exit 1
fi
[ -c /dev/kvm ] && chmod 666 /dev/kvm
say "loaded $(kvisor_said)"

# (not "while read": a test's stdin is the console, as it is for /init)
# shellcheck disable=SC2013	# one name a line
for t in $(cat $T/list); do
	before=$(dmesg | wc -l)
	t0=$(now)
	echo "kvisor test host: running $t"
	tmo=$(cat "$T/$t.timeout" 2>/dev/null || echo 0)
	[ "$tmo" -gt "$TMO" ] || tmo=$TMO
	# shellcheck disable=SC2046	# VAR=value words
	timeout -s KILL "$tmo" env $(cat "$T/$t.env" 2>/dev/null) "$T/$t" \
		> /tmp/out 2>&1
	rc=$?
	secs=$(took "$t0")
	cat /tmp/out
	bad=$(klog_since "$before" | grep -E "$BAD" | head -3)
	if [ -n "$bad" ]; then
		say "fail $t kernel complained: $(echo "$bad" | head -1)"
		# the log from a little before the first complaint: its
		# backtraces, not the test's own noise before it
		first=$(klog_since "$before" | grep -n -m1 -E "$BAD" | cut -d: -f1)
		klog_since "$before" | tail -n +$((first > 10 ? first - 10 : 1)) |
			head -100 | sed 's/^/@@KV # /' > "$RES"
		continue
	fi
	case $rc in
	0)	say "ok $t $secs" ;;
	4)	say "skip $t $(grep -m1 '^# SKIP' /tmp/out | sed 's/^# SKIP *//')" ;;
	137)	say "fail $t timed out after ${tmo}s"
		tail -20 /tmp/out | sed 's/^/@@KV # /' > "$RES" ;;
	*)	say "fail $t exit code $rc"
		tail -40 /tmp/out | sed 's/^/@@KV # /' > "$RES"
		klog_since "$before" | tail -20 |
			sed 's/^/@@KV # dmesg: /' > "$RES" ;;
	esac
done
say "end"
