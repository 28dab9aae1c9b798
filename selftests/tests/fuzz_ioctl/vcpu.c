// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz_ioctl's vCPU operations: the vCPU ioctls with structured arguments
 * (lib/fuzz_args.c), KVM_RUN, and writes to kvm_run racing it.
 */
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>

#include "fuzz_args.h"
#include "kvm_util.h"
#include "qemu_quirks.h"
#include "fuzz_ioctl.h"

/* ------------------------------------------------------------------ */
/* vCPU ioctls                                                          */

/* GET @get into a buffer of @size, mutate, SET @set from it. */
static void get_mutate_set(int fd, int gop, unsigned long get, int sop,
			   unsigned long set, size_t size)
{
	void *buf = at_end(size), *p;
	int bad;

	p = maybe_bad(buf, size, 1, &bad);
	if (xio_p(gop, fd, get, p) < 0 || one_in(8))
		fuzz_fill(&self->rng, buf, size);
	if (one_in(4))
		return;
	mutate(buf, size);
	/* Keep clear of QEMU's own bugs in the svm host (fuzz_ioctl.c). */
	if (set == KVM_SET_SREGS)
		qemu_safe_sregs(buf);
	if (set == KVM_SET_DEBUGREGS) {
		struct kvm_debugregs *d = buf;

		d->dr7 = qemu_safe_dr7(d->dr7);
	}
	p = maybe_bad(buf, size, 0, &bad);
	xio_p(sop, fd, set, p);
}

void op_vcpu_state(void)
{
	int fd = pick_vcpu();

	switch (rnd(10)) {
	case 0:
		get_mutate_set(fd, OP_KVM_GET_REGS, KVM_GET_REGS, OP_KVM_SET_REGS,
			       KVM_SET_REGS, sizeof(struct kvm_regs));
		break;
	case 1:
		get_mutate_set(fd, OP_KVM_GET_SREGS, KVM_GET_SREGS,
			       OP_KVM_SET_SREGS, KVM_SET_SREGS,
			       sizeof(struct kvm_sregs));
		break;
	case 2:
		get_mutate_set(fd, OP_KVM_GET_FPU, KVM_GET_FPU, OP_KVM_SET_FPU,
			       KVM_SET_FPU, sizeof(struct kvm_fpu));
		break;
	case 3:
		get_mutate_set(fd, OP_KVM_GET_XSAVE, KVM_GET_XSAVE,
			       OP_KVM_SET_XSAVE, KVM_SET_XSAVE,
			       sizeof(struct kvm_xsave));
		break;
	case 4:
		get_mutate_set(fd, OP_KVM_GET_XCRS, KVM_GET_XCRS, OP_KVM_SET_XCRS,
			       KVM_SET_XCRS, sizeof(struct kvm_xcrs));
		break;
	case 5:
		get_mutate_set(fd, OP_KVM_GET_DEBUGREGS, KVM_GET_DEBUGREGS,
			       OP_KVM_SET_DEBUGREGS, KVM_SET_DEBUGREGS,
			       sizeof(struct kvm_debugregs));
		break;
	case 6:
		get_mutate_set(fd, OP_KVM_GET_VCPU_EVENTS, KVM_GET_VCPU_EVENTS,
			       OP_KVM_SET_VCPU_EVENTS, KVM_SET_VCPU_EVENTS,
			       sizeof(struct kvm_vcpu_events));
		break;
	case 7:
		get_mutate_set(fd, OP_KVM_GET_LAPIC, KVM_GET_LAPIC,
			       OP_KVM_SET_LAPIC, KVM_SET_LAPIC,
			       sizeof(struct kvm_lapic_state));
		break;
	case 8: {
		struct kvm_mp_state *m = at_end(sizeof(*m));
		int bad;
		void *p = maybe_bad(m, sizeof(*m), 1, &bad);

		xio_p(OP_KVM_GET_MP_STATE, fd, KVM_GET_MP_STATE, p);
		m->mp_state = one_in(4) ? interesting() : rnd(10);
		p = maybe_bad(m, sizeof(*m), 0, &bad);
		xio_p(OP_KVM_SET_MP_STATE, fd, KVM_SET_MP_STATE, p);
		break;
	}
	default: {
		struct kvm_guest_debug *g = at_end(sizeof(*g));
		int bad;
		void *p;

		fuzz_guest_debug(&self->rng, g);
		g->arch.debugreg[7] = qemu_safe_dr7(g->arch.debugreg[7]);
		p = maybe_bad(g, sizeof(*g), 0, &bad);
		xio_p(OP_KVM_SET_GUEST_DEBUG, fd, KVM_SET_GUEST_DEBUG, p);
		break;
	}
	}
}

void op_vcpu_msrs_cpuid(void)
{
	int fd = pick_vcpu(), bad;
	uint32_t n;
	void *p;

	switch (rnd(4)) {
	case 0:
	case 1: {
		struct kvm_msrs *m;
		int set = one_in(2);

		n = fuzz_msrs_nr(&self->rng);
		m = at_end(sizeof(*m) + (n > FUZZ_MAX_MSRS ? FUZZ_MAX_MSRS : n) *
			   sizeof(m->entries[0]));
		fuzz_msrs(&self->rng, m, n, msr_list, nr_msr_list);
		if (set) {
			/* Mostly what the MSR holds, mutated. */
			if (!one_in(4))
				xio_p(OP_KVM_GET_MSRS, fd, KVM_GET_MSRS, m);
			fuzz_msrs_data(&self->rng, m, n);
			avoid_qemu_lme_msrs(m);
		}
		p = maybe_bad(m, sizeof(*m), !set, &bad);
		if (set)
			xio_p(OP_KVM_SET_MSRS, fd, KVM_SET_MSRS, p);
		else
			xio_p(OP_KVM_GET_MSRS, fd, KVM_GET_MSRS, p);
		break;
	}
	case 2: {
		struct kvm_cpuid2 *c;

		n = fuzz_cpuid_nr(&self->rng, &supported_cpuid.hdr);
		c = at_end(sizeof(*c) + (n > FUZZ_MAX_CPUID ? FUZZ_MAX_CPUID : n) *
			   sizeof(c->entries[0]));
		fuzz_cpuid(&self->rng, c, n, &supported_cpuid.hdr);
		p = maybe_bad(c, sizeof(*c), 0, &bad);
		xio_p(OP_KVM_SET_CPUID2, fd, KVM_SET_CPUID2, p);
		break;
	}
	default: {
		struct kvm_cpuid2 *c;

		n = one_in(4) ? interesting() : rnd(FUZZ_MAX_CPUID);
		c = at_end(sizeof(*c) + (n > FUZZ_MAX_CPUID ? FUZZ_MAX_CPUID : n) *
			   sizeof(c->entries[0]));
		c->nent = n;
		p = maybe_bad(c, sizeof(*c), 1, &bad);
		xio_p(OP_KVM_GET_CPUID2, fd, KVM_GET_CPUID2, p);
		break;
	}
	}
}

/* The vCPU ioctls kvisor does not have, and KVM_ENABLE_CAP on a vCPU. */
static void op_vcpu_rare(int fd)
{
	switch (rnd(10)) {
	case 0:
		xio(OP_KVM_KVMCLOCK_CTRL, fd, KVM_KVMCLOCK_CTRL, 0);
		break;
	case 1:
		xio(OP_KVM_SMI, fd, KVM_SMI, 0);
		break;
	case 2:
		xio_p(OP_KVM_GET_XSAVE2, fd, KVM_GET_XSAVE2, at_end(64 * 1024));
		break;
	case 3:
		xio_p(OP_KVM_GET_SREGS2, fd, KVM_GET_SREGS2,
		      at_end(sizeof(struct kvm_sregs2)));
		break;
	case 4: {
		uint64_t *v = at_end(8);

		*v = interesting();
		xio_p(OP_KVM_X86_SETUP_MCE, fd, KVM_X86_SETUP_MCE, v);
		break;
	}
	default: {
		struct kvm_enable_cap *c = at_end(sizeof(*c));

		memset(c, 0, sizeof(*c));
		c->cap = one_in(2) ? rnd(260) : interesting();
		c->args[0] = interesting();
		xio_p(OP_KVM_ENABLE_CAP, fd, KVM_ENABLE_CAP, c);
		break;
	}
	}
}

void op_vcpu_misc(void)
{
	int fd = pick_vcpu(), bad;
	void *p;

	switch (rnd(12)) {
	case 0: {
		struct kvm_interrupt *i = at_end(sizeof(*i));

		i->irq = one_in(4) ? interesting() : rnd(256);
		p = maybe_bad(i, sizeof(*i), 0, &bad);
		xio_p(OP_KVM_INTERRUPT, fd, KVM_INTERRUPT, p);
		break;
	}
	case 1:
		xio(OP_KVM_NMI, fd, KVM_NMI, 0);
		break;
	case 2: {
		/* Never block SIGUSR1: it is what bounds KVM_RUN. */
		struct kvm_signal_mask *m = at_end(sizeof(*m) + 16);

		fuzz_signal_mask(&self->rng, m, SIGUSR1);
		p = one_in(4) ? NULL : maybe_bad(m, sizeof(*m) + 8, 0, &bad);
		xio_p(OP_KVM_SET_SIGNAL_MASK, fd, KVM_SET_SIGNAL_MASK, p);
		break;
	}
	case 3: {
		uint64_t *a = at_end(8);

		*a = one_in(2) ? rnd(1UL << 32) & ~0xfffUL : interesting();
		p = maybe_bad(a, 8, 0, &bad);
		xio_p(OP_KVM_SET_VAPIC_ADDR, fd, KVM_SET_VAPIC_ADDR, p);
		break;
	}
	case 4:
	case 5: {
		struct kvm_device_attr *a = at_end(sizeof(*a) + 8);
		uint64_t *val = (uint64_t *)(a + 1);
		unsigned long req[] = { KVM_HAS_DEVICE_ATTR, KVM_GET_DEVICE_ATTR,
					KVM_SET_DEVICE_ATTR };
		int ops[] = { OP_KVM_HAS_DEVICE_ATTR, OP_KVM_GET_DEVICE_ATTR,
			      OP_KVM_SET_DEVICE_ATTR };
		int w = rnd(3);

		fuzz_device_attr(&self->rng, a);
		*val = interesting();
		a->addr = (uint64_t)maybe_bad(val, 8, w == 1, &bad);
		p = maybe_bad(a, sizeof(*a), 0, &bad);
		xio_p(ops[w], fd, req[w], p);
		break;
	}
	case 6:
		if (one_in(2))
			xio(OP_KVM_GET_TSC_KHZ, fd, KVM_GET_TSC_KHZ, 0);
		else
			xio(OP_KVM_SET_TSC_KHZ, fd, KVM_SET_TSC_KHZ,
			    one_in(2) ? 1000000 + rnd(3000000) : interesting());
		break;
	case 7: {
		/* Not in kvisor: still no report, and no overrun. */
		struct kvm_translation *t = at_end(sizeof(*t));

		t->linear_address = interesting();
		p = maybe_bad(t, sizeof(*t), 1, &bad);
		xio_p(OP_KVM_TRANSLATE, fd, KVM_TRANSLATE, p);
		break;
	}
	case 8:
	case 9:
		op_vcpu_rare(fd);
		break;
	default:
		op_vcpu_state();
		break;
	}
}

/* ------------------------------------------------------------------ */
/* KVM_RUN                                                              */

/*
 * Another thread may be in KVM_RUN on this vCPU and read the shared page
 * while it changes, mixing fields of two states: so in the svm host every
 * state written here has CR4.PAE set and TR present and available
 * (fuzz_ioctl.c), which any mixture keeps.
 */
static void qemu_safe_run(struct kvm_run *run)
{
	struct kvm_sregs s;

	if (!qemu_svm_host())
		return;
	memcpy(&s, &run->s.regs.sregs, sizeof(s));
	s.cr4 |= X86_CR4_PAE;
	qemu_safe_tr(&s.tr);
	memcpy(&run->s.regs.sregs, &s, sizeof(s));
}

static void mutate_run(struct kvm_run *run)
{
	fuzz_mutate_run(&self->rng, run);
	qemu_safe_run(run);
}

void op_run(void)
{
	int idx = pick_vcpu_idx(), fd = vcpus[idx].fd, i;
	struct kvm_run *run = run_of(idx);

	if (one_in(64))
		fd = pick_vcpu();
	mutate_run(run);
	for (i = 0; i < 4; i++) {
		if (xio(OP_KVM_RUN, fd, KVM_RUN, one_in(16) ? r64() : 0) < 0)
			break;
		/* IO and MMIO: leave (or scribble) the data, enter again. */
		if (run->exit_reason != KVM_EXIT_IO &&
		    run->exit_reason != KVM_EXIT_MMIO &&
		    run->exit_reason != KVM_EXIT_IRQ_WINDOW_OPEN)
			break;
		if (one_in(8))
			run->mmio.len = interesting();
		if (one_in(8))
			run->io.data_offset = interesting();
		run->immediate_exit = 0;
	}
}

void op_scribble_run(void)
{
	struct kvm_run *run = run_of(pick_vcpu_idx());

	/* Concurrently with KVM_RUN reading it. */
	count_op(OP_scribble_run, 0);
	if (one_in(2)) {
		mutate_run(run);
	} else if (!qemu_svm_host()) {
		mutate((uint8_t *)run + rnd(2048), 2048);
	} else {
		/* Raw bytes too, but no state QEMU cannot take reaches it. */
		static __thread uint8_t copy[4096];

		memcpy(copy, run, sizeof(copy));
		mutate(copy + rnd(2048), 2048);
		qemu_safe_run((struct kvm_run *)copy);
		memcpy(run, copy, sizeof(copy));
	}
}
