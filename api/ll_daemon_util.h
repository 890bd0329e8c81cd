/*
 * ll_daemon_util: what loopledgerd's serve path (loopledgerd.c) and its
 * offline commands (ll_daemon_cmds.c) both need: the log line and the rule
 * for the server's secret key files. One home for each, so that every
 * command logs the same way and refuses a readable key the same way.
 */
#ifndef LL_DAEMON_UTIL_H
#define LL_DAEMON_UTIL_H

/* Writes one line to stderr: "<UTC time> loopledgerd: <message>\n", the
 * message formatted as by printf. Never give it a secret. */
void ll_daemon_logf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ll_daemon_logf("%s", msg): the shape of the log callbacks the libraries
 * take (ll_mirror_config_t.log_fn, ll_publish_start, ...). */
void ll_daemon_log_line(const char *msg);

/* A server's secret key file (note.key, actor.key) must be readable by its
 * owner only. Returns LL_OK when the file at path is private or does not
 * exist; LL_ERR_PERMISSION, logged with the command that fixes it, when
 * group or others may read it. */
int ll_daemon_key_file_private(const char *path);

#endif
