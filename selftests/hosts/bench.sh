#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# bench.sh [svm] [vmx]: what `make bench` runs.
#
# Times three kinds of exit under kvisor and under in-tree KVM in the same
# boot of each emulated test host (guest/bench.sh, selftests/bench/bench.c)
# and prints, per host, kvisor's time per iteration over KVM's: a ratio,
# because absolute times under emulation say little.  Not a test: slow is
# not a failure; a host that does not boot, a hypervisor that does not
# load or a benchmark that fails is, and makes the exit status non-zero.
#
# Which clock: QEMU TCG gives its guest the real time, so in the SVM host
# the benchmark's own CLOCK_MONOTONIC times the loops.  Bochs (clock
# sync=none) gives a virtual time that advances with the instructions it
# counts, and VM entries and exits, most of the cost measured here, do not
# count much: in it kvisor's CPUID round trip took 27 "instructions".  So
# for the VMX host the loops are timed from out here, by when the marks
# the benchmark writes to the results port around each loop show up in
# the file Bochs writes it to; and since the guest still bounds its loops
# by its own clock, it gets a much shorter time (VMX_GUEST_SECONDS), about
# 2-6 s of real time each.
#
# The hosts boot one after the other, not at once as in check.sh: each
# emulator then has a core to itself, with less noise in the numbers.
# The tables also go to build/bench/results.txt; each host's raw results,
# console and logs are in build/bench/<host>/.
set -uo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
OUT=$TOP/build/bench
HOSTS=${*:-svm vmx}
SVM_GUEST_SECONDS=2
VMX_GUEST_SECONDS=0.1
t0=$SECONDS
rc=0

# shellcheck disable=SC2086	# a list of words
known_hosts $HOSTS
mkdir -p "$OUT"
deps || die "install-deps.sh failed"
echo "bench: building kvisor, the selftests and the benchmark (kernel $KVER)" >&2
{
	make -C "$TOP" -s module userspace selftests KVER="$KVER" &&
	make -C "$TOP/selftests/bench" -s
} > "$OUT/build.log" 2>&1 || {
	tail -30 "$OUT/build.log" >&2
	die "build failed, see $OUT/build.log"
}

title() {
	case $1 in
	svm) echo "svm host (QEMU TCG, AMD SVM+NPT): kvisor vs in-tree kvm_amd" ;;
	vmx) echo "vmx host (Bochs, Intel VMX+EPT): kvisor vs in-tree kvm_intel" ;;
	esac
}

# stamp: each line of stdin after the real time it came at
stamp() {
	while IFS= read -r l; do
		echo "$EPOCHREALTIME ${l%$'\r'}"
	done
}

# wall STAMPS: "bench <hypervisor> <test> <ns/iter>" lines from the marks
wall() {
	awk '
	$2 != "@@KV" { next }
	$3 == "bench-run" { hv = $4 }
	$3 == "mark" && $5 == "start" { start[hv, $4] = $1 }
	$3 == "mark" && $5 == "end" && (hv, $4) in start && $6 > 0 {
		printf "bench %s %s %.0f\n", hv, $4, ($1 - start[hv, $4]) * 1e9 / $6
	}' "$1"
}

# table HOST RESULTS: the table of one host, from "bench" lines
table() {
	awk -v title="$(title "$1")" '
	$1 == "bench" { ns[$2 "," $3] = $4 }
	END {
		n = split("io cpuid mmio ipi timer", t, " ")
		split("IO exit round trip|in-kernel exit (CPUID)|MMIO exit round trip|IPI round trip (2 vCPUs)|LAPIC timer interrupt", name, "|")
		print title
		printf "  %-27s%14s%14s%13s%15s%12s\n", "test", "kvisor ns/iter",
			"KVM ns/iter", "kvisor/KVM", "kvisor iter/s", "KVM iter/s"
		for (i = 1; i <= n; i++) {
			a = ns["kvisor," t[i]]; b = ns["kvm," t[i]]
			r = (a > 0 && b > 0) ? sprintf("%.2f", a / b) : "n/a"
			# parenthesized: a bare ">" in printf is a redirection
			printf "  %-27s%14s%14s%13s%15s%12s\n", name[i],
				(a > 0) ? a : "-", (b > 0) ? b : "-", r,
				(a > 0) ? sprintf("%.0f", 1e9 / a) : "-",
				(b > 0) ? sprintf("%.0f", 1e9 / b) : "-"
		}
	}' "$2"
}

: > "$OUT/results.txt"
for h in $HOSTS; do
	d=$OUT/$h
	mkdir -p "$d"
	rm -f "$d/results.txt"
	echo "bench: booting the $h test host" >&2
	ht=$SECONDS
	# the results file as it grows; tail -F polls it, every 10 ms here
	tail -n +1 -F -s 0.01 "$d/results.txt" 2>/dev/null \
		> >(stamp > "$d/stamps.txt") &
	tailpid=$!
	if [ "$h" = svm ]; then secs=$SVM_GUEST_SECONDS; else secs=$VMX_GUEST_SECONDS; fi
	BENCH=$TOP/selftests/build/bench/bench "$HERE/build-initramfs.sh" "$h" \
		"$d/initramfs.cpio" "$TOP/selftests/build" \
		"$TOP/module/kvisor.ko" "$KVER" > "$d/host.log" 2>&1 &&
		KVHOST_APPEND="${KVHOST_APPEND:-} KVHOST_BENCH_SECONDS=$secs" \
		"$HERE/boot-host.sh" "$h" "$d" "$d/initramfs.cpio" bench \
			>> "$d/host.log" 2>&1
	hrc=$?
	sleep 0.2	# tail's last poll, then stamp() sees the end
	kill $tailpid 2>/dev/null
	wait $tailpid 2>/dev/null
	sleep 0.2
	kv_lines "$d/results.txt" > "$d/results.clean"
	# the numbers of the table: see "Which clock" above
	wall "$d/stamps.txt" > "$d/wall.txt"
	if [ "$h" = vmx ]; then
		cp "$d/wall.txt" "$d/table.in"
	else
		grep '^bench ' "$d/results.clean" > "$d/table.in"
	fi

	# what went wrong, if anything: the host, then each hypervisor
	why=()
	[ $hrc = 0 ] || why+=("host did not run to its end (rc $hrc): $(tail -1 "$d/host.log")")
	grep -q '^bench-end$' "$d/results.clean" ||
		why+=("the benchmark did not finish")
	while read -r _ hv reason; do
		why+=("$hv: $reason")
	done < <(grep '^bench-fail ' "$d/results.clean")
	for hv in kvisor kvm; do
		for t in io cpuid mmio ipi timer; do
			grep -q "^bench $hv $t [0-9]" "$d/table.in" ||
				why+=("$hv: no result for $t")
		done
	done

	{
		table "$h" "$d/table.in"
		if [ "$h" = vmx ]; then
			echo "  (real time, from outside: Bochs' own clock leaves out most of an exit's cost)"
		fi
		sed -n 's/^bench-warn \([a-z]*\) /  warning: the kernel complained under \1: /p' \
			"$d/results.clean"
		if [ ${#why[@]} -gt 0 ]; then
			echo "  FAILED: the $h host did not measure everything:"
			printf '    %s\n' "${why[@]}"
			sed -n 's/^# /    /p' "$d/results.clean" | tail -20
			console_oops "$d/console.log" 3 | sed 's/^/    console: /'
			echo "    (details: $d/)"
		fi
		echo "  $h host: $((SECONDS - ht)) s"
		echo
	} | tee -a "$OUT/results.txt"
	[ ${#why[@]} -eq 0 ] || rc=1
done

echo "make bench took $((SECONDS - t0)) s" | tee -a "$OUT/results.txt"
[ $rc = 0 ] || echo "bench: FAILED on at least one host, see above" >&2
exit $rc
