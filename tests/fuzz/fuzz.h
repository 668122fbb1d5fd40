#ifndef HP_FUZZ_H
#define HP_FUZZ_H
/*
 * What every libFuzzer target under tests/fuzz/ shares. A target is one
 * file, fuzz_<name>.c, defining LLVMFuzzerTestOneInput (and, if it needs
 * one-time setup, LLVMFuzzerInitialize); `make fuzz-bins` links each with
 * -fsanitize=fuzzer,address,undefined against the library objects built
 * with clang under build/fuzz/, and tests/fuzz/run.sh runs them.
 *
 * The contract a target checks, beyond "no crash, no leak, no undefined
 * behaviour": whatever the input, the code under test returns a result or
 * a clear error, and what it returns keeps the invariants its header
 * promises. A broken invariant is reported with FUZZ_CHECK, which aborts
 * so that libFuzzer keeps the input.
 *
 * Each invariant has a name. FUZZ_KNOWN="name,name" (environment) lets a
 * long campaign look past a known, reported bug to find the next one;
 * `make fuzz-check` and `make fuzz` never set it.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sanitizer/common_interface_defs.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Whether invariant name is listed in $FUZZ_KNOWN. */
static inline bool fuzz_known(const char *name)
{
	const char *list = getenv("FUZZ_KNOWN"), *p;
	size_t n = strlen(name);

	for (p = list; p && (p = strstr(p, name)) != NULL; p += n)
		if ((p == list || p[-1] == ',' || p[-1] == ' ') &&
		    (p[n] == '\0' || p[n] == ',' || p[n] == ' '))
			return true;
	return false;
}

#if defined(__GNUC__)
__attribute__((noreturn, format(printf, 2, 3)))
#endif
static inline void
fuzz_fail(const char *name, const char *fmt, ...);

/*
 * Report broken invariant name and abort: libFuzzer keeps the input as a
 * crash. The report goes where the sanitizers' reports go: stderr, or
 * libFuzzer's copy of it when -close_fd_mask=2 closed the target's own.
 */
static inline void fuzz_fail(const char *name, const char *fmt, ...)
{
	char msg[1024];
	int n;
	va_list ap;

	n = snprintf(msg, sizeof(msg), "fuzz: invariant '%s' broken: ", name);
	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	va_end(ap);
	__sanitizer_report_error_summary(msg);
	abort();
}

/* Check invariant name: when cond is false, fail with the message. */
#define FUZZ_CHECK(name, cond, ...)                                            \
	do {                                                                   \
		if (!(cond) && !fuzz_known(name))                              \
			fuzz_fail(name, __VA_ARGS__);                          \
	} while (0)

/* A NUL-terminated copy of the input, for APIs that take a C string
 * (they then see the input up to its first NUL). The caller frees it. */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		abort();
	if (size)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

#endif
