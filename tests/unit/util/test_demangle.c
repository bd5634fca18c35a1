// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* Unit tests of demangling (user/util/demangle.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "util/demangle.h"

static void check_demangled(const char *mangled, const char *expected)
{
	char *name = demangle__name(mangled);

	if (!name || strcmp(name, expected))
		print_message("demangle(%s) = %s (expected %s)\n", mangled, name ? name : "NULL",
			      expected);
	assert_non_null(name);
	assert_string_equal(name, expected);
	free(name);
}

static void check_kept(const char *name)
{
	char *demangled = demangle__name(name);

	if (demangled)
		print_message("demangle(%s) = %s (expected NULL)\n", name ? name : "(null)", demangled);
	assert_null(demangled);
}

static void test_cplus(void **state)
{
	(void)state;
	check_demangled("_ZN3svc6Worker3runERNS_7MailboxINS_5ReplyEEE",
			"svc::Worker::run(svc::Mailbox<svc::Reply>&)");
	check_demangled("_ZNSt18condition_variable4waitERSt11unique_lockISt5mutexE",
			"std::condition_variable::wait(std::unique_lock<std::mutex>&)");
	/* a lambda, and a template function without its return type */
	check_demangled("_ZZ4mainENKUlvE_clEv", "main::{lambda()#1}::operator()() const");
	check_demangled("_Z3maxIiET_S0_S0_", "max<int>(int, int)");
}

static void test_rust(void **state)
{
	(void)state;
	/* legacy: the hash is left out, as rustc's own backtraces leave it */
	check_demangled("_ZN4core3ptr13drop_in_place17h1234567890abcdefE", "core::ptr::drop_in_place");
	/* v0 */
	check_demangled("_RNvCs1234_7mycrate3foo", "mycrate::foo");
}

static void test_not_mangled(void **state)
{
	(void)state;
	check_kept(NULL);
	check_kept("");
	check_kept("read");
	check_kept("__GI___libc_read");
	/* Go's names are never mangled, whatever they look like */
	check_kept("main.main");
	check_kept("runtime.gopark");
	check_kept("main.(*Server).Serve");
	/* not a name the demangler reads */
	check_kept("_Zfoo");
	check_kept("_R");
	assert_false(demangle__is_mangled("main.main"));
	assert_true(demangle__is_mangled("_ZN3svc6Worker3runEv"));
}

static void test_long_name(void **state)
{
	size_t len = 8192;
	char *name = malloc(len + 1);

	(void)state;
	assert_non_null(name);
	/* _ZN then a long chain of 1a components: too long to try */
	strcpy(name, "_ZN");
	for (size_t i = 3; i + 3 < len; i += 2)
		memcpy(name + i, "1a", 2);
	strcpy(name + len - 3, "EvE");
	check_kept(name);
	free(name);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cplus),
		cmocka_unit_test(test_rust),
		cmocka_unit_test(test_not_mangled),
		cmocka_unit_test(test_long_name),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
