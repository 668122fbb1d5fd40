/*
 * patroni.pg_hba lines and patroni.allowed_networks, read the way
 * PostgreSQL reads pg_hba.conf, so that what the inventory accepts is what
 * PostgreSQL will load, and nothing opens the database wider than the
 * operator can see:
 *
 *   local   DATABASE USER         METHOD [OPTION=VALUE ...]
 *   host*   DATABASE USER ADDRESS METHOD [OPTION=VALUE ...]
 *
 * ADDRESS is a CIDR, an IP address followed by a netmask, a host name
 * (".example.com" matches a suffix), or all, samehost, samenet.
 *
 * trust is refused on every line but local ones: over the network it lets
 * anyone who reaches the port in as any user, with no password. Refused,
 * not warned about: haprov appends these lines after its own, and a
 * warning scrolls away while the line stays. A token after the method
 * that is not name=value is refused too: PostgreSQL would refuse the
 * whole file, on every host, at the next reload.
 */
#include <string.h>
#include <strings.h>

#include "inventory.h"
#include "inventory_priv.h"

/* One token: its text, quotes kept, and whether any part was quoted. */
struct token {
	const char *s;
	size_t len;
	bool quoted;
};

#define HBA_MAX_TOKENS 64

static bool is_space(char c)
{
	return c == ' ' || c == '\t';
}

/*
 * Split s into tokens as pg_hba.conf does: blanks separate, double quotes
 * protect blanks, and a '#' outside quotes would start a comment (which
 * here hides the rest of the line: refused). false after why.
 */
static bool tokenize(const char *s, struct token *t, size_t *nr,
		     struct hp_buf *why)
{
	const char *p = s;

	*nr = 0;
	for (;;) {
		bool quote = false;

		while (is_space(*p))
			p++;
		if (!*p)
			return true;
		if (*nr == HBA_MAX_TOKENS) {
			hp_buf_addf(why, "more than %d fields", HBA_MAX_TOKENS);
			return false;
		}
		t[*nr] = (struct token){.s = p, .len = 0, .quoted = false};
		for (; *p && (quote || !is_space(*p)); p++) {
			if (*p == '"') {
				quote = !quote;
				t[*nr].quoted = true;
			} else if (*p == '#' && !quote) {
				hp_buf_adds(why, "a '#' would make the rest of "
						 "the line a comment; write "
						 "comments in YAML");
				return false;
			}
		}
		if (quote) {
			hp_buf_adds(why, "a quote is not closed");
			return false;
		}
		t[*nr].len = (size_t)(p - t[*nr].s);
		if (t[*nr].s[t[*nr].len - 1] == '\\') {
			/* PostgreSQL 16 joins the next line to this one */
			hp_buf_adds(why, "a line cannot end with '\\'");
			return false;
		}
		(*nr)++;
	}
}

static bool tok_is(const struct token *t, const char *word)
{
	return !t->quoted && t->len == strlen(word) &&
	       !strncmp(t->s, word, t->len);
}

/* A copy of the token, the caller frees it. */
static char *tok_dup(const struct token *t)
{
	return xstrndup(t->s, t->len);
}

static void add_token(struct hp_buf *b, const struct token *t)
{
	struct hp_inv_quoted q;
	char *s = tok_dup(t);

	hp_buf_adds(b, hp_inv_quote(&q, s));
	free(s);
}

static const char *const hba_types[] = {
	"local", "host", "hostssl", "hostnossl", "hostgssenc", "hostnogssenc",
};
static const char *const hba_methods[] = {
	"trust", "reject", "scram-sha-256", "md5",    "password", "gss", "sspi",
	"ident", "peer",   "ldap",	    "radius", "cert",	  "pam", "bsd",
};

static bool one_of(const struct token *t, const char *const *words, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (tok_is(t, words[i]))
			return true;
	return false;
}

static bool is_keyword(const char *s)
{
	return !strcasecmp(s, "all") || !strcasecmp(s, "samehost") ||
	       !strcasecmp(s, "samenet");
}

/*
 * The ADDRESS column at t[0] (and its netmask at t[1]): how many tokens
 * it takes, or 0 after why.
 */
static size_t hba_address(const struct token *t, size_t left,
			  struct hp_buf *why)
{
	unsigned char a[16], m[16];
	char *addr = tok_dup(&t[0]), *mask = NULL;
	size_t used = 0;
	int fam;

	if (t[0].quoted)
		goto bad;
	if (is_keyword(addr) || hp_inv_valid_network(addr) ||
	    (addr[0] == '.' && hp_inv_valid_network(addr + 1))) {
		used = 1;
		goto out;
	}
	fam = hp_inv_ip_family(addr, a);
	if (!fam)
		goto bad;
	/* an address without /bits takes its netmask as the next field */
	if (left >= 2) {
		mask = tok_dup(&t[1]);
		if (hp_inv_ip_family(mask, m) == fam) {
			used = 2;
			goto out;
		}
	}
	hp_buf_addf(why, "address %s needs a /mask or a netmask after it",
		    addr);
	goto out;
bad:
	hp_buf_adds(why, "expected an address (a CIDR, an IP address and its "
			 "netmask, a host name, all, samehost or samenet), "
			 "got ");
	add_token(why, &t[0]);
out:
	free(addr);
	free(mask);
	return used;
}

/* Everything after the method is NAME=VALUE. */
static bool hba_options(const struct token *t, size_t nr, size_t method,
			struct hp_buf *why)
{
	size_t i;

	for (i = method + 1; i < nr; i++) {
		const char *eq = memchr(t[i].s, '=', t[i].len);

		if (eq && eq != t[i].s && t[i].s[0] != '"')
			continue;
		add_token(why, &t[i]);
		hp_buf_adds(why, " after the method ");
		add_token(why, &t[method]);
		hp_buf_adds(why, " is not an option (options are name=value); "
				 "PostgreSQL would refuse the whole file");
		return false;
	}
	return true;
}

bool hp_inv_check_hba_line(const char *s, struct hp_buf *why)
{
	struct token t[HBA_MAX_TOKENS];
	size_t nr, method;
	unsigned cp;
	const char *p;
	bool local;

	for (p = s; *p;) {
		p += hp_inv_utf8_char(p, &cp);
		if (hp_inv_is_ctl(cp)) {
			hp_buf_adds(why,
				    hp_inv_is_line_break(cp)
					    ? "a pg_hba line cannot hold a "
					      "line break"
					    : "a pg_hba line cannot hold "
					      "control characters");
			return false;
		}
	}
	if (!tokenize(s, t, &nr, why))
		return false;
	if (!nr || !one_of(&t[0], hba_types, HP_ARRAY_SIZE(hba_types))) {
		hp_buf_adds(why, "expected a type (local, host, hostssl, "
				 "hostnossl, hostgssenc or hostnogssenc) "
				 "first");
		return false;
	}
	local = tok_is(&t[0], "local");
	method = 3;
	if (!local && nr > 3) {
		size_t used = hba_address(&t[3], nr - 3, why);

		if (!used)
			return false;
		method += used;
	}
	if (nr <= method) {
		hp_buf_addf(why, "expected %s",
			    local ? "local DATABASE USER METHOD"
				  : "TYPE DATABASE USER ADDRESS METHOD");
		return false;
	}
	if (!one_of(&t[method], hba_methods, HP_ARRAY_SIZE(hba_methods))) {
		hp_buf_adds(why, "unknown method ");
		add_token(why, &t[method]);
		hp_buf_adds(why, " (scram-sha-256, md5, peer, ident, cert, "
				 "reject, ...)");
		return false;
	}
	if (!local && tok_is(&t[method], "trust")) {
		hp_buf_adds(why, "trust is accepted on local lines only: over "
				 "the network it lets anyone in as any user "
				 "without a password; use scram-sha-256");
		return false;
	}
	return hba_options(t, nr, method, why);
}

bool hp_inv_check_network(const char *s, struct hp_buf *why)
{
	if (is_keyword(s)) {
		hp_buf_addf(why,
			    "%s is a pg_hba keyword, not a network: it would "
			    "let in %s; write networks in CIDR notation "
			    "(10.0.0.0/24) or host names",
			    s,
			    !strcasecmp(s, "all")
				    ? "every address"
				    : "whole networks this host is on");
		return false;
	}
	/* anything else wrong: the field's own words */
	return hp_inv_valid_network(s);
}

bool hp_inv_hba_plaintext(const char *line)
{
	static const char *const plain[] = {"host", "hostnossl",
					    "hostnogssenc"};
	struct token t[HBA_MAX_TOKENS];
	struct hp_buf why = HP_BUF_INIT;
	size_t nr;
	bool r = false;

	if (tokenize(line, t, &nr, &why) && nr > 3 &&
	    one_of(&t[0], plain, HP_ARRAY_SIZE(plain))) {
		size_t used = hba_address(&t[3], nr - 3, &why);
		size_t method = 3 + used;

		r = used && nr > method && !tok_is(&t[method], "reject");
	}
	hp_buf_release(&why);
	return r;
}
