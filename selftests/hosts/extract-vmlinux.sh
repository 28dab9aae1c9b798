#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# extract-vmlinux.sh BZIMAGE OUT
#
# Pull the uncompressed ELF vmlinux out of a bzImage.  QEMU boots it through
# its PVH entry point (Debian builds with CONFIG_PVH=y), which skips the
# firmware's real-mode setup and the in-guest decompressor: about 8 s less
# per boot under TCG.
set -euo pipefail
IN=$1 OUT=$2
# the payload starts at one of these magics; try each match until one
# decompresses into a 64-bit ELF file
for m in 'xz:\xfd7zXZ\x00' 'gzip:\x1f\x8b\x08' 'zstd:\x28\xb5\x2f\xfd' 'lz4:\x02\x21\x4c\x18'; do
	tool=${m%%:*} magic=${m#*:}
	while read -r pos; do
		{ tail -c +$((pos + 1)) "$IN" | $tool -dc > "$OUT.tmp"; } 2>/dev/null || true
		if [ -s "$OUT.tmp" ] && file "$OUT.tmp" | grep -q 'ELF 64-bit'; then
			mv "$OUT.tmp" "$OUT"
			exit 0
		fi
	done < <(LC_ALL=C grep -obUaP "$magic" "$IN" | cut -d: -f1)
done
rm -f "$OUT.tmp"
echo "extract-vmlinux: no vmlinux found in $IN" >&2
exit 1
