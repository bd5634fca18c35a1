// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* User-space symbolization with libdwfl (symbolize.h). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dwarf.h>
#include <gelf.h>
#include <elfutils/libdw.h>
#include "proc/funcname.h"
#include "proc/perfmap.h"
#include "proc/symbolize.h"
#include "proc/symbolize_internal.h"
#include "util/demangle.h"

#define SCOPE_MAX_DEPTH 64

/*
 * Where each compilation unit's code lies, for a module whose DWARF has no
 * .debug_aranges: Go's linker writes none, and libdw 0.188 finds a unit by
 * address only through them, so for a Go binary dwfl_module_addrdie() and
 * dwfl_module_getsrc() find nothing.  Read once per module from the units'
 * own DW_AT_low_pc/high_pc or DW_AT_ranges, kept in its module_tables.
 */
struct cu_range {
	Dwarf_Addr lo, hi;          /* in the DWARF's address space */
	Dwarf_Off die_offset;       /* of the unit's DIE */
};

struct cu_table {
	Dwarf *dwarf;               /* NULL: aranges or no DWARF, libdw's lookup stands */
	Dwarf_Addr bias;
	size_t count;
	struct cu_range ranges[];   /* sorted by lo */
};

char *symbolize__dup(const char *text)
{
	return text ? strdup(text) : NULL;
}

/* A source path as debug info records it, made absolute with the
 * compilation directory. */
static const char *absolute_path(const char *file, const char *comp_dir, char *buf, size_t size)
{
	if (!file || file[0] == '/' || !comp_dir || comp_dir[0] != '/')
		return file;
	snprintf(buf, size, "%s/%s", comp_dir, file[0] == '.' && file[1] == '/' ? file + 2 : file);
	return buf;
}

struct symbol_frame *frame_builder__push(struct frame_builder *builder, char *name,
					 char *system_name, const char *file, int line,
					 bool inlined, __u64 pc)
{
	struct symbol_frame *frame;

	if (builder->count > SYMBOL_MAX_INLINE) {
		free(name);
		free(system_name);
		return NULL;
	}
	frame = &builder->frames[builder->count++];
	frame->function = name;
	frame->system_name = system_name;
	frame->file = symbolize__dup(file);
	frame->line = line;
	frame->inlined = inlined;
	frame->pc = pc;
	return frame;
}

static const char *call_site_file(Dwarf_Die *cu, Dwarf_Die *inlined, char *buf, size_t size)
{
	Dwarf_Attribute attr;
	Dwarf_Files *files;
	Dwarf_Word index;
	size_t count;

	if (!dwarf_attr(inlined, DW_AT_call_file, &attr) || dwarf_formudata(&attr, &index) ||
	    dwarf_getsrcfiles(cu, &files, &count) || index >= count)
		return NULL;
	return absolute_path(dwarf_filesrc(files, index, NULL, NULL),
			     dwarf_formstring(dwarf_attr(cu, DW_AT_comp_dir, &attr)), buf, size);
}

static int by_range_start(const void *a, const void *b)
{
	const struct cu_range *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* The unit ranges of mod; an empty table (dwarf NULL) when libdw's own
 * lookup serves it.  NULL only when out of memory. */
static struct cu_table *cu_table_build(Dwfl_Module *mod)
{
	struct cu_table *table = calloc(1, sizeof(*table)), *grown;
	Dwarf_Off offset = 0, next;
	Dwarf_Aranges *aranges;
	size_t header_size, naranges = 0, capacity = 0;
	Dwarf_Addr bias = 0;
	Dwarf *dwarf = dwfl_module_getdwarf(mod, &bias);

	if (!table || !dwarf || dwarf_getaranges(dwarf, &aranges, &naranges) || naranges)
		return table;
	while (dwarf_nextcu(dwarf, offset, &next, &header_size, NULL, NULL, NULL) == 0) {
		Dwarf_Addr base, lo, hi;
		ptrdiff_t it = 0;
		Dwarf_Die cu;

		if (!dwarf_offdie(dwarf, offset + header_size, &cu)) {
			offset = next;
			continue;
		}
		while ((it = dwarf_ranges(&cu, it, &base, &lo, &hi)) > 0) {
			if (hi <= lo)
				continue;
			if (table->count == capacity) {
				capacity = capacity ? capacity * 2 : 256;
				grown = realloc(table, sizeof(*table) + capacity * sizeof(table->ranges[0]));
				if (!grown) {
					free(table);
					return NULL;
				}
				table = grown;
			}
			table->ranges[table->count++] = (struct cu_range){ lo, hi, dwarf_dieoffset(&cu) };
		}
		offset = next;
	}
	qsort(table->ranges, table->count, sizeof(table->ranges[0]), by_range_start);
	table->dwarf = table->count ? dwarf : NULL;
	table->bias = bias;
	return table;
}

/* The unit holding pc (mod's address), from libdw or else (*from_table)
 * from the module's range table. */
static Dwarf_Die *module_cu(struct module_tables *tables, Dwfl_Module *mod, __u64 pc,
			    Dwarf_Die *mem, Dwarf_Addr *bias, bool *from_table)
{
	Dwarf_Die *cu = dwfl_module_addrdie(mod, pc, bias);
	struct cu_table *table;
	size_t lo = 0, hi;

	*from_table = false;
	if (cu)
		return cu;
	if (!tables->cu_table)
		tables->cu_table = cu_table_build(mod);
	table = tables->cu_table;
	if (!table)
		return NULL;
	if (!table->dwarf || pc < table->bias)
		return NULL;
	/* the last range starting at or below pc */
	for (hi = table->count; lo < hi;) {
		size_t mid = lo + (hi - lo) / 2;

		if (table->ranges[mid].lo <= pc - table->bias)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo || pc - table->bias >= table->ranges[lo - 1].hi)
		return NULL;
	*bias = table->bias;
	*from_table = true;
	return dwarf_offdie(table->dwarf, table->ranges[lo - 1].die_offset, mem);
}

/*
 * The scopes around pc, innermost first, by a plain descent from the unit:
 * subprograms, inlined calls and lexical blocks that contain pc.  For the
 * units of our range tables (Go's): libdw 0.188's dwarf_getscopes() returns
 * none, and leaks, for an inlined call whose abstract origin lies in another
 * unit, which is how Go's compiler writes every call inlined across
 * packages.  Returns the count (0: none) or -1.
 */
static int scopes_by_descent(Dwarf_Die *cu, Dwarf_Addr pc, Dwarf_Die **out)
{
	Dwarf_Die chain[SCOPE_MAX_DEPTH], child;
	Dwarf_Die *parent = cu;
	int depth = 0;

	while (depth < SCOPE_MAX_DEPTH && dwarf_child(parent, &child) == 0) {
		bool found = false;

		do {
			int tag = dwarf_tag(&child);

			if ((tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine ||
			     tag == DW_TAG_lexical_block) && dwarf_haspc(&child, pc) > 0) {
				chain[depth++] = child;
				found = true;
				break;
			}
		} while (dwarf_siblingof(&child, &child) == 0);
		if (!found)
			break;
		parent = &chain[depth - 1];
	}
	if (!depth)
		return 0;
	*out = malloc(depth * sizeof(**out));
	if (!*out)
		return -1;
	for (int i = 0; i < depth; i++)
		(*out)[i] = chain[depth - 1 - i];
	return depth;
}

/* The scopes around pc: by our descent for units of our range tables,
 * else as funcname__scopes nests them. */
static int scopes_at(Dwarf_Die *cu, bool by_descent, Dwarf_Addr pc, Dwarf_Die **scopes)
{
	return by_descent ? scopes_by_descent(cu, pc, scopes) : funcname__scopes(cu, pc, scopes);
}

/*
 * Walks the DWARF scopes around pc (an address in cu's space), innermost
 * first: each inlined subroutine is a frame whose caller continues at its
 * call site; the enclosing subprogram ends the chain.  Each is named from
 * DWARF as gdb names it (the ELF symbol spells a lambda's otherwise),
 * else by elf_name, the name the symbol table gives it.
 * by_descent: cu came from our range table.  *entry: the subprogram's
 * entry pc in cu's space.  Returns false when there is no DWARF for pc.
 */
static bool add_inline_chain(Dwarf_Die *cu, bool by_descent, Dwarf_Addr pc, const char *elf_name,
			     const char *file, int line, __u64 lookup_pc,
			     struct frame_builder *builder, Dwarf_Addr *entry)
{
	Dwarf_Die *scopes = NULL;
	char call_file[PATH_MAX];
	int scope_count;
	bool found_function = false;

	if (!cu)
		return false;
	scope_count = scopes_at(cu, by_descent, pc, &scopes);
	for (int i = 0; i < scope_count && !found_function; i++) {
		Dwarf_Die *scope = &scopes[i];
		char *name, *system_name;
		Dwarf_Attribute attr;
		Dwarf_Word call_line = 0;
		struct symbol_frame *frame;
		Dwarf_Addr inline_entry;
		switch (dwarf_tag(scope)) {
		case DW_TAG_inlined_subroutine:
			name = funcname__die(scope, &system_name);
			frame = frame_builder__push(builder, name, system_name, file, line, true,
						   lookup_pc);
			if (frame && dwarf_entrypc(scope, &inline_entry) == 0 && pc >= inline_entry)
				frame->function_offset = pc - inline_entry;
			file = call_site_file(cu, scope, call_file, sizeof(call_file));
			if (dwarf_attr(scope, DW_AT_call_line, &attr))
				dwarf_formudata(&attr, &call_line);
			line = (int)call_line;
			break;
		case DW_TAG_subprogram:
			name = funcname__die(scope, &system_name);
			if (!name && elf_name) {
				name = funcname__elf(elf_name, &system_name);
			} else if (name && !system_name && elf_name && demangle__is_mangled(elf_name)) {
				/* no linkage name in DWARF: the symbol's is the one written */
				system_name = funcname__plain(elf_name);
			}
			frame_builder__push(builder, name, system_name, file, line, false, lookup_pc);
			if (dwarf_entrypc(scope, entry))
				*entry = 0;
			found_function = true;
			break;
		default:
			break;
		}
	}
	/* no subprogram around the inlined calls (a unit without one): the
	 * caller is then the function the ELF symbol names */
	if (!found_function && builder->count && elf_name) {
		char *system_name, *name = funcname__elf(elf_name, &system_name);

		frame_builder__push(builder, name, system_name, file, line, false, lookup_pc);
		found_function = true;
	}
	free(scopes);
	return found_function;
}

static char *build_id_hex(Dwfl_Module *mod)
{
	const unsigned char *bits;
	GElf_Addr vaddr;
	int len = dwfl_module_build_id(mod, &bits, &vaddr);
	char *hex;

	if (len <= 0)
		return NULL;
	hex = malloc(len * 2 + 1);
	if (!hex)
		return NULL;
	for (int i = 0; i < len; i++)
		sprintf(hex + i * 2, "%02x", bits[i]);
	return hex;
}

/*
 * Code other than Go's, from DWARF (inlined calls, lines) and the ELF
 * symbol table: pc is the process's, at mod_pc in module.  Returns the
 * offset of pc in its function; *entry: where the function starts, as
 * DWARF says or else the symbol (0: unknown).
 */
static __u64 add_dwarf_frames(const struct proc_module *module, __u64 pc,
			      struct frame_builder *builder, __u64 *entry)
{
	Dwfl_Module *mod = module->mod;
	__u64 mod_pc = pc - module->delta;
	const char *elf_name, *file = NULL;
	char file_buf[PATH_MAX];
	Dwarf_Addr cu_bias = 0, dwarf_entry = 0;
	Dwarf_Die cu_mem, *cu;
	Dwfl_Line *line_info;
	Dwarf_Line *cu_line;
	GElf_Off offset = 0;
	bool from_table;
	GElf_Sym sym;
	int line = 0;

	elf_name = dwfl_module_addrinfo(mod, mod_pc, &offset, &sym, NULL, NULL, NULL);
	*entry = elf_name ? pc - offset : 0;
	cu = module_cu(module->tables, mod, mod_pc, &cu_mem, &cu_bias, &from_table);
	/* libdwfl gives the unit with the nearest start below pc, whether or
	 * not it covers pc (_start, linked from a unit without DWARF, would
	 * read a line of the program's source): no unit, no line */
	if (cu && dwarf_haspc(cu, mod_pc - cu_bias) <= 0)
		cu = NULL;
	line_info = cu ? dwfl_module_getsrc(mod, mod_pc) : NULL;
	if (line_info) {
		file = absolute_path(dwfl_lineinfo(line_info, NULL, &line, NULL, NULL, NULL),
				     dwfl_line_comp_dir(line_info), file_buf, sizeof(file_buf));
	} else if (cu && (cu_line = dwarf_getsrc_die(cu, mod_pc - cu_bias))) {
		Dwarf_Attribute attr;

		/* the unit came from our range table: libdwfl's line lookup can't see it */
		dwarf_lineno(cu_line, &line);
		file = absolute_path(dwarf_linesrc(cu_line, NULL, NULL),
				     dwarf_formstring(dwarf_attr(cu, DW_AT_comp_dir, &attr)),
				     file_buf, sizeof(file_buf));
	}
	if (add_inline_chain(cu, from_table, mod_pc - cu_bias, elf_name, file, line, pc, builder,
			     &dwarf_entry)) {
		if (dwarf_entry)
			*entry = dwarf_entry + cu_bias + module->delta;
	} else if (elf_name) {
		char *system_name, *name = funcname__elf(elf_name, &system_name);

		frame_builder__push(builder, name, system_name, file, line, false, pc);
	}
	return offset;
}

static struct symbol *symbolize_uncached(struct proc *proc, __u64 pc)
{
	struct frame_builder builder = { 0 };
	struct proc_module module;
	bool found;
	const char *mod_name = NULL, *main_file = NULL;
	Dwarf_Addr mod_start = 0, mod_end = 0, bias = 0;
	struct symbol *symbol;
	__u64 offset = 0, entry = 0;
	char *build_id = NULL;

	/* JIT code, named by the process's perf map (it may lie in a gap of
	 * a module's address range) */
	if ((symbol = perfmap__symbol(proc->perfmap, pc)))
		return symbol;
	found = procs__module_at(proc, pc, &module);
	if (found) {
		/* named as the process knows the file */
		mod_name = dwfl_module_info(dwfl_addrmodule(procs__dwfl(proc), pc), NULL,
					    &mod_start, &mod_end, NULL, NULL, &main_file, NULL);
		dwfl_module_getelf(module.mod, &bias);
		bias += module.delta;
		if (pc >= bias &&
		    symbolize_go__frames(module.tables, module.mod, bias, pc - bias, &builder, &entry)) {
			offset = pc - bias - entry;
			entry += bias;
		} else {
			offset = add_dwarf_frames(&module, pc, &builder, &entry);
		}
		build_id = build_id_hex(module.mod);
		procs__module_done(proc, &module);
	}

	symbol = symbol__new(builder.count);
	if (!symbol) {
		free(build_id);
		for (int i = 0; i < builder.count; i++) {
			free(builder.frames[i].function);
			free(builder.frames[i].system_name);
			free(builder.frames[i].file);
		}
		return NULL;
	}
	if (found) {
		symbol->module = symbolize__dup(main_file ? main_file : mod_name);
		symbol->module_offset = pc - bias;
		symbol->module_start = mod_start;
		symbol->module_end = mod_end;
		symbol->build_id = build_id;
		symbol->function_entry = entry;
	} else {
		symbol->module_offset = pc;
	}
	symbol->frame_count = builder.count;
	memcpy(symbol->frames, builder.frames, builder.count * sizeof(builder.frames[0]));
	if (builder.count)
		symbol->frames[builder.count - 1].function_offset = offset;
	return symbol;
}

/* The cache's key for a lookup pc.  u64map has no key 0, yet pc 0 (a
 * zeroed capture, a garbage leaf) needs its unknown symbol like any miss:
 * it takes the key of ~0, which is no user address either. */
static __u64 cache_key(__u64 lookup_pc)
{
	return lookup_pc ? lookup_pc : ~0ULL;
}

const struct symbol *symbolize__user(struct proc *proc, __u64 lookup_pc)
{
	struct symbol *symbol;

	/* first: a changed process drops its cache here, before any lookup;
	 * a hit needs no session (nor its fds) */
	procs__refresh(proc);
	symbol = u64map__get(&proc->symbols, cache_key(lookup_pc));
	if (symbol)
		return symbol;
	symbol = symbolize_uncached(proc, lookup_pc);
	if (symbol && u64map__put(&proc->symbols, cache_key(lookup_pc), symbol)) {
		symbol__put(symbol);
		return NULL;
	}
	return symbol;
}

const struct symbol *symbolize__tail_call(struct proc *proc, __u64 lookup_pc)
{
	struct symbol *tail = u64map__get(&proc->tail_symbols, cache_key(lookup_pc));
	const struct symbol *symbol;
	const struct symbol_frame *inner, *outer;

	if (tail)
		return tail;
	symbol = symbolize__user(proc, lookup_pc);
	if (!symbol)
		return NULL;
	tail = symbol__new(symbol->frame_count ? 1 : 0);
	if (!tail)
		return NULL;
	tail->module = symbolize__dup(symbol->module);
	tail->module_offset = symbol->module_offset;
	tail->module_start = symbol->module_start;
	tail->module_end = symbol->module_end;
	tail->build_id = symbolize__dup(symbol->build_id);
	tail->function_entry = symbol->function_entry;
	tail->frame_count = symbol->frame_count ? 1 : 0;
	if (symbol->frame_count) {
		inner = &symbol->frames[0];
		outer = &symbol->frames[symbol->frame_count - 1];
		tail->frames[0] = (struct symbol_frame){
			.function = symbolize__dup(outer->function),
			.system_name = symbolize__dup(outer->system_name),
			.file = symbolize__dup(inner->file),
			.line = inner->line,
			.function_offset = outer->function_offset,
			.pc = lookup_pc,
			.tail_call = true,
		};
	}
	if (u64map__put(&proc->tail_symbols, cache_key(lookup_pc), tail)) {
		symbol__put(tail);
		return NULL;
	}
	return tail;
}
