#ifndef HP_PROGRESS_VIEW_H
#define HP_PROGRESS_VIEW_H
/*
 * The live view of a run on a terminal (progress_view.c): one line per
 * host, redrawn in place below the lines that scroll. Started only when
 * stderr is a terminal; every function accepts NULL (no view).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct hp_view;

/* Point stderr at the view for hosts[0..nr); NULL when it cannot (then
 * nothing changed). */
struct hp_view *hp_view_start(const char *const *hosts, size_t nr,
			      bool color);
/* Host index host finished step in phase (a new phase restarts its
 * clock). */
void hp_view_step(struct hp_view *v, size_t host, const char *phase,
		  const char *step);
/* A phase begins: on host i when in is NULL or in[i]; a host it does not
 * act on shows no phase and says so. */
void hp_view_phase(struct hp_view *v, const char *phase, const bool *in);
/* Everything written so far shown, the block taken away, stderr back to
 * the terminal; frees v. */
void hp_view_stop(struct hp_view *v);

/* ---- the drawing, for tests ----------------------------------------------- */

struct hp_view_line {
	const char *host, *phase, *step;
	int64_t since; /* hp_now_ms when its phase began; 0: not yet */
};
/* The block: one line per host ("  HOST PHASE STEP 12.3s", "connecting"
 * before its first step), each ending in erase-to-end-of-line and cut to
 * width - 1 columns, dim with color; at most half of height lines (at
 * least 3), the last then "... and N more hosts". Returns the lines. */
size_t hp_view_block(struct hp_buf *out, const struct hp_view_line *l,
		     size_t nr, int64_t now, int width, int height, bool color);
/* Take a block of drawn lines away: cursor up, erase below. */
void hp_view_erase(struct hp_buf *out, size_t drawn);

#endif
