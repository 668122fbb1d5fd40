/*
 * A file that holds secrets, kept in the state repository without them:
 * each of the run's secret values replaced by "<secret:NAME>". A rollback
 * puts the point's (pinned) values back and checks the result against the
 * sha256 the point recorded, so the file comes back exactly as it was,
 * whatever the inventory says today. See restore.h.
 */
#include <stdlib.h>
#include <string.h>

#include "render.h"
#include "restore.h"
#include "redact.h"

/* Shorter values could match unrelated text: such a file is kept by hash
 * only. Generated passwords are at least 16 characters. */
#define MASK_MIN 8

struct secret_ref {
	const char *name;
	const char *value;
};

static size_t refs_of(const struct hp_render_secrets *rs,
		      struct secret_ref *out)
{
	const struct secret_ref all[] = {
		{ "superuser", rs->superuser },
		{ "replication", rs->replication },
		{ "rewind", rs->rewind },
		{ "restapi", rs->restapi },
		{ "haproxy_stats", rs->haproxy_stats },
		{ "vip_auth", rs->vip_auth }, /* NULL: no vip hosts */
		{ "pgbouncer_auth", rs->pgbouncer_auth },
	};

	memcpy(out, all, sizeof(all));
	return HP_ARRAY_SIZE(all);
}

/* The secret ref whose value starts at p (the longest, when several do). */
static const struct secret_ref *value_at(const struct secret_ref *refs,
					 size_t n, const char *p,
					 size_t left)
{
	const struct secret_ref *best = NULL;
	size_t i;

	for (i = 0; i < n; i++) {
		size_t l = refs[i].value ? strlen(refs[i].value) : 0;

		if (l >= MASK_MIN && l <= left &&
		    !memcmp(p, refs[i].value, l) &&
		    (!best || l > strlen(best->value)))
			best = &refs[i];
	}
	return best;
}

char *hp_secret_mask(const char *content, size_t len,
		     const struct hp_render_secrets *rs)
{
	struct secret_ref refs[8];
	struct hp_buf out = HP_BUF_INIT, bare = HP_BUF_INIT;
	size_t n = rs ? refs_of(rs, refs) : 0, i = 0, k, masked = 0;
	bool ok = n > 0;

	for (k = 0; k < n && ok; k++)
		if (refs[k].value && (strlen(refs[k].value) < MASK_MIN ||
				      !strncmp(refs[k].value, "<secret:", 8)))
			ok = false; /* too short, or a plan's placeholder */
	while (ok && i < len) {
		const struct secret_ref *s = value_at(refs, n, content + i,
						      len - i);

		if (s) {
			hp_buf_addf(&out, "<secret:%s>", s->name);
			i += strlen(s->value);
			masked++;
		} else {
			if (content[i] == '\0')
				ok = false; /* text only */
			hp_buf_addch(&out, content[i]);
			hp_buf_addch(&bare, content[i]);
			i++;
		}
	}
	/* a file secret for another reason than the store's values, or
	 * anything else that looks like a credential: hash only */
	if (ok && (!masked || (bare.len && hp_redact_has_credentials(
						   bare.buf, bare.len))))
		ok = false;
	hp_redact_buf_wipe(&bare);
	if (!ok) {
		hp_redact_buf_wipe(&out);
		return NULL;
	}
	return hp_buf_detach(&out, NULL);
}

char *hp_secret_unmask(const char *masked, size_t len,
		       const struct hp_render_secrets *rs, size_t *out_len)
{
	struct secret_ref refs[8];
	struct hp_buf out = HP_BUF_INIT;
	size_t n = rs ? refs_of(rs, refs) : 0, i = 0, k;

	while (i < len) {
		const char *end;
		bool found = false;

		if (len - i < 9 || memcmp(masked + i, "<secret:", 8) != 0) {
			hp_buf_addch(&out, masked[i++]);
			continue;
		}
		end = memchr(masked + i + 8, '>', len - i - 8);
		for (k = 0; end && k < n && !found; k++) {
			size_t nl = strlen(refs[k].name);

			if ((size_t)(end - (masked + i + 8)) == nl &&
			    !memcmp(masked + i + 8, refs[k].name, nl)) {
				if (!refs[k].value) {
					hp_redact_buf_wipe(&out);
					return NULL;
				}
				hp_buf_adds(&out, refs[k].value);
				i = (size_t)(end - masked) + 1;
				found = true;
			}
		}
		if (!found)
			hp_buf_addch(&out, masked[i++]);
	}
	return hp_buf_detach(&out, out_len);
}
