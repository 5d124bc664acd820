/*
 * test_store.c - the claim database's row fingerprint (store.c), which
 * incremental nights compare with the one stored with each claim's state:
 * it must stay the FNV-1a of every column's type and text as SQLite renders
 * it, whatever the column holds.  And the incremental night's closure: the
 * claims a subset of new rows reaches, on one connection or two.
 */
#include "harness.h"

#include "config.h"
#include "feed.h"
#include "rules.h"
#include "store.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* A new state database in a new folder made from DIR ("...XXXXXX"), its
 * path in PATH (N bytes); NULL (the check failed) when it cannot be made. */
static cr_store *tmp_store(char *dir, char *path, size_t n)
{
    cr_store *s = NULL;
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, n, "%s/state.db", dir);
    CHECK(cr_store_open(path, true, &s) == CR_OK);
    return s;
}

/* SPEC 2.1's claims table */
#define CLAIMS_TABLE                                                                          \
    "CREATE TABLE claims(claim_id TEXT PRIMARY KEY, plan TEXT, region TEXT,"                   \
    " product_model TEXT, registered_sn TEXT, battery_registered INTEGER,"                    \
    " product_value INTEGER, currency TEXT, service_fee INTEGER, preauth_ref TEXT NULL,"      \
    " preauth_amount INTEGER NULL, card_brand TEXT NULL, paid_at TEXT, return_days INTEGER NULL," \
    " refresh_expires_on TEXT, replacements_left INTEGER, status TEXT);"

/* A claim database made by SQL in a temporary file, its claims loaded with
 * the shipped configuration (claims_fix_open), and undone (claims_fix_close). */
typedef struct claims_fix {
    char path[40];
    sqlite3 *db;
    cr_config *cfg;
    cr_claimsdb *cdb;
    cr_pool pool;
    cr_claim *claims;
    size_t n;
} claims_fix;

static bool claims_fix_open(claims_fix *f, const char *sql)
{
    memset(f, 0, sizeof *f);
    snprintf(f->path, sizeof f->path, "/tmp/carerecon-unit-claims-XXXXXX");
    f->pool = (cr_pool)CR_POOL_INIT;
    int fd = mkstemp(f->path);
    CHECK(fd >= 0);
    if (fd < 0)
        return false;
    close(fd);
    CHECK(sqlite3_open(f->path, &f->db) == SQLITE_OK);
    CHECK(sqlite3_exec(f->db, sql, NULL, NULL, NULL) == SQLITE_OK);
    CHECK(cr_config_load("config/carerecon.yaml", &f->cfg) == CR_OK);
    CHECK(f->cfg && cr_claimsdb_open(f->path, &f->cdb) == CR_OK);
    CHECK(f->cdb && cr_claimsdb_load(f->cdb, f->cfg, &f->pool, &f->claims, &f->n) == CR_OK);
    return f->cdb != NULL;
}

static void claims_fix_close(claims_fix *f)
{
    free(f->claims);
    cr_pool_release(&f->pool);
    cr_claimsdb_close(f->cdb);
    cr_config_free(f->cfg);
    sqlite3_close(f->db);
    unlink(f->path);
}

TEST(store_claim_fingerprint_is_the_text_of_every_column)
{
    /* integers of every size and sign, text and real numbers where
     * integers are expected, NULLs */
    const char *sql =
        CLAIMS_TABLE
        "INSERT INTO claims VALUES('CE-1','premium','US','Mini 4 Pro','SN1',1,115900,'USD',2900,"
        " 'PA-1',115900,'Visa','2026-11-01T10:00:00Z',14,'2027-11-01',2,'active');"
        "INSERT INTO claims VALUES('CE-2','premium','US','Mini 4 Pro','SN2',0,0,'USD',-1,"
        " 'PA-2',-9223372036854775808,'visa','2026-11-01T10:00:00Z',NULL,'2027-11-01',"
        " 9223372036854775807,'active');"
        "INSERT INTO claims VALUES('CE-3','basic','DE',NULL,NULL,NULL,'abc','EUR',12.5,NULL,NULL,"
        " NULL,NULL,NULL,NULL,NULL,NULL);"
        "INSERT INTO claims VALUES('CE-4','premium','US','Air 3','SN4',1,1234567890123,'USD',10,"
        " 'PA-4',-7,' AMEX ','2026-11-02T00:00:00-05:00',30,'2027-11-02',-100,'active');"
        /* as typed by hand: a currency in lower case, a hold reference with
         * blanks around it, a time without seconds */
        "INSERT INTO claims VALUES('CE-5','premium','US','Air 3','SN5',1,100000,' usd ',10,"
        " ' PA-5	',100000,'visa','2026-11-02T10:15-05:00',30,'2027-11-02',1,'active');";
    claims_fix f;
    if (!claims_fix_open(&f, sql))
        return;
    cr_claim *claims = f.claims;
    size_t n = f.n;
    CHECK_INT(n, 5);
    long five = cr_claim_find(claims, n, "CE-5");
    CHECK(five >= 0);
    if (five >= 0) {
        CHECK_STR(claims[five].currency, "USD");
        CHECK_STR(claims[five].preauth_ref, "PA-5");
        CHECK(claims[five].invalid == NULL);
        CHECK_INT(claims[five].paid_at, 1793632500);   /* 2026-11-02T15:15:00Z */
    }
    for (size_t i = 0; i < n; i++) {
        uint64_t want = reference_fp(f.db, claims[i].claim_id);
        CHECK(want != 0);
        if (claims[i].fp != want)
            fprintf(stderr, "  claim %s: fingerprint %llx, want %llx\n", claims[i].claim_id,
                    (unsigned long long)claims[i].fp, (unsigned long long)want);
        CHECK(claims[i].fp == want);
    }
    claims_fix_close(&f);
}

/* A currency that is not three letters, and a product value a capture
 * cannot be capped at, are bad claim data, each with its own reason (a
 * review: "US$" went out in a payment file, and a premium claim worth 0
 * was captured for 0.00, using up its hold).  A basic claim worth 0 ships. */
TEST(store_claim_currency_and_value)
{
#define ROW(id, plan, value, cur)                                                              \
    "INSERT INTO claims VALUES('" id "','" plan "','US','Air 3','SN-" id "',1," value "," cur    \
    ",100,'PA-" id "',100000,'visa','2026-11-02T10:15:00Z',14,'2027-11-01',1,'active');"
    const char *sql =
        "CREATE TABLE claims(claim_id, plan, region, product_model, registered_sn,"
        " battery_registered, product_value, currency, service_fee, preauth_ref, preauth_amount,"
        " card_brand, paid_at, return_days, refresh_expires_on, replacements_left, status);"
        ROW("DOLLAR", "premium", "100000", "'US$'") ROW("DIGITS", "premium", "100000", "'123'")
        ROW("EURO", "premium", "100000", "'\xE2\x82\xAC'") ROW("WORD", "premium", "100000", "'EURO'")
        ROW("NOCUR", "premium", "100000", "NULL") ROW("LOWER", "premium", "100000", "'eur'")
        ROW("ZERO", "premium", "0", "'USD'") ROW("NEG", "premium", "-5", "'USD'")
        ROW("NOVAL", "premium", "NULL", "'USD'") ROW("FRAC", "premium", "12.5", "'USD'")
        ROW("BASIC0", "basic", "0", "'USD'")
        "INSERT INTO claims VALUES('NOFEE','premium','US','Air 3','SN-NOFEE',1,100000,'USD',NULL,"
        "'PA-NOFEE',100000,'visa','2026-11-02T10:15:00Z',14,'2027-11-01',1,'active');";
#undef ROW
    static const struct {
        const char *id, *why;  /* NULL: valid */
    } want[] = {
        {"DOLLAR", "currency is not a three-letter code"},
        {"DIGITS", "currency is not a three-letter code"},
        {"EURO", "currency is not a three-letter code"},
        {"WORD", "currency is not a three-letter code"},
        {"NOCUR", "currency is missing"},
        {"LOWER", NULL},
        {"ZERO", "product_value is zero on a premium claim"},
        {"NEG", "product_value is below zero"},
        {"NOVAL", "product_value is missing"},
        {"FRAC", "product_value is not a whole number of minor units"},
        {"BASIC0", NULL},
        {"NOFEE", "service_fee is missing"},
    };
    claims_fix f;
    if (!claims_fix_open(&f, sql))
        return;
    CHECK_INT(f.n, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        long k = cr_claim_find_exact(f.claims, f.n, want[i].id);
        CHECK(k >= 0);
        if (k < 0)
            continue;
        const char *got = f.claims[k].invalid;
        if (want[i].why ? !got || !strstr(got, want[i].why) : got != NULL)
            fprintf(stderr, "  claim %s: invalid \"%s\", want \"%s\"\n", want[i].id,
                    got ? got : "(valid)", want[i].why ? want[i].why : "(valid)");
        CHECK(want[i].why ? got && strstr(got, want[i].why) : got == NULL);
    }
    claims_fix_close(&f);
}

/* Whole numbers in REAL columns, as pandas' to_sql writes an integer
 * column that holds NULLs (a review: every premium claim was invalid data,
 * its hold left alone): read as the integers they are; a fraction, or a
 * value beyond what a double holds exactly, is still invalid, and the
 * reason quotes the value. */
TEST(store_claim_whole_reals)
{
    static const char sql[] =
        "CREATE TABLE claims(claim_id TEXT, plan TEXT, region TEXT, product_model TEXT,"
        " registered_sn TEXT, battery_registered REAL, product_value REAL, currency TEXT,"
        " service_fee REAL, preauth_ref TEXT, preauth_amount REAL, card_brand TEXT,"
        " paid_at TEXT, return_days REAL, refresh_expires_on TEXT, replacements_left REAL,"
        " status TEXT);"
        "INSERT INTO claims VALUES('WHOLE','premium','US','Air 3','SN-1',1.0,109900.0,'USD',"
        "4900.0,'PA-1',99900.0,'visa','2026-11-02T10:15:00Z',14.0,'2027-11-01',2.0,'active');"
        "INSERT INTO claims VALUES('HALF','premium','US','Air 3','SN-2',0,109900.5,'USD',"
        "4900,'PA-2',99900,'visa','2026-11-02T10:15:00Z',NULL,'2027-11-01',2,'active');"
        "INSERT INTO claims VALUES('HUGE','premium','US','Air 3','SN-3',0,1e300,'USD',"
        "4900,'PA-3',99900,'visa','2026-11-02T10:15:00Z',NULL,'2027-11-01',2,'active');";
    claims_fix f;
    if (!claims_fix_open(&f, sql))
        return;
    CHECK_INT(f.n, 3);
    long w = cr_claim_find_exact(f.claims, f.n, "WHOLE");
    long h = cr_claim_find_exact(f.claims, f.n, "HALF");
    long u = cr_claim_find_exact(f.claims, f.n, "HUGE");
    CHECK(w >= 0 && h >= 0 && u >= 0);
    if (w < 0 || h < 0 || u < 0) {
        claims_fix_close(&f);
        return;
    }
    CHECK(f.claims[w].invalid == NULL);
    CHECK_INT(f.claims[w].product_value, 109900);
    CHECK_INT(f.claims[w].preauth_amount, 99900);
    CHECK_INT(f.claims[w].service_fee, 4900);
    CHECK_INT(f.claims[w].return_days, 14);
    CHECK_INT(f.claims[w].battery_registered, 1);
    CHECK_INT(f.claims[w].replacements_left, 2);
    CHECK(f.claims[h].invalid &&
          strstr(f.claims[h].invalid, "product_value is not a whole number of minor units: \"109900.5\""));
    CHECK(f.claims[u].invalid && strstr(f.claims[u].invalid, "product_value is not a whole number"));
    claims_fix_close(&f);
}

/* Card brands as claim systems write them read as one name per network
 * (a review: "American Express" was CARD_BRAND_NOT_ALLOWED, with no known
 * hold expiry, and "MC" a CARD_MISMATCH against the processor's mc). */
TEST(store_claim_card_brand_spellings)
{
    char b[64];
    CHECK_STR(cr_card_brand_canon(" American Express ", b, sizeof b), "amex");
    CHECK_STR(cr_card_brand_canon("AMEX", b, sizeof b), "amex");
    CHECK_STR(cr_card_brand_canon("Master Card", b, sizeof b), "mastercard");
    CHECK_STR(cr_card_brand_canon("MASTER-CARD", b, sizeof b), "mastercard");
    CHECK_STR(cr_card_brand_canon("MC", b, sizeof b), "mastercard");
    CHECK_STR(cr_card_brand_canon("Visa", b, sizeof b), "visa");
    CHECK_STR(cr_card_brand_canon("Discover", b, sizeof b), "discover");
    CHECK_STR(cr_card_brand_canon("Visa Debit", b, sizeof b), "visa debit");   /* not guessed */
    static const char sql[] =
        "CREATE TABLE claims(claim_id TEXT, plan TEXT, region TEXT, product_model TEXT,"
        " registered_sn TEXT, battery_registered INTEGER, product_value INTEGER, currency TEXT,"
        " service_fee INTEGER, preauth_ref TEXT, preauth_amount INTEGER, card_brand TEXT,"
        " paid_at TEXT, return_days INTEGER, refresh_expires_on TEXT, replacements_left INTEGER,"
        " status TEXT);"
        "INSERT INTO claims VALUES('AX','premium','US','Air 3','SN-1',0,109900,'USD',4900,'PA-1',"
        "99900,'American Express','2026-11-02T10:15:00Z',14,'2027-11-01',2,'active');"
        "INSERT INTO claims VALUES('MC','premium','US','Air 3','SN-2',0,109900,'USD',4900,'PA-2',"
        "99900,'MC','2026-11-02T10:15:00Z',14,'2027-11-01',2,'active');";
    claims_fix f;
    if (!claims_fix_open(&f, sql))
        return;
    long ax = cr_claim_find_exact(f.claims, f.n, "AX"), mc = cr_claim_find_exact(f.claims, f.n, "MC");
    CHECK(ax >= 0 && mc >= 0);
    if (ax >= 0 && mc >= 0) {
        CHECK_STR(f.claims[ax].card_brand, "amex");
        CHECK_STR(f.claims[mc].card_brand, "mastercard");
        CHECK_INT(cr_policy_auth_days(&f.cfg->policy, f.claims[ax].card_brand), 7);
        CHECK(cr_strlist_has(&f.cfg->policy.card_brands, f.claims[ax].card_brand));
    }
    claims_fix_close(&f);
}

/* A claim table as other systems make it (a review): column names in
 * another case, no unique claim_id.  The same row twice is one claim; one
 * id on rows that differ (two holds) is one claim that cannot be decided,
 * not two that would each act on the id (every night failed once it fell
 * due).  A battery flag other than 0 or 1 is not a flag; a last day of
 * coverage with blanks around it is read. */
TEST(store_claim_table_without_unique_ids)
{
#define ROW(id, hold, battery, refresh)                                                        \
    "INSERT INTO claims VALUES('" id "','premium','US','Air 3','SN-" id "'," battery ",100000,'USD',"\
    "100,'" hold "',100000,'visa','2026-11-02T10:15:00Z',14," refresh ",1,'active');"
    const char *sql =
        "CREATE TABLE claims(Claim_ID, PLAN, region, product_model, registered_sn,"
        " battery_registered, product_value, currency, service_fee, preauth_ref, preauth_amount,"
        " card_brand, Paid_At, return_days, refresh_expires_on, replacements_left, status);"
        ROW("TWICE", "PA-1", "1", "'2027-11-01'") ROW("TWICE", "PA-1", "1", "'2027-11-01'")
        ROW("TWOHOLDS", "PA-2", "1", "'2027-11-01'") ROW("TWOHOLDS", "PA-3", "1", "'2027-11-01'")
        ROW("ONE", "PA-4", "0", "' 2027-11-01 '") ROW("BAT2", "PA-5", "2", "'2027-11-01'")
        ROW("TWOBAD", "PA-6", "2", "'2027-11-01'") ROW("TWOBAD", "PA-7", "2", "'2027-11-01'");
#undef ROW
    claims_fix f;
    if (!claims_fix_open(&f, sql))
        return;
    CHECK_INT(f.n, 5);
    /* rows that differ and are bad besides: both reasons are said */
    long twobad = cr_claim_find_exact(f.claims, f.n, "TWOBAD");
    CHECK(twobad >= 0 && f.claims[twobad].invalid &&
          strstr(f.claims[twobad].invalid, "more than one row") &&
          strstr(f.claims[twobad].invalid, "; battery_registered is not 0 or 1"));
    long twice = cr_claim_find_exact(f.claims, f.n, "TWICE");
    long two = cr_claim_find_exact(f.claims, f.n, "TWOHOLDS");
    long one = cr_claim_find_exact(f.claims, f.n, "ONE");
    long bat = cr_claim_find_exact(f.claims, f.n, "BAT2");
    CHECK(twice >= 0 && two >= 0 && one >= 0 && bat >= 0);
    if (twice >= 0 && two >= 0 && one >= 0 && bat >= 0) {
        CHECK(f.claims[twice].invalid == NULL);
        CHECK(f.claims[two].invalid && strstr(f.claims[two].invalid, "more than one row"));
        CHECK(f.claims[one].invalid == NULL);
        CHECK(f.claims[bat].invalid && strstr(f.claims[bat].invalid, "battery_registered"));
    }
    claims_fix_close(&f);
}

/* Claim rows the rules cannot decide on say why (CLAIM_DATA_INVALID), and
 * values as typed by hand are read: a serial missing or blank, a status
 * that is neither active nor cancelled (looked at, so that it is reported,
 * not left alone), a blank id, a basic claim with no model or region; and
 * a time or a number with blanks around it. */
TEST(store_claim_rows_invalid_or_as_typed)
{
#define ROW(id, plan, model, sn, paid, value, status)                                          \
    "INSERT INTO claims VALUES(" id ",'" plan "','US'," model "," sn ",0," value ",'USD',100,"     \
    "'PA-'||random(),100000,'visa'," paid ",14,'2027-11-01',1," status ");"
    const char *sql =
        CLAIMS_TABLE
        ROW("'OK'", "premium", "'Air 3'", "'SN1'", "' 2026-11-02T10:15:00Z '", "'100000 '", "'active'")
        ROW("'NOSN'", "premium", "'Air 3'", "NULL", "'2026-11-02T10:15:00Z'", "100000", "'active'")
        ROW("'BLANKSN'", "premium", "'Air 3'", "' - '", "'2026-11-02T10:15:00Z'", "100000", "'active'")
        ROW("'CLOSED'", "premium", "'Air 3'", "'SN4'", "'2026-11-02T10:15:00Z'", "100000", "'closed'")
        ROW("'NOSTATUS'", "premium", "'Air 3'", "'SN5'", "'2026-11-02T10:15:00Z'", "100000", "NULL")
        ROW("'GONE'", "premium", "'Air 3'", "'SN6'", "'2026-11-02T10:15:00Z'", "100000", "' Cancelled'")
        ROW("' '", "premium", "'Air 3'", "'SN7'", "'2026-11-02T10:15:00Z'", "100000", "'active'")
        ROW("'BASIC'", "basic", "NULL", "'SN8'", "'2026-11-02T10:15:00Z'", "100000", "'active'")
        ROW("'REAL'", "premium", "'Air 3'", "'SN9'", "'2026-11-02T10:15:00Z'", "100000.5", "'active'")
        ROW("'LONGPAID'", "premium", "'Air 3'", "'SN10'",
            "'2026-11-02T10:15:00Z' || printf('%50s', '') || 'garbage'", "100000", "'active'")
        ROW("'TWOWRONG'", "premium", "'Air 3'", "NULL", "'yesterday'", "100000", "'active'")
        "UPDATE claims SET preauth_ref = 'pa-ok' || char(160), currency = char(12288) || 'usd'"
        " WHERE claim_id = 'OK';";
#undef ROW
    claims_fix f;
    if (!claims_fix_open(&f, sql))
        return;
    cr_claim *claims = f.claims;
    size_t n = f.n;
    CHECK_INT(n, 11);
    static const struct {
        const char *id, *why; /* why: a part of c->invalid, or NULL: valid */
        bool active;
    } want[] = {
        {"OK", NULL, true},
        {"NOSN", "registered_sn is empty", true},
        {"BLANKSN", "registered_sn is empty", true},
        {"CLOSED", "status is neither active nor cancelled", true},
        {"NOSTATUS", "status is neither active nor cancelled", true},
        {"GONE", NULL, false},
        {" ", "claim_id is blank", true},
        {"BASIC", "region or product_model is empty", true},
        {"REAL", "product_value", true},   /* a REAL is not minor units */
        {"LONGPAID", "paid_at", true},     /* text past 63 bytes is read, not cut off */
        /* every reason, so that one fix mends them all */
        {"TWOWRONG", "registered_sn is empty: a returned unit's serial cannot be compared with it;"
                     " paid_at is not", true},
    };
    for (size_t w = 0; w < sizeof want / sizeof want[0]; w++) {
        long i = cr_claim_find_exact(claims, n, want[w].id);
        CHECK(i >= 0);
        if (i < 0)
            continue;
        const char *inv = claims[i].invalid;
        if (!want[w].why) {
            if (inv)
                fprintf(stderr, "  claim '%s': invalid '%s'\n", want[w].id, inv);
            CHECK(inv == NULL);
        } else {
            if (!inv || !strstr(inv, want[w].why))
                fprintf(stderr, "  claim '%s': invalid '%s'\n", want[w].id, inv ? inv : "(none)");
            CHECK(inv && strstr(inv, want[w].why));
        }
        CHECK_INT(claims[i].active, want[w].active);
    }
    long ok = cr_claim_find_exact(claims, n, "OK");
    if (ok >= 0) {
        CHECK_INT(claims[ok].paid_at, 1793614500);   /* 2026-11-02T10:15:00Z */
        CHECK_INT(claims[ok].product_value, 100000);
        /* a hold reference and a currency as pasted: Unicode blanks trimmed */
        CHECK_STR(claims[ok].preauth_ref, "pa-ok");
        CHECK_STR(claims[ok].currency, "USD");
    }
    claims_fix_close(&f);
}

/* --- the incremental night's closure (cr_store_subset_begin) ------------- */

/* A claim state row; FP is the fingerprint of the claim row it was made
 * from (0: not read from the claim database, as an archived claim's). */
static void put_state(cr_store *s, const char *id, const char *sn, const char *hold, bool active,
                      cr_time_t wake, uint64_t fp)
{
    char key[64], nsn[64];
    cr_claim_key(id, key, sizeof key);
    cr_serial_normalize(sn, nsn, sizeof nsn);
    cr_cstate c = {.claim_id = id, .key = key, .norm_sn = nsn, .preauth_ref = hold,
                   .active = active, .wake_at = wake, .decision = "release",
                   .deadline = CR_TIME_NONE, .shipped_at = CR_TIME_NONE,
                   .hold_expires = CR_TIME_NONE, .arrived_at = CR_TIME_NONE, .fp = fp};
    CHECK(cr_store_cstate_put(s, &c) == CR_OK);
}

static void put_claim_due(cr_store *s, const char *id, const char *sn, const char *hold,
                          bool active, cr_time_t wake)
{
    put_state(s, id, sn, hold, active, wake, 0);
}

static void put_claim(cr_store *s, const char *id, const char *sn, const char *hold, bool active)
{
    put_claim_due(s, id, sn, hold, active, CR_TIME_NONE);
}

/* A claim state as a night that read the claim from the claim database
 * records it: with the fingerprint of its row. */
static void put_claim_read(cr_store *s, const char *id, const char *sn, const char *hold)
{
    put_state(s, id, sn, hold, true, CR_TIME_NONE, 7);
}

static void put_event(cr_store *s, int64_t file, const char *claim, const char *sn, const char *trk)
{
    cr_receipt_row r = {.line = 2, .tracking = trk, .claim_ref = claim, .event = CR_EV_RECEIVED,
                        .at = 1000, .serial = sn, .battery_returned = 1, .genuine = 1};
    CHECK(cr_store_event_add(s, file, &r) == CR_OK);
}

static void put_row(cr_store *s, int64_t file, const char *psp, const char *merchant)
{
    cr_settle_row r = {.line = 2, .psp_ref = psp, .merchant_ref = merchant,
                       .type = CR_ST_RELEASE, .raw_type = "Cancelled", .booked_at = 1000};
    CHECK(cr_store_settlement_add(s, file, &r) == CR_OK);
}

/* The subset's claim ids, one string, in id order. */
static void subset_of(cr_store *s, int64_t last_event, int64_t last_row, char *out, size_t n,
                      int *connections)
{
    cr_subset_seed seed = {.as_of = 5000, .last_as_of = 4000, .last_event_id = last_event,
                           .last_row_id = last_row};
    long count = 0;
    cr_pool pool = CR_POOL_INIT;
    const char **ids = NULL;
    size_t nids = 0;
    out[0] = '\0';
    CHECK(cr_store_subset_begin(s, &seed, &count, connections) == CR_OK);
    CHECK(cr_store_subset_claim_ids(s, &pool, &ids, &nids) == CR_OK);
    CHECK((long)nids == count);
    for (size_t i = 0; i < nids; i++)
        snprintf(out + strlen(out), n - strlen(out), "%s%s", i ? " " : "", ids[i]);
    cr_store_subset_end(s);
    free(ids);
    cr_pool_release(&pool);
}

/* Two new rows seed two components: a new receipt (of claim C) alone, and
 * a new settlement row of claim B, which reaches by key, tracking number,
 * serial and hold reference every claim that shares one with what it
 * reached.  Only an active claim is reached by its serial; an unrelated
 * claim and row stay out.  The seeds fall in both halves (by the last
 * character of their key), so with threads the two connections each find
 * one component and the subset is their union.  Two more seeds: claim D,
 * whose timer is due, reaches a receipt with no claim reference by its
 * serial and through its tracking number claim F; an old receipt of claim
 * G dated after the last night (listed in events_later) is due now. */
TEST(store_subset_closes_over_every_key_on_one_or_two_connections)
{
    char dir[] = "/tmp/carerecon-unit-subset-XXXXXX", path[64];
    cr_store *s = tmp_store(dir, path, sizeof path);
    if (!s)
        return;
    int64_t run = 0, file = 0;
    CHECK(cr_store_run_start(s, 4000, "live", 4000, &run) == CR_OK);
    CHECK(cr_store_file_add(s, run, "00", "f.csv", "depot", CR_FEED_RECEIPTS, "ingested", NULL,
                            NULL, 4000, &file) == CR_OK);
    put_claim(s, "CE-A", "SN-A", "PA-A", true);
    put_claim(s, "CE-B", "SN-B", "PA-B", true);
    put_claim(s, "CE-C", "SN-C", "PA-C", true);
    put_claim(s, "CE-S", "SN-E1", "PA-S", true);    /* registered E1's serial */
    put_claim(s, "CE-T", "SN-E1", "PA-T", false);   /* once did, no longer active */
    put_claim(s, "CE-X", "SN-X", "PA-X", true);     /* settled under A's hold */
    put_claim(s, "CE-U", "SN-U", "PA-U", true);     /* nothing to do with any */
    put_event(s, file, "CE-B", "SN-B", "TRK-1");    /* old: B's shipment */
    put_event(s, file, "CE-A", "SN-E1", "TRK-1");   /* old: A's, same tracking number */
    put_row(s, file, "PA-A", "CE-X");               /* old: A's hold, X's reference */
    put_row(s, file, "PA-U", "CE-U");               /* old: U's */
    put_claim_due(s, "CE-D", "SN-D", "PA-D", true, 4500);   /* due */
    put_claim_due(s, "CE-E", "SN-E", "PA-E", true, 6000);   /* not yet */
    put_claim(s, "CE-F", "SN-F", "PA-F", true);
    put_claim(s, "CE-G", "SN-G", "PA-G", true);
    put_event(s, file, NULL, "SN-D", "TRK-5");      /* old: no claim reference */
    put_event(s, file, "CE-F", "SN-F", "TRK-5");    /* old: F's, same tracking number */
    put_event(s, file, "CE-G", "SN-G", "TRK-7");    /* old, dated after the last night */
    int64_t last_event = 0, last_row = 0;
    CHECK(cr_store_max_ids(s, &last_event, &last_row) == CR_OK);
    put_event(s, file, "CE-C", "SN-C", "TRK-9");    /* new: C's */
    put_row(s, file, "PA-B", "CE-B");               /* new: B's */
    CHECK(cr_store_ensure_indexes(s) == CR_OK);
    sqlite3 *db = NULL;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db, "INSERT INTO events_later SELECT event_id, 4500 FROM events"
                           " WHERE claim_key = 'ce-g'", NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(db);

    static const char want[] = "CE-A CE-B CE-C CE-D CE-F CE-G CE-S CE-X";
    char got[256];
    int conns = 0;
    unsetenv("CARERECON_THREADS");
    subset_of(s, last_event, last_row, got, sizeof got, &conns);
    CHECK(conns == 2);
    CHECK_STR(got, want);
    setenv("CARERECON_THREADS", "0", 1);
    subset_of(s, last_event, last_row, got, sizeof got, &conns);
    unsetenv("CARERECON_THREADS");
    CHECK(conns == 1);
    CHECK_STR(got, want);
    /* a claim new in the claim database is a seed with its keys as read
     * now: U's hold reference, which reaches U's row and so claim U (the
     * as-of is before any timer and every row is older) */
    cr_claim fresh = {.claim_id = "CE-N", .key = "ce-n", .preauth_ref = "PA-U"};
    cr_subset_seed seed = {.as_of = 4100, .last_as_of = 4000, .last_event_id = last_event + 1,
                           .last_row_id = last_row + 1, .new_claims = &fresh, .n_new = 1};
    long count = 0;
    CHECK(cr_store_subset_begin(s, &seed, &count, &conns) == CR_OK);
    CHECK_INT(count, 2);   /* CE-N and CE-U */
    cr_store_subset_end(s);
    cr_store_close(s);
    static const char *const files[] = {"state.db", "state.db-wal", "state.db-shm"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        unlink(path);
    }
    CHECK(rmdir(dir) == 0);
}

/* --- the claim database seen by an incremental night --------------------- */

/* A fresh folder (from template DIR) with a claim database CPATH holding
 * an empty claims table (claim_id declared with COLLATE, e.g. "" or
 * " COLLATE NOCASE") and the path of a state database PATH; the claim
 * database is returned open (WAL), for the test to fill. */
static sqlite3 *claims_db(char *dir, char path[64], char cpath[64], const char *collate)
{
    char sql[1024];
    sqlite3 *db = NULL;
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, 64, "%s/state.db", dir);
    snprintf(cpath, 64, "%s/claims.db", dir);
    CHECK(sqlite3_open(cpath, &db) == SQLITE_OK);
    snprintf(sql, sizeof sql,
             "PRAGMA journal_mode=WAL;"
             "CREATE TABLE claims(claim_id TEXT PRIMARY KEY%s, plan TEXT, region TEXT,"
             " product_model TEXT, registered_sn TEXT, battery_registered INTEGER,"
             " product_value INTEGER, currency TEXT, service_fee INTEGER, preauth_ref TEXT,"
             " preauth_amount INTEGER, card_brand TEXT, paid_at TEXT, return_days INTEGER,"
             " refresh_expires_on TEXT, replacements_left INTEGER, status TEXT);",
             collate);
    CHECK(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK);
    return db;
}

/* The shipped configuration, the claim database CPATH and a state
 * database at PATH, opened; false (and checks failed) when one is not. */
static bool open_both(const char *cpath, const char *path, cr_config **cfg, cr_claimsdb **cdb,
                      cr_store **s)
{
    CHECK(cr_config_load("config/carerecon.yaml", cfg) == CR_OK);
    CHECK(*cfg && cr_claimsdb_open(cpath, cdb) == CR_OK);
    CHECK(cr_store_open(path, true, s) == CR_OK);
    return *cfg && *cdb && *s;
}

/* open_both, then every claim of the claim database into *ALL (*N; the
 * tests below hold three). */
static bool open_loaded(const char *cpath, const char *path, cr_config **cfg, cr_claimsdb **cdb,
                        cr_store **s, cr_pool *pool, cr_claim **all, size_t *n)
{
    if (!open_both(cpath, path, cfg, cdb, s))
        return false;
    CHECK(cr_claimsdb_load(*cdb, *cfg, pool, all, n) == CR_OK);
    CHECK_INT(*n, 3);
    return true;
}

/* Undoes open_loaded and removes the test's folder DIR. */
static void close_loaded(const char *dir, cr_pool *pool, cr_claim *all, cr_claimsdb *cdb,
                         cr_store *s, cr_config *cfg)
{
    static const char *const files[] = {"state.db", "state.db-wal", "state.db-shm", "claims.db",
                                        "claims.db-wal", "claims.db-shm"};
    char path[4096];
    free(all);
    cr_pool_release(pool);
    cr_claimsdb_close(cdb);
    cr_store_close(s);
    cr_config_free(cfg);
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        unlink(path);
    }
    CHECK(rmdir(dir) == 0);
}

/* Records ALL[0..N) in the state as read now, but the claim EXCEPT. */
static void put_states(cr_store *s, const cr_claim *all, size_t n, const char *except)
{
    for (size_t i = 0; i < n; i++) {
        cr_cstate c = {.claim_id = all[i].claim_id, .key = all[i].key, .norm_sn = all[i].norm_sn,
                       .preauth_ref = all[i].preauth_ref, .active = true, .decision = "pending",
                       .fp = all[i].fp};
        if (!except || strcmp(all[i].claim_id, except) != 0)
            CHECK(cr_store_cstate_put(s, &c) == CR_OK);
    }
}

/* cr_claimsdb_changed against the state's rows: a claim new to the state
 * and one whose row changed are returned with their keys as read now; the
 * state rows of claims the claim database lost are counted (before its
 * first claim, between two, after its last).  And cr_claimsdb_snapshot: an
 * edit committed while the snapshot is open is not seen until it ends. */
TEST(store_claimsdb_changed_counts_gone_claims_and_snapshot_holds)
{
    char dir[] = "/tmp/carerecon-unit-changed-XXXXXX", path[64], cpath[64];
    sqlite3 *db = claims_db(dir, path, cpath, "");
    CHECK(sqlite3_exec(db,
                       "INSERT INTO claims VALUES('CE-B','premium','US','Mini 4 Pro','SN-B',1,1000,"
                       " 'USD',100,'PA-B',1000,'visa','2026-11-01T10:00:00Z',14,NULL,1,'active');"
                       "INSERT INTO claims SELECT 'CE-D','premium','US','Mini 4 Pro','SN-D',1,1000,"
                       " 'USD',100,'PA-D',1000,'visa','2026-11-01T10:00:00Z',14,NULL,1,'active';"
                       "INSERT INTO claims SELECT 'CE-F','premium','US','Mini 4 Pro','SN-F',1,1000,"
                       " 'USD',100,'PA-F',1000,'visa','2026-11-01T10:00:00Z',14,NULL,1,'active';",
                       NULL, NULL, NULL) == SQLITE_OK);
    cr_config *cfg = NULL;
    cr_claimsdb *cdb = NULL;
    cr_store *s = NULL;
    cr_pool pool = CR_POOL_INIT;
    cr_claim *all = NULL, *ch = NULL;
    size_t n = 0, nch = 0, gone = 0;
    if (!open_loaded(cpath, path, &cfg, &cdb, &s, &pool, &all, &n))
        return;
    /* the state knows A (gone), B (as now), C (gone), D (as it was), E, G
     * (gone), and H, archived with its payment action (fingerprint 0) */
    put_states(s, all, n, "CE-F");
    put_claim_read(s, "CE-A", "SN-A", "PA-A");
    put_claim_read(s, "CE-C", "SN-C", "PA-C");
    put_claim_read(s, "CE-E", "SN-E", "PA-E");
    put_claim_read(s, "CE-G", "SN-G", "PA-G");
    put_claim(s, "CE-H", "SN-H", "PA-H", false);
    /* ... and ce-f, archived, whose key is back as CE-F: gone (a review:
     * an incremental night kept its row, a full night forgot it) */
    put_claim(s, "ce-f", "SN-F", "PA-F", false);
    CHECK(sqlite3_exec(db, "UPDATE claims SET preauth_ref = 'PA-D2' WHERE claim_id = 'CE-D'", NULL,
                       NULL, NULL) == SQLITE_OK);
    CHECK(cr_claimsdb_changed(cdb, s, &pool, &ch, &nch, &gone) == CR_OK);
    CHECK_INT(gone, 5);   /* A, C, E, G, ce-f; not H */
    CHECK_INT(nch, 2);    /* D changed, F new to the state */
    if (nch == 2) {
        CHECK_STR(ch[0].claim_id, "CE-D");
        CHECK_STR(ch[0].preauth_ref, "PA-D2");
        CHECK_STR(ch[1].claim_id, "CE-F");
        CHECK_STR(ch[1].norm_sn, "SNF");
    }
    free(ch);
    /* one snapshot: an edit committed meanwhile is seen after it only */
    static const char *const d[] = {"CE-D"};
    cr_claim *got = NULL;
    size_t ngot = 0;
    CHECK(cr_claimsdb_snapshot(cdb, true) == CR_OK);
    CHECK(sqlite3_exec(db, "UPDATE claims SET registered_sn = 'SN-D9' WHERE claim_id = 'CE-D'", NULL,
                       NULL, NULL) == SQLITE_OK);
    CHECK(cr_claimsdb_load_ids(cdb, cfg, &pool, d, 1, &got, &ngot) == CR_OK);
    CHECK(ngot == 1 && strcmp(got[0].norm_sn, "SND") == 0);
    free(got);
    CHECK(cr_claimsdb_snapshot(cdb, false) == CR_OK);
    CHECK(cr_claimsdb_load_ids(cdb, cfg, &pool, d, 1, &got, &ngot) == CR_OK);
    CHECK(ngot == 1 && strcmp(got[0].norm_sn, "SND9") == 0);
    free(got);
    sqlite3_close(db);
    close_loaded(dir, &pool, all, cdb, s, cfg);
}

/* A claim database whose claim_id is declared COLLATE NOCASE (its index in
 * case-folded order): the merge with the state's rows (BINARY) still pairs
 * every claim with its state, so nothing looks changed or gone. */
TEST(store_claimsdb_changed_nocase_claim_ids)
{
    char dir[] = "/tmp/carerecon-unit-nocase-XXXXXX", path[64], cpath[64];
    sqlite3 *db = claims_db(dir, path, cpath, " COLLATE NOCASE");
    CHECK(sqlite3_exec(db,
                       "INSERT INTO claims VALUES('a-1','premium','US','M','SN1',1,1000,'USD',100,"
                       " 'P1',1000,'visa','2026-11-01T10:00:00Z',14,NULL,1,'active');"
                       "INSERT INTO claims VALUES('B-2','premium','US','M','SN2',1,1000,'USD',100,"
                       " 'P2',1000,'visa','2026-11-01T10:00:00Z',14,NULL,1,'active');"
                       "INSERT INTO claims VALUES('c-3','premium','US','M','SN3',1,1000,'USD',100,"
                       " 'P3',1000,'visa','2026-11-01T10:00:00Z',14,NULL,1,'active');",
                       NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(db);
    cr_config *cfg = NULL;
    cr_claimsdb *cdb = NULL;
    cr_store *s = NULL;
    cr_pool pool = CR_POOL_INIT;
    cr_claim *all = NULL, *ch = NULL;
    size_t n = 0, nch = 0, gone = 0;
    if (!open_loaded(cpath, path, &cfg, &cdb, &s, &pool, &all, &n))
        return;
    put_states(s, all, n, NULL);
    CHECK(cr_claimsdb_changed(cdb, s, &pool, &ch, &nch, &gone) == CR_OK);
    CHECK_INT(nch, 0);
    CHECK_INT(gone, 0);
    free(ch);
    close_loaded(dir, &pool, all, cdb, s, cfg);
}

static void *nothing(void *p)
{
    return p;
}

/* With $CARERECON_CHECK_THREADS a state connection handed to another thread
 * refuses the thread that gave it away (nothing is run), and serves it
 * again once taken back. */
TEST(store_connection_used_only_by_its_thread)
{
    setenv("CARERECON_CHECK_THREADS", "1", 1);
    cr_store *s = NULL;
    CHECK(cr_store_open(":memory:", true, &s) == CR_OK);
    unsetenv("CARERECON_CHECK_THREADS");
    if (!s)
        return;
    pthread_t other;
    CHECK(pthread_create(&other, NULL, nothing, NULL) == 0);
    pthread_join(other, NULL);
    CHECK(cr_store_meta_set(s, "k", 1) == CR_OK);
    cr_store_hand(s, other);
    CHECK(cr_store_meta_set(s, "k", 2) != CR_OK);   /* refused: "internal error" */
    cr_store_own(s);
    int64_t v = 0;
    bool found = false;
    CHECK(cr_store_meta_get(s, "k", &v, &found) == CR_OK);
    CHECK(found);
    CHECK_INT(v, 1);
    cr_store_close(s);
}

/* The ingestion's commits do not wait for the disk; everything else does
 * (FULL is 2, NORMAL 1), and inside a transaction nothing changes. */
TEST(store_sync_ingest_levels)
{
    char dir[] = "/tmp/cr_sync_XXXXXX", path[64];
    cr_store *s = tmp_store(dir, path, sizeof path);
    if (!s)
        return;
    CHECK_INT(cr_store_sync_level(s), 2);
    CHECK(cr_store_sync_ingest(s, true) == CR_OK);
    CHECK_INT(cr_store_sync_level(s), 1);
    CHECK(cr_store_sync_ingest(s, false) == CR_OK);
    CHECK_INT(cr_store_sync_level(s), 2);
    CHECK(cr_store_begin(s) == CR_OK);
    CHECK(cr_store_sync_ingest(s, true) == CR_OK);
    CHECK_INT(cr_store_sync_level(s), 2);
    CHECK(cr_store_rollback(s) == CR_OK);
    cr_store_close(s);
    snprintf(path, sizeof path, "rm -rf %s", dir);
    CHECK_INT(system(path), 0);
}

/* An exception recorded by a carerecon that cut subjects to 159 bytes (a
 * long processor reference and file name) is the same exception when seen
 * again with its whole subject: it takes the whole subject and its ID, and
 * keeps its status (acknowledged stays acknowledged: before, it came back
 * as a new open exception and the old one stayed behind). */
TEST(store_exception_with_cut_subject_taken_up)
{
    char dir[] = "/tmp/cr_cut_XXXXXX", path[64];
    cr_store *s = tmp_store(dir, path, sizeof path);
    if (!s)
        return;
    char subject[240], cut[160], old_id[24], new_id[24];
    memset(subject, 'R', 200);
    snprintf(subject + 200, sizeof subject - 200, "@settlement_batch.csv:12");
    snprintf(cut, sizeof cut, "%s", subject);   /* what the old carerecon kept */
    cr_exc x = {.code = CR_X_UNMATCHED_SETTLEMENT, .claim_id = "", .subject = cut, .reference = "",
                .detail = "old", .source_file = ""};
    bool is_new = false;
    CHECK(cr_store_begin(s) == CR_OK);
    CHECK(cr_store_exc_seen(s, &x, 1, 1000, &is_new) == CR_OK);
    CHECK(is_new);
    cr_exc_id(x.code, cut, old_id);
    cr_ack_outcome was;
    CHECK(cr_store_exc_ack(s, old_id, "seen", "finance", 1001, &was) == CR_OK);
    /* the next night sees it with the whole subject */
    x.subject = subject;
    x.detail = "new";
    CHECK(cr_store_exc_seen(s, &x, 2, 2000, &is_new) == CR_OK);
    CHECK(!is_new);
    cr_exc_id(x.code, subject, new_id);
    CHECK(strcmp(old_id, new_id) != 0);
    CHECK(cr_store_exc_ack(s, new_id, "again", "finance", 2001, &was) == CR_OK);
    CHECK_INT(was, CR_ACK_BEFORE);
    CHECK_INT(cr_store_exc_ack(s, old_id, "again", "finance", 2001, &was), CR_ENOTFOUND);
    /* a subject of another code with the same cut is not taken up */
    x.code = CR_X_UNEXPECTED_CAPTURE;
    CHECK(cr_store_exc_seen(s, &x, 2, 2000, &is_new) == CR_OK);
    CHECK(is_new);
    CHECK(cr_store_commit(s) == CR_OK);
    cr_store_close(s);
    snprintf(path, sizeof path, "rm -rf %s", dir);
    CHECK_INT(system(path), 0);
}
