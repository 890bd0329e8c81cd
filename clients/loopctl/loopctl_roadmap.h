/*
 * loopctl_roadmap: RoadmapService commands (roadmap, readout, loop-health)
 * and the KPI table that `state` prints.
 */
#ifndef LOOPCTL_ROADMAP_H
#define LOOPCTL_ROADMAP_H

#include "loopledger/v1/loop.pb-c.h"

int lc_cmd_roadmap(int argc, char **argv);
int lc_cmd_readout(int argc, char **argv);
int lc_cmd_loop_health(int argc, char **argv);
/* KPIs against their targets, as `state` prints them. */
void lc_print_kpis(const Loopledger__V1__InitiativeState *s);

#endif
