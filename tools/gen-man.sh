#!/bin/sh
# Generate haprov(1), roff with man(7) macros, on stdout:
#   sh tools/gen-man.sh BINARY README.md > build/haprov.1
# From the binary's help (`BINARY --help`: the usage, the commands; and
# `BINARY CMD --help` for every command listed there: its usage, summary,
# options, and the phase list) and from README.md: its first paragraphs
# (DESCRIPTION), "Exit codes" (EXIT STATUS) and "Inventory reference"
# (INVENTORY: every key of every table as its full path, e.g.
# patroni.dcs.ttl, hosts[].roles, secrets.roles[].name; FILES takes the
# defaults of cluster.state_dir, secrets.store and ssh.known_hosts).
# tests/unit/test_man.c and tests/man.sh check the result. Deterministic:
# no date; the version is the binary's --version.
set -eu
LC_ALL=C
export LC_ALL

if [ $# -ne 2 ]; then
	echo "usage: sh tools/gen-man.sh BINARY README.md" >&2
	exit 64
fi
bin=$1
readme=$2
case $bin in */*) ;; *) bin=./$bin ;; esac
[ -x "$bin" ] || { echo "gen-man.sh: $bin is not executable" >&2; exit 1; }
[ -r "$readme" ] || { echo "gen-man.sh: cannot read $readme" >&2; exit 1; }

tmp=$(mktemp "${TMPDIR:-/tmp}/gen-man.XXXXXX")
trap 'rm -f "$tmp"' EXIT
trap 'exit 130' INT TERM

# One stream for awk: sections introduced by "@@" lines.
{
	echo "@@VERSION"
	"$bin" --version
	echo "@@HELP"
	"$bin" --help
} >"$tmp"
cmds=$(awk '/^commands:/ { on = 1; next } on && /^$/ { exit }
	on && /^  [a-z]/ { print $1 }' "$tmp")
[ -n "$cmds" ] || { echo "gen-man.sh: no commands in $bin --help" >&2; exit 1; }
for c in $cmds; do
	echo "@@CMD $c" >>"$tmp"
	"$bin" "$c" --help >>"$tmp"
done
if grep -q NO_COLOR "$bin"; then
	echo "@@NO_COLOR" >>"$tmp"
fi
echo "@@README" >>"$tmp"
cat "$readme" >>"$tmp"

awk '
# ---- escaping -------------------------------------------------------------

# non-ASCII characters the README uses, as roff glyphs (bytes: LC_ALL=C)
function glyph(s, i) {
	if (substr(s, i, 3) == "\342\200\223") return "\\(en"
	if (substr(s, i, 3) == "\342\200\224") return "\\(em"
	if (substr(s, i, 2) == "\303\227") return "\\(mu"
	if (substr(s, i, 3) == "\342\211\245") return "\\(>="
	if (substr(s, i, 3) == "\342\211\244") return "\\(<="
	if (substr(s, i, 3) == "\342\206\222") return "\\(->"
	return ""
}
function glyphlen(g) {
	if (g == "\\(mu") return 2
	return 3
}
function isalnum(c) { return c ~ /^[A-Za-z0-9]$/ }

# the font for the current state
function font() {
	if (in_code || in_bold) return "\\fB"
	if (in_ital) return "\\fI"
	return "\\fR"
}

# Inline text to roff. md: markdown (`code` and **bold** to bold, *it* to
# italic, \X escapes); else plain help text. A hyphen that is not inside a
# word becomes \-, and so does every later hyphen of its word (options:
# \-\-no\-rollback; negative numbers); so does every hyphen in code.
function inl(s, md,    out, i, n, c, p, nx, g, f0) {
	out = ""
	n = length(s)
	in_code = 0; in_bold = 0; in_ital = 0
	f0 = font()
	for (i = 1; i <= n; i++) {
		c = substr(s, i, 1)
		p = i > 1 ? substr(s, i - 1, 1) : ""
		nx = substr(s, i + 1, 1)
		if (c > "~") {
			g = glyph(s, i)
			if (g != "") {
				out = out g
				i += glyphlen(g) - 1
				continue
			}
			out = out c
			continue
		}
		if (md && c == "`") {
			in_code = !in_code
			if (font() != f0) { f0 = font(); out = out f0 }
			continue
		}
		if (md && !in_code && c == "*" && nx == "*") {
			in_bold = !in_bold
			i++
			if (font() != f0) { f0 = font(); out = out f0 }
			continue
		}
		if (md && !in_code && c == "*" &&
		    ((in_ital && p != " ") || (!in_ital && nx != " " && nx != ""))) {
			in_ital = !in_ital
			if (font() != f0) { f0 = font(); out = out f0 }
			continue
		}
		if (c == "\001") { out = out "|"; continue }
		if (c == "\\") {
			if (md && !in_code && nx ~ /[][\\`*_{}()#+.!|<>-]/) {
				i++
				c = nx
				if (c == "\\") { out = out "\\e"; continue }
				if (c == "-") { out = out "\\-"; continue }
				out = out c
				continue
			}
			out = out "\\e"
			continue
		}
		if (c == "-") {
			if (in_code || !isalnum(p) || !isalnum(nx)) {
				# an option or a number: every hyphen of it
				out = out "\\-"
				while (substr(s, i + 1, 1) ~ /[A-Za-z0-9-]/) {
					i++
					c = substr(s, i, 1)
					out = out (c == "-" ? "\\-" : c)
				}
			} else {
				out = out "-"
			}
			continue
		}
		out = out c
	}
	if (f0 != "\\fR") out = out "\\fR"
	return out
}

# a text line: a leading . or apostrophe would be a request
function line(s) {
	if (s ~ /^[.'\'']/) s = "\\&" s
	print s
}

# a line of a code block, as written
function codeline(s,    out, i, n, c, g) {
	out = ""
	n = length(s)
	for (i = 1; i <= n; i++) {
		c = substr(s, i, 1)
		if (c > "~") {
			g = glyph(s, i)
			if (g != "") { out = out g; i += glyphlen(g) - 1; continue }
		}
		if (c == "\\") c = "\\e"
		else if (c == "-") c = "\\-"
		out = out c
	}
	line(out)
}

# usage text: WORDS in capitals italic, --options bold, the rest roman
function usage(s,    out, i, n, c, w) {
	out = ""
	n = length(s)
	for (i = 1; i <= n; i++) {
		c = substr(s, i, 1)
		if (c ~ /[A-Z]/) {
			w = ""
			while (i <= n && substr(s, i, 1) ~ /[A-Z0-9_]/) {
				w = w substr(s, i, 1); i++
			}
			i--
			out = out "\\fI" w "\\fR"
		} else if (c == "-" && substr(s, i + 1, 1) == "-") {
			w = ""
			while (i <= n && substr(s, i, 1) ~ /[a-z0-9-]/) {
				c = substr(s, i, 1)
				w = w (c == "-" ? "\\-" : c); i++
			}
			i--
			out = out "\\fB" w "\\fR"
		} else if (c == "-") {
			out = out "\\-"
		} else if (c == "\\") {
			out = out "\\e"
		} else {
			out = out c
		}
	}
	return out
}

function trim(s) {
	sub(/^[ \t]+/, "", s)
	sub(/[ \t]+$/, "", s)
	return s
}

function ucfirst(s) { return toupper(substr(s, 1, 1)) substr(s, 2) }

# ---- markdown blocks ------------------------------------------------------

function flush_para() {
	if (para == "") return
	if (para_bullet) {
		print ".IP \\(bu 2"
	} else {
		print ".PP"
	}
	line(inl(para, 1))
	if (para ~ /Each item of `[^`]+`/) {
		item_of = para
		sub(/.*Each item of `/, "", item_of)
		sub(/`.*/, "", item_of)
		item_prefix = last_key_named(item_of)
		if (item_prefix != "") item_prefix = item_prefix "[]"
	} else if (para ~ /Each item:/ && sec_prefix != "") {
		item_prefix = sec_prefix "[]"
	}
	para = ""
	para_bullet = 0
}

# the latest key written whose last part is name
function last_key_named(name,    i, k) {
	for (i = nkeys; i >= 1; i--) {
		k = keys[i]
		if (k == name || substr(k, length(k) - length(name)) == "." name)
			return k
	}
	return ""
}

# split a table row into cells[1..ncells]
function cells_of(s,    n, i) {
	gsub(/\\\|/, "\001", s)
	sub(/^[ \t]*\|/, "", s)
	sub(/\|[ \t]*$/, "", s)
	n = split(s, cells, "|")
	for (i = 1; i <= n; i++) cells[i] = trim(cells[i])
	return n
}

function flush_table(    i, j, n, nh, hdr, w, wrap, keycol, meancol, ks, nk, prefix,
		       tag, full, fmt, row, k, kl) {
	if (ntrows == 0) return
	nh = cells_of(trows[1])
	for (i = 1; i <= nh; i++) hdr[i] = cells[i]
	meancol = 0
	for (i = 1; i <= nh; i++) if (hdr[i] == "meaning") meancol = i
	if (hdr[1] == "key" && meancol) {
		# a key table: one entry per row, under its full path
		prefix = item_prefix != "" ? item_prefix : sec_prefix
		for (j = 3; j <= ntrows; j++) {
			n = cells_of(trows[j])
			kl = cells[1]
			tag = ""
			nk = 0
			while (match(kl, /`[^`]+`/)) {
				k = substr(kl, RSTART + 1, RLENGTH - 2)
				kl = substr(kl, RSTART + RLENGTH)
				full = prefix != "" ? prefix "." k : k
				keys[++nkeys] = full
				ks[++nk] = full
				tag = tag (tag == "" ? "" : ", ") "\\fB" inl(full, 0) "\\fR"
			}
			if (nk == 0) continue
			print ".TP"
			line(tag)
			for (i = 2; i <= n; i++) {
				if (i == meancol || cells[i] == "") continue
				line(ucfirst(hdr[i]) ": " inl(cells[i], 1))
				print ".br"
			}
			line(inl(cells[meancol], 1))
			for (i = 1; i <= nk; i++) {
				kmean[ks[i]] = cells[meancol]
				for (k = 2; k <= n; k++)
					if (hdr[k] == "default") kdef[ks[i]] = cells[k]
			}
		}
	} else if (hdr[1] == "code" && meancol) {
		for (j = 3; j <= ntrows; j++) {
			n = cells_of(trows[j])
			print ".TP"
			line("\\fB" inl(cells[1], 1) "\\fR")
			line(inl(cells[meancol], 1))
		}
	} else {
		# any other table: tbl(1)
		fmt = ""
		row = ""
		for (i = 1; i <= nh; i++) {
			fmt = fmt (i > 1 ? " " : "") "l"
			row = row (i > 1 ? " " : "") "lb"
		}
		print ".PP"
		print ".TS"
		print "tab(\t);"
		print row
		print fmt "."
		# too wide for 80 columns (7 of indent): every cell a text
		# block, which tbl wraps
		for (i = 1; i <= nh; i++) w[i] = 0
		for (j = 1; j <= ntrows; j++) {
			if (j == 2) continue
			n = cells_of(trows[j])
			for (i = 1; i <= nh; i++) {
				k = cells[i]
				gsub(/[`*]/, "", k)
				if (length(k) > w[i]) w[i] = length(k)
			}
		}
		k = 0
		for (i = 1; i <= nh; i++) k += w[i] + 3
		wrap = k > 70
		for (j = 1; j <= ntrows; j++) {
			if (j == 2) continue
			n = cells_of(trows[j])
			row = ""
			for (i = 1; i <= nh; i++) {
				k = inl(cells[i], 1)
				if (k ~ /^[.'\'']/) k = "\\&" k
				if (wrap) k = "T{\n" k "\nT}"
				row = row (i > 1 ? "\t" : "") k
			}
			print row
		}
		print ".TE"
	}
	ntrows = 0
	item_prefix = ""
}

# README lines a..b (exclusive) as man(7)
function md_block(a, b,    i, s, h) {
	para = ""; para_bullet = 0; ntrows = 0; in_fence = 0
	for (i = a; i < b; i++) {
		s = R[i]
		if (in_fence) {
			if (s ~ /^```/) {
				print ".fi"
				print ".RE"
				in_fence = 0
			} else {
				codeline(s)
			}
			continue
		}
		if (s ~ /^\|/) {
			flush_para()
			trows[++ntrows] = s
			continue
		}
		flush_table()
		if (s ~ /^```/) {
			flush_para()
			print ".PP"
			print ".RS 4"
			print ".nf"
			in_fence = 1
		} else if (s ~ /^#+ /) {
			flush_para()
			h = s
			sub(/^#+ +/, "", h)
			print ".SS " (h ~ / / ? "\"" inl(h, 1) "\"" : inl(h, 1))
			sec_prefix = h ~ /^[a-z_][a-z_.]*$/ ? h : ""
			item_prefix = ""
		} else if (s ~ /^[ \t]*$/) {
			flush_para()
		} else if (s ~ /^- /) {
			flush_para()
			para = substr(s, 3)
			para_bullet = 1
		} else {
			para = para (para == "" ? "" : " ") trim(s)
		}
	}
	flush_table()
	flush_para()
	if (in_fence) { print ".fi"; print ".RE" }
}

# the README section "## name": first line and the line after it
function find_section(name,    i) {
	sec_a = 0; sec_b = nr + 1
	for (i = 1; i <= nr; i++) {
		if (R[i] == "## " name) { sec_a = i + 1; continue }
		if (sec_a && R[i] ~ /^## /) { sec_b = i; return 1 }
	}
	return sec_a > 0
}

# ---- input ----------------------------------------------------------------

/^@@/ {
	part = $1
	if (part == "@@CMD") { cmd = $2; cmds[++ncmds] = cmd; cpart[cmd] = "" }
	if (part == "@@NO_COLOR") no_color = 1
	next
}
part == "@@VERSION" { version = $NF; next }
part == "@@HELP" {
	H[++nh] = $0
	next
}
part == "@@CMD" {
	if ($0 ~ /^usage: /) {
		u = $0
		sub(/^usage: haprov [^ ]+ ?/, "", u)
		cusage[cmd] = u
		cpart[cmd] = "summary"
		next
	}
	if ($0 == "options:") { cpart[cmd] = "options"; next }
	if ($0 == "phases, in order:") { cpart[cmd] = "phases"; next }
	if ($0 ~ /^[ \t]*$/) next
	if (cpart[cmd] == "summary") {
		csum[cmd] = csum[cmd] (csum[cmd] == "" ? "" : " ") $0
	} else if (cpart[cmd] == "options") {
		o = $1
		rest = $0
		sub(/^ *[^ ]+ */, "", rest)
		if (rest ~ /^[A-Z][A-Z0-9,.]*( |$)/) {
			o = o " " substr(rest, 1, index(rest " ", " ") - 1)
			sub(/^[^ ]+ */, "", rest)
		}
		nopt[cmd]++
		oname[cmd, nopt[cmd]] = o
		ohelp[cmd, nopt[cmd]] = rest
	} else if (cpart[cmd] == "phases") {
		ph = $1
		rest = $0
		sub(/^ *[^ ]+ */, "", rest)
		if (!(ph in phase_help)) {
			phases[++nphase] = ph
			phase_help[ph] = rest
		}
	}
	next
}
part == "@@README" { R[++nr] = $0; next }

END {
	# main help: usage lines, the one-sentence description
	for (i = 1; i <= nh; i++) {
		if (H[i] ~ /^usage: /) { u1 = H[i]; sub(/^usage: /, "", u1) }
		else if (u1 != "" && u2 == "" && H[i] ~ /^ +haprov /) {
			u2 = trim(H[i])
		} else if (u1 != "" && desc_done == 0 && H[i] != "" &&
			   H[i] !~ /^ /) {
			if (H[i] == "commands:") desc_done = 1
			else desc = desc (desc == "" ? "" : " ") H[i]
		} else if (desc != "" && H[i] == "") desc_done = 1
	}
	name_line = desc
	sub(/\.$/, "", name_line)
	name_line = tolower(substr(name_line, 1, 1)) substr(name_line, 2)

	print "'\''\\\" t"
	print ".\\\" Generated by tools/gen-man.sh from haprov --help and README.md."
	print ".\\\" Do not edit: run make man."
	print ".TH HAPROV 1 \"\" \"haprov " version "\" \"User Commands\""
	print ".SH NAME"
	line("haprov \\- " inl(name_line, 0))

	print ".SH SYNOPSIS"
	print ".nf"
	line(usage(u1))
	if (u2 != "") line(usage(u2))
	for (i = 1; i <= ncmds; i++)
		line(usage("haprov " cmds[i] " " cusage[cmds[i]]))
	print ".fi"

	print ".SH DESCRIPTION"
	for (i = 1; i <= nr && R[i] !~ /^# /; i++) ;
	for (j = i + 1; j <= nr && R[j] !~ /^## /; j++) ;
	md_block(i + 1, j)

	print ".SH OPTIONS"
	print "Global options, given before the command:"
	gopts = u1 " " u2
	ngo = 0
	while (match(gopts, /--[a-z][a-z-]*/)) {
		go = substr(gopts, RSTART, RLENGTH)
		gopts = substr(gopts, RSTART + RLENGTH)
		if (go in seen_go) continue
		seen_go[go] = 1
		print ".TP"
		line("\\fB" inl(go, 0) "\\fR")
		if (go == "--verbose")
			line("Log more: progress details; given twice, debug output too.")
		else if (go == "--quiet")
			line("Log errors only.")
		else if (go == "--help")
			line("Print the usage, the commands and the exit codes, and exit.")
		else if (go == "--version")
			line("Print the version and exit.")
		else
			line("See \\fBhaprov \\-\\-help\\fR.")
	}
	print ".PP"
	line("\\fBhaprov help\\fR \\fICOMMAND\\fR and \\fBhaprov\\fR \\fICOMMAND\\fR \\fB\\-\\-help\\fR print a command'\''s usage and options.")

	print ".SH COMMANDS"
	for (i = 1; i <= ncmds; i++) {
		c = cmds[i]
		print ".SS " c
		line("\\fBhaprov " c "\\fR " usage(cusage[c]))
		print ".PP"
		line(inl(csum[c], 0))
		for (j = 1; j <= nopt[c]; j++) {
			print ".TP"
			o = oname[c, j]
			k = index(o, " ")
			if (k) line("\\fB" inl(substr(o, 1, k - 1), 0) "\\fR \\fI" inl(substr(o, k + 1), 0) "\\fR")
			else line("\\fB" inl(o, 0) "\\fR")
			line(inl(ohelp[c, j], 0))
		}
	}

	if (nphase) {
		print ".SH PHASES"
		line("\\fBapply\\fR runs the phases in this order; \\fBplan\\fR and \\fBapply\\fR take \\fB\\-\\-phase\\fR \\fIP,...\\fR to work on some of them only.")
		for (i = 1; i <= nphase; i++) {
			print ".TP"
			line("\\fB" inl(phases[i], 0) "\\fR")
			line(inl(phase_help[phases[i]], 0))
		}
	}

	print ".SH INVENTORY"
	if (find_section("Inventory reference")) md_block(sec_a, sec_b)
	else { print "gen-man.sh: README.md has no \"## Inventory reference\"" > "/dev/stderr"; bad = 1 }

	print ".SH EXIT STATUS"
	if (find_section("Exit codes")) md_block(sec_a, sec_b)
	else { print "gen-man.sh: README.md has no \"## Exit codes\"" > "/dev/stderr"; bad = 1 }

	if (no_color) {
		print ".SH ENVIRONMENT"
		print ".TP"
		print ".B NO_COLOR"
		print "When set, haprov prints no colours."
	}

	print ".SH FILES"
	nf = split("cluster.state_dir secrets.store ssh.known_hosts", fk, " ")
	for (i = 1; i <= nf; i++) {
		if (!(fk[i] in kdef)) continue
		d = kdef[fk[i]]
		gsub(/`/, "", d)
		print ".TP"
		line("\\fI" inl(d, 0) "\\fR")
		line(inl(kmean[fk[i]], 1) " The default of \\fB" inl(fk[i], 0) "\\fR.")
	}

	print ".SH SEE ALSO"
	print ".BR ssh (1),"
	print ".BR ssh\\-agent (1),"
	print ".BR haproxy (1);"
	print "README.md and docs/architecture.md in haprov'\''s source."
	exit bad
}
' "$tmp"
