/*
 * ll_daemon_util: loopledgerd's log line and its key-file rule
 * (ll_daemon_util.h), shared by the serve path and the offline commands.
 */
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>

#include "ll_daemon_util.h"
#include "ll_err.h"

void ll_daemon_logf(const char *fmt, ...)
{
    char ts[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
    fprintf(stderr, "%s loopledgerd: ", ts);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void ll_daemon_log_line(const char *msg)
{
    ll_daemon_logf("%s", msg);
}

/* As the TLS key is: anyone who reads note.key can sign checkpoints in the
 * server's name, and actor.key signs entries as the server actor. */
int ll_daemon_key_file_private(const char *path)
{
    struct stat sb;
    if (stat(path, &sb))
        return LL_OK; /* missing: the caller creates it 0600, or fails reading it */
    if (sb.st_mode & 077) {
        ll_daemon_logf("%s is readable by group or others (mode %03o); refusing to use it. "
                       "Fix: chmod 600 %s",
                       path, (unsigned)(sb.st_mode & 0777), path);
        return LL_ERR_PERMISSION;
    }
    return LL_OK;
}
