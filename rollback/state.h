#ifndef HP_STATE_H
#define HP_STATE_H
/*
 * The local state repository: one git repository per cluster (default
 * ".haprov/<cluster>/" beside the inventory), managed with libgit2.
 *
 * Layout of a commit's tree (always the FULL state, not a delta):
 *   hosts/<host>/<remote path>   managed files as they now are on the host
 *   hosts/<host>/<path>.sha256   files that hold secrets: sha256 only
 *   patroni/dcs.json             Patroni's dynamic configuration
 *   runs/<run-id>.json           the record of the run that made the commit
 *
 * A rollback point is a commit made with a run record; it is tagged
 * "rp/<n>-<phase>" (lightweight tag, n = 1, 2, 3... across the repository)
 * and its first parent is the state before it. Any point name the
 * functions below take may be such a tag, its number alone ("3"), a
 * commit id (or unique prefix), "HEAD", or any git revision ("rp/3-etcd~1",
 * "HEAD^").
 *
 * Why bare, with an in-memory working set: nobody can edit a checkout by
 * mistake and have it committed, and staging never touches the disk. On
 * open, the working set is HEAD's tree; put/remove change it; commit
 * writes it as a new tree on top of HEAD. The plain git CLI reads the
 * repository ("git -C DIR log", "git -C DIR show rp/2-patroni:patroni/
 * dcs.json"). The repository carries "haprov.state = true" in its config;
 * any other git repository is refused, so a mistyped path never commits
 * into someone's project.
 *
 * Secrets: no secret value is ever written here. Use
 * hp_state_put_secret_hash for any file that holds one.
 *
 * Threads: every function takes the state's mutex, so host workers may
 * stage files in parallel; they serialise. git_libgit2_init() must have
 * been called once, in main, before (unit tests call it themselves).
 *
 * libgit2's error text is kept in err->msg.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct hp_state; /* opaque */

/*
 * Open the state repository in dir, creating it (mkdir -p, mode 0700, bare
 * git init with branch "main") when dir is missing or empty. A directory
 * that is neither empty nor a haprov state repository is refused
 * (HP_EINVALID). *out is freed by the caller with hp_state_free.
 */
int hp_state_open(struct hp_state **out, const char *dir, struct hp_err *err);
/*
 * Whether dir holds a haprov state repository with at least one commit,
 * creating and changing nothing (plan writes nothing): a missing or empty
 * dir is false. A dir that is not a haprov state repository is refused
 * (HP_EINVALID), as hp_state_open does.
 */
int hp_state_peek(const char *dir, bool *has_commits, struct hp_err *err);

/* Free; staged changes not committed are dropped. NULL is fine. */
void hp_state_free(struct hp_state *s);

/*
 * The repository path of a file on a host: "hosts/<host>/<remote path>"
 * with the remote path's leading slashes dropped. Caller frees.
 */
char *hp_state_host_path(const char *host, const char *remote_path);

/*
 * Stage a file's content (bytes, any) at path, relative to the repository
 * root ("hosts/pg1/etc/patroni/config.yml"). Paths are plain: no leading
 * or trailing '/', no empty, "." , ".." or ".git" components; a file
 * cannot also be a directory (HP_EINVALID).
 */
int hp_state_put(struct hp_state *s, const char *path, const void *data,
		 size_t len, struct hp_err *err);

/*
 * Record a file that holds secrets by hash only: stages "<path>.sha256"
 * holding "<sha256 hex>\n" and removes any plain "<path>". The content
 * itself never reaches the repository, not even as an unreferenced object.
 */
int hp_state_put_secret_hash(struct hp_state *s, const char *path,
			     const void *data, size_t len, struct hp_err *err);

/* Unstage path: a file, or a directory with everything under it. Removing
 * what does not exist is not an error. */
int hp_state_remove(struct hp_state *s, const char *path, struct hp_err *err);

/*
 * Replace the working set with the state at point (NULL: HEAD, or empty
 * when there is no commit yet): drops staged changes, or prepares a
 * restore that the next commit records.
 */
int hp_state_reset(struct hp_state *s, const char *point, struct hp_err *err);

/* What a rollback point records about the run that made it. */
struct hp_state_run {
	const char *id;	    /* run id, [A-Za-z0-9._-]: names runs/<id>.json
			       (see hp_state_run_id) */
	const char *phase;  /* "etcd", "patroni", ..., "rollback": names the
			       tag; [a-z0-9_-] */
	const char *result; /* "ok", "failed", "rolled-back", ... */
	const char *inventory_sha256; /* hex, may be NULL */
	const char *const *items;     /* what changed, in the caller's words
					 ("pg1: loop_wait 10 -> 5"); may be
					 NULL when nr_items is 0 */
	size_t nr_items;
};

/*
 * Commit the working set on top of HEAD.
 *
 * If the working set equals HEAD's tree, no commit is made: returns 0 with
 * *out_committed false and *out_point NULL.
 *
 * Otherwise, with run non-NULL, first adds runs/<run->id>.json:
 *   { "run_id", "phase", "result", "who": "user@hostname",
 *     "when": "2026-03-01T10:15:00Z" (UTC), "inventory_sha256",
 *     "point": "rp/<n>-<phase>", "haprov_version",
 *     "items": [caller's items], "files": [{"path", "change":
 *     "added"|"modified"|"deleted"}] (vs HEAD, the record itself excluded) }
 * (a later phase of the same run overwrites the file: each commit holds the
 * record of the phase that made it), commits, and tags the commit
 * "rp/<n>-<phase>". With run NULL the commit is plain, with no record and
 * no tag.
 *
 * message (NULL: "<phase>: <result>") is the commit's first line; run
 * fields are appended as trailers. Author and committer are
 * "haprov <haprov@localhost>"; the real user is in the run record.
 * *out_point (may be NULL) gets the tag name, caller frees; NULL when no
 * tag was made. On error the working set is kept and no commit was made,
 * except when only the tag failed ("committed, but cannot tag"):
 * *out_committed is then true.
 */
int hp_state_commit(struct hp_state *s, const char *message,
		    const struct hp_state_run *run, bool *out_committed,
		    char **out_point, struct hp_err *err);

/*
 * A fresh run id: "<UTC yyyymmddThhmmssZ>-<pid>", e.g.
 * "20260301T101500Z-4242"; also good for host backup directories.
 */
void hp_state_run_id(char *out, size_t len);

/* Commit id (40 hex + NUL) a point names. HP_ENOTFOUND if none. */
int hp_state_resolve(struct hp_state *s, const char *point, char out[41],
		     struct hp_err *err);

/*
 * Append the content of path as of point to out. point NULL reads the
 * working set (staged changes included). HP_ENOTFOUND when the point or
 * the file does not exist (a directory is not a file).
 */
int hp_state_read(struct hp_state *s, const char *point, const char *path,
		  struct hp_buf *out, struct hp_err *err);

/* A list of repository paths; caller releases. */
struct hp_state_paths {
	char **items;
	size_t nr, alloc;
};
void hp_state_paths_release(struct hp_state_paths *p);

/*
 * Files at or under prefix (a directory: "hosts/pg1"; NULL or "" for all)
 * as of point (NULL: the working set), appended to out, sorted. Not
 * finding any is not an error; an unknown point is HP_ENOTFOUND.
 */
int hp_state_list(struct hp_state *s, const char *point, const char *prefix,
		  struct hp_state_paths *out, struct hp_err *err);

/* One rollback point, as hp_state_history gives it. */
struct hp_state_point {
	char *tag;	 /* "rp/3-patroni" */
	unsigned n;	 /* 3 */
	char *phase;	 /* "patroni" */
	char commit[41]; /* hex commit id */
	char parent[41]; /* the state before ("" for the first commit) */
	int64_t time;	 /* commit time, seconds since the epoch */
	char *summary;	 /* the commit message's first line */
	char *body;       /* the rest of the message ("" if none) */
};

/* Rollback points, newest (highest n) first. *out is freed by the caller
 * with hp_state_points_free; *out is NULL when there are none. */
int hp_state_history(struct hp_state *s, struct hp_state_point **out,
		     size_t *nr, struct hp_err *err);
void hp_state_points_free(struct hp_state_point *p, size_t nr);

/* HEAD's commit id; HP_ENOTFOUND before the first commit. */
int hp_state_head(struct hp_state *s, char out[41], struct hp_err *err);

#endif
