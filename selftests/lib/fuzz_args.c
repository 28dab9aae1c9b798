// SPDX-License-Identifier: GPL-2.0
/* Structured random ioctl arguments: see include/fuzz_args.h. */
#include <signal.h>
#include <string.h>

#include "fuzz_args.h"

#define ARRAY_LEN(a)	(sizeof(a) / sizeof((a)[0]))

/* Short names, all on the builder's @r. */
#define rnd(n)		fuzz_below(r, n)
#define one_in(n)	fuzz_one_in(r, n)
#define r64()		fuzz_u64(r)
#define interesting()	fuzz_interesting(r)

void fuzz_mutate(struct fuzz_rng *r, void *p, size_t size)
{
	uint8_t *b = p;
	int i, n;

	if (!size)
		return;
	switch (rnd(8)) {
	case 0:
		fuzz_fill(r, p, size);
		return;
	case 1:
		memset(p, one_in(2) ? 0 : 0xff, size);
		return;
	case 2:
	case 3:
		n = 1 + rnd(4);
		for (i = 0; i < n; i++)
			b[rnd(size)] ^= 1 << rnd(8);
		return;
	case 4:
		return;		/* write back what was read */
	default:
		n = 1 + rnd(3);
		for (i = 0; i < n && size >= 8; i++) {
			uint64_t v = interesting();

			memcpy(b + (rnd(size / 8) * 8), &v, 8);
		}
		return;
	}
}

/* ------------------------------------------------------------------ */
/* Interrupts                                                           */

void fuzz_irq_level(struct fuzz_rng *r, struct kvm_irq_level *l)
{
	l->irq = one_in(4) ? interesting() : rnd(48);
	l->level = one_in(4) ? interesting() : rnd(2);
}

void fuzz_msi(struct fuzz_rng *r, struct kvm_msi *m)
{
	memset(m, 0, sizeof(*m));
	m->address_lo = one_in(4) ? r64() : 0xfee00000 | rnd(256) << 12 |
			rnd(16) << 2;
	m->address_hi = one_in(8) ? interesting() : 0;
	m->data = one_in(4) ? r64() : rnd(8) << 8 | (16 + rnd(240));
	m->flags = one_in(8) ? r64() : 0;
	m->devid = r64();
	if (one_in(16))
		fuzz_fill(r, m->pad, sizeof(m->pad));
}

uint32_t fuzz_irq_routing_nr(struct fuzz_rng *r)
{
	return one_in(8) ? 4090 + rnd(10) : one_in(8) ? interesting() : rnd(64);
}

void fuzz_irq_routing(struct fuzz_rng *r, struct kvm_irq_routing *rt,
		      uint32_t nr)
{
	uint32_t i;

	rt->nr = nr;
	rt->flags = one_in(8) ? r64() : 0;
	for (i = 0; i < nr && i < FUZZ_MAX_ROUTES; i++) {
		struct kvm_irq_routing_entry *e = &rt->entries[i];

		memset(e, 0, sizeof(*e));
		e->gsi = one_in(8) ? interesting() : one_in(2) ? i : rnd(64);
		e->type = one_in(8) ? interesting() : 1 + rnd(2);
		e->flags = one_in(8) ? r64() : 0;
		if (e->type == KVM_IRQ_ROUTING_IRQCHIP) {
			e->u.irqchip.irqchip = one_in(8) ? r64() : rnd(3);
			e->u.irqchip.pin = one_in(8) ? r64() : rnd(24);
		} else {
			e->u.msi.address_lo = 0xfee00000 | rnd(256) << 12;
			e->u.msi.data = r64();
			if (one_in(4))
				fuzz_fill(r, &e->u, sizeof(e->u));
		}
	}
}

void fuzz_irqfd(struct fuzz_rng *r, struct kvm_irqfd *f, int fd,
		int resamplefd)
{
	memset(f, 0, sizeof(*f));
	f->fd = fd;
	f->gsi = one_in(8) ? interesting() : rnd(32);
	f->flags = one_in(8) ? r64() : rnd(4);	/* DEASSIGN, RESAMPLE */
	f->resamplefd = resamplefd;
	if (one_in(16))
		fuzz_fill(r, f->pad, sizeof(f->pad));
}

void fuzz_ioeventfd(struct fuzz_rng *r, struct kvm_ioeventfd *e, int fd)
{
	memset(e, 0, sizeof(*e));
	e->datamatch = one_in(2) ? rnd(256) : r64();
	e->flags = one_in(8) ? r64() : rnd(8);	/* DATAMATCH, PIO, DEASSIGN */
	e->addr = e->flags & KVM_IOEVENTFD_FLAG_PIO ?
		(one_in(4) ? interesting() : rnd(0x10000)) :
		(one_in(2) ? interesting() :
		 (uint64_t[]){ 0xfee00000, 0xfec00000, 0xfed00000,
			       0xe0000000, 0 }[rnd(5)] + rnd(256));
	e->len = one_in(8) ? interesting() : (uint32_t[]){ 0, 1, 2, 4, 8, 3 }[rnd(6)];
	e->fd = fd;
	if (one_in(16))
		fuzz_fill(r, e->pad, sizeof(e->pad));
}

void fuzz_pit_config(struct fuzz_rng *r, struct kvm_pit_config *c)
{
	memset(c, 0, sizeof(*c));
	c->flags = one_in(4) ? r64() : rnd(2);
}

void fuzz_vm_enable_cap(struct fuzz_rng *r, struct kvm_enable_cap *c)
{
	static const uint32_t caps[] = {
		KVM_CAP_SPLIT_IRQCHIP, KVM_CAP_MAX_VCPU_ID,
		KVM_CAP_MSR_PLATFORM_INFO, KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2,
		KVM_CAP_X86_DISABLE_EXITS, KVM_CAP_EXCEPTION_PAYLOAD,
		KVM_CAP_X86_USER_SPACE_MSR, KVM_CAP_IRQCHIP,
	};

	memset(c, 0, sizeof(*c));
	c->cap = one_in(4) ? rnd(260) : caps[rnd(ARRAY_LEN(caps))];
	c->flags = one_in(8) ? r64() : 0;
	c->args[0] = one_in(2) ? rnd(64) : interesting();
	/* A HLT that does not exit would spin until the tick. */
	if (c->cap == KVM_CAP_X86_DISABLE_EXITS)
		c->args[0] &= ~KVM_X86_DISABLE_EXITS_HLT;
	if (one_in(8))
		c->args[1] = interesting();
}

/* ------------------------------------------------------------------ */
/* MSRs and CPUID                                                       */

static const uint32_t known_msrs[] = {
	0x10, 0x1b, 0x3a, 0x3b, 0x48, 0x49, 0x8b, 0xce, 0xe7, 0xe8, 0xfe,
	0x10a, 0x140, 0x174, 0x175, 0x176, 0x179, 0x17a, 0x1a0, 0x1d9,
	0x200, 0x201, 0x20f, 0x250, 0x258, 0x277, 0x2ff, 0x400, 0x401,
	0x480, 0x48d, 0x491, 0x6e0, 0x800, 0x802, 0x803, 0x808, 0x80b,
	0x80f, 0x830, 0x832, 0x838, 0x83e, 0x83f, 0xda0, 0xc0000080,
	0xc0000081, 0xc0000082, 0xc0000084, 0xc0000100, 0xc0000101,
	0xc0000102, 0xc0000103, 0xc0000104, 0xc0010010, 0xc0010114,
	0xc0010117, 0x4b564d00, 0x4b564d01, 0x4b564d02, 0x4b564d03,
	0x4b564d04, 0x4b564d05, 0x11, 0x12, 0x40000000, 0x40000001,
	0xffffffff, 0x80000000, 0x1000, 0xc0011022,
};

uint32_t fuzz_msr_index(struct fuzz_rng *r, const uint32_t *list,
			unsigned int n)
{
	switch (rnd(6)) {
	case 0:
		return r64();
	case 1:
		return interesting();
	case 2:
	case 3:
		if (n)
			return list[rnd(n)];
		/* fallthrough */
	default:
		return known_msrs[rnd(ARRAY_LEN(known_msrs))];
	}
}

uint32_t fuzz_msrs_nr(struct fuzz_rng *r)
{
	return one_in(16) ? interesting() : one_in(16) ? 4090 + rnd(10) : rnd(24);
}

void fuzz_msrs(struct fuzz_rng *r, struct kvm_msrs *m, uint32_t n,
	       const uint32_t *list, unsigned int list_n)
{
	uint32_t i;

	m->nmsrs = n;
	m->pad = one_in(8) ? r64() : 0;
	for (i = 0; i < n && i < FUZZ_MAX_MSRS; i++) {
		m->entries[i].index = fuzz_msr_index(r, list, list_n);
		m->entries[i].reserved = one_in(16) ? r64() : 0;
		m->entries[i].data = 0;
	}
}

void fuzz_msrs_data(struct fuzz_rng *r, struct kvm_msrs *m, uint32_t n)
{
	uint32_t i;

	m->nmsrs = n;
	for (i = 0; i < n && i < FUZZ_MAX_MSRS; i++)
		if (one_in(3))
			m->entries[i].data = one_in(2) ? interesting() :
				m->entries[i].data ^ 1UL << rnd(64);
}

uint32_t fuzz_cpuid_nr(struct fuzz_rng *r, const struct kvm_cpuid2 *supported)
{
	uint32_t n = one_in(8) ? interesting() : rnd(supported->nent + 8);

	return one_in(16) ? 250 + rnd(10) : n;
}

void fuzz_cpuid(struct fuzz_rng *r, struct kvm_cpuid2 *c, uint32_t n,
		const struct kvm_cpuid2 *supported)
{
	uint32_t i;

	c->nent = n;
	c->padding = one_in(8) ? r64() : 0;
	for (i = 0; i < n && i < FUZZ_MAX_CPUID; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		/* Entry nent (one past the end) is all zeros. */
		if (i < supported->nent && !one_in(8))
			*e = supported->entries[i];
		else
			*e = supported->entries[rnd(supported->nent + 1)];
		if (one_in(4))
			fuzz_mutate(r, e, sizeof(*e));
	}
}

/* ------------------------------------------------------------------ */
/* Other vCPU arguments                                                 */

void fuzz_guest_debug(struct fuzz_rng *r, struct kvm_guest_debug *g)
{
	memset(g, 0, sizeof(*g));
	if (one_in(3))
		return;
	g->control = one_in(4) ? r64() : (rnd(0x100) & 0x7) | (rnd(4) << 16);
	if (one_in(2))
		fuzz_fill(r, &g->arch, sizeof(g->arch));
}

void fuzz_signal_mask(struct fuzz_rng *r, struct kvm_signal_mask *m, int keep)
{
	uint8_t set[16];

	fuzz_fill(r, set, sizeof(set));
	set[(keep - 1) / 8] &= ~(1 << ((keep - 1) % 8));
	set[8 + (keep - 1) / 8] &= ~(1 << ((keep - 1) % 8));
	if (one_in(2))
		memset(set, 0, sizeof(set));
	m->len = one_in(8) ? interesting() : 8;
	memcpy(m->sigset, set, 16);
}

/* KVM_VCPU_TSC_CTRL/KVM_VCPU_TSC_OFFSET mostly; addr is the caller's. */
void fuzz_device_attr(struct fuzz_rng *r, struct kvm_device_attr *a)
{
	a->flags = one_in(8) ? r64() : 0;
	a->group = one_in(4) ? interesting() : 0;
	a->attr = one_in(4) ? interesting() : 0;
}

void fuzz_mutate_run(struct fuzz_rng *r, struct kvm_run *run)
{
	if (one_in(32)) {
		fuzz_fill(r, run, one_in(2) ? 4096 : 256);
		return;
	}
	run->immediate_exit = one_in(16) ? r64() : (uint64_t)one_in(8);
	run->request_interrupt_window = one_in(4) ? r64() : 0;
	if (!one_in(4)) {
		run->kvm_valid_regs = 0;
		run->kvm_dirty_regs = 0;
		return;
	}
	run->kvm_valid_regs = one_in(8) ? r64() : rnd(8);
	run->kvm_dirty_regs = one_in(8) ? r64() : rnd(8);
	if (run->kvm_dirty_regs & KVM_SYNC_X86_REGS)
		fuzz_mutate(r, &run->s.regs.regs, sizeof(run->s.regs.regs));
	if (run->kvm_dirty_regs & KVM_SYNC_X86_SREGS)
		fuzz_mutate(r, &run->s.regs.sregs, sizeof(run->s.regs.sregs));
	if (run->kvm_dirty_regs & KVM_SYNC_X86_EVENTS)
		fuzz_mutate(r, &run->s.regs.events, sizeof(run->s.regs.events));
}
