// SPDX-License-Identifier: GPL-2.0
/*
 * vcpu_events: KVM_GET/SET_VCPU_EVENTS and KVM_CAP_SYNC_REGS.
 *
 * An exception, an external interrupt and an NMI set with
 * KVM_SET_VCPU_EVENTS reach the guest's handlers at the next entry; bad exception
 * vectors and unknown flags are EINVAL; an exit right after STI shows the
 * interrupt shadow.  With kvm_valid_regs, kvm_run carries the registers
 * out after every KVM_RUN; with kvm_dirty_regs, a change made there
 * reaches the guest; unknown sync fields are EINVAL.
 */
#include <sys/ioctl.h>

#include "kvm_util.h"

static volatile int seen[256];

static void handler(struct ex_regs *regs)
{
	seen[regs->vector]++;
}

static void guest_code(void)
{
	uint64_t v;

	GUEST_SYNC(0);			/* the host sets an exception */
	GUEST_ASSERT_EQ(seen[6], 1);
	/* An interrupt; IF set, which VMX insists on for the injection. */
	asm volatile("sti");
	GUEST_SYNC(1);
	asm volatile("cli");
	GUEST_ASSERT_EQ(seen[0x30], 1);
	GUEST_SYNC(2);			/* an NMI */
	GUEST_ASSERT_EQ(seen[2], 1);
	asm volatile("sti; outb %%al, $0x80; cli" : : "a"(0));
	asm volatile("xor %%r12d, %%r12d; outb %%al, $0x81; mov %%r12, %0"
		     : "=r"(v) : "a"(0) : "r12");
	GUEST_ASSERT_EQ(v, 0x1234);
	GUEST_DONE();
}

static void set_events(struct kvm_vcpu *vcpu, struct kvm_vcpu_events *ev,
		       int err)
{
	int r = ioctl(vcpu->fd, KVM_SET_VCPU_EVENTS, ev);

	TEST_ASSERT(err ? r == -1 && errno == err : r == 0,
		    "KVM_SET_VCPU_EVENTS: %d (%s), expected %s", r,
		    strerror(errno), err ? strerror(err) : "success");
}

static void run_to_port(struct kvm_vcpu *vcpu, uint16_t port)
{
	TEST_ASSERT_EQ(__vcpu_run(vcpu), 0);
	TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_IO);
	TEST_ASSERT_EQ(vcpu->run->io.port, port);
}

int main(void)
{
	struct kvm_vcpu_events ev;
	struct kvm_vcpu *vcpu;
	struct kvm_regs regs;
	struct kvm_vm *vm;
	struct kvm_run *run;
	struct ucall uc;

	if (!kvm_check_cap(KVM_CAP_VCPU_EVENTS))
		ksft_exit_skip("KVM_CAP_VCPU_EVENTS is not offered\n");
	vm = vm_create_with_one_vcpu(&vcpu, guest_code, VM_MODE_LONG_4K);
	vm_install_exception_handler(vm, 6, handler);
	vm_install_exception_handler(vm, 0x30, handler);
	vm_install_exception_handler(vm, 2, handler);
	run = vcpu->run;

	vcpu_ioctl(vcpu, KVM_GET_VCPU_EVENTS, &ev);
	TEST_ASSERT(!ev.exception.injected && !ev.interrupt.injected &&
		    !ev.nmi.injected && !ev.nmi.pending && !ev.nmi.masked,
		    "a new vCPU has events pending");
	TEST_ASSERT((ev.flags & (KVM_VCPUEVENT_VALID_NMI_PENDING |
				 KVM_VCPUEVENT_VALID_SHADOW)) ==
		    (KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SHADOW),
		    "flags %#x", ev.flags);

	vcpu_run_ucall(vcpu, UCALL_SYNC, &uc);
	memset(&ev, 0, sizeof(ev));
	ev.exception.injected = 1;
	ev.exception.nr = 2;
	set_events(vcpu, &ev, EINVAL);
	ev.exception.nr = 32;
	set_events(vcpu, &ev, EINVAL);
	ev.exception.nr = 6;
	ev.flags = 1u << 31;
	set_events(vcpu, &ev, EINVAL);
	ev.flags = 0;
	set_events(vcpu, &ev, 0);
	vcpu_run_ucall(vcpu, UCALL_SYNC, &uc);
	TEST_ASSERT_EQ(uc.args[0], 1);
	ksft_print_msg("exception #UD set as an event reaches the guest; EINVAL for NMI, 32, flags: ok\n");

	memset(&ev, 0, sizeof(ev));
	ev.interrupt.injected = 1;
	ev.interrupt.nr = 0x30;
	set_events(vcpu, &ev, 0);
	vcpu_ioctl(vcpu, KVM_GET_VCPU_EVENTS, &ev);
	TEST_ASSERT(ev.interrupt.injected && ev.interrupt.nr == 0x30,
		    "the interrupt does not read back");
	vcpu_run_ucall(vcpu, UCALL_SYNC, &uc);
	TEST_ASSERT_EQ(uc.args[0], 2);
	ksft_print_msg("interrupt 0x30 set as an event delivered: ok\n");

	memset(&ev, 0, sizeof(ev));
	ev.flags = KVM_VCPUEVENT_VALID_NMI_PENDING;
	ev.nmi.pending = 1;
	set_events(vcpu, &ev, 0);
	run_to_port(vcpu, 0x80);
	ksft_print_msg("pending NMI set as an event delivered: ok\n");

	vcpu_ioctl(vcpu, KVM_GET_VCPU_EVENTS, &ev);
	TEST_ASSERT(ev.interrupt.shadow & KVM_X86_SHADOW_INT_STI,
		    "no STI shadow right after STI: %#x", ev.interrupt.shadow);
	ksft_print_msg("STI shadow %#x seen at an exit right after STI: ok\n",
		       ev.interrupt.shadow);

	if (kvm_check_cap(KVM_CAP_SYNC_REGS) & KVM_SYNC_X86_REGS) {
		run->kvm_valid_regs = 1 << 10;
		TEST_ASSERT(__vcpu_run(vcpu) == -1 && errno == EINVAL,
			    "an unknown sync field is not EINVAL");
		run->kvm_valid_regs = KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS |
				      KVM_SYNC_X86_EVENTS;
		run_to_port(vcpu, 0x81);
		vcpu_regs_get(vcpu, &regs);
		TEST_ASSERT_EQ(run->s.regs.regs.rip, regs.rip);
		TEST_ASSERT_EQ(run->s.regs.regs.rsp, regs.rsp);
		TEST_ASSERT(run->s.regs.sregs.cr0 & 1, "synced CR0 %#llx",
			    run->s.regs.sregs.cr0);
		run->s.regs.regs.r12 = 0x1234;
		run->kvm_dirty_regs = KVM_SYNC_X86_REGS;
		vcpu_run_ucall(vcpu, UCALL_DONE, &uc);
		TEST_ASSERT_EQ(run->kvm_dirty_regs, 0);
		ksft_print_msg("sync regs out after KVM_RUN and in through kvm_dirty_regs: ok\n");
	} else {
		run_to_port(vcpu, 0x81);
		ksft_print_msg("KVM_CAP_SYNC_REGS not offered: not tested\n");
	}
	kvm_vm_free(vm);
	ksft_exit_pass();
}
