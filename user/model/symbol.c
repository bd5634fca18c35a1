// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* Reference-counted symbols (symbol.h). */
#include <stdlib.h>
#include "model/symbol.h"

struct symbol *symbol__new(int frame_count)
{
	struct symbol *symbol = calloc(1, sizeof(*symbol) + frame_count * sizeof(symbol->frames[0]));

	if (symbol)
		symbol->refs = 1;
	return symbol;
}

const struct symbol *symbol__get(const struct symbol *symbol)
{
	__atomic_add_fetch(&((struct symbol *)symbol)->refs, 1, __ATOMIC_RELAXED);
	return symbol;
}

void symbol__put(const struct symbol *symbol)
{
	struct symbol *mutable = (struct symbol *)symbol;

	if (!symbol || __atomic_sub_fetch(&mutable->refs, 1, __ATOMIC_ACQ_REL))
		return;
	for (int i = 0; i < mutable->frame_count; i++) {
		free(mutable->frames[i].function);
		free(mutable->frames[i].system_name);
		free(mutable->frames[i].file);
	}
	free(mutable->module);
	free(mutable->build_id);
	free(mutable);
}

void symbol__put_value(void *symbol)
{
	symbol__put(symbol);
}

const char *symbol__function(const struct symbol *symbol)
{
	return symbol && symbol->frame_count ? symbol->frames[symbol->frame_count - 1].function :
					       NULL;
}
