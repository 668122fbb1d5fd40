#!/usr/bin/env bash
# Issue 3, test 3: a managed file changed by hand on one host: plan shows
# the diff and exits 2; apply restores it; the hand-edited content is kept
# in the host's backup directory and in the state repository.
. "$(dirname "$0")/lib.sh"

f=/etc/haproxy/haproxy.cfg
mark="# hand edit $(date +%s%N)"
lab_ssh pg2 "echo '$mark' >> $f"
"$HAPROV" plan "$INV" >"$T_TMP/plan.out" 2>"$T_TMP/plan.err"
rc=$?
cat "$T_TMP/plan.out"
check_eq "plan exits 2 when a file drifted" 2 "$rc"
check "plan shows the diff line removing the hand edit" \
	grep -qF -- "-$mark" "$T_TMP/plan.out"
check "plan names pg2 and $f" grep -qE "pg2 +file $f" "$T_TMP/plan.out"
check "plan changed nothing on the host" lab_ssh pg2 "grep -qF '$mark' $f"
run_haprov "$T_TMP/apply.log" apply "$INV"
rc=$?
grep -E 'changed|failed' "$T_TMP/apply.log" | head
check_eq "apply exits 0" 0 "$rc"
check "the file is restored on pg2" lab_ssh pg2 "! grep -qF '$mark' $f"
# each host's haproxy.cfg binds its own address: compare with what haprov
# renders for pg2 (the file holds no secret, so the render is exact)
"$HAPROV" validate "$INV" --render "$T_TMP/r" >/dev/null 2>&1
check_eq "pg2's file equals its render again" \
	"$(sha256sum < "$T_TMP/r/pg2$f")" "$(lab_ssh pg2 "sha256sum < $f")"
check "the hand edit is in pg2's backup directory" \
	lab_ssh pg2 "grep -lF '$mark' /var/lib/haprov/backups/*$f"
check "the hand edit is in the state repository" \
	bash -c "git -C '$STATE' grep -qF '$mark' HEAD -- backups/"
check "the restore is a rollback point (haproxy)" \
	bash -c "git -C '$STATE' tag -l 'rp/*-haproxy' | grep -q ."
"$HAPROV" plan "$INV" >/dev/null 2>&1
check_eq "plan exits 0 after apply" 0 "$?"
finish
