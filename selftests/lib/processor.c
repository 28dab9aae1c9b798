// SPDX-License-Identifier: GPL-2.0
/*
 * processor.c - x86 guest mode setup for kvisor selftests.
 *
 * A vCPU created by KVM_CREATE_VCPU is in the state of a CPU after RESET:
 * real mode, CS:IP = f000:fff0.  Instead of running boot code in the guest
 * to climb to protected or long mode, we write the tables those modes need
 * into guest memory and load the finished state with KVM_SET_SREGS and
 * KVM_SET_REGS, the way a boot loader would leave it.
 *
 * Host side: page tables, GDT, IDT and TSS (vm_arch_setup()), registers of
 * each vCPU (vcpu_arch_setup()), and the guest page table walk.
 * Guest side: the exception entry points and route_exception(), and
 * guest_call_user(), which runs a function at CPL 3 (long mode).
 */
#include <cpuid.h>
#include <string.h>
#include <unistd.h>

#include "kvm_util.h"

/* ------------------------------------------------------------------ */
/* Page tables (long mode: 4 levels, PML4 -> PDPT -> PD -> PT)          */

/* Each level translates 9 bits of the address; level 1 maps 4K pages. */
static unsigned int level_shift(int level)
{
	return 12 + 9 * (level - 1);
}

/* The entry for @gva in the table at @table_gpa, which is at @level */
static uint64_t *pte_at(struct kvm_vm *vm, uint64_t table_gpa, uint64_t gva,
			int level)
{
	uint64_t *table = addr_gpa2hva(vm, table_gpa);

	return &table[(gva >> level_shift(level)) & 0x1ff];
}

/* Map one page of @size (4K, 2M or 1G) at @gva to @gpa. */
static void virt_map_page(struct kvm_vm *vm, uint64_t gva, uint64_t gpa,
			  uint64_t size)
{
	int target = size == PAGE_SIZE_1G ? 3 : size == PAGE_SIZE_2M ? 2 : 1;
	uint64_t table = vm->pgd;
	uint64_t *pte;
	int level;

	/* Walk down, creating the intermediate tables we need. */
	for (level = 4; level > target; level--) {
		pte = pte_at(vm, table, gva, level);
		if (!(*pte & PTE_PRESENT))
			*pte = vm_alloc_pages(vm, 1) | PTE_PRESENT | PTE_WRITABLE;
		TEST_ASSERT(!(*pte & PTE_LARGE),
			    "GVA %#lx is inside a large page already",
			    (unsigned long)gva);
		table = *pte & PTE_ADDR_MASK;
	}

	/* In levels 2 and 3, PS (PTE_LARGE) makes the entry map a page. */
	pte = pte_at(vm, table, gva, target);
	TEST_ASSERT(!(*pte & PTE_PRESENT), "GVA %#lx is mapped already",
		    (unsigned long)gva);
	*pte = gpa | PTE_PRESENT | PTE_WRITABLE | (target > 1 ? PTE_LARGE : 0);
}

/*
 * Map [@gva, @gva + @size) to [@gpa, ...) with the VM's page size.  The
 * memory need not exist: guest accesses to GPAs outside all memslots are
 * MMIO exits.
 */
void virt_map(struct kvm_vm *vm, uint64_t gva, uint64_t gpa, uint64_t size)
{
	uint64_t page = vm_modes[vm->mode].page_size;
	uint64_t off;

	TEST_ASSERT(vm_modes[vm->mode].paging, "virt_map() without paging");
	TEST_ASSERT(!(gva % page) && !(gpa % page) && !(size % page),
		    "virt_map(%#lx, %#lx, %#lx) not aligned to pages of %#lx",
		    (unsigned long)gva, (unsigned long)gpa,
		    (unsigned long)size, (unsigned long)page);
	for (off = 0; off < size; off += page)
		virt_map_page(vm, gva + off, gpa + off, page);
}

/*
 * The entry that maps @gva (a 4K page's, or a 2M or 1G page's at level 2
 * or 3, which goes in *@level), with @set ORed into it and into every
 * entry above it.
 */
static uint64_t *virt_walk(struct kvm_vm *vm, uint64_t gva, uint64_t set,
			   int *level)
{
	uint64_t table = vm->pgd;
	uint64_t *pte;
	int l;

	TEST_ASSERT(vm_modes[vm->mode].paging && gva < (1ULL << 47),
		    "GVA %#lx is not in the low half of a paged mode",
		    (unsigned long)gva);
	for (l = 4; l >= 1; l--) {
		pte = pte_at(vm, table, gva, l);
		TEST_ASSERT(*pte & PTE_PRESENT,
			    "GVA %#lx is not mapped (level %d entry is %#lx)",
			    (unsigned long)gva, l, (unsigned long)*pte);
		*pte |= set;
		if (l == 1 || (*pte & PTE_LARGE))
			break;
		table = *pte & PTE_ADDR_MASK;
	}
	*level = l;
	return pte;
}

/* Translate like the MMU does (ignoring permissions). */
uint64_t addr_arch_gva2gpa(struct kvm_vm *vm, uint64_t gva)
{
	int level;
	uint64_t pte = *virt_walk(vm, gva, 0, &level);
	uint64_t mask = (1ULL << level_shift(level)) - 1;

	return (pte & PTE_ADDR_MASK & ~mask) | (gva & mask);
}

/* The leaf entry that maps @gva, for a test to change its bits. */
uint64_t *virt_leaf_pte(struct kvm_vm *vm, uint64_t gva)
{
	int level;

	return virt_walk(vm, gva, 0, &level);
}

/*
 * Make the pages of [@gva, @gva + @size) user-mode pages: U/S set in
 * their leaves and in every table above, as the CPU wants it at every
 * level (SDM Vol. 3A 4.6, "Access Rights").  The other pages under those
 * tables stay supervisor pages: their own leaves still say so.  With 2M
 * or 1G pages the whole large page becomes a user page.
 */
void virt_set_user(struct kvm_vm *vm, uint64_t gva, uint64_t size)
{
	uint64_t end = gva + size;
	int level;

	for (gva = ALIGN_DOWN(gva, PAGE_SIZE_4K); gva < end;
	     gva += PAGE_SIZE_4K)
		virt_walk(vm, gva, PTE_USER, &level);
}

/* ------------------------------------------------------------------ */
/* Segments and descriptor tables                                       */

/*
 * The flat segments of the mode: base 0, limit 4G, ring 0.  KVM takes the
 * hidden part of the segment registers from KVM_SET_SREGS; the GDT holds
 * the same descriptors so that the guest can reload them (IRET does).
 */
static void mode_segments(struct kvm_vm *vm, struct kvm_segment *cs,
			  struct kvm_segment *ds, struct kvm_segment *tr)
{
	bool long_mode = vm_modes[vm->mode].paging;

	*cs = (struct kvm_segment) {
		.selector = KERNEL_CS, .limit = 0xffffffff,
		.type = 11,			/* code, execute/read, accessed */
		.present = 1, .s = 1, .g = 1,	/* 4K granular limit */
		.l = long_mode,			/* 64-bit code ... */
		.db = !long_mode,		/* ... or 32-bit code */
	};
	*ds = (struct kvm_segment) {
		.selector = KERNEL_DS, .limit = 0xffffffff,
		.type = 3,			/* data, read/write, accessed */
		.present = 1, .s = 1, .g = 1, .db = 1,
	};
	/* VM entry wants a busy TSS in TR, even if we never switch tasks. */
	*tr = (struct kvm_segment) {
		.selector = KERNEL_TSS, .base = vm->tss, .limit = 0x67,
		.type = 11,			/* busy 32/64-bit TSS */
		.present = 1,
	};
}

/* Encode a segment as a GDT descriptor. */
static uint64_t segment_descriptor(const struct kvm_segment *s)
{
	uint32_t limit = s->g ? s->limit >> 12 : s->limit;

	return (limit & 0xffff) |
	       (s->base & 0xffffff) << 16 |
	       (uint64_t)s->type << 40 |
	       (uint64_t)s->s << 44 |
	       (uint64_t)s->dpl << 45 |
	       (uint64_t)s->present << 47 |
	       (uint64_t)((limit >> 16) & 0xf) << 48 |
	       (uint64_t)s->avl << 52 |
	       (uint64_t)s->l << 53 |
	       (uint64_t)s->db << 54 |
	       (uint64_t)s->g << 55 |
	       ((s->base >> 24) & 0xff) << 56;
}

/*
 * The GDT: the mode's flat ring 0 segments, the TSS, and the same flat
 * segments with DPL 3 for guest_call_user().
 */
static void gdt_write(struct kvm_vm *vm)
{
	uint64_t *gdt = addr_gpa2hva(vm, vm->gdt);
	struct kvm_segment cs, ds, tr;

	mode_segments(vm, &cs, &ds, &tr);
	gdt[0] = 0;				/* the null descriptor */
	gdt[KERNEL_CS / 8] = segment_descriptor(&cs);
	gdt[KERNEL_DS / 8] = segment_descriptor(&ds);
	gdt[KERNEL_TSS / 8] = segment_descriptor(&tr);
	gdt[KERNEL_TSS / 8 + 1] = tr.base >> 32; /* long mode: 16 bytes */
	cs.dpl = 3;
	ds.dpl = 3;
	gdt[USER_CS / 8] = segment_descriptor(&cs);
	gdt[USER_DS / 8] = segment_descriptor(&ds);
}

/*
 * Exception entry points, one per vector, 16 bytes apart: push a zero
 * where the CPU pushes no error code, so all frames look alike, push the
 * vector and go to the common code.  The 64-bit entries save the registers
 * and call route_exception(); the 32-bit ones, for the asm-only protected
 * mode guests, just report the exception.
 */
#define EXCEPTION_STUB_SIZE	16
#define HAS_ERROR_CODE							\
	"(vector == 8 || (vector >= 10 && vector <= 14) || "		\
	"vector == 17 || vector == 21 || vector == 29 || vector == 30)"

static_assert(UCALL_UNHANDLED == 4, "update exception_common32");
static_assert(UCALL_PORT == 0x1000, "update exception_common32");

asm(".pushsection .text\n"
"	.code64\n"
"	.balign 16\n"
"idt_stubs64:\n"
"	vector = 0\n"
"	.rept 256\n"
"	stub = .\n"
"	.if ! " HAS_ERROR_CODE "\n"
"	pushq $0\n"
"	.endif\n"
"	pushq $vector\n"
"	jmp exception_common64\n"
"	.org stub + 16, 0xcc\n"	/* pad, or fail if larger */
"	vector = vector + 1\n"
"	.endr\n"
"exception_common64:\n"
"	push %r15; push %r14; push %r13; push %r12\n"
"	push %r11; push %r10; push %r9;  push %r8\n"
"	push %rdi; push %rsi; push %rbp\n"
"	push %rbx; push %rdx; push %rcx; push %rax\n"
"	mov %rsp, %rdi\n"		/* struct ex_regs * */
"	cld\n"				/* the C ABI wants DF clear */
"	call route_exception\n"
"	pop %rax; pop %rcx; pop %rdx; pop %rbx\n"
"	pop %rbp; pop %rsi; pop %rdi\n"
"	pop %r8;  pop %r9;  pop %r10; pop %r11\n"
"	pop %r12; pop %r13; pop %r14; pop %r15\n"
"	add $16, %rsp\n"		/* vector and error code */
"	iretq\n"
"\n"
/* where guest_code() returns to: align the stack and complain */
"guest_code_returned:\n"
"	and $-16, %rsp\n"
"	call guest_code_returned_c\n"
"\n"
"	.code32\n"
"	.balign 16\n"
"idt_stubs32:\n"
"	vector = 0\n"
"	.rept 256\n"
"	stub = .\n"
"	.if ! " HAS_ERROR_CODE "\n"
"	pushl $0\n"
"	.endif\n"
"	pushl $vector\n"
"	jmp exception_common32\n"
"	.org stub + 16, 0xcc\n"	/* pad, or fail if larger */
"	vector = vector + 1\n"
"	.endr\n"
"exception_common32:\n"
"	popl guest32_exc_ucall + 8\n"	/* args[0]: vector */
"	popl guest32_exc_ucall + 24\n"	/* args[2]: error code */
"	popl guest32_exc_ucall + 16\n"	/* args[1]: EIP */
"	movl $4, guest32_exc_ucall\n"	/* cmd: UCALL_UNHANDLED */
"	movl $guest32_exc_ucall, %edi\n"
"	movw $0x1000, %dx\n"
"	outb %al, %dx\n"
"1:	hlt\n"
"	jmp 1b\n"
"	.code64\n"
"	.popsection\n");

extern const char idt_stubs64[], idt_stubs32[], guest_code_returned[];

/* The ucall of 32-bit exceptions: static, there may be no usable stack */
struct ucall guest32_exc_ucall;

/* Set by vm_install_exception_handler() in the guest's copy. */
static void (*guest_exception_handlers[NUM_INTERRUPTS])(struct ex_regs *);

/*
 * guest_call_user() enters @fn at CPL 3 with IRETQ: its arguments in RDI,
 * RSI and RDX, RAX pointing at it, RSP at @stack.  The caller's
 * callee-saved registers and RFLAGS stay on its own stack, whose top
 * becomes TSS.RSP0, so that every exception or interrupt from ring 3 is
 * taken below them (SDM Vol. 3A 6.14.4, "Stack Switching in IA-32e
 * Mode").  guest_user_entry, on a user page,
 * calls @fn and comes back with INT GUEST_USER_RETURN_VECTOR, a gate of
 * DPL 3; route_exception() sends that to guest_user_resume at CPL 0 on
 * the saved stack (guest_user_abort()), which reloads DS and ES (the
 * return to ring 3 nulled them) and returns @fn's RAX.
 */
asm(".pushsection .text\n"
"	.code64\n"
"	.globl guest_call_user\n"
"guest_call_user:\n"
"	push %rbp; push %rbx; push %r12; push %r13; push %r14; push %r15\n"
"	pushfq\n"
"	mov guest_tss(%rip), %rax\n"
"	mov %rsp, 4(%rax)\n"			/* TSS.RSP0 */
"	mov %rsp, guest_user_rsp0(%rip)\n"
"	pushq $(" __stringify(USER_DS) " + 3)\n"	/* SS, RPL 3 */
"	pushq %rdi\n"				/* RSP */
"	pushfq\n"
"	pushq $(" __stringify(USER_CS) " + 3)\n"	/* CS, RPL 3 */
"	lea guest_user_entry(%rip), %rax\n"
"	pushq %rax\n"				/* RIP */
"	mov %rsi, %rax\n"
"	mov %rdx, %rdi\n"
"	mov %rcx, %rsi\n"
"	mov %r8, %rdx\n"
"	iretq\n"
"guest_user_resume:\n"
"	mov $" __stringify(KERNEL_DS) ", %ecx\n"
"	mov %ecx, %ds\n"
"	mov %ecx, %es\n"
"	popfq\n"
"	pop %r15; pop %r14; pop %r13; pop %r12; pop %rbx; pop %rbp\n"
"	ret\n"
"	.popsection\n"
"	.pushsection guest_user, \"ax\"\n"
"guest_user_entry:\n"
"	call *%rax\n"
"	int $" __stringify(GUEST_USER_RETURN_VECTOR) "\n"
"	ud2\n"
"	.popsection\n");

extern const char guest_user_resume[];
extern const char __start_guest_user[], __stop_guest_user[];

/* The TSS (written by vm_arch_setup()) and guest_call_user()'s RSP0 */
uint64_t guest_tss, guest_user_rsp0;

/*
 * Guest side: make the exception being handled, taken at CPL 3, return
 * from guest_call_user() instead of to ring 3, with @ret.
 */
void guest_user_abort(struct ex_regs *regs, uint64_t ret)
{
	regs->rax = ret;
	regs->rip = (uint64_t)guest_user_resume;
	regs->cs = KERNEL_CS;
	regs->rflags = X86_EFLAGS_FIXED;	/* then POPFQ the caller's */
	regs->rsp = guest_user_rsp0;
	regs->ss = KERNEL_DS;
}

void route_exception(struct ex_regs *regs);
void guest_code_returned_c(void);

/* Guest side: called by exception_common64 for every exception. */
void route_exception(struct ex_regs *regs)
{
	void (*handler)(struct ex_regs *) =
		guest_exception_handlers[regs->vector];

	/* guest_user_entry: the function called at CPL 3 returned */
	if (regs->vector == GUEST_USER_RETURN_VECTOR && (regs->cs & 3) == 3) {
		guest_user_abort(regs, regs->rax);
		return;
	}
	if (handler) {
		handler(regs);
		return;
	}
	ucall(UCALL_UNHANDLED, 3, regs->vector, regs->rip, regs->error_code);
}

void guest_code_returned_c(void)
{
	ucall(UCALL_ABORT, 4, (uint64_t)"guest_code() returned",
	      (uint64_t)__FILE__, (uint64_t)__LINE__, 0ULL);
	for (;;)
		asm volatile("hlt");
}

volatile int guest_ud_count, guest_gp_count;
/* RDMSR and WRMSR, the instructions most tests expect a #GP from */
volatile uint64_t guest_fault_len = 2;

void guest_skip_ud(struct ex_regs *regs)
{
	guest_ud_count++;
	regs->rip += guest_fault_len;
}

void guest_skip_gp(struct ex_regs *regs)
{
	guest_gp_count++;
	regs->rip += guest_fault_len;
}

/*
 * Make the guest call @handler for exceptions of @vector instead of
 * reporting them as UCALL_UNHANDLED (long mode only).  The handler may
 * change *regs, e.g. regs->rip to skip the faulting instruction.
 */
void vm_install_exception_handler(struct kvm_vm *vm, int vector,
				  void (*handler)(struct ex_regs *regs))
{
	void **slot;

	TEST_ASSERT(vm_modes[vm->mode].paging && vector < NUM_INTERRUPTS,
		    "exception handlers need long mode and a vector < 256");
	slot = addr_gva2hva(vm, (uint64_t)&guest_exception_handlers[vector]);
	*slot = (void *)handler;
}

/*
 * IDT: one interrupt gate per vector (present, DPL 0, type 0xe, which
 * also clears IF on entry); DPL 3 for GUEST_USER_RETURN_VECTOR, which
 * ring 3 raises with INT.  Long mode gates are 16 bytes, the second half
 * holding bits 63:32 of the address; 32-bit gates are 8 bytes.
 */
static void idt_write(struct kvm_vm *vm)
{
	bool long_mode = vm_modes[vm->mode].paging;
	uint64_t *idt = addr_gpa2hva(vm, vm->idt);
	uint64_t stubs = (uint64_t)(long_mode ? idt_stubs64 : idt_stubs32);
	int v;

	for (v = 0; v < NUM_INTERRUPTS; v++) {
		uint64_t addr = stubs + v * EXCEPTION_STUB_SIZE;
		uint64_t dpl = v == GUEST_USER_RETURN_VECTOR ? 3 : 0;
		uint64_t gate = (addr & 0xffff) | (uint64_t)KERNEL_CS << 16 |
				(0x8eULL | dpl << 5) << 40 |
				((addr >> 16) & 0xffff) << 48;

		if (long_mode) {
			idt[2 * v] = gate;
			idt[2 * v + 1] = addr >> 32;
		} else {
			idt[v] = gate;
		}
	}
}

/* ------------------------------------------------------------------ */
/* VM and vCPU setup                                                    */

/* The real mode code of the test, if any (see processor.h) */
extern const char __start_guest16[] __attribute__((weak));
extern const char __stop_guest16[] __attribute__((weak));

/* Build what the guest needs in memory before its vCPUs are created. */
void vm_arch_setup(struct kvm_vm *vm)
{
	uint64_t page = vm_modes[vm->mode].page_size;

	if (vm->mode == VM_MODE_REAL) {
		size_t size = __stop_guest16 - __start_guest16;

		TEST_ASSERT(__start_guest16 && size <= REAL_MODE_CODE_MAX,
			    "real mode code must be in section guest16, at most %d bytes",
			    REAL_MODE_CODE_MAX);
		memcpy(addr_gpa2hva(vm, REAL_MODE_CODE_GPA), __start_guest16,
		       size);
		return;
	}

	vm->gdt = vm_alloc_pages(vm, 1);
	vm->idt = vm_alloc_pages(vm, 1);
	vm->tss = vm_alloc_pages(vm, 1);	/* all zero is fine */
	gdt_write(vm);
	idt_write(vm);

	/*
	 * Identity map slot 0, in 1G mode all of the first 1G.  The code
	 * guest_call_user() runs at CPL 3 is in section guest_user: user
	 * pages, and guest_call_user() finds the TSS in guest_tss.
	 */
	if (vm_modes[vm->mode].paging) {
		vm->pgd = vm_alloc_pages(vm, 1);
		virt_map(vm, 0, 0, ALIGN_UP(vm->slot0_size, page));
		virt_set_user(vm, (uint64_t)__start_guest_user,
			      __stop_guest_user - __start_guest_user);
		*(uint64_t *)addr_gva2hva(vm, (uint64_t)&guest_tss) = vm->tss;
	}
}

/* Real mode: the reset state, with CS:IP moved to our code */
static void vcpu_setup_real_mode(void *guest_code, struct kvm_sregs *sregs,
				 struct kvm_regs *regs)
{
	const char *code = guest_code;

	TEST_ASSERT(code >= __start_guest16 && code < __stop_guest16,
		    "real mode guest_code must be in section guest16");
	/* At reset CS is f000 with base ffff0000; the others have base 0. */
	sregs->cs.selector = 0;
	sregs->cs.base = 0;
	regs->rip = REAL_MODE_CODE_GPA + (code - __start_guest16);
	regs->rsp = REAL_MODE_STACK_TOP;
}

/* 32-bit protected mode or long mode, with flat segments */
static void vcpu_setup_protected_mode(struct kvm_vcpu *vcpu, void *guest_code,
				      struct kvm_sregs *sregs,
				      struct kvm_regs *regs)
{
	struct kvm_vm *vm = vcpu->vm;
	bool long_mode = vm_modes[vm->mode].paging;
	struct kvm_segment cs, ds, tr;
	uint64_t stack;

	mode_segments(vm, &cs, &ds, &tr);
	sregs->cs = cs;
	sregs->ds = ds;
	sregs->es = ds;
	sregs->fs = ds;
	sregs->gs = ds;
	sregs->ss = ds;
	sregs->tr = tr;
	sregs->ldt = (struct kvm_segment) { .unusable = 1 };	/* no LDT */
	sregs->gdt.base = vm->gdt;
	sregs->gdt.limit = GDT_ENTRIES * 8 - 1;
	sregs->idt.base = vm->idt;
	sregs->idt.limit = NUM_INTERRUPTS * (long_mode ? 16 : 8) - 1;

	/*
	 * CR0: PE for protected mode; ET is hardwired to 1; NE for native
	 * FPU errors (VMX requires it); MP with EM clear so x87/SSE code runs
	 * (the compiler uses SSE in ordinary C code).  No CD/NW (caching on).
	 */
	sregs->cr0 = X86_CR0_PE | X86_CR0_MP | X86_CR0_ET | X86_CR0_NE;
	sregs->cr4 = 0;
	sregs->efer = 0;
	if (long_mode) {
		/*
		 * Long mode is paging with PAE page tables and EFER.LME; LMA
		 * says it is active (KVM_SET_SREGS needs both).  OSFXSR lets
		 * SSE instructions run, OSXMMEXCPT reports their FP errors as
		 * #XM instead of #UD.
		 */
		sregs->cr0 |= X86_CR0_PG;
		sregs->cr3 = vm->pgd;
		sregs->cr4 = X86_CR4_PAE | X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT;
		sregs->efer = EFER_LME | EFER_LMA;
	}

	stack = vm_alloc_pages(vm, VCPU_STACK_PAGES);
	vcpu->stack_top = stack + VCPU_STACK_PAGES * PAGE_SIZE_4K;
	regs->rip = (uint64_t)guest_code;
	regs->rsp = vcpu->stack_top;
	if (long_mode) {
		/*
		 * Enter guest_code() as if called: RSP + 8 aligned to 16, and
		 * a return address that reports an unexpected return.
		 */
		regs->rsp -= 8;
		*(uint64_t *)addr_gva2hva(vm, regs->rsp) =
			(uint64_t)guest_code_returned;
	}
}

/*
 * The CPUID KVM can offer guests (KVM_GET_SUPPORTED_CPUID), or NULL if the
 * KVM lacks KVM_CAP_EXT_CPUID.  Free it with free().
 */
struct kvm_cpuid2 *kvm_get_supported_cpuid(void)
{
	struct kvm_cpuid2 *cpuid;
	int kvm_fd, nent = 64;

	if (!kvm_check_cap(KVM_CAP_EXT_CPUID))
		return NULL;
	kvm_fd = open_kvm_dev_path_or_exit();
	for (;;) {
		cpuid = calloc(1, sizeof(*cpuid) +
				  nent * sizeof(struct kvm_cpuid_entry2));
		TEST_ASSERT(cpuid, "out of memory");
		cpuid->nent = nent;
		if (!__kvm_ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, cpuid))
			break;
		TEST_ASSERT(errno == E2BIG && nent < 4096,
			    "KVM_GET_SUPPORTED_CPUID failed");
		free(cpuid);
		nent *= 2;
	}
	close(kvm_fd);
	return cpuid;
}

/* The entry for @function with index 0 in @cpuid, or NULL. */
struct kvm_cpuid_entry2 *cpuid_find_leaf(struct kvm_cpuid2 *cpuid,
					 uint32_t function)
{
	uint32_t i;

	for (i = 0; i < cpuid->nent; i++)
		if (cpuid->entries[i].function == function &&
		    !cpuid->entries[i].index)
			return &cpuid->entries[i];
	return NULL;
}

/* The CPU the test host runs on is AMD's (or Hygon's): its vendor string. */
bool host_cpu_is_amd(void)
{
	uint32_t a, b, c, d;
	char v[13] = { 0 };

	__cpuid(0, a, b, c, d);
	memcpy(v, &b, 4);
	memcpy(v + 4, &d, 4);
	memcpy(v + 8, &c, 4);
	return !strcmp(v, "AuthenticAMD") || !strcmp(v, "HygonGenuine");
}

/*
 * Does KVM offer a CPUID feature bit, e.g. kvm_cpu_has(X86_FEATURE_GBPAGES)?
 * Without KVM_GET_SUPPORTED_CPUID we cannot tell, and say yes.
 */
bool kvm_cpu_has(struct cpuid_feature f)
{
	struct kvm_cpuid2 *cpuid = kvm_get_supported_cpuid();
	bool ret = !cpuid;
	uint32_t i;

	for (i = 0; cpuid && i < cpuid->nent; i++) {
		struct kvm_cpuid_entry2 *e = &cpuid->entries[i];
		uint32_t regs[] = { e->eax, e->ebx, e->ecx, e->edx };

		if (e->function == f.function && e->index == f.index)
			ret = regs[f.reg] & (1U << f.bit);
	}
	free(cpuid);
	return ret;
}

/*
 * A new vCPU has an empty CPUID: give it all KVM supports, as QEMU and the
 * upstream selftests do.  Some of KVM's checks follow the guest's CPUID;
 * e.g. with shadow paging, 1G pages are reserved-bit faults unless CPUID
 * has PDPE1GB.
 */
static void vcpu_set_supported_cpuid(struct kvm_vcpu *vcpu)
{
	struct kvm_cpuid2 *cpuid = kvm_get_supported_cpuid();

	if (cpuid)
		vcpu_ioctl(vcpu, KVM_SET_CPUID2, cpuid);
	free(cpuid);
}

/* Load the starting registers of a new vCPU. */
void vcpu_arch_setup(struct kvm_vcpu *vcpu, void *guest_code)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	vcpu_set_supported_cpuid(vcpu);
	vcpu_sregs_get(vcpu, &sregs);	/* the reset state, e.g. APIC base */
	memset(&regs, 0, sizeof(regs));
	regs.rflags = X86_EFLAGS_FIXED;	/* interrupts off */

	if (vcpu->vm->mode == VM_MODE_REAL)
		vcpu_setup_real_mode(guest_code, &sregs, &regs);
	else
		vcpu_setup_protected_mode(vcpu, guest_code, &sregs, &regs);

	vcpu_sregs_set(vcpu, &sregs);
	vcpu_regs_set(vcpu, &regs);
}

const char *exception_name(unsigned int vector)
{
	static const char * const names[] = {
		"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM",
		"#DF", "coprocessor segment overrun", "#TS", "#NP", "#SS",
		"#GP", "#PF", "reserved", "#MF", "#AC", "#MC", "#XM", "#VE",
		"#CP",
	};

	if (vector < ARRAY_SIZE(names))
		return names[vector];
	return vector < 32 ? "reserved" : "interrupt";
}
