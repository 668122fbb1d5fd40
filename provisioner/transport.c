/* The parts of the transport contract that every implementation shares. */
#include "transport.h"

/*
 * The cap on each of a command's stdout and stderr. The engine reads
 * configuration files, package lists and JSON through exec; none comes
 * near this, and a runaway remote command must not exhaust our memory.
 */
#ifndef HP_EXEC_OUTPUT_MAX
#define HP_EXEC_OUTPUT_MAX ((size_t)16 * 1024 * 1024)
#endif

void hp_exec_result_init(struct hp_exec_result *r)
{
	r->exit_code = -1;
	hp_buf_init(&r->out, HP_EXEC_OUTPUT_MAX);
	hp_buf_init(&r->errout, HP_EXEC_OUTPUT_MAX);
}

void hp_exec_result_release(struct hp_exec_result *r)
{
	if (!r)
		return;
	hp_buf_release(&r->out);
	hp_buf_release(&r->errout);
	r->exit_code = -1;
}
