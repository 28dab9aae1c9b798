// SPDX-License-Identifier: GPL-2.0
/*
 * The vendor-neutral exit handlers.
 *
 * A backend decodes its hardware exit (a VMX exit reason, an SVM exit
 * code) and calls one of these with plain arguments.  Each returns 1 to
 * go back into the guest, 0 to return to userspace with vcpu->run filled
 * in, or a negative errno for KVM_RUN to return.
 *
 * Exits that need userspace to supply data (a port read, an MMIO read)
 * leave vcpu->pending set; the next KVM_RUN first calls
 * kvisor_complete_userspace_exit() to finish the instruction.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/smp.h>
#include <asm/fpu/xcr.h>
#include <asm/msr.h>
#include <asm/processor-flags.h>
#include <asm/special_insns.h>
#include <asm/trapnr.h>

#include <linux/kvisor.h>

#include "kvisor.h"

#define X86_VEC_PF	14

/* A #PF the emulation found, with the address the guest will see in CR2. */
static void kvisor_queue_pf(struct kvisor_vcpu *vcpu, u64 addr, u32 error)
{
	kvisor_ops->set_cr2(vcpu, addr);
	kvisor_ops->queue_exception(vcpu, X86_VEC_PF, true, error);
}

/* An instruction completed here: its single-step trap is due (debug.c). */
static void kvisor_skip(struct kvisor_vcpu *vcpu, u64 next_rip)
{
	vcpu->rip = next_rip;
	vcpu->step_done = true;
}

int kvisor_handle_hlt(struct kvisor_vcpu *vcpu, unsigned int len)
{
	vcpu->exits[KVISOR_EXIT_HLT]++;
	kvisor_skip(vcpu, vcpu->rip + len);
	/*
	 * With an in-kernel LAPIC the vCPU sleeps in the kernel until an
	 * interrupt arrives (vcpu.c); without, userspace decides.
	 */
	if (vcpu->apic) {
		vcpu->mp_state = KVM_MP_STATE_HALTED;
		return 1;
	}
	vcpu->run->exit_reason = KVM_EXIT_HLT;
	return 0;
}

/* Answered from the vCPU's KVM_SET_CPUID2 table (cpuid.c). */
int kvisor_handle_cpuid(struct kvisor_vcpu *vcpu, unsigned int len)
{
	vcpu->exits[KVISOR_EXIT_CPUID]++;
	kvisor_cpuid(vcpu);
	kvisor_skip(vcpu, vcpu->rip + len);
	return 1;
}

/* The guest can take an interrupt now: the run loop injects it. */
int kvisor_handle_irq_window(struct kvisor_vcpu *vcpu)
{
	vcpu->exits[KVISOR_EXIT_IRQ_WINDOW]++;
	kvisor_ops->set_irq_window(vcpu, false);
	return 1;
}

/* An NMI can be delivered now: the run loop injects it. */
int kvisor_handle_nmi_window(struct kvisor_vcpu *vcpu)
{
	vcpu->exits[KVISOR_EXIT_IRQ_WINDOW]++;
	kvisor_ops->set_nmi_window(vcpu, false);
	return 1;
}

int kvisor_handle_shutdown(struct kvisor_vcpu *vcpu)
{
	vcpu->exits[KVISOR_EXIT_SHUTDOWN]++;
	vcpu->run->exit_reason = KVM_EXIT_SHUTDOWN;
	return 0;
}

/* kvisor names the rule after KVM's fields: see <uapi/linux/kvisor.h>. */
static_assert(sizeof(struct kvisor_fail_entry) <=
	      sizeof(((struct kvm_run *)0)->padding));
static_assert(offsetof(struct kvisor_fail_entry, cpu) ==
	      offsetof(struct kvm_run, fail_entry.cpu) -
	      offsetof(struct kvm_run, fail_entry));

int kvisor_handle_fail_entry(struct kvisor_vcpu *vcpu, u64 reason)
{
	/* the exit union, of which fail_entry is one member */
	struct kvisor_fail_entry *fe = (void *)vcpu->run->padding;

	vcpu->exits[KVISOR_EXIT_OTHER]++;
	vcpu->run->exit_reason = KVM_EXIT_FAIL_ENTRY;
	memset(fe, 0, sizeof(*fe));
	fe->hardware_entry_failure_reason = reason;
	fe->cpu = raw_smp_processor_id();
	if (kvisor_ops->explain_fail_entry) {
		kvisor_ops->explain_fail_entry(vcpu, fe->rule, sizeof(fe->rule));
		fe->magic = KVISOR_FAIL_ENTRY_MAGIC;
		pr_info_ratelimited("vCPU %d: VM entry failed (%#llx): %s\n",
				    vcpu->id, reason, fe->rule);
	}
	return 0;
}

int kvisor_handle_internal_error(struct kvisor_vcpu *vcpu, u32 suberror,
				 u64 info0, u64 info1)
{
	struct kvm_run *run = vcpu->run;

	vcpu->exits[KVISOR_EXIT_OTHER]++;
	run->exit_reason = KVM_EXIT_INTERNAL_ERROR;
	run->internal.suberror = suberror;
	run->internal.ndata = 2;
	run->internal.data[0] = info0;
	run->internal.data[1] = info1;
	return 0;
}

/* MSRs and XCR0 --------------------------------------------------------- */

/*
 * The MSRs kvisor models.  EFER, PAT and the TSC offset live in the
 * VMCB/VMCS and belong to the backend; the SYSCALL and SYSENTER MSRs and
 * FS/GS bases are not intercepted at all (the backend reads and writes
 * them only for KVM_GET/SET_MSRS); anything else raises #GP, as KVM does
 * by default.
 */
/* TSC_ADJUST exists for the guest only if its CPUID says so, as in KVM. */
static bool kvisor_guest_has_tsc_adjust(struct kvisor_vcpu *vcpu)
{
	const struct kvm_cpuid_entry2 *e = kvisor_vcpu_cpuid_find(vcpu, 7, 0,
								  false);

	return e && (e->ebx & BIT(X86_FEATURE_TSC_ADJUST & 31));
}

/*
 * The guest's TSC and IA32_TSC_ADJUST move together, as on hardware: a
 * guest write to either changes both by the same amount.  Userspace's
 * writes (@host) set one without the other, so that restoring a saved
 * pair gives back the pair.
 */
int kvisor_set_tsc_msr(struct kvisor_vcpu *vcpu, u32 msr, u64 val, bool host)
{
	u64 tsc;
	int r;

	if (msr == MSR_IA32_TSC_ADJUST && host) {
		vcpu->tsc_adjust = val;
		return 0;
	}
	if (msr == MSR_IA32_TSC_ADJUST && !kvisor_guest_has_tsc_adjust(vcpu))
		return -EINVAL;
	if (msr == MSR_IA32_TSC && host)
		return kvisor_ops->set_msr(vcpu, MSR_IA32_TSC, val);
	r = kvisor_ops->get_msr(vcpu, MSR_IA32_TSC, &tsc);
	if (r)
		return r;
	if (msr == MSR_IA32_TSC) {
		vcpu->tsc_adjust += val - tsc;
		return kvisor_ops->set_msr(vcpu, MSR_IA32_TSC, val);
	}
	r = kvisor_ops->set_msr(vcpu, MSR_IA32_TSC, tsc + (val - vcpu->tsc_adjust));
	if (!r)
		vcpu->tsc_adjust = val;
	return r;
}

int kvisor_get_msr(struct kvisor_vcpu *vcpu, u32 msr, u64 *val)
{
	int r;

	if (vcpu->apic) {
		r = kvisor_lapic_get_msr(vcpu, msr, val);
		if (r != -ENOENT)
			return r;
	}
	r = kvisor_kvmclock_get_msr(vcpu, msr, val);
	if (r != -ENOENT)
		return r;
	r = kvisor_mtrr_msr(vcpu, msr, val, false);
	if (r != -ENOENT)
		return r;
	/* (KVM faults a guest's read of MCG_CTL without MCG_CTL_P: not here.) */
	r = kvisor_mce_msr(vcpu, msr, val, false, true);
	if (r != -ENOENT)
		return r;
	switch (msr) {
	case MSR_IA32_APICBASE:
		*val = vcpu->apic_base;
		return 0;
	case MSR_IA32_TSC_ADJUST:
		*val = vcpu->tsc_adjust;
		return 0;
	case MSR_IA32_UCODE_REV:
		*val = vcpu->ucode_rev;
		return 0;
	case MSR_PLATFORM_INFO:
		/* KVM_CAP_MSR_PLATFORM_INFO can make it fault for the guest. */
		*val = vcpu->platform_info;
		return 0;
	case MSR_IA32_MISC_ENABLE:
		*val = vcpu->misc_enable;
		return 0;
	case MSR_IA32_TSC_DEADLINE:
		/* Without an in-kernel LAPIC (which answers first): none. */
		*val = 0;
		return 0;
	default:
		return kvisor_ops->get_msr(vcpu, msr, val);
	}
}

/* Each PAT entry must name a memory type: 0, 1, 4, 5, 6 or 7. */
static bool kvisor_pat_valid(u64 pat)
{
	int i;

	for (i = 0; i < 8; i++) {
		u8 type = pat >> (i * 8);

		if (type > 7 || type == 2 || type == 3)
			return false;
	}
	return true;
}

int kvisor_set_msr(struct kvisor_vcpu *vcpu, u32 msr, u64 val)
{
	int r;

	if (vcpu->apic) {
		r = kvisor_lapic_set_msr(vcpu, msr, val, false);
		if (r != -ENOENT)
			return r;
	}
	/* An invalid PAT would make VM entry fail, not raise the #GP due. */
	if (msr == MSR_IA32_CR_PAT && !kvisor_pat_valid(val))
		return -EINVAL;
	if (msr == MSR_IA32_TSC || msr == MSR_IA32_TSC_ADJUST)
		return kvisor_set_tsc_msr(vcpu, msr, val, false);
	/* Guests write 0 here before CPUID to read the revision: ignored. */
	if (msr == MSR_IA32_UCODE_REV)
		return 0;
	/* Read-only for the guest; only userspace sets it. */
	if (msr == MSR_PLATFORM_INFO)
		return -EINVAL;
	if (msr == MSR_IA32_MISC_ENABLE)
		return kvisor_misc_enable_set(vcpu, val, false);
	r = kvisor_mtrr_msr(vcpu, msr, &val, true);
	if (r != -ENOENT)
		return r;
	r = kvisor_mce_msr(vcpu, msr, &val, true, false);
	if (r != -ENOENT)
		return r;
	r = kvisor_kvmclock_set_msr(vcpu, msr, val);
	if (r != -ENOENT)
		return r;
	return kvisor_ops->set_msr(vcpu, msr, val);
}

/* RDMSR or WRMSR of the MSR in ECX, with EDX:EAX. */
int kvisor_handle_msr(struct kvisor_vcpu *vcpu, bool write, unsigned int len)
{
	u32 msr = vcpu->regs[EMU_RCX];
	u64 val;
	int r;

	vcpu->exits[KVISOR_EXIT_MSR]++;
	if (write) {
		val = (vcpu->regs[EMU_RDX] << 32) | (u32)vcpu->regs[EMU_RAX];
		r = kvisor_set_msr(vcpu, msr, val);
	} else if (msr == MSR_PLATFORM_INFO &&
		   !READ_ONCE(vcpu->vm->platform_info_readable)) {
		r = -EINVAL;
	} else {
		r = kvisor_get_msr(vcpu, msr, &val);
		if (!r) {
			vcpu->regs[EMU_RAX] = (u32)val;
			vcpu->regs[EMU_RDX] = val >> 32;
		}
	}
	if (r) {
		kvisor_ops->queue_exception(vcpu, X86_TRAP_GP, true, 0);
		return 1;
	}
	kvisor_skip(vcpu, vcpu->rip + len);
	return 1;
}

static u64 kvisor_host_xcr0(void)
{
	return boot_cpu_has(X86_FEATURE_XSAVE) ?
	       xgetbv(XCR_XFEATURE_ENABLED_MASK) : 0;
}

/*
 * An XCR0 value a guest may hold, shared by XSETBV and KVM_SET_XCRS: x87
 * always on; AVX needs SSE; only the states kvisor offers
 * (KVISOR_GUEST_XCR0) and the host has.
 */
bool kvisor_xcr0_valid(u64 val)
{
	return (val & XFEATURE_MASK_FP) &&
	       (!(val & XFEATURE_MASK_YMM) || (val & XFEATURE_MASK_SSE)) &&
	       !(val & ~(kvisor_host_xcr0() & KVISOR_GUEST_XCR0));
}

/* XSETBV: kept in vcpu->xcr0, switched in around entry. */
int kvisor_handle_xsetbv(struct kvisor_vcpu *vcpu, unsigned int len)
{
	u64 val = (vcpu->regs[EMU_RDX] << 32) | (u32)vcpu->regs[EMU_RAX];

	/* Only XCR0 exists. */
	if ((u32)vcpu->regs[EMU_RCX] || !kvisor_xcr0_valid(val)) {
		kvisor_ops->queue_exception(vcpu, X86_TRAP_GP, true, 0);
		return 1;
	}
	vcpu->xcr0 = val;
	kvisor_skip(vcpu, vcpu->rip + len);
	return 1;
}

/*
 * Around entry, interrupts off: a guest with CR4.OSXSAVE runs with its
 * own XCR0.  Returns the host's XCR0 (0 without XSAVE).
 */
u64 kvisor_xcr0_enter(struct kvisor_vcpu *vcpu, u64 guest_cr4)
{
	u64 host = kvisor_host_xcr0();

	if ((guest_cr4 & X86_CR4_OSXSAVE) && host && vcpu->xcr0 != host)
		xsetbv(XCR_XFEATURE_ENABLED_MASK, vcpu->xcr0);
	/*
	 * PKRU likewise: a guest can turn on CR4.PKE and write PKRU without
	 * an exit, and the host's kernel accesses to user memory obey it.
	 */
	if (boot_cpu_has(X86_FEATURE_OSPKE)) {
		vcpu->host_pkru = rdpkru();
		if ((guest_cr4 & X86_CR4_PKE) && vcpu->pkru != vcpu->host_pkru)
			wrpkru(vcpu->pkru);
	}
	return host;
}

/*
 * After the exit, interrupts still off: whatever XCR0 the guest left in
 * the CPU is its own, and the host's goes back.  Checked, not assumed:
 * an XSETBV that did not exit (QEMU's SVM does not intercept it) changes
 * the CPU's XCR0 behind kvisor's back, and host code using AVX would
 * then fault.
 */
void kvisor_xcr0_exit(struct kvisor_vcpu *vcpu, u64 host_xcr0)
{
	u64 cur;

	if (boot_cpu_has(X86_FEATURE_OSPKE)) {
		u32 pkru = rdpkru();

		if (pkru != vcpu->host_pkru) {
			vcpu->pkru = pkru;
			wrpkru(vcpu->host_pkru);
		}
	}

	if (!host_xcr0)
		return;
	cur = xgetbv(XCR_XFEATURE_ENABLED_MASK);
	if (cur != host_xcr0) {
		vcpu->xcr0 = cur;
		xsetbv(XCR_XFEATURE_ENABLED_MASK, host_xcr0);
	}
}

/* Port I/O ------------------------------------------------------------ */

static u64 kvisor_addr_mask(u8 addr_size)
{
	return addr_size == 8 ? ~0ULL : (1ULL << (addr_size * 8)) - 1;
}

/*
 * The prefixes of the INS/OUTS at RIP: REP, the address size, and the
 * segment override OUTS may carry.  Exit information does not always have
 * them right (QEMU's emulated SVM reports neither REP nor a usable address
 * size, and only decode assists name the segment), so read them from the
 * instruction itself.
 */
static void kvisor_pio_string_prefixes(struct kvisor_vcpu *vcpu,
				       const struct emu_ctxt *ctxt)
{
	static const s8 seg_prefix[8] = {
		EMU_SEG_ES, EMU_SEG_CS, EMU_SEG_SS, EMU_SEG_DS,
	};
	u8 bytes[EMU_MAX_INSN_LEN];
	u64 gpa;
	u32 pf_error;
	int i;

	vcpu->pio.seg = EMU_SEG_DS;
	vcpu->pio.addr_size = ctxt->mode == EMU_MODE_LONG64 ? 8 :
			      ctxt->mode == EMU_MODE_PROT32 ? 4 : 2;
	if (kvisor_gva_to_gpa(vcpu, ctxt->seg_base[EMU_SEG_CS] + vcpu->rip,
			      false, true, &gpa, &pf_error) ||
	    kvisor_read_guest(vcpu->vm, gpa, bytes,
			      min_t(u64, sizeof(bytes), PAGE_SIZE - offset_in_page(gpa))))
		return;
	for (i = 0; i < sizeof(bytes); i++) {
		switch (bytes[i]) {
		case 0xf2:
		case 0xf3:
			vcpu->pio.rep = true;
			break;
		case 0x26: case 0x2e: case 0x36: case 0x3e:
			vcpu->pio.seg = seg_prefix[(bytes[i] >> 3) & 3];
			break;
		case 0x64:
			vcpu->pio.seg = EMU_SEG_FS;
			break;
		case 0x65:
			vcpu->pio.seg = EMU_SEG_GS;
			break;
		case 0x67:
			vcpu->pio.addr_size = vcpu->pio.addr_size == 4 ? 2 : 4;
			break;
		case 0x66: case 0xf0:
			break;
		default:
			/* REX (64-bit mode only), then the opcode: done. */
			if (ctxt->mode == EMU_MODE_LONG64 && (bytes[i] & 0xf0) == 0x40)
				break;
			return;
		}
	}
}

/*
 * INS/OUTS move their data through guest memory at ES:RDI or seg:RSI;
 * @ctxt holds the segment bases (kvisor_ops->get_cpu_mode()).
 */
static int kvisor_pio_string_addr(struct kvisor_vcpu *vcpu,
				  const struct emu_ctxt *ctxt, bool in, u64 *gpa)
{
	u64 ea, mask = kvisor_addr_mask(vcpu->pio.addr_size);
	u32 pf_error;
	int r;

	ea = ctxt->seg_base[in ? EMU_SEG_ES : vcpu->pio.seg] +
	     (vcpu->regs[in ? EMU_RDI : EMU_RSI] & mask);
	r = kvisor_gva_to_gpa(vcpu, ea, in, false, gpa, &pf_error);
	if (r == -EACCES)
		kvisor_queue_pf(vcpu, ea, pf_error);
	return r;
}

/*
 * How many elements of a string I/O instruction go in one exit: all that
 * remain of a REP, as far as the PIO page and the guest page allow; one
 * when the direction flag walks backwards.
 */
static u32 kvisor_pio_string_count(struct kvisor_vcpu *vcpu, u64 gpa)
{
	u64 mask = kvisor_addr_mask(vcpu->pio.addr_size);
	u32 n = vcpu->pio.rep ? vcpu->regs[EMU_RCX] & mask : 1;
	u32 room = (PAGE_SIZE - offset_in_page(gpa)) / vcpu->pio.size;

	if (vcpu->rflags & X86_EFLAGS_DF)
		return 1;
	return max(1U, min3(n, room, (u32)(PAGE_SIZE / vcpu->pio.size)));
}

static int kvisor_complete_pio(struct kvisor_vcpu *vcpu);

/*
 * A port an in-kernel device (PIC, PIT, an ioeventfd) serves: done here,
 * userspace never hears of it.  String I/O still goes to userspace.
 */
static bool kvisor_pio_in_kernel(struct kvisor_vcpu *vcpu)
{
	u64 val = 0;

	if (vcpu->pio.in) {
		if (kvisor_io_bus_read(vcpu, KVISOR_PIO_BUS, vcpu->pio.port,
				       vcpu->pio.size, &val))
			return false;
		memcpy(vcpu->pio_data, &val, vcpu->pio.size);
	} else if (kvisor_io_bus_write(vcpu, KVISOR_PIO_BUS, vcpu->pio.port,
				       vcpu->pio.size, &vcpu->regs[EMU_RAX])) {
		return false;
	}
	vcpu->pio.rip = vcpu->rip;
	kvisor_complete_pio(vcpu);
	return true;
}

int kvisor_handle_io(struct kvisor_vcpu *vcpu, u16 port, u8 size, bool in,
		     bool string, bool rep, u64 next_rip)
{
	struct kvm_run *run = vcpu->run;
	u64 gpa = 0;
	int r;

	vcpu->exits[KVISOR_EXIT_IO]++;
	vcpu->pio = (typeof(vcpu->pio)) { .port = port, .size = size,
		.in = in, .rep = rep, .next_rip = next_rip, .count = 1 };

	if (string) {
		struct emu_ctxt ctxt;

		kvisor_ops->get_cpu_mode(vcpu, &ctxt);
		kvisor_pio_string_prefixes(vcpu, &ctxt);
		/* A REP with a zero count does nothing at all. */
		if (vcpu->pio.rep &&
		    !(vcpu->regs[EMU_RCX] & kvisor_addr_mask(vcpu->pio.addr_size))) {
			kvisor_skip(vcpu, next_rip);
			return 1;
		}
		r = kvisor_pio_string_addr(vcpu, &ctxt, in, &gpa);
		if (r == -EACCES)
			return 1;
		if (r)
			return kvisor_handle_internal_error(vcpu,
					KVM_INTERNAL_ERROR_EMULATION, port, gpa);
		vcpu->pio.count = kvisor_pio_string_count(vcpu, gpa);
		if (!in && kvisor_read_guest(vcpu->vm, gpa, vcpu->pio_data,
					     vcpu->pio.count * size))
			return kvisor_handle_internal_error(vcpu,
					KVM_INTERNAL_ERROR_EMULATION, port, gpa);
	} else if (kvisor_pio_in_kernel(vcpu)) {
		return 1;
	} else if (!in) {
		memcpy(vcpu->pio_data, &vcpu->regs[EMU_RAX], size);
	}

	run->exit_reason = KVM_EXIT_IO;
	run->io.direction = in ? KVM_EXIT_IO_IN : KVM_EXIT_IO_OUT;
	run->io.size = size;
	run->io.port = port;
	run->io.count = vcpu->pio.count;
	run->io.data_offset = KVM_PIO_PAGE_OFFSET * PAGE_SIZE;
	/*
	 * As in KVM, RIP stays on the instruction while userspace handles
	 * it; completion moves it on, unless userspace moved it itself.
	 */
	vcpu->pending = string ? KVISOR_PENDING_PIO_STRING :
				 KVISOR_PENDING_PIO_IN;
	vcpu->pio.rip = vcpu->rip;
	return 0;
}

static int kvisor_complete_pio(struct kvisor_vcpu *vcpu)
{
	u64 *rax = &vcpu->regs[EMU_RAX];

	if (vcpu->rip != vcpu->pio.rip)
		return 1;
	if (vcpu->pio.in) {
		/* A 32-bit register write clears the upper half, as IN does. */
		if (vcpu->pio.size == 4)
			*rax = *(u32 *)vcpu->pio_data;
		else
			memcpy(rax, vcpu->pio_data, vcpu->pio.size);
	}
	kvisor_skip(vcpu, vcpu->pio.next_rip);
	return 1;
}

static int kvisor_complete_pio_string(struct kvisor_vcpu *vcpu)
{
	u64 mask = kvisor_addr_mask(vcpu->pio.addr_size);
	int idx = vcpu->pio.in ? EMU_RDI : EMU_RSI;
	u64 gpa, *reg = &vcpu->regs[idx];
	u32 bytes;
	int r;

	if (vcpu->rip != vcpu->pio.rip)
		return 1;
	/*
	 * Userspace may have lowered RCX meanwhile: as KVM, do no more
	 * iterations than it now says are left.
	 */
	if (vcpu->pio.rep)
		vcpu->pio.count = min_t(u64, vcpu->pio.count,
					vcpu->regs[EMU_RCX] & mask);
	bytes = vcpu->pio.count * vcpu->pio.size;
	if (vcpu->pio.in) {
		struct emu_ctxt ctxt;

		kvisor_ops->get_cpu_mode(vcpu, &ctxt);
		r = kvisor_pio_string_addr(vcpu, &ctxt, true, &gpa);
		if (r == -EACCES)
			return 1;
		if (r || kvisor_write_guest(vcpu->vm, gpa, vcpu->pio_data, bytes))
			return kvisor_handle_internal_error(vcpu,
					KVM_INTERNAL_ERROR_EMULATION,
					vcpu->pio.port, gpa);
	}
	/* Advance the index register within the address size only. */
	if (vcpu->rflags & X86_EFLAGS_DF)
		*reg = (*reg & ~mask) | ((*reg - bytes) & mask);
	else
		*reg = (*reg & ~mask) | ((*reg + bytes) & mask);
	if (vcpu->pio.rep) {
		u64 *rcx = &vcpu->regs[EMU_RCX];

		*rcx = (*rcx & ~mask) | ((*rcx - vcpu->pio.count) & mask);
		/* More to go: run the instruction again for the rest. */
		if (*rcx & mask)
			return 1;
	}
	kvisor_skip(vcpu, vcpu->pio.next_rip);
	return 1;
}

/* MMIO ------------------------------------------------------------------ */

/* What the emulator's callbacks get as their opaque pointer. */
struct kvisor_emu {
	struct emu_ctxt ctxt;
	struct kvisor_vcpu *vcpu;
	u64 fault_addr;		/* of a #PF found while translating */
};

static int kvisor_emu_translate(struct kvisor_emu *emu, u64 linear,
				bool write, bool fetch, u64 *gpa)
{
	u32 pf_error;
	int r;

	r = kvisor_gva_to_gpa(emu->vcpu, linear, write, fetch, gpa, &pf_error);
	if (r == -EACCES) {
		emu->fault_addr = linear;
		emu_set_fault(&emu->ctxt, X86_VEC_PF, pf_error, 1);
		return -1;
	}
	return r ? -1 : 0;
}

static int kvisor_emu_fetch(void *opaque, emu_u64 linear, void *buf,
			    unsigned int len)
{
	struct kvisor_emu *emu = opaque;
	struct kvisor_vcpu *vcpu = emu->vcpu;
	unsigned int i;
	u64 gpa;

	/* Byte by byte: an instruction may straddle a page boundary. */
	for (i = 0; i < len; i++) {
		if (kvisor_emu_translate(emu, linear + i, false, true, &gpa) ||
		    kvisor_read_guest(vcpu->vm, gpa, buf + i, 1))
			return -1;
	}
	return 0;
}

/* Describe an MMIO access for userspace in kvm_run. */
static void kvisor_mmio_exit(struct kvm_run *run, u64 gpa, unsigned int len,
			     bool write, const void *data)
{
	run->exit_reason = KVM_EXIT_MMIO;
	run->mmio.phys_addr = gpa;
	run->mmio.len = len;
	run->mmio.is_write = write;
	memset(run->mmio.data, 0, sizeof(run->mmio.data));
	if (write)
		memcpy(run->mmio.data, data, len);
}

/*
 * A memory operand of the emulated instruction: RAM goes through the slot's
 * userspace mapping; anything else is MMIO, for userspace to serve.
 */
static int kvisor_emu_read(void *opaque, emu_u64 linear, void *buf,
			   unsigned int len)
{
	struct kvisor_emu *emu = opaque;
	struct kvisor_vcpu *vcpu = emu->vcpu;
	struct kvm_run *run = vcpu->run;
	u64 gpa;
	int r;

	if (kvisor_emu_translate(emu, linear, false, false, &gpa))
		return -1;
	r = kvisor_read_guest(vcpu->vm, gpa, buf, len);
	if (r != -ENOENT)
		return r ? -1 : 0;
	/* In-kernel devices (LAPIC, IOAPIC, ioeventfds) before userspace. */
	if ((vcpu->apic && kvisor_lapic_mmio(vcpu, gpa, len, buf, false)) ||
	    !kvisor_io_bus_read(vcpu, KVISOR_MMIO_BUS, gpa, len, buf))
		return 0;

	if (vcpu->mmio.valid && vcpu->mmio.gpa == gpa && vcpu->mmio.len == len) {
		memcpy(buf, vcpu->mmio.data, len);
		vcpu->mmio.valid = false;
		return 0;
	}
	kvisor_mmio_exit(run, gpa, len, false, NULL);
	vcpu->mmio.gpa = gpa;
	vcpu->mmio.len = len;
	vcpu->pending = KVISOR_PENDING_MMIO;
	return EMU_PENDING;
}

static int kvisor_emu_write(void *opaque, emu_u64 linear, const void *buf,
			    unsigned int len)
{
	struct kvisor_emu *emu = opaque;
	struct kvisor_vcpu *vcpu = emu->vcpu;
	struct kvm_run *run = vcpu->run;
	u64 gpa;
	int r;

	if (kvisor_emu_translate(emu, linear, true, false, &gpa))
		return -1;
	r = kvisor_write_guest(vcpu->vm, gpa, buf, len);
	if (r != -ENOENT)
		return r ? -1 : 0;
	if ((vcpu->apic &&
	     kvisor_lapic_mmio(vcpu, gpa, len, (void *)buf, true)) ||
	    !kvisor_io_bus_write(vcpu, KVISOR_MMIO_BUS, gpa, len, buf))
		return 0;

	/* Handed to userspace: the instruction completes now. */
	kvisor_mmio_exit(run, gpa, len, true, buf);
	return EMU_PENDING;
}

static const struct emu_ops kvisor_emu_ops = {
	.fetch	= kvisor_emu_fetch,
	.read	= kvisor_emu_read,
	.write	= kvisor_emu_write,
};

/*
 * Emulate the instruction at RIP, which touched MMIO.  The emulator either
 * completes it (an MMIO write then goes to userspace), or stops before
 * changing anything because it needs an MMIO read from userspace, in which
 * case the whole instruction runs again once the data is there.
 */
static int kvisor_emulate(struct kvisor_vcpu *vcpu)
{
	struct kvisor_emu emu = { .vcpu = vcpu };
	struct emu_ctxt *c = &emu.ctxt;
	int r;

	kvisor_ops->get_cpu_mode(vcpu, c);
	memcpy(c->gpr, vcpu->regs, sizeof(c->gpr));
	c->rip = vcpu->rip;
	c->rflags = vcpu->rflags;
	c->ops = &kvisor_emu_ops;
	c->opaque = &emu;
	c->fault_vector = -1;
	vcpu->run->exit_reason = KVM_EXIT_UNKNOWN;

	r = emu_decode(c);
	if (r == EMU_OK)
		r = emu_execute(c);
	switch (r) {
	case EMU_OK:
		memcpy(vcpu->regs, c->gpr, sizeof(c->gpr));
		vcpu->rip = c->rip;
		vcpu->rflags = c->rflags;
		/* An MMIO write was handed to userspace: go and tell it. */
		return vcpu->run->exit_reason == KVM_EXIT_MMIO ? 0 : 1;
	case EMU_PENDING:
		return 0;
	case EMU_FAULT:
		if (c->fault_vector == X86_VEC_PF)
			kvisor_ops->set_cr2(vcpu, emu.fault_addr);
		kvisor_ops->queue_exception(vcpu, c->fault_vector,
					    c->has_error_code, c->fault_error_code);
		return 1;
	default:
		vcpu->run->internal.data[2] = c->insn.nr_fetched;
		memcpy(&vcpu->run->internal.data[3], c->insn.bytes,
		       sizeof(c->insn.bytes));
		kvisor_handle_internal_error(vcpu, KVM_INTERNAL_ERROR_EMULATION,
					     vcpu->rip, vcpu->mmio.gpa);
		vcpu->run->internal.ndata = 5;
		return 0;
	}
}

/*
 * A guest access (a write if @write) missed the nested page tables or
 * found its mapping read-only: either guest RAM not yet mapped, or not yet
 * writable (map it and retry the access), or no RAM at all, or a write to
 * a read-only slot (MMIO).
 */
int kvisor_handle_tdp_fault(struct kvisor_vcpu *vcpu, u64 gpa, bool write)
{
	int r;

	vcpu->exits[KVISOR_EXIT_TDP_FAULT]++;
	r = kvisor_map_gfn(vcpu->vm, gpa >> PAGE_SHIFT, write);
	if (r != -ENOENT)
		return r ? r : 1;
	vcpu->exits[KVISOR_EXIT_MMIO]++;
	vcpu->mmio.gpa = gpa;
	return kvisor_emulate(vcpu);
}

/* Called at the start of KVM_RUN: finish what the last exit began. */
int kvisor_complete_userspace_exit(struct kvisor_vcpu *vcpu)
{
	enum kvisor_pending pending = vcpu->pending;
	struct kvm_run *run = vcpu->run;

	vcpu->pending = KVISOR_PENDING_NONE;
	switch (pending) {
	case KVISOR_PENDING_PIO_IN:
		return kvisor_complete_pio(vcpu);
	case KVISOR_PENDING_PIO_STRING:
		return kvisor_complete_pio_string(vcpu);
	case KVISOR_PENDING_MMIO:
		vcpu->mmio.valid = true;
		memcpy(vcpu->mmio.data, run->mmio.data, vcpu->mmio.len);
		return kvisor_emulate(vcpu);
	default:
		return 1;
	}
}
