/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvisor's in-kernel interrupt controllers and the wires between them.
 *
 *   KVM_IRQ_LINE, irqfd, PIT --> routing (routing.c) +--> PIC (pic.c) ---------+
 *                                                   +--> IOAPIC (ioapic.c) --+
 *   KVM_SIGNAL_MSI, MSI routes -----------------------------------------------+
 *                                                                             v
 *   IPIs (ICR writes), LVTs, timer ----------> APIC bus: kvisor_apic_deliver() (lapic.c)
 *                                                   |
 *                       IRR of the target LAPIC, or a pending NMI/INIT/SIPI
 *                                                   v
 *    kick (core/request.c); run loop (core/run.c): pick the vector, inject, ack
 *
 * Each device model is one file with the same small API: create, destroy,
 * get/set state for the ioctls, and its inputs.  Devices on port I/O or
 * MMIO register on the VM's I/O buses (iodev.c).
 *
 * Locking.  Every device lock is a spinlock taken with interrupts saved:
 * inputs arrive from vCPU threads, from hrtimer callbacks (PIT) and from
 * eventfd wakeups (irqfd), which run with interrupts off.  The order is
 * IOAPIC or PIC lock, then a LAPIC's lock; a device never calls into
 * another device "upwards" (LAPIC -> IOAPIC EOI, IOAPIC -> irqfd resample)
 * with its own lock held.  Kicking a vCPU takes no lock at all.
 */
#ifndef KVISOR_IRQ_H
#define KVISOR_IRQ_H

#include <linux/types.h>
#include <linux/kvm.h>

struct kvisor_vm;
struct kvisor_vcpu;
struct seq_file;

/* I/O buses (iodev.c) --------------------------------------------------- */

enum kvisor_bus {
	KVISOR_PIO_BUS,
	KVISOR_MMIO_BUS,
	KVISOR_NR_BUSES,
};

struct kvisor_io_device;

/*
 * Both return 0 when the device handled the access, or -EOPNOTSUPP to let
 * the next device on the same range (or userspace) have it, which is how
 * an ioeventfd whose datamatch differs stays out of the way.  They run
 * under rcu_read_lock() and must not sleep; @vcpu may be NULL.
 */
struct kvisor_io_ops {
	int (*read)(struct kvisor_io_device *dev, struct kvisor_vcpu *vcpu,
		    u64 addr, unsigned int len, void *val);
	int (*write)(struct kvisor_io_device *dev, struct kvisor_vcpu *vcpu,
		     u64 addr, unsigned int len, const void *val);
};

/* Embed in the device; the bus keeps pointers to it. */
struct kvisor_io_device {
	const struct kvisor_io_ops *ops;
};

/*
 * Register @dev for [@addr, @addr + @len).  @len 0 means exactly @addr,
 * with any access width (KVM_IOEVENTFD's "any length").  Returns 0,
 * -ENOMEM, or -ENOSPC past KVISOR_MAX_IO_DEVS devices on one bus.
 * Serialized by vm->irq_lock, which the caller holds.
 */
#define KVISOR_MAX_IO_DEVS	1024
int kvisor_io_bus_register(struct kvisor_vm *vm, enum kvisor_bus bus,
			   u64 addr, u32 len, struct kvisor_io_device *dev);
/* Caller holds vm->irq_lock; on return no CPU is inside @dev's ops. */
void kvisor_io_bus_unregister(struct kvisor_vm *vm, enum kvisor_bus bus,
			      struct kvisor_io_device *dev);
/* 0 when an in-kernel device took the access, -EOPNOTSUPP otherwise. */
int kvisor_io_bus_read(struct kvisor_vcpu *vcpu, enum kvisor_bus bus,
		       u64 addr, unsigned int len, void *val);
int kvisor_io_bus_write(struct kvisor_vcpu *vcpu, enum kvisor_bus bus,
			u64 addr, unsigned int len, const void *val);
void kvisor_io_bus_destroy(struct kvisor_vm *vm);

/* The APIC bus (lapic.c) ------------------------------------------------ */

/* APIC delivery modes, ICR/redirection-entry bits 10:8. */
enum kvisor_apic_dm {
	KVISOR_DM_FIXED		= 0,
	KVISOR_DM_LOWEST	= 1,
	KVISOR_DM_SMI		= 2,
	KVISOR_DM_NMI		= 4,
	KVISOR_DM_INIT		= 5,
	KVISOR_DM_SIPI		= 6,
	KVISOR_DM_EXTINT	= 7,
};

/* Destination shorthands, ICR bits 19:18. */
enum kvisor_apic_shorthand {
	KVISOR_SH_NONE		= 0,
	KVISOR_SH_SELF		= 1,
	KVISOR_SH_ALL		= 2,
	KVISOR_SH_ALL_BUT_SELF	= 3,
};

/**
 * struct kvisor_apic_irq - one interrupt message on the APIC bus
 * @dest:	destination APIC ID, or logical destination when @logical;
 *		0xff (xAPIC) or 0xffffffff (x2APIC) broadcasts
 * @vector:	the vector (or SIPI's start page)
 * @dm:		enum kvisor_apic_dm
 * @shorthand:	enum kvisor_apic_shorthand; only IPIs use it
 * @logical:	logical destination mode
 * @level:	level-triggered: the LAPIC sets TMR and tells the IOAPIC of
 *		the EOI
 * @assert:	false only for an INIT level de-assert, which is ignored
 */
struct kvisor_apic_irq {
	u32 dest;
	u8 vector;
	u8 dm;
	u8 shorthand;
	bool logical;
	bool level;
	bool assert;
};

/*
 * Deliver @irq to every LAPIC it names (@src is the sender of an IPI, for
 * the shorthands; NULL otherwise).  Returns how many LAPICs accepted it as
 * new (an interrupt already pending in IRR counts as coalesced, 0), or
 * -1 when no LAPIC matched: KVM_IRQ_LINE_STATUS and KVM_SIGNAL_MSI report
 * this number.  Callable from any context.  kvisor_apic_deliver_to()
 * skips the destination match: one vCPU, found by its APIC ID.
 */
int kvisor_apic_deliver(struct kvisor_vm *vm, struct kvisor_vcpu *src,
			const struct kvisor_apic_irq *irq);
int kvisor_apic_deliver_to(struct kvisor_vcpu *vcpu, struct kvisor_vcpu *src,
			   const struct kvisor_apic_irq *irq);

/* The local APIC of one vCPU (lapic.c) ---------------------------------- */

/*
 * Created with the vCPU when the VM has an in-kernel irqchip (full or
 * split), in its power-on state with vcpu->apic_base; freed with it.
 */
int kvisor_lapic_create(struct kvisor_vcpu *vcpu);
void kvisor_lapic_free(struct kvisor_vcpu *vcpu);
/*
 * INIT: the LAPIC's registers go back to their INIT state (SDM Vol. 3,
 * "Local APIC State After an INIT Reset ('Wait-for-SIPI' State)").
 */
void kvisor_lapic_init_reset(struct kvisor_vcpu *vcpu);

/*
 * A guest access to guest-physical @gpa that missed RAM.  Returns true
 * when it falls in this vCPU's xAPIC page (APIC enabled, not in x2APIC
 * mode) and was handled; reads fill @val.
 */
bool kvisor_lapic_mmio(struct kvisor_vcpu *vcpu, u64 gpa, unsigned int len,
		       void *val, bool write);

/*
 * The MSRs the LAPIC owns: IA32_APIC_BASE, TSC_DEADLINE and the x2APIC
 * range 0x800-0x8ff.  0, -EINVAL (the guest gets #GP), or -ENOENT when
 * @msr is not one of them.  @host: from KVM_SET_MSRS, which may do what
 * the guest may not (e.g. leave x2APIC mode directly).
 */
int kvisor_lapic_get_msr(struct kvisor_vcpu *vcpu, u32 msr, u64 *val);
int kvisor_lapic_set_msr(struct kvisor_vcpu *vcpu, u32 msr, u64 val,
			 bool host);

/* kvisor_lapic_get_cr8() and kvisor_lapic_set_cr8() are in core/vendor.h. */

/*
 * Run loop, vCPU thread, interrupts on.  kvisor_lapic_sync() turns expired
 * timers into interrupts.  kvisor_lapic_pending() gives the vector the
 * LAPIC would present to the CPU now (highest IRR above PPR), or -1;
 * kvisor_lapic_ack() is the CPU taking it (IRR -> ISR).
 */
void kvisor_lapic_sync(struct kvisor_vcpu *vcpu);
int kvisor_lapic_pending(struct kvisor_vcpu *vcpu);
void kvisor_lapic_ack(struct kvisor_vcpu *vcpu, int vector);

/*
 * PV EOI (pv_eoi.c, KVM's MSR_KVM_PV_EOI_EN): before an entry, tell the
 * guest it may skip the EOI of the one interrupt in service; after the
 * exit, do the EOI it skipped.  The LAPIC's part is in lapic.c.
 */
int kvisor_pv_eoi_get_msr(struct kvisor_vcpu *vcpu, u64 *val);
int kvisor_pv_eoi_set_msr(struct kvisor_vcpu *vcpu, u64 val);
void kvisor_pv_eoi_before_entry(struct kvisor_vcpu *vcpu);
void kvisor_pv_eoi_after_exit(struct kvisor_vcpu *vcpu);
int kvisor_lapic_pv_eoi_vector(struct kvisor_vcpu *vcpu, bool *level);
void kvisor_lapic_pv_eoi(struct kvisor_vcpu *vcpu);
/* LINT0 passes the PIC's INTR (ExtINT unmasked, or the APIC disabled). */
bool kvisor_lapic_accepts_extint(struct kvisor_vcpu *vcpu);

/*
 * The CMCI entry of the LVT, which exists with MCG_CMCI_P in the vCPU's
 * MCG_CAP (core/mce.c): masked when KVM_X86_SETUP_MCE adds it; fired for
 * a UCNA error in a bank whose MCi_CTL2 enables CMCI.
 */
void kvisor_lapic_cmci_added(struct kvisor_vcpu *vcpu);
void kvisor_lapic_cmci(struct kvisor_vcpu *vcpu);
/* debugfs: IRR, ISR, TPR/PPR and the timer, decoded. */
void kvisor_lapic_dump(struct kvisor_vcpu *vcpu, struct seq_file *m);

/* KVM_GET_LAPIC and KVM_SET_LAPIC: 0 or -EINVAL. */
int kvisor_lapic_get_state(struct kvisor_vcpu *vcpu,
			   struct kvm_lapic_state *s);
int kvisor_lapic_set_state(struct kvisor_vcpu *vcpu,
			   const struct kvm_lapic_state *s);

/* The 8259 pair (pic.c) ------------------------------------------------- */

/* Registers ports 0x20-0x21, 0xa0-0xa1 and the ELCRs 0x4d0-0x4d1. */
int kvisor_pic_create(struct kvisor_vm *vm);
void kvisor_pic_destroy(struct kvisor_vm *vm);
/*
 * Input @irq (0-15) to @level.  Returns what KVM's kvm_pic_set_irq()
 * returns: -1 when the input is masked in IMR (its level is latched all
 * the same), or there is no PIC or no such input; 0 when a raise found
 * the request already in IRR (coalesced); 1 otherwise.  kvisor_irq_set()
 * adds up the non-negative answers of a GSI's routes and gives -1 only
 * when every route said -1, so a masked input must say -1, not 0, for
 * KVM_IRQ_LINE_STATUS to match KVM's.
 */
int kvisor_pic_set_irq(struct kvisor_vm *vm, int irq, int level);
/* The master's INTR output is high. */
bool kvisor_pic_has_interrupt(struct kvisor_vm *vm);
/* The INTA cycle: the vector to deliver (a spurious IRQ7/15 if none). */
int kvisor_pic_read_irq(struct kvisor_vm *vm);
/* @chip is KVM_IRQCHIP_PIC_MASTER or KVM_IRQCHIP_PIC_SLAVE. */
void kvisor_pic_get_state(struct kvisor_vm *vm, int chip,
			  struct kvm_pic_state *s);
void kvisor_pic_set_state(struct kvisor_vm *vm, int chip,
			  const struct kvm_pic_state *s);

/* The IOAPIC, 24 pins at 0xfec00000 (ioapic.c) ------------------------- */

int kvisor_ioapic_create(struct kvisor_vm *vm);
void kvisor_ioapic_destroy(struct kvisor_vm *vm);
/*
 * Pin @pin to @level.  Returns what KVM's ioapic_set_irq() returns: 1 for
 * a lowered line, 0 for an edge that found the line already high, -1 when
 * the entry is masked, a level pin still waits for its EOI, or there is
 * no IOAPIC; otherwise what kvisor_apic_deliver() returned.  Combined
 * over a GSI's routes as for kvisor_pic_set_irq().
 */
int kvisor_ioapic_set_irq(struct kvisor_vm *vm, int pin, int level);
/* A LAPIC took the EOI of level-triggered @vector. */
void kvisor_ioapic_eoi(struct kvisor_vm *vm, int vector);
/* Whether a redirection entry holds @vector. */
bool kvisor_ioapic_has_vector(struct kvisor_vm *vm, int vector);
void kvisor_ioapic_get_state(struct kvisor_vm *vm,
			     struct kvm_ioapic_state *s);
void kvisor_ioapic_set_state(struct kvisor_vm *vm,
			     const struct kvm_ioapic_state *s);

/* The 8254 PIT on ports 0x40-0x43 and 0x61 (pit.c) ---------------------- */

int kvisor_pit_create(struct kvisor_vm *vm, u32 flags);
void kvisor_pit_destroy(struct kvisor_vm *vm);
void kvisor_pit_get_state(struct kvisor_vm *vm, struct kvm_pit_state2 *s);
int kvisor_pit_set_state(struct kvisor_vm *vm,
			 const struct kvm_pit_state2 *s);
void kvisor_pit_get_state1(struct kvisor_vm *vm, struct kvm_pit_state *s);
int kvisor_pit_set_state1(struct kvisor_vm *vm,
			  const struct kvm_pit_state *s);

/* Routing and the VM-wide interrupt ioctls (routing.c) ------------------ */

#define KVISOR_MAX_IRQ_ROUTES	4096	/* KVM_MAX_IRQ_ROUTES */
#define KVISOR_NR_PIC_PINS	16

/*
 * Set GSI @gsi to @level through the routing table.  The KVM_IRQ_LINE
 * status: >0 delivered, 0 coalesced or masked, <0 nobody listens.
 * Callable from any context.
 */
int kvisor_irq_set(struct kvisor_vm *vm, u32 gsi, int level);
/* An MSI (KVM_SIGNAL_MSI, an MSI route, a split-irqchip IOAPIC). */
int kvisor_irq_msi(struct kvisor_vm *vm, const struct kvm_msi *msi);
/* The PIC or IOAPIC took an EOI for @pin: resample irqfds on its GSIs. */
void kvisor_irq_acked(struct kvisor_vm *vm, unsigned int irqchip,
		      unsigned int pin);
/*
 * @vcpu's LAPIC took the EOI of @vector, which its TMR marks level-
 * triggered: tell the IOAPIC (in-kernel), or userspace's IOAPIC with
 * KVM_EXIT_IOAPIC_EOI (split irqchip).  Called without the LAPIC's lock.
 */
void kvisor_irq_lapic_eoi(struct kvisor_vcpu *vcpu, int vector);
/*
 * Whether an EOI of level-triggered @vector would reach an IOAPIC (a pin
 * of the in-kernel one uses the vector, or a split irqchip's pin routes
 * it): such an EOI must not wait (PV EOI, pv_eoi.c).
 */
bool kvisor_irq_eoi_needed(struct kvisor_vm *vm, int vector);
/* The PIC's INTR output went high: wake the vCPU that takes ExtINT. */
void kvisor_irq_pic_kick(struct kvisor_vm *vm);
/* KVM_ENABLE_CAP(KVM_CAP_SPLIT_IRQCHIP) with @split, KVM_CREATE_IRQCHIP. */
int kvisor_create_irqchip(struct kvisor_vm *vm, bool split, u64 pins);
/*
 * The VM ioctls of the interrupt controllers, in the shape of core/vm.c's
 * ioctl table, which lists each: KVM_CREATE_IRQCHIP, KVM_GET/SET_IRQCHIP,
 * KVM_IRQ_LINE(_STATUS), KVM_SET_GSI_ROUTING, KVM_SIGNAL_MSI, KVM_IRQFD,
 * KVM_IOEVENTFD, KVM_CREATE_PIT(2), KVM_GET/SET_PIT(2).
 */
long kvisor_irq_ioctl_create_irqchip(struct kvisor_vm *vm, unsigned int ioctl,
				     unsigned long arg);
long kvisor_irq_ioctl_chip_state(struct kvisor_vm *vm, unsigned int ioctl,
				 unsigned long arg);
long kvisor_irq_ioctl_line(struct kvisor_vm *vm, unsigned int ioctl,
			   unsigned long arg);
long kvisor_irq_ioctl_set_routing(struct kvisor_vm *vm, unsigned int ioctl,
				  unsigned long arg);
long kvisor_irq_ioctl_signal_msi(struct kvisor_vm *vm, unsigned int ioctl,
				 unsigned long arg);
long kvisor_irq_ioctl_irqfd(struct kvisor_vm *vm, unsigned int ioctl,
			    unsigned long arg);
long kvisor_irq_ioctl_ioeventfd(struct kvisor_vm *vm, unsigned int ioctl,
				unsigned long arg);
long kvisor_irq_ioctl_create_pit(struct kvisor_vm *vm, unsigned int ioctl,
				 unsigned long arg);
long kvisor_irq_ioctl_pit_state(struct kvisor_vm *vm, unsigned int ioctl,
				unsigned long arg);
void kvisor_irq_vm_destroy(struct kvisor_vm *vm);

/* irqfd and ioeventfd (eventfd.c) --------------------------------------- */

int kvisor_irqfd(struct kvisor_vm *vm, const struct kvm_irqfd *args);
/* Lower the GSI of every resampling irqfd on @gsi and notify userspace. */
void kvisor_irqfd_resample(struct kvisor_vm *vm, u32 gsi);
int kvisor_ioeventfd(struct kvisor_vm *vm, const struct kvm_ioeventfd *args);
/* At VM destruction: release every irqfd and ioeventfd. */
void kvisor_eventfd_vm_destroy(struct kvisor_vm *vm);

#endif /* KVISOR_IRQ_H */
