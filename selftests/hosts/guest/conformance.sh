#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside a test host for `make conformance` (KVHOST_MODE=conformance):
# every upstream Linux 6.1 KVM selftest in /kvisor/tests/list, first under
# in-tree KVM (kvm_amd or kvm_intel), then under kvisor, in one boot.
# Reports on the results channel:
#   @@KV loaded <hv> <what>
#   @@KV load-failed <hv> <why>
#   @@KV start <hv> <test>
#   @@KV res <hv> <test> pass|fail|skip|timeout <seconds>
#   @@KV out <hv> <test> <line of the test's output or of the kernel log>
#   @@KV hv-end <hv>
#   @@KV unload-failed <hv> <module>
# where <hv> is kvm or kvisor.  Command line knobs:
#   KVHOST_CONF_TMO=<s>		per-test limit (default 60)
#   KVHOST_CONF_HV="kvm kvisor"	which hypervisors, in this order
#   KVHOST_CONF_FROM=<hv>:<test>	resume: start with this test of this
#				hypervisor (after the host died in a test)
T=/kvisor/tests
TMO=${KVHOST_CONF_TMO:-60}
HVS=${KVHOST_CONF_HV:-kvm kvisor}
FROM=${KVHOST_CONF_FROM:-}
MAXOUT=60
# shellcheck source=lib.sh
. /kvisor/lib.sh

# Tests whose defaults are long benchmarks, given the smaller arguments
# upstream offers (the outside script lists them in the rst as well).
args() {
	case $1 in
	memslot_perf_test)	echo "-l 1" ;;		# 1 s per test, not 5
	dirty_log_test)		echo "-i 4" ;;		# 4 iterations, not 32
	dirty_log_perf_test)	echo "-i 2 -b 256M" ;;	# 2 iterations, not 5
	max_guest_memory_test)	echo "-m 4" ;;		# 4 GiB of guest memory, not 128
	# 256 MiB of guest memory per vCPU, not 1 GiB
	demand_paging_test | kvm_page_table_test | memslot_modification_stress_test)
		echo "-b 256M" ;;
	esac
}

load() { # hv
	case $1 in
	kvm)	load_intree || { say "load-failed kvm $(dmesg | tail -1)"; return 1; }
		say "loaded kvm $INTREE_LOADED" ;;
	kvisor)	insmod /kvisor/kvisor.ko ||
			{ say "load-failed kvisor $(kvisor_failed)"; return 1; }
		say "loaded kvisor $(kvisor_said)" ;;
	esac
	[ -c /dev/kvm ] && chmod 666 /dev/kvm
	return 0
}

# A VM of a killed test may still be being torn down: retry for a while.
unload() { # hv
	case $1 in
	kvm)	mods=$INTREE_LOADED ;;
	kvisor)	mods=kvisor ;;
	esac
	for m in $mods; do
		n=0
		until rmmod "$m" 2>/dev/null; do
			n=$((n + 1))
			[ $n -ge 30 ] && { say "unload-failed $1 $m"; return 1; }
			sleep 1
		done
	done
}

run() { # hv test
	hv=$1 t=$2
	before=$(dmesg | wc -l)
	say "start $hv $t"
	echo "conformance: $hv $t"
	t0=$(now)
	# In a process group of its own (busybox timeout execs the test in
	# its own process, $!): some tests fork, and what a killed test leaves
	# running would keep /dev/kvm open and the module loaded.
	# shellcheck disable=SC2046
	timeout -s KILL "$TMO" setsid "$T/$t" $(args "$t") > /tmp/out 2>&1 < /dev/null &
	pid=$!
	wait $pid
	rc=$?
	kill -KILL -- -"$pid" 2>/dev/null
	secs=$(took "$t0")
	case $rc in
	0)	r=pass ;;
	4)	r=skip ;;
	*)	r=fail ;;
	esac
	# killed by the watchdog above, not by the OOM killer
	[ $rc = 137 ] && awk -v s="$secs" -v t="$TMO" 'BEGIN { exit !(s >= t - 1) }' &&
		r=timeout
	klog_since "$before" > /tmp/klog
	if grep -qE "$BAD" /tmp/klog; then
		r=fail
		echo "kernel complained: $(grep -m1 -E "$BAD" /tmp/klog)" >> /tmp/out
	fi
	[ $r = pass ] || echo "exit code $rc" >> /tmp/out
	{
		# the first lines carry the assertion, the last why it ended
		if [ "$(wc -l < /tmp/out)" -gt $MAXOUT ]; then
			head -n $((MAXOUT / 2)) /tmp/out
			echo "[...]"
			tail -n $((MAXOUT / 2)) /tmp/out
		else
			cat /tmp/out
		fi
		# the kernel's complaint from its start, else the last lines
		n=$(grep -n -m1 -E "$BAD" /tmp/klog | cut -d: -f1)
		if [ -n "$n" ]; then
			tail -n +$((n > 5 ? n - 5 : 1)) /tmp/klog | head -30
		elif [ $r != pass ] && [ $r != skip ]; then
			tail -20 /tmp/klog
		fi | sed 's/^/dmesg: /'
	} | tr -d '\r' | sed "s/^/@@KV out $hv $t /" > "$RES"
	say "res $hv $t $r $secs"
}

# Several tests map more guest memory than they touch (the outside
# script boots the host with 2 GiB).
echo 1 > /proc/sys/vm/overcommit_memory

for hv in $HVS; do
	if [ -n "$FROM" ] && [ "${FROM%%:*}" != "$hv" ]; then
		continue
	fi
	load "$hv" || continue
	# shellcheck disable=SC2013	# one name a line
	for t in $(cat $T/list); do
		if [ -n "$FROM" ]; then
			[ "$t" = "${FROM#*:}" ] || continue
			FROM=
		fi
		run "$hv" "$t"
	done
	FROM=
	unload "$hv"
	say "hv-end $hv"
done
say "end"
