# parkwatch — build, test and demo.  `make help` lists the targets.
# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)

CC       ?= cc
CLANG    ?= clang
BPFTOOL  ?= bpftool
ARCH     := x86
BUILD    := build
VERSION  := 0.1.0

CFLAGS   ?= -g -O2
CFLAGS   += -Wall -Wextra -std=gnu11 -D_GNU_SOURCE -DPARKWATCH_VERSION='"$(VERSION)"'
CPPFLAGS += -I$(BUILD) -Ibpf -Iuser
LDLIBS   := -lbpf -lelf -ldw -lz -lpthread
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Ivmlinux -Ibpf -Wall -Wno-unused-function

# Debian packages the build, the tests, the demo and the benchmarks need.
DEB_PACKAGES := make gcc clang llvm bpftool libbpf-dev libelf-dev libdw-dev zlib1g-dev \
	pkg-config libcmocka-dev python3 gdb libc6-dbg redis-server redis-tools \
	libbpf-tools linux-perf procps

BPF_SRCS  := $(wildcard bpf/*.bpf.c)
BPF_OBJS  := $(patsubst bpf/%.bpf.c,$(BUILD)/%.bpf.o,$(BPF_SRCS))
SKELS     := $(patsubst bpf/%.bpf.c,$(BUILD)/%.skel.h,$(BPF_SRCS))
LIB_SRCS  := $(filter-out user/parkwatch.c,$(wildcard user/*.c))
LIB_OBJS  := $(patsubst user/%.c,$(BUILD)/user/%.o,$(LIB_SRCS))
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/unit/%,$(UNIT_SRCS))
TARGET_SRCS := $(wildcard tests/targets/*.c)
TARGET_BINS := $(patsubst tests/targets/%.c,$(BUILD)/targets/%,$(TARGET_SRCS))

.SECONDARY:
.PHONY: all deps test unit integration demo bench clean help

all: parkwatch targets

help:
	@echo "make deps         install missing Debian packages (apt-get, as root)"
	@echo "make              build ./parkwatch and the test targets"
	@echo "make test         deps + build + unit and integration tests (root)"
	@echo "make demo         deps + build + watch a leaking program grow"
	@echo "make bench        overhead benchmarks (tools/bench)"
	@echo "make clean        remove build products"

deps:
	@missing=$$(for p in $(DEB_PACKAGES); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; \
	done); \
	if [ -n "$$missing" ]; then \
		echo "deps: installing $$missing"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -qq >/dev/null && \
		apt-get install -y -qq --no-install-recommends $$missing >/dev/null || \
		{ echo "deps: apt-get install failed (run as root with Debian's archive reachable)" >&2; exit 1; }; \
	fi

vmlinux/vmlinux.h:
	@test -r /sys/kernel/btf/vmlinux || { echo "parkwatch: no kernel BTF at /sys/kernel/btf/vmlinux (a kernel built with CONFIG_DEBUG_INFO_BTF=y is required)" >&2; exit 1; }
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@.tmp && mv $@.tmp $@

$(BUILD) $(BUILD)/user $(BUILD)/unit $(BUILD)/targets:
	mkdir -p $@

$(BUILD)/%.bpf.o: bpf/%.bpf.c bpf/park.h bpf/wait_ctx.bpf.h vmlinux/vmlinux.h | $(BUILD)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(BPFTOOL) gen skeleton $< > $@.tmp && mv $@.tmp $@

# syscall names for the dumps, from the kernel headers rather than a hand table
$(BUILD)/syscall_names.h: /usr/include/x86_64-linux-gnu/asm/unistd_64.h | $(BUILD)
	awk '/^#define __NR_/ { sub("__NR_", "", $$2); printf "\t[%s] = \"%s\",\n", $$3, $$2 }' $< > $@

$(BUILD)/user/%.o: user/%.c $(wildcard user/*.h) bpf/park.h $(SKELS) $(BUILD)/syscall_names.h | $(BUILD)/user
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

parkwatch: $(BUILD)/user/parkwatch.o $(LIB_OBJS)
	$(CC) $(CFLAGS) $^ $(LDLIBS) -o $@

targets: $(TARGET_BINS)

$(BUILD)/targets/%: tests/targets/%.c $(wildcard tests/targets/*.h) | $(BUILD)/targets
	$(CC) -g -O2 -Wall -Wextra -pthread $< -o $@

$(BUILD)/unit/%: tests/unit/%.c $(LIB_OBJS) | $(BUILD)/unit
	$(CC) $(CPPFLAGS) $(CFLAGS) $< $(LIB_OBJS) $(LDLIBS) -lcmocka -o $@

unit: $(UNIT_BINS)
	@python3 tests/run_all.py --unit-only $(UNIT_BINS)

integration: parkwatch targets
	@python3 tests/integration/run.py

test: deps
	@$(MAKE) --no-print-directory all $(UNIT_BINS)
	@python3 tests/run_all.py $(UNIT_BINS)

demo: deps
	@$(MAKE) --no-print-directory parkwatch $(BUILD)/targets/leaky
	@tools/demo.sh

bench: parkwatch targets
	@tools/bench/run.sh

clean:
	rm -rf $(BUILD) parkwatch vmlinux/vmlinux.h
