/*
 * ll_recvbudget: the receive budget for unary request messages: at most
 * max_reads of them being received at once per lane, so gRPC buffers at
 * most that many whole messages; the other calls wait their turn, oldest
 * first, their streams held to the HTTP/2 initial window by flow control
 * (the server turns BDP probing off for that).
 *
 * Lanes: two budgets of the same size, so the small requests of most
 * methods (lane 0) never wait behind big uploads (lane 1, the bulk
 * methods: ll_server_set_bulk).
 *
 * Stale reads: the reads of a lane are kept oldest first; when a call has
 * to wait and the oldest read has lasted longer than stale_ms, that read
 * is handed back once to the caller to cancel, so slow senders cannot hold
 * the budget.
 *
 * The module knows nothing of calls: each call embeds one
 * ll_recvbudget_slot_t, and the caller maps slots back to its calls.
 * Thread-safe: one mutex per budget, never held while calling out except
 * for the hold callback.
 */
#ifndef LL_RECVBUDGET_H
#define LL_RECVBUDGET_H

#include <time.h>

#define LL_RECVBUDGET_LANES 2

/* One call's place in a budget, embedded in the caller's call record and
 * zeroed before its first use. Its fields belong to the budget (changed
 * under its lock); the caller reads only next, in the list that
 * ll_recvbudget_close returns. */
typedef struct ll_recvbudget_slot {
    struct ll_recvbudget_slot *next, **prev; /* in a waiting or reading list */
    int state;     /* 0 none, 1 waiting, 2 reading */
    int cancelled; /* handed back as stale already */
    struct timespec start; /* CLOCK_MONOTONIC: when its read began */
} ll_recvbudget_slot_t;

typedef struct ll_recvbudget ll_recvbudget_t;

/* Runs, with the budget's lock held, on a slot that ll_recvbudget_enter is
 * about to hand back as stale, so the caller can keep its call alive
 * (take a reference) until it has cancelled it. Must not block or call
 * into the budget. */
typedef void (*ll_recvbudget_hold_fn)(ll_recvbudget_slot_t *slot);

/* Creates a budget of max_reads reads at once per lane (at least 1);
 * reads older than stale_ms may be handed back when others wait. LL_OK or
 * LL_ERR_NOMEM; caller owns *out (ll_recvbudget_free). */
int ll_recvbudget_create(unsigned max_reads, long stale_ms, ll_recvbudget_hold_fn hold,
                         ll_recvbudget_t **out);

/* Frees the budget (NULL is allowed). No slot may be in it any more. */
void ll_recvbudget_free(ll_recvbudget_t *b);

/* Asks for lane's budget for slot s (not in the budget yet). Returns 1:
 * s may read now (it owes one ll_recvbudget_leave when its read ends); 0:
 * s waits, and a later ll_recvbudget_leave or ll_recvbudget_close hands it
 * back; LL_ERR_UNAVAILABLE: the budget is closed, s is not in it. On 0,
 * *stale may receive the oldest read of the lane, past stale_ms: hold ran
 * on it, and the caller cancels its read (which then ends and leaves as
 * usual). Otherwise *stale is NULL. */
int ll_recvbudget_enter(ll_recvbudget_t *b, unsigned lane, ll_recvbudget_slot_t *s,
                        ll_recvbudget_slot_t **stale);

/* s's read ended (it had been given the budget; otherwise nothing
 * happens). Returns the oldest waiting slot of the lane, which now holds
 * the budget and must start its read, or NULL. */
ll_recvbudget_slot_t *ll_recvbudget_leave(ll_recvbudget_t *b, unsigned lane,
                                          ll_recvbudget_slot_t *s);

/* Closes the budget (shutdown): later ll_recvbudget_enter calls fail, and
 * no waiting slot is given the budget any more. Returns the slots that
 * were waiting (lane 0 first, each lane oldest first), linked by next and
 * out of the budget, for the caller to end: they never started an
 * operation gRPC could cancel. Reads in progress are not touched. */
ll_recvbudget_slot_t *ll_recvbudget_close(ll_recvbudget_t *b);

#endif
