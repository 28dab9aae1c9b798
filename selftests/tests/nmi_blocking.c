// SPDX-License-Identifier: GPL-2.0
/*
 * nmi_blocking: an NMI that arrives while the guest's NMI handler runs.
 *
 * The CPU blocks NMIs from the delivery of one to the next IRET (Intel
 * SDM Vol. 3, "Handling Multiple NMIs"; AMD APM Vol. 2, "NMI Handling"),
 * and holds at most one more meanwhile.  Here the guest sends itself an
 * NMI, on a stack of its own, with interrupts off; its handler stops at
 * a ucall, where the host checks KVM_GET_VCPU_EVENTS (masked, nothing
 * pending) and queues NMIs with KVM_NMI:
 *
 *  1. three of them: they collapse to one pending, which is delivered
 *     once, right after the handler's IRET, at the very instruction the
 *     IRET returns to (the interrupted RIP) -- and with RFLAGS.IF clear,
 *     no interrupt window will ever open to stand in for it;
 *  2. one, after the host deleted and re-added the memslot of the page
 *     that holds the handler's IRET frame: the IRET exits to the host on
 *     its nested page fault and runs again, and NMIs stay blocked until
 *     it has (the NMI must not come at the IRET itself);
 *  3. three KVM_NMIs while nothing is being handled: two are kept, one
 *     injected at once and one after its IRET;
 *  4. one, and then the handler returns with an IRET that raises #GP in
 *     the guest (a CS selector that does not exist): the NMI still comes
 *     exactly once.  Where depends on the vendor, and is printed: VMX
 *     unblocks NMIs at the faulting IRET, as the CPU does (SDM, "Handling
 *     Multiple NMIs"), so it comes before the #GP handler runs; SVM, in
 *     kvisor as in KVM, keeps them blocked until the #GP handler's own
 *     IRET, and the #GP frame shows the TF that single-steps the IRET.
 *
 * The expected behaviour is in-tree KVM's, on both vendors.
 */
#include <string.h>
#include <sys/mman.h>

#include "apic.h"
#include "kvm_util.h"

#define SLOT		5
#define FRAME_GPA	0x40000000ULL	/* the page the IRET frame is in */
#define STACK_TOP	(FRAME_GPA + 0x30)
#define SPINS		200000

static volatile int nmis, sync_in_nmi, gp_saw_nmis;
static volatile unsigned long gp_rflags;
static volatile unsigned long nmi_rip[8];

/*
 * On the stack at @top (%rdi), send this vCPU an NMI and spin @spins
 * (%rsi) times.  The NMI comes right after the ICR write, at
 * after_self_nmi; its frame goes into the page of @top, the handler's
 * own pushes into the pages below.
 */
asm(".text\n"
"	.global run_on_stack\n"
"run_on_stack:\n"
"	mov %rsp, %r11\n"
"	mov %rdi, %rsp\n"
"	mov $0xfee00300, %eax\n"	/* ICR: NMI to APIC ID 0 (ICR2) */
"	movl $0x400, (%rax)\n"
"	.global after_self_nmi\n"
"after_self_nmi:\n"
"1:	pause\n"
"	dec %rsi\n"
"	jnz 1b\n"
"	mov %r11, %rsp\n"
"	ret\n");
void run_on_stack(unsigned long top, unsigned long spins);
void after_self_nmi(void);

/*
 * An IRET that faults into the guest: its frame's CS selector does not
 * exist, #GP.  gp_handler() resumes after it, the frame dropped.
 */
void iret_fault_resume(void);
static __attribute__((noinline)) void faulting_iret(void)
{
	asm volatile("mov %%ss, %%eax\n\t"
		     "push %%rax\n\t"
		     "lea 8(%%rsp), %%rax\n\t"
		     "push %%rax\n\t"
		     "pushfq\n\t"
		     "push $0x1230\n\t"
		     "lea iret_fault_resume(%%rip), %%rax\n\t"
		     "push %%rax\n\t"
		     "iretq\n\t"
		     ".global iret_fault_resume\n"
		     "iret_fault_resume:\n\t"
		     : : : "rax", "memory");
}

static void gp_handler(struct ex_regs *regs)
{
	gp_saw_nmis = nmis;
	gp_rflags = regs->rflags;
	regs->rip = (unsigned long)iret_fault_resume;
	regs->rsp += 40;
}

static void nmi_handler(struct ex_regs *regs)
{
	int n = nmis, mode = sync_in_nmi;

	if (n < (int)ARRAY_SIZE(nmi_rip))
		nmi_rip[n] = regs->rip;
	nmis = n + 1;
	if (mode) {
		sync_in_nmi = 0;
		GUEST_SYNC(n);
		if (mode == 2)
			faulting_iret();
	}
}

static void one_round(int base)
{
	int i;

	sync_in_nmi = 1;
	run_on_stack(STACK_TOP, SPINS);
	/* Exactly one more NMI, where the first one had interrupted. */
	for (i = 0; i < SPINS && nmis < base + 2; i++)
		cpu_relax();
	GUEST_ASSERT_EQ(nmis, base + 2);
	GUEST_ASSERT_EQ(nmi_rip[base], (unsigned long)after_self_nmi);
	GUEST_ASSERT_EQ(nmi_rip[base + 1], (unsigned long)after_self_nmi);
}

static void guest_code(void)
{
	int i;

	xapic_enable();
	xapic_write(APIC_ICR2, 0);
	asm volatile("cli");

	one_round(0);
	GUEST_SYNC(100);
	one_round(2);
	GUEST_SYNC(101);

	/* 3. three KVM_NMIs, nothing in service: two delivered. */
	for (i = 0; i < SPINS && nmis < 6; i++)
		cpu_relax();
	for (i = 0; i < SPINS; i++)
		cpu_relax();
	GUEST_ASSERT_EQ(nmis, 6);

	/* 4. An IRET that faults into the guest. */
	sync_in_nmi = 2;
	run_on_stack(STACK_TOP, SPINS);
	for (i = 0; i < SPINS && nmis < 8; i++)
		cpu_relax();
	GUEST_ASSERT_EQ(nmis, 8);
	GUEST_SYNC2(gp_saw_nmis, gp_rflags);
	GUEST_DONE();
}

static void check_events(struct kvm_vcpu *vcpu, int masked, int pending,
			 const char *when)
{
	struct kvm_vcpu_events ev;

	memset(&ev, 0, sizeof(ev));
	vcpu_ioctl(vcpu, KVM_GET_VCPU_EVENTS, &ev);
	TEST_ASSERT(ev.nmi.masked == masked && ev.nmi.pending == pending &&
		    !ev.nmi.injected,
		    "%s: nmi masked %u pending %u injected %u, expected %d %d 0",
		    when, ev.nmi.masked, ev.nmi.pending, ev.nmi.injected,
		    masked, pending);
}

static void *frame_page;

static void set_frame_slot(struct kvm_vm *vm, uint64_t size)
{
	int r = vm_set_slot(vm, SLOT, FRAME_GPA, size, frame_page);

	TEST_ASSERT(!r, "KVM_SET_USER_MEMORY_REGION (size %#lx): %d",
		    (unsigned long)size, r);
}

int main(void)
{
	struct kvm_vcpu *vcpu;
	struct ucall uc;
	struct kvm_vm *vm;
	unsigned long below;

	if (!kvm_check_cap(KVM_CAP_IRQCHIP))
		ksft_exit_skip("no in-kernel irqchip (KVM_CAP_IRQCHIP)\n");
	vm = vm_create(VM_MODE_LONG_4K);
	vm_ioctl(vm, KVM_CREATE_IRQCHIP, NULL);
	vcpu = vm_vcpu_add(vm, 0, guest_code);
	apic_map(vm);
	vm_install_exception_handler(vm, 2, nmi_handler);
	vm_install_exception_handler(vm, 13, gp_handler);

	/* The frame's page in a slot of its own, its stack below it. */
	frame_page = mmap(NULL, PAGE_SIZE_4K, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	TEST_ASSERT(frame_page != MAP_FAILED, "mmap");
	set_frame_slot(vm, PAGE_SIZE_4K);
	virt_map(vm, FRAME_GPA, FRAME_GPA, PAGE_SIZE_4K);
	below = vm_alloc_pages(vm, 2);
	virt_map(vm, FRAME_GPA - 2 * PAGE_SIZE_4K, below, 2 * PAGE_SIZE_4K);

	/* 1. In the handler: masked; three NMIs become one pending. */
	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, UCALL_SYNC, NULL), 0);
	check_events(vcpu, 1, 0, "in the NMI handler");
	vcpu_ioctl(vcpu, KVM_NMI, NULL);
	vcpu_ioctl(vcpu, KVM_NMI, NULL);
	vcpu_ioctl(vcpu, KVM_NMI, NULL);
	check_events(vcpu, 1, 1, "in the NMI handler, three KVM_NMIs later");
	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, UCALL_SYNC, NULL), 100);
	check_events(vcpu, 0, 0, "after both handlers");
	ksft_print_msg("NMIs latched in an NMI handler: one, right after its IRET: ok\n");

	/* 2. The IRET's frame unmapped from the nested page tables. */
	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, UCALL_SYNC, NULL), 2);
	set_frame_slot(vm, 0);
	set_frame_slot(vm, PAGE_SIZE_4K);
	vcpu_ioctl(vcpu, KVM_NMI, NULL);
	check_events(vcpu, 1, 1, "in the handler, its frame unmapped");
	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, UCALL_SYNC, NULL), 101);
	check_events(vcpu, 0, 0, "after the IRET that faulted");
	ksft_print_msg("IRET exiting on a nested page fault: NMIs blocked until it ran: ok\n");

	/* 3. Nothing in service: two of three kept. */
	vcpu_ioctl(vcpu, KVM_NMI, NULL);
	vcpu_ioctl(vcpu, KVM_NMI, NULL);
	vcpu_ioctl(vcpu, KVM_NMI, NULL);
	check_events(vcpu, 0, 1, "three KVM_NMIs, none in service");
	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, UCALL_SYNC, NULL), 6);
	ksft_print_msg("three KVM_NMIs with none in service: two delivered: ok\n");

	/* 4. In the handler again; its IRET will raise #GP in the guest. */
	vcpu_ioctl(vcpu, KVM_NMI, NULL);
	check_events(vcpu, 1, 1, "in the handler whose IRET will fault");
	vcpu_run_ucall(vcpu, UCALL_SYNC, &uc);
	ksft_print_msg("IRET raising #GP: its handler saw %lu NMIs (%s), RFLAGS %#lx\n",
		       (unsigned long)uc.args[0],
		       uc.args[0] == 8 ? "NMIs unblocked" : "NMIs blocked",
		       (unsigned long)uc.args[1]);
	vcpu_run_ucall(vcpu, UCALL_DONE, NULL);

	kvm_vm_free(vm);
	ksft_exit_pass();
}
