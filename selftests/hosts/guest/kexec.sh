#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# /kvisor/kexec.sh, run by /init in a kernel that kexec_vms kexecd into
# (KVHOST_MODE=kexec; selftests/tests/kexec_vms.c says why).  In the
# second kernel (KVHOST_KEXEC=2, after a kexec through the reboot
# notifiers) and in the crash kernel (3, after a crash through the
# emergency path): every CPU of the first kernel came up again (a CPU
# left in VMX operation would block the INIT that starts it), the boot
# logged no complaint, kvisor loads, a VM runs with a vCPU on every CPU,
# and nothing complains meanwhile.  Then the kernel of the last stage
# (KVHOST_KEXEC_LAST) reports kexec_vms' result, as run-tests.sh would
# have; the second kernel, when it is not the last, crashes into the
# third.
# shellcheck source=lib.sh
. /kvisor/lib.sh
t=kexec_vms
stage=${KVHOST_KEXEC:-?}
# each step's limit, in seconds of this host's clock: a VM of a few
# instructions per vCPU, or a crash kernel's load
TMO=120

# fail WHY [FILE]: the result, FILE's tail and the kernel log's, the end
fail() {
	say "fail $t stage $stage: $1"
	[ -z "${2:-}" ] || tail -20 "$2" | sed 's/^/@@KV # /' > "$RES"
	dmesg | tail -30 | sed 's/^/@@KV # dmesg: /' > "$RES"
	say end
	exit 1
}

echo "kvisor test host $KVHOST: kexec stage $stage at $(now)s"
cpus=$(grep -c '^processor' /proc/cpuinfo)
[ "$cpus" = "${KVHOST_KEXEC_CPUS:-}" ] ||
	fail "$cpus of ${KVHOST_KEXEC_CPUS:-?} CPUs came up"
# A WARN's first line names the CPU ("WARNING: CPU: 0 PID: ..."), unlike
# the boot's own notes (the VMX host's "RETBleed: WARNING: ...").
bad=$(dmesg | grep -E "$(echo "$BAD" | sed 's/WARNING:/WARNING: CPU/')" | head -1)
[ -z "$bad" ] || fail "the kernel's boot complained: $bad"
before=$(dmesg | wc -l)
params=$(echo "${KVHOST_KVISOR:-}" | tr , ' ')
# shellcheck disable=SC2086	# module parameters, one word each
insmod /kvisor/kvisor.ko $params || fail "kvisor did not load: $(kvisor_failed)"
chmod 666 /dev/kvm
timeout -s KILL $TMO /kvisor/tests/$t after > /tmp/out 2>&1 ||
	{ cat /tmp/out; fail "a VM did not run" /tmp/out; }
cat /tmp/out
bad=$(klog_since "$before" | grep -E "$BAD" | head -1)
[ -z "$bad" ] || fail "kernel complained: $bad"
if [ "$stage" = "${KVHOST_KEXEC_LAST:-3}" ]; then
	say "ok $t $(awk -v a="${KVHOST_KEXEC_T:-0}" -v b="$(now)" \
		'BEGIN { printf "%.1f", a + b }')"
	say end
elif [ "$stage" = 2 ]; then
	# into the crash kernel; kexec_vms crash returns only if it failed
	timeout -s KILL $TMO /kvisor/tests/$t crash > /tmp/out 2>&1
	cat /tmp/out
	fail "no crash into the crash kernel" /tmp/out
else
	fail "unknown stage (last ${KVHOST_KEXEC_LAST:-?})"
fi
