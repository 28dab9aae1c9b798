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
# it ran, whatever the test itself said.
T=/kvisor/tests
TMO=${KVHOST_TEST_TIMEOUT:-300}
say() { echo "@@KV $*" > $RES; }
export KVISOR_KO=/kvisor/kvisor.ko
export KVISOR_INTREE="$(cat /kvisor/intree/order 2>/dev/null)"

BAD='BUG:|WARNING:|Oops|general protection fault|kernel BUG|Call Trace|UBSAN|KASAN|refcount_t|list_(add|del) corruption|stack-protector|soft lockup|hard LOCKUP|rcu_sched detected|RCU stall'

# KVHOST_HYPERVISOR=intree runs the same tests against in-tree KVM.
# Bochs refuses kvm_intel's VM entries once it uses the APIC-access page
# and TPR shadow (every test with an in-kernel irqchip): without them,
# kvm_intel virtualizes the LAPIC by exits, as kvisor does.
KVHOST_KVM_INTEL=${KVHOST_KVM_INTEL-flexpriority=0,enable_apicv=0}
if [ "$KVHOST_HYPERVISOR" = intree ]; then
	for m in $KVISOR_INTREE; do
		case $m in
		*kvm-intel*) insmod $m $(echo "$KVHOST_KVM_INTEL" | tr , ' ') ;;
		*) insmod $m ;;
		esac
	done
	export KVISOR_INTREE=
elif ! insmod $KVISOR_KO; then
	say "load-failed $(dmesg | grep kvisor | tail -1)"
	exit 1
fi
[ -c /dev/kvm ] && chmod 666 /dev/kvm
say "loaded $(dmesg | grep 'kvisor: ' | tail -1 | sed 's/^\[[^]]*\] //')"

for t in $(cat $T/list); do
	before=$(dmesg | wc -l)
	t0=$(cut -d' ' -f1 /proc/uptime)
	echo "kvisor test host: running $t"
	timeout -s KILL "$TMO" "$T/$t" > /tmp/out 2>&1
	rc=$?
	t1=$(cut -d' ' -f1 /proc/uptime)
	secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
	cat /tmp/out
	bad=$(dmesg | tail -n +$((before + 1)) | grep -E "$BAD" | head -3)
	if [ -n "$bad" ]; then
		say "fail $t kernel complained: $(echo "$bad" | head -1)"
		dmesg | tail -n +$((before + 1)) | head -60 | sed 's/^/@@KV # /' > $RES
		continue
	fi
	case $rc in
	0)	say "ok $t $secs" ;;
	4)	say "skip $t $(grep -m1 '^# SKIP' /tmp/out | sed 's/^# SKIP *//')" ;;
	137)	say "fail $t timed out after ${TMO}s"
		tail -20 /tmp/out | sed 's/^/@@KV # /' > $RES ;;
	*)	say "fail $t exit code $rc"
		tail -40 /tmp/out | sed 's/^/@@KV # /' > $RES
		dmesg | tail -n +$((before + 1)) | tail -20 |
			sed 's/^/@@KV # dmesg: /' > $RES ;;
	esac
done
say "end"
