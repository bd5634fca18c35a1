/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * A child running the Go target build/targets/go/1.19/leaky (make targets
 * builds it; PARKWATCH_GO_LEAKY overrides the path), whose start-up
 * goroutines are known: a parent may read its child's memory, so no root is
 * needed.
 */
#ifndef PARKWATCH_TESTS_LEAKY_H
#define PARKWATCH_TESTS_LEAKY_H

#include <stddef.h>
#include <sys/types.h>

/* The leaky binary, or one of its variants (-nodwarf, -pie, -stripped). */
const char *leaky_path(const char *variant, char *buf, size_t size);
/* Starts it and waits for its READY line; -1 when it can't.  It dies with
 * the test. */
pid_t start_leaky(const char *path);
void stop_leaky(pid_t pid);

#endif /* PARKWATCH_TESTS_LEAKY_H */
