/*
 * hp_shell_quote, checked for real: every hostile string is quoted, handed
 * to a local /bin/sh (and bash, the usual login shell sshd goes through)
 * as "printf %s QUOTED", and what the shell prints must be the input,
 * byte for byte. A local shell is not a remote host; this is the same
 * parsing the remote shell does.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "shell.h"

/*
 * Run shell -c script with no stdin; its stdout (all of it) in out.
 * Returns the exit status, or -1 if it did not exit normally.
 */
static int run_shell(const char *shell, const char *script, struct hp_buf *out)
{
	int pipefd[2], status = 0;
	char chunk[65536];
	ssize_t n;
	pid_t pid;

	hp_buf_reset(out);
	if (pipe(pipefd) < 0)
		fail_msg("pipe: %d", errno);
	pid = fork();
	if (pid < 0)
		fail_msg("fork: %d", errno);
	if (pid == 0) {
		dup2(pipefd[1], 1);
		close(pipefd[0]);
		close(pipefd[1]);
		execl(shell, shell, "-c", script, (char *)NULL);
		_exit(127);
	}
	close(pipefd[1]);
	while ((n = read(pipefd[0], chunk, sizeof(chunk))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		hp_buf_add(out, chunk, (size_t)n);
	}
	close(pipefd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static const char *shells[] = {"/bin/sh", "/bin/bash"};

/* s must come back unchanged from "printf %s QUOTED" in every shell. */
static void check_roundtrip(const char *s)
{
	struct hp_buf script = HP_BUF_INIT, out = HP_BUF_INIT;
	size_t i;

	hp_buf_adds(&script, "printf %s ");
	hp_shell_quote(&script, s);
	for (i = 0; i < HP_ARRAY_SIZE(shells); i++) {
		if (access(shells[i], X_OK) != 0)
			continue;
		assert_int_equal(run_shell(shells[i], script.buf, &out), 0);
		if (out.len != strlen(s) || memcmp(out.buf, s, out.len) != 0)
			fail_msg("%s changed '%.60s' (%zu bytes) into '%.60s' "
				 "(%zu bytes)",
				 shells[i], s, strlen(s), out.buf, out.len);
	}
	hp_buf_release(&script);
	hp_buf_release(&out);
}

static const char *const hostile[] = {
	"",
	"plain",
	"'",
	"''",
	"'''",
	"it's",
	"'leading and trailing'",
	"a'b'c'd",
	"$(id)",
	"$(touch /tmp/haprov-pwned)",
	"`id`",
	"$HOME",
	"${PATH}",
	"$((1+1))",
	"$'\\n'",
	"a;b",
	"a && b || c",
	"a | b",
	"a > /tmp/x",
	"< /etc/passwd",
	"&",
	"*",
	"?",
	"[a-z]*",
	"~",
	"~root",
	"-n",
	"-e",
	"--",
	"-",
	"--help",
	"\n",
	"a\nb",
	"a\n\nb\n",
	"\r\n",
	"\t",
	" ",
	"  leading",
	"trailing  ",
	"two  spaces",
	"\\",
	"\\'",
	"'\\",
	"\\\\'\\\\",
	"\"",
	"\"'\"",
	"'\"'",
	"!",
	"!!",
	"!$",
	"#comment",
	"a #comment",
	"%s%d%n",
	"%%",
	"{a,b}",
	"(subshell)",
	"=",
	"a=b",
	"IFS=x",
	"\xc3\xa9t\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x99\x82",
	"\x7f",
	"\x1b[31mred\x1b[0m",
	"\xff\xfe\x80",
};

static void test_hostile_strings(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < HP_ARRAY_SIZE(hostile); i++)
		check_roundtrip(hostile[i]);
}

static void test_every_byte(void **state)
{
	char s[256];
	int c;

	(void)state;
	for (c = 1; c < 256; c++)
		s[c - 1] = (char)c;
	s[255] = '\0';
	check_roundtrip(s);
	/* and each byte alone, next to a quote */
	for (c = 1; c < 256; c++) {
		char one[4] = {(char)c, '\'', (char)c, '\0'};

		check_roundtrip(one);
	}
}

static void test_very_long(void **state)
{
	/* one argv string may hold 128 KiB on Linux: stay under it */
	size_t n = 100000, i;
	char *s = xmalloc(n + 1);

	(void)state;
	for (i = 0; i < n; i++)
		s[i] = "ab'c$`\\\n *"[i % 11];
	s[n] = '\0';
	check_roundtrip(s);
	/* nothing but quotes: each becomes 4 bytes */
	n = 30000;
	memset(s, '\'', n);
	s[n] = '\0';
	check_roundtrip(s);
	free(s);
}

static void test_exact_form(void **state)
{
	struct hp_buf b = HP_BUF_INIT;
	char *q;

	(void)state;
	q = hp_shell_quote_dup("");
	assert_string_equal(q, "''");
	free(q);
	q = hp_shell_quote_dup("it's");
	assert_string_equal(q, "'it'\\''s'");
	free(q);
	q = hp_shell_quote_dup("'");
	assert_string_equal(q, "''\\'''");
	free(q);
	q = hp_shell_quote_dup("a b");
	assert_string_equal(q, "'a b'");
	free(q);
	/* appends, never replaces */
	hp_buf_adds(&b, "echo ");
	hp_shell_quote(&b, "x");
	assert_string_equal(b.buf, "echo 'x'");
	hp_buf_release(&b);
}

/* The words of a joined command line come back one for one, none split,
 * none lost (the empty string included). */
static void test_join(void **state)
{
	const char *argv[] = {"printf", "%s\\0",	"",  "a b",
			      "it's",	"$(id)",	"*", "-n",
			      "x\ny",	"\xe2\x82\xac", NULL};
	struct hp_buf cmd = HP_BUF_INIT, out = HP_BUF_INIT;
	const char *p;
	size_t i;

	(void)state;
	hp_shell_join(&cmd, argv);
	assert_int_equal(run_shell("/bin/sh", cmd.buf, &out), 0);
	/* printf '%s\0' a b c...: each argument after the format, NUL-ended */
	p = out.buf;
	for (i = 2; argv[i]; i++) {
		assert_true((size_t)(p - out.buf) < out.len);
		assert_string_equal(p, argv[i]);
		p += strlen(p) + 1;
	}
	assert_int_equal((size_t)(p - out.buf), out.len);

	hp_buf_reset(&cmd);
	argv[0] = NULL;
	hp_shell_join(&cmd, argv);
	assert_string_equal(cmd.buf, "");
	hp_buf_release(&cmd);
	hp_buf_release(&out);
}

/*
 * What ssh.c does: quote a value into a command, then quote that whole
 * command again for "/bin/sh -c" under the login shell. Two levels of
 * quoting must still give the value back exactly.
 */
static void test_nested(void **state)
{
	struct hp_buf inner = HP_BUF_INIT, outer = HP_BUF_INIT;
	struct hp_buf out = HP_BUF_INIT;
	size_t i, j;

	(void)state;
	for (i = 0; i < HP_ARRAY_SIZE(hostile); i++) {
		hp_buf_reset(&inner);
		hp_buf_reset(&outer);
		hp_buf_adds(&inner, "printf %s ");
		hp_shell_quote(&inner, hostile[i]);
		hp_buf_adds(&outer, "/bin/sh -c ");
		hp_shell_quote(&outer, inner.buf);
		for (j = 0; j < HP_ARRAY_SIZE(shells); j++) {
			if (access(shells[j], X_OK) != 0)
				continue;
			assert_int_equal(run_shell(shells[j], outer.buf, &out),
					 0);
			assert_int_equal(out.len, strlen(hostile[i]));
			assert_memory_equal(out.buf, hostile[i], out.len);
		}
	}
	hp_buf_release(&inner);
	hp_buf_release(&outer);
	hp_buf_release(&out);
}

/* The point of it all: no command in a value ever runs. */
static void test_nothing_runs(void **state)
{
	char marker[] = "/tmp/haprov-test-shell-XXXXXX";
	struct hp_buf cmd = HP_BUF_INIT, out = HP_BUF_INIT, v = HP_BUF_INIT;
	/* each value is before + marker path + after */
	const char *const around[][2] = {
		{"$(touch ", ")"},	  {"`touch ", "`"},
		{"; touch ", ""},	  {"' ; touch ", " ; '"},
		{"'\"; touch ", "; \"'"}, {"\ntouch ", "\n"},
		{"$(touch${IFS}", ")"},	  {"'$(touch ", ")'"},
		{"| touch ", ""},	  {"&& touch ", ""},
	};
	size_t i;
	int fd;

	(void)state;
	fd = mkstemp(marker);
	assert_true(fd >= 0);
	close(fd);
	unlink(marker);
	for (i = 0; i < HP_ARRAY_SIZE(around); i++) {
		hp_buf_reset(&v);
		hp_buf_addf(&v, "%s%s%s", around[i][0], marker, around[i][1]);
		hp_buf_reset(&cmd);
		hp_buf_adds(&cmd, "echo ");
		hp_shell_quote(&cmd, v.buf);
		assert_int_equal(run_shell("/bin/sh", cmd.buf, &out), 0);
		if (access(marker, F_OK) == 0) {
			unlink(marker);
			fail_msg("quoting '%s' ran a command", v.buf);
		}
	}
	hp_buf_release(&cmd);
	hp_buf_release(&out);
	hp_buf_release(&v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exact_form),
		cmocka_unit_test(test_hostile_strings),
		cmocka_unit_test(test_every_byte),
		cmocka_unit_test(test_very_long),
		cmocka_unit_test(test_join),
		cmocka_unit_test(test_nested),
		cmocka_unit_test(test_nothing_runs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
