/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * libdwfl's find_elf and find_debuginfo for a live process, through the
 * process's own root: a binary that exists only in its mount namespace (a
 * container) is opened by /proc/PID/map_files/START-END (the very file
 * mapped), else by its path resolved inside /proc/PID/root; its separate
 * debug info is looked up by build id (/usr/lib/debug/.build-id/) and
 * .gnu_debuglink (next to the binary, in .debug/, in /usr/lib/debug/DIR/)
 * inside that root first, then on the host by libdwfl's own search.
 *
 * The container's files are its owner's to shape: paths inside its root
 * are resolved by the kernel as if chrooted there (openat2
 * RESOLVE_IN_ROOT), so no symlink leads out of it; nothing but a regular
 * file of bounded size is opened for reading (a FIFO or a device would
 * block or have side effects on open); debug info found inside is used
 * only when its build id (or, without one, its debuglink CRC) matches.
 */
#ifndef PARKWATCH_ELFOPEN_H
#define PARKWATCH_ELFOPEN_H

#include <sys/types.h>
#include <elfutils/libdwfl.h>

#define ELFOPEN_MAX_BYTES (4ULL << 30) /* debug files of the largest programs are ~3 GiB */

/* The callbacks for a Dwfl of a live process; elfopen__bind tells them which. */
extern const Dwfl_Callbacks elfopen__callbacks;
/* Their debuginfo_path: the host's own debug directory alone. */
extern char *elfopen__host_debuginfo_path;
/* The two of them, for callbacks that wrap them (*userdata: the pid). */
int elfopen__find_elf(Dwfl_Module *mod, void **userdata, const char *module_name,
		      Dwarf_Addr base, char **file_name, Elf **elfp);
int elfopen__find_debuginfo(Dwfl_Module *mod, void **userdata, const char *module_name,
			    Dwarf_Addr base, const char *file_name, const char *debuglink_file,
			    GElf_Word debuglink_crc, char **debuginfo_file_name);
/* Between dwfl_report_end and the first use of the session's modules:
 * gives every module the pid whose root it is opened through. */
void elfopen__bind(Dwfl *dwfl, pid_t pid);
/* The same with any userdata, for callbacks that wrap the two above. */
void elfopen__bind_userdata(Dwfl *dwfl, void *userdata);
/*
 * A regular file at path (absolute, as pid sees it) inside pid's root,
 * opened read-only: an fd, or -errno (-ENOENT, -EXDEV for a file that is
 * not regular, -EFBIG past ELFOPEN_MAX_BYTES, ...).
 */
int elfopen__in_root(pid_t pid, const char *path);
/*
 * The file mapped at base in pid as module_name (a module libdwfl reported
 * from its maps), opened read-only: an fd, or -errno; -ENOENT for what
 * has no file to open (the vDSO; a deleted file no longer mapped).  maps:
 * the process's maps lines that map files, NUL-terminated, if the caller
 * has them; NULL reads /proc/PID/maps.
 */
int elfopen__module_file(pid_t pid, const char *module_name, Dwarf_Addr base, const char *maps);

#endif /* PARKWATCH_ELFOPEN_H */
