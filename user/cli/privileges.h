/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * Capabilities after start-up.  Once the BPF programs are loaded and
 * attached, parkwatch keeps only what reading other processes needs:
 * CAP_SYS_PTRACE (their /proc/PID/mem, maps, fds and exe) and
 * CAP_DAC_READ_SEARCH (/proc/PID/mem is mode 0600, owned by the process's
 * user), and CAP_CHECKPOINT_RESTORE (/proc/PID/map_files/: the very files a
 * process mapped, whatever mount namespace they come from).  Everything else goes, including the bounding set, and no new
 * privileges can be gained (PR_SET_NO_NEW_PRIVS).
 */
#ifndef PARKWATCH_PRIVILEGES_H
#define PARKWATCH_PRIVILEGES_H

/* Returns 0 or a negative errno. */
int privileges__drop(void);

#endif /* PARKWATCH_PRIVILEGES_H */
