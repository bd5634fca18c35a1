// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* A process's modules read through the shared sessions of their files
 * (procs.h, modcache.h), or alone when there is none. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include "proc/elfopen.h"
#include "proc/procs.h"
#include "proc/procs_internal.h"

/* The tables of a module the process reads alone; NULL when out of memory. */
static struct module_tables *own_tables(struct proc *proc, Dwfl_Module *own)
{
	struct module_tables *tables = u64map__get(&proc->own_tables, (uintptr_t)own);

	if (tables)
		return tables;
	tables = calloc(1, sizeof(*tables));
	if (tables && u64map__put(&proc->own_tables, (uintptr_t)own, tables)) {
		free(tables);
		tables = NULL;
	}
	return tables;
}

/* The identity of own's file, kept for the next lookups; NULL when out of
 * memory or the file can't be stat'ed. */
static struct file_identity *remember_identity(struct proc *proc, Dwfl_Module *own, int fd)
{
	struct file_identity *identity = malloc(sizeof(*identity));

	if (identity && !modcache__identity(fd, identity) &&
	    !u64map__put(&proc->module_files, (uintptr_t)own, identity))
		return identity;
	free(identity);
	return NULL;
}

bool procs__hold_shared(struct proc *proc, Dwfl_Module *own, bool measured,
			struct proc_module *out)
{
	struct modcache *cache = proc->owner->modcache;
	struct file_identity *identity = u64map__get(&proc->module_files, (uintptr_t)own);
	Dwarf_Addr start;
	const char *name;
	int fd;

	if (identity == NOT_SHARED)
		return false;
	if (identity && !modcache__hold(cache, identity, measured, &out->held))
		return true;
	/* first use, or evicted since: the file again */
	name = dwfl_module_info(own, NULL, &start, NULL, NULL, NULL, NULL, NULL);
	if (!name)
		return false;
	procs__make_fd_room(proc, 1);
	fd = elfopen__module_file(proc->pid, name, start, proc->file_maps.text);
	proc->fds_held--;
	proc->owner->fds_held--;
	if (fd < 0) {
		/* nothing to open: libdwfl reads it from memory, as the process's */
		if (fd == -ENOENT && !identity)
			u64map__put(&proc->module_files, (uintptr_t)own, NOT_SHARED);
		return false;
	}
	if (!identity) {
		identity = remember_identity(proc, own, fd);
		if (!identity || !modcache__hold(cache, identity, measured, &out->held)) {
			close(fd);
			return identity != NULL;
		}
	}
	return !modcache__load(cache, identity, fd, name, proc->pid, &out->held);
}

bool procs__module_of(struct proc *proc, Dwfl_Module *own, bool measured,
		      struct proc_module *out)
{
	Dwarf_Addr own_bias;

	*out = (struct proc_module){ .mod = own };
	if (!dwfl_module_getelf(own, &own_bias) || !procs__hold_shared(proc, own, measured, out)) {
		out->held.entry = NULL;
		out->tables = own_tables(proc, own);
		return out->tables != NULL;
	}
	out->mod = out->held.mod;
	out->delta = own_bias - out->held.bias;
	out->tables = out->held.tables;
	return true;
}

bool procs__module_at(struct proc *proc, __u64 pc, struct proc_module *out)
{
	Dwfl *dwfl = procs__dwfl(proc);
	Dwfl_Module *own = dwfl ? dwfl_addrmodule(dwfl, pc) : NULL;

	*out = (struct proc_module){ 0 };
	return own && procs__module_of(proc, own, true, out);
}

void procs__module_done(struct proc *proc, struct proc_module *module)
{
	modcache__release(proc->owner->modcache, &module->held);
}
