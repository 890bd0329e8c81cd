/*
 * ll_kinds: the vocabulary of entry kinds and link relations.
 *
 * Kinds are the EntryBody oneof numbers (domain.proto): 1..3 are the
 * ledger's own (note, actor, genesis), 20..32 the closed loop's domain
 * kinds (initiative .. correction), 40+ governance (key rotation,
 * revocation, role grant, policy). Names are the lower-case spellings
 * loopctl and messages use.
 *
 * Why a module of its own: the names were in ll_loop.c, so the entry
 * decoder and loopctl depended on the loop's rules and indexes just to
 * print "hypothesis". This module depends on the generated protobuf code
 * only.
 */
#ifndef LL_KINDS_H
#define LL_KINDS_H

#include <stdint.h>

#include "loopledger/v1/entry.pb-c.h"

/* Kinds are the EntryBody oneof numbers (Kind enum values), all below. */
#define LL_KIND_MAX 64

/* Is kind one of the closed loop's domain kinds (initiative .. correction),
 * the kinds that belong to an initiative? */
#define LL_KIND_IS_DOMAIN(k)                               \
    ((k) >= LOOPLEDGER__V1__ENTRY_BODY__KIND_CHARTER &&    \
     (k) <= LOOPLEDGER__V1__ENTRY_BODY__KIND_CORRECTION)

/* Name of kind ("hypothesis") and of relation ("supports"); "unknown" for
 * a number the contract does not name. Static strings. */
const char *ll_kind_name(uint32_t kind);
const char *ll_relation_name(int relation);

#endif
