/*
 * haprov history: the rollback points of the cluster's state repository,
 * newest first, with phase, time, result and what changed. Offline: reads
 * only the local repository.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd.h"
#include "state.h"

/* One rollback point: its line, then its "- host: step: detail" lines
 * and trailers, all printable: what the repository records quotes remote
 * answers, and older versions recorded them unsanitized. */
static void print_point(const struct hp_state_point *p)
{
	time_t t = (time_t)p->time;
	struct tm tm;
	char when[32];
	const char *b = p->body;
	char *summary = hp_printable_dup(p->summary, 400);

	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%SZ", &tm);
	printf("%-18s %s  %.12s  %s\n", p->tag, when, p->commit, summary);
	free(summary);
	while (*b) {
		size_t len = strcspn(b, "\n");

		if (len && (b[0] == '-' || !strncmp(b, "Run: ", 5))) {
			struct hp_buf line = HP_BUF_INIT;

			hp_buf_add_printable(&line, b, len, 2000);
			printf("    %s\n", line.buf);
			hp_buf_release(&line);
		}
		b += len;
		if (*b)
			b++;
	}
}

int hp_cmd_history(struct hp_cmd_ctx *ctx)
{
	const struct hp_inventory *inv = ctx->inv;
	struct hp_state_point *pts = NULL;
	struct hp_state *state = NULL;
	struct hp_err err;
	size_t n = 0, i;
	bool commits = false;
	int rc = HP_EXIT_OK;

	hp_err_clear(&err);
	/* offline and read-only: a missing repository is not created */
	if (hp_state_peek(inv->state_dir, &commits, &err) < 0) {
		fprintf(stderr, "haprov: %s\n", err.msg);
		return HP_EXIT_ERROR;
	}
	if (!commits) {
		printf("no rollback points yet (%s)\n", inv->state_dir);
		return HP_EXIT_OK;
	}
	if (hp_state_open(&state, inv->state_dir, &err) < 0 ||
	    hp_state_history(state, &pts, &n, &err) < 0) {
		fprintf(stderr, "haprov: %s\n", err.msg);
		rc = HP_EXIT_ERROR;
		goto out;
	}
	if (!n)
		printf("no rollback points yet (%s)\n", inv->state_dir);
	for (i = 0; i < n; i++)
		print_point(&pts[i]);
out:
	hp_state_points_free(pts, n);
	hp_state_free(state);
	return rc;
}
