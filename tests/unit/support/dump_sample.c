// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* The picture of the dump tests (dump_sample.h). */
#include "support/dump_sample.h"

const __u64 dump_s1_pcs[D_S1_DEPTH] = { 0x7f00000283c0, 0x401236, 0x7f1000011234, 0x4000 };
const __u64 dump_kstack[2] = { 0xffffffff81001010, 0xffffffff80000008 };

/* A parked thread of the picture, in syscall for kernel_reason. */
static struct pw_unit *parked(struct pw_picture *picture, pid_t pid, pid_t tid, const char *comm,
			      const char *reason, const char *syscall,
			      enum park_reason kernel_reason, bool timeout, __u64 park_ns,
			      const struct pw_stack *stack)
{
	struct pw_unit *unit = add_thread(picture, pid, tid, reason, timeout, park_ns, stack);

	snprintf(unit->comm, sizeof(unit->comm), "%s", comm);
	unit->wait.syscall = syscall;
	unit->wait.kernel_reason = kernel_reason;
	return unit;
}

void dump_sample_build(struct dump_sample *d)
{
	const struct symbol *s1_symbols[D_S1_DEPTH], *s2_symbols[1];
	struct pw_unit *unit;

	/* S1: libc leaf, level_three with an inlined helper, plugin, unmapped */
	d->libc_cond = make_symbol(DUMP_LIBC, 0, 0, NULL, 0x283c0, 1);
	set_frame(d->libc_cond, 0, "pthread_cond_wait", NULL, 0, 0x1c0, false);
	d->level_three = make_symbol(DUMP_APP, 0, 0, NULL, 0x1235, 2);
	set_frame(d->level_three, 0, "check_ready", DUMP_SOURCE, 17, 0x5, true);
	set_frame(d->level_three, 1, "level_three", DUMP_SOURCE, 29, 0x3a, false);
	d->plugin = make_symbol(DUMP_PLUGIN, 0, 0, NULL, 0x11233, 0);
	d->unmapped = make_unknown(dump_s1_pcs[3]);
	/* S2: one libc frame */
	d->libc_sleep = make_symbol(DUMP_LIBC, 0, 0, NULL, 0xe5a10, 1);
	set_frame(d->libc_sleep, 0, "clock_nanosleep", DUMP_SLEEP_SOURCE, 78, 0x70, false);

	d->picture = picture__new();
	assert_non_null(d->picture);
	d->picture->time_unix_ns = DUMP_TIME_UNIX_NS;
	s1_symbols[0] = d->libc_cond;
	s1_symbols[1] = d->level_three;
	s1_symbols[2] = d->plugin;
	s1_symbols[3] = d->unmapped;
	s2_symbols[0] = d->libc_sleep;
	d->s1 = make_stack(d->picture, 4242, dump_s1_pcs, s1_symbols, D_S1_DEPTH);
	d->s2 = make_stack(d->picture, 5000, (const __u64[]){ 0x7f00000e5a10 }, s2_symbols, 1);

	add_proc(d->picture, 4242, "condwait", DUMP_APP);
	add_proc(d->picture, 5000, "io\"x", NULL);
	unit = add_thread(d->picture, 4242, 4242, NULL, false, 0, NULL);
	snprintf(unit->comm, sizeof(unit->comm), "condwait");
	unit = parked(d->picture, 4242, 4243, "worker-1", "cond wait", "futex", PARK_REASON_FUTEX,
		      false, 5 * 60 * SEC + 30 * SEC, d->s1);
	unit->kstack = picture__copy(d->picture, dump_kstack, sizeof(dump_kstack));
	assert_non_null(unit->kstack);
	unit->kstack_depth = 2;
	parked(d->picture, 4242, 4244, "worker-2", "cond wait", "futex", PARK_REASON_FUTEX, false,
	       12 * SEC, d->s1);
	unit = parked(d->picture, 5000, 5000, "io\"x", "sleep", "nanosleep", PARK_REASON_SLEEP, true,
		      2 * SEC, d->s2);
	unit->park_start_estimated = true;
	parked(d->picture, 5000, 5001, "reader", "IO wait (pipe)", "read", PARK_REASON_IO, true,
	       340 * MS, NULL);
	regroup(d->picture);
	assert_int_equal(d->picture->unit_count, D_UNITS);
	assert_int_equal(d->picture->parked_count, 4);
	assert_int_equal(d->picture->state_counts[PW_STATE_SLEEPING], 4);
	assert_int_equal(d->picture->state_counts[PW_STATE_RUNNING], 1);
}

void dump_sample_free(struct dump_sample *d)
{
	picture__put(d->picture);
	symbol__put(d->libc_cond);
	symbol__put(d->level_three);
	symbol__put(d->plugin);
	symbol__put(d->unmapped);
	symbol__put(d->libc_sleep);
}

struct ksyms *dump_ksyms(void)
{
	char path[] = "/tmp/parkwatch-dump-ksyms-XXXXXX";
	const char kallsyms[] = "ffffffff81000000 T _stext\n"
				"ffffffff81001000 t futex_wait_queue\n"
				"ffffffff81002000 T schedule\n";
	struct ksyms *ksyms = NULL;
	int fd = mkstemp(path), err;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, kallsyms, sizeof(kallsyms) - 1), (ssize_t)sizeof(kallsyms) - 1);
	close(fd);
	err = ksyms__load(path, &ksyms);
	unlink(path);
	assert_int_equal(err, 0);
	return ksyms;
}

int dump_fixture_setup(void **state)
{
	struct dump_fixture *fx = calloc(1, sizeof(*fx));

	if (!fx)
		return -1;
	dump_sample_build(&fx->d);
	*state = fx;
	return 0;
}

int dump_fixture_teardown(void **state)
{
	struct dump_fixture *fx = *state;

	dump_sample_free(&fx->d);
	ksyms__free(fx->ksyms);
	free(fx->out);
	free(fx);
	return 0;
}
