/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ucall.h - "user calls": how guest code talks to the test program.
 *
 * The guest fills a struct ucall in its memory, points RDI (EDI in 32-bit
 * mode, DI in real mode) at it and writes a byte to port UCALL_PORT.  The
 * OUT exits to userspace as KVM_EXIT_IO; get_ucall() reads RDI with
 * KVM_GET_REGS, translates the address and copies the struct out.
 */
#ifndef KVISOR_SELFTEST_UCALL_H
#define KVISOR_SELFTEST_UCALL_H

#include <stdint.h>

#define UCALL_PORT		0x1000
#define UCALL_MAX_ARGS		6

enum {
	UCALL_NONE,		/* not a ucall exit */
	UCALL_SYNC,		/* GUEST_SYNC(arg): args[0] = arg */
	UCALL_ABORT,		/* a GUEST_ASSERT failed, see below */
	UCALL_DONE,		/* GUEST_DONE(): the guest finished */
	UCALL_UNHANDLED,	/* exception: vector, RIP, error code */
};

struct ucall {
	uint64_t cmd;
	uint64_t args[UCALL_MAX_ARGS];
};

/* UCALL_ABORT arguments; the strings are guest addresses */
enum {
	UCALL_ABORT_EXPR,	/* the failed condition, as text */
	UCALL_ABORT_FILE,
	UCALL_ABORT_LINE,
	UCALL_ABORT_HAS_VALUES,	/* 1 if the next two are meaningful */
	UCALL_ABORT_A,
	UCALL_ABORT_B,
};

/* UCALL_UNHANDLED arguments */
enum {
	UCALL_UNHANDLED_VECTOR,
	UCALL_UNHANDLED_RIP,
	UCALL_UNHANDLED_ERROR_CODE,
};

/* Guest side.  All arguments are passed as uint64_t. */
void ucall(uint64_t cmd, int nargs, ...);

#define GUEST_SYNC(arg)		ucall(UCALL_SYNC, 1, (uint64_t)(arg))
#define GUEST_SYNC2(a, b)	ucall(UCALL_SYNC, 2, (uint64_t)(a), (uint64_t)(b))
#define GUEST_DONE()		ucall(UCALL_DONE, 0)

#define GUEST_ASSERT(cond)						\
do {									\
	if (!(cond))							\
		ucall(UCALL_ABORT, 4, (uint64_t)#cond,			\
		      (uint64_t)__FILE__, (uint64_t)__LINE__, 0ULL);	\
} while (0)

#define GUEST_ASSERT_EQ(a, b)						\
do {									\
	uint64_t __ga = (uint64_t)(a), __gb = (uint64_t)(b);		\
	if (__ga != __gb)						\
		ucall(UCALL_ABORT, 6, (uint64_t)(#a " == " #b),		\
		      (uint64_t)__FILE__, (uint64_t)__LINE__, 1ULL,	\
		      __ga, __gb);					\
} while (0)

/* Host side */
struct kvm_vcpu;

uint64_t get_ucall(struct kvm_vcpu *vcpu, struct ucall *uc);
uint64_t ucall_peek(struct kvm_vcpu *vcpu, struct ucall *uc);
void ucall_check_fatal(struct kvm_vcpu *vcpu);
const char *ucall_name(uint64_t cmd);

/* Run until the next ucall and check it is the expected one. */
uint64_t vcpu_run_ucall(struct kvm_vcpu *vcpu, uint64_t expected,
			struct ucall *uc);

#endif /* KVISOR_SELFTEST_UCALL_H */
