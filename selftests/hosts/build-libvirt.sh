#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# build-libvirt.sh DIR: what the libvirt_domain test needs inside the SVM
# test host, as a tree that build-initramfs.sh lays over the host's root
# ($LIBVIRT=DIR): Debian 12's libvirtd with its QEMU driver, virtlogd and
# virsh (install-deps.sh unpacked them into $CACHE/libvirt/root), the
# system's QEMU 7.2 where libvirt looks for it (/usr/bin), with the TCG
# accelerator module libvirt's capability probe loads, and every shared
# library of them all in /usr/lib/x86_64-linux-gnu, with the dynamic
# loader at the path the binaries ask for.  The guest's kernel and
# initramfs are qemu_boot's (the /qemu payload); the test writes its own
# configuration (guest/libvirt_domain).
set -euo pipefail
DIR=$1
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
LV=$CACHE/libvirt/root
[ -s "$CACHE/libvirt/LIBVIRT_PKGS" ] ||
	{ echo "build-libvirt: no libvirt in $CACHE/libvirt: run install-deps.sh" >&2; exit 1; }
LIB=usr/lib/x86_64-linux-gnu

rm -rf "$DIR"
mkdir -p "$DIR"/{usr/bin,usr/sbin,usr/lib/libvirt,$LIB/qemu,usr/share/libvirt,usr/share/qemu}
# the daemons, the client, the helpers libvirtd runs (libvirt_iohelper
# writes and reads virsh save's files, dmidecode tells the host's SMBIOS
# tables), the driver modules it loads
cp "$LV"/usr/sbin/{libvirtd,virtlogd,dmidecode} "$DIR/usr/sbin/"
cp "$LV/usr/bin/virsh" "$DIR/usr/bin/"
cp -a "$LV"/usr/lib/libvirt/libvirt_{iohelper,parthelper} "$DIR/usr/lib/libvirt/"
cp -a "$LV/$LIB/libvirt" "$DIR/$LIB/"
# the CPU models libvirt describes the host's CPU with
cp -a "$LV/usr/share/libvirt/cpu_map" "$DIR/usr/share/libvirt/"
# QEMU 7.2, the one qemu_boot runs, with the firmware a -kernel boot of
# the pc machine needs, and the accelerator module: Debian builds TCG as
# a module, and libvirt probes the binary with -machine none,accel=kvm:tcg
# and then with TCG alone
cp "$(command -v qemu-system-x86_64)" "$(command -v qemu-img)" "$DIR/usr/bin/"
cp /usr/lib/x86_64-linux-gnu/qemu/accel-tcg-x86_64.so "$DIR/$LIB/qemu/"
for f in /usr/share/seabios/bios-256k.bin /usr/share/qemu/linuxboot_dma.bin \
	 /usr/share/qemu/kvmvapic.bin; do
	cp -L "$f" "$DIR/usr/share/qemu/"
done

# Every ELF file's libraries, the unpacked ones first, then the system's
lp=$LV/$LIB:$LV/lib/x86_64-linux-gnu
mapfile -t elves < <(find "$DIR" -type f \( -perm -u+x -o -name '*.so*' \) \
	-exec sh -c 'head -c 4 "$1" | grep -q ELF' _ {} \; -print)
for f in "${elves[@]}"; do
	if LD_LIBRARY_PATH=$lp ldd "$f" | grep 'not found'; then
		echo "build-libvirt: $f needs libraries neither libvirt nor this system has" >&2
		exit 1
	fi
	LD_LIBRARY_PATH=$lp ldd "$f" | awk '/=>/ { print $3 }'
done | sort -u | while read -r l; do
	cp -L "$l" "$DIR/$LIB/"
done
# the dynamic loader where the binaries' PT_INTERP says; /lib is /usr/lib
# on Debian 12 (the host's root has neither)
mkdir -p "$DIR/lib64"
cp -L /lib64/ld-linux-x86-64.so.2 "$DIR/lib64/"
ln -s usr/lib "$DIR/lib"
echo "build-libvirt: $(du -sm "$DIR" | cut -f1) MiB in $DIR ($(tr '\n' ' ' < "$CACHE/libvirt/LIBVIRT_PKGS"| cut -d' ' -f1-20))" >&2
