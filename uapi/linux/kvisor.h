/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * kvisor's own additions to the KVM userspace ABI.
 *
 * The ABI itself is upstream KVM's: include <linux/kvm.h>.  Everything here
 * is optional to read, and lives where a client that knows only KVM's
 * layout never looks.
 */
#ifndef _UAPI_KVISOR_H
#define _UAPI_KVISOR_H

#include <linux/types.h>

/*
 * KVM_EXIT_FAIL_ENTRY, named.  When the hardware refuses to enter a guest,
 * kvisor checks the guest and control state against the hardware's rules
 * and names the first one broken.  The name follows KVM's two fields in
 * kvm_run's exit union (256 bytes), so reading run->fail_entry as KVM
 * defines it still works; kvisor-aware clients cast &run->fail_entry to
 * this structure and check @magic.
 */
#define KVISOR_FAIL_ENTRY_MAGIC		0x6b767372	/* "kvsr" */

struct kvisor_fail_entry {
	__u64 hardware_entry_failure_reason;	/* as in KVM */
	__u32 cpu;				/* as in KVM */
	__u32 magic;		/* KVISOR_FAIL_ENTRY_MAGIC when @rule is set */
	char rule[128];		/* e.g. "guest CR0.PG=1 with CR0.PE=0" */
};

#endif /* _UAPI_KVISOR_H */
