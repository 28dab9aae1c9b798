#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# build-perf-tools.sh DIR: what the perf_kvm_stat test needs inside a test
# host: the build machine's perf (Debian's linux-perf, which matches the
# test hosts' 6.1 kernel) and trace-cmd, both installed by
# install-deps.sh, with their shared libraries and libtraceevent's
# plugins, and perf_guest, the guest they watch.  build-initramfs.sh puts
# DIR in the initramfs as /perf when $PERF_TOOLS names it, as it does
# with QEMU for qemu_boot; make check does not, to keep its payload small
# (this is about 40 MiB).
set -euo pipefail
DIR=$1
GUEST=${2:-$(dirname "$0")/../build/perf_guest}

rm -rf "$DIR"
mkdir -p "$DIR/lib"
for b in perf trace-cmd; do
	p=$(command -v "$b") || { echo "build-perf-tools: no $b (install-deps.sh)" >&2; exit 1; }
	cp -L "$p" "$DIR/"
	for l in $(ldd "$p" | awk '/=>/ { print $3 } /ld-linux/ { print $1 }'); do
		cp -L "$l" "$DIR/lib/"
	done
done
# libtraceevent's plugins print some events' fields; both tools look here
[ ! -d /usr/lib/traceevent/plugins ] || cp -a /usr/lib/traceevent "$DIR/"
[ ! -d /usr/lib/x86_64-linux-gnu/traceevent ] ||
	cp -a /usr/lib/x86_64-linux-gnu/traceevent "$DIR/traceevent-multiarch"
cp "$GUEST" "$DIR/perf_guest"
echo "build-perf-tools: $(du -sm "$DIR" | cut -f1) MiB in $DIR" >&2
