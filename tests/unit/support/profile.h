/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/* Reading back what a pprof writer wrote, for the pprof and window tests. */
#ifndef PARKWATCH_TESTS_PROFILE_H
#define PARKWATCH_TESTS_PROFILE_H

#include "support/fixtures.h"
#include "profile.pb-c.h"

/*
 * The profile in file, all of which a writer wrote (gzip'd): read, closed,
 * gunzipped and decoded, to be freed with
 * parkwatch__pprof__profile__free_unpacked.  The gzip'd bytes are left in
 * *raw (freed first), *raw_len of them.
 */
Parkwatch__Pprof__Profile *read_profile(FILE *file, uint8_t **raw, size_t *raw_len);

#endif /* PARKWATCH_TESTS_PROFILE_H */
