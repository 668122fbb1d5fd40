/*
 * The drill section: drill.crash_command and drill.boot_command, shell
 * command templates `haprov drill` runs on the machine running haprov.
 * Each is checked by the same walk that expands it (drill_template.c);
 * across the two, a drill that can crash a host must be able to bring it
 * back, and one that cannot crash has nothing to bring back: both or
 * neither.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "inventory.h"
#include "inventory_priv.h"

bool hp_inv_check_drill_command(const char *s, struct hp_buf *why)
{
	struct hp_err err;
	unsigned cp;
	char esc[12];
	const char *p;

	/* first any control character, tab and Unicode line breaks too:
	 * shown as the other one-line values show them */
	for (p = s; *p;) {
		p += hp_inv_utf8_char(p, &cp);
		if (cp != '\t' && !hp_inv_is_ctl(cp))
			continue;
		hp_buf_addf(why, "a drill command cannot %s (it holds %s)",
			    hp_inv_is_line_break(cp)
				    ? "span lines"
				    : "hold control characters",
			    hp_inv_char_escape(cp, esc));
		return false;
	}
	hp_err_clear(&err);
	if (hp_drill_template_check(s, &err) == 0)
		return true;
	hp_buf_adds(why, err.msg);
	return false;
}

void hp_inv_check_drill(struct hp_inventory *inv, struct hp_inv_loader *ld)
{
	static const char *const crash = "drill.crash_command",
				 *const boot = "drill.boot_command";
	bool c = inv->drill.crash_command != NULL,
	     b = inv->drill.boot_command != NULL;

	if (c == b || hp_inv_is_bad(ld, crash) || hp_inv_is_bad(ld, boot))
		return;
	hp_inv_diag_key(ld, c ? crash : boot,
		 "a drill needs both crash_command and boot_command (one "
		 "crashes a host, the other brings it back): set %s too, or "
		 "neither",
		 c ? boot : crash);
}
