// SPDX-License-Identifier: GPL-2.0
/*
 * The in-kernel local APIC: xAPIC MMIO and x2APIC MSR registers, the
 * timer (one-shot, periodic, TSC-deadline), IPIs and the APIC bus that
 * every interrupt source uses to reach a vCPU (kvisor_apic_deliver()).
 *
 * The registers live in a 4 KiB page laid out like the xAPIC MMIO page,
 * so KVM_GET_LAPIC and KVM_SET_LAPIC are copies of its first 1 KiB.  Each
 * LAPIC has a spinlock (irqsave) over that page, because other vCPUs,
 * the IOAPIC/PIC and irqfds deliver into it from any context.  The timer
 * state (mode, period, TSC deadline, the hrtimer) is only changed by the
 * vCPU's own thread; the hrtimer callback only counts expiries in an
 * atomic and kicks the vCPU, and kvisor_lapic_sync() turns them into
 * interrupts on the vCPU thread.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/hrtimer.h>
#include <linux/seq_file.h>
#include <linux/math64.h>
#include <linux/nospec.h>
#include <linux/slab.h>
#include <linux/gfp.h>
#include <asm/apicdef.h>
#include <asm/mce.h>
#include <asm/msr-index.h>
#include <asm/tsc.h>

#include "core/kvisor.h"
#include "core/trace.h"

/*
 * KVM 6.1: version 0x14 and six LVT entries, or seven where the vCPU's
 * MCG_CAP has MCG_CMCI_P: the seventh, CMCI, sits apart at 0x2f0 (SDM
 * Vol. 3B, "CMCI Local APIC Interface").
 */
#define LAPIC_VERSION		0x14
#define LAPIC_NR_LVT		6
#define LAPIC_LVT_CMCI		6	/* the index of the seventh */
#define LAPIC_STATE_SIZE	KVM_APIC_REG_SIZE	/* 1 KiB */
#define X2APIC_MSR_BASE		0x800
#define X2APIC_MSR_END		0x8ff
#define X2APIC_BROADCAST	0xffffffffU
#define XAPIC_BROADCAST		0xffU

/* KVM's APIC_BUS_CYCLE_NS and min_timer_period_us. */
#define APIC_BUS_CYCLE_NS	1
#define MIN_TIMER_PERIOD_NS	(200 * NSEC_PER_USEC)

#define LVT_BASE_MASK	(APIC_LVT_MASKED | APIC_SEND_PENDING | APIC_VECTOR_MASK)
#define LINT_MASK	(LVT_BASE_MASK | APIC_MODE_MASK | APIC_INPUT_POLARITY | \
			 APIC_LVT_REMOTE_IRR | APIC_LVT_LEVEL_TRIGGER)
#define TIMER_MODE_MASK	(3 << 17)

/* The writable bits of each LVT, in register order from APIC_LVTT. */
static const u32 lvt_mask[LAPIC_NR_LVT + 1] = {
	LVT_BASE_MASK,				/* timer; the mode added later */
	LVT_BASE_MASK | APIC_MODE_MASK,		/* thermal */
	LVT_BASE_MASK | APIC_MODE_MASK,		/* performance counter */
	LINT_MASK,				/* LINT0 */
	LINT_MASK,				/* LINT1 */
	LVT_BASE_MASK,				/* error */
	LVT_BASE_MASK | APIC_MODE_MASK,		/* CMCI */
};

static inline u32 lvt_reg(int i)
{
	return i == LAPIC_LVT_CMCI ? APIC_LVTCMCI : APIC_LVTT + 0x10 * i;
}

struct kvisor_lapic {
	struct kvisor_vcpu *vcpu;
	spinlock_t lock;	/* the register page and the fields below */
	void *regs;
	/* mirrors of vcpu->apic_base, read under @lock by other CPUs */
	bool hw_enabled;
	bool x2apic;

	struct hrtimer timer;
	atomic_t timer_pending;
	u32 timer_mode;		/* LVTT bits 18:17 as the guest may use them */
	u32 divide;		/* 1..128 */
	u64 period_ns;		/* 0: one-shot/periodic timer not armed */
	bool periodic;		/* read by the hrtimer callback */
	u64 tsc_deadline;
};

/* Register page accessors ------------------------------------------------ */

static inline u32 reg_get(struct kvisor_lapic *apic, u32 off)
{
	return *(u32 *)(apic->regs + off);
}

static inline void reg_set(struct kvisor_lapic *apic, u32 off, u32 val)
{
	*(u32 *)(apic->regs + off) = val;
}

static inline bool vec_test(struct kvisor_lapic *apic, u32 base, int vec)
{
	return reg_get(apic, base + (vec >> 5) * 0x10) & BIT(vec & 31);
}

static inline void vec_set(struct kvisor_lapic *apic, u32 base, int vec)
{
	u32 off = base + (vec >> 5) * 0x10;

	reg_set(apic, off, reg_get(apic, off) | BIT(vec & 31));
}

static inline void vec_clear(struct kvisor_lapic *apic, u32 base, int vec)
{
	u32 off = base + (vec >> 5) * 0x10;

	reg_set(apic, off, reg_get(apic, off) & ~BIT(vec & 31));
}

/* Highest vector set in the 256-bit register at @base, or -1. */
static int vec_highest(struct kvisor_lapic *apic, u32 base)
{
	int i;
	u32 v;

	for (i = 7; i >= 0; i--) {
		v = reg_get(apic, base + i * 0x10);
		if (v)
			return i * 32 + fls(v) - 1;
	}
	return -1;
}

static inline bool sw_enabled(struct kvisor_lapic *apic)
{
	return reg_get(apic, APIC_SPIV) & APIC_SPIV_APIC_ENABLED;
}

/* Hardware- and software-enabled: fixed interrupts are accepted. */
static inline bool apic_enabled(struct kvisor_lapic *apic)
{
	return apic->hw_enabled && sw_enabled(apic);
}

static inline u32 x2apic_ldr(u32 id)
{
	return ((id >> 4) << 16) | (1U << (id & 0xf));
}

/* The guest's CPUID, for the features that change what the LAPIC does. */
static bool guest_has_1_ecx(struct kvisor_vcpu *vcpu, int bit)
{
	const struct kvm_cpuid_entry2 *e =
		kvisor_vcpu_cpuid_find(vcpu, 1, 0, false);

	return e && (e->ecx & BIT(bit));
}

#define CPUID_1_ECX_X2APIC	21
#define CPUID_1_ECX_TSC_DEADLINE 24

/* KVM's cpuid_query_maxphyaddr(): 36 without leaf 0x80000008. */
static int guest_maxphyaddr(struct kvisor_vcpu *vcpu)
{
	const struct kvm_cpuid_entry2 *e =
		kvisor_vcpu_cpuid_find(vcpu, 0x80000000, 0, false);

	if (!e || e->eax < 0x80000008)
		return 36;
	e = kvisor_vcpu_cpuid_find(vcpu, 0x80000008, 0, false);
	return e ? e->eax & 0xff : 36;
}

/*
 * The LVT entries this LAPIC has: the CMCI entry comes with MCG_CMCI_P,
 * which only KVM_X86_SETUP_MCE changes, on the vCPU's own thread.
 */
static int nr_lvt(struct kvisor_lapic *apic)
{
	return LAPIC_NR_LVT + !!(apic->vcpu->mce.cap & MCG_CMCI_P);
}

/*
 * KVM offers directed EOI (LVR bit 24, SPIV bit 12) only to a split-irqchip
 * guest with x2APIC in its CPUID, where userspace's IOAPIC gets the EOIs;
 * it follows KVM_SET_CPUID2, so it is worked out when read, as is the
 * LVT count in bits 23:16 (the highest entry's index).
 */
static u32 lapic_version(struct kvisor_lapic *apic)
{
	struct kvisor_vcpu *vcpu = apic->vcpu;
	u32 v = LAPIC_VERSION | (nr_lvt(apic) - 1) << 16;

	if (READ_ONCE(vcpu->vm->irqchip) == KVISOR_IRQCHIP_SPLIT &&
	    guest_has_1_ecx(vcpu, CPUID_1_ECX_X2APIC))
		return v | APIC_LVR_DIRECTED_EOI;
	return v;
}

static void update_ppr(struct kvisor_lapic *apic)
{
	u32 tpr = reg_get(apic, APIC_TASKPRI) & 0xff;
	int isr = vec_highest(apic, APIC_ISR);
	u32 isrv = isr < 0 ? 0 : isr & 0xf0;

	reg_set(apic, APIC_PROCPRI, (tpr & 0xf0) >= isrv ? tpr : isrv);
}

/* The timer --------------------------------------------------------------- */

/*
 * Interrupt context, possibly concurrent with the vCPU thread holding
 * apic->lock: touch nothing but the atomic count and the hrtimer itself.
 */
static enum hrtimer_restart lapic_timer_fn(struct hrtimer *t)
{
	struct kvisor_lapic *apic = container_of(t, struct kvisor_lapic, timer);

	atomic_inc(&apic->timer_pending);
	kvisor_vcpu_kick(apic->vcpu);
	if (READ_ONCE(apic->periodic)) {
		/* a late host skips ticks rather than storming the guest */
		hrtimer_forward_now(t, ns_to_ktime(READ_ONCE(apic->period_ns)));
		return HRTIMER_RESTART;
	}
	return HRTIMER_NORESTART;
}

static void timer_cancel(struct kvisor_lapic *apic)
{
	hrtimer_cancel(&apic->timer);
	WRITE_ONCE(apic->periodic, false);
	apic->period_ns = 0;
	/* like KVM: an expiry not yet turned into an interrupt is dropped */
	atomic_set(&apic->timer_pending, 0);
}

static void update_divide(struct kvisor_lapic *apic)
{
	u32 tdcr = reg_get(apic, APIC_TDCR);
	u32 shift = (((tdcr & 3) | ((tdcr & 8) >> 1)) + 1) & 7;

	apic->divide = 1U << shift;
}

/* What the guest may select in LVTT: TSC-deadline only with its CPUID. */
static u32 timer_mode_mask(struct kvisor_lapic *apic)
{
	if (guest_has_1_ecx(apic->vcpu, CPUID_1_ECX_TSC_DEADLINE))
		return TIMER_MODE_MASK;
	return APIC_LVT_TIMER_PERIODIC;
}

static inline bool mode_tscdeadline(struct kvisor_lapic *apic)
{
	return apic->timer_mode == APIC_LVT_TIMER_TSCDEADLINE;
}

/* The current count register, from the time the hrtimer has left. */
static u32 timer_current_count(struct kvisor_lapic *apic)
{
	ktime_t remaining;
	u64 ns;

	if (mode_tscdeadline(apic) || !reg_get(apic, APIC_TMICT) ||
	    !apic->period_ns)
		return 0;
	remaining = ktime_sub(hrtimer_get_expires(&apic->timer), ktime_get());
	if (ktime_to_ns(remaining) <= 0)
		return 0;
	div64_u64_rem(ktime_to_ns(remaining), apic->period_ns, &ns);
	return div64_u64(ns, APIC_BUS_CYCLE_NS * apic->divide);
}

/*
 * Arm the one-shot or periodic timer from TMICT, with the first expiry
 * after @first counts: TMICT normally, TMCCT when KVM_SET_LAPIC restores
 * a running timer (which, as in KVM, fires at once when TMCCT is 0).
 */
static void timer_start(struct kvisor_lapic *apic, u32 first)
{
	u32 tmict = reg_get(apic, APIC_TMICT);
	bool periodic = apic->timer_mode == APIC_LVT_TIMER_PERIODIC;
	u64 period, first_ns;

	if (mode_tscdeadline(apic) || !tmict)
		return;
	period = (u64)tmict * APIC_BUS_CYCLE_NS * apic->divide;
	if (periodic && period < MIN_TIMER_PERIOD_NS)
		period = MIN_TIMER_PERIOD_NS;	/* protect the host */
	first_ns = (u64)first * APIC_BUS_CYCLE_NS * apic->divide;
	if (first == tmict || first_ns > period || (!first_ns && periodic))
		first_ns = period;
	apic->period_ns = period;
	WRITE_ONCE(apic->periodic, periodic);
	hrtimer_start(&apic->timer, ktime_add_ns(ktime_get(), first_ns),
		      HRTIMER_MODE_ABS_HARD);
}

/* @tsc is the guest's TSC now, read before taking the lock. */
static void timer_start_tscdeadline(struct kvisor_lapic *apic, u64 tsc)
{
	u64 ns;

	if (!apic->tsc_deadline)
		return;
	if (apic->tsc_deadline <= tsc || !tsc_khz) {
		atomic_inc(&apic->timer_pending);
		kvisor_vcpu_kick(apic->vcpu);
		return;
	}
	ns = mul_u64_u32_div(apic->tsc_deadline - tsc, NSEC_PER_MSEC, tsc_khz);
	ns = min_t(u64, ns, 1ULL << 62);	/* no ktime overflow */
	hrtimer_start(&apic->timer, ktime_add_ns(ktime_get(), ns),
		      HRTIMER_MODE_ABS_HARD);
}

/*
 * LVTT changed: switching to or from TSC-deadline mode disarms the timer
 * (SDM Vol. 3, "TSC-Deadline Mode"); between one-shot and periodic it runs
 * on and the next expiry follows the new mode.
 */
static void update_lvtt(struct kvisor_lapic *apic)
{
	u32 mode = reg_get(apic, APIC_LVTT) & timer_mode_mask(apic);
	bool tscdeadline = mode == APIC_LVT_TIMER_TSCDEADLINE;

	if (mode == apic->timer_mode)
		return;
	if (tscdeadline != mode_tscdeadline(apic)) {
		timer_cancel(apic);
		reg_set(apic, APIC_TMICT, 0);
		apic->tsc_deadline = 0;
	}
	apic->timer_mode = mode;
	if (mode == APIC_LVT_TIMER_PERIODIC && apic->period_ns &&
	    apic->period_ns < MIN_TIMER_PERIOD_NS)
		WRITE_ONCE(apic->period_ns, MIN_TIMER_PERIOD_NS);
	WRITE_ONCE(apic->periodic,
		   mode == APIC_LVT_TIMER_PERIODIC && apic->period_ns);
}

/* TDCR changed: a running timer goes on from its current count. */
static void update_tdcr(struct kvisor_lapic *apic, u32 val)
{
	u32 cur = 0;
	bool running = !mode_tscdeadline(apic) && apic->period_ns &&
		       hrtimer_active(&apic->timer);

	if (running)
		cur = timer_current_count(apic);
	reg_set(apic, APIC_TDCR, val & 0xb);
	update_divide(apic);
	if (!running || (!cur && !apic->periodic))
		return;
	timer_cancel(apic);
	timer_start(apic, cur ? cur : reg_get(apic, APIC_TMICT));
}

/* Accepting interrupts ------------------------------------------------- */

/* A fixed interrupt into IRR: 1 if new, 0 if coalesced or not accepted. */
static int accept_fixed(struct kvisor_lapic *apic, int vec, bool level)
{
	bool new;

	if (!apic_enabled(apic))
		return 0;
	new = !vec_test(apic, APIC_IRR, vec);
	vec_set(apic, APIC_IRR, vec);
	if (level)
		vec_set(apic, APIC_TMR, vec);
	else
		vec_clear(apic, APIC_TMR, vec);
	return new;
}

/* EOI: the level-triggered vector to report upwards, or -1. */
static int do_eoi(struct kvisor_lapic *apic)
{
	int vec = vec_highest(apic, APIC_ISR);

	if (vec < 0)
		return -1;
	vec_clear(apic, APIC_ISR, vec);
	update_ppr(apic);
	return vec_test(apic, APIC_TMR, vec) ? vec : -1;
}

/* Registers ------------------------------------------------------------- */

/* 0 with *val, or 1 when the register does not exist (in this mode). */
static int reg_read(struct kvisor_lapic *apic, u32 off, u32 *val)
{
	*val = 0;
	if (off >= APIC_ISR && off < APIC_IRR + 0x80) {
		*val = reg_get(apic, off);
		return 0;
	}
	switch (off) {
	case APIC_ID:
	case APIC_TASKPRI:
	case APIC_PROCPRI:
	case APIC_LDR:
	case APIC_SPIV:
	case APIC_ESR:
	case APIC_ICR:
	case APIC_LVTT ... APIC_LVTERR:
	case APIC_TMICT:
	case APIC_TDCR:
		break;
	case APIC_DFR:
	case APIC_ICR2:
		if (apic->x2apic)
			return 1;
		break;
	case APIC_LVTCMCI:
		if (nr_lvt(apic) <= LAPIC_LVT_CMCI)
			return 1;
		break;
	case APIC_ARBPRI:
		return apic->x2apic;	/* reads 0 in xAPIC mode */
	case APIC_LVR:
		*val = lapic_version(apic);
		return 0;
	case APIC_TMCCT:
		*val = timer_current_count(apic);
		return 0;
	default:
		return 1;
	}
	if (off & 0xf)
		return 1;
	*val = reg_get(apic, off);
	return 0;
}

/* An LVT entry but the timer's: masked while the LAPIC is software-off. */
static void lvt_write(struct kvisor_lapic *apic, int i, u32 val)
{
	i = array_index_nospec(i, LAPIC_NR_LVT + 1);
	if (!sw_enabled(apic))
		val |= APIC_LVT_MASKED;
	reg_set(apic, lvt_reg(i), val & lvt_mask[i]);
}

/*
 * Every register write except EOI, ICR and SELF_IPI, which call out of
 * the LAPIC.  Returns 1 for a write the x2APIC interface answers with #GP
 * (the xAPIC page ignores those).  Called with apic->lock held.
 */
static int reg_write_locked(struct kvisor_lapic *apic, u32 off, u32 val)
{
	u32 mask;
	int i;

	switch (off) {
	case APIC_ID:
		if (apic->x2apic)
			return 1;
		reg_set(apic, APIC_ID, val & 0xff000000);
		break;
	case APIC_TASKPRI:
		reg_set(apic, APIC_TASKPRI, val & 0xff);
		update_ppr(apic);
		break;
	case APIC_LDR:
		if (apic->x2apic)
			return 1;
		reg_set(apic, APIC_LDR, val & APIC_LDR_MASK);
		break;
	case APIC_DFR:
		if (apic->x2apic)
			return 1;
		reg_set(apic, APIC_DFR, val | 0x0fffffff);
		break;
	case APIC_SPIV:
		mask = 0x3ff;
		if (lapic_version(apic) & APIC_LVR_DIRECTED_EOI)
			mask |= APIC_SPIV_DIRECTED_EOI;
		reg_set(apic, APIC_SPIV, val & mask);
		if (!(val & APIC_SPIV_APIC_ENABLED)) {
			for (i = 0; i < nr_lvt(apic); i++)
				reg_set(apic, lvt_reg(i),
					reg_get(apic, lvt_reg(i)) | APIC_LVT_MASKED);
			atomic_set(&apic->timer_pending, 0);
		}
		break;
	case APIC_ICR2:
		if (apic->x2apic)
			return 1;
		reg_set(apic, APIC_ICR2, val & 0xff000000);
		break;
	case APIC_LVTTHMR ... APIC_LVTERR:
		if (off & 0xf)
			return 1;
		lvt_write(apic, (off - APIC_LVTT) >> 4, val);
		break;
	case APIC_LVTCMCI:
		if (nr_lvt(apic) <= LAPIC_LVT_CMCI)
			return 1;
		lvt_write(apic, LAPIC_LVT_CMCI, val);
		break;
	case APIC_LVTT:
		if (!sw_enabled(apic))
			val |= APIC_LVT_MASKED;
		reg_set(apic, APIC_LVTT,
			val & (lvt_mask[0] | timer_mode_mask(apic)));
		update_lvtt(apic);
		break;
	case APIC_TMICT:
		if (mode_tscdeadline(apic))
			break;
		timer_cancel(apic);
		reg_set(apic, APIC_TMICT, val);
		timer_start(apic, val);
		break;
	case APIC_TDCR:
		update_tdcr(apic, val);
		break;
	case APIC_ESR:
		/* no error is ever latched, so ESR reads 0 */
		if (apic->x2apic && val)
			return 1;
		break;
	default:
		return 1;
	}
	return 0;
}

static void icr_to_irq(u32 lo, u32 hi, bool x2apic, struct kvisor_apic_irq *irq)
{
	irq->dest = x2apic ? hi : hi >> 24;
	irq->vector = lo & APIC_VECTOR_MASK;
	irq->dm = (lo >> 8) & 7;
	irq->shorthand = (lo >> 18) & 3;
	irq->logical = lo & APIC_DEST_LOGICAL;
	irq->level = lo & APIC_INT_LEVELTRIG;
	/* only a level-triggered INIT with the assert bit clear de-asserts */
	irq->assert = !(lo & APIC_INT_LEVELTRIG) || (lo & APIC_INT_ASSERT);
}

/*
 * A register write from the xAPIC page or an x2APIC MSR (@val is 64-bit
 * only for the x2APIC ICR).  1 when x2APIC must answer with #GP.
 */
static int lapic_write(struct kvisor_lapic *apic, u32 off, u64 val)
{
	struct kvisor_vcpu *vcpu = apic->vcpu;
	struct kvisor_apic_irq irq = {};
	unsigned long flags;
	bool send = false;
	int eoi = -1, r = 0;
	u32 lo = val, hi;

	spin_lock_irqsave(&apic->lock, flags);
	switch (off) {
	case APIC_EOI:
		eoi = do_eoi(apic);
		break;
	case APIC_ICR:
		/* the message goes out at once: delivery status reads idle */
		lo &= ~APIC_ICR_BUSY;
		hi = apic->x2apic ? val >> 32 : reg_get(apic, APIC_ICR2);
		reg_set(apic, APIC_ICR, lo);
		if (apic->x2apic)
			reg_set(apic, APIC_ICR2, hi);
		icr_to_irq(lo, hi, apic->x2apic, &irq);
		send = true;
		break;
	case APIC_SELF_IPI:
		if (!apic->x2apic || (val & ~(u64)APIC_VECTOR_MASK)) {
			r = 1;
			break;
		}
		irq.vector = val;
		irq.dm = KVISOR_DM_FIXED;
		irq.shorthand = KVISOR_SH_SELF;
		irq.assert = true;
		send = true;
		break;
	default:
		r = reg_write_locked(apic, off, lo);
		break;
	}
	spin_unlock_irqrestore(&apic->lock, flags);

	if (send)
		kvisor_apic_deliver(vcpu->vm, vcpu, &irq);
	if (eoi >= 0)
		kvisor_irq_lapic_eoi(vcpu, eoi);
	return r;
}

/* Reset ------------------------------------------------------------------ */

/*
 * Power-on (@init false) or INIT: ID and base survive INIT (SDM Vol. 3,
 * "Local APIC State After Power-Up or Reset" and "Local APIC State After
 * an INIT Reset ('Wait-for-SIPI' State)").
 */
static void lapic_reset(struct kvisor_lapic *apic, bool init)
{
	struct kvisor_vcpu *vcpu = apic->vcpu;
	unsigned long flags;
	int i;

	spin_lock_irqsave(&apic->lock, flags);
	timer_cancel(apic);
	apic->tsc_deadline = 0;
	apic->timer_mode = 0;
	if (!init) {
		memset(apic->regs, 0, PAGE_SIZE);
		apic->hw_enabled = vcpu->apic_base & MSR_IA32_APICBASE_ENABLE;
		apic->x2apic = apic->hw_enabled &&
			       (vcpu->apic_base & X2APIC_ENABLE);
		reg_set(apic, APIC_ID,
			apic->x2apic ? vcpu->id : (u32)vcpu->id << 24);
		if (apic->x2apic)
			reg_set(apic, APIC_LDR, x2apic_ldr(vcpu->id));
	}
	reg_set(apic, APIC_LVR, lapic_version(apic));
	for (i = 0; i < nr_lvt(apic); i++)
		reg_set(apic, lvt_reg(i), APIC_LVT_MASKED);
	/*
	 * like KVM: the BSP's LINT0 passes the PIC's INTR from the start,
	 * unless userspace disabled KVM_X86_QUIRK_LINT0_REENABLED
	 */
	if ((vcpu->apic_base & MSR_IA32_APICBASE_BSP) &&
	    kvisor_has_quirk(vcpu->vm, KVM_X86_QUIRK_LINT0_REENABLED))
		reg_set(apic, APIC_LVT0, APIC_DM_EXTINT);
	reg_set(apic, APIC_DFR, 0xffffffff);
	reg_set(apic, APIC_SPIV, 0xff);
	reg_set(apic, APIC_TASKPRI, 0);
	if (!apic->x2apic)
		reg_set(apic, APIC_LDR, 0);
	reg_set(apic, APIC_ESR, 0);
	reg_set(apic, APIC_ICR, 0);
	reg_set(apic, APIC_ICR2, 0);
	reg_set(apic, APIC_TDCR, 0);
	reg_set(apic, APIC_TMICT, 0);
	for (i = 0; i < 8; i++) {
		reg_set(apic, APIC_IRR + 0x10 * i, 0);
		reg_set(apic, APIC_ISR + 0x10 * i, 0);
		reg_set(apic, APIC_TMR + 0x10 * i, 0);
	}
	update_divide(apic);
	atomic_set(&apic->timer_pending, 0);
	update_ppr(apic);
	spin_unlock_irqrestore(&apic->lock, flags);
}

int kvisor_lapic_create(struct kvisor_vcpu *vcpu)
{
	struct kvisor_lapic *apic;

	apic = kzalloc(sizeof(*apic), GFP_KERNEL_ACCOUNT);
	if (!apic)
		return -ENOMEM;
	apic->regs = (void *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	if (!apic->regs) {
		kfree(apic);
		return -ENOMEM;
	}
	apic->vcpu = vcpu;
	spin_lock_init(&apic->lock);
	hrtimer_init(&apic->timer, CLOCK_MONOTONIC, HRTIMER_MODE_ABS_HARD);
	apic->timer.function = lapic_timer_fn;
	lapic_reset(apic, false);
	vcpu->apic = apic;
	return 0;
}

void kvisor_lapic_free(struct kvisor_vcpu *vcpu)
{
	struct kvisor_lapic *apic = vcpu->apic;

	if (!apic)
		return;
	hrtimer_cancel(&apic->timer);
	vcpu->apic = NULL;
	free_page((unsigned long)apic->regs);
	kfree(apic);
}

void kvisor_lapic_init_reset(struct kvisor_vcpu *vcpu)
{
	/* INIT ends PV EOI too, as KVM's kvm_lapic_reset() */
	vcpu->pv_eoi_msr = 0;
	vcpu->pv_eoi_pending = false;
	if (vcpu->apic)
		lapic_reset(vcpu->apic, true);
}

/* IA32_APIC_BASE (KVM's kvm_set_apic_base() and kvm_lapic_set_base()) */
static int set_apic_base(struct kvisor_vcpu *vcpu, u64 val, bool host)
{
	struct kvisor_lapic *apic = vcpu->apic;
	u64 old = vcpu->apic_base, rsvd = 0x2ff;
	bool en = val & MSR_IA32_APICBASE_ENABLE, x2 = val & X2APIC_ENABLE;
	bool old_en = old & MSR_IA32_APICBASE_ENABLE;
	bool old_x2 = old_en && (old & X2APIC_ENABLE);
	int maxphy = guest_maxphyaddr(vcpu);
	unsigned long flags;

	if (maxphy < 64)
		rsvd |= ~0ULL << maxphy;
	/*
	 * x2APIC is allowed when the guest's CPUID (KVM_SET_CPUID2)
	 * has it, as KVM does; kvisor's KVM_GET_SUPPORTED_CPUID must then
	 * offer X2APIC (and TSC-deadline) in leaf 1 ECX for guests to use it.
	 */
	if (!guest_has_1_ecx(vcpu, CPUID_1_ECX_X2APIC))
		rsvd |= X2APIC_ENABLE;
	if ((val & rsvd) || (x2 && !en))
		return -EINVAL;
	if (!host && ((old_x2 && en && !x2) || (!old_en && x2)))
		return -EINVAL;

	spin_lock_irqsave(&apic->lock, flags);
	vcpu->apic_base = val;
	if (en && !old_en)
		reg_set(apic, APIC_ID, (u32)vcpu->id << 24);
	if (en && x2 && !old_x2) {
		reg_set(apic, APIC_ID, vcpu->id);
		reg_set(apic, APIC_LDR, x2apic_ldr(vcpu->id));
	}
	apic->hw_enabled = en;
	apic->x2apic = en && x2;
	spin_unlock_irqrestore(&apic->lock, flags);
	return 0;
}

/* Guest accesses --------------------------------------------------------- */

bool kvisor_lapic_mmio(struct kvisor_vcpu *vcpu, u64 gpa, unsigned int len,
		       void *val, bool write)
{
	struct kvisor_lapic *apic = vcpu->apic;
	u64 base = vcpu->apic_base & MSR_IA32_APICBASE_BASE;
	unsigned long flags;
	u32 off, v, w;

	if (!apic || gpa < base || gpa - base >= PAGE_SIZE)
		return false;
	/*
	 * In x2APIC mode or disabled, the page is a hole, as with KVM's
	 * LAPIC_MMIO_HOLE quirk (on unless disabled, which kvisor does not
	 * offer): reads all ones, writes dropped, nothing for userspace.
	 */
	if (!apic->hw_enabled || apic->x2apic) {
		if (!write)
			memset(val, 0xff, len);
		return true;
	}
	off = gpa - base;

	if (write) {
		/*
		 * Aligned 32-bit accesses only (SDM Vol. 3, "The Local APIC
		 * Block Diagram"); others are dropped.
		 */
		if (len == 4 && !(off & 0xf)) {
			memcpy(&w, val, 4);
			lapic_write(apic, off, w);
		}
		return true;
	}

	memset(val, 0, len);
	if ((len != 1 && len != 2 && len != 4) || (off & 0xf) + len > 4)
		return true;
	spin_lock_irqsave(&apic->lock, flags);
	if (!reg_read(apic, off & ~0xf, &v))
		memcpy(val, (u8 *)&v + (off & 0xf), len);
	spin_unlock_irqrestore(&apic->lock, flags);
	return true;
}

static int x2apic_msr_read(struct kvisor_lapic *apic, u32 msr, u64 *val)
{
	u32 off = (msr - X2APIC_MSR_BASE) << 4, v;
	unsigned long flags;
	int r = 0;

	if (!apic->x2apic)
		return -EINVAL;
	spin_lock_irqsave(&apic->lock, flags);
	if (off == APIC_ICR)
		*val = reg_get(apic, APIC_ICR) |
		       (u64)reg_get(apic, APIC_ICR2) << 32;
	else if (off == APIC_DFR || reg_read(apic, off, &v))
		r = -EINVAL;
	else
		*val = v;
	spin_unlock_irqrestore(&apic->lock, flags);
	return r;
}

static int x2apic_msr_write(struct kvisor_lapic *apic, u32 msr, u64 val)
{
	u32 off = (msr - X2APIC_MSR_BASE) << 4;

	if (!apic->x2apic)
		return -EINVAL;
	/* ICR is the only 64-bit x2APIC register */
	if (off != APIC_ICR && (val >> 32))
		return -EINVAL;
	return lapic_write(apic, off, val) ? -EINVAL : 0;
}

/* Like KVM: ignored outside TSC-deadline mode, 0 disarms. */
static void set_tsc_deadline(struct kvisor_lapic *apic, u64 val)
{
	unsigned long flags;
	u64 tsc;

	if (!apic->hw_enabled || !mode_tscdeadline(apic))
		return;
	tsc = kvisor_guest_tsc(apic->vcpu);
	spin_lock_irqsave(&apic->lock, flags);
	timer_cancel(apic);
	apic->tsc_deadline = val;
	timer_start_tscdeadline(apic, tsc);
	spin_unlock_irqrestore(&apic->lock, flags);
}

int kvisor_lapic_get_msr(struct kvisor_vcpu *vcpu, u32 msr, u64 *val)
{
	struct kvisor_lapic *apic = vcpu->apic;

	if (!apic)
		return -ENOENT;
	switch (msr) {
	case MSR_IA32_APICBASE:
		*val = vcpu->apic_base;
		return 0;
	case MSR_IA32_TSC_DEADLINE:
		*val = apic->hw_enabled && mode_tscdeadline(apic) ?
		       apic->tsc_deadline : 0;
		return 0;
	case X2APIC_MSR_BASE ... X2APIC_MSR_END:
		return x2apic_msr_read(apic, msr, val);
	}
	return -ENOENT;
}

int kvisor_lapic_set_msr(struct kvisor_vcpu *vcpu, u32 msr, u64 val,
			 bool host)
{
	struct kvisor_lapic *apic = vcpu->apic;

	if (!apic)
		return -ENOENT;
	switch (msr) {
	case MSR_IA32_APICBASE:
		return set_apic_base(vcpu, val, host);
	case MSR_IA32_TSC_DEADLINE:
		set_tsc_deadline(apic, val);
		return 0;
	case X2APIC_MSR_BASE ... X2APIC_MSR_END:
		return x2apic_msr_write(apic, msr, val);
	}
	return -ENOENT;
}

u8 kvisor_lapic_get_cr8(struct kvisor_vcpu *vcpu)
{
	struct kvisor_lapic *apic = vcpu->apic;

	return apic ? (reg_get(apic, APIC_TASKPRI) >> 4) & 0xf : 0;
}

void kvisor_lapic_set_cr8(struct kvisor_vcpu *vcpu, u8 cr8)
{
	struct kvisor_lapic *apic = vcpu->apic;
	unsigned long flags;

	if (!apic)
		return;
	spin_lock_irqsave(&apic->lock, flags);
	reg_set(apic, APIC_TASKPRI, (cr8 & 0xf) << 4);
	update_ppr(apic);
	spin_unlock_irqrestore(&apic->lock, flags);
}

/*
 * The highest requested vector (-1: none, or the LAPIC is off), and in
 * *@above whether its priority class is above the one of the register at
 * @prio: PPR, can it be delivered; TPR, is the TPR alone not holding it.
 * Under the LAPIC's lock.
 */
static int irr_vs_priority(struct kvisor_lapic *apic, u32 prio, bool *above)
{
	int vec = apic->hw_enabled ? vec_highest(apic, APIC_IRR) : -1;

	*above = vec >= 0 && (vec & 0xf0) > (reg_get(apic, prio) & 0xf0);
	return vec;
}

/*
 * PV EOI (irq/pv_eoi.c).  The vector whose EOI the guest may skip: the
 * only one in service, with nothing else requested that a real EOI would
 * let in; or -1.  *@level: its TMR bit, for the caller to check that the
 * EOI reaches no IOAPIC (an edge-triggered EOI never does in kvisor).
 * These are KVM's conditions.
 */
int kvisor_lapic_pv_eoi_vector(struct kvisor_vcpu *vcpu, bool *level)
{
	struct kvisor_lapic *apic = vcpu->apic;
	unsigned long flags;
	int vec = -1, i, n = 0;

	if (!apic)
		return -1;
	spin_lock_irqsave(&apic->lock, flags);
	if (vec_highest(apic, APIC_IRR) >= 0)
		goto out;
	for (i = 0; i < 8; i++)
		n += hweight32(reg_get(apic, APIC_ISR + i * 0x10));
	if (n != 1)
		goto out;
	vec = vec_highest(apic, APIC_ISR);
	*level = vec_test(apic, APIC_TMR, vec);
out:
	spin_unlock_irqrestore(&apic->lock, flags);
	return vec;
}

/* The EOI the guest skipped: as its write to the EOI register. */
void kvisor_lapic_pv_eoi(struct kvisor_vcpu *vcpu)
{
	struct kvisor_lapic *apic = vcpu->apic;
	unsigned long flags;
	int eoi;

	if (!apic)
		return;
	spin_lock_irqsave(&apic->lock, flags);
	eoi = do_eoi(apic);
	spin_unlock_irqrestore(&apic->lock, flags);
	if (eoi >= 0)
		kvisor_irq_lapic_eoi(vcpu, eoi);
}

/*
 * Whether the TPR holds back the highest requested interrupt (its
 * priority class is not above the TPR's).  Then a guest that lowers its
 * TPR has an interrupt to take at once, which a backend whose CR8 writes
 * do not exit (SVM's V_TPR) must hear of: it intercepts them meanwhile,
 * as KVM's update_cr8_intercept() has it.
 */
bool kvisor_lapic_tpr_blocks(struct kvisor_vcpu *vcpu)
{
	struct kvisor_lapic *apic = vcpu->apic;
	unsigned long flags;
	bool above;
	int vec;

	if (!apic)
		return false;
	spin_lock_irqsave(&apic->lock, flags);
	vec = irr_vs_priority(apic, APIC_TASKPRI, &above);
	spin_unlock_irqrestore(&apic->lock, flags);
	return vec >= 0 && !above;
}

/* The run loop ----------------------------------------------------------- */

void kvisor_lapic_sync(struct kvisor_vcpu *vcpu)
{
	struct kvisor_lapic *apic = vcpu->apic;
	unsigned long flags;
	u32 lvtt;

	if (!apic || !atomic_read(&apic->timer_pending) ||
	    !atomic_xchg(&apic->timer_pending, 0))
		return;
	spin_lock_irqsave(&apic->lock, flags);
	lvtt = reg_get(apic, APIC_LVTT);
	if (mode_tscdeadline(apic))
		apic->tsc_deadline = 0;	/* KVM: the MSR reads 0 once it fired */
	if (apic->hw_enabled && !(lvtt & APIC_LVT_MASKED)) {
		trace_kvm_apic_accept_irq(vcpu->id, APIC_DM_FIXED, 0,
					  lvtt & APIC_VECTOR_MASK);
		accept_fixed(apic, lvtt & APIC_VECTOR_MASK, false);
	}
	spin_unlock_irqrestore(&apic->lock, flags);
}

int kvisor_lapic_pending(struct kvisor_vcpu *vcpu)
{
	struct kvisor_lapic *apic = vcpu->apic;
	unsigned long flags;
	bool above;
	int vec;

	if (!apic)
		return -1;
	spin_lock_irqsave(&apic->lock, flags);
	vec = irr_vs_priority(apic, APIC_PROCPRI, &above);
	spin_unlock_irqrestore(&apic->lock, flags);
	return above ? vec : -1;
}

void kvisor_lapic_ack(struct kvisor_vcpu *vcpu, int vector)
{
	struct kvisor_lapic *apic = vcpu->apic;
	unsigned long flags;

	if (!apic || vector < 0 || vector > 255)
		return;
	spin_lock_irqsave(&apic->lock, flags);
	vec_clear(apic, APIC_IRR, vector);
	vec_set(apic, APIC_ISR, vector);
	update_ppr(apic);
	spin_unlock_irqrestore(&apic->lock, flags);
}

/* debugfs: the registers that decide what the vCPU is offered next. */
void kvisor_lapic_dump(struct kvisor_vcpu *vcpu, struct seq_file *m)
{
	struct kvisor_lapic *apic = vcpu->apic;
	unsigned long flags;
	int i;

	spin_lock_irqsave(&apic->lock, flags);
	seq_printf(m, "apic %s%s, id %#x, tpr %#x, ppr %#x, spiv %#x\n",
		   apic->hw_enabled ? "on" : "off", apic->x2apic ? " x2apic" : "",
		   reg_get(apic, APIC_ID), reg_get(apic, APIC_TASKPRI),
		   reg_get(apic, APIC_PROCPRI), reg_get(apic, APIC_SPIV));
	seq_puts(m, "irr");
	for (i = 7; i >= 0; i--)
		seq_printf(m, " %08x", reg_get(apic, APIC_IRR + i * 0x10));
	seq_puts(m, "\nisr");
	for (i = 7; i >= 0; i--)
		seq_printf(m, " %08x", reg_get(apic, APIC_ISR + i * 0x10));
	seq_printf(m, "\nlvtt %#x, tmict %#x, timer %s, pending %d\n",
		   reg_get(apic, APIC_LVTT), reg_get(apic, APIC_TMICT),
		   hrtimer_active(&apic->timer) ? "armed" : "idle",
		   atomic_read(&apic->timer_pending));
	spin_unlock_irqrestore(&apic->lock, flags);
}

bool kvisor_lapic_accepts_extint(struct kvisor_vcpu *vcpu)
{
	struct kvisor_lapic *apic = vcpu->apic;
	u32 lvt0;

	if (!apic || !apic->hw_enabled)
		return true;
	lvt0 = reg_get(apic, APIC_LVT0);
	return !(lvt0 & APIC_LVT_MASKED) &&
	       GET_APIC_DELIVERY_MODE(lvt0) == APIC_MODE_EXTINT;
}

/* The CMCI entry ---------------------------------------------------------- */

/*
 * KVM_X86_SETUP_MCE gave the vCPU MCG_CMCI_P, and with it the CMCI
 * entry: it starts masked, as KVM's kvm_apic_after_set_mcg_cap() has it
 * (whatever KVM_SET_LAPIC left at 0x2f0 before it existed).
 */
void kvisor_lapic_cmci_added(struct kvisor_vcpu *vcpu)
{
	struct kvisor_lapic *apic = vcpu->apic;
	unsigned long flags;

	if (!apic)
		return;
	spin_lock_irqsave(&apic->lock, flags);
	reg_set(apic, APIC_LVTCMCI, APIC_LVT_MASKED);
	spin_unlock_irqrestore(&apic->lock, flags);
}

/*
 * The CPU signals a corrected machine-check interrupt (SDM Vol. 3B,
 * "CMCI Local APIC Interface"): nothing while the LAPIC is off or the
 * entry masked, else the entry's vector in the delivery mode it names
 * (fixed, SMI or NMI), to this vCPU alone, as KVM's
 * kvm_apic_local_deliver().
 */
void kvisor_lapic_cmci(struct kvisor_vcpu *vcpu)
{
	struct kvisor_lapic *apic = vcpu->apic;
	struct kvisor_apic_irq irq = { .assert = true };
	unsigned long flags;
	u32 lvt;

	if (!apic)
		return;
	spin_lock_irqsave(&apic->lock, flags);
	lvt = nr_lvt(apic) > LAPIC_LVT_CMCI ? reg_get(apic, APIC_LVTCMCI) :
					      APIC_LVT_MASKED;
	spin_unlock_irqrestore(&apic->lock, flags);
	if (lvt & APIC_LVT_MASKED)
		return;
	irq.vector = lvt & APIC_VECTOR_MASK;
	irq.dm = (lvt >> 8) & 7;
	kvisor_apic_deliver_to(vcpu, NULL, &irq);
}

/* KVM_GET_LAPIC / KVM_SET_LAPIC ------------------------------------------- */

int kvisor_lapic_get_state(struct kvisor_vcpu *vcpu,
			   struct kvm_lapic_state *s)
{
	struct kvisor_lapic *apic = vcpu->apic;
	unsigned long flags;
	u32 *id = (u32 *)(s->regs + APIC_ID);

	if (!apic)
		return -EINVAL;
	spin_lock_irqsave(&apic->lock, flags);
	memcpy(s->regs, apic->regs, LAPIC_STATE_SIZE);
	*(u32 *)(s->regs + APIC_TMCCT) = timer_current_count(apic);
	*(u32 *)(s->regs + APIC_LVR) = lapic_version(apic);
	/* KVM without KVM_CAP_X2APIC_API reports the x2APIC ID in xAPIC place */
	if (apic->x2apic)
		*id <<= 24;
	spin_unlock_irqrestore(&apic->lock, flags);
	return 0;
}

int kvisor_lapic_set_state(struct kvisor_vcpu *vcpu,
			   const struct kvm_lapic_state *s)
{
	struct kvisor_lapic *apic = vcpu->apic;
	unsigned long flags;
	u32 id;
	u64 tsc;

	if (!apic)
		return -EINVAL;
	tsc = kvisor_guest_tsc(vcpu);
	spin_lock_irqsave(&apic->lock, flags);
	timer_cancel(apic);
	memcpy(apic->regs, s->regs, LAPIC_STATE_SIZE);
	apic->hw_enabled = vcpu->apic_base & MSR_IA32_APICBASE_ENABLE;
	apic->x2apic = apic->hw_enabled && (vcpu->apic_base & X2APIC_ENABLE);
	if (apic->x2apic) {
		id = reg_get(apic, APIC_ID) >> 24;
		reg_set(apic, APIC_ID, id);
		reg_set(apic, APIC_LDR, x2apic_ldr(id));
	}
	reg_set(apic, APIC_LVR, lapic_version(apic));
	update_ppr(apic);
	update_lvtt(apic);
	update_divide(apic);
	if (mode_tscdeadline(apic))
		timer_start_tscdeadline(apic, tsc);
	else
		timer_start(apic, reg_get(apic, APIC_TMCCT));
	reg_set(apic, APIC_TMCCT, 0);
	spin_unlock_irqrestore(&apic->lock, flags);
	return 0;
}

/* The APIC bus ------------------------------------------------------------ */

/*
 * Does @apic answer to destination @dest?  A LAPIC's own mode decides how
 * it reads the destination.  As in KVM, an xAPIC broadcast (0xff) from an
 * IOAPIC or MSI (@ipi false) reaches x2APIC LAPICs too.
 */
static bool match_dest(struct kvisor_lapic *apic, bool ipi, u32 dest,
		       bool logical)
{
	u32 ldr;

	if (apic->x2apic) {
		if (dest == X2APIC_BROADCAST || (!ipi && dest == XAPIC_BROADCAST))
			return true;
		if (!logical)
			return dest == reg_get(apic, APIC_ID);
		ldr = reg_get(apic, APIC_LDR);
		return (ldr >> 16) == (dest >> 16) && (ldr & dest & 0xffff);
	}
	if (dest == XAPIC_BROADCAST)
		return true;
	if (!logical)
		return dest == reg_get(apic, APIC_ID) >> 24;
	ldr = reg_get(apic, APIC_LDR) >> 24;
	switch (reg_get(apic, APIC_DFR)) {
	case APIC_DFR_FLAT:
		return ldr & dest;
	case APIC_DFR_CLUSTER:
		return (ldr >> 4) == (dest >> 4) && (ldr & dest & 0xf);
	}
	return false;
}

static bool lapic_match(struct kvisor_vcpu *vcpu, struct kvisor_vcpu *src,
			const struct kvisor_apic_irq *irq)
{
	struct kvisor_lapic *apic = vcpu->apic;

	if (!apic->hw_enabled)
		return false;
	switch (irq->shorthand) {
	case KVISOR_SH_SELF:
		return vcpu == src;
	case KVISOR_SH_ALL:
		return true;
	case KVISOR_SH_ALL_BUT_SELF:
		return vcpu != src;
	}
	return match_dest(apic, !!src, irq->dest, irq->logical);
}

/*
 * Offer @irq to one vCPU's LAPIC: -1 if it does not match, else the count
 * of new acceptances (0 or 1).  *@taken tells lowest-priority delivery
 * that this LAPIC took it and the search ends.
 */
static int deliver_one(struct kvisor_vcpu *vcpu, struct kvisor_vcpu *src,
		       const struct kvisor_apic_irq *irq, bool *taken,
		       bool direct)
{
	struct kvisor_lapic *apic = vcpu->apic;
	unsigned long flags;
	bool match, enabled = false;
	int r = 0;

	spin_lock_irqsave(&apic->lock, flags);
	match = direct ? apic->hw_enabled : lapic_match(vcpu, src, irq);
	if (match && (irq->dm == KVISOR_DM_FIXED || irq->dm == KVISOR_DM_LOWEST)) {
		enabled = apic_enabled(apic);
		r = accept_fixed(apic, irq->vector, irq->level);
	}
	spin_unlock_irqrestore(&apic->lock, flags);
	if (!match)
		return -1;
	/* KVM's dm is the ICR's bits 10:8 in place */
	trace_kvm_apic_accept_irq(vcpu->id, irq->dm << 8, irq->level,
				  irq->vector);

	switch (irq->dm) {
	case KVISOR_DM_FIXED:
	case KVISOR_DM_LOWEST:
		*taken = enabled;
		if (enabled)
			kvisor_vcpu_kick(vcpu);
		break;
	case KVISOR_DM_NMI:
		kvisor_vcpu_queue_nmi(vcpu);
		r = 1;
		break;
	case KVISOR_DM_INIT:
		if (irq->assert) {
			kvisor_vcpu_queue_init(vcpu);
			r = 1;
		}
		break;
	case KVISOR_DM_SIPI:
		kvisor_vcpu_queue_sipi(vcpu, irq->vector);
		r = 1;
		break;
	case KVISOR_DM_EXTINT:
		/* the vector comes from the PIC when the vCPU acks */
		kvisor_vcpu_kick(vcpu);
		break;
	default:
		/* SMI is not modelled */
		break;
	}
	return r;
}

/*
 * Lowest priority goes to the first matching LAPIC that is software
 * enabled, as KVM does when it does not arbitrate; all other modes to
 * every matching LAPIC.
 */
int kvisor_apic_deliver(struct kvisor_vm *vm, struct kvisor_vcpu *src,
			const struct kvisor_apic_irq *irq)
{
	/* pairs with the release that publishes a new vCPU */
	int nr = smp_load_acquire(&vm->nr_vcpus), i, r, ret = -1;
	struct kvisor_vcpu *vcpu;
	bool taken;

	if (irq->shorthand == KVISOR_SH_SELF && !src)
		return -1;
	for (i = 0; i < nr && i < KVISOR_MAX_VCPUS; i++) {
		vcpu = READ_ONCE(vm->vcpus[i]);
		if (!vcpu || !vcpu->apic)
			continue;
		taken = false;
		r = deliver_one(vcpu, src, irq, &taken, false);
		if (r < 0)
			continue;
		ret = max(ret, 0) + r;
		if (irq->dm == KVISOR_DM_LOWEST && taken)
			break;
	}
	return ret;
}

/*
 * @irq to @vcpu's LAPIC alone, its destination already resolved by APIC
 * ID (KVM_HC_SEND_IPI, which names no broadcast ID).  Counted as KVM
 * does: 1 for a fixed or lowest-priority interrupt its enabled LAPIC
 * took, pending before or not, and for the other modes when delivered.
 */
int kvisor_apic_deliver_to(struct kvisor_vcpu *vcpu, struct kvisor_vcpu *src,
			   const struct kvisor_apic_irq *irq)
{
	bool taken = false;
	int r;

	if (!vcpu->apic)
		return 0;
	r = deliver_one(vcpu, src, irq, &taken, true);
	if (r < 0)
		return 0;
	if (irq->dm == KVISOR_DM_FIXED || irq->dm == KVISOR_DM_LOWEST)
		return taken;
	return r;
}
