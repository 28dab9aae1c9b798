#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# install-deps.sh: install everything kvisor's build and its two emulated
# test hosts need on a Debian 12 machine, build the Bochs that emulates
# the VMX host into the cache, and unpack bookworm-backports' QEMU 10 (a
# second VMM for the tests) and Debian's libvirt (libvirt_domain) there.
# Cheap when all is already there.
#
# Packages are named by meta-package (linux-image-amd64, ...), never by
# kernel ABI number, so a Debian point release does not break this.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

PKGS=(
	build-essential bc flex bison libelf-dev	# kernel module builds
	dkms						# make check's DKMS round trip
	linux-image-amd64 linux-headers-amd64		# the test hosts' kernel
	linux-source-6.1 rsync				# checkpatch, api.rst, kvm selftests
	qemu-system-x86 seabios qemu-system-data	# SVM host (TCG); QEMU on kvisor
	qemu-utils					# qemu-img: qemu_storage's disk
	busybox-static cpio lz4 xz-utils file		# initramfs
	isolinux syslinux-common xorriso		# VMX test host boot ISO
	bochsbios vgabios				# Bochs firmware
	ovmf						# UEFI for QEMU's guests (check-qemu)
	linux-perf trace-cmd				# perf_kvm_stat (KVISOR_PERF=1)
)

need=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
	echo "install-deps: installing ${need[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get -o DPkg::Lock::Timeout=600 update -q >/dev/null
	apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends \
		"${need[@]}" >/dev/null
fi

# The VMX test host: a headless, optimized Bochs (about a minute each),
# and the same with SMP for the two-CPU host.
if [ ! -x "$CACHE/bochs-3.0/bin/bochs" ]; then
	echo "install-deps: building Bochs into $CACHE/bochs-3.0" >&2
	"$HERE/build-bochs.sh" "$CACHE/bochs-3.0"
fi
if [ ! -x "$CACHE/bochs-3.0-smp/bin/bochs" ]; then
	echo "install-deps: building SMP Bochs into $CACHE/bochs-3.0-smp" >&2
	"$HERE/build-bochs.sh" "$CACHE/bochs-3.0-smp" smp
fi

# bookworm-backports as an apt source, once, for what follows: added when
# no source names it (from the mirror the system's sources use), and the
# package lists fetched again.
backports_ready=0
backports() {
	local src=/etc/apt/sources.list.d/kvisor-backports.sources uri
	[ "$backports_ready" = 1 ] && return
	if ! grep -rqs bookworm-backports /etc/apt/sources.list /etc/apt/sources.list.d/; then
		uri=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/*.sources 2>/dev/null |
		      grep -m1 '/debian$') || uri=http://deb.debian.org/debian
		printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
			"$uri" > "$src"
	fi
	apt-get -o DPkg::Lock::Timeout=600 update -q >/dev/null
	backports_ready=1
}

# Linux 6.12 headers from bookworm-backports, only to prove the module still
# builds there (make check's "build" lines).  The versioned package is
# resolved from the backports meta-package, so no ABI number is written here.
if [ "${KVISOR_WITH_612:-1}" = 1 ] && [ -z "$(kheaders 6.12)" ]; then
	backports
	pkg=$(apt-cache depends -t bookworm-backports linux-headers-amd64 |
	      sed -n 's/^ *Depends: \(linux-headers-6\.12[^ ]*-amd64\)$/\1/p' | head -1)
	[ -n "$pkg" ] || { echo "install-deps: no 6.12 headers in bookworm-backports" >&2; exit 1; }
	echo "install-deps: installing $pkg" >&2
	DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q \
		--no-install-recommends "$pkg" >/dev/null
fi

# QEMU 10.0 from bookworm-backports, a second VMM for the qemu_boot tests
# (build-qemu-guest.sh): its packages are downloaded and unpacked with
# dpkg -x into $CACHE/qemu10/root, never installed, since the system's QEMU
# 7.2 is what emulates the SVM test host.  Package names only: whatever
# QEMU backports has (Debian 13's 10.0).  Its shared libraries are all
# Debian 12's (build-qemu-guest.sh checks with ldd); its SeaBIOS is not:
# it asks for seabios >> 1.16.3-1~, which only backports has, so that
# comes too.  QEMU10_PKGS lists what is there, and marks the unpacking done.
Q10=$CACHE/qemu10
if [ "${KVISOR_WITH_QEMU10:-1}" = 1 ] && [ ! -s "$Q10/QEMU10_PKGS" ]; then
	backports
	echo "install-deps: unpacking bookworm-backports' QEMU into $Q10" >&2
	rm -rf "$Q10.tmp"
	mkdir -p "$Q10.tmp/debs"
	# (as root apt would download as _apt, who may not write there)
	(cd "$Q10.tmp/debs" &&
	 apt-get -q -o APT::Sandbox::User=root download -t bookworm-backports \
		qemu-system-x86 qemu-system-data qemu-system-common seabios) >/dev/null
	for d in "$Q10.tmp"/debs/*.deb; do
		dpkg -x "$d" "$Q10.tmp/root"
		echo "$(dpkg-deb -f "$d" Package) $(dpkg-deb -f "$d" Version)" >> "$Q10.tmp/QEMU10_PKGS"
	done
	rm -rf "$Q10"
	mv "$Q10.tmp" "$Q10"
fi

# Debian 12's libvirt (libvirtd with the QEMU driver, virtlogd, virsh)
# for the libvirt_domain test (build-libvirt.sh): downloaded with the
# packages apt would add along with it and unpacked with dpkg -x into
# $CACHE/libvirt/root, never installed, since this machine is no
# hypervisor host; the test host runs them.  LIBVIRT_PKGS lists what is
# there, and marks the unpacking done.
LV=$CACHE/libvirt
if [ "${KVISOR_WITH_LIBVIRT:-1}" = 1 ] && [ ! -s "$LV/LIBVIRT_PKGS" ]; then
	echo "install-deps: unpacking Debian's libvirt into $LV" >&2
	rm -rf "$LV.tmp"
	mkdir -p "$LV.tmp/debs"
	mapfile -t lvpkgs < <(apt-get install -s --no-install-recommends \
		libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients |
		awk '/^Inst / { print $2 }')
	[ ${#lvpkgs[@]} -gt 0 ] || { echo "install-deps: apt offers no libvirt" >&2; exit 1; }
	# (as root apt would download as _apt, who may not write there)
	(cd "$LV.tmp/debs" &&
	 apt-get -q -o APT::Sandbox::User=root download "${lvpkgs[@]}") >/dev/null
	for d in "$LV.tmp"/debs/*.deb; do
		dpkg -x "$d" "$LV.tmp/root"
		echo "$(dpkg-deb -f "$d" Package) $(dpkg-deb -f "$d" Version)" >> "$LV.tmp/LIBVIRT_PKGS"
	done
	rm -rf "$LV.tmp/debs" "$LV"
	mv "$LV.tmp" "$LV"
fi

# Linux 6.12 as a second guest kernel for QEMU's guests (make check-qemu):
# the kernel image bookworm-backports' linux-image-amd64 meta-package
# depends on, downloaded and unpacked into $CACHE/linux-6.12 (only its
# vmlinuz is kept), never installed.  PACKAGE says which it is, and marks
# the unpacking done.
K612=$CACHE/linux-6.12
if [ "${KVISOR_WITH_612:-1}" = 1 ] && [ ! -s "$K612/PACKAGE" ]; then
	backports
	pkg=$(apt-cache depends -t bookworm-backports linux-image-amd64 |
	      sed -n 's/^ *Depends: \(linux-image-6\.12[^ ]*-amd64\)$/\1/p' | head -1)
	[ -n "$pkg" ] || { echo "install-deps: no 6.12 kernel in bookworm-backports" >&2; exit 1; }
	echo "install-deps: unpacking $pkg's kernel into $K612" >&2
	rm -rf "$K612.tmp"
	mkdir -p "$K612.tmp/root"
	# (as root apt would download as _apt, who may not write there)
	(cd "$K612.tmp" &&
	 apt-get -q -o APT::Sandbox::User=root download -t bookworm-backports "$pkg") >/dev/null
	dpkg -x "$K612.tmp"/*.deb "$K612.tmp/root"
	mv "$K612.tmp"/root/boot/vmlinuz-* "$K612.tmp/vmlinuz"
	echo "$(dpkg-deb -f "$K612.tmp"/*.deb Package) $(dpkg-deb -f "$K612.tmp"/*.deb Version)" \
		> "$K612.tmp/PACKAGE"
	rm -rf "$K612.tmp/root" "$K612.tmp"/*.deb
	rm -rf "$K612"
	mv "$K612.tmp" "$K612"
fi
