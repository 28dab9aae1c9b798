#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# build-debug-kernel.sh: build the debug kernel of make check-debug, once.
#
# Debian's linux-source-6.1 (the same Linux the test hosts boot otherwise),
# configured as x86_64_defconfig with debug/kernel.config merged over it:
# KASAN, KFENCE, kmemleak, lockdep, UBSAN, hung-task and soft-lockup
# detection, and the options the test hosts need.  Cached under
#   $CACHE/debug-kernel-HASH/
# where HASH covers the source package's version, the config fragment and
# this script, so a change to any of them builds afresh and nothing else
# does.  In that folder: build/ (the kernel build tree, KDIR for kvisor.ko),
# root/lib/modules/KVER (its modules: kvm, kvm_amd, kvm_intel, zram),
# bzImage, vmlinux, kver, and build.log.  Prints the folder's path on
# stdout; everything else goes to stderr.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
FRAG=$HERE/debug/kernel.config
TARBALL=/usr/src/linux-source-6.1.tar.xz
[ -r "$TARBALL" ] || die "no $TARBALL: apt-get install linux-source-6.1"

srcver=$(dpkg-query -W -f='${Version}' linux-source-6.1)
hash=$(cat "$FRAG" "$0" <(echo "$srcver") | sha256sum | cut -c1-12)
D=$CACHE/debug-kernel-$hash
if [ -s "$D/kver" ] && [ -s "$D/bzImage" ]; then
	echo "$ME: cached in $D (linux-source-6.1 $srcver)" >&2
	echo "$D"
	exit 0
fi

t0=$SECONDS
echo "$ME: building the debug kernel into $D (about 30 min on 2 cores; log in $D/build.log)" >&2
rm -rf "$D"
mkdir -p "$D"
exec 3>&2 2>"$D/build.log" 1>&2
set -x
tar -C "$D" -xf "$TARBALL"
mv "$D/linux-source-6.1" "$D/src"
B=$D/build
make -C "$D/src" O="$B" -s x86_64_defconfig
"$D/src/scripts/kconfig/merge_config.sh" -m -O "$B" "$B/.config" "$FRAG"
make -C "$D/src" O="$B" -s olddefconfig

# every option the fragment asks for must have survived olddefconfig (a
# dependency missing silently drops it)
missing=$(grep -E '^CONFIG_[A-Z0-9_]+=' "$FRAG" | while IFS= read -r want; do
	grep -qxF "$want" "$B/.config" || echo "$want"
done)
if [ -n "$missing" ]; then
	echo "$ME: options the config did not keep: $missing" >&3
	exit 1
fi

make -C "$D/src" O="$B" -j"${JOBS:-2}" bzImage modules
make -C "$D/src" O="$B" -s INSTALL_MOD_PATH="$D/root" INSTALL_MOD_STRIP=1 \
	modules_install
cp "$B/arch/x86/boot/bzImage" "$D/bzImage"
ln -sf build/vmlinux "$D/vmlinux"
make -C "$D/src" O="$B" -s kernelrelease > "$D/kver.tmp"
mv "$D/kver.tmp" "$D/kver"
set +x
echo "$ME: built $(cat "$D/kver") in $((SECONDS - t0)) s" >&3
echo "$D"
