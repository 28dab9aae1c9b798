// SPDX-License-Identifier: GPL-2.0
/*
 * Port I/O exits: IN and OUT, and the string forms INS and OUTS with or
 * without REP.  An in-kernel device on the port I/O bus (irq/iodev.c)
 * takes the access if one is registered; otherwise it goes to userspace
 * as KVM_EXIT_IO, and a read (or a string iteration) is finished when
 * the next KVM_RUN calls kvisor_complete_pio().
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/mm.h>
#include <asm/processor-flags.h>

#include "core/kvisor.h"
#include "core/trace.h"

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

/* KVM_RUN after an IN or OUT exit: take IN's data from the PIO page. */
int kvisor_complete_pio(struct kvisor_vcpu *vcpu);

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
			kvisor_skip_insn(vcpu, next_rip - vcpu->rip);
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
		if (!in)
			trace_kvm_pio(KVM_PIO_OUT, port, size, vcpu->pio.count,
				      vcpu->pio_data);
	} else {
		/* As KVM: an OUT is traced on its way, an IN when done. */
		if (!in)
			trace_kvm_pio(KVM_PIO_OUT, port, size, 1,
				      &vcpu->regs[EMU_RAX]);
		if (kvisor_pio_in_kernel(vcpu))
			return 1;
		if (!in)
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

/* KVM_RUN after an IN or OUT exit: take IN's data from the PIO page. */
int kvisor_complete_pio(struct kvisor_vcpu *vcpu)
{
	u64 *rax = &vcpu->regs[EMU_RAX];

	if (vcpu->rip != vcpu->pio.rip)
		return 1;
	if (vcpu->pio.in) {
		trace_kvm_pio(KVM_PIO_IN, vcpu->pio.port, vcpu->pio.size, 1,
			      vcpu->pio_data);
		/* A 32-bit register write clears the upper half, as IN does. */
		if (vcpu->pio.size == 4)
			*rax = *(u32 *)vcpu->pio_data;
		else
			memcpy(rax, vcpu->pio_data, vcpu->pio.size);
	}
	kvisor_skip_insn(vcpu, vcpu->pio.next_rip - vcpu->rip);
	return 1;
}

/* KVM_RUN after an INS or OUTS exit: finish the iterations done. */
int kvisor_complete_pio_string(struct kvisor_vcpu *vcpu)
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
		trace_kvm_pio(KVM_PIO_IN, vcpu->pio.port, vcpu->pio.size,
			      vcpu->pio.count, vcpu->pio_data);
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
	kvisor_skip_insn(vcpu, vcpu->pio.next_rip - vcpu->rip);
	return 1;
}
