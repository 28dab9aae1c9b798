#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# build-upstream.sh [OUTDIR]
#
# Builds Linux 6.1's own KVM selftests (tools/testing/selftests/kvm) from
# Debian's linux-source-6.1 package, for `make conformance`.  The sources
# are extracted under OUTDIR (default build/upstream), never into the
# repository, and only the parts the build needs.  The x86_64 programs
# (TEST_GEN_PROGS_x86_64 of the upstream Makefile) are linked statically,
# since the test hosts' initramfs has no libc, stripped, and left in
# OUTDIR/tests with a "list" in the Makefile's order; programs that do not
# build are named in OUTDIR/tests/notbuilt.  Cached: nothing is rebuilt
# unless the tarball or this script changed.
#
# Debian's 6.1 source carries stable backports that break two upstream
# tests' build (dirty_log_test uses TEST_ASSERT_EQ, only added in 6.5;
# steal_time includes <asm/kvm.h>, which now uses __DECLARE_FLEX_ARRAY,
# before anything defines it).  A small header forced into every C file
# (compat.h, below) fills in both; the tests themselves are not changed.
set -euo pipefail
TOP=$(cd "$(dirname "$0")/../.." && pwd)
OUT=$(realpath -m "${1:-$TOP/build/upstream}")
TARBALL=${KVISOR_LINUX_SOURCE:-/usr/src/linux-source-6.1.tar.xz}
SRC=$OUT/linux-source-6.1
KVM=$SRC/tools/testing/selftests/kvm
JOBS=${JOBS:-2}

[ -r "$TARBALL" ] || {
	echo "build-upstream: $TARBALL missing (apt-get install linux-source-6.1)" >&2
	exit 1
}
mkdir -p "$OUT"
stamp="$(stat -c '%s %Y' "$TARBALL") $(sha256sum < "$0" | cut -c1-16)"
if [ -f "$OUT/tests/list" ] && [ "$(cat "$OUT/stamp" 2>/dev/null)" = "$stamp" ]; then
	echo "build-upstream: cached in $OUT/tests ($(wc -l < "$OUT/tests/list") programs)" >&2
	exit 0
fi
rm -rf "$SRC" "$OUT/tests" "$OUT/stamp"

t0=$SECONDS
echo "build-upstream: extracting $TARBALL" >&2
# headers_install wants the top Makefile, scripts/ and the uapi headers;
# the selftests want tools/; x86's headers come with arch/x86
tar -C "$OUT" -xJf "$TARBALL" \
	linux-source-6.1/Makefile linux-source-6.1/Kbuild linux-source-6.1/Kconfig \
	linux-source-6.1/scripts linux-source-6.1/include linux-source-6.1/usr \
	linux-source-6.1/arch/x86 linux-source-6.1/tools

cat > "$OUT/compat.h" <<'EOF'
/* SPDX-License-Identifier: GPL-2.0 */
/* Forced into every file of the upstream selftests by build-upstream.sh. */
#ifndef __ASSEMBLER__
#include <linux/stddef.h>
#ifndef TEST_ASSERT_EQ
#define TEST_ASSERT_EQ(a, b) \
	TEST_ASSERT((a) == (b), "%s == %s failed", #a, #b)
#endif
#endif
EOF

echo "build-upstream: uapi headers, then the selftests (-j$JOBS)" >&2
# Run from `make conformance`, the selftests' lib.mk would take itself for
# a sub-make (MAKELEVEL > 0) and expect OUTPUT from a parent it does not
# have: start from a clean make environment.
unset MAKELEVEL MAKEFLAGS MFLAGS
{
	if make -C "$SRC" -s ARCH=x86_64 -j"$JOBS" headers_install; then
		# -k: one program that does not build must not cost the others
		make -C "$KVM" -k -j"$JOBS" ARCH=x86_64 \
			EXTRA_CFLAGS="-static -include $OUT/compat.h" || true
	fi
} > "$OUT/build.log" 2>&1

mkdir -p "$OUT/tests.tmp"
: > "$OUT/tests.tmp/list"
: > "$OUT/tests.tmp/notbuilt"
# shellcheck disable=SC2013	# the Makefile's names, space-separated
for p in $(sed -n 's/^TEST_GEN_PROGS_x86_64 *+*= *//p' "$KVM/Makefile"); do
	if [ -x "$KVM/$p" ]; then
		strip -o "$OUT/tests.tmp/${p##*/}" "$KVM/$p"
		echo "${p##*/}" >> "$OUT/tests.tmp/list"
	else
		echo "${p##*/}" >> "$OUT/tests.tmp/notbuilt"
	fi
done
[ -s "$OUT/tests.tmp/list" ] || {
	tail -20 "$OUT/build.log" >&2
	echo "build-upstream: nothing built, see $OUT/build.log" >&2
	exit 1
}
mv "$OUT/tests.tmp" "$OUT/tests"
echo "$stamp" > "$OUT/stamp"
echo "build-upstream: $(wc -l < "$OUT/tests/list") programs built," \
	"$(wc -l < "$OUT/tests/notbuilt") did not ($(du -sh "$OUT/tests" | cut -f1)," \
	"$((SECONDS - t0)) s)" >&2
