// SPDX-License-Identifier: GPL-2.0
/*
 * The vCPU's doorbell: other threads, timers and interrupt handlers ask a
 * vCPU to look at its interrupts again (a KVISOR_REQ_* bit and a kick).
 *
 * This file is a leaf: the interrupt controllers (irq/) call down into it
 * and it calls nothing else in kvisor, so devices never depend on the run
 * loop.  The run loop (run.c) is the other side: it clears the bits and
 * takes in what they announce.
 */
#include <linux/atomic.h>
#include <linux/rcuwait.h>
#include <linux/smp.h>
/* smp_send_reschedule() traces the IPI since 6.6: its tracepoint. */
#include <trace/events/ipi.h>

#include "core/kvisor.h"

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
	/*
	 * KVM's halt_wakeup: a sleeping vCPU woken.  Only one waker can
	 * wake a given sleep, so the plain increment never races.
	 */
	if (rcuwait_wake_up(&vcpu->wait)) {
		vcpu->stat.halt_wakeup++;
		return;
	}
	cpu = READ_ONCE(vcpu->cpu);
	/* On this CPU, the interrupt we run in made the guest exit already. */
	if (READ_ONCE(vcpu->in_guest) && cpu != raw_smp_processor_id())
		smp_send_reschedule(cpu);
}

void kvisor_vcpu_queue_nmi(struct kvisor_vcpu *vcpu)
{
	/*
	 * Only the vCPU knows whether an NMI is in service, which decides
	 * how many the CPU keeps: it sorts them in kvisor_process_nmi().
	 * Three are as good as any more.
	 */
	if (atomic_inc_return(&vcpu->nmi_queued) > 3)
		atomic_set(&vcpu->nmi_queued, 3);
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
