/*
 * etcd's membership against the inventory: see etcd_members.h. Every
 * member list is a network answer: parsed with caps, each field checked
 * before it is compared or written into a file.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "etcd_members.h"
#include "phases.h"

#define MAX_PEERS 8
#define MAX_URL 256

static bool name_ok(const char *s, size_t len)
{
	size_t i;

	if (len > 63)
		return false;
	for (i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return true;
}

/* scheme://host:port, written into an EnvironmentFile unquoted */
static bool url_ok(const char *s, size_t len)
{
	size_t i;

	if (len < 8 || len > MAX_URL ||
	    (strncmp(s, "http://", 7) != 0 && strncmp(s, "https://", 8) != 0))
		return false;
	for (i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || strchr(".:/[]-", s[i])))
			return false;
	return true;
}

static int bad(struct hp_err *err, size_t i, const char *what)
{
	return hp_err_set(err, HP_EVERIFY, "etcd member list: member %zu %s",
			  i + 1, what);
}

static int parse_one(const json_t *j, size_t i, struct hp_etcd_member *m,
		     struct hp_err *err)
{
	const json_t *name = json_object_get(j, "name");
	const json_t *peers = json_object_get(j, "peerURLs");
	const json_t *learner = json_object_get(j, "isLearner");
	const json_t *u;
	size_t k;

	if (!json_is_object(j))
		return bad(err, i, "is not an object");
	if (!hp_etcd_id_parse(json_object_get(j, "ID"), &m->id) || !m->id)
		return bad(err, i, "has no ID as a decimal string");
	/* an unstarted member has no name at all */
	if (name && (!json_is_string(name) ||
		     !name_ok(json_string_value(name),
			      json_string_length(name))))
		return bad(err, i, "has a name that is not a host name");
	m->name = xstrdup(name ? json_string_value(name) : "");
	if (!json_is_array(peers) || json_array_size(peers) < 1 ||
	    json_array_size(peers) > MAX_PEERS)
		return bad(err, i, "has no peerURLs, or too many");
	m->peers = xcalloc(json_array_size(peers), sizeof(*m->peers));
	json_array_foreach(peers, k, u)
	{
		if (!json_is_string(u) ||
		    !url_ok(json_string_value(u), json_string_length(u)))
			return bad(err, i, "has a peer URL that is not one");
		m->peers[m->nr_peers++] = xstrdup(json_string_value(u));
	}
	if (learner && !json_is_boolean(learner))
		return bad(err, i, "says isLearner in another form than a "
				   "boolean");
	m->learner = json_is_true(learner);
	return 0;
}

int hp_etcd_members_parse(const json_t *answer, struct hp_etcd_members *out,
			  struct hp_err *err)
{
	const json_t *list = json_object_get(answer, "members");
	const json_t *j;
	size_t i, k;
	int r = 0;

	memset(out, 0, sizeof(*out));
	if (!json_is_array(list) || json_array_size(list) < 1 ||
	    json_array_size(list) > HP_ETCD_MAX_MEMBERS)
		return hp_err_set(err, HP_EVERIFY,
				  "etcd member list: no \"members\" array of "
				  "1 to %d members",
				  HP_ETCD_MAX_MEMBERS);
	out->m = xcalloc(json_array_size(list), sizeof(*out->m));
	json_array_foreach(list, i, j)
	{
		out->nr++;
		if ((r = parse_one(j, i, &out->m[i], err)) < 0)
			break;
		for (k = 0; k < i && r == 0; k++)
			if (out->m[k].id == out->m[i].id ||
			    (*out->m[i].name &&
			     !strcmp(out->m[k].name, out->m[i].name)))
				r = bad(err, i, "repeats another's ID or name");
		if (r < 0)
			break;
	}
	if (r < 0)
		hp_etcd_members_release(out);
	return r;
}

void hp_etcd_members_release(struct hp_etcd_members *ms)
{
	size_t i, k;

	for (i = 0; i < ms->nr; i++) {
		free(ms->m[i].name);
		for (k = 0; k < ms->m[i].nr_peers; k++)
			free(ms->m[i].peers[k]);
		free(ms->m[i].peers);
	}
	free(ms->m);
	memset(ms, 0, sizeof(*ms));
}

static bool has_peer(const struct hp_etcd_member *m, const char *peer)
{
	size_t k;

	for (k = 0; peer && k < m->nr_peers; k++)
		if (!strcmp(m->peers[k], peer))
			return true;
	return false;
}

bool hp_etcd_member_is(const struct hp_etcd_member *m, const char *name,
		       const char *peer)
{
	if (*m->name)
		return !strcmp(m->name, name);
	return has_peer(m, peer);
}

/* The inventory host (etcd now, or leaving) a member is, or NULL. */
static const struct hp_host *host_of(const struct hp_inventory *inv,
				     char *const *peers,
				     const struct hp_etcd_member *m)
{
	size_t i;

	for (i = 0; i < inv->nr_hosts; i++) {
		const struct hp_host *h = &inv->hosts[i];

		if (((h->roles | h->removed_roles) & HP_ROLE_ETCD) &&
		    hp_etcd_member_is(m, h->name, peers[i]))
			return h;
	}
	return NULL;
}

static int member_refused(const struct hp_etcd_member *m, const char *why,
			  struct hp_err *err)
{
	return hp_err_set(err, HP_EINVALID,
			  "etcd member %s (ID %" PRIu64 ", %s) %s",
			  *m->name ? m->name : "(not started)", m->id,
			  m->peers[0], why);
}

static int add_leaver(struct hp_etcd_change *c, const struct hp_host *h,
		      const struct hp_etcd_member *m)
{
	c->leave[c->nr_leave] = h;
	c->leave_id[c->nr_leave++] = m->id;
	return 0;
}

int hp_etcd_change_plan(const struct hp_inventory *inv, char *const *peers,
			const struct hp_etcd_members *ms,
			struct hp_etcd_change *c, struct hp_err *err)
{
	size_t i, k;
	int r = 0;

	memset(c, 0, sizeof(*c));
	c->join = xcalloc(inv->nr_hosts + 1, sizeof(const struct hp_host *));
	c->join_id = xcalloc(inv->nr_hosts + 1, sizeof(*c->join_id));
	c->leave = xcalloc(ms->nr + 1, sizeof(const struct hp_host *));
	c->leave_id = xcalloc(ms->nr + 1, sizeof(*c->leave_id));
	c->nr_now = ms->nr;
	for (k = 0; k < ms->nr && r == 0; k++) {
		const struct hp_etcd_member *m = &ms->m[k];
		const struct hp_host *h = host_of(inv, peers, m);
		size_t hi = h ? (size_t)(h - inv->hosts) : 0;

		if (!h)
			r = member_refused(m,
					   "is no etcd host of the inventory: "
					   "add its host back, or list it with "
					   "remove: true to remove it",
					   err);
		else if (!has_peer(m, peers[hi]))
			r = member_refused(m,
					   "does not have the peer URL the "
					   "inventory gives its host; haprov "
					   "does not move a member: remove it "
					   "first (remove: true), then add it "
					   "back",
					   err);
		else if (h->remove)
			r = add_leaver(c, h, m);
	}
	for (i = 0; i < inv->nr_hosts && r == 0; i++) {
		const struct hp_host *h = &inv->hosts[i];
		const struct hp_etcd_member *found = NULL;

		if (!(h->roles & HP_ROLE_ETCD))
			continue;
		for (k = 0; k < ms->nr && !found; k++)
			if (hp_etcd_member_is(&ms->m[k], h->name, peers[i]))
				found = &ms->m[k];
		if (found && *found->name)
			continue;
		c->join_id[c->nr_join] = found ? found->id : 0;
		c->join[c->nr_join++] = h;
	}
	c->nr_after = r == 0 ? c->nr_now + c->nr_join - c->nr_leave : 0;
	/* an unstarted member counts in nr_now already */
	for (i = 0; i < c->nr_join; i++)
		if (c->join_id[i])
			c->nr_after--;
	if (r < 0)
		hp_etcd_change_release(c);
	return r;
}

void hp_etcd_change_release(struct hp_etcd_change *c)
{
	free(c->join);
	free(c->join_id);
	free(c->leave);
	free(c->leave_id);
	memset(c, 0, sizeof(*c));
}

int hp_etcd_initial_cluster(const struct hp_etcd_members *ms,
			    const char *join, const char *join_peer,
			    struct hp_buf *out, struct hp_err *err)
{
	size_t i, k;
	bool seen = false;

	for (i = 0; i < ms->nr; i++) {
		const struct hp_etcd_member *m = &ms->m[i];
		const char *name = m->name;

		if (!*name) {
			if (!has_peer(m, join_peer))
				return member_refused(
					m,
					"has not started either: start it, "
					"or remove it (etcdctl member "
					"remove), then apply again",
					err);
			name = join;
			seen = true;
		}
		for (k = 0; k < m->nr_peers; k++)
			hp_buf_addf(out, "%s%s=%s", out->len ? "," : "", name,
				    m->peers[k]);
	}
	if (!seen)
		return hp_err_set(err, HP_EVERIFY,
				  "etcd's member list does not list %s (%s) "
				  "as added",
				  join, join_peer);
	return 0;
}

size_t hp_etcd_quorum(size_t n)
{
	return n / 2 + 1;
}

size_t hp_etcd_tolerance(size_t n)
{
	return n ? (n - 1) / 2 : 0;
}

int hp_etcd_change_check(const struct hp_etcd_change *c, size_t healthy,
			 size_t leaving_healthy, struct hp_err *err)
{
	size_t n = c->nr_now, i;

	/* removals first (apply removes before it adds) */
	for (i = 0; i < c->nr_leave; i++, n--) {
		size_t left = healthy - (leaving_healthy > i ? 1 : 0);

		if (left < hp_etcd_quorum(n - 1))
			return hp_err_set(
				err, HP_EINVALID,
				"removing etcd member %s would lose quorum: "
				"%zu of the %zu members left would be "
				"healthy, %zu needed",
				c->leave[i]->name, left, n - 1,
				hp_etcd_quorum(n - 1));
		healthy = left;
	}
	for (i = 0; i < c->nr_join; i++) {
		if (c->join_id[i])
			continue;
		/* the new member counts, unstarted, from its add on */
		if (healthy < hp_etcd_quorum(n + 1))
			return hp_err_set(
				err, HP_EINVALID,
				"adding etcd member %s would lose quorum "
				"until it starts: %zu of %zu members "
				"healthy, %zu needed",
				c->join[i]->name, healthy, n + 1,
				hp_etcd_quorum(n + 1));
		n++;
		healthy++;
	}
	return 0;
}

void hp_etcd_change_warn(const struct hp_etcd_change *c, struct hp_buf *w)
{
	size_t now = hp_etcd_tolerance(c->nr_now);
	size_t after = hp_etcd_tolerance(c->nr_after);

	if (c->nr_after == c->nr_now && !c->nr_join && !c->nr_leave)
		return;
	if (c->nr_after < 3)
		hp_buf_addf(w,
			    "etcd will have %zu member%s: it tolerates no "
			    "failure (3 tolerate one)\n",
			    c->nr_after, c->nr_after == 1 ? "" : "s");
	else if (after < now)
		hp_buf_addf(w,
			    "etcd will tolerate %zu failed member%s, %zu "
			    "now\n",
			    after, after == 1 ? "" : "s", now);
	/* an even count: the inventory's own check warns of it */
}
