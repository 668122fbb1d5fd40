/*
 * The SQL step: a psql script whose values travel as psql variables, run
 * on one member over its SSH session.
 *
 * A value (a role's password verifier, a database or extension name) is
 * never pasted into SQL text. The script starts with one `\set name 'value'`
 * line per value, the value quoted by hp_sql_literal's rules (printable
 * ASCII without a backslash, each quote doubled: psql reads such an
 * argument back exactly), and the SQL refers to it as :'name' (a literal)
 * or :"name" (an identifier): psql quotes it for the server. The whole
 * script goes on psql's standard input, so no value is in a command line,
 * and psql runs with ON_ERROR_STOP.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "phases.h"
#include "shell.h"

/* The most bytes of psql's answer read. */
#define SQL_OUT_MAX ((size_t)256 << 10)

void hp_sql_init(struct hp_sql *s)
{
	hp_buf_init(&s->vars, 0);
	hp_buf_init(&s->text, 0);
}

void hp_sql_release(struct hp_sql *s)
{
	/* a script may hold a password verifier */
	if (s->vars.buf)
		explicit_bzero(s->vars.buf, s->vars.len);
	hp_buf_release(&s->vars);
	hp_buf_release(&s->text);
}

bool hp_sql_var_name_ok(const char *name)
{
	size_t i;

	if (!name || !*name || strlen(name) > 32)
		return false;
	if (!((name[0] >= 'a' && name[0] <= 'z') || name[0] == '_'))
		return false;
	for (i = 1; name[i]; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') ||
		      (name[i] >= '0' && name[i] <= '9') || name[i] == '_'))
			return false;
	return true;
}

int hp_sql_var(struct hp_sql *s, const char *name, const char *value,
	       struct hp_err *err)
{
	struct hp_buf lit = HP_BUF_INIT;
	int r;

	if (!hp_sql_var_name_ok(name))
		return hp_err_set(err, HP_EINVALID,
				  "not a psql variable name: '%s'",
				  name ? name : "(null)");
	/* ON_ERROR_STOP and the like are psql's own: never overridden */
	if (!strncmp(name, "on_", 3))
		return hp_err_set(err, HP_EINVALID,
				  "reserved psql variable name: '%s'", name);
	if ((r = hp_sql_literal(&lit, value, strlen(value), err)) < 0) {
		hp_err_prefix(err, "psql variable %s", name);
		return r;
	}
	hp_buf_addf(&s->vars, "\\set %s ", name);
	hp_buf_add(&s->vars, lit.buf, lit.len);
	hp_buf_addch(&s->vars, '\n');
	explicit_bzero(lit.buf, lit.len);
	hp_buf_release(&lit);
	return 0;
}

void hp_sql_add(struct hp_sql *s, const char *sql)
{
	hp_buf_adds(&s->text, sql);
	if (s->text.len && s->text.buf[s->text.len - 1] != '\n')
		hp_buf_addch(&s->text, '\n');
}

void hp_sql_script(const struct hp_sql *s, struct hp_buf *out)
{
	hp_buf_add(out, s->vars.buf ? s->vars.buf : "", s->vars.len);
	hp_buf_add(out, s->text.buf ? s->text.buf : "", s->text.len);
}

void hp_psql_argv(struct hp_buf *out, const char *bin_dir, int port,
		  const char *superuser, const char *db)
{
	char *psql = bin_dir && *bin_dir ? xasprintf("%s/psql", bin_dir)
					 : xstrdup("psql");
	char portbuf[16];
	const char *const argv[] = {
		"runuser",
		"-u",
		"postgres",
		"--",
		psql,
		"-X",
		"-q",
		"-A",
		"-t",
		"-v",
		"ON_ERROR_STOP=1",
		"-p",
		portbuf,
		"-U",
		superuser && *superuser ? superuser : "postgres",
		"-d",
		db && *db ? db : "postgres",
		NULL,
	};

	snprintf(portbuf, sizeof(portbuf), "%d", port > 0 ? port : 5432);
	/* runuser keeps the working directory; postgres may not read it */
	hp_buf_adds(out, "cd / && ");
	hp_shell_join(out, argv);
	free(psql);
}

void hp_psql_command_db(struct hp_buf *out, const struct hp_inventory *inv,
			const char *db)
{
	hp_psql_argv(out, inv->patroni.bin_dir, inv->patroni.pg_port,
		     inv->secrets.superuser, db);
}

bool hp_sql_db_name_ok(const char *db)
{
	return !db || (*db && !strchr(db, '=') && !strstr(db, "://") &&
		       db[0] != '-' && strlen(db) <= 63);
}

int hp_sql_run(struct hp_run *run, const char *host, const char *db,
	       const struct hp_sql *s, bool write, struct hp_buf *out,
	       struct hp_err *err)
{
	struct hp_hostrun *h = host ? hp_run_host(run, host) : NULL;
	struct hp_buf cmd = HP_BUF_INIT, res = HP_BUF_INIT;
	struct hp_buf script = HP_BUF_INIT;
	int r;

	if (!h || !h->tr.ops)
		return hp_err_set(err, HP_ECONNECT, "no session to %s",
				  host ? host : "the leader");
	if (write && run->opts.plan)
		return hp_err_set(err, HP_EINVALID,
				  "internal: a writing SQL step in plan mode");
	if (!hp_sql_db_name_ok(db))
		return hp_err_set(err, HP_EINVALID, "not a database name");
	hp_buf_init(&res, SQL_OUT_MAX);
	hp_psql_command_db(&cmd, run->inv, db);
	hp_sql_script(s, &script);
	r = write ? hp_host_sh(h, cmd.buf, script.buf, script.len, 120, &res,
			       err)
		  : hp_host_sh_read(h, cmd.buf, script.buf, script.len, 60,
				    &res, err);
	if (r < 0) {
		/* the message quotes remote stderr */
		char *m = hp_printable_dup(err->msg, sizeof(err->msg));

		hp_strlcpy(err->msg, m, sizeof(err->msg));
		free(m);
		hp_err_prefix(err, "psql on %s%s%s", host, db ? ", database " : "",
			      db ? db : "");
	} else if (out) {
		hp_buf_add(out, res.buf, res.len);
	}
	if (script.buf)
		explicit_bzero(script.buf, script.len);
	hp_buf_release(&script);
	hp_buf_release(&cmd);
	hp_buf_release(&res);
	return r;
}
