// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* Tail-call frames from DWARF call sites (tailcall.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <dwarf.h>
#include <gelf.h>
#include <elfutils/libdw.h>
#include "proc/funcname.h"
#include "proc/tailcall.h"
#include "util/hash.h"

/* Work one search may do: a function whose tail calls fan out wider than
 * this is as good as ambiguous. */
#define SEARCH_MAX_VISITS 1024
#define DIE_MAX_DEPTH 64

#ifndef DW_TAG_GNU_call_site
#define DW_TAG_GNU_call_site 0x4109
#endif
#ifndef DW_AT_GNU_tail_call
#define DW_AT_GNU_tail_call 0x2115
#endif
#ifndef DW_AT_GNU_all_tail_call_sites
#define DW_AT_GNU_all_tail_call_sites 0x2116
#endif
#ifndef DW_AT_GNU_all_call_sites
#define DW_AT_GNU_all_call_sites 0x2117
#endif

/* ---- the search: depth first over every chain, as gdb's
 * call_site_find_chain does, but keeping a chain only when it is the
 * only one ---- */

struct search {
	const struct tailcall_graph *graph;
	__u64 callee;
	__u64 path[TAILCALL_MAX_FRAMES]; /* site pcs, caller's side first */
	int depth;
	__u64 found[TAILCALL_MAX_FRAMES];
	int found_depth;
	int chains;
	int visits;
	bool failed;                /* an unknown step: no answer can be trusted */
};

static void search_from(struct search *search, __u64 target)
{
	struct tailcall_site sites[TAILCALL_MAX_SITES];
	int count;

	if (search->failed || search->chains > 1)
		return;
	if (!target) {
		search->failed = true;
		return;
	}
	if (target == search->callee) {
		if (++search->chains == 1) {
			memcpy(search->found, search->path, search->depth * sizeof(search->path[0]));
			search->found_depth = search->depth;
		}
		return;
	}
	count = search->graph->sites_of(search->graph->ctx, target, sites, TAILCALL_MAX_SITES);
	if (count < 0 || count > TAILCALL_MAX_SITES) {
		search->failed = true;
		return;
	}
	for (int i = 0; i < count && !search->failed && search->chains <= 1; i++) {
		bool on_path = false;

		for (int j = 0; j < search->depth; j++)
			on_path |= search->path[j] == sites[i].pc;
		if (on_path)
			continue; /* a loop of tail calls: each site once per chain */
		if (search->depth == TAILCALL_MAX_FRAMES || ++search->visits > SEARCH_MAX_VISITS) {
			search->failed = true;
			return;
		}
		search->path[search->depth++] = sites[i].pc;
		search_from(search, sites[i].target);
		search->depth--;
	}
}

int tailcall__chain(const struct tailcall_graph *graph, __u64 first_target, __u64 callee_entry,
		    __u64 *pcs, int max)
{
	struct search search = { .graph = graph, .callee = callee_entry };

	if (!callee_entry)
		return 0;
	search_from(&search, first_target);
	if (search.failed || search.chains != 1 || search.found_depth > max)
		return 0;
	for (int i = 0; i < search.found_depth; i++)
		pcs[i] = search.found[search.found_depth - 1 - i];
	return search.found_depth;
}

/* ---- the graph over a process's DWARF ---- */

struct tail_chain {
	int count;
	__u64 pcs[];
};

/*
 * The (outermost) subprogram around pc (the process's); false when DWARF
 * has none.  *bias: of the process's addresses over the DWARF's.  Its
 * module is held in module, found or not, until procs__module_done.
 */
static bool function_at(struct proc *proc, __u64 pc, Dwarf_Die *function, Dwarf_Addr *bias,
			struct proc_module *module)
{
	Dwarf_Die *cu = NULL, *scopes = NULL;
	Dwarf_Addr cu_bias = 0;
	int count;
	bool found = false;

	if (procs__module_at(proc, pc, module))
		cu = dwfl_module_addrdie(module->mod, pc - module->delta, &cu_bias);
	*bias = cu_bias + module->delta;
	count = cu ? funcname__scopes(cu, pc - *bias, &scopes) : 0;

	for (int i = count - 1; i >= 0 && !found; i--) {
		if (dwarf_tag(&scopes[i]) == DW_TAG_subprogram) {
			*function = scopes[i];
			found = true;
		}
	}
	free(scopes);
	return found;
}

static bool is_call_site(Dwarf_Die *die)
{
	int tag = dwarf_tag(die);

	return tag == DW_TAG_call_site || tag == DW_TAG_GNU_call_site;
}

/* Where the call returns to, in the DWARF's address space; 0: unknown. */
static Dwarf_Addr site_return_pc(Dwarf_Die *site)
{
	Dwarf_Attribute attr;
	Dwarf_Addr pc = 0;

	if (dwarf_attr(site, DW_AT_call_return_pc, &attr)) {
		if (dwarf_formaddr(&attr, &pc))
			return 0;
		return pc;
	}
	return dwarf_lowpc(site, &pc) ? 0 : pc;
}

/* The module's names, indexed on first need and kept with its tables:
 * once per file, however many processes map it.  NULL when out of memory. */
static struct func_names *names_of(const struct proc_module *module)
{
	struct func_names *names;
	int count;

	if (!module->tables)
		return NULL;
	if (module->tables->func_names)
		return module->tables->func_names;
	names = calloc(1, sizeof(*names));
	if (!names)
		return NULL;
	count = dwfl_module_getsymtab(module->mod);
	for (int i = 1; i < count; i++) {
		GElf_Addr addr;
		GElf_Word shndx;
		GElf_Sym sym;
		const char *name = dwfl_module_getsym_info(module->mod, i, &sym, &addr, &shndx,
							   NULL, NULL);
		const char *at = name ? strchr(name, '@') : NULL;
		struct u64map *map;
		__u64 key;

		/* name@VERSION is an old version's: a call by name binds the
		 * default one, name@@VERSION */
		if (!name || !name[0] || !addr || shndx == SHN_UNDEF || (at && at[1] != '@') ||
		    GELF_ST_TYPE(sym.st_info) != STT_FUNC)
			continue;
		map = GELF_ST_BIND(sym.st_info) != STB_LOCAL ? &names->globals : &names->locals;
		key = hash__bytes(name, at ? (size_t)(at - name) : strlen(name), 0);
		/* out of memory: the names missing read unknown */
		if (key && !u64map__get(map, key) && u64map__put(map, key, (void *)(uintptr_t)addr))
			break;
	}
	module->tables->func_names = names;
	return names;
}

struct name_lookup {
	struct proc *proc;
	__u64 key;                  /* hash__bytes of the name */
	bool globals;               /* this pass looks at global and weak symbols */
	__u64 address;              /* found: in the process */
};

static int find_in_module(Dwfl_Module *own, void **userdata, const char *module_name,
			  Dwarf_Addr start, void *arg)
{
	struct name_lookup *lookup = arg;
	struct proc_module module;
	struct func_names *names;
	__u64 addr = 0;

	(void)userdata, (void)module_name, (void)start;
	if (!procs__module_of(lookup->proc, own, true, &module))
		return DWARF_CB_OK;
	names = names_of(&module);
	if (names)
		addr = (uintptr_t)u64map__get(lookup->globals ? &names->globals : &names->locals,
					      lookup->key);
	if (addr)
		lookup->address = addr + module.delta;
	procs__module_done(lookup->proc, &module);
	return addr ? DWARF_CB_ABORT : DWARF_CB_OK;
}

/*
 * Where the function named name starts, as gdb finds a call's target that
 * DWARF declares but defines elsewhere: by its symbol in any module, a
 * global one before a local one.
 */
static __u64 address_of_name(struct proc *proc, Dwfl *dwfl, const char *name)
{
	struct name_lookup lookup = {
		.proc = proc, .key = name ? hash__bytes(name, strlen(name), 0) : 0, .globals = true,
	};

	if (!lookup.key)
		return 0;
	dwfl_getmodules(dwfl, find_in_module, &lookup, 0);
	if (!lookup.address) {
		lookup.globals = false;
		dwfl_getmodules(dwfl, find_in_module, &lookup, 0);
	}
	return lookup.address;
}

/* The entry of the function a call site calls (absolute); 0: unknown,
 * e.g. an indirect call, whose target only the caller's registers tell. */
static __u64 site_target(struct proc *proc, Dwfl *dwfl, Dwarf_Die *site, Dwarf_Addr bias)
{
	Dwarf_Attribute attr;
	Dwarf_Addr low;
	Dwarf_Die origin;

	if (!dwarf_attr(site, DW_AT_call_origin, &attr) &&
	    !dwarf_attr(site, DW_AT_abstract_origin, &attr))
		return 0;
	if (!dwarf_formref_die(&attr, &origin))
		return 0;
	if (dwarf_hasattr(&origin, DW_AT_declaration) &&
	    !dwarf_hasattr(&origin, DW_AT_specification)) {
		const char *name = NULL;

		if (dwarf_attr_integrate(&origin, DW_AT_linkage_name, &attr) ||
		    dwarf_attr_integrate(&origin, DW_AT_MIPS_linkage_name, &attr))
			name = dwarf_formstring(&attr);
		return address_of_name(proc, dwfl, name ? name : dwarf_diename(&origin));
	}
	return dwarf_lowpc(&origin, &low) ? 0 : low + bias;
}

struct site_walk {
	struct proc *proc;
	Dwfl *dwfl;
	Dwarf_Addr bias;
	Dwarf_Addr return_pc;       /* find this call site (0: collect tail calls) */
	__u64 target;               /* what it calls */
	bool found;
	struct tailcall_site *sites;
	int count, max;
};

/* The call sites of one function: below its DIE, through lexical blocks
 * and inlined calls, not into functions nested in it. */
static void walk_sites(struct site_walk *walk, Dwarf_Die *parent, int depth)
{
	Dwarf_Die child;

	if (depth > DIE_MAX_DEPTH || dwarf_child(parent, &child))
		return;
	do {
		if (walk->found || walk->count > walk->max)
			return;
		if (is_call_site(&child)) {
			Dwarf_Addr pc = site_return_pc(&child);

			if (walk->return_pc) {
				if (pc && pc == walk->return_pc) {
					walk->target = site_target(walk->proc, walk->dwfl, &child,
								   walk->bias);
					walk->found = true;
				}
			} else if (pc && (dwarf_hasattr(&child, DW_AT_call_tail_call) ||
					  dwarf_hasattr(&child, DW_AT_GNU_tail_call))) {
				/* a site with no return pc (clang's DW_AT_call_pc
				 * alone) has no place in a chain, as in gdb's */
				if (walk->count++ < walk->max)
					walk->sites[walk->count - 1] = (struct tailcall_site){
						pc + walk->bias,
						site_target(walk->proc, walk->dwfl, &child, walk->bias),
					};
			}
		} else if (dwarf_tag(&child) != DW_TAG_subprogram) {
			walk_sites(walk, &child, depth + 1);
		}
	} while (dwarf_siblingof(&child, &child) == 0);
}

struct dwarf_graph {
	struct proc *proc;
	Dwfl *dwfl;
};

static int dwarf_sites_of(void *ctx, __u64 entry, struct tailcall_site *sites, int max)
{
	struct dwarf_graph *graph = ctx;
	struct site_walk walk = { .proc = graph->proc, .dwfl = graph->dwfl, .sites = sites, .max = max };
	struct proc_module module;
	Dwarf_Addr function_entry;
	Dwarf_Die function;
	int count = -1;

	if (function_at(graph->proc, entry, &function, &walk.bias, &module) &&
	    !dwarf_entrypc(&function, &function_entry) && function_entry + walk.bias == entry) {
		count = 0;
		/* without the producer's word that every (tail) call is listed,
		 * a chain through this function could miss the real one */
		if (dwarf_hasattr(&function, DW_AT_call_all_calls) ||
		    dwarf_hasattr(&function, DW_AT_call_all_tail_calls) ||
		    dwarf_hasattr(&function, DW_AT_GNU_all_call_sites) ||
		    dwarf_hasattr(&function, DW_AT_GNU_all_tail_call_sites)) {
			walk_sites(&walk, &function, 0);
			count = walk.count;
		}
	}
	procs__module_done(graph->proc, &module);
	return count;
}

/* The target of the call that returns to return_pc; 0: none known. */
static __u64 caller_target(struct proc *proc, Dwfl *dwfl, __u64 return_pc)
{
	struct site_walk walk = { .proc = proc, .dwfl = dwfl };
	struct proc_module module;
	Dwarf_Die function;

	if (!return_pc)
		return 0;
	if (function_at(proc, return_pc - 1, &function, &walk.bias, &module) &&
	    return_pc >= walk.bias) {
		walk.return_pc = return_pc - walk.bias;
		walk_sites(&walk, &function, 0);
	}
	procs__module_done(proc, &module);
	return walk.found ? walk.target : 0;
}

static __u64 chain_key(__u64 return_pc, __u64 callee_entry)
{
	__u64 pair[2] = { return_pc, callee_entry };

	return hash__bytes(pair, sizeof(pair), 0) | 1;
}

int tailcall__frames(struct proc *proc, __u64 return_pc, __u64 callee_entry, __u64 *pcs,
		     int max)
{
	__u64 key = chain_key(return_pc, callee_entry);
	struct tail_chain *chain = u64map__get(&proc->tail_chains, key);
	Dwfl *dwfl = proc->dwfl;

	if (!chain) {
		struct dwarf_graph graph = { proc, dwfl };
		struct tailcall_graph search = { dwarf_sites_of, &graph };
		__u64 found[TAILCALL_MAX_FRAMES];
		int count = 0;

		if (dwfl && callee_entry)
			count = tailcall__chain(&search, caller_target(proc, dwfl, return_pc),
						callee_entry, found, TAILCALL_MAX_FRAMES);
		chain = malloc(sizeof(*chain) + count * sizeof(chain->pcs[0]));
		if (!chain)
			return 0;
		chain->count = count;
		memcpy(chain->pcs, found, count * sizeof(found[0]));
		if (u64map__put(&proc->tail_chains, key, chain)) {
			free(chain);
			return 0;
		}
	}
	if (chain->count > max)
		return 0;
	memcpy(pcs, chain->pcs, chain->count * sizeof(pcs[0]));
	return chain->count;
}
