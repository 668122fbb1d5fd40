/*
 * The live view of a plan or an apply on a terminal: below the lines that
 * scroll (finished steps, notes, warnings), one line per host that is
 * redrawn in place: the host, its phase, the last step it finished and
 * the time since its phase began. docker compose and apt show progress
 * the same way. Only when stderr is a terminal; a pipe, a file or CI get
 * the plain line-per-step output.
 *
 * How: stderr (fd 2) is pointed at a pipe for the length of the run, and
 * a thread of its own copies what arrives there to the terminal: it
 * erases the block, writes the whole lines that arrived, and draws the
 * block again (also every 250 ms, for the clocks). So every writer of
 * stderr (fprintf, hp_log_msg, the step lines) stays as it is and nothing
 * is drawn over. No curses: the block needs only "cursor up" and "erase
 * below" (VT100), which every terminal haprov's users run has.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "progress_view.h"

#define VIEW_STEP_MAX 48
#define VIEW_PHASE_MAX 16

struct view_host {
	char name[64];
	char phase[VIEW_PHASE_MAX];
	char step[VIEW_STEP_MAX];
	int64_t since; /* its phase began (hp_now_ms) */
};

struct hp_view {
	pthread_mutex_t mu;
	pthread_t thread;
	int term;	   /* the terminal: stderr as it was */
	int rd, wr;	   /* the pipe now behind fd 2 */
	int saved_err;	   /* fd 2 before, restored at the end */
	bool color, stop;
	size_t drawn;	   /* lines of the block on the screen */
	struct view_host *h;
	size_t nr;
	struct hp_buf pending; /* a line not finished yet */
};

/* s cut to fit n bytes (NUL included), printable */
static void put(char *dst, size_t n, const char *s)
{
	size_t i;

	for (i = 0; s && s[i] && i + 1 < n; i++) {
		dst[i] = s[i];
		if (s[i] < 0x20 || s[i] >= 0x7f)
			dst[i] = '?';
	}
	dst[i] = '\0';
}

size_t hp_view_block(struct hp_buf *out, const struct hp_view_line *l,
		     size_t nr, int64_t now, int width, int height, bool color)
{
	/* at most half the terminal: the lines that scroll stay readable,
	 * and the block never scrolls itself (its erase counts lines) */
	size_t max = height >= 8 ? (size_t)height / 2 : 3, shown, i;

	shown = nr <= max ? nr : max - 1;
	for (i = 0; i < shown; i++) {
		char line[256];
		int n;

		n = snprintf(line, sizeof(line), "  %-8s %-10s %-40s %5.1fs",
			     l[i].host, l[i].phase[0] ? l[i].phase : "-",
			     l[i].step[0] ? l[i].step : "connecting",
			     l[i].since ? (double)(now - l[i].since) / 1000.0
					: 0.0);
		if (n < 0)
			continue;
		/* never wider than the terminal: a wrapped line would
		 * break the count of lines to erase */
		if (width > 1 && n >= width)
			line[width - 1] = '\0';
		if (color)
			hp_buf_adds(out, "\033[2m");
		hp_buf_adds(out, line);
		if (color)
			hp_buf_adds(out, "\033[0m");
		hp_buf_adds(out, "\033[K\n");
	}
	if (shown < nr) {
		hp_buf_addf(out, "  ... and %zu more hosts\033[K\n", nr - shown);
		shown++;
	}
	return shown;
}

void hp_view_erase(struct hp_buf *out, size_t drawn)
{
	if (drawn)
		hp_buf_addf(out, "\033[%zuA\r\033[J", drawn);
}

static void term_size(int fd, int *width, int *height)
{
	struct winsize ws;

	*width = 80;
	*height = 24;
	if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 && ws.ws_row > 0) {
		*width = ws.ws_col;
		*height = ws.ws_row;
	}
}

static void write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

/* With v->mu held: erase the block, write the finished lines of what
 * arrived, draw the block again. */
static void redraw(struct hp_view *v, const char *in, size_t len, bool block)
{
	struct hp_buf out = HP_BUF_INIT;
	struct hp_view_line *l = xcalloc(v->nr + 1, sizeof(*l));
	const char *nl;

	hp_view_erase(&out, v->drawn);
	v->drawn = 0;
	hp_buf_add(&v->pending, in, len);
	if (v->pending.len &&
	    (nl = memrchr(v->pending.buf, '\n', v->pending.len))) {
		size_t n = (size_t)(nl - v->pending.buf) + 1;

		hp_buf_add(&out, v->pending.buf, n);
		memmove(v->pending.buf, v->pending.buf + n,
			v->pending.len - n);
		v->pending.len -= n;
		v->pending.buf[v->pending.len] = '\0';
	}
	if (block) {
		int w, ht;
		size_t i;

		for (i = 0; i < v->nr; i++) {
			l[i].host = v->h[i].name;
			l[i].phase = v->h[i].phase;
			l[i].step = v->h[i].step;
			l[i].since = v->h[i].since;
		}
		term_size(v->term, &w, &ht);
		v->drawn = hp_view_block(&out, l, v->nr, hp_now_ms(), w, ht,
					 v->color);
	}
	write_all(v->term, out.buf ? out.buf : "", out.len);
	hp_buf_release(&out);
	free(l);
}

static void *view_main(void *arg)
{
	struct hp_view *v = arg;
	char buf[4096];

	for (;;) {
		struct pollfd p = {.fd = v->rd, .events = POLLIN};
		int r = poll(&p, 1, 250);
		ssize_t n = 0;
		bool stop;

		if (r > 0 && (n = read(v->rd, buf, sizeof(buf))) < 0 &&
		    errno == EINTR)
			continue;
		pthread_mutex_lock(&v->mu);
		stop = v->stop && r == 0;
		if (n < 0)
			n = 0;
		redraw(v, buf, (size_t)n, !stop);
		pthread_mutex_unlock(&v->mu);
		if (stop || (r > 0 && n == 0))
			break;
	}
	return NULL;
}

struct hp_view *hp_view_start(const char *const *hosts, size_t nr,
			      bool color)
{
	struct hp_view *v;
	int fds[2];
	size_t i;

	if (!nr || pipe(fds) < 0)
		return NULL;
	v = xcalloc(1, sizeof(*v));
	v->h = xcalloc(nr, sizeof(*v->h));
	v->nr = nr;
	for (i = 0; i < nr; i++)
		put(v->h[i].name, sizeof(v->h[i].name), hosts[i]);
	v->color = color;
	v->rd = fds[0];
	v->wr = fds[1];
	fflush(stderr);
	v->saved_err = dup(2);
	v->term = v->saved_err;
	if (v->saved_err < 0 || dup2(v->wr, 2) < 0) {
		close(fds[0]);
		close(fds[1]);
		if (v->saved_err >= 0)
			close(v->saved_err);
		free(v->h);
		free(v);
		return NULL;
	}
	(void)fcntl(v->rd, F_SETFD, FD_CLOEXEC);
	(void)fcntl(v->wr, F_SETFD, FD_CLOEXEC);
	pthread_mutex_init(&v->mu, NULL);
	if (pthread_create(&v->thread, NULL, view_main, v) != 0) {
		dup2(v->saved_err, 2);
		close(v->saved_err);
		close(fds[0]);
		close(fds[1]);
		pthread_mutex_destroy(&v->mu);
		free(v->h);
		free(v);
		return NULL;
	}
	return v;
}

void hp_view_step(struct hp_view *v, size_t host, const char *phase,
		  const char *step)
{
	if (!v || host >= v->nr)
		return;
	pthread_mutex_lock(&v->mu);
	if (phase &&
	    strncmp(v->h[host].phase, phase, VIEW_PHASE_MAX - 1) != 0) {
		put(v->h[host].phase, sizeof(v->h[host].phase), phase);
		v->h[host].since = hp_now_ms();
	}
	if (step)
		put(v->h[host].step, sizeof(v->h[host].step), step);
	pthread_mutex_unlock(&v->mu);
}

void hp_view_phase(struct hp_view *v, const char *phase, const bool *in)
{
	size_t i;

	if (!v)
		return;
	pthread_mutex_lock(&v->mu);
	for (i = 0; i < v->nr; i++) {
		bool part = !in || in[i];

		put(v->h[i].phase, sizeof(v->h[i].phase), part ? phase : "");
		put(v->h[i].step, sizeof(v->h[i].step),
		    part ? "" : "no part in this phase");
		v->h[i].since = hp_now_ms();
	}
	pthread_mutex_unlock(&v->mu);
}

void hp_view_stop(struct hp_view *v)
{
	if (!v)
		return;
	fflush(stderr);
	/* stderr back to the terminal; the pipe's write end closed, so the
	 * thread reads what is left, then the end */
	dup2(v->saved_err, 2);
	close(v->wr);
	pthread_mutex_lock(&v->mu);
	v->stop = true;
	pthread_mutex_unlock(&v->mu);
	pthread_join(v->thread, NULL);
	pthread_mutex_lock(&v->mu);
	/* the last of it, and the block taken away */
	redraw(v, "", 0, false);
	if (v->pending.len) {
		write_all(v->term, v->pending.buf, v->pending.len);
		write_all(v->term, "\n", 1);
	}
	pthread_mutex_unlock(&v->mu);
	close(v->rd);
	close(v->saved_err);
	hp_buf_release(&v->pending);
	pthread_mutex_destroy(&v->mu);
	free(v->h);
	free(v);
}
