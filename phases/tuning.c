/*
 * Phase 6, tuning: the checkpoint and WAL settings (tuning.*, rendered into
 * Patroni's dynamic configuration by render_dcs.c) staged through the DCS
 * with hp_dcs_converge (which, once the engine's DCS key ownership lands,
 * touches only this phase's keys; wal_buffers needs a restart and rolls);
 * then the WAL volume (tuning_wal.c) and, on a live cluster, pg_wal moved
 * onto it one member at a time (tuning_move.c). Verified with SHOW on every
 * member, no pending_restart, and pg_wal linked onto the mounted volume.
 */
#include <math.h> /* isfinite */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "phases.h"
#include "rest.h"

/* The settings this phase owns, with the unit PostgreSQL reads a bare
 * number in ("" : a plain number; NULL: not a number). */
static const struct tuning_setting {
	const char *name;
	const char *unit;
} settings[] = {
	{ "checkpoint_completion_target", "" },
	{ "checkpoint_timeout", "s" },
	{ "max_wal_size", "MB" },
	{ "min_wal_size", "MB" },
	{ "wal_buffers", "8kB" },
	{ "wal_compression", NULL },
};

static const char *inv_value(const struct hp_tuning *t, const char *name)
{
	if (!strcmp(name, "checkpoint_completion_target"))
		return t->checkpoint_completion_target;
	if (!strcmp(name, "checkpoint_timeout"))
		return t->checkpoint_timeout;
	if (!strcmp(name, "max_wal_size"))
		return t->max_wal_size;
	if (!strcmp(name, "min_wal_size"))
		return t->min_wal_size;
	if (!strcmp(name, "wal_buffers"))
		return t->wal_buffers;
	if (!strcmp(name, "wal_compression"))
		return t->wal_compression;
	return NULL;
}

/* A unit's factor to bytes or milliseconds (memory and time units never
 * meet: a setting has one kind). 0: not a unit. */
static double unit_factor(const char *u)
{
	static const struct {
		const char *u;
		double f;
	} units[] = {
		{ "", 1 },	    { "B", 1 },		 { "kB", 1024.0 },
		{ "8kB", 8192.0 },  { "MB", 1048576.0 }, { "GB", 1073741824.0 },
		{ "TB", 1099511627776.0 }, { "us", 0.001 }, { "ms", 1 },
		{ "s", 1000 },	    { "min", 60000 },	 { "h", 3600000 },
		{ "d", 86400000 },
	};
	size_t i;

	for (i = 0; i < HP_ARRAY_SIZE(units); i++)
		if (!strcmp(u, units[i].u))
			return units[i].f;
	return 0;
}

static bool is_time(const char *u)
{
	return !strcmp(u, "us") || !strcmp(u, "ms") || !strcmp(u, "s") ||
	       !strcmp(u, "min") || !strcmp(u, "h") || !strcmp(u, "d");
}

/* "15min", "900", "0.9": the value in base units (bytes, ms), a bare
 * number in dflt. */
static bool to_base(const char *s, const char *dflt, double *out)
{
	char *end;
	double v, f;

	if (!s || !*s || strlen(s) > 40)
		return false;
	v = strtod(s, &end);
	if (end == s || !isfinite(v))
		return false;
	while (*end == ' ')
		end++;
	/* a plain number takes no unit; a time no memory unit, and back */
	if (*end && (!*dflt || is_time(end) != is_time(dflt)))
		return false;
	f = unit_factor(*end ? end : dflt);
	if (f == 0)
		return false;
	*out = v * f;
	return true;
}

/* wal_compression and booleans: one spelling each. */
static const char *canon_word(const char *s)
{
	static const char *const on[] = { "on", "true", "yes", "1", "pglz" };
	static const char *const off[] = { "off", "false", "no", "0" };
	size_t i;

	for (i = 0; i < HP_ARRAY_SIZE(on); i++)
		if (!strcasecmp(s, on[i]))
			return "pglz";
	for (i = 0; i < HP_ARRAY_SIZE(off); i++)
		if (!strcasecmp(s, off[i]))
			return "off";
	return s;
}

bool hp_tuning_value_eq(const char *name, const char *want, const char *shown)
{
	const struct tuning_setting *s = NULL;
	double a, b;
	size_t i;

	if (!want || !shown)
		return false;
	for (i = 0; i < HP_ARRAY_SIZE(settings); i++)
		if (!strcmp(name, settings[i].name))
			s = &settings[i];
	if (s && s->unit) {
		if (!strcmp(name, "wal_buffers") && !strcmp(want, "-1"))
			return to_base(shown, s->unit, &b);
		if (!to_base(want, s->unit, &a) || !to_base(shown, s->unit, &b))
			return false;
		return (a > b ? a - b : b - a) <=
		       1e-9 * (a > 1.0 ? a : a < -1.0 ? -a : 1.0);
	}
	return !strcasecmp(canon_word(want), canon_word(shown));
}

/* ---- converge ---------------------------------------------------------------- */

static int volume_host(struct hp_hostrun *h, void *arg)
{
	(void)arg;
	return hp_wal_volume_host(h, &h->err);
}

/* The first failed host's error into err. */
static int host_failure(struct hp_run *run, const char *what,
			struct hp_err *err)
{
	char *w = xasprintf("tuning: %s", what);
	int r = hp_run_failure(run, w, err);

	free(w);
	return r;
}

int hp_tuning_converge(struct hp_run *run, struct hp_err *err)
{
	const struct hp_tuning *t = &run->inv->tuning;
	struct hp_rest rest;
	char *leader = NULL;
	int r;

	/* refusals first, before anything changes */
	if ((r = hp_wal_volume_precheck(run, err)) < 0)
		return r;
	if ((r = hp_run_rest_init(run, &rest, 2000, err)) < 0)
		return r;
	if ((r = hp_patroni_leader(run, &rest, &leader, NULL, err)) < 0)
		goto out;
	if (!leader) {
		if (run->opts.plan)
			hp_run_record(run, NULL, HP_STEP_CHANGED, "tuning",
				      "no cluster yet: set at bootstrap", NULL,
				      hp_now_ms());
		else
			r = hp_err_set(err, HP_EVERIFY, "patroni has no leader");
		goto out;
	}
	if ((r = hp_dcs_converge(run, &rest, leader, err)) < 0)
		goto out;
	if (t->wal_device &&
	    hp_run_each(run, HP_ROLE_PATRONI, volume_host, NULL)) {
		r = host_failure(run, "wal volume", err);
		goto out;
	}
	if (t->wal_dir)
		r = hp_wal_move_rolling(run, &rest, err);
out:
	free(leader);
	hp_rest_release(&rest);
	return r;
}

/* ---- verify ------------------------------------------------------------------ */

/* The value the run wants for setting name: the rollback's DCS settings
 * when restoring, else the inventory's. NULL: not managed. Caller frees. */
static char *wanted(const struct hp_run *run, const char *name)
{
	const json_t *v;

	const json_t *dcs = hp_desired_point(run) ? run->desired.dcs : NULL;

	if (!dcs)
		return inv_value(&run->inv->tuning, name)
			       ? xstrdup(inv_value(&run->inv->tuning, name))
			       : NULL;
	v = json_object_get(json_object_get(json_object_get(dcs,
							    "postgresql"),
					    "parameters"),
			    name);
	if (json_is_string(v))
		return xstrdup(json_string_value(v));
	if (json_is_integer(v))
		return xasprintf("%lld", (long long)json_integer_value(v));
	if (json_is_real(v))
		return xasprintf("%.17g", json_real_value(v));
	return NULL;
}

/* One answer line "name|value|t-or-f" against the wanted values. */
static int check_line(struct hp_run *run, const char *host, char *line,
		      struct hp_err *err)
{
	char *v = strchr(line, '|'), *pr = v ? strchr(v + 1, '|') : NULL;
	char *want, *q;
	int r = 0;

	if (!pr || strchr(pr + 1, '|') || strlen(line) > 200) {
		q = hp_printable_dup(line, 80);
		r = hp_err_set(err, HP_EREMOTE, "SHOW on %s: bad line \"%s\"",
			       host, q);
		free(q);
		return r;
	}
	*v++ = '\0';
	*pr++ = '\0';
	want = wanted(run, line);
	/*
	 * pending_restart with the running value already the wanted one is
	 * not a change to wait for: after a restart-needing value is set and
	 * set back before any restart (a rollback), Patroni keeps the old
	 * value in postgresql.conf, whose pending flag PostgreSQL keeps, but
	 * writes the file again from the configuration before it starts
	 * PostgreSQL (docs/field-notes.md). Any other pending restart is.
	 */
	if (!strcmp(pr, "t") && !(want && hp_tuning_value_eq(line, want, v))) {
		free(want);
		return hp_err_set(err, HP_EVERIFY,
				  "%s: %s waits for a restart (pending_restart)",
				  host, line);
	}
	if (want && !hp_tuning_value_eq(line, want, v)) {
		q = hp_printable_dup(v, 40);
		r = hp_err_set(err, HP_EVERIFY, "%s: SHOW %s is %s, want %s",
			       host, line, q, want);
		free(q);
	}
	free(want);
	return r;
}

int hp_tuning_show_check(struct hp_run *run, const char *host,
			 const char *out, struct hp_err *err)
{
	char *copy = xstrdup(out), *save = NULL, *line;
	size_t n = 0;
	int r = 0;

	for (line = strtok_r(copy, "\n", &save); line && r == 0;
	     line = strtok_r(NULL, "\n", &save))
		if (++n > HP_ARRAY_SIZE(settings))
			r = hp_err_set(err, HP_EREMOTE,
				       "SHOW on %s: too many lines", host);
		else
			r = check_line(run, host, line, err);
	if (r == 0 && n != HP_ARRAY_SIZE(settings))
		r = hp_err_set(err, HP_EREMOTE, "SHOW on %s: %zu lines, not %zu",
			       host, n, HP_ARRAY_SIZE(settings));
	free(copy);
	return r;
}

static int show_host(struct hp_hostrun *h, void *arg)
{
	struct hp_sql s;
	struct hp_buf out = HP_BUF_INIT;
	int r;

	(void)arg;
	hp_sql_init(&s);
	hp_sql_add(&s, "SELECT name, current_setting(name), pending_restart "
		       "FROM pg_settings WHERE name IN "
		       "('checkpoint_completion_target', 'checkpoint_timeout', "
		       "'max_wal_size', 'min_wal_size', 'wal_buffers', "
		       "'wal_compression') ORDER BY name;");
	r = hp_sql_run(h->run, h->host->name, NULL, &s, false, &out, &h->err);
	if (r == 0)
		r = hp_tuning_show_check(h->run, h->host->name, out.buf,
					 &h->err);
	hp_run_record(h->run, h->host->name, r < 0 ? HP_STEP_FAILED : HP_STEP_OK,
		      "verify SHOW tuning", r < 0 ? h->err.msg : NULL, NULL,
		      hp_now_ms());
	hp_sql_release(&s);
	hp_buf_release(&out);
	return r;
}

int hp_tuning_verify(struct hp_run *run, struct hp_err *err)
{
	struct hp_rest rest;
	char *leader = NULL;
	int r;

	if (run->opts.plan)
		return 0;
	if (hp_run_each(run, HP_ROLE_PATRONI, show_host, NULL))
		return host_failure(run, "SHOW", err);
	if ((r = hp_wal_verify(run, err)) < 0)
		return r;
	if ((r = hp_run_rest_init(run, &rest, 2000, err)) < 0)
		return r;
	r = hp_patroni_leader(run, &rest, &leader, NULL, err);
	if (r == 0 && !leader)
		r = hp_err_set(err, HP_EVERIFY, "patroni has no leader");
	if (r == 0)
		r = hp_patroni_wait_healthy(
			run, &rest, leader,
			run->inv->validation.timeout_s * 1000, err);
	free(leader);
	hp_rest_release(&rest);
	return r;
}
