/* SPDX-License-Identifier: GPL-2.0 */
/*
 * processor.h - x86 definitions for kvisor selftests: control register
 * bits, page table and descriptor formats, the guest mode setup done by
 * processor.c and small helpers for guest code.
 */
#ifndef KVISOR_SELFTEST_PROCESSOR_H
#define KVISOR_SELFTEST_PROCESSOR_H

#include <stdbool.h>
#include <stdint.h>

#define __stringify_1(x)	#x
#define __stringify(x)		__stringify_1(x)

/* Control registers and EFER */
#define X86_CR0_PE		(1UL << 0)	/* protected mode */
#define X86_CR0_MP		(1UL << 1)	/* WAIT/FWAIT honour CR0.TS */
#define X86_CR0_EM		(1UL << 2)	/* x87/SSE emulation: #UD */
#define X86_CR0_TS		(1UL << 3)	/* task switched: #NM on FPU use */
#define X86_CR0_ET		(1UL << 4)	/* always 1 */
#define X86_CR0_NE		(1UL << 5)	/* native x87 error reporting */
#define X86_CR0_WP		(1UL << 16)	/* write protect in ring 0 */
#define X86_CR0_AM		(1UL << 18)
#define X86_CR0_NW		(1UL << 29)
#define X86_CR0_CD		(1UL << 30)
#define X86_CR0_PG		(1UL << 31)	/* paging */

#define X86_CR4_PSE		(1UL << 4)
#define X86_CR4_PAE		(1UL << 5)	/* needed by long mode */
#define X86_CR4_OSFXSR		(1UL << 9)	/* SSE and FXSAVE allowed */
#define X86_CR4_OSXMMEXCPT	(1UL << 10)	/* SIMD FP errors raise #XM */
#define X86_CR4_OSXSAVE		(1UL << 18)
#define X86_CR4_SMEP		(1UL << 20)	/* no supervisor fetch from user pages */
#define X86_CR4_SMAP		(1UL << 21)	/* no supervisor data access to them */

#define MSR_EFER		0xc0000080
#define MSR_FS_BASE		0xc0000100
#define MSR_GS_BASE		0xc0000101
#define MSR_KERNEL_GS_BASE	0xc0000102
#define EFER_SCE		(1UL << 0)
#define EFER_LME		(1UL << 8)	/* long mode enable */
#define EFER_LMA		(1UL << 10)	/* long mode active */
#define EFER_NX			(1UL << 11)

#define X86_EFLAGS_FIXED	(1UL << 1)	/* bit 1 always reads 1 */
#define X86_EFLAGS_IF		(1UL << 9)
#define X86_EFLAGS_DF		(1UL << 10)
#define X86_EFLAGS_AC		(1UL << 18)	/* SMAP: user pages allowed */

/* CPUID feature bits, for kvm_cpu_has() */
struct cpuid_feature {
	uint32_t function, index;
	int reg;		/* CPUID_EAX ... CPUID_EDX */
	int bit;
};

enum { CPUID_EAX, CPUID_EBX, CPUID_ECX, CPUID_EDX };

#define X86_FEATURE_GBPAGES						\
	((struct cpuid_feature){ 0x80000001, 0, CPUID_EDX, 26 })	/* 1G pages */
#define X86_FEATURE_SMEP						\
	((struct cpuid_feature){ 7, 0, CPUID_EBX, 7 })
#define X86_FEATURE_SMAP						\
	((struct cpuid_feature){ 7, 0, CPUID_EBX, 20 })

/* Page table entries (all levels) */
#define PTE_PRESENT		(1ULL << 0)
#define PTE_WRITABLE		(1ULL << 1)
#define PTE_USER		(1ULL << 2)
#define PTE_LARGE		(1ULL << 7)	/* PS: a 2M or 1G page */
#define PTE_ADDR_MASK		0x000ffffffffff000ULL

/*
 * GDT selectors, the same in 32-bit and 64-bit mode.  USER_DS and USER_CS
 * are the flat segments with DPL 3 (load them with RPL 3), in SYSRET's
 * order.
 */
#define KERNEL_CS		0x08
#define KERNEL_DS		0x10
#define KERNEL_TSS		0x18	/* 16 bytes in long mode */
#define USER_DS			0x28
#define USER_CS			0x30
#define GDT_ENTRIES		7

/* Exception vectors */
#define DE_VECTOR		0
#define DB_VECTOR		1
#define BP_VECTOR		3
#define UD_VECTOR		6
#define NM_VECTOR		7
#define DF_VECTOR		8
#define GP_VECTOR		13
#define PF_VECTOR		14
#define NUM_INTERRUPTS		256
/* INT from CPL 3 to this vector ends guest_call_user() (DPL 3 gate) */
#define GUEST_USER_RETURN_VECTOR	0x81

/*
 * Real mode: the library copies the section "guest16" of the test program
 * to REAL_MODE_CODE_GPA and starts at the offset of guest_code in it.  A
 * test puts its 16-bit code there with
 *	asm(".pushsection guest16, \"a\"\n .code16\n label: ...
 *	    .code64\n .popsection");
 * (see guest_modes.c).  All segments have base 0, so the code must be
 * position independent and use absolute addresses only for data in low
 * memory, e.g. REAL_MODE_DATA_GPA and REAL_MODE_UCALL_GPA.
 */
#define REAL_MODE_CODE_GPA	0x1000
#define REAL_MODE_CODE_MAX	0x4000
#define REAL_MODE_STACK_TOP	0x7000
#define REAL_MODE_DATA_GPA	0x8000
#define REAL_MODE_UCALL_GPA	0x9000

/* What the exception handlers see, in the order handlers push it. */
struct ex_regs {
	uint64_t rax, rcx, rdx, rbx;
	uint64_t rbp, rsi, rdi;
	uint64_t r8, r9, r10, r11;
	uint64_t r12, r13, r14, r15;
	uint64_t vector;
	uint64_t error_code;
	uint64_t rip;			/* pushed by the CPU from here on */
	uint64_t cs;
	uint64_t rflags;
	uint64_t rsp;
	uint64_t ss;
};

struct kvm_vm;
struct kvm_vcpu;

/* Host side, used by kvm_util.c */
void vm_arch_setup(struct kvm_vm *vm);
void vcpu_arch_setup(struct kvm_vcpu *vcpu, void *guest_code);
uint64_t addr_arch_gva2gpa(struct kvm_vm *vm, uint64_t gva);
void virt_map(struct kvm_vm *vm, uint64_t gva, uint64_t gpa, uint64_t size);
uint64_t *virt_leaf_pte(struct kvm_vm *vm, uint64_t gva);
void virt_set_user(struct kvm_vm *vm, uint64_t gva, uint64_t size);
void vm_install_exception_handler(struct kvm_vm *vm, int vector,
				  void (*handler)(struct ex_regs *regs));
/*
 * Handlers for a guest that expects a #UD or a #GP: each counts its
 * exception and resumes after the faulting instruction, which the guest
 * said is guest_fault_len bytes long before running it (2 unless it
 * says otherwise: RDMSR and WRMSR).
 */
extern volatile int guest_ud_count, guest_gp_count;
extern volatile uint64_t guest_fault_len;
void guest_skip_ud(struct ex_regs *regs);
void guest_skip_gp(struct ex_regs *regs);
const char *exception_name(unsigned int vector);
struct kvm_cpuid2 *kvm_get_supported_cpuid(void);
struct kvm_cpuid_entry2 *cpuid_find_leaf(struct kvm_cpuid2 *cpuid,
					 uint32_t function);
bool kvm_cpu_has(struct cpuid_feature feature);
bool host_cpu_is_amd(void);

/*
 * Ring 3 (long mode).  guest_call_user() runs @fn(@a0, @a1, @a2) at CPL 3
 * on the user stack ending at @stack (16-byte aligned) and returns what
 * @fn returns, back at CPL 0.  @fn goes in section guest_user (GUEST_USER),
 * whose pages vm_arch_setup() makes user pages, as it does the library's
 * own way back; its stack and data must be user pages too
 * (virt_set_user()).  Code at CPL 3 may not ucall (no port I/O there), nor
 * call anything outside its section: keep it to a few lines.  An
 * exception at CPL 3 goes to its handler as any other, on the caller's
 * stack (TSS.RSP0); the handler may resume ring 3 or give up on @fn with
 * guest_user_abort(), which makes guest_call_user() return @ret.  One
 * vCPU at a time: the TSS and the saved stack are the VM's.
 * virt_set_user() with 2M or 1G pages makes the whole large page (the
 * GDT, IDT and page tables with it) a user page: SMAP and SMEP want 4K.
 */
#define GUEST_USER	__attribute__((section("guest_user"), noinline, noclone))
typedef uint64_t (*guest_user_fn)(uint64_t, uint64_t, uint64_t);
uint64_t guest_call_user(void *stack, guest_user_fn fn, uint64_t a0,
			 uint64_t a1, uint64_t a2);
void guest_user_abort(struct ex_regs *regs, uint64_t ret);

/* Guest side */
static inline uint64_t get_cr0(void)
{
	uint64_t v;

	asm volatile("mov %%cr0, %0" : "=r"(v));
	return v;
}

static inline uint64_t get_cr2(void)
{
	uint64_t v;

	asm volatile("mov %%cr2, %0" : "=r"(v));
	return v;
}

static inline uint64_t get_cr3(void)
{
	uint64_t v;

	asm volatile("mov %%cr3, %0" : "=r"(v));
	return v;
}

static inline uint64_t get_cr4(void)
{
	uint64_t v;

	asm volatile("mov %%cr4, %0" : "=r"(v));
	return v;
}

static inline void set_cr4(uint64_t v)
{
	asm volatile("mov %0, %%cr4" : : "r"(v) : "memory");
}

static inline uint64_t get_cr8(void)
{
	uint64_t v;

	asm volatile("mov %%cr8, %0" : "=r"(v));
	return v;
}

static inline void set_cr8(uint64_t v)
{
	asm volatile("mov %0, %%cr8" : : "r"(v) : "memory");
}

static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;

	asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return lo | ((uint64_t)hi << 32);
}

static inline void wrmsr(uint32_t msr, uint64_t val)
{
	asm volatile("wrmsr" : : "c"(msr), "a"((uint32_t)val),
		     "d"((uint32_t)(val >> 32)) : "memory");
}

static inline void outb(uint16_t port, uint8_t v)
{
	asm volatile("outb %0, %1" : : "a"(v), "d"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;

	asm volatile("inb %1, %0" : "=a"(v) : "d"(port));
	return v;
}

static inline void cpu_relax(void)
{
	asm volatile("pause" ::: "memory");
}

/*
 * Open the interrupt window until *@count reaches @want (a handler counts),
 * then a little longer for any that should not come.  No PAUSE: pause-loop
 * exits would make this slow, not more exact.
 */
static inline void take_interrupts(volatile int *count, int want)
{
	long i;

	asm volatile("sti");
	for (i = 0; i < 1000000 && *count < want; i++)
		asm volatile("nop");
	for (i = 0; i < 10000; i++)
		asm volatile("nop");
	asm volatile("cli");
}

#endif /* KVISOR_SELFTEST_PROCESSOR_H */
