/*
 * ll_listen: what a listen address really names, and process limits a
 * server asks for at start.
 *
 * A plaintext listener must be loopback-only. Checking the text of the
 * address ("127." prefix) is not enough: a host name can start with "127."
 * and resolve to 0.0.0.0. ll_listen_loopback() resolves the address and
 * checks every address it names, then hands back the numeric form, so the
 * socket gRPC binds is the one that was checked (no second resolution).
 */
#ifndef LL_LISTEN_H
#define LL_LISTEN_H

#include <stddef.h>

/* listen: "host:port", "[v6addr]:port", optionally prefixed "ipv4:" or
 * "ipv6:" (gRPC URI schemes). On LL_OK every address host resolves to is
 * a loopback address (127.0.0.0/8, ::1, ::ffff:127.0.0.0/104) and out[cap]
 * holds the first of them numerically ("127.0.0.1:7600", "[::1]:7600").
 * LL_ERR_PERMISSION when one is not loopback, LL_ERR_INVALID when the
 * address does not parse or resolve; msg[mcap] says which and why. */
int ll_listen_loopback(const char *listen, char *out, size_t cap, char *msg, size_t mcap);

/* Raises the soft RLIMIT_NOFILE to the hard limit (every connection costs
 * a descriptor; the inherited soft limit is often 1024). *now receives the
 * resulting soft limit. LL_OK, or LL_ERR_IO if getrlimit/setrlimit fail. */
int ll_listen_raise_nofile(unsigned long *now);

#endif
