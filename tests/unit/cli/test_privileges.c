// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* Unit tests of --user's lookup (user/cli/privileges.c): a name from the
 * user database, else a uid in digits; anything else is no user.  The
 * oracle is the database itself (getpwnam). */
#include <errno.h>
#include <pwd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include "cli/privileges.h"

static void test_name_from_database(void **state)
{
	struct privileges privileges = { 0 };
	struct passwd *root = getpwnam("root");

	(void)state;
	assert_non_null(root);
	privileges.uid = privileges.gid = 4242;
	assert_int_equal(privileges__lookup("root", &privileges), 0);
	assert_int_equal(privileges.uid, root->pw_uid);
	assert_int_equal(privileges.gid, root->pw_gid);
}

static void test_uid_in_digits(void **state)
{
	struct privileges privileges = { 0 };

	(void)state;
	assert_null(getpwnam("54321"));
	assert_int_equal(privileges__lookup("54321", &privileges), 0);
	assert_int_equal(privileges.uid, 54321);
	assert_int_equal(privileges.gid, 54321);
}

static void test_not_a_user(void **state)
{
	static const char *const names[] = {
		"parkwatch-no-such-user", "123abc", "-1", "+5", " 5", "",
		"4294967295",   /* (uid_t)-1: "unchanged" to setresuid */
		"99999999999999999999",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct privileges privileges = { 0 };

		assert_null(getpwnam(names[i]));
		assert_int_equal(privileges__lookup(names[i], &privileges), -ENOENT);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name_from_database),
		cmocka_unit_test(test_uid_in_digits),
		cmocka_unit_test(test_not_a_user),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
