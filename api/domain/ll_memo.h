/*
 * ll_memo: answers of derived queries remembered by the tree head they
 * were computed on.
 *
 * Why it is always correct: the ledger is append-only and every derived
 * query reads only entries below some size n (as_of_size, or the size of
 * its read transaction). What it computes from the first n entries can
 * never change, so an answer stored under (query, n, root hash of the
 * first n leaves) is the answer to every later identical query at that
 * size. Nothing is ever invalidated: a new entry makes a new size, hence a
 * new key. The root hash in the key (RFC 9162, O(log n) node reads) makes
 * the key name the content, not just the size, so two ledgers opened in
 * one process (tests, tools) never share an answer.
 *
 * What may be remembered: only values that are a pure function of the
 * query key and the first n entries (never of the clock). Queries whose
 * answer depends on "now" remember their clock-independent part and finish
 * it per request (ll_loophealth.c).
 *
 * The memory is process-wide, thread-safe, bounded (LL_MEMO_MAX_ENTRIES
 * entries, LL_MEMO_MAX_BYTES of values; the least recently used answer is
 * dropped first) and can be switched off (tests compare the remembered
 * answer with the live computation).
 */
#ifndef LL_MEMO_H
#define LL_MEMO_H

#include <stddef.h>
#include <stdint.h>

#include "ll_store.h"

#define LL_MEMO_MAX_ENTRIES 1024
#define LL_MEMO_MAX_BYTES (64u << 20)
/* Longest query key (the caller's bytes, after what, n and the root). */
#define LL_MEMO_KEY_MAX 512

/* A key: what (a short name of the query kind), n, the root of the first
 * n leaves, then the caller's bytes. Build it once per request. */
typedef struct ll_memo_key {
    uint8_t b[16 + 8 + 32 + LL_MEMO_KEY_MAX];
    size_t len;
    uint64_t hash;
} ll_memo_key_t;

/* Builds the key of query `what` (at most 15 characters) with key bytes
 * q[qlen] for the ledger as of its first n entries (n <= the size of txn).
 * LL_ERR_INVALID when what or qlen is too long, LL_ERR_RANGE when n is
 * beyond txn's size, store errors from reading the root. */
int ll_memo_key(ll_txn_t *txn, uint64_t n, const char *what, const void *q, size_t qlen,
                ll_memo_key_t *out);

/* The value stored under k: LL_OK and *val (a malloc'd copy the caller
 * frees) and *vlen; LL_ERR_NOT_FOUND when there is none or the memo is
 * off; LL_ERR_NOMEM. */
int ll_memo_get(const ll_memo_key_t *k, uint8_t **val, size_t *vlen);

/* Stores a copy of val[vlen] under k (replacing an equal key's value).
 * Best effort: a value over a quarter of the budget, the memo being off or
 * an allocation failure store nothing. */
void ll_memo_put(const ll_memo_key_t *k, const void *val, size_t vlen);

/* Switches the memo on (the default) or off. Off, lookups miss and
 * nothing is stored, so every answer is computed live; what is stored
 * stays and is found again once it is back on. */
void ll_memo_enable(int on);

/* Lookups answered and missed since the start (for /metrics and tests). */
void ll_memo_counts(uint64_t *hits, uint64_t *misses);

#endif
