// SPDX-License-Identifier: GPL-2.0
/*
 * irqfd and ioeventfd: eventfds wired to the guest's interrupts and to its
 * port and MMIO writes, as KVM_IRQFD and KVM_IOEVENTFD define them.
 *
 * An irqfd hangs a wait-queue entry on its eventfd.  A write to the
 * eventfd calls irqfd_wakeup() with the eventfd's wait-queue lock held and
 * interrupts off; the routing code is safe to call there, so the interrupt
 * is injected at once, without the work item KVM needs.  When the eventfd
 * is closed the entry unhooks itself in the same callback and the irqfd is
 * marked dead; the irqfd ioctls and VM destruction, which may sleep, free
 * dead irqfds.  Freeing a live one takes it off the wait queue under that
 * lock first, so no injection can follow.
 *
 * Resampling irqfds on one GSI share a resampler.  Its list is read under
 * RCU by kvisor_irqfd_resample(), which the EOI path calls in any context;
 * all changes happen under vm->irq_lock.
 *
 * An ioeventfd is a device on the port or MMIO bus that turns a matching
 * write into an eventfd signal.
 */
#include <linux/eventfd.h>
#include <linux/file.h>
#include <linux/list.h>
#include <linux/poll.h>
#include <linux/rculist.h>
#include <linux/slab.h>
#include <linux/wait.h>

#include "core/kvisor.h"

static void kvisor_eventfd_signal(struct eventfd_ctx *ctx)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 8, 0)
	eventfd_signal(ctx);
#else
	eventfd_signal(ctx, 1);
#endif
}

struct kvisor_resampler {
	struct kvisor_vm *vm;
	u32 gsi;
	struct list_head link;		/* vm->resamplers, RCU */
	struct list_head irqfds;	/* kvisor_irqfd.resampler_link, RCU */
	struct rcu_head rcu;
};

struct kvisor_irqfd {
	struct kvisor_vm *vm;
	u32 gsi;
	struct eventfd_ctx *eventfd;
	struct eventfd_ctx *resamplefd;
	struct kvisor_resampler *resampler;
	struct list_head resampler_link;
	struct list_head list;		/* vm->irqfds, under irqfds_lock */
	wait_queue_entry_t wait;
	poll_table pt;
	bool dead;			/* the eventfd was closed */
};

static void irqfd_inject(struct kvisor_irqfd *irqfd)
{
	if (irqfd->resampler) {
		/* held until the guest's EOI resamples it */
		kvisor_irq_set(irqfd->vm, irqfd->gsi, 1);
	} else {
		kvisor_irq_set(irqfd->vm, irqfd->gsi, 1);
		kvisor_irq_set(irqfd->vm, irqfd->gsi, 0);
	}
}

/* The eventfd's wait-queue lock is held and interrupts are off. */
static int irqfd_wakeup(wait_queue_entry_t *wait, unsigned int mode,
			int sync, void *key)
{
	struct kvisor_irqfd *irqfd = container_of(wait, struct kvisor_irqfd,
						  wait);
	__poll_t flags = key_to_poll(key);
	int ret = 0;

	if (flags & EPOLLIN) {
		u64 cnt;

		eventfd_ctx_do_read(irqfd->eventfd, &cnt);
		irqfd_inject(irqfd);
		/* consumed: pollers in userspace need not wake up for it */
		ret = 1;
	}
	if (flags & EPOLLHUP) {
		/*
		 * Closing: unhook here, where the lock is already held; the
		 * next irqfd ioctl or the VM's end frees what is left.
		 */
		list_del_init(&wait->entry);
		WRITE_ONCE(irqfd->dead, true);
	}
	return ret;
}

static void irqfd_queue_proc(struct file *file, wait_queue_head_t *wqh,
			     poll_table *pt)
{
	struct kvisor_irqfd *irqfd = container_of(pt, struct kvisor_irqfd, pt);

	/* ahead of the other waiters, which then see nothing to read */
	add_wait_queue_priority(wqh, &irqfd->wait);
}

/* Under vm->irq_lock: find or make the resampler of @irqfd's GSI. */
static int irqfd_resampler_attach(struct kvisor_irqfd *irqfd)
{
	struct kvisor_vm *vm = irqfd->vm;
	struct kvisor_resampler *r;

	list_for_each_entry(r, &vm->resamplers, link) {
		if (r->gsi == irqfd->gsi)
			goto found;
	}
	r = kzalloc(sizeof(*r), GFP_KERNEL_ACCOUNT);
	if (!r)
		return -ENOMEM;
	r->vm = vm;
	r->gsi = irqfd->gsi;
	INIT_LIST_HEAD(&r->irqfds);
	list_add_rcu(&r->link, &vm->resamplers);
found:
	irqfd->resampler = r;
	list_add_rcu(&irqfd->resampler_link, &r->irqfds);
	return 0;
}

/* Under vm->irq_lock; the last irqfd of a GSI lowers it. */
static void irqfd_resampler_detach(struct kvisor_irqfd *irqfd)
{
	struct kvisor_resampler *r = irqfd->resampler;

	list_del_rcu(&irqfd->resampler_link);
	synchronize_rcu();
	if (list_empty(&r->irqfds)) {
		list_del_rcu(&r->link);
		kvisor_irq_set(r->vm, r->gsi, 0);
		kfree_rcu(r, rcu);
	}
}

/* Under vm->irq_lock, @irqfd already off vm->irqfds. */
static void irqfd_free(struct kvisor_irqfd *irqfd)
{
	u64 cnt;

	/*
	 * Takes the wait-queue lock: a wakeup running now finishes first,
	 * and none comes after.  A dead irqfd's entry is already unhooked
	 * and stays harmless to remove again.
	 */
	eventfd_ctx_remove_wait_queue(irqfd->eventfd, &irqfd->wait, &cnt);
	if (irqfd->resampler)
		irqfd_resampler_detach(irqfd);
	if (irqfd->resamplefd)
		eventfd_ctx_put(irqfd->resamplefd);
	eventfd_ctx_put(irqfd->eventfd);
	kfree(irqfd);
}

/* Under vm->irq_lock: free the irqfds whose eventfds were closed. */
static void irqfd_reap(struct kvisor_vm *vm, bool all)
{
	struct kvisor_irqfd *irqfd, *tmp;
	LIST_HEAD(gone);

	spin_lock_irq(&vm->irqfds_lock);
	list_for_each_entry_safe(irqfd, tmp, &vm->irqfds, list) {
		if (all || READ_ONCE(irqfd->dead))
			list_move(&irqfd->list, &gone);
	}
	spin_unlock_irq(&vm->irqfds_lock);
	list_for_each_entry_safe(irqfd, tmp, &gone, list)
		irqfd_free(irqfd);
}

static bool irqfd_busy(struct kvisor_vm *vm, struct eventfd_ctx *eventfd)
{
	struct kvisor_irqfd *tmp;

	list_for_each_entry(tmp, &vm->irqfds, list) {
		if (tmp->eventfd == eventfd)
			return true;
	}
	return false;
}

/* Under vm->irq_lock; @irqfd owns its eventfd references. */
static int irqfd_hook(struct kvisor_irqfd *irqfd, struct file *file)
{
	struct kvisor_vm *vm = irqfd->vm;
	__poll_t events;

	init_waitqueue_func_entry(&irqfd->wait, irqfd_wakeup);
	init_poll_funcptr(&irqfd->pt, irqfd_queue_proc);
	spin_lock_irq(&vm->irqfds_lock);
	if (irqfd_busy(vm, irqfd->eventfd)) {
		spin_unlock_irq(&vm->irqfds_lock);
		return -EBUSY;
	}
	list_add_tail(&irqfd->list, &vm->irqfds);
	spin_unlock_irq(&vm->irqfds_lock);

	events = vfs_poll(file, &irqfd->pt);
	/* signalled before we listened: deliver it now, as KVM does */
	if (events & EPOLLIN)
		irqfd_inject(irqfd);
	return 0;
}

static int irqfd_assign(struct kvisor_vm *vm, const struct kvm_irqfd *args)
{
	struct kvisor_irqfd *irqfd;
	struct file *file;
	int r;

	irqfd = kzalloc(sizeof(*irqfd), GFP_KERNEL_ACCOUNT);
	if (!irqfd)
		return -ENOMEM;
	irqfd->vm = vm;
	irqfd->gsi = args->gsi;
	INIT_LIST_HEAD(&irqfd->list);
	INIT_LIST_HEAD(&irqfd->resampler_link);

	file = fget(args->fd);
	if (!file) {
		r = -EBADF;
		goto out;
	}
	irqfd->eventfd = eventfd_ctx_fileget(file);
	if (IS_ERR(irqfd->eventfd)) {
		r = PTR_ERR(irqfd->eventfd);
		irqfd->eventfd = NULL;
		goto fail;
	}
	if (args->flags & KVM_IRQFD_FLAG_RESAMPLE) {
		irqfd->resamplefd = eventfd_ctx_fdget(args->resamplefd);
		if (IS_ERR(irqfd->resamplefd)) {
			r = PTR_ERR(irqfd->resamplefd);
			irqfd->resamplefd = NULL;
			goto fail;
		}
		r = irqfd_resampler_attach(irqfd);
		if (r)
			goto fail;
	}
	r = irqfd_hook(irqfd, file);
	if (r)
		goto fail;
	/* the file is held until the entry is hooked: no early EPOLLHUP */
	fput(file);
	return 0;

fail:
	if (irqfd->resampler)
		irqfd_resampler_detach(irqfd);
	if (irqfd->resamplefd)
		eventfd_ctx_put(irqfd->resamplefd);
	if (irqfd->eventfd)
		eventfd_ctx_put(irqfd->eventfd);
	fput(file);
out:
	kfree(irqfd);
	return r;
}

/* KVM returns 0 even when no irqfd matched. */
static int irqfd_deassign(struct kvisor_vm *vm, const struct kvm_irqfd *args)
{
	struct kvisor_irqfd *irqfd, *tmp;
	struct eventfd_ctx *eventfd;
	LIST_HEAD(gone);

	eventfd = eventfd_ctx_fdget(args->fd);
	if (IS_ERR(eventfd))
		return PTR_ERR(eventfd);
	spin_lock_irq(&vm->irqfds_lock);
	list_for_each_entry_safe(irqfd, tmp, &vm->irqfds, list) {
		if (irqfd->eventfd == eventfd && irqfd->gsi == args->gsi)
			list_move(&irqfd->list, &gone);
	}
	spin_unlock_irq(&vm->irqfds_lock);
	/* synchronous: no injection from these runs once we return */
	list_for_each_entry_safe(irqfd, tmp, &gone, list)
		irqfd_free(irqfd);
	eventfd_ctx_put(eventfd);
	return 0;
}

/*
 * KVM_IRQFD.  Takes vm->irq_lock itself.  Errors as KVM's: -EINVAL for
 * unknown flags, without an in-kernel irqchip, or for a resampling irqfd
 * without the in-kernel IOAPIC (split irqchip); -EBADF, -EINVAL for an fd
 * that is not an eventfd; -EBUSY when the eventfd already is an irqfd.
 */
int kvisor_irqfd(struct kvisor_vm *vm, const struct kvm_irqfd *args)
{
	bool resample = args->flags & KVM_IRQFD_FLAG_RESAMPLE;
	int irqchip = READ_ONCE(vm->irqchip);
	int r;

	if (args->flags & ~(KVM_IRQFD_FLAG_DEASSIGN | KVM_IRQFD_FLAG_RESAMPLE))
		return -EINVAL;
	mutex_lock(&vm->irq_lock);
	irqfd_reap(vm, false);
	if (args->flags & KVM_IRQFD_FLAG_DEASSIGN)
		r = irqfd_deassign(vm, args);
	else if (resample ? irqchip != KVISOR_IRQCHIP_KERNEL :
			    irqchip == KVISOR_IRQCHIP_NONE)
		r = -EINVAL;
	else
		r = irqfd_assign(vm, args);
	mutex_unlock(&vm->irq_lock);
	return r;
}

/*
 * The guest's EOI for @gsi: lower the line the resampling irqfds hold up,
 * and tell userspace, which raises it again if its device still wants.
 */
void kvisor_irqfd_resample(struct kvisor_vm *vm, u32 gsi)
{
	struct kvisor_resampler *r;
	struct kvisor_irqfd *irqfd;

	rcu_read_lock();
	list_for_each_entry_rcu(r, &vm->resamplers, link) {
		if (r->gsi != gsi)
			continue;
		kvisor_irq_set(vm, gsi, 0);
		list_for_each_entry_rcu(irqfd, &r->irqfds, resampler_link)
			kvisor_eventfd_signal(irqfd->resamplefd);
	}
	rcu_read_unlock();
}

/* ioeventfd --------------------------------------------------------------- */

/* KVM's virtio-ccw bus exists on s390 only: registered, never written. */
#define IOEVENTFD_BUS_CCW	KVISOR_NR_BUSES

struct kvisor_ioeventfd {
	struct list_head list;		/* vm->ioeventfds, under irq_lock */
	struct kvisor_io_device dev;
	struct eventfd_ctx *eventfd;
	u64 addr;
	u64 datamatch;
	u32 len;			/* 0: any width */
	int bus;
	bool wildcard;			/* no datamatch */
};

/* KVM's rule: exact address, exact width unless 0, then the data. */
static int ioeventfd_write(struct kvisor_io_device *dev,
			   struct kvisor_vcpu *vcpu, u64 addr,
			   unsigned int len, const void *val)
{
	struct kvisor_ioeventfd *p = container_of(dev, struct kvisor_ioeventfd,
						  dev);
	u64 data = 0;

	if (addr != p->addr)
		return -EOPNOTSUPP;
	if (p->len && len != p->len)
		return -EOPNOTSUPP;
	if (p->len && !p->wildcard) {
		memcpy(&data, val, len);
		/* datamatch bits above the width never match, as in KVM */
		if (data != p->datamatch)
			return -EOPNOTSUPP;
	}
	kvisor_eventfd_signal(p->eventfd);
	return 0;
}

static const struct kvisor_io_ops ioeventfd_ops = {
	.write = ioeventfd_write,
};

static int ioeventfd_bus(u32 flags)
{
	if (flags & KVM_IOEVENTFD_FLAG_PIO)
		return KVISOR_PIO_BUS;
	if (flags & KVM_IOEVENTFD_FLAG_VIRTIO_CCW_NOTIFY)
		return IOEVENTFD_BUS_CCW;
	return KVISOR_MMIO_BUS;
}

/* Two ioeventfds that would answer the same write. */
static bool ioeventfd_collides(struct kvisor_vm *vm,
			       const struct kvisor_ioeventfd *p)
{
	struct kvisor_ioeventfd *q;

	list_for_each_entry(q, &vm->ioeventfds, list) {
		if (q->bus != p->bus || q->addr != p->addr)
			continue;
		if (!q->len || !p->len)
			return true;
		if (q->len == p->len &&
		    (q->wildcard || p->wildcard || q->datamatch == p->datamatch))
			return true;
	}
	return false;
}

static int ioeventfd_assign(struct kvisor_vm *vm,
			    const struct kvm_ioeventfd *args)
{
	struct kvisor_ioeventfd *p;
	struct eventfd_ctx *eventfd;
	int r;

	switch (args->len) {
	case 0: case 1: case 2: case 4: case 8:
		break;
	default:
		return -EINVAL;
	}
	if (args->addr + args->len < args->addr)
		return -EINVAL;
	if (args->flags & ~KVM_IOEVENTFD_VALID_FLAG_MASK)
		return -EINVAL;
	if (!args->len && (args->flags & KVM_IOEVENTFD_FLAG_DATAMATCH))
		return -EINVAL;

	eventfd = eventfd_ctx_fdget(args->fd);
	if (IS_ERR(eventfd))
		return PTR_ERR(eventfd);
	p = kzalloc(sizeof(*p), GFP_KERNEL_ACCOUNT);
	if (!p) {
		r = -ENOMEM;
		goto fail;
	}
	p->eventfd = eventfd;
	p->addr = args->addr;
	p->len = args->len;
	p->bus = ioeventfd_bus(args->flags);
	p->wildcard = !(args->flags & KVM_IOEVENTFD_FLAG_DATAMATCH);
	if (!p->wildcard)
		p->datamatch = args->datamatch;
	p->dev.ops = &ioeventfd_ops;

	if (ioeventfd_collides(vm, p)) {
		r = -EEXIST;
		goto fail;
	}
	if (p->bus != IOEVENTFD_BUS_CCW) {
		r = kvisor_io_bus_register(vm, p->bus, p->addr, p->len,
					   &p->dev);
		if (r)
			goto fail;
	}
	list_add_tail(&p->list, &vm->ioeventfds);
	return 0;

fail:
	kfree(p);
	eventfd_ctx_put(eventfd);
	return r;
}

static void ioeventfd_free(struct kvisor_vm *vm, struct kvisor_ioeventfd *p)
{
	list_del(&p->list);
	if (p->bus != IOEVENTFD_BUS_CCW)
		kvisor_io_bus_unregister(vm, p->bus, &p->dev);
	eventfd_ctx_put(p->eventfd);
	kfree(p);
}

/* The exact one assigned: same bus, fd, address, width and datamatch. */
static int ioeventfd_deassign(struct kvisor_vm *vm,
			      const struct kvm_ioeventfd *args)
{
	bool wildcard = !(args->flags & KVM_IOEVENTFD_FLAG_DATAMATCH);
	int bus = ioeventfd_bus(args->flags);
	struct kvisor_ioeventfd *p;
	struct eventfd_ctx *eventfd;
	int r = -ENOENT;

	eventfd = eventfd_ctx_fdget(args->fd);
	if (IS_ERR(eventfd))
		return PTR_ERR(eventfd);
	list_for_each_entry(p, &vm->ioeventfds, list) {
		if (p->bus != bus || p->eventfd != eventfd ||
		    p->addr != args->addr || p->len != args->len ||
		    p->wildcard != wildcard)
			continue;
		if (!p->wildcard && p->datamatch != args->datamatch)
			continue;
		ioeventfd_free(vm, p);
		r = 0;
		break;
	}
	eventfd_ctx_put(eventfd);
	return r;
}

/*
 * KVM_IOEVENTFD.  Takes vm->irq_lock itself.  As in KVM, virtio-ccw
 * ioeventfds are accepted on x86 and never fire.
 */
int kvisor_ioeventfd(struct kvisor_vm *vm, const struct kvm_ioeventfd *args)
{
	int r;

	mutex_lock(&vm->irq_lock);
	if (args->flags & KVM_IOEVENTFD_FLAG_DEASSIGN)
		r = ioeventfd_deassign(vm, args);
	else
		r = ioeventfd_assign(vm, args);
	mutex_unlock(&vm->irq_lock);
	return r;
}

/* At VM destruction; takes vm->irq_lock itself. */
void kvisor_eventfd_vm_destroy(struct kvisor_vm *vm)
{
	struct kvisor_ioeventfd *p, *tmp;

	mutex_lock(&vm->irq_lock);
	irqfd_reap(vm, true);
	list_for_each_entry_safe(p, tmp, &vm->ioeventfds, list)
		ioeventfd_free(vm, p);
	mutex_unlock(&vm->irq_lock);
}
