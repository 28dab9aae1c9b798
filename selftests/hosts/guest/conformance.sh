#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside a test host for `make conformance` (KVHOST_MODE=conformance):
# every row of /kvisor/tests/runs (else every program of /kvisor/tests/list),
# first under in-tree KVM (kvm_amd or kvm_intel), then under kvisor, in one
# boot.  A row is a program, or a variant of one: the program's name and
# the arguments the variant adds, joined by commas
# ("kvm_page_table_test,-s,anonymous_thp"), which names it in the reports.
# Reports on the results channel:
#   @@KV loaded <hv> <what>
#   @@KV load-failed <hv> <why>
#   @@KV start <hv> <test>
#   @@KV alive <hv> <test>	every 10 s while a test runs
#   @@KV res <hv> <test> pass|fail|skip|timeout <seconds>
#   @@KV out <hv> <test> <line of the test's output or of the kernel log>
#   @@KV hv-end <hv>
#   @@KV unload-failed <hv> <module>
# where <hv> is kvm or kvisor.  Command line knobs:
#   KVHOST_CONF_TMO=<s>		per-test limit (default 60; limit() gives
#				a few rows more)
#   KVHOST_CONF_HV="kvm kvisor"	which hypervisors, in this order
#   KVHOST_CONF_FROM=<hv>:<test>	resume: start with this test of this
#				hypervisor (after the host died in a test)
T=/kvisor/tests
TMO=${KVHOST_CONF_TMO:-60}
HVS=${KVHOST_CONF_HV:-kvm kvisor}
FROM=${KVHOST_CONF_FROM:-}
MAXOUT=60
ROWS=$T/runs
[ -f "$ROWS" ] || ROWS=$T/list
# shellcheck source=lib.sh
. /kvisor/lib.sh

# Tests whose defaults are long benchmarks or want more memory than the
# hosts have, given the smaller arguments upstream offers, by row (a
# variant's own arguments come after these); the outside script lists
# them in the rst as well.
args() { # row
	case $1 in
	memslot_perf_test)	echo "-l 1" ;;		# 1 s per test, not 5
	dirty_log_test)		echo "-i 4" ;;		# 4 iterations, not 32
	dirty_log_perf_test*)	echo "-i 2 -b 256M" ;;	# 2 iterations, not 5
	# 2 GiB of guest memory, not 128: two slots of 1 GiB (its smallest)
	# aliasing one 1 GiB memfd, each 4 KiB page faulted in by the guest.
	# (It asks for 3/4 of the host's CPUs as vCPUs before it reads -c,
	# and fails on the 1-CPU VMX host: "Uh, no CPUs?".)
	max_guest_memory_test)	echo "-s 1 -m 2" ;;
	# every fault goes through a userfaultfd handler thread: 64 MiB
	demand_paging_test,-u,MISSING) echo "-b 64M" ;;
	# 256 MiB of guest memory per vCPU, not 1 GiB
	demand_paging_test | kvm_page_table_test* | memslot_modification_stress_test)
		echo "-b 256M" ;;
	esac
}

# limit ROW: its time limit, seconds.  max_guest_memory_test faults in
# its 2 GiB one 4 KiB page at a time (about 50 s under either hypervisor
# in the SVM host): three limits.
limit() {
	case $1 in
	max_guest_memory_test*)	echo $((TMO * 3)) ;;
	*)			echo "$TMO" ;;
	esac
}

# Huge pages for a row with "-s anonymous_hugetlb": the 2 MiB pages its
# test memory takes (-b 256M and one vCPU, from args(): 128 pages).
HUGE_PAGES=128

# prepare ROW-ARGS: what a variant needs of the host; its lines go to the
# test's output.  Fails when the host cannot give it: the row is then a
# skip, with the reason.
prepare() {
	case " $* " in
	*" anonymous_hugetlb "*)
		# reserved now and freed after the row, so no other test
		# loses the memory; fragmented host memory can leave the
		# reservation short, which the test could not live with
		echo "$HUGE_PAGES" > /proc/sys/vm/nr_hugepages
		got=$(cat /proc/sys/vm/nr_hugepages)
		echo "conformance: $got of $HUGE_PAGES huge pages of 2 MiB reserved"
		[ "$got" -ge "$HUGE_PAGES" ] || return 1 ;;
	*" anonymous_thp "*)
		# the tests madvise(MADV_HUGEPAGE): "always" or "madvise"
		thp=$(cat /sys/kernel/mm/transparent_hugepage/enabled)
		echo "conformance: transparent_hugepage/enabled: $thp"
		case $thp in *"[never]"*) return 1 ;; esac ;;
	esac
	return 0
}

# unprepare ROW-ARGS: give back what prepare took
unprepare() {
	case " $* " in
	*" anonymous_hugetlb "*) echo 0 > /proc/sys/vm/nr_hugepages ;;
	esac
}

# huge_now HV: "VMS MAPPINGS": how many VMs the hypervisor has, and how
# many 2 MiB nested mappings they have together
huge_now() {
	case $1 in
	kvm)	# a directory per VM, pid-fd
		set -- /sys/kernel/debug/kvm/*-*
		[ -e "$1" ] || set --
		echo "$# $(cat /sys/kernel/debug/kvm/pages_2m 2>/dev/null || echo 0)" ;;
	kvisor)	cat /sys/kernel/debug/kvisor/vm-*/memory 2>/dev/null |
			awk '$1 == "slots" { v++ } $1 == "mapped" && $2 == "2M" { n += $3 }
			END { print v + 0, n + 0 }' ;;
	esac
}

# huge_watch HV: the most 2 MiB nested mappings seen, sampled every 0.2 s
# until /tmp/huge.stop appears, and in how many samples a VM existed,
# into /tmp/huge.max.  Only what the rows with huge backing report beside
# their result (the test's own exit status is the result): whether the
# hypervisor mapped the huge pages huge.  Bochs' clock is slow enough that
# a whole test can fall between two samples.
huge_watch() {
	hv=$1 max=0 seen=0
	while [ ! -e /tmp/huge.stop ]; do
		# shellcheck disable=SC2046	# two numbers
		set -- $(huge_now "$hv")
		if [ "${1:-0}" -gt 0 ]; then
			seen=$((seen + 1))
			[ "${2:-0}" -gt "$max" ] && max=$2
		fi
		sleep 0.2
	done
	echo "$max $seen" > /tmp/huge.max
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

run() { # hv row
	hv=$1 t=$2
	p=${t%%,*}
	vargs=$(echo "${t#"$p"}" | tr , ' ')
	before=$(dmesg | wc -l)
	say "start $hv $t"
	echo "conformance: $hv $t"
	t0=$(now)
	tmo=$(limit "$t")
	watch=
	# shellcheck disable=SC2086	# the variant's words
	if ! prepare $vargs > /tmp/out 2>&1; then
		rc=prepare
	else
		case " $vargs " in *" anonymous_thp "* | *" anonymous_hugetlb "*)
			rm -f /tmp/huge.stop /tmp/huge.max
			huge_watch "$hv" &
			watch=$! ;;
		esac
		# In a process group of its own (busybox timeout execs the
		# test in its own process, $!): some tests fork, and what a
		# killed test leaves running would keep /dev/kvm open and the
		# module loaded.
		# shellcheck disable=SC2046,SC2086
		timeout -s KILL "$tmo" setsid "$T/$p" $(args "$t") $vargs >> /tmp/out 2>&1 < /dev/null &
		pid=$!
		# a sign of life while the test runs, for the watchdog outside
		# (rows longer than its limit)
		(while sleep 10; do say "alive $hv $t"; done) &
		alive=$!
		wait $pid
		rc=$?
		kill $alive
		kill -KILL -- -"$pid" 2>/dev/null
	fi
	secs=$(took "$t0")
	if [ -n "$watch" ]; then
		touch /tmp/huge.stop
		wait "$watch"
		read -r max seen < /tmp/huge.max
		if [ "$seen" -gt 0 ]; then
			echo "conformance: at most $max nested 2 MiB mappings at once (sampled $seen times, 0.2 s apart, while a VM existed)"
		else
			echo "conformance: no sample of the nested mappings while a VM existed"
		fi >> /tmp/out
	fi
	# shellcheck disable=SC2086
	unprepare $vargs
	case $rc in
	0)	r=pass ;;
	4 | prepare) r=skip ;;
	*)	r=fail ;;
	esac
	# killed by the watchdog above, not by the OOM killer
	[ "$rc" = 137 ] && awk -v s="$secs" -v t="$tmo" 'BEGIN { exit !(s >= t - 1) }' &&
		r=timeout
	klog_since "$before" > /tmp/klog
	if grep -qE "$BAD" /tmp/klog; then
		r=fail
		echo "kernel complained: $(grep -m1 -E "$BAD" /tmp/klog)" >> /tmp/out
	fi
	if [ "$rc" = prepare ]; then
		echo "1..0 # SKIP the host could not prepare the test: $(tail -1 /tmp/out | sed "s/^conformance: //")" >> /tmp/out
	elif [ $r != pass ]; then
		echo "exit code $rc" >> /tmp/out
	fi
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
	# shellcheck disable=SC2013	# one row a line
	for t in $(cat "$ROWS"); do
		if [ -n "$FROM" ]; then
			[ "$t" = "${FROM#*:}" ] || continue
			FROM=
		fi
		run "$hv" "$t"
	done
	FROM=
	unload_hv "$hv"
	say "hv-end $hv"
done
say "end"
