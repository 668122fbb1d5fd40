/* Allocation, buffers, errors and logging shared by every module. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <pwd.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <signal.h>

#include "util.h"

char hp_buf_slopbuf[1];

/* ---- errors ------------------------------------------------------------ */

void hp_err_clear(struct hp_err *err)
{
	if (!err)
		return;
	err->code = 0;
	err->msg[0] = '\0';
	err->host[0] = '\0';
}

int hp_err_set(struct hp_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return code;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return code;
}

void hp_err_prefix(struct hp_err *err, const char *fmt, ...)
{
	struct hp_buf b = HP_BUF_INIT;
	va_list ap;

	if (!err)
		return;
	va_start(ap, fmt);
	hp_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	hp_buf_addf(&b, ": %s", err->msg);
	hp_strlcpy(err->msg, b.buf, sizeof(err->msg));
	hp_buf_release(&b);
}

const char *hp_strerror(int errnum, char *buf, size_t len)
{
	/* GNU strerror_r may return a static string instead of filling buf. */
	const char *s = strerror_r(errnum, buf, len);

	if (s != buf)
		hp_strlcpy(buf, s, len);
	return buf;
}

/* ---- memory ------------------------------------------------------------ */

void hp_die_oom(void)
{
	fputs("haprov: fatal: out of memory\n", stderr);
	abort();
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		hp_die_oom();
	return p;
}

void *xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

	if (!p)
		hp_die_oom();
	return p;
}

void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (!q)
		hp_die_oom();
	return q;
}

char *xstrdup(const char *s)
{
	char *p = strdup(s);

	if (!p)
		hp_die_oom();
	return p;
}

char *xstrndup(const char *s, size_t n)
{
	char *p = strndup(s, n);

	if (!p)
		hp_die_oom();
	return p;
}

char *xasprintf(const char *fmt, ...)
{
	struct hp_buf b = HP_BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	hp_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	return hp_buf_detach(&b, NULL);
}

/* ---- buffer ---------------------------------------------------------------- */

void hp_buf_init(struct hp_buf *b, size_t max)
{
	b->buf = hp_buf_slopbuf;
	b->len = 0;
	b->alloc = 0;
	b->max = max;
}

void hp_buf_release(struct hp_buf *b)
{
	size_t max = b->max;

	if (b->alloc)
		free(b->buf);
	hp_buf_init(b, max);
}

void hp_buf_reset(struct hp_buf *b)
{
	b->len = 0;
	if (b->alloc)
		b->buf[0] = '\0';
}

char *hp_buf_detach(struct hp_buf *b, size_t *len_out)
{
	char *s;

	if (len_out)
		*len_out = b->len;
	s = b->alloc ? b->buf : xstrdup("");
	hp_buf_init(b, b->max);
	return s;
}

/* Make room for extra more bytes (plus NUL); fails past max. */
static int buf_grow(struct hp_buf *b, size_t extra)
{
	size_t want;

	if (b->max && b->len + extra > b->max)
		return HP_ETOOBIG;
	want = b->len + extra + 1;
	if (want <= b->alloc)
		return 0;
	if (!b->alloc)
		b->buf = NULL;
	b->alloc = want < 64 ? 64 : want + want / 2;
	b->buf = xrealloc(b->buf, b->alloc);
	if (b->len == 0)
		b->buf[0] = '\0';
	return 0;
}

int hp_buf_add(struct hp_buf *b, const void *data, size_t len)
{
	int r;

	if ((r = buf_grow(b, len)) < 0)
		return r;
	if (len)
		memcpy(b->buf + b->len, data, len);
	b->len += len;
	b->buf[b->len] = '\0';
	return 0;
}

int hp_buf_adds(struct hp_buf *b, const char *s)
{
	return hp_buf_add(b, s, strlen(s));
}

int hp_buf_addch(struct hp_buf *b, char c)
{
	return hp_buf_add(b, &c, 1);
}

int hp_buf_vaddf(struct hp_buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	int n;
	int r;

	va_copy(cp, ap);
	n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0)
		return HP_ERROR;
	if ((r = buf_grow(b, (size_t)n)) < 0)
		return r;
	vsnprintf(b->buf + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int hp_buf_addf(struct hp_buf *b, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = hp_buf_vaddf(b, fmt, ap);
	va_end(ap);
	return r;
}

int hp_buf_add_printable(struct hp_buf *b, const void *data, size_t len,
			 size_t max)
{
	const unsigned char *p = data;
	size_t i, n = len < max ? len : max;
	int ret = 0;

	for (i = 0; i < n && ret == 0; i++) {
		unsigned char c = p[i];

		ret = hp_buf_addch(b, (char)((c < 0x20 || c >= 0x7f) ? ' ' : c));
	}
	if (ret == 0 && len > max)
		ret = hp_buf_addf(b, "... (%zu bytes)", len);
	return ret;
}

char *hp_printable_dup(const char *s, size_t max)
{
	struct hp_buf b = HP_BUF_INIT;

	if (s)
		hp_buf_add_printable(&b, s, strlen(s), max);
	return hp_buf_detach(&b, NULL);
}

int hp_buf_read_file(struct hp_buf *b, const char *path, struct hp_err *err)
{
	char chunk[8192], eb[128];
	int fd, r = 0;
	ssize_t n;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return hp_err_set(err, errno == ENOENT ? HP_ENOTFOUND : HP_EIO,
				  "cannot open '%s': %s", path,
				  hp_strerror(errno, eb, sizeof(eb)));
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = hp_err_set(err, HP_EIO, "cannot read '%s': %s",
				       path, hp_strerror(errno, eb, sizeof(eb)));
			break;
		}
		if ((r = hp_buf_add(b, chunk, (size_t)n)) < 0) {
			hp_err_set(err, r, "'%s' is too large", path);
			break;
		}
	}
	close(fd);
	return r;
}

/* ---- misc ------------------------------------------------------------------ */

size_t hp_strlcpy(char *dst, const char *src, size_t size)
{
	size_t n = strlen(src);

	if (size) {
		size_t c = n < size ? n : size - 1;

		memcpy(dst, src, c);
		dst[c] = '\0';
	}
	return n;
}

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	interrupted = sig;
}

void hp_signals_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	/* a closed ssh socket must be an error, not the end of the process */
	signal(SIGPIPE, SIG_IGN);
}

int hp_interrupted(void)
{
	return interrupted;
}

int hp_interrupt_take(void)
{
	int sig = interrupted;

	interrupted = 0;
	return sig;
}

void hp_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR && !interrupted)
		;
}

int64_t hp_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

size_t hp_edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j, *row, res;

	row = xmalloc((lb + 1) * sizeof(*row));
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		size_t prev = row[0];

		row[0] = i;
		for (j = 1; j <= lb; j++) {
			size_t cur = row[j];
			size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
			size_t best = prev + cost;

			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			prev = cur;
		}
	}
	res = row[lb];
	free(row);
	return res;
}

int hp_mkdir_p(const char *path, unsigned mode, struct hp_err *err)
{
	char *p = xstrdup(path), *s, eb[128];
	int r = 0;

	for (s = p + 1;; s++) {
		char c = *s;

		if (c != '/' && c != '\0')
			continue;
		*s = '\0';
		if (mkdir(p, (mode_t)mode) < 0 && errno != EEXIST) {
			r = hp_err_set(err, HP_EIO, "cannot create '%s': %s", p,
				       hp_strerror(errno, eb, sizeof(eb)));
			break;
		}
		*s = c;
		if (!c)
			break;
	}
	free(p);
	return r;
}

int hp_write_file_atomic(const char *path, const void *data, size_t len,
			 unsigned mode, struct hp_err *err)
{
	char *tmp = NULL, eb[128];
	const char *p = data;
	int fd = -1, r = 0, tries;

	/*
	 * A fresh name that nothing else can have planted: O_EXCL refuses
	 * an existing file and O_NOFOLLOW a symlink, so the data never goes
	 * through a link into another file.
	 */
	for (tries = 0; fd < 0 && tries < 16; tries++) {
		uint32_t rnd = 0;

		if (getrandom(&rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
			rnd = (uint32_t)hp_now_ms() ^ (uint32_t)tries;
		free(tmp);
		tmp = xasprintf("%s.tmp.%ld.%08x", path, (long)getpid(),
				(unsigned)rnd);
		fd = open(tmp,
			  O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			  (mode_t)mode);
		if (fd < 0 && errno != EEXIST)
			break;
	}
	if (fd < 0) {
		r = hp_err_set(err, HP_EIO, "cannot create '%s': %s", tmp,
			       hp_strerror(errno, eb, sizeof(eb)));
		goto out;
	}
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = hp_err_set(err, HP_EIO, "cannot write '%s': %s",
				       tmp, hp_strerror(errno, eb, sizeof(eb)));
			close(fd);
			unlink(tmp);
			goto out;
		}
		p += n;
		len -= (size_t)n;
	}
	if (fsync(fd) < 0 || close(fd) < 0 || rename(tmp, path) < 0) {
		r = hp_err_set(err, HP_EIO, "cannot write '%s': %s", path,
			       hp_strerror(errno, eb, sizeof(eb)));
		unlink(tmp);
	}
out:
	free(tmp);
	return r;
}

void hp_sha256_hex(const void *data, size_t len, char out[65])
{
	unsigned char md[32];
	unsigned int mdlen = 0;
	size_t i;

	EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
	for (i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	out[64] = '\0';
}

void hp_utc_iso8601(char *out, size_t len)
{
	time_t now = time(NULL);
	struct tm tm;

	if (!gmtime_r(&now, &tm) ||
	    !strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, len, "@%lld", (long long)now);
}

void hp_whoami(char *out, size_t len)
{
	struct passwd pw, *res = NULL;
	char pwbuf[4096], host[256];

	if (gethostname(host, sizeof(host)) < 0)
		snprintf(host, sizeof(host), "unknown-host");
	host[sizeof(host) - 1] = '\0';
	if (getpwuid_r(geteuid(), &pw, pwbuf, sizeof(pwbuf), &res) == 0 && res)
		snprintf(out, len, "%s@%s", res->pw_name, host);
	else
		snprintf(out, len, "uid%u@%s", (unsigned)geteuid(), host);
}

/* ---- logging ------------------------------------------------------------------ */

static enum hp_log_level log_level = HP_LOG_WARN;
static bool color_on;

void hp_color_set(enum hp_color_mode mode)
{
	const char *nc = getenv("NO_COLOR"); // NOLINT(concurrency-mt-unsafe)

	color_on = mode == HP_COLOR_ALWAYS ||
		   (mode == HP_COLOR_AUTO && isatty(2) == 1 &&
		    !(nc && *nc));
}

bool hp_color(void)
{
	return color_on;
}

void hp_log_set_level(enum hp_log_level lvl)
{
	log_level = lvl;
}

enum hp_log_level hp_log_get_level(void)
{
	return log_level;
}

void hp_log_msg(enum hp_log_level lvl, const char *func, const char *fmt, ...)
{
	static const char *const names[] = { "error", "warning", "info",
					     "debug" };
	char line[2048];
	va_list ap;
	int n;

	if (lvl > log_level)
		return;
	n = snprintf(line, sizeof(line), "haprov: %s: ", names[lvl]);
	if (lvl == HP_LOG_DEBUG && n > 0)
		n += snprintf(line + n, sizeof(line) - (size_t)n, "%s: ",
			      func);
	va_start(ap, fmt);
	if (n > 0 && (size_t)n < sizeof(line))
		vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	/* one write so lines from parallel hosts never interleave; a
	 * message of several lines goes on under its first, never at
	 * column 0 */
	if (n > 0 && (size_t)n < sizeof(line) && strchr(line + n, '\n')) {
		char out[4096];
		size_t o = 0, i, k;

		for (i = 0; line[i] && o + 2 < sizeof(out); i++) {
			out[o++] = line[i];
			if (line[i] != '\n' || !line[i + 1])
				continue;
			for (k = 0; k < (size_t)n && o + 2 < sizeof(out); k++)
				out[o++] = ' ';
		}
		out[o] = '\0';
		fprintf(stderr, "%s\n", out);
		return;
	}
	fprintf(stderr, "%s\n", line);
}

void hp_buf_add_indented(struct hp_buf *b, const char *text, size_t indent)
{
	const char *p = text, *nl;
	size_t i;

	while ((nl = strchr(p, '\n'))) {
		hp_buf_add(b, p, (size_t)(nl - p) + 1);
		p = nl + 1;
		if (!*p)
			return;
		for (i = 0; i < indent; i++)
			hp_buf_addch(b, ' ');
	}
	hp_buf_adds(b, p);
}

char *hp_base64(const void *data, size_t len)
{
	char *out = xmalloc(4 * ((len + 2) / 3) + 1);

	EVP_EncodeBlock((unsigned char *)out, data, (int)len);
	return out;
}
