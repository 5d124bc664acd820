/* test_spool.c - unit tests for spool.c. */
#include "harness.h"
#include "spool.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct item {
    int64_t id;
    const char *name, *file;
    int flag;
} item;

static const size_t item_texts[] = {offsetof(item, name), offsetof(item, file)};
static const cr_spool_shape item_shape = {sizeof(item), item_texts, 2, 2u /* file repeats */};

/* Records read back equal what was written, into a pool (a repeated text
 * once) or in place, skipped past, and appended to after a read. */
TEST(spool_round_trip)
{
    char dir[] = "/tmp/cr_spool_XXXXXX", beside[256];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(beside, sizeof beside, "%s/state.db", dir);
    cr_spool s;
    int e = -1;
    CHECK_INT(cr_spool_open(&s, beside, 0, &e), CR_OK);
    CHECK_INT(e, 0);
    CHECK_INT(rmdir(dir), 0);   /* its file is unlinked at once: the folder is empty */
    char name[64];
    for (int i = 0; i < 1000; i++) {
        snprintf(name, sizeof name, "claim-%d", i);
        item it = {.id = i * 7, .name = i % 10 ? name : NULL, .file = i % 3 ? "a.csv" : "",
                   .flag = -i};
        CHECK(cr_spool_put(&s, &item_shape, &it));
    }
    CHECK_INT(s.n, 1000);
    cr_pool pool = CR_POOL_INIT;
    CHECK(cr_spool_rewind(&s));
    item got, first = {0};
    int k = 0, bad = 0;
    while (cr_spool_get(&s, &item_shape, &got, &pool) == 1) {
        snprintf(name, sizeof name, "claim-%d", k);
        bad += got.id != k * 7 || got.flag != -k || (k % 10 ? !got.name || strcmp(got.name, name)
                                                            : got.name != NULL) ||
               strcmp(got.file, k % 3 ? "a.csv" : "");
        if (k == 1)
            first = got;
        if (k == 3)
            CHECK(got.file != first.file);   /* "" is not "a.csv" */
        if (k == 4)
            CHECK(got.file == first.file);   /* the same text, read once */
        k++;
    }
    CHECK_INT(k, 1000);
    CHECK_INT(bad, 0);
    CHECK_INT(s.err, 0);
    /* in place, skipping every other record */
    CHECK(cr_spool_rewind(&s));
    k = 0;
    for (int r;; k++) {
        r = k % 2 ? cr_spool_skip(&s) : cr_spool_get(&s, &item_shape, &got, NULL);
        if (r != 1)
            break;
        if (k % 2 == 0 && got.id != k * 7)
            bad++;
    }
    CHECK_INT(k, 1000);
    CHECK_INT(bad, 0);
    /* more after a read */
    CHECK(cr_spool_append(&s));
    item last = {.id = 99, .name = "last", .file = NULL};
    CHECK(cr_spool_put(&s, &item_shape, &last));
    CHECK(cr_spool_rewind(&s));
    for (k = 0; k < 1000; k++)
        CHECK_INT(cr_spool_skip(&s), 1);
    CHECK_INT(cr_spool_get(&s, &item_shape, &got, NULL), 1);
    CHECK(got.id == 99 && strcmp(got.name, "last") == 0 && got.file == NULL);
    CHECK_INT(cr_spool_get(&s, &item_shape, &got, NULL), 0);
    /* records moved as they are to another spool read back the same */
    cr_spool to;
    CHECK_INT(cr_spool_open(&to, "/tmp/cr_spool_move", 4096, &e), CR_OK);
    CHECK(cr_spool_rewind(&s));
    for (k = 0; k < 1001; k++)
        if (k % 100 == 0 || k == 1000)
            CHECK_INT(cr_spool_move(&s, &to), 1);
        else
            CHECK_INT(cr_spool_skip(&s), 1);
    CHECK_INT(cr_spool_move(&s, &to), 0);
    CHECK_INT(to.n, 11);
    CHECK(cr_spool_rewind(&to));
    for (k = 0; k < 10; k++) {
        CHECK_INT(cr_spool_get(&to, &item_shape, &got, &pool), 1);
        CHECK(got.id == k * 700 && got.name == NULL);   /* every tenth had none */
    }
    CHECK_INT(cr_spool_get(&to, &item_shape, &got, NULL), 1);
    CHECK(got.id == 99 && strcmp(got.name, "last") == 0);
    CHECK_INT(cr_spool_get(&to, &item_shape, &got, NULL), 0);
    cr_spool_close(&to);
    cr_pool_release(&pool);
    cr_spool_close(&s);
    CHECK(s.f == NULL && s.n == 0);
}

/* A damaged record (a file cut short) is an error, not a short list. */
TEST(spool_damaged)
{
    cr_spool s = {0};
    s.f = tmpfile();
    CHECK(s.f != NULL);
    if (!s.f)
        return;
    item it = {.id = 1, .name = "x", .file = "y"};
    CHECK(cr_spool_put(&s, &item_shape, &it));
    CHECK(cr_spool_put(&s, &item_shape, &it));
    CHECK(cr_spool_rewind(&s));
    long size = 0;
    CHECK(fseek(s.f, 0, SEEK_END) == 0 && (size = ftell(s.f)) > 10);
    CHECK(ftruncate(fileno(s.f), size - 3) == 0);
    CHECK(cr_spool_rewind(&s));
    item got;
    CHECK_INT(cr_spool_get(&s, &item_shape, &got, NULL), 1);
    CHECK_INT(cr_spool_get(&s, &item_shape, &got, NULL), -1);
    CHECK_INT(s.err, EILSEQ);
    /* an error stays: nothing more is written or read */
    CHECK(!cr_spool_put(&s, &item_shape, &it));
    CHECK(!cr_spool_rewind(&s));
    cr_spool_close(&s);
    /* a folder that is not there */
    int e = 0;
    CHECK_INT(cr_spool_open(&s, "/nonexistent-folder/x", 0, &e), CR_ECANTCREAT);
    CHECK_INT(e, ENOENT);
}
