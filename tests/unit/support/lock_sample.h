/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * The hand-built picture of the tests of what units wait for, every
 * finding written down by hand:
 *   process 1234 "locks" (exe LOCK_APP):
 *     101 "a" and 102 "b" (stack take_both): an ABBA deadlock, 101 waits
 *       for lock_b held by 102, 102 for lock_a held by 101;
 *     103 "self" (stack relock): a self-deadlock on lock_c;
 *     4201 "holder", parked 5 minutes in IO wait (socket) on fd 5, a TCP
 *       connection: holds config_lock;
 *     105, 106, 107 "waiter" (stack handle_request): wait for config_lock;
 *     104 "orphan" (lock_d, its owner 99 exited), 109 "unknown" (a mutex
 *       whose owner can't be read), 110 "outsider" (a mutex held by 7777,
 *       no thread of the picture) (stack misc);
 *     108 "cv": a condition variable, no owner;
 *   process 2000 "shared": 2001 "peer" waits for a process-shared mutex
 *     held by 4201 of process 1234.
 * Findings: the deadlock, the self-deadlock, the abandoned lock, and a
 * convoy of 4 (105, 106, 107, 2001) behind 4201.
 */
#ifndef PARKWATCH_TESTS_LOCK_SAMPLE_H
#define PARKWATCH_TESTS_LOCK_SAMPLE_H

#include "support/fixtures.h"

#define LOCK_APP "/opt/locks"
#define LOCK_A 0x55d0c0a04000ULL
#define LOCK_B 0x55d0c0a04080ULL
#define LOCK_C 0x55d0c0a040c0ULL
#define LOCK_D 0x55d0c0a04100ULL
#define CONFIG_LOCK 0x55d0c0a04040ULL
#define SHARED_LOCK 0x7f0000001000ULL
#define COND_ADDR 0x55d0c0a04200ULL
#define HOLDER_FD_TEXT "TCP 127.0.0.1:5432 -> 127.0.0.1:40112 ESTABLISHED"

struct lock_sample {
	struct pw_picture *picture;
	struct symbol *lock_wait, *take_both, *relock, *handle_request, *misc, *cond_wait,
		*read_call, *serve;
};

void lock_sample_build(struct lock_sample *s);
void lock_sample_free(struct lock_sample *s);
/* The unit of pid with this tid (the picture is finished). */
struct pw_unit *lock_sample_unit(struct lock_sample *s, pid_t pid, pid_t tid);

#endif /* PARKWATCH_TESTS_LOCK_SAMPLE_H */
