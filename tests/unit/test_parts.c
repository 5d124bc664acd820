/* test_parts.c - unit tests for parts.c. */
#include "harness.h"
#include "parts.h"

#include <stdio.h>

#define K(a, b, c, d) ((const char *const[CR_PART_KEYS]){a, b, c, d})

/* Items tied by a key, directly or through others, share a part; the
 * claims are spread evenly over the parts; a key of another kind with the
 * same text ties nothing. */
TEST(parts_components)
{
    cr_parts *p = cr_parts_new(16);   /* grows past it */
    CHECK(p != NULL);
    if (!p)
        return;
    char key[32], sn[32], hold[32];
    /* 100 claims: claim 2k and 2k+1 share a serial */
    for (int i = 0; i < 100; i++) {
        snprintf(key, sizeof key, "c%d", i);
        snprintf(sn, sizeof sn, "SN%d", i / 2);
        snprintf(hold, sizeof hold, "H%d", i);
        CHECK(cr_parts_add(p, CR_ITEM_CLAIM, K(key, sn, NULL, hold)));
    }
    /* event 0 names claim 10 and carries tracking T; event 1 carries T and
     * the serial of claim 90: claims 10, 11, 90, 91 are one component */
    CHECK(cr_parts_add(p, CR_ITEM_EVENT, K("c10", NULL, "T", NULL)));
    CHECK(cr_parts_add(p, CR_ITEM_EVENT, K(NULL, "SN45", "T", "")));
    /* events tied to nothing known, and one keyed "c5" as a serial only */
    for (int i = 0; i < 10; i++) {
        snprintf(key, sizeof key, "lost%d", i);
        CHECK(cr_parts_add(p, CR_ITEM_EVENT, K(key, NULL, NULL, NULL)));
    }
    CHECK(cr_parts_add(p, CR_ITEM_EVENT, K(NULL, "c5", NULL, NULL)));
    /* a row on claim 30's hold; an action for claim 50 that answers for 70 */
    CHECK(cr_parts_add(p, CR_ITEM_ROW, K("zz", NULL, NULL, "H30")));
    CHECK(cr_parts_add(p, CR_ITEM_ACTION, K("c50", NULL, NULL, NULL)));
    CHECK(cr_parts_tie(p, CR_ITEM_ACTION, 0, 0, "c70"));
    CHECK(!cr_parts_tie(p, CR_ITEM_ACTION, 1, 0, "c70"));   /* no such action */
    CHECK(!cr_parts_add(p, CR_ITEM_CLAIM, K("late", NULL, NULL, NULL)));   /* kinds in order */
    CHECK_INT(cr_parts_count(p, CR_ITEM_CLAIM), 100);
    CHECK_INT(cr_parts_count(p, CR_ITEM_EVENT), 13);
    CHECK_INT(cr_parts_count(p, CR_ITEM_ACTION), 1);
    int made = cr_parts_assign(p, 4);
    CHECK_INT(made, 4);
    size_t total = 0;
    for (int k = 0; k < made; k++) {
        total += cr_parts_claims(p, k);
        CHECK(cr_parts_claims(p, k) >= 20 && cr_parts_claims(p, k) <= 30);
    }
    CHECK_INT(total, 100);
    for (int i = 0; i < 100; i += 2)
        CHECK_INT(cr_parts_of(p, CR_ITEM_CLAIM, (size_t)i), cr_parts_of(p, CR_ITEM_CLAIM, (size_t)i + 1));
    int p10 = cr_parts_of(p, CR_ITEM_CLAIM, 10);
    CHECK_INT(cr_parts_of(p, CR_ITEM_CLAIM, 90), p10);
    CHECK_INT(cr_parts_of(p, CR_ITEM_CLAIM, 91), p10);
    CHECK_INT(cr_parts_of(p, CR_ITEM_EVENT, 0), p10);
    CHECK_INT(cr_parts_of(p, CR_ITEM_EVENT, 1), p10);
    CHECK(cr_parts_of(p, CR_ITEM_CLAIM, 0) != cr_parts_of(p, CR_ITEM_CLAIM, 99));
    CHECK_INT(cr_parts_of(p, CR_ITEM_ROW, 0), cr_parts_of(p, CR_ITEM_CLAIM, 30));
    CHECK_INT(cr_parts_of(p, CR_ITEM_ACTION, 0), cr_parts_of(p, CR_ITEM_CLAIM, 50));
    CHECK_INT(cr_parts_of(p, CR_ITEM_CLAIM, 70), cr_parts_of(p, CR_ITEM_CLAIM, 50));
    /* the events tied to no claim are spread over the parts */
    int seen[4] = {0, 0, 0, 0};
    for (int i = 2; i < 12; i++) {
        int q = cr_parts_of(p, CR_ITEM_EVENT, (size_t)i);
        CHECK(q >= 0 && q < 4);
        if (q >= 0 && q < 4)
            seen[q]++;
    }
    CHECK(seen[0] && seen[1] && seen[2] && seen[3]);
    cr_parts_free(p);
    cr_parts_free(NULL);
}

/* One part, or more parts asked for than claims: every item has a part. */
TEST(parts_few)
{
    cr_parts *p = cr_parts_new(4);
    CHECK(p != NULL);
    if (!p)
        return;
    CHECK(cr_parts_add(p, CR_ITEM_CLAIM, K("a", NULL, NULL, NULL)));
    CHECK(cr_parts_add(p, CR_ITEM_CLAIM, K("b", NULL, NULL, NULL)));
    CHECK(cr_parts_add(p, CR_ITEM_ROW, K("x", NULL, NULL, NULL)));
    int made = cr_parts_assign(p, 8);
    CHECK_INT(made, 2);
    CHECK_INT(cr_parts_claims(p, 0) + cr_parts_claims(p, 1), 2);
    CHECK(cr_parts_of(p, CR_ITEM_ROW, 0) < made);
    CHECK_INT(cr_parts_count(p, CR_ITEM_EVENT), 0);
    cr_parts_free(p);
}
