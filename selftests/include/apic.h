/* SPDX-License-Identifier: GPL-2.0 */
/*
 * apic.h - guest-side helpers for the local APIC and IOAPIC, and the host
 * side's mapping of their pages.  The guest reaches the xAPIC page at its
 * reset address 0xfee00000 and the IOAPIC at 0xfec00000, identity-mapped
 * by apic_map().
 */
#ifndef KVISOR_SELFTEST_APIC_H
#define KVISOR_SELFTEST_APIC_H

#include <stdint.h>

#include "kvm_util.h"
#include "processor.h"

#define XAPIC_BASE		0xfee00000ULL
#define IOAPIC_BASE		0xfec00000ULL

#define APIC_ID			0x20
#define APIC_LVR		0x30
#define APIC_LVTT		0x320	/* the timer's LVT entry */
#define APIC_TMICT		0x380	/* its initial count */
#define APIC_TDCR		0x3e0	/* its divide configuration */
#define APIC_LVT_PERIODIC	(1 << 17)
#define APIC_TASKPRI		0x80
#define APIC_EOI		0xb0
#define APIC_SPIV		0xf0
#define APIC_ICR		0x300
#define APIC_ICR2		0x310

#define APIC_DM_FIXED		0x000
#define APIC_DM_NMI		0x400
#define APIC_DM_INIT		0x500
#define APIC_DM_STARTUP		0x600
#define APIC_LEVEL_ASSERT	0x4000
#define APIC_SPIV_ENABLE	0x100

/* Host: map the xAPIC and IOAPIC pages into the guest's page tables. */
static inline void apic_map(struct kvm_vm *vm)
{
	virt_map(vm, XAPIC_BASE, XAPIC_BASE, PAGE_SIZE_4K);
	virt_map(vm, IOAPIC_BASE, IOAPIC_BASE, PAGE_SIZE_4K);
}

static inline uint32_t xapic_read(uint32_t reg)
{
	return *(volatile uint32_t *)(XAPIC_BASE + reg);
}

static inline void xapic_write(uint32_t reg, uint32_t val)
{
	*(volatile uint32_t *)(XAPIC_BASE + reg) = val;
}

/* Software-enable the APIC, with spurious vector 0xff. */
static inline void xapic_enable(void)
{
	xapic_write(APIC_SPIV, APIC_SPIV_ENABLE | 0xff);
}

static inline void xapic_send_ipi(uint32_t dest, uint32_t icr)
{
	xapic_write(APIC_ICR2, dest << 24);
	xapic_write(APIC_ICR, icr);
}

#endif /* KVISOR_SELFTEST_APIC_H */
