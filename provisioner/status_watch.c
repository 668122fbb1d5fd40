/*
 * `haprov status --watch SECONDS`: the status screen again every SECONDS
 * until Ctrl-C, for watching a drill or a staged change run from another
 * terminal. On a terminal each screen replaces the last (cursor home,
 * clear) and the lines that differ from the previous screen are shown in
 * reverse video (a failover, a lag, a pending restart); NO_COLOR, or a
 * stderr/stdout that is not a terminal, marks them with "* " instead, and
 * a pipe gets each screen after a "--- HH:MM:SS" line rather than escape
 * sequences.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "status.h"

/* line [s, s + n) is one of text's lines */
static bool has_line(const char *text, const char *s, size_t n)
{
	const char *p = text;

	while (p && *p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);

		if (len == n && !memcmp(p, s, n))
			return true;
		p = nl ? nl + 1 : NULL;
	}
	return false;
}

void hp_status_mark(struct hp_buf *out, const char *prev, const char *cur,
		    bool color)
{
	const char *p = cur;

	while (p && *p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		bool changed = prev && n && !has_line(prev, p, n);

		if (color) {
			if (changed)
				hp_buf_adds(out, "\033[7m");
			hp_buf_add(out, p, n);
			if (changed)
				hp_buf_adds(out, "\033[0m");
		} else if (n) {
			hp_buf_adds(out, changed ? "* " : "  ");
			hp_buf_add(out, p, n);
		}
		hp_buf_addch(out, '\n');
		p = nl ? nl + 1 : NULL;
	}
}

int hp_status_watch_seconds(const char *arg, struct hp_err *err)
{
	char *end = NULL;
	long v;

	if (!arg || *arg < '0' || *arg > '9')
		return hp_err_set(err, HP_EINVALID,
				  "--watch wants a number of seconds (1-3600)");
	v = strtol(arg, &end, 10);
	if (*end || v < 1 || v > 3600)
		return hp_err_set(err, HP_EINVALID,
				  "--watch wants a number of seconds (1-3600), "
				  "got '%.32s'",
				  arg);
	return (int)v;
}

int hp_status_watch(const struct hp_inventory *inv, struct hp_rest *rest,
		    const char *stats_password, const char *stats_why,
		    int seconds)
{
	bool tty = isatty(1) == 1;
	bool color = tty && !getenv("NO_COLOR");
	char *prev = NULL;

	hp_signals_install();
	while (!hp_interrupted()) {
		struct hp_buf text = HP_BUF_INIT, screen = HP_BUF_INIT;
		bool healthy = true;
		json_t *doc = hp_status_collect(inv, rest, stats_password,
						stats_why, &healthy);
		char stamp[16] = "";
		time_t now = time(NULL);
		struct tm tm;
		int64_t until;

		if (localtime_r(&now, &tm))
			strftime(stamp, sizeof(stamp), "%H:%M:%S", &tm);
		hp_status_format(&text, doc);
		json_decref(doc);
		if (tty)
			hp_buf_adds(&screen, "\033[H\033[2J");
		hp_buf_addf(&screen, "%s%s every %d s, %s; Ctrl-C stops\n\n",
			    tty ? "" : "--- ", stamp, seconds,
			    healthy ? "healthy" : "NOT HEALTHY");
		hp_status_mark(&screen, prev, text.buf ? text.buf : "", color);
		fwrite(screen.buf, 1, screen.len, stdout);
		fflush(stdout);
		free(prev);
		prev = text.buf ? hp_buf_detach(&text, NULL) : xstrdup("");
		hp_buf_release(&text);
		hp_buf_release(&screen);
		until = hp_now_ms() + (int64_t)seconds * 1000;
		while (!hp_interrupted() && hp_now_ms() < until)
			hp_sleep_ms(100);
	}
	free(prev);
	return HP_EXIT_OK;
}
