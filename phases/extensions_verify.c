/*
 * The extensions phase's verification: SHOW shared_preload_libraries on
 * every member lists each preloaded library; pg_extension shows every
 * database as the inventory wants it on the leader, and on each replica
 * once it has replayed the leader's current WAL position (waited for up
 * to validation.timeout_s). A failure is HP_EVERIFY naming the host, the
 * database and the extension.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "phases.h"

/* The first line of psql's answer (remote text), without "\n". */
static void first_line(const struct hp_buf *out, const char **s, size_t *n)
{
	*s = out->buf ? out->buf : "";
	*n = strcspn(*s, "\n");
}

/* One read-only query's answer on host (database postgres). */
static int query(struct hp_run *run, const char *host, const char *sql,
		 const char *lsn, struct hp_buf *out, struct hp_err *err)
{
	struct hp_sql s;
	int r = 0;

	hp_sql_init(&s);
	hp_buf_reset(out);
	if (lsn)
		r = hp_sql_var(&s, "lsn", lsn, err);
	hp_sql_add(&s, sql);
	if (r == 0)
		r = hp_sql_run(run, host, NULL, &s, false, out, err);
	hp_sql_release(&s);
	return r;
}

/* SHOW shared_preload_libraries's answer on host lists every library the
 * inventory preloads. */
static int preload_ok(struct hp_run *run, const char *host,
		      const struct hp_buf *out, struct hp_err *err)
{
	const struct hp_strlist *libs =
		&run->inv->extensions.shared_preload_libraries;
	struct hp_buf shown = HP_BUF_INIT;
	const char *s;
	size_t i, n;
	int r = 0;

	for (i = 0; r == 0 && i < libs->nr; i++) {
		if (hp_ext_preload_has(out->buf, libs->items[i]))
			continue;
		first_line(out, &s, &n);
		hp_buf_add_printable(&shown, s, n, 200);
		r = hp_err_set(err, HP_EVERIFY,
			       "%s: shared_preload_libraries is '%s': no %s",
			       host, shown.buf, libs->items[i]);
	}
	hp_buf_release(&shown);
	return r;
}

/* Database d's extensions on host (the state query's answer) as the
 * inventory wants them. */
static int db_ok(const char *host, const struct hp_ext_db *d,
		 const struct hp_buf *out, struct hp_err *err)
{
	struct hp_buf why = HP_BUF_INIT;
	struct hp_ext_state st;
	int r;

	memset(&st, 0, sizeof(st));
	if ((r = hp_ext_state_parse(out->buf, &st, err)) == 0 &&
	    !hp_ext_state_ok(d, &st, &why))
		r = hp_err_set(err, HP_EVERIFY, "%s: %s", host, why.buf);
	hp_ext_state_release(&st);
	hp_buf_release(&why);
	return r;
}

/* Every database of the inventory on host as it wants it, one psql each
 * (after a wait for replay: rare). */
static int check_databases(struct hp_run *run, const char *host,
			   struct hp_err *err)
{
	const struct hp_extensions *e = &run->inv->extensions;
	struct hp_buf out = HP_BUF_INIT;
	size_t i;
	int r = 0;

	for (i = 0; i < e->nr_databases && r == 0; i++) {
		const struct hp_ext_db *d = &e->databases[i];
		struct hp_sql s;

		hp_sql_init(&s);
		hp_buf_reset(&out);
		if ((r = hp_ext_state_sql(&s, d, err)) == 0 &&
		    (r = hp_sql_run(run, host, d->name, &s, false, &out,
				    err)) == 0)
			r = db_ok(host, d, &out, err);
		hp_sql_release(&s);
	}
	hp_buf_release(&out);
	return r;
}

/* Wait until host (a replica) has replayed lsn. */
static int wait_replayed(struct hp_run *run, const char *host, const char *lsn,
			 int64_t end, struct hp_err *err)
{
	struct hp_buf out = HP_BUF_INIT;
	const char *s = "";
	size_t n = 0;
	int r, pause = 10;

	for (;; pause = pause < 250 ? pause * 2 : 250) {
		r = query(run, host,
			  "SELECT pg_last_wal_replay_lsn() >= :'lsn'::pg_lsn;",
			  lsn, &out, err);
		if (r < 0)
			break;
		first_line(&out, &s, &n);
		if (n == 1 && s[0] == 't')
			break;
		if (hp_now_ms() >= end) {
			r = hp_err_set(err, HP_EVERIFY,
				       "%s has not replayed the leader's WAL "
				       "up to %s within %d s",
				       host, lsn, run->inv->validation.timeout_s);
			break;
		}
		if (hp_interrupted()) {
			r = hp_err_set(err, HP_EINTR, "interrupted");
			break;
		}
		/* a replica is usually milliseconds behind: ask again soon,
		 * then back off to 250 ms */
		hp_sleep_ms(pause);
	}
	hp_buf_release(&out);
	return r;
}

bool hp_ext_lsn_from_status(const json_t *status, char *lsn, size_t size)
{
	const char *role = json_string_value(json_object_get(status, "role"));
	const json_t *loc =
		json_object_get(json_object_get(status, "xlog"), "location");
	json_int_t v;
	int n;

	if (!role || (strcmp(role, "master") != 0 &&
		      strcmp(role, "primary") != 0))
		return false;
	if (!json_is_integer(loc) || (v = json_integer_value(loc)) < 0)
		return false;
	n = snprintf(lsn, size, "%X/%X", (unsigned)((uint64_t)v >> 32),
		     (unsigned)((uint64_t)v & 0xffffffffu));
	return n > 0 && (size_t)n < size;
}

/* The leader's current WAL position, checked (it goes back as a psql
 * variable): from Patroni's GET /patroni (it asks PostgreSQL on each
 * request), or, when that does not say, from psql. */
static int leader_lsn(struct hp_run *run, struct hp_rest *rest,
		      const char *leader, char *lsn, size_t size,
		      struct hp_err *err)
{
	const struct hp_host *lh = hp_inventory_host(run->inv, leader);
	struct hp_buf out = HP_BUF_INIT, shown = HP_BUF_INIT;
	struct hp_rest_resp resp;
	struct hp_err e;
	const char *s;
	size_t n;
	int r;

	hp_rest_resp_init(&resp);
	if (lh) {
		char *url = hp_url(lh, run->inv->patroni.restapi_port,
				   "/patroni");
		bool ok = hp_rest_call(rest, "GET", url, NULL, &resp, &e) ==
				  0 &&
			  resp.status == 200 &&
			  hp_ext_lsn_from_status(resp.json, lsn, size);

		free(url);
		hp_rest_resp_release(&resp);
		if (ok)
			return 0;
	}
	r = query(run, leader, "SELECT pg_current_wal_lsn();", NULL, &out,
		  err);
	if (r == 0) {
		first_line(&out, &s, &n);
		if (hp_ext_lsn_ok(s, n) && n < size) {
			memcpy(lsn, s, n);
			lsn[n] = '\0';
		} else {
			hp_buf_add_printable(&shown, s, n, 40);
			r = hp_err_set(err, HP_EREMOTE,
				       "%s: pg_current_wal_lsn() answered '%s'",
				       leader, shown.buf);
		}
	}
	hp_buf_release(&out);
	hp_buf_release(&shown);
	return r;
}

/* What each member's check needs: the leader, and the WAL position a
 * replica must have replayed before its catalogs say anything. */
struct member_check {
	const char *leader;
	const char *lsn;
	int64_t end;
};

/* The member's questions, in one psql session: the preload; whether it
 * replayed the leader's position (a replica); each database's
 * extensions. */
static int member_parts(struct hp_run *run, const struct member_check *c,
			bool leader, struct hp_sql_part *p, struct hp_err *err)
{
	const struct hp_extensions *e = &run->inv->extensions;
	size_t i;
	int r = 0;

	hp_sql_add(&p[0].sql, "SHOW shared_preload_libraries;");
	if (leader) /* nothing to replay: a section all the same */
		hp_sql_add(&p[1].sql, "SELECT true;");
	else if ((r = hp_sql_var(&p[1].sql, "lsn", c->lsn, err)) == 0)
		hp_sql_add(&p[1].sql, "SELECT pg_last_wal_replay_lsn() >= "
				      ":'lsn'::pg_lsn;");
	for (i = 0; r == 0 && i < e->nr_databases; i++) {
		p[2 + i].db = e->databases[i].name;
		r = hp_ext_state_sql(&p[2 + i].sql, &e->databases[i], err);
	}
	return r;
}

/* One member (hp_run_each: the members in parallel, each on its own
 * session): the preload, then, on a replica once it has replayed the
 * leader's position, each database's extensions. A replica that has not
 * replayed it yet is waited for, and its catalogs read again. */
static int verify_member(struct hp_hostrun *h, void *arg)
{
	const struct member_check *c = arg;
	const struct hp_extensions *e = &h->run->inv->extensions;
	const char *name = h->host->name;
	bool leader = !strcmp(name, c->leader);
	size_t nr = 2 + e->nr_databases, n;
	struct hp_sql_part *p = xcalloc(nr, sizeof(*p));
	const char *s;
	int r;

	hp_sql_parts_init(p, nr);
	if ((r = member_parts(h->run, c, leader, p, &h->err)) == 0 &&
	    (r = hp_sql_run_parts(h->run, name, p, nr, &h->err)) == 0)
		r = preload_ok(h->run, name, &p[0].out, &h->err);
	if (r == 0) {
		first_line(&p[1].out, &s, &n);
		if (!leader && (n != 1 || s[0] != 't')) {
			if ((r = wait_replayed(h->run, name, c->lsn, c->end,
					       &h->err)) == 0)
				r = check_databases(h->run, name, &h->err);
		} else {
			size_t i;

			for (i = 0; r == 0 && i < e->nr_databases; i++)
				r = db_ok(name, &e->databases[i],
					  &p[2 + i].out, &h->err);
		}
	}
	hp_sql_parts_release(p, nr);
	free(p);
	return r;
}

static int verify_members(struct hp_run *run, struct hp_rest *rest,
			  const char *leader, struct hp_err *err)
{
	const struct hp_hostrun *h;
	struct member_check c;
	char lsn[32];
	int r;

	if ((r = leader_lsn(run, rest, leader, lsn, sizeof(lsn), err)) < 0)
		return r;
	c.leader = leader;
	c.lsn = lsn;
	c.end = hp_now_ms() + run->inv->validation.timeout_s * 1000LL;
	if (!hp_run_each(run, HP_ROLE_PATRONI, verify_member, &c))
		return 0;
	if ((h = hp_run_first_failed(run)))
		return hp_err_set(err, h->err.code ? h->err.code : HP_EVERIFY,
				  "%s", h->err.msg);
	return hp_err_set(err, HP_EVERIFY, "a member failed its check");
}

int hp_extensions_verify(struct hp_run *run, struct hp_err *err)
{
	struct hp_rest rest;
	char *leader = NULL;
	int64_t t = hp_now_ms();
	int r;

	if ((r = hp_run_rest_init(run, &rest, 3000, err)) < 0)
		return r;
	r = hp_patroni_leader(run, &rest, &leader, NULL, err);
	if (r == 0 && !leader)
		r = hp_err_set(err, HP_EVERIFY, "patroni has no leader");
	else if (r == 0 && hp_desired_point(run))
		/* a rollback restores the preload only: the cluster must be
		 * well */
		r = hp_patroni_wait_healthy(run, &rest, leader,
					    run->inv->validation.timeout_s *
						    1000,
					    err);
	else if (r == 0)
		r = verify_members(run, &rest, leader, err);
	hp_run_record(run, NULL, r < 0 ? HP_STEP_FAILED : HP_STEP_OK,
		      "verify extensions: pg_extension and the preload on "
		      "every member",
		      r < 0 ? err->msg : NULL, NULL, t);
	if (r < 0 && r != HP_EINTR)
		err->code = r = HP_EVERIFY;
	free(leader);
	hp_rest_release(&rest);
	return r;
}
