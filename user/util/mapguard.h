/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * Files of other processes that libelf and libdw map (binaries, shared
 * libraries, debug info) can be truncated by their owner while mapped:
 * a read of a page past the new end raises SIGBUS, which would kill the
 * daemon.  The guard catches that SIGBUS, puts a page of zeros where the
 * file's page was and lets the read go on: the reader sees a file of
 * zeros from there (libelf and libdw check what they read, so that costs
 * a frame or a name, never the daemon).  Each such page is counted as
 * GAVEUP_MAPPED_FILE_TRUNCATED.  Any other SIGBUS still ends the process
 * as it would have.
 */
#ifndef PARKWATCH_MAPGUARD_H
#define PARKWATCH_MAPGUARD_H

/* Installs the SIGBUS handler, once, before any file is mapped: 0 or -errno. */
int mapguard__install(void);

#endif /* PARKWATCH_MAPGUARD_H */
