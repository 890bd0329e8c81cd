/*
 * ll_daemon_cmds: loopledgerd's offline commands, those that work on a
 * data directory without serving it: verify, backup and promote. Each may
 * run beside a server on the same directory (LMDB coordinates processes
 * through its lock file); none starts gRPC or listens.
 *
 * Each function is the whole command: it logs what went wrong
 * (ll_daemon_logf), prints its result to stdout, and returns the process's
 * exit code. The options come from ll_daemon_parse_opts(); each command
 * reads only the fields named below and keeps no pointer into them.
 */
#ifndef LL_DAEMON_CMDS_H
#define LL_DAEMON_CMDS_H

#include "ll_daemon_opts.h"

/* loopledgerd verify (--data, --threads): audits every leaf, signature and
 * tree node and the last signed checkpoint (ll_audit.h), then rebuilds
 * every derived table from the entries and compares (ll_derive.h); prints
 * what it checked and OK, or DAMAGED with the first damaged sequence
 * number or table record. Returns 0 intact, 1 damaged, 2 could not audit
 * (no ledger, unreadable or non-private note.key, store or format error). */
int ll_daemon_cmd_verify(const ll_daemon_opts_t *o);

/* loopledgerd backup (--data, --to): a consistent, compacted copy of a
 * possibly live ledger (LMDB's copy reads one snapshot) plus note.key and
 * actor.key into the new directory o->to, which must not exist yet; the
 * copy is a data directory `serve --data` accepts as is. Returns 0 done,
 * 2 without --to, 1 on any other failure. */
int ll_daemon_cmd_backup(const ll_daemon_opts_t *o);

/* loopledgerd promote (--data, --force, --note-key, --actor-key): turns a
 * mirror's data directory into a primary's (ll_mirror_promote), then
 * installs the given keys in place of the mirror's own. With the
 * primary's keys, clients' pinned verifier key and remembered checkpoints
 * keep working; without, clients must pin the new verifier key. Returns 0
 * promoted, 1 on failure. */
int ll_daemon_cmd_promote(const ll_daemon_opts_t *o);

#endif
