// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* Dropping capabilities with libcap-ng (privileges.h). */
#include <cap-ng.h>
#include <errno.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include "cli/privileges.h"

int privileges__drop(void)
{
	const capng_type_t sets = CAPNG_EFFECTIVE | CAPNG_PERMITTED | CAPNG_BOUNDING_SET;

	capng_clear(CAPNG_SELECT_ALL);
	if (capng_updatev(CAPNG_ADD, sets, CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH, -1))
		return -EINVAL;
	/* a kernel before 5.9 has no CAP_CHECKPOINT_RESTORE: binaries are then
	 * opened by path only */
	capng_update(CAPNG_ADD, sets, CAP_CHECKPOINT_RESTORE);
	if (capng_apply(CAPNG_SELECT_ALL))
		return -EPERM;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -errno;
	return 0;
}
