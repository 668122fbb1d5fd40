/*
 * libFuzzer target: the HAProxy stats CSV parser (hp_haproxy_servers),
 * which reads what a stats page answers. Whatever the page says, the
 * result is a clear error, or an array of {backend, server, status}
 * objects whose three members are printable strings (phases.h), because
 * the verify step and status print them.
 */
#include "fuzz.h"

#include "phases.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *csv = fuzz_cstr(data, size);
	json_t *servers = NULL, *s;
	struct hp_err err;
	size_t i;
	int r = hp_haproxy_servers(csv, size, &servers, &err);

	FUZZ_CHECK("haproxy-result", (r == 0) == (servers != NULL),
		   "hp_haproxy_servers returned %d with %s result", r,
		   servers ? "a" : "no");
	FUZZ_CHECK("haproxy-error", r == 0 || r == HP_EVERIFY,
		   "hp_haproxy_servers returned %d, not HP_EVERIFY", r);
	if (r < 0) {
		free(csv);
		return 0;
	}
	FUZZ_CHECK("haproxy-array", json_is_array(servers),
		   "hp_haproxy_servers did not return an array");
	json_array_foreach(servers, i, s)
	{
		static const char *const keys[] = {"backend", "server",
						   "status"};
		size_t k;

		for (k = 0; k < HP_ARRAY_SIZE(keys); k++) {
			const char *v =
				json_string_value(json_object_get(s, keys[k]));
			const char *p;

			FUZZ_CHECK("haproxy-server-strings", v != NULL,
				   "server %zu has no string '%s' (a NULL for "
				   "every \"%%s\" that prints it)",
				   i, keys[k]);
			for (p = v; *p; p++)
				FUZZ_CHECK("haproxy-printable",
					   *p >= 0x20 && *p < 0x7f,
					   "server %zu's '%s' has byte 0x%02x",
					   i, keys[k], (unsigned char)*p);
		}
	}
	json_decref(servers);
	free(csv);
	return 0;
}
