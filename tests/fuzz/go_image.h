/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * The fake Go process fuzz_goroutines reads: an input is a header, then
 * the bytes of memory from GO_IMAGE_BASE on, with the runtime's variables
 * at the offsets below.  make_go_images.c writes seeds in this shape.
 */
#ifndef PARKWATCH_FUZZ_GO_IMAGE_H
#define PARKWATCH_FUZZ_GO_IMAGE_H

#include <linux/types.h>

#define GO_IMAGE_BASE 0xc000000000ULL /* where Go's heap starts on amd64 */
#define GO_IMAGE_MAX (1u << 20)       /* image bytes, at most */
#define GO_IMAGE_MAX_ALLGLEN 4096
#define GO_IMAGE_TEXT 0x401000ULL     /* a non-PIE Go binary's text */
#define GO_IMAGE_TEXT_END (GO_IMAGE_TEXT + (16u << 20))
#define GO_IMAGE_OLDEST 19            /* the oldest release golayout.c knows */
#define GO_IMAGE_NEWEST 40            /* more than it will know for a while */

/* offsets from GO_IMAGE_BASE */
#define GO_IMAGE_ALLGLEN 0x0          /* runtime.allglen */
#define GO_IMAGE_ALLGS 0x8            /* runtime.allgs (a slice), or allgptr */
#define GO_IMAGE_FING 0x20            /* runtime.fingStatus */
#define GO_IMAGE_REASONS 0x100        /* runtime.waitReasonStrings: reason_count strings */
#define GO_IMAGE_FREE 0x2000          /* the g's, stacks, strings, sudogs, channels */
#define GO_IMAGE_SEMTABLE 0x8000      /* runtime.semtable: 251 roots of 64 bytes */
#define GO_IMAGE_SEMTABLE_SIZE (251 * 64)

enum go_image_flags {
	GO_IMAGE_ALLGPTR = 1,         /* allgs is a bare pointer (runtime.allgptr) */
	GO_IMAGE_PCSP = 2,            /* unwind by .gopclntab, when the fuzzer has one */
};

struct go_image_header {
	__u8 release;                 /* Go 1.(GO_IMAGE_OLDEST + release % known) */
	__u8 flags;                   /* enum go_image_flags */
	__u8 reason_count;
	__u8 unused[5];
};

#endif /* PARKWATCH_FUZZ_GO_IMAGE_H */
