// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* Binaries and debug info through a process's own root (elfopen.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <zlib.h>
#include <linux/openat2.h>
#include <elfutils/libdwelf.h>
#include "proc/elfopen.h"
#include "util/procfs.h"

#define CRC_CHUNK_BYTES 65536

/* The host's own debug directory, for libdwfl's search (host files are
 * root's, trusted as any tool trusts them). */
char *elfopen__host_debuginfo_path = "/usr/lib/debug";

const Dwfl_Callbacks elfopen__callbacks = {
	.find_elf = elfopen__find_elf,
	.find_debuginfo = elfopen__find_debuginfo,
	.debuginfo_path = &elfopen__host_debuginfo_path,
};

static pid_t pid_of(void **userdata)
{
	return (pid_t)(intptr_t)*userdata;
}

static int bind_module(Dwfl_Module *mod, void **userdata, const char *name, Dwarf_Addr start,
		       void *arg)
{
	(void)mod;
	(void)name;
	(void)start;
	*userdata = arg;
	return DWARF_CB_OK;
}

void elfopen__bind_userdata(Dwfl *dwfl, void *userdata)
{
	dwfl_getmodules(dwfl, bind_module, userdata, 0);
}

void elfopen__bind(Dwfl *dwfl, pid_t pid)
{
	elfopen__bind_userdata(dwfl, (void *)(intptr_t)pid);
}

/* An O_PATH fd made a readable one if it names a regular file of bounded
 * size: opening through O_PATH first means a FIFO or device is never
 * opened for real.  Consumes path_fd. */
static int reopen_regular(int path_fd)
{
	char self[64];
	struct stat st;
	int fd;

	if (fstat(path_fd, &st)) {
		fd = -errno;
	} else if (!S_ISREG(st.st_mode)) {
		fd = -EINVAL;
	} else if ((unsigned long long)st.st_size > ELFOPEN_MAX_BYTES) {
		fd = -EFBIG;
	} else {
		snprintf(self, sizeof(self), "/proc/self/fd/%d", path_fd);
		fd = open(self, O_RDONLY | O_CLOEXEC | O_NOCTTY);
		if (fd < 0)
			fd = -errno;
	}
	close(path_fd);
	return fd;
}

int elfopen__in_root(pid_t pid, const char *path)
{
	struct open_how how = {
		.flags = O_PATH | O_CLOEXEC,
		/* ".." and absolute symlinks stop at the process's root;
		 * /proc/X/... links inside it are not followed */
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	char root_path[64];
	int root, fd, err;

	if (path[0] != '/')
		return -EINVAL;
	snprintf(root_path, sizeof(root_path), "/proc/%d/root", pid);
	root = procfs__open(root_path, O_PATH | O_DIRECTORY);
	if (root < 0)
		return root;
	fd = (int)syscall(SYS_openat2, root, path, &how, sizeof(how));
	err = errno;
	close(root);
	return fd < 0 ? -err : reopen_regular(fd);
}

/* Whether the maps line at line maps base, and then where it ends. */
static bool maps_line_at(const char *line, Dwarf_Addr base, unsigned long long *end)
{
	char *dash, *space;

	if (strtoull(line, &dash, 16) != base || dash == line || *dash != '-')
		return false;
	*end = strtoull(dash + 1, &space, 16);
	return space != dash + 1 && *space == ' ';
}

/* The end of the mapping at base, from the lines in maps (NUL-terminated)
 * or else from /proc/PID/maps; false when none starts there. */
static bool mapping_end(pid_t pid, const char *maps, Dwarf_Addr base, unsigned long long *end)
{
	char path[64], line[128];
	bool found = false, line_start = true;
	FILE *file;

	if (maps) {
		for (const char *at = maps; *at; at++) {
			if (maps_line_at(at, base, end))
				return true;
			at = strchr(at, '\n');
			if (!at)
				return false;
		}
		return false;
	}
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	file = procfs__fopen(path);
	if (!file)
		return false;
	/* a line longer than line comes in pieces: only its start may match */
	while (!found && fgets(line, sizeof(line), file)) {
		found = line_start && maps_line_at(line, base, end);
		line_start = strchr(line, '\n') != NULL;
	}
	fclose(file);
	return found;
}

/* /proc/PID/map_files/START-END of the mapping at base: the file the
 * kernel mapped, whatever its path, namespace or deletion.  Opening it
 * needs CAP_CHECKPOINT_RESTORE (or CAP_SYS_ADMIN); listing map_files needs
 * ptrace rights at every read, so the range is found in the maps (which
 * pad addresses to 8 digits; map_files names don't). */
static int open_mapped(pid_t pid, const char *maps, Dwarf_Addr base)
{
	unsigned long long start = base, end;
	char path[96];
	struct stat st;
	int fd;

	if (!mapping_end(pid, maps, base, &end))
		return -ENOENT;
	snprintf(path, sizeof(path), "/proc/%d/map_files/%llx-%llx", pid, start, end);
	fd = procfs__open(path, O_RDONLY | O_NOCTTY);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) || (unsigned long long)st.st_size > ELFOPEN_MAX_BYTES) {
		close(fd);
		return -EFBIG;
	}
	return fd;
}

static bool is_deleted(const char *module_name)
{
	const char *space = strrchr(module_name, ' ');

	return space && !strcmp(space, " (deleted)");
}

int elfopen__module_file(pid_t pid, const char *module_name, Dwarf_Addr base, const char *maps)
{
	int fd;

	if (!pid || module_name[0] != '/')
		return -ENOENT;
	fd = open_mapped(pid, maps, base);
	if (fd < 0 && !is_deleted(module_name))
		fd = elfopen__in_root(pid, module_name);
	return fd;
}

int elfopen__find_elf(Dwfl_Module *mod, void **userdata, const char *module_name,
		      Dwarf_Addr base, char **file_name, Elf **elfp)
{
	pid_t pid = pid_of(userdata);
	int fd = elfopen__module_file(pid, module_name, base, NULL);

	/* the vDSO and deleted files are read from memory by libdwfl */
	if (fd < 0)
		return !pid || module_name[0] != '/' || is_deleted(module_name) ?
			       dwfl_linux_proc_find_elf(mod, userdata, module_name, base, file_name, elfp) :
			       -1;
	/* the name the process knows it by, which outputs show */
	*file_name = strdup(module_name);
	if (!*file_name) {
		close(fd);
		return -1;
	}
	return fd;
}

/* CRC-32 of the whole file, as .gnu_debuglink records it (zlib's). */
static bool crc_matches(int fd, GElf_Word expected)
{
	unsigned char *chunk = malloc(CRC_CHUNK_BYTES);
	uLong crc = crc32(0L, Z_NULL, 0);
	off_t offset = 0;
	ssize_t got = -1;

	while (chunk && (got = pread(fd, chunk, CRC_CHUNK_BYTES, offset)) > 0) {
		crc = crc32(crc, chunk, (uInt)got);
		offset += got;
	}
	free(chunk);
	return got == 0 && (GElf_Word)crc == expected;
}

/* A debug file belongs to the module: the same build id, or without one
 * the CRC its debuglink gives. */
static bool debug_file_matches(Dwfl_Module *mod, int fd, GElf_Word debuglink_crc)
{
	const unsigned char *mod_id;
	const void *file_id;
	GElf_Addr vaddr;
	int mod_id_len = dwfl_module_build_id(mod, &mod_id, &vaddr);
	ssize_t file_id_len;
	bool same;
	Elf *elf;

	if (mod_id_len <= 0)
		return debuglink_crc && crc_matches(fd, debuglink_crc);
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf)
		return false;
	file_id_len = dwelf_elf_gnu_build_id(elf, &file_id);
	same = file_id_len == mod_id_len && !memcmp(file_id, mod_id, (size_t)mod_id_len);
	elf_end(elf);
	return same;
}

/* Tries path inside the root: an fd of the matching debug file, else -1. */
static int try_debug_file(Dwfl_Module *mod, pid_t pid, const char *path, GElf_Word crc,
			  char **debuginfo_file_name)
{
	int fd = elfopen__in_root(pid, path);

	if (fd < 0)
		return -1;
	if (!debug_file_matches(mod, fd, crc) || !(*debuginfo_file_name = strdup(path))) {
		close(fd);
		return -1;
	}
	return fd;
}

static int find_in_root(Dwfl_Module *mod, pid_t pid, const char *module_name,
			const char *debuglink, GElf_Word crc, char **debuginfo_file_name)
{
	const unsigned char *id;
	GElf_Addr vaddr;
	int id_len = dwfl_module_build_id(mod, &id, &vaddr), fd = -1;
	const char *slash = strrchr(module_name, '/');
	int dir_len = slash ? (int)(slash - module_name) : 0;
	/* next to the binary, in .debug/ beside it, in /usr/lib/debug/DIR/ */
	static const char *const formats[] = { "%.*s/%s", "%.*s/.debug/%s", "/usr/lib/debug%.*s/%s" };
	char path[PATH_MAX];
	size_t at;

	if (id_len > 1) {
		at = (size_t)snprintf(path, sizeof(path), "/usr/lib/debug/.build-id/%02x/", id[0]);
		for (int i = 1; i < id_len && at + 3 < sizeof(path); i++)
			at += (size_t)snprintf(path + at, sizeof(path) - at, "%02x", id[i]);
		snprintf(path + at, sizeof(path) - at, ".debug");
		fd = try_debug_file(mod, pid, path, crc, debuginfo_file_name);
	}
	/* a debuglink is a file name: one with a slash is not followed */
	if (fd >= 0 || !debuglink || !debuglink[0] || strchr(debuglink, '/') || !slash)
		return fd;
	for (size_t i = 0; fd < 0 && i < sizeof(formats) / sizeof(formats[0]); i++) {
		if (snprintf(path, sizeof(path), formats[i], dir_len, module_name, debuglink) >=
		    (int)sizeof(path))
			continue;
		if (strcmp(path, module_name)) /* not the binary itself again */
			fd = try_debug_file(mod, pid, path, crc, debuginfo_file_name);
	}
	return fd;
}

int elfopen__find_debuginfo(Dwfl_Module *mod, void **userdata, const char *module_name,
			    Dwarf_Addr base, const char *file_name, const char *debuglink_file,
			    GElf_Word debuglink_crc, char **debuginfo_file_name)
{
	pid_t pid = pid_of(userdata);
	int fd = -1;

	if (pid && file_name && file_name[0] == '/') {
		fd = find_in_root(mod, pid, file_name, debuglink_file, debuglink_crc,
				  debuginfo_file_name);
		if (fd >= 0)
			return fd;
	}
	/* the host's /usr/lib/debug: by build id, then by debuglink below
	 * the binary's directory; a debuglink with a slash would lead the
	 * search anywhere on the host, so it is left out */
	if (debuglink_file && strchr(debuglink_file, '/'))
		debuglink_file = NULL;
	return dwfl_standard_find_debuginfo(mod, userdata, module_name, base, file_name,
					    debuglink_file, debuglink_crc, debuginfo_file_name);
}
