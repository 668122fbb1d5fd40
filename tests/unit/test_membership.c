/*
 * Membership changes (issue 10, section 1), the decisions without a
 * network: etcd's member list parsed strictly (hostile answers refused),
 * which hosts join and which members leave, the initial cluster of a
 * joining member, quorum and its warnings, the initial-file command and
 * its answer; the inventory's remove: true (roles set aside); and the
 * removal's own judgements (services running, member and leader, the
 * candidate for the leaving leader's switchover).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "etcd_members.h"
#include "inventory.h"
#include "phases.h"
#include "remove.h"

#define ID_A "18446744073709551615"

static const char inv4[] =
	"cluster: {name: t}\n"
	"tls: false\n"
	"ssh: {identity_file: /dev/null, known_hosts: /dev/null}\n"
	"hosts:\n"
	"  - {name: a, address: 10.0.0.1, roles: [etcd, patroni, haproxy]}\n"
	"  - {name: b, address: 10.0.0.2, roles: [etcd, patroni, haproxy]}\n"
	"  - {name: c, address: 10.0.0.3, roles: [etcd, patroni, haproxy]}\n"
	"  - {name: d, address: 10.0.0.4, roles: [etcd, patroni, haproxy]%s}\n"
	"patroni:\n"
	"  allowed_networks: [10.0.0.0/24]\n";

struct fx {
	struct hp_inventory *inv;
	struct hp_diags diags;
	char *peers[4];
};

static struct fx *fx_new(bool remove_d)
{
	struct fx *x = xcalloc(1, sizeof(*x));
	char *yaml = xasprintf(inv4, remove_d ? ", remove: true" : "");
	size_t i;

	if (hp_inventory_load_string(&x->inv, yaml, strlen(yaml), "/tmp/t.yml",
				     &x->diags) != 0)
		fail_msg("inventory refused:\n%s", yaml);
	for (i = 0; i < 4; i++)
		x->peers[i] = xasprintf("http://10.0.0.%zu:2380", i + 1);
	free(yaml);
	return x;
}

static void fx_free(struct fx *x)
{
	size_t i;

	for (i = 0; i < 4; i++)
		free(x->peers[i]);
	hp_inventory_free(x->inv);
	hp_diags_release(&x->diags);
	free(x);
}

/* A member-list answer from a compact text: "ID name peer;..." where a
 * name "-" means not started. */
static json_t *members_json(const char *spec)
{
	json_t *list = json_array();
	char *copy = xstrdup(spec), *save = NULL, *item;

	for (item = strtok_r(copy, ";", &save); item;
	     item = strtok_r(NULL, ";", &save)) {
		char id[32], name[32], peer[64];
		json_t *m;

		assert_int_equal(sscanf(item, "%31s %31s %63s", id, name, peer),
				 3);
		m = json_pack("{ss s[s]}", "ID", id, "peerURLs", peer);
		if (strcmp(name, "-") != 0)
			json_object_set_new(m, "name", json_string(name));
		json_array_append_new(list, m);
	}
	free(copy);
	return json_pack("{so}", "members", list);
}

static int parse_spec(const char *spec, struct hp_etcd_members *ms,
		      struct hp_err *err)
{
	json_t *j = members_json(spec);
	int r = hp_etcd_members_parse(j, ms, err);

	json_decref(j);
	return r;
}

#define THREE                                                                  \
	"1 a http://10.0.0.1:2380;2 b http://10.0.0.2:2380;"                   \
	"3 c http://10.0.0.3:2380"

/* ---- the member list ------------------------------------------------------ */

static void test_parse_good(void **state)
{
	struct hp_etcd_members ms;
	struct hp_err err;

	(void)state;
	assert_int_equal(parse_spec(THREE ";" ID_A " - http://10.0.0.4:2380",
				    &ms, &err),
			 0);
	assert_int_equal(ms.nr, 4);
	assert_string_equal(ms.m[1].name, "b");
	assert_string_equal(ms.m[3].name, "");
	assert_true(ms.m[3].id == UINT64_MAX);
	assert_string_equal(ms.m[3].peers[0], "http://10.0.0.4:2380");
	assert_true(hp_etcd_member_is(&ms.m[3], "d", "http://10.0.0.4:2380"));
	assert_false(hp_etcd_member_is(&ms.m[3], "d", "http://10.0.0.5:2380"));
	assert_true(hp_etcd_member_is(&ms.m[0], "a", NULL));
	assert_false(hp_etcd_member_is(&ms.m[0], "b", "http://10.0.0.1:2380"));
	hp_etcd_members_release(&ms);
}

static void refused(const char *answer, const char *why)
{
	struct hp_etcd_members ms;
	struct hp_err err;
	json_t *j = json_loads(answer, 0, NULL);

	assert_non_null(j);
	assert_int_equal(hp_etcd_members_parse(j, &ms, &err), HP_EVERIFY);
	if (!strstr(err.msg, why))
		fail_msg("'%s' not in '%s'", why, err.msg);
	assert_null(ms.m);
	json_decref(j);
}

static void test_parse_hostile(void **state)
{
	(void)state;
	refused("{}", "no \"members\"");
	refused("{\"members\": []}", "no \"members\"");
	refused("{\"members\": [1]}", "not an object");
	refused("{\"members\": [{\"ID\": 5, \"peerURLs\": [\"http://x:1\"]}]}",
		"no ID");
	refused("{\"members\": [{\"ID\": \"0\", \"peerURLs\": [\"http://x:1\"]}]}",
		"no ID");
	refused("{\"members\": [{\"ID\": \"1\", \"name\": \"a;rm -rf\","
		"\"peerURLs\": [\"http://x:1\"]}]}",
		"not a host name");
	refused("{\"members\": [{\"ID\": \"1\", \"name\": 7,"
		"\"peerURLs\": [\"http://x:1\"]}]}",
		"not a host name");
	refused("{\"members\": [{\"ID\": \"1\", \"name\": \"a\"}]}",
		"no peerURLs");
	refused("{\"members\": [{\"ID\": \"1\", \"name\": \"a\","
		"\"peerURLs\": [\"http://x:1\\nETCD_X=1\"]}]}",
		"not one");
	refused("{\"members\": [{\"ID\": \"1\", \"name\": \"a\","
		"\"peerURLs\": [\"ftp://x:1\"]}]}",
		"not one");
	refused("{\"members\": [{\"ID\": \"1\", \"name\": \"a\","
		"\"peerURLs\": [\"http://x:1\"], \"isLearner\": \"yes\"}]}",
		"isLearner");
	refused("{\"members\": [{\"ID\": \"1\", \"name\": \"a\","
		"\"peerURLs\": [\"http://x:1\"]}, {\"ID\": \"1\", \"name\": "
		"\"b\", \"peerURLs\": [\"http://y:1\"]}]}",
		"repeats");
	refused("{\"members\": [{\"ID\": \"1\", \"name\": \"a\","
		"\"peerURLs\": [\"http://x:1\"]}, {\"ID\": \"2\", \"name\": "
		"\"a\", \"peerURLs\": [\"http://y:1\"]}]}",
		"repeats");
}

/* more members than any real cluster: refused, not walked */
static void test_parse_too_many(void **state)
{
	struct hp_etcd_members ms;
	struct hp_err err;
	json_t *list = json_array(), *j;
	int i;

	(void)state;
	for (i = 0; i < HP_ETCD_MAX_MEMBERS + 1; i++)
		json_array_append_new(list, json_pack("{ss s[s]}", "ID", "1",
						      "peerURLs", "http://x:1"));
	j = json_pack("{so}", "members", list);
	assert_int_equal(hp_etcd_members_parse(j, &ms, &err), HP_EVERIFY);
	json_decref(j);
}

/* ---- the change ------------------------------------------------------------ */

static int plan(struct fx *x, const char *spec, struct hp_etcd_change *c,
		struct hp_err *err)
{
	struct hp_etcd_members ms;
	int r;

	assert_int_equal(parse_spec(spec, &ms, err), 0);
	r = hp_etcd_change_plan(x->inv, x->peers, &ms, c, err);
	hp_etcd_members_release(&ms);
	return r;
}

static void test_change_join(void **state)
{
	struct fx *x = fx_new(false);
	struct hp_etcd_change c;
	struct hp_err err;

	(void)state;
	assert_int_equal(plan(x, THREE, &c, &err), 0);
	assert_int_equal(c.nr_join, 1);
	assert_string_equal(c.join[0]->name, "d");
	assert_true(c.join_id[0] == 0);
	assert_int_equal(c.nr_leave, 0);
	assert_int_equal(c.nr_now, 3);
	assert_int_equal(c.nr_after, 4);
	hp_etcd_change_release(&c);
	/* added before (an interrupted run): started, not added again */
	assert_int_equal(plan(x, THREE ";77 - http://10.0.0.4:2380", &c, &err),
			 0);
	assert_int_equal(c.nr_join, 1);
	assert_true(c.join_id[0] == 77);
	assert_int_equal(c.nr_after, 4);
	hp_etcd_change_release(&c);
	/* all four started: nothing */
	assert_int_equal(
		plan(x, THREE ";4 d http://10.0.0.4:2380", &c, &err), 0);
	assert_int_equal(c.nr_join + c.nr_leave, 0);
	hp_etcd_change_release(&c);
	fx_free(x);
}

static void test_change_leave(void **state)
{
	struct fx *x = fx_new(true);
	struct hp_etcd_change c;
	struct hp_err err;

	(void)state;
	assert_int_equal(x->inv->hosts[3].roles, 0);
	assert_true(x->inv->hosts[3].removed_roles & HP_ROLE_ETCD);
	assert_int_equal(
		plan(x, THREE ";4 d http://10.0.0.4:2380", &c, &err), 0);
	assert_int_equal(c.nr_join, 0);
	assert_int_equal(c.nr_leave, 1);
	assert_string_equal(c.leave[0]->name, "d");
	assert_true(c.leave_id[0] == 4);
	assert_int_equal(c.nr_after, 3);
	hp_etcd_change_release(&c);
	/* gone already: nothing to do */
	assert_int_equal(plan(x, THREE, &c, &err), 0);
	assert_int_equal(c.nr_join + c.nr_leave, 0);
	hp_etcd_change_release(&c);
	fx_free(x);
}

static void test_change_refused(void **state)
{
	struct fx *x = fx_new(false);
	struct hp_etcd_change c;
	struct hp_err err;

	(void)state;
	/* a member the inventory does not know */
	assert_int_equal(plan(x, THREE ";9 zz http://10.0.0.9:2380", &c, &err),
			 HP_EINVALID);
	assert_non_null(strstr(err.msg, "zz"));
	assert_non_null(strstr(err.msg, "remove: true"));
	assert_null(c.join);
	/* an unstarted member nobody in the inventory has */
	assert_int_equal(plan(x, THREE ";9 - http://10.0.0.9:2380", &c, &err),
			 HP_EINVALID);
	assert_non_null(strstr(err.msg, "(not started)"));
	/* a member with another address than the inventory's */
	assert_int_equal(plan(x,
			      "1 a http://10.0.0.1:2380;2 b http://10.0.0.7:2380;"
			      "3 c http://10.0.0.3:2380",
			      &c, &err),
			 HP_EINVALID);
	assert_non_null(strstr(err.msg, "etcd member b"));
	assert_non_null(strstr(err.msg, "does not move"));
	fx_free(x);
}

static void test_initial_cluster(void **state)
{
	struct hp_etcd_members ms;
	struct hp_buf b = HP_BUF_INIT;
	struct hp_err err;

	(void)state;
	assert_int_equal(parse_spec(THREE ";4 - http://10.0.0.4:2380", &ms,
				    &err),
			 0);
	assert_int_equal(hp_etcd_initial_cluster(&ms, "d",
						 "http://10.0.0.4:2380", &b,
						 &err),
			 0);
	assert_string_equal(b.buf, "a=http://10.0.0.1:2380,"
				   "b=http://10.0.0.2:2380,"
				   "c=http://10.0.0.3:2380,"
				   "d=http://10.0.0.4:2380");
	hp_buf_release(&b);
	/* the list does not name it as added */
	assert_int_equal(hp_etcd_initial_cluster(&ms, "e",
						 "http://10.0.0.5:2380", &b,
						 &err),
			 HP_EINVALID);
	hp_buf_release(&b);
	hp_etcd_members_release(&ms);
	/* two unstarted members: one is somebody else's join */
	assert_int_equal(parse_spec(THREE ";4 - http://10.0.0.4:2380;"
					  "5 - http://10.0.0.5:2380",
				    &ms, &err),
			 0);
	assert_int_equal(hp_etcd_initial_cluster(&ms, "d",
						 "http://10.0.0.4:2380", &b,
						 &err),
			 HP_EINVALID);
	assert_non_null(strstr(err.msg, "has not started either"));
	hp_buf_release(&b);
	hp_etcd_members_release(&ms);
	/* started already: not a join */
	assert_int_equal(parse_spec(THREE, &ms, &err), 0);
	assert_int_equal(hp_etcd_initial_cluster(&ms, "c",
						 "http://10.0.0.3:2380", &b,
						 &err),
			 HP_EVERIFY);
	hp_buf_release(&b);
	hp_etcd_members_release(&ms);
}

/* ---- quorum ------------------------------------------------------------------ */

static void test_quorum(void **state)
{
	(void)state;
	assert_int_equal(hp_etcd_quorum(1), 1);
	assert_int_equal(hp_etcd_quorum(2), 2);
	assert_int_equal(hp_etcd_quorum(3), 2);
	assert_int_equal(hp_etcd_quorum(4), 3);
	assert_int_equal(hp_etcd_quorum(5), 3);
	assert_int_equal(hp_etcd_tolerance(0), 0);
	assert_int_equal(hp_etcd_tolerance(1), 0);
	assert_int_equal(hp_etcd_tolerance(2), 0);
	assert_int_equal(hp_etcd_tolerance(3), 1);
	assert_int_equal(hp_etcd_tolerance(4), 1);
	assert_int_equal(hp_etcd_tolerance(5), 2);
}

static void test_check_add(void **state)
{
	struct fx *x = fx_new(false);
	struct hp_etcd_change c;
	struct hp_err err;

	(void)state;
	assert_int_equal(plan(x, THREE, &c, &err), 0);
	/* 3 healthy of 3: 4 members need 3 */
	assert_int_equal(hp_etcd_change_check(&c, 3, 0, &err), 0);
	/* 2 healthy: the added, unstarted member would leave 2 of 4 */
	assert_int_equal(hp_etcd_change_check(&c, 2, 0, &err), HP_EINVALID);
	assert_non_null(strstr(err.msg, "adding etcd member d would lose "
					"quorum"));
	assert_non_null(strstr(err.msg, "2 of 4 members healthy, 3 needed"));
	hp_etcd_change_release(&c);
	/* added before: no second add, nothing to check */
	assert_int_equal(plan(x, THREE ";8 - http://10.0.0.4:2380", &c, &err),
			 0);
	assert_int_equal(hp_etcd_change_check(&c, 2, 0, &err), 0);
	hp_etcd_change_release(&c);
	fx_free(x);
}

static void test_check_remove(void **state)
{
	struct fx *x = fx_new(true);
	struct hp_etcd_change c;
	struct hp_err err;

	(void)state;
	assert_int_equal(
		plan(x, THREE ";4 d http://10.0.0.4:2380", &c, &err), 0);
	/* 4 healthy, d among them: 3 of 3 left */
	assert_int_equal(hp_etcd_change_check(&c, 4, 1, &err), 0);
	/* 3 healthy, d among them: 2 of 3 left, quorum 2 */
	assert_int_equal(hp_etcd_change_check(&c, 3, 1, &err), 0);
	/* 2 healthy, d among them: 1 of 3 left */
	assert_int_equal(hp_etcd_change_check(&c, 2, 1, &err), HP_EINVALID);
	assert_non_null(strstr(err.msg, "removing etcd member d would lose "
					"quorum"));
	/* 2 healthy, d down: 2 of 3 left */
	assert_int_equal(hp_etcd_change_check(&c, 2, 0, &err), 0);
	hp_etcd_change_release(&c);
	fx_free(x);
}

static void warn_is(size_t now, size_t after, size_t join, const char *want)
{
	struct hp_etcd_change c;
	struct hp_buf w = HP_BUF_INIT;

	memset(&c, 0, sizeof(c));
	c.nr_now = now;
	c.nr_after = after;
	c.nr_join = join;
	c.nr_leave = join ? 0 : 1;
	hp_etcd_change_warn(&c, &w);
	if (!want)
		assert_int_equal(w.len, 0);
	else if (!w.buf || !strstr(w.buf, want))
		fail_msg("'%s' not in '%s'", want, w.buf ? w.buf : "");
	hp_buf_release(&w);
}

static void test_warn(void **state)
{
	(void)state;
	warn_is(3, 2, 0, "etcd will have 2 members: it tolerates no failure");
	warn_is(2, 1, 0, "etcd will have 1 member: it tolerates no failure");
	warn_is(5, 4, 0, "etcd will tolerate 1 failed member, 2 now");
	warn_is(5, 3, 0, "etcd will tolerate 1 failed member, 2 now");
	warn_is(3, 4, 1, NULL);
	warn_is(4, 3, 0, NULL);
	warn_is(3, 5, 1, NULL);
}

/* ---- the initial file -------------------------------------------------------- */

static void test_initial_file(void **state)
{
	struct fx *x = fx_new(false);
	struct hp_buf b = HP_BUF_INIT;

	(void)state;
	hp_etcd_initial_text(&b, x->inv, "a=http://10.0.0.1:2380", true);
	assert_non_null(strstr(b.buf, "\nETCD_INITIAL_CLUSTER=a=http://"
				      "10.0.0.1:2380\n"));
	assert_non_null(strstr(b.buf, "\nETCD_INITIAL_CLUSTER_STATE=existing\n"));
	assert_non_null(strstr(b.buf, "\nETCD_INITIAL_CLUSTER_TOKEN="));
	hp_buf_release(&b);
	hp_etcd_initial_text(&b, x->inv, "a=http://10.0.0.1:2380", false);
	assert_non_null(strstr(b.buf, "\nETCD_INITIAL_CLUSTER_STATE=new\n"));
	hp_buf_release(&b);
	/* the data directory quoted; a plan only looks */
	hp_etcd_initial_cmd(&b, x->inv, true);
	assert_non_null(strstr(b.buf, "d='/var/lib/etcd/t'"));
	assert_non_null(strstr(b.buf, "[ -e \"$d/member\" ]"));
	assert_null(strstr(b.buf, "mv "));
	hp_buf_release(&b);
	hp_etcd_initial_cmd(&b, x->inv, false);
	assert_non_null(strstr(b.buf, "mv -f \"$t\" /etc/default/etcd-initial"));
	hp_buf_release(&b);
	assert_int_equal(hp_etcd_initial_answer("data\n"), 1);
	assert_int_equal(hp_etcd_initial_answer("wrote\n"), 0);
	assert_int_equal(hp_etcd_initial_answer("empty\n"), 0);
	assert_int_equal(hp_etcd_initial_answer("wrote\ndata\n"), HP_EVERIFY);
	assert_int_equal(hp_etcd_initial_answer(""), HP_EVERIFY);
	assert_int_equal(hp_etcd_initial_answer(NULL), HP_EVERIFY);
	fx_free(x);
}

/* ---- remove: true ------------------------------------------------------------ */

static void test_inventory_remove(void **state)
{
	struct fx *x = fx_new(true);

	(void)state;
	assert_true(x->inv->hosts[3].remove);
	assert_int_equal(x->inv->hosts[3].roles, 0);
	assert_int_equal(x->inv->hosts[3].removed_roles,
			 HP_ROLE_ETCD | HP_ROLE_PATRONI | HP_ROLE_HAPROXY);
	assert_int_equal(hp_inventory_count_role(x->inv, HP_ROLE_ETCD), 3);
	assert_int_equal(hp_inventory_count_role(x->inv, HP_ROLE_HAPROXY), 3);
	assert_int_equal(hp_remove_count(x->inv), 1);
	assert_false(x->inv->hosts[0].remove);
	assert_int_equal(x->inv->hosts[0].removed_roles, 0);
	fx_free(x);
	x = fx_new(false);
	assert_int_equal(hp_remove_count(x->inv), 0);
	assert_int_equal(hp_inventory_count_role(x->inv, HP_ROLE_ETCD), 4);
	fx_free(x);
}

static void test_services_parse(void **state)
{
	(void)state;
	assert_int_equal(hp_remove_services_parse("patroni active\n"
						  "etcd inactive\n"
						  "haproxy active\n"),
			 HP_ROLE_PATRONI | HP_ROLE_HAPROXY);
	assert_int_equal(hp_remove_services_parse("patroni inactive\n"
						  "etcd active\n"
						  "haproxy failed\n"),
			 HP_ROLE_ETCD);
	/* a line that only ends like one: not counted */
	assert_int_equal(hp_remove_services_parse("xpatroni active\n"), 0);
	assert_int_equal(hp_remove_services_parse("patroni activating\n"), 0);
	/* the front layers: keepalived holds the VIP, PgBouncer pools */
	assert_int_equal(hp_remove_services_parse("haproxy active\n"
						  "keepalived active\n"
						  "pgbouncer active\n"),
			 HP_ROLE_HAPROXY | HP_ROLE_VIP | HP_ROLE_PGBOUNCER);
	assert_int_equal(hp_remove_services_parse("keepalived inactive\n"
						  "pgbouncer active\n"),
			 HP_ROLE_PGBOUNCER);
	assert_int_equal(hp_remove_services_parse(""), 0);
	assert_int_equal(hp_remove_services_parse(NULL), 0);
}

static void test_member_and_candidate(void **state)
{
	struct fx *x = fx_new(true);
	json_t *c = json_loads(
		"{\"members\": ["
		"{\"name\": \"d\", \"role\": \"leader\", \"state\": \"running\"},"
		"{\"name\": \"a\", \"role\": \"replica\", \"state\": \"stopped\"},"
		"{\"name\": \"b\", \"role\": \"replica\", \"state\": \"streaming\"},"
		"{\"name\": \"c\", \"role\": \"sync_standby\", \"state\": "
		"\"streaming\"}]}",
		0, NULL);
	bool leader;

	(void)state;
	assert_true(hp_remove_is_member(c, "d", &leader));
	assert_true(leader);
	assert_true(hp_remove_is_member(c, "b", &leader));
	assert_false(leader);
	assert_false(hp_remove_is_member(c, "e", &leader));
	assert_false(leader);
	/* the sync standby first, whatever the inventory order */
	assert_string_equal(hp_remove_candidate(x->inv, c), "c");
	json_array_remove(json_object_get(c, "members"), 3);
	/* else the first running replica: a is stopped */
	assert_string_equal(hp_remove_candidate(x->inv, c), "b");
	json_array_remove(json_object_get(c, "members"), 2);
	assert_null(hp_remove_candidate(x->inv, c));
	json_decref(c);
	/* the leaving host itself is never the candidate */
	c = json_loads("{\"members\": [{\"name\": \"d\", \"role\": "
		       "\"sync_standby\", \"state\": \"streaming\"}]}",
		       0, NULL);
	assert_null(hp_remove_candidate(x->inv, c));
	json_decref(c);
	fx_free(x);
}

/* A new Patroni member: not listed, and its Patroni not running. A
 * listed member, or one whose Patroni runs (merely down in the list), is
 * not new. */
static void test_patroni_new(void **state)
{
	json_t *c = json_loads("{\"members\": [{\"name\": \"a\"}, "
			       "{\"name\": \"b\"}]}",
			       0, NULL);

	(void)state;
	assert_non_null(hp_patroni_member(c, "b"));
	assert_null(hp_patroni_member(c, "d"));
	assert_true(hp_patroni_is_new(c, "d", "inactive\n"));
	assert_true(hp_patroni_is_new(c, "d", "unknown\n"));
	assert_true(hp_patroni_is_new(c, "d", ""));
	assert_true(hp_patroni_is_new(c, "d", NULL));
	assert_false(hp_patroni_is_new(c, "d", "active\n"));
	assert_false(hp_patroni_is_new(c, "a", "inactive\n"));
	assert_null(hp_patroni_member(NULL, "a"));
	json_decref(c);
}

/* The key a removal deletes: <namespace><scope>/members/<name>, with one
 * slash whatever the namespace ends with. */
static void test_dcs_key(void **state)
{
	struct fx *x = fx_new(true);
	char *k = hp_patroni_dcs_key(x->inv, "members/d");

	(void)state;
	assert_string_equal(k, "/service/t/members/d");
	free(k);
	free(x->inv->patroni.namespace_);
	x->inv->patroni.namespace_ = xstrdup("/ns");
	k = hp_patroni_dcs_key(x->inv, "leader");
	assert_string_equal(k, "/ns/t/leader");
	free(k);
	fx_free(x);
}

/* etcd's refusal of a membership change while a member is newly back:
 * asked again; any other answer is final. */
static void test_reconfig_busy(void **state)
{
	struct hp_rest_resp resp;

	(void)state;
	hp_rest_resp_init(&resp);
	resp.status = 503;
	hp_buf_adds(&resp.body, "{\"error\":\"etcdserver: unhealthy cluster\","
				"\"code\":14}");
	assert_true(hp_etcd_reconfig_busy(&resp));
	resp.status = 500;
	assert_false(hp_etcd_reconfig_busy(&resp));
	resp.status = 503;
	hp_buf_reset(&resp.body);
	hp_buf_adds(&resp.body, "{\"error\":\"etcdserver: request timed out\"}");
	assert_false(hp_etcd_reconfig_busy(&resp));
	hp_rest_resp_release(&resp);
	hp_rest_resp_init(&resp);
	resp.status = 503;
	assert_false(hp_etcd_reconfig_busy(&resp));
	hp_rest_resp_release(&resp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_parse_hostile),
		cmocka_unit_test(test_parse_too_many),
		cmocka_unit_test(test_change_join),
		cmocka_unit_test(test_change_leave),
		cmocka_unit_test(test_change_refused),
		cmocka_unit_test(test_initial_cluster),
		cmocka_unit_test(test_quorum),
		cmocka_unit_test(test_check_add),
		cmocka_unit_test(test_check_remove),
		cmocka_unit_test(test_warn),
		cmocka_unit_test(test_initial_file),
		cmocka_unit_test(test_inventory_remove),
		cmocka_unit_test(test_services_parse),
		cmocka_unit_test(test_member_and_candidate),
		cmocka_unit_test(test_patroni_new),
		cmocka_unit_test(test_dcs_key),
		cmocka_unit_test(test_reconfig_busy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
