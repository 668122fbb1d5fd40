/*
 * Idempotent step primitives. Each reads the actual state (facts gathered
 * for a whole phase in one remote command, facts.c), acts only when it
 * differs, and records its result. In plan mode nothing is changed: the
 * steps report what they would do, with a unified diff for files.
 *
 * Every remote command that changes a host runs under the host lock
 * (hostlock.c); reads do not take it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "redact.h"
#include "shell.h"

#define ERR_TAIL_MAX 600 /* how much of a failed command's output is quoted */

/* The tail of a failed command's stderr (or stdout), for an error message:
 * credentials redacted, then only printable characters, at most
 * ERR_TAIL_MAX bytes. */
static void err_tail(const struct hp_exec_result *res, struct hp_buf *out)
{
	const struct hp_buf *b = res->errout.len ? &res->errout : &res->out;
	struct hp_buf red = HP_BUF_INIT;
	size_t off, n;

	/* all of it: a line cut at the tail's start could hide its key */
	hp_redact_credentials(&red, b->buf, b->len, NULL);
	n = red.len;
	while (n && (red.buf[n - 1] == '\n' || red.buf[n - 1] == ' ' ||
		     red.buf[n - 1] == '\r'))
		n--;
	off = n > ERR_TAIL_MAX ? n - ERR_TAIL_MAX : 0;
	hp_buf_add_printable(out, red.buf + off, n - off, ERR_TAIL_MAX);
	hp_redact_buf_wipe(&red);
}

static int host_sh(struct hp_hostrun *h, const char *cmd, const void *in,
		   size_t in_len, int timeout_s, bool locked,
		   struct hp_buf *out, struct hp_err *err)
{
	struct hp_exec_result res;
	int r;

	hp_exec_result_init(&res);
	if (timeout_s <= 0)
		timeout_s = h->run->inv->ssh.command_timeout_s;
	if (locked)
		r = hp_hostlock_exec(h, cmd, in, in_len, timeout_s, &res, err);
	else
		r = h->tr.ops->exec(h->tr.ctx, cmd, in, in_len, timeout_s,
				    &res, err);
	if (r < 0)
		goto out;
	if (res.exit_code != 0) {
		struct hp_buf tail = HP_BUF_INIT;

		err_tail(&res, &tail);
		r = hp_err_set(err, HP_EREMOTE, "exit %d: %s", res.exit_code,
			       tail.buf);
		hp_buf_release(&tail);
		goto out;
	}
	if (out)
		hp_buf_add(out, res.out.buf, res.out.len);
out:
	if (r < 0 && err)
		hp_strlcpy(err->host, h->host->name, sizeof(err->host));
	hp_exec_result_release(&res);
	return r;
}

int hp_host_sh(struct hp_hostrun *h, const char *cmd, const void *in,
	       size_t in_len, int timeout_s, struct hp_buf *out,
	       struct hp_err *err)
{
	/* plan changes nothing, so it needs no lock */
	return host_sh(h, cmd, in, in_len, timeout_s, !h->run->opts.plan, out,
		       err);
}

int hp_host_sh_read(struct hp_hostrun *h, const char *cmd, const void *in,
		    size_t in_len, int timeout_s, struct hp_buf *out,
		    struct hp_err *err)
{
	return host_sh(h, cmd, in, in_len, timeout_s, false, out, err);
}

int hp_step_dir(struct hp_hostrun *h, const char *path, unsigned mode,
		const char *owner, const char *group, struct hp_err *err)
{
	struct hp_buf cmd = HP_BUF_INIT, og = HP_BUF_INIT;
	int r;

	hp_buf_addf(&og, "%s:%s", owner ? owner : "root",
		    group ? group : "root");
	/* idempotent by construction and cheap: checked and done remotely */
	hp_buf_adds(&cmd, "d=");
	hp_shell_quote(&cmd, path);
	hp_buf_addf(&cmd, "; m=%o; o=", mode);
	hp_shell_quote(&cmd, og.buf);
	hp_buf_addf(&cmd,
		    "; if [ -d \"$d\" ] && [ \"$(stat -c '%%a %%U:%%G' \"$d\")\" "
		    "= \"$m $o\" ]; then echo ok; else %s && echo changed; fi",
		    h->run->opts.plan ? "true"
				      : "install -d -m \"$m\" -o \"${o%:*}\" "
					"-g \"${o#*:}\" \"$d\"");
	hp_buf_release(&og);
	og = (struct hp_buf)HP_BUF_INIT;
	r = hp_host_sh(h, cmd.buf, NULL, 0, 30, &og, err);
	if (r == 0 && !strncmp(og.buf, "changed", 7)) {
		char *step = xasprintf("directory %s", path);

		h->nr_changed++;
		hp_run_record(h->run, h->host->name, HP_STEP_CHANGED, step,
			      "created", NULL, hp_now_ms());
		free(step);
	}
	hp_buf_release(&cmd);
	hp_buf_release(&og);
	return r;
}

/* What the state repository keeps of replaced content that held
 * credentials: its hash and where the file itself is. */
static char *hash_note(const struct hp_hostrun *h, const char *path,
		       const struct hp_buf *old)
{
	char sha[65];

	hp_sha256_hex(old->buf, old->len, sha);
	return xasprintf("# haprov: the file it replaced held credentials, so "
			 "only its hash is kept here;\n# the file itself is "
			 "on the host in %s/%s%s\nsha256 %s\n",
			 HP_BACKUP_ROOT, h->run->run_id, path, sha);
}

/*
 * Remember a file seen in this phase for the state repository. A file
 * marked secret, or one whose new content has a credential anyway, is
 * committed by hash only (rec->secret); replaced content that held a
 * credential is kept as a hash note, never in clear.
 */
static void add_rec(struct hp_hostrun *h, const struct hp_want_file *f,
		    const struct hp_buf *old, bool replaced)
{
	struct hp_file_rec *rec;

	HP_ALLOC_GROW(h->recs, h->nr_recs + 1, h->alloc_recs);
	rec = &h->recs[h->nr_recs++];
	memset(rec, 0, sizeof(*rec));
	rec->path = xstrdup(f->path);
	rec->now = xstrndup(f->content, f->len);
	rec->now_len = f->len;
	rec->secret =
		f->secret || hp_redact_has_credentials(f->content, f->len);
	if (replaced && old) {
		if (hp_redact_has_credentials(old->buf, old->len))
			rec->old = hash_note(h, f->path, old);
		else
			rec->old = xstrndup(old->buf, old->len);
		rec->old_len = strlen(rec->old);
	}
}

void hp_diff_new_file(struct hp_buf *out, const char *path,
		      const char *content, size_t len)
{
	size_t i, n = 0;

	if (!len)
		return; /* /dev/null and an empty file: no difference */
	for (i = 0; i < len; i++)
		n += content[i] == '\n';
	if (content[len - 1] != '\n')
		n++;
	hp_buf_addf(out, "--- /dev/null\n+++ %s\n", path);
	if (n == 1)
		hp_buf_adds(out, "@@ -0,0 +1 @@\n");
	else
		hp_buf_addf(out, "@@ -0,0 +1,%zu @@\n", n);
	for (i = 0; i < len;) {
		const char *nl = memchr(content + i, '\n', len - i);
		size_t l = nl ? (size_t)(nl - (content + i)) : len - i;

		hp_buf_addch(out, '+');
		hp_buf_add(out, content + i, l);
		hp_buf_addch(out, '\n');
		i += l + 1;
	}
	if (content[len - 1] != '\n')
		hp_buf_adds(out, "\\ No newline at end of file\n");
}

/* Unified diff of the host's file against the wanted content, computed on
 * the host (diff reads the new content on stdin); for a file the host
 * lacks, here (the whole content added). A read: no lock. The caller
 * wipes out; hp_run_record redacts it. */
static int file_diff(struct hp_hostrun *h, const struct hp_want_file *f,
		     bool exists, struct hp_buf *out, struct hp_err *err)
{
	struct hp_buf cmd = HP_BUF_INIT;
	struct hp_exec_result res;
	int r;

	if (!exists) {
		hp_diff_new_file(out, f->path, f->content, f->len);
		return 0;
	}
	hp_exec_result_init(&res);
	hp_buf_adds(&cmd, "LC_ALL=C diff -u --label ");
	hp_shell_quote(&cmd, f->path);
	hp_buf_adds(&cmd, " --label ");
	hp_shell_quote(&cmd, f->path);
	hp_buf_addch(&cmd, ' ');
	hp_shell_quote(&cmd, f->path);
	hp_buf_adds(&cmd, " -");
	r = h->tr.ops->exec(h->tr.ctx, cmd.buf, f->content, f->len, 60, &res,
			    err);
	if (r == 0)
		hp_buf_add(out, res.out.buf, res.out.len);
	hp_redact_buf_wipe(&res.out);
	hp_exec_result_release(&res);
	hp_buf_release(&cmd);
	return r;
}

void hp_step_note_services(struct hp_hostrun *h, const struct hp_want_file *f,
			   bool removed)
{
	char *list, *save = NULL, *s;

	if (!strncmp(f->path, "/etc/systemd/", 13))
		h->daemon_reload = true;
	if (!f->services)
		return;
	list = xstrdup(f->services);
	for (s = strtok_r(list, " ", &save); s; s = strtok_r(NULL, " ", &save)) {
		/* a removed file is never "reloaded": its services restart */
		struct hp_strlist *l =
			f->reload && !removed ? &h->reload : &h->restart;

		if (!hp_strlist_has(l, s))
			hp_strlist_add(l, s);
	}
	free(list);
}

/* Keep the old content twice: on the host under the run's backup
 * directory, and (unless the file is secret) in old for the state
 * repository. */
static int file_backup(struct hp_hostrun *h, const struct hp_want_file *f,
		       struct hp_buf *old, struct hp_err *err)
{
	struct hp_buf cmd = HP_BUF_INIT;
	int r;

	hp_buf_adds(&cmd, "p=");
	hp_shell_quote(&cmd, f->path);
	hp_buf_addf(&cmd, "; b=%s/%s\"$p\"; umask 077; "
			  "mkdir -p \"$(dirname \"$b\")\" && "
			  "cp -p \"$p\" \"$b\"",
		    HP_BACKUP_ROOT, h->run->run_id);
	r = hp_host_sh(h, cmd.buf, NULL, 0, 60, NULL, err);
	if (r == 0)
		h->made_backups = true;
	if (r == 0 && !f->secret)
		r = h->tr.ops->get(h->tr.ctx, f->path, old, err);
	hp_buf_release(&cmd);
	return r;
}

/* Install the new content under a temporary name, check it with
 * check_cmd, then rename it into place. */
static int file_put_checked(struct hp_hostrun *h, const struct hp_want_file *f,
			    const char *owner, const char *group,
			    struct hp_err *err)
{
	struct hp_buf cmd = HP_BUF_INIT, qt = HP_BUF_INIT;
	char *tmp = xasprintf("%s.haprov-new", f->path);
	const char *pct = strstr(f->check_cmd, "%s");
	int r;

	hp_shell_quote(&qt, tmp);
	r = h->tr.ops->put(h->tr.ctx, tmp, f->content, f->len, f->mode, owner,
			   group, err);
	if (r < 0)
		goto out;
	if (pct)
		hp_buf_addf(&cmd, "%.*s%s%s", (int)(pct - f->check_cmd),
			    f->check_cmd, qt.buf, pct + 2);
	else
		hp_buf_adds(&cmd, f->check_cmd);
	hp_buf_adds(&cmd, " && mv -f ");
	hp_buf_addf(&cmd, "%s ", qt.buf);
	hp_shell_quote(&cmd, f->path);
	hp_buf_adds(&cmd, " || { rc=$?; rm -f ");
	hp_buf_addf(&cmd, "%s; exit $rc; }", qt.buf);
	r = hp_host_sh(h, cmd.buf, NULL, 0, 60, NULL, err);
	if (r < 0)
		hp_err_prefix(err, "%s refused the new %s", f->check_cmd,
			      f->path);
out:
	free(tmp);
	hp_buf_release(&qt);
	hp_buf_release(&cmd);
	return r;
}

static int file_install(struct hp_hostrun *h, const struct hp_want_file *f,
			bool exists, const char *owner, const char *group,
			struct hp_err *err)
{
	const char *slash = strrchr(f->path, '/');
	char *dir = slash ? xstrndup(f->path, (size_t)(slash - f->path)) : NULL;

	/* a new file may be the first in its directory (made once a run) */
	if (!exists && dir && *dir && !hp_strlist_has(&h->made_dirs, dir)) {
		struct hp_buf cmd = HP_BUF_INIT;
		int r;

		hp_buf_adds(&cmd, "mkdir -p ");
		hp_shell_quote(&cmd, dir);
		r = hp_host_sh(h, cmd.buf, NULL, 0, 30, NULL, err);
		hp_buf_release(&cmd);
		if (r < 0) {
			free(dir);
			return r;
		}
		hp_strlist_add(&h->made_dirs, dir);
	}
	free(dir);
	if (f->check_cmd)
		return file_put_checked(h, f, owner, group, err);
	return h->tr.ops->put(h->tr.ctx, f->path, f->content, f->len, f->mode,
			      owner, group, err);
}

/* "created", "content differs", "644 root:root -> 640 ..." */
static void file_what(struct hp_buf *what, const struct hp_want_file *f,
		      const struct hp_fact_file *fact, bool content_differs,
		      bool meta_differs, const char *owner, const char *group)
{
	if (!fact->exists)
		hp_buf_adds(what, "created");
	else if (content_differs)
		hp_buf_adds(what, "content differs");
	if (meta_differs)
		hp_buf_addf(what, "%s%o %s:%s -> %o %s:%s",
			    what->len ? "; " : "", fact->mode, fact->owner,
			    fact->group, f->mode, owner, group);
}

int hp_step_file(struct hp_hostrun *h, const struct hp_want_file *f,
		 const struct hp_fact_file *fact, bool *changed,
		 struct hp_err *err)
{
	struct hp_buf what = HP_BUF_INIT, diff = HP_BUF_INIT, old = HP_BUF_INIT;
	char sha[65], *step = xasprintf("file %s", f->path);
	const char *owner = f->owner ? f->owner : "root";
	const char *group = f->group ? f->group : "root";
	bool content_differs, meta_differs;
	int64_t t = hp_now_ms();
	int r = 0;

	*changed = false;
	hp_sha256_hex(f->content, f->len, sha);
	content_differs = !fact->exists || strcmp(fact->sha256, sha) != 0;
	meta_differs = fact->exists &&
		       (fact->mode != f->mode || strcmp(fact->owner, owner) != 0 ||
			strcmp(fact->group, group) != 0);
	if (!content_differs && !meta_differs) {
		add_rec(h, f, NULL, false);
		hp_run_record(h->run, h->host->name, HP_STEP_OK, step, NULL,
			      NULL, t);
		goto out;
	}
	*changed = true;
	h->nr_changed++;
	file_what(&what, f, fact, content_differs, meta_differs, owner, group);

	if (h->run->opts.plan) {
		if (content_differs && f->secret)
			hp_buf_adds(&diff, "(holds secrets: content not shown)\n");
		else if (content_differs &&
			 (r = file_diff(h, f, fact->exists, &diff, err)) < 0)
			goto fail;
		add_rec(h, f, NULL, false);
		/* the old content's credentials are redacted there */
		hp_run_record(h->run, h->host->name, HP_STEP_CHANGED, step,
			      what.buf, diff.buf, t);
		goto out;
	}
	if (fact->exists && content_differs &&
	    (r = file_backup(h, f, &old, err)) < 0)
		goto fail;
	if ((r = file_install(h, f, fact->exists, owner, group, err)) < 0)
		goto fail;
	add_rec(h, f, &old, fact->exists && content_differs && !f->secret);
	hp_step_note_services(h, f, false);
	hp_run_record(h->run, h->host->name, HP_STEP_CHANGED, step, what.buf,
		      NULL, t);
	goto out;
fail:
	hp_run_record(h->run, h->host->name, HP_STEP_FAILED, step, err->msg,
		      NULL, t);
out:
	free(step);
	hp_buf_release(&what);
	hp_redact_buf_wipe(&diff);
	hp_redact_buf_wipe(&old);
	return r;
}

enum hp_svc_action hp_service_needs(struct hp_hostrun *h, const char *svc,
				    const struct hp_fact_svc *fact)
{
	bool active = !strcmp(fact->active, "active");

	if (!active)
		return HP_SVC_START;
	if (hp_strlist_has(&h->restart, svc))
		return HP_SVC_RESTART;
	if (hp_strlist_has(&h->reload, svc))
		return HP_SVC_RELOAD;
	return HP_SVC_NONE;
}

int hp_step_service(struct hp_hostrun *h, const char *svc,
		    const struct hp_fact_svc *fact, enum hp_svc_action act,
		    bool nowait, struct hp_err *err)
{
	static const char *const verbs[] = { "", "start", "restart",
					     "reload" };
	bool enable = strcmp(fact->enabled, "enabled") != 0;
	struct hp_buf cmd = HP_BUF_INIT, what = HP_BUF_INIT;
	char *step = xasprintf("service %s", svc);
	int64_t t = hp_now_ms();
	int r = 0;

	if (!enable && act == HP_SVC_NONE) {
		hp_run_record(h->run, h->host->name, HP_STEP_OK, step, NULL,
			      NULL, t);
		goto out;
	}
	if (enable)
		hp_buf_adds(&what, "enable");
	if (act != HP_SVC_NONE)
		hp_buf_addf(&what, "%s%s", what.len ? ", " : "", verbs[act]);
	h->nr_changed++;
	if (h->run->opts.plan) {
		hp_run_record(h->run, h->host->name, HP_STEP_CHANGED, step,
			      what.buf, NULL, t);
		goto out;
	}
	/* a hold left by a killed install (hp_step_packages_held) would
	 * keep the service from starting */
	if (act == HP_SVC_START || act == HP_SVC_RESTART) {
		hp_buf_adds(&cmd, "f=" HP_PKG_HOLD_DIR);
		hp_shell_quote(&cmd, svc);
		hp_buf_adds(&cmd, ".service.d/" HP_PKG_HOLD_FILE "; "
				  "if [ -e \"$f\" ]; then rm -f \"$f\" && "
				  "systemctl daemon-reload; fi && ");
	}
	if (h->daemon_reload)
		hp_buf_adds(&cmd, "systemctl daemon-reload && ");
	if (enable) {
		hp_buf_adds(&cmd, "systemctl enable -q ");
		hp_shell_quote(&cmd, svc);
		hp_buf_adds(&cmd, " && ");
	}
	if (act != HP_SVC_NONE) {
		hp_buf_addf(&cmd, "systemctl %s%s ", verbs[act],
			    nowait ? " --no-block" : "");
		hp_shell_quote(&cmd, svc);
	} else {
		hp_buf_adds(&cmd, "true");
	}
	r = hp_host_sh(h, cmd.buf, NULL, 0, 0, NULL, err);
	if (r == 0)
		h->daemon_reload = false;
	hp_run_record(h->run, h->host->name,
		      r < 0 ? HP_STEP_FAILED : HP_STEP_CHANGED, step,
		      r < 0 ? err->msg : what.buf, NULL, t);
out:
	free(step);
	hp_buf_release(&cmd);
	hp_buf_release(&what);
	return r;
}
