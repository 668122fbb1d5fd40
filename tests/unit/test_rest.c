/*
 * rest.c against a real HTTP server on 127.0.0.1: a thread in this test
 * with a listening socket on an ephemeral port that answers by path with
 * scripted responses. No external server process.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "rest.h"

/* ---- the scripted server ------------------------------------------------- */

struct srv {
	int lfd;
	int port;
	int stop[2]; /* a byte on stop[1] ends the thread */
	pthread_t thread;
	pthread_mutex_t mu;
	int flaky_left; /* /flaky answers 503 while > 0 */
	int hits;	/* requests handled */
};

static struct srv srv;

static void send_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return; /* the client gave up: fine */
		p += n;
		len -= (size_t)n;
	}
}

static void respond(int fd, int status, const char *body)
{
	char head[256];
	int n = snprintf(head, sizeof(head),
			 "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
			 "Content-Length: %zu\r\nConnection: close\r\n\r\n",
			 status, strlen(body));

	send_all(fd, head, (size_t)n);
	send_all(fd, body, strlen(body));
}

/* Value of header name in the request head, copied into out ("" if none). */
static void header(const char *head, const char *name, char *out, size_t len)
{
	const char *p = head;
	size_t nl = strlen(name);

	out[0] = '\0';
	while ((p = strstr(p, "\r\n")) != NULL) {
		p += 2;
		if (!strncasecmp(p, name, nl) && p[nl] == ':') {
			const char *v = p + nl + 1, *e;

			while (*v == ' ')
				v++;
			e = strstr(v, "\r\n");
			snprintf(out, len, "%.*s", (int)(e ? e - v : 0), v);
			return;
		}
	}
}

static void handle(int fd)
{
	char req[65536], method[16] = "", path[256] = "", ctype[128], auth[256],
			 clen[32];
	size_t got = 0, body_len, head_len;
	char *end = NULL, *body;

	while (got < sizeof(req) - 1) {
		ssize_t n = recv(fd, req + got, sizeof(req) - 1 - got, 0);

		if (n <= 0)
			return;
		got += (size_t)n;
		req[got] = '\0';
		if ((end = strstr(req, "\r\n\r\n")) != NULL)
			break;
	}
	if (!end)
		return;
	head_len = (size_t)(end - req) + 4;
	end[2] = '\0'; /* head ends with its last "\r\n" */
	header(req, "Content-Length", clen, sizeof(clen));
	header(req, "Content-Type", ctype, sizeof(ctype));
	header(req, "Authorization", auth, sizeof(auth));
	body_len = (size_t)strtoul(clen, NULL, 10);
	if (head_len + body_len >= sizeof(req))
		return;
	while (got < head_len + body_len) {
		ssize_t n = recv(fd, req + got, head_len + body_len - got, 0);

		if (n <= 0)
			return;
		got += (size_t)n;
	}
	body = req + head_len;
	body[body_len] = '\0';
	if (sscanf(req, "%15s %255s", method, path) != 2)
		return;

	pthread_mutex_lock(&srv.mu);
	srv.hits++;
	pthread_mutex_unlock(&srv.mu);

	if (!strcmp(path, "/json")) {
		respond(fd, 200, "{\"state\":\"running\",\"members\":[1,2]}");
	} else if (!strcmp(path, "/503")) {
		respond(fd, 503, "{\"error\":\"busy\"}");
	} else if (!strcmp(path, "/bad")) {
		respond(fd, 200, "this is not json{");
	} else if (!strcmp(path, "/slow")) {
		/* answer nothing; return when the client hangs up (or 3 s) */
		struct pollfd p = {.fd = fd, .events = POLLIN};

		poll(&p, 1, 3000);
	} else if (!strcmp(path, "/close")) {
		/* close without a word */
	} else if (!strcmp(path, "/echo")) {
		json_t *o =
			json_pack("{s:s, s:s, s:s, s:s, s:s}", "method", method,
				  "path", path, "content_type", ctype,
				  "authorization", auth, "body", body);
		char *s = json_dumps(o, JSON_COMPACT);

		respond(fd, 200, s);
		free(s);
		json_decref(o);
	} else if (!strcmp(path, "/flaky")) {
		int left;

		pthread_mutex_lock(&srv.mu);
		left = srv.flaky_left;
		if (left > 0)
			srv.flaky_left--;
		pthread_mutex_unlock(&srv.mu);
		if (left > 0)
			respond(fd, 503, "{\"state\":\"starting\"}");
		else
			respond(fd, 200, "{\"state\":\"running\"}");
	} else if (!strcmp(path, "/big")) {
		size_t n = 2 * HP_REST_MAX_BODY;
		char *s = xmalloc(n + 1);

		memset(s, 'a', n);
		s[n] = '\0';
		respond(fd, 200, s);
		free(s);
	} else {
		respond(fd, 404, "{\"error\":\"not found\"}");
	}
}

static void *srv_main(void *arg)
{
	(void)arg;
	for (;;) {
		struct pollfd p[2] = {{.fd = srv.lfd, .events = POLLIN},
				      {.fd = srv.stop[0], .events = POLLIN}};
		int fd;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents)
			break;
		fd = accept(srv.lfd, NULL, NULL);
		if (fd < 0)
			continue;
		handle(fd);
		close(fd);
	}
	return NULL;
}

static int listen_any(int *port_out, bool do_listen)
{
	struct sockaddr_in a = {0};
	socklen_t alen = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = 0;
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	if (do_listen)
		assert_int_equal(listen(fd, 16), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
	*port_out = ntohs(a.sin_port);
	return fd;
}

static int srv_start(void **state)
{
	(void)state;
	memset(&srv, 0, sizeof(srv));
	pthread_mutex_init(&srv.mu, NULL);
	srv.lfd = listen_any(&srv.port, true);
	assert_int_equal(pipe(srv.stop), 0);
	assert_int_equal(pthread_create(&srv.thread, NULL, srv_main, NULL), 0);
	return 0;
}

static int srv_stop(void **state)
{
	(void)state;
	assert_int_equal(write(srv.stop[1], "x", 1), 1);
	pthread_join(srv.thread, NULL);
	close(srv.lfd);
	close(srv.stop[0]);
	close(srv.stop[1]);
	pthread_mutex_destroy(&srv.mu);
	return 0;
}

static char *url(const char *path)
{
	return xasprintf("http://127.0.0.1:%d%s", srv.port, path);
}

/* A port nothing listens on: bound, never listened, so connect is refused. */
static char *refused_url(int *fd_out)
{
	int port;

	*fd_out = listen_any(&port, false);
	return xasprintf("http://127.0.0.1:%d/health", port);
}

/* ---- single calls -------------------------------------------------------- */

static void test_get_json(void **state)
{
	struct hp_rest r;
	struct hp_rest_resp resp;
	struct hp_err err;
	char *u = url("/json");

	(void)state;
	hp_rest_resp_init(&resp);
	assert_int_equal(hp_rest_init(&r, 2000, &err), 0);
	assert_int_equal(hp_rest_call(&r, "GET", u, NULL, &resp, &err), 0);
	assert_int_equal(resp.status, 200);
	assert_non_null(resp.json);
	assert_true(json_is_object(resp.json));
	assert_string_equal(
		json_string_value(json_object_get(resp.json, "state")),
		"running");
	assert_int_equal(json_array_size(json_object_get(resp.json, "members")),
			 2);
	/* the same handle again: options are reset between calls */
	assert_int_equal(hp_rest_call(&r, "GET", u, NULL, &resp, &err), 0);
	assert_int_equal(resp.status, 200);
	hp_rest_resp_release(&resp);
	hp_rest_release(&r);
	hp_rest_release(&r); /* twice is fine */
	free(u);
}

static void test_status_503_is_an_answer(void **state)
{
	struct hp_rest r;
	struct hp_rest_resp resp;
	struct hp_err err;
	char *u = url("/503");

	(void)state;
	hp_rest_resp_init(&resp);
	assert_int_equal(hp_rest_init(&r, 2000, &err), 0);
	assert_int_equal(hp_rest_call(&r, "GET", u, NULL, &resp, &err), 0);
	assert_int_equal(resp.status, 503);
	assert_string_equal(
		json_string_value(json_object_get(resp.json, "error")), "busy");
	hp_rest_resp_release(&resp);
	hp_rest_release(&r);
	free(u);
}

static void test_invalid_json(void **state)
{
	struct hp_rest r;
	struct hp_rest_resp resp;
	struct hp_err err;
	char *u = url("/bad");

	(void)state;
	hp_rest_resp_init(&resp);
	assert_int_equal(hp_rest_init(&r, 2000, &err), 0);
	assert_int_equal(hp_rest_call(&r, "GET", u, NULL, &resp, &err), 0);
	assert_int_equal(resp.status, 200);
	assert_null(resp.json);
	assert_string_equal(resp.body.buf, "this is not json{");
	hp_rest_resp_release(&resp);
	hp_rest_release(&r);
	free(u);
}

static void test_patch_sends_json(void **state)
{
	struct hp_rest r;
	struct hp_rest_resp resp;
	struct hp_err err;
	json_t *body = json_pack("{s:i}", "ttl", 20), *echo;
	char *u = url("/echo");

	(void)state;
	hp_rest_resp_init(&resp);
	assert_int_equal(hp_rest_init(&r, 2000, &err), 0);
	assert_int_equal(hp_rest_call(&r, "PATCH", u, body, &resp, &err), 0);
	assert_int_equal(resp.status, 200);
	echo = resp.json;
	assert_non_null(echo);
	assert_string_equal(json_string_value(json_object_get(echo, "method")),
			    "PATCH");
	assert_string_equal(
		json_string_value(json_object_get(echo, "content_type")),
		"application/json");
	assert_string_equal(json_string_value(json_object_get(echo, "body")),
			    "{\"ttl\":20}");
	/* no credentials set: no Authorization header */
	assert_string_equal(
		json_string_value(json_object_get(echo, "authorization")), "");
	json_decref(body);
	hp_rest_resp_release(&resp);
	hp_rest_release(&r);
	free(u);
}

static void test_post_without_body(void **state)
{
	struct hp_rest r;
	struct hp_rest_resp resp;
	struct hp_err err;
	char *u = url("/echo");

	(void)state;
	hp_rest_resp_init(&resp);
	assert_int_equal(hp_rest_init(&r, 2000, &err), 0);
	assert_int_equal(hp_rest_call(&r, "POST", u, NULL, &resp, &err), 0);
	assert_string_equal(
		json_string_value(json_object_get(resp.json, "method")),
		"POST");
	assert_string_equal(
		json_string_value(json_object_get(resp.json, "body")), "");
	assert_string_equal(
		json_string_value(json_object_get(resp.json, "content_type")),
		"");
	/* OPTIONS and DELETE go out with their own method */
	assert_int_equal(hp_rest_call(&r, "OPTIONS", u, NULL, &resp, &err), 0);
	assert_string_equal(
		json_string_value(json_object_get(resp.json, "method")),
		"OPTIONS");
	assert_int_equal(hp_rest_call(&r, "DELETE", u, NULL, &resp, &err), 0);
	assert_string_equal(
		json_string_value(json_object_get(resp.json, "method")),
		"DELETE");
	hp_rest_resp_release(&resp);
	hp_rest_release(&r);
	free(u);
}

static void test_basic_auth(void **state)
{
	struct hp_rest r;
	struct hp_rest_resp resp;
	struct hp_err err;
	json_t *body = json_pack("{s:i}", "loop_wait", 5);
	char *u = url("/echo");

	(void)state;
	hp_rest_resp_init(&resp);
	assert_int_equal(hp_rest_init(&r, 2000, &err), 0);
	r.user = "patroni";
	r.password = "s3cret";
	assert_int_equal(hp_rest_call(&r, "PATCH", u, body, &resp, &err), 0);
	/* base64("patroni:s3cret") */
	assert_string_equal(
		json_string_value(json_object_get(resp.json, "authorization")),
		"Basic cGF0cm9uaTpzM2NyZXQ=");
	/* cleared credentials are not sent on the next call */
	r.user = NULL;
	r.password = NULL;
	assert_int_equal(hp_rest_call(&r, "GET", u, NULL, &resp, &err), 0);
	assert_string_equal(
		json_string_value(json_object_get(resp.json, "authorization")),
		"");
	json_decref(body);
	hp_rest_resp_release(&resp);
	hp_rest_release(&r);
	free(u);
}

static void test_timeout(void **state)
{
	struct hp_rest r;
	struct hp_rest_resp resp;
	struct hp_err err;
	char *u = url("/slow");
	int64_t t0;

	(void)state;
	hp_rest_resp_init(&resp);
	hp_err_clear(&err);
	assert_int_equal(hp_rest_init(&r, 300, &err), 0);
	t0 = hp_now_ms();
	assert_int_equal(hp_rest_call(&r, "GET", u, NULL, &resp, &err),
			 HP_ETIMEOUT);
	assert_true(hp_now_ms() - t0 < 2000);
	assert_int_equal(err.code, HP_ETIMEOUT);
	assert_non_null(strstr(err.msg, u));
	assert_int_equal(resp.status, 0);
	assert_null(resp.json);
	hp_rest_resp_release(&resp);
	hp_rest_release(&r);
	free(u);
}

static void test_refused(void **state)
{
	struct hp_rest r;
	struct hp_rest_resp resp;
	struct hp_err err;
	int fd;
	char *u = refused_url(&fd);

	(void)state;
	hp_rest_resp_init(&resp);
	assert_int_equal(hp_rest_init(&r, 2000, &err), 0);
	r.user = "patroni";
	r.password = "TopSecretPw";
	assert_int_equal(hp_rest_call(&r, "POST", u, NULL, &resp, &err),
			 HP_ECONNECT);
	assert_non_null(strstr(err.msg, "127.0.0.1"));
	assert_null(strstr(err.msg, "TopSecretPw"));
	close(fd);
	hp_rest_resp_release(&resp);
	hp_rest_release(&r);
	free(u);
}

static void test_closed_without_answer(void **state)
{
	struct hp_rest r;
	struct hp_rest_resp resp;
	struct hp_err err;
	char *u = url("/close");

	(void)state;
	hp_rest_resp_init(&resp);
	assert_int_equal(hp_rest_init(&r, 2000, &err), 0);
	assert_int_equal(hp_rest_call(&r, "GET", u, NULL, &resp, &err),
			 HP_ECONNECT);
	assert_int_equal(resp.status, 0);
	hp_rest_resp_release(&resp);
	hp_rest_release(&r);
	free(u);
}

static void test_body_cap(void **state)
{
	struct hp_rest r;
	struct hp_rest_resp resp;
	struct hp_err err;
	char *u = url("/big");

	(void)state;
	hp_rest_resp_init(&resp);
	assert_int_equal(hp_rest_init(&r, 5000, &err), 0);
	assert_int_equal(hp_rest_call(&r, "GET", u, NULL, &resp, &err),
			 HP_ETOOBIG);
	assert_int_equal(resp.body.len, 0);
	hp_rest_resp_release(&resp);
	hp_rest_release(&r);
	free(u);
}

static void test_bad_input(void **state)
{
	struct hp_rest r;
	struct hp_rest_resp resp;
	struct hp_err err;
	char *u = url("/json");
	char *cred = xasprintf("http://patroni:pw@127.0.0.1:%d/json", srv.port);

	(void)state;
	hp_rest_resp_init(&resp);
	assert_int_equal(hp_rest_init(&r, 0, &err), HP_EINVALID);
	hp_rest_release(&r);
	assert_int_equal(hp_rest_init(&r, 2000, &err), 0);
	assert_int_equal(hp_rest_call(&r, "FETCH", u, NULL, &resp, &err),
			 HP_EINVALID);
	assert_int_equal(hp_rest_call(&r, "GET", cred, NULL, &resp, &err),
			 HP_EINVALID);
	assert_null(strstr(err.msg, "pw@"));
	hp_rest_resp_release(&resp);
	hp_rest_release(&r);
	free(u);
	free(cred);
}

static void test_proxy_env_ignored(void **state)
{
	struct hp_rest r;
	struct hp_rest_resp resp;
	struct hp_err err;
	char *u = url("/json");

	(void)state;
	/* a proxy that does not exist: using it would fail */
	setenv("http_proxy", "http://127.0.0.1:9", 1);
	setenv("HTTP_PROXY", "http://127.0.0.1:9", 1);
	hp_rest_resp_init(&resp);
	assert_int_equal(hp_rest_init(&r, 2000, &err), 0);
	assert_int_equal(hp_rest_call(&r, "GET", u, NULL, &resp, &err), 0);
	assert_int_equal(resp.status, 200);
	unsetenv("http_proxy");
	unsetenv("HTTP_PROXY");
	hp_rest_resp_release(&resp);
	hp_rest_release(&r);
	free(u);
}

/* ---- polling ------------------------------------------------------------- */

struct check_ctx {
	int calls;
};

static bool check_running(const struct hp_rest_resp *resp, void *arg,
			  struct hp_buf *why)
{
	struct check_ctx *c = arg;
	const char *st =
		json_string_value(json_object_get(resp->json, "state"));

	c->calls++;
	if (resp->status == 200 && st && !strcmp(st, "running"))
		return true;
	hp_buf_addf(why, "state is %s", st ? st : "unknown");
	return false;
}

static void test_poll_succeeds_after_failures(void **state)
{
	struct hp_rest r;
	struct hp_rest_resp last;
	struct hp_err err;
	struct check_ctx c = {0};
	char *u = url("/flaky");

	(void)state;
	pthread_mutex_lock(&srv.mu);
	srv.flaky_left = 3;
	pthread_mutex_unlock(&srv.mu);
	hp_rest_resp_init(&last);
	assert_int_equal(hp_rest_init(&r, 1000, &err), 0);
	assert_int_equal(hp_rest_poll(&r, "GET", u, NULL, 5000, 20,
				      check_running, &c, &last, &err),
			 0);
	assert_int_equal(c.calls, 4);
	assert_int_equal(last.status, 200);
	assert_non_null(last.json);
	hp_rest_resp_release(&last);
	hp_rest_release(&r);
	free(u);
}

static void test_poll_deadline_reports_last_answer(void **state)
{
	struct hp_rest r;
	struct hp_rest_resp last;
	struct hp_err err;
	struct check_ctx c = {0};
	char *u = url("/503");
	int64_t t0, took;

	(void)state;
	hp_rest_resp_init(&last);
	assert_int_equal(hp_rest_init(&r, 1000, &err), 0);
	t0 = hp_now_ms();
	assert_int_equal(hp_rest_poll(&r, "GET", u, NULL, 400, 50,
				      check_running, &c, &last, &err),
			 HP_ETIMEOUT);
	took = hp_now_ms() - t0;
	assert_true(took >= 400 && took < 2000);
	assert_true(c.calls >= 3);
	assert_int_equal(err.code, HP_ETIMEOUT);
	assert_non_null(strstr(err.msg, u));
	assert_non_null(strstr(err.msg, "within 400 ms"));
	assert_non_null(strstr(err.msg, "HTTP 503"));
	assert_non_null(strstr(err.msg, "{\"error\":\"busy\"}"));
	assert_non_null(strstr(err.msg, "state is unknown"));
	assert_null(strstr(err.msg, "last error"));
	assert_int_equal(last.status, 503);
	print_message("  message: %s\n", err.msg);
	hp_rest_resp_release(&last);
	hp_rest_release(&r);
	free(u);
}

static void test_poll_deadline_reports_connection_error(void **state)
{
	struct hp_rest r;
	struct hp_err err;
	struct check_ctx c = {0};
	int fd;
	char *u = refused_url(&fd);

	(void)state;
	assert_int_equal(hp_rest_init(&r, 1000, &err), 0);
	assert_int_equal(hp_rest_poll(&r, "GET", u, NULL, 200, 20,
				      check_running, &c, NULL, &err),
			 HP_ETIMEOUT);
	assert_int_equal(c.calls, 0);
	assert_non_null(strstr(err.msg, "last answer: none"));
	assert_non_null(strstr(err.msg, "last error: "));
	print_message("  message: %s\n", err.msg);
	close(fd);
	hp_rest_release(&r);
	free(u);
}

static void test_poll_cuts_slow_tries(void **state)
{
	struct hp_rest r;
	struct hp_err err;
	struct check_ctx c = {0};
	char *u = url("/slow");
	int64_t t0;

	(void)state;
	/* each try may take 10 s, but the deadline is 300 ms */
	assert_int_equal(hp_rest_init(&r, 10000, &err), 0);
	t0 = hp_now_ms();
	assert_int_equal(hp_rest_poll(&r, "GET", u, NULL, 300, 20,
				      check_running, &c, NULL, &err),
			 HP_ETIMEOUT);
	assert_true(hp_now_ms() - t0 < 2000);
	assert_non_null(strstr(err.msg, "last error: "));
	hp_rest_release(&r);
	free(u);
}

/* ---- TLS ------------------------------------------------------------------ */

/* What the seam saw of the client's TLS. */
struct tls_seen {
	int calls;
	const struct hp_rest_tls *tls;
};

static int seen_call(void *ctx, const struct hp_rest *r, const char *method,
		     const char *u, const json_t *body,
		     struct hp_rest_resp *resp, struct hp_err *err)
{
	struct tls_seen *s = ctx;

	(void)method;
	(void)u;
	(void)body;
	(void)err;
	s->calls++;
	s->tls = r->tls;
	resp->status = 200;
	return 0;
}

static const struct hp_rest_ops seen_ops = {seen_call};

static void test_https_needs_the_ca(void **state)
{
	struct hp_rest r;
	struct hp_rest_resp resp;
	struct hp_err err;
	struct tls_seen seen = {0};
	struct hp_rest_tls no_ca = {NULL, "cert", "key", false};
	struct hp_rest_tls empty_ca = {"", NULL, NULL, false};
	struct hp_rest_tls insecure = {NULL, NULL, NULL, true};

	(void)state;
	hp_rest_resp_init(&resp);
	assert_int_equal(hp_rest_init(&r, 2000, &err), 0);
	hp_rest_set_ops(&r, &seen_ops, &seen);
	/* no TLS at all, or TLS without a CA: refused before any traffic */
	assert_int_equal(hp_rest_call(&r, "GET", "https://10.0.0.1:2379/health",
				      NULL, &resp, &err),
			 HP_EINVALID);
	assert_non_null(strstr(err.msg, "cluster CA"));
	r.tls = &no_ca;
	assert_int_equal(hp_rest_call(&r, "GET", "HTTPS://10.0.0.1:2379/health",
				      NULL, &resp, &err),
			 HP_EINVALID);
	r.tls = &empty_ca;
	assert_int_equal(hp_rest_call(&r, "GET", "https://10.0.0.1:2379/health",
				      NULL, &resp, &err),
			 HP_EINVALID);
	assert_int_equal(seen.calls, 0);
	/* plain http needs nothing; insecure is the explicit way around */
	r.tls = NULL;
	assert_int_equal(hp_rest_call(&r, "GET", "http://10.0.0.1:2379/health",
				      NULL, &resp, &err),
			 0);
	r.tls = &insecure;
	assert_int_equal(hp_rest_call(&r, "GET", "https://10.0.0.1:2379/health",
				      NULL, &resp, &err),
			 0);
	assert_int_equal(seen.calls, 2);
	hp_rest_resp_release(&resp);
	hp_rest_release(&r);
}

static void test_seam_sees_the_client_cert(void **state)
{
	struct hp_rest r;
	struct hp_rest_resp resp;
	struct hp_err err;
	struct tls_seen seen = {0};
	struct hp_rest_tls tls = {"-----BEGIN CERTIFICATE-----\n", "client",
				  "key", false};

	(void)state;
	hp_rest_resp_init(&resp);
	assert_int_equal(hp_rest_init(&r, 2000, &err), 0);
	hp_rest_set_ops(&r, &seen_ops, &seen);
	r.tls = &tls;
	assert_int_equal(hp_rest_call(&r, "PATCH", "https://[fd00::1]:8008/config",
				      NULL, &resp, &err),
			 0);
	assert_int_equal(seen.calls, 1);
	assert_ptr_equal(seen.tls, &tls);
	assert_string_equal(seen.tls->cert_pem, "client");
	hp_rest_resp_release(&resp);
	hp_rest_release(&r);
}

/* A server that answers anything with plain HTTP at once: a TLS client
 * fails its handshake ("wrong version number"), with a connection made. */
static void *plain_main(void *arg)
{
	int lfd = *(int *)arg, fd = accept(lfd, NULL, NULL);
	static const char reply[] = "HTTP/1.1 400 X\r\nContent-Length: 0\r\n"
				    "Connection: close\r\n\r\n";
	char buf[4096];

	if (fd < 0)
		return NULL;
	send_all(fd, reply, sizeof(reply) - 1);
	shutdown(fd, SHUT_WR);
	while (recv(fd, buf, sizeof(buf), 0) > 0)
		;
	close(fd);
	return NULL;
}

static void test_handshake_failure_is_tls(void **state)
{
	struct hp_rest r;
	struct hp_rest_resp resp;
	struct hp_err err;
	struct hp_rest_tls tls = {NULL, NULL, NULL, true};
	pthread_t t;
	int port, lfd = listen_any(&port, true);
	char *u = xasprintf("https://127.0.0.1:%d/health", port);

	(void)state;
	assert_int_equal(pthread_create(&t, NULL, plain_main, &lfd), 0);
	hp_rest_resp_init(&resp);
	assert_int_equal(hp_rest_init(&r, 3000, &err), 0);
	r.tls = &tls;
	assert_int_equal(hp_rest_call(&r, "GET", u, NULL, &resp, &err),
			 HP_ETLS);
	assert_non_null(strstr(err.msg, "TLS handshake"));
	pthread_join(t, NULL);
	close(lfd);
	hp_rest_resp_release(&resp);
	hp_rest_release(&r);
	free(u);
}

static void test_bad_ca_is_tls_not_refused(void **state)
{
	struct hp_rest r;
	struct hp_rest_resp resp;
	struct hp_err err;
	struct hp_rest_tls tls = {"not a certificate\n", NULL, NULL, false};
	pthread_t t;
	int port, lfd = listen_any(&port, true);
	char *u = xasprintf("https://127.0.0.1:%d/health", port);

	(void)state;
	assert_int_equal(pthread_create(&t, NULL, plain_main, &lfd), 0);
	hp_rest_resp_init(&resp);
	assert_int_equal(hp_rest_init(&r, 3000, &err), 0);
	r.tls = &tls;
	assert_int_equal(hp_rest_call(&r, "GET", u, NULL, &resp, &err),
			 HP_ETLS);
	/* the CA applies per call: the next call without TLS is plain http */
	r.tls = NULL;
	free(u);
	u = url("/json");
	assert_int_equal(hp_rest_call(&r, "GET", u, NULL, &resp, &err), 0);
	assert_int_equal(resp.status, 200);
	pthread_join(t, NULL);
	close(lfd);
	hp_rest_resp_release(&resp);
	hp_rest_release(&r);
	free(u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get_json),
		cmocka_unit_test(test_status_503_is_an_answer),
		cmocka_unit_test(test_invalid_json),
		cmocka_unit_test(test_patch_sends_json),
		cmocka_unit_test(test_post_without_body),
		cmocka_unit_test(test_basic_auth),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_closed_without_answer),
		cmocka_unit_test(test_body_cap),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_proxy_env_ignored),
		cmocka_unit_test(test_poll_succeeds_after_failures),
		cmocka_unit_test(test_poll_deadline_reports_last_answer),
		cmocka_unit_test(test_poll_deadline_reports_connection_error),
		cmocka_unit_test(test_poll_cuts_slow_tries),
		cmocka_unit_test(test_https_needs_the_ca),
		cmocka_unit_test(test_seam_sees_the_client_cert),
		cmocka_unit_test(test_handshake_failure_is_tls),
		cmocka_unit_test(test_bad_ca_is_tls_not_refused),
	};
	int rc;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = cmocka_run_group_tests(tests, srv_start, srv_stop);
	curl_global_cleanup();
	return rc;
}
