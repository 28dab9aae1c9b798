// SPDX-License-Identifier: GPL-2.0
/*
 * vCPUs: creation, the vCPU file descriptor and its kvm_run mapping, the
 * register ioctls, and KVM_RUN's loop.
 *
 * KVM_RUN enters the guest through the backend, lets the backend decode
 * each exit into a call to a vendor-neutral handler (exits.c), and goes
 * round again until a handler needs userspace, a signal arrives, or
 * userspace asked for an immediate exit.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/rcuwait.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/smp.h>
/* smp_send_reschedule() traces the IPI since 6.6: its tracepoint. */
#include <trace/events/ipi.h>
#include <asm/apicdef.h>
#include <asm/fpu/api.h>
#include <asm/fpu/xcr.h>
#include <asm/msr-index.h>
#include <asm/thread_info.h>
#include <asm/tsc.h>

#include "kvisor.h"

int kvisor_vcpu_init(struct kvisor_vcpu *vcpu, struct kvisor_vm *vm)
{
	struct page *run, *pio;

	vcpu->vm = vm;
	mutex_init(&vcpu->mutex);
	run = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
	pio = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
	if (!run || !pio)
		goto fail;
	if (!fpu_alloc_guest_fpstate(&vcpu->guest_fpu))
		goto fail;
	vcpu->irq = -1;
	vcpu->cpu = -1;
	vcpu->mp_state = KVM_MP_STATE_RUNNABLE;
	/* KVM's: a revision no microcode update will claim to be older than. */
	vcpu->ucode_rev = 0x100000000ULL;
	vcpu->misc_enable = MSR_IA32_MISC_ENABLE_PEBS_UNAVAIL |
			    MSR_IA32_MISC_ENABLE_BTS_UNAVAIL;
	rcuwait_init(&vcpu->wait);
	vcpu->xcr0 = XFEATURE_MASK_FP;
	vcpu->apic_base = APIC_DEFAULT_PHYS_BASE | MSR_IA32_APICBASE_ENABLE;
	vcpu->run = page_address(run);
	vcpu->pio_data = page_address(pio);
	vcpu->rflags = X86_EFLAGS_FIXED;
	kvisor_debug_init(vcpu);
	return 0;
fail:
	if (run)
		__free_page(run);
	if (pio)
		__free_page(pio);
	return -ENOMEM;
}

void kvisor_vcpu_uninit(struct kvisor_vcpu *vcpu)
{
	if (vcpu->apic)
		kvisor_lapic_free(vcpu);
	kvisor_vcpu_cpuid_free(vcpu);
	fpu_free_guest_fpstate(&vcpu->guest_fpu);
	free_page((unsigned long)vcpu->run);
	free_page((unsigned long)vcpu->pio_data);
}

/*
 * Called by a backend right before it enters the guest: on return 0,
 * preemption and interrupts are off and the guest's FPU registers are
 * loaded.  -EIO means "never again" (the machine reboots), -EAGAIN "not
 * now" (another thread kicked the vCPU since the run loop last looked);
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
	return 0;
}

void kvisor_exit_guest_irqoff(struct kvisor_vcpu *vcpu)
{
	WRITE_ONCE(vcpu->in_guest, 0);
	local_irq_enable();
	preempt_enable();
}

/*
 * Any context, hard interrupts included.  A sleeping vCPU is woken; one in
 * the guest on another CPU gets an IPI, whose only purpose is the VM exit
 * it causes (the host's reschedule handler finds nothing to do).
 */
void kvisor_vcpu_kick(struct kvisor_vcpu *vcpu)
{
	int cpu;

	set_bit(KVISOR_REQ_EVENT, &vcpu->requests);
	/* Pairs with smp_mb() in kvisor_enter_guest_irqoff(). */
	smp_mb__after_atomic();
	if (rcuwait_wake_up(&vcpu->wait))
		return;
	cpu = READ_ONCE(vcpu->cpu);
	/* On this CPU, the interrupt we run in made the guest exit already. */
	if (READ_ONCE(vcpu->in_guest) && cpu != raw_smp_processor_id())
		smp_send_reschedule(cpu);
}

void kvisor_vcpu_queue_nmi(struct kvisor_vcpu *vcpu)
{
	/* The CPU latches one NMI while another is being handled. */
	if (atomic_inc_return(&vcpu->nmi_pending) > 2)
		atomic_set(&vcpu->nmi_pending, 2);
	kvisor_vcpu_kick(vcpu);
}

void kvisor_vcpu_queue_init(struct kvisor_vcpu *vcpu)
{
	set_bit(KVISOR_REQ_INIT, &vcpu->requests);
	kvisor_vcpu_kick(vcpu);
}

void kvisor_vcpu_queue_sipi(struct kvisor_vcpu *vcpu, u8 vector)
{
	WRITE_ONCE(vcpu->sipi_vector, vector);
	/* The vector before the request; smp_rmb() in kvisor_vcpu_do_sipi(). */
	smp_wmb();
	set_bit(KVISOR_REQ_SIPI, &vcpu->requests);
	kvisor_vcpu_kick(vcpu);
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
		kvisor_ops->inject_irq(vcpu, vcpu->irq);
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
		kvisor_ops->inject_irq(vcpu, vec);
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
	if (atomic_read(&vcpu->nmi_pending) && kvisor_ops->nmi_allowed(vcpu)) {
		atomic_dec(&vcpu->nmi_pending);
		kvisor_ops->inject_nmi(vcpu);
	}
	if (atomic_read(&vcpu->nmi_pending))
		kvisor_ops->set_nmi_window(vcpu, true);

	if (vcpu->apic)
		kvisor_inject_irqchip(vcpu);
	else
		kvisor_inject_userspace(vcpu);
}

/*
 * INIT: the processor's state after an INIT signal (SDM 9.1.1), the same
 * as after RESET except that caches, MSRs and the x87/SSE state stay.
 * Put together from the vendor-neutral register ioctls' own paths.
 */
static void kvisor_vcpu_do_init(struct kvisor_vcpu *vcpu)
{
	struct kvm_segment data = {
		.limit = 0xffff, .type = 3, .present = 1, .s = 1,
	};
	struct kvm_sregs sregs;
	u64 cd_nw;

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
	kvisor_debug_reset(vcpu);
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

/* INIT and SIPI signals other vCPUs sent since the last look. */
static void kvisor_vcpu_accept_signals(struct kvisor_vcpu *vcpu)
{
	if (test_and_clear_bit(KVISOR_REQ_INIT, &vcpu->requests))
		kvisor_vcpu_do_init(vcpu);
	/* A SIPI finds only a CPU waiting for one; others drop it. */
	if (test_and_clear_bit(KVISOR_REQ_SIPI, &vcpu->requests) &&
	    vcpu->mp_state == KVM_MP_STATE_INIT_RECEIVED)
		kvisor_vcpu_do_sipi(vcpu);
}

/* Something would end HLT: an NMI, or an interrupt the guest can take. */
static bool kvisor_vcpu_has_events(struct kvisor_vcpu *vcpu)
{
	if (atomic_read(&vcpu->nmi_pending))
		return true;
	return kvisor_pending_irq(vcpu, false) >= 0 &&
	       kvisor_ops->interrupt_allowed(vcpu);
}

/*
 * In-kernel irqchip, before each entry: take in INIT/SIPI and expired
 * timers, and sleep while the vCPU is halted or waits for a SIPI.  1 to
 * enter the guest, 0 to go to userspace, -EINTR for a signal (the vCPU
 * stays halted, as in KVM, and sleeps on at the next KVM_RUN).
 */
static int kvisor_vcpu_check_events(struct kvisor_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;

	for (;;) {
		clear_bit(KVISOR_REQ_EVENT, &vcpu->requests);
		kvisor_vcpu_accept_signals(vcpu);
		if (test_and_clear_bit(KVISOR_REQ_IOAPIC_EOI, &vcpu->requests)) {
			run->exit_reason = KVM_EXIT_IOAPIC_EOI;
			run->eoi.vector = vcpu->eoi_exit_vector;
			return 0;
		}
		kvisor_lapic_sync(vcpu);
		if (vcpu->mp_state == KVM_MP_STATE_HALTED &&
		    kvisor_vcpu_has_events(vcpu))
			vcpu->mp_state = KVM_MP_STATE_RUNNABLE;
		if (vcpu->mp_state == KVM_MP_STATE_RUNNABLE)
			return 1;
		if (rcuwait_wait_event(&vcpu->wait, READ_ONCE(vcpu->requests),
				       TASK_INTERRUPTIBLE)) {
			run->exit_reason = KVM_EXIT_INTR;
			return -EINTR;
		}
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
static int kvisor_vcpu_mp_state(struct kvisor_vcpu *vcpu, unsigned int ioctl,
				void __user *argp)
{
	struct kvm_mp_state mp = { .mp_state = KVM_MP_STATE_RUNNABLE };

	if (ioctl == KVM_GET_MP_STATE) {
		if (vcpu->apic) {
			kvisor_vcpu_accept_signals(vcpu);
			mp.mp_state = vcpu->mp_state;
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
static int kvisor_vcpu_set_sigmask(struct kvisor_vcpu *vcpu, void __user *argp)
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

/*
 * vCPU attributes: only the TSC offset (KVM_VCPU_TSC_CTRL group), which
 * userspace reads and sets to keep the TSCs of a migrated VM in step.
 * Setting it leaves IA32_TSC_ADJUST alone, as in KVM.
 */
static int kvisor_vcpu_attr(struct kvisor_vcpu *vcpu, unsigned int ioctl,
			    void __user *argp)
{
	u64 __user *uaddr;
	struct kvm_device_attr attr;
	u64 tsc, offset;
	int r;

	if (copy_from_user(&attr, argp, sizeof(attr)))
		return -EFAULT;
	if (attr.group != KVM_VCPU_TSC_CTRL || attr.attr != KVM_VCPU_TSC_OFFSET)
		return -ENXIO;
	if (ioctl == KVM_HAS_DEVICE_ATTR)
		return 0;
	uaddr = u64_to_user_ptr(attr.addr);
	if (ioctl == KVM_GET_DEVICE_ATTR) {
		r = kvisor_ops->get_msr(vcpu, MSR_IA32_TSC, &tsc);
		if (r)
			return r;
		offset = tsc - rdtsc();
		return put_user(offset, uaddr) ? -EFAULT : 0;
	}
	if (get_user(offset, uaddr))
		return -EFAULT;
	return kvisor_ops->set_msr(vcpu, MSR_IA32_TSC, rdtsc() + offset);
}

/*
 * KVM_SET_VAPIC_ADDR names a guest page where KVM mirrors the TPR for the
 * option ROM that patches old Windows kernels' TPR accesses.  kvisor does
 * no such mirroring: it takes 0 (QEMU sends it at every reset), refuses a
 * page rather than silently not updating it.
 */
static int kvisor_vcpu_set_vapic_addr(struct kvisor_vcpu *vcpu,
				      void __user *argp)
{
	struct kvm_vapic_addr va;

	if (!vcpu->apic)
		return -EINVAL;
	if (copy_from_user(&va, argp, sizeof(va)))
		return -EFAULT;
	return va.vapic_addr ? -EINVAL : 0;
}

static int kvisor_vcpu_interrupt(struct kvisor_vcpu *vcpu, void __user *argp)
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
	if (rcuwait_wait_event(&vcpu->wait, READ_ONCE(vcpu->requests),
			       TASK_INTERRUPTIBLE)) {
		vcpu->run->exit_reason = KVM_EXIT_INTR;
		return -EINTR;
	}
	clear_bit(KVISOR_REQ_EVENT, &vcpu->requests);
	kvisor_vcpu_accept_signals(vcpu);
	return -EAGAIN;
}

static int kvisor_vcpu_run(struct kvisor_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	int r;

	if (vcpu->apic && vcpu->mp_state == KVM_MP_STATE_UNINITIALIZED)
		return kvisor_vcpu_run_uninitialized(vcpu);

	/* The guest's FPU state is live in the CPU until KVM_RUN returns. */
	fpu_swap_kvm_fpstate(&vcpu->guest_fpu, true);

	/*
	 * Finish the last exit first: userspace completes an I/O exit by
	 * calling KVM_RUN with immediate_exit set, as KVM allows.
	 */
	/* The pvclock follows the host's clock between two KVM_RUNs too. */
	kvisor_kvmclock_update(vcpu);
	r = kvisor_complete_userspace_exit(vcpu);
	/* Like KVM, leave exit_reason as it was: nothing ran. */
	if (r > 0 && kvisor_immediate_exit(run))
		r = -EINTR;
	while (r > 0) {
		/* A single-step trap an exit handler's instruction owes. */
		r = kvisor_debug_before_run(vcpu);
		if (r <= 0)
			break;
		if (signal_pending(current)) {
			run->exit_reason = KVM_EXIT_INTR;
			r = -EINTR;
			break;
		}
		cond_resched();
		if (vcpu->apic) {
			r = kvisor_vcpu_check_events(vcpu);
			if (r <= 0)
				break;
		}
		clear_bit(KVISOR_REQ_EVENT, &vcpu->requests);
		kvisor_inject_pending(vcpu);
		if (kvisor_kvmclock_stale(vcpu))
			kvisor_kvmclock_update(vcpu);
		r = kvisor_ops->run(vcpu);
		/* Kicked on the way in: look at the interrupts again. */
		if (r == -EAGAIN) {
			r = 1;
			continue;
		}
		if (r)
			break;
		vcpu->nr_exits++;
		r = kvisor_ops->handle_exit(vcpu);
		if (r > 0 && kvisor_irq_window_open(vcpu)) {
			run->exit_reason = KVM_EXIT_IRQ_WINDOW_OPEN;
			r = 0;
		}
	}
	fpu_swap_kvm_fpstate(&vcpu->guest_fpu, false);
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
	r = kvisor_vcpu_run(vcpu);
	if (masked) {
		sigprocmask(SIG_SETMASK, &current->real_blocked, NULL);
		sigemptyset(&current->real_blocked);
	}
	return r;
}

/* kvm_regs names the registers in another order than the hardware. */
void kvisor_get_regs(struct kvisor_vcpu *vcpu, struct kvm_regs *r)
{
	const u64 *g = vcpu->regs;

	r->rax = g[EMU_RAX]; r->rbx = g[EMU_RBX]; r->rcx = g[EMU_RCX];
	r->rdx = g[EMU_RDX]; r->rsi = g[EMU_RSI]; r->rdi = g[EMU_RDI];
	r->rsp = g[EMU_RSP]; r->rbp = g[EMU_RBP];
	r->r8 = g[EMU_R8]; r->r9 = g[EMU_R9]; r->r10 = g[EMU_R10];
	r->r11 = g[EMU_R11]; r->r12 = g[EMU_R12]; r->r13 = g[EMU_R13];
	r->r14 = g[EMU_R14]; r->r15 = g[EMU_R15];
	r->rip = vcpu->rip;
	r->rflags = kvisor_debug_user_rflags(vcpu);
}

void kvisor_set_regs(struct kvisor_vcpu *vcpu, const struct kvm_regs *r)
{
	u64 *g = vcpu->regs;

	g[EMU_RAX] = r->rax; g[EMU_RBX] = r->rbx; g[EMU_RCX] = r->rcx;
	g[EMU_RDX] = r->rdx; g[EMU_RSI] = r->rsi; g[EMU_RDI] = r->rdi;
	g[EMU_RSP] = r->rsp; g[EMU_RBP] = r->rbp;
	g[EMU_R8] = r->r8; g[EMU_R9] = r->r9; g[EMU_R10] = r->r10;
	g[EMU_R11] = r->r11; g[EMU_R12] = r->r12; g[EMU_R13] = r->r13;
	g[EMU_R14] = r->r14; g[EMU_R15] = r->r15;
	vcpu->rip = r->rip;
	/* Bit 1 of RFLAGS always reads as 1. */
	vcpu->rflags = r->rflags | X86_EFLAGS_FIXED;
}

/*
 * KVM_GET/SET_FPU use the legacy FXSAVE layout.  The guest state is kept in
 * whatever format the host uses (usually XSAVE), so go through the
 * kernel's converters to the portable XSAVE layout, whose first 512 bytes
 * are the FXSAVE image.
 */
static int kvisor_fpu_access(struct kvisor_vcpu *vcpu, struct kvm_fpu *fpu,
			     bool set)
{
	struct fxregs_state *fx;
	u32 pkru = 0;
	int r = 0;

	fx = kzalloc(sizeof(struct kvm_xsave), GFP_KERNEL);
	if (!fx)
		return -ENOMEM;
	fpu_copy_guest_fpstate_to_uabi(&vcpu->guest_fpu, fx,
				       sizeof(struct kvm_xsave),
				       vcpu->guest_fpu.fpstate->user_xfeatures,
				       pkru);
	if (set) {
		struct xstate_header *hdr = (void *)(fx + 1);

		memcpy(fx->st_space, fpu->fpr, sizeof(fpu->fpr));
		fx->cwd = fpu->fcw;
		fx->swd = fpu->fsw;
		fx->twd = fpu->ftwx;
		fx->fop = fpu->last_opcode;
		fx->rip = fpu->last_ip;
		fx->rdp = fpu->last_dp;
		memcpy(fx->xmm_space, fpu->xmm, sizeof(fpu->xmm));
		fx->mxcsr = fpu->mxcsr;
		/* x87 and SSE state are now given, not in their init state. */
		hdr->xfeatures |= XFEATURE_MASK_FPSSE;
		r = fpu_copy_uabi_to_guest_fpstate(&vcpu->guest_fpu, fx,
						   vcpu->guest_fpu.fpstate->user_xfeatures,
						   &pkru);
	} else {
		memset(fpu, 0, sizeof(*fpu));
		memcpy(fpu->fpr, fx->st_space, sizeof(fpu->fpr));
		fpu->fcw = fx->cwd;
		fpu->fsw = fx->swd;
		fpu->ftwx = fx->twd;
		fpu->last_opcode = fx->fop;
		fpu->last_ip = fx->rip;
		fpu->last_dp = fx->rdp;
		memcpy(fpu->xmm, fx->xmm_space, sizeof(fpu->xmm));
		fpu->mxcsr = fx->mxcsr;
	}
	kfree(fx);
	return r;
}

/*
 * KVM_GET/SET_XSAVE: the whole state in the portable XSAVE layout.  Get
 * gives only the states a guest can have, so that the image loads on any
 * host kvisor runs on; set also takes PKRU, which kvisor keeps for the
 * guest in vcpu->pkru.
 */
static void kvisor_get_xsave(struct kvisor_vcpu *vcpu, struct kvm_xsave *xs)
{
	u64 mask = vcpu->guest_fpu.fpstate->user_xfeatures & KVISOR_GUEST_XCR0;

	fpu_copy_guest_fpstate_to_uabi(&vcpu->guest_fpu, xs->region,
				       sizeof(xs->region), mask, vcpu->pkru);
}

static int kvisor_set_xsave(struct kvisor_vcpu *vcpu, struct kvm_xsave *xs)
{
	u64 mask = vcpu->guest_fpu.fpstate->user_xfeatures &
		   (KVISOR_GUEST_XCR0 | XFEATURE_MASK_PKRU);

	return fpu_copy_uabi_to_guest_fpstate(&vcpu->guest_fpu, xs->region,
					      mask, &vcpu->pkru);
}

/* KVM_GET/SET_XCRS: XCR0 is the only XCR. */
static void kvisor_get_xcrs(struct kvisor_vcpu *vcpu, struct kvm_xcrs *xcrs)
{
	if (!boot_cpu_has(X86_FEATURE_XSAVE))
		return;
	xcrs->nr_xcrs = 1;
	xcrs->xcrs[0].xcr = XCR_XFEATURE_ENABLED_MASK;
	xcrs->xcrs[0].value = vcpu->xcr0;
}

static int kvisor_set_xcrs(struct kvisor_vcpu *vcpu, struct kvm_xcrs *xcrs)
{
	u32 i;

	if (!boot_cpu_has(X86_FEATURE_XSAVE) ||
	    xcrs->nr_xcrs > KVM_MAX_XCRS || xcrs->flags)
		return -EINVAL;
	/* As in KVM, entries for other XCRs are ignored. */
	for (i = 0; i < xcrs->nr_xcrs; i++) {
		if (xcrs->xcrs[i].xcr != XCR_XFEATURE_ENABLED_MASK)
			continue;
		if (!kvisor_xcr0_valid(xcrs->xcrs[i].value))
			return -EINVAL;
		vcpu->xcr0 = xcrs->xcrs[i].value;
		break;
	}
	return 0;
}

/*
 * The consistency rules KVM applies to KVM_SET_SREGS, vendor-neutral: long
 * mode needs PAE and EFER.LMA, and neither LMA nor a 64-bit code segment
 * exists without it.  Rules only the hardware checks give FAIL_ENTRY.
 */
static bool kvisor_sregs_valid(const struct kvm_sregs *sregs)
{
	if ((sregs->efer & EFER_LME) && (sregs->cr0 & X86_CR0_PG))
		return (sregs->cr4 & X86_CR4_PAE) && (sregs->efer & EFER_LMA);
	return !(sregs->efer & EFER_LMA) && !sregs->cs.l;
}

void kvisor_vcpu_get_sregs(struct kvisor_vcpu *vcpu, struct kvm_sregs *sregs)
{
	kvisor_ops->get_sregs(vcpu, sregs);
	if (vcpu->apic)
		sregs->cr8 = kvisor_lapic_get_cr8(vcpu);
	/* An interrupt KVM_INTERRUPT queued is part of the state. */
	memset(sregs->interrupt_bitmap, 0, sizeof(sregs->interrupt_bitmap));
	if (vcpu->irq >= 0)
		__set_bit(vcpu->irq, (unsigned long *)sregs->interrupt_bitmap);
}

int kvisor_vcpu_set_sregs(struct kvisor_vcpu *vcpu,
			  const struct kvm_sregs *sregs)
{
	int bit, r;

	if (!kvisor_sregs_valid(sregs) || !kvisor_cr4_valid(vcpu, sregs->cr4))
		return -EINVAL;
	/* The LAPIC's checks first: a refused base changes nothing. */
	if (vcpu->apic) {
		r = kvisor_lapic_set_msr(vcpu, MSR_IA32_APICBASE,
					 sregs->apic_base, true);
		if (r)
			return r;
	}
	if (vcpu->apic) {
		u64 base = vcpu->apic_base;

		r = kvisor_ops->set_sregs(vcpu, sregs);
		vcpu->apic_base = base;
		kvisor_lapic_set_cr8(vcpu, sregs->cr8);
	} else {
		r = kvisor_ops->set_sregs(vcpu, sregs);
	}
	if (r)
		return r;
	bit = find_first_bit((unsigned long *)sregs->interrupt_bitmap, 256);
	vcpu->irq = bit < 256 ? bit : -1;
	return 0;
}

/* The ioctls that move a struct in or out, with one shape each. */
static long kvisor_vcpu_state_ioctl(struct kvisor_vcpu *vcpu,
				    unsigned int ioctl, void __user *argp)
{
	union {
		struct kvm_regs regs;
		struct kvm_sregs sregs;
		struct kvm_fpu fpu;
		struct kvm_xsave xsave;
		struct kvm_xcrs xcrs;
		struct kvm_lapic_state lapic;
		struct kvm_vcpu_events events;
	} *u;
	long r = 0;

	u = kzalloc(sizeof(*u), GFP_KERNEL);
	if (!u)
		return -ENOMEM;
	if ((_IOC_DIR(ioctl) & _IOC_WRITE) &&
	    copy_from_user(u, argp, _IOC_SIZE(ioctl))) {
		r = -EFAULT;
		goto out;
	}
	switch (ioctl) {
	case KVM_GET_REGS:
		kvisor_get_regs(vcpu, &u->regs);
		break;
	case KVM_SET_REGS:
		kvisor_set_regs(vcpu, &u->regs);
		break;
	case KVM_GET_SREGS:
		kvisor_vcpu_get_sregs(vcpu, &u->sregs);
		break;
	case KVM_SET_SREGS:
		r = kvisor_vcpu_set_sregs(vcpu, &u->sregs);
		break;
	case KVM_GET_FPU:
		r = kvisor_fpu_access(vcpu, &u->fpu, false);
		break;
	case KVM_SET_FPU:
		r = kvisor_fpu_access(vcpu, &u->fpu, true);
		break;
	case KVM_GET_XSAVE:
		kvisor_get_xsave(vcpu, &u->xsave);
		break;
	case KVM_SET_XSAVE:
		r = kvisor_set_xsave(vcpu, &u->xsave);
		break;
	case KVM_GET_XCRS:
		kvisor_get_xcrs(vcpu, &u->xcrs);
		break;
	case KVM_SET_XCRS:
		r = kvisor_set_xcrs(vcpu, &u->xcrs);
		break;
	case KVM_GET_VCPU_EVENTS:
		kvisor_get_vcpu_events(vcpu, &u->events);
		break;
	case KVM_SET_VCPU_EVENTS:
		r = kvisor_set_vcpu_events(vcpu, &u->events);
		break;
	case KVM_GET_LAPIC:
		r = vcpu->apic ? kvisor_lapic_get_state(vcpu, &u->lapic) : -EINVAL;
		break;
	case KVM_SET_LAPIC:
		r = vcpu->apic ? kvisor_lapic_set_state(vcpu, &u->lapic) : -EINVAL;
		if (!r)
			set_bit(KVISOR_REQ_EVENT, &vcpu->requests);
		break;
	}
	if (!r && (_IOC_DIR(ioctl) & _IOC_READ) &&
	    copy_to_user(argp, u, _IOC_SIZE(ioctl)))
		r = -EFAULT;
out:
	kfree(u);
	return r;
}

static long kvisor_vcpu_ioctl(struct file *filp, unsigned int ioctl,
			      unsigned long arg)
{
	struct kvisor_vcpu *vcpu = filp->private_data;
	long r;

	if (vcpu->vm->mm != current->mm)
		return -EIO;
	if (_IOC_TYPE(ioctl) != KVMIO)
		return -EINVAL;
	if (mutex_lock_killable(&vcpu->mutex))
		return -EINTR;

	switch (ioctl) {
	case KVM_RUN:
		if (arg) {
			r = -EINVAL;
			break;
		}
		r = kvisor_sync_regs_in(vcpu);
		if (!r)
			r = kvisor_vcpu_run_masked(vcpu);
		/* As KVM, even after a refused sync or a failed run. */
		kvisor_sync_regs_out(vcpu);
		break;
	case KVM_INTERRUPT:
		r = kvisor_vcpu_interrupt(vcpu, (void __user *)arg);
		break;
	case KVM_NMI:
		kvisor_vcpu_queue_nmi(vcpu);
		r = 0;
		break;
	case KVM_SET_VAPIC_ADDR:
		r = kvisor_vcpu_set_vapic_addr(vcpu, (void __user *)arg);
		break;
	case KVM_HAS_DEVICE_ATTR:
	case KVM_GET_DEVICE_ATTR:
	case KVM_SET_DEVICE_ATTR:
		r = kvisor_vcpu_attr(vcpu, ioctl, (void __user *)arg);
		break;
	case KVM_SET_SIGNAL_MASK:
		r = kvisor_vcpu_set_sigmask(vcpu, (void __user *)arg);
		break;
	case KVM_GET_MP_STATE:
	case KVM_SET_MP_STATE:
		r = kvisor_vcpu_mp_state(vcpu, ioctl, (void __user *)arg);
		break;
	case KVM_GET_REGS:
	case KVM_SET_REGS:
	case KVM_GET_SREGS:
	case KVM_SET_SREGS:
	case KVM_GET_FPU:
	case KVM_SET_FPU:
	case KVM_GET_XSAVE:
	case KVM_SET_XSAVE:
	case KVM_GET_XCRS:
	case KVM_SET_XCRS:
	case KVM_GET_LAPIC:
	case KVM_SET_LAPIC:
	case KVM_GET_VCPU_EVENTS:
	case KVM_SET_VCPU_EVENTS:
		r = kvisor_vcpu_state_ioctl(vcpu, ioctl, (void __user *)arg);
		break;
	case KVM_SET_CPUID2:
	case KVM_GET_CPUID2:
		r = kvisor_vcpu_cpuid_ioctl(vcpu, ioctl, (void __user *)arg);
		break;
	case KVM_GET_MSRS:
	case KVM_SET_MSRS:
		r = kvisor_vcpu_msrs_ioctl(vcpu, ioctl, (void __user *)arg);
		break;
	case KVM_GET_DEBUGREGS:
	case KVM_SET_DEBUGREGS:
	case KVM_SET_GUEST_DEBUG:
		r = kvisor_debug_ioctl(vcpu, ioctl, (void __user *)arg);
		break;
	case KVM_GET_TSC_KHZ:
		/* No TSC scaling: the guest's TSC runs at the host's rate. */
		r = tsc_khz;
		break;
	case KVM_GET_STATS_FD:
		r = kvisor_vcpu_get_stats_fd(vcpu);
		break;
	default:
		r = -EINVAL;
	}
	mutex_unlock(&vcpu->mutex);
	return r;
}

/* Page 0 of the mapping is struct kvm_run, page 1 the PIO data. */
static vm_fault_t kvisor_vcpu_fault(struct vm_fault *vmf)
{
	struct kvisor_vcpu *vcpu = vmf->vma->vm_file->private_data;
	void *addr;

	switch (vmf->pgoff) {
	case 0:
		addr = vcpu->run;
		break;
	case KVM_PIO_PAGE_OFFSET:
		addr = vcpu->pio_data;
		break;
	default:
		return VM_FAULT_SIGBUS;
	}
	vmf->page = virt_to_page(addr);
	get_page(vmf->page);
	return 0;
}

static const struct vm_operations_struct kvisor_vcpu_vm_ops = {
	.fault = kvisor_vcpu_fault,
};

static int kvisor_vcpu_mmap(struct file *file, struct vm_area_struct *vma)
{
	vma->vm_ops = &kvisor_vcpu_vm_ops;
	return 0;
}

static int kvisor_vcpu_release(struct inode *inode, struct file *filp)
{
	struct kvisor_vcpu *vcpu = filp->private_data;

	/* The vCPU itself lives as long as its VM, as in KVM. */
	kvisor_vm_put(vcpu->vm);
	return 0;
}

static const struct file_operations kvisor_vcpu_fops = {
	.owner		= THIS_MODULE,
	.unlocked_ioctl	= kvisor_vcpu_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.mmap		= kvisor_vcpu_mmap,
	.release	= kvisor_vcpu_release,
	.llseek		= noop_llseek,
};

int kvisor_create_vcpu(struct kvisor_vm *vm, unsigned long id)
{
	struct kvisor_vcpu *vcpu;
	struct file *file;
	char name[24];
	int i, r, fd;

	if (id >= (READ_ONCE(vm->max_vcpu_ids) ?: KVISOR_MAX_VCPUS))
		return -EINVAL;
	/* A backend still without guest execution says so, not more. */
	if (!kvisor_ops->vcpu_create) {
		pr_warn_once("%s cannot run vCPUs yet\n", kvisor_caps.vendor);
		return -EOPNOTSUPP;
	}

	mutex_lock(&vm->lock);
	r = -EINVAL;
	if (vm->nr_vcpus == KVISOR_MAX_VCPUS)
		goto out;
	r = -EEXIST;
	for (i = 0; i < vm->nr_vcpus; i++)
		if (vm->vcpus[i]->id == id)
			goto out;

	vcpu = kvisor_ops->vcpu_create(vm);
	if (IS_ERR(vcpu)) {
		r = PTR_ERR(vcpu);
		goto out;
	}
	vcpu->id = id;
	vcpu->creator = task_pid_nr(current);
	/*
	 * As KVM: the TSC starts at 0 with the VM, and every vCPU's runs in
	 * step with the first one's (guests check that their CPUs agree).
	 */
	if (!vm->nr_vcpus)
		vm->tsc_base = rdtsc();
	kvisor_ops->set_msr(vcpu, MSR_IA32_TSC, rdtsc() - vm->tsc_base);
	/* The bootstrap processor: vCPU 0 unless KVM_SET_BOOT_CPU_ID said. */
	if (id == vm->bsp_id)
		vcpu->apic_base |= MSR_IA32_APICBASE_BSP;
	if (kvisor_irqchip_in_kernel(vm)) {
		r = kvisor_lapic_create(vcpu);
		if (r) {
			kvisor_ops->vcpu_free(vcpu);
			goto out;
		}
		/* The application processors wait for INIT and SIPI. */
		if (id != vm->bsp_id)
			vcpu->mp_state = KVM_MP_STATE_UNINITIALIZED;
	}

	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0) {
		r = fd;
		kvisor_ops->vcpu_free(vcpu);
		goto out;
	}
	snprintf(name, sizeof(name), "kvm-vcpu:%lu", id);
	file = anon_inode_getfile(name, &kvisor_vcpu_fops, vcpu, O_RDWR);
	if (IS_ERR(file)) {
		put_unused_fd(fd);
		r = PTR_ERR(file);
		kvisor_ops->vcpu_free(vcpu);
		goto out;
	}
	kref_get(&vm->refs);
	/*
	 * Published before userspace can run it (fd_install() below), the
	 * count after the pointer: memslot changes walk the array without
	 * vm->lock (smp_load_acquire() in memslot.c), and a vCPU they miss
	 * could keep a stale translation.
	 */
	smp_store_release(&vm->vcpus[vm->nr_vcpus], vcpu);
	smp_store_release(&vm->nr_vcpus, vm->nr_vcpus + 1);
	kvisor_debugfs_vcpu_init(vcpu);
	fd_install(fd, file);
	r = fd;
out:
	mutex_unlock(&vm->lock);
	return r;
}
