/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvisor: the vendor-neutral core's view of the world.
 *
 * Common code (main.c, vm.c, ...) sees a hypervisor only through
 * struct kvisor_vendor_ops.  The VMX and SVM backends each fill in one
 * instance; which one is live is decided once, at module load, by probing
 * the CPU.  Common code never includes a vendor header.
 */
#ifndef KVISOR_KVISOR_H
#define KVISOR_KVISOR_H

#include <linux/types.h>
#include <linux/kref.h>
#include <linux/mutex.h>
#include <linux/list.h>

struct mm_struct;

/*
 * What a backend found when it probed the CPU.  The feature words are
 * filled by the backend and only printed by common code, so adding a
 * vendor feature never touches common code.
 */
struct kvisor_cpu_caps {
	const char *vendor;		/* "Intel VMX" or "AMD SVM" */
	char features[128];		/* human-readable, for dmesg */
	bool tdp;			/* EPT or NPT present */
};

/**
 * struct kvisor_vendor_ops - the only route from common code to a backend
 * @name:	short name for messages ("vmx", "svm")
 * @probe:	check that this CPU can run guests with this backend and
 *		fill @caps.  Returns 0, -ENODEV when the extension is
 *		absent (the next backend is then tried), or another errno
 *		naming why the extension exists but cannot be used; in
 *		that case @why says so in one line for dmesg.
 * @cpu_in_use:	true when the virtualization extension is already
 *		switched on in this CPU, i.e. another hypervisor holds it.
 *		Called on each CPU with preemption disabled.
 */
struct kvisor_vendor_ops {
	const char *name;
	int (*probe)(struct kvisor_cpu_caps *caps, const char **why);
	bool (*cpu_in_use)(void);
};

extern const struct kvisor_vendor_ops kvisor_vmx_ops;
extern const struct kvisor_vendor_ops kvisor_svm_ops;

/* The backend chosen at load time, and what it found. */
extern const struct kvisor_vendor_ops *kvisor_ops;
extern struct kvisor_cpu_caps kvisor_caps;

/**
 * struct kvisor_vm - one virtual machine, owned by its VM file descriptor
 * @mm:		the address space of the process that created the VM; the
 *		ABI allows VM ioctls only from it (others get -EIO)
 * @lock:	serializes VM-wide ioctls
 */
struct kvisor_vm {
	struct mm_struct *mm;
	struct mutex lock;
};

int kvisor_create_vm(unsigned long type);
long kvisor_check_extension(struct kvisor_vm *vm, long cap);

#endif /* KVISOR_KVISOR_H */
