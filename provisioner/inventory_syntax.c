/*
 * The syntax of inventory values: names, addresses, networks, pg_hba
 * lines, paths and PostgreSQL units. Pure functions of one string; the
 * checks that need more than one key are in inventory_check.c.
 */
#include <arpa/inet.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "inventory.h"
#include "inventory_priv.h"

/* ---- small helpers ------------------------------------------------------- */

static bool all_in(const char *s, const char *set, bool alnum_lower,
		   bool alnum_upper)
{
	for (; *s; s++) {
		char c = *s;

		if (c >= '0' && c <= '9')
			continue;
		if (alnum_lower && c >= 'a' && c <= 'z')
			continue;
		if (alnum_upper && c >= 'A' && c <= 'Z')
			continue;
		if (c && strchr(set, c))
			continue;
		return false;
	}
	return true;
}

static bool is_lower(char c)
{
	return c >= 'a' && c <= 'z';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* ---- value syntax -------------------------------------------------------- */

bool hp_inv_valid_name(const char *s)
{
	size_t n = strlen(s);

	return n >= 1 && n <= 63 && is_lower(s[0]) &&
	       all_in(s, "-", true, false);
}

bool hp_inv_valid_user(const char *s)
{
	size_t n = strlen(s);

	return n >= 1 && n <= 32 && (is_lower(s[0]) || s[0] == '_') &&
	       all_in(s, "_-", true, false);
}

static bool valid_hostname(const char *s)
{
	size_t n = strlen(s), label = 0;
	const char *p, *last = s;
	bool digits_only = true;

	if (n < 1 || n > 253)
		return false;
	for (p = s;; p++) {
		if (*p == '.' || *p == '\0') {
			if (label == 0 || label > 63 || p[-1] == '-' ||
			    *last == '-')
				return false;
			if (*p == '\0')
				break;
			label = 0;
			last = p + 1;
			digits_only = true;
			continue;
		}
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      is_digit(*p) || *p == '-'))
			return false;
		if (!is_digit(*p))
			digits_only = false;
		label++;
	}
	/* "10.213.0.300" is a broken address, not a host name; all,
	 * samehost and samenet are pg_hba keywords, never a host there */
	return !digits_only && strcasecmp(s, "all") != 0 &&
	       strcasecmp(s, "samehost") != 0 && strcasecmp(s, "samenet") != 0;
}

int hp_inv_ip_family(const char *s, unsigned char buf[16])
{
	if (inet_pton(AF_INET, s, buf) == 1)
		return AF_INET;
	if (inet_pton(AF_INET6, s, buf) == 1)
		return AF_INET6;
	return 0;
}

bool hp_inv_valid_address(const char *s)
{
	unsigned char buf[16];

	return hp_inv_ip_family(s, buf) != 0 || valid_hostname(s);
}

bool hp_inv_valid_token(const char *s)
{
	size_t n = strlen(s);

	return n >= 1 && n <= 128 && all_in(s, "._-", true, true);
}

bool hp_inv_valid_scope(const char *s)
{
	size_t n = strlen(s);

	return n >= 1 && n <= 63 && s[0] != '.' && s[0] != '_' && s[0] != '-' &&
	       all_in(s, "._-", true, true);
}

bool hp_inv_valid_namespace(const char *s)
{
	size_t n = strlen(s);

	return n >= 1 && n <= 255 && s[0] == '/' &&
	       all_in(s, "._/-", true, true);
}

static bool valid_pg_ident(const char *s)
{
	size_t n = strlen(s);

	return n >= 1 && n <= 63 && (is_lower(s[0]) || s[0] == '_') &&
	       all_in(s, "_", true, false);
}

/* PostgreSQL reserves pg_* role names and refuses to create them. */
bool hp_inv_valid_pg_role(const char *s)
{
	return valid_pg_ident(s) && strncmp(s, "pg_", 3) != 0 &&
	       strcmp(s, "public") != 0;
}

bool hp_inv_valid_pg_database(const char *s)
{
	return valid_pg_ident(s);
}

bool hp_inv_valid_apt_package(const char *s)
{
	size_t n = strlen(s);

	return n >= 2 && n <= 128 && (is_lower(s[0]) || is_digit(s[0])) &&
	       all_in(s, "+.-", true, false);
}

/* Joined with ',' into shared_preload_libraries: no ',' nor spaces. */
bool hp_inv_valid_library(const char *s)
{
	size_t n = strlen(s);

	return n >= 1 && n <= 255 && all_in(s, "_.$/-", true, true);
}

bool hp_inv_valid_extension(const char *s)
{
	size_t n = strlen(s);

	return n >= 1 && n <= 63 && (is_lower(s[0]) || s[0] == '_') &&
	       all_in(s, "_-", true, false);
}

/* pg_hba's address column: a CIDR or a host name (a bare address needs a
 * mask there, so it is refused). */
bool hp_inv_valid_network(const char *s)
{
	const char *slash = strchr(s, '/');
	unsigned char buf[16];
	char *addr;
	long bits;
	int fam;
	char *end;

	if (!slash)
		return hp_inv_ip_family(s, buf) == 0 && valid_hostname(s);
	if (!is_digit(slash[1]) || strlen(slash + 1) > 3)
		return false;
	bits = strtol(slash + 1, &end, 10);
	if (*end)
		return false;
	addr = xstrndup(s, (size_t)(slash - s));
	fam = hp_inv_ip_family(addr, buf);
	free(addr);
	return (fam == AF_INET && bits <= 32) ||
	       (fam == AF_INET6 && bits <= 128);
}

bool hp_inv_valid_device(const char *s)
{
	if (strncmp(s, "/dev/", 5) != 0 || !s[5] || s[strlen(s) - 1] == '/')
		return false;
	if (strstr(s, "/../") || strstr(s, "/./") || strstr(s, "//"))
		return false;
	return all_in(s + 5, "._/-", true, true);
}

static bool guc_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

bool hp_guc_name_valid(const char *name)
{
	bool part_start = true, dot = false;
	size_t n = 0;
	const char *p;

	if (!name)
		return false;
	for (p = name; *p; p++, n++) {
		if (n >= 63)
			return false;
		if (*p == '.') {
			if (dot || part_start)
				return false; /* two dots, or an empty part */
			dot = true;
			part_start = true;
		} else if (guc_alpha(*p)) {
			part_start = false;
		} else if ((*p >= '0' && *p <= '9') && !part_start) {
			continue;
		} else {
			return false;
		}
	}
	return n > 0 && !part_start;
}

bool hp_inv_valid_guc_name(const char *s)
{
	const char *p;

	for (p = s; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			return false; /* as written in the inventory: lowercase */
	return hp_guc_name_valid(s);
}

/*
 * "NUMBER[ ]UNIT" as PostgreSQL writes integer settings; the unit is
 * case-sensitive there too. Whole numbers only: PostgreSQL rounds
 * fractions, and a rounded checkpoint setting is a surprise.
 */
static bool split_unit(const char *s, long long *num, const char **unit)
{
	const char *p = s;
	long long v = 0;

	if (!is_digit(*p))
		return false;
	for (; is_digit(*p); p++) {
		if (v > (LLONG_MAX - 9) / 10)
			return false;
		v = v * 10 + (*p - '0');
	}
	while (*p == ' ')
		p++;
	*num = v;
	*unit = p;
	return true;
}

/* A PostgreSQL size in kB; bare numbers are in default_unit_kb units. */
bool hp_inv_parse_pg_size(const char *s, long long default_unit_kb,
			  long long *kb)
{
	static const struct {
		const char *unit;
		long long kb;
	} units[] = {{"kB", 1},
		     {"MB", 1024},
		     {"GB", 1024LL * 1024},
		     {"TB", 1024LL * 1024 * 1024}};
	const char *unit;
	long long n, mult = 0;
	size_t i;

	if (!split_unit(s, &n, &unit))
		return false;
	if (!*unit)
		mult = default_unit_kb;
	for (i = 0; i < HP_ARRAY_SIZE(units) && !mult; i++)
		if (!strcmp(unit, units[i].unit))
			mult = units[i].kb;
	if (!mult || n > LLONG_MAX / mult)
		return false;
	*kb = n * mult;
	return true;
}

static bool parse_pg_seconds(const char *s, long long *sec)
{
	static const struct {
		const char *unit;
		long long s;
	} units[] = {{"s", 1}, {"min", 60}, {"h", 3600}, {"d", 86400}};
	const char *unit;
	long long n, mult = 0;
	size_t i;

	if (!split_unit(s, &n, &unit))
		return false;
	if (!*unit)
		mult = 1;
	for (i = 0; i < HP_ARRAY_SIZE(units) && !mult; i++)
		if (!strcmp(unit, units[i].unit))
			mult = units[i].s;
	if (!mult || n > LLONG_MAX / mult)
		return false;
	*sec = n * mult;
	return true;
}

bool hp_inv_valid_checkpoint_timeout(const char *s)
{
	long long sec;

	return parse_pg_seconds(s, &sec) && sec >= 30 && sec <= 86400;
}

bool hp_inv_valid_fraction(const char *s)
{
	const char *p = s;
	bool digits = false;
	char *end;
	double v;

	for (; is_digit(*p); p++)
		digits = true;
	if (*p == '.')
		for (p++; is_digit(*p); p++)
			digits = true;
	if (*p || !digits)
		return false;
	v = strtod(s, &end);
	return v >= 0.0 && v <= 1.0;
}

/* PostgreSQL wants at least two 16MB WAL segments. */
#define HP_INV_MIN_WAL_KB (32LL * 1024)
#define HP_INV_MAX_WAL_KB ((long long)INT_MAX * 1024)

bool hp_inv_valid_wal_size(const char *s)
{
	long long kb;

	return hp_inv_parse_pg_size(s, 1024, &kb) && kb >= HP_INV_MIN_WAL_KB &&
	       kb <= HP_INV_MAX_WAL_KB;
}

bool hp_inv_valid_wal_buffers(const char *s)
{
	long long kb;

	if (!strcmp(s, "-1"))
		return true;
	return hp_inv_parse_pg_size(s, 8, &kb) && kb >= 32 &&
	       kb <= 1024LL * 1024;
}

static const char *const wal_bool_words[] = {"on",  "off", "true", "false",
					     "yes", "no",  "1",	   "0"};
static const char *const wal_methods[] = {"pglz", "lz4", "zstd"};

bool hp_inv_is_wal_method(const char *s)
{
	size_t i;

	for (i = 0; i < HP_ARRAY_SIZE(wal_methods); i++)
		if (!strcasecmp(s, wal_methods[i]))
			return true;
	return false;
}

bool hp_inv_valid_wal_compression(const char *s)
{
	size_t i;

	for (i = 0; i < HP_ARRAY_SIZE(wal_bool_words); i++)
		if (!strcasecmp(s, wal_bool_words[i]))
			return true;
	for (i = 0; i < HP_ARRAY_SIZE(wal_methods); i++)
		if (!strcasecmp(s, wal_methods[i]))
			return true;
	return false;
}

/* cluster.environment, as written: `haprov drill` compares it exactly. */
bool hp_inv_valid_pool_mode(const char *s)
{
	return !strcmp(s, "session") || !strcmp(s, "transaction") ||
	       !strcmp(s, "statement");
}

bool hp_inv_valid_environment(const char *s)
{
	static const char *const words[] = {"production", "staging", "test",
					    "lab"};
	size_t i;

	for (i = 0; i < HP_ARRAY_SIZE(words); i++)
		if (!strcmp(s, words[i]))
			return true;
	return false;
}

/*
 * "password", "passwd", "secret", and keys ending in "_password" and the
 * like. Not a substring match: password_encryption is a PostgreSQL
 * setting and secrets is a section.
 */
bool hp_inv_is_password_key(const char *key)
{
	static const char *const words[] = {"password", "passwd", "secret"};
	size_t n = strlen(key), i;

	for (i = 0; i < HP_ARRAY_SIZE(words); i++) {
		size_t w = strlen(words[i]);

		if (n < w || strcasecmp(key + n - w, words[i]) != 0)
			continue;
		if (n == w || key[n - w - 1] == '_' || key[n - w - 1] == '-')
			return true;
	}
	return false;
}

bool hp_inv_has_dotdot(const char *path)
{
	const char *p = path;

	for (;;) {
		size_t n;

		while (*p == '/')
			p++;
		if (!*p)
			return false;
		n = strcspn(p, "/");
		if (n == 2 && p[0] == '.' && p[1] == '.')
			return true;
		p += n;
	}
}

bool hp_inv_path_within(const char *a, const char *b)
{
	size_t n = strlen(b);

	if (!strcmp(b, "/"))
		return true;
	return !strncmp(a, b, n) && (a[n] == '\0' || a[n] == '/');
}

bool hp_inv_system_dir(const char *path, struct hp_buf *why)
{
	/* the operating system's own directories: haprov must not own one,
	 * nor a directory directly inside one */
	static const char *const system[] = {
		"/",	    "/etc",  "/usr",	 "/var",     "/var/lib",
		"/bin",	    "/boot", "/dev",	 "/proc",    "/sys",
		"/run",	    "/tmp",  "/home",	 "/root",    "/lib",
		"/lib64",   "/sbin", "/usr/bin", "/usr/lib", "/usr/sbin",
		"/var/log",
	};
	/* trees that keep no data, or that every user can write into */
	static const struct {
		const char *dir, *what;
	} volatile_trees[] = {
		{"/dev", "device files"},
		{"/proc", "a kernel file system"},
		{"/sys", "a kernel file system"},
		{"/run", "emptied at boot"},
		{"/tmp", "emptied at boot, and every user can write there"},
	};
	const char *slash = strrchr(path, '/');
	size_t plen = slash && slash != path ? (size_t)(slash - path) : 1, i;

	for (i = 0; i < HP_ARRAY_SIZE(system); i++) {
		if (!strcmp(path, system[i])) {
			hp_buf_addf(why, "it is the system directory %s",
				    system[i]);
			return true;
		}
	}
	for (i = 0; i < HP_ARRAY_SIZE(system); i++) {
		if (strlen(system[i]) == plen &&
		    !strncmp(path, system[i], plen)) {
			hp_buf_addf(why, "its parent %s is a system directory",
				    system[i]);
			return true;
		}
	}
	for (i = 0; i < HP_ARRAY_SIZE(volatile_trees); i++) {
		if (hp_inv_path_within(path, volatile_trees[i].dir)) {
			hp_buf_addf(why, "it is under %s (%s)",
				    volatile_trees[i].dir,
				    volatile_trees[i].what);
			return true;
		}
	}
	return false;
}

char *hp_inv_path_join(const char *base, const char *rel)
{
	struct hp_buf in = HP_BUF_INIT, out = HP_BUF_INIT;
	const char *p;

	if (rel[0] != '/') {
		hp_buf_adds(&in, base);
		hp_buf_addch(&in, '/');
	}
	hp_buf_adds(&in, rel);
	for (p = in.buf; *p;) {
		size_t n;

		while (*p == '/')
			p++;
		n = strcspn(p, "/");
		if (n == 2 && p[0] == '.' && p[1] == '.') {
			/* ".." at the root stays at the root, as the kernel
			 * resolves it */
			while (out.len && out.buf[out.len - 1] != '/')
				out.len--;
			if (out.len)
				out.len--;
			if (out.alloc)
				out.buf[out.len] = '\0';
		} else if (n && !(n == 1 && p[0] == '.')) {
			hp_buf_addch(&out, '/');
			hp_buf_add(&out, p, n);
		}
		p += n;
	}
	if (!out.len)
		hp_buf_addch(&out, '/');
	hp_buf_release(&in);
	return hp_buf_detach(&out, NULL);
}
