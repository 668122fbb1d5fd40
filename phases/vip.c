/*
 * The vip phase: keepalived on the hosts with role vip (each also runs
 * HAProxy), holding one virtual IPv4 address in front of them (VRRP
 * version 2, unicast peers, a password from the secret store; see
 * templates/keepalived.conf). A host gives the address up when its
 * HAProxy stops.
 *
 * Verified over SSH, from the hosts' own view: exactly one vip host has
 * the address on vip.interface (`ip -4 -o addr show dev IFACE`), and
 * HAProxy's primary port answers a TCP connection on the address.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "phases.h"
#include "render.h"
#include "shell.h"
#include "tcp.h"

static const char *const vip_pkgs[] = { "keepalived" };
static const char *const vip_svcs[] = { "keepalived" };

const char *const *hp_vip_packages(const struct hp_run *run,
				   const struct hp_host *host, size_t *nr)
{
	(void)run;
	(void)host;
	*nr = HP_ARRAY_SIZE(vip_pkgs);
	return vip_pkgs;
}

#define IP_OUT_MAX 65536
#define IP_LINES_MAX 1024

int hp_vip_holds(const char *out, size_t len, const char *ip,
		 struct hp_err *err)
{
	const char *p = out, *end = out + len;
	size_t iplen = strlen(ip), lines = 0;
	int holds = 0;

	if (len > IP_OUT_MAX || memchr(out, '\0', len))
		return hp_err_set(err, HP_EREMOTE,
				  "ip addr answered %zu bytes of what is not "
				  "text",
				  len);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end, *q;

		if (++lines > IP_LINES_MAX)
			return hp_err_set(err, HP_EREMOTE,
					  "ip addr answered more than %d lines",
					  IP_LINES_MAX);
		/* "2: eth0    inet 10.0.0.5/24 brd ... scope global eth0" */
		for (q = p; q + 6 <= le; q++) {
			if (memcmp(q, " inet ", 6) != 0)
				continue;
			q += 6;
			if ((size_t)(le - q) > iplen &&
			    !memcmp(q, ip, iplen) && q[iplen] == '/')
				holds = 1;
			break;
		}
		p = le + (nl ? 1 : 0);
	}
	return holds;
}

/* What each vip host said, by host index. */
struct holders {
	int *holds; /* 1, 0, or -1 (not read) */
};

static int read_holds(struct hp_hostrun *h, void *arg)
{
	struct holders *hs = arg;
	const struct hp_inventory *inv = h->run->inv;
	struct hp_buf cmd = HP_BUF_INIT, out = HP_BUF_INIT;
	char ip[64];
	size_t i = (size_t)(h->host - inv->hosts);
	int r;

	hp_vip_ip(inv->vip.address, ip, sizeof(ip));
	hp_buf_adds(&cmd, "LC_ALL=C ip -4 -o addr show dev ");
	hp_shell_quote(&cmd, inv->vip.interface);
	out.max = IP_OUT_MAX + 1;
	r = hp_host_sh_read(h, cmd.buf, NULL, 0, 30, &out, &h->err);
	if (r == 0 && (r = hp_vip_holds(out.buf ? out.buf : "", out.len, ip,
					&h->err)) >= 0)
		hs->holds[i] = r;
	else
		hp_err_prefix(&h->err, "%s: the addresses on %s",
			      h->host->name, inv->vip.interface);
	hp_buf_release(&cmd);
	hp_buf_release(&out);
	return r < 0 ? r : 0;
}

int hp_vip_one_holder(const struct hp_inventory *inv, const int *holds,
		      struct hp_buf *why)
{
	size_t i, n = 0;
	int at = -1;

	for (i = 0; i < inv->nr_hosts; i++) {
		if (!(inv->hosts[i].roles & HP_ROLE_VIP) || holds[i] < 0)
			continue;
		if (holds[i] == 1) {
			if (n++)
				hp_buf_adds(why, ", ");
			hp_buf_adds(why, inv->hosts[i].name);
			at = (int)i;
		}
	}
	if (n == 1)
		return at;
	if (!n) {
		hp_buf_reset(why);
		hp_buf_addf(why, "no vip host holds %s", inv->vip.address);
	} else {
		char *names = xstrdup(why->buf);

		hp_buf_reset(why);
		hp_buf_addf(why, "%zu vip hosts hold %s (%s): VRRP is split",
			    n, inv->vip.address, names);
		free(names);
	}
	return -1;
}

/* Poll the vip hosts until exactly one holds the address; its index. */
static int wait_holder(struct hp_run *run, struct hp_err *err)
{
	const struct hp_inventory *inv = run->inv;
	int64_t deadline = hp_now_ms() + (int64_t)inv->validation.timeout_s *
						 1000;
	struct holders hs = { xcalloc(inv->nr_hosts, sizeof(int)) };
	struct hp_buf why = HP_BUF_INIT;
	int at = -1;

	for (;;) {
		size_t i;

		for (i = 0; i < inv->nr_hosts; i++)
			hs.holds[i] = -1;
		hp_buf_reset(&why);
		if (hp_run_each(run, HP_ROLE_VIP, read_holds, &hs)) {
			at = hp_run_failure(run, "verify vip", err);
			break;
		}
		if ((at = hp_vip_one_holder(inv, hs.holds, &why)) >= 0)
			break;
		if (hp_now_ms() >= deadline || hp_interrupted()) {
			at = hp_err_set(err, HP_EVERIFY, "after %d s: %s",
					inv->validation.timeout_s, why.buf);
			break;
		}
		hp_sleep_ms(500);
	}
	hp_buf_release(&why);
	free(hs.holds);
	return at;
}

/* HAProxy's primary port answers a TCP connection on the address: each
 * try has 2 s, and a refusal is tried again until validation.timeout_s
 * (the address may have just moved). */
static int vip_answers(struct hp_run *run, struct hp_err *err)
{
	const struct hp_inventory *inv = run->inv;
	int64_t deadline = hp_now_ms() + (int64_t)inv->validation.timeout_s *
						 1000;
	char ip[64];
	int fd;

	hp_vip_ip(inv->vip.address, ip, sizeof(ip));
	while ((fd = hp_tcp_connect(ip, inv->haproxy.primary_port,
				    hp_now_ms() + 2000, NULL, err)) < 0 &&
	       hp_now_ms() < deadline && !hp_interrupted())
		hp_sleep_ms(500);
	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

/* the packages pass: every host at once */
static const struct hp_pkg_pass pkg_pass = {
	"vip", { .pkgs = vip_pkgs, .nr_pkgs = HP_ARRAY_SIZE(vip_pkgs),
		 .svcs = vip_svcs, .nr_svcs = HP_ARRAY_SIZE(vip_svcs) },
};
#define PKG_PASS ((void *)(uintptr_t)&pkg_pass)

/* Files, then keepalived started or reloaded. Every host at once: a
 * reload keeps the address where it is (nopreempt), and a new host
 * starts as a backup. */
static int host_converge(struct hp_hostrun *h, void *arg)
{
	struct hp_host_plan p = {
		.svcs = vip_svcs, .nr_svcs = HP_ARRAY_SIZE(vip_svcs),
		.skip_packages = true,
	};
	struct hp_facts facts;
	enum hp_svc_action act;
	int r;

	(void)arg;
	if ((r = hp_phase_host_converge(h, "vip", &p, &facts, &h->err)) < 0)
		return r;
	act = hp_service_needs(h, "keepalived", &facts.svcs[0]);
	r = hp_step_service(h, "keepalived", &facts.svcs[0], act, false,
			    &h->err);
	hp_facts_release(&facts);
	return r;
}

int hp_vip_converge(struct hp_run *run, struct hp_err *err)
{
	if (!hp_inventory_count_role(run->inv, HP_ROLE_VIP))
		return 0;
	if (hp_run_each(run, HP_ROLE_VIP, hp_phase_packages_host, PKG_PASS) ||
	    hp_run_each(run, HP_ROLE_VIP, host_converge, NULL))
		return hp_run_failure(run, "vip", err);
	return 0;
}

static int holder_check(struct hp_run *run, void *arg, struct hp_err *err)
{
	int *at = arg;

	*at = wait_holder(run, err);
	return *at < 0 ? *at : 0;
}

static int answers_check(struct hp_run *run, void *arg, struct hp_err *err)
{
	(void)arg;
	return vip_answers(run, err);
}

int hp_vip_verify(struct hp_run *run, struct hp_err *err)
{
	int at = -1;
	/* the address first: HAProxy answers on it only where it is */
	const struct hp_check c[2] = {
		{ "verify vip: exactly one vip host holds the address",
		  holder_check, &at, true },
		{ "verify vip: HAProxy's primary port answers on it",
		  answers_check, NULL, false },
	};
	int r;

	if (!hp_inventory_count_role(run->inv, HP_ROLE_VIP))
		return 0;
	if ((r = hp_checks_then(run, c, 1, 2, err)) < 0)
		err->code = r = HP_EVERIFY;
	return r;
}
