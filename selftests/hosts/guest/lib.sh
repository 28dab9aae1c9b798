# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=sh
# shellcheck disable=SC2034	# BAD, INTREE_*: for the scripts that source this
#
# lib.sh, in a test host /kvisor/lib.sh: what the scripts that run there
# share (/init, run-tests.sh, bench.sh, conformance.sh, demo.sh).  POSIX
# sh, for busybox.  Sourced as ". /kvisor/lib.sh", after /init set $RES,
# the results channel.

# say WHAT...: one "@@KV WHAT..." line on the results channel
say() { echo "@@KV $*" > "$RES"; }

# now: this host's clock, seconds since boot
now() { cut -d' ' -f1 /proc/uptime; }

# stamp: each line of stdin after this host's clock when it came (read,
# a builtin, not a program: a stamp costs no fork)
stamp() {
	while IFS= read -r l; do
		read -r up _ < /proc/uptime
		echo "$up $l"
	done
}

# took T0: the seconds since T0 (a value of now), to a tenth
took() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# What in the kernel log fails a test (and makes a benchmark's numbers
# suspect), whatever the test itself said.
# (RCU's stall report names its flavour: rcu_preempt in Debian's kernels)
BAD='BUG:|WARNING:|Oops|general protection fault|kernel BUG|Call Trace|UBSAN|KASAN|refcount_t|list_(add|del) corruption|stack-protector|soft lockup|hard LOCKUP|rcu_(sched|preempt) detected|RCU stall'

# klog_since N: the kernel log after its first N lines (N from dmesg | wc -l)
klog_since() { dmesg | tail -n +$(($1 + 1)); }

# kvisor_said: kvisor's last line in the kernel log, without its time
kvisor_said() { dmesg | grep 'kvisor: ' | tail -1 | sed 's/^\[[^]]*\] //'; }

# kvisor_failed: the kernel log's last line about kvisor, after its insmod
# failed
kvisor_failed() { dmesg | grep kvisor | tail -1; }

# load_intree: in-tree KVM, the vendor module and its dependencies in
# the order of /kvisor/intree/order.  Bochs refuses kvm_intel's VM entries
# once it uses the APIC-access page and TPR shadow (every test with an
# in-kernel irqchip): so kvm_intel gets KVHOST_KVM_INTEL (comma-separated,
# by default flexpriority=0,enable_apicv=0) and, without those, virtualizes
# the LAPIC by exits, as kvisor does.  Stops at the first module that does
# not load, named by INTREE_FAILED, and fails; INTREE_LOADED lists what
# it loaded, last first, the order to unload them in.
load_intree() {
	INTREE_LOADED='' INTREE_FAILED=''
	while read -r _m; do
		_a=
		case $_m in
		*kvm-intel*)
			_a=$(echo "${KVHOST_KVM_INTEL-flexpriority=0,enable_apicv=0}" | tr , ' ') ;;
		esac
		# shellcheck disable=SC2086	# module parameters, one word each
		if ! insmod "$_m" $_a; then
			INTREE_FAILED=$_m
			return 1
		fi
		INTREE_LOADED="$(basename "$_m" .ko) $INTREE_LOADED"
	done < /kvisor/intree/order
}

# unload_hv kvisor|kvm: unload that hypervisor (kvm: the modules
# load_intree loaded, INTREE_LOADED).  A VM of a killed test or QEMU may
# still be being torn down: each rmmod is retried for 30 s, then
# "@@KV unload-failed HV MODULE" and failure.
unload_hv() { # hv
	case $1 in
	kvm)	_mods=$INTREE_LOADED ;;
	kvisor)	_mods=kvisor ;;
	esac
	for _m in $_mods; do
		_n=0
		until rmmod "$_m" 2>/dev/null; do
			_n=$((_n + 1))
			[ $_n -ge 30 ] && { say "unload-failed $1 $_m"; return 1; }
			sleep 1
		done
	done
}
