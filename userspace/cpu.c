// SPDX-License-Identifier: GPL-2.0
/*
 * The VM, its memory, and the state the vCPU starts in.
 *
 * A new vCPU is in the state of a CPU after RESET: real mode, CS:IP =
 * f000:fff0.  There is no firmware here to climb from there to protected
 * or long mode, so the runner does what a boot loader would have done:
 * it writes a GDT and page tables into guest RAM, then loads the finished
 * register state with KVM_SET_SREGS and KVM_SET_REGS.  The segment
 * registers' hidden parts (base, limit, attributes) are set directly, so
 * the guest runs without ever loading a selector, but the GDT holds the
 * same descriptors in case it does.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kvisor-run.h"

/* Control register and EFER bits (from the SDM / APM). */
#define CR0_PE		BIT_ULL(0)	/* protected mode */
#define CR0_MP		BIT_ULL(1)	/* WAIT honours TS */
#define CR0_ET		BIT_ULL(4)	/* always 1 since the 486 */
#define CR0_NE		BIT_ULL(5)	/* x87 errors as #MF, not IRQ 13 */
#define CR0_WP		BIT_ULL(16)	/* read-only pages hold in ring 0 */
#define CR0_PG		BIT_ULL(31)	/* paging */
#define CR4_PAE		BIT_ULL(5)	/* 64-bit page table entries */
#define CR4_OSFXSR	BIT_ULL(9)	/* SSE instructions allowed */
#define CR4_OSXMMEXCPT	BIT_ULL(10)	/* SSE errors as #XM */
#define EFER_LME	BIT_ULL(8)	/* long mode enabled... */
#define EFER_LMA	BIT_ULL(10)	/* ...and active (paging is on) */

/* Page table entry bits. */
#define PTE_P		BIT_ULL(0)
#define PTE_RW		BIT_ULL(1)
#define PTE_PS		BIT_ULL(7)	/* in a PD: this maps a 2 MiB page */
#define PAGE_2M		(2ULL << 20)

/*
 * Segment types (S = 1), both with "accessed" set already, so the CPU never
 * has to write to the GDT to set it.
 */
#define SEG_CODE	11		/* execute/read, accessed */
#define SEG_DATA	3		/* read/write, accessed */

/* The runner's GDT: null, 64-bit code, data, 32-bit code. */
#define SEL_CODE64	0x08
#define SEL_DATA	0x10
#define SEL_CODE32	0x18
#define GDT_ENTRIES	4

#define REAL_SP		0xfff0		/* stack at the top of the segment */

const char *mode_name(enum cpu_mode mode)
{
	static const char * const names[] = {
		[MODE_AUTO] = "auto", [MODE_REAL] = "real",
		[MODE_PROT32] = "prot32", [MODE_LONG] = "long",
	};

	return names[mode];
}

int vm_create(struct vm *vm, const struct options *o)
{
	struct kvm_userspace_memory_region region;
	int r;

	*vm = (struct vm){ .kvm = -1, .vm = -1, .vcpu = -1 };
	vm->kvm = open(o->dev, O_RDWR | O_CLOEXEC);
	if (vm->kvm < 0) {
		r = errno;
		fail("%s: %s", o->dev, strerror(r));
		if (r == ENOENT)
			explain_missing_dev(o->dev);
		return -1;
	}
	r = ioctl(vm->kvm, KVM_GET_API_VERSION, 0);
	if (r < 0)
		return fail("%s: KVM_GET_API_VERSION: %s", o->dev,
			    strerror(errno));
	if (r != KVM_API_VERSION)
		return fail("%s: API version %d, this runner speaks %d",
			    o->dev, r, KVM_API_VERSION);
	vm->vm = ioctl(vm->kvm, KVM_CREATE_VM, 0);
	if (vm->vm < 0)
		return fail("KVM_CREATE_VM: %s", strerror(errno));

	/*
	 * Guest RAM is ordinary anonymous memory of this process; KVM maps
	 * it into the guest.  MAP_NORESERVE: pages the guest never touches
	 * cost nothing.
	 */
	vm->ram_size = o->mem_mb << 20;
	vm->ram = mmap(NULL, vm->ram_size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (vm->ram == MAP_FAILED)
		return fail("cannot map %llu MiB of guest RAM: %s",
			    (unsigned long long)o->mem_mb, strerror(errno));
	region = (struct kvm_userspace_memory_region){
		.slot = 0,
		.guest_phys_addr = 0,
		.memory_size = vm->ram_size,
		.userspace_addr = (uintptr_t)vm->ram,
	};
	if (ioctl(vm->vm, KVM_SET_USER_MEMORY_REGION, &region))
		return fail("KVM_SET_USER_MEMORY_REGION: %s", strerror(errno));
	return 0;
}

/* A flat 4 GiB segment: base 0, limit counted in 4 KiB pages (G). */
static struct kvm_segment flat_segment(uint16_t selector, uint8_t type,
				       bool code64)
{
	return (struct kvm_segment){
		.base = 0, .limit = 0xffffffff, .selector = selector,
		.type = type, .present = 1, .dpl = 0, .s = 1, .g = 1,
		/* A 64-bit code segment has L set and D clear. */
		.l = code64, .db = !code64,
	};
}

/* The 8-byte descriptor for @s, in the x86's scattered layout. */
static uint64_t gdt_entry(const struct kvm_segment *s)
{
	uint64_t limit = s->g ? s->limit >> 12 : s->limit;

	return (limit & 0xffff) |
	       (s->base & 0xffffff) << 16 |
	       (uint64_t)s->type << 40 | (uint64_t)s->s << 44 |
	       (uint64_t)s->dpl << 45 | (uint64_t)s->present << 47 |
	       (limit >> 16 & 0xf) << 48 |
	       (uint64_t)s->avl << 52 | (uint64_t)s->l << 53 |
	       (uint64_t)s->db << 54 | (uint64_t)s->g << 55 |
	       (s->base >> 24 & 0xff) << 56;
}

/* DS, ES, FS, GS and SS: all the same in a flat memory model. */
static void set_data_segments(struct kvm_sregs *sregs,
			      const struct kvm_segment *seg)
{
	sregs->ds = *seg;
	sregs->es = *seg;
	sregs->fs = *seg;
	sregs->gs = *seg;
	sregs->ss = *seg;
}

/* GDT in guest RAM, CS as asked, every data segment register flat. */
static void setup_flat_segments(struct vm *vm, struct kvm_sregs *sregs,
				bool code64)
{
	struct kvm_segment code64_seg = flat_segment(SEL_CODE64, SEG_CODE, true);
	struct kvm_segment code32_seg = flat_segment(SEL_CODE32, SEG_CODE, false);
	struct kvm_segment data_seg = flat_segment(SEL_DATA, SEG_DATA, false);
	uint64_t *gdt = (uint64_t *)(vm->ram + BOOT_GDT);

	gdt[0] = 0;
	gdt[SEL_CODE64 / 8] = gdt_entry(&code64_seg);
	gdt[SEL_DATA / 8] = gdt_entry(&data_seg);
	gdt[SEL_CODE32 / 8] = gdt_entry(&code32_seg);
	sregs->gdt.base = BOOT_GDT;
	sregs->gdt.limit = GDT_ENTRIES * 8 - 1;

	sregs->cs = code64 ? code64_seg : code32_seg;
	set_data_segments(sregs, &data_seg);

	/*
	 * No IDT: any exception the guest takes becomes a triple fault,
	 * which ends the run with a clear message instead of jumping
	 * through whatever happens to be at address 0.
	 */
	sregs->idt.base = 0;
	sregs->idt.limit = 0;
}

/*
 * Identity-map the first 4 GiB with 2 MiB pages: one PML4 entry, four
 * PDPT entries, four page directories.  That covers RAM and the MMIO area
 * above it, so guest virtual addresses are guest physical addresses.
 */
static void build_page_tables(struct vm *vm)
{
	uint64_t *pml4 = (uint64_t *)(vm->ram + BOOT_PML4);
	uint64_t *pdpt = (uint64_t *)(vm->ram + BOOT_PDPT);
	uint64_t *pd = (uint64_t *)(vm->ram + BOOT_PD);
	uint64_t addr;
	int i;

	memset(vm->ram + BOOT_PML4, 0, BOOT_END - BOOT_PML4);
	pml4[0] = BOOT_PDPT | PTE_P | PTE_RW;
	for (i = 0; i < 4; i++)
		pdpt[i] = (BOOT_PD + i * 0x1000) | PTE_P | PTE_RW;
	/* The four PDs are consecutive: one array of 2048 entries. */
	for (addr = 0; addr < MMIO_LIMIT; addr += PAGE_2M)
		pd[addr / PAGE_2M] = addr | PTE_P | PTE_RW | PTE_PS;
}

/* A real-mode segment: base = selector * 16, 64 KiB limit. */
static struct kvm_segment real_segment(uint16_t selector, uint8_t type)
{
	return (struct kvm_segment){
		.base = (uint64_t)selector << 4, .limit = 0xffff,
		.selector = selector, .type = type, .present = 1, .s = 1,
	};
}

static void setup_real(struct kvm_sregs *sregs, struct kvm_regs *regs,
		       const struct image *img)
{
	uint16_t sel = img->real_base >> 4;
	struct kvm_segment data_seg = real_segment(sel, SEG_DATA);

	sregs->cs = real_segment(sel, SEG_CODE);
	set_data_segments(sregs, &data_seg);
	regs->rip = img->entry - img->real_base;
	regs->rsp = REAL_SP;
}

static void setup_prot32(struct vm *vm, struct kvm_sregs *sregs,
			 struct kvm_regs *regs, const struct image *img)
{
	setup_flat_segments(vm, sregs, false);
	sregs->cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE;
	sregs->cr4 = CR4_OSFXSR | CR4_OSXMMEXCPT;
	sregs->efer = 0;
	regs->rip = img->entry;
	regs->rsp = vm->ram_size;
}

static void setup_long(struct vm *vm, struct kvm_sregs *sregs,
		       struct kvm_regs *regs, const struct image *img)
{
	setup_flat_segments(vm, sregs, true);
	build_page_tables(vm);
	/*
	 * Long mode is PAE paging with EFER.LME set.  On hardware, LMA
	 * turns on when CR0.PG is set; KVM_SET_SREGS takes the end state,
	 * so LMA is given here too.
	 */
	sregs->cr3 = BOOT_PML4;
	sregs->cr4 = CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT;
	sregs->cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG;
	sregs->efer = EFER_LME | EFER_LMA;
	regs->rip = img->entry;
	/* The first push lands just below the top of RAM. */
	regs->rsp = vm->ram_size;
}

int vcpu_setup(struct vm *vm, const struct image *img)
{
	/* x87 and SSE as after FNINIT: every exception masked. */
	struct kvm_fpu fpu = { .fcw = 0x37f, .mxcsr = 0x1f80 };
	struct kvm_regs regs = { .rflags = 0x2 };	/* bit 1 is always 1 */
	struct kvm_sregs sregs;
	int size;

	vm->vcpu = ioctl(vm->vm, KVM_CREATE_VCPU, 0);
	if (vm->vcpu < 0)
		return fail("KVM_CREATE_VCPU: %s", strerror(errno));
	/* struct kvm_run, plus the pages after it (the I/O data page). */
	size = ioctl(vm->kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (size < (int)sizeof(struct kvm_run))
		return fail("KVM_GET_VCPU_MMAP_SIZE: %d", size);
	vm->run = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED,
		       vm->vcpu, 0);
	if (vm->run == MAP_FAILED)
		return fail("mmap of the vCPU: %s", strerror(errno));

	/* Start from the reset state: TR, LDT, APIC base stay as they are. */
	if (ioctl(vm->vcpu, KVM_GET_SREGS, &sregs))
		return fail("KVM_GET_SREGS: %s", strerror(errno));
	if (vm->mode == MODE_LONG)
		setup_long(vm, &sregs, &regs, img);
	else if (vm->mode == MODE_PROT32)
		setup_prot32(vm, &sregs, &regs, img);
	else
		setup_real(&sregs, &regs, img);

	if (ioctl(vm->vcpu, KVM_SET_SREGS, &sregs))
		return fail("KVM_SET_SREGS (%s mode): %s", mode_name(vm->mode),
			    strerror(errno));
	if (ioctl(vm->vcpu, KVM_SET_REGS, &regs))
		return fail("KVM_SET_REGS: %s", strerror(errno));
	if (ioctl(vm->vcpu, KVM_SET_FPU, &fpu))
		return fail("KVM_SET_FPU: %s", strerror(errno));
	return 0;
}
