// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Fuzzes the reading of a Go process's goroutines (go/goproc.c, gomem.c,
 * gounwind.c, gowait.c) over a fake memory image: the process's memory is
 * a memfd read the way /proc/PID/mem is, holding the input's image at
 * GO_IMAGE_BASE, where the runtime's variables are too (go_image.h).  Each
 * input is one goproc__read: runtime.allgs, every g, its stack unwound by
 * frame pointers or, with a .gopclntab given in PARKWATCH_FUZZ_PCLNTAB, by
 * its pcsp tables, and what it waits on (sudogs, channels, the semtable).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "cli/options.h"
#include "go/go_internal.h"
#include "go/golayout.h"
#include "go/gomem.h"
#include "util/budget.h"
#include "fuzz.h"
#include "go_image.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);

static int memory_fd = -1;
/* the reader's scratch space, kept between reads as goproc keeps it: made
 * afresh per input, its megabytes would cost more than the read */
static struct batch *batches[GO_IMAGE_NEWEST + 1];
/* a real Go binary's .gopclntab, for the pcsp walk; NULL: frame pointers only */
static __u8 *pcln_bytes;
static size_t pcln_size;

static void load_pclntab(const char *path)
{
	FILE *f = fopen(path, "rb");
	long size;

	if (!f)
		return;
	if (!fseek(f, 0, SEEK_END) && (size = ftell(f)) > 0 && !fseek(f, 0, SEEK_SET)) {
		pcln_bytes = malloc((size_t)size);
		if (pcln_bytes && fread(pcln_bytes, 1, (size_t)size, f) == (size_t)size)
			pcln_size = (size_t)size;
	}
	fclose(f);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *pclntab = getenv("PARKWATCH_FUZZ_PCLNTAB");

	(void)argc;
	(void)argv;
	memory_fd = memfd_create("parkwatch-fuzz-go-memory", MFD_CLOEXEC);
	if (memory_fd < 0) {
		perror("parkwatch: fuzz_goroutines: memfd_create");
		exit(1);
	}
	if (pclntab)
		load_pclntab(pclntab);
	return 0;
}

/* goproc__free, but for what the inputs share */
static void free_goproc(struct goproc *gp)
{
	if (gp->pcln_buf == pcln_bytes)
		gp->pcln_buf = NULL;
	gp->batch = NULL;
	goproc__free(gp);
}

/* The goproc goopen.c would have made of the image's binary: its layout
 * for the release the header names, the runtime's variables where
 * go_image.h puts them.  NULL when out of memory. */
static struct goproc *fake_goproc(const struct go_image_header *header)
{
	struct goproc *gp = calloc(1, sizeof(*gp));
	int newest = golayout__newest();

	if (!gp)
		return NULL;
	gp->pid = getpid();
	gp->mem_fd = dup(memory_fd); /* goproc__free closes it */
	gp->minor = GO_IMAGE_OLDEST + header->release % (newest - GO_IMAGE_OLDEST + 1);
	snprintf(gp->version, sizeof(gp->version), "go1.%d", gp->minor);
	if (gp->mem_fd < 0 || !golayout__table(gp->minor, &gp->layout))
		goto fail;
	golayout__finish(&gp->layout);
	gp->allglen = GO_IMAGE_BASE + GO_IMAGE_ALLGLEN;
	if (header->flags & GO_IMAGE_ALLGPTR)
		gp->allgptr = GO_IMAGE_BASE + GO_IMAGE_ALLGS;
	else
		gp->allgs = GO_IMAGE_BASE + GO_IMAGE_ALLGS;
	gp->fing_status = GO_IMAGE_BASE + GO_IMAGE_FING;
	gp->semtable = GO_IMAGE_BASE + GO_IMAGE_SEMTABLE;
	gp->semtable_size = GO_IMAGE_SEMTABLE_SIZE;
	gp->types = (struct range){ GO_IMAGE_BASE, GO_IMAGE_BASE + GO_IMAGE_MAX };
	gp->text = (struct range){ GO_IMAGE_TEXT, GO_IMAGE_TEXT_END };
	if ((header->flags & GO_IMAGE_PCSP) && pcln_bytes &&
	    !pclntab__init(&gp->pcln, pcln_bytes, pcln_size, GO_IMAGE_TEXT)) {
		/* the walk only reads it: the one copy serves every goproc */
		gp->pcln_buf = pcln_bytes;
		gp->sp_cache = calloc(1u << GO_SP_CACHE_BITS, sizeof(*gp->sp_cache));
		if (!gp->sp_cache)
			goto fail;
	}
	if (gomem__read_wait_reasons(gp, GO_IMAGE_BASE + GO_IMAGE_REASONS,
				     (__u64)header->reason_count * 16) == -ENOMEM ||
	    gp->minor > GO_IMAGE_NEWEST ||
	    (!batches[gp->minor] && gomem__batch_new(gp->layout.g_read_size, &batches[gp->minor])))
		goto fail;
	gp->batch = batches[gp->minor];
	return gp;
fail:
	free_goproc(gp);
	return NULL;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct go_image_header header;
	struct goroutine *goroutines;
	struct goproc *gp;
	struct budget budget;
	size_t count;
	__u64 allglen;

	if (size < sizeof(header) || size - sizeof(header) > GO_IMAGE_MAX)
		return 0;
	memcpy(&header, data, sizeof(header));
	data += sizeof(header);
	size -= sizeof(header);
	if (ftruncate(memory_fd, 0) ||
	    pwrite(memory_fd, data, size, GO_IMAGE_BASE) != (ssize_t)size)
		return 0;
	/* allglen is bounded here, not by the reader (yet): a made-up one
	 * makes it allocate for that many goroutines (issue 13) */
	if (size >= GO_IMAGE_ALLGLEN + 8) {
		memcpy(&allglen, data + GO_IMAGE_ALLGLEN, 8);
		allglen %= GO_IMAGE_MAX_ALLGLEN + 1;
		if (pwrite(memory_fd, &allglen, 8, GO_IMAGE_BASE + GO_IMAGE_ALLGLEN) != 8)
			return 0;
	}
	gp = fake_goproc(&header);
	if (!gp)
		return 0;
	/* parkwatch's default memory budget, no deadline: a run must not
	 * depend on how fast the machine is */
	budget = budget__start(0, GO_MEMORY_BUDGET_DEFAULT_BYTES, NULL);
	if (!goproc__read(gp, &goroutines, &count, &budget)) {
		for (size_t i = 0; i < count; i++) {
			const struct goroutine *g = &goroutines[i];

			if (g->depth < 0 || g->depth > GO_MAX_DEPTH)
				abort();
			for (int k = 0; k < g->depth; k++)
				fuzz_use(goroutine__lookup_pc(g, k));
			if (g->wait_reason)
				fuzz_use(strlen(g->wait_reason));
			if (g->blocked_on.elem_type)
				fuzz_use(strlen(g->blocked_on.elem_type));
		}
		goproc__free_goroutines(goroutines);
	}
	free_goproc(gp);
	return 0;
}
