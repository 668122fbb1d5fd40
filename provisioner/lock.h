#ifndef HP_LOCK_H
#define HP_LOCK_H
/*
 * The per-cluster lock: one haprov run at a time changes a cluster.
 *
 * The lock file is "<state_dir>.lock", beside the state repository
 * (".haprov/<cluster>.lock" by default), outside it so that it never
 * shows in the repository. It is held with flock(LOCK_EX | LOCK_NB): the
 * kernel drops the lock when the holder's process dies, so a crash or
 * SIGKILL never leaves a stale lock and there is nothing to clean up. The
 * file's content (pid, user@host, command, start time) is only there to
 * name the holder in the refusal message; it is not what locks.
 *
 * The file is never unlinked: a process that opened it just before the
 * unlink would lock an orphaned inode while a third one creates and locks
 * a new file, and two runs would hold "the" lock.
 *
 * flock locks belong to the open file: a child that fork()s without exec
 * keeps it held while it lives (the descriptor is close-on-exec). A lock
 * on NFS is only as good as the server's lock support.
 */
#include "util.h"

struct hp_lock; /* opaque */

/*
 * Take the cluster lock for state_dir (the parent directory is created if
 * missing). what names the command holding it ("apply", "rollback").
 * HP_ELOCKED when another run holds it, with err->msg naming the holder:
 * "cluster is locked by pid 1234 (apply by alice@ctl, started
 * 2026-03-01T10:15:00Z); lock file '.haprov/c1.lock'". *out is released
 * by the caller with hp_lock_release.
 */
int hp_lock_acquire(struct hp_lock **out, const char *state_dir,
		    const char *what, struct hp_err *err);

/* Release and free; NULL is fine. */
void hp_lock_release(struct hp_lock *l);

/* The lock file's path (borrowed from l). */
const char *hp_lock_path(const struct hp_lock *l);

#endif
