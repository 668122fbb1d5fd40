/*
 * status --watch (issue 13): the lines that changed since the last screen
 * are marked (reverse video, or "* " without color), and the interval is
 * checked.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "status.h"

static const char before[] =
	"patroni\n"
	" pg1  leader   running  tl 2\n"
	" pg2  replica  streaming  lag 0\n"
	" pg3  replica  streaming  lag 0\n";
/* a failover: pg2 leads, pg1 is gone, lag on pg3 */
static const char after[] =
	"patroni\n"
	" pg2  leader   running  tl 3\n"
	" pg3  replica  streaming  lag 0\n"
	" pg1  replica  stopped\n";

static void test_mark_plain(void **state)
{
	struct hp_buf b = HP_BUF_INIT;

	(void)state;
	hp_status_mark(&b, before, after, false);
	assert_string_equal(b.buf, "  patroni\n"
				   "*  pg2  leader   running  tl 3\n"
				   "   pg3  replica  streaming  lag 0\n"
				   "*  pg1  replica  stopped\n");
	hp_buf_release(&b);
}

static void test_mark_color(void **state)
{
	struct hp_buf b = HP_BUF_INIT;

	(void)state;
	hp_status_mark(&b, before, after, true);
	assert_string_equal(b.buf, "patroni\n"
				   "\033[7m pg2  leader   running  tl 3\033[0m\n"
				   " pg3  replica  streaming  lag 0\n"
				   "\033[7m pg1  replica  stopped\033[0m\n");
	hp_buf_release(&b);
}

/* the first screen, the same screen again, empty lines: nothing marked */
static void test_mark_nothing(void **state)
{
	struct hp_buf b = HP_BUF_INIT;

	(void)state;
	hp_status_mark(&b, NULL, before, true);
	assert_string_equal(b.buf, before);
	hp_buf_reset(&b);
	hp_status_mark(&b, before, before, true);
	assert_string_equal(b.buf, before);
	hp_buf_reset(&b);
	hp_status_mark(&b, "a\n", "a\n\nb", false);
	assert_string_equal(b.buf, "  a\n\n* b\n");
	hp_buf_release(&b);
}

static void test_seconds(void **state)
{
	static const char *const bad[] = {"0", "3601", "-1", "2s", "", " 2",
					  "99999999999999999999"};
	struct hp_err err;
	size_t i;

	(void)state;
	assert_int_equal(hp_status_watch_seconds("2", &err), 2);
	assert_int_equal(hp_status_watch_seconds("3600", &err), 3600);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(hp_status_watch_seconds(bad[i], &err),
				 HP_EINVALID);
		assert_non_null(strstr(err.msg, "1-3600"));
	}
	assert_int_equal(hp_status_watch_seconds(NULL, &err), HP_EINVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mark_plain),
		cmocka_unit_test(test_mark_color),
		cmocka_unit_test(test_mark_nothing),
		cmocka_unit_test(test_seconds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
