/*
 * ll_accept: connection caps for the gRPC listener, total and per source
 * address, and a way to drop one misbehaving connection.
 *
 * gRPC core 1.51's C API has no connection limit and accepts connections
 * inside its own TCP server (grpc_server_add_channel_from_fd, the only way
 * to hand it a socket, supports insecure credentials only). So this module
 * defines accept4(): the executable's definition comes first in the
 * dynamic symbol lookup, so gRPC's listener calls it instead of libc's (the
 * libc one is found with dlsym(RTLD_NEXT) and does the work). For a socket
 * listening on the configured port it counts the new connection and, beyond
 * a cap, closes it at once and accepts the next one (the listener is
 * non-blocking, so the loop ends at EAGAIN like the plain call); any other
 * listener (the HTTP face) passes straight through.
 *
 * Each accepted socket is remembered by descriptor with its inode, so a
 * connection that gRPC has since closed is recognised (the descriptor is
 * gone or names another file) without hooking close(): the table is swept
 * only when a cap would refuse, so counts are exact when they matter and
 * the common accept costs one getsockname and one getpeername.
 */
#ifndef LL_ACCEPT_H
#define LL_ACCEPT_H

#define LL_ACCEPT_DEFAULT_TOTAL 4096     /* connections, whole listener */
#define LL_ACCEPT_DEFAULT_PER_ADDR 256   /* connections per source address */

/* Starts counting connections accepted on sockets bound to port: at most
 * total at once (0: LL_ACCEPT_DEFAULT_TOTAL) and per_addr from one source
 * address (0: LL_ACCEPT_DEFAULT_PER_ADDR). Call after the port is bound
 * and before connections are accepted (between grpc_server_add_http2_port
 * and grpc_server_start). One listener per process; LL_OK or
 * LL_ERR_NOMEM. */
int ll_accept_limit(int port, unsigned total, unsigned per_addr);

/* Stops counting (the server is going away); accepts pass through. */
void ll_accept_unlimit(void);

/* Shuts down (shutdown(2), the owner still closes it) the counted
 * connection whose peer is grpc_peer, in gRPC's notation
 * ("ipv4:127.0.0.1:5555", "ipv6:[::1]:5555"). Returns 1 when one was
 * found, else 0. Used when a connection ignores the HTTP/2 limits. */
int ll_accept_drop_peer(const char *grpc_peer);

/* Connections counted now and refused so far (for metrics and tests). */
unsigned ll_accept_open(void);
unsigned long ll_accept_refused(void);

#endif
