/* HTTP + JSON client for the services' REST APIs. See rest.h. */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "rest.h"
#include "rest_quickack.h"

#ifndef HP_VERSION
#define HP_VERSION "dev"
#endif

/* How much of a body an error message quotes. */
#define REST_QUOTE_MAX 500
#define REST_WHY_MAX   512

void hp_rest_resp_init(struct hp_rest_resp *r)
{
	r->status = 0;
	hp_buf_init(&r->body, HP_REST_MAX_BODY);
	r->json = NULL;
}

void hp_rest_resp_release(struct hp_rest_resp *r)
{
	hp_buf_release(&r->body);
	json_decref(r->json);
	hp_rest_resp_init(r);
}

int hp_rest_init(struct hp_rest *r, int timeout_ms, struct hp_err *err)
{
	memset(r, 0, sizeof(*r));
	if (timeout_ms <= 0)
		return hp_err_set(err, HP_EINVALID,
				  "REST timeout must be positive, not %d",
				  timeout_ms);
	r->curl = curl_easy_init();
	if (!r->curl)
		return hp_err_set(err, HP_ERROR,
				  "cannot create a curl handle (was "
				  "curl_global_init called?)");
	r->timeout_ms = timeout_ms;
	r->quickack_fd = -1;
	return 0;
}

void hp_rest_set_ops(struct hp_rest *r, const struct hp_rest_ops *ops,
		     void *ctx)
{
	r->ops = ops;
	r->ops_ctx = ctx;
}

/* A request answered through the seam: the same checks and parsing as a
 * real answer, without curl. */
static int rest_call_ops(struct hp_rest *r, const char *method,
			 const char *url, const json_t *body,
			 struct hp_rest_resp *resp, struct hp_err *err)
{
	int ret = r->ops->call(r->ops_ctx, r, method, url, body, resp, err);

	if (ret < 0) {
		hp_rest_resp_release(resp);
		return ret;
	}
	if (resp->body.len)
		resp->json = json_loadb(resp->body.buf, resp->body.len,
					JSON_DECODE_ANY, NULL);
	return 0;
}

void hp_rest_release(struct hp_rest *r)
{
	if (r->curl)
		curl_easy_cleanup(r->curl);
	r->curl = NULL;
	r->user = NULL;
	r->password = NULL;
}

/* What the write callback needs: the resp and whether the cap was hit. */
struct rest_sink {
	struct hp_rest_resp *resp;
	bool too_big;
};

static size_t rest_write_cb(char *ptr, size_t size, size_t nmemb, void *data)
{
	struct rest_sink *sink = data;
	size_t n = size * nmemb;

	if (hp_buf_add(&sink->resp->body, ptr, n) < 0) {
		sink->too_big = true;
		return 0; /* curl stops with CURLE_WRITE_ERROR */
	}
	return n;
}

/*
 * Credentials belong in CURLOPT_USERNAME/PASSWORD, where they cannot leak
 * into messages that quote the URL: refuse "scheme://user@host/".
 */
static bool url_has_userinfo(const char *url)
{
	const char *p = strstr(url, "://");
	size_t auth_len;

	p = p ? p + 3 : url;
	auth_len = strcspn(p, "/?#");
	return memchr(p, '@', auth_len) != NULL;
}

static bool method_known(const char *m)
{
	static const char *const methods[] = {
		"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"};
	size_t i;

	for (i = 0; i < HP_ARRAY_SIZE(methods); i++)
		if (!strcmp(m, methods[i]))
			return true;
	return false;
}

/* A failure of the TLS handshake itself: the server's certificate did not
 * verify, or the server refused ours, as opposed to no connection. */
static bool rest_tls_failure(CURLcode cc, const char *text)
{
	switch (cc) {
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
		/* TLS 1.3: a server that refuses our certificate says so with
		 * an alert after the handshake ("tlsv13 alert certificate
		 * required"), seen on the first read */
		return strstr(text, "alert") != NULL;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_SSL_SHUTDOWN_FAILED:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_CLIENTCERT:
	case CURLE_USE_SSL_FAILED:
		return true;
	default:
		return false;
	}
}

/* https needs a way to verify the server: the CA, or the explicit
 * insecure switch. http needs nothing. */
static int rest_tls_check(const struct hp_rest *r, const char *method,
			  const char *url, struct hp_err *err)
{
	if (strncasecmp(url, "https://", 8) != 0)
		return 0;
	if (r->tls && (r->tls->insecure || (r->tls->ca_pem && *r->tls->ca_pem)))
		return 0;
	return hp_err_set(err, HP_EINVALID,
			  "%s %s: refusing https without the cluster CA to "
			  "verify the server (tls.insecure_skip_verify is "
			  "the only way around it)", method, url);
}

static void rest_blob(CURL *c, CURLoption opt, const char *pem)
{
	struct curl_blob b = {(void *)(uintptr_t)pem, pem ? strlen(pem) : 0,
			      CURL_BLOB_COPY};

	curl_easy_setopt(c, opt, pem ? &b : NULL);
}

/*
 * r->tls onto the handle: the CA as the only trust (no system store), the
 * client certificate when there is one, verification unless insecure.
 * Every option is set on every call, so nothing of a previous call stays.
 */
static void rest_tls_apply(const struct hp_rest *r, CURL *c)
{
	const struct hp_rest_tls *t = r->tls;
	bool cert = t && t->cert_pem && t->key_pem;
	bool verify = !t || !t->insecure;

	rest_blob(c, CURLOPT_CAINFO_BLOB, t ? t->ca_pem : NULL);
	if (t && t->ca_pem) {
		curl_easy_setopt(c, CURLOPT_CAINFO, NULL);
		curl_easy_setopt(c, CURLOPT_CAPATH, NULL);
	}
	rest_blob(c, CURLOPT_SSLCERT_BLOB, cert ? t->cert_pem : NULL);
	rest_blob(c, CURLOPT_SSLKEY_BLOB, cert ? t->key_pem : NULL);
	if (cert) {
		curl_easy_setopt(c, CURLOPT_SSLCERTTYPE, "PEM");
		curl_easy_setopt(c, CURLOPT_SSLKEYTYPE, "PEM");
	}
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, verify ? 1L : 0L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, verify ? 2L : 0L);
}

/* Map a failed transfer to our codes, keeping curl's text. */
static int rest_curl_error(struct hp_rest *r, CURLcode cc, bool too_big,
			   const char *method, const char *url,
			   struct hp_err *err)
{
	const char *text = r->errbuf[0] ? r->errbuf : curl_easy_strerror(cc);
	int code;

	if (too_big)
		return hp_err_set(err, HP_ETOOBIG,
				  "%s %s: response body larger than %zu bytes",
				  method, url, HP_REST_MAX_BODY);
	switch (cc) {
	case CURLE_OPERATION_TIMEDOUT:
		code = HP_ETIMEOUT;
		break;
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
		code = HP_EINVALID;
		break;
	default:
		if (rest_tls_failure(cc, text))
			return hp_err_set(err, HP_ETLS,
					  "%s %s: refused at the TLS handshake "
					  "(%s)", method, url, text);
		code = HP_ECONNECT;
		break;
	}
	return hp_err_set(err, code, "%s %s: %s", method, url, text);
}

static struct curl_slist *slist_add(struct curl_slist *list, const char *s)
{
	struct curl_slist *l = curl_slist_append(list, s);

	if (!l)
		hp_die_oom();
	return l;
}

/* hp_rest_call with an explicit timeout (hp_rest_poll cuts it). */
static int rest_call(struct hp_rest *r, const char *method, const char *url,
		     const json_t *body, long timeout_ms,
		     struct hp_rest_resp *resp, struct hp_err *err)
{
	struct rest_sink sink = {resp, false};
	struct curl_slist *headers = NULL;
	char *payload = NULL;
	CURLcode cc;
	CURL *c = r->curl;
	int64_t t0;
	int ret = 0;

	hp_rest_resp_release(resp);
	if (!c && !r->ops)
		return hp_err_set(err, HP_EINVALID,
				  "%s %s: REST client not initialised", method,
				  url);
	if (!method_known(method))
		return hp_err_set(err, HP_EINVALID,
				  "unsupported HTTP method '%s'", method);
	if (url_has_userinfo(url))
		return hp_err_set(err, HP_EINVALID,
				  "refusing a URL with credentials in it; use "
				  "the REST client's user and password");
	if ((ret = rest_tls_check(r, method, url, err)) < 0)
		return ret;
	if (body) {
		payload = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY);
		if (!payload)
			return hp_err_set(err, HP_EINVALID,
					  "%s %s: cannot encode the JSON body",
					  method, url);
	}
	if (r->ops) {
		free(payload);
		return rest_call_ops(r, method, url, body, resp, err);
	}

	/*
	 * The handle is reused so curl can keep connections alive; reset
	 * drops the previous call's options (method, body, credentials).
	 */
	curl_easy_reset(c);
	r->errbuf[0] = '\0';

	headers = slist_add(NULL, "Accept: application/json");
	/* no "Expect: 100-continue" round trip on larger bodies */
	headers = slist_add(headers, "Expect:");
	/* "Content-Type:" with no value stops curl's form-urlencoded default */
	headers = slist_add(headers, payload ? "Content-Type: application/json"
					     : "Content-Type:");

	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, r->errbuf);
	hp_rest_quickack_setup(c, &r->quickack_fd);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	/* signals are the main thread's business; curl must not use them */
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "haprov/" HP_VERSION);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, rest_write_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
	rest_tls_apply(r, c);
	if (r->user) {
		curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(c, CURLOPT_USERNAME, r->user);
		curl_easy_setopt(c, CURLOPT_PASSWORD,
				 r->password ? r->password : "");
	}

	if (!strcmp(method, "GET")) {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	} else if (!strcmp(method, "HEAD")) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	} else if (!strcmp(method, "POST")) {
		curl_easy_setopt(c, CURLOPT_POST, 1L);
	} else {
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	}
	if (payload || !strcmp(method, "POST")) {
		/* a POST without a body still sends Content-Length: 0 */
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, payload ? payload : "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)(payload ? strlen(payload) : 0));
	}

	t0 = hp_now_ms();
	cc = curl_easy_perform(c);
	/* --verbose --verbose: each request and what it cost */
	hp_debug("%s %s: %s in %lld ms", method, url,
		 cc == CURLE_OK ? "answered" : "failed",
		 (long long)(hp_now_ms() - t0));
	if (cc != CURLE_OK) {
		ret = rest_curl_error(r, cc, sink.too_big, method, url, err);
		hp_rest_resp_release(resp);
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
	if (resp->body.len)
		resp->json = json_loadb(resp->body.buf, resp->body.len,
					JSON_DECODE_ANY, NULL);
out:
	/* the handle keeps pointers to these until the next reset */
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, NULL);
	/* and keep no copy of the password longer than needed */
	curl_easy_setopt(c, CURLOPT_USERNAME, NULL);
	curl_easy_setopt(c, CURLOPT_PASSWORD, NULL);
	/* nor a copy of the client key */
	curl_easy_setopt(c, CURLOPT_SSLKEY_BLOB, NULL);
	curl_slist_free_all(headers);
	free(payload);
	return ret;
}

int hp_rest_call(struct hp_rest *r, const char *method, const char *url,
		 const json_t *body, struct hp_rest_resp *resp,
		 struct hp_err *err)
{
	return rest_call(r, method, url, body, r->timeout_ms, resp, err);
}

/* "GET http://x/: refused" -> "refused": the caller's message has both. */
static const char *skip_prefix(const char *msg, const char *method,
			       const char *url)
{
	size_t ml = strlen(method), ul = strlen(url);

	if (!strncmp(msg, method, ml) && msg[ml] == ' ' &&
	    !strncmp(msg + ml + 1, url, ul) &&
	    !strncmp(msg + ml + 1 + ul, ": ", 2))
		return msg + ml + ul + 3;
	return msg;
}

int hp_rest_poll(struct hp_rest *r, const char *method, const char *url,
		 const json_t *body, int deadline_ms, int interval_ms,
		 hp_rest_check_fn check, void *arg, struct hp_rest_resp *last,
		 struct hp_err *err)
{
	struct hp_rest_resp resp;
	struct hp_buf why = HP_BUF_INIT, seen = HP_BUF_INIT;
	struct hp_err try_err;
	int64_t start = hp_now_ms(), end = start + deadline_ms, left;
	unsigned tries = 0;
	bool last_failed = false;
	int ret = 0;

	hp_rest_resp_init(&resp);
	hp_buf_init(&why, REST_WHY_MAX);
	hp_err_clear(&try_err);
	if (last)
		hp_rest_resp_release(last);
	for (;;) {
		int rc;

		left = end - hp_now_ms();
		if (tries > 0 && left <= 0)
			break;
		tries++;
		rc = rest_call(r, method, url, body,
			       left < r->timeout_ms
				       ? (long)(left > 0 ? left : 1)
				       : (long)r->timeout_ms,
			       &resp, &try_err);
		if (rc == HP_EINVALID) {
			ret = hp_err_set(err, rc, "%s", try_err.msg);
			goto out;
		}
		last_failed = rc < 0;
		if (!last_failed) {
			bool ok;

			hp_buf_reset(&why);
			ok = check(&resp, arg, &why);
			hp_buf_reset(&seen);
			hp_buf_addf(&seen, "HTTP %ld", resp.status);
			if (resp.body.len) {
				hp_buf_adds(&seen, ": ");
				hp_buf_add_printable(&seen, resp.body.buf, resp.body.len,
						     REST_QUOTE_MAX);
			}
			if (why.len) {
				/* check's reason may quote the answer */
				hp_buf_adds(&seen, " (");
				hp_buf_add_printable(&seen, why.buf, why.len,
						     REST_WHY_MAX);
				hp_buf_addch(&seen, ')');
			}
			if (last) {
				hp_rest_resp_release(last);
				*last = resp;
				hp_rest_resp_init(&resp);
			}
			if (ok)
				goto out;
		}
		/* --verbose --verbose: what each try was waiting for */
		hp_debug("%s %s: try %u: %s", method, url, tries,
			 last_failed ? try_err.msg : why.buf);
		left = end - hp_now_ms();
		if (left <= 0)
			break;
		if (hp_interrupted()) {
			ret = hp_err_set(err, HP_EINTR, "%s %s: interrupted",
					 method, url);
			goto out;
		}
		hp_sleep_ms((int)(left < interval_ms ? left : interval_ms));
	}
	ret = hp_err_set(
		err, HP_ETIMEOUT,
		"%s %s: no acceptable answer within %d ms (%u %s); "
		"last answer: %s%s%s",
		method, url, deadline_ms, tries, tries == 1 ? "try" : "tries",
		seen.len ? seen.buf : "none",
		last_failed ? "; last error: " : "",
		last_failed ? skip_prefix(try_err.msg, method, url) : "");
out:
	hp_rest_resp_release(&resp);
	hp_buf_release(&why);
	hp_buf_release(&seen);
	return ret;
}
