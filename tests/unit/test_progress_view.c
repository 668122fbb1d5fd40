/*
 * The live view (issue 13): the block's lines (cut to the terminal's
 * width, at most half its height), its erase sequence, and a whole view
 * on a pseudo-terminal: the lines written to stderr while it runs reach
 * the terminal whole, the block is drawn below them, and stopping takes
 * it away and gives stderr back.
 */
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "progress_view.h"

static void test_block(void **state)
{
	const struct hp_view_line l[] = {
		{"pg1", "patroni", "file /etc/patroni/config.yml", 1000},
		{"pg2", "", "", 0},
	};
	struct hp_buf b = HP_BUF_INIT;

	(void)state;
	assert_int_equal(hp_view_block(&b, l, 2, 3500, 200, 40, false), 2);
	assert_string_equal(b.buf,
			    "  pg1      patroni    file /etc/patroni/config.yml"
			    "               2.5s\033[K\n"
			    "  pg2      -          connecting"
			    "                                 0.0s\033[K\n");
	hp_buf_reset(&b);
	/* a narrow terminal: cut to width - 1, never wrapped */
	assert_int_equal(hp_view_block(&b, l, 1, 3500, 20, 40, false), 1);
	assert_string_equal(b.buf, "  pg1      patroni \033[K\n");
	hp_buf_reset(&b);
	/* dim with color */
	hp_view_block(&b, l, 1, 3500, 30, 40, true);
	assert_string_equal(b.buf,
			    "\033[2m  pg1      patroni    file /e\033[0m\033[K\n");
	hp_buf_release(&b);
}

static void test_block_height(void **state)
{
	struct hp_view_line l[20];
	struct hp_buf b = HP_BUF_INIT;
	size_t i;

	(void)state;
	for (i = 0; i < 20; i++)
		l[i] = (struct hp_view_line){"h", "etcd", "packages", 1};
	/* 24 rows: 12 lines, the last saying how many more */
	assert_int_equal(hp_view_block(&b, l, 20, 1, 80, 24, false), 12);
	assert_non_null(strstr(b.buf, "  ... and 9 more hosts\033[K\n"));
	hp_buf_reset(&b);
	/* a tiny terminal: 3 lines at most */
	assert_int_equal(hp_view_block(&b, l, 20, 1, 80, 5, false), 3);
	hp_buf_reset(&b);
	/* all fit: no "more" line */
	assert_int_equal(hp_view_block(&b, l, 12, 1, 80, 24, false), 12);
	assert_null(strstr(b.buf, "more hosts"));
	hp_buf_release(&b);
}

static void test_erase(void **state)
{
	struct hp_buf b = HP_BUF_INIT;

	(void)state;
	hp_view_erase(&b, 0);
	assert_int_equal(b.len, 0);
	hp_view_erase(&b, 3);
	assert_string_equal(b.buf, "\033[3A\r\033[J");
	hp_buf_release(&b);
}

/* everything the master side has to read within ms */
static void drain(int fd, struct hp_buf *out, int ms)
{
	char buf[4096];
	int64_t end = hp_now_ms() + ms;

	while (hp_now_ms() < end) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t n;

		if (poll(&p, 1, 50) <= 0)
			continue;
		n = read(fd, buf, sizeof(buf));
		if (n > 0)
			hp_buf_add(out, buf, (size_t)n);
	}
}

static void test_on_a_terminal(void **state)
{
	const char *hosts[] = {"pg1", "pg2", "ha1"};
	const bool in[] = {true, true, false};
	struct hp_buf out = HP_BUF_INIT;
	struct winsize ws = {.ws_row = 40, .ws_col = 100};
	struct hp_view *v;
	struct stat before, after;
	int master, slave, saved;
	char *name;

	(void)state;
	master = posix_openpt(O_RDWR | O_NOCTTY);
	assert_true(master >= 0);
	assert_int_equal(grantpt(master), 0);
	assert_int_equal(unlockpt(master), 0);
	name = ptsname(master);
	assert_non_null(name);
	slave = open(name, O_RDWR | O_NOCTTY);
	assert_true(slave >= 0);
	ioctl(slave, TIOCSWINSZ, &ws);
	fflush(stderr);
	saved = dup(2);
	dup2(slave, 2);
	assert_int_equal(fstat(2, &before), 0);

	v = hp_view_start(hosts, 3, false);
	assert_non_null(v);
	hp_view_phase(v, "etcd", in);
	hp_view_step(v, 1, "etcd", "packages");
	fprintf(stderr, "[   0.1s] pg2      etcd     packages   ok\n");
	fprintf(stderr, "a line in ");
	fprintf(stderr, "two writes\n");
	drain(master, &out, 400);
	hp_view_stop(v);
	drain(master, &out, 200);
	assert_int_equal(fstat(2, &after), 0);

	dup2(saved, 2);
	close(saved);
	close(slave);
	close(master);
	/* stderr came back to the terminal it was */
	assert_true(before.st_rdev == after.st_rdev);
	/* the lines whole, the block below them, then taken away */
	assert_non_null(strstr(out.buf, "[   0.1s] pg2      etcd     packages   "
					"ok\r\n"));
	assert_non_null(strstr(out.buf, "a line in two writes\r\n"));
	assert_non_null(strstr(out.buf, "  pg1      etcd       connecting"));
	assert_non_null(strstr(out.buf, "  pg2      etcd       packages"));
	/* a host the phase does not act on shows no phase */
	assert_non_null(strstr(out.buf, "  ha1      -          no part in this "
					"phase"));
	assert_null(strstr(out.buf, "  ha1      etcd"));
	assert_non_null(strstr(out.buf, "\033[3A\r\033[J"));
	hp_buf_release(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_block),
		cmocka_unit_test(test_block_height),
		cmocka_unit_test(test_erase),
		cmocka_unit_test(test_on_a_terminal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
