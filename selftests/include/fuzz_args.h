/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Structured random arguments for the /dev/kvm ioctls (lib/fuzz_args.c),
 * for fuzz_ioctl.
 *
 * Each builder fills a caller-provided argument from a struct fuzz_rng:
 * mostly a plausible value (a pin that exists, an MSI address in the APIC
 * window, a supported CPUID leaf), sometimes an edge case or random bits,
 * so that both the validation and what lies behind it are reached.  The
 * builders neither issue ioctls nor pick file descriptors: the fds an
 * argument names are passed in.
 */
#ifndef KVISOR_SELFTEST_FUZZ_ARGS_H
#define KVISOR_SELFTEST_FUZZ_ARGS_H

#include <stddef.h>
#include <stdint.h>
#include <linux/kvm.h>

#include "fuzz.h"

/* The most entries a built array has (the count field may claim more). */
#define FUZZ_MAX_ROUTES		4100
#define FUZZ_MAX_MSRS		4100
#define FUZZ_MAX_CPUID		300

/*
 * Mutate @size bytes at @p: a few bit flips, a few 8-byte fields set to
 * interesting values, all zeros or ones, all random, or nothing.
 */
void fuzz_mutate(struct fuzz_rng *r, void *p, size_t size);

void fuzz_irq_level(struct fuzz_rng *r, struct kvm_irq_level *l);
void fuzz_msi(struct fuzz_rng *r, struct kvm_msi *m);

/* A routing table's nr (entries built: at most FUZZ_MAX_ROUTES). */
uint32_t fuzz_irq_routing_nr(struct fuzz_rng *r);
void fuzz_irq_routing(struct fuzz_rng *r, struct kvm_irq_routing *rt,
		      uint32_t nr);
void fuzz_irqfd(struct fuzz_rng *r, struct kvm_irqfd *f, int fd,
		int resamplefd);
void fuzz_ioeventfd(struct fuzz_rng *r, struct kvm_ioeventfd *e, int fd);
void fuzz_pit_config(struct fuzz_rng *r, struct kvm_pit_config *c);
void fuzz_vm_enable_cap(struct fuzz_rng *r, struct kvm_enable_cap *c);

/*
 * MSR indices: @list (KVM_GET_MSR_INDEX_LIST's answer, @n entries) or a
 * fixed set of MSRs kvisor or KVM handle, or random ones.
 */
uint32_t fuzz_msr_index(struct fuzz_rng *r, const uint32_t *list,
			unsigned int n);
/* nmsrs of a KVM_GET/SET_MSRS (entries built: at most FUZZ_MAX_MSRS). */
uint32_t fuzz_msrs_nr(struct fuzz_rng *r);
void fuzz_msrs(struct fuzz_rng *r, struct kvm_msrs *m, uint32_t n,
	       const uint32_t *list, unsigned int list_n);
/* Mutate some of the values a KVM_GET_MSRS returned, for a SET. */
void fuzz_msrs_data(struct fuzz_rng *r, struct kvm_msrs *m, uint32_t n);

/* A KVM_SET_CPUID2 table of @n entries mostly copied from @supported. */
uint32_t fuzz_cpuid_nr(struct fuzz_rng *r, const struct kvm_cpuid2 *supported);
void fuzz_cpuid(struct fuzz_rng *r, struct kvm_cpuid2 *c, uint32_t n,
		const struct kvm_cpuid2 *supported);

void fuzz_guest_debug(struct fuzz_rng *r, struct kvm_guest_debug *g);
/* A mask of @len 8 that never blocks @keep (which bounds KVM_RUN). */
void fuzz_signal_mask(struct fuzz_rng *r, struct kvm_signal_mask *m,
		      int keep);
void fuzz_device_attr(struct fuzz_rng *r, struct kvm_device_attr *a);

/* The fields of kvm_run userspace may write before KVM_RUN. */
void fuzz_mutate_run(struct fuzz_rng *r, struct kvm_run *run);

#endif /* KVISOR_SELFTEST_FUZZ_ARGS_H */
