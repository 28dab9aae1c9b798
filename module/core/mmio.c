// SPDX-License-Identifier: GPL-2.0
/*
 * Nested page faults and MMIO.  A fault on guest RAM maps the page
 * (mm/memslot.c) and retries the access; a fault outside RAM, or a write
 * to a read-only slot, is MMIO: the instruction emulator (emulate/) runs
 * the instruction, with the in-kernel LAPIC and the MMIO bus taking the
 * accesses they own and userspace the rest (KVM_EXIT_MMIO).  A read from
 * userspace re-runs the instruction once the data is there
 * (kvisor_complete_mmio()).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/mm.h>
#include <asm/trapnr.h>

#include "core/kvisor.h"
#include "core/trace.h"

/* What the emulator's callbacks get as their opaque pointer. */
struct kvisor_emu {
	struct emu_ctxt ctxt;
	struct kvisor_vcpu *vcpu;
	u64 fault_addr;		/* of a #PF found while translating */
	/*
	 * The linear page whose guest-physical page the exit told
	 * (kvisor_emu_gpa_from_exit()), once the first data access showed
	 * which it is; 0 with @hint_bound false until then.
	 */
	bool hint_bound;
	u64 hint_linear;
};

static int kvisor_emu_translate(struct kvisor_emu *emu, u64 linear,
				bool write, bool fetch, u64 *gpa)
{
	u32 pf_error;
	int r;

	r = kvisor_gva_to_gpa(emu->vcpu, linear, write, fetch, gpa, &pf_error);
	if (r == -EACCES) {
		emu->fault_addr = linear;
		emu_set_fault(&emu->ctxt, X86_TRAP_PF, pf_error, 1);
		return -1;
	}
	return r ? -1 : 0;
}

/*
 * One walk per page: the emulator asks for up to 15 bytes, never past the
 * end of the page unless the instruction really continues on the next
 * one, and the walk costs four guest reads in long mode where the bytes
 * cost one.
 */
static int kvisor_emu_fetch(void *opaque, emu_u64 linear, void *buf,
			    unsigned int len)
{
	struct kvisor_emu *emu = opaque;
	struct kvisor_vcpu *vcpu = emu->vcpu;
	unsigned int n;
	u64 gpa;

	while (len) {
		n = min_t(u64, len, PAGE_SIZE - offset_in_page(linear));
		if (kvisor_emu_translate(emu, linear, false, true, &gpa) ||
		    kvisor_read_guest(vcpu->vm, gpa, buf, n))
			return -1;
		linear += n;
		buf += n;
		len -= n;
	}
	return 0;
}

/*
 * The guest-physical address of a data access without walking the guest's
 * page tables: the nested page fault that started the emulation already
 * named it, where the fault was on the access itself (not on a guest
 * page-table entry) and the instruction has one memory operand, so that
 * the first data access is the one that faulted.  Its page offset must
 * match, as KVM checks before it uses the exit's address; every later
 * access to the same linear page (the write of a read-modify-write, the
 * next REP iteration) reuses it, any other page is walked.
 */
static bool kvisor_emu_gpa_from_exit(struct kvisor_emu *emu, u64 linear,
				     unsigned int len, u64 *gpa)
{
	struct kvisor_vcpu *vcpu = emu->vcpu;
	u64 hint = vcpu->mmio.hint_gpa;

	if (!vcpu->mmio.hint || offset_in_page(linear) + len > PAGE_SIZE)
		return false;
	if (!emu->hint_bound) {
		if (emu_insn_two_mem_operands(&emu->ctxt) ||
		    offset_in_page(linear) != offset_in_page(hint)) {
			vcpu->mmio.hint = false;
			return false;
		}
		emu->hint_bound = true;
		emu->hint_linear = linear & PAGE_MASK;
	}
	if ((linear & PAGE_MASK) != emu->hint_linear)
		return false;
	*gpa = (hint & PAGE_MASK) | offset_in_page(linear);
	vcpu->stat.emulated_gpa_from_exit++;
	return true;
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
 * userspace mapping; then the in-kernel devices (LAPIC, IOAPIC,
 * ioeventfds) may take it; anything else is MMIO, for userspace to serve.
 * So is memory the VMM's mapping cannot give (-EFAULT: a write to device
 * memory it maps read-only, say), as KVM's emulator makes it.
 * A write handed to userspace completes the instruction now; a read
 * stops it until userspace supplied the data (kvisor_complete_mmio()).
 * CMPS reads two operands, each of which may be MMIO: the answer to the
 * first is replayed while the instruction runs again for the second.
 */
static int kvisor_emu_access(struct kvisor_emu *emu, u64 linear, void *buf,
			     unsigned int len, bool write)
{
	struct kvisor_vcpu *vcpu = emu->vcpu;
	u64 gpa;
	int r;

	if (!kvisor_emu_gpa_from_exit(emu, linear, len, &gpa) &&
	    kvisor_emu_translate(emu, linear, write, false, &gpa))
		return -1;
	r = write ? kvisor_write_guest(vcpu->vm, gpa, buf, len) :
		    kvisor_read_guest(vcpu->vm, gpa, buf, len);
	if (r != -ENOENT && r != -EFAULT)
		return r ? -1 : 0;
	/* MMIO, as KVM traces it: a write when it leaves, a read when done */
	if (write)
		trace_kvm_mmio(KVM_TRACE_MMIO_WRITE, len, gpa, buf);
	if ((vcpu->apic && kvisor_lapic_mmio(vcpu, gpa, len, buf, write)) ||
	    !(write ? kvisor_io_bus_write(vcpu, KVISOR_MMIO_BUS, gpa, len, buf) :
		      kvisor_io_bus_read(vcpu, KVISOR_MMIO_BUS, gpa, len, buf))) {
		if (!write)
			trace_kvm_mmio(KVM_TRACE_MMIO_READ, len, gpa, buf);
		return 0;
	}

	if (!write && vcpu->mmio.replay && vcpu->mmio.replay_rip == vcpu->rip &&
	    vcpu->mmio.replay_gpa == gpa && vcpu->mmio.replay_len == len) {
		memcpy(buf, vcpu->mmio.replay_data, len);
		return 0;
	}
	if (!write && vcpu->mmio.valid && vcpu->mmio.gpa == gpa &&
	    vcpu->mmio.len == len) {
		memcpy(buf, vcpu->mmio.data, len);
		vcpu->mmio.valid = false;
		trace_kvm_mmio(KVM_TRACE_MMIO_READ, len, gpa, buf);
		/* Should the instruction read MMIO again, it runs again. */
		vcpu->mmio.replay = true;
		vcpu->mmio.replay_rip = vcpu->rip;
		vcpu->mmio.replay_gpa = gpa;
		vcpu->mmio.replay_len = len;
		memcpy(vcpu->mmio.replay_data, buf, len);
		return 0;
	}
	kvisor_mmio_exit(vcpu->run, gpa, len, write, buf);
	if (!write) {
		trace_kvm_mmio(KVM_TRACE_MMIO_READ_UNSATISFIED, len, gpa, NULL);
		vcpu->mmio.gpa = gpa;
		vcpu->mmio.len = len;
		vcpu->pending = KVISOR_PENDING_MMIO;
	}
	return EMU_PENDING;
}

static int kvisor_emu_read(void *opaque, emu_u64 linear, void *buf,
			   unsigned int len)
{
	return kvisor_emu_access(opaque, linear, buf, len, false);
}

static int kvisor_emu_write(void *opaque, emu_u64 linear, const void *buf,
			    unsigned int len)
{
	return kvisor_emu_access(opaque, linear, (void *)buf, len, true);
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
	/* The emulator reads and writes guest memory: L1D flush (l1d.c). */
	vcpu->spec.l1d_dirty = true;
	vcpu->stat.insn_emulation++;

	r = emu_decode(c);
	if (r == EMU_OK)
		r = emu_execute(c);
	/*
	 * Done with the instruction, one way or another: nothing to replay,
	 * and the exit's address belongs to it alone.
	 */
	if (r != EMU_PENDING) {
		vcpu->mmio.replay = false;
		vcpu->mmio.hint = false;
	}
	switch (r) {
	case EMU_OK:
		memcpy(vcpu->regs, c->gpr, sizeof(c->gpr));
		vcpu->rflags = c->rflags;
		/* The emulator moves no control: c->rip is past the insn. */
		kvisor_skip_insn(vcpu, c->rip - vcpu->rip);
		/* An MMIO write was handed to userspace: go and tell it. */
		return vcpu->run->exit_reason == KVM_EXIT_MMIO ? 0 : 1;
	case EMU_PENDING:
		return 0;
	case EMU_FAULT:
		if (c->fault_vector == X86_TRAP_PF)
			kvisor_ops->set_cr2(vcpu, emu.fault_addr);
		kvisor_ops->queue_exception(vcpu, c->fault_vector,
					    c->has_error_code, c->fault_error_code);
		return 1;
	default:
		vcpu->stat.insn_emulation_fail++;
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
 * A guest access missed the nested page tables or found its mapping
 * read-only: either guest RAM not yet mapped, or not yet writable (map it
 * and retry the access), or no RAM at all, or a write to a read-only slot
 * (MMIO).  @flags: KVISOR_TDP_WRITE for a write, KVISOR_TDP_FINAL when
 * @gpa is the access's own address rather than that of an entry of the
 * guest's page tables, which the hardware was walking.
 */
int kvisor_handle_tdp_fault(struct kvisor_vcpu *vcpu, u64 gpa,
			    unsigned int flags)
{
	int r;

	vcpu->exits[KVISOR_EXIT_TDP_FAULT]++;
	/* KVM's page-fault statistics, as its TDP MMU counts them */
	vcpu->stat.pf_taken++;
	r = kvisor_map_gfn(vcpu->vm, gpa >> PAGE_SHIFT,
			   flags & KVISOR_TDP_WRITE);
	if (r == 1)
		vcpu->stat.pf_fixed++;
	if (r != -ENOENT)
		return r < 0 ? r : 1;
	vcpu->stat.pf_emulate++;
	vcpu->exits[KVISOR_EXIT_MMIO]++;
	vcpu->mmio.gpa = gpa;
	vcpu->mmio.hint = flags & KVISOR_TDP_FINAL;
	vcpu->mmio.hint_gpa = gpa;
	return kvisor_emulate(vcpu);
}

/* KVM_RUN after an MMIO read exit: run the instruction again, with data. */
int kvisor_complete_mmio(struct kvisor_vcpu *vcpu)
{
	vcpu->mmio.valid = true;
	memcpy(vcpu->mmio.data, vcpu->run->mmio.data, vcpu->mmio.len);
	return kvisor_emulate(vcpu);
}
