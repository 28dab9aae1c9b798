#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# build-iso.sh OUT.iso KERNEL INITRD "COMMAND LINE"
#
# Bochs has no direct kernel boot: wrap kernel, initramfs and command line
# in an El Torito ISO whose isolinux boots them at once.
set -euo pipefail
OUT=$1 KERNEL=$2 INITRD=$3 CMDLINE=$4
D=$(mktemp -d); trap 'rm -rf "$D"' EXIT
mkdir -p "$D/isolinux"
cp /usr/lib/ISOLINUX/isolinux.bin /usr/lib/syslinux/modules/bios/ldlinux.c32 "$D/isolinux/"
cp "$KERNEL" "$D/vmlinuz"
cp "$INITRD" "$D/initrd.img"
printf 'DEFAULT linux\nPROMPT 0\nTIMEOUT 0\nLABEL linux\n  KERNEL /vmlinuz\n  INITRD /initrd.img\n  APPEND %s\n' \
	"$CMDLINE" > "$D/isolinux/isolinux.cfg"
xorriso -as mkisofs -quiet -o "$OUT" -b isolinux/isolinux.bin -c isolinux/boot.cat \
	-no-emul-boot -boot-load-size 4 -boot-info-table -R -J "$D"
