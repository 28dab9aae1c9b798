#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# boot-host.sh HOST OUTDIR INITRD [MODE]
#
# Boot one emulated test host with INITRD and wait for it to power off.
#   svm: QEMU in software emulation (TCG), CPU "max" = AMD with SVM + NPT,
#        booting the uncompressed vmlinux through its PVH entry point.
#   vmx: Bochs, CPU corei7_skylake_x = Intel with VMX + EPT + VPID, booting
#        an isolinux ISO.
# In OUTDIR: console.log (the guest's console), results.txt (its "@@KV"
# results channel), emu.pid (the emulator's process, whose CPU time
# bench.sh reads), and for Bochs bochs.log.
# A watchdog kills the emulator when the results channel is silent for
# KVHOST_STALL seconds (default 420, more than the guest's per-test limit)
# or the whole run exceeds KVHOST_TIMEOUT (default 1800).
# KVHOST_MEM sets the host's memory in MiB (default 2048 for svm, 1536 for
# vmx: mem_unprivileged gives a guest 1 GiB, unpinned but all touched).
# In modes check and debug (KVHOST_HUGE_1G=1 or 0 says otherwise) the host
# also reserves one 1 GiB hugetlbfs page at boot, for mem_huge_1g (later
# no free GiB is left in one piece).  That needs a whole, free, 1G-aligned
# GiB at boot, so the default memory grows: svm gets 3072 MiB (QEMU puts
# the initrd near the top of memory, [1G, 2G) stays free).  vmx gets
# 5376 MiB: isolinux loads the initrd just below 2 GiB, Bochs' BIOS ends
# the memory below 4 GiB at 3 GiB with its ACPI tables in the last 64K,
# and the kernel puts its page array at the top of memory, so the page can
# only be [4G, 5G), with 256 MiB above it for that array.  Bochs takes
# about 7% more CPU time with memory above 4 GiB (Documentation/testing.rst).
# KVHOST_ICOUNT=N (svm) runs QEMU with -icount shift=N,sleep=off: the
# host's clock then counts the instructions QEMU executes, 2^N ns each,
# and skips ahead when the host idles, so other load on this machine
# cannot bend it (make bench).  Such a host has one CPU: QEMU 7.2 hangs
# it when it brings up a second.
# KVHOST_MONITOR=PATH (svm) puts QEMU's monitor on a Unix socket there, to
# look at a hung host from outside: "info registers -a" shows each CPU's
# state, a guest's where it is in one, and "info lapic N" CPU N's pending
# and in-service interrupts (Documentation/testing.rst).
# KVHOST_QEMU=DIR (svm) emulates the host with another QEMU than the
# build machine's 7.2: DIR is a root that dpkg -x unpacked QEMU's packages
# into (usr/bin/qemu-system-x86_64, usr/share/qemu), e.g. the QEMU 10 of
# bookworm-backports that install-deps.sh unpacks into the cache
# ($CACHE/qemu10/root).  To tell QEMU 7.2's own faults from kvisor's
# (Documentation/testing.rst).
# KVHOST_KERNEL (a bzImage, for Bochs) and KVHOST_VMLINUX (what QEMU boots:
# an ELF vmlinux through its PVH entry, or a bzImage) boot another kernel
# than Debian's $KVER: the debug kernel of make check-debug.
# Exit: 0 when the guest reached "@@KV poweroff", 124 on a watchdog kill,
# 1 otherwise (panic, emulator error).
set -uo pipefail
HOST=$1 OUT=$(realpath -m "$2") INITRD=$(realpath "$3") MODE=${4:-check}
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
STALL=${KVHOST_STALL:-420}
TIMEOUT=${KVHOST_TIMEOUT:-1800}
mkdir -p "$OUT"
rm -f "$OUT/console.log" "$OUT/results.txt" "$OUT/bochs.log" "$OUT/emu.pid"
: > "$OUT/results.txt"
HUGE_1G= MEM_SVM=2048 MEM_VMX=1536
case ${KVHOST_HUGE_1G:-$MODE} in
1|check|debug)
	HUGE_1G="hugepagesz=1G hugepages=1" MEM_SVM=3072 MEM_VMX=5376 ;;
esac
CMDLINE="console=ttyS0 panic=-1 loglevel=4 nokaslr tsc=reliable $HUGE_1G KVHOST=$HOST KVHOST_MODE=$MODE ${KVHOST_APPEND:-}"

start_svm() {
	local vmlinux=${KVHOST_VMLINUX:-$CACHE/vmlinux-$KVER} icount=() cpus=2
	local monitor=none qemu=qemu-system-x86_64 firmware=()
	if [ -n "${KVHOST_QEMU:-}" ]; then
		qemu=$KVHOST_QEMU/usr/bin/qemu-system-x86_64
		firmware=(-L "$KVHOST_QEMU/usr/share/qemu" -L /usr/share/qemu)
	fi
	[ -n "${KVHOST_MONITOR:-}" ] && monitor=unix:$KVHOST_MONITOR,server,nowait
	if [ -n "${KVHOST_ICOUNT:-}" ]; then
		icount=(-icount "shift=$KVHOST_ICOUNT,sleep=off")
		cpus=1
	fi
	if [ ! -s "$vmlinux" ] && [ -z "${KVHOST_VMLINUX:-}" ]; then
		mkdir -p "$CACHE"
		"$HERE/extract-vmlinux.sh" "/boot/vmlinuz-$KVER" "$vmlinux" || return 1
	fi
	# Two vCPUs, so vCPU threads migrate and two run at once; one TCG
	# thread for both (multi-threaded TCG hung guests when measured).
	"$qemu" "${firmware[@]}" -accel tcg,thread=single "${icount[@]}" \
		-machine pc -cpu max -smp "$cpus" -m "${KVHOST_MEM:-$MEM_SVM}" \
		-nographic -no-reboot -nodefaults \
		-kernel "$vmlinux" -initrd "$INITRD" -append "$CMDLINE" \
		-serial "file:$OUT/console.log" -serial "file:$OUT/results.txt" \
		-monitor "$monitor" \
		</dev/null > "$OUT/qemu.log" 2>&1 &
	EMU=$!
}

start_vmx() {
	local kernel=${KVHOST_KERNEL:-/boot/vmlinuz-$KVER}
	"$HERE/vmx/build-iso.sh" "$OUT/boot.iso" "$kernel" "$INITRD" \
		"$CMDLINE quiet" || return 1
	export BX_MEGS=${KVHOST_MEM:-$MEM_VMX} BX_ISO=$OUT/boot.iso BX_LOG=$OUT/bochs.log
	# what Bochs allocates: at most 2048 MiB, the rest in a file (bochsrc)
	export BX_HOST_MEGS=$((BX_MEGS < 2048 ? BX_MEGS : 2048))
	export BX_CONSOLE=$OUT/console.log BX_RESULTS=$OUT/results.txt
	export BX_BIOS_DIR=/usr/share/bochs BX_VGABIOS=/usr/share/vgabios/vgabios.bin
	# KVHOST_CPUS=2: the SMP build of Bochs (several times slower), for
	# the tests that need two host CPUs
	export BX_CPUS=${KVHOST_CPUS:-1}
	local bochs=$CACHE/bochs-3.0/bin/bochs
	[ "$BX_CPUS" -gt 1 ] && bochs=$CACHE/bochs-3.0-smp/bin/bochs
	"$bochs" -q -f "$HERE/vmx/bochsrc" </dev/null > "$OUT/bochs.out" 2>&1 &
	EMU=$!
}

EMU=
case $HOST in
svm) start_svm ;;
vmx) start_vmx ;;
*) echo "boot-host: unknown host $HOST (svm or vmx)" >&2; false ;;
esac || exit 1
echo "$EMU" > "$OUT/emu.pid"
t0=$SECONDS last=$SECONDS size=0 rc=1
while kill -0 "$EMU" 2>/dev/null; do
	sleep 1
	n=$(stat -c %s "$OUT/results.txt" 2>/dev/null || echo 0)
	[ "$n" != "$size" ] && { size=$n; last=$SECONDS; }
	if powered_off "$OUT/results.txt"; then
		# give the emulator a moment to exit by itself
		for _ in $(seq 20); do kill -0 "$EMU" 2>/dev/null || break; sleep 0.5; done
		rc=0
		break
	fi
	if [ $((SECONDS - last)) -ge "$STALL" ] || [ $((SECONDS - t0)) -ge "$TIMEOUT" ]; then
		echo "boot-host: $HOST watchdog: no progress for $((SECONDS - last)) s, killing" >&2
		# Bochs dumps the CPU state into its log on SIGINT
		kill -INT "$EMU" 2>/dev/null; sleep 2
		rc=124
		break
	fi
done
kill "$EMU" 2>/dev/null
wait "$EMU" 2>/dev/null
# a run that ended without powering off is not a pass, whatever it printed
if [ $rc = 1 ] && powered_off "$OUT/results.txt"; then rc=0; fi
echo "boot-host: $HOST finished in $((SECONDS - t0)) s (rc $rc)" >&2
exit $rc
