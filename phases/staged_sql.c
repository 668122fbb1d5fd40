/*
 * The SQL step of a staged change: which changed parameters need a
 * restart, and the hot-standby settings the leader runs with, asked of
 * PostgreSQL on the leader over SSH.
 *
 * Parameter names come from the leader's GET /config, which is plain HTTP:
 * they are checked GUC names before they get here, and still each one goes
 * through the one SQL-literal function. The script travels on psql's
 * standard input, so no name is ever in a command line, and psql runs with
 * ON_ERROR_STOP so a failing statement is a failure.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "staged_priv.h"
#include "shell.h"

/* The most bytes of psql's answer read: a few short lines are expected. */
#define PSQL_OUT_MAX ((size_t)64 << 10)

const struct hp_standby_setting hp_standby_settings[] = {
	{"max_connections", 100},	   {"max_prepared_transactions", 0},
	{"max_locks_per_transaction", 64}, {"max_wal_senders", 10},
	{"max_worker_processes", 8},
};
const size_t hp_standby_settings_nr = HP_ARRAY_SIZE(hp_standby_settings);


int hp_sql_literal(struct hp_buf *out, const char *s, size_t len,
		   struct hp_err *err)
{
	struct hp_buf lit = HP_BUF_INIT;
	const char *why = NULL;
	size_t i;

	hp_buf_addch(&lit, '\'');
	for (i = 0; i < len && !why; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\0')
			why = "a NUL byte";
		else if (c < 0x20 || c == 0x7f)
			why = "a control character";
		else if (c >= 0x80)
			why = "a non-ASCII byte";
		else if (c == '\\')
			why = "a backslash";
		else if (c == '\'')
			hp_buf_adds(&lit, "''");
		else
			hp_buf_addch(&lit, (char)c);
	}
	hp_buf_addch(&lit, '\'');
	if (!why)
		hp_buf_add(out, lit.buf, lit.len);
	hp_buf_release(&lit);
	if (why)
		return hp_err_set(err, HP_EINVALID,
				  "refusing to put %s into an SQL literal",
				  why);
	return 0;
}

void hp_psql_command(struct hp_buf *out, const struct hp_inventory *inv)
{
	hp_psql_command_db(out, inv, NULL);
}

/* Append name, lowercased (GUC names are case-insensitive and
 * pg_settings spells them in lowercase), as an SQL literal. */
static int add_name(struct hp_buf *sql, const char *name, struct hp_err *err)
{
	char *low;
	size_t i;
	int r;

	if (!hp_guc_name_valid(name)) {
		char *q = hp_printable_dup(name, 64);

		r = hp_err_set(err, HP_EVERIFY,
			       "parameter name '%s' is not a valid PostgreSQL "
			       "setting name; refusing to use it",
			       q);
		free(q);
		return r;
	}
	low = xstrdup(name);
	for (i = 0; low[i]; i++)
		if (low[i] >= 'A' && low[i] <= 'Z')
			low[i] = (char)(low[i] - 'A' + 'a');
	r = hp_sql_literal(sql, low, strlen(low), err);
	free(low);
	return r;
}

int hp_staged_settings_sql(struct hp_buf *out, const json_t *params,
			   struct hp_err *err)
{
	struct hp_buf sql = HP_BUF_INIT;
	const char *k;
	json_t *v;
	size_t i;
	int r = 0, n = 0;

	json_object_foreach((json_t *)(uintptr_t)params, k, v)
	{
		hp_buf_adds(&sql, n++ ? ", "
				      : "SELECT 'R', name FROM "
					"pg_settings WHERE context = "
					"'postmaster' AND name IN (");
		if ((r = add_name(&sql, k, err)) < 0)
			goto out;
	}
	if (n)
		hp_buf_adds(&sql, ");\n");
	hp_buf_adds(&sql, "SELECT 'S', name, setting FROM pg_settings WHERE "
			  "name IN (");
	for (i = 0; i < hp_standby_settings_nr; i++) {
		if (i)
			hp_buf_adds(&sql, ", ");
		if ((r = add_name(&sql, hp_standby_settings[i].name, err)) < 0)
			goto out;
	}
	hp_buf_adds(&sql, ");\n");
	hp_buf_add(out, sql.buf, sql.len);
out:
	hp_buf_release(&sql);
	return r;
}

/* The key of params equal to name, ignoring ASCII case, or NULL. */
static const char *param_key(const json_t *params, const char *name)
{
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)(uintptr_t)params, k, v)
	{
		if (!strcasecmp(k, name))
			return k;
	}
	return NULL;
}

static bool standby_setting(const char *name)
{
	size_t i;

	for (i = 0; i < hp_standby_settings_nr; i++)
		if (!strcmp(hp_standby_settings[i].name, name))
			return true;
	return false;
}

/* A whole number of 1 to 10 digits (the settings are ints). */
static bool small_digits(const char *s, long long *out)
{
	size_t n = strspn(s, "0123456789");

	if (n == 0 || n > 10 || s[n])
		return false;
	*out = strtoll(s, NULL, 10);
	return true;
}

/* One line of psql's answer into need or params (the running values). */
static int parse_line(char *line, const json_t *params, struct hp_strlist *need,
		      json_t *running)
{
	char *bar = strchr(line, '|'), *bar2;
	const char *key;
	long long val;

	if (!bar || bar - line != 1)
		return -1;
	*bar++ = '\0';
	if (!strcmp(line, "R") && (key = param_key(params, bar)) != NULL) {
		if (!hp_strlist_has(need, key))
			hp_strlist_add(need, key);
		return 0;
	}
	if (strcmp(line, "S") != 0 || !(bar2 = strchr(bar, '|')))
		return -1;
	*bar2++ = '\0';
	if (!standby_setting(bar) || !small_digits(bar2, &val))
		return -1;
	json_object_set_new(running, bar, json_integer(val));
	return 0;
}

int hp_staged_settings_parse(const char *out, const json_t *params,
			     struct hp_strlist *need, json_t **running,
			     struct hp_err *err)
{
	json_t *values = json_object();
	char *copy = xstrdup(out ? out : ""), *line, *save = NULL;
	int r = 0;

	for (line = strtok_r(copy, "\n", &save); line && r == 0;
	     line = strtok_r(NULL, "\n", &save)) {
		struct hp_buf q = HP_BUF_INIT;

		if (!*line)
			continue;
		hp_buf_add_printable(&q, line, strlen(line), 100);
		if (parse_line(line, params, need, values) < 0)
			r = hp_err_set(err, HP_EREMOTE,
				       "unexpected line in psql's answer: "
				       "'%s'",
				       q.buf);
		hp_buf_release(&q);
	}
	for (size_t i = 0; r == 0 && i < hp_standby_settings_nr; i++)
		if (!json_object_get(values, hp_standby_settings[i].name))
			r = hp_err_set(err, HP_EREMOTE,
				       "psql's answer lacks the running value "
				       "of %s",
				       hp_standby_settings[i].name);
	if (r == 0)
		*running = json_pack("{s:{s:O}}", "postgresql", "parameters",
				     values);
	json_decref(values);
	free(copy);
	return r;
}

int hp_staged_psql(struct hp_run *run, const char *host, const char *sql,
		   struct hp_buf *out, struct hp_err *err)
{
	struct hp_hostrun *h = host ? hp_run_host(run, host) : NULL;
	struct hp_buf cmd = HP_BUF_INIT, res = HP_BUF_INIT;
	int r;

	if (!h || !h->tr.ops)
		return hp_err_set(err, HP_ECONNECT, "no session to %s",
				  host ? host : "the leader");
	hp_buf_init(&res, PSQL_OUT_MAX);
	hp_psql_command(&cmd, run->inv);
	r = hp_host_sh_read(h, cmd.buf, sql, strlen(sql), 30, &res, err);
	if (r < 0 && err) {
		/* the message quotes remote stderr */
		char *m = hp_printable_dup(err->msg, sizeof(err->msg));

		hp_strlcpy(err->msg, m, sizeof(err->msg));
		free(m);
		hp_err_prefix(err, "psql on %s", host);
	} else if (r == 0) {
		hp_buf_add(out, res.buf, res.len);
	}
	hp_buf_release(&cmd);
	hp_buf_release(&res);
	return r;
}
