/*
 * ll_peers: counters keyed by a short string (a connection's peer name, a
 * source address), each with a limit, for the server's resource caps:
 * calls in flight per connection (ll_server.c) and connections per source
 * address (ll_accept.c).
 *
 * A key exists only while its count is above zero, so the table holds as
 * many entries as there are live connections or addresses, never the
 * history. Thread-safe (one mutex; each operation is a hash and a short
 * chain walk).
 */
#ifndef LL_PEERS_H
#define LL_PEERS_H

#include <stddef.h>

typedef struct ll_peers ll_peers_t;

/* Creates an empty table. LL_OK or LL_ERR_NOMEM; caller owns *out
 * (ll_peers_free). */
int ll_peers_create(ll_peers_t **out);

/* Frees the table and every entry still in it. NULL is allowed. */
void ll_peers_free(ll_peers_t *p);

/* Adds one to key[len]'s count unless it is already at limit (0 means no
 * limit). Returns 1 when counted (the caller then owes one
 * ll_peers_release of the same key), 0 when refused at the limit, and -1
 * when the entry could not be allocated (nothing counted). *count, when
 * not NULL, receives the count after the call; *refused, when not NULL,
 * how many times the key was refused since its count was last zero. */
int ll_peers_acquire(ll_peers_t *p, const char *key, size_t len, unsigned limit,
                     unsigned *count, unsigned *refused);

/* Takes one off key[len]'s count (which must have been acquired); the
 * entry goes when its count reaches zero. */
void ll_peers_release(ll_peers_t *p, const char *key, size_t len);

/* Number of keys with a count above zero. */
unsigned ll_peers_keys(ll_peers_t *p);

#endif
