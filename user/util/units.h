/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/* Time units, in the nanoseconds every clock and park length is kept in. */
#ifndef PARKWATCH_UNITS_H
#define PARKWATCH_UNITS_H

#define NSEC_PER_USEC 1000ULL
#define NSEC_PER_MSEC 1000000ULL
#define NSEC_PER_SEC 1000000000ULL
#define NSEC_PER_MIN (60 * NSEC_PER_SEC)

#endif /* PARKWATCH_UNITS_H */
