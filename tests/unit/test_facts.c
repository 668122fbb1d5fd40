/*
 * The facts parser (hp_facts_parse) fed what a hostile or broken host can
 * answer: truncated and huge lines, missing and extra fields, non-numeric
 * modes and pids, names with escapes, NUL bytes, lines out of order. Each
 * is a clear error naming the line, printable; never a crash.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <stdio.h>
#include <sys/stat.h>

#include "steps_fixture.h"

#define HP_TMPDIR_PREFIX "/tmp/hp-facts-"
#include "tmpdir_fixture.h"

/* ---- facts parser ------------------------------------------------------------------ */

#define SHA "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static int parse(const char *text, size_t len, size_t nf, size_t np,
		 size_t ns, struct hp_facts *f, struct hp_err *err)
{
	hp_err_clear(err);
	return hp_facts_parse(text, len, nf, np, ns, f, err);
}

static void test_facts_parse_good(void **state)
{
	static const char t[] = "F " SHA " 4755 postgres postgres\r\n"
				"F -\n"
				"P ii\n"
				"P hi\n"
				"P\n"
				"P rc\n"
				"P iUR\n"
				"S enabled active 4242\n"
				"S not-found inactive 0\n"
				"\n";
	struct hp_facts f;
	struct hp_err e;

	(void)state;
	assert_int_equal(parse(t, sizeof(t) - 1, 2, 5, 2, &f, &e), 0);
	assert_true(f.files[0].exists);
	assert_string_equal(f.files[0].sha256, SHA);
	assert_int_equal(f.files[0].mode, 04755);
	assert_string_equal(f.files[0].group, "postgres");
	assert_false(f.files[1].exists);
	assert_true(f.pkg_installed[0]);
	assert_true(f.pkg_installed[1]); /* on hold, installed */
	assert_false(f.pkg_installed[2]);
	assert_false(f.pkg_installed[3]);
	assert_false(f.pkg_installed[4]); /* reinstall required */
	assert_string_equal(f.svcs[0].enabled, "enabled");
	assert_int_equal(f.svcs[0].main_pid, 4242);
	assert_string_equal(f.svcs[1].enabled, "not-found");
	hp_facts_release(&f);
}

struct bad_facts {
	const char *text;
	size_t nf, np, ns;
	const char *why; /* in the message */
};

static void test_facts_parse_hostile(void **state)
{
	static const struct bad_facts cases[] = {
		{ "", 1, 0, 0, "0 of 1 files" },
		{ "F 0123", 1, 0, 0, "expected 'F -' or" },
		{ "F " SHA " 644 root", 1, 0, 0, "expected 'F -' or" },
		{ "F " SHA " 6x4 root root", 1, 0, 0, "not an octal mode" },
		{ "F " SHA " 77777 root root", 1, 0, 0, "mode out of range" },
		{ "F " SHA " -644 root root", 1, 0, 0, "not an octal mode" },
		{ "F " SHA "0 644 root root", 1, 0, 0, "not a sha256" },
		{ "F " SHA " 644 ro\x1b[2Jot root", 1, 0, 0,
		  "not a user or group name" },
		{ "F " SHA " 644 -rf root", 1, 0, 0,
		  "not a user or group name" },
		{ "F " SHA " 644 root root extra", 1, 0, 0,
		  "expected 'F -' or" },
		{ "F - \nF -\n", 1, 0, 0, "a file line more" },
		{ "P ii\nF -\n", 1, 1, 0, "out of order" },
		{ "P i\x01i", 0, 1, 0, "not a dpkg status" },
		{ "P iiii", 0, 1, 0, "not a dpkg status" },
		{ "S enabled active", 0, 0, 1, "expected 'S" },
		{ "S enabled active 12x", 0, 0, 1, "not a process id" },
		{ "S enabled active -1", 0, 0, 1, "not a process id" },
		{ "S enabled active 99999999999", 0, 0, 1, "not a process id" },
		{ "S enabled active 4294967295", 0, 0, 1, "not a process id" },
		{ "S Enabled active 1", 0, 0, 1, "not a systemd state" },
		{ "S enabledenabledenabledenabled active 1", 0, 0, 1,
		  "not a systemd state" },
		{ "X whatever", 0, 0, 0, "not a facts line" },
		{ "FF -", 1, 0, 0, "not a facts line" },
		{ "<html><body>502 Bad Gateway</body></html>", 1, 0, 0,
		  "not a facts line" },
		{ "F - a b c d e f g", 1, 0, 0, "not a facts line" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < HP_ARRAY_SIZE(cases); i++) {
		const struct bad_facts *c = &cases[i];
		struct hp_facts f;
		struct hp_err e;
		int r = parse(c->text, strlen(c->text), c->nf, c->np, c->ns, &f,
			      &e);

		if (r != HP_EREMOTE || !strstr(e.msg, c->why))
			fail_msg("'%s': %d '%s', want HP_EREMOTE with '%s'",
				 c->text, r, e.msg, c->why);
		assert_null(strchr(e.msg, '\x1b'));
		assert_null(strchr(e.msg, '\x01'));
		/* the arrays exist, zeroed, whatever went wrong */
		if (c->nf)
			assert_false(f.files[c->nf - 1].exists);
		hp_facts_release(&f);
	}
}

static void test_facts_parse_huge_and_nul(void **state)
{
	struct hp_buf b = HP_BUF_INIT;
	struct hp_facts f;
	struct hp_err e;
	size_t i;

	(void)state;
	/* one huge line */
	hp_buf_adds(&b, "F ");
	for (i = 0; i < (size_t)1 << 20; i++)
		hp_buf_addch(&b, 'a');
	assert_int_equal(parse(b.buf, b.len, 1, 0, 0, &f, &e), HP_EREMOTE);
	assert_non_null(strstr(e.msg, "line too long"));
	/* quoted, but only a little of it */
	assert_true(strlen(e.msg) < 300);
	hp_facts_release(&f);
	/* a million short lines */
	hp_buf_reset(&b);
	for (i = 0; i < 1000000; i++)
		hp_buf_adds(&b, "F -\n");
	assert_int_equal(parse(b.buf, b.len, 3, 0, 0, &f, &e), HP_EREMOTE);
	assert_non_null(strstr(e.msg, "line 4 "));
	hp_facts_release(&f);
	/* a NUL inside a line */
	assert_int_equal(parse("F -\0x\n", 6, 1, 0, 0, &f, &e), HP_EREMOTE);
	assert_non_null(strstr(e.msg, "NUL byte"));
	hp_facts_release(&f);
	/* NULL text with nothing expected is fine */
	assert_int_equal(parse(NULL, 5, 0, 0, 0, &f, &e), 0);
	hp_facts_release(&f);
	hp_buf_release(&b);
}

/* Through the transport: the error names the host. */
static void test_facts_gather_hostile_answer(void **state)
{
	struct fx *x = fx_new(false);
	struct hp_want_file wf = want("/etc/a", "x");
	struct hp_facts facts;

	(void)state;
	hp_fake_expect(&x->fake, "export LC_ALL=C", 0,
		       "F " SHA " 644 root\x1b]0;x\x07 root\n", "");
	assert_int_equal(hp_facts_gather(x->h, &wf, 1, NULL, 0, NULL, 0,
					 &facts, &x->err),
			 HP_EREMOTE);
	assert_string_equal(x->err.host, "pg2");
	assert_non_null(strstr(x->err.msg, "line 1"));
	assert_null(strchr(x->err.msg, '\x1b'));
	assert_non_null(facts.files);
	assert_false(facts.files[0].exists);
	hp_facts_release(&facts);
	fx_free(x);
}

/* ---- a second command after the facts (hp_facts_gather_more) -------------- */

#define MORE HP_FACTS_MORE_MARK "\n"

static void test_split_more(void **state)
{
	static const char a[] = "P ii\n" MORE "x\n";
	static const char end[] = "P ii\n" HP_FACTS_MORE_MARK;
	static const char lookalike[] = "P ii\n" HP_FACTS_MORE_MARK "2\n";
	static const char inside[] = "P ii " HP_FACTS_MORE_MARK "\n";
	size_t flen = 99, at = 99;
	struct hp_err err;

	(void)state;
	hp_err_clear(&err);
	assert_int_equal(hp_facts_split_more(a, sizeof(a) - 1, &flen, &at,
					     &err),
			 0);
	assert_int_equal(flen, 5);
	assert_int_equal(at, 5 + sizeof(MORE) - 1);
	/* the mark first: no facts */
	assert_int_equal(hp_facts_split_more(MORE "x\n", sizeof(MORE) + 1,
					     &flen, &at, &err),
			 0);
	assert_int_equal(flen, 0);
	assert_int_equal(at, sizeof(MORE) - 1);
	/* the mark last, without its newline: nothing after */
	assert_int_equal(hp_facts_split_more(end, sizeof(end) - 1, &flen, &at,
					     &err),
			 0);
	assert_int_equal(flen, 5);
	assert_int_equal(at, sizeof(end) - 1);
	/* a line that only starts with it, or has it inside, is not it */
	assert_int_equal(hp_facts_split_more(lookalike, sizeof(lookalike) - 1,
					     &flen, &at, &err),
			 HP_EREMOTE);
	assert_non_null(strstr(err.msg, "no '" HP_FACTS_MORE_MARK "' line"));
	assert_int_equal(hp_facts_split_more(inside, sizeof(inside) - 1, &flen,
					     &at, &err),
			 HP_EREMOTE);
	assert_int_equal(hp_facts_split_more("", 0, &flen, &at, NULL),
			 HP_EREMOTE);
}

/* Through the transport, then the same command run by this machine's
 * /bin/sh: the second command's answer after the mark, the facts before
 * it, its variables its own. */
static void test_gather_more(void **state)
{
	struct fx *x = fx_new(false);
	const char *pkgs[] = { "dpkg" };
	struct hp_buf more = HP_BUF_INIT, out = HP_BUF_INIT;
	struct hp_facts f;
	size_t flen, at;
	char line[512];
	FILE *p;

	(void)state;
	hp_fake_expect(&x->fake, "export LC_ALL=C", 0, "P ii\n" MORE "hi\n",
		       "");
	assert_int_equal(hp_facts_gather_more(x->h, NULL, 0, pkgs, 1, NULL, 0,
					      "x=1; echo \"hi $x\"; exit 0",
					      &more, &f, &x->err),
			 0);
	assert_true(f.pkg_installed[0]);
	assert_string_equal(more.buf, "hi\n");
	hp_facts_release(&f);
	/* no mark in the answer: the host's error, arrays still there */
	hp_fake_expect(&x->fake, "", 0, "P ii\nhi\n", "");
	x->fake.expects[0]->times = 1;
	assert_int_equal(hp_facts_gather_more(x->h, NULL, 0, pkgs, 1, NULL, 0,
					      "echo hi", &more, &f, &x->err),
			 HP_EREMOTE);
	assert_string_equal(x->err.host, "pg2");
	assert_non_null(f.pkg_installed);
	hp_facts_release(&f);

	p = popen(x->fake.calls[0].what, "r");
	assert_non_null(p);
	while (fgets(line, sizeof(line), p))
		hp_buf_adds(&out, line);
	assert_int_equal(pclose(p), 0);
	assert_int_equal(hp_facts_split_more(out.buf, out.len, &flen, &at,
					     &x->err),
			 0);
	assert_string_equal(out.buf + at, "hi 1\n");
	assert_int_equal(hp_facts_parse(out.buf, flen, 0, 1, 0, &f, &x->err),
			 0);
	assert_true(f.pkg_installed[0]);
	hp_facts_release(&f);
	hp_buf_release(&more);
	hp_buf_release(&out);
	fx_free(x);
}

/* ---- the facts command, run by this machine's /bin/sh ----------------------- */

static void put_local(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
}

/* The batched command (one sha256sum, one stat, one dpkg-query) answers
 * in the items' order, whatever exists, and the parser takes it. */
static void test_facts_cmd_runs(void **state)
{
	char *a = tpath("a"), *gone = tpath("gone"), *sp = tpath("b c"),
	     *bs = tpath("d\\e");
	struct hp_want_file wf[4] = { { 0 } };
	const char *pkgs[] = { "no-such-package-haprov", "dpkg" };
	const char *svcs[] = { "haprov-no-such-unit" };
	struct hp_buf cmd = HP_BUF_INIT, out = HP_BUF_INIT;
	char sha[65], line[512];
	struct hp_facts f;
	struct hp_err err;
	FILE *p;

	(void)state;
	put_local(a, "alpha\n", 0640);
	put_local(sp, "space\n", 0600);
	put_local(bs, "slash\n", 0644);
	wf[0].path = a;
	wf[1].path = gone;
	wf[2].path = sp;
	wf[3].path = bs;
	hp_facts_cmd(&cmd, wf, 4, pkgs, 2, svcs, 1);
	p = popen(cmd.buf, "r");
	assert_non_null(p);
	while (fgets(line, sizeof(line), p))
		hp_buf_adds(&out, line);
	assert_int_equal(pclose(p), 0);
	if (hp_facts_parse(out.buf, out.len, 4, 2, 1, &f, &err) != 0)
		fail_msg("%s\n%s", err.msg, out.buf);
	hp_sha256_hex("alpha\n", 6, sha);
	assert_true(f.files[0].exists);
	assert_string_equal(f.files[0].sha256, sha);
	assert_int_equal(f.files[0].mode, 0640);
	assert_false(f.files[1].exists);
	hp_sha256_hex("space\n", 6, sha);
	assert_true(f.files[2].exists);
	assert_string_equal(f.files[2].sha256, sha);
	assert_int_equal(f.files[2].mode, 0600);
	/* sha256sum escapes a name with a backslash: still the hash */
	hp_sha256_hex("slash\n", 6, sha);
	assert_string_equal(f.files[3].sha256, sha);
	assert_false(f.pkg_installed[0]);
	assert_true(f.pkg_installed[1]);
	assert_string_equal(f.svcs[0].enabled, "none");
	assert_int_equal(f.svcs[0].main_pid, 0);
	hp_facts_release(&f);
	free(a);
	free(gone);
	free(sp);
	free(bs);
	hp_buf_release(&cmd);
	hp_buf_release(&out);
}

/* One systemctl for every service: its blocks matched by Id, whatever
 * their order; a unit it says nothing of reads as "none none 0". The
 * systemctl here is a script first in PATH. */
static void test_facts_svcs_one_systemctl(void **state)
{
	char *bin = tpath("systemctl"), *dir = tpath("");
	const char *svcs[] = { "etcd", "gone", "haproxy" };
	struct hp_buf cmd = HP_BUF_INIT, out = HP_BUF_INIT;
	struct hp_facts f;
	struct hp_err err;
	char line[512];
	FILE *p;

	(void)state;
	put_local(bin,
		  "#!/bin/sh\n"
		  "[ \"$*\" = 'show -p Id -p UnitFileState -p ActiveState -p MainPID "
		  "-- etcd gone haproxy' ] || exit 9\n"
		  "printf 'Id=haproxy.service\\nMainPID=9\\nActiveState=active\\n"
		  "UnitFileState=enabled\\n\\nId=etcd.service\\nMainPID=0\\n"
		  "ActiveState=failed\\nUnitFileState=disabled\\n'\n",
		  0755);
	hp_buf_addf(&cmd, "PATH=%s:$PATH; ", dir);
	hp_facts_cmd(&cmd, NULL, 0, NULL, 0, svcs, 3);
	p = popen(cmd.buf, "r");
	assert_non_null(p);
	while (fgets(line, sizeof(line), p))
		hp_buf_adds(&out, line);
	assert_int_equal(pclose(p), 0);
	if (hp_facts_parse(out.buf, out.len, 0, 0, 3, &f, &err) != 0)
		fail_msg("%s\n%s", err.msg, out.buf);
	assert_string_equal(f.svcs[0].enabled, "disabled");
	assert_string_equal(f.svcs[0].active, "failed");
	assert_int_equal(f.svcs[0].main_pid, 0);
	assert_string_equal(f.svcs[1].enabled, "none");
	assert_string_equal(f.svcs[1].active, "none");
	assert_string_equal(f.svcs[2].enabled, "enabled");
	assert_string_equal(f.svcs[2].active, "active");
	assert_int_equal(f.svcs[2].main_pid, 9);
	hp_facts_release(&f);
	free(bin);
	free(dir);
	hp_buf_release(&cmd);
	hp_buf_release(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_facts_parse_good),
		cmocka_unit_test(test_facts_parse_hostile),
		cmocka_unit_test(test_facts_parse_huge_and_nul),
		cmocka_unit_test(test_facts_gather_hostile_answer),
		cmocka_unit_test(test_split_more),
		cmocka_unit_test(test_gather_more),
		cmocka_unit_test_setup_teardown(test_facts_cmd_runs, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_facts_svcs_one_systemctl,
						setup, teardown),
	};

	hp_log_set_level(HP_LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
