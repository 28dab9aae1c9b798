#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside a test host booted with the debug kernel (make check-debug):
# the whole selftest suite as in make check (run-tests.sh, with each test's
# counts from its TEST.env), then, with every hypervisor module unloaded, a
# kmemleak scan.  Reports, besides run-tests.sh's lines:
#   @@KV ok|fail debug:boot      the kernel log was clean before kvisor came
#   @@KV ok|fail debug:kmemleak  nothing unreferenced after the last rmmod
#   @@KV ok|fail debug:whole-run no report anywhere in the kernel log
# (run-tests.sh already fails a test whose run made the kernel complain;
# the last line also catches what came between tests or after them).
# shellcheck source=lib.sh
. /kvisor/lib.sh
KL=/sys/kernel/debug/kmemleak

# reports: what run-tests.sh's $BAD matches, less the kernel's notices
# about the emulated CPU's mitigations ("RETBleed: WARNING: Spectre v2
# mitigation leaves CPU vulnerable", on Bochs), which no tool reported
reports() { dmesg | grep -E "$BAD" | grep -v 'RETBleed: WARNING'; }

bad=$(reports | head -1)
if [ -n "$bad" ]; then
	say "fail debug:boot the debug kernel complained before kvisor loaded: $bad"
else
	say "ok debug:boot"
fi
# kmemleak: forget what the boot left (drivers' own), so that what a scan
# finds after the tests is theirs
if [ -w $KL ]; then
	echo scan > $KL
	echo clear > $KL
fi

/kvisor/run-tests.sh

# Unload whatever is left (the last tests reload kvisor; load_conflict may
# leave in-tree KVM), then scan.  kmemleak reports an object only once it is
# older than 5 s, and only when two scans agree, hence the wait and the
# second scan.
HV_MODULES='kvisor kvm_amd kvm_intel kvm'
for m in $HV_MODULES; do
	[ -d "/sys/module/$m" ] && rmmod "$m"
done
left=$(for m in $HV_MODULES; do [ -d "/sys/module/$m" ] && echo "$m"; done)
if [ ! -w $KL ]; then
	say "fail debug:kmemleak no $KL (is this the debug kernel?)"
else
	sleep 6
	echo scan > $KL
	sleep 1
	echo scan > $KL
	n=$(grep -c '^unreferenced object' $KL)
	if [ "$n" = 0 ] && [ -z "$left" ]; then
		say "ok debug:kmemleak"
	else
		say "fail debug:kmemleak $n unreferenced objects after the last rmmod${left:+; still loaded: $left}"
		head -80 $KL | sed 's/^/@@KV # /' > "$RES"
	fi
fi
bad=$(reports)
if [ -n "$bad" ]; then
	say "fail debug:whole-run $(echo "$bad" | wc -l) lines of kernel reports, the first: $(echo "$bad" | head -1)"
	echo "$bad" | head -40 | sed 's/^/@@KV # /' > "$RES"
else
	say "ok debug:whole-run"
fi
