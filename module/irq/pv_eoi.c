// SPDX-License-Identifier: GPL-2.0
/*
 * PV EOI, KVM's paravirtual end of interrupt (KVM_FEATURE_PV_EOI,
 * MSR_KVM_PV_EOI_EN; Documentation/virt/kvm/x86/msr.rst).  The guest names
 * a byte of its memory.  Before an entry that follows the injection of an
 * interrupt whose EOI no IOAPIC waits for (kvisor_lapic_pv_eoi_vector(),
 * kvisor_irq_eoi_needed()), kvisor sets bit 0 there; a Linux guest's EOI then clears the
 * bit instead of writing the EOI register, which saves the exit.  After
 * the next exit kvisor looks: bit clear, the guest has done its EOI and
 * kvisor does it for the LAPIC; bit still set, the guest has not, and
 * kvisor clears it again so that the guest's EOI, whenever it comes, is a
 * real one.  The flag is thus only ever set while the vCPU runs, and
 * kvisor is the only one to look at it in between, as in KVM.
 */
#include <linux/kernel.h>
#include <linux/kvm_para.h>

#include "core/kvisor.h"

int kvisor_pv_eoi_get_msr(struct kvisor_vcpu *vcpu, u64 *val)
{
	if (!kvisor_pv_has(vcpu, KVM_FEATURE_PV_EOI))
		return -EINVAL;
	*val = vcpu->pv_eoi_msr;
	return 0;
}

/*
 * As KVM: the flag's address 4-byte aligned (bit 1 set is refused), and
 * when enabled, in guest memory; disabled, any aligned value is kept.
 */
int kvisor_pv_eoi_set_msr(struct kvisor_vcpu *vcpu, u64 val)
{
	u64 gpa = val & ~(u64)KVM_MSR_ENABLED;
	u8 probe;

	if (!kvisor_pv_has(vcpu, KVM_FEATURE_PV_EOI) || !IS_ALIGNED(gpa, 4))
		return -EINVAL;
	if ((val & KVM_MSR_ENABLED) &&
	    kvisor_read_guest(vcpu->vm, gpa, &probe, sizeof(probe)))
		return -EINVAL;
	/* A flag set at the old address is forgotten with it. */
	vcpu->pv_eoi_pending = false;
	vcpu->pv_eoi_msr = val;
	return 0;
}

/*
 * Preemptible, right before the entry, after the injection.  A level-
 * triggered vector an IOAPIC pin uses must have its EOI at once (the
 * pin's Remote IRR waits for it), as in KVM; a level-triggered IPI's
 * need not.
 */
void kvisor_pv_eoi_before_entry(struct kvisor_vcpu *vcpu)
{
	u8 flag = KVM_PV_EOI_ENABLED;
	bool level = false;
	int vec;

	if (!(vcpu->pv_eoi_msr & KVM_MSR_ENABLED) || vcpu->pv_eoi_pending)
		return;
	vec = kvisor_lapic_pv_eoi_vector(vcpu, &level);
	if (vec < 0 || (level && kvisor_irq_eoi_needed(vcpu->vm, vec)))
		return;
	if (kvisor_write_guest(vcpu->vm, vcpu->pv_eoi_msr & ~(u64)KVM_MSR_ENABLED,
			       &flag, sizeof(flag)))
		return;
	vcpu->pv_eoi_pending = true;
}

/* Preemptible, after each exit, before it is handled. */
void kvisor_pv_eoi_after_exit(struct kvisor_vcpu *vcpu)
{
	u64 gpa = vcpu->pv_eoi_msr & ~(u64)KVM_MSR_ENABLED;
	u8 flag, off = KVM_PV_EOI_DISABLED;

	if (!vcpu->pv_eoi_pending)
		return;
	vcpu->pv_eoi_pending = false;
	/*
	 * Unreadable (the slot went away): KVM takes that as the guest's
	 * EOI, which keeps the LAPIC from waiting forever for one.
	 */
	if (kvisor_read_guest(vcpu->vm, gpa, &flag, sizeof(flag)))
		flag = 0;
	if (flag & KVM_PV_EOI_ENABLED) {
		kvisor_write_guest(vcpu->vm, gpa, &off, sizeof(off));
		return;
	}
	kvisor_lapic_pv_eoi(vcpu);
}
