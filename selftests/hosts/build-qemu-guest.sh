#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# build-qemu-guest.sh DIR: what the qemu_boot tests need inside a test
# host: QEMU, its shared libraries and firmware, the test host's Debian
# kernel as the guest's kernel (DIR/vmlinuz), and a busybox initramfs
# whose /init reports what the guest saw and powers off (DIR/guest.cpio;
# with "lifecycle" on the kernel command line it runs qemu_lifecycle's
# loop instead, /life).
# The tests then run QEMU with -accel kvm on kvisor's /dev/kvm, in the
# test host: a real VMM booting a real kernel on kvisor.
#
# Two QEMUs, one test each:
#   DIR          Debian 12's QEMU 7.2, the build machine's own (the
#                qemu-system-x86 package that also emulates the SVM test
#                host), with Debian 12's SeaBIOS: test qemu_boot;
#   DIR/qemu10   QEMU 10.0 of bookworm-backports, with the SeaBIOS of
#                backports it asks for, as install-deps.sh unpacked them
#                into $CACHE/qemu10/root: test qemu10_boot.
# QEMU10_ROOT=ROOT takes QEMU 10 from another root that dpkg -x unpacked
# those packages into; QEMU10_ROOT= (empty) leaves it out, as does a cache
# without it (KVISOR_WITH_QEMU10=0).  Both link Debian 12's
# libraries only (QEMU 10's are a subset of 7.2's), so DIR/lib holds one
# copy for both; a library that is not there fails the build.
set -euo pipefail
DIR=$1
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
if [ -n "${QEMU10_ROOT+set}" ]; then
	Q10=$QEMU10_ROOT
elif [ -s "$CACHE/qemu10/QEMU10_PKGS" ]; then	# install-deps.sh is done
	Q10=$CACHE/qemu10/root
else
	Q10=
fi
BB=$(command -v busybox)

# one QEMU: its binary, its libraries (into DIR/lib), the firmware that
# boots a -kernel guest on the pc machine
add_qemu() { # QEMU ROMS SEABIOS TO
	local qemu=$1 roms=$2 seabios=$3 to=$4 l f

	if ldd "$qemu" | grep 'not found'; then
		echo "build-qemu-guest: $qemu needs libraries this system has not" >&2
		return 1
	fi
	mkdir -p "$to/share"
	cp "$qemu" "$to/"
	for l in $(ldd "$qemu" | awk '/=>/ { print $3 } /ld-linux/ { print $1 }'); do
		cp -L "$l" "$DIR/lib/"
	done
	for f in "$seabios/bios-256k.bin" "$roms/linuxboot_dma.bin" \
		 "$roms/kvmvapic.bin"; do
		cp -L "$f" "$to/share/"
	done
}

rm -rf "$DIR"
mkdir -p "$DIR/lib"
add_qemu "$(command -v qemu-system-x86_64)" /usr/share/qemu /usr/share/seabios "$DIR"
if [ -n "$Q10" ]; then
	add_qemu "$Q10/usr/bin/qemu-system-x86_64" "$Q10/usr/share/qemu" \
		"$Q10/usr/share/seabios" "$DIR/qemu10"
fi
# qemu-img, for qemu_storage: it makes the guest's qcow2 disk and reads
# it back afterwards (its libraries are a subset of QEMU's)
cp "$(command -v qemu-img)" "$DIR/"
for l in $(ldd "$DIR/qemu-img" | awk '/=>/ { print $3 }'); do
	cp -L "$l" "$DIR/lib/"
done
cp "/boot/vmlinuz-$KVER" "$DIR/vmlinuz"
echo "$KVER" > "$DIR/kver"	# which kernel the guest runs (guest_vulns)

# the guest's initramfs
g=$(mktemp -d)
mkdir -p "$g/bin" "$g/proc" "$g/sys" "$g/mod"
cp "$BB" "$g/bin/busybox"
# virtio-blk over PCI for /store (qemu_storage), dependencies first
# and virtio-net for /net (qemu_network), the ACPI power button and its
# input events for /life's "powerbtn" (libvirt_domain)
for m in drivers/virtio/virtio_ring drivers/virtio/virtio \
	 drivers/virtio/virtio_pci_legacy_dev drivers/virtio/virtio_pci_modern_dev \
	 drivers/virtio/virtio_pci drivers/block/virtio_blk net/core/failover \
	 drivers/net/net_failover drivers/net/virtio_net \
	 drivers/input/evdev drivers/acpi/button; do
	cp "/lib/modules/$KVER/kernel/$m.ko" "$g/mod/"
done
# /init: the CPUs and the paravirtual features it found (qemu_boot: kvmclock,
# and its "kvm-guest:" choices: PV spinlocks, PV IPIs, ...), then
# what the guest's kernel decided about each speculative-execution bug,
# one "L2-VULN name: value" line a file, CPU 0's "bugs" line of
# /proc/cpuinfo, and the speculation controls of its "flags" line
# (guest_vulns compares them under kvisor and in-tree KVM)
cat > "$g/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
echo "L2-HELLO: $(/bin/busybox grep -c ^processor /proc/cpuinfo) CPUs"
/bin/busybox dmesg | /bin/busybox grep -m8 "Hypervisor detected\|clocksource: kvm-clock\|kvm-guest:"
# "lifecycle" on the kernel command line: /life's loop instead (qemu_lifecycle)
/bin/busybox grep -qw lifecycle /proc/cmdline && exec /bin/busybox sh /life
# "store=write" or "store=read": /store (qemu_storage)
/bin/busybox grep -qw 'store=[a-z]*' /proc/cmdline && exec /bin/busybox sh /store
# "net=ME,PEER": /net (qemu_network)
/bin/busybox grep -qw 'net=[0-9.,]*' /proc/cmdline && exec /bin/busybox sh /net
for f in /sys/devices/system/cpu/vulnerabilities/*; do
	[ -f "$f" ] && echo "L2-VULN ${f##*/}: $(/bin/busybox cat "$f")"
done
echo "L2-BUGS $(/bin/busybox sed -n '/^bugs/ { s/^bugs[[:space:]]*:[[:space:]]*//; p; q }' /proc/cpuinfo)"
echo "L2-SPEC $(/bin/busybox sed -n '/^flags/ { s/^[^:]*://; p; q }' /proc/cpuinfo |
	/bin/busybox tr ' ' '\n' |
	/bin/busybox grep -xE 'pti|ibrs|ibpb|stibp|ssbd|ibrs_enhanced|virt_ssbd|md_clear|flush_l1d|arch_capabilities|rtm|hle' |
	/bin/busybox tr '\n' ' ')"
/bin/busybox poweroff -f
INIT
chmod +x "$g/init"
# /life: qemu_lifecycle's guest, which runs until QEMU stops it.  4 MiB
# of random data in a tmpfs, its md5sum printed once ("L2-LIFE-MD5 sum"),
# then over and over (a round every 1.5 s in the SVM test host): rewrite
# a 4 MiB scratch file with new random data (dirty memory, for a live
# migration to chase), and print "L2-LIFE <counter> <md5 of the random
# file> <uptime> scratch=ok|BAD", where BAD says the scratch file no
# longer has the md5 it was written with a round before (a page that a
# migration or a restore lost), which an "L2-LIFE-BAD" line details.  The
# counter and the md5 it compares with live in the shell's memory, the
# uptime comes from the guest's clock (kvmclock): what the host checks
# across stop/cont, migrations, savevm/loadvm and a reset.  With "s3=N"
# on the kernel command line, after line N the guest suspends to RAM
# (ACPI S3: "L2-LIFE-S3 suspending", then "L2-LIFE-S3 resumed" once
# QEMU woke it, or "L2-LIFE-BAD" with why not) and goes on counting.
# With "powerbtn", a press of the ACPI power button (virsh shutdown)
# powers it off ("L2-LIFE-POWER button"), as a distribution's acpid
# would.  A CPU hot-plugged into it is brought online in the next round,
# as a distribution's udev rule would: "L2-LIFE-CPU cpuN online: M CPUs",
# or "L2-LIFE-BAD" where it failed to come up.  "L2-LIFE-KBD ready" says
# that its keyboard is there (atkbd binds asynchronously), the way in of
# a ctrl-alt-delete.
cat > "$g/life" <<'LIFE'
/bin/busybox --install -s /bin
export PATH=/bin
mkdir -p /dev /life.d
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs -o size=32m tmpfs /life.d
cd /life.d || exit 1
i=0
until grep -q keyboard /proc/bus/input/devices || [ $i -ge 20 ]; do
	sleep 0.5
	i=$((i + 1))
done
grep -q keyboard /proc/bus/input/devices && echo "L2-LIFE-KBD ready"
# powerbtn: each power button's input device; one event (24 bytes, an
# input_event) is a press
if grep -qw powerbtn /proc/cmdline; then
	insmod /mod/evdev.ko && insmod /mod/button.ko ||
		echo "L2-LIFE-BAD insmod evdev, button"
	for d in /sys/class/input/input*; do
		[ "$(cat "$d/name")" = "Power Button" ] || continue
		for e in "$d"/event*; do
			(dd if="/dev/input/${e##*/}" bs=24 count=1 2>/dev/null | wc -c |
			 grep -qx 24 && echo "L2-LIFE-POWER button" && poweroff -f) &
		done
	done
fi
# fill FILE: 4 MiB of new random data into FILE; prints its md5
fill() {
	dd if=/dev/urandom bs=64k count=64 2>/dev/null | tee "$1" | md5sum | cut -c1-32
}
echo "L2-LIFE-MD5 $(fill rand)"
# (an empty file would check nothing)
[ "$(wc -c < rand)" = 4194304 ] || echo "L2-LIFE-BAD no random data: $(ls -l rand)"
want=$(fill scratch)
s3=$(sed -n 's/.*[[:space:]]s3=\([0-9]*\).*/\1/p' /proc/cmdline)
n=0
while :; do
	n=$((n + 1))
	s=ok
	got=$(md5sum < scratch | cut -c1-32)
	if [ "$got" != "$want" ]; then
		s=BAD
		echo "L2-LIFE-BAD $n scratch file: written with md5 $want, reads $got"
	fi
	want=$(fill scratch)
	read -r up _ < /proc/uptime
	echo "L2-LIFE $n $(md5sum < rand | cut -c1-32) $up scratch=$s"
	for c in /sys/devices/system/cpu/cpu[0-9]*; do
		[ "$(cat "$c/online" 2>/dev/null)" = 0 ] || continue
		if echo 1 > "$c/online"; then
			echo "L2-LIFE-CPU ${c##*/} online: $(grep -c ^processor /proc/cpuinfo) CPUs"
		else
			echo "L2-LIFE-BAD ${c##*/} did not come online"
		fi
	done
	if [ "$n" = "$s3" ]; then
		if grep -qw deep /sys/power/mem_sleep; then
			echo deep > /sys/power/mem_sleep
			echo "L2-LIFE-S3 suspending"
			if echo mem > /sys/power/state; then
				echo "L2-LIFE-S3 resumed"
			else
				echo "L2-LIFE-BAD suspend to RAM failed"
			fi
		else
			echo "L2-LIFE-BAD no S3: mem_sleep is $(cat /sys/power/mem_sleep)"
		fi
	fi
	sleep 0.5
done
LIFE
# /setup, which /store and /net source: busybox's applets, /dev and a
# tmpfs /tmp, and "setup BAD MODULE...": virtio over PCI and then the
# MODULEs from /mod, each failure a "BAD insmod MODULE" line
cat > "$g/setup" <<'SETUP'
/bin/busybox --install -s /bin
export PATH=/bin
mkdir -p /dev /tmp
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs -o size=16m tmpfs /tmp
setup() {
	bad=$1
	shift
	for m in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev \
		 virtio_pci "$@"; do
		insmod /mod/$m.ko || echo "$bad insmod $m"
	done
}
SETUP
# /store: qemu_storage's guest, on a virtio-blk disk (/dev/vda).  With
# store=write it writes 8 MiB of random data at the disk's start, syncs,
# drops its page cache and reads them back: "L2-STORE write <md5 written>
# <md5 read back>"; with store=read (a new QEMU, the same image) it reads
# them: "L2-STORE read <md5>".  Problems are "L2-STORE-BAD" lines.  Then
# it powers off.
cat > "$g/store" <<'STORE'
. /setup
setup L2-STORE-BAD virtio_blk
i=0
while [ ! -b /dev/vda ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
if [ ! -b /dev/vda ]; then
	echo "L2-STORE-BAD no /dev/vda"
elif grep -qw store=write /proc/cmdline; then
	dd if=/dev/urandom of=/tmp/data bs=64k count=128 2>/dev/null
	w=$(md5sum < /tmp/data | cut -c1-32)
	dd if=/tmp/data of=/dev/vda bs=64k conv=fsync 2>/dev/null ||
		echo "L2-STORE-BAD write failed"
	sync
	echo 3 > /proc/sys/vm/drop_caches
	echo "L2-STORE write $w $(dd if=/dev/vda bs=64k count=128 2>/dev/null |
		md5sum | cut -c1-32)"
else
	echo "L2-STORE read $(dd if=/dev/vda bs=64k count=128 2>/dev/null |
		md5sum | cut -c1-32)"
fi
poweroff -f
STORE
# /net: qemu_network's guest.  With net=ME,PEER on its command line it
# gives its virtio-net interface the address ME/24 and pings PEER until it
# answers (60 s at most).  The guest with the lower address then serves 1
# MiB of random data over TCP with nc ("L2-NET serve <md5>") and the other
# fetches it ("L2-NET fetched <md5> <bytes>"); both print "L2-NET ping ok"
# first.  Problems are "L2-NET-BAD" lines.
cat > "$g/net" <<'NET'
. /setup
setup L2-NET-BAD failover net_failover virtio_net
set -- $(sed 's/.*net=\([0-9.,]*\).*/\1/' /proc/cmdline | tr , ' ')
me=$1 peer=$2
i=0
while [ ! -d /sys/class/net/eth0 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
ip link set lo up
ip addr add "$me/24" dev eth0 && ip link set eth0 up ||
	echo "L2-NET-BAD no eth0"
i=0
until ping -c 1 -W 1 "$peer" > /dev/null 2>&1; do
	i=$((i + 1))
	[ $i -lt 60 ] || { echo "L2-NET-BAD $peer does not answer"; poweroff -f; }
done
echo "L2-NET ping ok"
if [ "${me##*.}" -lt "${peer##*.}" ]; then
	dd if=/dev/urandom of=/tmp/data bs=64k count=16 2>/dev/null
	echo "L2-NET serve $(md5sum < /tmp/data | cut -c1-32)"
	# busybox's nc may not close at its input's end: the client's
	# timeout ends the copy (its wget crashes, static glibc's resolver)
	timeout 40 nc -l -p 8000 < /tmp/data > /dev/null
else
	i=0
	: > /tmp/data
	while [ "$(wc -c < /tmp/data)" != 1048576 ]; do
		i=$((i + 1))
		[ $i -lt 10 ] || { echo "L2-NET-BAD no data from $peer"; break; }
		sleep 1
		# its input stays open: at its end busybox nc would hang up
		sleep 15 | timeout 15 nc "$peer" 8000 > /tmp/data
	done
	echo "L2-NET fetched $(md5sum < /tmp/data | cut -c1-32) $(wc -c < /tmp/data)"
fi
poweroff -f
NET
(cd "$g" && find . | cpio -o -H newc --owner=0:0 --quiet) > "$DIR/guest.cpio"
rm -rf "$g"
echo "build-qemu-guest: $(du -sm "$DIR" | cut -f1) MiB in $DIR${Q10:+ (with QEMU 10)}" >&2
