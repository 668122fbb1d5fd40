# shellcheck shell=bash
# Bash completion for haprov.
#
#   . completion/haprov.bash     (or install it as
#                                 /usr/share/bash-completion/completions/haprov)
#
# Completes the command, each command's options, --phase (a comma-separated
# list: the part after the last comma), --host and switchover's --to (the
# inventory's hosts), rollback's --to (the rollback points of `haprov
# history`), rotate's ROLEs, --kind, --color, and file names (*.yml, *.yaml
# and directories) where an inventory is expected.
#
# The command and option lists below are static (no process is started to
# complete them) and must match `haprov --help` and `haprov COMMAND --help`:
# tests/completion.sh fails when they drift apart, and
# `bash tests/completion.sh --print-lists` prints them as the binary has them.
#
# Values that come from the inventory or the state repository are asked of
# the haprov being completed (COMP_WORDS[0], when it is an executable file;
# else `haprov` on PATH), under `timeout 5`, stdin from /dev/null and stderr
# discarded. Their output is parsed with awk; only plain names
# ([A-Za-z0-9._+-], rollback tags rp/N-phase) are offered, and no text read
# from the inventory, the state repository or haprov is ever evaluated or
# given to `compgen -W` (which expands its words).

_haprov_commands='validate plan apply history rollback rotate switchover drill status'
_haprov_global_opts='--verbose --quiet --color --help --version'
_haprov_phases='etcd patroni pgbouncer haproxy vip secrets extensions tuning'
_haprov_drill_kinds='switchover postgres-kill crash'
# the built-in roles `haprov rotate` takes besides secrets.roles
_haprov_rotate_roles='superuser replication rewind restapi'

# Each command's options, as its --help lists them; "=" marks an option
# that takes an argument (--phase P,... is "--phase=").
_haprov_cmd_opts() {
	case $1 in
	validate) echo '--print --render=' ;;
	plan) echo '--phase= --host= --parallel= --accept-new-host-keys --json' ;;
	apply) echo '--phase= --host= --parallel= --accept-new-host-keys --json --no-rollback --allow-remove' ;;
	history) echo '' ;;
	rollback) echo '--to= --parallel= --accept-new-host-keys --json' ;;
	rotate) echo '--accept-new-host-keys --ca' ;;
	switchover) echo '--to= --accept-new-host-keys' ;;
	drill) echo '--kind= --count= --no-drain --json --yes --accept-new-host-keys' ;;
	status) echo '--json --watch' ;;
	esac
}

# _haprov_dequote WORD: WORD as the shell would pass it (quotes and
# backslashes removed, a leading ~/ made $HOME/), in _haprov_reply. No
# expansion of any kind: "$(...)" stays text.
_haprov_dequote() {
	local s=$1 out='' c q='' n i
	n=${#s}
	for ((i = 0; i < n; i++)); do
		c=${s:i:1}
		if [[ $q == "'" ]]; then
			if [[ $c == "'" ]]; then q=''; else out+=$c; fi
		elif [[ $q == '"' ]]; then
			if [[ $c == '"' ]]; then
				q=''
			elif [[ $c == "\\" ]] && ((i + 1 < n)) &&
				[[ ${s:i+1:1} == [\"\\\$\`] ]]; then
				i=$((i + 1))
				out+=${s:i:1}
			else
				out+=$c
			fi
		else
			case $c in
			"'" | '"') q=$c ;;
			"\\")
				if ((i + 1 < n)); then
					i=$((i + 1))
					out+=${s:i:1}
				fi
				;;
			*) out+=$c ;;
			esac
		fi
	done
	# shellcheck disable=SC2088 # a literal ~ is what is looked for
	if [[ $out == '~' || $out == '~/'* ]]; then
		out=${HOME-}${out:1}
	fi
	_haprov_reply=$out
}

# _haprov_add PREFIX CUR WORD...: each WORD that starts with CUR, as
# PREFIX+WORD, onto COMPREPLY (a literal match: no word is expanded)
_haprov_add() {
	local prefix=$1 cur=$2 w
	shift 2
	for w in "$@"; do
		[[ -n $w && $w == "$cur"* ]] && COMPREPLY+=("$prefix$w")
	done
}

# _haprov_list CUR WORD...: for a comma-separated list (--phase, --host):
# completes the part after the last comma, leaving out what the list
# already holds
_haprov_list() {
	local cur=$1 prefix='' part w
	local -a left=()
	shift
	if [[ $cur == *,* ]]; then
		prefix=${cur%,*},
		part=${cur##*,}
	else
		part=$cur
	fi
	for w in "$@"; do
		[[ ",$prefix" == *",$w,"* ]] || left+=("$w")
	done
	_haprov_add "$prefix" "$part" "${left[@]}"
}

# _haprov_files CUR [dirs]: inventory files (*.yml, *.yaml) and
# directories, or directories alone, whose path starts with CUR (literal:
# only the trailing * is a pattern)
_haprov_files() {
	local cur f nullglob=0 failglob=0
	_haprov_dequote "$1"
	cur=$_haprov_reply
	shopt -q nullglob && nullglob=1
	shopt -q failglob && failglob=1
	shopt -s nullglob
	shopt -u failglob
	for f in "$cur"*; do
		if [[ -d $f ]]; then
			COMPREPLY+=("$f")
		elif [[ ${2-} != dirs && ($f == *.yml || $f == *.yaml) ]]; then
			COMPREPLY+=("$f")
		fi
	done
	((nullglob)) || shopt -u nullglob
	((failglob)) && shopt -s failglob
	# let bash quote the names and mark directories (only possible while
	# readline runs the completion)
	compopt -o filenames 2>/dev/null
	return 0
}

# The haprov to ask: the one being completed, else haprov on PATH; and
# timeout. Empty (nothing is asked) when either is missing.
_haprov_bin() {
	local b
	_haprov_reply=''
	type -P timeout >/dev/null 2>&1 || return 1
	_haprov_dequote "${COMP_WORDS[0]-}"
	b=$_haprov_reply
	if [[ $b == */* && -f $b && -x $b ]]; then
		_haprov_reply=$b
	elif b=$(type -P haprov 2>/dev/null) && [[ -n $b ]]; then
		_haprov_reply=$b
	else
		return 1
	fi
}

# _haprov_inv_names INVENTORY WHAT: names from `haprov validate INVENTORY
# --print`, one a line: WHAT is hosts (hosts[].name), patroni (the hosts
# with role patroni, not marked remove) or roles (secrets.roles[].name).
_haprov_inv_names() {
	_haprov_bin || return 0
	# a name starting with "-" would be taken for an option
	[[ -n $1 && $1 != -* ]] || return 0
	timeout 5 "$_haprov_reply" validate "$1" --print </dev/null 2>/dev/null |
		awk -v what="$2" '
		function flush() {
			if (name != "" && name ~ /^[A-Za-z0-9][A-Za-z0-9._+-]*$/ &&
			    (what != "patroni" ||
			     (roles ~ /(^|,)patroni(,|$)/ && remove != "true")))
				print name
			name = ""; roles = ""; remove = ""; inroles = 0
		}
		# a top-level key starts a section
		/^[A-Za-z_]/ { flush(); sect = $0; sub(/:.*/, "", sect); sub2 = ""; next }
		sect == "hosts" && (what == "hosts" || what == "patroni") {
			if ($0 ~ /^  - /) { flush(); line = substr($0, 5) }
			else if ($0 ~ /^    [a-z_]+:/) { inroles = 0; line = substr($0, 5) }
			else if (inroles && $0 ~ /^      - /) {
				roles = roles "," substr($0, 9); next
			} else next
			if (line ~ /^name: /) name = substr(line, 7)
			else if (line ~ /^remove: /) remove = substr(line, 9)
			else if (line ~ /^roles: *\[/) {
				r = line; sub(/^roles: *\[/, "", r); sub(/\].*/, "", r)
				gsub(/ /, "", r); roles = r
			} else if (line ~ /^roles: *$/) inroles = 1
			next
		}
		sect == "secrets" && what == "roles" {
			if ($0 ~ /^  [a-z_]+:/) { flush(); sub2 = substr($0, 3); sub(/:.*/, "", sub2); next }
			if (sub2 != "roles") next
			if ($0 ~ /^    - name: /) { flush(); name = substr($0, 13) }
			next
		}
		END { flush() }'
}

# _haprov_points INVENTORY: the rollback point tags of `haprov history`
# (lines "rp/3-patroni       2026-03-01 10:15:00Z  0123456789ab  summary",
# newest first; the lines under each start with spaces)
_haprov_points() {
	_haprov_bin || return 0
	[[ -n $1 && $1 != -* ]] || return 0
	timeout 5 "$_haprov_reply" history "$1" </dev/null 2>/dev/null |
		awk '$1 ~ /^rp\/[1-9][0-9]*-[a-z0-9_-]+$/ { print $1 }'
}

# whether the haprov being completed knows --color (its --help says so)
_haprov_has_color() {
	_haprov_bin || return 1
	timeout 5 "$_haprov_reply" --help </dev/null 2>/dev/null |
		grep -q -e '--color'
}

_haprov() {
	local cur opt='' cmd='' inv='' w o i j npos=0 cword=$COMP_CWORD
	local _haprov_reply='' cmdopts='' eqprefix=''
	local -a names=() pos=()
	COMPREPLY=()
	cur=${COMP_WORDS[cword]-}

	# "--phase=et": COMP_WORDBREAKS splits it into "--phase" "=" "et"
	if [[ $cur == '=' ]] && ((cword >= 2)); then
		opt=${COMP_WORDS[cword - 1]}
		cur=''
	elif ((cword >= 3)) && [[ ${COMP_WORDS[cword - 1]} == '=' ]]; then
		opt=${COMP_WORDS[cword - 2]}
	fi
	[[ $opt == --* ]] || opt=''
	# "--phase=et" as one word (an "=" not in COMP_WORDBREAKS)
	if [[ -z $opt && $cur == --*=* ]]; then
		opt=${cur%%=*}
		eqprefix=$opt=
		cur=${cur#*=}
	fi

	# the command, and the positional words before the cursor: the first
	# one is the inventory
	for ((i = 1; i < cword; i++)); do
		w=${COMP_WORDS[i]}
		if [[ -z $cmd ]]; then
			[[ $w == -* ]] || cmd=$w
			[[ -n $cmd ]] && cmdopts=" $(_haprov_cmd_opts "$cmd") "
			continue
		fi
		[[ $cmd == help ]] && { pos+=("$w"); continue; }
		if [[ $w == -- ]]; then
			for ((i++; i < cword; i++)); do pos+=("${COMP_WORDS[i]}"); done
			break
		fi
		if [[ $w == --* ]]; then
			# "--opt" "=" "value": skip the value
			if ((i + 1 < cword)) && [[ ${COMP_WORDS[i + 1]} == '=' ]]; then
				i=$((i + 1))
				((i + 1 < cword)) && i=$((i + 1))
			elif [[ $cmdopts == *" $w= "* ]]; then
				i=$((i + 1))
			fi
			continue
		fi
		[[ $w == -* || $w == '=' ]] && continue
		pos+=("$w")
	done
	npos=${#pos[@]}
	if ((npos)); then
		_haprov_dequote "${pos[0]}"
		[[ -f $_haprov_reply ]] && inv=$_haprov_reply
	fi

	# the value of an option
	if [[ -z $opt && -n $cmd ]] && ((cword >= 2)); then
		w=${COMP_WORDS[cword - 1]}
		[[ $w == --* && $cmdopts == *" $w= "* ]] && opt=$w
		[[ $w == --color ]] && opt=$w
	fi
	if [[ -n $opt ]]; then
		case $cmd:$opt in
		*:--phase)
			# shellcheck disable=SC2086 # a static list of words
			_haprov_list "$cur" $_haprov_phases
			;;
		*:--host)
			mapfile -t names < <(_haprov_inv_names "$inv" hosts)
			_haprov_list "$cur" "${names[@]}"
			;;
		rollback:--to)
			mapfile -t names < <(_haprov_points "$inv")
			_haprov_add '' "$cur" "${names[@]}"
			;;
		switchover:--to)
			mapfile -t names < <(_haprov_inv_names "$inv" patroni)
			_haprov_add '' "$cur" "${names[@]}"
			;;
		drill:--kind)
			# shellcheck disable=SC2086 # a static list of words
			_haprov_add '' "$cur" $_haprov_drill_kinds
			;;
		*:--render)
			_haprov_files "$cur" dirs
			;;
		*:--color)
			_haprov_has_color && _haprov_add '' "$cur" never auto always
			;;
		esac
		if [[ -n $eqprefix ]]; then
			for i in "${!COMPREPLY[@]}"; do
				COMPREPLY[i]=$eqprefix${COMPREPLY[i]}
			done
		fi
		return 0
	fi

	# the command, or options before it
	if [[ -z $cmd ]]; then
		if [[ $cur == -* ]]; then
			# shellcheck disable=SC2086 # a static list of words
			_haprov_add '' "$cur" $_haprov_global_opts
		else
			# shellcheck disable=SC2086 # a static list of words
			_haprov_add '' "$cur" $_haprov_commands help
		fi
		return 0
	fi
	if [[ $cmd == help ]]; then
		# shellcheck disable=SC2086 # a static list of words
		((npos)) || _haprov_add '' "$cur" $_haprov_commands
		return 0
	fi
	[[ " $_haprov_commands " == *" $cmd "* ]] || return 0

	if [[ $cur == -* ]]; then
		for o in $cmdopts; do
			o=${o%=}
			# an option given already is not offered again
			for ((j = 1; j < cword; j++)); do
				[[ ${COMP_WORDS[j]} == "$o" ]] && continue 2
			done
			names+=("$o")
		done
		_haprov_add '' "$cur" "${names[@]}"
		return 0
	fi
	if ((npos == 0)); then
		_haprov_files "$cur"
		return 0
	fi
	if [[ $cmd == rotate ]]; then
		mapfile -t names < <(_haprov_inv_names "$inv" roles)
		# shellcheck disable=SC2086 # a static list of words
		for w in "${names[@]}" $_haprov_rotate_roles; do
			for ((j = 1; j < npos; j++)); do
				[[ ${pos[j]} == "$w" ]] && continue 2
			done
			_haprov_add '' "$cur" "$w"
		done
		return 0
	fi
	# after the inventory: the options
	for o in $cmdopts; do
		_haprov_add '' "$cur" "${o%=}"
	done
	return 0
}

complete -F _haprov haprov
