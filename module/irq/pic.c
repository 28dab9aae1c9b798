// SPDX-License-Identifier: GPL-2.0
/*
 * The in-kernel 8259A pair: master at 0x20-0x21, slave at 0xa0-0xa1 on the
 * master's IRQ2, and the PIIX edge/level control registers at 0x4d0-0x4d1,
 * with the behaviour KVM's model shows guests and KVM_GET/SET_IRQCHIP.
 *
 * Each chip's state is kept as the ioctl's struct kvm_pic_state, whose
 * fields are exactly the 8259's: the input edge latch (last_irr), IRR,
 * IMR, ISR, the rotating priority base, the vector base, OCW3's read
 * select and poll, ICW sequencing and ICW4's modes.
 *
 * EOIs are reported with kvisor_irq_acked() only after the lock is
 * dropped, because an irqfd resampler then lowers its line through
 * kvisor_pic_set_irq(); the INTR output is re-evaluated after that, so a
 * line the resampler lowered does not raise INTR on its way out.
 */
#include <linux/slab.h>
#include <linux/spinlock.h>

#include "core/kvisor.h"

#define PIC_MASTER	0
#define PIC_SLAVE	1
#define PIC_CASCADE_IRQ	2

struct kvisor_pic {
	struct kvisor_io_device dev_master;
	struct kvisor_io_device dev_slave;
	struct kvisor_io_device dev_elcr;
	struct kvisor_vm *vm;
	spinlock_t lock;		/* everything below */
	struct kvm_pic_state chip[2];
	bool output;			/* the master's INTR */
	bool kick;			/* INTR rose: wake the ExtINT vCPU */
	u16 acks;			/* IRQs 0-15 retired, not yet reported */
};

/*
 * Latch @level on input @irq of @c.  Level inputs follow the line; edge
 * inputs set IRR only on a rising edge.  Returns KVM's status: -1 masked,
 * 0 already pending, 1 otherwise.
 */
static int pic_chip_set_irq(struct kvm_pic_state *c, int irq, int level)
{
	u8 bit = BIT(irq);
	int ret = 1;

	if (c->elcr & bit) {
		if (level) {
			ret = !(c->irr & bit);
			c->irr |= bit;
			c->last_irr |= bit;
		} else {
			c->irr &= ~bit;
			c->last_irr &= ~bit;
		}
	} else if (level) {
		if (!(c->last_irr & bit)) {
			ret = !(c->irr & bit);
			c->irr |= bit;
		}
		c->last_irr |= bit;
	} else {
		c->last_irr &= ~bit;
	}
	return (c->imr & bit) ? -1 : ret;
}

/* The priority level (0 highest) of the best request in @mask, 8: none. */
static int pic_priority(const struct kvm_pic_state *c, u8 mask)
{
	int prio;

	if (!mask)
		return 8;
	for (prio = 0; !(mask & BIT((prio + c->priority_add) & 7)); prio++)
		;
	return prio;
}

/* The IRQ @c would raise INTR for now, or -1. */
static int pic_chip_pending(const struct kvm_pic_state *c, bool master)
{
	int prio, cur;
	u8 in_service = c->isr;

	prio = pic_priority(c, c->irr & ~c->imr);
	if (prio == 8)
		return -1;
	/*
	 * Special fully nested mode: an IRQ of the slave in service on the
	 * master does not block higher-priority requests of that slave.
	 */
	if (master && c->special_fully_nested_mode)
		in_service &= ~BIT(PIC_CASCADE_IRQ);
	cur = pic_priority(c, in_service);
	return prio < cur ? (prio + c->priority_add) & 7 : -1;
}

/* Recompute the cascade and the master's INTR after any change. */
static void pic_update(struct kvisor_pic *s)
{
	bool out;

	if (pic_chip_pending(&s->chip[PIC_SLAVE], false) >= 0) {
		/* The slave's INT pulses the master's IRQ2. */
		pic_chip_set_irq(&s->chip[PIC_MASTER], PIC_CASCADE_IRQ, 1);
		pic_chip_set_irq(&s->chip[PIC_MASTER], PIC_CASCADE_IRQ, 0);
	}
	out = pic_chip_pending(&s->chip[PIC_MASTER], true) >= 0;
	if (out && !s->output)
		s->kick = true;
	WRITE_ONCE(s->output, out);
}

static void pic_clear_isr(struct kvisor_pic *s, int chip, int irq)
{
	s->chip[chip].isr &= ~BIT(irq);
	s->acks |= BIT(irq + 8 * chip);
}

static void pic_lock(struct kvisor_pic *s, unsigned long *flags)
	__acquires(&s->lock)
{
	spin_lock_irqsave(&s->lock, *flags);
}

/*
 * Report the retired IRQs with the lock dropped, update INTR, unlock, and
 * kick if INTR rose.
 */
static void pic_unlock(struct kvisor_pic *s, unsigned long flags)
	__releases(&s->lock)
{
	bool kick;
	u16 acks;
	int irq;

	while ((acks = s->acks)) {
		s->acks = 0;
		spin_unlock_irqrestore(&s->lock, flags);
		for (irq = 0; irq < 16; irq++)
			if (acks & BIT(irq))
				kvisor_irq_acked(s->vm, irq < 8 ?
						 KVM_IRQCHIP_PIC_MASTER :
						 KVM_IRQCHIP_PIC_SLAVE,
						 irq & 7);
		spin_lock_irqsave(&s->lock, flags);
	}
	pic_update(s);
	kick = s->kick;
	s->kick = false;
	spin_unlock_irqrestore(&s->lock, flags);
	if (kick)
		kvisor_irq_pic_kick(s->vm);
}

/* Some vCPU's LAPIC passes ExtINT: KVM's condition for ICW1's quirk. */
static bool pic_any_extint(struct kvisor_vm *vm)
{
	/* Pairs with vCPU creation publishing vcpus[] before the count. */
	int i, n = smp_load_acquire(&vm->nr_vcpus);

	for (i = 0; i < n; i++) {
		struct kvisor_vcpu *vcpu = READ_ONCE(vm->vcpus[i]);

		if (vcpu && vcpu->apic && kvisor_lapic_accepts_extint(vcpu))
			return true;
	}
	return false;
}

/* ICW1: start the initialization sequence. */
static void pic_icw1(struct kvisor_pic *s, int chip, u8 val, bool extint)
{
	struct kvm_pic_state *c = &s->chip[chip];
	u8 edge_irr = c->irr & ~c->elcr;
	int irq;

	c->init4 = val & 1;
	/* Single mode (bit 1) and LTIM (bit 3) are ignored, as in KVM. */
	c->last_irr = 0;
	c->irr &= c->elcr;
	c->imr = 0;
	c->priority_add = 0;
	c->special_mask = 0;
	c->read_reg_select = 0;
	if (!c->init4) {
		c->special_fully_nested_mode = 0;
		c->auto_eoi = 0;
	}
	c->init_state = 1;
	/*
	 * KVM retires the in-service bits of the edge requests it just
	 * dropped, so their sources get an EOI; keep that.
	 */
	if (!extint)
		return;
	for (irq = 0; irq < 8; irq++)
		if (edge_irr & BIT(irq))
			pic_clear_isr(s, chip, irq);
}

/* OCW2: EOIs and priority rotation. */
static void pic_ocw2(struct kvisor_pic *s, int chip, u8 val)
{
	struct kvm_pic_state *c = &s->chip[chip];
	int cmd = val >> 5, prio, irq;

	switch (cmd) {
	case 0:		/* rotate in auto-EOI mode: clear */
	case 4:		/* rotate in auto-EOI mode: set */
		c->rotate_on_auto_eoi = cmd >> 2;
		break;
	case 1:		/* non-specific EOI */
	case 5:		/* rotate on non-specific EOI */
		prio = pic_priority(c, c->isr);
		if (prio == 8)
			break;
		irq = (prio + c->priority_add) & 7;
		if (cmd == 5)
			c->priority_add = (irq + 1) & 7;
		pic_clear_isr(s, chip, irq);
		break;
	case 3:		/* specific EOI */
		pic_clear_isr(s, chip, val & 7);
		break;
	case 6:		/* set priority */
		c->priority_add = (val + 1) & 7;
		break;
	case 7:		/* rotate on specific EOI */
		irq = val & 7;
		c->priority_add = (irq + 1) & 7;
		pic_clear_isr(s, chip, irq);
		break;
	default:	/* 2: no operation */
		break;
	}
}

static void pic_write_data(struct kvm_pic_state *c, u8 val)
{
	switch (c->init_state) {
	case 0:		/* OCW1 */
		c->imr = val;
		break;
	case 1:		/* ICW2 */
		c->irq_base = val & 0xf8;
		c->init_state = 2;
		break;
	case 2:		/* ICW3: the cascade wiring is fixed */
		c->init_state = c->init4 ? 3 : 0;
		break;
	case 3:		/* ICW4 */
		c->special_fully_nested_mode = (val >> 4) & 1;
		c->auto_eoi = (val >> 1) & 1;
		c->init_state = 0;
		break;
	}
}

static void pic_write(struct kvisor_pic *s, int chip, u16 port, u8 val,
		      bool extint)
{
	struct kvm_pic_state *c = &s->chip[chip];

	if (port & 1) {
		pic_write_data(c, val);
	} else if (val & 0x10) {
		pic_icw1(s, chip, val, extint);
	} else if (val & 0x08) {	/* OCW3 */
		if (val & 0x04)
			c->poll = 1;
		if (val & 0x02)
			c->read_reg_select = val & 1;
		if (val & 0x40)
			c->special_mask = (val >> 5) & 1;
	} else {
		pic_ocw2(s, chip, val);
	}
}

/* A poll read: an INTA without the CPU, answering the IRQ number. */
static u8 pic_poll(struct kvisor_pic *s, int chip)
{
	struct kvm_pic_state *c = &s->chip[chip];
	int irq = pic_chip_pending(c, chip == PIC_MASTER);

	if (irq < 0)
		return 0x07;
	if (chip == PIC_SLAVE) {
		/* The cascade request the slave raised is consumed too. */
		s->chip[PIC_MASTER].isr &= ~BIT(PIC_CASCADE_IRQ);
		s->chip[PIC_MASTER].irr &= ~BIT(PIC_CASCADE_IRQ);
	}
	c->irr &= ~BIT(irq);
	pic_clear_isr(s, chip, irq);
	return irq;
}

static u8 pic_read(struct kvisor_pic *s, int chip, u16 port)
{
	struct kvm_pic_state *c = &s->chip[chip];
	u8 ret;

	if (c->poll) {
		ret = pic_poll(s, chip);
		c->poll = 0;
	} else if (port & 1) {
		ret = c->imr;
	} else {
		ret = c->read_reg_select ? c->isr : c->irr;
	}
	return ret;
}

/* Which chip a port belongs to: 0 master, 1 slave, 2 ELCR, -1 none. */
static int pic_port_chip(u64 port)
{
	switch (port) {
	case 0x20:
	case 0x21:
		return PIC_MASTER;
	case 0xa0:
	case 0xa1:
		return PIC_SLAVE;
	case 0x4d0:
	case 0x4d1:
		return 2;
	}
	return -1;
}

static int pic_pio_write(struct kvisor_pic *s, u64 port, unsigned int len,
			 const void *val)
{
	int chip = pic_port_chip(port);
	u8 data = *(const u8 *)val;
	unsigned long flags;
	bool extint = false;

	if (chip < 0)
		return -EOPNOTSUPP;
	if (len != 1)
		return 0;	/* dropped, as KVM does */
	if (chip < 2 && !(port & 1) && (data & 0x10))
		extint = pic_any_extint(s->vm);

	pic_lock(s, &flags);
	if (chip == 2)
		s->chip[port & 1].elcr = data & s->chip[port & 1].elcr_mask;
	else
		pic_write(s, chip, port, data, extint);
	pic_unlock(s, flags);
	return 0;
}

static int pic_pio_read(struct kvisor_pic *s, u64 port, unsigned int len,
			void *val)
{
	int chip = pic_port_chip(port);
	unsigned long flags;
	u8 data;

	if (chip < 0)
		return -EOPNOTSUPP;
	if (len != 1) {
		memset(val, 0, len);
		return 0;
	}
	pic_lock(s, &flags);
	if (chip == 2)
		data = s->chip[port & 1].elcr;
	else
		data = pic_read(s, chip, port);
	pic_unlock(s, flags);
	*(u8 *)val = data;
	return 0;
}

#define PIC_DEV_OPS(name)						\
static int pic_##name##_read(struct kvisor_io_device *dev,		\
			     struct kvisor_vcpu *vcpu, u64 addr,	\
			     unsigned int len, void *val)		\
{									\
	return pic_pio_read(container_of(dev, struct kvisor_pic,	\
					 dev_##name), addr, len, val);	\
}									\
static int pic_##name##_write(struct kvisor_io_device *dev,		\
			      struct kvisor_vcpu *vcpu, u64 addr,	\
			      unsigned int len, const void *val)	\
{									\
	return pic_pio_write(container_of(dev, struct kvisor_pic,	\
					  dev_##name), addr, len, val);	\
}									\
static const struct kvisor_io_ops pic_##name##_ops = {			\
	.read = pic_##name##_read,					\
	.write = pic_##name##_write,					\
}

PIC_DEV_OPS(master);
PIC_DEV_OPS(slave);
PIC_DEV_OPS(elcr);

/* The caller holds vm->irq_lock. */
int kvisor_pic_create(struct kvisor_vm *vm)
{
	struct kvisor_pic *s;
	int ret;

	if (vm->pic)
		return -EEXIST;
	s = kzalloc(sizeof(*s), GFP_KERNEL_ACCOUNT);
	if (!s)
		return -ENOMEM;
	spin_lock_init(&s->lock);
	s->vm = vm;
	/* IRQs 0-2 and 8, 13 are edge-only on the PIIX. */
	s->chip[PIC_MASTER].elcr_mask = 0xf8;
	s->chip[PIC_SLAVE].elcr_mask = 0xde;
	s->dev_master.ops = &pic_master_ops;
	s->dev_slave.ops = &pic_slave_ops;
	s->dev_elcr.ops = &pic_elcr_ops;

	ret = kvisor_io_bus_register(vm, KVISOR_PIO_BUS, 0x20, 2,
				     &s->dev_master);
	if (ret)
		goto free;
	ret = kvisor_io_bus_register(vm, KVISOR_PIO_BUS, 0xa0, 2,
				     &s->dev_slave);
	if (ret)
		goto unreg_master;
	ret = kvisor_io_bus_register(vm, KVISOR_PIO_BUS, 0x4d0, 2,
				     &s->dev_elcr);
	if (ret)
		goto unreg_slave;
	/* Inputs that find the pointer see the device initialized. */
	smp_store_release(&vm->pic, s);
	return 0;

unreg_slave:
	kvisor_io_bus_unregister(vm, KVISOR_PIO_BUS, &s->dev_slave);
unreg_master:
	kvisor_io_bus_unregister(vm, KVISOR_PIO_BUS, &s->dev_master);
free:
	kfree(s);
	return ret;
}

/* the caller holds vm->irq_lock, as for create. */
void kvisor_pic_destroy(struct kvisor_vm *vm)
{
	struct kvisor_pic *s = vm->pic;

	if (!s)
		return;
	kvisor_io_bus_unregister(vm, KVISOR_PIO_BUS, &s->dev_master);
	kvisor_io_bus_unregister(vm, KVISOR_PIO_BUS, &s->dev_slave);
	kvisor_io_bus_unregister(vm, KVISOR_PIO_BUS, &s->dev_elcr);
	vm->pic = NULL;
	kfree(s);
}

/*
 * The return values are irq.h's, which are KVM's kvm_pic_set_irq(): -1
 * when the input is masked in IMR (pic_chip_set_irq() latches the level
 * first) or there is no such input, 0 when a raise found the request
 * already pending in IRR, 1 otherwise.  kvisor_irq_set() adds them up
 * over a GSI's routes.
 */
int kvisor_pic_set_irq(struct kvisor_vm *vm, int irq, int level)
{
	struct kvisor_pic *s = vm->pic;
	unsigned long flags;
	int ret;

	if (!s || irq < 0 || irq >= KVISOR_NR_PIC_PINS)
		return -1;
	pic_lock(s, &flags);
	ret = pic_chip_set_irq(&s->chip[irq >> 3], irq & 7, level);
	pic_unlock(s, flags);
	return ret;
}

bool kvisor_pic_has_interrupt(struct kvisor_vm *vm)
{
	struct kvisor_pic *s = READ_ONCE(vm->pic);

	return s && READ_ONCE(s->output);
}

/* Acknowledge @irq of @chip: into ISR, unless auto-EOI retires it. */
static void pic_intack(struct kvisor_pic *s, int chip, int irq)
{
	struct kvm_pic_state *c = &s->chip[chip];

	c->isr |= BIT(irq);
	/* A level request stays until its line drops. */
	if (!(c->elcr & BIT(irq)))
		c->irr &= ~BIT(irq);
	if (c->auto_eoi) {
		if (c->rotate_on_auto_eoi)
			c->priority_add = (irq + 1) & 7;
		pic_clear_isr(s, chip, irq);
	}
}

int kvisor_pic_read_irq(struct kvisor_vm *vm)
{
	struct kvisor_pic *s = vm->pic;
	struct kvm_pic_state *m, *sl;
	unsigned long flags;
	int irq, irq2, vec;

	if (!s)
		return -1;
	m = &s->chip[PIC_MASTER];
	sl = &s->chip[PIC_SLAVE];
	pic_lock(s, &flags);
	/* INTA drops INTR; pic_unlock() raises it again for the next one. */
	s->output = false;
	irq = pic_chip_pending(m, true);
	if (irq < 0) {
		/* Nothing left by INTA time: the master's spurious IRQ7. */
		vec = m->irq_base + 7;
	} else {
		pic_intack(s, PIC_MASTER, irq);
		if (irq == PIC_CASCADE_IRQ) {
			irq2 = pic_chip_pending(sl, false);
			if (irq2 >= 0)
				pic_intack(s, PIC_SLAVE, irq2);
			else
				irq2 = 7;	/* the slave's spurious IRQ15 */
			vec = sl->irq_base + irq2;
		} else {
			vec = m->irq_base + irq;
		}
	}
	pic_unlock(s, flags);
	return vec;
}

static bool pic_chip_valid(int chip)
{
	return chip == KVM_IRQCHIP_PIC_MASTER || chip == KVM_IRQCHIP_PIC_SLAVE;
}

void kvisor_pic_get_state(struct kvisor_vm *vm, int chip,
			  struct kvm_pic_state *st)
{
	struct kvisor_pic *s = vm->pic;
	unsigned long flags;

	if (!s || !pic_chip_valid(chip)) {
		memset(st, 0, sizeof(*st));
		return;
	}
	spin_lock_irqsave(&s->lock, flags);
	*st = s->chip[chip == KVM_IRQCHIP_PIC_SLAVE];
	spin_unlock_irqrestore(&s->lock, flags);
}

/* Every field is taken as given, elcr_mask included, as KVM does. */
void kvisor_pic_set_state(struct kvisor_vm *vm, int chip,
			  const struct kvm_pic_state *st)
{
	struct kvisor_pic *s = vm->pic;
	unsigned long flags;

	if (!s || !pic_chip_valid(chip))
		return;
	pic_lock(s, &flags);
	s->chip[chip == KVM_IRQCHIP_PIC_SLAVE] = *st;
	pic_unlock(s, flags);
}
