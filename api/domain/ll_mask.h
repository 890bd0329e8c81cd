/*
 * ll_mask: the meaning of EntryBody.update_mask (entry.proto, UpdateMask),
 * AIP-134 field-mask semantics for the long-lived records.
 *
 * Long-lived records are an Initiative charter, a RoadmapProject and a
 * Policy (ll_mask_is_record). An entry of one of these kinds that carries
 * an update_mask is a PATCH of the record its FOLLOWS link points at:
 *   - a path names a field of the kind's message (snake_case, as in
 *     domain.proto / entry.proto); the record kinds have no singular
 *     nested message today, so every valid path is a top-level field name;
 *   - a named field is taken from the patch, whatever its value: a named
 *     field that is unset or default in the patch is CLEARED (the one way
 *     to clear a field); a repeated field is replaced whole;
 *   - every field not named carries over from the earlier effective record;
 *   - ["*"] alone means full replacement by the patch;
 *   - a mask with no paths, an unknown path, or a mask on another kind is
 *     refused (LL_ERR_INVALID naming the path and the valid ones).
 * No update_mask at all is full replacement: what every entry meant before
 * patches were served, so no entry in the log changes meaning.
 *
 * This module is the only code that knows these rules. It is pure (the
 * protobuf code only, no ledger state): ll_check calls ll_mask_check on
 * the RPC thread; ll_record applies it on the writer to the record's
 * effective state and stores the result.
 */
#ifndef LL_MASK_H
#define LL_MASK_H

#include <stddef.h>
#include <stdint.h>

#include "loopledger/v1/entry.pb-c.h"

/* Is kind a long-lived record (charter, roadmap_project, policy)? */
int ll_mask_is_record(uint32_t kind);

/* Is b a patch (its update_mask is present)? */
int ll_mask_is_patch(const Loopledger__V1__EntryBody *b);

/* Stateless check of b's update_mask: LL_OK when b has none or a valid
 * one for its kind; else LL_ERR_INVALID, msg[cap] naming the bad path (or
 * kind) and listing the valid paths. */
int ll_mask_check(const Loopledger__V1__EntryBody *b, char *msg, size_t cap);

/* The valid paths of kind's record message, comma-separated, into
 * out[cap] (truncated to fit). Empty for a kind that is not a record. */
void ll_mask_paths(uint32_t kind, char *out, size_t cap);

/* Applies patch (checked by ll_mask_check; same kind as base) to base, the
 * record's earlier effective state. *out is a new body: patch's envelope
 * fields (author, initiative, time, nonce, links), no update_mask, and the
 * merged kind message. Caller frees it with
 * loopledger__v1__entry_body__free_unpacked(*out, NULL).
 * LL_OK, LL_ERR_INVALID (kinds differ), LL_ERR_NOMEM, LL_ERR_CORRUPT (a
 * body that does not re-encode). */
int ll_mask_apply(const Loopledger__V1__EntryBody *base, const Loopledger__V1__EntryBody *patch,
                  Loopledger__V1__EntryBody **out);

#endif
