// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* The profile.proto tables and their encoding (pprof_builder.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "out/pprof_builder.h"
#include "profile.pb-c.h"
#include "util/u64map.h"
#include "util/utf8.h"

typedef Parkwatch__Pprof__Profile Profile;
typedef Parkwatch__Pprof__Sample Sample;
typedef Parkwatch__Pprof__Label Label;
typedef Parkwatch__Pprof__Location Location;
typedef Parkwatch__Pprof__Line Line;
typedef Parkwatch__Pprof__Function Function;
typedef Parkwatch__Pprof__Mapping Mapping;
typedef Parkwatch__Pprof__ValueType ValueType;

/* A growable array of pointers; every table of the profile is one. */
struct ptr_vec {
	void **items;
	size_t count, capacity;
};

struct pprof_builder {
	enum pprof_kind kind;
	__u64 period_ns;
	struct ptr_vec strings;
	struct u64map string_ids;   /* hash -> index + 1 (collisions probed by seed) */
	struct ptr_vec functions, mappings, locations, samples, comments;
	struct ptr_vec sample_signatures; /* group signature of each sample, for leak labels */
	struct u64map function_ids, mapping_ids, location_ids, sample_ids;
	char *main_binary;          /* the first watched process's executable */
};

static int vec_push(struct ptr_vec *vec, void *item)
{
	if (vec->count == vec->capacity) {
		size_t capacity = vec->capacity ? vec->capacity * 2 : 64;
		void **grown = realloc(vec->items, capacity * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		vec->items = grown;
		vec->capacity = capacity;
	}
	vec->items[vec->count++] = item;
	return 0;
}

/* Index of text in the string table, added if new; -1 when out of memory.
 * Ill-formed UTF-8 is stored as U+FFFD: proto3 strings are UTF-8, and
 * decoders that check (Go's protobuf, upb) reject the whole profile. */
static int64_t string_id(struct pprof_builder *pprof, const char *text)
{
	__u64 seed = 0;

	if (!text || !*text)
		return 0;
	if (!utf8__valid(text)) {
		char *clean = utf8__clean_dup(text);
		int64_t id = clean ? string_id(pprof, clean) : -1;

		free(clean);
		return id;
	}
	for (;; seed++) {
		__u64 key = hash__bytes(text, strlen(text), seed);
		uintptr_t index = (uintptr_t)u64map__get(&pprof->string_ids, key);
		char *copy;

		if (index && !strcmp(pprof->strings.items[index - 1], text))
			return (int64_t)index - 1;
		if (index)
			continue; /* a different string with this hash: probe the next seed */
		copy = strdup(text);
		if (!copy || vec_push(&pprof->strings, copy)) {
			free(copy);
			return -1;
		}
		if (u64map__put(&pprof->string_ids, key, (void *)(uintptr_t)pprof->strings.count))
			return -1;
		return (int64_t)pprof->strings.count - 1;
	}
}

struct pprof_builder *pprof_builder__new(enum pprof_kind kind, __u64 period_ns)
{
	struct pprof_builder *pprof = calloc(1, sizeof(*pprof));

	if (!pprof)
		return NULL;
	pprof->kind = kind;
	pprof->period_ns = period_ns;
	/* string_table[0] must be "" */
	if (vec_push(&pprof->strings, strdup(""))) {
		free(pprof);
		return NULL;
	}
	return pprof;
}

static void free_location(Location *location)
{
	for (size_t i = 0; i < location->n_line; i++)
		free(location->line[i]);
	free(location->line);
	free(location);
}

static void free_sample(Sample *sample)
{
	for (size_t i = 0; i < sample->n_label; i++)
		free(sample->label[i]);
	free(sample->label);
	free(sample->location_id);
	free(sample->value);
	free(sample);
}

void pprof_builder__free(struct pprof_builder *pprof)
{
	if (!pprof)
		return;
	for (size_t i = 0; i < pprof->strings.count; i++)
		free(pprof->strings.items[i]);
	for (size_t i = 0; i < pprof->functions.count; i++)
		free(pprof->functions.items[i]);
	for (size_t i = 0; i < pprof->mappings.count; i++)
		free(pprof->mappings.items[i]);
	for (size_t i = 0; i < pprof->locations.count; i++)
		free_location(pprof->locations.items[i]);
	for (size_t i = 0; i < pprof->samples.count; i++)
		free_sample(pprof->samples.items[i]);
	free(pprof->strings.items);
	free(pprof->functions.items);
	free(pprof->mappings.items);
	free(pprof->locations.items);
	free(pprof->samples.items);
	free(pprof->comments.items);
	free(pprof->sample_signatures.items);
	u64map__clear(&pprof->string_ids);
	u64map__clear(&pprof->function_ids);
	u64map__clear(&pprof->mapping_ids);
	u64map__clear(&pprof->location_ids);
	u64map__clear(&pprof->sample_ids);
	free(pprof->main_binary);
	free(pprof);
}

static uint64_t function_id(struct pprof_builder *pprof, const struct symbol_frame *frame)
{
	const char *name = frame->function ? frame->function : "??";
	__u64 key = hash__bytes(name, strlen(name), 0);
	Function *function;

	if (frame->file)
		key = hash__bytes(frame->file, strlen(frame->file), key);
	if (frame->system_name)
		key = hash__bytes(frame->system_name, strlen(frame->system_name), key);
	function = u64map__get(&pprof->function_ids, key);
	if (function)
		return function->id;
	function = malloc(sizeof(*function));
	if (!function)
		return 0;
	parkwatch__pprof__function__init(function);
	function->id = pprof->functions.count + 1;
	function->name = string_id(pprof, name);
	/* the name as the binary writes it: the mangled one */
	function->system_name = frame->system_name ? string_id(pprof, frame->system_name) :
						     function->name;
	function->filename = string_id(pprof, frame->file);
	if (vec_push(&pprof->functions, function) ||
	    u64map__put(&pprof->function_ids, key, function))
		return 0;
	return function->id;
}

static Mapping *mapping_for(struct pprof_builder *pprof, pid_t pid,
			    const struct symbol *symbol)
{
	__u64 key[2] = { (__u64)pid, symbol->module_start };
	__u64 hash = hash__bytes(key, sizeof(key), 0);
	Mapping *mapping = u64map__get(&pprof->mapping_ids, hash);

	if (mapping)
		return mapping;
	mapping = malloc(sizeof(*mapping));
	if (!mapping)
		return NULL;
	parkwatch__pprof__mapping__init(mapping);
	mapping->id = pprof->mappings.count + 1;
	mapping->memory_start = symbol->module_start;
	mapping->memory_limit = symbol->module_end;
	mapping->filename = string_id(pprof, symbol->module);
	mapping->build_id = string_id(pprof, symbol->build_id);
	if (vec_push(&pprof->mappings, mapping) || u64map__put(&pprof->mapping_ids, hash, mapping))
		return NULL;
	return mapping;
}

static uint64_t location_id(struct pprof_builder *pprof, pid_t pid,
			    const struct stack_frame *stack_frame,
			    const struct symbol *symbol)
{
	__u64 key[2] = { (__u64)pid, stack_frame->lookup_pc };
	__u64 hash = hash__bytes(key, sizeof(key), 0);
	const char *pseudo = !stack_frame->lookup_pc && symbol && symbol->frame_count ?
				     symbol->frames[0].function : NULL;

	if (pseudo) /* no address: told apart by name */
		hash = hash__bytes(pseudo, strlen(pseudo), hash);
	Location *location = u64map__get(&pprof->location_ids, hash);
	Mapping *mapping = NULL;

	if (location)
		return location->id;
	location = calloc(1, sizeof(*location));
	if (!location)
		return 0;
	parkwatch__pprof__location__init(location);
	location->id = pprof->locations.count + 1;
	location->address = stack_frame->lookup_pc;
	if (symbol && symbol->module) {
		mapping = mapping_for(pprof, pid, symbol);
		if (mapping)
			location->mapping_id = mapping->id;
	}
	if (symbol && symbol->frame_count) {
		location->line = calloc(symbol->frame_count, sizeof(*location->line));
		if (!location->line) {
			free(location);
			return 0;
		}
		for (int i = 0; i < symbol->frame_count; i++) {
			Line *line = malloc(sizeof(*line));

			if (!line)
				break;
			parkwatch__pprof__line__init(line);
			line->function_id = function_id(pprof, &symbol->frames[i]);
			line->line = symbol->frames[i].line;
			location->line[location->n_line++] = line;
			if (mapping) {
				mapping->has_functions |= symbol->frames[i].function != NULL;
				mapping->has_filenames |= symbol->frames[i].file != NULL;
				mapping->has_line_numbers |= symbol->frames[i].line > 0;
			}
		}
		if (mapping && location->n_line > 1)
			mapping->has_inline_frames = true;
	}
	if (vec_push(&pprof->locations, location)) {
		free_location(location);
		return 0;
	}
	/* on failure the location stays in the table, freed with it */
	if (u64map__put(&pprof->location_ids, hash, location))
		return 0;
	return location->id;
}

static Label *string_label(struct pprof_builder *pprof, const char *key, const char *value)
{
	Label *label = malloc(sizeof(*label));

	if (!label)
		return NULL;
	parkwatch__pprof__label__init(label);
	label->key = string_id(pprof, key);
	label->str = string_id(pprof, value);
	return label;
}

static int sample_values(const struct pprof_builder *pprof)
{
	return pprof->kind == PPROF_GOROUTINE ? 1 : 2;
}

static Sample *new_sample(struct pprof_builder *pprof, pid_t pid, const struct stack_frame *frames,
			  const struct symbol *const *symbols, int depth,
			  const struct pprof_label *labels, size_t label_count)
{
	Sample *sample = calloc(1, sizeof(*sample));

	if (!sample)
		return NULL;
	parkwatch__pprof__sample__init(sample);
	sample->location_id = calloc(depth ? depth : 1, sizeof(*sample->location_id));
	sample->value = calloc(sample_values(pprof), sizeof(*sample->value));
	sample->label = calloc(label_count ? label_count : 1, sizeof(*sample->label));
	if (!sample->location_id || !sample->value || !sample->label)
		goto fail;
	sample->n_value = sample_values(pprof);
	for (int i = 0; i < depth; i++) {
		uint64_t id = location_id(pprof, pid, &frames[i], symbols[i]);

		if (!id)
			goto fail;
		sample->location_id[sample->n_location_id++] = id;
	}
	for (size_t i = 0; i < label_count; i++) {
		Label *label = malloc(sizeof(*label));

		if (!label)
			goto fail;
		sample->label[sample->n_label++] = label;
		parkwatch__pprof__label__init(label);
		label->key = string_id(pprof, labels[i].key);
		if (labels[i].str)
			label->str = string_id(pprof, labels[i].str);
		else
			label->num = labels[i].num;
		if (label->key < 0 || label->str < 0)
			goto fail;
	}
	return sample;
fail:
	free_sample(sample);
	return NULL;
}

int pprof_builder__add_sample(struct pprof_builder *pprof, pid_t pid,
			      const struct stack_frame *frames, const struct symbol *const *symbols,
			      int depth, const __s64 *values, const struct pprof_label *labels,
			      size_t label_count, __u64 signature)
{
	__u64 key = hash__bytes(&pid, sizeof(pid), 0x5eed);
	Sample *sample;

	for (int i = 0; i < depth; i++) {
		const char *pseudo = frames[i].lookup_pc ? NULL : symbol__function(symbols[i]);

		key = hash__bytes(&frames[i].lookup_pc, sizeof(frames[i].lookup_pc), key);
		if (pseudo)
			key = hash__bytes(pseudo, strlen(pseudo), key);
	}
	for (size_t i = 0; i < label_count; i++) {
		key = hash__bytes(labels[i].key, strlen(labels[i].key), key);
		if (labels[i].str)
			key = hash__bytes(labels[i].str, strlen(labels[i].str) + 1, key);
		else
			key = hash__bytes(&labels[i].num, sizeof(labels[i].num), key);
	}
	key = key ? key : 1;
	sample = u64map__get(&pprof->sample_ids, key);
	if (!sample) {
		sample = new_sample(pprof, pid, frames, symbols, depth, labels, label_count);
		if (!sample)
			return -ENOMEM;
		if (vec_push(&pprof->samples, sample)) {
			free_sample(sample);
			return -ENOMEM;
		}
		/* from here the sample belongs to the table */
		if (vec_push(&pprof->sample_signatures, (void *)(uintptr_t)signature)) {
			pprof->samples.count--;
			free_sample(sample);
			return -ENOMEM;
		}
		if (u64map__put(&pprof->sample_ids, key, sample))
			return -ENOMEM;
	}
	for (int i = 0; i < sample_values(pprof); i++)
		sample->value[i] += values[i];
	return 0;
}

int pprof_builder__set_main_binary(struct pprof_builder *pprof, const char *path)
{
	if (pprof->main_binary || !path)
		return 0;
	pprof->main_binary = strdup(path);
	return pprof->main_binary ? 0 : -ENOMEM;
}

int pprof_builder__kind(const struct pprof_builder *pprof)
{
	return pprof->kind;
}

int pprof_builder__add_comment(struct pprof_builder *pprof, const char *text)
{
	int64_t id = string_id(pprof, text);

	if (id < 0)
		return -ENOMEM;
	return vec_push(&pprof->comments, (void *)(intptr_t)id);
}

static int gzip_and_write(FILE *out, const uint8_t *data, size_t len)
{
	z_stream stream = { 0 };
	uint8_t chunk[65536];
	int err = 0, status;

	/* windowBits 15 + 16: a gzip header, as pprof readers expect */
	if (deflateInit2(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
			 Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	stream.next_in = (uint8_t *)data;
	stream.avail_in = len;
	do {
		stream.next_out = chunk;
		stream.avail_out = sizeof(chunk);
		status = deflate(&stream, Z_FINISH);
		if (status == Z_STREAM_ERROR) {
			err = -EIO;
			break;
		}
		if (fwrite(chunk, 1, sizeof(chunk) - stream.avail_out, out) !=
		    sizeof(chunk) - stream.avail_out)
			err = -EIO;
	} while (!err && status != Z_STREAM_END);
	deflateEnd(&stream);
	return err;
}

/* pprof readers take the first mapping for the main binary. */
static void main_binary_first(struct pprof_builder *pprof, Mapping **mappings, size_t count,
			      const char *main_name)
{
	int64_t main_id = main_name ? string_id(pprof, main_name) : 0;

	for (size_t i = 1; main_id > 0 && i < count; i++) {
		if (mappings[i]->filename == main_id) {
			Mapping *main = mappings[i];

			memmove(&mappings[1], &mappings[0], i * sizeof(*mappings));
			mappings[0] = main;
			return;
		}
	}
}

static bool labelled(const Sample *sample, int64_t key)
{
	for (size_t i = 0; i < sample->n_label; i++)
		if (sample->label[i]->key == key)
			return true;
	return false;
}

/* Labels the samples of suspect groups leak_suspect=true, as of now (once:
 * a builder may be written twice). */
static int label_suspects(struct pprof_builder *pprof, const struct trend *trend)
{
	int64_t suspect_key = string_id(pprof, "leak_suspect");
	struct trend_group_stats stats;

	if (suspect_key < 0)
		return -ENOMEM;

	for (size_t i = 0; trend && i < pprof->samples.count; i++) {
		Sample *sample = pprof->samples.items[i];
		__u64 signature = (uintptr_t)pprof->sample_signatures.items[i];
		Label **grown;

		if (labelled(sample, suspect_key) || trend__group(trend, signature, &stats) ||
		    !stats.suspect)
			continue;
		grown = realloc(sample->label, (sample->n_label + 1) * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		sample->label = grown;
		sample->label[sample->n_label] = string_label(pprof, "leak_suspect", "true");
		if (!sample->label[sample->n_label])
			return -ENOMEM;
		sample->n_label++;
	}
	return 0;
}

int pprof_builder__write(struct pprof_builder *pprof, FILE *out, __u64 time_unix_ns,
			 __u64 duration_ns, const struct trend *trend)
{
	const char *first_type = pprof->kind == PPROF_WINDOW ? "samples" :
				 pprof->kind == PPROF_GOROUTINE ? "goroutine" : "threads";
	Profile profile = PARKWATCH__PPROF__PROFILE__INIT;
	ValueType types[2], period_type;
	ValueType *type_ptrs[2] = { &types[0], &types[1] };
	int64_t *comments = NULL;
	uint8_t *packed = NULL;
	Mapping **mappings = NULL;
	size_t len;
	int err = -ENOMEM;

	for (int i = 0; i < 2; i++)
		parkwatch__pprof__value_type__init(&types[i]);
	parkwatch__pprof__value_type__init(&period_type);
	types[0].type = string_id(pprof, first_type);
	types[0].unit = string_id(pprof, "count");
	types[1].type = string_id(pprof, "parked");
	types[1].unit = string_id(pprof, "nanoseconds");
	period_type.type = string_id(pprof, pprof->kind == PPROF_WINDOW ? "parked" : first_type);
	period_type.unit = string_id(pprof, pprof->kind == PPROF_WINDOW ? "nanoseconds" : "count");

	if (label_suspects(pprof, trend))
		return -ENOMEM;
	comments = calloc(pprof->comments.count ? pprof->comments.count : 1, sizeof(*comments));
	mappings = calloc(pprof->mappings.count ? pprof->mappings.count : 1, sizeof(*mappings));
	if (!comments || !mappings)
		goto cleanup;
	for (size_t i = 0; i < pprof->comments.count; i++)
		comments[i] = (intptr_t)pprof->comments.items[i];
	if (pprof->mappings.count)
		memcpy(mappings, pprof->mappings.items, pprof->mappings.count * sizeof(*mappings));
	main_binary_first(pprof, mappings, pprof->mappings.count, pprof->main_binary);

	profile.n_sample_type = sample_values(pprof);
	profile.sample_type = type_ptrs;
	profile.n_sample = pprof->samples.count;
	profile.sample = (Sample **)pprof->samples.items;
	profile.n_mapping = pprof->mappings.count;
	profile.mapping = mappings;
	profile.n_location = pprof->locations.count;
	profile.location = (Location **)pprof->locations.items;
	profile.n_function = pprof->functions.count;
	profile.function = (Function **)pprof->functions.items;
	profile.n_string_table = pprof->strings.count;
	profile.string_table = (char **)pprof->strings.items;
	profile.time_nanos = (int64_t)time_unix_ns;
	profile.duration_nanos = (int64_t)duration_ns;
	profile.period_type = &period_type;
	profile.period = pprof->kind == PPROF_WINDOW ? (int64_t)pprof->period_ns : 1;
	profile.n_comment = pprof->comments.count;
	profile.comment = comments;
	/* Go's goroutine profile names no default: its one type is it */
	profile.default_sample_type = pprof->kind == PPROF_GOROUTINE ? 0 : types[0].type;

	len = parkwatch__pprof__profile__get_packed_size(&profile);
	packed = malloc(len ? len : 1);
	if (!packed)
		goto cleanup;
	parkwatch__pprof__profile__pack(&profile, packed);
	err = gzip_and_write(out, packed, len);
cleanup:
	free(packed);
	free(mappings);
	free(comments);
	return err;
}
