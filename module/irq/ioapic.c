// SPDX-License-Identifier: GPL-2.0
/*
 * The in-kernel IOAPIC: an 82093AA-style I/O APIC with 24 pins at
 * 0xfec00000, as KVM models it (version 0x11, so no EOI register is
 * advertised, though writes to it are honoured).
 *
 * A pin's input level is latched in @irr.  An edge pin sends one message
 * per rising edge; a level pin sends one while the line is high and Remote
 * IRR is clear, and sets Remote IRR until the LAPIC's EOI comes back.
 * Masked pins still latch their input, so unmasking an asserted level pin
 * delivers at once.
 */
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>
#include <linux/nospec.h>

#include "core/kvisor.h"

#define IOAPIC_NUM_PINS		24
#define IOAPIC_VERSION_ID	0x11
#define IOAPIC_BASE		0xfec00000ULL
#define IOAPIC_MEM_LENGTH	0x100

/* Direct registers, offsets in the MMIO window. */
#define IOAPIC_REG_SELECT	0x00
#define IOAPIC_REG_WINDOW	0x10
#define IOAPIC_REG_EOI		0x40

/* Indirect registers, through IOREGSEL. */
#define IOAPIC_REG_ID		0x00
#define IOAPIC_REG_VERSION	0x01
#define IOAPIC_REG_ARB		0x02
#define IOAPIC_REG_REDIR	0x10

/* Redirection entry bits. */
#define RTE_VECTOR		0xffULL
#define RTE_DM_SHIFT		8
#define RTE_DM_MASK		(7ULL << RTE_DM_SHIFT)
#define RTE_LOGICAL		BIT_ULL(11)
#define RTE_DELIVS		BIT_ULL(12)
#define RTE_REMOTE_IRR		BIT_ULL(14)
#define RTE_LEVEL		BIT_ULL(15)
#define RTE_MASKED		BIT_ULL(16)
#define RTE_DEST_SHIFT		56

/*
 * A guest that EOIs a level interrupt without quieting its source would
 * otherwise take it again forever.  After this many back-to-back
 * re-deliveries the next one waits a little, as real hardware does.
 */
#define IOAPIC_EOI_STORM	10000
#define IOAPIC_EOI_DELAY	(HZ / 100)

struct kvisor_ioapic {
	struct kvisor_io_device dev;
	struct kvisor_vm *vm;
	spinlock_t lock;	/* everything below */
	u64 base_address;
	u32 ioregsel;
	u32 id;
	u32 irr;		/* the input levels */
	u32 irr_delivered;	/* edge pins already sent since the edge */
	u32 pad;		/* KVM_SET_IRQCHIP's value, given back */
	u64 redirtbl[IOAPIC_NUM_PINS];
	u32 eoi_count[IOAPIC_NUM_PINS];
	struct delayed_work eoi_inject;
};

static inline bool rte_level(u64 e)
{
	return e & RTE_LEVEL;
}

/*
 * Send pin @pin's message if the entry lets it go.  Returns -1 when
 * masked or still waiting for an EOI, else kvisor_apic_deliver()'s count,
 * which is KVM's KVM_IRQ_LINE_STATUS answer.
 */
static int ioapic_service(struct kvisor_ioapic *io, unsigned int pin)
{
	u64 *e = &io->redirtbl[pin];
	struct kvisor_apic_irq irq;
	int ret;

	if ((*e & RTE_MASKED) || (rte_level(*e) && (*e & RTE_REMOTE_IRR)))
		return -1;

	irq = (struct kvisor_apic_irq) {
		.dest = *e >> RTE_DEST_SHIFT,
		.vector = *e & RTE_VECTOR,
		.dm = (*e & RTE_DM_MASK) >> RTE_DM_SHIFT,
		.shorthand = KVISOR_SH_NONE,
		.logical = !!(*e & RTE_LOGICAL),
		.level = rte_level(*e),
		.assert = true,
	};
	if (!irq.level)
		io->irr_delivered |= BIT(pin);

	ret = kvisor_apic_deliver(io->vm, NULL, &irq);
	/* As KVM: even "nobody matched" (-1) leaves the EOI outstanding. */
	if (ret && irq.level)
		*e |= RTE_REMOTE_IRR;
	return ret;
}

static int ioapic_set_line(struct kvisor_ioapic *io, unsigned int pin,
			   int level)
{
	u32 bit = BIT(pin), old_irr = io->irr;

	if (!level) {
		io->irr &= ~bit;
		return 1;
	}
	io->irr |= bit;
	if (!rte_level(io->redirtbl[pin])) {
		io->irr_delivered &= ~bit;
		/* No rising edge: the earlier one stands for this one. */
		if (old_irr & bit)
			return 0;
	}
	return ioapic_service(io, pin);
}

static u32 ioapic_read_indirect(struct kvisor_ioapic *io)
{
	u32 sel = io->ioregsel, idx;
	u64 e = ~0ULL;

	switch (sel) {
	case IOAPIC_REG_VERSION:
		return ((IOAPIC_NUM_PINS - 1) << 16) | IOAPIC_VERSION_ID;
	case IOAPIC_REG_ID:
	case IOAPIC_REG_ARB:
		return (io->id & 0xf) << 24;
	}
	/* Unsigned wrap sends selectors 3-0xf past the table too. */
	idx = (sel - IOAPIC_REG_REDIR) >> 1;
	if (idx < IOAPIC_NUM_PINS)
		e = io->redirtbl[array_index_nospec(idx, IOAPIC_NUM_PINS)];
	return (sel & 1) ? e >> 32 : (u32)e;
}

static void ioapic_write_redir(struct kvisor_ioapic *io, unsigned int pin,
			       bool high, u32 val)
{
	u64 *e = &io->redirtbl[pin];
	u64 keep = *e & (RTE_REMOTE_IRR | RTE_DELIVS);

	if (high)
		*e = (*e & 0xffffffffULL) | ((u64)val << 32);
	else
		*e = (*e & ~0xffffffffULL) | val;
	*e = (*e & ~(RTE_REMOTE_IRR | RTE_DELIVS)) | keep;
	/*
	 * Linux and Xen clear a stuck Remote IRR by flipping the entry to
	 * edge and back, for IOAPICs without the EOI register.
	 */
	if (!rte_level(*e))
		*e &= ~RTE_REMOTE_IRR;
	/* An asserted level line that was masked or waiting goes now. */
	if (rte_level(*e) && (io->irr & BIT(pin)))
		ioapic_service(io, pin);
}

static void ioapic_write_indirect(struct kvisor_ioapic *io, u32 val)
{
	u32 sel = io->ioregsel, idx;

	switch (sel) {
	case IOAPIC_REG_VERSION:
	case IOAPIC_REG_ARB:
		return;
	case IOAPIC_REG_ID:
		io->id = (val >> 24) & 0xf;
		return;
	}
	idx = (sel - IOAPIC_REG_REDIR) >> 1;
	if (idx >= IOAPIC_NUM_PINS)
		return;
	ioapic_write_redir(io, array_index_nospec(idx, IOAPIC_NUM_PINS),
			   sel & 1, val);
}

/*
 * The EOI of @vector reached us; the lock is held on entry and on return,
 * but dropped around each kvisor_irq_acked() so an irqfd resampler can
 * lower its line (which takes this lock) before we look at it again.
 */
static void ioapic_eoi_locked(struct kvisor_ioapic *io, int vector,
			      unsigned long *flags)
{
	unsigned int pin;

	for (pin = 0; pin < IOAPIC_NUM_PINS; pin++) {
		u64 *e = &io->redirtbl[pin];

		if ((*e & RTE_VECTOR) != (u8)vector)
			continue;

		spin_unlock_irqrestore(&io->lock, *flags);
		kvisor_irq_acked(io->vm, KVM_IRQCHIP_IOAPIC, pin);
		spin_lock_irqsave(&io->lock, *flags);

		/* The entry may have changed while the lock was dropped. */
		if (!rte_level(*e) || (*e & RTE_VECTOR) != (u8)vector)
			continue;
		*e &= ~RTE_REMOTE_IRR;
		if ((*e & RTE_MASKED) || !(io->irr & BIT(pin))) {
			io->eoi_count[pin] = 0;
			continue;
		}
		if (++io->eoi_count[pin] >= IOAPIC_EOI_STORM) {
			io->eoi_count[pin] = 0;
			schedule_delayed_work(&io->eoi_inject,
					      IOAPIC_EOI_DELAY);
		} else {
			ioapic_service(io, pin);
		}
	}
}

static void ioapic_eoi_inject_work(struct work_struct *work)
{
	struct kvisor_ioapic *io = container_of(to_delayed_work(work),
						struct kvisor_ioapic,
						eoi_inject);
	unsigned long flags;
	unsigned int pin;

	spin_lock_irqsave(&io->lock, flags);
	for (pin = 0; pin < IOAPIC_NUM_PINS; pin++) {
		u64 e = io->redirtbl[pin];

		if (rte_level(e) && !(e & RTE_REMOTE_IRR) &&
		    (io->irr & BIT(pin)))
			ioapic_service(io, pin);
	}
	spin_unlock_irqrestore(&io->lock, flags);
}

static inline struct kvisor_ioapic *to_ioapic(struct kvisor_io_device *dev)
{
	return container_of(dev, struct kvisor_ioapic, dev);
}

/* KVM_SET_IRQCHIP may move base_address; the bus range stays put. */
static bool ioapic_in_range(struct kvisor_ioapic *io, u64 addr)
{
	u64 base = READ_ONCE(io->base_address);

	return addr >= base && addr < base + IOAPIC_MEM_LENGTH;
}

static int ioapic_mmio_read(struct kvisor_io_device *dev,
			    struct kvisor_vcpu *vcpu, u64 addr,
			    unsigned int len, void *val)
{
	struct kvisor_ioapic *io = to_ioapic(dev);
	unsigned long flags;
	u32 result = 0;

	if (!ioapic_in_range(io, addr))
		return -EOPNOTSUPP;

	spin_lock_irqsave(&io->lock, flags);
	switch (addr & 0xff) {
	case IOAPIC_REG_SELECT:
		result = io->ioregsel;
		break;
	case IOAPIC_REG_WINDOW:
		result = ioapic_read_indirect(io);
		break;
	}
	spin_unlock_irqrestore(&io->lock, flags);

	switch (len) {
	case 8:
		*(u64 *)val = result;
		break;
	case 1:
	case 2:
	case 4:
		memcpy(val, &result, len);
		break;
	default:
		memset(val, 0, len);
		break;
	}
	return 0;
}

static int ioapic_mmio_write(struct kvisor_io_device *dev,
			     struct kvisor_vcpu *vcpu, u64 addr,
			     unsigned int len, const void *val)
{
	struct kvisor_ioapic *io = to_ioapic(dev);
	unsigned long flags;
	u32 data;

	if (!ioapic_in_range(io, addr))
		return -EOPNOTSUPP;

	switch (len) {
	case 8:
	case 4:
		data = *(const u32 *)val;
		break;
	case 2:
		data = *(const u16 *)val;
		break;
	case 1:
		data = *(const u8 *)val;
		break;
	default:
		return 0;	/* dropped, as KVM does */
	}

	spin_lock_irqsave(&io->lock, flags);
	switch (addr & 0xff) {
	case IOAPIC_REG_SELECT:
		io->ioregsel = data & 0xff;
		break;
	case IOAPIC_REG_WINDOW:
		ioapic_write_indirect(io, data);
		break;
	case IOAPIC_REG_EOI:
		ioapic_eoi_locked(io, data & 0xff, &flags);
		break;
	}
	spin_unlock_irqrestore(&io->lock, flags);
	return 0;
}

static const struct kvisor_io_ops ioapic_mmio_ops = {
	.read = ioapic_mmio_read,
	.write = ioapic_mmio_write,
};

static void ioapic_reset(struct kvisor_ioapic *io)
{
	unsigned int pin;

	for (pin = 0; pin < IOAPIC_NUM_PINS; pin++)
		io->redirtbl[pin] = RTE_MASKED;
	io->base_address = IOAPIC_BASE;
	io->ioregsel = 0;
	io->id = 0;
	io->irr = 0;
	io->irr_delivered = 0;
	memset(io->eoi_count, 0, sizeof(io->eoi_count));
}

/* The caller holds vm->irq_lock. */
int kvisor_ioapic_create(struct kvisor_vm *vm)
{
	struct kvisor_ioapic *io;
	int ret;

	if (vm->ioapic)
		return -EEXIST;
	io = kzalloc(sizeof(*io), GFP_KERNEL_ACCOUNT);
	if (!io)
		return -ENOMEM;
	spin_lock_init(&io->lock);
	INIT_DELAYED_WORK(&io->eoi_inject, ioapic_eoi_inject_work);
	io->vm = vm;
	io->dev.ops = &ioapic_mmio_ops;
	ioapic_reset(io);

	ret = kvisor_io_bus_register(vm, KVISOR_MMIO_BUS, IOAPIC_BASE,
				     IOAPIC_MEM_LENGTH, &io->dev);
	if (ret) {
		kfree(io);
		return ret;
	}
	/* Inputs that find the pointer see the device initialized. */
	smp_store_release(&vm->ioapic, io);
	return 0;
}

/*
 * As for kvisor_ioapic_create(), the caller holds vm->irq_lock (the bus's
 * unregister needs it).  Nothing may call the kvisor_ioapic_* inputs
 * any more (irqfds released, vCPUs gone).
 */
void kvisor_ioapic_destroy(struct kvisor_vm *vm)
{
	struct kvisor_ioapic *io = vm->ioapic;

	if (!io)
		return;
	kvisor_io_bus_unregister(vm, KVISOR_MMIO_BUS, &io->dev);
	cancel_delayed_work_sync(&io->eoi_inject);
	vm->ioapic = NULL;
	kfree(io);
}

/*
 * The return values are irq.h's, which are KVM's ioapic_set_irq(): 1 for
 * a de-assert, 0 for an edge that found the line already high, -1 when
 * the entry is masked or a level pin still waits for its EOI (the level
 * stays latched either way), otherwise what kvisor_apic_deliver()
 * returned.  kvisor_irq_set() adds them up over a GSI's routes, as KVM's
 * kvm_set_irq() does, for KVM_IRQ_LINE_STATUS.
 */
int kvisor_ioapic_set_irq(struct kvisor_vm *vm, int pin, int level)
{
	struct kvisor_ioapic *io = vm->ioapic;
	unsigned long flags;
	int ret;

	if (!io || pin < 0 || pin >= IOAPIC_NUM_PINS)
		return -1;
	pin = array_index_nospec(pin, IOAPIC_NUM_PINS);
	spin_lock_irqsave(&io->lock, flags);
	ret = ioapic_set_line(io, pin, level);
	spin_unlock_irqrestore(&io->lock, flags);
	return ret;
}

void kvisor_ioapic_eoi(struct kvisor_vm *vm, int vector)
{
	struct kvisor_ioapic *io = vm->ioapic;
	unsigned long flags;

	if (!io)
		return;
	spin_lock_irqsave(&io->lock, flags);
	ioapic_eoi_locked(io, vector, &flags);
	spin_unlock_irqrestore(&io->lock, flags);
}

bool kvisor_ioapic_has_vector(struct kvisor_vm *vm, int vector)
{
	struct kvisor_ioapic *io = vm->ioapic;
	unsigned long flags;
	unsigned int pin;
	bool found = false;

	if (!io)
		return false;
	spin_lock_irqsave(&io->lock, flags);
	for (pin = 0; pin < IOAPIC_NUM_PINS && !found; pin++)
		found = (io->redirtbl[pin] & RTE_VECTOR) == (u8)vector;
	spin_unlock_irqrestore(&io->lock, flags);
	return found;
}

void kvisor_ioapic_get_state(struct kvisor_vm *vm,
			     struct kvm_ioapic_state *s)
{
	struct kvisor_ioapic *io = vm->ioapic;
	unsigned long flags;
	unsigned int pin;

	memset(s, 0, sizeof(*s));
	if (!io)
		return;
	spin_lock_irqsave(&io->lock, flags);
	s->base_address = io->base_address;
	s->ioregsel = io->ioregsel;
	s->id = io->id;
	/* An edge already sent is no longer pending, as KVM reports it. */
	s->irr = io->irr & ~io->irr_delivered;
	s->pad = io->pad;
	for (pin = 0; pin < IOAPIC_NUM_PINS; pin++)
		s->redirtbl[pin].bits = io->redirtbl[pin];
	spin_unlock_irqrestore(&io->lock, flags);
}

void kvisor_ioapic_set_state(struct kvisor_vm *vm,
			     const struct kvm_ioapic_state *s)
{
	struct kvisor_ioapic *io = vm->ioapic;
	unsigned long flags;
	unsigned int pin;

	if (!io)
		return;
	spin_lock_irqsave(&io->lock, flags);
	WRITE_ONCE(io->base_address, s->base_address);
	io->ioregsel = s->ioregsel;
	io->id = s->id;
	io->pad = s->pad;
	for (pin = 0; pin < IOAPIC_NUM_PINS; pin++)
		io->redirtbl[pin] = s->redirtbl[pin].bits;
	/* The saved IRR is replayed as fresh assertions, as KVM does. */
	io->irr = 0;
	io->irr_delivered = 0;
	for (pin = 0; pin < IOAPIC_NUM_PINS; pin++)
		if (s->irr & BIT(pin))
			ioapic_set_line(io, pin, 1);
	spin_unlock_irqrestore(&io->lock, flags);
}
