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
#
# QEMU_ROOT=DIR takes QEMU and its option ROMs from another QEMU's
# packages unpacked there with dpkg -x (e.g. bookworm-backports' QEMU 10:
# apt-get download -t bookworm-backports qemu-system-x86
# qemu-system-data qemu-system-common), never installed over the
# system's; the libraries it links and SeaBIOS are still the system's.
set -euo pipefail
DIR=$1
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
ROMS=/usr/share/qemu
QEMU=$(command -v qemu-system-x86_64)
if [ -n "${QEMU_ROOT:-}" ]; then
	QEMU=$QEMU_ROOT/usr/bin/qemu-system-x86_64
	ROMS=$QEMU_ROOT/usr/share/qemu
fi
BB=$(command -v busybox)

rm -rf "$DIR"
mkdir -p "$DIR/lib" "$DIR/share"
cp "$QEMU" "$DIR/"
for l in $(ldd "$QEMU" | awk '/=>/ { print $3 } /ld-linux/ { print $1 }'); do
	cp -L "$l" "$DIR/lib/"
done
for f in /usr/share/seabios/bios-256k.bin "$ROMS/linuxboot_dma.bin" \
	 "$ROMS/kvmvapic.bin"; do
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
