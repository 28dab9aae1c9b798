#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The README's main job, inside a test host: load kvisor, show what it
# found on this CPU and what /dev/kvm answers.
# shellcheck source=lib.sh
. /kvisor/lib.sh
show() { echo "$*"; say "# $*"; }
show "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
show "flags: $(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -xE 'vmx|svm|npt|ept|vpid|nrip_save|decodeassists|flexpriority|vnmi' | tr '\n' ' ')"
if insmod /kvisor/kvisor.ko; then
	show "insmod kvisor.ko: OK"
else
	show "insmod kvisor.ko: FAILED"
fi
dmesg | grep 'kvisor:' | sed 's/^\[[^]]*\] //' | while read -r l; do show "dmesg: $l"; done
if [ -x /kvisor/kvisor-run ]; then
	/kvisor/kvisor-run --info 2>&1 | while read -r l; do show "$l"; done
	# Two demo guests through kvisor: their serial output, then the
	# runner's exit summary.
	for g in hello16.bin hello64.elf; do
		[ -f /kvisor/guests/$g ] || continue
		show ""
		show "\$ kvisor-run $g"
		/kvisor/kvisor-run /kvisor/guests/$g 2>&1 |
			while IFS= read -r l; do show "$l"; done
	done
fi
# And a real VMM: QEMU boots a 2-CPU Linux guest on kvisor's /dev/kvm.
if [ -x /kvisor/tests/qemu_boot ]; then
	show ""
	show "\$ qemu-system-x86_64 -accel kvm -smp 2 -kernel vmlinuz ...  (the guest's console:)"
	/kvisor/tests/qemu_boot 2>&1 | grep -v "^#" | tr -d '\033' |
		sed 's/\[[0-9;?]*[a-zA-Z]//g' | while IFS= read -r l; do show "  $l"; done
fi
