#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check-debug.sh [svm] [vmx]: what `make check-debug` runs.
#
# The whole selftest suite on a debug kernel (build-debug-kernel.sh: KASAN,
# KFENCE, kmemleak, lockdep, UBSAN, hung-task and soft-lockup detection),
# in both test hosts at once (one emulator thread each), with the fuzzers and the stress
# tests at their large counts, then a kmemleak scan after the last rmmod
# (guest/debug.sh).  Any report from those tools fails the run.  Prints
# TAP ending with "N passed, N failed[, N skipped]", as make check does.
#
# The counts, for the SVM host; the VMX host (Bochs, about ten times
# slower) runs a tenth of each, and says so:
#   DEBUG_IOCTL_CALLS  fuzz_ioctl's calls            (default 1000000)
#   DEBUG_GUEST_ITERS  fuzz_guest's iterations       (default 30000)
#   DEBUG_VMS          lifecycle_stress VM cycles    (default 10000)
#   DEBUG_RELOADS      module_reload's rmmod/insmod  (default 1000)
# FUZZ_SEED fixes the seed (default: the time), printed for a rerun.
# DEBUG_TESTS="TEST ..." runs only those, for working on a finding (the
# run then says so, and is not a check-debug run to report).
set -uo pipefail
# The whole script is one compound command, which bash reads to its end
# before it runs any of it: editing this file while a run is on (a run
# takes hours) cannot change what that run does.
{
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
OUT=$TOP/build/check-debug
HOSTS=${*:-svm vmx}
# shellcheck disable=SC2086	# one word a host
known_hosts $HOSTS
SEED=${FUZZ_SEED:-$(date +%s)}

t0=$SECONDS
echo "TAP version 13"
deps || { tap fail "setup: install-deps.sh"; tap_finish; }
mkdir -p "$OUT"
if ! D=$("$HERE/build-debug-kernel.sh"); then
	tap fail "build: the debug kernel" "see $CACHE/debug-kernel-*/build.log"
	tap_finish
fi
DKVER=$(cat "$D/kver")
echo "# debug kernel $DKVER in $D (ready at $((SECONDS - t0)) s)"
echo "# fuzz seed: FUZZ_SEED=$SEED"

# kvisor.ko for the debug kernel, from a copy of the sources, so that the
# tree's own objects (for Debian's kernel) stay as they are
rm -rf "$OUT/src"; mkdir -p "$OUT/src"
(cd "$TOP" && find Kbuild module uapi -name Kbuild -o -name '*.[chS]' |
	grep -v '\.mod\.c$' | cpio -pdm --quiet "$OUT/src")
if KVISOR_WERROR=1 make -C "$D/build" M="$OUT/src" -j"${JOBS:-2}" modules \
	> "$OUT/build.log" 2>&1; then
	tap ok "build: kvisor.ko for $DKVER"
else
	tap fail "build: kvisor.ko for $DKVER"
	grep -E 'error|warning' "$OUT/build.log" | head -20 | sed 's/^/# /'
	tap_finish
fi
if ! make -C "$TOP" -s userspace selftests > "$OUT/build-user.log" 2>&1; then
	tap fail "build: userspace and selftests"
	tail -30 "$OUT/build-user.log" | sed 's/^/# /'
	tap_finish
fi

# Both hosts boot the debug kernel's bzImage: through PVH (QEMU's -kernel
# with the ELF vmlinux, as make check boots Debian's) it triple-faults
# before its first message.  no5lvl: booted that way, the kernel would use
# the 5-level paging QEMU's CPU offers; the debug run keeps the 4-level
# host the svm host of make check has (make check's svm57 host is the
# 5-level one).
# Each host's tests, with the counts in TEST.env files beside them.
tests_for() { # HOST DIVISOR
	local dir=$OUT/$1/tests div=$2
	rm -rf "$dir"; mkdir -p "$dir"
	if [ -n "${DEBUG_TESTS:-}" ]; then
		echo "# $1: DEBUG_TESTS, only: $DEBUG_TESTS"
		# shellcheck disable=SC2086	# one word a test
		printf '%s\n' $DEBUG_TESTS > "$dir/list"
	else
		cp "$TOP/selftests/build/list" "$dir/"
	fi
	while read -r t; do cp "$TOP/selftests/build/$t" "$dir/"; done < "$dir/list"
	echo "FUZZ_SEED=$SEED FUZZ_COUNT=$((${DEBUG_IOCTL_CALLS:-1000000} / div))" > "$dir/fuzz_ioctl.env"
	echo "FUZZ_SEED=$SEED FUZZ_COUNT=$((${DEBUG_GUEST_ITERS:-30000} / div))" > "$dir/fuzz_guest.env"
	local vms=$((${DEBUG_VMS:-10000} / div))
	echo "FUZZ_SEED=$SEED STRESS_VMS=$vms STRESS_KILLS=$((vms / 50)) STRESS_SLOTS=$((vms / 2)) STRESS_PASSES=$((vms / 50))" \
		> "$dir/lifecycle_stress.env"
	echo "STRESS_RELOADS=$((${DEBUG_RELOADS:-1000} / div))" > "$dir/module_reload.env"
	echo "# $1: $(cat "$dir"/*.env | tr '\n' ' ' | tr -s ' ')"
}

# the whole suite, as make check has it: kvisor-run for runner_guests, and
# in the SVM host QEMU booting Linux (qemu_boot, guest_vulns and
# qemu_lifecycle; QEMU 7.2 only, not make check's qemu10_boot too, to keep
# the debug run's time)
export RUNNER=$TOP/userspace/kvisor-run
# and Debian's libvirt (libvirt_domain), where install-deps.sh unpacked it
libvirt=
case " $HOSTS " in
*" svm "*) QEMU10_ROOT='' "$HERE/build-qemu-guest.sh" "$OUT/qemu-guest"
	   [ ! -s "$CACHE/libvirt/LIBVIRT_PKGS" ] ||
		{ "$HERE/build-libvirt.sh" "$OUT/libvirt" && libvirt=$OUT/libvirt; } ;;
esac
for h in $HOSTS; do
	div=1
	[ "$h" = vmx ] && div=10
	tests_for "$h" $div
	qemu='' append='' lv=''
	[ "$h" = svm ] && qemu=$OUT/qemu-guest lv=$libvirt
	# Bochs offers APERF/MPERF in CPUID but not the MSRs: the debug
	# kernel (HZ=1000) would read them every tick, and Bochs log each #GP
	[ "$h" = vmx ] && append=clearcpuid=aperfmperf
	(
		QEMU_GUEST=$qemu LIBVIRT=$lv KVHOST_MODDIR=$D/root/lib/modules/$DKVER \
		"$HERE/build-initramfs.sh" "$h" "$OUT/$h/initramfs.cpio" \
			"$OUT/$h/tests" "$OUT/src/module/kvisor.ko" "$DKVER" &&
		KVHOST_KERNEL=$D/bzImage KVHOST_VMLINUX=$D/bzImage \
		KVHOST_APPEND="$append no5lvl log_buf_len=16M kasan_multi_shot KVHOST_TEST_TIMEOUT=${DEBUG_TEST_TIMEOUT:-5400}" \
		KVHOST_STALL=$((${DEBUG_TEST_TIMEOUT:-5400} + 300)) \
		KVHOST_TIMEOUT=${DEBUG_HOST_TIMEOUT:-21600} \
		"$HERE/boot-host.sh" "$h" "$OUT/$h" "$OUT/$h/initramfs.cpio" debug
		echo $? > "$OUT/$h/rc"
	) > "$OUT/$h/host.log" 2>&1 &
done
wait
for h in $HOSTS; do
	tap_host "$h" "$OUT/$h" "$OUT/$h/tests/list"
done
echo "# make check-debug took $((SECONDS - t0)) s"
tap_finish
exit
}
