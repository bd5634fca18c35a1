/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/* Kernel addresses to function names, from /proc/kallsyms. */
#ifndef PARKWATCH_KSYMS_H
#define PARKWATCH_KSYMS_H

#include <stddef.h>
#include <linux/types.h>

struct ksyms;

/* Returns 0 or a negative errno. */
int ksyms__load(const char *path, struct ksyms **out);
void ksyms__free(struct ksyms *ksyms);
/* The function containing addr and the offset into it, or NULL. */
const char *ksyms__map_addr(const struct ksyms *ksyms, __u64 addr, __u64 *offset);

/* Called for each address a looked-up name has (a static function may
 * have more than one); index is the name's in names[]. */
typedef void (*ksyms_found_fn)(size_t index, __u64 addr, void *ctx);
/*
 * Looks the kernel's (not modules') text symbols names[0..count) up in the
 * kallsyms file at path, in one pass and without keeping the rest.  A name matches itself and its
 * LTO-promoted form (name.llvm.N).  Returns how many addresses were found
 * or a negative errno; 0 when the file hides addresses (kptr_restrict).
 */
int ksyms__find(const char *path, const char *const *names, size_t count, ksyms_found_fn found,
		void *ctx);

#endif /* PARKWATCH_KSYMS_H */
