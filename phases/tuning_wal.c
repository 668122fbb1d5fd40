/*
 * The WAL volume (tuning.wal_device mounted at tuning.wal_dir): what a
 * host has, in one read-only command; whether haprov may format or mount
 * the device, or must refuse; and the guarded command that formats a blank
 * device (ext4, labelled haprov-wal), adds its /etc/fstab line by UUID,
 * mounts it and owns wal_dir postgres:postgres 0700.
 *
 * Blank means: blkid -p (a low-level probe of the device itself, not the
 * cache) finds no file system, RAID or partition-table signature (exit 2)
 * AND the device's first MiB is all zeros. Anything else is data and is
 * never formatted. A device already formatted by haprov (ext4 labelled
 * haprov-wal, not mounted: a run killed between mkfs and mount) is
 * mounted, so a rerun finishes the job. See docs/architecture.md, "WAL
 * volume".
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "phases.h"
#include "shell.h"

#define FACTS_MAX_LINES 64
#define FACTS_MAX_LINE 512

bool hp_wal_path_ok(const char *path)
{
	size_t i, n = path ? strlen(path) : 0;

	if (n < 2 || n > 200 || path[0] != '/' || strstr(path, ".."))
		return false;
	for (i = 0; i < n; i++) {
		char c = path[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || strchr("/._-", c)))
			return false;
	}
	return true;
}

void hp_wal_facts_cmd(struct hp_buf *out, const char *device,
		      const char *wal_dir, const char *pg_wal)
{
	hp_buf_adds(out, "export LC_ALL=C; d=");
	hp_shell_quote(out, device);
	hp_buf_adds(out, "; w=");
	hp_shell_quote(out, wal_dir);
	hp_buf_adds(out, "; p=");
	hp_shell_quote(out, pg_wal);
	hp_buf_adds(
		out,
		"; if [ -b \"$d\" ]; then echo B; "
		"o=$(blkid -p -o export -- \"$d\" 2>/dev/null); rc=$?; "
		"echo \"R $rc\"; "
		"printf '%s\\n' \"$o\" | sed -n '/./s/^/I /p' | head -n 16; "
		/* whether the first MiB is all zeros matters (and costs a
		 * read) only when blkid finds no signature */
		"if [ \"$rc\" = 2 ]; then "
		"echo \"Z $(head -c 1048576 -- \"$d\" | tr -d '\\000' | "
		"head -c 1 | wc -c)\"; fi; "
		"set -- $(stat -L -c '%t %T' -- \"$d\"); "
		"mm=$(printf '%d:%d' \"0x$1\" \"0x$2\"); echo \"K $mm\"; "
		"findmnt -rn -o MAJ:MIN,TARGET | "
		"awk -v m=\"$mm\" '$1 == m { print \"M \" $2 }' | head -n 8; fi; "
		"findmnt -rn -o MAJ:MIN -M \"$w\" | head -n 2 | sed 's/^/W /'; "
		"if [ -d \"$w\" ]; then echo \"N $(ls -A -- \"$w\" | head -n 3 | "
		"wc -l)\"; else echo 'N -1'; fi; "
		"awk -v w=\"$w\" '$1 !~ /^#/ && $2 == w { print \"F \" $0 }' "
		"/etc/fstab 2>/dev/null | head -n 2; "
		"if [ -L \"$p\" ]; then echo \"L $(readlink -- \"$p\")\"; "
		"elif [ -d \"$p\" ]; then echo D; fi; "
		/* a move's copy not yet removed (tuning_move.c) */
		"if [ -e \"$p.haprov-old\" ]; then echo O; fi; exit 0");
}

void hp_wal_verify_cmd(struct hp_buf *out, const char *device,
		       const char *wal_dir, const char *pg_wal)
{
	hp_buf_adds(out, "export LC_ALL=C; w=");
	hp_shell_quote(out, wal_dir);
	hp_buf_adds(out, "; p=");
	hp_shell_quote(out, pg_wal);
	if (device) {
		hp_buf_adds(out, "; d=");
		hp_shell_quote(out, device);
		hp_buf_adds(out, "; if [ -b \"$d\" ]; then echo B; "
				 "set -- $(stat -L -c '%t %T' -- \"$d\"); "
				 "printf 'K %d:%d\\n' \"0x$1\" \"0x$2\"; fi");
	}
	hp_buf_adds(out,
		    "; findmnt -rn -o MAJ:MIN -M \"$w\" | head -n 2 | "
		    "sed 's/^/W /'; "
		    "if [ -L \"$p\" ]; then echo \"L $(readlink -- \"$p\")\"; "
		    "elif [ -d \"$p\" ]; then echo D; fi; exit 0");
}

/* Copy a field (printable, at most size - 1 bytes) or fail. */
static int field(char *dst, size_t size, const char *v, const char *line,
		 struct hp_err *err)
{
	size_t i, n = strlen(v);

	for (i = 0; i < n; i++)
		if ((unsigned char)v[i] < 0x20 || (unsigned char)v[i] >= 0x7f)
			break;
	if (i < n || n >= size) {
		char *q = hp_printable_dup(line, 80);

		hp_err_set(err, HP_EREMOTE, "wal facts: bad line \"%s\"", q);
		free(q);
		return HP_EREMOTE;
	}
	memcpy(dst, v, n + 1);
	return 0;
}

static bool devno_ok(const char *s)
{
	size_t a = strspn(s, "0123456789");

	return a > 0 && a < 11 && s[a] == ':' &&
	       strspn(s + a + 1, "0123456789") == strlen(s + a + 1) &&
	       s[a + 1] && strlen(s + a + 1) < 11;
}

/* One blkid export line: KEY=VALUE. */
static int blkid_line(struct hp_wal_facts *f, const char *v, const char *line,
		      struct hp_err *err)
{
	static const char *const keys[] = { "TYPE=", "PTTYPE=", "UUID=",
					    "LABEL=" };
	char *dst[] = { f->type, f->pttype, f->uuid, f->label };
	size_t sz[] = { sizeof(f->type), sizeof(f->pttype), sizeof(f->uuid),
			sizeof(f->label) };
	size_t i;

	for (i = 0; i < HP_ARRAY_SIZE(keys); i++)
		if (!strncmp(v, keys[i], strlen(keys[i])))
			return field(dst[i], sz[i], v + strlen(keys[i]), line,
				     err);
	return 0; /* other keys (VERSION, USAGE, BLOCK_SIZE...) */
}

static int facts_line(struct hp_wal_facts *f, const char *line,
		      struct hp_err *err)
{
	const char *v = line + 2;
	char num[24];
	int n;

	if (!strcmp(line, "B"))
		return f->block = true, 0;
	if (!strcmp(line, "D"))
		return f->wal_is_dir = true, 0;
	if (!strcmp(line, "O"))
		return f->old_copy = true, 0;
	if (line[0] && line[1] != ' ')
		goto bad;
	switch (line[0]) {
	case 'R':
	case 'Z':
	case 'N':
		if (field(num, sizeof(num), v, line, err) < 0)
			return HP_EREMOTE;
		if (strspn(num + (num[0] == '-'), "0123456789") !=
			    strlen(num + (num[0] == '-')) ||
		    !num[num[0] == '-'] || strlen(num) > 4)
			goto bad;
		n = (int)strtol(num, NULL, 10); /* checked: at most 4 chars */
		if (line[0] == 'R')
			f->blkid_rc = n;
		else if (line[0] == 'Z')
			f->zero_read = true, f->nonzero = n != 0;
		else
			f->wal_entries = n;
		return 0;
	case 'I':
		return blkid_line(f, v, line, err);
	case 'K':
		if (field(f->devno, sizeof(f->devno), v, line, err) < 0)
			return HP_EREMOTE;
		return devno_ok(f->devno) ? 0 : (f->devno[0] = 0, 0);
	case 'M':
		if (f->nr_mounts < HP_WAL_MAX_MOUNTS &&
		    field(f->mounts[f->nr_mounts], sizeof(f->mounts[0]), v, line,
			  err) < 0)
			return HP_EREMOTE;
		f->nr_mounts++;
		return 0;
	case 'W':
		f->wal_mounted = true;
		return field(f->wal_devno, sizeof(f->wal_devno), v, line, err);
	case 'F':
		if (f->fstab[0])
			f->fstab_many = true;
		return field(f->fstab, sizeof(f->fstab), v, line, err);
	case 'L':
		return field(f->link, sizeof(f->link), v, line, err);
	default:
		break;
	}
bad:
	{
		char *q = hp_printable_dup(line, 80);

		hp_err_set(err, HP_EREMOTE, "wal facts: unexpected line \"%s\"",
			   q);
		free(q);
	}
	return HP_EREMOTE;
}

int hp_wal_facts_parse(const char *text, size_t len, struct hp_wal_facts *f,
		       struct hp_err *err)
{
	char line[FACTS_MAX_LINE + 1];
	size_t pos = 0, nr = 0;
	int r;

	memset(f, 0, sizeof(*f));
	f->blkid_rc = -1;
	f->wal_entries = -1;
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;

		if (++nr > FACTS_MAX_LINES)
			return hp_err_set(err, HP_EREMOTE,
					  "wal facts: more than %d lines",
					  FACTS_MAX_LINES);
		if (n > FACTS_MAX_LINE || memchr(text + pos, '\0', n))
			return hp_err_set(err, HP_EREMOTE,
					  "wal facts: line %zu too long or "
					  "binary",
					  nr);
		memcpy(line, text + pos, n);
		line[n] = '\0';
		pos += n + 1;
		if (n == 0)
			continue;
		if ((r = facts_line(f, line, err)) < 0)
			return r;
	}
	return 0;
}

void hp_wal_fstab_line(struct hp_buf *out, const char *uuid,
		       const char *wal_dir)
{
	hp_buf_addf(out, "UUID=%s %s ext4 defaults,noatime 0 2", uuid,
		    wal_dir);
}

/* Whether fstab's line for wal_dir mounts file system uuid there. */
static bool fstab_ours(const char *line, const char *uuid)
{
	size_t n = strlen(uuid);

	return n > 0 && !strncmp(line, "UUID=", 5) &&
	       !strncmp(line + 5, uuid, n) && (line[5 + n] == ' ' ||
					       line[5 + n] == '\t');
}

static enum hp_wal_action refuse(struct hp_buf *why, const char *host,
				 const char *device, const char *fmt, ...)
	HP_PRINTF(4, 5);
static enum hp_wal_action refuse(struct hp_buf *why, const char *host,
				 const char *device, const char *fmt, ...)
{
	va_list ap;

	hp_buf_addf(why, "%s: %s ", host, device);
	va_start(ap, fmt);
	hp_buf_vaddf(why, fmt, ap);
	va_end(ap);
	return HP_WAL_REFUSE;
}

/* The device is not mounted anywhere: may haprov take it? */
static enum hp_wal_action unmounted(const struct hp_wal_facts *f,
				    const char *host, const char *device,
				    const char *wal_dir, struct hp_buf *why)
{
	if (f->wal_entries > 0)
		return refuse(why, host, device,
			      "is not mounted and %s is not empty: mounting "
			      "the device there would hide its files; move "
			      "them away first", wal_dir);
	if (f->blkid_rc == 0) {
		if (!strcmp(f->type, "ext4") && !f->pttype[0] &&
		    !strcmp(f->label, HP_WAL_LABEL))
			return HP_WAL_MOUNT;
		if (f->pttype[0])
			return refuse(why, host, device,
				      "holds a partition table (%s): haprov "
				      "never formats a device that holds "
				      "data", f->pttype);
		return refuse(why, host, device,
			      "holds a file system or other signature (%s): "
			      "haprov never formats a device that holds "
			      "data", f->type[0] ? f->type : "unknown type");
	}
	if (f->blkid_rc == 2 && f->zero_read && !f->nonzero)
		return HP_WAL_FORMAT;
	if (f->blkid_rc == 2 && !f->zero_read)
		return refuse(why, host, device,
			      "has no signature blkid knows, and its first "
			      "MiB could not be read: haprov does not format "
			      "a device it has not seen is blank");
	if (f->blkid_rc == 2)
		return refuse(why, host, device,
			      "has no signature blkid knows but its first "
			      "MiB is not all zeros: it may hold data, so "
			      "haprov does not format it (wipe it yourself "
			      "if it is really free)");
	hp_buf_addf(why,
		    "%s: %s: blkid -p failed (exit %d; 8 means several "
		    "signatures): haprov does not format it",
		    host, device, f->blkid_rc);
	return HP_WAL_REFUSE;
}

enum hp_wal_action hp_wal_decide(const struct hp_wal_facts *f,
				 const char *host, const char *device,
				 const char *wal_dir, struct hp_buf *why)
{
	size_t i;

	if (!f->block || !f->devno[0])
		return refuse(why, host, device,
			      "is not a block device on this host (missing "
			      "or wrong path)");
	if (f->fstab_many)
		return refuse(why, host, device,
			      "cannot be mounted: /etc/fstab has more than "
			      "one line for %s", wal_dir);
	if (f->fstab[0] && !fstab_ours(f->fstab, f->uuid))
		return refuse(why, host, device,
			      "cannot be mounted: /etc/fstab already mounts "
			      "something else at %s (%s)",
			      wal_dir, f->fstab);
	if (f->wal_mounted && strcmp(f->wal_devno, f->devno) != 0)
		return refuse(why, host, device,
			      "cannot be mounted: another file system "
			      "(device %s) is mounted at %s",
			      f->wal_devno, wal_dir);
	for (i = 0; i < f->nr_mounts && i < HP_WAL_MAX_MOUNTS; i++)
		if (strcmp(f->mounts[i], wal_dir) != 0)
			return refuse(why, host, device,
				      "is mounted elsewhere (%s), not at %s",
				      f->mounts[i], wal_dir);
	if (f->nr_mounts > HP_WAL_MAX_MOUNTS)
		return refuse(why, host, device,
			      "is mounted in more places than haprov "
			      "reads");
	if (f->wal_mounted)
		return f->fstab[0] ? HP_WAL_OK : HP_WAL_FSTAB;
	if (f->nr_mounts > 0)
		return refuse(why, host, device,
			      "is mounted, but not at %s", wal_dir);
	return unmounted(f, host, device, wal_dir, why);
}

/* ---- on a host ------------------------------------------------------------- */

/*
 * The facts, read on the host, or the ones read before in this run when the
 * run has recorded no change since (the patroni and tuning phases each
 * check the volume before they change anything and again in their host
 * pass: one read serves them all on a cluster that needs nothing). Every
 * change is recorded, a mount or a pg_wal move by the steps here, so a
 * change anywhere makes the next check read again.
 */
static void wal_cmd(const struct hp_hostrun *h, struct hp_buf *cmd)
{
	const struct hp_inventory *inv = h->run->inv;
	char *pg_wal = xasprintf("%s/pg_wal", inv->patroni.data_dir);

	hp_wal_facts_cmd(cmd, inv->tuning.wal_device, inv->tuning.wal_dir,
			 pg_wal);
	free(pg_wal);
}

static void keep(struct hp_hostrun *h, const struct hp_wal_facts *f,
		 size_t at)
{
	if (!h->wal_facts)
		h->wal_facts = xmalloc(sizeof(*f));
	memcpy(h->wal_facts, f, sizeof(*f));
	h->wal_facts_at = at;
}

int hp_wal_facts_read(struct hp_hostrun *h, struct hp_wal_facts *f,
		      struct hp_err *err)
{
	struct hp_buf cmd = HP_BUF_INIT, out = HP_BUF_INIT;
	size_t at = hp_run_host_changes(h->run), len;
	const char *ahead;
	int r;

	if (h->wal_facts && h->wal_facts_at == at) {
		memcpy(f, h->wal_facts, sizeof(*f));
		return 0;
	}
	memset(f, 0, sizeof(*f));
	/* read ahead: an answer that does not parse is read again, and its
	 * error is the second read's */
	ahead = hp_prefetch_answer(h, &hp_wal_read_ahead, &len);
	if (ahead && hp_wal_facts_parse(ahead, len, f, NULL) == 0) {
		keep(h, f, at);
		return 0;
	}
	memset(f, 0, sizeof(*f));
	wal_cmd(h, &cmd);
	r = hp_host_sh_read(h, cmd.buf, NULL, 0, 30, &out, err);
	if (r == 0)
		r = hp_wal_facts_parse(out.buf, out.len, f, err);
	if (r == 0)
		keep(h, f, at);
	hp_buf_release(&cmd);
	hp_buf_release(&out);
	return r;
}

bool hp_wal_facts_ahead_cmd(const struct hp_hostrun *h, struct hp_buf *cmd)
{
	const struct hp_tuning *t = &h->run->inv->tuning;

	if (!t->wal_device || !(h->host->roles & HP_ROLE_PATRONI) ||
	    !hp_wal_path_ok(t->wal_device) || !hp_wal_path_ok(t->wal_dir))
		return false;
	wal_cmd(h, cmd);
	return true;
}

const struct hp_read_ahead hp_wal_read_ahead = {
	.cmd = hp_wal_facts_ahead_cmd,
};

/* The facts and the decision; HP_EINVALID for a refusal. */
static int decide_host(struct hp_hostrun *h, struct hp_wal_facts *f,
		       enum hp_wal_action *act, struct hp_err *err)
{
	const struct hp_tuning *t = &h->run->inv->tuning;
	struct hp_buf why = HP_BUF_INIT;
	int r;

	if (!hp_wal_path_ok(t->wal_device) || !hp_wal_path_ok(t->wal_dir))
		return hp_err_set(err, HP_EINVALID,
				  "tuning.wal_device and tuning.wal_dir must "
				  "be absolute paths of [A-Za-z0-9/._-]");
	if ((r = hp_wal_facts_read(h, f, err)) < 0)
		return r;
	*act = hp_wal_decide(f, h->host->name, t->wal_device, t->wal_dir,
			     &why);
	if (*act == HP_WAL_REFUSE)
		r = hp_err_set(err, HP_EINVALID, "%s (nothing changed)",
			       why.buf);
	hp_buf_release(&why);
	return r;
}

int hp_wal_volume_check(struct hp_hostrun *h, struct hp_err *err)
{
	struct hp_wal_facts f;
	enum hp_wal_action act = HP_WAL_REFUSE;

	if (!h->run->inv->tuning.wal_device)
		return 0;
	return decide_host(h, &f, &act, err);
}

static int check_host(struct hp_hostrun *h, void *arg)
{
	(void)arg;
	return hp_wal_volume_check(h, &h->err);
}

int hp_wal_volume_precheck(struct hp_run *run, struct hp_err *err)
{
	size_t i;

	if (!run->inv->tuning.wal_device ||
	    !hp_run_each(run, HP_ROLE_PATRONI, check_host, NULL))
		return 0;
	for (i = 0; i < run->nr_hosts; i++)
		if (run->hosts[i].failed)
			return hp_err_set(err, run->hosts[i].err.code,
					  "tuning.wal_device: %s",
					  run->hosts[i].err.msg);
	return hp_err_set(err, HP_ERROR, "tuning.wal_device: a host failed");
}

/* The guarded change: format (only if still blank), fstab, mount, own. */
static void volume_cmd(struct hp_buf *cmd, struct hp_hostrun *h,
		       enum hp_wal_action act)
{
	const struct hp_tuning *t = &h->run->inv->tuning;

	hp_buf_addf(cmd, "set -e; export LC_ALL=C; umask 022; act=%s; d=",
		    act == HP_WAL_FORMAT ? "format" : "mount");
	hp_shell_quote(cmd, t->wal_device);
	hp_buf_adds(cmd, "; w=");
	hp_shell_quote(cmd, t->wal_dir);
	hp_buf_addf(cmd, "; b=%s/%s/etc; ", HP_BACKUP_ROOT, h->run->run_id);
	hp_buf_adds(
		cmd,
		"if [ \"$act\" = format ]; then rc=0; "
		"blkid -p -- \"$d\" >/dev/null 2>&1 || rc=$?; "
		"if [ \"$rc\" != 2 ]; then echo \"$d is no longer blank (blkid "
		"-p exit $rc): not formatted\" >&2; exit 3; fi; "
		"mkfs.ext4 -q -L " HP_WAL_LABEL " -- \"$d\"; echo formatted; fi; "
		"u=$(blkid -p -s UUID -o value -- \"$d\"); "
		"case $u in ''|*[!0-9a-fA-F-]*) echo \"no UUID on $d\" >&2; "
		"exit 3;; esac; "
		"if ! awk -v w=\"$w\" '$1 !~ /^#/ && $2 == w { f = 1 } END "
		"{ exit !f }' /etc/fstab; then mkdir -p -- \"$b\"; "
		"cp -p /etc/fstab \"$b/fstab\"; "
		"cp -p /etc/fstab /etc/fstab.haprov-new; "
		"printf 'UUID=%s %s ext4 defaults,noatime 0 2\\n' \"$u\" \"$w\" "
		">>/etc/fstab.haprov-new; sync /etc/fstab.haprov-new; "
		"mv -f /etc/fstab.haprov-new /etc/fstab; echo fstab; "
		"systemctl daemon-reload >/dev/null 2>&1 || true; fi; "
		"mkdir -p -- \"$w\"; "
		"if ! findmnt -rn -M \"$w\" >/dev/null; then mount -- \"$w\"; "
		"echo mounted; fi; "
		"if id postgres >/dev/null 2>&1; then "
		"chown postgres:postgres -- \"$w\"; fi; chmod 0700 -- \"$w\"");
}

static const char *action_text(enum hp_wal_action act)
{
	switch (act) {
	case HP_WAL_FORMAT:
		return "blank: format ext4, add to /etc/fstab by UUID, mount";
	case HP_WAL_MOUNT:
		return "haprov's ext4: add to /etc/fstab by UUID, mount";
	case HP_WAL_FSTAB:
		return "mounted: add its /etc/fstab line by UUID";
	default:
		return "mounted";
	}
}

int hp_wal_volume_host(struct hp_hostrun *h, struct hp_err *err)
{
	const struct hp_tuning *t = &h->run->inv->tuning;
	struct hp_buf cmd = HP_BUF_INIT, out = HP_BUF_INIT;
	struct hp_wal_facts f;
	enum hp_wal_action act = HP_WAL_REFUSE;
	char *step;
	int64_t t0 = hp_now_ms();
	int r;

	if (!t->wal_device)
		return 0;
	if ((r = decide_host(h, &f, &act, err)) < 0)
		return r;
	step = xasprintf("wal volume %s at %s", t->wal_device, t->wal_dir);
	if (act == HP_WAL_OK || h->run->opts.plan) {
		if (act != HP_WAL_OK)
			h->nr_changed++;
		hp_run_record(h->run, h->host->name,
			      act == HP_WAL_OK ? HP_STEP_OK : HP_STEP_CHANGED,
			      step, act == HP_WAL_OK ? NULL : action_text(act),
			      NULL, t0);
		free(step);
		return 0;
	}
	volume_cmd(&cmd, h, act);
	r = hp_host_sh(h, cmd.buf, NULL, 0, 300, &out, err);
	if (r == 0) {
		h->nr_changed++;
		hp_run_record(h->run, h->host->name, HP_STEP_CHANGED, step,
			      action_text(act), NULL, t0);
	} else {
		hp_err_prefix(err, "%s", step);
	}
	free(step);
	hp_buf_release(&cmd);
	hp_buf_release(&out);
	return r;
}
