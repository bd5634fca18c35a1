// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* Container, pod and unit labels from cgroup paths (cgroup.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include "proc/cgroup.h"
#include "util/procfs.h"

#define CGROUP_FILE_MAX 16384       /* v1 with a dozen hierarchies of kubepods paths: ~3 KiB */
#define CONTAINER_ID_LEN 64         /* every runtime here names containers by 64 hex digits */
#define POD_UID_MAX 64              /* a UUID is 36 */

/* A piece of text, not terminated. */
struct span {
	const char *text;
	size_t len;
};

/* What one path says. */
struct path_label {
	const char *runtime;
	struct span container, pod, unit;
	const char *qos;
};

static bool span_is(struct span s, const char *word)
{
	return s.len == strlen(word) && !memcmp(s.text, word, s.len);
}

static bool span_starts(struct span s, const char *prefix)
{
	size_t n = strlen(prefix);

	return s.len >= n && !memcmp(s.text, prefix, n);
}

static bool span_ends(struct span s, const char *suffix)
{
	size_t n = strlen(suffix);

	return s.len >= n && !memcmp(s.text + s.len - n, suffix, n);
}

static struct span span_after(struct span s, size_t n)
{
	return (struct span){ s.text + n, s.len - n };
}

static struct span span_trim_end(struct span s, size_t n)
{
	return (struct span){ s.text, s.len - n };
}

static bool all_of(struct span s, const char *alphabet)
{
	for (size_t i = 0; i < s.len; i++)
		if (!s.text[i] || !strchr(alphabet, s.text[i]))
			return false;
	return true;
}

static bool is_container_id(struct span s)
{
	return s.len == CONTAINER_ID_LEN && all_of(s, "0123456789abcdef");
}

/* "podUID" with dashes (cgroupfs driver) or underscores (systemd driver) */
static bool take_pod(struct span s, struct path_label *label, const char *qos)
{
	struct span uid;

	if (!span_starts(s, "pod"))
		return false;
	uid = span_after(s, 3);
	if (!uid.len || uid.len > POD_UID_MAX || !all_of(uid, "0123456789abcdef-_"))
		return false;
	label->pod = uid;
	label->qos = qos ? qos : "guaranteed"; /* kubelet gives guaranteed pods no QoS level */
	return true;
}

static const char *qos_level(struct span s)
{
	if (span_is(s, "burstable"))
		return "burstable";
	if (span_is(s, "besteffort"))
		return "besteffort";
	return NULL;
}

/* kubepods-[QOS-]podUID.slice (systemd driver); the QoS slices alone say nothing */
static bool take_pod_slice(struct span s, struct path_label *label)
{
	const char *qos = NULL;

	if (!span_starts(s, "kubepods-") || !span_ends(s, ".slice"))
		return false;
	s = span_trim_end(span_after(s, strlen("kubepods-")), strlen(".slice"));
	if (span_starts(s, "burstable-") || span_starts(s, "besteffort-")) {
		qos = span_starts(s, "burstable-") ? "burstable" : "besteffort";
		s = span_after(s, strchr(s.text, '-') - s.text + 1);
	}
	return take_pod(s, label, qos);
}

struct scope_prefix {
	const char *prefix;
	const char *runtime;
};

/* A runtime's own cgroup per container, [PREFIX]ID[.scope].  Conmon's
 * (crio-conmon-ID, libpod-conmon-ID) are a monitor's, not the container's. */
static const struct scope_prefix scope_prefixes[] = {
	{ "docker-", "docker" },
	{ "cri-containerd-", "containerd" },
	{ "crio-", "cri-o" },
	{ "libpod-", "podman" },
};

static bool take_container_scope(struct span s, struct path_label *label)
{
	if (span_ends(s, ".scope"))
		s = span_trim_end(s, strlen(".scope"));
	for (size_t i = 0; i < sizeof(scope_prefixes) / sizeof(scope_prefixes[0]); i++) {
		struct span id;

		if (!span_starts(s, scope_prefixes[i].prefix))
			continue;
		id = span_after(s, strlen(scope_prefixes[i].prefix));
		if (!is_container_id(id))
			return false;
		label->runtime = scope_prefixes[i].runtime;
		label->container = id;
		return true;
	}
	return false;
}

/* A bare ID below a parent that names its runtime: /docker/ID (Docker's
 * cgroupfs driver), /k8s.io/ID (containerd's namespace), /libpod_parent/ID,
 * or below a kubepods pod, whose runtime the path doesn't say. */
static bool take_bare_id(struct span s, struct span parent, bool in_pod, struct path_label *label)
{
	if (!is_container_id(s))
		return false;
	if (span_is(parent, "docker"))
		label->runtime = "docker";
	else if (span_is(parent, "k8s.io"))
		label->runtime = "containerd";
	else if (span_is(parent, "libpod_parent"))
		label->runtime = "podman";
	else if (in_pod)
		label->runtime = NULL;
	else
		return false;
	label->container = s;
	return true;
}

static bool take_unit(struct span s, struct path_label *label)
{
	if (s.len >= CGROUP_UNIT_MAX || (!span_ends(s, ".service") && !span_ends(s, ".scope")))
		return false;
	/* systemd's unit name alphabet (unit_name_is_valid) */
	if (!all_of(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:-_.\\@"))
		return false;
	label->unit = s;
	return true;
}

/* Walks the path root to leaf: the innermost container, pod and unit win
 * (a pod inside a kind node's container, a unit inside a container). */
static void parse_path(struct span path, struct path_label *label)
{
	struct span parent = { "", 0 };
	const char *qos = NULL;
	bool in_kubepods = false, in_pod = false;
	size_t at = 0;

	memset(label, 0, sizeof(*label));
	while (at < path.len) {
		struct span part;
		size_t end = at;

		while (end < path.len && path.text[end] != '/')
			end++;
		part = (struct span){ path.text + at, end - at };
		at = end + 1;
		if (!part.len)
			continue;
		if (span_is(part, "kubepods") || span_is(part, "kubepods.slice")) {
			in_kubepods = true;
			qos = NULL;
		} else if (in_kubepods && qos_level(part)) {
			qos = qos_level(part);
		} else if (in_kubepods && take_pod(part, label, qos)) {
			in_pod = true;
		} else if (take_pod_slice(part, label)) {
			in_pod = true;
		} else if (!take_container_scope(part, label) &&
			   !take_bare_id(part, parent, in_pod, label)) {
			take_unit(part, label);
		}
		parent = part;
	}
}

static void copy_span(char *dst, size_t size, struct span s)
{
	size_t n = s.len < size - 1 ? s.len : size - 1;

	if (n) /* an empty span may have no text: memcpy wants a pointer even for 0 bytes */
		memcpy(dst, s.text, n);
	dst[n] = '\0';
}

static void fill_label(struct cgroup_label *out, struct span path, const struct path_label *label)
{
	copy_span(out->path, sizeof(out->path), path);
	out->runtime = label->runtime;
	copy_span(out->container, sizeof(out->container), label->container);
	copy_span(out->pod, sizeof(out->pod), label->pod);
	for (char *c = out->pod; *c; c++)
		if (*c == '_')
			*c = '-';
	out->qos = label->pod.len ? label->qos : NULL;
	copy_span(out->unit, sizeof(out->unit), label->unit);
}

/* Lower first: v2's unified line, then the v1 hierarchies most likely to
 * hold every process of a container, then the rest in file order. */
static unsigned int line_rank(struct span id, struct span controllers, unsigned int index)
{
	struct span list = controllers;

	if (span_is(id, "0") && !controllers.len)
		return 0;
	while (list.len) {
		const char *comma = memchr(list.text, ',', list.len);
		struct span one = { list.text, comma ? (size_t)(comma - list.text) : list.len };

		if (span_is(one, "pids"))
			return 1;
		if (span_is(one, "memory"))
			return 2;
		if (span_is(one, "name=systemd"))
			return 3;
		list = comma ? span_after(list, one.len + 1) : span_after(list, list.len);
	}
	return 4 + index;
}

/* How much a path says: 2 a container or pod, 1 a unit, 0 nothing. */
static int label_weight(const struct path_label *label)
{
	if (label->container.len || label->pod.len)
		return 2;
	return label->unit.len ? 1 : 0;
}

void cgroup__parse(const char *text, size_t len, struct cgroup_label *out)
{
	struct span best_path = { NULL, 0 }, plain_path = { NULL, 0 };
	struct path_label best = { 0 };
	unsigned int best_rank = ~0u, plain_rank = ~0u, index = 0;
	int best_weight = 0;

	memset(out, 0, sizeof(*out));
	for (size_t at = 0; at < len; index++) {
		const char *nl = memchr(text + at, '\n', len - at);
		struct span line = { text + at, nl ? (size_t)(nl - (text + at)) : len - at };
		const char *colon1 = memchr(line.text, ':', line.len), *colon2;
		struct span id, controllers, path;
		struct path_label label;
		unsigned int rank;
		int weight;

		at += line.len + 1;
		if (!colon1)
			continue;
		colon2 = memchr(colon1 + 1, ':', line.len - (colon1 + 1 - line.text));
		if (!colon2)
			continue;
		id = (struct span){ line.text, colon1 - line.text };
		controllers = (struct span){ colon1 + 1, colon2 - colon1 - 1 };
		path = (struct span){ colon2 + 1, line.len - (colon2 + 1 - line.text) };
		if (!path.len || path.text[0] != '/')
			continue;
		rank = line_rank(id, controllers, index);
		parse_path(path, &label);
		weight = label_weight(&label);
		if (weight > best_weight || (weight && weight == best_weight && rank < best_rank)) {
			best = label;
			best_path = path;
			best_weight = weight;
			best_rank = rank;
		}
		/* without a label, the path shown is the most specific one */
		if (!plain_path.text || (plain_path.len <= 1 && path.len > 1) ||
		    ((plain_path.len <= 1) == (path.len <= 1) && rank < plain_rank)) {
			plain_path = path;
			plain_rank = rank;
		}
	}
	if (best_weight)
		fill_label(out, best_path, &best);
	else if (plain_path.text)
		copy_span(out->path, sizeof(out->path), plain_path);
}

int cgroup__read(pid_t pid, struct cgroup_label *label)
{
	char text[CGROUP_FILE_MAX];
	ssize_t len = procfs__read(pid, "cgroup", text, sizeof(text));
	const char *last_nl;

	memset(label, 0, sizeof(*label));
	if (len < 0)
		return (int)len;
	/* a file longer than the buffer: its last line is cut, leave it out */
	if ((size_t)len == sizeof(text) - 1) {
		last_nl = memrchr(text, '\n', (size_t)len);
		len = last_nl ? last_nl - text : 0;
	}
	cgroup__parse(text, (size_t)len, label);
	return 0;
}
