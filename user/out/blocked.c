// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* What a parked unit waits for, in words (blocked.h). */
#include <errno.h>
#include <string.h>
#include "model/waitfor.h"
#include "out/blocked.h"
#include "out/render.h"
#include "util/format.h"
#include "util/u64map.h"
#include "util/utf8.h"

/* Owners and their processes are the whole picture's, also in a view. */
static const struct pw_picture *whole(const struct pw_picture *picture)
{
	return picture->parent ? picture->parent : picture;
}

bool blocked__known(const struct pw_unit *unit)
{
	return unit->parked && (unit->blocked_on.kind != PW_OBJECT_NONE ||
				unit->blocked_on.never_wakes);
}

const char *blocked__object(const struct pw_blocked_on *on, char *buf, size_t size)
{
	size_t used = 0;

#define APPEND(...)                                                                     \
	do {                                                                            \
		if (used < size)                                                        \
			used += (size_t)snprintf(buf + used, size - used, __VA_ARGS__); \
	} while (0)
	buf[0] = '\0';
	if (on->kind == PW_OBJECT_FD) {
		APPEND("fd");
		if (on->fd)
			APPEND(" %d: %s", on->fd->fd, on->fd->text ? on->fd->text :
						      on->fd->type ? on->fd->type : "?");
		return buf;
	}
	if (on->kind == PW_OBJECT_CHANNEL && !on->addr && on->never_wakes) {
		APPEND("nil channel");
		return buf;
	}
	if (on->kind == PW_OBJECT_NONE)
		return buf;
	APPEND("%s", pw_object_kind_names[on->kind]);
	if (on->addr)
		APPEND(" 0x%llx", on->addr);
	if (on->symbol)
		APPEND(" <%s>", on->symbol);
#undef APPEND
	return buf;
}

static void print_process_name(FILE *out, const struct pw_picture *picture, pid_t pid)
{
	const struct pw_process *proc = picture__process(whole(picture), pid);

	fprintf(out, "process %d", pid);
	if (!proc) /* not watched: no name to give */
		return;
	fputs(" (", out);
	utf8__escape(out, proc->comm, 0);
	fputc(')', out);
}

/* "thread 101 \"a\"", and " in process P (comm)" when pid isn't its own. */
static void print_thread(FILE *out, const struct pw_picture *picture, const struct pw_unit *unit,
			 pid_t own_pid)
{
	fprintf(out, "thread %llu \"", unit->id);
	utf8__escape(out, unit->comm, '"');
	fputc('"', out);
	if (unit->pid != own_pid) {
		fputs(" in ", out);
		print_process_name(out, picture, unit->pid);
	}
}

/* "[IO wait (socket), 5 minutes]", or "[running]": as its own header says. */
static void print_unit_state(FILE *out, const struct pw_unit *unit)
{
	char age[32];

	if (!unit->parked) {
		fprintf(out, "[%s]", unit->state_name);
		return;
	}
	format__age(unit->park_ns, age, sizeof(age));
	fputc('[', out);
	utf8__escape(out, unit->wait.reason ? unit->wait.reason : "?", 0);
	fprintf(out, ", %s]", age);
}

static bool has_owner_clause(const struct pw_blocked_on *on)
{
	return on->owner_tid || on->owner_unknown || on->owner_dead;
}

/*
 * The owner clause of an object that has one (has_owner_clause), escaped
 * for a terminal: "held by thread N \"name\"", with the owner's own
 * [reason, age] or [state] when with_state, or "held by thread N (not
 * watched)", "held by thread N, which has exited", "owner unknown".
 */
static void print_owner(FILE *out, const struct pw_picture *picture, const struct pw_unit *unit,
			bool with_state)
{
	const struct pw_blocked_on *on = &unit->blocked_on;
	pid_t owner_pid = waitfor__owner_pid(unit);
	const struct pw_unit *owner;

	if (on->owner_dead) {
		if (on->owner_tid)
			fprintf(out, "held by thread %d, which has exited", on->owner_tid);
		else
			fputs("held by a thread that has exited", out);
		return;
	}
	if (!on->owner_tid) {
		fputs("owner unknown", out);
		return;
	}
	owner = picture__unit(whole(picture), owner_pid, (__u64)on->owner_tid);
	if (!owner) {
		fprintf(out, "held by thread %d", on->owner_tid);
		if (owner_pid != unit->pid) {
			fputs(" in ", out);
			print_process_name(out, picture, owner_pid);
		}
		fputs(" (not watched)", out);
		return;
	}
	fputs("held by ", out);
	print_thread(out, picture, owner, unit->pid);
	if (with_state) {
		fputc(' ', out);
		print_unit_state(out, owner);
	}
}

static bool waits_for_owner(const struct pw_blocked_on *on)
{
	return on->kind == PW_OBJECT_MUTEX || on->kind == PW_OBJECT_RWLOCK ||
	       on->kind == PW_OBJECT_LOCK || has_owner_clause(on);
}

/* "mutex 0x… <sym> held by …", "channel 0x… (chan int, …)", after "for "
 * or "on " with the verb: what follows "waiting" in a dump's line. */
static void describe(FILE *out, const struct pw_picture *picture, const struct pw_unit *unit,
		     bool verb)
{
	const struct pw_blocked_on *on = &unit->blocked_on;
	const struct pw_chan *chan = on->chan;
	const struct pw_fd *fd = on->fd;
	char object[512];

	if (on->never_wakes && !on->addr) {
		/* by construction: the runtime's reason says which */
		if (verb)
			fputs("on ", out);
		fputs(unit->wait.reason && strstr(unit->wait.reason, "select") ?
			      "a select with no cases" : "a nil channel", out);
		fputs(", which never wakes", out);
		return;
	}
	if (verb)
		fputs(waits_for_owner(on) ? "for " : "on ", out);
	utf8__escape(out, blocked__object(on, object, sizeof(object)), 0);
	if (on->kind == PW_OBJECT_CHANNEL && chan) {
		fputs(" (chan ", out);
		utf8__escape(out, chan->elem_type ? chan->elem_type : "?", 0);
		fprintf(out, ", len %llu, cap %llu, %u sender%s, %u receiver%s%s)", chan->len,
			chan->cap, chan->sendq, chan->sendq == 1 ? "" : "s", chan->recvq,
			chan->recvq == 1 ? "" : "s", chan->closed ? ", closed" : "");
	}
	if (on->kind == PW_OBJECT_FD && fd && fd->listening)
		fputs(" (idle: listening socket)", out);
	if (on->kind == PW_OBJECT_FD && fd && fd->peer_pid) {
		fprintf(out, ", other end held by process %d (", fd->peer_pid);
		utf8__escape(out, fd->peer_comm ? fd->peer_comm : "?", 0);
		fputc(')', out);
	}
	if (on->never_wakes)
		fputs(", which never wakes", out);
	if (has_owner_clause(on)) {
		fputc(' ', out);
		print_owner(out, picture, unit, true);
	}
}

void blocked__line(FILE *out, const struct pw_picture *picture, const struct pw_unit *unit)
{
	if (!blocked__known(unit))
		return;
	fputs("\twaiting ", out);
	describe(out, picture, unit, true);
	fputc('\n', out);
}

/* What makes two units wait on the same thing: kind and address (an fd by
 * its number), or, for what never wakes, the kind alone; 0: nothing known. */
static __u64 object_key(const struct pw_unit *unit)
{
	const struct pw_blocked_on *on = &unit->blocked_on;
	__u64 where = on->kind == PW_OBJECT_FD && on->fd ? (__u64)on->fd->fd + 1 : on->addr;

	if (!blocked__known(unit))
		return 0;
	if (!where) /* a nil channel, a select with no cases */
		return on->never_wakes ? hash__bytes(unit->wait.reason, strlen(unit->wait.reason),
						    on->kind) | 1 : 0;
	return hash__bytes(&where, sizeof(where), on->kind) | 1;
}

ssize_t blocked__distinct(const struct pw_group *const *groups, size_t group_count,
			  const struct pw_unit **shared)
{
	const struct pw_unit *first = NULL;
	struct u64map seen = { 0 };
	size_t unknown = 0, distinct;
	int err = 0;

	for (size_t g = 0; g < group_count && !err; g++) {
		for (size_t m = 0; m < groups[g]->count && !err; m++) {
			const struct pw_unit *unit = groups[g]->members[m];
			__u64 key = object_key(unit);

			if (!key)
				unknown++;
			else if (!u64map__get(&seen, key))
				err = u64map__put(&seen, key, (void *)unit);
			if (key && !first)
				first = unit;
		}
	}
	distinct = seen.count;
	u64map__clear(&seen);
	if (err)
		return -ENOMEM;
	*shared = distinct == 1 && !unknown ? first : NULL;
	return (ssize_t)distinct;
}

int blocked__comment(FILE *out, const struct pw_picture *picture,
		     const struct pw_group *const *groups, size_t group_count)
{
	const struct pw_unit *shared;
	ssize_t distinct = blocked__distinct(groups, group_count, &shared);

	if (distinct < 0)
		return (int)distinct;
	if (shared) {
		fputs("# blocked on ", out);
		describe(out, picture, shared, false);
		fputc('\n', out);
	} else if (distinct) {
		fprintf(out, "# objects: %zd distinct\n", distinct);
	}
	return 0;
}

static bool stuck(enum pw_finding_kind kind)
{
	return kind == PW_FINDING_DEADLOCK || kind == PW_FINDING_SELF_DEADLOCK ||
	       kind == PW_FINDING_ABANDONED;
}

size_t blocked__stuck_findings(const struct pw_picture *picture)
{
	size_t count = 0;

	for (size_t f = 0; f < picture->finding_count; f++)
		count += stuck(picture->findings[f].kind);
	return count;
}

/* "thread 101 \"a\" waits for mutex 0x… <lock_b> held by thread 102 \"b\"" */
static void print_waits_for(FILE *out, const struct pw_picture *picture,
			    const struct pw_unit *unit, pid_t pid)
{
	char object[512];

	print_thread(out, picture, unit, pid);
	fputs(" waits for ", out);
	utf8__escape(out, blocked__object(&unit->blocked_on, object, sizeof(object)), 0);
	if (has_owner_clause(&unit->blocked_on)) {
		fputc(' ', out);
		print_owner(out, picture, unit, false);
	}
	fputc('\n', out);
}

static void print_finding_header(FILE *out, const struct pw_picture *picture,
				 const struct pw_finding *finding)
{
	const struct pw_unit *first = finding->units[0];
	char object[512];

	switch (finding->kind) {
	case PW_FINDING_DEADLOCK:
		fprintf(out, "DEADLOCK: %zu threads in ", finding->unit_count);
		print_process_name(out, picture, finding->pid);
		fputs(" wait for each other:\n", out);
		break;
	case PW_FINDING_SELF_DEADLOCK:
		fputs("SELF-DEADLOCK: ", out);
		print_thread(out, picture, first, first->pid);
		fputs(" in ", out);
		print_process_name(out, picture, finding->pid);
		fprintf(out, " waits for a %s it holds:\n",
			pw_object_kind_names[first->blocked_on.kind]);
		break;
	case PW_FINDING_ABANDONED:
		fprintf(out, "ABANDONED LOCK: %zu thread%s in ", finding->unit_count,
			finding->unit_count == 1 ? "" : "s");
		print_process_name(out, picture, finding->pid);
		fprintf(out, " wait%s for ", finding->unit_count == 1 ? "s" : "");
		utf8__escape(out, blocked__object(&first->blocked_on, object, sizeof(object)), 0);
		if (finding->owner_tid)
			fprintf(out, ", whose owner thread %d has exited:\n", finding->owner_tid);
		else
			fputs(", whose owner has exited:\n", out);
		break;
	default:
		break;
	}
}

/* A thread's header and frames, as the dump's entries show them. */
static void print_stack(FILE *out, const struct pw_picture *picture, const struct pw_unit *unit)
{
	fputc('\n', out);
	print_thread(out, picture, unit, unit->pid);
	fputc(' ', out);
	print_unit_state(out, unit);
	fputs(":\n", out);
	if (unit->stack)
		text__frames(out, unit->stack);
	else
		fputs("\t(no user stack)\n", out);
}

/* "CONVOY: 50 threads wait behind thread 4201 \"holder\" [sleep, 5 seconds]
 * holding mutex 0x… <lock>", and what the head itself waits on. */
static void print_convoy(FILE *out, const struct pw_picture *picture,
			 const struct pw_finding *finding)
{
	const struct pw_unit *head = finding->units[0], *held = NULL;
	char object[512];

	for (size_t i = 1; i < finding->unit_count && !held; i++)
		if (finding->units[i]->blocked_on.addr == finding->addr &&
		    finding->units[i]->blocked_on.owner_tid == (pid_t)head->id)
			held = finding->units[i];
	fprintf(out, "CONVOY: %zu thread%s wait%s behind ", finding->unit_count - 1,
		finding->unit_count == 2 ? "" : "s", finding->unit_count == 2 ? "s" : "");
	print_thread(out, picture, head, finding->pid);
	fputc(' ', out);
	print_unit_state(out, head);
	if (held) {
		fputs(" holding ", out);
		utf8__escape(out, blocked__object(&held->blocked_on, object, sizeof(object)), 0);
	}
	if (blocked__known(head)) {
		fputs(", itself waiting ", out);
		describe(out, picture, head, true);
	}
	fputc('\n', out);
}

void blocked__findings(FILE *out, const struct pw_picture *picture, bool stacks)
{
	const char *prefix = stacks ? "" : "# ";

	for (size_t f = 0; f < picture->finding_count; f++) {
		const struct pw_finding *finding = &picture->findings[f];

		if (!stuck(finding->kind))
			continue;
		fprintf(out, "%s%s", stacks ? "\n" : "", prefix);
		print_finding_header(out, picture, finding);
		for (size_t i = 0; i < finding->unit_count; i++) {
			fputs(prefix, out);
			print_waits_for(out, picture, finding->units[i], finding->pid);
		}
		for (size_t i = 0; stacks && i < finding->unit_count; i++)
			print_stack(out, picture, finding->units[i]);
	}
	for (size_t f = 0, convoys = 0; f < picture->finding_count; f++) {
		if (picture->findings[f].kind != PW_FINDING_CONVOY)
			continue;
		fprintf(out, "%s%s", stacks && !convoys++ ? "\n" : "", prefix);
		print_convoy(out, picture, &picture->findings[f]);
	}
}
