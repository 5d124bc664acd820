/*
 * parts.h - a night over many claims, decided part by part.
 *
 * A claim's decision reads the receipt events and settlement rows that
 * share a key with it (its claim key, its serial, a tracking number, its
 * hold reference), and the actions issued for it; so do the events' and
 * rows' own outcomes.  The incremental night's subset (store.c) closes over
 * the same keys.  Items tied by keys, directly or through others, are one
 * component; a part is a set of whole components.  A night that decides
 * its parts one after the other therefore decides every claim from all it
 * would read in one piece, and holds one part in memory at a time.
 *
 * Items are numbered per kind in the order they are added (their read
 * order); the kinds are added one after the other.  A key shared by chance
 * (two texts with one 64-bit hash) only joins two components: a part is
 * then larger, never wrong.
 */
#ifndef CR_PARTS_H
#define CR_PARTS_H

#include "cr.h"

typedef enum cr_item_kind {
    CR_ITEM_CLAIM,
    CR_ITEM_EVENT,
    CR_ITEM_ROW,
    CR_ITEM_ACTION,
    CR_ITEM_KINDS
} cr_item_kind;

/* Keys, as the subset's: 0 claim key, 1 normalized serial, 2 tracking
 * number, 3 hold reference. */
#define CR_PART_KEYS 4

typedef struct cr_parts cr_parts;

/* An empty partition sized for about EXPECT distinct keys (it grows past
 * them); NULL on no memory. */
cr_parts *cr_parts_new(size_t expect);
/* Adds the next item of KIND with its KEYS (NULL or "" for none; kind k at
 * KEYS[k]).  False on no memory. */
bool cr_parts_add(cr_parts *p, cr_item_kind kind, const char *const keys[CR_PART_KEYS]);
/* The same with the keys hashed before (cr_parts_key), on another thread. */
bool cr_parts_add_keyed(cr_parts *p, cr_item_kind kind, const uint64_t keys[CR_PART_KEYS]);
/* Key KEY of kind K as cr_parts_add_keyed takes it (0: none, for NULL or ""). */
uint64_t cr_parts_key(int k, const char *key);
/* Ties item I of KIND (added before) to key KEY of kind K: an action to
 * another claim it answers for.  False on no memory. */
bool cr_parts_tie(cr_parts *p, cr_item_kind kind, size_t i, int k, const char *key);
/* Items added of KIND. */
size_t cr_parts_count(const cr_parts *p, cr_item_kind kind);
/* Splits the components into at most K parts of about as many claims each
 * (a component with no claim joins a part by its number), and lets go of
 * the keys.  Returns the parts made (0 on no memory). */
int cr_parts_assign(cr_parts *p, int k);
/* The part of item I of KIND (after cr_parts_assign). */
int cr_parts_of(const cr_parts *p, cr_item_kind kind, size_t i);
/* Claims in part PART (after cr_parts_assign). */
size_t cr_parts_claims(const cr_parts *p, int part);
void cr_parts_free(cr_parts *p);

#endif
