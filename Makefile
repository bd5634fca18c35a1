# parkwatch — build, test and demo.  `make help` lists the targets.
# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)

CC       ?= cc
# the tests run on Debian's own interpreter, which has the Debian modules they use
PYTHON   ?= /usr/bin/python3
CLANG    ?= clang
BPFTOOL  ?= bpftool
ARCH     := x86
BUILD    := build
VERSION  := 0.1.0

CFLAGS   ?= -g -O2
# override: a CFLAGS or CPPFLAGS on make's command line (make CFLAGS=-O0)
# replaces the defaults, never the flags the code needs
override CFLAGS += -Wall -Wextra -std=gnu11 -D_GNU_SOURCE -DPARKWATCH_VERSION='"$(VERSION)"' \
	$(if $(WERROR),-Werror)
# SANITIZE=1 builds with AddressSanitizer and UndefinedBehaviorSanitizer, any
# report fatal, into OBJ=$(BUILD)/sanitize: its objects, archives, unit tests
# and binary never mix with the normal build's (generated headers and test
# targets are shared: they don't depend on it)
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
override CFLAGS += $(if $(SANITIZE),$(SAN_FLAGS))
# FUZZ=1 builds the tree with clang for libFuzzer (tests/fuzz/), ASan and
# UBSan, into OBJ=$(BUILD)/fuzz: `make fuzz` is the way in
FUZZ_FLAGS := -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer
ifneq ($(FUZZ),)
override CC := $(CLANG)
override CFLAGS += $(FUZZ_FLAGS)
endif
OBJ      := $(BUILD)$(if $(SANITIZE),/sanitize)$(if $(FUZZ),/fuzz)
# -MMD -MP: each object's real header dependencies, in a .d file beside it
DEPFLAGS := -MMD -MP
override CPPFLAGS += -I$(BUILD) -Ibpf -Iuser
LDLIBS   := -lbpf -lelf -ldw -liberty -lz -lprotobuf-c -lmicrohttpd -lcap-ng -lseccomp -lpthread
# -mcpu=v3: atomic OR (the changed-process bitmap); kernels since 5.12 have it
BPF_CFLAGS := -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) -Ivmlinux -Ibpf -I$(BUILD) -Wall -Wno-unused-function \
	$(if $(WERROR),-Werror)

# V=1 prints every command
Q := $(if $(V),,@)
define say
	$(if $(V),,@printf '  %-8s %s\n' '$(1)' '$(2)')
endef

# Debian packages the build, the tests, the demo and the benchmarks need.
DEB_PACKAGES := make gcc g++ clang llvm bpftool libbpf-dev libelf-dev libdw-dev libiberty-dev zlib1g-dev \
	pkg-config libcmocka-dev protobuf-c-compiler libprotobuf-c-dev libmicrohttpd-dev libcap-ng-dev libseccomp-dev libcapstone-dev golang-go prometheus python3 gdb libc6-dbg redis-server redis-tools \
	libbpf-tools linux-perf procps python3-jsonschema iproute2 time
# libFuzzer and the sanitizers' runtimes for $(CLANG) (clang 14 on Debian 12): make fuzz
DEB_PACKAGES += libclang-rt-14-dev
# make static's archives beyond the build's (liblzma.a, libbz2.a; GnuTLS's
# headers for tools/static/notls.c), and what test_ship.py checks the shipped
# files with: mandoc and man for the page, bash-completion, systemd-analyze
# for the unit, dpkg-shlibdeps for make deb
DEB_PACKAGES += liblzma-dev libbz2-dev libgnutls28-dev mandoc man-db bash-completion systemd dpkg-dev
# real programs nobody here wrote, for the acceptance tests (test_realprogs.py)
DEB_PACKAGES += nginx default-jdk-headless
# the live view driven as a user would, in a terminal (test_live_view.py)
DEB_PACKAGES += tmux

# user/ in layers, lowest first: a folder may include from its own and the
# ones below it (tools/check_layers.py says exactly which)
USER_DIRS := util model kernel proc go collect trend out serve cli
# every bpf/*.bpf.c is compiled on its own, then all are linked into one BPF
# object and one skeleton: a map or setting the programs share exists once
BPF_SRCS  := $(wildcard bpf/*.bpf.c)
BPF_OBJS  := $(patsubst bpf/%.bpf.c,$(BUILD)/bpf/%.bpf.o,$(BPF_SRCS))
SKEL      := $(BUILD)/parkwatch.skel.h
GEN_HDRS  := $(SKEL) $(BUILD)/syscall_names.h $(BUILD)/syscall_nrs.h $(BUILD)/profile.pb-c.h
dir_srcs   = $(wildcard user/$(1)/*.c)
dir_objs   = $(patsubst user/%.c,$(OBJ)/user/%.o,$(call dir_srcs,$(1)))
USER_OBJS := $(foreach d,$(USER_DIRS),$(call dir_objs,$(d))) $(OBJ)/user/out/profile.pb-c.o
MAIN_OBJ  := $(OBJ)/user/main.o
LIBS      := $(foreach d,$(USER_DIRS),$(OBJ)/lib/libpw_$(d).a)

UNIT_SRCS := $(wildcard tests/unit/*/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(OBJ)/unit/%,$(UNIT_SRCS))
SUPPORT_SRCS := $(wildcard tests/unit/support/*.c)
SUPPORT_LIB  := $(OBJ)/lib/libpw_test_support.a
TARGET_SRCS := $(wildcard tests/targets/*.c)
TARGET_CXX_SRCS := $(wildcard tests/targets/*.cpp)
TARGET_BINS := $(patsubst tests/targets/%.c,$(BUILD)/targets/%,$(TARGET_SRCS)) \
	$(patsubst tests/targets/%.cpp,$(BUILD)/targets/%,$(TARGET_CXX_SRCS))
# shared libraries the targets dlopen: tests/targets/lib/NAME.c, built as
# build/targets/lib/NAME.so
TARGET_LIB_SRCS := $(wildcard tests/targets/lib/*.c)
TARGET_LIBS  := $(patsubst tests/targets/lib/%.c,$(BUILD)/targets/lib/%.so,$(TARGET_LIB_SRCS))
# Java targets: tests/targets/java/NAME.java, compiled by javac (make deps
# installs default-jdk-headless) into build/targets/java/NAME.class
JAVA_SRCS    := $(wildcard tests/targets/java/*.java)
JAVA_CLASSES := $(patsubst tests/targets/java/%.java,$(BUILD)/targets/java/%.class,$(JAVA_SRCS))
JAVAC        ?= javac
# Go targets, one per directory of tests/targets/go/, built by every Go
# release below in every flavour, as build/targets/go/RELEASE/NAME[-FLAVOUR]:
# the rules further down are the only place a Go target is built.
# 1.19 is bookworm's golang-go (make deps); the others are Debian's
# golang-1.X-go and -src (bookworm-backports, trixie, trixie-backports),
# fetched by tools/go_toolchains.sh into GO_TOOLCHAINS and never installed.
GO_SRCS       := $(wildcard tests/targets/go/*/*.go)
GO_NAMES      := $(sort $(notdir $(patsubst %/,%,$(dir $(GO_SRCS)))))
# make test builds with one job per CPU: the Go matrix is most of its time
JOBS          ?= $(shell nproc)
GO_RELEASES   := 1.19 1.21 1.22 1.23 1.24 1.25 1.26 1.27
GO_TOOLCHAINS ?= $(HOME)/.cache/parkwatch/go
GO_1.19       ?= /usr/lib/go-1.19/bin/go
GO_FETCHED    := $(filter-out 1.19,$(GO_RELEASES))
go_of          = $(or $(GO_$(1)),$(GO_TOOLCHAINS)/go$(1)/usr/lib/go-$(1)/bin/go)
# GOPATH mode with every cache under build/ (go_env CACHE,CGO: the build
# cache's name, 0 or 1): no network, no module files, nothing read from or
# written to $HOME
go_env         = GO111MODULE=off GOFLAGS=-buildvcs=false GOCACHE=$(abspath $(BUILD))/$(1) \
	GOPATH=$(abspath $(BUILD))/gopath GOENV=off GOTOOLCHAIN=local GOPROXY=off CGO_ENABLED=$(2) \
	HOME=$(abspath $(BUILD))
# flavour suffix -> what it adds to `go build`: none, DWARF left out, DWARF
# and the symbol table left out (the usual production flags), PIE, and cgo
# (a C toolchain linked in, libc's threads, goroutines in C calls).
# GO_FLAVOURS are the release matrix's (test_go_matrix.py reads the line);
# GO_MORE_FLAVOURS are built only where a test asks for them.
GO_FLAVOURS      := dwarf nodwarf stripped pie cgo
GO_MORE_FLAVOURS := stripped-pie
go_suffix      = $(if $(filter dwarf,$(1)),,-$(1))
GO_FLAGS_dwarf    :=
GO_FLAGS_nodwarf  := -ldflags=-w
GO_FLAGS_stripped := -ldflags='-s -w'
GO_FLAGS_pie      := -buildmode=pie
GO_FLAGS_stripped-pie := -ldflags='-s -w' -buildmode=pie
GO_FLAGS_cgo      :=
GO_CGO_cgo        := 1
# go_bins RELEASES,NAMES,FLAVOURS: their paths
go_bin         = $(BUILD)/targets/go/$(1)/$(2)$(call go_suffix,$(3))
go_bins        = $(foreach r,$(1),$(foreach n,$(2),$(foreach f,$(3),$(call go_bin,$(r),$(n),$(f)))))
# what `make targets` builds, with the system's Go alone: the binaries the
# unit tests (tests/unit/support/gotargets.h), test_go.py and tools/bench
# read
GO_TARGET_BINS := $(call go_bins,1.19,leaky insyscall,dwarf nodwarf pie stripped)
# what `make go-matrix` builds for every release: shapes in every flavour
# of the matrix (test_go_matrix.py), leaky as test_go_stripped.py reads it.
# The other binaries build on demand (make build/targets/go/1.23/leaky-nodwarf,
# as test_go.py and tools/bench/go_releases.sh do).
GO_MATRIX_BINS := $(call go_bins,$(GO_RELEASES),shapes,$(GO_FLAVOURS)) \
	$(call go_bins,$(GO_RELEASES),leaky,dwarf pie stripped stripped-pie)

.DELETE_ON_ERROR:
.SECONDARY:
.PHONY: all vmlinux static install uninstall deb deps test check check-cflags unit unit-sanitize fuzz fuzz-build integration demo bench clean help go-matrix go-toolchains

all: parkwatch targets

help:
	@echo "make deps         install missing Debian packages (apt-get, as root)"
	@echo "make              build ./parkwatch and the test targets"
	@echo "make check        layer check and a -Werror build"
	@echo "make test         deps + check + unit and integration tests (root)"
	@echo "make unit         the cmocka unit tests only (no root)"
	@echo "make unit-sanitize  the unit tests under ASan+UBSan, built in $(BUILD)/sanitize"
	@echo "make fuzz         every fuzz target (tests/fuzz/) for FUZZ_SECONDS=$(FUZZ_SECONDS) each,"
	@echo "                  FUZZ_JOBS at a time: a crash fails it (clang, libFuzzer)"
	@echo "make demo         deps + build + watch a leaking program grow"
	@echo "make bench        overhead benchmarks (tools/bench; BENCH=\"scaling\" runs only those)"
	@echo "make go-matrix    the Go targets of every release in GO_RELEASES (fetches"
	@echo "                  Debian's toolchains into GO_TOOLCHAINS=$(GO_TOOLCHAINS))"
	@echo "make vmlinux      regenerate the committed vmlinux/vmlinux.h from this kernel's BTF"
	@echo "make static       $(BUILD)/static/parkwatch, statically linked (no TLS)"
	@echo "make install      parkwatch, its man page, bash completion, systemd unit and"
	@echo "                  examples under DESTDIR PREFIX=$(PREFIX); make uninstall removes them"
	@echo "make deb          $(DEB), the files of make install under /usr"
	@echo "make clean        remove build products"
	@echo "V=1 shows every command; WERROR=1 makes warnings errors"

# tools/deps.sh installs what is missing without starting any service
deps:
	@tools/deps.sh $(DEB_PACKAGES)

# vmlinux/vmlinux.h is committed: with CO-RE, libbpf relocates every field
# the BPF side reads to the running kernel's BTF, so one header serves every
# kernel and building needs no BTF (running does). `make vmlinux` regenerates
# it from this machine's kernel, for a type or field the header lacks.
vmlinux:
	@test -r /sys/kernel/btf/vmlinux || { echo "parkwatch: no kernel BTF at /sys/kernel/btf/vmlinux (a kernel built with CONFIG_DEBUG_INFO_BTF=y is required)" >&2; exit 1; }
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > vmlinux/vmlinux.h.tmp && \
		mv vmlinux/vmlinux.h.tmp vmlinux/vmlinux.h

$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c $(wildcard bpf/*.h) vmlinux/vmlinux.h $(BUILD)/syscall_nrs.h
	@mkdir -p $(@D)
	$(call say,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

# the static linker resolves snapshot.bpf.c's externs to park_tracker.bpf.c's
# definitions
$(BUILD)/parkwatch.bpf.o: $(BPF_OBJS)
	$(call say,BPFLINK,$@)
	$(Q)$(BPFTOOL) gen object $@ $^

$(SKEL): $(BUILD)/parkwatch.bpf.o
	$(call say,GEN,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name parkwatch_bpf > $@.tmp && mv $@.tmp $@

# syscall names for the dumps and numbers for the BPF side and the
# classifier, from the kernel headers rather than hand tables
SYSCALLS_H := /usr/include/x86_64-linux-gnu/asm/unistd_64.h
$(BUILD)/syscall_names.h: $(SYSCALLS_H)
	@mkdir -p $(@D)
	$(call say,GEN,$@)
	$(Q)awk '/^#define __NR_/ { sub("__NR_", "", $$2); printf "\t[%s] = \"%s\",\n", $$3, $$2 }' $< > $@

$(BUILD)/syscall_nrs.h: $(SYSCALLS_H)
	@mkdir -p $(@D)
	$(call say,GEN,$@)
	$(Q)awk 'BEGIN { print "/* generated from $< by the Makefile */" } \
		/^#define __NR_/ { sub("__NR_", "", $$2); printf "#define PW_NR_%s %s\n", $$2, $$3 }' $< > $@

# pprof's messages, generated by protobuf-c from our own .proto; a grouped
# target, so protoc-c runs once for both files
$(BUILD)/profile.pb-c.c $(BUILD)/profile.pb-c.h &: user/out/profile.proto
	@mkdir -p $(BUILD)
	$(call say,PROTOC,$<)
	$(Q)protoc-c --proto_path=user/out --c_out=$(BUILD) $<

$(OBJ)/user/out/profile.pb-c.o: $(BUILD)/profile.pb-c.c
	@mkdir -p $(@D)
	$(call say,CC,$@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(DEPFLAGS) -Wno-unused-parameter -c $< -o $@

# Generated headers are order-only: the .d files say which object really
# includes which of them.
$(OBJ)/user/%.o: user/%.c | $(GEN_HDRS)
	@mkdir -p $(@D)
	$(call say,CC,$@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(DEPFLAGS) -c $< -o $@

# one archive per layer: a unit test links its own layer and the ones below
define layer_lib
$(OBJ)/lib/libpw_$(1).a: $(call dir_objs,$(1)) $(if $(filter out,$(1)),$(OBJ)/user/out/profile.pb-c.o)
	@mkdir -p $$(@D)
	$$(call say,AR,$$@)
	$(Q)rm -f $$@ && $(AR) rcs $$@ $$^
endef
$(foreach d,$(USER_DIRS),$(eval $(call layer_lib,$(d))))

# SANITIZE=1 links $(OBJ)/parkwatch, never ./parkwatch
PARKWATCH := $(if $(SANITIZE),$(OBJ)/parkwatch,parkwatch)
ifneq ($(SANITIZE),)
.PHONY: parkwatch
parkwatch: $(PARKWATCH)
endif
$(PARKWATCH): $(MAIN_OBJ) $(USER_OBJS)
	$(call say,LD,$@)
	$(Q)$(CC) $(CFLAGS) $^ $(LDLIBS) -o $@

# make static: one statically linked binary, $(BUILD)/static/parkwatch, of
# the same objects and Debian's .a files, that needs nothing at run time but
# the kernel (it runs in an empty chroot; libelf again after libdw, and the
# compressors libdw reads with). Two differences: capstone is
# linked in rather than loaded (gocode.c, rebuilt with
# PARKWATCH_CAPSTONE_LINKED), and there is no TLS: Debian has no static
# p11-kit for GnuTLS, so tools/static/notls.c stands in for the GnuTLS calls
# of libmicrohttpd, and --http-tls-cert says so. glibc's linker warnings
# about getpwnam_r and getaddrinfo are expected: without /etc/passwd --user
# takes a uid, and --http an address in digits.
STATIC_DIR    := $(BUILD)/static
STATIC_OBJS   := $(filter-out $(OBJ)/user/go/gocode.o,$(MAIN_OBJ) $(USER_OBJS)) \
	$(STATIC_DIR)/gocode.o $(STATIC_DIR)/notls.o
STATIC_LDLIBS := $(LDLIBS) -lcapstone -lelf -lbz2 -llzma -lz

$(STATIC_DIR)/gocode.o: user/go/gocode.c | $(GEN_HDRS)
	@mkdir -p $(@D)
	$(call say,CC,$@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(DEPFLAGS) -DPARKWATCH_CAPSTONE_LINKED -c $< -o $@

$(STATIC_DIR)/notls.o: tools/static/notls.c
	@mkdir -p $(@D)
	$(call say,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(DEPFLAGS) -c $< -o $@

$(STATIC_DIR)/parkwatch: $(STATIC_OBJS)
	$(call say,LD,$@)
	$(Q)$(CC) $(CFLAGS) -static $^ $(STATIC_LDLIBS) -o $@

static: $(STATIC_DIR)/parkwatch

targets: $(TARGET_BINS) $(TARGET_LIBS)
ifneq ($(shell command -v $(JAVAC)),)
targets: $(JAVA_CLASSES)
endif
ifneq ($(wildcard $(GO_1.19)),)
targets: $(GO_TARGET_BINS)
# test_goroutines, test_govars, test_gounwind, test_pclntab, ... read them
unit: $(GO_TARGET_BINS)
endif

$(BUILD)/targets/%: tests/targets/%.c $(wildcard tests/targets/*.h)
	@mkdir -p $(@D)
	$(call say,CC,$@)
	$(Q)$(CC) -g -O2 -Wall -Wextra -pthread $< -o $@

$(BUILD)/targets/lib/%.so: tests/targets/lib/%.c
	@mkdir -p $(@D)
	$(call say,CC,$@)
	$(Q)$(CC) -g -O2 -Wall -Wextra -fPIC -shared $< -o $@

# C++ targets, built as g++ users build them
$(BUILD)/targets/%: tests/targets/%.cpp $(wildcard tests/targets/*.h)
	@mkdir -p $(@D)
	$(call say,CXX,$@)
	$(Q)$(CXX) -g -O2 -Wall -Wextra -pthread $< -o $@

$(BUILD)/targets/java/%.class: tests/targets/java/%.java
	@mkdir -p $(@D)
	$(call say,JAVAC,$@)
	$(Q)$(JAVAC) -d $(@D) $<

# The toolchains the matrix needs, fetched all at once (one apt-get update)
# when one is missing; tools/go_toolchains.sh skips those already there.
# No root needed: apt-get runs with a private configuration under
# GO_TOOLCHAINS.
$(foreach r,$(GO_FETCHED),$(call go_of,$(r))) &:
	$(call say,FETCH,Go $(GO_FETCHED) into $(GO_TOOLCHAINS))
	$(Q)tools/go_toolchains.sh $(GO_TOOLCHAINS) $(GO_FETCHED)

$(GO_1.19):
	@echo "parkwatch: no Go 1.19 at $@ (make deps installs golang-go)" >&2; exit 1

go-toolchains: $(foreach r,$(GO_RELEASES),$(call go_of,$(r)))

# build/targets/go/RELEASE/NAME[-FLAVOUR]: one rule per binary, each with its
# own package's sources and its release's go as prerequisites; one build
# cache per release.  So that make -j doesn't compile the same packages
# twice at once, a flavour that reuses another's packages waits for it
# (GO_AFTER_*: the linker flags of nodwarf and stripped change no package,
# cgo reuses the plain build's but those with C in them and their users,
# stripped-pie reuses pie's), and the plain and PIE builds of every target
# wait for leaky's (GO_LEAD: built for every release by go-matrix, and for
# 1.19 by targets; its packages include the others').
GO_AFTER_nodwarf      := dwarf
GO_AFTER_stripped     := dwarf
GO_AFTER_cgo          := dwarf
GO_AFTER_stripped-pie := pie
GO_LEAD               := leaky
go_wait = $(if $(GO_AFTER_$(3)),$(call go_bin,$(1),$(2),$(GO_AFTER_$(3))),\
	$(if $(filter-out $(GO_LEAD),$(2)),$(call go_bin,$(1),$(GO_LEAD),$(3))))
define go_rule
$(call go_bin,$(1),$(2),$(3)): $(wildcard tests/targets/go/$(2)/*.go) $(call go_of,$(1)) \
		| $(call go_wait,$(1),$(2),$(3))
	@mkdir -p $$(@D)
	$$(call say,GO,$$@)
	$(Q)$(call go_env,gocache-$(1),$(or $(GO_CGO_$(3)),0)) \
		$(call go_of,$(1)) build $(GO_FLAGS_$(3)) -o $$@ ./tests/targets/go/$(2)
endef
$(foreach r,$(GO_RELEASES),$(foreach n,$(GO_NAMES),$(foreach f,$(GO_FLAVOURS) $(GO_MORE_FLAVOURS),\
	$(eval $(call go_rule,$(r),$(n),$(f))))))

go-matrix: $(GO_MATRIX_BINS)

# make install: the binary and dist/'s files under $(DESTDIR)$(PREFIX).
# INSTALLED is the one list of what install puts, DEST:SOURCE:MODE (DEST
# under $(DESTDIR)), and uninstall removes exactly those; dist/prometheus/
# and dist/grafana/ go in whole, whatever they hold.
PREFIX        ?= /usr/local
SBINDIR       := $(PREFIX)/sbin
MAN8DIR       := $(PREFIX)/share/man/man8
COMPLETIONDIR := $(PREFIX)/share/bash-completion/completions
UNITDIR       := $(PREFIX)/lib/systemd/system
DATADIR       := $(PREFIX)/share/parkwatch
DIST_DATA     := $(wildcard dist/prometheus/* dist/grafana/*)
# the unit names the binary where this PREFIX puts it
UNIT          := $(BUILD)/dist/$(subst /,_,$(SBINDIR))/parkwatch.service
INSTALLED     := $(SBINDIR)/parkwatch:parkwatch:0755 \
	$(MAN8DIR)/parkwatch.8:dist/parkwatch.8:0644 \
	$(COMPLETIONDIR)/parkwatch:dist/parkwatch.bash:0644 \
	$(UNITDIR)/parkwatch.service:$(UNIT):0644 \
	$(foreach f,$(DIST_DATA),$(DATADIR)/$(f:dist/%=%):$(f):0644)
installed_field = $(word $(2),$(subst :, ,$(1)))

$(UNIT): dist/parkwatch.service
	@mkdir -p $(@D)
	$(Q)sed 's|@SBINDIR@|$(SBINDIR)|g' $< > $@

install: parkwatch $(UNIT)
	$(call say,INSTALL,$(DESTDIR)$(PREFIX))
	$(Q)$(foreach e,$(INSTALLED),install -D -m $(call installed_field,$(e),3) \
		$(call installed_field,$(e),2) '$(DESTDIR)$(call installed_field,$(e),1)' &&) true

# The files, then the directories they leave empty: parkwatch's own always,
# and with a DESTDIR (a staging tree) every one up to DESTDIR.
uninstall:
	$(Q)rm -f $(foreach e,$(INSTALLED),'$(DESTDIR)$(call installed_field,$(e),1)')
	$(Q)for dir in '$(DESTDIR)$(DATADIR)/prometheus' '$(DESTDIR)$(DATADIR)/grafana' \
		'$(DESTDIR)$(DATADIR)' $(if $(DESTDIR),$(foreach e,$(INSTALLED),\
		'$(DESTDIR)$(dir $(call installed_field,$(e),1))')); do \
		while [ "$$dir" != '$(patsubst %/,%,$(DESTDIR))' ] && [ "$$dir" != / ] && \
			rmdir "$$dir" 2>/dev/null; do dir=$$(dirname "$$dir"); done; \
	done

# make deb: build/parkwatch_VERSION_ARCH.deb, with the files of make install
# under /usr (tools/deb.sh)
DEB := $(BUILD)/parkwatch_$(VERSION)_$(shell dpkg --print-architecture).deb
deb: $(DEB)

$(DEB): parkwatch dist/parkwatch.service dist/parkwatch.8 dist/parkwatch.bash $(DIST_DATA) tools/deb.sh
	$(call say,DEB,$@)
	$(Q)rm -rf $(BUILD)/deb
	$(Q)$(MAKE) --no-print-directory install PREFIX=/usr DESTDIR=$(abspath $(BUILD))/deb/root
	$(Q)tools/deb.sh $(BUILD)/deb/root $(VERSION) $@

# Unit tests: tests/unit/DIR/test_X.c links the archives of DIR and of the
# layers below it (highest first, as the linker wants them), plus support/:
# a call up the layers is a link error.
below :=
$(foreach d,$(USER_DIRS),$(eval LAYERS_$(d) := $(d) $(below))$(eval below := $(LAYERS_$(d))))
unit_libs = $(foreach d,$(LAYERS_$(1)),$(OBJ)/lib/libpw_$(d).a)

$(OBJ)/unit/%.o: tests/unit/%.c | $(GEN_HDRS)
	@mkdir -p $(@D)
	$(call say,CC,$@)
	$(Q)$(CC) $(CPPFLAGS) -Itests/unit $(CFLAGS) $(DEPFLAGS) -c $< -o $@

.SECONDEXPANSION:
$(SUPPORT_LIB): $(patsubst tests/unit/%.c,$(OBJ)/unit/%.o,$(SUPPORT_SRCS))
	@mkdir -p $(@D)
	$(call say,AR,$@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(OBJ)/unit/%: $(OBJ)/unit/%.o $(SUPPORT_LIB) $$(call unit_libs,$$(firstword $$(subst /, ,$$*)))
	$(call say,LD,$@)
	$(Q)$(CC) $(CFLAGS) $< $(SUPPORT_LIB) $(call unit_libs,$(firstword $(subst /, ,$*))) \
		$(LDLIBS) -lcmocka -o $@

check:
	$(Q)$(PYTHON) tools/check_layers.py user
	$(Q)$(MAKE) --no-print-directory WERROR=1 parkwatch
	$(Q)$(MAKE) --no-print-directory check-cflags

# `make CFLAGS=-O0 CPPFLAGS=...` still builds: one object (it needs the
# version, the include paths and gnu11) compiled that way, beside the others
check-cflags: | $(GEN_HDRS)
	$(Q)rm -f $(BUILD)/cflags-check/options.o
	$(Q)$(MAKE) --no-print-directory CFLAGS=-O0 CPPFLAGS=-DPW_CFLAGS_CHECK \
		$(BUILD)/cflags-check/options.o

$(BUILD)/cflags-check/%.o: user/cli/%.c | $(GEN_HDRS)
	@mkdir -p $(@D)
	$(call say,CC,$@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(DEPFLAGS) -c $< -o $@

unit: $(UNIT_BINS)
	@$(PYTHON) tests/run_all.py --unit-only $(UNIT_BINS)

# the unit tests under ASan+UBSan (SANITIZE=1 above): any report fails them
unit-sanitize:
	@$(MAKE) --no-print-directory SANITIZE=1 unit

# Fuzz targets: tests/fuzz/fuzz_NAME.c, one per parser of untrusted input,
# each linked with every layer's archive of the FUZZ=1 build.  Seeds are
# tests/fuzz/corpus/NAME/ and, generated from binaries the build makes,
# $(BUILD)/fuzz/seeds/NAME/; what the fuzzers find goes to
# $(BUILD)/fuzz/corpus/NAME/ and crashes to $(BUILD)/fuzz/crashes/NAME/.
FUZZ_SRCS    := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS    := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/bin/%,$(FUZZ_SRCS))
FUZZ_LIBS    := $(foreach d,$(LAYERS_cli),$(BUILD)/fuzz/lib/libpw_$(d).a)
FUZZ_SECONDS ?= 60
FUZZ_JOBS    ?= 1
# what the ELF and Go seeds are cut from (tests/fuzz/make_seeds.sh): a small
# C program, and the smallest Go one when the system has Go
FUZZ_SEED_BINS := $(BUILD)/targets/condwait \
	$(if $(wildcard $(GO_1.19)),$(call go_bin,1.19,insyscall,dwarf))

$(BUILD)/fuzz/bin/%: tests/fuzz/%.c $(wildcard tests/fuzz/*.h) $(FUZZ_LIBS) | $(GEN_HDRS)
	@test -n "$(FUZZ)" || { echo "parkwatch: fuzz targets build with FUZZ=1 (make fuzz)" >&2; exit 1; }
	@mkdir -p $(@D)
	$(call say,FUZZLD,$@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -fsanitize=fuzzer $< $(FUZZ_LIBS) $(LDLIBS) -o $@

# fuzz_goroutines' fake Go processes, laid out by the layouts golayout.c knows
$(BUILD)/fuzz/bin/make_go_images: tests/fuzz/make_go_images.c tests/fuzz/go_image.h $(FUZZ_LIBS) \
		| $(GEN_HDRS)
	@mkdir -p $(@D)
	$(call say,LD,$@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $< $(FUZZ_LIBS) $(LDLIBS) -o $@

$(BUILD)/fuzz/seeds/stamp: tests/fuzz/make_seeds.sh $(BUILD)/fuzz/bin/make_go_images $(FUZZ_SEED_BINS)
	$(call say,SEEDS,$(@D))
	$(Q)tests/fuzz/make_seeds.sh $(@D) $(FUZZ_SEED_BINS)
	$(Q)mkdir -p $(@D)/goroutines && $(BUILD)/fuzz/bin/make_go_images $(@D)/goroutines
	@touch $@

fuzz-build:
	@$(MAKE) --no-print-directory -s FUZZ=1 $(FUZZ_BINS) $(BUILD)/fuzz/seeds/stamp

# each fuzz target for FUZZ_SECONDS, FUZZ_JOBS at a time: a finding fails it
fuzz: fuzz-build
	@$(PYTHON) tests/fuzz/run.py --seconds $(FUZZ_SECONDS) --jobs $(FUZZ_JOBS) $(FUZZ_BINS)

integration: parkwatch targets go-matrix
	@$(PYTHON) tests/integration/run.py

# make test runs the unit tests twice, the second time under the sanitizers
# (about 35 s to build and 100 s to run on 2 cores), a subset of the
# integration tests again against $(BUILD)/sanitize/parkwatch (run.py
# --sanitized, about 2 min), and every fuzz target for FUZZ_TEST_SECONDS, so
# that they keep building and their seeds pass
FUZZ_TEST_SECONDS ?= 5
SAN_UNIT_BINS := $(if $(SANITIZE),,$(patsubst tests/unit/%.c,$(BUILD)/sanitize/unit/%,$(UNIT_SRCS)))

test: deps
	@$(PYTHON) tools/check_layers.py user
	@$(MAKE) --no-print-directory -j$(JOBS) WERROR=1 all $(UNIT_BINS) go-matrix
	@$(MAKE) --no-print-directory -j$(JOBS) WERROR=1 SANITIZE=1 $(SAN_UNIT_BINS) parkwatch
	@$(MAKE) --no-print-directory check-cflags
	@$(MAKE) --no-print-directory -j$(JOBS) FUZZ_SECONDS=$(FUZZ_TEST_SECONDS) FUZZ_JOBS=$(JOBS) fuzz
	@$(PYTHON) tests/run_all.py $(UNIT_BINS) $(SAN_UNIT_BINS)

demo: deps
	@$(MAKE) --no-print-directory parkwatch $(BUILD)/targets/leaky
	@tools/demo.sh

# BENCH="scaling daemon_cost": only those (tools/bench/run.sh NAME...)
bench: parkwatch targets
	@tools/bench/run.sh $(BENCH)

clean:
	rm -rf $(BUILD) parkwatch

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
