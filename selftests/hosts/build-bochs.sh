#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# build-bochs.sh PREFIX [smp]
#
# Build the headless Bochs that emulates the VMX test host, from Debian's own
# source package (trixie's bochs 3.0: bookworm's source tarball is not served).
# Debian 12's packaged bochs-bin carries the debugger, SMP and instrumentation
# and runs 3-5x slower.  --disable-show-ips matters: with it on, the timer
# signal handler logs while the main loop may hold the log lock and Bochs can
# deadlock.  About 8 minutes on 2 cores; the result is cached by the caller.
set -euo pipefail
PREFIX=$(realpath -m "$1")
# Without SMP Bochs runs several times faster; the two-CPU host needs it.
SMP=--disable-smp
[ "${2:-}" = smp ] && SMP=--enable-smp
[ -x "$PREFIX/bin/bochs" ] && exit 0
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
# a private deb-src list for trixie, on the archive this machine already uses
uri=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -m1 debian) || true
[ -n "$uri" ] || uri=$(awk '/^deb /{print $2; exit}' /etc/apt/sources.list 2>/dev/null)
[ -n "$uri" ] || uri=http://deb.debian.org/debian
printf 'Types: deb-src\nURIs: %s\nSuites: trixie\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
	"$uri" > "$W/src.sources"
mkdir -p "$W/lists/partial"
APT=(-o Dir::Etc::sourcelist="$W/src.sources" -o Dir::Etc::sourceparts=/dev/null
     -o Dir::State::Lists="$W/lists")
apt-get "${APT[@]}" update > "$W/update.log" 2>&1
# the .dsc may be missing on the archive; the upstream tarball is what we need
(cd "$W" && apt-get "${APT[@]}" source --download-only bochs > "$W/source.log" 2>&1) || true
origs=("$W"/bochs_*.orig.tar.*)
orig=${origs[0]}
[ -e "$orig" ] || { cat "$W/source.log" >&2; echo "could not get the bochs source" >&2; exit 1; }
tar -C "$W" -xf "$orig"
cd "$W"/bochs-*/
CFLAGS="-O2 -pipe" CXXFLAGS="-O2 -pipe" ./configure --prefix="$PREFIX" \
	--with-nogui --without-x --without-x11 --without-sdl2 --without-term --without-wx \
	--disable-plugins --disable-docbook --disable-debugger $SMP \
	--enable-x86-64 --enable-cpu-level=6 --enable-vmx=2 --enable-svm \
	--enable-avx --enable-evex --enable-cet --enable-protection-keys \
	--enable-monitor_mwait --enable-long-phy-address --enable-a20-pin \
	--enable-all-optimizations --enable-pci --enable-cdrom \
	--enable-configurable-msrs --disable-show-ips > configure.log 2>&1 ||
	{ tail -30 configure.log >&2; exit 1; }
make -j"${JOBS:-2}" > make.log 2>&1 || { tail -30 make.log >&2; exit 1; }
help=$(./bochs --help cpu 2>&1 || true)
[[ $help == *corei7_skylake_x* ]] || { echo "built bochs lacks corei7_skylake_x" >&2; exit 1; }
mkdir -p "$PREFIX/bin"
install -m755 bochs "$PREFIX/bin/bochs.tmp"
mv "$PREFIX/bin/bochs.tmp" "$PREFIX/bin/bochs"
echo "built $PREFIX/bin/bochs"
