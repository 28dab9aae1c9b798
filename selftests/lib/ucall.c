// SPDX-License-Identifier: GPL-2.0
/*
 * ucall.c - guest to host calls through port I/O, see include/ucall.h.
 *
 * This file also holds the string functions the guest may end up calling.
 * Guest code runs from the guest's copy of the test binary, loaded from the
 * ELF file: glibc's memcpy()/memset() are IFUNCs resolved at startup in the
 * host process only, and may use AVX, which the guest has not enabled.
 * GCC can emit calls to them by itself (struct copies, zeroing), so we
 * replace them for the whole (static) program with simple versions that
 * are safe in the guest.  They are fast enough for the host too.
 */
#include <stdarg.h>
#include <stddef.h>

#include "kvm_util.h"

/* ------------------------------------------------------------------ */
/* Guest side: nothing here may call into libc.                         */

void *memcpy(void *dst, const void *src, size_t n)
{
	void *ret = dst;

	asm volatile("rep movsb" : "+D"(dst), "+S"(src), "+c"(n) : : "memory");
	return ret;
}

void *memset(void *dst, int c, size_t n)
{
	void *ret = dst;

	asm volatile("rep stosb" : "+D"(dst), "+c"(n) : "a"(c) : "memory");
	return ret;
}

void *memmove(void *dst, const void *src, size_t n)
{
	const void *s;
	void *d;

	if (dst <= src || (const char *)src + n <= (char *)dst)
		return memcpy(dst, src, n);

	/* overlapping, dst above src: copy backwards */
	d = (char *)dst + n - 1;
	s = (const char *)src + n - 1;
	asm volatile("std\n\trep movsb\n\tcld"
		     : "+D"(d), "+S"(s), "+c"(n) : : "memory");
	return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;

	for (; n; n--, x++, y++)
		if (*x != *y)
			return *x - *y;
	return 0;
}

void ucall(uint64_t cmd, int nargs, ...)
{
	struct ucall uc;
	va_list ap;
	int i;

	uc.cmd = cmd;
	va_start(ap, nargs);
	for (i = 0; i < UCALL_MAX_ARGS; i++)
		uc.args[i] = i < nargs ? va_arg(ap, uint64_t) : 0;
	va_end(ap);

	/* "memory": uc must be in memory before the host looks at it. */
	asm volatile("outb %%al, %%dx"
		     : : "a"(0), "d"(UCALL_PORT), "D"(&uc) : "memory");
}

/* ------------------------------------------------------------------ */
/* Host side                                                            */

const char *ucall_name(uint64_t cmd)
{
	static const char * const names[] = {
		"UCALL_NONE", "UCALL_SYNC", "UCALL_ABORT", "UCALL_DONE",
		"UCALL_UNHANDLED",
	};

	return cmd < ARRAY_SIZE(names) ? names[cmd] : "unknown ucall";
}

/*
 * Copy the ucall the guest made, if the last exit was one, without
 * completing the port I/O.  Returns its command, or UCALL_NONE.
 */
uint64_t ucall_peek(struct kvm_vcpu *vcpu, struct ucall *uc)
{
	struct kvm_run *run = vcpu->run;
	struct kvm_regs regs;
	uint64_t gva;

	memset(uc, 0, sizeof(*uc));
	if (run->exit_reason != KVM_EXIT_IO || run->io.port != UCALL_PORT)
		return UCALL_NONE;

	TEST_ASSERT(run->io.direction == KVM_EXIT_IO_OUT && run->io.count == 1,
		    "ucall port %#x used with direction %u count %u",
		    UCALL_PORT, run->io.direction, run->io.count);

	vcpu_regs_get(vcpu, &regs);
	gva = regs.rdi & vm_modes[vcpu->vm->mode].addr_mask;
	memcpy(uc, addr_gva2hva(vcpu->vm, gva), sizeof(*uc));
	TEST_ASSERT(uc->cmd != UCALL_NONE && uc->cmd <= UCALL_UNHANDLED,
		    "guest made a ucall with bad command %lu (struct at %#lx)",
		    (unsigned long)uc->cmd, (unsigned long)gva);
	return uc->cmd;
}

/* Copy a string the guest passed by address, as far as it is readable. */
static void guest_string(struct kvm_vm *vm, uint64_t gva, char *buf,
			 size_t size)
{
	size_t i;

	for (i = 0; i + 1 < size; i++) {
		buf[i] = *(char *)addr_gva2hva(vm, gva + i);
		if (!buf[i])
			return;
	}
	buf[i] = '\0';
}

/*
 * Fail the test if the guest reported a failed assertion or an exception
 * nobody handled.  vcpu_run() calls this after every exit.
 */
void ucall_check_fatal(struct kvm_vcpu *vcpu)
{
	char expr[256], file[128];
	struct ucall uc;

	switch (ucall_peek(vcpu, &uc)) {
	case UCALL_ABORT:
		guest_string(vcpu->vm, uc.args[UCALL_ABORT_EXPR], expr,
			     sizeof(expr));
		guest_string(vcpu->vm, uc.args[UCALL_ABORT_FILE], file,
			     sizeof(file));
		/* reported like a TEST_ASSERT() at the guest's file:line */
		if (uc.args[UCALL_ABORT_HAS_VALUES])
			test_assert_fail(file, uc.args[UCALL_ABORT_LINE], expr, 0,
					 "in the guest: %#lx != %#lx",
					 (unsigned long)uc.args[UCALL_ABORT_A],
					 (unsigned long)uc.args[UCALL_ABORT_B]);
		test_assert_fail(file, uc.args[UCALL_ABORT_LINE], expr, 0,
				 "in the guest");
		break;
	case UCALL_UNHANDLED:
		errno = 0;
		TEST_FAIL("unhandled exception in guest: vector %lu (%s) at rip %#lx, error %#lx",
			  (unsigned long)uc.args[UCALL_UNHANDLED_VECTOR],
			  exception_name(uc.args[UCALL_UNHANDLED_VECTOR]),
			  (unsigned long)uc.args[UCALL_UNHANDLED_RIP],
			  (unsigned long)uc.args[UCALL_UNHANDLED_ERROR_CODE]);
		break;
	}
}

/*
 * If the last exit was a ucall, copy it to *uc (if not NULL), finish the
 * OUT instruction so that the guest registers are final, and return its
 * command.  Otherwise return UCALL_NONE.
 */
uint64_t get_ucall(struct kvm_vcpu *vcpu, struct ucall *uc)
{
	struct ucall tmp;
	uint64_t cmd;

	cmd = ucall_peek(vcpu, &tmp);
	if (cmd != UCALL_NONE)
		vcpu_run_complete_io(vcpu);
	if (uc)
		*uc = tmp;
	return cmd;
}

uint64_t vcpu_run_ucall(struct kvm_vcpu *vcpu, uint64_t expected,
			struct ucall *uc)
{
	struct kvm_run *run = vcpu->run;
	struct ucall tmp;
	uint64_t cmd;

	vcpu_run(vcpu);
	cmd = get_ucall(vcpu, &tmp);
	TEST_ASSERT(cmd != UCALL_NONE,
		    "expected %s, got exit reason %u (%s) (io port %#x)",
		    ucall_name(expected), run->exit_reason,
		    exit_reason_str(run->exit_reason),
		    run->exit_reason == KVM_EXIT_IO ? run->io.port : 0);
	TEST_ASSERT(cmd == expected, "expected %s, got %s (arg %#lx)",
		    ucall_name(expected), ucall_name(cmd),
		    (unsigned long)tmp.args[0]);
	if (uc)
		*uc = tmp;
	return tmp.args[0];
}
