/*
 * test_store.c - the claim database's row fingerprint (store.c), which
 * incremental nights compare with the one stored with each claim's state:
 * it must stay the FNV-1a of every column's type and text as SQLite renders
 * it, whatever the column holds.
 */
#include "harness.h"

#include "config.h"
#include "store.h"

#include <sqlite3.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

/* The reference: each column's text as SQLite gives it. */
static uint64_t reference_fp(sqlite3 *db, const char *claim_id)
{
    sqlite3_stmt *st = NULL;
    uint64_t h = 0;
    if (sqlite3_prepare_v2(db,
                           "SELECT claim_id, plan, region, product_model, registered_sn,"
                           " battery_registered, product_value, currency, service_fee, preauth_ref,"
                           " preauth_amount, card_brand, paid_at, return_days, refresh_expires_on,"
                           " replacements_left, status FROM claims WHERE claim_id = ?",
                           -1, &st, NULL) != SQLITE_OK)
        return 0;
    sqlite3_bind_text(st, 1, claim_id, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) {
        h = 0xcbf29ce484222325ULL;
        for (int i = 0; i < sqlite3_column_count(st); i++) {
            int t = sqlite3_column_type(st, i);
            const unsigned char *b = t == SQLITE_NULL ? NULL : sqlite3_column_text(st, i);
            int len = b ? sqlite3_column_bytes(st, i) : 0;
            h = (h ^ (uint64_t)t) * 0x100000001b3ULL;
            for (int k = 0; k < len; k++)
                h = (h ^ b[k]) * 0x100000001b3ULL;
            h = (h ^ 0x1f) * 0x100000001b3ULL;
        }
        h = h ? h : 1;
    }
    sqlite3_finalize(st);
    return h;
}

TEST(store_claim_fingerprint_is_the_text_of_every_column)
{
    char path[] = "/tmp/carerecon-unit-claims-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd < 0)
        return;
    close(fd);
    sqlite3 *db = NULL;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    /* integers of every size and sign, text and real numbers where
     * integers are expected, NULLs */
    const char *sql =
        "CREATE TABLE claims(claim_id TEXT PRIMARY KEY, plan TEXT, region TEXT,"
        " product_model TEXT, registered_sn TEXT, battery_registered INTEGER,"
        " product_value INTEGER, currency TEXT, service_fee INTEGER, preauth_ref TEXT NULL,"
        " preauth_amount INTEGER NULL, card_brand TEXT NULL, paid_at TEXT, return_days INTEGER NULL,"
        " refresh_expires_on TEXT, replacements_left INTEGER, status TEXT);"
        "INSERT INTO claims VALUES('CE-1','premium','US','Mini 4 Pro','SN1',1,115900,'USD',2900,"
        " 'PA-1',115900,'Visa','2026-11-01T10:00:00Z',14,'2027-11-01',2,'active');"
        "INSERT INTO claims VALUES('CE-2','premium','US','Mini 4 Pro','SN2',0,0,'USD',-1,"
        " 'PA-2',-9223372036854775808,'visa','2026-11-01T10:00:00Z',NULL,'2027-11-01',"
        " 9223372036854775807,'active');"
        "INSERT INTO claims VALUES('CE-3','basic','DE',NULL,NULL,NULL,'abc','EUR',12.5,NULL,NULL,"
        " NULL,NULL,NULL,NULL,NULL,NULL);"
        "INSERT INTO claims VALUES('CE-4','premium','US','Air 3','SN4',1,1234567890123,'USD',10,"
        " 'PA-4',-7,' AMEX ','2026-11-02T00:00:00-05:00',30,'2027-11-02',-100,'active');";
    CHECK(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK);

    cr_config *cfg = NULL;
    CHECK(cr_config_load("config/carerecon.yaml", &cfg) == CR_OK);
    cr_claimsdb *cdb = NULL;
    CHECK(cfg && cr_claimsdb_open(path, &cdb) == CR_OK);
    cr_pool pool = CR_POOL_INIT;
    cr_claim *claims = NULL;
    size_t n = 0;
    CHECK(cdb && cr_claimsdb_load(cdb, cfg, &pool, &claims, &n) == CR_OK);
    CHECK_INT(n, 4);
    for (size_t i = 0; i < n; i++) {
        uint64_t want = reference_fp(db, claims[i].claim_id);
        CHECK(want != 0);
        if (claims[i].fp != want)
            fprintf(stderr, "  claim %s: fingerprint %llx, want %llx\n", claims[i].claim_id,
                    (unsigned long long)claims[i].fp, (unsigned long long)want);
        CHECK(claims[i].fp == want);
    }
    free(claims);
    cr_pool_release(&pool);
    cr_claimsdb_close(cdb);
    cr_config_free(cfg);
    sqlite3_close(db);
    unlink(path);
}
