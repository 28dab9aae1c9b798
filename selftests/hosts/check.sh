#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check.sh [svm] [svm57] [vmx] [vmx2]: what `make check` runs.
#
# Installs what is missing, builds kvisor and its selftests, proves the
# module builds against Linux 6.12 too, then boots the emulated test hosts
# in two lanes (each emulator is one thread, and the machine has two
# cores): the VMX host in one, the SVM host, its 5-level twin and the
# 2-CPU VMX host one after the other in the other.  It runs every selftest
# inside each, and prints one TAP stream tagged by host,
# ending with "N passed, N failed[, N skipped]".  Exit status 0 only when
# nothing failed.  A host that panics, hangs or never powers off fails
# every test it did not report.
set -uo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
OUT=$TOP/build/check
HOSTS=${*:-svm svm57 vmx vmx2}

t0=$SECONDS
echo "TAP version 13"
deps || { tap fail "setup: install-deps.sh"; tap_finish; }
echo "# setup took $((SECONDS - t0)) s; test host kernel $KVER"
mkdir -p "$OUT"

# builds
if make -C "$TOP" -s module KVER="$KVER" > "$OUT/build.log" 2>&1; then
	tap ok "build: kvisor.ko for Linux $KVER"
else
	tap fail "build: kvisor.ko for Linux $KVER"
	sed 's/^/# /' "$OUT/build.log" | tail -30
	tap_finish
fi
k612=$(kheaders 6.12)
if [ -n "$k612" ]; then
	# sources only, copied, so the 6.1 objects in the tree stay as they are
	rm -rf "$OUT/src-6.12"; mkdir -p "$OUT/src-6.12"
	(cd "$TOP" && find Kbuild module uapi -name Kbuild -o -name '*.[chS]' |
		grep -v '\.mod\.c$' | cpio -pdm --quiet "$OUT/src-6.12")
	if make -C "$k612" M="$OUT/src-6.12" -j2 modules > "$OUT/build-6.12.log" 2>&1; then
		tap ok "build: kvisor.ko for Linux ${k612##*/linux-headers-}"
	else
		tap fail "build: kvisor.ko for Linux ${k612##*/linux-headers-}"
		grep -E 'error|warning' "$OUT/build-6.12.log" | head -20 | sed 's/^/# /'
	fi
else
	tap skip "build: kvisor.ko for Linux 6.12" "no 6.12 headers installed"
fi
# dkms add/build/install/remove for 6.1 and 6.12, in a copy (dkms-check.sh)
while IFS=$'\t' read -r st name why; do tap "$st" "$name" "$why"; done \
	< <("$HERE/dkms-check.sh" --tsv "$KVER" 6.12 2> "$OUT/dkms-check.log")
if ! make -C "$TOP" -s userspace selftests > "$OUT/build-user.log" 2>&1; then
	tap fail "build: userspace and selftests"
	sed 's/^/# /' "$OUT/build-user.log" | tail -30
	tap_finish
fi
if [ -f "$TOP/module/emulate/test/Makefile" ]; then
	if make -C "$TOP/module/emulate/test" -s run > "$OUT/emulate.log" 2>&1; then
		tap ok "build: $(tail -1 "$OUT/emulate.log")"
	else
		tap fail "build: instruction emulator unit test"
		grep -E '^# FAIL|passed' "$OUT/emulate.log" | head -20 | sed 's/^/# /'
	fi
fi
echo "# builds done at $((SECONDS - t0)) s"

# the hosts.  vmx2 is the VMX host with two CPUs (the
# SMP build of Bochs, slower), for the tests that need two host CPUs, and
# the IPI tests again: there a kick must interrupt a vCPU running on the
# other CPU.  svm57 is the SVM host booted from the bzImage, which turns on
# the 5-level paging QEMU's CPU offers (the PVH entry of the svm host does
# not), so nested paging walks 5 levels: the memory tests again, and a
# few guests in every mode.
TESTS=$TOP/selftests/build
SMP_TESTS="multi_vm vcpu_migrate apic_ipi init_sipi sync_regs_race"
LA57_TESTS="guest_modes exit_mmio mem_coherence mem_huge mem_split memslot_edges dirty_log"
export RUNNER=$TOP/userspace/kvisor-run
# QEMU 7.2, and QEMU 10 when install-deps.sh has unpacked it (not with
# KVISOR_WITH_QEMU10=0: then qemu10_boot says SKIP)
case " $HOSTS " in
*" svm "*|*" vmx "*) "$HERE/build-qemu-guest.sh" "$OUT/qemu-guest" ;;
esac
# Debian's libvirt in the SVM host (libvirt_domain), when install-deps.sh
# has unpacked it (not with KVISOR_WITH_LIBVIRT=0: then the test says SKIP)
libvirt=
case " $HOSTS " in
*" svm "*) [ ! -s "$CACHE/libvirt/LIBVIRT_PKGS" ] ||
	   { "$HERE/build-libvirt.sh" "$OUT/libvirt" && libvirt=$OUT/libvirt; } ;;
esac
# KVISOR_PERF=1: Debian's perf and trace-cmd in the SVM host as well, for
# the perf_kvm_stat test; about 35 MiB more initramfs, so not by default
perf_tools=
if [ "${KVISOR_PERF:-0}" = 1 ]; then
	case " $HOSTS " in
	*" svm "*) "$HERE/build-perf-tools.sh" "$OUT/perf-tools" "$TESTS/perf_guest" &&
		   perf_tools=$OUT/perf-tools ;;
	esac
fi
testdir() { # host: where its test list is
	case $1 in
	vmx2|svm57) echo "$OUT/$1/tests" ;;
	*) echo "$TESTS" ;;
	esac
}
# hostlist host: the tests the host was given, as its initramfs lists
# them (with the script tests build-initramfs.sh adds, qemu_boot and
# qemu10_boot among them, so a host that dies in one fails it by name),
# else its test list
hostlist() {
	local l=$OUT/$1/tests.list
	if ! cpio -i --quiet --to-stdout kvisor/tests/list \
		< "$OUT/$1/initramfs.cpio" > "$l" 2>/dev/null || [ ! -s "$l" ]; then
		cp "$(testdir "$1")/list" "$l"
	fi
	echo "$l"
}
# One host: its test list, its initramfs, its boot.
run_host() { # host
	local h=$1 subset base cpus vmlinux qemu qtests huge perf lv kx kxs append

	case $h in
	vmx2) subset=$SMP_TESTS ;;
	svm57) subset=$LA57_TESTS ;;
	*) subset= ;;
	esac
	if [ -n "$subset" ]; then
		rm -rf "$OUT/$h/tests"; mkdir -p "$OUT/$h/tests"
		for t in $subset; do
			cp "$TESTS/$t" "$OUT/$h/tests/"
			echo "$t" >> "$OUT/$h/tests/list"
		done
	fi
	base=${h%2} cpus=1 vmlinux=
	base=${base%57}
	[ "$h" = vmx2 ] && cpus=2
	[ "$h" = svm57 ] && vmlinux=/boot/vmlinuz-$KVER
	# QEMU booting Linux on kvisor, Debian 12's 7.2 (qemu_boot) and
	# bookworm-backports' 10.0 (qemu10_boot), in the SVM host (seconds)
	# and in the 1-CPU VMX host (under a minute of Bochs each; two vCPUs
	# on one host CPU need PAUSE-loop exiting there: testing.rst)
	# The SVM host's QEMU scripts, but for qemu_storage, which svm57
	# runs instead: that host, in the VMX host's lane, has time to spare,
	# and the SVM host's lane (svm, then vmx2) is make check's longest.
	qemu='' qtests=''
	case $h in
	vmx) qemu=$OUT/qemu-guest ;;
	svm) qemu=$OUT/qemu-guest
	     qtests="qemu_boot qemu10_boot guest_vulns qemu_lifecycle qemu_network libvirt_domain" ;;
	svm57) qemu=$OUT/qemu-guest qtests=qemu_storage ;;
	esac
	# vmx2 and svm57 do not run mem_huge_1g: no 1 GiB page for them
	huge=
	case $h in vmx2|svm57) huge=0 ;; esac
	perf='' lv=''
	[ "$h" = svm ] && perf=$perf_tools lv=$libvirt
	# kexec_vms, last: in the SVM host (two CPUs) a kexec and then a
	# crash; in the VMX hosts, where a kernel boot takes a minute or two,
	# one each: the 1-CPU host kexecs, the 2-CPU host crashes, into memory
	# its command line reserves
	kx=/boot/vmlinuz-$KVER kxs='' append=${KVHOST_APPEND:-}
	case $h in
	svm57) kx='' ;;
	vmx) kxs=kexec ;;
	vmx2) kxs=crash append="$append crashkernel=192M" ;;
	esac
	rm -f "$OUT/$h/initramfs.cpio"	# hostlist reads the one of this run
	PERF_TOOLS=$perf LIBVIRT=$lv QEMU_GUEST=$qemu QEMU_GUEST_TESTS=$qtests \
	KEXEC_VMLINUZ=$kx \
	KEXEC_TEST=$TESTS/kexec_vms KEXEC_STAGES=$kxs \
	"$HERE/build-initramfs.sh" "$base" "$OUT/$h/initramfs.cpio" \
		"$(testdir "$h")" "$TOP/module/kvisor.ko" "$KVER" &&
	KVHOST_CPUS=$cpus KVHOST_HUGE_1G=$huge KVHOST_APPEND=$append \
	KVHOST_VMLINUX=${vmlinux:-${KVHOST_VMLINUX:-}} \
	"$HERE/boot-host.sh" "$base" "$OUT/$h" \
		"$OUT/$h/initramfs.cpio" check
	echo $? > "$OUT/$h/rc"
}

# Two lanes, one emulator each (the machine has two cores): the VMX host,
# svm57 and the VMX host, the slowest; the SVM host, then vmx2.
lane() { # hosts
	local h

	for h; do
		mkdir -p "$OUT/$h"
		run_host "$h" > "$OUT/$h/host.log" 2>&1
	done
}
lane_a='' lane_b=''
for h in $HOSTS; do
	case $h in
	vmx|svm57) lane_b="$lane_b $h" ;;
	*) lane_a="$lane_a $h" ;;
	esac
done
# shellcheck disable=SC2086	# lists of words
{ lane $lane_a & lane $lane_b & wait; }

# kexec_console HOST: what the kernels kexec_vms replaced logged from its
# "leaving kernel" line on (kexec_vms.c raised their console's log level
# there) to the next kernel's /init: one TAP line, failed by any report
# of a bug (the crash's own panic and stack dump are expected).
KEXEC_BAD='BUG:|WARNING: CPU|Oops|general protection fault|UBSAN|KASAN|refcount_t|list_(add|del) corruption|soft lockup|hard LOCKUP|RCU stall|rcu_(sched|preempt) detected|failed to boot'
kexec_console() {
	local h=$1 c=$OUT/$1/console.log bad name

	grep -aq 'kexec_vms: leaving kernel' "$c" 2>/dev/null || return 0
	bad=$(tr -d '\r' < "$c" |
		awk '/kexec_vms: leaving kernel/ { on = 1 } /: kexec stage [0-9]/ { on = 0 } on' |
		grep -E "$KEXEC_BAD" | head -1)
	name="$h: kexec_vms: no complaint from the kernels it replaced"
	if [ -n "$bad" ]; then tap fail "$name" "$bad"; else tap ok "$name"; fi
}

# results, one host after the other
for h in $HOSTS; do
	tap_host "$h" "$OUT/$h" "$(hostlist "$h")"
	kexec_console "$h"
	case $h in
	svm|vmx) [ -d "$OUT/qemu-guest/qemu10" ] || tap skip "$h: qemu10_boot" \
		"no QEMU 10 in $CACHE/qemu10 (install-deps.sh unpacks it unless KVISOR_WITH_QEMU10=0)" ;;
	esac
	# svm57 proves nothing unless its kernel really paged with 5 levels
	if [ "$h" = svm57 ]; then
		if grep -q '5-level npt' "$OUT/$h/results.clean" 2>/dev/null; then
			tap ok "svm57: kvisor loaded with 5-level nested paging"
		else
			tap fail "svm57: kvisor loaded with 5-level nested paging" \
				"the load line does not say so: $(kv_get loaded "$OUT/$h/results.clean")"
		fi
	fi
done
echo "# make check took $((SECONDS - t0)) s"
tap_finish
