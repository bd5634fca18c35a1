// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* The BPF side's give-up counters by name (pw_stats.h). */
#include <stdio.h>
#include <string.h>
#include "model/pw_stats.h"
#include "util/format.h"

#define STAT(field, one_, many_, lost_) \
	{ .reason = #field, .one = one_, .many = many_, \
	  .offset = offsetof(struct pw_stats, field), .lost = lost_ }

const struct pw_stat_name pw_stat_names[PW_STATS_COUNT] = {
	STAT(dropped_no_storage, "task-storage allocation", "task-storage allocations", true),
	STAT(exited_dropped, "exited-thread total (map full)", "exited-thread totals (map full)",
	     true),
	STAT(stack_copy_failed, "stack copy", "stack copies", true),
	/* the thread woke: its park is over, and the dump says so where its
	 * stack would be; copying every parked stack (--dump), some always do */
	STAT(stack_copy_raced, "stack copy raced by a wakeup", "stack copies raced by a wakeup",
	     false),
	STAT(kstack_failed, "kernel stack", "kernel stacks", true),
	/* a record that didn't fit the iterator's buffer is made again: nothing
	 * is lost, and with many threads it happens at every snapshot */
	STAT(records_rewritten, "record rewritten", "records rewritten", false),
	STAT(unexpected, "unexpected failure", "unexpected failures", true),
};

__u64 pw_stats__value(const struct pw_stats *stats, size_t index)
{
	__u64 value;

	memcpy(&value, (const char *)stats + pw_stat_names[index].offset, sizeof(value));
	return value;
}

bool pw_stats__summary(const struct pw_stats *stats, char *buf, size_t size)
{
	size_t len = 0;

	if (size)
		buf[0] = '\0';
	for (size_t i = 0; i < PW_STATS_COUNT; i++) {
		__u64 value = pw_stats__value(stats, i);

		if (value && pw_stat_names[i].lost)
			len = format__count_phrase(buf, size, len, value, pw_stat_names[i].one,
						   pw_stat_names[i].many);
	}
	return len > 0;
}
