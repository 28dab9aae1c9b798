#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside a test host for `make bench` (KVHOST_MODE=bench): the same
# benchmark, /kvisor/bench, first against kvisor, then against in-tree KVM,
# in one boot, so that both see the same emulated CPU, kernel and clock.
# Reports on the results channel:
#   @@KV bench-run <hypervisor>
#   @@KV mark <test> start|end <iterations>	(from the benchmark itself)
#   @@KV bench <hypervisor> <test> <ns per iteration>
#   @@KV bench-fail <hypervisor> <reason>
#   @@KV bench-warn <hypervisor> <kernel log line>
#   @@KV # <hypervisor>: <diagnostic line>
#   @@KV bench-end
# where <hypervisor> is kvisor or kvm; ns per iteration are by this
# host's clock, the marks let the machine outside time the loops by its
# own.  KVHOST_BENCH_SECONDS (kernel command line) sets how long each loop
# runs by this host's clock, 2 s by default.
B=/kvisor/bench
SECS=${KVHOST_BENCH_SECONDS:-2}
TMO=${KVHOST_TEST_TIMEOUT:-300}
# shellcheck source=lib.sh
. /kvisor/lib.sh

# The SVM host has two vCPUs: keep the benchmark on one, so neither
# hypervisor pays for vCPU thread migrations the other happened not to get.
PIN=
taskset 1 true 2>/dev/null && PIN="taskset 1"

bench() { # hypervisor
	hv=$1
	before=$(dmesg | wc -l)
	echo "kvisor test host: bench against $hv"
	say "bench-run $hv"
	# shellcheck disable=SC2086	# PIN: a command and its argument, or nothing
	BENCH_MARKS=$RES timeout -s KILL "$TMO" $PIN $B "$SECS" \
		> /tmp/bench.out 2>&1
	rc=$?
	cat /tmp/bench.out
	# "bench <test> <ns/iter> <iter/s> <iterations> <seconds>"
	grep '^bench ' /tmp/bench.out | while read -r _ t ns _; do
		say "bench $hv $t $ns"
	done
	if [ $rc = 0 ]; then
		sed -n "s/^# /@@KV # $hv: /p" /tmp/bench.out > "$RES"
	else
		say "bench-fail $hv bench exit code $rc"
		tail -20 /tmp/bench.out | sed "s/^/@@KV # $hv: /" > "$RES"
	fi
	# A kernel complaint makes the numbers suspect, not meaningless.
	klog_since "$before" | grep -E "$BAD" | head -3 |
		sed "s/^/@@KV bench-warn $hv /" > "$RES"
}

if insmod /kvisor/kvisor.ko; then
	say "loaded $(kvisor_said)"
	bench kvisor
	# in-tree KVM cannot take SVM/VMX while kvisor holds it
	rmmod kvisor || say "bench-fail kvm rmmod kvisor failed"
else
	say "bench-fail kvisor insmod: $(kvisor_failed)"
fi

# in-tree KVM: dependencies first, unloaded in reverse order
if load_intree; then
	bench kvm
else
	say "bench-fail kvm insmod $INTREE_FAILED: $(dmesg | tail -1)"
fi
for m in $INTREE_LOADED; do rmmod "$m"; done
say "bench-end"
