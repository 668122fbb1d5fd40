#ifndef HP_UTIL_H
#define HP_UTIL_H
/*
 * Small helpers every module uses: allocation that aborts on failure,
 * a growable string buffer with a hard maximum, and the error record.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

#define HP_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#if defined(__GNUC__)
#define HP_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define HP_NORETURN __attribute__((noreturn))
#else
#define HP_PRINTF(f, a)
#define HP_NORETURN
#endif

/* ---- errors ------------------------------------------------------------ */

/*
 * Every fallible function returns 0 or one of these (negative). Specific
 * codes exist only for failures a caller is expected to handle.
 */
enum hp_error_code {
	HP_OK = 0,
	HP_ERROR = -1,     /* generic failure */
	HP_ENOTFOUND = -2, /* a file, key, host or object does not exist */
	HP_EINVALID = -3,  /* bad input (inventory, argument) */
	HP_EIO = -4,       /* local I/O */
	HP_ECONNECT = -5,  /* could not reach or authenticate to a host */
	HP_EHOSTKEY = -6,  /* host key unknown or changed */
	HP_ETIMEOUT = -7,  /* a deadline passed */
	HP_EREMOTE = -8,   /* a remote command exited non-zero */
	HP_EVERIFY = -9,   /* a verification failed */
	HP_ELOCKED = -10,  /* another run holds the cluster lock */
	HP_EINTR = -11,    /* interrupted by a signal */
	HP_ETOOBIG = -12,  /* a buffer reached its maximum */
	HP_EAUTH = -13,    /* a server refused a role's credentials */
	HP_ETLS = -14,     /* the TLS handshake failed: the server's
			      certificate did not verify, or the server
			      refused ours (not "connection refused") */
};

/*
 * The detail of an error, passed explicitly (hosts run in parallel, so no
 * thread-local "last error"). msg is complete and human-readable.
 */
struct hp_err {
	int code;
	char msg[1024];
	char host[64]; /* "" when not about one host */
};

/* Reset to "no error". */
void hp_err_clear(struct hp_err *err);
/* Set code and message (printf-style); returns code so callers can
 * write "return hp_err_set(err, HP_EINVALID, ...)". err may be NULL. */
int hp_err_set(struct hp_err *err, int code, const char *fmt, ...)
	HP_PRINTF(3, 4);
/* Prefix the existing message with context: "ctx: old message". */
void hp_err_prefix(struct hp_err *err, const char *fmt, ...) HP_PRINTF(2, 3);
/* Thread-safe strerror into buf; returns buf. */
const char *hp_strerror(int errnum, char *buf, size_t len);

/* ---- memory ------------------------------------------------------------ */

/* These abort the program on allocation failure; never return NULL. */
void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Allocates the formatted string; the caller frees it. */
char *xasprintf(const char *fmt, ...) HP_PRINTF(1, 2);
HP_NORETURN void hp_die_oom(void);

/* Grow an array: ALLOC_GROW(items, nr + 1, alloc), as git does. */
#define HP_ALLOC_GROW(x, nr, alloc)                                        \
	do {                                                               \
		if ((nr) > (alloc)) {                                      \
			(alloc) = (alloc) ? (alloc) * 2 : 8;               \
			if ((alloc) < (nr))                                \
				(alloc) = (nr);                            \
			(x) = xrealloc((x), (alloc) * sizeof(*(x)));       \
		}                                                          \
	} while (0)

/* ---- growable buffer (git's strbuf invariants) -------------------------- */

/*
 * buf is always NUL-terminated and never NULL (it points at a static ""
 * until the first growth). len excludes the NUL. max, when non-zero, is a
 * hard cap on len: hp_buf_add* return HP_ETOOBIG instead of growing past
 * it (use it for anything read from the network or a remote host).
 */
struct hp_buf {
	char *buf;
	size_t len;
	size_t alloc;
	size_t max;
};
extern char hp_buf_slopbuf[];
#define HP_BUF_INIT { hp_buf_slopbuf, 0, 0, 0 }

void hp_buf_init(struct hp_buf *b, size_t max);
/* Free the memory and return to the initial state. */
void hp_buf_release(struct hp_buf *b);
/* Empty the buffer but keep its memory. */
void hp_buf_reset(struct hp_buf *b);
/* Hand the string to the caller (who frees it); b is re-initialised. */
char *hp_buf_detach(struct hp_buf *b, size_t *len_out);
int hp_buf_add(struct hp_buf *b, const void *data, size_t len);
int hp_buf_adds(struct hp_buf *b, const char *s);
int hp_buf_addch(struct hp_buf *b, char c);
int hp_buf_addf(struct hp_buf *b, const char *fmt, ...) HP_PRINTF(2, 3);
int hp_buf_vaddf(struct hp_buf *b, const char *fmt, va_list ap)
	HP_PRINTF(2, 0);
/*
 * Append untrusted text (a REST body, a member name, remote stderr) for a
 * terminal, a log line or the state repository: at most max bytes of it,
 * every control character, DEL and non-ASCII byte as a space, so nothing
 * remote can move the cursor, change colours or fake a line; when more
 * than max bytes came, "... (N bytes)" follows.
 */
int hp_buf_add_printable(struct hp_buf *b, const void *data, size_t len,
			 size_t max);
/* The same for a NUL-terminated string, as a new string the caller
 * frees ("" for NULL). */
char *hp_printable_dup(const char *s, size_t max);
/* Standard padded base64 of data, NUL-terminated; the caller frees it. */
char *hp_base64(const void *data, size_t len);
/* Read a whole local file into b (appends). */
int hp_buf_read_file(struct hp_buf *b, const char *path, struct hp_err *err);

/* ---- misc ---------------------------------------------------------------- */

/* Copy src into dst (size bytes, always NUL-terminated, truncating);
 * returns strlen(src). Use instead of snprintf("%s") for fixed buffers. */
size_t hp_strlcpy(char *dst, const char *src, size_t size);
/*
 * SIGINT/SIGTERM: the handler only sets a flag (the one global besides the
 * logger's level, because a signal handler can reach nothing else); the
 * engine checks it between steps and stops cleanly: files are renamed into
 * place whole or not at all, and the lock goes with the process.
 */
void hp_signals_install(void);
int hp_interrupted(void);
/* The signal that interrupted, cleared: for work that must still be done
 * after an interrupt (a drill puts the cluster back); a second signal
 * interrupts that too. */
int hp_interrupt_take(void);
/* "2026-03-01T10:15:00Z" (now, UTC) into out. */
void hp_utc_iso8601(char *out, size_t len);
/* "user@hostname" of this process into out. */
void hp_whoami(char *out, size_t len);
/* Sleep ms milliseconds (restarted when a signal interrupts it). */
void hp_sleep_ms(int ms);
/* Monotonic clock in milliseconds. */
int64_t hp_now_ms(void);
/* Levenshtein distance, for "did you mean" suggestions. */
size_t hp_edit_distance(const char *a, const char *b);
/* Write data to path atomically (temp file + rename), with mode. */
int hp_write_file_atomic(const char *path, const void *data, size_t len,
			 unsigned mode, struct hp_err *err);
/* mkdir -p. */
int hp_mkdir_p(const char *path, unsigned mode, struct hp_err *err);
/* Lowercase hex SHA-256 of data into out[65]. */
void hp_sha256_hex(const void *data, size_t len, char out[65]);

/* ---- logging (the one mutable global: the level) --------------------------- */
enum hp_log_level { HP_LOG_ERROR, HP_LOG_WARN, HP_LOG_INFO, HP_LOG_DEBUG };
void hp_log_set_level(enum hp_log_level lvl);
/* --color=never|auto|always (default auto: when stderr is a terminal and
 * NO_COLOR is not set); decided once, at start. */
enum hp_color_mode { HP_COLOR_AUTO, HP_COLOR_NEVER, HP_COLOR_ALWAYS };
void hp_color_set(enum hp_color_mode mode);
bool hp_color(void);
/* text onto b, every line after the first indented by indent spaces (a
 * message of several lines under its prefix, never at column 0). */
void hp_buf_add_indented(struct hp_buf *b, const char *text, size_t indent);
enum hp_log_level hp_log_get_level(void);
void hp_log_msg(enum hp_log_level lvl, const char *func, const char *fmt, ...)
	HP_PRINTF(3, 4);
/* The macros carry the function name, as OpenSSH's log.h does. */
#define hp_error(...) hp_log_msg(HP_LOG_ERROR, __func__, __VA_ARGS__)
#define hp_warn(...) hp_log_msg(HP_LOG_WARN, __func__, __VA_ARGS__)
#define hp_info(...) hp_log_msg(HP_LOG_INFO, __func__, __VA_ARGS__)
#define hp_debug(...) hp_log_msg(HP_LOG_DEBUG, __func__, __VA_ARGS__)

#include "banned.h"
#endif
