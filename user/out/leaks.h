/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * The leak report of `--leaks`: every suspect group with its stack, the
 * evidence that made it one (growth, fit, survivors, oldest age, timeout)
 * and a one-line explanation, as text or JSON.
 */
#ifndef PARKWATCH_LEAKS_H
#define PARKWATCH_LEAKS_H

#include <stdio.h>
#include "model/picture.h"
#include "out/render.h"
#include "trend/trend.h"

/* Writes the report, with stacks from the last picture or, for processes
 * that exited, from before_exit (may be NULL); returns the number of
 * suspects (>= 0) or -EIO. */
int leaks__write(FILE *out, enum pw_format format, const struct trend *trend,
		 const struct pw_picture *last, const struct pw_picture *before_exit,
		 __u64 watched_ns);

#endif /* PARKWATCH_LEAKS_H */
