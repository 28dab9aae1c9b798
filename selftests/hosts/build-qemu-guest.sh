#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# build-qemu-guest.sh DIR: what the qemu_boot test needs inside a test
# host: the build machine's own QEMU (the qemu-system-x86 package that
# also emulates the SVM test host) with its shared libraries and
# firmware, the test host's Debian kernel as the guest's kernel, and a
# busybox initramfs whose /init reports what the guest saw and powers off.
# The test then runs QEMU with -accel kvm on kvisor's /dev/kvm, in the
# test host: a real VMM booting a real kernel on kvisor.
set -euo pipefail
DIR=$1
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
QEMU=$(command -v qemu-system-x86_64)
BB=$(command -v busybox)

rm -rf "$DIR"
mkdir -p "$DIR/lib" "$DIR/share"
cp "$QEMU" "$DIR/"
for l in $(ldd "$QEMU" | awk '/=>/ { print $3 } /ld-linux/ { print $1 }'); do
	cp -L "$l" "$DIR/lib/"
done
for f in /usr/share/seabios/bios-256k.bin /usr/share/qemu/linuxboot_dma.bin \
	 /usr/share/qemu/kvmvapic.bin; do
	cp -L "$f" "$DIR/share/"
done
cp "/boot/vmlinuz-$KVER" "$DIR/vmlinuz"

# the guest's initramfs
g=$(mktemp -d)
mkdir -p "$g/bin" "$g/proc"
cp "$BB" "$g/bin/busybox"
cat > "$g/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
echo "L2-HELLO: $(/bin/busybox grep -c ^processor /proc/cpuinfo) CPUs"
/bin/busybox dmesg | /bin/busybox grep -m2 "Hypervisor detected\|clocksource: kvm-clock"
/bin/busybox poweroff -f
INIT
chmod +x "$g/init"
(cd "$g" && find . | cpio -o -H newc --owner=0:0 --quiet) > "$DIR/guest.cpio"
rm -rf "$g"
echo "build-qemu-guest: $(du -sm "$DIR" | cut -f1) MiB in $DIR" >&2
