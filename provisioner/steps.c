/*
 * Idempotent step primitives. Each reads the actual state (facts gathered
 * for a whole phase in one remote command), acts only when it differs, and
 * records its result. In plan mode nothing is changed: the steps report
 * what they would do, with a unified diff for files.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "shell.h"

#define BACKUP_ROOT "/var/lib/haprov/backups"

void hp_facts_release(struct hp_facts *f)
{
	free(f->files);
	free(f->pkg_installed);
	free(f->svcs);
	memset(f, 0, sizeof(*f));
}

int hp_host_sh(struct hp_hostrun *h, const char *cmd, const void *in,
	       size_t in_len, int timeout_s, struct hp_buf *out,
	       struct hp_err *err)
{
	struct hp_exec_result res;
	int r;

	hp_exec_result_init(&res);
	if (timeout_s <= 0)
		timeout_s = h->run->inv->ssh.command_timeout_s;
	r = h->tr.ops->exec(h->tr.ctx, cmd, in, in_len, timeout_s, &res, err);
	if (r < 0)
		goto out;
	if (res.exit_code != 0) {
		/* keep the tail of stderr (or stdout): it says why */
		const struct hp_buf *b = res.errout.len ? &res.errout : &res.out;
		const char *tail = b->buf;

		if (b->len > 600)
			tail = b->buf + b->len - 600;
		size_t n = strlen(tail);

		while (n && (tail[n - 1] == '\n' || tail[n - 1] == ' '))
			n--;
		r = hp_err_set(err, HP_EREMOTE, "exit %d: %.*s", res.exit_code,
			       (int)n, tail);
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

/* Copy the next whitespace-separated word of *p into dst. */
static void next_word(const char **p, char *dst, size_t dstlen)
{
	const char *s = *p;
	size_t n = 0;

	while (*s == ' ')
		s++;
	while (*s && *s != ' ' && *s != '\n') {
		if (n + 1 < dstlen)
			dst[n++] = *s;
		s++;
	}
	dst[n] = '\0';
	*p = s;
}

int hp_facts_gather(struct hp_hostrun *h, const struct hp_want_file *files,
		    size_t nr_files, const char *const *pkgs, size_t nr_pkgs,
		    const char *const *svcs, size_t nr_svcs,
		    struct hp_facts *out, struct hp_err *err)
{
	struct hp_buf cmd = HP_BUF_INIT, res = HP_BUF_INIT;
	const char *p;
	size_t i, nf = 0, np = 0, ns = 0;
	int r;

	memset(out, 0, sizeof(*out));
	out->files = xcalloc(nr_files, sizeof(*out->files));
	out->nr_files = nr_files;
	out->pkg_installed = xcalloc(nr_pkgs, sizeof(*out->pkg_installed));
	out->nr_pkgs = nr_pkgs;
	out->svcs = xcalloc(nr_svcs, sizeof(*out->svcs));
	out->nr_svcs = nr_svcs;

	/* one line of answer per item, in order: F.../P.../S... */
	hp_buf_adds(&cmd, "export LC_ALL=C; ");
	for (i = 0; i < nr_files; i++) {
		hp_buf_adds(&cmd, "f=");
		hp_shell_quote(&cmd, files[i].path);
		hp_buf_adds(&cmd,
			    "; if [ -f \"$f\" ]; then echo \"F $(sha256sum < "
			    "\"$f\" | cut -c1-64) $(stat -c '%a %U %G' "
			    "\"$f\")\"; else echo 'F -'; fi; ");
	}
	for (i = 0; i < nr_pkgs; i++) {
		hp_buf_adds(&cmd, "echo \"P $(dpkg-query -W -f='${db:Status-"
				  "Abbrev}' ");
		hp_shell_quote(&cmd, pkgs[i]);
		hp_buf_adds(&cmd, " 2>/dev/null | tr -d ' ')\"; ");
	}
	for (i = 0; i < nr_svcs; i++) {
		hp_buf_adds(&cmd, "s=");
		hp_shell_quote(&cmd, svcs[i]);
		hp_buf_adds(&cmd,
			    "; e=$(systemctl is-enabled \"$s\" 2>/dev/null); "
			    "a=$(systemctl is-active \"$s\" 2>/dev/null); "
			    "m=$(systemctl show -p MainPID --value \"$s\" "
			    "2>/dev/null); echo \"S ${e:-none} ${a:-none} "
			    "${m:-0}\"; ");
	}
	hp_buf_adds(&cmd, "true");
	if ((r = hp_host_sh(h, cmd.buf, NULL, 0, 60, &res, err)) < 0)
		goto out;
	for (p = res.buf; *p; p = *p ? p + 1 : p) {
		char kind[4], a[80];

		next_word(&p, kind, sizeof(kind));
		if (!strcmp(kind, "F") && nf < nr_files) {
			struct hp_fact_file *f = &out->files[nf++];

			next_word(&p, a, sizeof(a));
			if (strcmp(a, "-") != 0) {
				char b[40], c[40], d[40];

				next_word(&p, b, sizeof(b));
				next_word(&p, c, sizeof(c));
				next_word(&p, d, sizeof(d));
				f->exists = true;
				hp_strlcpy(f->sha256, a, sizeof(f->sha256));
				f->mode = (unsigned)strtoul(b, NULL, 8);
				hp_strlcpy(f->owner, c, sizeof(f->owner));
				hp_strlcpy(f->group, d, sizeof(f->group));
			}
		} else if (!strcmp(kind, "P") && np < nr_pkgs) {
			next_word(&p, a, sizeof(a));
			out->pkg_installed[np++] = !strncmp(a, "ii", 2);
		} else if (!strcmp(kind, "S") && ns < nr_svcs) {
			struct hp_fact_svc *s = &out->svcs[ns++];

			next_word(&p, s->enabled, sizeof(s->enabled));
			next_word(&p, s->active, sizeof(s->active));
			next_word(&p, a, sizeof(a));
			s->main_pid = strtol(a, NULL, 10);
		}
		p = strchr(p, '\n') ? strchr(p, '\n') : p + strlen(p);
	}
	if (nf != nr_files || np != nr_pkgs || ns != nr_svcs)
		r = hp_err_set(err, HP_EREMOTE,
			       "unexpected answer to the facts command");
out:
	hp_buf_release(&cmd);
	hp_buf_release(&res);
	return r;
}

int hp_step_packages(struct hp_hostrun *h, const char *const *pkgs,
		     size_t nr, const bool *installed, bool *changed,
		     struct hp_err *err)
{
	struct hp_buf list = HP_BUF_INIT, cmd = HP_BUF_INIT;
	struct hp_buf names = HP_BUF_INIT; /* for people: unquoted */
	int64_t t = hp_now_ms();
	size_t i;
	int r = 0;

	*changed = false;
	for (i = 0; i < nr; i++) {
		if (installed[i])
			continue;
		hp_buf_addch(&list, ' ');
		hp_shell_quote(&list, pkgs[i]);
		hp_buf_addf(&names, "%s%s", names.len ? " " : "", pkgs[i]);
	}
	if (!list.len) {
		hp_run_record(h->run, h->host->name, HP_STEP_OK, "packages",
			      NULL, NULL, t);
		goto out;
	}
	*changed = true;
	h->nr_changed++;
	if (h->run->opts.plan) {
		hp_run_record(h->run, h->host->name, HP_STEP_CHANGED,
			      "packages", names.buf, NULL, t);
		goto out;
	}
	/*
	 * Install first and refresh the lists only if that fails: a host
	 * whose mirror is unreachable but whose cache has the .debs (or that
	 * has them installed) still converges.
	 */
	hp_buf_addf(&cmd,
		    "export DEBIAN_FRONTEND=noninteractive; "
		    "inst() { apt-get install -y -q --no-install-recommends "
		    "-o Dpkg::Options::=--force-confold%s; }; "
		    "inst >/tmp/haprov-apt.log 2>&1 || "
		    "{ apt-get update -q >>/tmp/haprov-apt.log 2>&1; "
		    "inst >>/tmp/haprov-apt.log 2>&1; } || "
		    "{ tail -n 15 /tmp/haprov-apt.log >&2; exit 1; }",
		    list.buf);
	r = hp_host_sh(h, cmd.buf, NULL, 0, 0, NULL, err);
	if (r < 0)
		hp_err_prefix(err, "apt-get install %s", names.buf);
	hp_run_record(h->run, h->host->name,
		      r < 0 ? HP_STEP_FAILED : HP_STEP_CHANGED, "packages",
		      r < 0 ? err->msg : names.buf, NULL, t);
out:
	hp_buf_release(&names);
	hp_buf_release(&list);
	hp_buf_release(&cmd);
	return r;
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

/* Remember a file seen in this phase for the state repository. */
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
	rec->secret = f->secret;
	if (replaced && old) {
		rec->old = xstrndup(old->buf, old->len);
		rec->old_len = old->len;
	}
}

/* Unified diff of the host's file against the wanted content, computed on
 * the host (diff reads the new content on stdin). */
static int file_diff(struct hp_hostrun *h, const struct hp_want_file *f,
		     bool exists, struct hp_buf *out, struct hp_err *err)
{
	struct hp_buf cmd = HP_BUF_INIT;
	struct hp_exec_result res;
	int r;

	hp_exec_result_init(&res);
	hp_buf_adds(&cmd, "LC_ALL=C diff -u --label ");
	hp_shell_quote(&cmd, exists ? f->path : "/dev/null");
	hp_buf_adds(&cmd, " --label ");
	hp_shell_quote(&cmd, f->path);
	hp_buf_addch(&cmd, ' ');
	hp_shell_quote(&cmd, exists ? f->path : "/dev/null");
	hp_buf_adds(&cmd, " -");
	r = h->tr.ops->exec(h->tr.ctx, cmd.buf, f->content, f->len, 60, &res,
			    err);
	if (r == 0)
		hp_buf_add(out, res.out.buf, res.out.len);
	hp_exec_result_release(&res);
	hp_buf_release(&cmd);
	return r;
}

static void note_services(struct hp_hostrun *h, const struct hp_want_file *f)
{
	char *list, *save = NULL, *s;

	if (!strncmp(f->path, "/etc/systemd/", 13))
		h->daemon_reload = true;
	if (!f->services)
		return;
	list = xstrdup(f->services);
	for (s = strtok_r(list, " ", &save); s; s = strtok_r(NULL, " ", &save)) {
		struct hp_strlist *l = f->reload ? &h->reload : &h->restart;

		if (!hp_strlist_has(l, s))
			hp_strlist_add(l, s);
	}
	free(list);
}

int hp_step_file(struct hp_hostrun *h, const struct hp_want_file *f,
		 const struct hp_fact_file *fact, bool *changed,
		 struct hp_err *err)
{
	struct hp_buf what = HP_BUF_INIT, diff = HP_BUF_INIT, old = HP_BUF_INIT;
	struct hp_buf cmd = HP_BUF_INIT;
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
	if (!fact->exists)
		hp_buf_adds(&what, "created");
	else if (content_differs)
		hp_buf_adds(&what, "content differs");
	if (meta_differs)
		hp_buf_addf(&what, "%s%o %s:%s -> %o %s:%s",
			    what.len ? "; " : "", fact->mode, fact->owner,
			    fact->group, f->mode, owner, group);

	if (h->run->opts.plan) {
		if (content_differs && f->secret)
			hp_buf_adds(&diff, "(holds secrets: content not shown)\n");
		else if (content_differs &&
			 (r = file_diff(h, f, fact->exists, &diff, err)) < 0)
			goto fail;
		add_rec(h, f, NULL, false);
		hp_run_record(h->run, h->host->name, HP_STEP_CHANGED, step,
			      what.buf, diff.buf, t);
		goto out;
	}

	/* keep the old content twice: on the host, and for the state repo */
	if (fact->exists && content_differs) {
		hp_buf_adds(&cmd, "p=");
		hp_shell_quote(&cmd, f->path);
		hp_buf_addf(&cmd, "; b=%s/%s\"$p\"; umask 077; "
				  "mkdir -p \"$(dirname \"$b\")\" && "
				  "cp -p \"$p\" \"$b\"",
			    BACKUP_ROOT, h->run->run_id);
		if ((r = hp_host_sh(h, cmd.buf, NULL, 0, 60, NULL, err)) < 0)
			goto fail;
		hp_buf_reset(&cmd);
		if (!f->secret &&
		    (r = h->tr.ops->get(h->tr.ctx, f->path, &old, err)) < 0)
			goto fail;
	}
	if (!fact->exists) {
		/* a new file may be the first in its directory */
		hp_buf_adds(&cmd, "mkdir -p \"$(dirname ");
		hp_shell_quote(&cmd, f->path);
		hp_buf_adds(&cmd, ")\"");
		if ((r = hp_host_sh(h, cmd.buf, NULL, 0, 30, NULL, err)) < 0)
			goto fail;
		hp_buf_reset(&cmd);
	}
	if (f->check_cmd) {
		/* install under a temporary name, check it, then rename */
		char *tmp = xasprintf("%s.haprov-new", f->path);
		char *chk;
		struct hp_buf qt = HP_BUF_INIT;

		hp_shell_quote(&qt, tmp);
		chk = xstrdup(f->check_cmd);
		r = h->tr.ops->put(h->tr.ctx, tmp, f->content, f->len, f->mode,
				   owner, group, err);
		if (r == 0) {
			const char *pct = strstr(chk, "%s");

			if (pct)
				hp_buf_addf(&cmd, "%.*s%s%s",
					    (int)(pct - chk), chk, qt.buf,
					    pct + 2);
			else
				hp_buf_adds(&cmd, chk);
			hp_buf_adds(&cmd, " && mv -f ");
			hp_buf_addf(&cmd, "%s ", qt.buf);
			hp_shell_quote(&cmd, f->path);
			hp_buf_adds(&cmd, " || { rc=$?; rm -f ");
			hp_buf_addf(&cmd, "%s; exit $rc; }", qt.buf);
			r = hp_host_sh(h, cmd.buf, NULL, 0, 60, NULL, err);
			if (r < 0)
				hp_err_prefix(err, "%s refused the new %s",
					      f->check_cmd, f->path);
		}
		free(chk);
		free(tmp);
		hp_buf_release(&qt);
		if (r < 0)
			goto fail;
	} else if ((r = h->tr.ops->put(h->tr.ctx, f->path, f->content, f->len,
				       f->mode, owner, group, err)) < 0) {
		goto fail;
	}
	add_rec(h, f, &old, fact->exists && content_differs && !f->secret);
	note_services(h, f);
	hp_run_record(h->run, h->host->name, HP_STEP_CHANGED, step, what.buf,
		      NULL, t);
	goto out;
fail:
	hp_run_record(h->run, h->host->name, HP_STEP_FAILED, step, err->msg,
		      NULL, t);
out:
	free(step);
	hp_buf_release(&what);
	hp_buf_release(&diff);
	hp_buf_release(&old);
	hp_buf_release(&cmd);
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
