/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * Where the unit tests find the Go targets: the builds of Go 1.19 (the
 * system's golang-go), build/targets/go/1.19/NAME[-FLAVOUR], which
 * `make targets` and `make unit` build (the Makefile's GO_TARGET_BINS).
 */
#ifndef PARKWATCH_TESTS_GOTARGETS_H
#define PARKWATCH_TESTS_GOTARGETS_H

#define GO_TARGETS "build/targets/go/1.19/"

#endif /* PARKWATCH_TESTS_GOTARGETS_H */
