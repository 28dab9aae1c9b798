// SPDX-License-Identifier: GPL-2.0
/*
 * Debug registers and guest debugging, vendor-neutral.
 *
 * The guest's DR0-3, DR6 and DR7 are vCPU state kept here: every MOV to
 * or from a debug register exits and is emulated, so the guest never
 * touches the host's registers.  The hardware runs the guest with the
 * effective DR7 (the guest's, or userspace's under KVM_GUESTDBG_USE_HW_BP)
 * in the VMCS/VMCB, and with the effective DR0-3 loaded around entry only
 * while that DR7 enables a breakpoint.  #DB always exits: its new status
 * bits are merged into the guest's DR6 before it is reinjected, or, when
 * userspace debugs the guest, reported in KVM_EXIT_DEBUG.
 *
 * Instructions kvisor completes in an exit handler never raise the
 * single-step trap in hardware (the exit came first); kvisor_skip_insn() marks
 * them and kvisor_debug_before_run() raises the trap instead, as KVM's
 * kvm_skip_emulated_instruction() does.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/uaccess.h>
#include <asm/debugreg.h>
#include <asm/processor-flags.h>
#include <asm/trapnr.h>

#include "core/kvisor.h"

#define KV_DR6_ACTIVE_LOW	0xffff0ff0ULL	/* also DR6's reset value */
#define KV_DR6_HIT		0xfULL		/* B0-B3 */
#define KV_DR6_BD		BIT_ULL(13)
#define KV_DR6_BS		BIT_ULL(14)
#define KV_DR6_BT		BIT_ULL(15)
/* What a guest can set in DR6: no RTM or bus-lock detection offered. */
#define KV_DR6_VOLATILE		(KV_DR6_HIT | KV_DR6_BD | KV_DR6_BS | KV_DR6_BT)
#define KV_DR7_FIXED_1		0x400ULL
#define KV_DR7_VOLATILE		0xffff2bffULL
#define KV_DR7_GD		BIT_ULL(13)
#define KV_DR7_BP_EN		0xffULL		/* L0-3, G0-3 */

#define KV_GUESTDBG_VALID	(KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP | \
				 KVM_GUESTDBG_USE_HW_BP | KVM_GUESTDBG_USE_SW_BP | \
				 KVM_GUESTDBG_INJECT_BP | KVM_GUESTDBG_INJECT_DB | \
				 KVM_GUESTDBG_BLOCKIRQ)

static bool kvisor_user_hw_bp(struct kvisor_vcpu *vcpu)
{
	return vcpu->guest_debug & KVM_GUESTDBG_USE_HW_BP;
}

static u64 kvisor_eff_dr7(struct kvisor_vcpu *vcpu)
{
	return kvisor_user_hw_bp(vcpu) ? vcpu->user_dr7 : vcpu->dr7;
}

/* Tell the backend what the hardware must now run the guest with. */
static void kvisor_debug_update(struct kvisor_vcpu *vcpu)
{
	kvisor_ops->set_debug(vcpu, kvisor_eff_dr7(vcpu),
			      vcpu->guest_debug & KVM_GUESTDBG_USE_SW_BP);
}

/* The reset state (RESET and INIT alike), before the backend exists. */
void kvisor_debug_init(struct kvisor_vcpu *vcpu)
{
	memset(vcpu->db, 0, sizeof(vcpu->db));
	vcpu->dr6 = KV_DR6_ACTIVE_LOW;
	vcpu->dr7 = KV_DR7_FIXED_1;
	vcpu->step_done = false;
}

/* INIT: the reset state, and into the hardware. */
void kvisor_debug_reset(struct kvisor_vcpu *vcpu)
{
	kvisor_debug_init(vcpu);
	kvisor_debug_update(vcpu);
}

/* CS base + RIP, which KVM_EXIT_DEBUG reports as the pc. */
static u64 kvisor_linear_rip(struct kvisor_vcpu *vcpu, struct emu_ctxt *ctxt)
{
	kvisor_ops->get_cpu_mode(vcpu, ctxt);
	if (ctxt->mode == EMU_MODE_LONG64)
		return vcpu->rip;
	return (u32)(ctxt->seg_base[EMU_SEG_CS] + vcpu->rip);
}

static int kvisor_debug_exit(struct kvisor_vcpu *vcpu, int vector, u64 dr6)
{
	struct kvm_run *run = vcpu->run;
	struct emu_ctxt ctxt;

	run->exit_reason = KVM_EXIT_DEBUG;
	run->debug.arch.exception = vector;
	run->debug.arch.pc = kvisor_linear_rip(vcpu, &ctxt);
	/* As KVM, a #BP exit leaves DR6 and DR7 as the last #DB set them. */
	if (vector == X86_TRAP_DB) {
		run->debug.arch.dr6 = dr6;
		run->debug.arch.dr7 = kvisor_eff_dr7(vcpu);
	}
	return 0;
}

/*
 * Deliver #DB to the guest with the status bits @hits (B0-3, BD, BS, BT)
 * in DR6: the hit bits replace the old ones, the others accumulate, as
 * the CPU does.  Entering the handler clears DR7.GD, or the handler could
 * not read DR6.
 */
static void kvisor_queue_db(struct kvisor_vcpu *vcpu, u64 hits)
{
	vcpu->dr6 = (vcpu->dr6 & ~KV_DR6_HIT) | KV_DR6_ACTIVE_LOW |
		    (hits & KV_DR6_VOLATILE);
	if (vcpu->dr7 & KV_DR7_GD) {
		vcpu->dr7 &= ~KV_DR7_GD;
		kvisor_debug_update(vcpu);
	}
	kvisor_ops->queue_exception(vcpu, X86_TRAP_DB, false, 0);
}

/*
 * A #DB the guest raised, with its status bits in positive polarity (the
 * VMX exit qualification's layout).  Userspace gets it when it
 * single-steps or has hardware breakpoints, as in KVM; else the guest.
 */
int kvisor_handle_db(struct kvisor_vcpu *vcpu, u64 bits)
{
	if (vcpu->guest_debug & (KVM_GUESTDBG_SINGLESTEP | KVM_GUESTDBG_USE_HW_BP))
		return kvisor_debug_exit(vcpu, X86_TRAP_DB, KV_DR6_ACTIVE_LOW |
					 (bits & KV_DR6_VOLATILE));
	kvisor_queue_db(vcpu, bits);
	return 1;
}

/* INT3, intercepted only for KVM_GUESTDBG_USE_SW_BP: RIP is at the INT3. */
int kvisor_handle_bp(struct kvisor_vcpu *vcpu)
{
	if (vcpu->guest_debug & KVM_GUESTDBG_USE_SW_BP)
		return kvisor_debug_exit(vcpu, X86_TRAP_BP, 0);
	/*
	 * #BP is a trap: the handler returns after the one-byte INT3.  Not a
	 * completed instruction but one re-injected, so no single-step trap
	 * is owed (delivering the #BP clears TF), and RIP moves here.
	 */
	vcpu->rip++;
	kvisor_ops->queue_exception(vcpu, X86_TRAP_BP, false, 0);
	return 1;
}

static int kvisor_dr_fault(struct kvisor_vcpu *vcpu, int vector)
{
	kvisor_ops->queue_exception(vcpu, vector, vector == X86_TRAP_GP, 0);
	return 1;
}

static int kvisor_set_dr(struct kvisor_vcpu *vcpu, int dr, u64 val)
{
	switch (dr) {
	case 0 ... 3:
		vcpu->db[dr] = val;
		break;
	case 6:
		if (val >> 32)
			return -EINVAL;
		vcpu->dr6 = (val & KV_DR6_VOLATILE) | KV_DR6_ACTIVE_LOW;
		break;
	default:
		if (val >> 32)
			return -EINVAL;
		vcpu->dr7 = (val & KV_DR7_VOLATILE) | KV_DR7_FIXED_1;
		kvisor_debug_update(vcpu);
		break;
	}
	return 0;
}

static u64 kvisor_get_dr(struct kvisor_vcpu *vcpu, int dr)
{
	switch (dr) {
	case 0 ... 3:
		return vcpu->db[dr];
	case 6:
		return vcpu->dr6;
	default:
		return vcpu->dr7;
	}
}

/*
 * MOV to (@write) or from DR@dr with general-purpose register @gpr, an
 * instruction of @len bytes.  The CPU checked CPL 0 before the exit; the
 * rest is the instruction's own rules.
 */
int kvisor_handle_dr(struct kvisor_vcpu *vcpu, int dr, bool write, int gpr,
		     unsigned int len)
{
	struct emu_ctxt ctxt;
	u64 cr0, cr3, cr4, efer, val;

	vcpu->exits[KVISOR_EXIT_OTHER]++;
	if (dr < 0 || dr > 7 || gpr < 0 || gpr >= EMU_NR_GPRS)
		return kvisor_dr_fault(vcpu, X86_TRAP_UD);
	kvisor_ops->get_paging(vcpu, &cr0, &cr3, &cr4, &efer);
	/* DR4 and DR5 are DR6 and DR7 unless debugging extensions are on. */
	if (dr == 4 || dr == 5) {
		if (cr4 & X86_CR4_DE)
			return kvisor_dr_fault(vcpu, X86_TRAP_UD);
		dr += 2;
	}
	/* The exit comes before DR7.GD's #DB: raise it here. */
	if (kvisor_eff_dr7(vcpu) & KV_DR7_GD) {
		if (kvisor_user_hw_bp(vcpu))
			return kvisor_debug_exit(vcpu, X86_TRAP_DB,
						 KV_DR6_ACTIVE_LOW | KV_DR6_BD);
		kvisor_queue_db(vcpu, KV_DR6_BD);
		return 1;
	}
	kvisor_ops->get_cpu_mode(vcpu, &ctxt);
	if (write) {
		val = vcpu->regs[gpr];
		if (ctxt.mode != EMU_MODE_LONG64)
			val = (u32)val;
		if (kvisor_set_dr(vcpu, dr, val))
			return kvisor_dr_fault(vcpu, X86_TRAP_GP);
	} else {
		val = kvisor_get_dr(vcpu, dr);
		vcpu->regs[gpr] = ctxt.mode == EMU_MODE_LONG64 ? val : (u32)val;
	}
	kvisor_skip_insn(vcpu, len);
	return 1;
}

/*
 * Without decode assists (QEMU's SVM) an exit names the control or debug
 * register but not the general-purpose one: read MOV CR/DR at RIP (0F
 * @opcode /r; ModRM.reg plus REX.R the CR or DR, ModRM.rm plus REX.B the
 * GPR, whatever ModRM.mod says).  0 with *@reg, *@gpr, the length in
 * *@len and the CPU mode in *@ctxt; -EFAULT if the bytes at RIP cannot be
 * read or are not that instruction.
 */
int kvisor_decode_mov_crdr(struct kvisor_vcpu *vcpu, u8 opcode, int *reg,
			   int *gpr, unsigned int *len, struct emu_ctxt *ctxt)
{
	u8 b[EMU_MAX_INSN_LEN];
	u32 pf_error, n;
	u8 rex = 0;
	u64 gpa;
	int i;

	kvisor_ops->get_cpu_mode(vcpu, ctxt);
	if (kvisor_gva_to_gpa(vcpu, ctxt->seg_base[EMU_SEG_CS] + vcpu->rip,
			      false, true, &gpa, &pf_error))
		return -EFAULT;
	/* The bytes on the next page are not needed: MOV CR/DR is short. */
	n = min_t(u64, sizeof(b), PAGE_SIZE - offset_in_page(gpa));
	memset(b, 0, sizeof(b));
	if (kvisor_read_guest(vcpu->vm, gpa, b, n))
		return -EFAULT;
	for (i = 0; i < sizeof(b) - 2; i++) {
		if (ctxt->mode == EMU_MODE_LONG64 && (b[i] & 0xf0) == 0x40) {
			rex = b[i];
			continue;
		}
		switch (b[i]) {
		case 0x26: case 0x2e: case 0x36: case 0x3e: case 0x64:
		case 0x65: case 0x66: case 0x67: case 0xf0: case 0xf2:
		case 0xf3:
			rex = 0;	/* a REX counts only right before 0F */
			continue;
		}
		break;
	}
	if (i >= sizeof(b) - 2 || b[i] != 0x0f || b[i + 1] != opcode)
		return -EFAULT;
	*reg = ((b[i + 2] >> 3) & 7) | ((rex & 4) << 1);
	*gpr = (b[i + 2] & 7) | ((rex & 1) << 3);
	*len = i + 3;
	return 0;
}

int kvisor_handle_dr_decode(struct kvisor_vcpu *vcpu, int dr, bool write)
{
	struct emu_ctxt ctxt;
	unsigned int len;
	int gpr;

	if (kvisor_decode_mov_crdr(vcpu, write ? 0x23 : 0x21, &dr, &gpr, &len,
				   &ctxt))
		return kvisor_handle_internal_error(vcpu,
				KVM_INTERNAL_ERROR_EMULATION, vcpu->rip, dr);
	/* REX.R names DR8-15, which do not exist. */
	if (dr > 7)
		return kvisor_dr_fault(vcpu, X86_TRAP_UD);
	return kvisor_handle_dr(vcpu, dr, write, gpr, len);
}

/*
 * Before each entry.  Single-stepping sets RFLAGS.TF for the guest.  An
 * instruction an exit handler completed owes its single-step trap: to
 * userspace when it single-steps the guest, else to the guest if its own
 * TF was set.  1 to enter the guest, 0 for KVM_EXIT_DEBUG.
 */
int kvisor_debug_before_run(struct kvisor_vcpu *vcpu)
{
	bool step = vcpu->guest_debug & KVM_GUESTDBG_SINGLESTEP;

	if (unlikely(vcpu->step_done)) {
		vcpu->step_done = false;
		if (step)
			return kvisor_debug_exit(vcpu, X86_TRAP_DB,
						 KV_DR6_ACTIVE_LOW | KV_DR6_BS);
		if (vcpu->rflags & X86_EFLAGS_TF)
			kvisor_queue_db(vcpu, KV_DR6_BS);
	}
	if (step)
		vcpu->rflags |= X86_EFLAGS_TF;
	return 1;
}

/* RFLAGS as KVM_GET_REGS shows it: without the TF single-stepping set. */
u64 kvisor_debug_user_rflags(struct kvisor_vcpu *vcpu)
{
	if (vcpu->guest_debug & KVM_GUESTDBG_SINGLESTEP)
		return vcpu->rflags & ~X86_EFLAGS_TF;
	return vcpu->rflags;
}

/*
 * Whether the breakpoints kvisor_debug_enter_irqoff() loaded may be armed
 * with @dr7 in host mode, for the few instructions before the entry (a
 * backend's emulator workaround, svm/vcpu.c): only with a DR7 the CPU
 * takes (bits 63:32 clear; userspace may give any value, as KVM lets it,
 * and the entry then fails on the VMCB's or VMCS's copy instead), and only
 * when every enabled breakpoint is on a user address, which the host's
 * code and stack on that path never are.
 */
bool kvisor_debug_host_safe(struct kvisor_vcpu *vcpu, u64 dr7)
{
	const u64 *db = kvisor_user_hw_bp(vcpu) ? vcpu->user_db : vcpu->db;
	int i;

	if (dr7 >> 32)
		return false;
	for (i = 0; i < 4; i++)
		if ((dr7 & (3ULL << (i * 2))) && db[i] >= TASK_SIZE_MAX)
			return false;
	return true;
}

/*
 * Interrupts off, right before entry: the effective DR0-3 go into the
 * hardware only when the effective DR7 enables a breakpoint.  Host
 * breakpoints are disabled first, or they would fire on the guest's
 * addresses in the host until the entry.
 */
void kvisor_debug_enter_irqoff(struct kvisor_vcpu *vcpu)
{
	const u64 *db = kvisor_user_hw_bp(vcpu) ? vcpu->user_db : vcpu->db;

	vcpu->db_loaded = false;
	if (likely(!(kvisor_eff_dr7(vcpu) & KV_DR7_BP_EN)))
		return;
	if (hw_breakpoint_active())
		set_debugreg(0, 7);
	set_debugreg(db[0], 0);
	set_debugreg(db[1], 1);
	set_debugreg(db[2], 2);
	set_debugreg(db[3], 3);
	vcpu->db_loaded = true;
}

/*
 * Interrupts off, right after the exit, which left DR7 with every
 * breakpoint disabled: the host's come back.  Without host breakpoints
 * the guest's addresses may stay in DR0-3, disabled.
 */
void kvisor_debug_exit_irqoff(struct kvisor_vcpu *vcpu)
{
	if (hw_breakpoint_active())
		hw_breakpoint_restore();
	else if (unlikely(vcpu->db_loaded))
		set_debugreg(0, 7);
	vcpu->db_loaded = false;
}

static int kvisor_set_debugregs(struct kvisor_vcpu *vcpu,
				const struct kvm_debugregs *d)
{
	if (d->flags || d->dr6 >> 32 || d->dr7 >> 32)
		return -EINVAL;
	memcpy(vcpu->db, d->db, sizeof(vcpu->db));
	vcpu->dr6 = d->dr6;
	vcpu->dr7 = d->dr7;
	kvisor_debug_update(vcpu);
	return 0;
}

static int kvisor_set_guest_debug(struct kvisor_vcpu *vcpu,
				  const struct kvm_guest_debug *dbg)
{
	struct kvisor_event_state st;
	u32 control = dbg->control;

	if (control & ~KV_GUESTDBG_VALID)
		return -EINVAL;
	if (control & (KVM_GUESTDBG_INJECT_DB | KVM_GUESTDBG_INJECT_BP)) {
		kvisor_ops->get_event_state(vcpu, &st);
		if ((st.event & KVISOR_EVT_VALID) &&
		    KVISOR_EVT_TYPE(st.event) == KVISOR_EVT_EXCEPTION)
			return -EBUSY;
		kvisor_ops->queue_exception(vcpu, control & KVM_GUESTDBG_INJECT_DB ?
					    X86_TRAP_DB : X86_TRAP_BP, false, 0);
	}
	/* The TF single-stepping set goes, and comes back if still asked. */
	if (vcpu->guest_debug & KVM_GUESTDBG_SINGLESTEP)
		vcpu->rflags &= ~X86_EFLAGS_TF;
	vcpu->guest_debug = (control & KVM_GUESTDBG_ENABLE) ? control : 0;
	if (vcpu->guest_debug & KVM_GUESTDBG_SINGLESTEP)
		vcpu->rflags |= X86_EFLAGS_TF;
	if (kvisor_user_hw_bp(vcpu)) {
		memcpy(vcpu->user_db, dbg->arch.debugreg, sizeof(vcpu->user_db));
		vcpu->user_dr7 = dbg->arch.debugreg[7];
	}
	kvisor_debug_update(vcpu);
	return 0;
}

/* KVM_GET_DEBUGREGS, KVM_SET_DEBUGREGS and KVM_SET_GUEST_DEBUG. */
long kvisor_debug_ioctl(struct kvisor_vcpu *vcpu, unsigned int ioctl,
			void __user *argp)
{
	union {
		struct kvm_debugregs regs;
		struct kvm_guest_debug dbg;
	} u;

	memset(&u, 0, sizeof(u));
	switch (ioctl) {
	case KVM_GET_DEBUGREGS:
		memcpy(u.regs.db, vcpu->db, sizeof(u.regs.db));
		u.regs.dr6 = vcpu->dr6;
		u.regs.dr7 = vcpu->dr7;
		return copy_to_user(argp, &u.regs, sizeof(u.regs)) ? -EFAULT : 0;
	case KVM_SET_DEBUGREGS:
		if (copy_from_user(&u.regs, argp, sizeof(u.regs)))
			return -EFAULT;
		return kvisor_set_debugregs(vcpu, &u.regs);
	case KVM_SET_GUEST_DEBUG:
		if (copy_from_user(&u.dbg, argp, sizeof(u.dbg)))
			return -EFAULT;
		return kvisor_set_guest_debug(vcpu, &u.dbg);
	}
	return -EINVAL;
}
