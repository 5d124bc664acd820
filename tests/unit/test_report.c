/* test_report.c - unit tests for report.c.
 *
 * The cell-level checks of the workbook are done by tests/xlsx_check.py;
 * set CR_TEST_REPORT_OUT=/some/dir to keep the sample workbooks written
 * here (live.xlsx, dry.xlsx, empty.xlsx) for it. */
#include "harness.h"
#include "report.h"

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define FFFD "\xEF\xBF\xBD"

/* cr_cell_text(S) compared with WANT; frees the result. */
static int cell_is(const char *s, const char *want)
{
    char *got = cr_cell_text(s);
    int ok = got && strcmp(got, want) == 0;
    if (!ok)
        fprintf(stderr, "  cr_cell_text gave \"%s\", want \"%s\"\n", got ? got : "(null)", want);
    free(got);
    return ok;
}

/* Characters (code points) of UTF-8 S. */
static size_t cps(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

TEST(report_cell_text_plain)
{
    CHECK(cell_is("CE2611-000101", "CE2611-000101"));
    CHECK(cell_is("", ""));
    CHECK(cell_is(NULL, ""));
    CHECK(cell_is("=HYPERLINK(\"http://x\",\"y\")", "=HYPERLINK(\"http://x\",\"y\")"));
    CHECK(cell_is("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80", "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"));
    CHECK(cell_is("tab\there\nnewline", "tab\there\nnewline"));
}

TEST(report_cell_text_controls)
{
    CHECK(cell_is("a\x01" "b", "a" FFFD "b"));
    CHECK(cell_is("a\rb", "a" FFFD "b"));
    CHECK(cell_is("\x1b[31m", FFFD "[31m"));
    CHECK(cell_is("del\x7f", "del" FFFD));
    CHECK(cell_is("c1\xC2\x85", "c1" FFFD));          /* U+0085 NEL */
    CHECK(cell_is("\xEF\xBF\xBE", FFFD));             /* U+FFFE */
    CHECK(cell_is("\xC2\xA0", "\xC2\xA0"));           /* no-break space stays */
}

TEST(report_cell_text_invalid_utf8)
{
    CHECK(cell_is("\xff", FFFD));
    CHECK(cell_is("ab\xC3", "ab" FFFD));               /* cut sequence at the end */
    CHECK(cell_is("\xE2\x82" "A", FFFD "A"));          /* maximal subpart: one U+FFFD */
    CHECK(cell_is("\xC0\xAF", FFFD FFFD));             /* overlong */
    CHECK(cell_is("\xED\xA0\x80", FFFD FFFD FFFD));    /* surrogate */
    CHECK(cell_is("\xF4\x90\x80\x80", FFFD FFFD FFFD FFFD)); /* above U+10FFFF */
    CHECK(cell_is("\x80x", FFFD "x"));                 /* lone continuation byte */
    CHECK(cell_is("S\xE9rie", "S" FFFD "rie"));        /* Latin-1 */
}

TEST(report_cell_text_cap)
{
    size_t n = 40000;
    char *s = malloc(4 * n + 1), *t;
    CHECK(s != NULL);
    if (!s)
        return;
    memset(s, 'a', n);
    s[n] = '\0';
    t = cr_cell_text(s);
    CHECK(t && strlen(t) == 32767);
    free(t);

    /* 32766 ASCII then euros: one euro fits */
    memset(s, 'a', 32766);
    strcpy(s + 32766, "\xE2\x82\xAC\xE2\x82\xAC");
    t = cr_cell_text(s);
    CHECK(t && strlen(t) == 32766 + 3 && strcmp(t + 32766, "\xE2\x82\xAC") == 0);
    free(t);

    /* a character above U+FFFF counts two (Excel counts UTF-16): not split, left out */
    strcpy(s + 32766, "\xF0\x9F\x98\x80");
    t = cr_cell_text(s);
    CHECK(t && strlen(t) == 32766);
    free(t);

    /* only multi-byte characters: cut on a character boundary */
    for (size_t i = 0; i < n; i++)
        memcpy(s + 3 * i, "\xE2\x82\xAC", 3);
    s[3 * n] = '\0';
    t = cr_cell_text(s);
    CHECK(t && strlen(t) == 3 * 32767 && cps(t) == 32767);
    free(t);

    /* invalid bytes: each U+FFFD is three bytes, still 32767 characters */
    memset(s, 0xff, n);
    s[n] = '\0';
    t = cr_cell_text(s);
    CHECK(t && cps(t) == 32767 && strlen(t) == 3 * 32767);
    free(t);
    free(s);
}

TEST(report_rows_add)
{
    cr_rep_rows l = {0};
    cr_rep_row *r = NULL;
    for (int i = 0; i < 100; i++) {
        r = cr_rep_rows_add(&l);
        if (!r)
            break;
        r->amount = i;
    }
    CHECK(r != NULL);
    CHECK_INT(l.n, 100);
    CHECK_INT(l.items[99].amount, 99);
    CHECK(l.items[5].deadline == CR_TIME_NONE);
    CHECK(l.items[5].received_at == CR_TIME_NONE);
    CHECK(l.items[5].claim_id == NULL);
    CHECK(!l.items[5].reminder);
    cr_rep_rows_release(&l);
    CHECK(l.items == NULL && l.n == 0);
    cr_rep_rows_release(NULL);
}

/* ---- a small report ---- */

typedef struct sample {
    cr_config cfg;
    cr_currency_exp exps[2];
    cr_run_stats st;
    cr_rep_row cap[3], rel[1], pend[2], ful[1];
    cr_rep_rows lcap, lrel, lpend, lful;
    cr_exc_row exc[4];
    cr_reject_view rej[3];
    cr_rep_file files[3];
    cr_report r;
} sample;

/* 2026-11-20T19:03:55Z = 14:03:55 in New York */
#define T0 ((cr_time_t)1795201435)

/* Fills S with a live run; the caller frees S->cfg.tz. */
static void sample_fill(sample *s)
{
    memset(s, 0, sizeof *s);
    s->cfg.timezone_name = "America/New_York";
    s->cfg.tz = cr_tz_load("America/New_York");
    memcpy(s->exps[0].code, "JPY", 4);
    s->exps[0].exponent = 0;
    memcpy(s->exps[1].code, "KWD", 4);
    s->exps[1].exponent = 3;
    s->cfg.policy.currency_exponents = s->exps;
    s->cfg.policy.n_currency_exponents = 2;

    s->st = (cr_run_stats){.files_ingested = 2, .files_skipped = 1, .files_rejected = 1,
                           .files_unmatched = 0, .rows_accepted = 14, .rows_rejected = 3,
                           .rows_ignored = 2, .captures = 3, .releases = 1, .pending = 2,
                           .exceptions_open = 4, .exceptions_new = 3};
    for (int i = 0; i < 3; i++) {
        cr_rep_row *c = &s->cap[i];
        c->deadline = T0 - 86400 * (i + 1);
        c->arrived_at = T0 - 3600;
        c->shipped_at = c->hold_expires = c->received_at = CR_TIME_NONE;
        c->card_brand = "visa";
    }
    s->cap[0].claim_id = "CE2611-000101";
    s->cap[0].psp_ref = "=HYPERLINK(\"http://evil.example\",\"click\")";
    s->cap[0].amount = 129900;
    s->cap[0].currency = "USD";
    s->cap[0].reason = "SN_MISMATCH";
    s->cap[0].detail = "SN_MISMATCH; BATTERY_NOT_RETURNED";
    s->cap[0].received_sn = "+1";
    s->cap[0].registered_sn = "@SUM(A1)";
    s->cap[1].claim_id = "CE2611-000102";
    s->cap[1].psp_ref = "-2";
    s->cap[1].amount = 150000;
    s->cap[1].currency = "JPY";
    s->cap[1].reason = "NOT_RETURNED";
    s->cap[1].arrived_at = CR_TIME_NONE;
    s->cap[1].auth_expired = true;
    s->cap[2].claim_id = "CE2611-000103";
    s->cap[2].psp_ref = "PSP-3";
    s->cap[2].amount = 12345;
    s->cap[2].currency = "KWD";
    s->cap[2].reason = "NON_GENUINE";
    s->cap[2].received_sn = "SN\x01" "bad\xff" "_x0041_";

    s->rel[0] = (cr_rep_row){.claim_id = "CE2611-000201", .psp_ref = "PSP-201",
                             .amount = 129900, .currency = "USD", .reason = "RETURNED",
                             .arrived_at = T0 - 7200, .deadline = CR_TIME_NONE,
                             .shipped_at = CR_TIME_NONE, .hold_expires = CR_TIME_NONE,
                             .received_at = CR_TIME_NONE};
    s->pend[0] = (cr_rep_row){.claim_id = "CE2611-000301", .state = "pending", .days_left = 12,
                              .reminder = true, .amount = 99900, .currency = "USD",
                              .deadline = T0 + 12 * 86400, .shipped_at = CR_TIME_NONE,
                              .hold_expires = T0 + 5 * 86400, .arrived_at = CR_TIME_NONE,
                              .received_at = CR_TIME_NONE};
    s->pend[1] = (cr_rep_row){.claim_id = "CE2611-000302", .state = "in_transit",
                              .days_left = -1, .amount = 50000, .currency = "JPY",
                              .deadline = T0 - 86400, .shipped_at = T0 - 3 * 86400,
                              .hold_expires = CR_TIME_NONE, .arrived_at = CR_TIME_NONE,
                              .received_at = CR_TIME_NONE};
    s->ful[0] = (cr_rep_row){.claim_id = "CE2611-000401", .region = "DE",
                             .product_model = "Vita 3", .received_sn = "VT3-000123",
                             .received_at = T0 - 600, .deadline = CR_TIME_NONE,
                             .arrived_at = CR_TIME_NONE, .shipped_at = CR_TIME_NONE,
                             .hold_expires = CR_TIME_NONE};
    s->exc[0] = (cr_exc_row){.id = "EX-0001", .code = "SN_NEAR_MATCH", .severity = "medium",
                             .claim_id = "CE2611-000101", .detail = "O vs 0", .status = "open",
                             .first_seen = T0 - 86400, .last_seen = T0,
                             .source_file = "receipts_20261119.csv", .source_line = 7};
    s->exc[1] = (cr_exc_row){.id = "EX-0002", .code = "AUTH_EXPIRED", .severity = "high",
                             .claim_id = "CE2611-000102", .status = "open",
                             .first_seen = T0, .last_seen = T0};
    s->exc[2] = (cr_exc_row){.id = "EX-0003", .code = "UNMATCHED_SETTLEMENT", .severity = "high",
                             .reference = "=1+1", .status = "open", .first_seen = T0,
                             .last_seen = T0, .source_file = "psp.csv", .source_line = 3};
    s->exc[3] = (cr_exc_row){.id = "EX-0004", .code = "AUTH_EXPIRED", .severity = "high",
                             .claim_id = "CE2611-000103", .status = "open",
                             .first_seen = T0, .last_seen = T0};
    s->rej[0] = (cr_reject_view){.file = "receipts_20261120.csv", .line = 4,
                                 .reason = "bad date", .field = "event_at",
                                 .detail = "2026-02-30", .raw = "TRK1;CE2611-000101;2026-02-30"};
    s->rej[1] = (cr_reject_view){.file = "receipts_20261120.csv", .line = 9,
                                 .reason = "formula", .raw = "=cmd|' /C calc'!A0"};
    s->rej[2] = (cr_reject_view){.file = "garbage.csv", .line = 0, .reason = "no header"};
    s->files[0] = (cr_rep_file){.name = "receipts_20261120.csv", .kind = "receipts",
                                .feed = "dhl", .outcome = "ingested", .rows = 12,
                                .accepted = 10, .rejected = 2};
    s->files[1] = (cr_rep_file){.name = "psp.csv", .kind = "settlements", .feed = "adyen",
                                .outcome = "ingested", .rows = 6, .accepted = 4,
                                .rejected = 0, .ignored = 2};
    s->files[2] = (cr_rep_file){.name = "garbage.csv", .kind = "receipts",
                                .outcome = "rejected", .detail = "no header"};

    s->r.cfg = &s->cfg;
    s->r.run_id = 42;
    s->r.as_of = T0;
    s->r.generated_at = T0 + 65;
    s->r.mode = "LIVE";
    s->r.stats = &s->st;
    s->lcap = (cr_rep_rows){.items = s->cap, .n = 3};
    s->lrel = (cr_rep_rows){.items = s->rel, .n = 1};
    s->lpend = (cr_rep_rows){.items = s->pend, .n = 2};
    s->lful = (cr_rep_rows){.items = s->ful, .n = 1};
    s->r.captures = &s->lcap;
    s->r.releases = &s->lrel;
    s->r.pending = &s->lpend;
    s->r.fulfillment = &s->lful;
    s->r.exceptions = s->exc;
    s->r.n_exceptions = 4;
    s->r.rejects = s->rej;
    s->r.n_rejects = 3;
    s->r.files = s->files;
    s->r.n_files = 3;
    s->r.payment_file = "payment_actions_20261120_run42.csv";
    s->r.fulfillment_file = "fulfillment_20261120_run42.csv";
}

/* Number of entries in folder D (without . and ..). */
static int entries(const char *d)
{
    int n = 0;
    DIR *dir = opendir(d);
    struct dirent *e;
    if (!dir)
        return -1;
    while ((e = readdir(dir)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(dir);
    return n;
}

/* True when PATH exists and starts with "PK" (a zip file). */
static int is_zip(const char *path)
{
    char b[2] = {0, 0};
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    size_t n = fread(b, 1, 2, f);
    fclose(f);
    return n == 2 && b[0] == 'P' && b[1] == 'K';
}

/* Writes R as NAME into folder DIR and, when CR_TEST_REPORT_OUT is set,
 * into that folder too. */
static cr_err write_to(const cr_report *r, const char *dir, const char *name, char *path,
                       size_t n)
{
    const char *keep = getenv("CR_TEST_REPORT_OUT");
    snprintf(path, n, "%s/%s", dir, name);
    if (keep && *keep) {
        char kp[512];
        snprintf(kp, sizeof kp, "%s/%s", keep, name);
        cr_report_write(r, kp);
    }
    return cr_report_write(r, path);
}

/* A filled sample, and DIR ("/tmp/cr_report_XXXXXX") made a fresh folder;
 * NULL (a failed check) when either cannot be had. */
static sample *sample_in(char *dir)
{
    sample *s = malloc(sizeof *s);
    CHECK(s != NULL && mkdtemp(dir) != NULL);
    if (s)
        sample_fill(s);
    return s;
}

TEST(report_write_live)
{
    char dir[] = "/tmp/cr_report_XXXXXX", path[256];
    struct stat sb;
    sample *s = sample_in(dir);
    if (!s)
        return;
    CHECK(s->cfg.tz != NULL);
    CHECK_INT(write_to(&s->r, dir, "live.xlsx", path, sizeof path), CR_OK);
    CHECK(is_zip(path));
    CHECK(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0640);
    CHECK_INT(entries(dir), 1);           /* no temporary file left behind */
    /* writing again replaces it */
    s->lcap.n = 1;
    CHECK_INT(cr_report_write(&s->r, path), CR_OK);
    CHECK(is_zip(path));
    CHECK_INT(entries(dir), 1);
    unlink(path);
    rmdir(dir);
    cr_tz_free(s->cfg.tz);
    free(s);
}

/* Rows spilled to a file read back as they were written, in order, then
 * those still in memory; twice (the workbook reads a sheet's rows twice). */
static void fill_row(cr_rep_row *r, int i, const char *big)
{
    static const char *const cur[] = {"USD", "JPY", NULL, ""};
    r->claim_id = i % 5 == 0 ? "" : "CE2611-000001";
    r->psp_ref = i % 3 ? "PSP-\xc3\xa9=1" : NULL;
    r->currency = cur[i % 4];
    r->detail = i == 7 ? big : i % 2 ? "SN_MISMATCH; BATTERY_NOT_RETURNED" : NULL;
    r->state = i % 4 == 1 ? "in_transit" : NULL;
    r->product_model = "Mavic\n\"4\"";
    r->amount = i % 2 ? -129900 - i : INT64_MAX - i;
    r->deadline = i % 3 ? CR_TIME_NONE : (cr_time_t)1795201435 + i;
    r->received_at = INT64_MIN + i;
    r->days_left = -i;
    r->reminder = i % 2;
    r->auth_expired = i % 3 == 0;
}

static bool same_text(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static bool same_row(const cr_rep_row *a, const cr_rep_row *b)
{
    return same_text(a->claim_id, b->claim_id) && same_text(a->psp_ref, b->psp_ref) &&
           same_text(a->card_brand, b->card_brand) && same_text(a->currency, b->currency) &&
           same_text(a->reason, b->reason) && same_text(a->detail, b->detail) &&
           same_text(a->received_sn, b->received_sn) &&
           same_text(a->registered_sn, b->registered_sn) && same_text(a->region, b->region) &&
           same_text(a->product_model, b->product_model) && same_text(a->state, b->state) &&
           a->amount == b->amount && a->deadline == b->deadline && a->arrived_at == b->arrived_at &&
           a->shipped_at == b->shipped_at && a->hold_expires == b->hold_expires &&
           a->received_at == b->received_at && a->days_left == b->days_left &&
           a->reminder == b->reminder && a->auth_expired == b->auth_expired;
}

TEST(report_rows_spool_round_trip)
{
    char dir[] = "/tmp/cr_spool_XXXXXX", like[256];
    enum { N = 40, TAIL = 3 };
    char *big = malloc(100001);
    CHECK(big != NULL && mkdtemp(dir) != NULL);
    if (!big)
        return;
    memset(big, 'x', 100000);
    big[100000] = '\0';
    snprintf(like, sizeof like, "%s/w.xlsx", dir);
    cr_rep_rows l = {0};
    int e = -1;
    CHECK_INT(cr_rep_rows_spool(&l, like, &e), CR_OK);
    CHECK_INT(e, 0);
    CHECK_INT(entries(dir), 0);   /* unlinked at once */
    cr_rep_row want[N];
    for (int i = 0; i < N; i++) {
        cr_rep_row *r = cr_rep_rows_add(&l);
        CHECK(r != NULL);
        if (!r)
            break;
        fill_row(r, i, big);
        want[i] = *r;
        if (i < N - TAIL && (i % 7 == 6 || i == N - TAIL - 1))
            CHECK_INT(cr_rep_rows_spill(&l), CR_OK);   /* in blocks of 7, and the rest */
    }
    CHECK_INT(l.spool.n, N - TAIL);
    CHECK_INT(l.n, TAIL);
    CHECK_INT(cr_rep_rows_count(&l), N);
    for (int pass = 0; pass < 2; pass++) {
        cr_rep_iter it;
        int k = 0;
        for (const cr_rep_row *r = cr_rep_rows_first(&l, &it); r; r = cr_rep_rows_next(&it), k++)
            if (k >= N || !same_row(r, &want[k])) {
                CHECK(!"row read back differs");
                break;
            }
        CHECK_INT(cr_rep_iter_end(&it), 0);
        CHECK_INT(k, N);
    }
    /* more rows spilled after a read append after the others */
    fill_row(cr_rep_rows_add(&l), 1, big);
    CHECK_INT(cr_rep_rows_seal(&l), CR_OK);
    CHECK_INT(l.spool.n, N + 1);
    cr_rep_iter it;
    int k = 0;
    const cr_rep_row *last = NULL;
    for (const cr_rep_row *r = cr_rep_rows_first(&l, &it); r; r = cr_rep_rows_next(&it), k++)
        last = r;
    CHECK_INT(k, N + 1);
    CHECK(last && same_row(last, &want[1]));
    CHECK_INT(cr_rep_iter_end(&it), 0);
    cr_rep_rows_release(&l);
    CHECK(l.spool.f == NULL && l.n == 0 && l.spool.n == 0);
    /* no spool: spilling keeps the rows in memory */
    fill_row(cr_rep_rows_add(&l), 2, big);
    CHECK_INT(cr_rep_rows_spill(&l), CR_OK);
    CHECK_INT(l.n, 1);
    cr_rep_rows_release(&l);
    /* a folder that is not there */
    snprintf(like, sizeof like, "%s/no/w.xlsx", dir);
    CHECK_INT(cr_rep_rows_spool(&l, like, &e), CR_ECANTCREAT);
    CHECK_INT(e, ENOENT);
    free(big);
    rmdir(dir);
}

/* A spool that cannot be written (a full disk) loses its rows: the
 * workbook that would list them fails, saying why, and leaves nothing. */
TEST(report_rows_spool_full)
{
    cr_rep_rows l = {0};
    l.spool.f = fopen("/dev/full", "w+b");
    CHECK(l.spool.f != NULL);
    if (!l.spool.f)
        return;
    for (int i = 0; i < 2000; i++) {
        fill_row(cr_rep_rows_add(&l), i, "");
        cr_rep_rows_spill(&l);
    }
    CHECK_INT(cr_rep_rows_seal(&l), CR_EIO);
    CHECK_INT(l.spool.err, ENOSPC);
    CHECK_INT(l.n, 0);
    cr_rep_iter it;
    CHECK(cr_rep_rows_first(&l, &it) == NULL);
    CHECK_INT(cr_rep_iter_end(&it), ENOSPC);
    cr_rep_rows_release(&l);
}

/* Rows that could not be kept fail the workbook, which leaves nothing. */
TEST(report_write_rows_lost)
{
    char dir[] = "/tmp/cr_report_XXXXXX", path[256];
    sample *s = sample_in(dir);
    if (!s)
        return;
    s->lrel.spool.err = ENOSPC;
    CHECK_INT(write_to(&s->r, dir, "lost.xlsx", path, sizeof path), CR_EIO);
    CHECK_INT(entries(dir), 0);
    rmdir(dir);
    cr_tz_free(s->cfg.tz);
    free(s);
}

/* The publish hook: asked once, after the workbook is complete; false
 * leaves nothing behind, true gives it its name. */
static int publish_asked;
static bool publish_no(void *ud)
{
    (void)ud;
    publish_asked++;
    return false;
}
static bool publish_yes(void *ud)
{
    publish_asked++;
    return ud != NULL;
}

TEST(report_write_publish_hook)
{
    char dir[] = "/tmp/cr_report_XXXXXX", path[256];
    struct stat sb;
    sample *s = sample_in(dir);
    if (!s)
        return;
    snprintf(path, sizeof path, "%s/gated.xlsx", dir);
    publish_asked = 0;
    s->r.publish = publish_no;
    CHECK_INT(cr_report_write(&s->r, path), CR_OK);
    CHECK_INT(publish_asked, 1);
    CHECK(stat(path, &sb) != 0);          /* not published */
    CHECK_INT(entries(dir), 0);           /* and no temporary file left */
    s->r.publish = publish_yes;
    s->r.publish_ud = s;
    CHECK_INT(cr_report_write(&s->r, path), CR_OK);
    CHECK_INT(publish_asked, 2);
    CHECK(is_zip(path));
    CHECK_INT(entries(dir), 1);
    unlink(path);
    rmdir(dir);
    cr_tz_free(s->cfg.tz);
    free(s);
}

TEST(report_write_dry_and_empty)
{
    char dir[] = "/tmp/cr_report_XXXXXX", path[256];
    sample *s = sample_in(dir);
    if (!s)
        return;
    s->r.dry_run = true;
    s->r.run_id = 0;
    s->r.mode = "DRY RUN";
    s->r.n_exceptions = 0;                /* the chart falls back to decisions */
    s->r.payment_file = s->r.fulfillment_file = NULL;
    CHECK_INT(write_to(&s->r, dir, "dry.xlsx", path, sizeof path), CR_OK);
    CHECK(is_zip(path));
    unlink(path);

    /* nothing at all, no stats, no configuration: UTC, exponent 2 */
    cr_report empty = {.as_of = T0, .generated_at = T0, .mode = "LIVE", .run_id = 7};
    CHECK_INT(write_to(&empty, dir, "empty.xlsx", path, sizeof path), CR_OK);
    CHECK(is_zip(path));
    unlink(path);
    CHECK_INT(entries(dir), 0);
    rmdir(dir);
    cr_tz_free(s->cfg.tz);
    free(s);
}

TEST(report_write_missing_folder)
{
    char dir[] = "/tmp/cr_report_XXXXXX", path[256];
    sample *s = sample_in(dir);
    if (!s)
        return;
    snprintf(path, sizeof path, "%s/no/such/folder/x.xlsx", dir);
    CHECK_INT(cr_report_write(&s->r, path), CR_ECANTCREAT);
    CHECK_INT(entries(dir), 0);
    /* a folder where the file should go: cannot be replaced */
    snprintf(path, sizeof path, "%s/sub", dir);
    CHECK(mkdir(path, 0700) == 0);
    CHECK_INT(cr_report_write(&s->r, path), CR_ECANTCREAT);
    CHECK_INT(entries(dir), 1);           /* only "sub": the temporary file is gone */
    rmdir(path);
    CHECK_INT(cr_report_write(&s->r, ""), CR_ECANTCREAT);
    rmdir(dir);
    cr_tz_free(s->cfg.tz);
    free(s);
}
