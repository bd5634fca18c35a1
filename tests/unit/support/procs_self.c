// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* A procs session on this process (procs_self.h). */
#include <unistd.h>
#include "support/procs_self.h"

int procs_self_open(struct procs **procs, struct proc **self)
{
	*self = NULL;
	*procs = procs__new(PROCS_CACHE_DEFAULT_BYTES);
	if (!*procs)
		return -1;
	procs__begin(*procs);
	*self = procs__get(*procs, getpid());
	return *self ? 0 : -1;
}

void procs_self_close(struct procs *procs)
{
	if (!procs)
		return;
	procs__end(procs);
	procs__free(procs);
}
