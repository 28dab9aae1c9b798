// SPDX-License-Identifier: GPL-2.0
/*
 * The VM's I/O buses: which in-kernel device (PIC, PIT, IOAPIC, an
 * ioeventfd) answers a port or MMIO address before userspace is asked.
 *
 * A bus is an array of ranges, replaced whole on every change and read
 * under RCU, so the exit path takes no lock.  Devices register rarely
 * (irqchip creation, KVM_IOEVENTFD); exits look them up all the time.
 */
#include <linux/rcupdate.h>
#include <linux/slab.h>

#include "core/kvisor.h"

struct kvisor_io_range {
	u64 addr;
	u32 len;		/* 0: exactly addr, any width */
	struct kvisor_io_device *dev;
};

struct kvisor_io_bus {
	struct rcu_head rcu;
	int nr;
	struct kvisor_io_range range[];
};

static bool kvisor_io_match(const struct kvisor_io_range *r, u64 addr,
			    unsigned int len)
{
	if (!r->len)
		return addr == r->addr;
	return addr >= r->addr && addr + len <= r->addr + r->len;
}

int kvisor_io_bus_register(struct kvisor_vm *vm, enum kvisor_bus bus,
			   u64 addr, u32 len, struct kvisor_io_device *dev)
{
	struct kvisor_io_bus *old, *new;
	int nr;

	lockdep_assert_held(&vm->irq_lock);
	old = rcu_dereference_protected(vm->buses[bus],
					lockdep_is_held(&vm->irq_lock));
	nr = old ? old->nr : 0;
	if (nr >= KVISOR_MAX_IO_DEVS)
		return -ENOSPC;
	new = kmalloc(struct_size(new, range, nr + 1), GFP_KERNEL_ACCOUNT);
	if (!new)
		return -ENOMEM;
	if (old)
		memcpy(new->range, old->range, nr * sizeof(new->range[0]));
	new->range[nr] = (struct kvisor_io_range) {
		.addr = addr, .len = len, .dev = dev,
	};
	new->nr = nr + 1;
	rcu_assign_pointer(vm->buses[bus], new);
	if (old)
		kfree_rcu(old, rcu);
	return 0;
}

void kvisor_io_bus_unregister(struct kvisor_vm *vm, enum kvisor_bus bus,
			      struct kvisor_io_device *dev)
{
	struct kvisor_io_bus *old, *new;
	int i, j;

	lockdep_assert_held(&vm->irq_lock);
	old = rcu_dereference_protected(vm->buses[bus],
					lockdep_is_held(&vm->irq_lock));
	if (!old)
		return;
	/*
	 * Shrinking cannot fail for want of memory: without a new array, the
	 * old one is edited in place after readers are gone.
	 */
	new = kmalloc(struct_size(new, range, old->nr), GFP_KERNEL_ACCOUNT);
	if (!new) {
		rcu_assign_pointer(vm->buses[bus], NULL);
		synchronize_rcu();
		new = old;
		old = NULL;
	}
	for (i = 0, j = 0; i < (old ? old->nr : new->nr); i++) {
		const struct kvisor_io_range *r = old ? &old->range[i] :
							&new->range[i];

		if (r->dev != dev)
			new->range[j++] = *r;
	}
	new->nr = j;
	rcu_assign_pointer(vm->buses[bus], new);
	/*
	 * The caller frees @dev next: no reader may still be using it.  An
	 * expedited grace period, as KVM waits for its I/O buses: QEMU
	 * takes its ioeventfds down and up again whenever the guest moves
	 * a device's BAR or resets the device, and each normal grace period
	 * is milliseconds of the VMM's time.
	 */
	synchronize_rcu_expedited();
	kfree(old);
}

void kvisor_io_bus_destroy(struct kvisor_vm *vm)
{
	int i;

	for (i = 0; i < KVISOR_NR_BUSES; i++)
		kfree(rcu_dereference_protected(vm->buses[i], true));
}

static int kvisor_io_bus_access(struct kvisor_vcpu *vcpu, enum kvisor_bus bus,
				u64 addr, unsigned int len, void *val,
				bool write)
{
	struct kvisor_io_bus *b;
	int i, r = -EOPNOTSUPP;

	rcu_read_lock();
	b = rcu_dereference(vcpu->vm->buses[bus]);
	for (i = 0; b && i < b->nr && r; i++) {
		struct kvisor_io_device *dev = b->range[i].dev;

		if (!kvisor_io_match(&b->range[i], addr, len))
			continue;
		if (write)
			r = dev->ops->write ?
			    dev->ops->write(dev, vcpu, addr, len, val) : r;
		else
			r = dev->ops->read ?
			    dev->ops->read(dev, vcpu, addr, len, val) : r;
	}
	rcu_read_unlock();
	return r;
}

int kvisor_io_bus_read(struct kvisor_vcpu *vcpu, enum kvisor_bus bus,
		       u64 addr, unsigned int len, void *val)
{
	return kvisor_io_bus_access(vcpu, bus, addr, len, val, false);
}

int kvisor_io_bus_write(struct kvisor_vcpu *vcpu, enum kvisor_bus bus,
			u64 addr, unsigned int len, const void *val)
{
	return kvisor_io_bus_access(vcpu, bus, addr, len, (void *)val, true);
}
