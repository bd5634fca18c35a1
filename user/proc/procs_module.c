// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* A process's modules: which files its maps map, and each read through the
 * shared session of its file (procs.h, modcache.h), or alone when there is
 * none. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "proc/elfopen.h"
#include "proc/procs.h"
#include "proc/procs_internal.h"
#include "util/hash.h"
#include "util/procfs.h"

/* Whether a maps line ("START-END r-xp ...") maps executable memory of no
 * file, or of a memfd: where JIT code lives.  The kernel's [vdso],
 * [vsyscall] and [uprobes] are not. */
static bool jit_exec(const char *line)
{
	const char *perms = strchr(line, ' ');
	const char *slash = strchr(line, '/');

	return perms && strlen(perms) > 4 && perms[3] == 'x' &&
	       (slash ? !strncmp(slash, "/memfd:", 7) :
			!strstr(perms, " [vdso]") && !strstr(perms, " [vsyscall]") &&
				!strstr(perms, " [uprobes]"));
}

__u64 procs__read_file_maps(pid_t pid, struct file_maps *out)
{
	char path[64], *line = NULL, *grown;
	size_t capacity = 0, room = 0;
	ssize_t len;
	__u64 hash = 1;
	FILE *maps;

	*out = (struct file_maps){ 0 };
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	maps = procfs__fopen(path);
	if (!maps)
		return 0;
	while (hash && (len = getline(&line, &capacity, maps)) > 0) {
		out->jit_exec = out->jit_exec || jit_exec(line);
		if (!strchr(line, '/'))
			continue;
		hash = hash__bytes(line, len, hash) | 1; /* 0 says unreadable */
		if (out->len + (size_t)len + 1 > room) {
			room = 2 * (out->len + (size_t)len + 1);
			grown = room <= PROCS_FILE_MAPS_MAX_BYTES ? realloc(out->text, room) : NULL;
			if (!grown) {
				errno = room > PROCS_FILE_MAPS_MAX_BYTES ? E2BIG : ENOMEM;
				hash = 0;
				break;
			}
			out->text = grown;
		}
		memcpy(out->text + out->len, line, (size_t)len + 1);
		out->len += (size_t)len;
	}
	free(line);
	fclose(maps);
	if (!hash) {
		free(out->text);
		*out = (struct file_maps){ 0 };
	}
	return hash;
}


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
