#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# /kvisor/kexec.sh, run by /init in a kernel that kexec_vms kexecd into
# (KVHOST_MODE=kexec; selftests/tests/kexec_vms.c says why).  In both
# the second kernel (KVHOST_KEXEC=2, after a kexec through the reboot
# notifiers) and the crash kernel (3, after a crash through the
# emergency path): every CPU of the first kernel came up again (a CPU
# left in VMX operation would block the INIT that starts it), kvisor
# loads, a VM runs on every CPU, and the kernel log has no complaint.
# Then the second kernel crashes into the third, and the third reports
# kexec_vms' result, as run-tests.sh would have.
# shellcheck source=lib.sh
. /kvisor/lib.sh
t=kexec_vms
stage=${KVHOST_KEXEC:-?}

# fail WHY: the result, the kernel log's tail, and the end of the run
fail() {
	say "fail $t stage $stage: $*"
	dmesg | tail -30 | sed 's/^/@@KV # dmesg: /' > "$RES"
	say end
	exit 1
}

echo "kvisor test host $KVHOST: kexec stage $stage at $(now)s"
cpus=$(grep -c '^processor' /proc/cpuinfo)
[ "$cpus" = "${KVHOST_KEXEC_CPUS:-}" ] ||
	fail "$cpus of ${KVHOST_KEXEC_CPUS:-?} CPUs came up"
before=$(dmesg | wc -l)	# the boot's own messages are not the test's
params=$(echo "${KVHOST_KVISOR:-}" | tr , ' ')
# shellcheck disable=SC2086	# module parameters, one word each
insmod /kvisor/kvisor.ko $params || fail "kvisor did not load: $(kvisor_failed)"
chmod 666 /dev/kvm
/kvisor/tests/$t after > /tmp/out 2>&1 || {
	cat /tmp/out
	tail -20 /tmp/out | sed 's/^/@@KV # /' > "$RES"
	fail "a VM did not run"
}
cat /tmp/out
bad=$(klog_since "$before" | grep -E "$BAD" | head -1)
[ -z "$bad" ] || fail "kernel complained: $bad"
case $stage in
2)	# the crash kernel's turn; kexec_vms crash returns only if it failed
	/kvisor/tests/$t crash 2>&1
	fail "no crash into the crash kernel" ;;
3)	say "ok $t $(awk -v a="${KVHOST_KEXEC_T:-0}" -v b="$(now)" \
		'BEGIN { printf "%.1f", a + b }')"
	say end ;;
*)	fail "unknown stage" ;;
esac
