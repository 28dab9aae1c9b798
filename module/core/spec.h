/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the world switch does for speculative execution at one entry and
 * exit, decided in C before the entry (kvisor_spec_flags() and the
 * backend's run function, from the host kernel's X86_FEATURE_* bits) and
 * carried out by svm/vmenter.S and vmx/vmenter.S, which test these bits.
 * Deciding in C lets the per-vCPU counters (core/spec.c, debugfs "spec")
 * count exactly the work the assembly did.  Shared with the assembly.
 */
#ifndef KVISOR_SPEC_H
#define KVISOR_SPEC_H

#define KV_SPEC_RESUME		0x01	/* VMX: VMRESUME, not VMLAUNCH */
#define KV_SPEC_VERW		0x02	/* VERW just before the entry */
#define KV_SPEC_RSB		0x04	/* fill the return stack buffer after the exit */
#define KV_SPEC_RSB_ONE		0x08	/* retire one CALL before any RET (PBRSB) */
#define KV_SPEC_CTRL		0x10	/* switch IA32_SPEC_CTRL: guest's in, host's out */
#define KV_SPEC_CTRL_SAVE	0x20	/* the guest wrote it freely: read it back */
#define KV_SPEC_CTRL_ALWAYS	0x40	/* legacy IBRS: rewrite the host's after every exit */
#define KV_SPEC_BHB		0x80	/* clear the branch history after the exit (BHI) */
#define KV_SPEC_IBPB_EXIT	0x100	/* IBPB after every exit (SRSO, Retbleed: testl) */

#endif /* KVISOR_SPEC_H */
