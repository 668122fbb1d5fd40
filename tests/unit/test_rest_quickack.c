/*
 * Prompt ACKs for HTTPS answers (rest_quickack.h): which events ask the
 * kernel for an immediate acknowledgment, on which socket.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/ssl.h>

#include "rest_quickack.h"

static int calls, last_fd;

static void record(int fd)
{
	calls++;
	last_fd = fd;
}

static int setup(void **state)
{
	(void)state;
	calls = 0;
	last_fd = -2;
	hp_rest_quickack_set_fn(record);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	hp_rest_quickack_set_fn(NULL);
	return 0;
}

/* a handshake message from the server (a session ticket): ACK now */
static void test_server_handshake_message(void **state)
{
	(void)state;
	hp_rest_quickack_msg(0, SSL3_RT_HANDSHAKE, 7);
	assert_int_equal(calls, 1);
	assert_int_equal(last_fd, 7);
}

/* what haprov sends, application data and alerts: nothing to do */
static void test_other_messages(void **state)
{
	(void)state;
	hp_rest_quickack_msg(1, SSL3_RT_HANDSHAKE, 7);
	hp_rest_quickack_msg(0, SSL3_RT_APPLICATION_DATA, 7);
	hp_rest_quickack_msg(0, SSL3_RT_ALERT, 7);
	hp_rest_quickack_msg(0, SSL3_RT_HANDSHAKE, -1);
	assert_int_equal(calls, 0);
}

/* the header callback passes every byte on, and without a connection
 * asks for nothing */
static void test_header_cb(void **state)
{
	char line[] = "HTTP/1.1 200 OK\r\n";
	CURL *c = curl_easy_init();

	(void)state;
	assert_int_equal(
		hp_rest_quickack_header_cb(line, 1, sizeof(line) - 1, NULL),
		sizeof(line) - 1);
	assert_int_equal(hp_rest_quickack_header_cb(line, 3, 2, c), 6);
	assert_int_equal(calls, 0);
	curl_easy_cleanup(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_server_handshake_message,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_messages, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_header_cb, setup,
						teardown),
	};

	curl_global_init(CURL_GLOBAL_DEFAULT);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
