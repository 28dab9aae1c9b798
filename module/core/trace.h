/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvisor's tracepoints: in-tree KVM's, by name, system, field names and
 * field types (Linux 6.1's arch/x86/kvm/trace.h and
 * include/trace/events/kvm.h), so that the tools written for KVM read
 * them unchanged: "perf kvm stat" pairs kvm:kvm_entry with kvm:kvm_exit
 * and keys on exit_reason; kvm_stat and trace-cmd read the same fields.
 * Only the events' arguments are kvisor's own.
 *
 * CREATE_TRACE_POINTS is defined in core/trace.c only.  Common code
 * traces; vmx/ and svm/ never include this file: kvm_exit's vendor
 * fields come through kvisor_vendor_ops.get_exit_info, called only while
 * the event is enabled.  Disabled, each trace_kvm_*() is a static branch
 * that is not taken.
 *
 * The exit reason is printed by name from the kernel's own tables in
 * <uapi/asm/vmx.h> and <uapi/asm/svm.h>, which perf uses too; they are
 * Linux's architectural constants, not kvisor's vendor headers.
 *
 * Loaded beside in-tree kvm.ko the two "kvm" systems share tracefs:
 * Documentation/design.rst, "Tracepoints", says who owns the names.
 */
#if !defined(KVISOR_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define KVISOR_TRACE_H

#include <linux/tracepoint.h>
#include <uapi/asm/vmx.h>
#include <uapi/asm/svm.h>

#include "core/vendor.h"

#ifndef KVISOR_TRACE_HELPERS
#define KVISOR_TRACE_HELPERS
/* The first @len bytes at @src (none when NULL), little-endian */
static inline void kvisor_trace_copy(u64 *dst, const void *src, u32 len)
{
	*dst = 0;
	if (src)
		memcpy(dst, src, min_t(u32, sizeof(*dst), len));
}
#endif

#undef TRACE_SYSTEM
#define TRACE_SYSTEM kvm

/* Entering the guest: RIP is where it resumes. */
TRACE_EVENT(kvm_entry,
	    TP_PROTO(struct kvisor_vcpu *vcpu),
	    TP_ARGS(vcpu),
	    TP_STRUCT__entry(__field(unsigned int, vcpu_id)
			     __field(unsigned long, rip)
			     __field(bool, immediate_exit)),
	    TP_fast_assign(__entry->vcpu_id = vcpu->id;
			   __entry->rip = vcpu->rip;
			   /* kvisor never forces an exit right after entry */
			   __entry->immediate_exit = false;),
	    TP_printk("vcpu %u, rip 0x%lx%s", __entry->vcpu_id, __entry->rip,
		      __entry->immediate_exit ? "[immediate exit]" : "")
);

/* KVM's values of the isa field, which perf reads. */
#define KVM_ISA_VMX	KVISOR_ISA_VMX
#define KVM_ISA_SVM	KVISOR_ISA_SVM

/*
 * Leaving the guest, before the exit is handled: the vendor's exit
 * reason (the VMX basic reason with its flags, or the SVM exit code) and
 * its exit information as KVM reports it (get_exit_info in vendor.h).
 * The reason prints by name: VMX's basic reason, then its flags.
 */
TRACE_EVENT(kvm_exit,
	    TP_PROTO(struct kvisor_vcpu *vcpu),
	    TP_ARGS(vcpu),
	    TP_STRUCT__entry(__field(unsigned int, exit_reason)
			     __field(unsigned long, guest_rip)
			     __field(u32, isa)
			     __field(u64, info1)
			     __field(u64, info2)
			     __field(u32, intr_info)
			     __field(u32, error_code)
			     __field(unsigned int, vcpu_id)),
	    TP_fast_assign(__entry->guest_rip = vcpu->rip;
			   __entry->isa = kvisor_ops->isa;
			   __entry->vcpu_id = vcpu->id;
			   kvisor_ops->get_exit_info(vcpu, &__entry->exit_reason,
						     &__entry->info1, &__entry->info2,
						     &__entry->intr_info,
						     &__entry->error_code);),
	    TP_printk("vcpu %u reason %s%s%s rip 0x%lx info1 0x%016llx info2 0x%016llx intr_info 0x%08x error_code 0x%08x",
		      __entry->vcpu_id,
		      __entry->isa == KVM_ISA_VMX ?
		      __print_symbolic(__entry->exit_reason & 0xffff, VMX_EXIT_REASONS) :
		      __print_symbolic(__entry->exit_reason, SVM_EXIT_REASONS),
		      __entry->isa == KVM_ISA_VMX && __entry->exit_reason & ~0xffff ?
		      " " : "",
		      __entry->isa == KVM_ISA_VMX ?
		      __print_flags(__entry->exit_reason & ~0xffff, " ",
				    VMX_EXIT_REASON_FLAGS) : "",
		      __entry->guest_rip, __entry->info1, __entry->info2,
		      __entry->intr_info, __entry->error_code)
);

/* KVM's exit reason names for kvm_userspace_exit */
#define KVISOR_TRACE_ERSN(x) { KVM_EXIT_##x, "KVM_EXIT_" #x }

/* KVM_RUN returns to userspace: run->exit_reason, or the errno. */
TRACE_EVENT(kvm_userspace_exit,
	    TP_PROTO(__u32 reason, int errno),
	    TP_ARGS(reason, errno),
	    TP_STRUCT__entry(__field(__u32, reason)
			     __field(int, errno)),
	    TP_fast_assign(__entry->reason = reason;
			   __entry->errno = errno;),
	    TP_printk("reason %s (%d)",
		      __entry->errno < 0 ?
		      (__entry->errno == -EINTR ? "restart" : "error") :
		      __print_symbolic(__entry->reason,
				       KVISOR_TRACE_ERSN(UNKNOWN),
				       KVISOR_TRACE_ERSN(EXCEPTION),
				       KVISOR_TRACE_ERSN(IO),
				       KVISOR_TRACE_ERSN(HYPERCALL),
				       KVISOR_TRACE_ERSN(DEBUG),
				       KVISOR_TRACE_ERSN(HLT),
				       KVISOR_TRACE_ERSN(MMIO),
				       KVISOR_TRACE_ERSN(IRQ_WINDOW_OPEN),
				       KVISOR_TRACE_ERSN(SHUTDOWN),
				       KVISOR_TRACE_ERSN(FAIL_ENTRY),
				       KVISOR_TRACE_ERSN(INTR),
				       KVISOR_TRACE_ERSN(SET_TPR),
				       KVISOR_TRACE_ERSN(TPR_ACCESS),
				       KVISOR_TRACE_ERSN(NMI),
				       KVISOR_TRACE_ERSN(INTERNAL_ERROR),
				       KVISOR_TRACE_ERSN(SYSTEM_EVENT),
				       KVISOR_TRACE_ERSN(IOAPIC_EOI),
				       KVISOR_TRACE_ERSN(X86_RDMSR),
				       KVISOR_TRACE_ERSN(X86_WRMSR)),
		      __entry->errno < 0 ? -__entry->errno : __entry->reason)
);

/* Port I/O: an OUT when it leaves, an IN when its data has arrived. */
#define KVM_PIO_IN	0
#define KVM_PIO_OUT	1

TRACE_EVENT(kvm_pio,
	    TP_PROTO(unsigned int rw, unsigned int port, unsigned int size,
		     unsigned int count, const void *data),
	    TP_ARGS(rw, port, size, count, data),
	    TP_STRUCT__entry(__field(unsigned int, rw)
			     __field(unsigned int, port)
			     __field(unsigned int, size)
			     __field(unsigned int, count)
			     __field(unsigned int, val)),
	    TP_fast_assign(__entry->rw = rw;
			   __entry->port = port;
			   __entry->size = size;
			   __entry->count = count;
			   /* the first item, little-endian, as KVM reports it */
			   __entry->val = 0;
			   memcpy(&__entry->val, data, min_t(unsigned int, size, 4));),
	    TP_printk("pio_%s at 0x%x size %d count %d val 0x%x %s",
		      __entry->rw ? "write" : "read",
		      __entry->port, __entry->size, __entry->count, __entry->val,
		      __entry->count > 1 ? "(...)" : "")
);

/*
 * MMIO: a write, a read answered in the kernel or by userspace, and a
 * read handed to userspace ("unsatisfied", without a value yet).
 */
#define KVM_TRACE_MMIO_READ_UNSATISFIED	0
#define KVM_TRACE_MMIO_READ		1
#define KVM_TRACE_MMIO_WRITE		2

TRACE_EVENT(kvm_mmio,
	    TP_PROTO(int type, int len, u64 gpa, const void *val),
	    TP_ARGS(type, len, gpa, val),
	    TP_STRUCT__entry(__field(u32, type)
			     __field(u32, len)
			     __field(u64, gpa)
			     __field(u64, val)),
	    TP_fast_assign(__entry->type = type;
			   __entry->len = len;
			   __entry->gpa = gpa;
			   kvisor_trace_copy(&__entry->val, val, len);),
	    TP_printk("mmio %s len %u gpa 0x%llx val 0x%llx",
		      __print_symbolic(__entry->type,
				       { KVM_TRACE_MMIO_READ_UNSATISFIED, "unsatisfied-read" },
				       { KVM_TRACE_MMIO_READ, "read" },
				       { KVM_TRACE_MMIO_WRITE, "write" }),
		      __entry->len, __entry->gpa, __entry->val)
);

/*
 * CPUID answered: @function as the guest asked (before an out-of-range
 * leaf was redirected), whether it was in the table, and whether the
 * answer is the highest basic leaf's (Intel's rule for leaves past it).
 */
TRACE_EVENT(kvm_cpuid,
	    TP_PROTO(unsigned int function, unsigned int index, unsigned long rax,
		     unsigned long rbx, unsigned long rcx, unsigned long rdx,
		     bool found, bool used_max_basic),
	    TP_ARGS(function, index, rax, rbx, rcx, rdx, found, used_max_basic),
	    TP_STRUCT__entry(__field(unsigned int, function)
			     __field(unsigned int, index)
			     __field(unsigned long, rax)
			     __field(unsigned long, rbx)
			     __field(unsigned long, rcx)
			     __field(unsigned long, rdx)
			     __field(bool, found)
			     __field(bool, used_max_basic)),
	    TP_fast_assign(__entry->function = function;
			   __entry->index = index;
			   __entry->rax = rax;
			   __entry->rbx = rbx;
			   __entry->rcx = rcx;
			   __entry->rdx = rdx;
			   __entry->found = found;
			   __entry->used_max_basic = used_max_basic;),
	    TP_printk("func %x idx %x rax %lx rbx %lx rcx %lx rdx %lx, cpuid entry %s%s",
		      __entry->function, __entry->index, __entry->rax,
		      __entry->rbx, __entry->rcx, __entry->rdx,
		      __entry->found ? "found" : "not found",
		      __entry->used_max_basic ? ", used max basic" : "")
);

/*
 * RDMSR or WRMSR the kernel completed, or answered with #GP
 * (@exception); those userspace handles (KVM_EXIT_X86_RDMSR) are not
 * traced, as in KVM.  KVM declares @write "unsigned", the same type.
 */
TRACE_EVENT(kvm_msr,
	    TP_PROTO(unsigned int write, u32 ecx, u64 data, bool exception),
	    TP_ARGS(write, ecx, data, exception),
	    TP_STRUCT__entry(__field(unsigned int, write)
			     __field(u32, ecx)
			     __field(u64, data)
			     __field(u8, exception)),
	    TP_fast_assign(__entry->write = write;
			   __entry->ecx = ecx;
			   __entry->data = data;
			   __entry->exception = exception;),
	    TP_printk("msr_%s %x = 0x%llx%s",
		      __entry->write ? "write" : "read",
		      __entry->ecx, __entry->data,
		      __entry->exception ? " (#GP)" : "")
);

/* An external interrupt goes into the guest at the next entry. */
TRACE_EVENT(kvm_inj_virq,
	    TP_PROTO(unsigned int vector, bool soft, bool reinjected),
	    TP_ARGS(vector, soft, reinjected),
	    TP_STRUCT__entry(__field(unsigned int, vector)
			     __field(bool, soft)
			     __field(bool, reinjected)),
	    TP_fast_assign(__entry->vector = vector;
			   __entry->soft = soft;
			   __entry->reinjected = reinjected;),
	    TP_printk("%s 0x%x%s",
		      __entry->soft ? "Soft/INTn" : "IRQ", __entry->vector,
		      __entry->reinjected ? " [reinjected]" : "")
);

/*
 * A LAPIC was offered an interrupt: @dm is the delivery mode in its ICR
 * position (bits 10:8), @tm the trigger mode (1: level).
 */
TRACE_EVENT(kvm_apic_accept_irq,
	    TP_PROTO(__u32 apicid, __u16 dm, __u16 tm, __u8 vec),
	    TP_ARGS(apicid, dm, tm, vec),
	    TP_STRUCT__entry(__field(__u32, apicid)
			     __field(__u16, dm)
			     __field(__u16, tm)
			     __field(__u8, vec)),
	    TP_fast_assign(__entry->apicid = apicid;
			   __entry->dm = dm;
			   __entry->tm = tm;
			   __entry->vec = vec;),
	    TP_printk("apicid %x vec %u (%s|%s)",
		      __entry->apicid, __entry->vec,
		      __print_symbolic((__entry->dm >> 8 & 0x7),
				       { 0x0, "Fixed" }, { 0x1, "LowPrio" },
				       { 0x2, "SMI" }, { 0x3, "Res3" },
				       { 0x4, "NMI" }, { 0x5, "INIT" },
				       { 0x6, "SIPI" }, { 0x7, "ExtINT" }),
		      __entry->tm ? "level" : "edge")
);

/* VMCALL or VMMCALL: RAX, then RBX, RCX, RDX, RSI. */
TRACE_EVENT(kvm_hypercall,
	    TP_PROTO(unsigned long nr, unsigned long a0, unsigned long a1,
		     unsigned long a2, unsigned long a3),
	    TP_ARGS(nr, a0, a1, a2, a3),
	    TP_STRUCT__entry(__field(unsigned long, nr)
			     __field(unsigned long, a0)
			     __field(unsigned long, a1)
			     __field(unsigned long, a2)
			     __field(unsigned long, a3)),
	    TP_fast_assign(__entry->nr = nr;
			   __entry->a0 = a0;
			   __entry->a1 = a1;
			   __entry->a2 = a2;
			   __entry->a3 = a3;),
	    TP_printk("nr 0x%lx a0 0x%lx a1 0x%lx a2 0x%lx a3 0x%lx",
		      __entry->nr, __entry->a0, __entry->a1, __entry->a2,
		      __entry->a3)
);

#endif /* KVISOR_TRACE_H */

/* This part must be outside the include guard. */
#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH core
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE trace
#include <trace/define_trace.h>
