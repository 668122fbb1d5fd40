/*
 * The order of a rotation and its failure paths (rotate.h), and the
 * resolution of the command line's names. No I/O here: the store and the
 * cluster are behind struct hp_rotate_ops (rotate_cluster.c and
 * cmd_rotate.c hold the real ones).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rotate.h"
#include "secret_store.h"

static const struct {
	const char *word;
	enum hp_rotate_kind kind;
} bootstrap[] = {
	{ "superuser", HP_ROT_SUPERUSER },
	{ "replication", HP_ROT_REPLICATION },
	{ "rewind", HP_ROT_REWIND },
	{ "restapi", HP_ROT_RESTAPI },
};

bool hp_rotate_in_config(enum hp_rotate_kind kind)
{
	return kind != HP_ROT_APP;
}

bool hp_rotate_is_role(enum hp_rotate_kind kind)
{
	return kind != HP_ROT_RESTAPI;
}

static const char *bootstrap_user(const struct hp_inventory *inv,
				  enum hp_rotate_kind kind)
{
	switch (kind) {
	case HP_ROT_SUPERUSER:
		return inv->secrets.superuser;
	case HP_ROT_REPLICATION:
		return inv->secrets.replication;
	case HP_ROT_REWIND:
		return inv->secrets.rewind;
	case HP_ROT_RESTAPI:
		return inv->secrets.restapi_user;
	default:
		return NULL;
	}
}

/* One name: a bootstrap keyword, a bootstrap user's name, or an
 * application role. false when it is none. */
static bool resolve_one(const struct hp_inventory *inv, const char *name,
			struct hp_rotate_target *t)
{
	size_t i;

	memset(t, 0, sizeof(*t));
	for (i = 0; i < HP_ARRAY_SIZE(bootstrap); i++) {
		const char *user = bootstrap_user(inv, bootstrap[i].kind);

		if (strcmp(name, bootstrap[i].word) != 0 &&
		    !(user && !strcmp(name, user)))
			continue;
		t->kind = bootstrap[i].kind;
		t->user = user;
		snprintf(t->secret, sizeof(t->secret), "%s",
			 bootstrap[i].word);
		return t->user != NULL;
	}
	for (i = 0; i < inv->secrets.nr_roles; i++) {
		const struct hp_secret_role *r = &inv->secrets.roles[i];

		if (strcmp(name, r->name) != 0)
			continue;
		/* a role name longer than the room cannot be PostgreSQL's
		 * (63 bytes at most) and the inventory refuses it */
		if ((size_t)snprintf(t->secret, sizeof(t->secret), "role-%s",
				     r->name) >= sizeof(t->secret))
			return false;
		t->kind = HP_ROT_APP;
		t->user = r->name;
		t->app = r;
		return true;
	}
	return false;
}

/* "superuser, replication, rewind, restapi, app1, ..." for an error. */
static void valid_names(const struct hp_inventory *inv, struct hp_buf *b)
{
	size_t i;

	for (i = 0; i < HP_ARRAY_SIZE(bootstrap); i++)
		hp_buf_addf(b, "%s%s", i ? ", " : "", bootstrap[i].word);
	for (i = 0; i < inv->secrets.nr_roles; i++)
		hp_buf_addf(b, ", %s", inv->secrets.roles[i].name);
}

int hp_rotate_resolve(const struct hp_inventory *inv, char *const *names,
		      size_t nr, struct hp_rotate_target *out,
		      struct hp_err *err)
{
	struct hp_buf b = HP_BUF_INIT;
	size_t i, j;
	char *p;
	int r = 0;

	for (i = 0; i < nr && r == 0; i++) {
		if (!resolve_one(inv, names[i], &out[i])) {
			valid_names(inv, &b);
			p = hp_printable_dup(names[i], 80);
			r = hp_err_set(err, HP_EINVALID,
				       "rotate: '%s' is not a role of the "
				       "inventory; nothing was changed "
				       "(roles: %s)",
				       p, b.buf ? b.buf : "");
			free(p);
			break;
		}
		for (j = 0; j < i; j++) {
			if (strcmp(out[j].secret, out[i].secret) != 0)
				continue;
			p = hp_printable_dup(names[i], 80);
			r = hp_err_set(err, HP_EINVALID,
				       "rotate: '%s' is named twice; nothing "
				       "was changed",
				       p);
			free(p);
			break;
		}
	}
	hp_buf_release(&b);
	return r;
}

/*
 * The old password back on the cluster after step `failed` went wrong
 * (its error in err). Returns the code to report: the step's own, with
 * err saying the old password is back; or HP_EVERIFY when putting it
 * back failed too.
 */
static int put_back(const struct hp_rotate_ops *ops, void *ctx,
		    const struct hp_rotate_target *t, const char *old,
		    const char *failed, const char *sha, int code,
		    enum hp_rotate_outcome *outcome, struct hp_err *err)
{
	struct hp_err e2;
	char *why = xstrdup(err->msg);
	int r;

	hp_err_clear(&e2);
	r = ops->apply(ctx, t, old, &e2);
	*outcome = r == 0 ? HP_ROT_PUT_BACK : HP_ROT_STUCK;
	if (r == 0)
		r = hp_err_set(err, code,
			       "rotate %s: %s failed: %s; the previous "
			       "password is back on the cluster and stays "
			       "the store's current version",
			       t->secret, failed, why);
	else
		r = hp_err_set(err, HP_EVERIFY,
			       "rotate %s: %s failed: %s; putting the "
			       "previous password back failed too: %s. The "
			       "cluster may hold the new version (sha256 "
			       "%.12s, staged in the store), the store's "
			       "current one is the previous: run haprov "
			       "apply to converge the cluster to the store",
			       t->secret, failed, why, e2.msg, sha);
	free(why);
	return r;
}

int hp_rotate_one(const struct hp_rotate_ops *ops, void *ctx,
		  const struct hp_rotate_target *t, const char *old,
		  enum hp_rotate_outcome *outcome, struct hp_err *err)
{
	char sha[65] = "", *value = NULL;
	struct hp_err e2;
	int r;

	*outcome = HP_ROT_UNCHANGED;
	if ((r = ops->prepare(ctx, t, err)) < 0)
		return r;
	/* nothing is on the cluster yet: a failed stage changes nothing */
	if ((r = ops->stage(ctx, t, &value, sha, err)) < 0)
		return r;
	if ((r = ops->apply(ctx, t, value, err)) < 0) {
		r = put_back(ops, ctx, t, old, "apply", sha, r, outcome, err);
		goto out;
	}
	if ((r = ops->verify(ctx, t, value, old, err)) < 0) {
		r = put_back(ops, ctx, t, old, "verification", sha, r,
			     outcome, err);
		goto out;
	}
	if ((r = ops->promote(ctx, t, sha, err)) < 0) {
		r = put_back(ops, ctx, t, old, "promoting the new version",
			     sha, r, outcome, err);
		goto out;
	}
	*outcome = HP_ROTATED;
	hp_err_clear(&e2);
	if (ops->commit(ctx, t, &e2) < 0)
		hp_warn("rotate %s: done, but the rollback point was not "
			"committed: %s",
			t->secret, e2.msg);
out:
	hp_secret_free(value);
	return r;
}
