// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* Time, memory and stop budgets of one piece of reading (budget.h). */
#include "util/budget.h"
#include "util/clock.h"

struct budget budget__start(__u64 time_ns, size_t max_bytes, const struct stop_check *stop)
{
	return (struct budget){
		.deadline_ns = time_ns ? clock__monotonic_ns() + time_ns : 0,
		.max_bytes = max_bytes,
		.stop = stop,
	};
}

bool stop_check__requested(const struct stop_check *stop)
{
	return stop && stop->requested && stop->requested(stop->ctx);
}

bool budget__spent(struct budget *budget)
{
	__u64 now;

	if (!budget)
		return false;
	if (budget->cut == BUDGET_CUT_STOPPED || budget->cut == BUDGET_CUT_TIME)
		return true;
	if (!budget->deadline_ns && !budget->stop)
		return false;
	now = clock__monotonic_ns();
	if (budget->deadline_ns && now >= budget->deadline_ns) {
		budget->cut = budget->cut ? budget->cut : BUDGET_CUT_TIME;
		return true;
	}
	if (now < budget->next_check_ns)
		return false;
	budget->next_check_ns = now + BUDGET_CHECK_NS;
	if (!stop_check__requested(budget->stop))
		return false;
	budget->cut = budget->cut ? budget->cut : BUDGET_CUT_STOPPED;
	return true;
}

bool budget__too_big(struct budget *budget, size_t bytes)
{
	if (!budget || !budget->max_bytes || bytes <= budget->max_bytes)
		return false;
	budget->cut = budget->cut ? budget->cut : BUDGET_CUT_MEMORY;
	return true;
}

struct budget budget__first_part(const struct budget *budget, unsigned share_percent)
{
	struct budget part = *budget;
	__u64 now;

	if (!budget->deadline_ns || budget->cut)
		return part;
	now = clock__monotonic_ns();
	if (now < budget->deadline_ns)
		part.deadline_ns = now + (budget->deadline_ns - now) / 100 * share_percent;
	return part;
}

void budget__take_cut(struct budget *budget, const struct budget *part)
{
	if (budget && part && !budget->cut)
		budget->cut = part->cut;
}
