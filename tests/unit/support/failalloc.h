/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * Allocation failures on demand, for out-of-memory paths.  The one test
 * file that wants them defines FAILALLOC_DEFINE before including this
 * header: that file then defines malloc, calloc, realloc and free for its
 * whole binary, forwarding to glibc's allocator, counting, and failing
 * only when armed.  (Header-only on purpose: in the support archive, these
 * definitions would be linked into every test, which all call malloc.)
 * Under valgrind, whose allocator wins, nothing ever fails; under
 * AddressSanitizer (make unit-sanitize), whose allocator must see every
 * block, nothing is defined and nothing fails either.
 */
#ifndef PARKWATCH_TESTS_FAILALLOC_H
#define PARKWATCH_TESTS_FAILALLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>

/* The allocation after the next `allowed` ones fails, and so does every
 * one after it until failalloc_disarm. */
static void failalloc_arm(long allowed);
/* Allocations succeed again; returns whether one failed since arming. */
static bool failalloc_disarm(void);
/* Blocks allocated and not yet freed through malloc, calloc and realloc
 * (not posix_memalign and the like): equal before and after code that
 * frees all it allocates. */
static long failalloc_live(void);
/* False where allocations can't be made to fail (AddressSanitizer): a test
 * skips before it allocates anything it could not free. */
static bool failalloc_can_fail(void);

#if defined(FAILALLOC_DEFINE) && !defined(__SANITIZE_ADDRESS__)

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *ptr, size_t size);
extern void __libc_free(void *ptr);

static long failalloc_remaining = -1; /* allocations left before failing; -1: never */
static bool failalloc_failed;
static long failalloc_blocks;

static void failalloc_arm(long allowed)
{
	failalloc_failed = false;
	failalloc_remaining = allowed;
}

static bool failalloc_disarm(void)
{
	failalloc_remaining = -1;
	return failalloc_failed;
}

static long failalloc_live(void)
{
	return failalloc_blocks;
}

static bool failalloc_can_fail(void)
{
	return true;
}

static bool failalloc_now(void)
{
	if (failalloc_remaining < 0)
		return false;
	if (failalloc_remaining == 0) {
		failalloc_failed = true;
		return true;
	}
	failalloc_remaining--;
	return false;
}

static void *failalloc_counted(void *block)
{
	failalloc_blocks += block != NULL;
	return block;
}

void *malloc(size_t size)
{
	return failalloc_now() ? NULL : failalloc_counted(__libc_malloc(size));
}

void *calloc(size_t count, size_t size)
{
	return failalloc_now() ? NULL : failalloc_counted(__libc_calloc(count, size));
}

void *realloc(void *ptr, size_t size)
{
	if (!ptr)
		return malloc(size);
	if (!size) {
		free(ptr);
		return NULL;
	}
	return failalloc_now() ? NULL : __libc_realloc(ptr, size);
}

void free(void *ptr)
{
	failalloc_blocks -= ptr != NULL;
	__libc_free(ptr);
}

#elif defined(FAILALLOC_DEFINE)

static void failalloc_arm(long allowed)
{
	(void)allowed;
}

static bool failalloc_disarm(void)
{
	return false;
}

static long failalloc_live(void)
{
	return 0;
}

static bool failalloc_can_fail(void)
{
	return false;
}

#endif /* FAILALLOC_DEFINE */

#endif /* PARKWATCH_TESTS_FAILALLOC_H */
