/*
 * Test driver for provisioner/ssh.c against a real sshd (see
 * 10-ssh-local.sh, which builds and runs it). Not part of haprov.
 *
 *   ssh_probe [options] connect          connect, run "true"
 *   ssh_probe [options] exec CMD         print CMD's stdout, exit with its code
 *   ssh_probe [options] suite DIR        exec/put/get checks in remote DIR
 *   ssh_probe silent-server PORT SECONDS accept one connection, say nothing
 *
 * options: -a ADDR -p PORT -u USER -i KEY -k KNOWN_HOSTS -A (accept new
 * host keys) -P (read only, as plan: never write known_hosts) -s (sudo)
 * -t CONNECT_TIMEOUT_S
 *
 * connect and exec exit with -code (HP_EHOSTKEY -> 6, ...) when the
 * connection fails, after printing "error CODE host=HOST: MESSAGE".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libssh2.h>

#include "shell.h"
#include "ssh.h"

static int passed, failed;

static void check(int cond, const char *what, const struct hp_err *err)
{
	if (cond) {
		passed++;
		printf("ok - %s\n", what);
	} else {
		failed++;
		printf("not ok - %s\n", what);
		if (err && err->code)
			printf("#   error %d: %s\n", err->code, err->msg);
	}
	fflush(stdout);
}

/* Run cmd, return the result code; res is re-initialised. */
static int run(struct hp_transport *t, const char *cmd, const void *in,
	       size_t len, int timeout_s, struct hp_exec_result *res,
	       struct hp_err *err)
{
	hp_exec_result_release(res);
	hp_exec_result_init(res);
	hp_err_clear(err);
	return t->ops->exec(t->ctx, cmd, in, len, timeout_s, res, err);
}

/* Run a shell snippet that must succeed; its stdout, trimmed, in out. */
static int sh_out(struct hp_transport *t, const char *cmd, char *out,
		  size_t outlen)
{
	struct hp_exec_result res;
	struct hp_err err;
	int r;

	hp_exec_result_init(&res);
	r = run(t, cmd, NULL, 0, 30, &res, &err);
	while (res.out.len && res.out.buf[res.out.len - 1] == '\n')
		res.out.buf[--res.out.len] = '\0';
	snprintf(out, outlen, "%s", res.out.buf);
	if (r == 0 && res.exit_code != 0)
		r = HP_EREMOTE;
	hp_exec_result_release(&res);
	return r;
}

static char *remote_path(const char *dir, const char *name)
{
	return xasprintf("%s/%s", dir, name);
}

static void suite(struct hp_transport *t, const char *dir)
{
	struct hp_exec_result res;
	struct hp_buf got = HP_BUF_INIT, cmd = HP_BUF_INIT;
	struct hp_err err;
	char hex[65], line[4096], *p = NULL, *big = NULL;
	const char hostile_name[] = "it's a $(file) `x` *;.conf";
	const char bin[] = "line1\nline2\0after-nul\n\xff\xfe end";
	size_t i, n;
	int64_t t0, ms;
	int r;

	hp_exec_result_init(&res);

	r = run(t, "exit 7", NULL, 0, 30, &res, &err);
	check(r == 0 && res.exit_code == 7, "exec returns the exit code (7)",
	      &err);
	r = run(t, "true", NULL, 0, 30, &res, &err);
	check(r == 0 && res.exit_code == 0, "exec returns exit code 0", &err);

	r = run(t, "printf out; printf err >&2; printf more", NULL, 0, 30, &res,
		&err);
	check(r == 0 && strcmp(res.out.buf, "outmore") == 0 &&
		      strcmp(res.errout.buf, "err") == 0,
	      "stdout and stderr are kept apart", &err);

	r = run(t, "printf '%s' \"$0\"", NULL, 0, 30, &res, &err);
	check(r == 0 && strcmp(res.out.buf, "/bin/sh") == 0,
	      "commands run under /bin/sh", &err);

	/* 1 MiB of stdin, checked on the other side */
	n = 1024 * 1024;
	big = xmalloc(n);
	for (i = 0; i < n; i++)
		big[i] = (char)((i * 7919u + (i >> 11)) & 0xff);
	hp_sha256_hex(big, n, hex);
	r = run(t, "sha256sum | cut -d' ' -f1", big, n, 60, &res, &err);
	while (res.out.len && res.out.buf[res.out.len - 1] == '\n')
		res.out.buf[--res.out.len] = '\0';
	check(r == 0 && res.exit_code == 0 && strcmp(res.out.buf, hex) == 0,
	      "1 MiB on stdin arrives intact (sha256sum)", &err);
	free(big);
	big = NULL;

	/* a command that fills stderr before it reads stdin: only works if
	 * we read while we write */
	n = 4u * 1024 * 1024;
	big = xcalloc(1, n);
	r = run(t, "head -c 4194304 /dev/zero >&2; wc -c", big, n, 60, &res,
		&err);
	check(r == 0 && res.exit_code == 0 && res.errout.len == n &&
		      atol(res.out.buf) == (long)n,
	      "4 MiB stderr while 4 MiB stdin is pending: no deadlock", &err);

	t0 = hp_now_ms();
	r = run(t, "true", big, n, 30, &res, &err);
	check(r == 0 && res.exit_code == 0,
	      "a command that ignores 4 MiB of stdin finishes", &err);
	free(big);
	big = NULL;

	r = run(t, "head -c 17000000 /dev/zero", NULL, 0, 60, &res, &err);
	check(r == HP_ETOOBIG && strstr(err.msg, "stdout"),
	      "stdout past 16 MiB: HP_ETOOBIG", &err);
	r = run(t, "echo still here", NULL, 0, 30, &res, &err);
	check(r == 0 && strcmp(res.out.buf, "still here\n") == 0,
	      "the session works after HP_ETOOBIG", &err);

	r = run(t, "kill -TERM $$", NULL, 0, 30, &res, &err);
	check(r == 0 && res.exit_code == -1,
	      "a command killed by a signal has exit_code -1", &err);

	t0 = hp_now_ms();
	r = run(t, "sleep 5", NULL, 0, 1, &res, &err);
	ms = hp_now_ms() - t0;
	snprintf(line, sizeof(line),
		 "sleep 5 with timeout 1: HP_ETIMEOUT after %lld ms",
		 (long long)ms);
	check(r == HP_ETIMEOUT && ms >= 900 && ms < 2500 &&
		      strcmp(err.host, t->host) == 0,
	      line, &err);
	r = run(t, "echo after timeout", NULL, 0, 30, &res, &err);
	check(r == 0 && strcmp(res.out.buf, "after timeout\n") == 0,
	      "the session works after a timeout", &err);

	t0 = hp_now_ms();
	for (i = 0; i < 50; i++) {
		r = run(t, "true", NULL, 0, 30, &res, &err);
		if (r != 0 || res.exit_code != 0)
			break;
	}
	ms = hp_now_ms() - t0;
	snprintf(line, sizeof(line), "50 commands on one session (%lld ms)",
		 (long long)ms);
	check(i == 50, line, &err);

	/* put + get */
	p = remote_path(dir, "f.conf");
	hp_err_clear(&err);
	r = t->ops->put(t->ctx, p, bin, sizeof(bin), 0640, NULL, NULL, &err);
	check(r == 0, "put a file with binary content", &err);
	hp_buf_reset(&got);
	r = t->ops->get(t->ctx, p, &got, &err);
	check(r == 0 && got.len == sizeof(bin) &&
		      memcmp(got.buf, bin, sizeof(bin)) == 0,
	      "get returns what put wrote, byte for byte", &err);
	hp_buf_reset(&cmd);
	hp_buf_adds(&cmd, "stat -c '%a %U:%G' ");
	hp_shell_quote(&cmd, p);
	r = sh_out(t, cmd.buf, line, sizeof(line));
	check(r == 0 && strcmp(line, "640 root:root") == 0,
	      "put sets mode 640 and owner root:root", NULL);

	r = t->ops->put(t->ctx, p, "v2\n", 3, 0600, "nobody", "nogroup", &err);
	r = r ? r : sh_out(t, cmd.buf, line, sizeof(line));
	check(r == 0 && strcmp(line, "600 nobody:nogroup") == 0,
	      "put replaces a file, with owner nobody:nogroup and mode 600",
	      &err);

	r = t->ops->put(t->ctx, p, "v3\n", 3, 0644, "no-such-user", NULL, &err);
	check(r == HP_EREMOTE && strstr(err.msg, "no-such-user"),
	      "put with an unknown owner: HP_EREMOTE with the remote error",
	      &err);
	hp_buf_reset(&got);
	r = t->ops->get(t->ctx, p, &got, &err);
	check(r == 0 && strcmp(got.buf, "v2\n") == 0,
	      "a failed put leaves the old content in place", &err);

	hp_buf_reset(&cmd);
	hp_buf_adds(&cmd, "ls -A ");
	hp_shell_quote(&cmd, dir);
	hp_buf_adds(&cmd, " | grep -c haprov-tmp || :");
	r = sh_out(t, cmd.buf, line, sizeof(line));
	check(r == 0 && strcmp(line, "0") == 0,
	      "no temporary files are left in the directory", NULL);
	free(p);

	p = remote_path(dir, "no-such-dir/f");
	r = t->ops->put(t->ctx, p, "x", 1, 0644, NULL, NULL, &err);
	check(r == HP_EREMOTE && strcmp(err.host, t->host) == 0,
	      "put into a missing directory: HP_EREMOTE (no mkdir)", &err);
	free(p);

	r = t->ops->put(t->ctx, dir, "x", 1, 0644, NULL, NULL, &err);
	check(r == HP_EREMOTE, "put onto a directory: HP_EREMOTE", &err);

	p = remote_path(dir, hostile_name);
	r = t->ops->put(t->ctx, p, "hostile\n", 8, 0644, NULL, NULL, &err);
	hp_buf_reset(&got);
	r = r ? r : t->ops->get(t->ctx, p, &got, &err);
	check(r == 0 && strcmp(got.buf, "hostile\n") == 0,
	      "put/get with quotes, $(...), backticks, * and ; in the name",
	      &err);
	free(p);

	p = remote_path(dir, "empty");
	r = t->ops->put(t->ctx, p, NULL, 0, 0644, NULL, NULL, &err);
	hp_buf_reset(&got);
	r = r ? r : t->ops->get(t->ctx, p, &got, &err);
	check(r == 0 && got.len == 0, "put/get of an empty file", &err);
	free(p);

	p = remote_path(dir, "missing");
	hp_buf_reset(&got);
	r = t->ops->get(t->ctx, p, &got, &err);
	check(r == HP_ENOTFOUND && strstr(err.msg, "does not exist"),
	      "get of a missing file: HP_ENOTFOUND", &err);
	free(p);
	p = NULL;

	r = t->ops->get(t->ctx, dir, &got, &err);
	check(r == HP_EREMOTE, "get of a directory: HP_EREMOTE", &err);

	hp_buf_release(&got);
	hp_buf_release(&cmd);
	hp_exec_result_release(&res);
}

/* Accept one connection and say nothing: a peer that never answers. */
static int silent_server(int port, int seconds)
{
	struct sockaddr_in sa;
	int s, c, one = 1;

	s = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(s, 1) < 0) {
		perror("silent-server");
		return 1;
	}
	printf("listening\n");
	fflush(stdout);
	c = accept(s, NULL, NULL);
	sleep((unsigned)seconds);
	if (c >= 0)
		close(c);
	close(s);
	return 0;
}

static void usage(void)
{
	fputs("usage: ssh_probe -a ADDR -p PORT -u USER [-i KEY] -k KH [-A] "
	      "[-P] [-s] [-t S] connect|exec CMD|suite DIR\n"
	      "       ssh_probe silent-server PORT SECONDS\n",
	      stderr);
	exit(64);
}

int main(int argc, char **argv)
{
	struct hp_ssh_opts o;
	struct hp_transport t;
	struct hp_err err;
	const char *mode;
	int opt, r, rc = 0;

	if (argc == 4 && strcmp(argv[1], "silent-server") == 0)
		return silent_server(atoi(argv[2]), atoi(argv[3]));

	memset(&o, 0, sizeof(o));
	o.user = "root";
	while ((opt = getopt(argc, argv, "a:p:u:i:k:APst:")) != -1) {
		switch (opt) {
		case 'a':
			o.address = optarg;
			break;
		case 'p':
			o.port = atoi(optarg);
			break;
		case 'u':
			o.user = optarg;
			break;
		case 'i':
			o.identity_file = optarg;
			break;
		case 'k':
			o.known_hosts = optarg;
			break;
		case 'A':
			o.accept_new_host_keys = true;
			break;
		case 'P':
			o.read_only = true;
			break;
		case 's':
			o.sudo = true;
			break;
		case 't':
			o.connect_timeout_s = atoi(optarg);
			break;
		default:
			usage();
		}
	}
	if (optind >= argc)
		usage();
	mode = argv[optind];
	/* warnings too: "added ... key" and "would add ... key" */
	hp_log_set_level(HP_LOG_WARN);

	/* haprov's main does this once; ssh.c never does */
	if (libssh2_init(0) != 0) {
		fputs("libssh2_init failed\n", stderr);
		return 1;
	}
	hp_err_clear(&err);
	r = hp_ssh_connect(&t, "testhost", &o, &err);
	if (r < 0) {
		printf("error %d host=%s: %s\n", r, err.host, err.msg);
		libssh2_exit();
		return -r;
	}
	if (strcmp(mode, "connect") == 0) {
		struct hp_exec_result res;

		hp_exec_result_init(&res);
		r = t.ops->exec(t.ctx, "true", NULL, 0, 10, &res, &err);
		if (r == 0 && res.exit_code == 0) {
			printf("connected\n");
		} else {
			printf("error %d host=%s: %s\n", r, err.host, err.msg);
			rc = r < 0 ? -r : 1;
		}
		hp_exec_result_release(&res);
	} else if (strcmp(mode, "exec") == 0 && optind + 1 < argc) {
		struct hp_exec_result res;

		hp_exec_result_init(&res);
		r = t.ops->exec(t.ctx, argv[optind + 1], NULL, 0, 30, &res,
				&err);
		if (r < 0) {
			printf("error %d host=%s: %s\n", r, err.host, err.msg);
			rc = -r;
		} else {
			fwrite(res.out.buf, 1, res.out.len, stdout);
			fwrite(res.errout.buf, 1, res.errout.len, stderr);
			rc = res.exit_code < 0 ? 128 : res.exit_code;
		}
		hp_exec_result_release(&res);
	} else if (strcmp(mode, "suite") == 0 && optind + 1 < argc) {
		suite(&t, argv[optind + 1]);
		rc = failed ? 1 : 0;
	} else {
		t.ops->close(t.ctx);
		libssh2_exit();
		usage();
	}
	t.ops->close(t.ctx);
	libssh2_exit();
	return rc;
}
