/*
 * Whether Patroni's REST API serves the certificate on disk.
 *
 * Patroni loads its REST certificate, key and CA again only when a SIGHUP
 * finds certfile's serial changed, and it handles the SIGHUP at the start
 * of its next HA cycle (up to loop_wait after systemctl reload returns).
 * It then starts its REST listener again: a request in that window meets
 * "Connection reset by peer" at the handshake. So after a reload that
 * may have changed the certificate (a renewal, a CA rotation stage), a
 * member is waited for until :8008 serves /etc/patroni/tls/host.crt, and
 * only then does the next step talk to it.
 */
#include <stdlib.h>
#include <string.h>

#include "phases.h"
#include "rotate_ca_priv.h"
#include "shell.h"

/* "served" when :8008 serves /etc/patroni/tls/host.crt, else "other"
 * (python3 is there: Patroni runs on it). argv: address, port. */
#define PATRONI_SERVED                                                         \
	"import ssl,sys\n"                                                     \
	"def der(t):\n"                                                        \
	"    b=t.index('-----BEGIN CERTIFICATE-----')\n"                       \
	"    e=t.index('-----END CERTIFICATE-----')+25\n"                      \
	"    return ssl.PEM_cert_to_DER_cert(t[b:e])\n"                        \
	"try:\n"                                                               \
	"    a=ssl.get_server_certificate((sys.argv[1],int(sys.argv[2])))\n"   \
	"    f=open('/etc/patroni/tls/host.crt').read()\n"                     \
	"    print('served' if der(a)==der(f) else 'other')\n"                 \
	"except Exception:\n"                                                  \
	"    print('other')\n"

int hp_ca_patroni_served(const char *out, bool *reloaded)
{
	if (!out)
		return HP_EVERIFY;
	if (!strncmp(out, "served", 6))
		*reloaded = false;
	else if (!strncmp(out, "reloaded", 8))
		*reloaded = true;
	else
		return HP_EVERIFY;
	return 0;
}

/* One probe; after "other", a reload and up to 60 s of probes, one a
 * second. The address is quoted. */
int hp_patroni_cert_served(struct hp_hostrun *h, struct hp_err *err)
{
	struct hp_buf cmd = HP_BUF_INIT, out = HP_BUF_INIT;
	int64_t t = hp_now_ms();
	bool reloaded = false;
	int r;

	hp_buf_adds(&cmd, "p=");
	hp_shell_quote(&cmd, PATRONI_SERVED);
	hp_buf_adds(&cmd, "; a=");
	hp_shell_quote(&cmd, h->host->address);
	hp_buf_addf(&cmd,
		    "; s() { python3 -c \"$p\" \"$a\" %d; }; "
		    "[ \"$(s)\" = served ] && { echo served; exit 0; }; "
		    "systemctl reload patroni || exit 1; "
		    "for i in $(seq 60); do sleep 1; "
		    "[ \"$(s)\" = served ] && { echo reloaded; exit 0; }; "
		    "done; echo other",
		    h->run->inv->patroni.restapi_port);
	r = hp_host_sh_read(h, cmd.buf, NULL, 0, 90, &out, err);
	if (r == 0 && hp_ca_patroni_served(out.buf, &reloaded) < 0)
		r = hp_err_set(err, HP_EVERIFY,
			       "Patroni's REST API does not serve "
			       "/etc/patroni/tls/host.crt after a reload");
	hp_run_record(h->run, h->host->name,
		      r < 0 ? HP_STEP_FAILED : HP_STEP_OK,
		      "patroni REST certificate",
		      r < 0	 ? err->msg
		      : reloaded ? "served after a reload"
				 : "served",
		      NULL, t);
	hp_buf_release(&cmd);
	hp_buf_release(&out);
	return r;
}

bool hp_patroni_reload_waits(const struct hp_run *run, enum hp_svc_action act)
{
	return act == HP_SVC_RELOAD && run->inv->tls.enabled && !run->opts.plan;
}
