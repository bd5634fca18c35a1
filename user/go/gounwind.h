/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * One runtime.g as read (gounwind.c): its fields, whether they make sense,
 * its stack walked by pcsp (or frame pointers), the struct goroutine it
 * becomes.
 */
#ifndef PARKWATCH_GOUNWIND_H
#define PARKWATCH_GOUNWIND_H

#include "go/go_internal.h"

struct stack_view {
	const __u8 *buf;            /* copy of [base, base + len) */
	__u64 base, len;
};

void gounwind__decode(const struct go_layout *l, __u64 addr, const __u8 *raw, struct graw *g);
bool gounwind__has_saved_stack(__u32 status);
bool gounwind__has_stack(const struct graw *g);
bool gounwind__consistent(const struct goproc *gp, const struct graw *g);
bool gounwind__same_header(const struct go_layout *l, int lo, const struct graw *g, const __u8 *raw);
size_t gounwind__stack_window(const struct graw *g);
int gounwind__walk_stack(struct goproc *gp, const struct graw *g, const struct stack_view *view,
		     __u64 *pcs, __u64 *exact, bool *truncated);
void gounwind__to_goroutine(struct goproc *gp, const struct graw *raw, __u64 now_ns,
			bool finalizer_running, struct goroutine *g);
pid_t gounwind__thread(struct goproc *gp, const struct graw *raw);

#endif /* PARKWATCH_GOUNWIND_H */
