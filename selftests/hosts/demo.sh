#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# demo.sh [svm|vmx]: the README's main job.  Installs what is missing,
# builds kvisor, boots a test host (SVM by default), loads kvisor there and
# prints what it found on the CPU and what /dev/kvm answers, runs two demo
# guests through kvisor-run and, in the SVM host, QEMU booting Linux.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
HOST=${1:-svm}
OUT=$TOP/build/demo/$HOST
deps
make -C "$TOP" -s module userspace selftests KVER="$KVER"
mkdir -p "$OUT"
# QEMU on kvisor, in the SVM host (seconds there; minutes in Bochs):
# Debian 12's 7.2 only (guest/demo.sh runs qemu_boot)
QEMU_GUEST=
if [ "$HOST" = svm ]; then
	QEMU10_ROOT='' "$HERE/build-qemu-guest.sh" "$OUT/qemu-guest"
	QEMU_GUEST=$OUT/qemu-guest
fi
export QEMU_GUEST
RUNNER=$TOP/userspace/kvisor-run "$HERE/build-initramfs.sh" "$HOST" \
	"$OUT/initramfs.cpio" "$TOP/selftests/build" "$TOP/module/kvisor.ko" "$KVER"
echo "booting the $HOST test host (kernel $KVER)..."
"$HERE/boot-host.sh" "$HOST" "$OUT" "$OUT/initramfs.cpio" demo || true
kv_lines "$OUT/results.txt" | sed -n 's/^# //p'
powered_off "$OUT/results.txt"
