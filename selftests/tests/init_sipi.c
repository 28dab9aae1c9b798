// SPDX-License-Identifier: GPL-2.0
/*
 * init_sipi: the BSP starts an application processor the way firmware
 * does, with an INIT IPI and a start-up IPI through its local APIC.  The
 * AP's thread sits in KVM_RUN meanwhile: an AP that never saw INIT sleeps
 * there (KVM returns -EAGAIN once INIT arrives, and userspace calls
 * again), then waits for the SIPI, and finally runs real-mode code at
 * vector * 4K with CS = vector << 8, which writes a word to a port.
 */
#include <pthread.h>
#include <sys/ioctl.h>
#include <time.h>

#include "apic.h"
#include "kvm_util.h"

#define SIPI_VECTOR	0x09		/* the AP starts at 0x9000 */
#define AP_PORT		0x510
#define AP_MAGIC	0x1234

/* mov ax, AP_MAGIC; mov dx, AP_PORT; out dx, ax; 1: hlt; jmp 1b */
static const uint8_t trampoline[] = {
	0xb8, AP_MAGIC & 0xff, AP_MAGIC >> 8,
	0xba, AP_PORT & 0xff, AP_PORT >> 8,
	0xef, 0xf4, 0xeb, 0xfd,
};

static void guest_bsp(void)
{
	xapic_enable();
	GUEST_ASSERT_EQ(xapic_read(APIC_ID) >> 24, 0);
	xapic_send_ipi(1, APIC_DM_INIT | APIC_LEVEL_ASSERT);
	xapic_send_ipi(1, APIC_DM_STARTUP | APIC_LEVEL_ASSERT | SIPI_VECTOR);
	GUEST_DONE();
}

struct ap_result {
	struct kvm_vcpu *vcpu;
	int eagain;		/* KVM_RUN calls that returned -EAGAIN */
	int r, err;
};

static void *ap_thread(void *arg)
{
	struct ap_result *res = arg;

	for (;;) {
		res->r = ioctl(res->vcpu->fd, KVM_RUN, NULL);
		res->err = errno;
		if (res->r == -1 && errno == EAGAIN) {
			res->eagain++;
			continue;
		}
		return NULL;
	}
}

static uint32_t mp_state(struct kvm_vcpu *vcpu)
{
	struct kvm_mp_state mp;

	vcpu_ioctl(vcpu, KVM_GET_MP_STATE, &mp);
	return mp.mp_state;
}

int main(void)
{
	struct ap_result res = { 0 };
	struct kvm_vcpu *bsp, *ap;
	struct kvm_sregs sregs;
	struct timespec deadline;
	struct kvm_vm *vm;
	struct kvm_run *run;
	pthread_t thread;

	if (!kvm_check_cap(KVM_CAP_IRQCHIP))
		ksft_exit_skip("no in-kernel irqchip (KVM_CAP_IRQCHIP)\n");
	vm = vm_create(VM_MODE_LONG_4K);
	vm_ioctl(vm, KVM_CREATE_IRQCHIP, NULL);
	bsp = vm_vcpu_add(vm, 0, guest_bsp);
	ap = vm_vcpu_add(vm, 1, guest_bsp);
	apic_map(vm);
	memcpy(addr_gpa2hva(vm, SIPI_VECTOR << 12), trampoline,
	       sizeof(trampoline));

	/* An AP that is powered on but never started. */
	vcpu_ioctl(ap, KVM_SET_MP_STATE,
		   &(struct kvm_mp_state){ KVM_MP_STATE_UNINITIALIZED });
	TEST_ASSERT_EQ(mp_state(ap), KVM_MP_STATE_UNINITIALIZED);
	res.vcpu = ap;
	TEST_ASSERT(!pthread_create(&thread, NULL, ap_thread, &res),
		    "pthread_create");

	vcpu_run_ucall(bsp, UCALL_DONE, NULL);

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 30;
	TEST_ASSERT(!pthread_timedjoin_np(thread, NULL, &deadline),
		    "the AP did not run after INIT and SIPI (mp_state %u)",
		    mp_state(ap));
	run = ap->run;
	TEST_ASSERT(res.r == 0, "AP's KVM_RUN: %d (%s)", res.r,
		    strerror(res.err));
	TEST_ASSERT_KVM_EXIT_REASON(ap, KVM_EXIT_IO);
	TEST_ASSERT(run->io.port == AP_PORT && run->io.size == 2 &&
		    run->io.direction == KVM_EXIT_IO_OUT,
		    "AP's exit: port %#x size %u dir %u", run->io.port,
		    run->io.size, run->io.direction);
	TEST_ASSERT_EQ(*(uint16_t *)((char *)run + run->io.data_offset),
		       AP_MAGIC);
	TEST_ASSERT(res.eagain >= 1, "KVM_RUN never returned -EAGAIN for INIT");
	vcpu_sregs_get(ap, &sregs);
	TEST_ASSERT(sregs.cs.selector == SIPI_VECTOR << 8 &&
		    sregs.cs.base == SIPI_VECTOR << 12,
		    "AP's CS %#x base %#llx", sregs.cs.selector, sregs.cs.base);
	TEST_ASSERT(!(sregs.cr0 & 1), "AP is not in real mode: CR0 %#llx",
		    sregs.cr0);
	TEST_ASSERT_EQ(mp_state(ap), KVM_MP_STATE_RUNNABLE);
	ksft_print_msg("AP started by INIT + SIPI at %#x, -EAGAIN %d time(s): ok\n",
		       SIPI_VECTOR << 12, res.eagain);

	kvm_vm_free(vm);
	ksft_exit_pass();
}
