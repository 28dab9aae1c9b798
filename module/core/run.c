// SPDX-License-Identifier: GPL-2.0
/*
 * KVM_RUN: the loop that enters the guest through the backend, lets the
 * backend decode each exit into a call to a vendor-neutral handler
 * (exits.c, pio.c, mmio.c, msrs.c, ...), and goes round again until a
 * handler needs userspace, a signal arrives, or userspace asked for an
 * immediate exit.
 *
 * Before each entry it delivers what is pending (NMIs, then the
 * interrupt controller's vector or userspace's KVM_INTERRUPT), takes in
 * INIT and SIPI, and with an in-kernel LAPIC sleeps while the vCPU is
 * halted.  The requests other threads post (request.c) wake it.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/sched/signal.h>
#include <linux/smp.h>
#include <linux/uaccess.h>
#include <asm/apicdef.h>
#include <asm/fpu/api.h>
#include <asm/msr-index.h>
#include <asm/thread_info.h>

#include "core/kvisor.h"
#include "core/trace.h"

/*
 * Called by a backend right before it enters the guest: on return 0,
 * preemption and interrupts are off and the guest's FPU registers are
 * loaded.  -EIO means "never again" (the machine reboots), -EAGAIN "not
 * now" (another thread kicked the vCPU since the run loop last looked, or
 * the host wants the CPU for another task or for a signal);
 * either way the backend calls kvisor_exit_guest_irqoff() and returns it.
 *
 * The FPU check must come first, with interrupts still on: a context
 * switch since the last entry (cond_resched() in the loop below) saved
 * the guest's registers and left someone else's in the CPU, to be
 * reloaded lazily, which switch_fpu_return() does now.
 */
int kvisor_enter_guest_irqoff(struct kvisor_vcpu *vcpu)
{
	preempt_disable();
	for (;;) {
		if (test_thread_flag(TIF_NEED_FPU_LOAD))
			switch_fpu_return();
		local_irq_disable();
		/* An interrupt may have borrowed the FPU meanwhile. */
		if (likely(!test_thread_flag(TIF_NEED_FPU_LOAD)))
			break;
		local_irq_enable();
	}
	/* The machine is rebooting: VMX/SVM may be off already. */
	if (READ_ONCE(kvisor_rebooting))
		return -EIO;
	/*
	 * The scheduler wants the CPU, or a signal came, since the run loop
	 * last looked (the host's timer tick in between): go round the loop,
	 * whose cond_resched() and signal check see to it, rather than keep
	 * the CPU until the guest's next exit.  KVM's kvm_vcpu_exit_request()
	 * looks at the same flags here.
	 */
	if (need_resched() || signal_pending(current))
		return -EAGAIN;
	/*
	 * From here a kick must interrupt this CPU to reach the vCPU (see
	 * kvisor_vcpu_kick()): the two sides each write one flag and then
	 * read the other's, with a full barrier between, so at least one of
	 * them sees the other.  A request found now calls the entry off.
	 */
	vcpu->cpu = smp_processor_id();
	WRITE_ONCE(vcpu->in_guest, 1);
	/* Pairs with smp_mb__after_atomic() in kvisor_vcpu_kick(). */
	smp_mb();
	if (READ_ONCE(vcpu->requests))
		return -EAGAIN;
	/* Scheduled in since the steal time update (core/steal.c): again. */
	if (READ_ONCE(vcpu->st.update))
		return -EAGAIN;
	/* No turning back now: the entry the tools pair with kvm_exit. */
	trace_kvm_entry(vcpu);
	return 0;
}

void kvisor_exit_guest_irqoff(struct kvisor_vcpu *vcpu)
{
	WRITE_ONCE(vcpu->in_guest, 0);
	local_irq_enable();
	preempt_enable();
}

/*
 * An external interrupt goes to the backend, which puts it into the next
 * entry; it is traced and counted here, once.  The backend may deliver it
 * again after an exit that cut its delivery short (EXITINTINFO, IDT
 * vectoring information), which is not a new injection (irq_once compares
 * irq_injections with what the guest took).
 */
static void kvisor_inject_irq(struct kvisor_vcpu *vcpu, int vec,
			      bool reinjected)
{
	trace_kvm_inj_virq(vec, false, reinjected);
	kvisor_ops->inject_irq(vcpu, vec);
	vcpu->stat.irq_injections++;
}

/*
 * Without an in-kernel interrupt controller, userspace is the PIC: it
 * queues an external interrupt with KVM_INTERRUPT and asks, with
 * request_interrupt_window, to hear when the guest can take one.  Deliver
 * a queued interrupt when the guest allows it, else make the guest exit
 * when it does (interrupt-window exiting, VINTR on SVM).
 */
static void kvisor_inject_userspace(struct kvisor_vcpu *vcpu)
{
	bool allowed = kvisor_ops->interrupt_allowed(vcpu);

	if (vcpu->irq >= 0 && allowed) {
		/*
		 * KVM queues KVM_INTERRUPT's vector as already injected, so
		 * its trace calls every delivery of one "reinjected".
		 */
		kvisor_inject_irq(vcpu, vcpu->irq, true);
		vcpu->irq = -1;
	} else if (vcpu->irq >= 0 ||
		   (vcpu->run->request_interrupt_window && !allowed)) {
		kvisor_ops->set_irq_window(vcpu, true);
	}
}

/*
 * In-kernel irqchip: the vector the CPU would take now, or -1; with @ack,
 * taking it (the INTA cycle).  The PIC's ExtINT (or, with a split
 * irqchip, userspace's PIC through KVM_INTERRUPT) comes before the LAPIC,
 * as on real hardware where LINT0 bypasses the LAPIC's priorities.
 */
static int kvisor_pending_irq(struct kvisor_vcpu *vcpu, bool ack)
{
	struct kvisor_vm *vm = vcpu->vm;
	int vec;

	if (kvisor_lapic_accepts_extint(vcpu)) {
		if (vm->irqchip == KVISOR_IRQCHIP_SPLIT && vcpu->irq >= 0) {
			vec = vcpu->irq;
			if (ack)
				vcpu->irq = -1;
			return vec;
		}
		if (vm->pic && kvisor_pic_has_interrupt(vm))
			return ack ? kvisor_pic_read_irq(vm) : 0;
	}
	vec = kvisor_lapic_pending(vcpu);
	if (vec >= 0 && ack)
		kvisor_lapic_ack(vcpu, vec);
	return vec;
}

/* The in-kernel interrupt controllers' next vector. */
static void kvisor_inject_irqchip(struct kvisor_vcpu *vcpu)
{
	int vec;

	if (kvisor_pending_irq(vcpu, false) < 0) {
		if (vcpu->run->request_interrupt_window &&
		    !kvisor_ops->interrupt_allowed(vcpu))
			kvisor_ops->set_irq_window(vcpu, true);
		return;
	}
	if (!kvisor_ops->interrupt_allowed(vcpu)) {
		kvisor_ops->set_irq_window(vcpu, true);
		return;
	}
	vec = kvisor_pending_irq(vcpu, true);
	if (vec >= 0)
		kvisor_inject_irq(vcpu, vec, false);
}

/*
 * The NMIs other threads sent since the last look, added to those
 * pending.  The CPU keeps one NMI in service and latches one more (Intel
 * SDM Vol. 3, "Handling Multiple NMIs"): with none in service, two
 * pending are kept (the first goes in at once); with one in service, or
 * in the entry's event slot, one.  The rest are lost, as on hardware.
 * KVM's process_nmi() counts the same way.
 */
void kvisor_process_nmi(struct kvisor_vcpu *vcpu)
{
	struct kvisor_event_state st;
	int queued = atomic_xchg(&vcpu->nmi_queued, 0);
	int limit = 2;

	if (!queued)
		return;
	kvisor_ops->get_event_state(vcpu, &st);
	if (st.nmi_masked ||
	    ((st.event & KVISOR_EVT_VALID) &&
	     KVISOR_EVT_TYPE(st.event) == KVISOR_EVT_NMI))
		limit = 1;
	atomic_set(&vcpu->nmi_pending,
		   min(atomic_read(&vcpu->nmi_pending) + queued, limit));
}

/*
 * NMIs first, as the CPU prioritizes them (KVM_NMI and the LAPIC's NMI
 * IPIs alike), then the interrupt controller, in the kernel or not.
 */
static void kvisor_inject_pending(struct kvisor_vcpu *vcpu)
{
	/* KVM_GUESTDBG_BLOCKIRQ: nothing comes in while userspace debugs. */
	if (vcpu->guest_debug & KVM_GUESTDBG_BLOCKIRQ)
		return;
	kvisor_process_nmi(vcpu);
	if (atomic_read(&vcpu->nmi_pending) && kvisor_ops->nmi_allowed(vcpu)) {
		atomic_dec(&vcpu->nmi_pending);
		kvisor_ops->inject_nmi(vcpu);
		vcpu->stat.nmi_injections++;
	}
	if (atomic_read(&vcpu->nmi_pending))
		kvisor_ops->set_nmi_window(vcpu, true);

	if (vcpu->apic)
		kvisor_inject_irqchip(vcpu);
	else
		kvisor_inject_userspace(vcpu);
}

/*
 * INIT: the processor's state after an INIT signal (SDM Vol. 3,
 * "Processor State After Reset", whose table gives the state after
 * power-up, RESET and INIT side by side), the same as after RESET except
 * that caches, MSRs and the x87/SSE state stay.
 * Put together from the vendor-neutral register ioctls' own paths.
 */
static void kvisor_vcpu_do_init(struct kvisor_vcpu *vcpu)
{
	struct kvm_segment data = {
		.limit = 0xffff, .type = 3, .present = 1, .s = 1,
	};
	struct kvm_sregs sregs;
	u64 cd_nw;

	WRITE_ONCE(vcpu->pv_unhalted, false);
	kvisor_ops->get_sregs(vcpu, &sregs);
	cd_nw = sregs.cr0 & (X86_CR0_CD | X86_CR0_NW);
	sregs.cs = data;
	sregs.cs.selector = 0xf000;
	sregs.cs.base = 0xffff0000;
	sregs.cs.type = 0xb;
	sregs.ds = data;
	sregs.es = data;
	sregs.fs = data;
	sregs.gs = data;
	sregs.ss = data;
	sregs.tr = (struct kvm_segment) { .limit = 0xffff, .type = 0xb,
					  .present = 1 };
	sregs.ldt = (struct kvm_segment) { .limit = 0xffff, .type = 2,
					   .present = 1 };
	sregs.gdt = (struct kvm_dtable) { .limit = 0xffff };
	sregs.idt = (struct kvm_dtable) { .limit = 0xffff };
	sregs.cr0 = X86_CR0_ET | cd_nw;
	sregs.cr2 = 0;
	sregs.cr3 = 0;
	sregs.cr4 = 0;
	sregs.efer = 0;
	kvisor_ops->set_sregs(vcpu, &sregs);

	memset(vcpu->regs, 0, sizeof(vcpu->regs));
	/* EDX holds the processor signature, as after RESET. */
	vcpu->regs[EMU_RDX] = 0x600;
	vcpu->rip = 0xfff0;
	vcpu->rflags = X86_EFLAGS_FIXED;
	vcpu->xcr0 = XFEATURE_MASK_FP;
	/* As KVM's kvm_vcpu_reset(): the guest enables steal time again. */
	vcpu->st.msr = 0;
	kvisor_debug_reset(vcpu);
	atomic_set(&vcpu->nmi_queued, 0);
	atomic_set(&vcpu->nmi_pending, 0);
	kvisor_lapic_init_reset(vcpu);
	/* The BSP runs the BIOS again; the others wait for a SIPI. */
	vcpu->mp_state = (vcpu->apic_base & MSR_IA32_APICBASE_BSP) ?
			 KVM_MP_STATE_RUNNABLE : KVM_MP_STATE_INIT_RECEIVED;
}

/* SIPI: real mode at vector * 4K, CS = vector << 8, IP = 0. */
static void kvisor_vcpu_do_sipi(struct kvisor_vcpu *vcpu)
{
	struct kvm_sregs sregs;
	u8 vector;

	/* Pairs with smp_wmb() in kvisor_vcpu_queue_sipi(). */
	smp_rmb();
	vector = READ_ONCE(vcpu->sipi_vector);
	kvisor_ops->get_sregs(vcpu, &sregs);
	sregs.cs.selector = vector << 8;
	sregs.cs.base = (u64)vector << 12;
	kvisor_ops->set_sregs(vcpu, &sregs);
	vcpu->rip = 0;
	vcpu->mp_state = KVM_MP_STATE_RUNNABLE;
}

/*
 * INIT and SIPI signals other vCPUs sent since the last look.  Both bits
 * are taken from one read of @requests: a sender raises INIT before its
 * SIPI, so a SIPI in that read never overtakes an INIT that is not.
 * Tested one after the other, an INIT raised between the two tests was
 * missed while its SIPI was seen and dropped (the CPU was not waiting for
 * one yet), and the application processor waited for a SIPI that had
 * come and gone; SeaBIOS sends only one.  A bit raised after the read
 * stays for the next look, which comes before the vCPU sleeps.
 */
static void kvisor_vcpu_accept_signals(struct kvisor_vcpu *vcpu)
{
	unsigned long seen = READ_ONCE(vcpu->requests);

	if ((seen & BIT(KVISOR_REQ_INIT)) &&
	    test_and_clear_bit(KVISOR_REQ_INIT, &vcpu->requests))
		kvisor_vcpu_do_init(vcpu);
	/* A SIPI finds only a CPU waiting for one; others drop it. */
	if ((seen & BIT(KVISOR_REQ_SIPI)) &&
	    test_and_clear_bit(KVISOR_REQ_SIPI, &vcpu->requests) &&
	    vcpu->mp_state == KVM_MP_STATE_INIT_RECEIVED)
		kvisor_vcpu_do_sipi(vcpu);
}

/*
 * Something would end HLT: a kick (KVM_HC_KICK_CPU, which may have come
 * before the HLT it ends), an NMI, or an interrupt the guest can take.
 */
static bool kvisor_vcpu_has_events(struct kvisor_vcpu *vcpu)
{
	if (READ_ONCE(vcpu->pv_unhalted))
		return true;
	kvisor_process_nmi(vcpu);
	if (atomic_read(&vcpu->nmi_pending))
		return true;
	return kvisor_pending_irq(vcpu, false) >= 0 &&
	       kvisor_ops->interrupt_allowed(vcpu);
}

/* KVM_RUN ends for a signal: KVM_EXIT_INTR, counted as KVM does. */
static int kvisor_signal_exit(struct kvisor_vcpu *vcpu)
{
	vcpu->run->exit_reason = KVM_EXIT_INTR;
	vcpu->stat.signal_exits++;
	return -EINTR;
}

/*
 * In-kernel irqchip, before each entry: take in INIT/SIPI and expired
 * timers, and sleep while the vCPU is halted (polling first, halt.c) or
 * waits for a SIPI.  1 to enter the guest, 0 to go to userspace, -EINTR
 * for a signal (the vCPU stays halted, as in KVM, and sleeps on at the
 * next KVM_RUN).
 */
static int kvisor_vcpu_check_events(struct kvisor_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	int r;

	for (;;) {
		clear_bit(KVISOR_REQ_EVENT, &vcpu->requests);
		kvisor_vcpu_accept_signals(vcpu);
		r = kvisor_msr_filter_update(vcpu);
		if (r <= 0)
			return r;
		if (test_and_clear_bit(KVISOR_REQ_IOAPIC_EOI, &vcpu->requests)) {
			run->exit_reason = KVM_EXIT_IOAPIC_EOI;
			run->eoi.vector = vcpu->eoi_exit_vector;
			return 0;
		}
		kvisor_lapic_sync(vcpu);
		if (vcpu->mp_state == KVM_MP_STATE_HALTED &&
		    kvisor_vcpu_has_events(vcpu)) {
			/* The halt is over, and with it the kick's part. */
			WRITE_ONCE(vcpu->pv_unhalted, false);
			vcpu->mp_state = KVM_MP_STATE_RUNNABLE;
		}
		if (vcpu->mp_state == KVM_MP_STATE_RUNNABLE)
			return 1;
		if (vcpu->mp_state == KVM_MP_STATE_HALTED)
			r = kvisor_vcpu_halt(vcpu);
		else
			r = kvisor_vcpu_block(vcpu);
		if (r)
			return kvisor_signal_exit(vcpu);
	}
}

/*
 * KVM's rule: stop when userspace asked and the guest could take one.
 * Only userspace's own PIC asks: without an irqchip, or a split one.
 */
static bool kvisor_irq_window_open(struct kvisor_vcpu *vcpu)
{
	if (vcpu->vm->irqchip == KVISOR_IRQCHIP_KERNEL)
		return false;
	if (vcpu->apic && !kvisor_lapic_accepts_extint(vcpu))
		return false;
	return vcpu->run->request_interrupt_window && vcpu->irq < 0 &&
	       kvisor_ops->interrupt_allowed(vcpu);
}

/*
 * Without an in-kernel LAPIC there are no INIT/SIPI or halted states for
 * the kernel to track: every vCPU is runnable, and KVM accepts only that.
 * With one, the states are the LAPIC's; setting SIPI_RECEIVED is how
 * userspace restores a SIPI that was on its way (KVM keeps the vector of
 * the last SIPI the vCPU received).
 */
int kvisor_vcpu_mp_state(struct kvisor_vcpu *vcpu, unsigned int ioctl,
			 void __user *argp)
{
	struct kvm_mp_state mp = { .mp_state = KVM_MP_STATE_RUNNABLE };

	if (ioctl == KVM_GET_MP_STATE) {
		if (vcpu->apic) {
			kvisor_vcpu_accept_signals(vcpu);
			mp.mp_state = vcpu->mp_state;
			/* KVM's rule: a kicked halt is as good as over. */
			if (mp.mp_state == KVM_MP_STATE_HALTED &&
			    READ_ONCE(vcpu->pv_unhalted))
				mp.mp_state = KVM_MP_STATE_RUNNABLE;
		}
		return copy_to_user(argp, &mp, sizeof(mp)) ? -EFAULT : 0;
	}
	if (copy_from_user(&mp, argp, sizeof(mp)))
		return -EFAULT;
	if (!vcpu->apic)
		return mp.mp_state == KVM_MP_STATE_RUNNABLE ? 0 : -EINVAL;
	switch (mp.mp_state) {
	case KVM_MP_STATE_RUNNABLE:
	case KVM_MP_STATE_UNINITIALIZED:
	case KVM_MP_STATE_INIT_RECEIVED:
	case KVM_MP_STATE_HALTED:
		vcpu->mp_state = mp.mp_state;
		break;
	case KVM_MP_STATE_SIPI_RECEIVED:
		vcpu->mp_state = KVM_MP_STATE_INIT_RECEIVED;
		set_bit(KVISOR_REQ_SIPI, &vcpu->requests);
		break;
	default:
		return -EINVAL;
	}
	set_bit(KVISOR_REQ_EVENT, &vcpu->requests);
	return 0;
}

/*
 * KVM_SET_SIGNAL_MASK: the signals blocked while KVM_RUN runs, so that
 * only the others end it with KVM_EXIT_INTR.  NULL clears it; SIGKILL
 * and SIGSTOP can never be blocked.
 */
int kvisor_vcpu_set_sigmask(struct kvisor_vcpu *vcpu, void __user *argp)
{
	struct kvm_signal_mask __user *um = argp;
	struct kvm_signal_mask km;
	sigset_t set;

	if (!argp) {
		vcpu->sigset_active = false;
		return 0;
	}
	if (copy_from_user(&km, um, sizeof(km)))
		return -EFAULT;
	if (km.len != sizeof(set))
		return -EINVAL;
	if (copy_from_user(&set, um->sigset, sizeof(set)))
		return -EFAULT;
	sigdelsetmask(&set, sigmask(SIGKILL) | sigmask(SIGSTOP));
	vcpu->sigset = set;
	vcpu->sigset_active = true;
	return 0;
}

int kvisor_vcpu_interrupt(struct kvisor_vcpu *vcpu, void __user *argp)
{
	struct kvm_interrupt irq;

	if (copy_from_user(&irq, argp, sizeof(irq)))
		return -EFAULT;
	if (irq.irq >= 256)
		return -EINVAL;
	/* The in-kernel PIC owns the INTR line; a split irqchip leaves it. */
	if (vcpu->vm->irqchip == KVISOR_IRQCHIP_KERNEL)
		return -ENXIO;
	/* With a split irqchip, KVM refuses a second one until the first went. */
	if (vcpu->vm->irqchip == KVISOR_IRQCHIP_SPLIT && vcpu->irq >= 0)
		return -EEXIST;
	/*
	 * Like KVM, a second call replaces the first.  Userspace is meant to
	 * call only when ready_for_interrupt_injection says the guest can
	 * take it; if it calls earlier, kvisor holds the interrupt back until
	 * the guest can (KVM would inject it at once).
	 */
	vcpu->irq = irq.irq;
	set_bit(KVISOR_REQ_EVENT, &vcpu->requests);
	return 0;
}

/* Called at the start of KVM_RUN: finish what the last exit began. */
static int kvisor_complete_userspace_exit(struct kvisor_vcpu *vcpu)
{
	enum kvisor_pending pending = vcpu->pending;

	vcpu->pending = KVISOR_PENDING_NONE;
	switch (pending) {
	case KVISOR_PENDING_PIO_IN:
		return kvisor_complete_pio(vcpu);
	case KVISOR_PENDING_PIO_STRING:
		return kvisor_complete_pio_string(vcpu);
	case KVISOR_PENDING_MMIO:
		return kvisor_complete_mmio(vcpu);
	case KVISOR_PENDING_RDMSR:
	case KVISOR_PENDING_WRMSR:
		return kvisor_complete_msr(vcpu,
					   pending == KVISOR_PENDING_WRMSR);
	default:
		return 1;
	}
}

/*
 * KVM_RUN on an application processor that never saw INIT: KVM sleeps
 * until something arrives, takes in INIT/SIPI, and returns -EAGAIN (or
 * -EINTR for a signal) without running the guest.  Userspace calls again.
 */
static int kvisor_vcpu_run_uninitialized(struct kvisor_vcpu *vcpu)
{
	if (kvisor_immediate_exit(vcpu->run))
		return -EINTR;
	clear_bit(KVISOR_REQ_EVENT, &vcpu->requests);
	if (kvisor_vcpu_block(vcpu))
		return kvisor_signal_exit(vcpu);
	clear_bit(KVISOR_REQ_EVENT, &vcpu->requests);
	kvisor_vcpu_accept_signals(vcpu);
	return -EAGAIN;
}

static int kvisor_run_loop(struct kvisor_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	int r;

	if (vcpu->apic && vcpu->mp_state == KVM_MP_STATE_UNINITIALIZED)
		return kvisor_vcpu_run_uninitialized(vcpu);

	/* The guest's FPU state is live in the CPU until KVM_RUN returns. */
	fpu_swap_kvm_fpstate(&vcpu->guest_fpu, true);
	/* Userspace ran: flush L1D at the first entry (core/l1d.c). */
	vcpu->spec.l1d_dirty = true;

	/*
	 * The pvclock follows the host's clock between two KVM_RUNs too:
	 * rewritten before the first entry (kvisor_kvmclock_request()).
	 */
	kvisor_kvmclock_request(vcpu);
	/*
	 * Finish the last exit first: userspace completes an I/O exit by
	 * calling KVM_RUN with immediate_exit set, as KVM allows.
	 */
	r = kvisor_complete_userspace_exit(vcpu);
	/* Like KVM, leave exit_reason as it was: nothing ran. */
	if (r > 0 && kvisor_immediate_exit(run))
		r = -EINTR;
	while (r > 0) {
		/* A single-step trap an exit handler's instruction owes. */
		r = kvisor_debug_before_run(vcpu);
		if (r <= 0)
			break;
		/* A machine check the guest could not take (mce.c). */
		if (test_and_clear_bit(KVISOR_REQ_TRIPLE_FAULT,
				       &vcpu->requests)) {
			r = kvisor_handle_shutdown(vcpu);
			break;
		}
		/* A new MSR filter (msr_filter.c). */
		r = kvisor_msr_filter_update(vcpu);
		if (r <= 0)
			break;
		if (signal_pending(current)) {
			r = kvisor_signal_exit(vcpu);
			break;
		}
		cond_resched();
		/*
		 * Past the point where a preemption after a host interrupt's
		 * exit marks the vCPU preempted (core/steal.c): from here the
		 * vCPU is on its way into the guest, maybe still inside an
		 * instruction kvisor emulates.
		 */
		vcpu->at_boundary = false;
		/*
		 * KVM's req_event: an entry where something asked for a look
		 * at the pending events (kvisor looks before every entry).
		 */
		if (test_bit(KVISOR_REQ_EVENT, &vcpu->requests) ||
		    run->request_interrupt_window)
			vcpu->stat.req_event++;
		if (vcpu->apic) {
			r = kvisor_vcpu_check_events(vcpu);
			if (r <= 0)
				break;
		}
		clear_bit(KVISOR_REQ_EVENT, &vcpu->requests);
		kvisor_inject_pending(vcpu);
		if (kvisor_kvmclock_stale(vcpu))
			kvisor_kvmclock_update(vcpu);
		if (READ_ONCE(vcpu->st.update))
			kvisor_steal_record(vcpu);
		kvisor_pv_eoi_before_entry(vcpu);
		r = kvisor_ops->run(vcpu);
		/* Kicked on the way in: look at the interrupts again. */
		if (r == -EAGAIN) {
			r = 1;
			continue;
		}
		kvisor_pv_eoi_after_exit(vcpu);
		if (r)
			break;
		vcpu->nr_exits++;
		trace_kvm_exit(vcpu);
		r = kvisor_ops->handle_exit(vcpu);
		if (r > 0 && kvisor_irq_window_open(vcpu)) {
			run->exit_reason = KVM_EXIT_IRQ_WINDOW_OPEN;
			vcpu->stat.request_irq_exits++;
			r = 0;
		}
	}
	/* Never back in userspace with the guest's PV EOI flag set. */
	kvisor_pv_eoi_after_exit(vcpu);
	fpu_swap_kvm_fpstate(&vcpu->guest_fpu, false);
	vcpu->stat.fpu_reload++;
	/* What a userspace interrupt controller needs to know. */
	run->if_flag = !!(vcpu->rflags & X86_EFLAGS_IF);
	run->ready_for_interrupt_injection = vcpu->irq < 0 &&
		kvisor_ops->interrupt_allowed(vcpu) &&
		(!vcpu->apic || kvisor_lapic_accepts_extint(vcpu));
	if (vcpu->apic)
		run->cr8 = kvisor_lapic_get_cr8(vcpu);
	run->apic_base = vcpu->apic_base;
	return r;
}

/*
 * KVM_RUN under the vCPU's signal mask (KVM_SET_SIGNAL_MASK); the thread's
 * own mask waits in real_blocked meanwhile, as in KVM.
 */
static int kvisor_vcpu_run_masked(struct kvisor_vcpu *vcpu)
{
	bool masked = vcpu->sigset_active;
	int r;

	if (masked)
		sigprocmask(SIG_SETMASK, &vcpu->sigset, &current->real_blocked);
	r = kvisor_run_loop(vcpu);
	if (masked) {
		sigprocmask(SIG_SETMASK, &current->real_blocked, NULL);
		sigemptyset(&current->real_blocked);
	}
	return r;
}

/*
 * KVM_RUN, under the vCPU's mutex: the register sets userspace marked in
 * kvm_run (KVM_CAP_SYNC_REGS) go in first, and the ones it asked to see
 * come out, as in KVM even after a refused sync or a failed run.
 */
int kvisor_vcpu_run(struct kvisor_vcpu *vcpu)
{
	int r;

	r = kvisor_sync_regs_in(vcpu);
	if (!r) {
		kvisor_steal_load(vcpu);
		r = kvisor_vcpu_run_masked(vcpu);
		kvisor_steal_put(vcpu);
	}
	kvisor_sync_regs_out(vcpu);
	trace_kvm_userspace_exit(vcpu->run->exit_reason, r);
	return r;
}
