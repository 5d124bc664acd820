/*
 * parts.c - see parts.h.
 *
 * A union-find over the items (one node each, numbered in the order they
 * are added) and a table of the keys seen (a key's 64-bit hash and the
 * first node that carried it, open addressing): an item that carries a
 * key seen before joins that node's component.
 */
#include "parts.h"

#include <stdlib.h>
#include <string.h>

#define MAX_PARTS 250

struct cr_parts {
    uint32_t *up;              /* union-find parent per node (a root is its own) */
    size_t n, cap;
    size_t base[CR_ITEM_KINDS + 1];   /* first node of each kind; base[kind + 1] its end */
    int kind;                  /* the kind being added */
    uint64_t *khash;           /* the key table: hashes (0: empty) */
    uint32_t *knode;           /* ... and the node that carried each first */
    size_t kcap, kn;
    uint8_t *part;             /* per node, after cr_parts_assign */
    size_t claims[MAX_PARTS];
};

static uint64_t key_hash(int kind, const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL ^ (uint64_t)(kind + 1) * 0x9E3779B97F4A7C15ULL;
    for (const unsigned char *c = (const unsigned char *)s; *c; c++)
        h = (h ^ *c) * 0x100000001b3ULL;
    /* a finalizer (splitmix64's): the table's slot is taken from the low bits */
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebULL;
    h ^= h >> 31;
    return h ? h : 1;
}

static uint32_t find(cr_parts *p, uint32_t x)
{
    while (p->up[x] != x) {
        p->up[x] = p->up[p->up[x]];   /* path halving */
        x = p->up[x];
    }
    return x;
}

static void join(cr_parts *p, uint32_t a, uint32_t b)
{
    a = find(p, a);
    b = find(p, b);
    /* the lower node is the root: a component's root is its first item,
     * so that components without a claim are numbered in read order */
    if (a < b)
        p->up[b] = a;
    else if (b < a)
        p->up[a] = b;
}

static bool keys_grow(cr_parts *p)
{
    size_t cap = p->kcap ? p->kcap * 2 : 1024;
    uint64_t *h = calloc(cap, sizeof *h);
    uint32_t *nd = malloc(cap * sizeof *nd);
    if (!h || !nd) {
        free(h);
        free(nd);
        return false;
    }
    for (size_t i = 0; i < p->kcap; i++) {
        if (!p->khash[i])
            continue;
        size_t j = p->khash[i] & (cap - 1);
        while (h[j])
            j = (j + 1) & (cap - 1);
        h[j] = p->khash[i];
        nd[j] = p->knode[i];
    }
    free(p->khash);
    free(p->knode);
    p->khash = h;
    p->knode = nd;
    p->kcap = cap;
    return true;
}

uint64_t cr_parts_key(int k, const char *key)
{
    return key && *key ? key_hash(k, key) : 0;
}

/* Node X carries the key of hash H (0: none). */
static bool carry(cr_parts *p, uint32_t x, uint64_t h)
{
    if (!h)
        return true;
    if ((p->kn + 1) * 10 > p->kcap * 7 && !keys_grow(p))
        return false;
    size_t j = h & (p->kcap - 1);
    while (p->khash[j] && p->khash[j] != h)
        j = (j + 1) & (p->kcap - 1);
    if (p->khash[j]) {
        join(p, x, p->knode[j]);
        return true;
    }
    p->khash[j] = h;
    p->knode[j] = x;
    p->kn++;
    return true;
}

cr_parts *cr_parts_new(size_t expect)
{
    cr_parts *p = calloc(1, sizeof *p);
    size_t cap = 1024;
    while (cap * 7 < expect * 10)   /* filled to seven tenths at most */
        cap *= 2;
    if (p && (p->khash = calloc(cap, sizeof *p->khash)) && (p->knode = malloc(cap * sizeof *p->knode))) {
        p->kcap = cap;
        return p;
    }
    cr_parts_free(p);
    return NULL;
}

bool cr_parts_add(cr_parts *p, cr_item_kind kind, const char *const keys[CR_PART_KEYS])
{
    uint64_t h[CR_PART_KEYS];
    for (int k = 0; k < CR_PART_KEYS; k++)
        h[k] = cr_parts_key(k, keys[k]);
    return cr_parts_add_keyed(p, kind, h);
}

bool cr_parts_add_keyed(cr_parts *p, cr_item_kind kind, const uint64_t keys[CR_PART_KEYS])
{
    if ((int)kind < p->kind || p->part || p->n >= UINT32_MAX - 1)
        return false;
    while (p->kind < (int)kind)
        p->base[++p->kind] = p->n;
    if (!cr_grow(&p->up, &p->cap, p->n, sizeof *p->up, 1024))
        return false;
    uint32_t x = (uint32_t)p->n++;
    p->up[x] = x;
    p->base[kind + 1] = p->n;
    for (int k = 0; k < CR_PART_KEYS; k++)
        if (!carry(p, x, keys[k]))
            return false;
    return true;
}

size_t cr_parts_count(const cr_parts *p, cr_item_kind kind)
{
    if ((int)kind > p->kind)
        return 0;
    return p->base[kind + 1] - p->base[kind];
}

bool cr_parts_tie(cr_parts *p, cr_item_kind kind, size_t i, int k, const char *key)
{
    if (i >= cr_parts_count(p, kind) || p->part)
        return false;
    return carry(p, (uint32_t)(p->base[kind] + i), cr_parts_key(k, key));
}

int cr_parts_assign(cr_parts *p, int k)
{
    size_t nclaims = cr_parts_count(p, CR_ITEM_CLAIM);
    if (k < 1)
        k = 1;
    if (k > MAX_PARTS)
        k = MAX_PARTS;
    free(p->khash);
    free(p->knode);
    p->khash = NULL;
    p->knode = NULL;
    p->kcap = p->kn = 0;
    p->part = malloc(p->n ? p->n : 1);
    uint32_t *size = calloc(p->n ? p->n : 1, sizeof *size);   /* claims per root */
    if (!p->part || !size) {
        free(size);
        return 0;
    }
    for (size_t i = 0; i < p->n; i++)
        p->up[i] = find(p, (uint32_t)i);
    for (size_t i = p->base[CR_ITEM_CLAIM]; i < p->base[CR_ITEM_CLAIM + 1]; i++)
        size[p->up[i]]++;
    /* whole components, in the order of their first claim, fill one part
     * after the other up to an even share */
    size_t share = (nclaims + (size_t)k - 1) / (size_t)k, in = 0;
    int cur = 0;
    memset(p->part, 0xff, p->n);
    for (size_t i = p->base[CR_ITEM_CLAIM]; i < p->base[CR_ITEM_CLAIM + 1]; i++) {
        uint32_t r = p->up[i];
        if (p->part[r] != 0xff)
            continue;
        if (in >= share && cur + 1 < k) {
            cur++;
            in = 0;
        }
        p->part[r] = (uint8_t)cur;
        p->claims[cur] += size[r];
        in += size[r];
    }
    int made = cur + 1;
    for (size_t i = 0; i < p->n; i++) {
        uint32_t r = p->up[i];
        if (p->part[r] == 0xff)
            p->part[r] = (uint8_t)(r % (uint32_t)made);   /* no claim: spread by its number */
        p->part[i] = p->part[r];
    }
    free(size);
    free(p->up);
    p->up = NULL;
    p->cap = 0;
    return made;
}

int cr_parts_of(const cr_parts *p, cr_item_kind kind, size_t i)
{
    return p->part[p->base[kind] + i];
}

size_t cr_parts_claims(const cr_parts *p, int part)
{
    return part >= 0 && part < MAX_PARTS ? p->claims[part] : 0;
}

void cr_parts_free(cr_parts *p)
{
    if (!p)
        return;
    free(p->up);
    free(p->khash);
    free(p->knode);
    free(p->part);
    free(p);
}
