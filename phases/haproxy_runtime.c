/*
 * HAProxy's runtime API, on each HAProxy host over its SSH session: the
 * admin socket haproxy.cfg declares (HP_HAPROXY_ADMIN_SOCKET, 0600 root),
 * reached with perl (perl-base is Essential on Debian: on every host, unlike
 * socat). The commands go on the client's standard input, never in its
 * command line, as one line with "; " between them (the CLI's way to run
 * several in one connection); HAProxy answers each "set server" with an
 * empty line, or with a message that is an error (HAProxy 2.6, measured:
 * docs/field-notes.md).
 *
 * A switchover drains the leader in the primary backend before Patroni
 * demotes it (new connections wait for the new leader instead of reaching
 * one that is about to refuse writes), then forces the new leader's health
 * up and the old one's down the moment Patroni names the new leader, so no
 * client waits for HAProxy's checks to notice (docs/architecture.md,
 * "Switchover").
 */
#include <stdlib.h>
#include <string.h>

#include "phases.h"
#include "render.h"
#include "shell.h"

/* Reads the commands on stdin, writes them to the socket, prints every
 * answer; exit 2 when the socket cannot be reached. */
#define CLIENT                                                              \
	"perl -MIO::Socket::UNIX -e '$s = IO::Socket::UNIX->new(Peer => " \
	"$ARGV[0]) or do { print STDERR \"cannot reach $ARGV[0]: $!\\n\"; " \
	"exit 2 }; local $/; my $in = <STDIN>; print $s $in; "              \
	"shutdown($s, 1); print while <$s>' "

bool hp_haproxy_name_ok(const char *s)
{
	size_t i;

	if (!s || !*s || strlen(s) > 63)
		return false;
	for (i = 0; s[i]; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
		      s[i] == '_' || s[i] == '.'))
			return false;
	return true;
}

int hp_haproxy_answer_check(const char *ans, size_t len, size_t nr_cmds,
			    struct hp_err *err)
{
	size_t pos = 0, blank = 0;

	/* one empty line per successful command; anything else is HAProxy
	 * saying what went wrong */
	for (; pos < len && ans[pos] == '\n'; pos++)
		blank++;
	if (pos < len) {
		const char *nl = memchr(ans + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (ans + pos)) : len - pos;
		char *q = hp_printable_dup(ans + pos, n < 200 ? n : 200);

		hp_err_set(err, HP_EREMOTE, "haproxy's runtime API answered '%s'",
			   q);
		free(q);
		return HP_EREMOTE;
	}
	if (blank < nr_cmds)
		return hp_err_set(err, HP_EREMOTE,
				  "haproxy's runtime API answered %zu of %zu "
				  "commands",
				  blank, nr_cmds);
	return 0;
}

int hp_haproxy_server_cmd(struct hp_buf *out, const char *backend,
			  const char *server, const char *what,
			  struct hp_err *err)
{
	static const char *const allowed[] = {
		"state ready", "state drain", "state maint",
		"health up", "health down",
	};
	size_t i;

	if (!hp_haproxy_name_ok(backend) || !hp_haproxy_name_ok(server))
		return hp_err_set(err, HP_EINVALID,
				  "not a backend/server name for haproxy's "
				  "runtime API");
	for (i = 0; i < HP_ARRAY_SIZE(allowed); i++)
		if (!strcmp(what, allowed[i]))
			break;
	if (i == HP_ARRAY_SIZE(allowed))
		return hp_err_set(err, HP_EINVALID,
				  "not a server change haprov makes: '%s'",
				  what);
	hp_buf_addf(out, "set server %s/%s %s\n", backend, server, what);
	return 0;
}

/* Count the commands (lines) of a script. */
static size_t nr_lines(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

void hp_haproxy_one_line(struct hp_buf *out, const char *cmds)
{
	const char *p;

	/* the CLI's documented way to send several commands in one
	 * connection: one line, "; " between them */
	for (p = cmds; *p; p++) {
		if (*p != '\n')
			hp_buf_addch(out, *p);
		else if (p[1])
			hp_buf_adds(out, "; ");
	}
	hp_buf_addch(out, '\n');
}

int hp_haproxy_runtime(struct hp_hostrun *h, const char *cmds,
		       struct hp_err *err)
{
	struct hp_buf cmd = HP_BUF_INIT, out = HP_BUF_INIT, in = HP_BUF_INIT;
	int r;

	if (!h->tr.ops)
		return hp_err_set(err, HP_ECONNECT, "haproxy on %s: no session",
				  h->host->name);
	hp_buf_adds(&cmd, CLIENT);
	hp_shell_quote(&cmd, HP_HAPROXY_ADMIN_SOCKET);
	hp_haproxy_one_line(&in, cmds);
	/* no host lock: the runtime change is not a file haprov manages,
	 * and a switchover must not wait behind an apply's package step */
	r = hp_host_sh_read(h, cmd.buf, in.buf, in.len, 10, &out, err);
	if (r == 0)
		r = hp_haproxy_answer_check(out.buf, out.len, nr_lines(cmds),
					    err);
	hp_buf_release(&in);
	if (r < 0)
		hp_err_prefix(err, "haproxy on %s", h->host->name);
	hp_buf_release(&cmd);
	hp_buf_release(&out);
	return r;
}

static int runtime_host(struct hp_hostrun *h, void *arg)
{
	return hp_haproxy_runtime(h, arg, &h->err);
}

int hp_haproxy_runtime_all(struct hp_run *run, const char *cmds,
			   struct hp_err *err)
{
	if (!hp_run_each(run, HP_ROLE_HAPROXY, runtime_host,
			 (void *)(uintptr_t)cmds))
		return 0;
	return hp_run_failure(run, "haproxy runtime API", err);
}

/* srv_admin_state's bit for a drain forced through the runtime API
 * (HAProxy's SRV_ADMF_FDRAIN) */
#define FDRAIN 0x08

int hp_haproxy_drained(const char *ans, size_t len, struct hp_strlist *out,
		       struct hp_err *err)
{
	size_t pos = 0, nr = 0;

	/* "show servers state": a version line, a "# be_id be_name srv_id
	 * srv_name srv_addr srv_op_state srv_admin_state ..." header, then a
	 * line per server; only the primary backend's are asked for */
	while (pos < len) {
		const char *l = ans + pos, *nl = memchr(l, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - l) : len - pos;
		char line[512], *f[8], *save = NULL, *tok;
		size_t k = 0;

		pos += n + 1;
		if (++nr > 256)
			return hp_err_set(err, HP_EREMOTE,
					  "show servers state: more than 256 "
					  "lines");
		if (n >= sizeof(line))
			return hp_err_set(err, HP_EREMOTE,
					  "show servers state: a line of %zu "
					  "bytes",
					  n);
		/* an empty line (l[0] is its newline), the header */
		if (l[0] == '\n' || l[0] == '#')
			continue;
		memcpy(line, l, n);
		line[n] = '\0';
		for (tok = strtok_r(line, " ", &save); tok && k < 8;
		     tok = strtok_r(NULL, " ", &save))
			f[k++] = tok;
		if (k == 1 && strspn(f[0], "0123456789") == strlen(f[0]))
			continue; /* the format version */
		if (k < 7 || strcmp(f[1], "primary") != 0 ||
		    !hp_haproxy_name_ok(f[3]) ||
		    strspn(f[6], "0123456789") != strlen(f[6]) ||
		    strlen(f[6]) > 4) {
			char *q = hp_printable_dup(l, n < 120 ? n : 120);

			hp_err_set(err, HP_EREMOTE,
				   "show servers state: unexpected line '%s'",
				   q);
			free(q);
			return HP_EREMOTE;
		}
		if (strtol(f[6], NULL, 10) & FDRAIN)
			hp_strlist_add(out, f[3]);
	}
	return 0;
}

/* The read-ahead's line after the state's answer: the client's exit. */
#define AHEAD_OK "-- haproxy 0\n"
/* ... or its only line, when there is no admin socket */
#define AHEAD_NONE "-- haproxy none\n"

/* In the read-ahead: the primary backend's server state, when the admin
 * socket is there, and the client's exit status on a last line. */
static bool state_ahead_cmd(const struct hp_hostrun *h, struct hp_buf *cmd)
{
	if (!(h->host->roles & HP_ROLE_HAPROXY))
		return false;
	hp_buf_adds(cmd, "[ -S ");
	hp_shell_quote(cmd, HP_HAPROXY_ADMIN_SOCKET);
	hp_buf_adds(cmd, " ] || { echo '-- haproxy none'; exit 0; }; "
			 "printf 'show servers state primary\\n' | " CLIENT);
	hp_shell_quote(cmd, HP_HAPROXY_ADMIN_SOCKET);
	hp_buf_adds(cmd, " 2>/dev/null; echo \"-- haproxy $?\"");
	return true;
}

const struct hp_read_ahead hp_haproxy_state_read_ahead = {
	.cmd = state_ahead_cmd,
};

/* The state read ahead (without its status line) into out; false when
 * there is none, or the client did not exit 0. */
static bool state_ahead(const struct hp_hostrun *h, struct hp_buf *out)
{
	size_t len = 0;
	const char *a = hp_prefetch_answer(h, &hp_haproxy_state_read_ahead,
					   &len);

	/* no socket: HAProxy is not there yet, and a plan (which would
	 * install it) finds no drain, as its own read would */
	if (a && h->run->opts.plan && len == sizeof(AHEAD_NONE) - 1 &&
	    !memcmp(a, AHEAD_NONE, len))
		return true;
	return hp_prefetch_answer_ok(h, &hp_haproxy_state_read_ahead,
				     AHEAD_OK, out);
}

/* hp_run_each: lift a drain that an interrupted switchover left on the
 * host's HAProxy (plan: say so). The state read ahead serves while the
 * run has changed nothing. */
static int lift_host(struct hp_hostrun *h, void *arg)
{
	struct hp_buf cmd = HP_BUF_INIT, out = HP_BUF_INIT, fix = HP_BUF_INIT;
	struct hp_strlist drained = { NULL, 0, 0 };
	int64_t t = hp_now_ms();
	size_t i;
	int r;

	(void)arg;
	if (!h->tr.ops)
		return hp_err_set(&h->err, HP_ECONNECT,
				  "haproxy on %s: no session", h->host->name);
	/* a plan on a host HAProxy is not installed on yet (a new host):
	 * no socket, so no drain */
	if (h->run->opts.plan) {
		hp_buf_adds(&cmd, "[ -S ");
		hp_shell_quote(&cmd, HP_HAPROXY_ADMIN_SOCKET);
		hp_buf_adds(&cmd, " ] || exit 0; ");
	}
	hp_buf_adds(&cmd, CLIENT);
	hp_shell_quote(&cmd, HP_HAPROXY_ADMIN_SOCKET);
	r = state_ahead(h, &out)
		    ? 0
		    : hp_host_sh_read(h, cmd.buf, "show servers state primary\n",
				      27, 10, &out, &h->err);
	if (r == 0)
		r = hp_haproxy_drained(out.buf, out.len, &drained, &h->err);
	for (i = 0; r == 0 && i < drained.nr; i++)
		r = hp_haproxy_server_cmd(&fix, "primary", drained.items[i],
					  "state ready", &h->err);
	if (r == 0 && drained.nr && !h->run->opts.plan)
		r = hp_haproxy_runtime(h, fix.buf, &h->err);
	if (r == 0 && drained.nr)
		h->nr_changed++;
	if (r == 0)
		hp_run_record(h->run, h->host->name,
			      drained.nr ? HP_STEP_CHANGED : HP_STEP_OK,
			      "runtime: no drain left",
			      drained.nr ? "a drain an interrupted switchover "
					   "left is lifted"
					 : NULL,
			      NULL, t);
	else
		hp_err_prefix(&h->err, "haproxy on %s: runtime state",
			      h->host->name);
	hp_strlist_clear(&drained);
	hp_buf_release(&cmd);
	hp_buf_release(&out);
	hp_buf_release(&fix);
	return r;
}

int hp_haproxy_lift_drains(struct hp_run *run, struct hp_err *err)
{
	if (!hp_run_each(run, HP_ROLE_HAPROXY, lift_host, NULL))
		return 0;
	return hp_run_failure(run, "haproxy", err);
}
