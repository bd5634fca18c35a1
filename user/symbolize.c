// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* User-space symbolization with libdwfl (symbolize.h). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include "symbolize.h"

#define SYMBOL_MAX_INLINE 16

struct frame_builder {
	int count;
	struct symbol_frame frames[SYMBOL_MAX_INLINE + 1];
};

static char *dup_or_null(const char *text)
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

/* Versioned ELF names (pthread_cond_wait@@GLIBC_2.3.2) read as the function. */
static char *function_name(const char *name)
{
	const char *at = name ? strchr(name, '@') : NULL;

	return at && at != name ? strndup(name, at - name) : dup_or_null(name);
}

static struct symbol_frame *builder_push(struct frame_builder *builder, const char *function,
					  const char *file, int line, bool inlined)
{
	struct symbol_frame *frame;

	if (builder->count > SYMBOL_MAX_INLINE)
		return NULL;
	frame = &builder->frames[builder->count++];
	frame->function = function_name(function);
	frame->file = dup_or_null(file);
	frame->line = line;
	frame->inlined = inlined;
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

/*
 * Walks the DWARF scopes around pc, innermost first: each inlined
 * subroutine is a frame whose caller continues at its call site; the
 * enclosing subprogram ends the chain.  Returns false when there is no
 * DWARF for pc.
 */
static bool add_inline_chain(Dwfl_Module *mod, __u64 pc, const char *elf_name,
			     const char *file, int line, struct frame_builder *builder)
{
	Dwarf_Die *scopes = NULL, *cu;
	char call_file[PATH_MAX];
	Dwarf_Addr bias;
	int scope_count;
	bool found_function = false;

	cu = dwfl_module_addrdie(mod, pc, &bias);
	if (!cu)
		return false;
	scope_count = dwarf_getscopes(cu, pc - bias, &scopes);
	for (int i = 0; i < scope_count && !found_function; i++) {
		Dwarf_Die *scope = &scopes[i];
		Dwarf_Attribute attr;
		Dwarf_Word call_line = 0;
		struct symbol_frame *frame;
		Dwarf_Addr entry;
		const char *name;

		switch (dwarf_tag(scope)) {
		case DW_TAG_inlined_subroutine:
			name = dwarf_diename(scope);
			if (!name && dwarf_attr_integrate(scope, DW_AT_name, &attr))
				name = dwarf_formstring(&attr);
			frame = builder_push(builder, name, file, line, true);
			if (frame && dwarf_entrypc(scope, &entry) == 0 && pc - bias >= entry)
				frame->function_offset = pc - bias - entry;
			file = call_site_file(cu, scope, call_file, sizeof(call_file));
			if (dwarf_attr(scope, DW_AT_call_line, &attr))
				dwarf_formudata(&attr, &call_line);
			line = (int)call_line;
			break;
		case DW_TAG_subprogram:
			name = elf_name;
			if (!name) {
				name = dwarf_diename(scope);
				if (!name && dwarf_attr_integrate(scope, DW_AT_name, &attr))
					name = dwarf_formstring(&attr);
			}
			builder_push(builder, name, file, line, false);
			found_function = true;
			break;
		default:
			break;
		}
	}
	/* libdw's scopes may stop at the CU after an inlined instance: the
	 * caller is then the function the ELF symbol names */
	if (!found_function && builder->count && elf_name) {
		builder_push(builder, elf_name, file, line, false);
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

static struct symbol *symbolize_uncached(Dwfl *dwfl, __u64 pc)
{
	struct frame_builder builder = { 0 };
	Dwfl_Module *mod = dwfl ? dwfl_addrmodule(dwfl, pc) : NULL;
	const char *mod_name = NULL, *main_file = NULL, *elf_name = NULL, *file = NULL;
	char file_buf[PATH_MAX];
	Dwarf_Addr mod_start = 0, mod_end = 0, bias = 0;
	struct symbol *symbol;
	GElf_Off offset = 0;
	GElf_Sym sym;
	int line = 0;

	if (mod) {
		Dwfl_Line *line_info;

		mod_name = dwfl_module_info(mod, NULL, &mod_start, &mod_end, NULL, NULL, &main_file,
					    NULL);
		dwfl_module_getelf(mod, &bias);
		elf_name = dwfl_module_addrinfo(mod, pc, &offset, &sym, NULL, NULL, NULL);
		line_info = dwfl_module_getsrc(mod, pc);
		if (line_info)
			file = absolute_path(dwfl_lineinfo(line_info, NULL, &line, NULL, NULL, NULL),
					     dwfl_line_comp_dir(line_info), file_buf, sizeof(file_buf));
		if (!add_inline_chain(mod, pc, elf_name, file, line, &builder) && elf_name)
			builder_push(&builder, elf_name, file, line, false);
	}

	symbol = calloc(1, sizeof(*symbol) + builder.count * sizeof(builder.frames[0]));
	if (!symbol) {
		for (int i = 0; i < builder.count; i++) {
			free(builder.frames[i].function);
			free(builder.frames[i].file);
		}
		return NULL;
	}
	if (mod) {
		symbol->module = dup_or_null(main_file ? main_file : mod_name);
		symbol->module_offset = pc - bias;
		symbol->module_start = mod_start;
		symbol->module_end = mod_end;
		symbol->build_id = build_id_hex(mod);
	} else {
		symbol->module_offset = pc;
	}
	symbol->frame_count = builder.count;
	memcpy(symbol->frames, builder.frames, builder.count * sizeof(builder.frames[0]));
	if (builder.count)
		symbol->frames[builder.count - 1].function_offset = offset;
	return symbol;
}

const struct symbol *symbolize__user(struct proc *proc, __u64 lookup_pc)
{
	/* first: a changed process drops its cache here, before any lookup */
	Dwfl *dwfl = proc__dwfl(proc);
	struct symbol *symbol = u64map__get(&proc->symbols, lookup_pc);

	if (symbol)
		return symbol;
	symbol = symbolize_uncached(dwfl, lookup_pc);
	if (symbol && u64map__put(&proc->symbols, lookup_pc, symbol)) {
		symbol__free(symbol);
		return NULL;
	}
	return symbol;
}

void symbol__free(struct symbol *symbol)
{
	if (!symbol)
		return;
	for (int i = 0; i < symbol->frame_count; i++) {
		free(symbol->frames[i].function);
		free(symbol->frames[i].file);
	}
	free(symbol->module);
	free(symbol->build_id);
	free(symbol);
}
