// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* Raising the fd limit (fdlimit.h). */
#include <errno.h>
#include <sys/resource.h>
#include "cli/fdlimit.h"

int fdlimit__raise(void)
{
	struct rlimit nofile;

	if (getrlimit(RLIMIT_NOFILE, &nofile))
		return -errno;
	if (nofile.rlim_cur == nofile.rlim_max)
		return 0;
	nofile.rlim_cur = nofile.rlim_max;
	return setrlimit(RLIMIT_NOFILE, &nofile) ? -errno : 0;
}
