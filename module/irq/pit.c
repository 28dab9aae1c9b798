// SPDX-License-Identifier: GPL-2.0
/*
 * The 8254 programmable interval timer on ports 0x40-0x43, and the
 * speaker/gate port 0x61 when KVM_PIT_SPEAKER_DUMMY asks for it.
 *
 * Like KVM, counters are not ticked: a count and an OUT level are derived
 * from the time elapsed since the count was loaded (channels 1 and 2), or
 * from the hrtimer that drives IRQ0 (channel 0).  The state kept is the
 * uapi struct kvm_pit_channel_state itself, so KVM_GET_PIT2/KVM_SET_PIT2
 * copy it whole, and values userspace puts there are only ever used in
 * switch statements with a default case or as a divisor that loading a
 * count made non-zero.
 *
 * Channel 0's timer pulses GSI 0 from the hrtimer callback itself: the
 * routing code may be called from hard interrupt context.  Ticks the guest
 * missed are dropped rather than caught up later, as KVM does with
 * KVM_REINJECT_CONTROL's reinject off.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/hrtimer.h>
#include <linux/ktime.h>
#include <linux/math64.h>
#include <linux/slab.h>
#include <linux/spinlock.h>

#include "core/kvisor.h"

#define PIT_FREQ		1193182		/* Hz */
#define PIT_BASE		0x40
#define PIT_LEN			4
#define SPEAKER_PORT		0x61
#define SPEAKER_LEN		4

/* The shortest periodic IRQ0 a guest may ask for; KVM's default too. */
#define PIT_MIN_PERIOD_NS	(200 * NSEC_PER_USEC)

/* read_state, write_state, rw_mode and count_latched */
#define RW_LSB			1
#define RW_MSB			2
#define RW_WORD0		3
#define RW_WORD1		4

struct kvisor_pit {
	struct kvisor_vm *vm;
	spinlock_t lock;		/* the channels, flags, period */
	struct kvm_pit_channel_state ch[3];
	u32 flags;			/* KVM_PIT_FLAGS_* */
	struct hrtimer timer;		/* channel 0 -> IRQ0 */
	s64 period;			/* ns, of the last timer started */
	bool periodic;
	bool speaker;
	struct kvisor_io_device dev;
	struct kvisor_io_device speaker_dev;
};

/* How long channel @i has been counting, in ns. */
static s64 pit_elapsed(struct kvisor_pit *pit, int i)
{
	if (i)
		return ktime_to_ns(ktime_sub(ktime_get(),
					     pit->ch[i].count_load_time));
	/*
	 * Channel 0's count follows its timer, which restarts every period:
	 * past a one-shot expiry, remaining turns negative and the count
	 * keeps going down, as a real counter wraps.
	 */
	if (!pit->period)
		return 0;
	return pit->period - ktime_to_ns(hrtimer_get_remaining(&pit->timer));
}

static u64 pit_ticks(struct kvisor_pit *pit, int i)
{
	return mul_u64_u32_div(pit_elapsed(pit, i), PIT_FREQ, NSEC_PER_SEC);
}

static u32 pit_get_count(struct kvisor_pit *pit, int i)
{
	struct kvm_pit_channel_state *c = &pit->ch[i];
	u64 d = pit_ticks(pit, i);

	switch (c->mode) {
	case 0:
	case 1:
	case 4:
	case 5:
		return (c->count - d) & 0xffff;
	case 3:
		/* counts down by two, twice per period */
		return c->count - (2 * d) % c->count;
	default:
		return c->count - d % c->count;
	}
}

static int pit_get_out(struct kvisor_pit *pit, int i)
{
	struct kvm_pit_channel_state *c = &pit->ch[i];
	u64 d = pit_ticks(pit, i);

	switch (c->mode) {
	default:
	case 0:
		return d >= c->count;
	case 1:
		return d < c->count;
	case 2:
		return d && !(d % c->count);
	case 3:
		return d % c->count < ((c->count + 1) >> 1);
	case 4:
	case 5:
		return d == c->count;
	}
}

static void pit_latch_count(struct kvisor_pit *pit, int i)
{
	struct kvm_pit_channel_state *c = &pit->ch[i];

	if (c->count_latched)
		return;
	c->latched_count = pit_get_count(pit, i);
	c->count_latched = c->rw_mode;
}

static void pit_latch_status(struct kvisor_pit *pit, int i)
{
	struct kvm_pit_channel_state *c = &pit->ch[i];

	if (c->status_latched)
		return;
	/* NULL COUNT (bit 6) reads 0, as KVM's */
	c->status = (pit_get_out(pit, i) << 7) | (c->rw_mode << 4) |
		    (c->mode << 1) | c->bcd;
	c->status_latched = 1;
}

static void pit_stop_timer(struct kvisor_pit *pit)
{
	hrtimer_cancel(&pit->timer);
}

static void pit_start_timer(struct kvisor_pit *pit, u32 count, bool periodic)
{
	s64 interval;

	/* IRQ0 needs the in-kernel IOAPIC and PIC; HPET legacy owns it */
	if (READ_ONCE(pit->vm->irqchip) != KVISOR_IRQCHIP_KERNEL ||
	    (pit->flags & KVM_PIT_FLAGS_HPET_LEGACY))
		return;

	interval = mul_u64_u32_div(count, NSEC_PER_SEC, PIT_FREQ);
	hrtimer_cancel(&pit->timer);
	pit->period = interval;
	pit->periodic = periodic;
	/* hrtimers are not throttled by the scheduler: bound the rate */
	if (periodic && pit->period < PIT_MIN_PERIOD_NS) {
		pr_info_ratelimited("PIT period %lld ns raised to %lld ns\n",
				    pit->period, (s64)PIT_MIN_PERIOD_NS);
		pit->period = PIT_MIN_PERIOD_NS;
	}
	hrtimer_start(&pit->timer, ktime_add_ns(ktime_get(), interval),
		      HRTIMER_MODE_ABS);
}

/* Load @val into channel @i; on channel 0 this (re)starts IRQ0's timer. */
static void pit_load_count(struct kvisor_pit *pit, int i, u32 val)
{
	/* 0 is the largest count: 2^16 (binary), 10^4 BCD counts as 2^16 too */
	if (!val)
		val = 0x10000;
	pit->ch[i].count = val;
	if (i) {
		pit->ch[i].count_load_time = ktime_to_ns(ktime_get());
		return;
	}
	switch (pit->ch[0].mode) {
	case 0:
	case 1:
	case 4:
		pit_start_timer(pit, val, false);
		break;
	case 2:
	case 3:
		pit_start_timer(pit, val, true);
		break;
	default:
		pit_stop_timer(pit);
	}
}

static void pit_set_gate(struct kvisor_pit *pit, int i, u8 val)
{
	struct kvm_pit_channel_state *c = &pit->ch[i];

	switch (c->mode) {
	case 1:
	case 2:
	case 3:
	case 5:
		/* a rising edge restarts the count */
		if (c->gate < val)
			c->count_load_time = ktime_to_ns(ktime_get());
		break;
	default:
		break;
	}
	c->gate = val;
}

static enum hrtimer_restart pit_timer_fn(struct hrtimer *t)
{
	struct kvisor_pit *pit = container_of(t, struct kvisor_pit, timer);

	if (!(READ_ONCE(pit->flags) & KVM_PIT_FLAGS_HPET_LEGACY)) {
		kvisor_irq_set(pit->vm, 0, 1);
		kvisor_irq_set(pit->vm, 0, 0);
	}
	if (!READ_ONCE(pit->periodic))
		return HRTIMER_NORESTART;
	/*
	 * Skip the periods the host was too busy to serve instead of firing
	 * back to back to catch up: the guest cannot tell coalesced edges
	 * apart anyway.
	 */
	hrtimer_forward_now(t, ns_to_ktime(READ_ONCE(pit->period)));
	return HRTIMER_RESTART;
}

static void pit_write_control(struct kvisor_pit *pit, u8 val)
{
	struct kvm_pit_channel_state *c;
	int i = val >> 6;

	if (i == 3) {
		/* read-back: bits 3:1 select channels, 5 and 4 are active low */
		for (i = 0; i < 3; i++) {
			if (!(val & (2 << i)))
				continue;
			if (!(val & 0x20))
				pit_latch_count(pit, i);
			if (!(val & 0x10))
				pit_latch_status(pit, i);
		}
		return;
	}
	c = &pit->ch[i];
	if (!((val >> 4) & 3)) {
		pit_latch_count(pit, i);
		return;
	}
	c->rw_mode = (val >> 4) & 3;
	c->read_state = c->rw_mode;
	c->write_state = c->rw_mode;
	c->mode = (val >> 1) & 7;
	if (c->mode > 5)	/* 6 and 7 are aliases of 2 and 3 */
		c->mode -= 4;
	c->bcd = val & 1;
}

static void pit_write_count(struct kvisor_pit *pit, int i, u8 val)
{
	struct kvm_pit_channel_state *c = &pit->ch[i];

	switch (c->write_state) {
	default:
	case RW_LSB:
		pit_load_count(pit, i, val);
		break;
	case RW_MSB:
		pit_load_count(pit, i, val << 8);
		break;
	case RW_WORD0:
		c->write_latch = val;
		c->write_state = RW_WORD1;
		break;
	case RW_WORD1:
		pit_load_count(pit, i, c->write_latch | (val << 8));
		c->write_state = RW_WORD0;
		break;
	}
}

static int pit_io_write(struct kvisor_io_device *dev, struct kvisor_vcpu *vcpu,
			u64 addr, unsigned int len, const void *val)
{
	struct kvisor_pit *pit = container_of(dev, struct kvisor_pit, dev);
	unsigned long flags;
	u8 v;

	if (addr < PIT_BASE || addr >= PIT_BASE + PIT_LEN || !len)
		return -EOPNOTSUPP;
	/* only the low byte reaches an 8-bit device */
	v = *(const u8 *)val;
	spin_lock_irqsave(&pit->lock, flags);
	if ((addr & 3) == 3)
		pit_write_control(pit, v);
	else
		pit_write_count(pit, addr & 3, v);
	spin_unlock_irqrestore(&pit->lock, flags);
	return 0;
}

static u8 pit_read_channel(struct kvisor_pit *pit, int i)
{
	struct kvm_pit_channel_state *c = &pit->ch[i];
	u32 count;

	if (c->status_latched) {
		c->status_latched = 0;
		return c->status;
	}
	switch (c->count_latched) {
	case 0:
		break;
	case RW_MSB:
		c->count_latched = 0;
		return c->latched_count >> 8;
	case RW_WORD0:
		c->count_latched = RW_MSB;
		return c->latched_count & 0xff;
	default:
		c->count_latched = 0;
		return c->latched_count & 0xff;
	}

	count = pit_get_count(pit, i);
	switch (c->read_state) {
	case RW_MSB:
		return count >> 8;
	case RW_WORD0:
		c->read_state = RW_WORD1;
		return count;
	case RW_WORD1:
		c->read_state = RW_WORD0;
		return count >> 8;
	default:
		return count;
	}
}

static int pit_io_read(struct kvisor_io_device *dev, struct kvisor_vcpu *vcpu,
		       u64 addr, unsigned int len, void *val)
{
	struct kvisor_pit *pit = container_of(dev, struct kvisor_pit, dev);
	unsigned long flags;
	u32 ret = 0;

	if (addr < PIT_BASE || addr >= PIT_BASE + PIT_LEN)
		return -EOPNOTSUPP;
	/* the control word register cannot be read */
	if ((addr & 3) != 3) {
		spin_lock_irqsave(&pit->lock, flags);
		ret = pit_read_channel(pit, addr & 3);
		spin_unlock_irqrestore(&pit->lock, flags);
	}
	memcpy(val, &ret, min_t(unsigned int, len, sizeof(ret)));
	return 0;
}

static int speaker_io_write(struct kvisor_io_device *dev,
			    struct kvisor_vcpu *vcpu, u64 addr,
			    unsigned int len, const void *val)
{
	struct kvisor_pit *pit = container_of(dev, struct kvisor_pit,
					      speaker_dev);
	unsigned long flags;
	u8 v;

	if (addr != SPEAKER_PORT || !len)
		return -EOPNOTSUPP;
	v = *(const u8 *)val;
	spin_lock_irqsave(&pit->lock, flags);
	if (v & 2)
		pit->flags |= KVM_PIT_FLAGS_SPEAKER_DATA_ON;
	else
		pit->flags &= ~KVM_PIT_FLAGS_SPEAKER_DATA_ON;
	pit_set_gate(pit, 2, v & 1);
	spin_unlock_irqrestore(&pit->lock, flags);
	return 0;
}

static int speaker_io_read(struct kvisor_io_device *dev,
			   struct kvisor_vcpu *vcpu, u64 addr,
			   unsigned int len, void *val)
{
	struct kvisor_pit *pit = container_of(dev, struct kvisor_pit,
					      speaker_dev);
	unsigned long flags;
	u32 refresh, ret;

	if (addr != SPEAKER_PORT)
		return -EOPNOTSUPP;
	/* DRAM refresh toggles every ~15 us; 2^14 ns is close enough */
	refresh = ((u64)ktime_to_ns(ktime_get()) >> 14) & 1;
	spin_lock_irqsave(&pit->lock, flags);
	ret = (!!(pit->flags & KVM_PIT_FLAGS_SPEAKER_DATA_ON) << 1) |
	      (pit->ch[2].gate & 1) | (pit_get_out(pit, 2) << 5) |
	      (refresh << 4);
	spin_unlock_irqrestore(&pit->lock, flags);
	memcpy(val, &ret, min_t(unsigned int, len, sizeof(ret)));
	return 0;
}

static const struct kvisor_io_ops pit_io_ops = {
	.read = pit_io_read,
	.write = pit_io_write,
};

static const struct kvisor_io_ops speaker_io_ops = {
	.read = speaker_io_read,
	.write = speaker_io_write,
};

/* Power-on: modes unprogrammed (0xff), only channel 2's gate low. */
static void pit_reset(struct kvisor_pit *pit)
{
	int i;

	pit->flags = 0;
	for (i = 0; i < 3; i++) {
		pit->ch[i].mode = 0xff;
		pit->ch[i].gate = i != 2;
		pit_load_count(pit, i, 0);
	}
}

/*
 * KVM_CREATE_PIT2.  The caller holds vm->irq_lock.  Like KVM, flags other
 * than KVM_PIT_SPEAKER_DUMMY are ignored rather than refused.
 */
int kvisor_pit_create(struct kvisor_vm *vm, u32 flags)
{
	struct kvisor_pit *pit;
	int r;

	lockdep_assert_held(&vm->irq_lock);
	if (vm->pit)
		return -EEXIST;
	pit = kzalloc(sizeof(*pit), GFP_KERNEL_ACCOUNT);
	if (!pit)
		return -ENOMEM;
	pit->vm = vm;
	spin_lock_init(&pit->lock);
	hrtimer_init(&pit->timer, CLOCK_MONOTONIC, HRTIMER_MODE_ABS);
	pit->timer.function = pit_timer_fn;
	pit_reset(pit);

	pit->dev.ops = &pit_io_ops;
	r = kvisor_io_bus_register(vm, KVISOR_PIO_BUS, PIT_BASE, PIT_LEN,
				   &pit->dev);
	if (r)
		goto fail;
	if (flags & KVM_PIT_SPEAKER_DUMMY) {
		pit->speaker_dev.ops = &speaker_io_ops;
		r = kvisor_io_bus_register(vm, KVISOR_PIO_BUS, SPEAKER_PORT,
					   SPEAKER_LEN, &pit->speaker_dev);
		if (r) {
			kvisor_io_bus_unregister(vm, KVISOR_PIO_BUS, &pit->dev);
			goto fail;
		}
		pit->speaker = true;
	}
	vm->pit = pit;
	return 0;

fail:
	kfree(pit);
	return r;
}

/* The caller holds vm->irq_lock, as for create. */
void kvisor_pit_destroy(struct kvisor_vm *vm)
{
	struct kvisor_pit *pit = vm->pit;

	if (!pit)
		return;
	/* no vCPU may be in the port handlers, which could restart the timer */
	kvisor_io_bus_unregister(vm, KVISOR_PIO_BUS, &pit->dev);
	if (pit->speaker)
		kvisor_io_bus_unregister(vm, KVISOR_PIO_BUS, &pit->speaker_dev);
	hrtimer_cancel(&pit->timer);
	vm->pit = NULL;
	kfree(pit);
}

/* KVM_GET_PIT2: count_load_time is in the host's CLOCK_MONOTONIC ns. */
void kvisor_pit_get_state(struct kvisor_vm *vm, struct kvm_pit_state2 *s)
{
	struct kvisor_pit *pit = vm->pit;
	unsigned long flags;

	memset(s, 0, sizeof(*s));
	spin_lock_irqsave(&pit->lock, flags);
	memcpy(s->channels, pit->ch, sizeof(s->channels));
	s->flags = pit->flags;
	spin_unlock_irqrestore(&pit->lock, flags);
}

static void pit_set_channels(struct kvisor_pit *pit,
			     const struct kvm_pit_channel_state *ch,
			     bool hpet_start)
{
	u8 mode;
	int i;

	memcpy(pit->ch, ch, sizeof(pit->ch));
	for (i = 0; i < 3; i++) {
		if (i || !hpet_start) {
			pit_load_count(pit, i, pit->ch[i].count);
			continue;
		}
		/* HPET takes over IRQ0: stop channel 0's timer, keep its mode */
		mode = pit->ch[0].mode;
		pit->ch[0].mode = 0xff;
		pit_load_count(pit, 0, pit->ch[0].count);
		pit->ch[0].mode = mode;
	}
}

/* KVM_SET_PIT2: reloads every count, so channel 0's timer restarts. */
int kvisor_pit_set_state(struct kvisor_vm *vm, const struct kvm_pit_state2 *s)
{
	struct kvisor_pit *pit = vm->pit;
	unsigned long flags;
	bool start;

	spin_lock_irqsave(&pit->lock, flags);
	start = !(pit->flags & KVM_PIT_FLAGS_HPET_LEGACY) &&
		(s->flags & KVM_PIT_FLAGS_HPET_LEGACY);
	WRITE_ONCE(pit->flags, s->flags);
	pit_set_channels(pit, s->channels, start);
	spin_unlock_irqrestore(&pit->lock, flags);
	return 0;
}

/* The legacy KVM_GET_PIT/KVM_SET_PIT: the channels without the flags. */
void kvisor_pit_get_state1(struct kvisor_vm *vm, struct kvm_pit_state *s)
{
	struct kvisor_pit *pit = vm->pit;
	unsigned long flags;

	spin_lock_irqsave(&pit->lock, flags);
	memcpy(s->channels, pit->ch, sizeof(s->channels));
	spin_unlock_irqrestore(&pit->lock, flags);
}

int kvisor_pit_set_state1(struct kvisor_vm *vm, const struct kvm_pit_state *s)
{
	struct kvisor_pit *pit = vm->pit;
	unsigned long flags;

	spin_lock_irqsave(&pit->lock, flags);
	pit_set_channels(pit, s->channels, false);
	spin_unlock_irqrestore(&pit->lock, flags);
	return 0;
}
