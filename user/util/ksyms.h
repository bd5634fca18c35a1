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

#endif /* PARKWATCH_KSYMS_H */
