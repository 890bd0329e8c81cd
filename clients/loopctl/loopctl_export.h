/*
 * loopctl_export: entries for BI tools (`export`, CSV or JSON lines).
 */
#ifndef LOOPCTL_EXPORT_H
#define LOOPCTL_EXPORT_H

int lc_cmd_export(int argc, char **argv);

#endif
