/* The CA rotation's decisions; see tls_rotation.h. */
#include <string.h>

#include "tls_rotation.h"

enum hp_ca_stage hp_ca_stage_decide(bool has_next, bool next_is_current,
				    const char *marker)
{
	if (!has_next)
		return HP_CA_NONE;
	if (next_is_current)
		return HP_CA_CLEANUP;
	if (marker && !strcmp(marker, "2"))
		return HP_CA_REISSUE;
	if (marker && !strcmp(marker, "3"))
		return HP_CA_DROP;
	return HP_CA_BOTH;
}

const char *hp_ca_stage_marker(enum hp_ca_stage s)
{
	switch (s) {
	case HP_CA_BOTH:
		return "1";
	case HP_CA_REISSUE:
		return "2";
	case HP_CA_DROP:
		return "3";
	default:
		return NULL;
	}
}

bool hp_ca_bundle_has_old(enum hp_ca_stage s)
{
	return s == HP_CA_NONE || s == HP_CA_BOTH || s == HP_CA_REISSUE;
}

bool hp_ca_bundle_has_new(enum hp_ca_stage s)
{
	return s != HP_CA_NONE;
}

bool hp_ca_issue_with_new(enum hp_ca_stage s)
{
	return s == HP_CA_REISSUE || s == HP_CA_DROP || s == HP_CA_CLEANUP;
}

bool hp_ca_client_with_new(enum hp_ca_stage s)
{
	return s == HP_CA_DROP || s == HP_CA_CLEANUP;
}

static void add_pem(struct hp_buf *out, const char *pem)
{
	size_t n = strlen(pem);

	while (n && pem[n - 1] == '\n')
		n--;
	hp_buf_add(out, pem, n);
	hp_buf_addch(out, '\n');
}

void hp_ca_bundle(struct hp_buf *out, enum hp_ca_stage s, const char *cur,
		  const char *next)
{
	if (!next || s == HP_CA_CLEANUP) {
		/* no rotation, or the new CA is already the current one */
		add_pem(out, cur);
		return;
	}
	if (hp_ca_bundle_has_old(s))
		add_pem(out, cur);
	if (hp_ca_bundle_has_new(s))
		add_pem(out, next);
}

const char *hp_ca_stage_next(enum hp_ca_stage s)
{
	switch (s) {
	case HP_CA_BOTH:
		return "CA rotation: stage 1 of 3 next (every trust bundle "
		       "holds the old and the new CA): haprov rotate INV --ca";
	case HP_CA_REISSUE:
		return "CA rotation: stage 2 of 3 next (host certificates "
		       "from the new CA): haprov rotate INV --ca";
	case HP_CA_DROP:
		return "CA rotation: stage 3 of 3 next (haprov's client "
		       "certificate from the new CA, the old CA leaves every "
		       "trust bundle): haprov rotate INV --ca";
	case HP_CA_CLEANUP:
		return "CA rotation: the new CA is current; the rotation's "
		       "store names remain: haprov rotate INV --ca";
	default:
		return "no CA rotation in progress";
	}
}
