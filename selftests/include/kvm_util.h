/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvm_util.h - a small library for writing KVM tests, in the style of the
 * Linux KVM selftests (tools/testing/selftests/kvm), much reduced.
 *
 * A test creates a VM with vm_create() or vm_create_with_one_vcpu(), runs
 * the vCPU with vcpu_run() and talks with the guest through ucalls (see
 * ucall.h).  In the protected and long modes the test binary itself is
 * loaded into guest memory at its own link addresses, so the guest code is
 * a plain function of the test program and shares its global variables'
 * addresses (not their values: the guest has its own copy).
 *
 * Guest physical memory of slot 0, in every mode.  The paged modes map it
 * with GVA == GPA (an identity mapping), so guest pointers need no
 * translation other than the page table walk:
 *
 *   0x000000 - 0x0fffff   low memory: real mode code, data and stack
 *   0x100000 - 0x3fffff   page allocator: page tables, GDT, IDT, TSS, stacks
 *   0x400000 - ...        the test binary's ELF segments (static, non-PIE)
 *   ...      - slot end   free for the test (at least 1 MiB)
 */
#ifndef KVISOR_SELFTEST_KVM_UTIL_H
#define KVISOR_SELFTEST_KVM_UTIL_H

#include <assert.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <linux/kvm.h>

#include "test_util.h"

#define PAGE_SIZE_4K		0x1000ULL
#define PAGE_SIZE_2M		0x200000ULL
#define PAGE_SIZE_1G		0x40000000ULL

#define ALIGN_UP(x, a)		(((x) + (a) - 1) & ~((uint64_t)(a) - 1))
#define ALIGN_DOWN(x, a)	((x) & ~((uint64_t)(a) - 1))
#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))

/* The layout above. */
#define PAGE_ALLOC_START	0x100000ULL
#define PAGE_ALLOC_END		0x400000ULL
#define ELF_LOAD_MIN		0x400000ULL
#define SLOT0_SPARE		0x200000ULL

#define MAX_TEST_SLOTS		32
#define MAX_TEST_VCPUS		64
#define VCPU_STACK_PAGES	4

/* How the vCPUs start, see vcpu_arch_setup() in processor.c. */
enum vm_guest_mode {
	VM_MODE_REAL,		/* 16-bit real mode, guest code copied low */
	VM_MODE_PROT32,		/* 32-bit protected mode, flat, no paging */
	VM_MODE_LONG_4K,	/* 64-bit, 4-level paging with 4K pages */
	VM_MODE_LONG_2M,	/* 64-bit, 4-level paging with 2M pages */
	VM_MODE_LONG_1G,	/* 64-bit, 4-level paging with 1G pages */
	NUM_VM_MODES,
};

#define VM_MODE_DEFAULT		VM_MODE_LONG_4K

struct vm_mode_params {
	const char *name;
	bool paging;		/* guest page tables exist (long modes) */
	uint64_t page_size;	/* size of the pages those tables map */
	uint64_t addr_mask;	/* how much of a register is an address */
};

extern const struct vm_mode_params vm_modes[NUM_VM_MODES];

struct userspace_mem_region {
	struct kvm_userspace_memory_region region;	/* as given to KVM */
	void *host_mem;					/* our mmap() of it */
	size_t mmap_size;
	bool used;
};

struct kvm_vcpu {
	struct kvm_vm *vm;
	uint32_t id;
	int fd;
	struct kvm_run *run;	/* shared with KVM, see KVM_GET_VCPU_MMAP_SIZE */
	size_t run_size;
	uint64_t stack_top;	/* GVA just above this vCPU's stack */
};

struct kvm_vm {
	int kvm_fd;		/* the KVM device, for system ioctls */
	int fd;			/* the VM, from KVM_CREATE_VM */
	enum vm_guest_mode mode;
	struct userspace_mem_region regions[MAX_TEST_SLOTS];
	struct kvm_vcpu *vcpus[MAX_TEST_VCPUS];
	unsigned int nr_vcpus;
	uint64_t slot0_size;	/* bytes of memory at GPA 0 */
	uint64_t next_page;	/* page allocator: next free GPA ... */
	uint64_t alloc_end;	/* ... and its end */
	uint64_t pgd;		/* GPA of the PML4 in the paged modes */
	uint64_t gdt;		/* GDT, IDT and TSS: GPA == GVA */
	uint64_t idt;
	uint64_t tss;
};

/*
 * ioctl wrappers, three levels as upstream:
 *  - kvm_do_ioctl() checks at compile time that the argument has the size
 *    encoded in the ioctl number (ioctls without a payload pass an integer
 *    cast to a pointer, _IOC_SIZE() is 0 for them);
 *  - __kvm_ioctl(), __vm_ioctl(), __vcpu_ioctl() return what ioctl() does;
 *  - kvm_ioctl(), vm_ioctl(), vcpu_ioctl() fail the test if it fails,
 *    naming the ioctl, and evaluate to the (non-negative) return value.
 */
#define kvm_do_ioctl(fd, cmd, arg)					\
({									\
	static_assert(!_IOC_SIZE(cmd) || sizeof(*(arg)) == _IOC_SIZE(cmd), \
		      "ioctl argument size does not match " #cmd);	\
	ioctl(fd, cmd, arg);						\
})

#define __kvm_ioctl(kvm_fd, cmd, arg)	kvm_do_ioctl(kvm_fd, cmd, arg)
#define __vm_ioctl(vm, cmd, arg)	kvm_do_ioctl((vm)->fd, cmd, arg)
#define __vcpu_ioctl(vcpu, cmd, arg)	kvm_do_ioctl((vcpu)->fd, cmd, arg)

#define __checked_ioctl(fd, cmd, arg, what)				\
({									\
	int __ret = kvm_do_ioctl(fd, cmd, arg);				\
	TEST_ASSERT(__ret >= 0, "%s ioctl %s failed, rc: %d errno: %d (%s)", \
		    what, #cmd, __ret, errno, strerror(errno));		\
	__ret;								\
})

#define kvm_ioctl(kvm_fd, cmd, arg)	__checked_ioctl(kvm_fd, cmd, arg, "KVM")
#define vm_ioctl(vm, cmd, arg)		__checked_ioctl((vm)->fd, cmd, arg, "VM")
#define vcpu_ioctl(vcpu, cmd, arg)	__checked_ioctl((vcpu)->fd, cmd, arg, "vCPU")

/* The KVM device: kvm_dev_path() in test_util.h, $KVM_DEV or /dev/kvm */
int open_kvm_dev_path_or_exit(void);
int kvm_check_cap(long cap);
/* A statistic of a KVM_GET_STATS_FD fd by name (a histogram: its sum). */
uint64_t stats_fd_value(int fd, const char *name);

/* VMs and vCPUs */
struct kvm_vm *vm_create(enum vm_guest_mode mode);
struct kvm_vm *vm_create_with_one_vcpu(struct kvm_vcpu **vcpu,
				       void *guest_code,
				       enum vm_guest_mode mode);
struct kvm_vcpu *vm_vcpu_add(struct kvm_vm *vm, uint32_t vcpu_id,
			     void *guest_code);
/* The in-kernel PIC, IOAPIC and LAPICs (KVM_CREATE_IRQCHIP), before vCPUs. */
void vm_create_irqchip(struct kvm_vm *vm);
/*
 * KVM_GET_MSRS or KVM_SET_MSRS (@nr) of the one MSR @index: how many
 * entries the ioctl did, 1 or 0 (an MSR it refuses stops it, it is not
 * an error).  *@val goes in for SET and comes back from a GET that did
 * it.  vcpu_get_msr() fails the test unless the GET did it.
 */
int vcpu_msr_io(struct kvm_vcpu *vcpu, unsigned long nr, uint32_t index,
		uint64_t *val);
uint64_t vcpu_get_msr(struct kvm_vcpu *vcpu, uint32_t index);
int vcpu_set_msr(struct kvm_vcpu *vcpu, uint32_t index, uint64_t val);
void kvm_vm_free(struct kvm_vm *vm);

/* Memory */
void vm_userspace_mem_region_add(struct kvm_vm *vm, uint32_t slot,
				 uint64_t gpa, uint64_t npages, uint32_t flags);
void vm_userspace_mem_region_add_mem(struct kvm_vm *vm, uint32_t slot,
				     uint64_t gpa, void *mem, size_t size,
				     uint32_t flags);
/*
 * KVM_SET_USER_MEMORY_REGION as it is, outside the library's bookkeeping
 * of slots (for slots beyond MAX_TEST_SLOTS, or refused ones): 0 or
 * -errno.
 */
int vm_set_slot(struct kvm_vm *vm, uint32_t slot, uint64_t gpa,
		uint64_t size, void *hva);
void vm_mem_region_move(struct kvm_vm *vm, uint32_t slot, uint64_t new_gpa);
void vm_mem_region_delete(struct kvm_vm *vm, uint32_t slot);
struct userspace_mem_region *memslot2region(struct kvm_vm *vm, uint32_t slot);
uint64_t vm_alloc_pages(struct kvm_vm *vm, unsigned int npages);
void *addr_gpa2hva(struct kvm_vm *vm, uint64_t gpa);
uint64_t addr_gva2gpa(struct kvm_vm *vm, uint64_t gva);
void *addr_gva2hva(struct kvm_vm *vm, uint64_t gva);

/* Copy a global of the test program to/from the guest's copy of it. */
#define sync_global_to_guest(vm, g)					\
	memcpy(addr_gva2hva(vm, (uint64_t)&(g)), &(g), sizeof(g))
#define sync_global_from_guest(vm, g)					\
	memcpy(&(g), addr_gva2hva(vm, (uint64_t)&(g)), sizeof(g))

/* Running */
int __vcpu_run(struct kvm_vcpu *vcpu);
void vcpu_run(struct kvm_vcpu *vcpu);
void vcpu_run_complete_io(struct kvm_vcpu *vcpu);
const char *exit_reason_str(unsigned int exit_reason);

const char *vcpu_exit_details(struct kvm_vcpu *vcpu);

/* TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_IO) */
#define TEST_ASSERT_KVM_EXIT_REASON(vcpu, expected)			\
	TEST_ASSERT((vcpu)->run->exit_reason == (expected),		\
		    "exit reason %u (%s), expected %u (%s)%s",		\
		    (vcpu)->run->exit_reason,				\
		    exit_reason_str((vcpu)->run->exit_reason),		\
		    (unsigned int)(expected), exit_reason_str(expected), \
		    vcpu_exit_details(vcpu))

/*
 * One value of the vCPU's binary stats (KVM_GET_STATS_FD) by its name, or
 * ~0 when the hypervisor keeps no such statistic.
 */
uint64_t vcpu_get_stat(struct kvm_vcpu *vcpu, const char *name);

/* Registers */
void vcpu_regs_get(struct kvm_vcpu *vcpu, struct kvm_regs *regs);
void vcpu_regs_set(struct kvm_vcpu *vcpu, struct kvm_regs *regs);
void vcpu_sregs_get(struct kvm_vcpu *vcpu, struct kvm_sregs *sregs);
void vcpu_sregs_set(struct kvm_vcpu *vcpu, struct kvm_sregs *sregs);
void vcpu_fpu_get(struct kvm_vcpu *vcpu, struct kvm_fpu *fpu);
void vcpu_fpu_set(struct kvm_vcpu *vcpu, struct kvm_fpu *fpu);
/* Up to 6 arguments of guest_code() in long mode, each read as uint64_t */
void vcpu_args_set(struct kvm_vcpu *vcpu, unsigned int num, ...);

#include "processor.h"
#include "ucall.h"

#endif /* KVISOR_SELFTEST_KVM_UTIL_H */
