// SPDX-License-Identifier: GPL-2.0
/*
 * CPUID: what the guest's CPUID instruction returns, and the ioctls that
 * decide it.  KVM_GET_SUPPORTED_CPUID says what kvisor can offer;
 * KVM_SET_CPUID2 gives a vCPU its table, KVM_GET_CPUID2 reads it back.
 *
 * As in KVM, a new vCPU has an empty table, which answers every leaf with
 * zeros, and userspace normally hands it (a subset of) the supported
 * table.  At a CPUID exit the leaf is looked up in the vCPU's table and the
 * bits that follow the guest's own state (OSXSAVE, APIC, the XSAVE area
 * size) are filled in, as KVM does.
 *
 * The supported table needs no vendor hook: everything on the allow-list
 * runs natively under both EPT and NPT, and what would need an extra VMX
 * control or SVM intercept (INVPCID) is left out on both; RDTSCP, RDPID and
 * XSAVES are offered where the backend says they work (kvisor_caps).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <asm/cpufeature.h>
#include <asm/fpu/xcr.h>
#include <asm/kvm_para.h>
#include <asm/msr-index.h>
#include <asm/processor.h>
#include <asm/processor-flags.h>

#include "core/kvisor.h"
#include "core/trace.h"

/* KVM_MAX_CPUID_ENTRIES: the largest table the ioctls accept. */
#define KVISOR_MAX_CPUID_ENTRIES	256

/* A feature bit in its CPUID register, by the kernel's name for it. */
#define F(name)		BIT(X86_FEATURE_##name & 31)

/*
 * The supported table, leaf by leaf.  Feature bits are an allow-list: a
 * bit is offered only if it is listed below, the CPU reports it and the
 * host kernel uses it (boot_cpu_data, where "noxsave", "clearcpuid=" and
 * errata switch features off).  Values that are not features are the
 * host's where they describe the CPU, zero where they would describe
 * hardware a guest does not have.
 *
 *   0            the highest basic leaf in this table (at most 0xd), the
 *                host's vendor string
 *   1            EAX: the host's family, model, stepping; EBX: only the
 *                CLFLUSH line size (no APIC ID, no logical CPU count);
 *                ECX, EDX: KVISOR_1_ECX, KVISOR_1_EDX, and the hypervisor
 *                bit; OSXSAVE is filled in at each CPUID from CR4
 *   2-6, 8-0xc   absent, so zeros: no cache or topology description,
 *                no MONITOR/MWAIT, thermal or PMU (0xa) leaves
 *   7.0          EAX = 0 (no further subleaves), EBX: KVISOR_7_EBX,
 *                ECX: RDPID where kvisor_caps.tsc_aux, EDX: the
 *                speculation controls (kvisor_spec_7_edx())
 *   0xd.0-2      XSAVE, for XCR0 = x87 | SSE | AVX as far as the host
 *                has them; 0xd.1: KVISOR_D_1_EAX, and XSAVES where
 *                kvisor_caps.xsaves, no IA32_XSS states;
 *                0xd.2 (AVX) as the host's
 *   0x40000000   KVM's signature "KVMKVMKVM", and 0x40000001 as the last
 *                KVM leaf
 *   0x40000001   KVM's paravirtual features: kvmclock, PV sched yield
 *   0x80000000   the highest extended leaf here (at most 0x80000008),
 *                the host's vendor string (AMD has one there)
 *   0x80000001   EAX: the host's signature; ECX, EDX: KVISOR_8_1_ECX,
 *                KVISOR_8_1_EDX, and RDTSCP where kvisor_caps.tsc_aux
 *   0x80000002-4 the host's brand string
 *   0x80000008   EAX: the host's physical and virtual address sizes
 *                (virtual at least 48, as KVM reports); EBX: the
 *                speculation controls (kvisor_spec_8_8_ebx())
 */

/* CPUID.1:EDX bits AMD repeats at the same places in 0x80000001:EDX. */
#define KVISOR_COMMON_EDX						\
	(F(FPU) | F(DE) | F(PSE) | F(TSC) |				\
	 F(MSR) |	/* the instructions; msrs.c says which MSRs  */	\
	 F(PAE) | F(MCE) | F(CX8) |					\
	 F(APIC) |	/* as KVM: an APIC exists, in userspace or not */ \
	 F(PGE) | F(CMOV) | F(PAT) | F(PSE36) | F(MMX) | F(FXSR) |	\
	 F(MTRR) |	/* kept, not applied (msrs.c) */		\
	 F(MCA))	/* the banks of mce.c */

/*
 * Left out: VME (not validated), HTT (no topology), PSN, DS, ACPI, TM,
 * PBE, SS (host-only facilities).
 */
#define KVISOR_1_EDX							\
	(KVISOR_COMMON_EDX | F(SEP) | F(CLFLUSH) | F(XMM) | F(XMM2))

/*
 * Left out: MONITOR (MONITOR/MWAIT raise #UD), VMX and SMX (no nesting),
 * PCID (INVPCID is not enabled for VMX guests), TSC-deadline (as in KVM,
 * userspace sets it after KVM_CAP_TSC_DEADLINE_TIMER), PDCM, DTES64, DS-CPL, EST, TM2, xTPR, DCA
 * (MSRs and host power management kvisor does not emulate).
 */
#define KVISOR_1_ECX							\
	(F(XMM3) | F(PCLMULQDQ) | F(SSSE3) | F(FMA) | F(CX16) |		\
	 F(XMM4_1) | F(XMM4_2) | F(MOVBE) | F(POPCNT) | F(AES) |	\
	 F(XSAVE) | F(AVX) | F(F16C) | F(RDRAND))

/*
 * Left out: INVPCID (needs a VMX control kvisor does not set),
 * RTM and HLE (their control MSRs), AVX-512 (states not offered in XCR0),
 * Intel PT, SGX, PQM/PQE (host resources).
 */
#define KVISOR_7_EBX							\
	(F(FSGSBASE) | F(BMI1) | F(AVX2) | F(SMEP) | F(BMI2) | F(ERMS) |\
	 F(RDSEED) | F(ADX) | F(SMAP) | F(CLFLUSHOPT))

/*
 * XSAVES only where kvisor_caps.xsaves (on VMX it needs a control), with
 * no supervisor state (IA32_XSS is always 0: fpu.c).  Left out: XFD.
 */
#define KVISOR_D_1_EAX	(F(XSAVEOPT) | F(XSAVEC) | F(XGETBV1))

/* PREFETCHW is 3DNOWPREFETCH, LZCNT is ABM.  Left out: SVM and the rest. */
#define KVISOR_8_1_ECX	(F(LAHF_LM) | F(ABM) | F(3DNOWPREFETCH))

/*
 * RDTSCP (and RDPID, in 7.ECX) only where the backend runs them with the
 * guest's IA32_TSC_AUX (kvisor_caps.tsc_aux).  Left out: AMD's MMX and
 * 3DNow! extensions.
 */
#define KVISOR_8_1_EDX							\
	(KVISOR_COMMON_EDX | F(SYSCALL) | F(NX) | F(GBPAGES) | F(LM))
#define KVISOR_TSC_AUX_8_1_EDX	F(RDTSCP)
#define KVISOR_TSC_AUX_7_ECX	F(RDPID)

/* What needs the AVX state in XCR0. */
#define KVISOR_AVX_1_ECX	(F(AVX) | F(FMA) | F(F16C))
#define KVISOR_AVX_7_EBX	F(AVX2)

/* The XCR0 states kvisor offers. */
#define KVISOR_XCR0	KVISOR_GUEST_XCR0

/* Room for every entry kvisor_build_supported() can add (12). */
#define KVISOR_SUPPORTED_NENT	16

/* Of a host feature register, the bits on @allowed the kernel uses too. */
static u32 kvisor_allowed(u32 host, enum cpuid_leafs word, u32 allowed)
{
	return host & allowed & boot_cpu_data.x86_capability[word];
}

/*
 * The size of an XSAVE area for the states in @xcr0: the legacy area and
 * the header, then each extended state where CPUID.0xd.i puts it, or, in
 * the compacted format of XSAVEC, one after the other.
 */
static u32 kvisor_xsave_size(u64 xcr0, bool compacted)
{
	u32 size = 512 + 64;
	u32 eax, ebx, ecx, edx;
	int i;

	for (i = 2; i < 64; i++) {
		if (!(xcr0 & BIT_ULL(i)))
			continue;
		cpuid_count(0xd, i, &eax, &ebx, &ecx, &edx);
		if (compacted)
			size = (ecx & BIT(1) ? ALIGN(size, 64) : size) + eax;
		else
			size = max(size, ebx + eax);
	}
	return size;
}

struct kvisor_cpuid_table {
	struct kvm_cpuid_entry2 *entries;
	int nent;
};

/* Append the host's leaf @function.@index to @t. */
static struct kvm_cpuid_entry2 *kvisor_add_leaf(struct kvisor_cpuid_table *t,
						u32 function, u32 index,
						bool indexed)
{
	struct kvm_cpuid_entry2 *e = &t->entries[t->nent++];

	e->function = function;
	e->index = index;
	e->flags = indexed ? KVM_CPUID_FLAG_SIGNIFCANT_INDEX : 0;
	cpuid_count(function, index, &e->eax, &e->ebx, &e->ecx, &e->edx);
	return e;
}

static void kvisor_build_xsave(struct kvisor_cpuid_table *t, u64 xcr0)
{
	struct kvm_cpuid_entry2 *e;

	e = kvisor_add_leaf(t, 0xd, 0, true);
	e->eax = xcr0;
	e->edx = xcr0 >> 32;
	/* The size for all offered states; the guest sees its XCR0's. */
	e->ebx = kvisor_xsave_size(xcr0, false);
	e->ecx = e->ebx;

	e = kvisor_add_leaf(t, 0xd, 1, true);
	e->eax = kvisor_allowed(e->eax, CPUID_D_1_EAX, KVISOR_D_1_EAX |
				(kvisor_caps.xsaves ? F(XSAVES) : 0));
	e->ebx = (e->eax & (F(XSAVEC) | F(XSAVES))) ?
		 kvisor_xsave_size(xcr0, true) : 0;
	e->ecx = 0;
	e->edx = 0;

	if (xcr0 & XFEATURE_MASK_YMM) {
		e = kvisor_add_leaf(t, 0xd, XFEATURE_YMM, true);
		e->ecx &= BIT(1);	/* only "64-byte aligned when compacted" */
		e->edx = 0;
	}
}

/*
 * KVM's own leaves, which userspace and guests look for to know they run
 * on KVM: the signature "KVMKVMKVM" with the highest KVM leaf, and that
 * leaf's paravirtual features: kvmclock (kvmclock.c), with both MSR sets,
 * PV EOI (irq/pv_eoi.c), the kick, IPI and directed yield hypercalls
 * (hypercall.c), halt-poll control (msrs.c), and steal time with the PV
 * TLB flush it carries (steal.c).
 */
static void kvisor_build_kvm_leaves(struct kvisor_cpuid_table *t)
{
	struct kvm_cpuid_entry2 *e = &t->entries[t->nent++];

	*e = (struct kvm_cpuid_entry2) {
		.function = KVM_CPUID_SIGNATURE, .eax = KVM_CPUID_FEATURES,
		.ebx = 0x4b4d564b, .ecx = 0x564b4d56, .edx = 0x4d,
	};
	e = &t->entries[t->nent++];
	*e = (struct kvm_cpuid_entry2) {
		.function = KVM_CPUID_FEATURES,
		.eax = BIT(KVM_FEATURE_CLOCKSOURCE) | BIT(KVM_FEATURE_CLOCKSOURCE2) |
		       BIT(KVM_FEATURE_PV_EOI) | BIT(KVM_FEATURE_PV_UNHALT) |
		       BIT(KVM_FEATURE_PV_SEND_IPI) |
		       BIT(KVM_FEATURE_PV_SCHED_YIELD) |
		       BIT(KVM_FEATURE_POLL_CONTROL) |
		       BIT(KVM_FEATURE_STEAL_TIME) |
		       BIT(KVM_FEATURE_PV_TLB_FLUSH),
	};
}

/* The supported table, see the comment at the top; returns its length. */
/*
 * The speculation-control bits, as KVM 6.1 offers them: the host's,
 * where the host kernel uses them, plus what bugs.c found (IBPB, IBRS,
 * STIBP and SSBD are recorded vendor-neutrally, so each vendor's bits
 * are offered on the other's CPU too, as KVM does).  ARCH_CAPABILITIES
 * is emulated (core/spec.c), so always offered.
 */
#define KVISOR_SPEC_7_EDX						\
	(F(SPEC_CTRL) | F(SPEC_CTRL_SSBD) | F(ARCH_CAPABILITIES) |	\
	 F(INTEL_STIBP) | F(MD_CLEAR))

static u32 kvisor_spec_7_edx(u32 host)
{
	u32 edx = kvisor_allowed(host, CPUID_7_EDX, KVISOR_SPEC_7_EDX);

	edx |= F(ARCH_CAPABILITIES);
	if (boot_cpu_has(X86_FEATURE_IBPB) && boot_cpu_has(X86_FEATURE_IBRS))
		edx |= F(SPEC_CTRL);
	if (boot_cpu_has(X86_FEATURE_STIBP))
		edx |= F(INTEL_STIBP);
	if (boot_cpu_has(X86_FEATURE_AMD_SSBD))
		edx |= F(SPEC_CTRL_SSBD);
	return edx;
}

#define KVISOR_SPEC_8_8_EBX						\
	(F(AMD_IBPB) | F(AMD_IBRS) | F(AMD_SSBD) | F(VIRT_SSBD) |	\
	 F(AMD_SSB_NO) | F(AMD_STIBP) | F(AMD_STIBP_ALWAYS_ON))

static u32 kvisor_spec_8_8_ebx(u32 host)
{
	u32 ebx = kvisor_allowed(host, CPUID_8000_0008_EBX,
				 KVISOR_SPEC_8_8_EBX);

	if (boot_cpu_has(X86_FEATURE_IBPB))
		ebx |= F(AMD_IBPB);
	if (boot_cpu_has(X86_FEATURE_IBRS))
		ebx |= F(AMD_IBRS);
	if (boot_cpu_has(X86_FEATURE_STIBP))
		ebx |= F(AMD_STIBP);
	if (boot_cpu_has(X86_FEATURE_SPEC_CTRL_SSBD))
		ebx |= F(AMD_SSBD);
	if (!boot_cpu_has_bug(X86_BUG_SPEC_STORE_BYPASS))
		ebx |= F(AMD_SSB_NO);
	/* SVM: SSBD through VIRT_SPEC_CTRL (x86_virt_spec_ctrl()). */
	if (kvisor_host_has_virt_ssbd())
		ebx |= F(VIRT_SSBD);
	else
		ebx &= ~F(VIRT_SSBD);
	return ebx;
}

static int kvisor_build_supported(struct kvm_cpuid_entry2 *entries)
{
	struct kvisor_cpuid_table t = { .entries = entries };
	u32 max_basic = cpuid_eax(0), max_ext = cpuid_eax(0x80000000);
	u32 allow_1_ecx = KVISOR_1_ECX, allow_7_ebx = KVISOR_7_EBX;
	struct kvm_cpuid_entry2 *e, *top;
	u64 xcr0 = 0;
	u32 fn;

	if (boot_cpu_has(X86_FEATURE_XSAVE) && max_basic >= 0xd)
		xcr0 = xgetbv(XCR_XFEATURE_ENABLED_MASK) & KVISOR_XCR0;
	if (!xcr0)
		allow_1_ecx &= ~F(XSAVE);
	/* AVX instructions #UD unless XCR0 can enable the AVX state. */
	if (!(xcr0 & XFEATURE_MASK_YMM)) {
		allow_1_ecx &= ~KVISOR_AVX_1_ECX;
		allow_7_ebx &= ~KVISOR_AVX_7_EBX;
	}

	top = kvisor_add_leaf(&t, 0, 0, false);
	e = kvisor_add_leaf(&t, 1, 0, false);
	e->ebx &= 0xff00;
	/* x2APIC is lapic.c's, whatever the host has, as in KVM. */
	e->ecx = kvisor_allowed(e->ecx, CPUID_1_ECX, allow_1_ecx) |
		 F(HYPERVISOR) | F(X2APIC);
	e->edx = kvisor_allowed(e->edx, CPUID_1_EDX, KVISOR_1_EDX);
	if (max_basic >= 7) {
		e = kvisor_add_leaf(&t, 7, 0, true);
		e->eax = 0;
		/* TSC_ADJUST is msrs.c's, whatever the host has, as in KVM. */
		e->ebx = kvisor_allowed(e->ebx, CPUID_7_0_EBX, allow_7_ebx) |
			 F(TSC_ADJUST);
		e->ecx = kvisor_caps.tsc_aux ?
			 kvisor_allowed(e->ecx, CPUID_7_ECX,
					KVISOR_TSC_AUX_7_ECX) : 0;
		e->edx = kvisor_spec_7_edx(e->edx);
	}
	if (xcr0)
		kvisor_build_xsave(&t, xcr0);
	top->eax = t.entries[t.nent - 1].function;
	kvisor_build_kvm_leaves(&t);

	if (max_ext < 0x80000001 || max_ext > 0x8000ffff)
		return t.nent;
	top = kvisor_add_leaf(&t, 0x80000000, 0, false);
	e = kvisor_add_leaf(&t, 0x80000001, 0, false);
	e->ebx = 0;
	e->ecx = kvisor_allowed(e->ecx, CPUID_8000_0001_ECX, KVISOR_8_1_ECX);
	e->edx = kvisor_allowed(e->edx, CPUID_8000_0001_EDX, KVISOR_8_1_EDX |
				(kvisor_caps.tsc_aux ? KVISOR_TSC_AUX_8_1_EDX : 0));
	for (fn = 0x80000002; fn <= 0x80000004 && fn <= max_ext; fn++)
		kvisor_add_leaf(&t, fn, 0, false);
	if (max_ext >= 0x80000008) {
		e = kvisor_add_leaf(&t, 0x80000008, 0, false);
		e->eax &= 0xffff;
		if (((e->eax >> 8) & 0xff) < 48)
			e->eax = (e->eax & 0xff) | (48 << 8);
		e->ebx = kvisor_spec_8_8_ebx(e->ebx);
		e->ecx = 0;
		e->edx = 0;
	}
	top->eax = t.entries[t.nent - 1].function;
	return t.nent;
}

/* KVM_GET_SUPPORTED_CPUID, with KVM's errors. */
long kvisor_get_supported_cpuid(struct kvm_cpuid2 __user *argp)
{
	struct kvm_cpuid_entry2 *entries;
	struct kvm_cpuid2 hdr;
	long r = 0;
	u32 nent;

	if (copy_from_user(&hdr, argp, sizeof(hdr)))
		return -EFAULT;
	if (hdr.nent < 1)
		return -E2BIG;
	/* KVM caps a larger request rather than refusing it. */
	hdr.nent = min_t(u32, hdr.nent, KVISOR_MAX_CPUID_ENTRIES);

	entries = kcalloc(KVISOR_SUPPORTED_NENT, sizeof(*entries), GFP_KERNEL);
	if (!entries)
		return -ENOMEM;
	nent = kvisor_build_supported(entries);
	/* Like KVM, a too-small array is E2BIG, and nent stays as it was. */
	if (nent > hdr.nent) {
		r = -E2BIG;
		goto out;
	}
	hdr.nent = nent;
	if (copy_to_user(argp->entries, entries, nent * sizeof(*entries)) ||
	    copy_to_user(argp, &hdr, sizeof(hdr)))
		r = -EFAULT;
out:
	kfree(entries);
	return r;
}

/*
 * The entry for @function.@index: the first whose function matches and
 * whose index does too, unless its flags say the index does not matter.
 * With @any_index, the first for @function whatever its index, for leaves
 * that have one entry (KVM's KVM_CPUID_INDEX_NOT_SIGNIFICANT lookups).
 */
static struct kvm_cpuid_entry2 *kvisor_cpuid_find(struct kvm_cpuid_entry2 *entries,
						  int nent, u32 function,
						  u32 index, bool any_index)
{
	int i;

	for (i = 0; i < nent; i++) {
		struct kvm_cpuid_entry2 *e = &entries[i];

		if (e->function == function &&
		    (any_index || !(e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) ||
		     e->index == index))
			return e;
	}
	return NULL;
}

/* The vCPU's entry for @function/@index (KVM_SET_CPUID2), or NULL. */
struct kvm_cpuid_entry2 *kvisor_vcpu_cpuid_find(struct kvisor_vcpu *vcpu,
						u32 function, u32 index,
						bool any_index)
{
	return kvisor_cpuid_find(vcpu->cpuid, vcpu->cpuid_nent, function,
				 index, any_index);
}

/*
 * The guest's physical-address width, as KVM reads it from the vCPU's
 * table: leaf 0x80000008 EAX[7:0] where leaf 0x80000000 reaches it, else
 * 36 (no table at all included).
 */
int kvisor_cpuid_maxphyaddr(struct kvisor_vcpu *vcpu)
{
	struct kvm_cpuid_entry2 *e;

	e = kvisor_vcpu_cpuid_find(vcpu, 0x80000000, 0, true);
	if (!e || e->eax < 0x80000008)
		return 36;
	e = kvisor_vcpu_cpuid_find(vcpu, 0x80000008, 0, true);
	return e ? e->eax & 0xff : 36;
}

/* KVM's check of a new table: it assumes 48- or 57-bit linear addresses. */
static int kvisor_check_cpuid(struct kvm_cpuid_entry2 *entries, int nent)
{
	struct kvm_cpuid_entry2 *e;
	u32 vaddr_bits;

	e = kvisor_cpuid_find(entries, nent, 0x80000008, 0, true);
	if (!e)
		return 0;
	vaddr_bits = (e->eax >> 8) & 0xff;
	return vaddr_bits == 48 || vaddr_bits == 57 || !vaddr_bits ? 0 : -EINVAL;
}

/* Padding aside, is @entries the vCPU's table? */
static void kvisor_cpuid_dynamic(struct kvisor_vcpu *vcpu,
				 const struct kvm_cpuid_entry2 *e,
				 struct kvm_cpuid_entry2 *out);

/*
 * Entry @i of the vCPU's table as the guest sees it now.  KVM rewrites its
 * copy of the table whenever CR4, XCR0 or the APIC base change, so that
 * KVM_GET_CPUID2 (and the "same table" check) see these bits as the
 * guest's CPUID does; kvisor computes them when asked.
 */
static void kvisor_cpuid_current(struct kvisor_vcpu *vcpu, int i,
				 struct kvm_cpuid_entry2 *out)
{
	*out = vcpu->cpuid[i];
	kvisor_cpuid_dynamic(vcpu, &vcpu->cpuid[i], out);
}

static bool kvisor_cpuid_equal(struct kvisor_vcpu *vcpu,
			       const struct kvm_cpuid_entry2 *entries, int nent)
{
	struct kvm_cpuid_entry2 cur;
	int i;

	if (nent != vcpu->cpuid_nent)
		return false;
	/* As KVM: the new table's state-following bits count as the guest's. */
	for (i = 0; i < nent; i++) {
		struct kvm_cpuid_entry2 in = entries[i];
		const struct kvm_cpuid_entry2 *a = &in;
		const struct kvm_cpuid_entry2 *b = &cur;

		kvisor_cpuid_current(vcpu, i, &cur);
		if (in.function == cur.function && in.index == cur.index)
			kvisor_cpuid_dynamic(vcpu, &vcpu->cpuid[i], &in);
		if (a->function != b->function || a->index != b->index ||
		    a->flags != b->flags || a->eax != b->eax ||
		    a->ebx != b->ebx || a->ecx != b->ecx || a->edx != b->edx)
			return false;
	}
	return true;
}

static long kvisor_set_cpuid2(struct kvisor_vcpu *vcpu,
			      const struct kvm_cpuid2 *hdr,
			      struct kvm_cpuid_entry2 __user *uentries)
{
	struct kvm_cpuid_entry2 *entries = NULL;
	long r;

	if (hdr->nent > KVISOR_MAX_CPUID_ENTRIES)
		return -E2BIG;
	if (hdr->nent) {
		entries = vmemdup_user(uentries,
				       array_size(sizeof(*entries), hdr->nent));
		if (IS_ERR(entries))
			return PTR_ERR(entries);
	}

	/*
	 * KVM 6.1 lets a vCPU that has run keep its CPUID model only: the
	 * same table again is accepted (QEMU does that on CPU hotplug),
	 * any other -EINVAL.  A vCPU that has exited has entered.
	 */
	if (vcpu->nr_exits) {
		r = kvisor_cpuid_equal(vcpu, entries, hdr->nent) ? 0 : -EINVAL;
		kvfree(entries);
		return r;
	}
	r = kvisor_check_cpuid(entries, hdr->nent);
	if (r) {
		kvfree(entries);
		return r;
	}
	kvfree(vcpu->cpuid);
	vcpu->cpuid = entries;
	vcpu->cpuid_nent = hdr->nent;
	if (kvisor_ops->cpuid_update)
		kvisor_ops->cpuid_update(vcpu);
	return 0;
}

/*
 * The table as it was set, with the bits that follow the guest's state
 * as they are now (kvisor_cpuid_current()).  On success nent becomes its size, as KVM does
 * from Linux 6.4 on (6.1 left it as userspace passed it); on -E2BIG the
 * header is not written back, as in every KVM.
 */
static long kvisor_get_cpuid2(struct kvisor_vcpu *vcpu, struct kvm_cpuid2 *hdr,
			      struct kvm_cpuid2 __user *argp)
{
	struct kvm_cpuid_entry2 e;
	int i;

	if (hdr->nent < vcpu->cpuid_nent)
		return -E2BIG;
	for (i = 0; i < vcpu->cpuid_nent; i++) {
		kvisor_cpuid_current(vcpu, i, &e);
		if (copy_to_user(&argp->entries[i], &e, sizeof(e)))
			return -EFAULT;
	}
	hdr->nent = vcpu->cpuid_nent;
	if (copy_to_user(argp, hdr, sizeof(*hdr)))
		return -EFAULT;
	return 0;
}

/* CR4 ------------------------------------------------------------------ */

/* The CR4 bits every x86-64 CPU has. */
#define KVISOR_CR4_BASE (X86_CR4_VME | X86_CR4_PVI | X86_CR4_TSD | X86_CR4_DE | \
			 X86_CR4_PSE | X86_CR4_PAE | X86_CR4_MCE | X86_CR4_PGE | \
			 X86_CR4_PCE | X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT)

/* The CR4 bits that exist only with a CPUID feature, and where it is. */
static const struct {
	u64 cr4;
	u32 function;
	u8 reg;			/* 2: ECX, 1: EBX */
	u32 bit;
} kvisor_cr4_features[] = {
	{ X86_CR4_VMXE, 1, 2, F(VMX) },
	{ X86_CR4_SMXE, 1, 2, F(SMX) },
	{ X86_CR4_PCIDE, 1, 2, F(PCID) },
	{ X86_CR4_OSXSAVE, 1, 2, F(XSAVE) },
	{ X86_CR4_FSGSBASE, 7, 1, F(FSGSBASE) },
	{ X86_CR4_SMEP, 7, 1, F(SMEP) },
	{ X86_CR4_SMAP, 7, 1, F(SMAP) },
	{ X86_CR4_UMIP, 7, 2, F(UMIP) },
	{ X86_CR4_PKE, 7, 2, F(PKU) },
	{ X86_CR4_LA57, 7, 2, F(LA57) },
};

/*
 * The leaf is found as the guest's CPUID finds it: an entry without
 * KVM_CPUID_FLAG_SIGNIFCANT_INDEX answers whatever its index field says.
 */
static u64 kvisor_cr4_allowed(struct kvm_cpuid_entry2 *e, int nent)
{
	u64 ok = KVISOR_CR4_BASE;
	int i;

	for (i = 0; i < ARRAY_SIZE(kvisor_cr4_features); i++) {
		const struct kvm_cpuid_entry2 *leaf;
		u32 r;

		leaf = kvisor_cpuid_find(e, nent, kvisor_cr4_features[i].function,
					 0, false);
		if (!leaf)
			continue;
		r = kvisor_cr4_features[i].reg == 1 ? leaf->ebx : leaf->ecx;
		if (r & kvisor_cr4_features[i].bit)
			ok |= kvisor_cr4_features[i].cr4;
	}
	return ok;
}

/*
 * The CR4 bits a vCPU may set, by KVM's rule: only bits of features kvisor
 * offers (KVM_GET_SUPPORTED_CPUID), and once the vCPU has a CPUID table,
 * only those of features the table gives it (regs.c applies it).
 */
u64 kvisor_cpuid_cr4_allowed(struct kvisor_vcpu *vcpu)
{
	/*
	 * On the stack (640 bytes): a guest's MOV to CR4 comes here too, and
	 * a failed allocation must not turn into a #GP for the guest.
	 */
	struct kvm_cpuid_entry2 sup[KVISOR_SUPPORTED_NENT] = {};
	u64 ok;
	int n;

	n = kvisor_build_supported(sup);
	ok = kvisor_cr4_allowed(sup, n);
	if (vcpu->cpuid_nent)
		ok &= kvisor_cr4_allowed(vcpu->cpuid, vcpu->cpuid_nent);
	return ok;
}

/* KVM_SET_CPUID2 and KVM_GET_CPUID2, under the vCPU's mutex. */
long kvisor_vcpu_cpuid_ioctl(struct kvisor_vcpu *vcpu, unsigned int ioctl,
			     struct kvm_cpuid2 __user *argp)
{
	struct kvm_cpuid2 hdr;

	if (copy_from_user(&hdr, argp, sizeof(hdr)))
		return -EFAULT;
	if (ioctl == KVM_SET_CPUID2)
		return kvisor_set_cpuid2(vcpu, &hdr, argp->entries);
	return kvisor_get_cpuid2(vcpu, &hdr, argp);
}

void kvisor_vcpu_cpuid_free(struct kvisor_vcpu *vcpu)
{
	kvfree(vcpu->cpuid);
	vcpu->cpuid = NULL;
	vcpu->cpuid_nent = 0;
}

/* Leaf 0 names AMD or Hygon, which answer undefined leaves with zeros. */
static bool kvisor_cpuid_vendor_amd(const struct kvm_cpuid_entry2 *leaf0)
{
	static const char * const amd[] = {
		"AuthenticAMD", "AMDisbetter!", "HygonGenuine",
	};
	char vendor[12];
	int i;

	memcpy(vendor, &leaf0->ebx, 4);
	memcpy(vendor + 4, &leaf0->edx, 4);
	memcpy(vendor + 8, &leaf0->ecx, 4);
	for (i = 0; i < ARRAY_SIZE(amd); i++)
		if (!memcmp(vendor, amd[i], sizeof(vendor)))
			return true;
	return false;
}

/* The vCPU's leaf 0 names AMD or Hygon (guest_cpuid_is_amd_compatible()). */
bool kvisor_guest_cpuid_is_amd(struct kvisor_vcpu *vcpu)
{
	const struct kvm_cpuid_entry2 *e = kvisor_vcpu_cpuid_find(vcpu, 0, 0,
								  true);

	return e && kvisor_cpuid_vendor_amd(e);
}

/* The vCPU's leaf 0 names Intel (KVM's guest_cpuid_is_intel()). */
bool kvisor_guest_cpuid_is_intel(struct kvisor_vcpu *vcpu)
{
	const struct kvm_cpuid_entry2 *e = kvisor_vcpu_cpuid_find(vcpu, 0, 0,
								  true);

	return e && e->ebx == 0x756e6547 && e->edx == 0x49656e69 &&
	       e->ecx == 0x6c65746e;	/* "GenuineIntel" */
}

/*
 * A leaf the table lacks, as KVM's kvm_cpuid() answers it.  With Intel's
 * semantics (any vendor but AMD and Hygon), a leaf beyond the highest of
 * its class, or whose class has no base leaf in the table, reads as the
 * highest basic leaf (CPUID.0:EAX) with the same index.  The classes are
 * basic (up to 0x7fffffff but for the hypervisor range), hypervisor
 * (0x40000000-0x4fffffff, one class per 0x100 leaves), extended
 * (0x80000000-0xbfffffff) and Centaur (0xc0000000 on).  A leaf within its
 * class's range but not in the table, and every missing leaf with AMD's
 * semantics, reads as zeros.  *@function becomes the leaf used.
 */
static struct kvm_cpuid_entry2 *kvisor_cpuid_out_of_range(struct kvisor_vcpu *vcpu,
							  u32 *function,
							  u32 index)
{
	struct kvm_cpuid_entry2 *basic, *class;
	u32 fn = *function, base;

	basic = kvisor_vcpu_cpuid_find(vcpu, 0, 0, true);
	if (!basic || kvisor_cpuid_vendor_amd(basic))
		return NULL;
	if (fn >= 0x40000000 && fn <= 0x4fffffff)
		base = fn & 0xffffff00;
	else if (fn >= 0xc0000000)
		base = 0xc0000000;
	else
		base = fn & 0x80000000;
	class = kvisor_vcpu_cpuid_find(vcpu, base, 0, true);
	if (class && fn <= class->eax)
		return NULL;
	*function = basic->eax;
	return kvisor_vcpu_cpuid_find(vcpu, basic->eax, index, false);
}

/*
 * KVM keeps these bits of its table in step with the guest: OSXSAVE with
 * CR4.OSXSAVE (when the host has XSAVE), APIC with IA32_APIC_BASE's
 * enable bit, MONITOR with IA32_MISC_ENABLE's MWAIT bit (once
 * KVM_X86_QUIRK_MISC_ENABLE_NO_MWAIT is disabled), and the XSAVE area
 * sizes with XCR0.  kvisor leaves the
 * table as userspace set it and applies them to each answer instead.
 */
static void kvisor_cpuid_dynamic(struct kvisor_vcpu *vcpu,
				 const struct kvm_cpuid_entry2 *e,
				 struct kvm_cpuid_entry2 *out)
{
	u64 cr0, cr3, cr4, efer;

	/*
	 * Only leaves 1 and 0xd have bits that follow the guest's state:
	 * the function is looked at first, so that a CPUID exit for any
	 * other leaf searches the table once, not four times.
	 */
	if (e->function != 1 && e->function != 0xd)
		return;
	if (e->function == 1 && e == kvisor_vcpu_cpuid_find(vcpu, 1, 0, true)) {
		if (boot_cpu_has(X86_FEATURE_XSAVE)) {
			kvisor_ops->get_paging(vcpu, &cr0, &cr3, &cr4, &efer);
			out->ecx &= ~F(OSXSAVE);
			if (cr4 & X86_CR4_OSXSAVE)
				out->ecx |= F(OSXSAVE);
		}
		out->edx &= ~F(APIC);
		if (vcpu->apic_base & MSR_IA32_APICBASE_ENABLE)
			out->edx |= F(APIC);
		if (!kvisor_has_quirk(vcpu->vm,
				      KVM_X86_QUIRK_MISC_ENABLE_NO_MWAIT)) {
			out->ecx &= ~F(MWAIT);
			if (vcpu->misc_enable & MSR_IA32_MISC_ENABLE_MWAIT)
				out->ecx |= F(MWAIT);
		}
	}
	if (e->function != 0xd)
		return;
	if (e == kvisor_vcpu_cpuid_find(vcpu, 0xd, 0, false))
		out->ebx = kvisor_xsave_size(vcpu->xcr0, false);
	if (e == kvisor_vcpu_cpuid_find(vcpu, 0xd, 1, false) &&
	    (e->eax & (F(XSAVES) | F(XSAVEC))))
		out->ebx = kvisor_xsave_size(vcpu->xcr0, true);
}

/* The guest executed CPUID with EAX and ECX: answer in EAX-EDX. */
void kvisor_cpuid(struct kvisor_vcpu *vcpu)
{
	u32 function = vcpu->regs[EMU_RAX], index = vcpu->regs[EMU_RCX];
	u32 asked = function;
	struct kvm_cpuid_entry2 out = {}, *e;
	bool found;

	e = kvisor_vcpu_cpuid_find(vcpu, function, index, false);
	found = e;
	if (!e)
		e = kvisor_cpuid_out_of_range(vcpu, &function, index);
	if (e) {
		out = *e;
		kvisor_cpuid_dynamic(vcpu, e, &out);
	} else if (function == 0xb || function == 0x1f) {
		/*
		 * As KVM: where the topology leaf exists (subleaf 1 does),
		 * an undefined subleaf still echoes ECX[7:0] and gives the
		 * x2APIC ID in EDX.
		 */
		e = kvisor_vcpu_cpuid_find(vcpu, function, 1, false);
		if (e) {
			out.ecx = index & 0xff;
			out.edx = e->edx;
		}
	}
	/* A 32-bit result clears the upper half, as CPUID does. */
	vcpu->regs[EMU_RAX] = out.eax;
	vcpu->regs[EMU_RBX] = out.ebx;
	vcpu->regs[EMU_RCX] = out.ecx;
	vcpu->regs[EMU_RDX] = out.edx;
	trace_kvm_cpuid(asked, index, out.eax, out.ebx, out.ecx, out.edx, found,
			e && function != asked);
}
