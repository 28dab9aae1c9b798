// SPDX-License-Identifier: GPL-2.0
/*
 * Interrupt routing and the VM-wide interrupt ioctls.
 *
 * A GSI ("global system interrupt") is the number userspace and irqfds
 * raise; the routing table says where each one goes: a PIC input, an
 * IOAPIC pin, or an MSI message straight onto the APIC bus.  One GSI may
 * reach both a PIC input and an IOAPIC pin, as the 16 ISA interrupts do
 * in KVM's default table, so that a guest can use either controller.
 *
 * The table is read under RCU from any context (irqfd wakeups and the
 * PIT's hrtimer run with interrupts off) and replaced whole by
 * KVM_SET_GSI_ROUTING under vm->irq_lock.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "core/kvisor.h"

/* KVM's MAX_NR_RESERVED_IOAPIC_PINS: GSIs a split irqchip's IOAPIC owns. */
#define KVISOR_MAX_SPLIT_PINS	KVISOR_MAX_IRQ_ROUTES

struct kvisor_irq_route {
	u32 gsi;
	u32 type;			/* KVM_IRQ_ROUTING_IRQCHIP or _MSI */
	union {
		struct {
			u32 irqchip;
			u32 pin;
		} chip;
		struct kvm_irq_routing_msi msi;
	};
};

struct kvisor_irq_routing {
	struct rcu_head rcu;
	u32 nr;
	struct kvisor_irq_route e[];
};

/* An MSI message (address/data) as the APIC bus interrupt it encodes. */
static void kvisor_msi_decode(u32 address_lo, u32 data,
			      struct kvisor_apic_irq *irq)
{
	*irq = (struct kvisor_apic_irq) {
		.dest = (address_lo >> 12) & 0xff,
		.logical = address_lo & BIT(2),
		.vector = data & 0xff,
		.dm = (data >> 8) & 7,
		.level = data & BIT(15),
		.assert = true,
	};
}

int kvisor_irq_msi(struct kvisor_vm *vm, const struct kvm_msi *msi)
{
	struct kvisor_apic_irq irq;

	kvisor_msi_decode(msi->address_lo, msi->data, &irq);
	return kvisor_apic_deliver(vm, NULL, &irq);
}

static int kvisor_route_set(struct kvisor_vm *vm,
			    const struct kvisor_irq_route *e, int level)
{
	struct kvisor_apic_irq irq;

	if (e->type == KVM_IRQ_ROUTING_MSI) {
		/* A message has no level: only the rising edge sends it. */
		if (!level)
			return -1;
		kvisor_msi_decode(e->msi.address_lo, e->msi.data, &irq);
		return kvisor_apic_deliver(vm, NULL, &irq);
	}
	switch (e->chip.irqchip) {
	case KVM_IRQCHIP_PIC_MASTER:
		return vm->pic ? kvisor_pic_set_irq(vm, e->chip.pin, level) : -1;
	case KVM_IRQCHIP_PIC_SLAVE:
		return vm->pic ? kvisor_pic_set_irq(vm, e->chip.pin + 8, level) :
				 -1;
	default:
		return vm->ioapic ? kvisor_ioapic_set_irq(vm, e->chip.pin, level) :
				    -1;
	}
}

/*
 * KVM's way to merge the answers of several routes into one status: -1
 * only when nothing listened, else the sum of the deliveries.
 */
int kvisor_irq_set(struct kvisor_vm *vm, u32 gsi, int level)
{
	struct kvisor_irq_routing *rt;
	int i, r, ret = -1;

	rcu_read_lock();
	rt = rcu_dereference(vm->routing);
	for (i = 0; rt && i < rt->nr; i++) {
		if (rt->e[i].gsi != gsi)
			continue;
		r = kvisor_route_set(vm, &rt->e[i], level);
		if (r >= 0)
			ret = r + max(ret, 0);
	}
	rcu_read_unlock();
	return ret;
}

void kvisor_irq_acked(struct kvisor_vm *vm, unsigned int irqchip,
		      unsigned int pin)
{
	struct kvisor_irq_routing *rt;
	u32 gsi[4];
	int i, n = 0;

	/* The resample path may signal eventfds: collect, then call. */
	rcu_read_lock();
	rt = rcu_dereference(vm->routing);
	for (i = 0; rt && i < rt->nr && n < ARRAY_SIZE(gsi); i++) {
		const struct kvisor_irq_route *e = &rt->e[i];

		if (e->type == KVM_IRQ_ROUTING_IRQCHIP &&
		    e->chip.irqchip == irqchip && e->chip.pin == pin)
			gsi[n++] = e->gsi;
	}
	rcu_read_unlock();
	for (i = 0; i < n; i++)
		kvisor_irqfd_resample(vm, gsi[i]);
}

/*
 * The PIC's INTR goes to the first vCPU whose LINT0 takes ExtINT, as in
 * KVM; after reset that is the bootstrap processor only.
 */
void kvisor_irq_pic_kick(struct kvisor_vm *vm)
{
	/* Pairs with kvisor_create_vcpu(): the first n are published. */
	int i, n = smp_load_acquire(&vm->nr_vcpus);

	for (i = 0; i < n; i++) {
		struct kvisor_vcpu *vcpu = READ_ONCE(vm->vcpus[i]);

		if (vcpu->apic && kvisor_lapic_accepts_extint(vcpu)) {
			kvisor_vcpu_kick(vcpu);
			return;
		}
	}
}

static bool kvisor_split_ioapic_vector(struct kvisor_vm *vm, int vector)
{
	struct kvisor_irq_routing *rt;
	bool found = false;
	u32 i;

	rcu_read_lock();
	rt = rcu_dereference(vm->routing);
	for (i = 0; rt && i < rt->nr && !found; i++) {
		const struct kvisor_irq_route *e = &rt->e[i];

		found = e->type == KVM_IRQ_ROUTING_MSI &&
			e->gsi < vm->nr_ioapic_pins &&
			(e->msi.data & 0xff) == vector && (e->msi.data & BIT(15));
	}
	rcu_read_unlock();
	return found;
}

void kvisor_irq_lapic_eoi(struct kvisor_vcpu *vcpu, int vector)
{
	struct kvisor_vm *vm = vcpu->vm;

	if (vm->irqchip == KVISOR_IRQCHIP_KERNEL) {
		kvisor_ioapic_eoi(vm, vector);
		return;
	}
	/*
	 * Split irqchip: the IOAPIC is userspace's, which hears of the EOI
	 * through KVM_EXIT_IOAPIC_EOI before the guest runs on, for the
	 * vectors its pins send: level-triggered MSI routes on the GSIs
	 * below nr_ioapic_pins (KVM also checks their destination).
	 */
	if (!kvisor_split_ioapic_vector(vm, vector))
		return;
	vcpu->eoi_exit_vector = vector;
	set_bit(KVISOR_REQ_IOAPIC_EOI, &vcpu->requests);
}

bool kvisor_irq_eoi_needed(struct kvisor_vm *vm, int vector)
{
	if (vm->irqchip == KVISOR_IRQCHIP_KERNEL)
		return kvisor_ioapic_has_vector(vm, vector);
	return kvisor_split_ioapic_vector(vm, vector);
}

/* The routing table ------------------------------------------------------ */

static int kvisor_route_check(struct kvisor_vm *vm,
			      const struct kvm_irq_routing_entry *ue)
{
	/* A device ID means nothing on x86, but KVM lets it through. */
	if (ue->gsi >= KVISOR_MAX_IRQ_ROUTES ||
	    (ue->flags & ~(ue->type == KVM_IRQ_ROUTING_MSI ?
			   KVM_MSI_VALID_DEVID : 0)))
		return -EINVAL;
	switch (ue->type) {
	case KVM_IRQ_ROUTING_IRQCHIP:
		/* Split: the PIC and IOAPIC are userspace's. */
		if (vm->irqchip != KVISOR_IRQCHIP_KERNEL)
			return -EINVAL;
		switch (ue->u.irqchip.irqchip) {
		case KVM_IRQCHIP_PIC_MASTER:
		case KVM_IRQCHIP_PIC_SLAVE:
			return ue->u.irqchip.pin < 8 ? 0 : -EINVAL;
		case KVM_IRQCHIP_IOAPIC:
			return ue->u.irqchip.pin < KVM_IOAPIC_NUM_PINS ?
			       0 : -EINVAL;
		default:
			return -EINVAL;
		}
	case KVM_IRQ_ROUTING_MSI:
		return 0;
	default:
		return -EINVAL;
	}
}

/*
 * KVM refuses a GSI routed twice to the same irqchip, and an MSI GSI that
 * has any other route.
 */
static bool kvisor_route_conflicts(const struct kvisor_irq_routing *rt,
				   const struct kvisor_irq_route *n)
{
	u32 i;

	for (i = 0; i < rt->nr; i++) {
		const struct kvisor_irq_route *e = &rt->e[i];

		if (e->gsi != n->gsi)
			continue;
		if (e->type == KVM_IRQ_ROUTING_MSI ||
		    n->type == KVM_IRQ_ROUTING_MSI ||
		    e->chip.irqchip == n->chip.irqchip)
			return true;
	}
	return false;
}

static struct kvisor_irq_routing *
kvisor_routing_build(struct kvisor_vm *vm,
		     const struct kvm_irq_routing_entry *ue, u32 nr, int *err)
{
	struct kvisor_irq_routing *rt;
	u32 i;

	rt = kzalloc(struct_size(rt, e, nr), GFP_KERNEL_ACCOUNT);
	if (!rt) {
		*err = -ENOMEM;
		return NULL;
	}
	for (i = 0; i < nr; i++) {
		struct kvisor_irq_route *e = &rt->e[rt->nr];

		*err = kvisor_route_check(vm, &ue[i]);
		if (*err)
			goto fail;
		e->gsi = ue[i].gsi;
		e->type = ue[i].type;
		if (e->type == KVM_IRQ_ROUTING_MSI) {
			e->msi = ue[i].u.msi;
		} else {
			e->chip.irqchip = ue[i].u.irqchip.irqchip;
			e->chip.pin = ue[i].u.irqchip.pin;
		}
		*err = -EINVAL;
		if (kvisor_route_conflicts(rt, e))
			goto fail;
		rt->nr++;
	}
	*err = 0;
	return rt;
fail:
	kfree(rt);
	return NULL;
}

static int kvisor_routing_install(struct kvisor_vm *vm,
				  const struct kvm_irq_routing_entry *ue,
				  u32 nr)
{
	struct kvisor_irq_routing *rt, *old;
	int r;

	rt = kvisor_routing_build(vm, ue, nr, &r);
	if (!rt)
		return r;
	mutex_lock(&vm->irq_lock);
	old = rcu_replace_pointer(vm->routing, rt,
				  lockdep_is_held(&vm->irq_lock));
	mutex_unlock(&vm->irq_lock);
	/*
	 * Injections in flight may still read the old table, so it goes
	 * after a grace period, but nobody waits for one: readers keep
	 * nothing from it past their read-side section, and an interrupt
	 * that read the old route was already on its way, as on the bus.
	 * A split irqchip's guest rewrites an IOAPIC entry as one routing
	 * update each (QEMU commits one per write), dozens of them while it
	 * sets up its APIC; waiting a normal grace period for each made
	 * that boot three times slower in the VMX test host.
	 */
	if (old)
		kfree_rcu(old, rcu);
	return 0;
}

/* KVM's default: GSI n to IOAPIC pin n, and the 16 ISA ones to the PICs. */
static int kvisor_routing_default(struct kvisor_vm *vm)
{
	struct kvm_irq_routing_entry *ue;
	int i, n = 0, r;

	ue = kcalloc(KVM_IOAPIC_NUM_PINS + KVISOR_NR_PIC_PINS, sizeof(*ue),
		     GFP_KERNEL);
	if (!ue)
		return -ENOMEM;
	for (i = 0; i < KVM_IOAPIC_NUM_PINS; i++) {
		ue[n++] = (struct kvm_irq_routing_entry) {
			.gsi = i, .type = KVM_IRQ_ROUTING_IRQCHIP,
			.u.irqchip = { KVM_IRQCHIP_IOAPIC, i },
		};
		if (i >= KVISOR_NR_PIC_PINS)
			continue;
		ue[n++] = (struct kvm_irq_routing_entry) {
			.gsi = i, .type = KVM_IRQ_ROUTING_IRQCHIP,
			.u.irqchip = { i < 8 ? KVM_IRQCHIP_PIC_MASTER :
					       KVM_IRQCHIP_PIC_SLAVE, i & 7 },
		};
	}
	r = kvisor_routing_install(vm, ue, n);
	kfree(ue);
	return r;
}

/* KVM_SET_GSI_ROUTING: replace the whole table. */
long kvisor_irq_ioctl_set_routing(struct kvisor_vm *vm, unsigned int ioctl,
				  unsigned long arg)
{
	struct kvm_irq_routing hdr, __user *urt = (void __user *)arg;
	struct kvm_irq_routing_entry *ue = NULL;
	int r;

	if (copy_from_user(&hdr, urt, sizeof(hdr)))
		return -EFAULT;
	if (!kvisor_irqchip_in_kernel(vm) || hdr.nr > KVISOR_MAX_IRQ_ROUTES ||
	    hdr.flags)
		return -EINVAL;
	if (hdr.nr) {
		ue = vmemdup_user(urt->entries, array_size(sizeof(*ue), hdr.nr));
		if (IS_ERR(ue))
			return PTR_ERR(ue);
	}
	r = kvisor_routing_install(vm, ue, hdr.nr);
	kvfree(ue);
	return r;
}

/* The irqchips ---------------------------------------------------------- */

static void kvisor_irqchip_free(struct kvisor_vm *vm)
{
	mutex_lock(&vm->irq_lock);
	if (vm->ioapic)
		kvisor_ioapic_destroy(vm);
	if (vm->pic)
		kvisor_pic_destroy(vm);
	vm->ioapic = NULL;
	vm->pic = NULL;
	mutex_unlock(&vm->irq_lock);
}

/*
 * KVM_CREATE_IRQCHIP and KVM_ENABLE_CAP(KVM_CAP_SPLIT_IRQCHIP): only once,
 * and only before the first vCPU, whose LAPIC is created with it.
 */
int kvisor_create_irqchip(struct kvisor_vm *vm, bool split, u64 pins)
{
	int r;

	/* KVM's answers, which differ between the two ways in. */
	if (split && pins > KVISOR_MAX_SPLIT_PINS)
		return -EINVAL;
	mutex_lock(&vm->lock);
	r = -EEXIST;
	if (vm->irqchip != KVISOR_IRQCHIP_NONE)
		goto out;
	if (vm->nr_vcpus) {
		r = split ? -EEXIST : -EINVAL;
		goto out;
	}
	if (split) {
		vm->nr_ioapic_pins = pins;
		r = kvisor_routing_install(vm, NULL, 0);
	} else {
		mutex_lock(&vm->irq_lock);
		r = kvisor_pic_create(vm);
		if (!r) {
			r = kvisor_ioapic_create(vm);
			if (r)
				kvisor_pic_destroy(vm);
		}
		mutex_unlock(&vm->irq_lock);
		/* The routes are checked against the mode: set it first. */
		if (!r) {
			WRITE_ONCE(vm->irqchip, KVISOR_IRQCHIP_KERNEL);
			r = kvisor_routing_default(vm);
		}
		if (r) {
			WRITE_ONCE(vm->irqchip, KVISOR_IRQCHIP_NONE);
			kvisor_irqchip_free(vm);
		}
	}
	if (!r && split)
		WRITE_ONCE(vm->irqchip, KVISOR_IRQCHIP_SPLIT);
out:
	mutex_unlock(&vm->lock);
	return r;
}

/* KVM_GET/SET_IRQCHIP: the state of the PICs or the IOAPIC. */
long kvisor_irq_ioctl_chip_state(struct kvisor_vm *vm, unsigned int ioctl,
				 unsigned long arg)
{
	void __user *argp = (void __user *)arg;
	struct kvm_irqchip *chip;
	long r = 0;

	chip = memdup_user(argp, sizeof(*chip));
	if (IS_ERR(chip))
		return PTR_ERR(chip);
	if (vm->irqchip != KVISOR_IRQCHIP_KERNEL) {
		r = -ENXIO;
		goto out;
	}
	switch (chip->chip_id) {
	case KVM_IRQCHIP_PIC_MASTER:
	case KVM_IRQCHIP_PIC_SLAVE:
		if (ioctl == KVM_GET_IRQCHIP)
			kvisor_pic_get_state(vm, chip->chip_id, &chip->chip.pic);
		else
			kvisor_pic_set_state(vm, chip->chip_id, &chip->chip.pic);
		break;
	case KVM_IRQCHIP_IOAPIC:
		if (ioctl == KVM_GET_IRQCHIP)
			kvisor_ioapic_get_state(vm, &chip->chip.ioapic);
		else
			kvisor_ioapic_set_state(vm, &chip->chip.ioapic);
		break;
	default:
		r = -EINVAL;
		goto out;
	}
	if (ioctl == KVM_GET_IRQCHIP && copy_to_user(argp, chip, sizeof(*chip)))
		r = -EFAULT;
out:
	kfree(chip);
	return r;
}

/* KVM_IRQ_LINE and KVM_IRQ_LINE_STATUS: a GSI to a level. */
long kvisor_irq_ioctl_line(struct kvisor_vm *vm, unsigned int ioctl,
			   unsigned long arg)
{
	void __user *argp = (void __user *)arg;
	struct kvm_irq_level ev;

	if (copy_from_user(&ev, argp, sizeof(ev)))
		return -EFAULT;
	if (!kvisor_irqchip_in_kernel(vm))
		return -ENXIO;
	ev.status = kvisor_irq_set(vm, ev.irq, ev.level);
	if (ioctl == KVM_IRQ_LINE_STATUS &&
	    copy_to_user(argp, &ev, sizeof(ev)))
		return -EFAULT;
	return 0;
}

long kvisor_irq_ioctl_signal_msi(struct kvisor_vm *vm, unsigned int ioctl,
				 unsigned long arg)
{
	void __user *argp = (void __user *)arg;
	struct kvm_msi msi;

	if (copy_from_user(&msi, argp, sizeof(msi)))
		return -EFAULT;
	if (!kvisor_irqchip_in_kernel(vm) || (msi.flags & ~KVM_MSI_VALID_DEVID))
		return -EINVAL;
	/* As in KVM, "nobody took it" (-1) reaches userspace as EPERM. */
	return kvisor_irq_msi(vm, &msi);
}

/* KVM_GET/SET_PIT2, and the older KVM_GET/SET_PIT without the flags. */
long kvisor_irq_ioctl_pit_state(struct kvisor_vm *vm, unsigned int ioctl,
				unsigned long arg)
{
	void __user *argp = (void __user *)arg;
	union {
		struct kvm_pit_state2 s2;
		struct kvm_pit_state s1;
	} u;
	long r = 0;

	if ((_IOC_DIR(ioctl) & _IOC_WRITE) &&
	    copy_from_user(&u, argp, _IOC_SIZE(ioctl)))
		return -EFAULT;
	mutex_lock(&vm->irq_lock);
	if (!vm->pit)
		r = -ENXIO;
	else if (ioctl == KVM_GET_PIT2)
		kvisor_pit_get_state(vm, &u.s2);
	else if (ioctl == KVM_SET_PIT2)
		r = kvisor_pit_set_state(vm, &u.s2);
	else if (ioctl == KVM_GET_PIT)
		kvisor_pit_get_state1(vm, &u.s1);
	else
		r = kvisor_pit_set_state1(vm, &u.s1);
	mutex_unlock(&vm->irq_lock);
	if (!r && (_IOC_DIR(ioctl) & _IOC_READ) &&
	    copy_to_user(argp, &u, _IOC_SIZE(ioctl)))
		r = -EFAULT;
	return r;
}

/* KVM_CREATE_IRQCHIP: the PIC pair, the IOAPIC and a LAPIC per vCPU. */
long kvisor_irq_ioctl_create_irqchip(struct kvisor_vm *vm, unsigned int ioctl,
				     unsigned long arg)
{
	return kvisor_create_irqchip(vm, false, 0);
}

long kvisor_irq_ioctl_irqfd(struct kvisor_vm *vm, unsigned int ioctl,
			    unsigned long arg)
{
	struct kvm_irqfd args;

	if (copy_from_user(&args, (void __user *)arg, sizeof(args)))
		return -EFAULT;
	return kvisor_irqfd(vm, &args);
}

long kvisor_irq_ioctl_ioeventfd(struct kvisor_vm *vm, unsigned int ioctl,
				unsigned long arg)
{
	struct kvm_ioeventfd args;

	if (copy_from_user(&args, (void __user *)arg, sizeof(args)))
		return -EFAULT;
	return kvisor_ioeventfd(vm, &args);
}

/* KVM_CREATE_PIT2, and KVM_CREATE_PIT, which KVM gives the speaker port. */
long kvisor_irq_ioctl_create_pit(struct kvisor_vm *vm, unsigned int ioctl,
				 unsigned long arg)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	long r;

	if (ioctl == KVM_CREATE_PIT2 &&
	    copy_from_user(&pit, (void __user *)arg, sizeof(pit)))
		return -EFAULT;
	mutex_lock(&vm->irq_lock);
	r = kvisor_pit_create(vm, pit.flags);
	mutex_unlock(&vm->irq_lock);
	return r;
}

/* VM teardown, after the last vCPU stopped: nothing can inject any more. */
void kvisor_irq_vm_destroy(struct kvisor_vm *vm)
{
	kvisor_eventfd_vm_destroy(vm);
	mutex_lock(&vm->irq_lock);
	if (vm->pit)
		kvisor_pit_destroy(vm);
	vm->pit = NULL;
	mutex_unlock(&vm->irq_lock);
	kvisor_irqchip_free(vm);
	kfree(rcu_dereference_protected(vm->routing, true));
	kvisor_io_bus_destroy(vm);
}
