/*
 * loopctl_loop: LoopService commands (state, lineage, open-loops) and the
 * link table (relations).
 */
#ifndef LOOPCTL_LOOP_H
#define LOOPCTL_LOOP_H

#include <stdint.h>

/* Asks LoopService whether seq is superseded: 1 (and *by), 0 when it is
 * not, -1 when the server cannot say (the caller then says nothing). */
int lc_superseded(uint64_t seq, uint64_t *by);
int lc_cmd_state(int argc, char **argv);
int lc_cmd_lineage(int argc, char **argv);
int lc_cmd_open_loops(int argc, char **argv);
/* The link table (source kind, relation, target kinds), from the server's
 * own definition. */
int lc_cmd_relations(int argc, char **argv);

#endif
