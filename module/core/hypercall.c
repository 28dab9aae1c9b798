// SPDX-License-Identifier: GPL-2.0
/*
 * KVM's hypercall ABI (Documentation/virt/kvm/x86/hypercalls.rst), the
 * quirk switches of KVM_CAP_DISABLE_QUIRKS2 and the paravirtual features
 * KVM_CAP_ENFORCE_PV_FEATURE_CPUID holds to the guest's CPUID.
 *
 * A hypercall is VMCALL on Intel and VMMCALL on AMD: the number in RAX,
 * up to four arguments in RBX, RCX, RDX and RSI, the result back in RAX,
 * all 32 bits wide outside 64-bit mode.  A guest that was migrated from
 * the other vendor runs the other instruction, which raises #UD; kvisor
 * intercepts #UD on both vendors to find it and, as KVM does while
 * KVM_X86_QUIRK_FIX_HYPERCALL_INSN is on, writes the native instruction
 * over it and lets the guest run it again.
 *
 * Implemented hypercalls: KVM_HC_VAPIC_POLL_IRQ (nothing to do: pending
 * interrupts are looked at before every entry), KVM_HC_KICK_CPU (PV
 * spinlocks' wake-up, PV_UNHALT), KVM_HC_SEND_IPI (PV_SEND_IPI) and
 * KVM_HC_SCHED_YIELD (a directed yield), each offered in
 * KVM_GET_SUPPORTED_CPUID.  KVM_HC_CLOCK_PAIRING and KVM_HC_MAP_GPA_RANGE
 * answer -KVM_ENOSYS.
 *
 * The other paravirtual features are elsewhere: kvmclock (kvmclock.c),
 * poll control (msrs.c, halt.c), steal time and the PV TLB flush
 * (steal.c), PV EOI (irq/pv_eoi.c).  Async page faults kvisor does not
 * have.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/sched.h>
#include <linux/sched/stat.h>
#include <linux/kvm_para.h>
#include <asm/apicdef.h>
#include <asm/trapnr.h>

#include "core/kvisor.h"
#include "core/trace.h"

/*
 * The paravirtual feature bits of the vCPU's KVM_CPUID_FEATURES leaf, as
 * KVM finds it: below the "KVMKVMKVM" signature, which may sit at any
 * 0x100 step of the hypervisor range (a VMM offering Hyper-V puts KVM's
 * after), provided the signature leaf's EAX reaches it.
 */
static u32 kvisor_pv_features(struct kvisor_vcpu *vcpu)
{
	struct kvm_cpuid_entry2 *e;
	u32 base;

	for (base = KVM_CPUID_SIGNATURE; base < 0x40010000; base += 0x100) {
		e = kvisor_vcpu_cpuid_find(vcpu, base, 0, true);
		if (!e || e->ebx != 0x4b4d564b || e->ecx != 0x564b4d56 ||
		    e->edx != 0x4d)
			continue;
		if (e->eax && e->eax < (base | KVM_CPUID_FEATURES))
			return 0;
		e = kvisor_vcpu_cpuid_find(vcpu, base | KVM_CPUID_FEATURES, 0,
					   true);
		return e ? e->eax : 0;
	}
	return 0;
}

/*
 * KVM's guest_pv_has(): every paravirtual feature is there unless
 * userspace asked, with KVM_CAP_ENFORCE_PV_FEATURE_CPUID, to hold the
 * guest to what its CPUID offers.
 */
bool kvisor_pv_has(struct kvisor_vcpu *vcpu, unsigned int feature)
{
	if (!READ_ONCE(vcpu->pv_enforce))
		return true;
	return kvisor_pv_features(vcpu) & BIT(feature);
}

/*
 * The vCPU whose LAPIC has physical APIC ID @id, or NULL.  kvisor's LAPIC
 * gives each vCPU its vCPU ID as APIC ID, in both modes.
 */
static struct kvisor_vcpu *kvisor_vcpu_by_apic_id(struct kvisor_vm *vm,
						  u64 id)
{
	/* pairs with the release that publishes a new vCPU */
	int nr = smp_load_acquire(&vm->nr_vcpus), i;
	struct kvisor_vcpu *v;

	for (i = 0; i < nr && i < KVISOR_MAX_VCPUS; i++) {
		v = READ_ONCE(vm->vcpus[i]);
		if (v && v->apic && v->id == id)
			return v;
	}
	return NULL;
}

/*
 * KVM_HC_SCHED_YIELD: the caller waits for the vCPU with APIC ID @dest,
 * which it saw preempted (steal time's flag).  A hint: where something
 * else wants this host CPU and the target could run (it is runnable and
 * not in the guest), give the rest of the time slice to its thread, as
 * KVM does.
 */
static void kvisor_pv_sched_yield(struct kvisor_vcpu *vcpu, u64 dest)
{
	struct kvisor_vcpu *target;

	vcpu->stat.directed_yield_attempted++;
	if (!vcpu->apic || single_task_running())
		return;
	target = kvisor_vcpu_by_apic_id(vcpu->vm, dest);
	if (!target || target == vcpu || READ_ONCE(target->in_guest) ||
	    READ_ONCE(target->mp_state) != KVM_MP_STATE_RUNNABLE)
		return;
	if (kvisor_vcpu_yield_to(target) > 0)
		vcpu->stat.directed_yield_successful++;
}

/*
 * KVM_HC_KICK_CPU: a PV spinlock's waiter, halted, is woken by the lock's
 * holder (KVM's kvm_pv_kick_cpu_op(), a "remote read" IPI).  The kick is
 * kept until the target's next halt ends, so that one that comes before
 * the HLT it is meant for is not lost; then the caller yields to it.
 */
static void kvisor_pv_kick(struct kvisor_vcpu *vcpu, u64 dest)
{
	struct kvisor_vcpu *target = kvisor_vcpu_by_apic_id(vcpu->vm, dest);

	if (target) {
		WRITE_ONCE(target->pv_unhalted, true);
		kvisor_vcpu_kick(target);
	}
	kvisor_pv_sched_yield(vcpu, dest);
}

/* The ICR fields KVM_HC_SEND_IPI refuses: logical mode, shorthands. */
#define KVISOR_PV_IPI_BAD_ICR	(APIC_DEST_LOGICAL | (3 << 18))

/*
 * KVM_HC_SEND_IPI: @icr (vector, delivery mode, level) to each APIC ID
 * @min + i for the set bits i of @lo, and @min + 32 or 64 + i for those of
 * @hi (32 or 64 bits each, by the caller's mode), as KVM's
 * kvm_pv_send_ipi(), whose second base wraps at 32 bits.  Returns how
 * many LAPICs took it, or -KVM_EINVAL.
 */
static long kvisor_pv_send_ipi(struct kvisor_vcpu *vcpu, u64 lo, u64 hi,
			       u32 min, u64 icr, bool op_64_bit)
{
	unsigned int bits = op_64_bit ? 64 : 32, i;
	u64 map[2] = { lo, hi };
	u32 base;
	struct kvisor_apic_irq irq = {
		.vector = icr & APIC_VECTOR_MASK,
		.dm = (icr >> 8) & 7,
		.level = icr & APIC_INT_LEVELTRIG,
		.assert = !(icr & APIC_INT_LEVELTRIG) || (icr & APIC_INT_ASSERT),
	};
	struct kvisor_vcpu *target;
	long count = 0;

	if (icr & KVISOR_PV_IPI_BAD_ICR)
		return -KVM_EINVAL;
	if (!vcpu->apic)
		return 0;
	for (i = 0; i < 2 * bits; i++) {
		if (!(map[i / bits] & BIT_ULL(i % bits)))
			continue;
		base = min + (i / bits) * bits;
		/* IDs past 32 bits name no vCPU */
		target = kvisor_vcpu_by_apic_id(vcpu->vm,
						(u64)base + i % bits);
		if (target)
			count += kvisor_apic_deliver_to(target, vcpu, &irq);
	}
	return count;
}

/*
 * VMCALL or VMMCALL of @len bytes at privilege level @cpl.  As KVM: from
 * CPL > 0 the result is -KVM_EPERM, an unknown number -KVM_ENOSYS, and a
 * feature the guest's CPUID withholds (when enforced) the same.
 */
int kvisor_handle_hypercall(struct kvisor_vcpu *vcpu, int cpl,
			    unsigned int len)
{
	u64 nr = vcpu->regs[EMU_RAX], a0 = vcpu->regs[EMU_RBX];
	u64 a1 = vcpu->regs[EMU_RCX], a2 = vcpu->regs[EMU_RDX];
	u64 a3 = vcpu->regs[EMU_RSI];
	struct emu_ctxt ctxt;
	bool op_64_bit;
	long ret;

	vcpu->exits[KVISOR_EXIT_OTHER]++;
	vcpu->stat.hypercalls++;
	kvisor_ops->get_cpu_mode(vcpu, &ctxt);
	op_64_bit = ctxt.mode == EMU_MODE_LONG64;
	if (!op_64_bit) {
		nr = (u32)nr;
		a0 = (u32)a0;
		a1 = (u32)a1;
		a2 = (u32)a2;
		a3 = (u32)a3;
	}
	trace_kvm_hypercall(nr, a0, a1, a2, a3);

	ret = -KVM_ENOSYS;
	if (cpl) {
		ret = -KVM_EPERM;
	} else if (nr == KVM_HC_VAPIC_POLL_IRQ) {
		ret = 0;
	} else if (nr == KVM_HC_KICK_CPU &&
		   kvisor_pv_has(vcpu, KVM_FEATURE_PV_UNHALT)) {
		kvisor_pv_kick(vcpu, a1);
		ret = 0;
	} else if (nr == KVM_HC_SEND_IPI &&
		   kvisor_pv_has(vcpu, KVM_FEATURE_PV_SEND_IPI)) {
		ret = kvisor_pv_send_ipi(vcpu, a0, a1, a2, a3, op_64_bit);
	} else if (nr == KVM_HC_SCHED_YIELD &&
		   kvisor_pv_has(vcpu, KVM_FEATURE_PV_SCHED_YIELD)) {
		kvisor_pv_sched_yield(vcpu, a0);
		ret = 0;
	}

	vcpu->regs[EMU_RAX] = op_64_bit ? (u64)ret : (u32)ret;
	kvisor_skip_insn(vcpu, len);
	return 1;
}

/*
 * Copy the @len bytes at CS:RIP from (@write false) or to the guest,
 * through its page tables a byte at a time: an instruction may straddle
 * a page boundary.  A #PF on the way is queued for the guest (1).
 */
static int kvisor_access_insn(struct kvisor_vcpu *vcpu, u8 *buf,
			      unsigned int len, bool write)
{
	struct emu_ctxt ctxt;
	unsigned int i;
	u32 pf_error;
	u64 gva, gpa;
	int r;

	kvisor_ops->get_cpu_mode(vcpu, &ctxt);
	for (i = 0; i < len; i++) {
		gva = ctxt.seg_base[EMU_SEG_CS] + vcpu->rip + i;
		if (ctxt.mode != EMU_MODE_LONG64)
			gva = (u32)gva;
		r = kvisor_gva_to_gpa(vcpu, gva, write, !write, &gpa,
				      &pf_error);
		if (r == -EACCES) {
			kvisor_queue_pf(vcpu, gva, pf_error);
			return 1;
		}
		if (!r)
			r = write ? kvisor_write_guest(vcpu->vm, gpa, &buf[i], 1) :
				    kvisor_read_guest(vcpu->vm, gpa, &buf[i], 1);
		if (r)
			return -EFAULT;
	}
	return 0;
}

static const u8 kvisor_vmcall[KVISOR_HYPERCALL_LEN] = { 0x0f, 0x01, 0xc1 };
static const u8 kvisor_vmmcall[KVISOR_HYPERCALL_LEN] = { 0x0f, 0x01, 0xd9 };

/*
 * The guest raised #UD and the backend intercepted it.  The one #UD kvisor
 * acts on is the other vendor's hypercall instruction (@native is this
 * vendor's): with KVM_X86_QUIRK_FIX_HYPERCALL_INSN on, as by default, the
 * native instruction is written over it and the guest, at the same RIP,
 * runs that as its hypercall.  Every other #UD goes back to the guest.
 */
int kvisor_handle_ud(struct kvisor_vcpu *vcpu, const u8 *native)
{
	const u8 *other = native[2] == kvisor_vmcall[2] ? kvisor_vmmcall :
							  kvisor_vmcall;
	u8 insn[KVISOR_HYPERCALL_LEN];
	int r;

	vcpu->exits[KVISOR_EXIT_OTHER]++;
	if (!kvisor_has_quirk(vcpu->vm, KVM_X86_QUIRK_FIX_HYPERCALL_INSN))
		goto ud;
	r = kvisor_access_insn(vcpu, insn, sizeof(insn), false);
	if (r > 0)
		return 1;	/* the fetch faults now: that #PF is queued */
	if (r)
		goto ud;
	if (memcmp(insn, other, sizeof(insn)))
		goto ud;
	memcpy(insn, native, sizeof(insn));
	r = kvisor_access_insn(vcpu, insn, sizeof(insn), true);
	if (r < 0)
		goto ud;
	/* Patched, or a #PF for the write is queued: RIP stays. */
	return 1;
ud:
	kvisor_ops->queue_exception(vcpu, X86_TRAP_UD, false, 0);
	return 1;
}

/* The guest's CPUID.1:ECX.MONITOR, as the guest reads it now. */
static bool kvisor_guest_has_mwait(struct kvisor_vcpu *vcpu)
{
	struct kvm_cpuid_entry2 *e = kvisor_vcpu_cpuid_find(vcpu, 1, 0, true);

	if (!kvisor_has_quirk(vcpu->vm, KVM_X86_QUIRK_MISC_ENABLE_NO_MWAIT))
		return e && (vcpu->misc_enable & MSR_IA32_MISC_ENABLE_MWAIT);
	return e && (e->ecx & BIT(X86_FEATURE_MWAIT & 31));
}

/*
 * MONITOR and MWAIT, always intercepted: kvisor does not let a guest
 * sleep on a host CPU.  As KVM, both are NOPs, which is what MWAIT may
 * be (a wakeup is allowed at any time); with
 * KVM_X86_QUIRK_MWAIT_NEVER_UD_FAULTS disabled, they raise #UD where the
 * guest's CPUID does not offer them.
 */
int kvisor_handle_monitor_mwait(struct kvisor_vcpu *vcpu, unsigned int len)
{
	vcpu->exits[KVISOR_EXIT_OTHER]++;
	if (!kvisor_has_quirk(vcpu->vm, KVM_X86_QUIRK_MWAIT_NEVER_UD_FAULTS) &&
	    !kvisor_guest_has_mwait(vcpu)) {
		kvisor_ops->queue_exception(vcpu, X86_TRAP_UD, false, 0);
		return 1;
	}
	kvisor_skip_insn(vcpu, len);
	return 1;
}

/*
 * KVM_CAP_DISABLE_QUIRKS2: the quirks kvisor has, each on unless
 * userspace switches it off.  The others of KVM 6.1's list kvisor could
 * not switch off as KVM does, so they are refused: CD_NW_CLEARED,
 * LAPIC_MMIO_HOLE and OUT_7E_INC_RIP.
 */
int kvisor_disable_quirks(struct kvisor_vm *vm, u64 quirks)
{
	if (quirks & ~KVISOR_QUIRKS)
		return -EINVAL;
	WRITE_ONCE(vm->disabled_quirks, quirks);
	return 0;
}
