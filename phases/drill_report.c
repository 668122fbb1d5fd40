/*
 * The drill's report: one line per trial, then min / median / max of each
 * stage, the RTO (the first acknowledged write after the fault) and the
 * RPO (acknowledged rows missing afterwards), over the trials that ran to
 * the end; and the same as JSON, in milliseconds.
 */
#include <stdlib.h>
#include <string.h>

#include "drill.h"

void hp_drill_trial_init(struct hp_drill_trial *t, int n,
			 enum hp_drill_kind kind, const char *victim)
{
	size_t i;

	memset(t, 0, sizeof(*t));
	t->n = n;
	t->kind = kind;
	hp_strlcpy(t->victim, victim ? victim : "", sizeof(t->victim));
	for (i = 0; i < HP_DS_NR; i++)
		t->at[i] = -1;
	t->rpo = -1;
}

static void secs(struct hp_buf *out, int64_t ms)
{
	if (ms < 0)
		hp_buf_adds(out, "-");
	else
		hp_buf_addf(out, "%lld.%02lld s", (long long)(ms / 1000),
			    (long long)(ms % 1000 / 10));
}

void hp_drill_trial_line(const struct hp_drill_trial *t, int count,
			 struct hp_buf *out)
{
	size_t i;

	hp_buf_addf(out, "trial %d/%d %s %s", t->n, count,
		    hp_drill_kind_name(t->kind), t->victim);
	if (t->new_leader[0])
		hp_buf_addf(out, " -> %s", t->new_leader);
	else if (t->done)
		hp_buf_adds(out, " (kept leading)");
	hp_buf_adds(out, ":");
	for (i = 0; i < HP_DS_WRITE; i++) {
		hp_buf_addf(out, " %s ", hp_drill_stage_names[i]);
		secs(out, t->at[i]);
		hp_buf_adds(out, ",");
	}
	hp_buf_adds(out, " RTO ");
	secs(out, HP_DRILL_RTO(t));
	hp_buf_adds(out, ", longest write gap ");
	secs(out, t->at[HP_DS_GAP]);
	if (t->rpo >= 0)
		hp_buf_addf(out, ", RPO %ld of %ld rows", t->rpo, t->acked);
	else
		hp_buf_adds(out, ", RPO -");
	if (t->note[0])
		hp_buf_addf(out, " (%s)", t->note);
	hp_buf_adds(out, "\n");
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

int64_t hp_drill_median(int64_t *v, size_t n)
{
	if (!n)
		return -1;
	qsort(v, n, sizeof(*v), cmp_i64);
	return v[(n - 1) / 2];
}

/* The measured values of stage s (or the RPO, s == HP_DS_NR) over the
 * trials that ran to the end, sorted; how many. */
static size_t values(const struct hp_drill_trial *t, size_t nr, size_t s,
		     int64_t *v)
{
	size_t i, n = 0;

	for (i = 0; i < nr; i++) {
		int64_t x = s < HP_DS_NR ? t[i].at[s] : t[i].rpo;

		if (t[i].done && x >= 0)
			v[n++] = x;
	}
	qsort(v, n, sizeof(*v), cmp_i64);
	return n;
}

void hp_drill_summary(const struct hp_drill_trial *t, size_t nr,
		      struct hp_buf *out)
{
	int64_t *v = xcalloc(nr + 1, sizeof(*v));
	size_t s, done = 0;

	for (s = 0; s < nr; s++)
		done += t[s].done;
	if (done)
		hp_buf_addf(out, "over %zu trial%s (min / median / max):\n",
			    done, done == 1 ? "" : "s");
	for (s = 0; done && s <= HP_DS_NR; s++) {
		size_t n = values(t, nr, s, v);

		if (!n)
			continue;
		hp_buf_addf(out, "  %-19s",
			    s == HP_DS_NR	    ? "RPO (rows)"
			    : s == HP_DS_WRITE ? "RTO (first write)"
			    : s == HP_DS_GAP   ? "longest write gap"
					       : hp_drill_stage_names[s]);
		if (s == HP_DS_NR)
			hp_buf_addf(out, "%lld / %lld / %lld\n",
				    (long long)v[0],
				    (long long)hp_drill_median(v, n),
				    (long long)v[n - 1]);
		else
			hp_buf_addf(out, "%.2f s / %.2f s / %.2f s\n",
				    (double)v[0] / 1000,
				    (double)hp_drill_median(v, n) / 1000,
				    (double)v[n - 1] / 1000);
	}
	free(v);
}

static json_t *ms_or_null(int64_t ms)
{
	return ms < 0 ? json_null() : json_integer(ms);
}

static json_t *trial_json(const struct hp_drill_trial *t)
{
	json_t *stages = json_object(), *o;
	size_t i;

	for (i = 0; i < HP_DS_NR; i++)
		json_object_set_new(stages, hp_drill_stage_names[i],
				    ms_or_null(t->at[i]));
	o = json_pack("{si ss ss so so so so sb}", "n", t->n, "kind",
		      hp_drill_kind_name(t->kind), "victim", t->victim,
		      "new_leader",
		      t->new_leader[0] ? json_string(t->new_leader)
				       : json_null(),
		      "stages_ms", stages, "rto_ms",
		      ms_or_null(HP_DRILL_RTO(t)), "rpo_rows",
		      t->rpo < 0 ? json_null() : json_integer(t->rpo), "done",
		      t->done);
	if (!o)
		hp_die_oom();
	if (t->note[0])
		json_object_set_new(o, "note", json_string(t->note));
	return o;
}

json_t *hp_drill_json(enum hp_drill_kind kind, const struct hp_drill_trial *t,
		      size_t nr, bool interrupted)
{
	json_t *trials = json_array(), *summary = json_object(), *doc;
	int64_t *v = xcalloc(nr + 1, sizeof(*v));
	size_t i;

	if (!trials || !summary)
		hp_die_oom();
	for (i = 0; i < nr; i++)
		json_array_append_new(trials, trial_json(&t[i]));
	for (i = 0; i <= HP_DS_NR; i++) {
		size_t n = values(t, nr, i, v);

		if (!n)
			continue;
		json_object_set_new(
			summary, i == HP_DS_NR ? "rpo_rows"
					       : hp_drill_stage_names[i],
			json_pack("{sI sI sI}", "min", (json_int_t)v[0],
				  "median", (json_int_t)hp_drill_median(v, n),
				  "max", (json_int_t)v[n - 1]));
	}
	free(v);
	doc = json_pack("{ss so so sb}", "kind", hp_drill_kind_name(kind),
			"trials", trials, "summary", summary, "interrupted",
			interrupted);
	if (!doc)
		hp_die_oom();
	return doc;
}
