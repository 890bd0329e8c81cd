/*
 * ll_scale_cmd: loopledgerd subcommands beyond one machine, each a main()
 * of its own (argv[0] is the subcommand name). Exit codes: 0 ok, 1 failed,
 * 2 usage.
 */
#ifndef LL_SCALE_CMD_H
#define LL_SCALE_CMD_H

/* `witness` and `witness-key` (ll_witness_cmd.c). */
int ll_witness_cmd(int argc, char **argv);

#endif
