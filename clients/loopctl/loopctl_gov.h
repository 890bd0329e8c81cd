/*
 * loopctl_gov: GovernanceService commands (decisions, pending, actor) and
 * the audit bundle (export-audit, and its offline check).
 */
#ifndef LOOPCTL_GOV_H
#define LOOPCTL_GOV_H

int lc_cmd_decisions(int argc, char **argv);
int lc_cmd_pending(int argc, char **argv);
int lc_cmd_actor(int argc, char **argv);
int lc_cmd_export_audit(int argc, char **argv);
/* Offline audit of an export-audit file against a pinned verifier key. */
int lc_cmd_verify_audit(const char *path, const char *vkey);

#endif
