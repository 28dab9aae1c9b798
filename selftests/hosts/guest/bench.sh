#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside a test host for `make bench` (KVHOST_MODE=bench): the
# benchmark, /kvisor/bench, against kvisor and against in-tree KVM turn
# about in one boot, so that both see the same emulated CPU, kernel and
# clock, and slow drifts of the machine outside fall on both alike.
#
# Both hypervisors are loaded at once: in-tree KVM as /dev/kvm, kvisor
# beside it as /dev/kvisor (devname=kvisor).  Neither holds VMX/SVM while
# it has no VM, so the one the benchmark is not using is idle; the
# benchmark picks its device through $KVM_DEV.  Each round runs every row
# once per hypervisor, kvisor first, then KVM: rounds 1..N give
# A B A B ... for each row, and each round's pair is one ratio.  Round 0
# goes first and only warms up.
#
# Reports on the results channel:
#   @@KV bench-run <hypervisor> <row> <round>	(before each run; round 0
#						warms up)
#   @@KV mark <row> start|end <iterations>	(from the benchmark itself)
#   @@KV bench <hypervisor> <row> <round> <ns per iteration> <iterations>
#   @@KV kmem <hypervisor> <row> <round> <N> <bytes each> <part>=<bytes>...
#   @@KV bench-fail <hypervisor> <row> <round> <reason>
#   @@KV bench-warn <hypervisor> <kernel log line>
#   @@KV # <hypervisor> <row>: <diagnostic line>
#   @@KV bench-end
# where <hypervisor> is kvisor or kvm.  ns per iteration are by this
# host's clock; the marks let the machine outside time the loops by its
# own (selftests/hosts/bench.sh says which clock each host's rows use).
# Kernel command line knobs:
#   KVHOST_BENCH_SECONDS	how long each loop runs by this host's clock (2)
#   KVHOST_BENCH_ROUNDS	rounds (5)
#   KVHOST_BENCH_ROWS	the rows, comma-separated (all of them)
#   KVHOST_BENCH_TOUCH_MB, _THP_MB, _KMEM_VMS, _KMEM_VCPUS: the sizes of
#				the memory rows (see selftests/bench/bench.c)
#   KVHOST_BENCH_THP_SECONDS	the thp loop's time (as the others)
B=/kvisor/bench
SECS=${KVHOST_BENCH_SECONDS:-2}
ROUNDS=${KVHOST_BENCH_ROUNDS:-5}
ROWS=$(echo "${KVHOST_BENCH_ROWS:-io,cpuid,mmio,ipi,timer,hlt,compute,touch,thp,kmem-vm,kmem-vcpu,io-2,io-4,cpuid-2,cpuid-4,ipi-4,boot}" | tr , ' ')
TMO=${KVHOST_TEST_TIMEOUT:-300}
# shellcheck source=lib.sh
. /kvisor/lib.sh
export BENCH_TOUCH_MB="${KVHOST_BENCH_TOUCH_MB:-128}"
export BENCH_THP_MB="${KVHOST_BENCH_THP_MB:-1024}"
export BENCH_KMEM_VMS="${KVHOST_BENCH_KMEM_VMS:-32}"
export BENCH_KMEM_VCPUS="${KVHOST_BENCH_KMEM_VCPUS:-32}"
export BENCH_THP_SECONDS="${KVHOST_BENCH_THP_SECONDS:-$SECS}"

# The SVM host has two vCPUs: keep the benchmark on one, so neither
# hypervisor pays for vCPU thread migrations the other happened not to get.
PIN=
taskset 1 true 2>/dev/null && PIN="taskset 1"

# The boot row: unmodified QEMU 7.2 (build-qemu-guest.sh's payload, in
# /qemu) boots qemu_boot's Linux guest as check-qemu's base configuration
# does: one iteration, from QEMU's start to the guest's "L2-HELLO" line by
# this host's clock.  QEMU opens /dev/kvm by name: for kvisor's turn, a
# mount namespace of its own has /dev/kvisor there.  In the SVM host
# in-tree kvm_amd stalls under QEMU's emulated SVM (supported.rst), so
# there only kvisor boots.
boot_row() { # hypervisor round device
	hv=$1 round=$2 dev=$3 q=/qemu
	if [ ! -x $q/qemu-system-x86_64 ]; then
		echo "# boot: no QEMU payload in this host"
		return 1
	fi
	# bench-report.pl says why (its kvm_skip)
	[ "$hv" = kvm ] && [ "$KVHOST" = svm ] && return 0
	chmod 666 "$dev"
	rm -f /tmp/boot.fifo
	mkfifo /tmp/boot.fifo
	# each line of QEMU's output after the time it came at, as check-qemu
	stamp < /tmp/boot.fifo > /tmp/boot.log &
	sp=$!
	say "mark boot start 0"
	t0=$(now)
	end=$((${t0%.*} + TMO))
	# shellcheck disable=SC2016	# $1, $2: the inner shell's
	unshare -m sh -c 'mount -o bind "$1" /dev/kvm &&
		exec su -s /bin/sh -c "exec $2/lib/ld-linux-x86-64.so.2 \
		--library-path $2/lib $2/qemu-system-x86_64 -L $2/share \
		-accel kvm -machine pc -cpu qemu64 -m 192 -smp 2 \
		-nographic -nodefaults -vga none -serial stdio -no-reboot \
		-kernel $2/vmlinuz -initrd $2/guest.cpio \
		-append \"console=ttyS0 panic=-1 loglevel=4\"" nobody' \
		- "$dev" "$q" < /dev/null > /tmp/boot.fifo 2>&1 &
	p=$!
	while [ -d /proc/$p ] && ! grep -q L2-HELLO /tmp/boot.log; do
		read -r up _ < /proc/uptime
		[ "${up%.*}" -lt "$end" ] || break
		sleep 0.2
	done
	kill -9 $p 2>/dev/null
	wait $p
	wait $sp
	t1=$(grep -m1 L2-HELLO /tmp/boot.log | cut -d' ' -f1)
	[ -n "$t1" ] || return 1
	say "mark boot lap 1"
	say "mark boot end 1"
	echo "bench boot $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", (b - a) * 1e9 }') - 1 -"
}

run() { # hypervisor row round
	hv=$1 row=$2 round=$3 dev=/dev/kvm
	[ "$hv" = kvisor ] && dev=/dev/kvisor
	before=$(dmesg | wc -l)
	echo "kvisor test host: bench $row against $hv, round $round"
	say "bench-run $hv $row $round"
	if [ "$row" = boot ]; then
		: > /tmp/boot.log
		if ! boot_row "$hv" "$round" "$dev" > /tmp/bench.out; then
			say "bench-fail $hv boot $round no L2-HELLO within $TMO s"
			tail -5 /tmp/boot.log | sed "s/^/@@KV # $hv boot: /" > "$RES"
		fi
		sed -n "s/^bench boot \([^ ]*\) - \([^ ]*\) .*/@@KV bench $hv boot $round \1 \2/p" \
			/tmp/bench.out > "$RES"
		sed -n "s/^# /@@KV # $hv boot: /p" /tmp/bench.out > "$RES"
		klog_since "$before" | grep -E "$BAD" | head -3 |
			sed "s/^/@@KV bench-warn $hv /" > "$RES"
		return
	fi
	# shellcheck disable=SC2086	# PIN: a command and its argument, or nothing
	KVM_DEV=$dev BENCH_MARKS=$RES timeout -s KILL "$TMO" $PIN $B "$SECS" \
		"$row" > /tmp/bench.out 2>&1
	rc=$?
	cat /tmp/bench.out
	# "bench <row> <ns/iter> <iter/s> <iterations> <seconds>"
	sed -n "s/^bench \([^ ]*\) \([^ ]*\) [^ ]* \([^ ]*\) .*/@@KV bench $hv \1 $round \2 \3/p" \
		/tmp/bench.out > "$RES"
	# "kmem <row> <N> <bytes each> <part>=<bytes>..."
	sed -n "s/^kmem \([^ ]*\) /@@KV kmem $hv \1 $round /p" /tmp/bench.out > "$RES"
	if [ $rc = 0 ]; then
		sed -n "s/^# /@@KV # $hv $row: /p" /tmp/bench.out > "$RES"
	else
		say "bench-fail $hv $row $round bench exit code $rc"
		tail -20 /tmp/bench.out | sed "s/^/@@KV # $hv $row: /" > "$RES"
	fi
	# A kernel complaint makes the numbers suspect, not meaningless.
	klog_since "$before" | grep -E "$BAD" | head -3 |
		sed "s/^/@@KV bench-warn $hv /" > "$RES"
}

say "bench-config rounds=$ROUNDS seconds=$SECS rows=$(echo "$ROWS" | tr ' ' ,)" \
	"touch_mb=$BENCH_TOUCH_MB thp_mb=$BENCH_THP_MB kmem_vms=$BENCH_KMEM_VMS" \
	"kmem_vcpus=$BENCH_KMEM_VCPUS thp_seconds=$BENCH_THP_SECONDS mem_kb=$(sed -n 's/^MemTotal: *\([0-9]*\).*/\1/p' /proc/meminfo)" \
	"thp=$(sed 's/.*\[\(.*\)\].*/\1/' /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null)"
# in-tree KVM first: it takes the /dev/kvm name.  KVHOST_KVISOR (the
# host's command line, KVHOST_APPEND) gives kvisor module parameters, as
# in run-tests.sh: "emulator_quirks=0,halt_poll_ns=0"
params=$(echo "${KVHOST_KVISOR:-}" | tr , ' ')
# shellcheck disable=SC2086	# $params: a list of words
if ! load_intree; then
	say "bench-fail kvm - - insmod $INTREE_FAILED: $(dmesg | tail -1)"
elif ! insmod /kvisor/kvisor.ko devname=kvisor $params; then
	say "bench-fail kvisor - - insmod: $(kvisor_failed)"
else
	say "loaded $(kvisor_said)"
	# round 0 warms up: the emulator's translations (QEMU), caches,
	# first uses in both modules; its figures are not counted
	r=0
	while [ "$r" -le "$ROUNDS" ]; do
		for row in $ROWS; do
			run kvisor "$row" "$r"
			run kvm "$row" "$r"
		done
		r=$((r + 1))
	done
	rmmod kvisor || say "bench-fail kvisor - - rmmod kvisor failed"
fi
for m in $INTREE_LOADED; do rmmod "$m"; done
say "bench-end"
