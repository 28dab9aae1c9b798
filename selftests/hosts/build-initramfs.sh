#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# build-initramfs.sh HOST OUT.cpio TESTDIR KO KVER
#
# The test host's initramfs: busybox, our /init, kvisor.ko, the in-tree
# vendor module for HOST (kvm_amd for svm, kvm_intel for vmx) with its
# dependencies in load order (tests compare against it or check that
# kvisor refuses to share the hardware with it), and the selftests listed
# in TESTDIR/list.  Uncompressed: unpacking costs more than copying under
# emulation.
set -euo pipefail
HOST=$1 OUT=$2 TESTDIR=$3 KO=$4 KVER=$5
HERE=$(cd "$(dirname "$0")" && pwd)
# KVHOST_MODDIR: the modules of another kernel than an installed one (the
# debug kernel's, for make check-debug)
MODDIR=${KVHOST_MODDIR:-/lib/modules/$KVER}
case $HOST in
svm) VENDOR=kvm-amd ;;
vmx) VENDOR=kvm-intel ;;
*) echo "unknown host $HOST" >&2; exit 2 ;;
esac

W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
R=$W/root
mkdir -p "$R"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,etc,kvisor/intree,kvisor/tests}
BB=$(command -v busybox)
file -L "$BB" | grep -q 'statically linked' || { echo "need busybox-static" >&2; exit 1; }
cp "$BB" "$R/bin/busybox"
# nobody: an unprivileged VMM, as libvirt runs QEMU (qemu_boot)
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/tmp:/bin/sh\n' \
	> "$R/etc/passwd"
printf 'root:x:0:\nkvm:x:65534:\n' > "$R/etc/group"
cp "$HERE/guest/init" "$R/init"
cp "$HERE/guest/lib.sh" "$HERE/guest/life.sh" "$HERE/guest/run-tests.sh" \
	"$HERE/guest/demo.sh" "$R/kvisor/"
cp "$HERE/guest/conformance.sh" "$HERE/guest/debug.sh" "$HERE/guest/check-qemu.sh" \
	"$R/kvisor/"
cp "$KO" "$R/kvisor/kvisor.ko"

# Modules with their dependencies, dependencies first, uncompressed into
# $R/kvisor/DIR with an "order" file: the in-tree vendor module (intree/),
# zram for swap and scratch disks (extra/), and ext4 with the crc32c it
# asks the crypto API for (fs/), a filesystem with writeback for
# mem_shared (on a zram disk; it mounts ext2 too).
copy_modules() { # DIR MODULE [optional]
	local dir=$1 rel base name
	local -A seen=()
	local order=()
	resolve() {
		local rel=$1 d deps
		[ -n "${seen[$rel]:-}" ] && return
		seen[$rel]=1
		read -ra deps < <(awk -F': *' -v m="$rel" '$1 == m { print $2 }' "$MODDIR/modules.dep") || true
		for d in "${deps[@]}"; do
			resolve "$d"
		done
		order+=("$rel")
	}
	local top
	if ! top=$(grep -o "^[^:]*/$2\.ko[^:]*" "$MODDIR/modules.dep"); then
		# built into the kernel (crc32c in the debug kernel): nothing to load
		grep -q "/$2\.ko\$" "$MODDIR/modules.builtin" 2>/dev/null && return
		echo "no module $2 in $MODDIR" >&2
		# (the debug kernel has no ext4: mem_shared says so and goes on)
		[ "${3:-}" = optional ] && return
		return 1
	fi
	resolve "$top"
	mkdir -p "$R/kvisor/$dir"
	for rel in "${order[@]}"; do
		base=$(basename "$rel")
		name=${base%%.ko*}
		case $base in
		*.xz)  xz -dc "$MODDIR/$rel" > "$R/kvisor/$dir/$name.ko" ;;
		*.zst) zstd -qdc "$MODDIR/$rel" > "$R/kvisor/$dir/$name.ko" ;;
		*)     cp "$MODDIR/$rel" "$R/kvisor/$dir/$name.ko" ;;
		esac
		echo "/kvisor/$dir/$name.ko" >> "$R/kvisor/$dir/order"
	done
}
copy_modules intree "$VENDOR"
copy_modules extra zram
copy_modules fs crc32c_generic optional	# ext4 will not mount without it
copy_modules fs ext4 optional
# qemu_network: vhost-net (with tun and macvtap's tap) and the bridge its
# tap devices join
copy_modules net vhost_net optional
copy_modules net bridge optional

cp "$TESTDIR/list" "$R/kvisor/tests/"
# make conformance's rows: programs and variants of them (guest/conformance.sh)
[ ! -f "$TESTDIR/runs" ] || cp "$TESTDIR/runs" "$R/kvisor/tests/"
while read -r t || [ -n "$t" ]; do
	[ -z "$t" ] && continue
	cp "$TESTDIR/$t" "$R/kvisor/tests/"
	# TEST.env: its environment, one VAR=value a line (guest/run-tests.sh)
	[ ! -f "$TESTDIR/$t.env" ] || cp "$TESTDIR/$t.env" "$R/kvisor/tests/"
done < "$TESTDIR/list"
if [ -n "${RUNNER:-}" ]; then
	cp "$RUNNER" "$R/kvisor/kvisor-run"
	# the runner's demo guests, beside it
	mkdir -p "$R/kvisor/guests"
	cp "$(dirname "$RUNNER")"/guests/*.bin "$(dirname "$RUNNER")"/guests/*.elf \
		"$R/kvisor/guests/" 2>/dev/null || true
fi
# make bench: $BENCH is the benchmark program, run by guest/bench.sh
if [ -n "${BENCH:-}" ]; then
	cp "$BENCH" "$R/kvisor/bench"
	cp "$HERE/guest/bench.sh" "$R/kvisor/"
fi

# make check-qemu: $CHECK_QEMU_PLAN is the plan of guest/check-qemu.sh's
# QEMU boots (check-qemu.sh writes it; QEMU_GUEST gives the payload)
[ -z "${CHECK_QEMU_PLAN:-}" ] || cp "$CHECK_QEMU_PLAN" "$R/kvisor/qemu-plan"

# A script test of guest/, run before the tests that unload kvisor (as
# NAME, the script SCRIPT, by default the one of that name).
# QEMU_GUEST_TESTS: which of them (all by default), for working on one
add_guest_test() { # NAME [SCRIPT]
	case " ${QEMU_GUEST_TESTS:-$1} " in *" $1 "*) ;; *) return 0 ;; esac
	cp "$HERE/guest/${2:-$1}" "$R/kvisor/tests/$1"
	if grep -qx module_reload "$R/kvisor/tests/list"; then
		sed -i "/^module_reload\$/i $1" "$R/kvisor/tests/list"
	else
		echo "$1" >> "$R/kvisor/tests/list"
	fi
}

# $QEMU_GUEST: build-qemu-guest.sh's directory; adds the qemu_boot test,
# and qemu10_boot (the same script) when it holds QEMU 10 too, and
# guest_vulns (the guest's vulnerabilities files, kvisor against in-tree
# KVM, with QEMU 7.2) and qemu_lifecycle (QEMU 7.2 through QMP: stop/cont,
# migrations, savevm/loadvm, reset), qemu_storage (a qcow2 disk on
# virtio-blk, written by one QEMU, read by another and by qemu-img) and
# qemu_network (two guests on virtio-net with vhost-net, tap devices on a
# bridge)
if [ -n "${QEMU_GUEST:-}" ]; then
	cp -a "$QEMU_GUEST" "$R/qemu"
	add_guest_test qemu_boot
	[ ! -d "$QEMU_GUEST/qemu10" ] || add_guest_test qemu10_boot qemu_boot
	add_guest_test guest_vulns
	add_guest_test qemu_lifecycle
	add_guest_test qemu_storage
	add_guest_test qemu_network
	# QEMU 10 with the same three scripts, only when asked for by name
	# (make check-qemu's script boot)
	if [ -d "$QEMU_GUEST/qemu10" ] && [ -n "${QEMU_GUEST_TESTS:-}" ]; then
		add_guest_test qemu10_lifecycle qemu_lifecycle
		add_guest_test qemu10_storage qemu_storage
		add_guest_test qemu10_network qemu_network
	fi
fi

# $LIBVIRT: build-libvirt.sh's tree, laid over the root (libvirtd,
# virsh and QEMU at the paths Debian gives them), for the libvirt_domain
# test, which runs the guest of $QEMU_GUEST (and says SKIP without it)
if [ -n "${QEMU_GUEST:-}" ]; then
	[ -z "${LIBVIRT:-}" ] || cp -a "$LIBVIRT"/. "$R/"
	add_guest_test libvirt_domain
	# (3 to 5 minutes of the SVM host's clock: run-tests.sh's default
	# limit is 5)
	[ ! -f "$R/kvisor/tests/libvirt_domain" ] ||
		echo 600 > "$R/kvisor/tests/libvirt_domain.timeout"
fi

# $PERF_TOOLS: build-perf-tools.sh's directory; adds the perf_kvm_stat test
if [ -n "${PERF_TOOLS:-}" ]; then
	cp -a "$PERF_TOOLS" "$R/perf"
	add_guest_test perf_kvm_stat
fi

# pack DIR: DIR as a newc cpio archive on stdout, owned by root
pack() {
	(cd "$1" && find . -print0 | LC_ALL=C sort -z |
		cpio --null -o -H newc --owner=0:0 --quiet)
}

# $KEXEC_VMLINUZ: a bzImage of the host's kernel, for the kexec_vms test
# ($KEXEC_TEST), which runs last of all, after the tests that unload
# kvisor.  It kexecs into that kernel with an initramfs of its own: /init,
# lib.sh, kexec.sh, kvisor.ko and the test, and again the bzImage with a
# last initramfs, the same without those two, for the crash kernel the
# second kernel loads.
if [ -n "${KEXEC_VMLINUZ:-}" ]; then
	K=$W/kexec
	mkdir -p "$K"/{bin,proc,sys,dev,tmp,kvisor/tests} "$R/kvisor/kexec"
	cp "$BB" "$K/bin/busybox"
	cp "$HERE/guest/init" "$K/init"
	cp "$HERE/guest/lib.sh" "$HERE/guest/kexec.sh" "$K/kvisor/"
	cp "$KO" "$K/kvisor/kvisor.ko"
	cp "$KEXEC_TEST" "$K/kvisor/tests/kexec_vms"
	pack "$K" > "$W/kexec-last.cpio"
	mkdir -p "$K/kvisor/kexec"
	cp "$KEXEC_VMLINUZ" "$K/kvisor/kexec/vmlinuz"
	mv "$W/kexec-last.cpio" "$K/kvisor/kexec/initrd.cpio"
	pack "$K" > "$R/kvisor/kexec/initrd.cpio"
	cp "$KEXEC_VMLINUZ" "$R/kvisor/kexec/vmlinuz"
	cp "$KEXEC_TEST" "$R/kvisor/tests/kexec_vms"
	# KEXEC_STAGES=crash: straight into the crash kernel (kexec_vms.c)
	[ -z "${KEXEC_STAGES:-}" ] ||
		echo "KEXEC_STAGES=$KEXEC_STAGES" > "$R/kvisor/tests/kexec_vms.env"
	echo kexec_vms >> "$R/kvisor/tests/list"
fi

pack "$R" > "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
