// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Unit tests of the pprof writer (user/out/pprof.c) on the picture of
 * support/sample.h (and, for Go's goroutine profile, support/go_sample.h):
 * the profile is encoded into a temporary file, gunzipped with zlib, decoded
 * with the generated protobuf-c reader and checked field by field.  No BPF,
 * no process is looked at.
 */
#include "model/group.h"
#include "out/pprof.h"
#include "out/render.h"
#include "support/go_sample.h"
#include "support/lock_sample.h"
#include "support/profile.h"
#include "support/sample.h"

typedef Parkwatch__Pprof__Profile Profile;
typedef Parkwatch__Pprof__Sample Sample;
typedef Parkwatch__Pprof__Label Label;
typedef Parkwatch__Pprof__Location Location;
typedef Parkwatch__Pprof__Function Function;
typedef Parkwatch__Pprof__Mapping Mapping;
typedef Parkwatch__Pprof__ValueType ValueType;

/* The picture of sample.h, written as a profile. */
struct fixture {
	struct sample p;
	Profile *profile;
	uint8_t *raw;               /* the gzip'd bytes as written */
	size_t raw_len;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	sample_build(&f->p);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	if (f->profile)
		parkwatch__pprof__profile__free_unpacked(f->profile, NULL);
	free(f->raw);
	sample_free(&f->p);
	free(f);
	return 0;
}

/* ------------------------------------------------------------ encoding */

/* Decodes the profile file holds into f->profile, its bytes kept in f->raw;
 * closes file. */
static Profile *decode(struct fixture *f, FILE *file)
{
	if (f->profile)
		parkwatch__pprof__profile__free_unpacked(f->profile, NULL);
	f->profile = read_profile(file, &f->raw, &f->raw_len);
	return f->profile;
}

/* Writes pprof through a temporary file and decodes it into f->profile. */
static Profile *encode(struct fixture *f, struct pprof_builder *pprof, __u64 time_ns, __u64 duration_ns)
{
	FILE *file = tmpfile();

	assert_non_null(file);
	assert_int_equal(pprof_builder__write(pprof, file, time_ns, duration_ns, NULL), 0);
	return decode(f, file);
}

static Profile *encode_snapshot(struct fixture *f)
{
	struct pprof_builder *pprof = pprof_builder__new(PPROF_PICTURE, 1);
	Profile *profile;

	assert_non_null(pprof);
	assert_int_equal(pprof__add_picture(pprof, f->p.picture, 0), 0);
	profile = encode(f, pprof, TIME_UNIX_NS, 0);
	pprof_builder__free(pprof);
	return profile;
}

/* ------------------------------------------------------------ lookups */

static const char *str(const Profile *p, int64_t index)
{
	assert_true(index >= 0 && (size_t)index < p->n_string_table);
	return p->string_table[index];
}

static const Label *label(const Profile *p, const Sample *s, const char *key)
{
	const Label *found = NULL;

	for (size_t i = 0; i < s->n_label; i++) {
		if (!strcmp(str(p, s->label[i]->key), key)) {
			assert_null(found); /* one label per key */
			found = s->label[i];
		}
	}
	return found;
}

static const char *label_str(const Profile *p, const Sample *s, const char *key)
{
	const Label *l = label(p, s, key);

	assert_non_null(l);
	assert_int_equal(l->num, 0);
	return str(p, l->str);
}

static const Sample *sample_with(const Profile *p, const char *reason, const char *state)
{
	const Sample *found = NULL;

	for (size_t i = 0; i < p->n_sample; i++) {
		if (!strcmp(label_str(p, p->sample[i], "reason"), reason) &&
		    (!state || !strcmp(label_str(p, p->sample[i], "state"), state))) {
			assert_null(found);
			found = p->sample[i];
		}
	}
	assert_non_null(found);
	return found;
}

static const Location *location(const Profile *p, uint64_t id)
{
	for (size_t i = 0; i < p->n_location; i++)
		if (p->location[i]->id == id)
			return p->location[i];
	fail_msg("location id %llu does not exist", (unsigned long long)id);
	return NULL;
}

static const Mapping *mapping(const Profile *p, uint64_t id)
{
	for (size_t i = 0; i < p->n_mapping; i++)
		if (p->mapping[i]->id == id)
			return p->mapping[i];
	fail_msg("mapping id %llu does not exist", (unsigned long long)id);
	return NULL;
}

static const Function *function(const Profile *p, uint64_t id)
{
	for (size_t i = 0; i < p->n_function; i++)
		if (p->function[i]->id == id)
			return p->function[i];
	fail_msg("function id %llu does not exist", (unsigned long long)id);
	return NULL;
}

static void assert_value_type(const Profile *p, const ValueType *vt, const char *type,
			      const char *unit)
{
	assert_non_null(vt);
	assert_string_equal(str(p, vt->type), type);
	assert_string_equal(str(p, vt->unit), unit);
}

static void assert_line(const Profile *p, const Location *loc, size_t i, const char *name,
			const char *file, int64_t line)
{
	const Function *fn;

	assert_true(i < loc->n_line);
	fn = function(p, loc->line[i]->function_id);
	assert_string_equal(str(p, fn->name), name);
	assert_string_equal(str(p, fn->filename), file);
	assert_int_equal(loc->line[i]->line, line);
}

/* The structural rules of profile.proto every reader relies on. */
static void assert_well_formed(const Profile *p)
{
	assert_true(p->n_string_table >= 1);
	assert_string_equal(p->string_table[0], "");
	for (size_t i = 0; i < p->n_string_table; i++)
		for (size_t j = i + 1; j < p->n_string_table; j++)
			if (!strcmp(p->string_table[i], p->string_table[j]))
				fail_msg("string %zu and %zu are both \"%s\"", i, j, p->string_table[i]);
	for (size_t i = 0; i < p->n_sample_type; i++)
		assert_value_type(p, p->sample_type[i], str(p, p->sample_type[i]->type),
				  str(p, p->sample_type[i]->unit));
	str(p, p->default_sample_type);
	for (size_t i = 0; i < p->n_comment; i++)
		str(p, p->comment[i]);
	for (size_t i = 0; i < p->n_function; i++) {
		assert_true(p->function[i]->id != 0);
		for (size_t j = i + 1; j < p->n_function; j++)
			assert_true(p->function[i]->id != p->function[j]->id);
		assert_true(*str(p, p->function[i]->name));
		str(p, p->function[i]->system_name);
		str(p, p->function[i]->filename);
	}
	for (size_t i = 0; i < p->n_mapping; i++) {
		assert_true(p->mapping[i]->id != 0);
		for (size_t j = i + 1; j < p->n_mapping; j++)
			assert_true(p->mapping[i]->id != p->mapping[j]->id);
		assert_true(*str(p, p->mapping[i]->filename));
		str(p, p->mapping[i]->build_id);
		assert_true(p->mapping[i]->memory_start < p->mapping[i]->memory_limit);
	}
	for (size_t i = 0; i < p->n_location; i++) {
		const Location *loc = p->location[i];

		assert_true(loc->id != 0);
		for (size_t j = i + 1; j < p->n_location; j++)
			assert_true(loc->id != p->location[j]->id);
		if (loc->mapping_id) {
			const Mapping *m = mapping(p, loc->mapping_id);

			assert_true(loc->address >= m->memory_start && loc->address < m->memory_limit);
		}
		for (size_t l = 0; l < loc->n_line; l++)
			function(p, loc->line[l]->function_id);
	}
	for (size_t i = 0; i < p->n_sample; i++) {
		const Sample *s = p->sample[i];

		assert_int_equal(s->n_value, p->n_sample_type);
		for (size_t l = 0; l < s->n_location_id; l++)
			location(p, s->location_id[l]);
		for (size_t l = 0; l < s->n_label; l++) {
			str(p, s->label[l]->key);
			str(p, s->label[l]->str);
		}
	}
}

/* ------------------------------------------------------------ tests */

static void test_gzip_header(void **state)
{
	struct fixture *f = *state;

	encode_snapshot(f);
	assert_true(f->raw_len > 18);
	assert_int_equal(f->raw[0], 0x1f);
	assert_int_equal(f->raw[1], 0x8b);
	assert_int_equal(f->raw[2], 8); /* deflate */
}

static void test_snapshot_header(void **state)
{
	struct fixture *f = *state;
	const Profile *p = encode_snapshot(f);

	assert_well_formed(p);
	assert_int_equal(p->n_sample_type, 2);
	assert_value_type(p, p->sample_type[0], "threads", "count");
	assert_value_type(p, p->sample_type[1], "parked", "nanoseconds");
	assert_string_equal(str(p, p->default_sample_type), "threads");
	assert_value_type(p, p->period_type, "threads", "count");
	assert_int_equal(p->period, 1);
	assert_int_equal(p->time_nanos, (int64_t)TIME_UNIX_NS);
	assert_int_equal(p->duration_nanos, 0);
	assert_int_equal(p->n_comment, 0);
	assert_int_equal(p->drop_frames, 0);
	assert_int_equal(p->keep_frames, 0);
}

static void test_snapshot_values_and_labels(void **state)
{
	struct fixture *f = *state;
	const Profile *p = encode_snapshot(f);
	const Sample *cond, *sleep;
	const Label *pid;

	assert_well_formed(p);
	assert_int_equal(p->n_sample, 2); /* the running thread is no sample */
	cond = sample_with(p, "cond wait", NULL);
	sleep = sample_with(p, "sleep", NULL);

	assert_int_equal(cond->n_value, 2);
	assert_int_equal(cond->value[0], 2);
	assert_int_equal(cond->value[1], (int64_t)(7 * SEC)); /* 5 s + 2 s */
	assert_int_equal(cond->n_label, 6);
	assert_string_equal(label_str(p, cond, "thread_name"), "pool");
	assert_string_equal(label_str(p, cond, "state"), "sleeping");
	assert_string_equal(label_str(p, cond, "timeout"), "none");
	assert_string_equal(label_str(p, cond, "comm"), "app");
	pid = label(p, cond, "pid");
	assert_non_null(pid);
	assert_int_equal(pid->str, 0); /* numeric */
	assert_int_equal(pid->num, 4242);

	assert_int_equal(sleep->n_value, 2);
	assert_int_equal(sleep->value[0], 1);
	assert_int_equal(sleep->value[1], (int64_t)(300 * MS));
	assert_int_equal(sleep->n_label, 6);
	assert_string_equal(label_str(p, sleep, "thread_name"), "t5000");
	assert_string_equal(label_str(p, sleep, "state"), "sleeping");
	assert_string_equal(label_str(p, sleep, "timeout"), "finite");
	assert_string_equal(label_str(p, sleep, "comm"), "other");
	pid = label(p, sleep, "pid");
	assert_non_null(pid);
	assert_int_equal(pid->str, 0);
	assert_int_equal(pid->num, 5000);
}

/*
 * Threads of one group with different names are samples of their own, each
 * labelled thread_name; a name of ill-formed UTF-8 is U+FFFD in the string
 * table.  Where the process runs: container and pod strings, ns_pid a number.
 */
static void test_thread_names_and_where(void **state)
{
	struct fixture *f = *state;
	struct pw_picture *picture = f->p.picture;
	struct pw_process *app = &picture->procs[0];
	const Profile *p;
	const Sample *named[2] = { NULL, NULL };
	int64_t cond_threads = 0;

	snprintf(picture->units[T_COND2].comm, PARK_COMM_LEN, "w\xff\xfe-\xe6\x9d\xb1");
	app->ns_pid = 1;
	app->cgroup.container = picture__string(picture, "3f2a9c0e1b7d");
	app->cgroup.pod = picture__string(picture, "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0");
	p = encode_snapshot(f);
	assert_well_formed(p);
	assert_int_equal(p->n_sample, 3);
	for (size_t i = 0; i < p->n_sample; i++) {
		const Sample *s = p->sample[i];
		const char *name = label_str(p, s, "thread_name");

		if (strcmp(label_str(p, s, "reason"), "cond wait")) {
			assert_null(label(p, s, "container")); /* the other process: unknown */
			assert_null(label(p, s, "ns_pid"));
			continue;
		}
		cond_threads += s->value[0];
		assert_string_equal(label_str(p, s, "container"), "3f2a9c0e1b7d");
		assert_string_equal(label_str(p, s, "pod"), "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0");
		assert_int_equal(label(p, s, "ns_pid")->str, 0);
		assert_int_equal(label(p, s, "ns_pid")->num, 1);
		if (!strcmp(name, "pool"))
			named[0] = s;
		else if (!strcmp(name, "w\xef\xbf\xbd\xef\xbf\xbd-\xe6\x9d\xb1"))
			named[1] = s;
	}
	assert_int_equal(cond_threads, 2);
	assert_non_null(named[0]);
	assert_non_null(named[1]);
	assert_int_equal(named[0]->value[1], (int64_t)(5 * SEC));
	assert_int_equal(named[1]->value[1], (int64_t)(2 * SEC));
	for (size_t i = 0; i < p->n_string_table; i++)
		assert_null(strchr(p->string_table[i], '\xff'));
}

static void test_snapshot_locations(void **state)
{
	struct fixture *f = *state;
	const Profile *p = encode_snapshot(f);
	const Sample *cond = sample_with(p, "cond wait", NULL);
	const Sample *sleep = sample_with(p, "sleep", NULL);
	const Location *loc;
	const Mapping *m;

	assert_well_formed(p);
	assert_int_equal(cond->n_location_id, S1_DEPTH);
	for (int i = 0; i < S1_DEPTH; i++)
		assert_int_equal(location(p, cond->location_id[i])->address, f->p.s1->frames[i].lookup_pc);

	/* leaf: one line in libc */
	loc = location(p, cond->location_id[0]);
	assert_int_equal(loc->n_line, 1);
	assert_line(p, loc, 0, "pthread_cond_wait", COND_SRC, 618);
	m = mapping(p, loc->mapping_id);
	assert_string_equal(str(p, m->filename), LIBC);
	assert_string_equal(str(p, m->build_id), "b1bc");
	assert_int_equal(m->memory_start, LIBC_START);
	assert_int_equal(m->memory_limit, LIBC_END);

	/* inlined: two lines, innermost first */
	loc = location(p, cond->location_id[1]);
	assert_int_equal(loc->n_line, 2);
	assert_line(p, loc, 0, "inlined_helper", APP_SRC, 12);
	assert_line(p, loc, 1, "level_three", APP_SRC, 29);
	m = mapping(p, loc->mapping_id);
	assert_string_equal(str(p, m->filename), APP);
	assert_int_equal(m->memory_start, APP_START);
	assert_int_equal(m->memory_limit, APP_END);

	/* unsymbolized, in a module: no lines, the plugin's mapping */
	loc = location(p, cond->location_id[2]);
	assert_int_equal(loc->n_line, 0);
	assert_true(loc->mapping_id != 0);
	m = mapping(p, loc->mapping_id);
	assert_string_equal(str(p, m->filename), PLUGIN);
	assert_int_equal(m->build_id, 0);

	/* a pc no mapping covers: no lines, no mapping */
	loc = location(p, cond->location_id[3]);
	assert_int_equal(loc->n_line, 0);
	assert_int_equal(loc->mapping_id, 0);

	/* main: the same mapping as the inlined frame's */
	loc = location(p, cond->location_id[4]);
	assert_int_equal(loc->n_line, 1);
	assert_line(p, loc, 0, "main", APP_SRC, 100);
	assert_int_equal(loc->mapping_id, location(p, cond->location_id[1])->mapping_id);

	/* process 5000: libc at the same address is another process's mapping */
	assert_int_equal(sleep->n_location_id, S2_DEPTH);
	loc = location(p, sleep->location_id[0]);
	assert_int_equal(loc->n_line, 1);
	assert_line(p, loc, 0, "clock_nanosleep", "", 0);
	assert_true(loc->mapping_id != location(p, cond->location_id[0])->mapping_id);
	assert_string_equal(str(p, mapping(p, loc->mapping_id)->filename), LIBC);
	loc = location(p, sleep->location_id[1]);
	assert_line(p, loc, 0, "main", OTHER_SRC, 40);
	assert_string_equal(str(p, mapping(p, loc->mapping_id)->filename), OTHER);
	/* both mains are there, told apart by file */
	assert_true(loc->line[0]->function_id !=
		    location(p, cond->location_id[4])->line[0]->function_id);
}

static void test_snapshot_functions(void **state)
{
	struct fixture *f = *state;
	const Profile *p = encode_snapshot(f);
	static const char *const names[][2] = {
		{ "pthread_cond_wait", COND_SRC }, { "inlined_helper", APP_SRC },
		{ "level_three", APP_SRC }, { "main", APP_SRC },
		{ "clock_nanosleep", "" }, { "main", OTHER_SRC },
	};

	assert_well_formed(p);
	assert_int_equal(p->n_function, 6); /* one per (name, file) */
	for (size_t n = 0; n < 6; n++) {
		int found = 0;

		for (size_t i = 0; i < p->n_function; i++) {
			const Function *fn = p->function[i];

			if (!strcmp(str(p, fn->name), names[n][0]) &&
			    !strcmp(str(p, fn->filename), names[n][1])) {
				found++;
				assert_string_equal(str(p, fn->system_name), names[n][0]);
			}
		}
		assert_int_equal(found, 1);
	}
	assert_int_equal(p->n_location, S1_DEPTH + S2_DEPTH);
}

/* A demangled C++ frame: the mangled name is the function's system_name,
 * and a second function with the same name but another mangled one
 * (another overload's) is a function apart. */
static void test_system_name(void **state)
{
	struct fixture *f = *state;
	const Profile *p;
	int found = 0;

	free(f->p.app_inl->frames[1].function);
	f->p.app_inl->frames[1].function = strdup("app::level_three(int)");
	f->p.app_inl->frames[1].system_name = strdup("_ZN3app11level_threeEi");
	free(f->p.app_main->frames[0].function);
	f->p.app_main->frames[0].function = strdup("app::level_three(int)");
	f->p.app_main->frames[0].system_name = strdup("_ZN3app11level_threeEl");
	p = encode_snapshot(f);
	assert_well_formed(p);
	assert_int_equal(p->n_function, 6);
	for (size_t i = 0; i < p->n_function; i++) {
		const Function *fn = p->function[i];

		if (strcmp(str(p, fn->name), "app::level_three(int)"))
			continue;
		found++;
		assert_true(!strcmp(str(p, fn->system_name), "_ZN3app11level_threeEi") ||
			    !strcmp(str(p, fn->system_name), "_ZN3app11level_threeEl"));
	}
	assert_int_equal(found, 2);
}

static const Mapping *mapping_of_frame(const Profile *p, const Sample *s, int frame)
{
	return mapping(p, location(p, s->location_id[frame])->mapping_id);
}

static void assert_flags(const Mapping *m, bool functions, bool filenames, bool lines,
			 bool inlines)
{
	assert_int_equal(m->has_functions, functions);
	assert_int_equal(m->has_filenames, filenames);
	assert_int_equal(m->has_line_numbers, lines);
	assert_int_equal(m->has_inline_frames, inlines);
}

static void test_snapshot_mappings(void **state)
{
	struct fixture *f = *state;
	const Profile *p = encode_snapshot(f);
	const Sample *cond = sample_with(p, "cond wait", NULL);
	const Sample *sleep = sample_with(p, "sleep", NULL);

	assert_well_formed(p);
	/* app, libc and plugin of 4242; libc and other of 5000 */
	assert_int_equal(p->n_mapping, 5);
	/* readers take the first mapping for the main binary: procs[0].exe */
	assert_string_equal(str(p, p->mapping[0]->filename), APP);
	assert_ptr_equal(mapping_of_frame(p, cond, 1), p->mapping[0]);
	assert_string_equal(str(p, p->mapping[0]->build_id), "a99");

	assert_flags(mapping_of_frame(p, cond, 0), true, true, true, false);  /* libc */
	assert_flags(mapping_of_frame(p, cond, 1), true, true, true, true);   /* app */
	assert_flags(mapping_of_frame(p, cond, 2), false, false, false, false); /* plugin */
	assert_flags(mapping_of_frame(p, sleep, 0), true, false, false, false); /* libc, names only */
	assert_flags(mapping_of_frame(p, sleep, 1), true, true, true, false); /* other */
}

static void test_window(void **state)
{
	struct fixture *f = *state;
	struct pprof_builder *pprof = pprof_builder__new(PPROF_WINDOW, 500 * MS);
	const Profile *p;
	const Sample *cond, *sleep;

	assert_non_null(pprof);
	/* two snapshots of the same picture, standing for 500 ms and 700 ms */
	assert_int_equal(pprof__add_picture(pprof, f->p.picture, 500 * MS), 0);
	assert_int_equal(pprof__add_picture(pprof, f->p.picture, 700 * MS), 0);
	assert_int_equal(pprof_builder__add_comment(pprof, "parkwatch tier1 pid=4242 reason=futex "
					    "closed_parks=0 closed_ns=0 open_parks=2 open_ns=7"), 0);
	assert_int_equal(pprof_builder__add_comment(pprof, "second; comment"), 0);
	p = encode(f, pprof, TIME_UNIX_NS, 1200 * MS);
	pprof_builder__free(pprof);

	assert_well_formed(p);
	assert_int_equal(p->n_sample_type, 2);
	assert_value_type(p, p->sample_type[0], "samples", "count");
	assert_value_type(p, p->sample_type[1], "parked", "nanoseconds");
	assert_string_equal(str(p, p->default_sample_type), "samples");
	assert_value_type(p, p->period_type, "parked", "nanoseconds");
	assert_int_equal(p->period, (int64_t)(500 * MS));
	assert_int_equal(p->time_nanos, (int64_t)TIME_UNIX_NS);
	assert_int_equal(p->duration_nanos, (int64_t)(1200 * MS));

	/* the second picture added into the same samples */
	assert_int_equal(p->n_sample, 2);
	cond = sample_with(p, "cond wait", NULL);
	sleep = sample_with(p, "sleep", NULL);
	assert_int_equal(cond->value[0], 4);
	assert_int_equal(cond->value[1], (int64_t)(2 * 500 * MS + 2 * 700 * MS));
	assert_int_equal(sleep->value[0], 2);
	assert_int_equal(sleep->value[1], (int64_t)(500 * MS + 700 * MS));
	assert_int_equal(p->n_location, S1_DEPTH + S2_DEPTH);

	assert_int_equal(p->n_comment, 2);
	assert_string_equal(str(p, p->comment[0]), "parkwatch tier1 pid=4242 reason=futex "
			    "closed_parks=0 closed_ns=0 open_parks=2 open_ns=7");
	assert_string_equal(str(p, p->comment[1]), "second; comment");
}

/* The same stack in another task state is another sample. */
static void test_state_splits_samples(void **state)
{
	struct fixture *f = *state;
	struct pprof_builder *pprof = pprof_builder__new(PPROF_WINDOW, 500 * MS);
	const Profile *p;
	const Sample *sleeping, *disk;

	assert_non_null(pprof);
	assert_int_equal(pprof__add_picture(pprof, f->p.picture, 500 * MS), 0);
	for (int t = T_COND1; t <= T_COND2; t++) {
		f->p.picture->units[t].state = PW_STATE_DISK_SLEEP;
		f->p.picture->units[t].state_name = "disk sleep";
	}
	regroup(f->p.picture);
	assert_int_equal(pprof__add_picture(pprof, f->p.picture, 500 * MS), 0);
	p = encode(f, pprof, TIME_UNIX_NS, SEC);
	pprof_builder__free(pprof);

	assert_well_formed(p);
	assert_int_equal(p->n_sample, 3);
	sleeping = sample_with(p, "cond wait", "sleeping");
	disk = sample_with(p, "cond wait", "disk sleep");
	assert_int_equal(sleeping->value[0], 2);
	assert_int_equal(disk->value[0], 2);
	assert_int_equal(disk->n_location_id, S1_DEPTH);
	for (int i = 0; i < S1_DEPTH; i++)
		assert_int_equal(disk->location_id[i], sleeping->location_id[i]);
}

/* A group without a user stack (a short park) is a sample without locations. */
static void test_stackless_group(void **state)
{
	struct fixture *f = *state;
	struct pprof_builder *pprof = pprof_builder__new(PPROF_PICTURE, 1);
	const Profile *p;
	const Sample *sleep;

	assert_non_null(pprof);
	f->p.picture->units[T_SLEEP].stack = NULL;
	regroup(f->p.picture);
	assert_int_equal(pprof__add_picture(pprof, f->p.picture, 0), 0);
	p = encode(f, pprof, TIME_UNIX_NS, 0);
	pprof_builder__free(pprof);

	assert_well_formed(p);
	sleep = sample_with(p, "sleep", NULL);
	assert_int_equal(sleep->n_location_id, 0);
	assert_int_equal(sleep->value[0], 1);
	assert_int_equal(sleep->value[1], (int64_t)(300 * MS));
	assert_int_equal(label(p, sleep, "pid")->num, 5000);
	assert_int_equal(p->n_mapping, 3); /* process 5000 brought none */
}

/* An empty picture still makes a readable profile. */
static void test_empty(void **state)
{
	struct fixture *f = *state;
	struct pw_picture *empty = picture__new();
	struct pprof_builder *pprof = pprof_builder__new(PPROF_PICTURE, 1);
	const Profile *p;

	assert_non_null(empty);
	assert_non_null(pprof);
	empty->time_unix_ns = TIME_UNIX_NS;
	assert_int_equal(pprof__add_picture(pprof, empty, 0), 0);
	p = encode(f, pprof, TIME_UNIX_NS, 0);
	pprof_builder__free(pprof);
	picture__put(empty);
	assert_well_formed(p);
	assert_int_equal(p->n_sample, 0);
	assert_int_equal(p->n_sample_type, 2);
	assert_string_equal(str(p, p->default_sample_type), "threads");
}

/* The renderer writes a thread picture as one snapshot profile. */
static void test_write_picture(void **state)
{
	struct fixture *f = *state;
	struct pw_context ctx = { 0 };
	struct render_opts opts = { 0 };
	FILE *file = tmpfile();
	const Profile *p;

	assert_non_null(file);
	assert_int_equal(render__write(file, PW_FORMAT_PPROF, f->p.picture, &ctx, &opts), 0);
	p = decode(f, file);
	assert_well_formed(p);
	assert_string_equal(str(p, p->default_sample_type), "threads");
	assert_int_equal(p->time_nanos, (int64_t)TIME_UNIX_NS);
	assert_int_equal(p->duration_nanos, 0);
	assert_int_equal(p->n_sample, 2);
	assert_int_equal(sample_with(p, "cond wait", "sleeping")->value[0], 2);
	assert_int_equal(sample_with(p, "sleep", "sleeping")->value[1], (int64_t)(300 * MS));
}

/*
 * A picture of one Go process is Go's own goroutine profile: one value,
 * every goroutine but the runtime's (running ones too), the stacks with
 * runtime.goexit as the runtime records them, labels reason and pid; a
 * stackless group is one pseudo frame named by its reason.
 */
static void test_goroutine_profile(void **state)
{
	struct fixture *f = *state;
	struct go_sample g = { 0 };
	struct pw_context ctx = { 0 };
	struct render_opts opts = { 0 };
	const Sample *workers, *running, *syscall;
	const Location *loc;
	const Profile *p;
	FILE *file = tmpfile();

	assert_non_null(file);
	go_sample_build(&g);
	assert_int_equal(render__write(file, PW_FORMAT_PPROF, g.picture, &ctx, &opts), 0);
	p = decode(f, file);
	assert_well_formed(p);
	assert_int_equal(p->n_sample_type, 1);
	assert_value_type(p, p->sample_type[0], "goroutine", "count");
	assert_int_equal(p->default_sample_type, 0);
	assert_value_type(p, p->period_type, "goroutine", "count");
	assert_int_equal(p->period, 1);
	assert_int_equal(p->time_nanos, (int64_t)GO_TIME_UNIX_NS);
	assert_string_equal(str(p, p->mapping[0]->filename), GO_EXE);

	assert_int_equal(p->n_sample, 5);
	workers = sample_with(p, "chan receive", NULL);
	assert_int_equal(workers->n_value, 1);
	assert_int_equal(workers->value[0], 3);
	assert_int_equal(workers->n_label, 2);
	assert_int_equal(label(p, workers, "pid")->num, 7000);
	assert_null(label(p, workers, "state"));
	assert_int_equal(workers->n_location_id, GO_WORKER_DEPTH);
	loc = location(p, workers->location_id[GO_WORKER_DEPTH - 1]);
	assert_line(p, loc, 0, "runtime.goexit", GO_RUNTIME_SRC "asm_amd64.s", 1650);
	loc = location(p, workers->location_id[2]);
	assert_line(p, loc, 0, "main.worker", GO_MAIN_SRC, 30);
	assert_int_equal(sample_with(p, "select", NULL)->n_location_id, GO_MAIN_DEPTH);
	assert_int_equal(sample_with(p, "sleep", NULL)->n_location_id, GO_SLEEP_DEPTH);

	running = sample_with(p, "running", NULL);
	syscall = sample_with(p, "syscall", NULL);
	assert_int_equal(running->value[0], 1);
	assert_int_equal(running->n_location_id, 1);
	loc = location(p, running->location_id[0]);
	assert_int_equal(loc->address, 0);
	assert_int_equal(loc->mapping_id, 0);
	assert_line(p, loc, 0, "[running]", "", 0);
	/* pseudo frames at address 0 are told apart by name */
	assert_int_equal(syscall->n_location_id, 1);
	assert_true(syscall->location_id[0] != running->location_id[0]);
	assert_line(p, location(p, syscall->location_id[0]), 0, "[syscall]", "", 0);
	go_sample_free(&g);
}


/* The one sample whose threads are named name. */
static const Sample *sample_named(const Profile *p, const char *name)
{
	const Sample *found = NULL;

	for (size_t i = 0; i < p->n_sample; i++) {
		if (strcmp(label_str(p, p->sample[i], "thread_name"), name))
			continue;
		assert_null(found);
		found = p->sample[i];
	}
	assert_non_null(found);
	return found;
}

/* Each thread's sample says what it waits for and, where known, who holds
 * it (a number); threads on one lock held by one owner stay one sample. */
static void test_blocked_on_labels(void **state)
{
	struct fixture *f = *state;
	struct lock_sample s = { 0 };
	struct pw_context ctx = { 0 };
	struct render_opts opts = { 0 };
	const Sample *waiters, *holder, *unknown, *cv;
	const Profile *p;
	FILE *file = tmpfile();

	assert_non_null(file);
	lock_sample_build(&s);
	assert_int_equal(render__write(file, PW_FORMAT_PPROF, s.picture, &ctx, &opts), 0);
	p = decode(f, file);
	assert_well_formed(p);
	waiters = sample_named(p, "waiter");
	assert_int_equal(waiters->value[0], 3);
	assert_string_equal(label_str(p, waiters, "blocked_on"), "mutex 0x55d0c0a04040 <config_lock>");
	assert_int_equal(label(p, waiters, "owner_tid")->str, 0);
	assert_int_equal(label(p, waiters, "owner_tid")->num, 4201);
	holder = sample_named(p, "holder");
	assert_string_equal(label_str(p, holder, "blocked_on"), "fd 5: " HOLDER_FD_TEXT);
	assert_null(label(p, holder, "owner_tid"));
	unknown = sample_named(p, "unknown");
	assert_string_equal(label_str(p, unknown, "blocked_on"), "mutex 0x55d0c0a04140");
	assert_null(label(p, unknown, "owner_tid"));
	cv = sample_named(p, "cv");
	assert_string_equal(label_str(p, cv, "blocked_on"), "condvar 0x55d0c0a04200 <ready>");
	assert_null(label(p, cv, "owner_tid"));
	/* the deadlocked pair: one stack, two locks, two samples */
	assert_int_equal(label(p, sample_named(p, "a"), "owner_tid")->num, 102);
	assert_int_equal(label(p, sample_named(p, "b"), "owner_tid")->num, 101);
	assert_int_equal(label(p, sample_named(p, "peer"), "owner_tid")->num, 4201);
	assert_int_equal(p->n_sample, 10);
	lock_sample_free(&s);
}

/* A goroutine group's sample names the object only when every member
 * waits on that one. */
static void test_goroutine_blocked_on(void **state)
{
	struct fixture *f = *state;
	struct go_sample g = { 0 };
	struct pw_context ctx = { 0 };
	struct render_opts opts = { 0 };
	const Profile *p;
	FILE *file;

	go_sample_build(&g);
	for (int u = G_W1; u <= G_W3; u++)
		g.picture->units[u].blocked_on = (struct pw_blocked_on){
			.kind = PW_OBJECT_CHANNEL, .addr = 0xc000200000 };
	file = tmpfile();
	assert_non_null(file);
	assert_int_equal(render__write(file, PW_FORMAT_PPROF, g.picture, &ctx, &opts), 0);
	p = decode(f, file);
	assert_string_equal(label_str(p, sample_with(p, "chan receive", NULL), "blocked_on"),
			    "channel 0xc000200000");
	assert_null(label(p, sample_with(p, "select", NULL), "blocked_on"));

	g.picture->units[G_W3].blocked_on.addr = 0xc000300000;
	file = tmpfile();
	assert_non_null(file);
	assert_int_equal(render__write(file, PW_FORMAT_PPROF, g.picture, &ctx, &opts), 0);
	p = decode(f, file);
	assert_null(label(p, sample_with(p, "chan receive", NULL), "blocked_on"));
	assert_int_equal(sample_with(p, "chan receive", NULL)->n_label, 2);
	go_sample_free(&g);
}

/* A group waiting on many distinct objects: its samples name the kind
 * alone, so that they stay one sample rather than one per object. */
static void test_many_objects_kind_only(void **state)
{
	struct fixture *f = *state;
	struct pw_picture *picture = picture__new();
	struct pw_context ctx = { 0 };
	struct render_opts opts = { 0 };
	const Sample *sample;
	const Profile *p;
	FILE *file = tmpfile();

	assert_non_null(picture);
	assert_non_null(file);
	add_proc(picture, 300, "pool", "/opt/pool");
	for (pid_t tid = 301; tid <= 320; tid++) {
		struct pw_unit *unit = add_thread(picture, 300, tid, "mutex lock", false, SEC, NULL);

		snprintf(unit->comm, sizeof(unit->comm), "worker");
		unit->blocked_on = (struct pw_blocked_on){ .kind = PW_OBJECT_MUTEX,
							   .addr = 0x55d0c0a00000ULL + 64 * tid,
							   .owner_tid = 4000 + tid };
	}
	assert_int_equal(group__finish(picture), 0);
	assert_int_equal(picture->groups[0].objects, 20);
	assert_int_equal(render__write(file, PW_FORMAT_PPROF, picture, &ctx, &opts), 0);
	p = decode(f, file);
	assert_int_equal(p->n_sample, 1);
	sample = p->sample[0];
	assert_int_equal(sample->value[0], 20);
	assert_string_equal(label_str(p, sample, "blocked_on"), "mutex");
	assert_null(label(p, sample, "owner_tid"));
	picture__put(picture);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_gzip_header, setup, teardown),
		cmocka_unit_test_setup_teardown(test_snapshot_header, setup, teardown),
		cmocka_unit_test_setup_teardown(test_snapshot_values_and_labels, setup, teardown),
		cmocka_unit_test_setup_teardown(test_thread_names_and_where, setup, teardown),
		cmocka_unit_test_setup_teardown(test_snapshot_locations, setup, teardown),
		cmocka_unit_test_setup_teardown(test_snapshot_functions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_system_name, setup, teardown),
		cmocka_unit_test_setup_teardown(test_snapshot_mappings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_window, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_splits_samples, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stackless_group, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_picture, setup, teardown),
		cmocka_unit_test_setup_teardown(test_goroutine_profile, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blocked_on_labels, setup, teardown),
		cmocka_unit_test_setup_teardown(test_goroutine_blocked_on, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_objects_kind_only, setup, teardown),
	};

	return cmocka_run_group_tests_name("pprof", tests, NULL, NULL);
}
