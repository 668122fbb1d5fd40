/*
 * The tuning phase's decisions (phases/tuning*.c): the WAL-volume facts
 * parser against hostile output, format/mount/refuse, the fstab line, the
 * SHOW comparison, and that plan (or a refusal) changes nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "phases.h"
#include "steps_fixture.h"

#define DEV "/dev/loop7"
#define WAL "/srv/pgwal/wal"

/* The fixture's three hosts, with tuning settings and a WAL volume. */
static struct fx *tx_new(bool plan)
{
	static const char inv_yaml[] =
		"cluster: {name: t}\n"
		"ssh: {identity_file: /dev/null, known_hosts: /dev/null}\n"
		"hosts:\n"
		"  - {name: pg1, address: 10.0.0.1, roles: [etcd, patroni]}\n"
		"  - {name: pg2, address: 10.0.0.2, roles: [etcd, patroni]}\n"
		"  - {name: pg3, address: 10.0.0.3, roles: [etcd, patroni]}\n"
		"tuning:\n"
		"  checkpoint_timeout: 15min\n"
		"  max_wal_size: 16GB\n"
		"  checkpoint_completion_target: 0.9\n"
		"  wal_compression: 'on'\n"
		"  wal_dir: " WAL "\n"
		"  wal_device: " DEV "\n";
	struct fx *x = xcalloc(1, sizeof(*x));
	struct hp_run_opts o;

	memset(&o, 0, sizeof(o));
	o.plan = plan;
	assert_int_equal(hp_inventory_load_string(&x->inv, inv_yaml,
						  sizeof(inv_yaml) - 1,
						  "/tmp/t.yml", &x->diags),
			 0);
	hp_run_init(&x->run, x->inv, &o);
	x->h = &x->run.hosts[1];
	hp_fake_init(&x->fake);
	hp_fake_transport(&x->fake, &x->h->tr, "pg2");
	hp_err_clear(&x->err);
	return x;
}

/* dir/name in a static buffer (tests only) */
static const char *xasprintf_tmp(const char *dir, const char *name)
{
	static char b[4096];

	snprintf(b, sizeof(b), "%s/%s", dir, name);
	return b;
}

static int parse(const char *text, struct hp_wal_facts *f)
{
	struct hp_err err;

	hp_err_clear(&err);
	return hp_wal_facts_parse(text, strlen(text), f, &err);
}

#define BLANK "B\nR 2\nZ 0\nK 7:7\nN 0\n"

static void test_parse_good(void **state)
{
	struct hp_wal_facts f;

	(void)state;
	assert_int_equal(parse("B\nR 0\nI DEVNAME=/dev/loop7\nI UUID=ab-12\n"
			       "I TYPE=ext4\nI LABEL=haprov-wal\nI USAGE=fs\n"
			       "Z 1\nK 7:7\nM " WAL "\nW 7:7\nN 1\n"
			       "F UUID=ab-12 " WAL " ext4 defaults 0 2\n"
			       "L " WAL "/pg_wal\n",
			       &f),
			 0);
	assert_true(f.block);
	assert_int_equal(f.blkid_rc, 0);
	assert_string_equal(f.uuid, "ab-12");
	assert_string_equal(f.type, "ext4");
	assert_string_equal(f.label, "haprov-wal");
	assert_true(f.nonzero);
	assert_string_equal(f.devno, "7:7");
	assert_int_equal(f.nr_mounts, 1);
	assert_string_equal(f.mounts[0], WAL);
	assert_true(f.wal_mounted);
	assert_int_equal(f.wal_entries, 1);
	assert_string_equal(f.link, WAL "/pg_wal");
	assert_false(f.fstab_many);

	/* nothing at all: no block device, wal_dir missing */
	assert_int_equal(parse("", &f), 0);
	assert_false(f.block);
	assert_int_equal(f.wal_entries, -1);
	assert_int_equal(f.blkid_rc, -1);
}

static void test_parse_hostile(void **state)
{
	struct hp_wal_facts f;
	struct hp_buf big = HP_BUF_INIT;
	int i;

	(void)state;
	assert_int_equal(parse("B\nX what\n", &f), HP_EREMOTE);
	assert_int_equal(parse("Bogus\n", &f), HP_EREMOTE);
	assert_int_equal(parse("I UUID=\x1b[2J\n", &f), HP_EREMOTE);
	assert_int_equal(parse("L /a\x7f\n", &f), HP_EREMOTE);
	assert_int_equal(parse("I TYPE=\xc3\xa9\n", &f), HP_EREMOTE);
	assert_int_equal(parse("R abc\n", &f), HP_EREMOTE);
	assert_int_equal(parse("R 99999\n", &f), HP_EREMOTE);
	assert_int_equal(parse("Z \n", &f), HP_EREMOTE);
	assert_int_equal(parse("I TYPE=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
			       &f),
			 HP_EREMOTE);
	/* a NUL byte inside a line */
	{
		struct hp_err err;
		static const char t[] = "B\nI TYPE=e\0xt4\n";

		assert_int_equal(hp_wal_facts_parse(t, sizeof(t) - 1, &f, &err),
				 HP_EREMOTE);
	}
	/* a line too long */
	hp_buf_adds(&big, "M /");
	for (i = 0; i < 600; i++)
		hp_buf_addch(&big, 'a');
	assert_int_equal(parse(big.buf, &f), HP_EREMOTE);
	/* too many lines */
	hp_buf_reset(&big);
	for (i = 0; i < 100; i++)
		hp_buf_adds(&big, "B\n");
	assert_int_equal(parse(big.buf, &f), HP_EREMOTE);
	hp_buf_release(&big);
	/* a bad device number is forgotten, never trusted */
	assert_int_equal(parse("B\nK 7:x\n", &f), 0);
	assert_string_equal(f.devno, "");
	/* mounts beyond the cap are counted, not stored */
	assert_int_equal(parse("M /a\nM /b\nM /c\nM /d\nM /e\nM /f\n", &f), 0);
	assert_int_equal(f.nr_mounts, 6);
	/* two fstab lines for wal_dir */
	assert_int_equal(parse("F a " WAL "\nF b " WAL "\n", &f), 0);
	assert_true(f.fstab_many);
}

static enum hp_wal_action decide(const char *text, struct hp_buf *why)
{
	struct hp_wal_facts f;

	hp_buf_reset(why);
	assert_int_equal(parse(text, &f), 0);
	return hp_wal_decide(&f, "pg2", DEV, WAL, why);
}

static void test_decide(void **state)
{
	struct hp_buf why = HP_BUF_INIT;

	(void)state;
	/* blank: no signature and the first MiB all zeros */
	assert_int_equal(decide(BLANK, &why), HP_WAL_FORMAT);
	assert_string_equal(why.buf, "");
	/* no signature, and the first MiB not read: never formatted */
	assert_int_equal(decide("B\nR 2\nK 7:7\nN 0\n", &why),
			 HP_WAL_REFUSE);
	assert_non_null(strstr(why.buf, "could not be read"));
	hp_buf_reset(&why);
	/* no signature, but data in the first MiB */
	assert_int_equal(decide("B\nR 2\nZ 1\nK 7:7\nN 0\n", &why),
			 HP_WAL_REFUSE);
	assert_non_null(strstr(why.buf, "pg2: " DEV));
	/* another file system */
	assert_int_equal(decide("B\nR 0\nI TYPE=xfs\nK 7:7\nN 0\n", &why),
			 HP_WAL_REFUSE);
	assert_non_null(strstr(why.buf, "xfs"));
	/* ext4, but not haprov's */
	assert_int_equal(decide("B\nR 0\nI TYPE=ext4\nI LABEL=data\nK 7:7\n"
				"N 0\n",
				&why),
			 HP_WAL_REFUSE);
	/* a partition table */
	assert_int_equal(decide("B\nR 0\nI PTTYPE=gpt\nK 7:7\nN 0\n", &why),
			 HP_WAL_REFUSE);
	assert_non_null(strstr(why.buf, "partition table"));
	/* blkid failed or was ambivalent */
	assert_int_equal(decide("B\nR 8\nZ 0\nK 7:7\nN 0\n", &why),
			 HP_WAL_REFUSE);
	assert_int_equal(decide("B\nZ 0\nK 7:7\nN 0\n", &why), HP_WAL_REFUSE);
	/* haprov's own, not mounted (a run killed after mkfs) */
	assert_int_equal(decide("B\nR 0\nI TYPE=ext4\nI LABEL=haprov-wal\n"
				"I UUID=u1\nZ 1\nK 7:7\nN 0\n",
				&why),
			 HP_WAL_MOUNT);
	/* ... and its fstab line already written */
	assert_int_equal(decide("B\nR 0\nI TYPE=ext4\nI LABEL=haprov-wal\n"
				"I UUID=u1\nK 7:7\nN 0\n"
				"F UUID=u1 " WAL " ext4 defaults 0 2\n",
				&why),
			 HP_WAL_MOUNT);
	/* fstab mounts something else there */
	assert_int_equal(decide("B\nR 2\nZ 0\nK 7:7\nN 0\n"
				"F UUID=u12 " WAL " ext4 defaults 0 2\n",
				&why),
			 HP_WAL_REFUSE);
	assert_int_equal(decide("B\nR 0\nI TYPE=ext4\nI LABEL=haprov-wal\n"
				"I UUID=u1\nK 7:7\nN 0\n"
				"F UUID=u12 " WAL " ext4 defaults 0 2\n",
				&why),
			 HP_WAL_REFUSE);
	/* missing device */
	assert_int_equal(decide("N 0\n", &why), HP_WAL_REFUSE);
	assert_non_null(strstr(why.buf, "pg2: " DEV " is not a block device"));
	/* mounted elsewhere */
	assert_int_equal(decide("B\nR 0\nI TYPE=ext4\nK 7:7\nM /mnt\nN 0\n",
				&why),
			 HP_WAL_REFUSE);
	assert_non_null(strstr(why.buf, "/mnt"));
	/* mounted at wal_dir and elsewhere */
	assert_int_equal(decide("B\nR 0\nI UUID=u1\nK 7:7\nM " WAL
				"\nM /mnt\nW 7:7\nN 1\n"
				"F UUID=u1 " WAL " ext4 defaults 0 2\n",
				&why),
			 HP_WAL_REFUSE);
	/* another file system mounted at wal_dir */
	assert_int_equal(decide("B\nR 2\nZ 0\nK 7:7\nW 8:1\nN 1\n", &why),
			 HP_WAL_REFUSE);
	/* wal_dir holds files the mount would hide */
	assert_int_equal(decide("B\nR 2\nZ 0\nK 7:7\nN 2\n", &why),
			 HP_WAL_REFUSE);
	assert_non_null(strstr(why.buf, "not empty"));
	/* ours, mounted, fstab has it: nothing to do */
	assert_int_equal(decide("B\nR 0\nI TYPE=ext4\nI UUID=u1\nK 7:7\nM " WAL
				"\nW 7:7\nN 1\n"
				"F UUID=u1 " WAL " ext4 defaults 0 2\n",
				&why),
			 HP_WAL_OK);
	/* mounted, fstab lacks it */
	assert_int_equal(decide("B\nR 0\nI TYPE=ext4\nI UUID=u1\nK 7:7\nM " WAL
				"\nW 7:7\nN 1\n",
				&why),
			 HP_WAL_FSTAB);
	/* two fstab lines */
	assert_int_equal(decide(BLANK "F a " WAL "\nF b " WAL "\n", &why),
			 HP_WAL_REFUSE);
	hp_buf_release(&why);
}

static void test_fstab_and_paths(void **state)
{
	struct hp_buf b = HP_BUF_INIT;

	(void)state;
	hp_wal_fstab_line(&b, "0b9d-11", WAL);
	assert_string_equal(b.buf,
			    "UUID=0b9d-11 " WAL " ext4 defaults,noatime 0 2");
	hp_buf_release(&b);
	assert_true(hp_wal_path_ok("/var/lib/pg_wal-1.x"));
	assert_true(hp_wal_path_ok(DEV));
	assert_false(hp_wal_path_ok("var/lib"));
	assert_false(hp_wal_path_ok("/"));
	assert_false(hp_wal_path_ok("/a b"));
	assert_false(hp_wal_path_ok("/a\\040b"));
	assert_false(hp_wal_path_ok("/a/../etc"));
	assert_false(hp_wal_path_ok("/a;rm"));
	assert_false(hp_wal_path_ok(NULL));
}

static void test_value_eq(void **state)
{
	(void)state;
	assert_true(hp_tuning_value_eq("checkpoint_timeout", "15min", "15min"));
	assert_true(hp_tuning_value_eq("checkpoint_timeout", "900s", "15min"));
	assert_true(hp_tuning_value_eq("checkpoint_timeout", "900", "15min"));
	assert_false(hp_tuning_value_eq("checkpoint_timeout", "901", "15min"));
	assert_false(hp_tuning_value_eq("checkpoint_timeout", "15MB", "15min"));
	assert_true(hp_tuning_value_eq("max_wal_size", "16GB", "16GB"));
	assert_true(hp_tuning_value_eq("max_wal_size", "16384", "16GB"));
	assert_true(hp_tuning_value_eq("max_wal_size", "16384MB", "16GB"));
	assert_false(hp_tuning_value_eq("max_wal_size", "16GB", "8GB"));
	assert_false(hp_tuning_value_eq("max_wal_size", "16s", "16GB"));
	assert_true(hp_tuning_value_eq("min_wal_size", "80MB", "80MB"));
	assert_true(hp_tuning_value_eq("wal_buffers", "16MB", "16MB"));
	assert_true(hp_tuning_value_eq("wal_buffers", "2048", "16MB"));
	assert_true(hp_tuning_value_eq("wal_buffers", "-1", "4MB"));
	assert_false(hp_tuning_value_eq("wal_buffers", "-1", "junk"));
	assert_false(hp_tuning_value_eq("wal_buffers", "8MB", "16MB"));
	assert_true(hp_tuning_value_eq("checkpoint_completion_target", "0.9",
				       "0.9"));
	assert_true(hp_tuning_value_eq("checkpoint_completion_target", "0.90",
				       "0.9"));
	assert_false(hp_tuning_value_eq("checkpoint_completion_target", "0.9",
					"0.5"));
	assert_false(hp_tuning_value_eq("checkpoint_completion_target",
					"0.9s", "0.9"));
	assert_true(hp_tuning_value_eq("wal_compression", "on", "pglz"));
	assert_true(hp_tuning_value_eq("wal_compression", "true", "pglz"));
	assert_true(hp_tuning_value_eq("wal_compression", "off", "off"));
	assert_true(hp_tuning_value_eq("wal_compression", "no", "off"));
	assert_true(hp_tuning_value_eq("wal_compression", "lz4", "lz4"));
	assert_false(hp_tuning_value_eq("wal_compression", "lz4", "pglz"));
	assert_false(hp_tuning_value_eq("wal_compression", "off", "pglz"));
	assert_false(hp_tuning_value_eq("max_wal_size", NULL, "1GB"));
	assert_false(hp_tuning_value_eq("max_wal_size", "1GB", ""));
}

#define SHOW_OK                                                               \
	"checkpoint_completion_target|0.9|f\ncheckpoint_timeout|15min|f\n"    \
	"max_wal_size|16GB|f\nmin_wal_size|80MB|f\nwal_buffers|4MB|f\n"       \
	"wal_compression|pglz|f\n"

static void test_show_check(void **state)
{
	struct fx *x = tx_new(false);
	char *s;

	(void)state;
	assert_int_equal(hp_tuning_show_check(&x->run, "pg1", SHOW_OK, &x->err),
			 0);
	/* a value that differs */
	s = replace_all(SHOW_OK, "16GB", "1GB");
	assert_int_equal(hp_tuning_show_check(&x->run, "pg1", s, &x->err),
			 HP_EVERIFY);
	assert_non_null(strstr(x->err.msg, "max_wal_size"));
	free(s);
	/* a pending restart, even with an unmanaged setting */
	s = replace_all(SHOW_OK, "4MB|f", "4MB|t");
	assert_int_equal(hp_tuning_show_check(&x->run, "pg1", s, &x->err),
			 HP_EVERIFY);
	assert_non_null(strstr(x->err.msg, "pending_restart"));
	free(s);
	/* pending, but running the wanted value already (a value set and set
	 * back before any restart): nothing to wait for */
	s = replace_all(SHOW_OK, "16GB|f", "16GB|t");
	assert_int_equal(hp_tuning_show_check(&x->run, "pg1", s, &x->err), 0);
	free(s);
	/* pending and running another value: the value is wrong */
	s = replace_all(SHOW_OK, "16GB|f", "1GB|t");
	assert_int_equal(hp_tuning_show_check(&x->run, "pg1", s, &x->err),
			 HP_EVERIFY);
	free(s);
	/* malformed answers */
	assert_int_equal(hp_tuning_show_check(&x->run, "pg1", "junk\n",
					      &x->err),
			 HP_EREMOTE);
	assert_int_equal(hp_tuning_show_check(&x->run, "pg1",
					      "max_wal_size|16GB|f\n", &x->err),
			 HP_EREMOTE);
	assert_int_equal(hp_tuning_show_check(&x->run, "pg1",
					      SHOW_OK "wal_level|replica|f\n",
					      &x->err),
			 HP_EREMOTE);
	assert_int_equal(hp_tuning_show_check(&x->run, "pg1",
					      "a|b|c|d\n", &x->err),
			 HP_EREMOTE);
	/* a rollback compares with its DCS settings, not the inventory */
	hp_desired_set(&x->run, "0123456789abcdef", json_object(),
		       json_pack("{s:{s:{s:s}}}", "postgresql", "parameters",
				 "max_wal_size", "1GB"));
	{
		char *s1 = replace_all(SHOW_OK, "16GB", "1GB");

		s = replace_all(s1, "15min", "5min");
		free(s1);
	}
	assert_int_equal(hp_tuning_show_check(&x->run, "pg1", s, &x->err), 0);
	hp_desired_clear(&x->run);
	free(s);
	fx_free(x);
}

static size_t calls_with(const struct hp_fake *f, const char *what)
{
	return hp_fake_count_calls(f, HP_FAKE_EXEC, what);
}

static void test_volume_plan_writes_nothing(void **state)
{
	struct fx *x = tx_new(true);

	(void)state;
	hp_fake_expect(&x->fake, "blkid -p -o export", 0, BLANK, "");
	assert_int_equal(hp_wal_volume_host(x->h, &x->err), 0);
	assert_int_equal(calls_with(&x->fake, "mkfs"), 0);
	assert_int_equal(x->fake.nr_calls, 1);
	assert_int_equal(hp_run_count(&x->run, NULL, HP_STEP_CHANGED), 1);
	fx_free(x);
}

static void test_volume_apply(void **state)
{
	struct fx *x = tx_new(false);

	(void)state;
	hp_fake_expect(&x->fake, "blkid -p -o export", 0, BLANK, "");
	hp_fake_expect(&x->fake, "mkfs.ext4 -q -L haprov-wal", 0, "formatted\n",
		       "");
	assert_int_equal(hp_wal_volume_host(x->h, &x->err), 0);
	assert_int_equal(calls_with(&x->fake, "mkfs.ext4"), 1);
	assert_int_equal(x->fake.nr_unexpected, 0);
	fx_free(x);
}

static void test_volume_refused(void **state)
{
	struct fx *x = tx_new(false);

	(void)state;
	hp_fake_expect(&x->fake, "blkid -p -o export", 0,
		       "B\nR 0\nI TYPE=xfs\nK 7:7\nN 0\n", "");
	assert_int_equal(hp_wal_volume_host(x->h, &x->err), HP_EINVALID);
	assert_non_null(strstr(x->err.msg, "pg2: " DEV));
	assert_non_null(strstr(x->err.msg, "nothing changed"));
	assert_int_equal(x->fake.nr_calls, 1);
	assert_int_equal(calls_with(&x->fake, "mkfs"), 0);
	/* the check alone refuses too, and writes nothing; from the same
	 * read while the run changed nothing */
	assert_int_equal(hp_wal_volume_check(x->h, &x->err), HP_EINVALID);
	assert_int_equal(x->fake.nr_calls, 1);
	/* once the run changed anything, the host is read again */
	hp_run_record(x->h->run, "pg2", HP_STEP_CHANGED, "something", NULL,
		      NULL, 0);
	assert_int_equal(hp_wal_volume_check(x->h, &x->err), HP_EINVALID);
	assert_int_equal(x->fake.nr_calls, 2);
	/* an OK or a failure recorded does not count as a change */
	hp_run_record(x->h->run, "pg2", HP_STEP_OK, "something", NULL, NULL,
		      0);
	assert_int_equal(hp_wal_volume_check(x->h, &x->err), HP_EINVALID);
	assert_int_equal(x->fake.nr_calls, 2);
	fx_free(x);
}

static void test_volume_ok_noop(void **state)
{
	struct fx *x = tx_new(false);

	(void)state;
	hp_fake_expect(&x->fake, "blkid -p -o export", 0,
		       "B\nR 0\nI TYPE=ext4\nI UUID=u1\nK 7:7\nM " WAL
		       "\nW 7:7\nN 1\nF UUID=u1 " WAL " ext4 defaults 0 2\n",
		       "");
	assert_int_equal(hp_wal_volume_host(x->h, &x->err), 0);
	assert_int_equal(x->fake.nr_calls, 1);
	assert_int_equal(hp_run_count(&x->run, NULL, HP_STEP_CHANGED), 0);
	fx_free(x);
}

/* The remote facts command in a local shell: a regular file is not a
 * block device, a missing wal_dir is N -1, a pg_wal link is read. */
static void test_facts_cmd_local(void **state)
{
	char *dir = make_tmpdir();
	struct hp_buf cmd = HP_BUF_INIT, out = HP_BUF_INIT;
	struct hp_wal_facts f;
	char *dev = xasprintf("%s/dev", dir), *w = xasprintf("%s/w", dir);
	char *p = xasprintf("%s/pg_wal", dir);

	(void)state;
	write_file(dir, "dev", "x", 0644);
	assert_int_equal(symlink("/target/pg_wal", p), 0);
	hp_wal_facts_cmd(&cmd, dev, w, p);
	assert_int_equal(run_sh(cmd.buf, NULL, &out), 0);
	assert_int_equal(parse(out.buf, &f), 0);
	assert_false(f.block);
	assert_int_equal(f.wal_entries, -1);
	assert_string_equal(f.link, "/target/pg_wal");
	assert_false(f.old_copy);
	/* a move's copy left behind */
	write_file(dir, "pg_wal.haprov-old", "x", 0644);
	hp_buf_reset(&out);
	assert_int_equal(run_sh(cmd.buf, NULL, &out), 0);
	assert_int_equal(parse(out.buf, &f), 0);
	assert_true(f.old_copy);
	/* the verify's command: the same answer for the link, nothing
	 * mounted at w, no block device */
	hp_buf_reset(&cmd);
	hp_buf_reset(&out);
	hp_wal_verify_cmd(&cmd, dev, w, p);
	assert_int_equal(run_sh(cmd.buf, NULL, &out), 0);
	assert_int_equal(parse(out.buf, &f), 0);
	assert_false(f.block);
	assert_false(f.wal_mounted);
	assert_string_equal(f.link, "/target/pg_wal");
	/* without a device; pg_wal a directory */
	assert_int_equal(unlink(p), 0);
	assert_int_equal(mkdir(p, 0700), 0);
	hp_buf_reset(&cmd);
	hp_buf_reset(&out);
	hp_wal_verify_cmd(&cmd, NULL, w, p);
	assert_null(strstr(cmd.buf, "-b"));
	assert_int_equal(run_sh(cmd.buf, NULL, &out), 0);
	assert_int_equal(parse(out.buf, &f), 0);
	assert_true(f.wal_is_dir);
	assert_string_equal(f.link, "");
	/* the root file system is mounted at / */
	hp_buf_reset(&cmd);
	hp_buf_reset(&out);
	hp_wal_verify_cmd(&cmd, NULL, "/", p);
	assert_int_equal(run_sh(cmd.buf, NULL, &out), 0);
	assert_int_equal(parse(out.buf, &f), 0);
	assert_true(f.wal_mounted);
	rm_tree(dir);
	free(dir);
	free(dev);
	free(w);
	free(p);
	hp_buf_release(&cmd);
	hp_buf_release(&out);
}


/* ---- the move script in a local shell, from every state a kill leaves ---- */

struct mv {
	char *dir, *p, *t, *w;
};

static void mv_init(struct mv *m)
{
	m->dir = make_tmpdir();
	m->p = xasprintf("%s/data/pg_wal", m->dir);
	m->w = xasprintf("%s/wal", m->dir);
	m->t = xasprintf("%s/wal/pg_wal", m->dir);
	assert_int_equal(mkdir(xasprintf_tmp(m->dir, "data"), 0700), 0);
	assert_int_equal(mkdir(m->w, 0700), 0);
}

static void mv_free(struct mv *m)
{
	rm_tree(m->dir);
	free(m->dir);
	free(m->p);
	free(m->t);
	free(m->w);
}

/* Run the move script; its exit status, output in out. */
static int mv_run(const struct mv *m, struct hp_buf *out)
{
	struct hp_buf cmd = HP_BUF_INIT;
	int rc;

	hp_buf_reset(out);
	hp_wal_move_cmd(&cmd, m->p, m->t, m->w, false);
	rc = run_sh(cmd.buf, NULL, out);
	hp_buf_release(&cmd);
	return rc;
}

static void mv_sh(const char *dir, const char *script)
{
	struct hp_buf out = HP_BUF_INIT;
	char *s = xasprintf("cd '%s' && %s", dir, script);

	assert_int_equal(run_sh(s, NULL, &out), 0);
	free(s);
	hp_buf_release(&out);
}

/* The end state: P links to T, T has the segment, nothing left over. */
static void mv_done(const struct mv *m, const char *segment)
{
	char buf[512];
	ssize_t n = readlink(m->p, buf, sizeof(buf) - 1);
	char *seg = xasprintf("%s/%s", m->t, segment);
	char *old = xasprintf("%s.haprov-old", m->p);
	char *nw = xasprintf("%s.haprov-new", m->t);
	struct stat st;

	assert_true(n > 0);
	buf[n] = '\0';
	assert_string_equal(buf, m->t);
	assert_int_equal(stat(seg, &st), 0);
	assert_int_equal(lstat(old, &st), -1);
	assert_int_equal(lstat(nw, &st), -1);
	free(seg);
	free(old);
	free(nw);
}

static void test_move_fresh(void **state)
{
	struct mv m;
	struct hp_buf out = HP_BUF_INIT;

	(void)state;
	mv_init(&m);
	mv_sh(m.dir, "mkdir -p data/pg_wal/archive_status && "
		     "echo x >data/pg_wal/000000010000000000000001");
	assert_int_equal(mv_run(&m, &out), 0);
	assert_non_null(strstr(out.buf, "moved"));
	mv_done(&m, "000000010000000000000001");
	assert_int_equal(access(xasprintf_tmp(m.t, "archive_status"), F_OK), 0);
	/* again: nothing to do, still fine */
	assert_int_equal(mv_run(&m, &out), 0);
	mv_done(&m, "000000010000000000000001");
	hp_buf_release(&out);
	mv_free(&m);
}

static void test_move_stale_copy_redone(void **state)
{
	struct mv m;
	struct hp_buf out = HP_BUF_INIT;

	(void)state;
	mv_init(&m);
	/* killed after the rename to T, and PostgreSQL wrote on since: P is
	 * the truth, the stale T and a partial N are redone */
	mv_sh(m.dir, "mkdir -p data/pg_wal wal/pg_wal wal/pg_wal.haprov-new && "
		     "echo new >data/pg_wal/seg2 && echo old >wal/pg_wal/seg1");
	assert_int_equal(mv_run(&m, &out), 0);
	mv_done(&m, "seg2");
	assert_int_equal(access(xasprintf_tmp(m.t, "seg1"), F_OK), -1);
	hp_buf_release(&out);
	mv_free(&m);
}

static void test_move_finish_link(void **state)
{
	struct mv m;
	struct hp_buf out = HP_BUF_INIT;

	(void)state;
	mv_init(&m);
	/* killed between renaming P away and linking it */
	mv_sh(m.dir, "mkdir -p data/pg_wal.haprov-old wal/pg_wal && "
		     "echo s >wal/pg_wal/seg && ln -s /nowhere "
		     "data/pg_wal.haprov-link");
	assert_int_equal(mv_run(&m, &out), 0);
	mv_done(&m, "seg");
	hp_buf_release(&out);
	mv_free(&m);
}

static void test_move_refusals(void **state)
{
	struct mv m;
	struct hp_buf out = HP_BUF_INIT;
	char *pid;

	(void)state;
	mv_init(&m);
	/* P missing and no old copy: not guessing */
	mv_sh(m.dir, "mkdir -p wal/pg_wal");
	assert_int_equal(mv_run(&m, &out), 3);
	assert_non_null(strstr(out.buf, "not guessing"));
	/* P links elsewhere */
	mv_sh(m.dir, "ln -s /elsewhere data/pg_wal");
	assert_int_equal(mv_run(&m, &out), 3);
	assert_non_null(strstr(out.buf, "not a link to"));
	/* PostgreSQL still runs (a live pid in postmaster.pid) */
	mv_sh(m.dir, "rm data/pg_wal && mkdir data/pg_wal");
	pid = xasprintf("%ld\n", (long)getpid());
	write_file(m.dir, "data/postmaster.pid", pid, 0600);
	assert_int_equal(mv_run(&m, &out), 3);
	assert_non_null(strstr(out.buf, "still runs"));
	{
		struct stat st;

		/* untouched: still a directory, not a link */
		assert_int_equal(lstat(m.p, &st), 0);
		assert_true(S_ISDIR(st.st_mode));
	}
	free(pid);
	hp_buf_release(&out);
	mv_free(&m);
}

/* Whether any member's pg_wal is still to move: every member asked at
 * once; all moved (the no-op) is no roll at all; a link elsewhere is an
 * error naming the member, before anything moves. With a WAL volume the
 * volume's facts say it (one read while nothing changes). */
#define MOVED "B\nR 0\nK 7:7\nM " WAL "\nW 7:7\nN 1\nL " WAL "/pg_wal\n"

static void test_move_rolling_asks_every_member(void **state)
{
	struct fx *x = tx_new(false);
	struct hp_fake other[2];
	struct hp_rest rest;
	size_t k;

	(void)state;
	for (k = 0; k < 2; k++) {
		hp_fake_init(&other[k]);
		hp_fake_transport(&other[k], &x->run.hosts[k * 2].tr,
				  k ? "pg3" : "pg1");
		hp_fake_expect(&other[k], "blkid", 0, MOVED, "");
	}
	hp_fake_expect(&x->fake, "blkid", 0, MOVED, "")->times = 1;
	assert_int_equal(hp_run_rest_init(&x->run, &rest, 1000, &x->err), 0);
	assert_int_equal(hp_wal_move_rolling(&x->run, &rest, &x->err), 0);
	assert_int_equal(calls_with(&other[0], "blkid"), 1);
	assert_int_equal(calls_with(&x->fake, "blkid"), 1);
	assert_int_equal(calls_with(&other[1], "blkid"), 1);
	/* asked again: the same read serves while the run changed nothing */
	assert_int_equal(hp_wal_move_rolling(&x->run, &rest, &x->err), 0);
	assert_int_equal(calls_with(&x->fake, "blkid"), 1);
	/* pg2's pg_wal links elsewhere (read again after a change) */
	hp_run_record(&x->run, "pg2", HP_STEP_CHANGED, "x", NULL, NULL, 0);
	hp_fake_expect(&x->fake, "blkid", 0,
		       "B\nR 0\nK 7:7\nW 7:7\nN 1\nL /elsewhere\n", "");
	assert_int_equal(hp_wal_move_rolling(&x->run, &rest, &x->err),
			 HP_EVERIFY);
	assert_non_null(strstr(x->err.msg, "pg2: "));
	assert_non_null(strstr(x->err.msg, "does not move it"));
	assert_int_equal(calls_with(&x->fake, "systemctl stop"), 0);
	hp_rest_release(&rest);
	for (k = 0; k < 2; k++) {
		hp_fake_release(&other[k]);
		x->run.hosts[k * 2].tr.ops = NULL;
	}
	fx_free(x);
}

/* What the facts say about a move: done, still to do (no link yet, or a
 * copy left behind), or a link elsewhere. */
static void test_move_needed_from_facts(void **state)
{
	static const struct {
		const char *answer;
		int r;
		bool need;
	} cases[] = {
		{ MOVED, 0, false },
		{ MOVED "O\n", 0, true },
		{ "B\nR 0\nK 7:7\nW 7:7\nN 1\nD\n", 0, true },
		{ "B\nR 0\nK 7:7\nW 7:7\nN 1\n", 0, true },
		{ "B\nR 0\nK 7:7\nW 7:7\nN 1\nL /x\n", HP_EVERIFY, false },
	};
	size_t i;

	(void)state;
	for (i = 0; i < HP_ARRAY_SIZE(cases); i++) {
		struct fx *x = tx_new(false);
		bool need = !cases[i].need;

		hp_fake_expect(&x->fake, "blkid", 0, cases[i].answer, "");
		assert_int_equal(hp_wal_move_needed(&x->run, "pg2", &need,
						    &x->err),
				 cases[i].r);
		if (cases[i].r == 0)
			assert_true(need == cases[i].need);
		fx_free(x);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_move_rolling_asks_every_member),
		cmocka_unit_test(test_move_needed_from_facts),
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_parse_hostile),
		cmocka_unit_test(test_decide),
		cmocka_unit_test(test_fstab_and_paths),
		cmocka_unit_test(test_value_eq),
		cmocka_unit_test(test_show_check),
		cmocka_unit_test(test_volume_plan_writes_nothing),
		cmocka_unit_test(test_volume_apply),
		cmocka_unit_test(test_volume_refused),
		cmocka_unit_test(test_volume_ok_noop),
		cmocka_unit_test(test_facts_cmd_local),
		cmocka_unit_test(test_move_fresh),
		cmocka_unit_test(test_move_stale_copy_redone),
		cmocka_unit_test(test_move_finish_link),
		cmocka_unit_test(test_move_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
