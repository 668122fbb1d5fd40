/*
 * libFuzzer target: the parser of the facts command's output
 * (hp_facts_gather), the one remote command that tells the engine which
 * files, packages and services a host has. The input is that command's
 * stdout, served through the fake transport (tests/unit/fake_transport.h),
 * byte for byte (NULs included). Invariants: an error or a complete
 * answer; every string in the facts is NUL-terminated within its field.
 */
#include "fuzz.h"

#include "engine.h"
#include "fake_transport.h"

static const char inv_yaml[] =
	"cluster: {name: fuzz}\n"
	"ssh: {identity_file: /dev/null, known_hosts: /dev/null}\n"
	"hosts:\n"
	"  - {name: pg1, address: 10.0.0.1, roles: [etcd, patroni, haproxy]}\n";

/* Set up once (libFuzzer calls targets in one process), read-only after. */
static struct hp_inventory *inv;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct hp_diags diags;

	(void)argc;
	(void)argv;
	hp_log_set_level(HP_LOG_ERROR);
	memset(&diags, 0, sizeof(diags));
	if (hp_inventory_load_string(&inv, inv_yaml, sizeof(inv_yaml) - 1,
				     "/fuzz/inventory.yml", &diags) < 0)
		fuzz_fail("setup", "the target's own inventory does not load");
	hp_diags_release(&diags);
	return 0;
}

/* The fake transport, answering with the raw input (fake_transport.h
 * keeps canned output as C strings, which would stop at a NUL). */
struct raw_fake {
	struct hp_fake fake; /* first: the ops get a struct hp_fake * */
	const uint8_t *data;
	size_t size;
};

static int raw_exec(void *ctx, const char *cmd, const void *in, size_t len,
		    int timeout_s, struct hp_exec_result *res,
		    struct hp_err *err)
{
	struct raw_fake *rf = ctx;
	int r = hp_fake__exec(&rf->fake, cmd, in, len, timeout_s, res, err);

	if (r == 0) {
		hp_buf_reset(&res->out);
		if (hp_buf_add(&res->out, rf->data, rf->size) < 0)
			return hp_err_set(err, HP_ETOOBIG, "output too big");
	}
	return r;
}

static void check_str(const char *what, const char *s, size_t cap)
{
	FUZZ_CHECK("facts-strings", memchr(s, '\0', cap),
		   "%s is not NUL-terminated within %zu bytes", what, cap);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const pkgs[] = {"etcd-server", "patroni"};
	static const char *const svcs[] = {"etcd", "patroni"};
	struct hp_want_file files[3];
	struct hp_transport_ops ops;
	struct hp_run_opts opts;
	struct raw_fake rf;
	struct hp_facts facts;
	struct hp_run run;
	struct hp_err err;
	int r;

	memset(files, 0, sizeof(files));
	files[0].path = "/etc/default/etcd";
	files[1].path = "/etc/patroni/config.yml";
	files[2].path = "/etc/haproxy/haproxy.cfg";
	memset(&opts, 0, sizeof(opts));
	hp_run_init(&run, inv, &opts);
	hp_fake_init(&rf.fake);
	rf.data = data;
	rf.size = size;
	hp_fake_expect(&rf.fake, "export LC_ALL=C", 0, "", "");
	hp_fake_transport(&rf.fake, &run.hosts[0].tr, "pg1");
	ops = *run.hosts[0].tr.ops;
	ops.exec = raw_exec;
	run.hosts[0].tr.ops = &ops;
	run.hosts[0].tr.ctx = &rf;

	hp_err_clear(&err);
	r = hp_facts_gather(&run.hosts[0], files, HP_ARRAY_SIZE(files), pkgs,
			    HP_ARRAY_SIZE(pkgs), svcs, HP_ARRAY_SIZE(svcs),
			    &facts, &err);
	FUZZ_CHECK("facts-error", r == 0 || err.msg[0],
		   "facts error %d without a message", r);
	if (r == 0) {
		size_t i;

		FUZZ_CHECK("facts-count",
			   facts.nr_files == 3 && facts.nr_pkgs == 2 &&
				   facts.nr_svcs == 2,
			   "facts for the wrong number of items");
		for (i = 0; i < facts.nr_files; i++) {
			check_str("a file's sha256", facts.files[i].sha256,
				  sizeof(facts.files[i].sha256));
			check_str("a file's owner", facts.files[i].owner,
				  sizeof(facts.files[i].owner));
			check_str("a file's group", facts.files[i].group,
				  sizeof(facts.files[i].group));
		}
		for (i = 0; i < facts.nr_svcs; i++) {
			check_str("a service's state", facts.svcs[i].active,
				  sizeof(facts.svcs[i].active));
			check_str("a service's enablement",
				  facts.svcs[i].enabled,
				  sizeof(facts.svcs[i].enabled));
		}
	}
	hp_facts_release(&facts);
	hp_run_release(&run);
	hp_fake_release(&rf.fake);
	return 0;
}
