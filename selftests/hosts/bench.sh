#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# bench.sh [svm] [vmx]: what `make bench` runs.
#
# Times exits and guest memory under kvisor and under in-tree KVM, turn
# about in the same boot of each emulated test host (guest/bench.sh,
# selftests/bench/bench.c), and prints, per host and row, kvisor's cost
# over KVM's: a ratio, because absolute costs under emulation say little.
# Not a test: slow is not a failure; a host that does not boot, a
# hypervisor that does not load or a benchmark that fails is, and makes
# the exit status non-zero.
#
# Holding still: both hypervisors are loaded at once (KVM as /dev/kvm,
# kvisor as /dev/kvisor), and every row runs BENCH_ROUNDS times (5) under
# each, kvisor then KVM in each round (A B A B ...), after a warm-up
# round 0 that is not counted; each round gives one ratio.  A row's
# figure is the median of its ratios, with their min-max; its spread is
# (max - min) / median, and a row whose spread is over BENCH_MAX_SPREAD
# (0.10) is marked WIDE: too wide to compare, with another run or with a
# goal.  Rounds interleave the rows, so a burst of other load on this
# machine spoils one round of a row, which the median leaves out.  Each
# timed loop is cut in eight slices; timed from outside, a round's value
# is the median of its slices, for the same reason.
#
# Which clock (each row's is in the tables and results.json): on both
# hosts, the host's own clock, made to count instructions, so that other
# load on this machine cannot bend it (rows repeat to within 2%, but for
# the SVM host's timer row, whose expiries take 8-30 ms of its clock under
# either hypervisor and vary as much):
#  - vmx: Bochs (clock sync=none) advances its virtual time with the
#    instructions it executes, host, kvisor or KVM, and guest alike;
#  - svm: QEMU runs with -icount shift=3,sleep=off (KVHOST_ICOUNT), 8 ns
#    of virtual time per instruction; such a host has one CPU (QEMU hangs
#    it bringing up a second), which the benchmark pins itself to anyway.
# Both skip ahead while the host idles, so a wait counts as the guest
# sees it.  What an instruction count leaves out is the emulator's work
# that is not an instruction: a VM entry or exit counts as one, whatever
# state it loads or saves, and a TLB miss with its nested walk as none;
# so the thp row, whose passes make no exits, is timed by the emulator's
# process CPU time instead, summed over its threads from
# /proc/PID/task/*/schedstat as the marks the benchmark writes to the
# results port at the start and at each slice of a loop show up in the
# file the emulator writes it to.  That CPU time leaves out the time the
# emulator waits for a core, but on this 2-core build machine (a VM
# without a PMU, whose hypervisor reports no steal time) it still moves
# by 10-50% from round to round, even while the emulator has 90% of a
# core; the WIDE mark then says so.
# The CPU time and real time out here are kept as second opinions for
# every time row.  The memory rows count bytes in the host's
# /proc/meminfo and take no clock.
#
# Output: the tables here and in build/bench/results.txt; every figure,
# per round, in build/bench/results.json (bench-report.pl writes it, and
# prints README.md's table from it: bench-report.pl table); each host's
# raw results, stamps, console and logs in build/bench/<host>/.  The
# hosts boot one after the other, not at once as in check.sh: each
# emulator then has a core to itself.  Knobs (environment): BENCH_ROUNDS,
# BENCH_ROWS (comma-separated: io,cpuid,mmio,ipi,timer,hlt,compute,touch,
# thp,kmem-vm,kmem-vcpu,io-2,io-4,cpuid-2,cpuid-4,ipi-4,boot),
# BENCH_MAX_SPREAD.  About 17 minutes on an otherwise idle machine without
# the boot row: the SVM host 6, the VMX host 11.
set -uo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
OUT=$TOP/build/bench
HOSTS=${*:-svm vmx}
ROUNDS=${BENCH_ROUNDS:-5}
t0=$SECONDS
rc=0

# Per host: how long each loop runs by the host's clock (instructions:
# 0.1 s of Bochs' are 2-10 s of its CPU time), and the thp row's loop
# (a pass costs the emulator 6 times more real time per second of its
# clock than exits do); the host's memory (MiB: the thp row's 1 GiB
# working set must fit beside the rest as 2M pages, and Bochs takes at
# most 2048); the sizes of the memory rows; QEMU's -icount shift.
declare -A SECS=([svm]=0.5 [vmx]=0.1)
declare -A THP_SECS=([svm]=0.25 [vmx]=0.0125)
declare -A MEM=([svm]=3072 [vmx]=2048)
declare -A TOUCH_MB=([svm]=128 [vmx]=128)
declare -A THP_MB=([svm]=1024 [vmx]=1024)
declare -A ICOUNT=([svm]=3 [vmx]="")

# shellcheck disable=SC2086	# a list of words
known_hosts $HOSTS
mkdir -p "$OUT"
deps || die "install-deps.sh failed"

# The boot row's QEMU: build-qemu-guest.sh's payload without what the row
# does not boot (QEMU 10, OVMF, the 6.12 kernel), hard links into a
# copy, so that the host's memory goes to the memory rows.
QEMU_BENCH=
case ",${BENCH_ROWS:-boot}," in
*,boot,*)
	"$HERE/build-qemu-guest.sh" "$OUT/qemu-guest" > "$OUT/qemu-guest.log" 2>&1 || {
		tail -20 "$OUT/qemu-guest.log" >&2
		die "build-qemu-guest.sh failed, see $OUT/qemu-guest.log"
	}
	QEMU_BENCH=$OUT/qemu-bench
	rm -rf "$QEMU_BENCH"
	cp -al "$OUT/qemu-guest" "$QEMU_BENCH"
	rm -rf "$QEMU_BENCH/qemu10" "$QEMU_BENCH/ovmf" "$QEMU_BENCH/vmlinuz-6.12"
	;;
esac
echo "bench: building kvisor, the selftests and the benchmark (kernel $KVER)" >&2
{
	make -C "$TOP" -s module userspace selftests KVER="$KVER" &&
	make -C "$TOP/selftests/bench" -s
} > "$OUT/build.log" 2>&1 || {
	tail -30 "$OUT/build.log" >&2
	die "build failed, see $OUT/build.log"
}

# stamp PIDFILE: each line of stdin after the real time it came at and
# the CPU time (ns) the emulator whose pid is in PIDFILE had used by then.
# Bash builtins only, so that a stamp costs microseconds, not a fork.
stamp() {
	local l pid='' t ns cpu
	while IFS= read -r l; do
		[ -n "$pid" ] || { [ -s "$1" ] && read -r pid < "$1"; }
		cpu=0
		if [ -n "$pid" ]; then
			for t in /proc/"$pid"/task/*/schedstat; do
				read -r ns _ < "$t" && cpu=$((cpu + ns))
			done 2>/dev/null
		fi
		echo "$EPOCHREALTIME $cpu ${l%$'\r'}"
	done
}

: > "$OUT/results.txt"
for h in $HOSTS; do
	d=$OUT/$h
	mkdir -p "$d"
	rm -f "$d/results.txt" "$d/emu.pid" "$d/result.json"
	echo "bench: booting the $h test host" >&2
	ht=$SECONDS
	load0=$(cut -d' ' -f1 /proc/loadavg)
	# the results file as it grows: GNU tail follows it by inotify
	tail -n +1 -F -s 0.01 "$d/results.txt" 2>/dev/null \
		> >(stamp "$d/emu.pid" > "$d/stamps.txt") &
	tailpid=$!
	QEMU_GUEST=$QEMU_BENCH QEMU_GUEST_TESTS=none \
		BENCH=$TOP/selftests/build/bench/bench "$HERE/build-initramfs.sh" "$h" \
		"$d/initramfs.cpio" "$TOP/selftests/build" \
		"$TOP/module/kvisor.ko" "$KVER" > "$d/host.log" 2>&1 &&
		KVHOST_MEM=${KVHOST_MEM:-${MEM[$h]}} KVHOST_ICOUNT=${ICOUNT[$h]} \
		KVHOST_TIMEOUT=${KVHOST_TIMEOUT:-3600} \
		KVHOST_APPEND="${KVHOST_APPEND:-} KVHOST_BENCH_SECONDS=${SECS[$h]} KVHOST_BENCH_ROUNDS=$ROUNDS KVHOST_BENCH_ROWS=${BENCH_ROWS:-} KVHOST_BENCH_TOUCH_MB=${TOUCH_MB[$h]} KVHOST_BENCH_THP_MB=${THP_MB[$h]} KVHOST_BENCH_THP_SECONDS=${THP_SECS[$h]}" \
		"$HERE/boot-host.sh" "$h" "$d" "$d/initramfs.cpio" bench \
			>> "$d/host.log" 2>&1
	hrc=$?
	sleep 0.2	# tail's last poll, then stamp() sees the end
	kill $tailpid 2>/dev/null
	wait $tailpid 2>/dev/null
	sleep 0.2
	kv_lines "$d/results.txt" > "$d/results.clean"
	{
		echo "commit $(git -C "$TOP" describe --always --dirty 2>/dev/null || echo unknown)"
		echo "date $(date -u +%Y-%m-%dT%H:%M:%SZ)"
		echo "machine $(nproc) CPUs, $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1)"
		case $h in
		svm) echo "emulator $(qemu-system-x86_64 --version | head -1), TCG" ;;
		vmx) echo "emulator Bochs $("$CACHE/bochs-3.0/bin/bochs" --help 2>&1 | sed -n 's/.*Bochs x86 Emulator \([^ ]*\).*/\1/p' | head -1)" ;;
		esac
		echo "loadavg_before $load0"
		echo "loadavg_after $(cut -d' ' -f1 /proc/loadavg)"
		echo "host_rc $hrc"
		echo "host_log $(tail -1 "$d/host.log")"
		echo "seconds $((SECONDS - ht))"
		console_oops "$d/console.log" 3 | sed 's/^/oops /'
	} > "$d/meta.txt"
	"$HERE/bench-report.pl" host "$h" "$d" | tee -a "$OUT/results.txt"
	[ "${PIPESTATUS[0]}" = 0 ] || rc=1
done

# every host's latest result, this run's or an earlier one's
"$HERE/bench-report.pl" merge "$OUT/results.json" "$OUT"/*/result.json || rc=1
"$HERE/bench-report.pl" table "$OUT/results.json" > "$OUT/table.md" || rc=1
echo "make bench took $((SECONDS - t0)) s; every figure in $OUT/results.json, README's table in $OUT/table.md" |
	tee -a "$OUT/results.txt"
[ $rc = 0 ] || echo "bench: FAILED on at least one host, see above" >&2
exit $rc
