#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check.sh [svm] [vmx] [vmx2]: what `make check` runs.
#
# Installs what is missing, builds kvisor and its selftests, proves the
# module builds against Linux 6.12 too, then boots both emulated test hosts
# at once (each is one emulator thread, and the machine has two cores),
# runs every selftest inside each, and prints one TAP stream tagged by host,
# ending with "N passed, N failed[, N skipped]".  Exit status 0 only when
# nothing failed.  A host that panics, hangs or never powers off fails
# every test it did not report.
set -uo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
OUT=$TOP/build/check
HOSTS=${*:-svm vmx vmx2}

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

# boot the hosts, in parallel.  vmx2 is the VMX host with two CPUs (the
# SMP build of Bochs, slower), for the tests that need two host CPUs, and
# the IPI tests again: there a kick must interrupt a vCPU running on the
# other CPU.
TESTS=$TOP/selftests/build
SMP_TESTS="multi_vm vcpu_migrate apic_ipi init_sipi"
export RUNNER=$TOP/userspace/kvisor-run
case " $HOSTS " in
*" svm "*) "$HERE/build-qemu-guest.sh" "$OUT/qemu-guest" ;;
esac
testdir() { # host: where its test list is
	if [ "$1" = vmx2 ]; then echo "$OUT/vmx2/tests"; else echo "$TESTS"; fi
}
for h in $HOSTS; do
	mkdir -p "$OUT/$h"
	if [ "$h" = vmx2 ]; then
		rm -rf "$OUT/vmx2/tests"; mkdir -p "$OUT/vmx2/tests"
		for t in $SMP_TESTS; do
			cp "$TESTS/$t" "$OUT/vmx2/tests/"
			echo "$t" >> "$OUT/vmx2/tests/list"
		done
	fi
	(
		base=${h%2} cpus=1
		[ "$h" = vmx2 ] && cpus=2
		# QEMU booting Linux on kvisor: in the SVM host only, where it
		# takes seconds (in Bochs it would take many minutes)
		qemu=
		[ "$h" = svm ] && qemu=$OUT/qemu-guest
		QEMU_GUEST=$qemu \
		"$HERE/build-initramfs.sh" "$base" "$OUT/$h/initramfs.cpio" \
			"$(testdir "$h")" "$TOP/module/kvisor.ko" "$KVER" &&
		# vmx2 does not run mem_huge_1g: no 1 GiB page, no memory for it
		huge=
		[ "$h" = vmx2 ] && huge=0
		KVHOST_CPUS=$cpus KVHOST_HUGE_1G=$huge "$HERE/boot-host.sh" \
			"$base" "$OUT/$h" "$OUT/$h/initramfs.cpio" check
		echo $? > "$OUT/$h/rc"
	) > "$OUT/$h/host.log" 2>&1 &
done
wait

# results, one host after the other
for h in $HOSTS; do
	tap_host "$h" "$OUT/$h" "$(testdir "$h")/list"
done
echo "# make check took $((SECONDS - t0)) s"
tap_finish
