/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the fuzzers (fuzz_ioctl, fuzz_guest) share: the seed and the count
 * they take from the environment and print, and a small PRNG.
 *
 * A fuzzer's run is fixed by two numbers:
 *   FUZZ_SEED   the seed (decimal or 0x hex); default: 1, so that make
 *               check runs the same sequence every time
 *   FUZZ_COUNT  how many operations the run does; default: the fuzzer's
 *               own, sized for make check
 * and it prints them first, as the command line that reproduces it:
 *   # fuzz: FUZZ_SEED=0x1234 FUZZ_COUNT=100000 ./fuzz_ioctl
 * With several threads, each one's sequence is fixed by the seed and its
 * index (fuzz_rng_init(&rng, seed, index)); only the interleaving is not.
 *
 * The PRNG is xorshift64* seeded through splitmix64: fast, and good enough
 * to pick operations and arguments; not for anything cryptographic.
 */
#ifndef KVISOR_SELFTEST_FUZZ_H
#define KVISOR_SELFTEST_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

struct fuzz_rng {
	uint64_t s;
};

static inline uint64_t fuzz_splitmix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static inline void fuzz_rng_init(struct fuzz_rng *r, uint64_t seed,
				 uint64_t stream)
{
	r->s = fuzz_splitmix64(seed ^ fuzz_splitmix64(stream)) | 1;
}

static inline uint64_t fuzz_u64(struct fuzz_rng *r)
{
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * 0x2545f4914f6cdd1dULL;
}

/* Uniform in [0, n); 0 when n is 0. */
static inline uint64_t fuzz_below(struct fuzz_rng *r, uint64_t n)
{
	return n ? fuzz_u64(r) % n : 0;
}

/* True with probability 1/n. */
static inline int fuzz_one_in(struct fuzz_rng *r, uint64_t n)
{
	return fuzz_below(r, n) == 0;
}

/*
 * A value that finds edge cases more often than a uniform one: 0, all
 * ones, a single bit, a power of two plus or minus one, a page or huge-page
 * boundary, a small number, or uniform bits.
 */
static inline uint64_t fuzz_interesting(struct fuzz_rng *r)
{
	unsigned int bit = fuzz_below(r, 64);

	switch (fuzz_below(r, 8)) {
	case 0:
		return 0;
	case 1:
		return ~0ULL >> fuzz_below(r, 64);
	case 2:
		return 1ULL << bit;
	case 3:
		return (1ULL << bit) - 1 + 2 * fuzz_below(r, 2);
	case 4:
		return (fuzz_u64(r) & ~0xfffULL) | (fuzz_one_in(r, 2) ? 0 : 0xfff);
	case 5:
		return -(1ULL << fuzz_below(r, 40));
	case 6:
		return fuzz_below(r, 256);
	default:
		return fuzz_u64(r);
	}
}

static inline void fuzz_fill(struct fuzz_rng *r, void *buf, size_t len)
{
	uint8_t *p = buf;
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = fuzz_u64(r) >> 56;
}

/* $name as a number (decimal or 0x hex), or @def when unset or empty. */
static inline uint64_t fuzz_env(const char *name, uint64_t def)
{
	const char *v = getenv(name);

	return v && *v ? strtoull(v, NULL, 0) : def;
}

/*
 * The run's seed and count, from FUZZ_SEED and FUZZ_COUNT (@def_count when
 * unset), printed as the command that reproduces the run.
 */
static inline void fuzz_setup(const char *prog, uint64_t def_count,
			      uint64_t *seed, uint64_t *count)
{
	*seed = fuzz_env("FUZZ_SEED", 1);
	*count = fuzz_env("FUZZ_COUNT", def_count);
	printf("# fuzz: FUZZ_SEED=%#llx FUZZ_COUNT=%llu %s\n",
	       (unsigned long long)*seed, (unsigned long long)*count, prog);
	fflush(stdout);
}

#endif /* KVISOR_SELFTEST_FUZZ_H */
