// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* glibc's lock layouts and one lock's state (locks.h). */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <dwarf.h>
#include "proc/locks.h"
#include "util/dwarfmember.h"
#include "util/hash.h"
#include "util/text.h"
#include "util/u64map.h"

/* glibc's mutex kinds (pthreadP.h): the bits that decide where the owner is */
#define MUTEX_KIND_ROBUST 16
#define MUTEX_KIND_PI 32
#define MUTEX_KIND_PSHARED 128
#define MUTEX_KIND_BITS 0x3ff       /* above: not a mutex glibc made */
/* pthread_rwlock_t's __wrphase_futex holds at most these bits (pthread_rwlock_common.c) */
#define RWLOCK_WRPHASE_FUTEX_BITS 3U
#define LOCK_READ_BYTES 64          /* the largest struct read: pthread_rwlock_t is 56 */
#define RODATA_MAX_BYTES (16U << 20) /* libc's .rodata is ~200 KiB */

/* A lock member's offset, inside what one read of a lock takes; -1 else. */
static int member_offset(Dwarf_Die *type, const char *name)
{
	int offset = dwarfmember__offset(type, name, NULL);

	return offset <= LOCK_READ_BYTES - 4 ? offset : -1;
}

enum { MUTEX_S, RWLOCK_S, COND_S, STRUCTS };

static const char *const struct_names[STRUCTS] = {
	[MUTEX_S] = "__pthread_mutex_s",
	[RWLOCK_S] = "__pthread_rwlock_arch_t",
	[COND_S] = "__pthread_cond_s",
};

/* The definitions (not declarations) of the three structs among a unit's
 * top-level DIEs, where the pthread headers put them. */
static void find_structs(Dwarf_Die *cu, Dwarf_Die *found, bool *have)
{
	Dwarf_Die child;

	if (dwarf_child(cu, &child))
		return;
	do {
		const char *name;

		if (dwarf_tag(&child) != DW_TAG_structure_type || dwarf_hasattr(&child, DW_AT_declaration))
			continue;
		name = dwarf_diename(&child);
		for (int i = 0; name && i < STRUCTS; i++)
			if (!have[i] && !strcmp(name, struct_names[i])) {
				found[i] = child;
				have[i] = true;
			}
	} while (dwarf_siblingof(&child, &child) == 0);
}

int libc_layout__from_dwarf(Dwarf *dwarf, struct libc_layout *out)
{
	Dwarf_Off offset = 0, next;
	Dwarf_Die found[STRUCTS];
	bool have[STRUCTS] = { false };
	size_t header_size;

	/* the units of the pthread sources first: they all include the three */
	for (int pass = 0; pass < 2 && !(have[MUTEX_S] && have[RWLOCK_S] && have[COND_S]); pass++) {
		for (offset = 0; dwarf_nextcu(dwarf, offset, &next, &header_size, NULL, NULL, NULL) == 0;
		     offset = next) {
			Dwarf_Die cu;
			const char *name;
			bool pthread_unit;

			if (!dwarf_offdie(dwarf, offset + header_size, &cu))
				continue;
			name = dwarf_diename(&cu);
			pthread_unit = name && strstr(name, "pthread_");
			if (pthread_unit == (pass == 0))
				find_structs(&cu, found, have);
			if (have[MUTEX_S] && have[RWLOCK_S] && have[COND_S])
				break;
		}
	}
	if (!have[MUTEX_S] || !have[RWLOCK_S])
		return -ENOENT;
	*out = (struct libc_layout){
		.known = true,
		.from_dwarf = true,
		.mutex_lock = member_offset(&found[MUTEX_S], "__lock"),
		.mutex_owner = member_offset(&found[MUTEX_S], "__owner"),
		.mutex_kind = member_offset(&found[MUTEX_S], "__kind"),
		.rwlock_readers = member_offset(&found[RWLOCK_S], "__readers"),
		.rwlock_wrphase_futex = member_offset(&found[RWLOCK_S], "__wrphase_futex"),
		.rwlock_writers_futex = member_offset(&found[RWLOCK_S], "__writers_futex"),
		.rwlock_cur_writer = member_offset(&found[RWLOCK_S], "__cur_writer"),
		.cond_g_signals = have[COND_S] ? member_offset(&found[COND_S], "__g_signals") : -1,
	};
	if (out->mutex_lock < 0 || out->mutex_owner < 0 || out->mutex_kind < 0 ||
	    out->rwlock_readers < 0 || out->rwlock_wrphase_futex < 0 ||
	    out->rwlock_writers_futex < 0 || out->rwlock_cur_writer < 0)
		return -ENOENT;
	return 0;
}

/*
 * x86_64.  pthread_mutex_t's and pthread_rwlock_t's layouts are pinned by
 * their static initializers (an ABI): the same in every glibc since the
 * rwlock was rewritten in 2.25.  The condition variable's internals have
 * no such pin: its futex words are known only up to the last release
 * checked.
 */
static const struct {
	int since_minor, until_minor; /* glibc 2.since .. 2.until */
	int cond_g_signals;
} version_table[] = {
	{ 25, 40, 40 },
	{ 41, INT_MAX, -1 },
};

int libc_layout__from_version(int major, int minor, struct libc_layout *out)
{
	if (major != 2)
		return -ENOENT;
	for (size_t i = 0; i < sizeof(version_table) / sizeof(version_table[0]); i++) {
		if (minor < version_table[i].since_minor || minor > version_table[i].until_minor)
			continue;
		*out = (struct libc_layout){
			.known = true,
			.version_major = major,
			.version_minor = minor,
			.mutex_lock = 0,
			.mutex_owner = 8,
			.mutex_kind = 16,
			.rwlock_readers = 0,
			.rwlock_wrphase_futex = 8,
			.rwlock_writers_futex = 12,
			.rwlock_cur_writer = 24,
			.cond_g_signals = version_table[i].cond_g_signals,
		};
		return 0;
	}
	return -ENOENT;
}

static int parse_version(const char *text, size_t len, int *major, int *minor)
{
	char digits[16];
	char *end;
	long value;

	if (len >= sizeof(digits))
		len = sizeof(digits) - 1;
	memcpy(digits, text, len);
	digits[len] = '\0';
	value = strtol(digits, &end, 10);
	if (end == digits || *end != '.' || value <= 0 || value > 99)
		return -ENOENT;
	*major = (int)value;
	text = end + 1;
	value = strtol(text, &end, 10);
	if (end == text || value < 0 || value > 999)
		return -ENOENT;
	*minor = (int)value;
	return 0;
}

int libc_layout__version(Elf *elf, int *major, int *minor)
{
	static const char banner[] = "release version ";
	Elf_Scn *scn = NULL;
	size_t shstrndx;

	if (elf_getshdrstrndx(elf, &shstrndx))
		return -ENOENT;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr shdr;
		Elf_Data *data;
		const char *name, *at;

		if (!gelf_getshdr(scn, &shdr) || shdr.sh_type != SHT_PROGBITS)
			continue;
		name = elf_strptr(elf, shstrndx, shdr.sh_name);
		if (!name || strcmp(name, ".rodata") || shdr.sh_size > RODATA_MAX_BYTES)
			continue;
		data = elf_getdata(scn, NULL);
		if (!data || !data->d_buf)
			return -ENOENT;
		at = memmem(data->d_buf, data->d_size, banner, sizeof(banner) - 1);
		if (!at)
			return -ENOENT;
		at += sizeof(banner) - 1;
		return parse_version(at, (const char *)data->d_buf + data->d_size - at, major, minor);
	}
	return -ENOENT;
}

struct lock_layouts {
	struct u64map by_build;     /* hash of the libc's build id -> struct libc_layout */
	struct libc_layout none;    /* known false */
};

struct lock_layouts *lock_layouts__new(void)
{
	return calloc(1, sizeof(struct lock_layouts));
}

void lock_layouts__free(struct lock_layouts *layouts)
{
	if (!layouts)
		return;
	u64map__free_all(&layouts->by_build, free);
	free(layouts);
}

/* glibc's shared object: libc.so.6, or libc-2.NN.so before 2.34 */
static bool is_glibc(const char *path)
{
	const char *base = strrchr(path, '/');

	base = base ? base + 1 : path;
	return text__has_prefix(base, "libc.so.") || text__has_prefix(base, "libc-2.");
}

static int find_libc(Dwfl_Module *mod, void **userdata, const char *name, Dwarf_Addr start,
		     void *arg)
{
	(void)userdata;
	(void)start;
	if (!name || !is_glibc(name))
		return DWARF_CB_OK;
	*(Dwfl_Module **)arg = mod;
	return DWARF_CB_ABORT;
}

static void layout_of(Dwfl_Module *libc, struct libc_layout *layout)
{
	Dwarf_Addr bias;
	Dwarf *dwarf = dwfl_module_getdwarf(libc, &bias);
	Elf *elf = dwfl_module_getelf(libc, &bias);
	int major = 0, minor = 0;

	if (elf)
		libc_layout__version(elf, &major, &minor);
	if (!(dwarf && !libc_layout__from_dwarf(dwarf, layout)) &&
	    libc_layout__from_version(major, minor, layout))
		*layout = (struct libc_layout){ .known = false };
	layout->version_major = major;
	layout->version_minor = minor;
}

const struct libc_layout *lock_layouts__of(struct lock_layouts *layouts, struct proc *proc)
{
	Dwfl *dwfl = procs__dwfl(proc);
	Dwfl_Module *libc = NULL;
	struct proc_module module;
	const unsigned char *build_id;
	GElf_Addr build_id_addr;
	struct libc_layout *layout;
	const char *name;
	__u64 key;
	int len;

	if (!dwfl)
		return &layouts->none;
	dwfl_getmodules(dwfl, find_libc, &libc, 0);
	if (!libc)
		return &layouts->none;
	len = dwfl_module_build_id(libc, &build_id, &build_id_addr);
	if (len > 0) {
		key = hash__bytes(build_id, (size_t)len, 1);
	} else {
		name = dwfl_module_info(libc, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
		key = hash__bytes(name, strlen(name), 2);
	}
	key = key ? key : 1; /* 0 is the map's empty slot */
	layout = u64map__get(&layouts->by_build, key);
	if (layout)
		return layout;
	layout = calloc(1, sizeof(*layout));
	if (!layout || !procs__module_of(proc, libc, true, &module)) {
		free(layout);
		return NULL;
	}
	/* read from the session every process shares, not one of its own */
	layout_of(module.mod, layout);
	procs__module_done(proc, &module);
	if (u64map__put(&layouts->by_build, key, layout)) {
		free(layout);
		return NULL;
	}
	return layout;
}

static __u32 u32_at(const unsigned char *buf, int offset)
{
	__u32 value;

	memcpy(&value, buf + offset, sizeof(value));
	return value;
}

/*
 * The futex word of a mutex is at the base (glibc: __lock).  Its owner is
 * __owner; PI and robust mutexes keep the owner's tid in the word itself,
 * where the kernel also marks an owner that died.  A lock word set without
 * an owner is a lock taken by hardware elision, or taken a moment ago.
 */
static int read_mutex(struct proc *proc, const struct libc_layout *l, __u64 futex_addr,
		      struct lock_state *out)
{
	unsigned char buf[LOCK_READ_BYTES];
	int size = (l->mutex_owner > l->mutex_kind ? l->mutex_owner : l->mutex_kind) + 4;
	__u32 kind;
	int owner;

	if (l->mutex_lock > l->mutex_owner || l->mutex_lock > l->mutex_kind)
		return -EINVAL;
	out->addr = futex_addr - (__u64)l->mutex_lock;
	if (size < l->mutex_lock + 4)
		size = l->mutex_lock + 4;
	if (!procs__read(proc, out->addr, buf, (size_t)size))
		return -EFAULT;
	out->word = u32_at(buf, l->mutex_lock);
	kind = u32_at(buf, l->mutex_kind);
	owner = (int)u32_at(buf, l->mutex_owner);
	if (kind & ~MUTEX_KIND_BITS) {
		out->owner_unknown = true; /* not what glibc's pthread_mutex_init writes */
		return 0;
	}
	out->pshared = kind & MUTEX_KIND_PSHARED;
	if (kind & (MUTEX_KIND_ROBUST | MUTEX_KIND_PI)) {
		out->owner = (pid_t)(out->word & LOCKS_FUTEX_TID_MASK);
		out->owner_died = out->word & LOCKS_FUTEX_OWNER_DIED;
	} else if (owner > 0) {
		out->owner = owner;
	}
	out->owner_unknown = !out->owner && !out->owner_died && out->word;
	return 0;
}

/*
 * A rwlock's waiters sleep on one of three words: writers on
 * __writers_futex (or on __wrphase_futex while readers hand over), readers
 * on __wrphase_futex (or on __readers when writers are preferred).
 * pthread_rwlock_t is 8-aligned, which tells most of them apart by the
 * address; __wrphase_futex's value (a phase bit and a used bit) tells it
 * from __readers, which has the waiting-readers bit set when slept on.
 * The owner is the writer holding it; readers are not recorded.
 */
static int read_rwlock(struct proc *proc, const struct libc_layout *l, __u64 futex_addr,
		       struct lock_state *out)
{
	const int members[] = { l->rwlock_writers_futex, l->rwlock_wrphase_futex, l->rwlock_readers };
	unsigned char buf[LOCK_READ_BYTES];
	__u32 word;
	int member = -1;

	if (!procs__read(proc, futex_addr, &word, sizeof(word)))
		return -EFAULT;
	for (size_t i = 0; i < sizeof(members) / sizeof(members[0]) && member < 0; i++) {
		if (((futex_addr - (__u64)members[i]) & 7) != 0)
			continue;
		if (members[i] == l->rwlock_wrphase_futex && (word & ~RWLOCK_WRPHASE_FUTEX_BITS) &&
		    ((l->rwlock_readers - members[i]) & 7) == 0)
			continue; /* too big for __wrphase_futex: it is __readers */
		member = members[i];
	}
	if (member < 0)
		return -EINVAL;
	out->addr = futex_addr - (__u64)member;
	if (!procs__read(proc, out->addr, buf, (size_t)l->rwlock_cur_writer + 4))
		return -EFAULT;
	out->word = u32_at(buf, member);
	out->owner = (pid_t)u32_at(buf, l->rwlock_cur_writer);
	if (out->owner < 0)
		out->owner = 0;
	out->owner_unknown = !out->owner; /* held by readers, who are not recorded */
	return 0;
}

int lock_state__read(struct proc *proc, const struct libc_layout *layout,
		     enum pw_object_kind kind, __u64 futex_addr, struct lock_state *out)
{
	__u64 g_signals;
	int err = 0;

	*out = (struct lock_state){ .kind = kind, .addr = futex_addr };
	if (!layout->known && (kind == PW_OBJECT_MUTEX || kind == PW_OBJECT_RWLOCK)) {
		out->owner_unknown = true;
		return procs__read(proc, futex_addr, &out->word, sizeof(out->word)) ? 0 : -EFAULT;
	}
	switch (kind) {
	case PW_OBJECT_MUTEX:
		err = read_mutex(proc, layout, futex_addr, out);
		break;
	case PW_OBJECT_RWLOCK:
		err = read_rwlock(proc, layout, futex_addr, out);
		break;
	case PW_OBJECT_CONDVAR:
		/* waiters of either group sleep on __g_signals[g]; pthread_cond_t
		 * is 8-aligned, so g is the word's place in its 8 bytes */
		if (layout->known && layout->cond_g_signals >= 0 && !(layout->cond_g_signals & 7) &&
		    futex_addr >= (__u64)layout->cond_g_signals) {
			g_signals = futex_addr - (__u64)layout->cond_g_signals;
			out->addr = g_signals & ~7ULL;
		}
		break;
	case PW_OBJECT_LOCK:
		out->owner_unknown = true; /* a lll lock stores no owner */
		break;
	default:
		break; /* semaphores, barriers, bare futexes: no owner */
	}
	if (err)
		return err;
	if (kind != PW_OBJECT_MUTEX && kind != PW_OBJECT_RWLOCK &&
	    !procs__read(proc, futex_addr, &out->word, sizeof(out->word)))
		return -EFAULT;
	return 0;
}
