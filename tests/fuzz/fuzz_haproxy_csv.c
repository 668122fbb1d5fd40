/*
 * libFuzzer target: the HAProxy stats CSV parser (hp_haproxy_servers),
 * which reads what a stats page answers. Whatever the page says, the
 * result is an array of {backend, server, status} objects whose three
 * members are strings (phases.h), because the verify step prints them.
 */
#include "fuzz.h"

#include "phases.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *csv = fuzz_cstr(data, size);
	json_t *servers = hp_haproxy_servers(csv), *s;
	size_t i;

	FUZZ_CHECK("haproxy-array", json_is_array(servers),
		   "hp_haproxy_servers did not return an array");
	json_array_foreach(servers, i, s)
	{
		static const char *const keys[] = {"backend", "server",
						   "status"};
		size_t k;

		for (k = 0; k < HP_ARRAY_SIZE(keys); k++)
			FUZZ_CHECK("haproxy-server-strings",
				   json_is_string(json_object_get(s, keys[k])),
				   "server %zu has no string '%s' (a NULL for "
				   "every \"%%s\" that prints it)",
				   i, keys[k]);
	}
	json_decref(servers);
	free(csv);
	return 0;
}
