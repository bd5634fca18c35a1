#!/bin/sh
# Seeds cut from binaries the build makes (too big to keep in git):
# make_seeds.sh OUTDIR BINARY...  For fuzz_elf, each binary stripped and
# given a .gnu_debuglink, and a Go one's DWARF alone and its .symtab; for
# fuzz_pclntab (and fuzz_goroutines' unwinding), a Go binary's .gopclntab.
set -eu
out=$1
shift
mkdir -p "$out/elf" "$out/pclntab"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for bin in "$@"; do
	name=$(basename "$bin")
	sections=$(objdump -h "$bin")
	if echo "$sections" | grep -q ' \.z\?debug_info '; then
		objcopy --only-keep-debug "$bin" "$tmp/$name.debug"
		objcopy --strip-all --add-gnu-debuglink="$tmp/$name.debug" "$bin" "$out/elf/$name"
		# a Go program's DWARF alone (runtime.g's layout), and with its
		# .symtab (where the runtime's variables are found first)
		if echo "$sections" | grep -q ' \.gopclntab '; then
			cp "$tmp/$name.debug" "$out/elf/$name.debug"
			objcopy --strip-debug "$bin" "$out/elf/$name.symtab"
		fi
	else
		strip -o "$out/elf/$name" "$bin"
	fi
	if echo "$sections" | grep -q ' \.gopclntab '; then
		objcopy -O binary --only-section=.gopclntab "$bin" "$out/pclntab/$name"
	fi
done
