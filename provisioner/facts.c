/*
 * Facts: what one remote command learns about a host's files, packages and
 * services, and the parser of its answer. The answer comes from a host,
 * so the parser trusts nothing: every line must have the expected shape,
 * names and numbers are checked, and anything else is an error that says
 * which line was wrong (quoted through the printable-text sanitizer).
 */
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "shell.h"

#define FACTS_LINE_MAX 256 /* the longest valid line is ~150 bytes */
#define FACTS_QUOTE_MAX 80 /* how much of a bad line an error quotes */

void hp_facts_release(struct hp_facts *f)
{
	free(f->files);
	free(f->pkg_installed);
	free(f->svcs);
	memset(f, 0, sizeof(*f));
}

void hp_facts_copy(struct hp_facts *out, const struct hp_facts *f)
{
	memset(out, 0, sizeof(*out));
	out->nr_files = f->nr_files;
	out->files = xcalloc(f->nr_files + 1, sizeof(*out->files));
	if (f->nr_files)
		memcpy(out->files, f->files, f->nr_files * sizeof(*f->files));
	out->nr_pkgs = f->nr_pkgs;
	out->pkg_installed = xcalloc(f->nr_pkgs + 1,
				     sizeof(*out->pkg_installed));
	if (f->nr_pkgs)
		memcpy(out->pkg_installed, f->pkg_installed,
		       f->nr_pkgs * sizeof(*f->pkg_installed));
	out->nr_svcs = f->nr_svcs;
	out->svcs = xcalloc(f->nr_svcs + 1, sizeof(*out->svcs));
	if (f->nr_svcs)
		memcpy(out->svcs, f->svcs, f->nr_svcs * sizeof(*f->svcs));
}

/* The fields of one line, split on single or repeated spaces. */
struct facts_line {
	const char *w[6];
	size_t len[6];
	size_t nr;
	bool too_many;
};

static void split_line(const char *l, size_t n, struct facts_line *out)
{
	size_t i = 0;

	memset(out, 0, sizeof(*out));
	while (i < n) {
		size_t a;

		while (i < n && l[i] == ' ')
			i++;
		if (i >= n)
			break;
		a = i;
		while (i < n && l[i] != ' ')
			i++;
		if (out->nr == HP_ARRAY_SIZE(out->w)) {
			out->too_many = true;
			return;
		}
		out->w[out->nr] = l + a;
		out->len[out->nr] = i - a;
		out->nr++;
	}
}

static bool all_of(const char *s, size_t n, const char *set)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] == '\0' || !strchr(set, s[i]))
			return false;
	return true;
}

#define LOWER "abcdefghijklmnopqrstuvwxyz"
#define UPPER "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
#define DIGITS "0123456789"

/* A user or group name as stat prints it (or UNKNOWN, or a number). */
static bool name_ok(const char *s, size_t n, size_t max)
{
	return n > 0 && n < max && s[0] != '-' &&
	       all_of(s, n, LOWER UPPER DIGITS "._-$@");
}

static int bad_line(struct hp_err *err, size_t lineno, const char *l,
		    size_t n, const char *why)
{
	struct hp_buf q = HP_BUF_INIT;
	int r;

	hp_buf_add_printable(&q, l, n, FACTS_QUOTE_MAX);
	r = hp_err_set(err, HP_EREMOTE,
		       "unexpected answer to the facts command: line %zu "
		       "'%s': %s",
		       lineno, q.buf, why);
	hp_buf_release(&q);
	return r;
}

/* "F -" or "F <sha256> <mode> <owner> <group>" */
static const char *parse_file(const struct facts_line *w,
			      struct hp_fact_file *f)
{
	unsigned long mode;
	char num[8];

	if (w->nr == 2 && w->len[1] == 1 && w->w[1][0] == '-')
		return NULL; /* does not exist */
	if (w->nr != 5)
		return "expected 'F -' or 'F <sha256> <mode> <owner> <group>'";
	if (w->len[1] != 64 || !all_of(w->w[1], 64, DIGITS "abcdef"))
		return "not a sha256";
	if (w->len[2] < 1 || w->len[2] > 5 || !all_of(w->w[2], w->len[2],
						      "01234567"))
		return "not an octal mode";
	memcpy(num, w->w[2], w->len[2]);
	num[w->len[2]] = '\0';
	mode = strtoul(num, NULL, 8);
	if (mode > 07777)
		return "mode out of range";
	if (!name_ok(w->w[3], w->len[3], sizeof(f->owner)) ||
	    !name_ok(w->w[4], w->len[4], sizeof(f->group)))
		return "not a user or group name";
	f->exists = true;
	memcpy(f->sha256, w->w[1], 64);
	f->sha256[64] = '\0';
	f->mode = (unsigned)mode;
	memcpy(f->owner, w->w[3], w->len[3]);
	f->owner[w->len[3]] = '\0';
	memcpy(f->group, w->w[4], w->len[4]);
	f->group[w->len[4]] = '\0';
	return NULL;
}

/* "P <dpkg status abbreviation>" ("P" alone: not known to dpkg). The
 * second letter is the current state: 'i' installed ("ii", or "hi" on
 * hold); a third letter is an error flag (reinstall required). */
static const char *parse_pkg(const struct facts_line *w, bool *installed)
{
	if (w->nr == 1) {
		*installed = false;
		return NULL;
	}
	if (w->nr != 2 || w->len[1] > 3 ||
	    !all_of(w->w[1], w->len[1], LOWER UPPER))
		return "not a dpkg status";
	*installed = w->len[1] == 2 && w->w[1][1] == 'i';
	return NULL;
}

/* "S <is-enabled> <is-active> <MainPID>" */
static const char *parse_svc(const struct facts_line *w,
			     struct hp_fact_svc *s)
{
	char num[16];
	long pid;

	if (w->nr != 4)
		return "expected 'S <enabled> <active> <pid>'";
	if (w->len[1] >= sizeof(s->enabled) || w->len[2] >= sizeof(s->active) ||
	    !all_of(w->w[1], w->len[1], LOWER "-") ||
	    !all_of(w->w[2], w->len[2], LOWER "-"))
		return "not a systemd state";
	if (w->len[3] > 10 || !all_of(w->w[3], w->len[3], DIGITS))
		return "not a process id";
	memcpy(num, w->w[3], w->len[3]);
	num[w->len[3]] = '\0';
	pid = strtol(num, NULL, 10);
	if (pid > 0x7fffffffL)
		return "not a process id";
	memcpy(s->enabled, w->w[1], w->len[1]);
	s->enabled[w->len[1]] = '\0';
	memcpy(s->active, w->w[2], w->len[2]);
	s->active[w->len[2]] = '\0';
	s->main_pid = pid;
	return NULL;
}

/* One line: its kind must come in order (F..., then P..., then S...). */
static const char *parse_line(const char *l, size_t n, struct hp_facts *out,
			      size_t *nf, size_t *np, size_t *ns)
{
	struct facts_line w;

	if (n > FACTS_LINE_MAX)
		return "line too long";
	if (memchr(l, '\0', n))
		return "NUL byte";
	split_line(l, n, &w);
	if (w.too_many || w.nr == 0 || w.len[0] != 1)
		return "not a facts line";
	switch (w.w[0][0]) {
	case 'F':
		if (*nf >= out->nr_files || *np || *ns)
			return "a file line more or out of order";
		return parse_file(&w, &out->files[(*nf)++]);
	case 'P':
		if (*np >= out->nr_pkgs || *ns)
			return "a package line more or out of order";
		return parse_pkg(&w, &out->pkg_installed[(*np)++]);
	case 'S':
		if (*ns >= out->nr_svcs)
			return "a service line more";
		return parse_svc(&w, &out->svcs[(*ns)++]);
	default:
		return "not a facts line";
	}
}

int hp_facts_parse(const char *text, size_t len, size_t nr_files,
		   size_t nr_pkgs, size_t nr_svcs, struct hp_facts *out,
		   struct hp_err *err)
{
	size_t pos = 0, lineno = 0, nf = 0, np = 0, ns = 0;

	memset(out, 0, sizeof(*out));
	out->files = xcalloc(nr_files ? nr_files : 1, sizeof(*out->files));
	out->nr_files = nr_files;
	out->pkg_installed = xcalloc(nr_pkgs ? nr_pkgs : 1,
				     sizeof(*out->pkg_installed));
	out->nr_pkgs = nr_pkgs;
	out->svcs = xcalloc(nr_svcs ? nr_svcs : 1, sizeof(*out->svcs));
	out->nr_svcs = nr_svcs;
	if (!text)
		len = 0;
	while (pos < len) {
		const char *l = text + pos;
		const char *nl = memchr(l, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - l) : len - pos;
		const char *why;

		pos += n + (nl ? 1 : 0);
		lineno++;
		while (n && (l[n - 1] == '\r' || l[n - 1] == ' '))
			n--;
		if (!n)
			continue;
		if ((why = parse_line(l, n, out, &nf, &np, &ns)) != NULL)
			return bad_line(err, lineno, l, n, why);
	}
	if (nf != nr_files || np != nr_pkgs || ns != nr_svcs)
		return hp_err_set(err, HP_EREMOTE,
				  "unexpected answer to the facts command: %zu "
				  "of %zu files, %zu of %zu packages, %zu of "
				  "%zu services",
				  nf, nr_files, np, nr_pkgs, ns, nr_svcs);
	return 0;
}

/*
 * The facts command. It is run on every host of every phase, so it spawns
 * few processes: one sha256sum and one stat for all files, one dpkg-query
 * for all packages, one systemctl for all services (about 9 ms on a lab
 * host instead of 46 with one of each per item; five services in one
 * systemctl show: 13 ms instead of 38). awk puts the answers back in
 * the items' order; when its counts do not add up it prints no file line,
 * and the parse says the answer is short.
 */
static void files_cmd(struct hp_buf *cmd, const struct hp_want_file *files,
		      size_t nr_files)
{
	size_t i;

	hp_buf_adds(cmd, "set --; x=; for f in");
	for (i = 0; i < nr_files; i++) {
		hp_buf_addch(cmd, ' ');
		hp_shell_quote(cmd, files[i].path);
	}
	hp_buf_adds(
		cmd,
		"; do if [ -f \"$f\" ]; then set -- \"$@\" \"$f\"; x=${x}1; "
		"else x=${x}0; fi; done; "
		"{ if [ $# -gt 0 ]; then sha256sum -- \"$@\" 2>/dev/null | "
		"sed 's/^\\\\//' | cut -c1-64; echo =; "
		"stat -c '%a %U %G' -- \"$@\" 2>/dev/null; else echo =; fi; } | "
		"awk -v x=\"$x\" '$0 == \"=\" { s = 1; next } "
		"!s { h[++nh] = $0; next } { t[++nt] = $0 } "
		"END { y = x; n1 = gsub(/1/, \"1\", y); "
		"if (nh != n1 || nt != n1) exit; "
		"for (i = 1; i <= length(x); i++) "
		"if (substr(x, i, 1) == \"1\") { k++; print \"F \" h[k] \" \" t[k] } "
		"else print \"F -\" }'; ");
}

static void pkgs_cmd(struct hp_buf *cmd, const char *const *pkgs,
		     size_t nr_pkgs)
{
	struct hp_buf names = HP_BUF_INIT;
	size_t i;

	for (i = 0; i < nr_pkgs; i++) {
		if (i)
			hp_buf_addch(&names, ' ');
		hp_buf_adds(&names, pkgs[i]);
	}
	hp_buf_adds(cmd, "dpkg-query -W -f='${binary:Package} "
			 "${db:Status-Abbrev}\\n' --");
	for (i = 0; i < nr_pkgs; i++) {
		hp_buf_addch(cmd, ' ');
		hp_shell_quote(cmd, pkgs[i]);
	}
	/* a package is asked for by name; dpkg may say name:arch */
	hp_buf_adds(cmd, " 2>/dev/null | awk -v want=");
	hp_shell_quote(cmd, names.buf);
	hp_buf_adds(cmd,
		    " '{ p = $1; sub(/:.*/, \"\", p); st[$1] = $2; st[p] = $2 } "
		    "END { n = split(want, w, \" \"); "
		    "for (i = 1; i <= n; i++) print \"P \" st[w[i]] }'; ");
	hp_buf_release(&names);
}

/* One systemctl show for every service: a block of lines per unit, a
 * blank line between them (awk's paragraph mode), each told by its Id
 * (name.service), answered in the order asked. A unit or a property
 * missing (no systemd, say) reads as "none none 0". */
static void svcs_cmd(struct hp_buf *cmd, const char *const *svcs,
		     size_t nr_svcs)
{
	struct hp_buf names = HP_BUF_INIT;
	size_t i;

	if (!nr_svcs)
		return;
	hp_buf_adds(cmd, "systemctl show -p Id -p UnitFileState -p "
			 "ActiveState -p MainPID --");
	for (i = 0; i < nr_svcs; i++) {
		hp_buf_addch(cmd, ' ');
		hp_shell_quote(cmd, svcs[i]);
		hp_buf_addf(&names, "%s%s", i ? " " : "", svcs[i]);
	}
	hp_buf_adds(cmd, " 2>/dev/null | awk -v want=");
	hp_shell_quote(cmd, names.buf);
	hp_buf_adds(
		cmd,
		" 'BEGIN { RS = \"\"; FS = \"\\n\" } "
		"{ delete v; for (i = 1; i <= NF; i++) { p = index($i, \"=\"); "
		"if (p) v[substr($i, 1, p - 1)] = substr($i, p + 1) } "
		"id = v[\"Id\"]; sub(/\\.service$/, \"\", id); "
		"e[id] = v[\"UnitFileState\"]; a[id] = v[\"ActiveState\"]; "
		"m[id] = v[\"MainPID\"] } "
		"END { n = split(want, w, \" \"); for (i = 1; i <= n; i++) "
		"print \"S \" (e[w[i]] == \"\" ? \"none\" : e[w[i]]) \" \" "
		"(a[w[i]] == \"\" ? \"none\" : a[w[i]]) \" \" "
		"(m[w[i]] == \"\" ? 0 : m[w[i]]) }'; ");
	hp_buf_release(&names);
}

void hp_facts_cmd(struct hp_buf *cmd, const struct hp_want_file *files,
		  size_t nr_files, const char *const *pkgs, size_t nr_pkgs,
		  const char *const *svcs, size_t nr_svcs)
{
	/* one line of answer per item, in order: F.../P.../S... */
	hp_buf_adds(cmd, "export LC_ALL=C; ");
	if (nr_files)
		files_cmd(cmd, files, nr_files);
	if (nr_pkgs)
		pkgs_cmd(cmd, pkgs, nr_pkgs);
	svcs_cmd(cmd, svcs, nr_svcs);
	hp_buf_adds(cmd, "true");
}

/* The line between the facts' answer and the second command's: no facts
 * line starts with '-' (each is "F ", "P " or "S "). */
#define MORE_MARK HP_FACTS_MORE_MARK

int hp_facts_split_more(const char *text, size_t len, size_t *facts_len,
			size_t *more_at, struct hp_err *err)
{
	const size_t n = sizeof(MORE_MARK) - 1;
	size_t pos = 0;

	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t l = nl ? (size_t)(nl - (text + pos)) : len - pos;

		if (l == n && !memcmp(text + pos, MORE_MARK, n)) {
			*facts_len = pos;
			*more_at = nl ? pos + l + 1 : len;
			return 0;
		}
		pos += l + 1;
	}
	return hp_err_set(err, HP_EREMOTE,
			  "unexpected answer to the facts command: no '"
			  MORE_MARK "' line before the second command's");
}

int hp_facts_gather_more(struct hp_hostrun *h,
			 const struct hp_want_file *files, size_t nr_files,
			 const char *const *pkgs, size_t nr_pkgs,
			 const char *const *svcs, size_t nr_svcs,
			 const char *more, struct hp_buf *more_out,
			 struct hp_facts *out, struct hp_err *err)
{
	struct hp_buf cmd = HP_BUF_INIT, res = HP_BUF_INIT;
	size_t flen = 0, at = 0;
	int r;

	memset(out, 0, sizeof(*out));
	hp_facts_cmd(&cmd, files, nr_files, pkgs, nr_pkgs, svcs, nr_svcs);
	if (more) {
		/* in a subshell: its variables and its exit stay its own */
		hp_buf_adds(&cmd, "; echo '" MORE_MARK "'; (");
		hp_buf_adds(&cmd, more);
		hp_buf_adds(&cmd, ")");
	}
	/* a read: no host lock */
	if ((r = hp_host_sh_read(h, cmd.buf, NULL, 0, 60, &res, err)) < 0) {
		/* the arrays exist even on error: callers index them */
		hp_facts_parse(NULL, 0, nr_files, nr_pkgs, nr_svcs, out, NULL);
		goto out;
	}
	flen = res.len;
	if (more)
		r = hp_facts_split_more(res.buf, res.len, &flen, &at, err);
	if (r == 0)
		r = hp_facts_parse(res.buf, flen, nr_files, nr_pkgs, nr_svcs,
				   out, err);
	else
		hp_facts_parse(NULL, 0, nr_files, nr_pkgs, nr_svcs, out, NULL);
	if (r == 0 && more)
		hp_buf_add(more_out, res.buf + at, res.len - at);
	if (r < 0 && err)
		hp_strlcpy(err->host, h->host->name, sizeof(err->host));
out:
	hp_buf_release(&cmd);
	hp_buf_release(&res);
	return r;
}

int hp_facts_gather(struct hp_hostrun *h, const struct hp_want_file *files,
		    size_t nr_files, const char *const *pkgs, size_t nr_pkgs,
		    const char *const *svcs, size_t nr_svcs,
		    struct hp_facts *out, struct hp_err *err)
{
	return hp_facts_gather_more(h, files, nr_files, pkgs, nr_pkgs, svcs,
				    nr_svcs, NULL, NULL, out, err);
}
