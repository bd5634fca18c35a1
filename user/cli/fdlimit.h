/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * The fd limit parkwatch runs with: the whole-system mode reads hundreds of
 * processes, each with a memory fd and its binaries open, so the soft
 * RLIMIT_NOFILE (1024 by default) goes up to the hard one at start-up,
 * while parkwatch may still raise it.
 */
#ifndef PARKWATCH_FDLIMIT_H
#define PARKWATCH_FDLIMIT_H

/* Raises the soft limit to the hard one; 0 or a negative errno. */
int fdlimit__raise(void);

#endif /* PARKWATCH_FDLIMIT_H */
