// SPDX-License-Identifier: GPL-2.0
/*
 * The machine-check architecture, as KVM keeps it (Intel SDM Vol. 3B,
 * "Machine-Check Architecture"; AMD APM Vol. 2, "Machine Check
 * Architecture"): IA32_MCG_CAP, MCG_STATUS, MCG_CTL and, per bank,
 * MCi_CTL, MCi_STATUS, MCi_ADDR and MCi_MISC.  Nothing in the host ever
 * raises a machine check for the guest: userspace describes one with
 * KVM_X86_SET_MCE and kvisor delivers it as the CPU would, #MC after the
 * bank and MCG_STATUS are filled, or a shutdown when the guest cannot
 * take it.  KVM_X86_SETUP_MCE chooses the number of banks and which of
 * KVM_X86_GET_MCE_CAP_SUPPORTED's capabilities the guest sees.
 *
 * On Intel hosts, as in KVM, the guest may also have CMCI (MCG_CMCI_P):
 * per bank an MCi_CTL2 with its enable bit and error threshold, and the
 * LAPIC's CMCI entry, through which KVM_X86_SET_MCE signals a UCNA error
 * (SDM Vol. 3B, "Corrected Machine Check Error Interrupt" and "UCR Error
 * Classification").  Nothing counts corrected errors against the
 * threshold: userspace injects each error, as with KVM.
 *
 * Left out, by choice: LMCE (MCG_LMCE_P, IA32_MCG_EXT_CTL and
 * FEATURE_CONTROL.LMCE_ON), which KVM offers on Intel.  A guest may write
 * only 0 to an MCi_STATUS, unless its CPUID says AMD and it set
 * HWCR.McStatusWrEn (AMD APM Vol. 2, "Machine-Check Architecture MSRs"),
 * as in KVM.
 */
#include <linux/kernel.h>
#include <linux/nospec.h>
#include <linux/uaccess.h>
#include <asm/mce.h>
#include <asm/msr-index.h>
#include <asm/trapnr.h>

#include "core/kvisor.h"

/*
 * What KVM_X86_SETUP_MCE accepts besides the bank count (KVM 6.1's, and
 * MCG_CMCI_P where kvisor_caps.cmci).
 */
#define KVISOR_MCE_CAP_SUPPORTED	(MCG_CTL_P | MCG_SER_P)

/* MCi_CTL2: CMCI enable (bit 30) and the error threshold (bits 14:0). */
#define KVISOR_MCI_CTL2_BITS	(MCI_CTL2_CMCI_EN | MCI_CTL2_CMCI_THRESHOLD_MASK)

/* The bank count in MCG_CAP[7:0], and MCG_CAP's extended count [23:16]. */
#define KVISOR_MCG_COUNT(cap)		((cap) & 0xff)
#define KVISOR_MCG_EXT_CNT		0xff0000ULL

/*
 * A machine check the CPU raised while the guest ran.  It did not reach
 * the host's #MC handler: VM exit (VMX's exception exit for vector 18, or
 * "VM-entry failure due to machine-check event") or SVM's #MC intercept
 * consumed it.  The backends call this right after the exit, interrupts
 * still off and on the CPU whose banks hold the error, as KVM's
 * kvm_machine_check() does.  The registers the handler sees claim user
 * mode with interrupts on, since the guest, not the host kernel, was
 * interrupted: a recoverable error is then handled like one in a user
 * task, and an unrecoverable one panics as it would anywhere.
 */
void kvisor_machine_check(void)
{
#ifdef CONFIG_X86_MCE
	struct pt_regs regs = {
		.cs = 3,
		.flags = X86_EFLAGS_IF,
	};

	do_machine_check(&regs);
#endif
}

u64 kvisor_mce_cap_supported(void)
{
	return KVISOR_MCE_CAP_SUPPORTED | (kvisor_caps.cmci ? MCG_CMCI_P : 0);
}

/* A new vCPU: 32 banks, no capabilities, everything 0, as in KVM. */
void kvisor_mce_init(struct kvisor_vcpu *vcpu)
{
	vcpu->mce.cap = KVISOR_MCE_BANKS;
}

/*
 * MCi_CTL takes only 0 or all ones (other values are architecturally
 * undefined), but, as KVM allows, with bit 10 clear (Linux's workaround
 * for the GART TLB walk errors of AMD K8 bank 4) or bit 0 clear
 * (UnixWare's way of ignoring single-bit ECC errors in MC1_CTL).
 */
static bool kvisor_mci_ctl_valid(u64 val)
{
	return !val || (val | BIT_ULL(10) | 1) == ~0ULL;
}

/* A bank register, MC0_CTL up to the count MCG_CAP gives. */
static int kvisor_mce_bank(struct kvisor_vcpu *vcpu, u32 msr, u64 *val,
			   bool write, bool host)
{
	u32 nr = 4 * KVISOR_MCG_COUNT(vcpu->mce.cap);
	u32 off = msr - MSR_IA32_MC0_CTL;

	if (off >= nr)
		return -EINVAL;
	off = array_index_nospec(off, nr);
	if (!write) {
		*val = vcpu->mce.bank[off];
		return 0;
	}
	if ((off & 3) == 0 && !kvisor_mci_ctl_valid(*val))
		return -EINVAL;
	/* Any CPU lets software clear a status; only 0 without McStatusWrEn. */
	if ((off & 3) == 1 && *val && !host &&
	    !((vcpu->hwcr & KVISOR_HWCR_MCSTATUSWREN) &&
	      kvisor_guest_cpuid_is_amd(vcpu)))
		return -EINVAL;
	vcpu->mce.bank[off] = *val;
	return 0;
}

/*
 * An MSR that exists with an MCG_CAP bit the vCPU does not have (@present
 * false): the guest gets #GP, and userspace may still read it and write 0
 * (QEMU saves and restores MCG_CTL regardless; as KVM, MCi_CTL2 too).
 */
static bool kvisor_mce_refused(bool present, const u64 *val, bool write,
			       bool host)
{
	return !present && (!host || (write && *val));
}

/* MCG_CTL, the guest's with MCG_CTL_P: 0 or all ones. */
static int kvisor_mcg_ctl(struct kvisor_vcpu *vcpu, u64 *val, bool write,
			  bool host)
{
	if (kvisor_mce_refused(vcpu->mce.cap & MCG_CTL_P, val, write, host))
		return -EINVAL;
	if (!write) {
		*val = vcpu->mce.ctl;
		return 0;
	}
	if (*val && ~*val)
		return -EINVAL;
	vcpu->mce.ctl = *val;
	return 0;
}

/*
 * MCi_CTL2 of bank @i, up to the count MCG_CAP gives, the guest's with
 * MCG_CMCI_P; a reserved bit is refused either way.
 */
static int kvisor_mci_ctl2(struct kvisor_vcpu *vcpu, u32 i, u64 *val,
			   bool write, bool host)
{
	u32 count = KVISOR_MCG_COUNT(vcpu->mce.cap);

	if (i >= count ||
	    kvisor_mce_refused(vcpu->mce.cap & MCG_CMCI_P, val, write, host))
		return -EINVAL;
	i = array_index_nospec(i, count);
	if (!write) {
		*val = vcpu->mce.ctl2[i];
		return 0;
	}
	if (*val & ~KVISOR_MCI_CTL2_BITS)
		return -EINVAL;
	vcpu->mce.ctl2[i] = *val;
	return 0;
}

/*
 * Every machine-check MSR, for the guest (@host false) and for
 * KVM_GET/SET_MSRS.  0, -EINVAL (#GP for the guest, a stop for the
 * ioctl), or -ENOENT when @msr is none of them.
 */
int kvisor_mce_msr(struct kvisor_vcpu *vcpu, u32 msr, u64 *val, bool write,
		   bool host)
{
	switch (msr) {
	case MSR_IA32_P5_MC_ADDR:
	case MSR_IA32_P5_MC_TYPE:
		/* The Pentium's machine-check MSRs read 0 and take nothing. */
		if (write)
			return -EINVAL;
		*val = 0;
		return 0;
	case MSR_IA32_MCG_CAP:
		/* Only KVM_X86_SETUP_MCE sets it. */
		if (write)
			return -EINVAL;
		*val = vcpu->mce.cap;
		return 0;
	case MSR_IA32_MCG_STATUS:
		if (write)
			vcpu->mce.status = *val;
		else
			*val = vcpu->mce.status;
		return 0;
	case MSR_IA32_MCG_CTL:
		return kvisor_mcg_ctl(vcpu, val, write, host);
	case MSR_IA32_MC0_CTL2 ... MSR_IA32_MCx_CTL2(KVISOR_MCE_BANKS) - 1:
		return kvisor_mci_ctl2(vcpu, msr - MSR_IA32_MC0_CTL2, val, write,
				       host);
	case MSR_IA32_MC0_CTL ... MSR_IA32_MCx_CTL(KVISOR_MCE_BANKS) - 1:
		return kvisor_mce_bank(vcpu, msr, val, write, host);
	default:
		return -ENOENT;
	}
}

/*
 * KVM_X86_SETUP_MCE: 1 to 32 banks and only supported capabilities (the
 * extended-register count in bits 23:16 passes unchecked, as in KVM).
 * MCG_CTL and every bank's CTL start all ones: every error reported;
 * with MCG_CMCI_P every CTL2 starts 0 (no CMCI), and a LAPIC that gains
 * the CMCI entry gets it masked.
 */
long kvisor_mce_setup(struct kvisor_vcpu *vcpu, u64 __user *argp)
{
	u64 cap, old;
	u32 i;

	if (copy_from_user(&cap, argp, sizeof(cap)))
		return -EFAULT;
	if (!KVISOR_MCG_COUNT(cap) || KVISOR_MCG_COUNT(cap) > KVISOR_MCE_BANKS)
		return -EINVAL;
	if (cap & ~(kvisor_mce_cap_supported() | 0xffULL | KVISOR_MCG_EXT_CNT))
		return -EINVAL;
	old = vcpu->mce.cap;
	vcpu->mce.cap = cap;
	if (cap & MCG_CTL_P)
		vcpu->mce.ctl = ~0ULL;
	for (i = 0; i < KVISOR_MCG_COUNT(cap); i++) {
		vcpu->mce.bank[4 * i] = ~0ULL;
		if (cap & MCG_CMCI_P)
			vcpu->mce.ctl2[i] = 0;
	}
	if ((cap & MCG_CMCI_P) && !(old & MCG_CMCI_P))
		kvisor_lapic_cmci_added(vcpu);
	return 0;
}

/*
 * An uncorrected error the guest must handle: #MC (Intel SDM Vol. 3B,
 * "Machine-Check Exception (#MC)"), unless MCG_STATUS.MCIP says it is
 * still handling the last one or CR4.MCE is clear, where the processor
 * enters shutdown.  The bank takes the error with OVER if it still held
 * a valid one.
 */
static void kvisor_mce_raise(struct kvisor_vcpu *vcpu, u64 *bank,
			     const struct kvm_x86_mce *mce)
{
	u64 cr0, cr3, cr4, efer;
	u64 status = mce->status;

	kvisor_ops->get_paging(vcpu, &cr0, &cr3, &cr4, &efer);
	if ((vcpu->mce.status & MCG_STATUS_MCIP) || !(cr4 & X86_CR4_MCE)) {
		set_bit(KVISOR_REQ_TRIPLE_FAULT, &vcpu->requests);
		return;
	}
	if (bank[1] & MCI_STATUS_VAL)
		status |= MCI_STATUS_OVER;
	bank[1] = status;
	bank[2] = mce->addr;
	bank[3] = mce->misc;
	vcpu->mce.status = mce->mcg_status;
	/*
	 * As KVM, #MC replaces an exception already on its way in (it
	 * does not combine into #DF).  A halted vCPU wakes up to take it.
	 */
	kvisor_ops->queue_exception(vcpu, X86_TRAP_MC, false, 0);
	if (vcpu->mp_state == KVM_MP_STATE_HALTED)
		vcpu->mp_state = KVM_MP_STATE_RUNNABLE;
}

/*
 * UCNA, an uncorrected error no action is required for: valid and
 * uncorrected, but neither signalled (S), action required (AR) nor
 * context corrupt (PCC), and no MCG_STATUS bits.  It is recorded in
 * the bank whatever MCG_CTL and MCi_CTL say, and signalled by CMCI where
 * the guest has it and the bank's CTL2 enables it (SDM Vol. 3B, "UCR
 * Error Reporting and Logging"), as KVM's kvm_vcpu_x86_set_ucna().
 */
static bool kvisor_mce_is_ucna(const struct kvm_x86_mce *mce)
{
	return !mce->mcg_status &&
	       !(mce->status & (MCI_STATUS_PCC | MCI_STATUS_S | MCI_STATUS_AR)) &&
	       (mce->status & MCI_STATUS_UC);
}

/*
 * KVM_X86_SET_MCE: a machine check in bank @mce->bank, as KVM delivers
 * it.  Reporting disabled by MCG_CTL or MCi_CTL drops an uncorrected
 * error; a corrected one is only recorded, and never overwrites an
 * uncorrected error still in the bank (which then only gets OVER).
 */
long kvisor_mce_inject(struct kvisor_vcpu *vcpu,
		       struct kvm_x86_mce __user *argp)
{
	u32 count = KVISOR_MCG_COUNT(vcpu->mce.cap);
	struct kvm_x86_mce mce;
	u64 *bank;

	if (copy_from_user(&mce, argp, sizeof(mce)))
		return -EFAULT;
	if (mce.bank >= count || !(mce.status & MCI_STATUS_VAL))
		return -EINVAL;
	bank = &vcpu->mce.bank[array_index_nospec(4 * mce.bank, 4 * count)];
	if (kvisor_mce_is_ucna(&mce)) {
		bank[1] = mce.status;
		bank[2] = mce.addr;
		bank[3] = mce.misc;
		vcpu->mce.status = mce.mcg_status;
		if ((vcpu->mce.cap & MCG_CMCI_P) &&
		    (vcpu->mce.ctl2[array_index_nospec(mce.bank, count)] &
		     MCI_CTL2_CMCI_EN))
			kvisor_lapic_cmci(vcpu);
		return 0;
	}
	if (mce.status & MCI_STATUS_UC) {
		if ((vcpu->mce.cap & MCG_CTL_P) && vcpu->mce.ctl != ~0ULL)
			return 0;
		if (bank[0] != ~0ULL)
			return 0;
		kvisor_mce_raise(vcpu, bank, &mce);
		return 0;
	}
	if ((bank[1] & MCI_STATUS_VAL) && (bank[1] & MCI_STATUS_UC)) {
		bank[1] |= MCI_STATUS_OVER;
		return 0;
	}
	if (bank[1] & MCI_STATUS_VAL)
		mce.status |= MCI_STATUS_OVER;
	bank[1] = mce.status;
	bank[2] = mce.addr;
	bank[3] = mce.misc;
	return 0;
}
