/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The Virtual Machine Control Structure: field encodings and accessors.
 *
 * Unlike SVM's VMCB, the VMCS is opaque: its memory layout belongs to the
 * CPU, and software reaches a field only through VMREAD and VMWRITE on the
 * VMCS that is *current* on the executing CPU (made so by VMPTRLD).  Each
 * field is named by a 32-bit encoding whose bits say what it is:
 *
 *   bit 0      access type: 1 = the high 32 bits of a 64-bit field
 *   bits 9:1   index
 *   bits 11:10 type: 0 control, 1 read-only exit information, 2 guest
 *              state, 3 host state
 *   bits 14:13 width: 0 16-bit, 1 64-bit, 2 32-bit, 3 natural (64 here)
 *
 * The accessors below are typed by width, and a field encoding given as a
 * constant is checked at build time against the accessor's width, so a
 * 32-bit read of a 16-bit field cannot compile.
 */
#ifndef KVISOR_VMX_VMCS_H
#define KVISOR_VMX_VMCS_H

#include <linux/build_bug.h>
#include <linux/types.h>
#include <asm/asm.h>

enum vmcs_field {
	/* 16-bit control and guest/host selectors */
	VMCS_VPID			= 0x0000,
	VMCS_GUEST_ES_SELECTOR		= 0x0800,
	VMCS_GUEST_CS_SELECTOR		= 0x0802,
	VMCS_GUEST_SS_SELECTOR		= 0x0804,
	VMCS_GUEST_DS_SELECTOR		= 0x0806,
	VMCS_GUEST_FS_SELECTOR		= 0x0808,
	VMCS_GUEST_GS_SELECTOR		= 0x080a,
	VMCS_GUEST_LDTR_SELECTOR	= 0x080c,
	VMCS_GUEST_TR_SELECTOR		= 0x080e,
	VMCS_HOST_ES_SELECTOR		= 0x0c00,
	VMCS_HOST_CS_SELECTOR		= 0x0c02,
	VMCS_HOST_SS_SELECTOR		= 0x0c04,
	VMCS_HOST_DS_SELECTOR		= 0x0c06,
	VMCS_HOST_FS_SELECTOR		= 0x0c08,
	VMCS_HOST_GS_SELECTOR		= 0x0c0a,
	VMCS_HOST_TR_SELECTOR		= 0x0c0c,

	/* 64-bit */
	VMCS_MSR_BITMAP			= 0x2004,
	VMCS_EXIT_MSR_STORE_ADDR	= 0x2006,
	VMCS_EXIT_MSR_LOAD_ADDR		= 0x2008,
	VMCS_ENTRY_MSR_LOAD_ADDR	= 0x200a,
	VMCS_TSC_OFFSET			= 0x2010,
	VMCS_EPT_POINTER		= 0x201a,
	VMCS_XSS_EXIT_BITMAP		= 0x202c,
	VMCS_GUEST_PHYSICAL_ADDRESS	= 0x2400,
	VMCS_LINK_POINTER		= 0x2800,
	VMCS_GUEST_IA32_DEBUGCTL	= 0x2802,
	VMCS_GUEST_IA32_PAT		= 0x2804,
	VMCS_GUEST_IA32_EFER		= 0x2806,
	VMCS_GUEST_PDPTR0		= 0x280a,	/* ...3 at 0x2810 */
	VMCS_HOST_IA32_PAT		= 0x2c00,
	VMCS_HOST_IA32_EFER		= 0x2c02,

	/* 32-bit */
	VMCS_PIN_CONTROLS		= 0x4000,
	VMCS_PROC_CONTROLS		= 0x4002,
	VMCS_EXCEPTION_BITMAP		= 0x4004,
	VMCS_PF_ERROR_CODE_MASK		= 0x4006,
	VMCS_PF_ERROR_CODE_MATCH	= 0x4008,
	VMCS_CR3_TARGET_COUNT		= 0x400a,
	VMCS_EXIT_CONTROLS		= 0x400c,
	VMCS_EXIT_MSR_STORE_COUNT	= 0x400e,
	VMCS_EXIT_MSR_LOAD_COUNT	= 0x4010,
	VMCS_ENTRY_CONTROLS		= 0x4012,
	VMCS_ENTRY_MSR_LOAD_COUNT	= 0x4014,
	VMCS_ENTRY_INTR_INFO		= 0x4016,
	VMCS_ENTRY_EXCEPTION_ERROR_CODE	= 0x4018,
	VMCS_ENTRY_INSTRUCTION_LEN	= 0x401a,
	VMCS_PROC_CONTROLS2		= 0x401e,
	VMCS_PLE_GAP			= 0x4020,
	VMCS_PLE_WINDOW			= 0x4022,
	VMCS_INSTRUCTION_ERROR		= 0x4400,
	VMCS_EXIT_REASON		= 0x4402,
	VMCS_EXIT_INTR_INFO		= 0x4404,
	VMCS_EXIT_INTR_ERROR_CODE	= 0x4406,
	VMCS_IDT_VECTORING_INFO		= 0x4408,
	VMCS_IDT_VECTORING_ERROR_CODE	= 0x440a,
	VMCS_EXIT_INSTRUCTION_LEN	= 0x440c,
	VMCS_EXIT_INSTRUCTION_INFO	= 0x440e,
	VMCS_GUEST_ES_LIMIT		= 0x4800,
	VMCS_GUEST_CS_LIMIT		= 0x4802,
	VMCS_GUEST_SS_LIMIT		= 0x4804,
	VMCS_GUEST_DS_LIMIT		= 0x4806,
	VMCS_GUEST_FS_LIMIT		= 0x4808,
	VMCS_GUEST_GS_LIMIT		= 0x480a,
	VMCS_GUEST_LDTR_LIMIT		= 0x480c,
	VMCS_GUEST_TR_LIMIT		= 0x480e,
	VMCS_GUEST_GDTR_LIMIT		= 0x4810,
	VMCS_GUEST_IDTR_LIMIT		= 0x4812,
	VMCS_GUEST_ES_AR		= 0x4814,
	VMCS_GUEST_CS_AR		= 0x4816,
	VMCS_GUEST_SS_AR		= 0x4818,
	VMCS_GUEST_DS_AR		= 0x481a,
	VMCS_GUEST_FS_AR		= 0x481c,
	VMCS_GUEST_GS_AR		= 0x481e,
	VMCS_GUEST_LDTR_AR		= 0x4820,
	VMCS_GUEST_TR_AR		= 0x4822,
	VMCS_GUEST_INTERRUPTIBILITY	= 0x4824,
	VMCS_GUEST_ACTIVITY_STATE	= 0x4826,
	VMCS_GUEST_SYSENTER_CS		= 0x482a,
	VMCS_PREEMPTION_TIMER_VALUE	= 0x482e,
	VMCS_HOST_IA32_SYSENTER_CS	= 0x4c00,

	/* natural width */
	VMCS_CR0_GUEST_HOST_MASK	= 0x6000,
	VMCS_CR4_GUEST_HOST_MASK	= 0x6002,
	VMCS_CR0_READ_SHADOW		= 0x6004,
	VMCS_CR4_READ_SHADOW		= 0x6006,
	VMCS_EXIT_QUALIFICATION		= 0x6400,
	VMCS_GUEST_LINEAR_ADDRESS	= 0x640a,
	VMCS_GUEST_CR0			= 0x6800,
	VMCS_GUEST_CR3			= 0x6802,
	VMCS_GUEST_CR4			= 0x6804,
	VMCS_GUEST_ES_BASE		= 0x6806,
	VMCS_GUEST_CS_BASE		= 0x6808,
	VMCS_GUEST_SS_BASE		= 0x680a,
	VMCS_GUEST_DS_BASE		= 0x680c,
	VMCS_GUEST_FS_BASE		= 0x680e,
	VMCS_GUEST_GS_BASE		= 0x6810,
	VMCS_GUEST_LDTR_BASE		= 0x6812,
	VMCS_GUEST_TR_BASE		= 0x6814,
	VMCS_GUEST_GDTR_BASE		= 0x6816,
	VMCS_GUEST_IDTR_BASE		= 0x6818,
	VMCS_GUEST_DR7			= 0x681a,
	VMCS_GUEST_RSP			= 0x681c,
	VMCS_GUEST_RIP			= 0x681e,
	VMCS_GUEST_RFLAGS		= 0x6820,
	VMCS_GUEST_PENDING_DBG		= 0x6822,
	VMCS_GUEST_SYSENTER_ESP		= 0x6824,
	VMCS_GUEST_SYSENTER_EIP		= 0x6826,
	VMCS_HOST_CR0			= 0x6c00,
	VMCS_HOST_CR3			= 0x6c02,
	VMCS_HOST_CR4			= 0x6c04,
	VMCS_HOST_FS_BASE		= 0x6c06,
	VMCS_HOST_GS_BASE		= 0x6c08,
	VMCS_HOST_TR_BASE		= 0x6c0a,
	VMCS_HOST_GDTR_BASE		= 0x6c0c,
	VMCS_HOST_IDTR_BASE		= 0x6c0e,
	VMCS_HOST_IA32_SYSENTER_ESP	= 0x6c10,
	VMCS_HOST_IA32_SYSENTER_EIP	= 0x6c12,
	VMCS_HOST_RSP			= 0x6c14,
	VMCS_HOST_RIP			= 0x6c16,
};

#define VMCS_WIDTH(field)	(((field) >> 13) & 3)
#define VMCS_WIDTH_16		0
#define VMCS_WIDTH_64		1
#define VMCS_WIDTH_32		2
#define VMCS_WIDTH_NATURAL	3

/* A constant field must be accessed with its own width; others pass. */
#define vmcs_check_width(field, width)					\
	BUILD_BUG_ON_MSG(__builtin_constant_p(field) &&			\
			 (VMCS_WIDTH(field) != (width) || ((field) & 1)), \
			 "VMCS field accessed with the wrong width")

/* VMREAD/VMWRITE failures are kvisor bugs: reported, never fatal. */
void vmcs_error(const char *insn, unsigned long field, unsigned long value);

/*
 * Every VMX instruction has an exception-table entry: a fault (#UD once
 * a reboot switched VMX off under the caller) goes to
 * kvisor_virt_fault(), which lets it pass while rebooting.
 */
static __always_inline unsigned long __vmcs_read(unsigned long field)
{
	unsigned long value = 0;
	u8 ok = 2;		/* stays 2 if VMREAD faulted */

	asm volatile("1: vmread %[field], %[value]\n\t"
		     "seta %[ok]\n\t"
		     "2:\n\t"
		     _ASM_EXTABLE(1b, 2b)
		     : [value] "+r" (value), [ok] "+qm" (ok)
		     : [field] "r" (field) : "cc");
	if (unlikely(ok != 1)) {
		if (ok == 2)
			kvisor_virt_fault();
		else
			vmcs_error("vmread", field, 0);
		return 0;
	}
	return value;
}

static __always_inline void __vmcs_write(unsigned long field,
					 unsigned long value)
{
	u8 ok = 2;		/* stays 2 if VMWRITE faulted */

	asm volatile("1: vmwrite %[value], %[field]\n\t"
		     "seta %[ok]\n\t"
		     "2:\n\t"
		     _ASM_EXTABLE(1b, 2b)
		     : [ok] "+qm" (ok)
		     : [field] "r" (field), [value] "rm" (value) : "cc");
	if (unlikely(ok == 2))
		kvisor_virt_fault();
	else if (unlikely(!ok))
		vmcs_error("vmwrite", field, value);
}

static __always_inline u16 vmcs_read16(unsigned long field)
{
	vmcs_check_width(field, VMCS_WIDTH_16);
	return __vmcs_read(field);
}

static __always_inline u32 vmcs_read32(unsigned long field)
{
	vmcs_check_width(field, VMCS_WIDTH_32);
	return __vmcs_read(field);
}

static __always_inline u64 vmcs_read64(unsigned long field)
{
	vmcs_check_width(field, VMCS_WIDTH_64);
	return __vmcs_read(field);
}

static __always_inline unsigned long vmcs_readl(unsigned long field)
{
	vmcs_check_width(field, VMCS_WIDTH_NATURAL);
	return __vmcs_read(field);
}

static __always_inline void vmcs_write16(unsigned long field, u16 value)
{
	vmcs_check_width(field, VMCS_WIDTH_16);
	__vmcs_write(field, value);
}

static __always_inline void vmcs_write32(unsigned long field, u32 value)
{
	vmcs_check_width(field, VMCS_WIDTH_32);
	__vmcs_write(field, value);
}

static __always_inline void vmcs_write64(unsigned long field, u64 value)
{
	vmcs_check_width(field, VMCS_WIDTH_64);
	__vmcs_write(field, value);
}

static __always_inline void vmcs_writel(unsigned long field,
					unsigned long value)
{
	vmcs_check_width(field, VMCS_WIDTH_NATURAL);
	__vmcs_write(field, value);
}

#endif /* KVISOR_VMX_VMCS_H */
