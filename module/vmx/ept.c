// SPDX-License-Identifier: GPL-2.0
/*
 * EPT and VPIDs: the format of the nested page table entries core/tdp.c
 * builds, the EPT pointer, the VPIDs that tag a vCPU's translations, and
 * INVEPT/INVVPID to drop them (SDM Vol. 3, "VMX Support for Address
 * Translation": "Virtual Processor Identifiers (VPIDs)", "The Extended
 * Page Table Mechanism (EPT)" and "Caching Translation Information").
 */
#include <linux/bitmap.h>
#include <linux/spinlock.h>

#include "vmx.h"

/* VPID 0 is the host's; a vCPU takes one of the others for its life. */
#define VMX_NR_VPIDS	BIT(16)
static DECLARE_BITMAP(vmx_vpids, VMX_NR_VPIDS);
static DEFINE_SPINLOCK(vmx_vpid_lock);

int vmx_alloc_vpid(void)
{
	int vpid;

	spin_lock(&vmx_vpid_lock);
	/* VPID 0 tags the host's own translations: never hand it out. */
	vpid = find_next_zero_bit(vmx_vpids, VMX_NR_VPIDS, 1);
	if (vpid < VMX_NR_VPIDS)
		__set_bit(vpid, vmx_vpids);
	else
		vpid = -ENOSPC;
	spin_unlock(&vmx_vpid_lock);
	return vpid;
}

void vmx_free_vpid(int vpid)
{
	spin_lock(&vmx_vpid_lock);
	__clear_bit(vpid, vmx_vpids);
	spin_unlock(&vmx_vpid_lock);
}

/*
 * INVEPT or INVVPID of @type (single context, else all contexts where
 * the CPU lacks that), with an exception-table entry: once a reboot ran
 * VMXOFF under a vCPU they #UD, which kvisor_virt_fault() lets pass.
 */
#define VMX_INV(insn, desc, type)					\
do {									\
	bool fault = true;						\
									\
	asm volatile("1: " insn " %[d], %[t]\n\t"			\
		     "movb $0, %[fault]\n\t"				\
		     "2:\n\t"						\
		     _ASM_EXTABLE(1b, 2b)				\
		     : [fault] "+qm" (fault)				\
		     : [d] "m" (desc), [t] "r" (type) : "memory", "cc");	\
	if (unlikely(fault))						\
		kvisor_virt_fault();					\
} while (0)

/*
 * Drop the translations tagged with one EPT root: after the tables lost
 * entries, so a running guest cannot keep using a page kvisor released.
 * Affects only the executing CPU.
 */
void vmx_invept(u64 eptp)
{
	struct { u64 eptp, reserved; } desc = { eptp, 0 };
	unsigned long type = 1;		/* single context */

	if (!(vmx_config.ept_vpid_cap & KV_VMX_EPT_INVEPT_SINGLE))
		type = 2;		/* all contexts */
	VMX_INV("invept", desc, type);
}

void vmx_invvpid(u16 vpid)
{
	struct { u64 vpid, gva; } desc = { vpid, 0 };
	unsigned long type = 1;		/* single context */

	if (!(vmx_config.ept_vpid_cap & KV_VMX_VPID_INVVPID_SINGLE))
		type = 2;		/* all contexts */
	VMX_INV("invvpid", desc, type);
}

/*
 * The nested tables lost entries, or the guest's paging changed under
 * it: vmx_run() drops the EPT- and VPID-tagged translations before the
 * next entry.
 */
void vmx_request_tlb_flush(struct kvisor_vcpu *vcpu)
{
	WRITE_ONCE(to_vmx(vcpu)->flush, true);
}

/*
 * EPT entries: read, write and execute permissions in bits 2:0 (any of
 * them set means present).  A leaf also names the memory type, write-back,
 * and sets "ignore PAT" so the guest's PAT cannot make RAM uncached.
 */
#define EPT_R		BIT_ULL(0)
#define EPT_W		BIT_ULL(1)
#define EPT_X		BIT_ULL(2)
#define EPT_MT_WB	(6ULL << 3)
#define EPT_IPAT	BIT_ULL(6)

static u64 ept_table(phys_addr_t table)
{
	return table | EPT_R | EPT_W | EPT_X;
}

/* Bit 7 makes a level 2 or 3 entry a 2M or 1G leaf ("EPT Translation"). */
#define EPT_LARGE	BIT_ULL(7)

/*
 * Memory that is not RAM (a device's) is uncached, without "ignore PAT":
 * an EPT memory type of UC makes the access UC whatever the guest's PAT
 * says ("Memory Type Used for Translated Guest-Physical Addresses").
 */
#define EPT_MT_UC	(0ULL << 3)

static u64 ept_leaf(phys_addr_t page, unsigned int flags, int level)
{
	u64 mt = flags & KVISOR_TDP_UNCACHED ? EPT_MT_UC : EPT_MT_WB | EPT_IPAT;

	return page | EPT_R | EPT_X | mt |
	       (flags & KVISOR_TDP_WRITABLE ? EPT_W : 0) |
	       (level > 1 ? EPT_LARGE : 0);
}

static bool ept_present(u64 pte)
{
	return pte & (EPT_R | EPT_W | EPT_X);
}

/* EPTP: the root, write-back tables, a 4-level walk (encoded as 3). */
u64 vmx_eptp(struct kvisor_vm *vm)
{
	return kvisor_tdp_root(vm) | 6 | (3 << 3);
}

/* max_level: what IA32_VMX_EPT_VPID_CAP offers, set by vmx_probe(). */
struct kvisor_tdp_format vmx_ept_format = {
	.table		= ept_table,
	.leaf		= ept_leaf,
	.present	= ept_present,
	.huge		= EPT_LARGE,
	.writable	= EPT_W,
	.max_level	= 1,
};
