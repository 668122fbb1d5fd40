/*
 * One psql session for several scripts: what a check asks of every
 * database of a member costs one psql start (about 50 ms on a host: runuser,
 * psql, a connection) instead of one per database.
 *
 * Part i runs in its database (psql's \connect between parts, the name a
 * psql variable like every value; the parts of one database run together,
 * those of the session's own first, so each database is connected to once)
 * and ends with `\echo <nonce> i`. Its answer is what psql printed between
 * the previous marker line and that one. The nonce is 32 random hex digits drawn for the session, so no text
 * a catalog holds can forge a marker; a missing, repeated or out-of-order
 * marker is an error, never a guess.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "phases.h"

void hp_sql_parts_init(struct hp_sql_part *p, size_t nr)
{
	size_t i;

	for (i = 0; i < nr; i++) {
		p[i].db = NULL;
		hp_sql_init(&p[i].sql);
		hp_buf_init(&p[i].out, 0);
	}
}

void hp_sql_parts_release(struct hp_sql_part *p, size_t nr)
{
	size_t i;

	for (i = 0; i < nr; i++) {
		hp_sql_release(&p[i].sql);
		hp_buf_release(&p[i].out);
	}
}

static void make_nonce(char nonce[33])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char rnd[16];
	size_t i;

	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
		/* no entropy: still unlike any catalog text */
		int64_t t = hp_now_ms();

		for (i = 0; i < sizeof(rnd); i++)
			rnd[i] = (unsigned char)((t >> (8 * (i % 8))) ^ 0x5a);
	}
	for (i = 0; i < sizeof(rnd); i++) {
		nonce[2 * i] = hex[rnd[i] >> 4];
		nonce[2 * i + 1] = hex[rnd[i] & 15];
	}
	nonce[32] = '\0';
}

static const char *part_db(const struct hp_sql_part *p)
{
	return p->db ? p->db : "postgres";
}

void hp_sql_parts_order(const struct hp_sql_part *p, size_t nr, size_t *order)
{
	bool *done = xcalloc(nr + 1, sizeof(*done));
	size_t i, j, k = 0;

	/* the session's own database first, then each other one in the order
	 * it first appears: one \connect per database */
	for (i = 0; i < nr; i++)
		if (!strcmp(part_db(&p[i]), "postgres"))
			order[k++] = i, done[i] = true;
	for (i = 0; i < nr; i++) {
		if (done[i])
			continue;
		for (j = i; j < nr; j++)
			if (!done[j] && !strcmp(part_db(&p[j]), part_db(&p[i])))
				order[k++] = j, done[j] = true;
	}
	free(done);
}

int hp_sql_parts_script(const struct hp_sql_part *p, size_t nr,
			const char *nonce, struct hp_sql *out,
			struct hp_err *err)
{
	size_t *order = xcalloc(nr + 1, sizeof(*order));
	const char *cur = "postgres";
	size_t k;
	int r = 0;

	hp_sql_parts_order(p, nr, order);
	for (k = 0; k < nr && r == 0; k++) {
		size_t i = order[k];
		const char *db = part_db(&p[i]);

		if (!hp_sql_db_name_ok(db)) {
			r = hp_err_set(err, HP_EINVALID, "not a database name");
			break;
		}
		if (strcmp(db, cur) != 0) {
			/* the name is a variable: psql quotes it */
			if ((r = hp_sql_var(out, "hp_session_db", db, err)) < 0)
				break;
			hp_buf_adds(&out->vars,
				    "\\connect :\"hp_session_db\"\n");
			cur = db;
		}
		/* the whole script goes in vars, in order: wiped on release
		 * like any value */
		hp_sql_script(&p[i].sql, &out->vars);
		if (out->vars.len && out->vars.buf[out->vars.len - 1] != '\n')
			hp_buf_addch(&out->vars, '\n');
		hp_buf_addf(&out->vars, "\\echo %s %zu\n", nonce, i);
	}
	free(order);
	return r;
}

int hp_sql_split_parts(const char *ans, size_t len, const char *nonce,
		       struct hp_sql_part *p, size_t nr, struct hp_err *err)
{
	size_t nl = strlen(nonce), pos = 0, start = 0, k = 0;
	size_t *order = xcalloc(nr + 1, sizeof(*order));
	int r = 0;

	hp_sql_parts_order(p, nr, order);
	while (pos < len && r == 0) {
		const char *line = ans + pos;
		const char *end = memchr(line, '\n', len - pos);
		size_t n = end ? (size_t)(end - line) : len - pos;
		size_t next = pos + n + (end ? 1 : 0);

		if (n > nl && !memcmp(line, nonce, nl) && line[nl] == ' ') {
			char want[32] = "";

			if (k < nr)
				snprintf(want, sizeof(want), "%zu", order[k]);
			if (k >= nr || n - nl - 1 != strlen(want) ||
			    memcmp(line + nl + 1, want, n - nl - 1) != 0) {
				r = hp_err_set(err, HP_EREMOTE,
					       "psql's answer has its "
					       "sections out of order (at "
					       "section %zu of %zu)",
					       k, nr);
				break;
			}
			hp_buf_reset(&p[order[k]].out);
			hp_buf_add(&p[order[k]].out, ans + start, pos - start);
			k++;
			start = next;
		}
		pos = next;
	}
	if (r == 0 && k != nr)
		r = hp_err_set(err, HP_EREMOTE,
			       "psql's answer ends after section %zu of %zu",
			       k, nr);
	else if (r == 0 && start != len)
		r = hp_err_set(err, HP_EREMOTE,
			       "psql's answer has text after its last "
			       "section");
	free(order);
	return r;
}

int hp_sql_run_parts(struct hp_run *run, const char *host,
		     struct hp_sql_part *p, size_t nr, struct hp_err *err)
{
	struct hp_buf ans = HP_BUF_INIT;
	struct hp_sql all;
	char nonce[33];
	int r;

	make_nonce(nonce);
	hp_sql_init(&all);
	if ((r = hp_sql_parts_script(p, nr, nonce, &all, err)) == 0 &&
	    (r = hp_sql_run(run, host, NULL, &all, false, &ans, err)) == 0 &&
	    (r = hp_sql_split_parts(ans.buf, ans.len, nonce, p, nr, err)) < 0)
		hp_err_prefix(err, "psql on %s", host);
	hp_sql_release(&all);
	hp_buf_release(&ans);
	return r;
}
