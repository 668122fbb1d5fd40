/*
 * libFuzzer target: the consumers of Patroni's REST answers. The input is
 * the body of every GET /cluster, /patroni and /config, served through the
 * REST seam (tests/unit/fake_rest.h) to
 * - hp_patroni_leader (the leader named by /cluster),
 * - hp_dcs_patch(want, have) with have parsed from the input (and the
 *   other way round: a rollback's want comes from a file),
 * - hp_patroni_verify (leader, health, streaming, config), one try each.
 * Invariants: the leader is always an inventory patroni host; an error is
 * HP_EVERIFY with a message; nothing remote reaches a message or a plan
 * line with a control character in it (they are printed on terminals).
 */
#include "fuzz.h"

#include <curl/curl.h>

#include "fake_rest.h"
#include "phases.h"
#include "render.h"

static const char inv_yaml[] =
	"cluster: {name: fuzz}\n"
	"ssh: {identity_file: /dev/null, known_hosts: /dev/null}\n"
	"hosts:\n"
	"  - {name: pg1, address: 10.0.0.1, roles: [etcd, patroni, haproxy]}\n"
	"  - {name: pg2, address: 10.0.0.2, roles: [etcd, patroni, haproxy]}\n"
	"  - {name: pg3, address: 10.0.0.3, roles: [etcd, patroni]}\n"
	"  - {name: lb1, address: 10.0.0.4, roles: [haproxy]}\n"
	"patroni:\n"
	"  dcs:\n"
	"    parameters: {max_connections: 200, shared_buffers: 1GB,\n"
	"                 work_mem: '8MB'}\n";

/* Set up once (libFuzzer calls targets in one process), read-only after. */
static struct hp_inventory *inv;
static json_t *want;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct hp_diags diags;
	struct hp_err err;

	(void)argc;
	(void)argv;
	hp_log_set_level(HP_LOG_ERROR);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	memset(&diags, 0, sizeof(diags));
	hp_err_clear(&err);
	if (hp_inventory_load_string(&inv, inv_yaml, sizeof(inv_yaml) - 1,
				     "/fuzz/inventory.yml", &diags) < 0 ||
	    hp_render_dcs_json(&want, inv, &err) < 0)
		fuzz_fail("setup",
			  "the target's own inventory does not load: %s",
			  err.msg);
	hp_diags_release(&diags);
	/* one try per poll: a deadline of 0 */
	inv->validation.timeout_s = 0;
	return 0;
}

/* Text for a terminal: no control characters but the newlines between
 * lines, no DEL, nothing outside ASCII (C1 controls such as 0x9b are
 * escapes too): hp_buf_add_printable's promise for remote text. Our own
 * inventory and messages are ASCII. */
static void check_printable(const char *name, const char *what, const char *s,
			    bool lines)
{
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p; p++) {
		size_t at = (size_t)(p - (const unsigned char *)s);
		char ctx[81];
		size_t i, from = at > 40 ? at - 40 : 0;

		if ((*p >= 0x20 || (lines && *p == '\n')) && *p < 0x7f)
			continue;
		/* the report itself must not replay the escape */
		for (i = 0; i + 1 < sizeof(ctx) && s[from + i]; i++) {
			unsigned char c = (unsigned char)s[from + i];

			ctx[i] = (char)(c >= 0x20 && c < 0x7f ? c : '?');
		}
		ctx[i] = '\0';
		FUZZ_CHECK(name, false,
			   "%s holds byte 0x%02x at %zu: remote text not "
			   "sanitized: ...%s",
			   what, *p, at, ctx);
	}
}

static void check_leader(int r, const char *leader, const json_t *cluster,
			 const struct hp_err *err)
{
	const struct hp_host *h;

	if (r < 0) {
		FUZZ_CHECK("leader-result", !leader && !cluster,
			   "an error (%d) with a leader", r);
		FUZZ_CHECK("leader-error", r == HP_EVERIFY && err->msg[0],
			   "leader error %d without HP_EVERIFY or a message",
			   r);
		check_printable("printable-leader-error", "the leader error",
				err->msg, false);
		return;
	}
	FUZZ_CHECK("leader-result", !leader == !cluster,
		   "a leader without its /cluster answer, or the other way");
	if (!leader)
		return;
	h = hp_inventory_host(inv, leader);
	FUZZ_CHECK("leader-in-inventory", h && (h->roles & HP_ROLE_PATRONI),
		   "leader '%s' is not an inventory patroni host", leader);
}

static void patch_both_ways(const uint8_t *data, size_t size)
{
	json_t *have =
		json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
	struct hp_buf desc = HP_BUF_INIT;
	json_t *patch;

	if (!have)
		return;
	patch = hp_dcs_patch(want, have, "", &desc);
	FUZZ_CHECK("dcs-patch", !patch || json_is_object(patch),
		   "the DCS patch is not an object");
	check_printable("printable-dcs-plan", "the DCS plan lines", desc.buf,
			true);
	json_decref(patch);
	hp_buf_reset(&desc);
	patch = hp_dcs_patch(have, want, "", &desc);
	json_decref(patch);
	hp_buf_release(&desc);
	json_decref(have);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hp_run_opts opts;
	struct hp_run run;
	struct hp_fake_rest fr;
	struct hp_rest rest;
	struct hp_err err;
	json_t *cluster = NULL;
	char *leader = NULL;
	size_t i;
	int r;

	memset(&opts, 0, sizeof(opts));
	memset(&rest, 0, sizeof(rest));
	hp_fake_rest_init(&fr);
	hp_fake_rest_expect_len(&fr, "GET", "/cluster", 200, (const char *)data,
				size, 0);
	hp_fake_rest_expect_len(&fr, "GET", "/patroni", 200, (const char *)data,
				size, 0);
	hp_fake_rest_expect_len(&fr, "GET", "/config", 200, (const char *)data,
				size, 0);
	hp_run_init(&run, inv, &opts);
	run.rest_ops = &hp_fake_rest_ops;
	run.rest_ctx = &fr;
	hp_err_clear(&err);
	if (hp_run_rest_init(&run, &rest, 3000, &err) < 0)
		fuzz_fail("setup", "hp_run_rest_init: %s", err.msg);

	r = hp_patroni_leader(&run, &rest, &leader, &cluster, &err);
	check_leader(r, leader, cluster, &err);

	patch_both_ways(data, size);

	hp_err_clear(&err);
	r = hp_patroni_verify(&run, &err);
	FUZZ_CHECK("verify-error", r == 0 || (r == HP_EVERIFY && err.msg[0]),
		   "verify failed with %d and message '%s'", r, err.msg);
	if (r < 0)
		check_printable("printable-verify-error", "the verify error",
				err.msg, false);
	for (i = 0; i < run.nr_results; i++)
		if (run.results[i].detail)
			check_printable("printable-step-detail",
					"a step's detail",
					run.results[i].detail, false);

	free(leader);
	json_decref(cluster);
	hp_rest_release(&rest);
	hp_run_release(&run);
	hp_fake_rest_release(&fr);
	return 0;
}
