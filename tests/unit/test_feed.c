/* test_feed.c - unit tests for feed.c (one file read through its feed). */
#include "harness.h"
#include "feed.h"

#include <stdlib.h>

/* ---- the configuration the tests read files with ---- */

static const char feed_yaml[] =
    "claims_db: /t/c.db\nstate_db: /t/s.db\nreport_dir: /t/r\nactions_dir: /t/a\n"
    "inbox: {receipts: /t/in/r, settlements: /t/in/s}\n"
    "policy:\n"
    "  currency_exponents: {JPY: 0}\n"
    "feeds:\n"
    "  - name: depot\n"
    "    kind: receipts\n"
    "    files: \"depot_*.csv\"\n"
    "    datetime_format: \"%Y-%m-%dT%H:%M:%S%z\"\n"
    "    timezone: America/New_York\n"
    "    event: received\n"
    "    columns:\n"
    "      claim_ref: \"RMA No\"\n"
    "      tracking_number: \"Tracking No\"\n"
    "      event_at: \"Checked In\"\n"
    "      serial: \"Serial No\"\n"
    "      battery_returned: \"Battery Returned\"\n"
    "      genuine: \"Genuine\"\n"
    "    true_values: [\"Y\", \"JA\"]\n"
    "    false_values: [\"N\", \"NEIN\"]\n"
    "  - name: carrier\n"
    "    kind: receipts\n"
    "    files: \"carrier_*.csv\"\n"
    "    datetime_format: \"%Y%m%d %H%M%S\"\n"
    "    timezone: America/Los_Angeles\n"
    "    event_column: \"Activity Code\"\n"
    "    event_values: {P: shipped, D: delivered, I: ignore, X: ignore}\n"
    "    columns: {tracking_number: \"Tracking Number\", claim_ref: \"Reference Number 1\",\n"
    "              event_at: [\"Activity Date\", \"Activity Time\"]}\n"
    "  - name: local\n"
    "    kind: receipts\n"
    "    files: \"local_*.csv\"\n"
    "    delimiter: \";\"\n"
    "    skip_lines: 2\n"
    "    datetime_format: \"%Y-%m-%d %H:%M\"\n"
    "    timezone: America/Los_Angeles\n"
    "    event: delivered\n"
    "    columns: {tracking_number: trk, event_at: when}\n"
    "  - name: processor\n"
    "    kind: settlements\n"
    "    files: \"settlement_detail_report_*.csv\"\n"
    "    datetime_format: \"%Y-%m-%d %H:%M:%S\"\n"
    "    timezone_column: \"TimeZone\"\n"
    "    timezone_abbreviations: {CET: \"+01:00\", CEST: \"+02:00\", PST: \"-08:00\", "
    "PDT: \"-07:00\"}\n"
    "    type_column: \"Type\"\n"
    "    type_values: {Settled: capture, Cancelled: release, Expired: expired,\n"
    "                  Refunded: refund, Fee: fee, Chargeback: chargeback,\n"
    "                  SentForSettle: ignore}\n"
    "    card_brand_values: {mc: mastercard}\n"
    "    columns: {psp_reference: \"Psp Reference\", merchant_reference: \"Merchant Reference\",\n"
    "              amount: [\"Gross Credit (GC)\", \"Gross Debit (GC)\"], "
    "currency: \"Gross Currency\",\n"
    "              booked_at: \"Creation Date\", card_brand: \"Payment Method\"}\n"
    "  - name: simple\n"
    "    kind: settlements\n"
    "    files: \"simple_*.csv\"\n"
    "    delimiter: \"\\t\"\n"
    "    datetime_format: \"%Y-%m-%dT%H:%M:%S%z\"\n"
    "    type_column: type\n"
    "    type_values: {capture: capture, release: release, refund: refund}\n"
    "    columns: {merchant_reference: claim, amount: amount, currency: cur, booked_at: at}\n"
    "  - name: zoned\n"
    "    kind: settlements\n"
    "    files: \"zoned_*.csv\"\n"
    "    datetime_format: \"%Y-%m-%d %H:%M\"\n"
    "    timezone: America/New_York\n"
    "    timezone_column: tz\n"
    "    timezone_abbreviations: {CET: \"+01:00\"}\n"
    "    type_column: type\n"
    "    type_values: {capture: capture}\n"
    "    columns: {merchant_reference: claim, amount: amount, currency: cur, booked_at: at}\n"
    "  - name: frac\n"
    "    kind: settlements\n"
    "    files: \"frac_*.csv\"\n"
    "    datetime_format: \"%Y-%m-%d %H:%M:%S.%f\"\n"
    "    timezone: America/New_York\n"
    "    type_column: type\n"
    "    type_values: {capture: capture}\n"
    "    columns: {merchant_reference: claim, amount: amount, currency: cur, booked_at: at}\n";

/* ---- a sink that copies everything it is given ---- */

#define FS_MAX 32

typedef struct fs_receipt {
    long line;
    char *tracking, *claim_ref, *serial;
    int event;
    cr_time_t at;
    int battery, genuine;
} fs_receipt;

typedef struct fs_settle {
    long line;
    char *psp, *merchant, *raw_type, *brand;
    int type;
    bool has_amount;
    cr_money_t amount;
    char currency[4];
    cr_time_t at;
} fs_settle;

typedef struct fs_reject {
    long line;
    int reason;
    char *field, *detail, *raw;
    size_t raw_len;
} fs_reject;

typedef struct fsink {
    fs_receipt r[FS_MAX];
    size_t nr;
    fs_settle s[FS_MAX];
    size_t ns;
    fs_reject j[FS_MAX];
    size_t nj;
    size_t calls;
    cr_err fail_with;   /* returned by every callback when set */
} fsink;

static char *fs_dup(const char *s)
{
    return s ? cr_strdup(s) : NULL;
}

static cr_err fs_receipt_cb(void *ud, const cr_receipt_row *row)
{
    fsink *k = ud;
    k->calls++;
    if (k->nr < FS_MAX) {
        fs_receipt *r = &k->r[k->nr++];
        r->line = row->line;
        r->tracking = fs_dup(row->tracking);
        r->claim_ref = fs_dup(row->claim_ref);
        r->serial = fs_dup(row->serial);
        r->event = row->event;
        r->at = row->at;
        r->battery = row->battery_returned;
        r->genuine = row->genuine;
    }
    return k->fail_with;
}

static cr_err fs_settle_cb(void *ud, const cr_settle_row *row)
{
    fsink *k = ud;
    k->calls++;
    if (k->ns < FS_MAX) {
        fs_settle *s = &k->s[k->ns++];
        s->line = row->line;
        s->psp = fs_dup(row->psp_ref);
        s->merchant = fs_dup(row->merchant_ref);
        s->raw_type = fs_dup(row->raw_type);
        s->brand = fs_dup(row->card_brand);
        s->type = row->type;
        s->has_amount = row->has_amount;
        s->amount = row->amount;
        memcpy(s->currency, row->currency, 4);
        s->at = row->booked_at;
    }
    return k->fail_with;
}

static cr_err fs_reject_cb(void *ud, const cr_reject_row *row)
{
    fsink *k = ud;
    k->calls++;
    if (k->nj < FS_MAX) {
        fs_reject *j = &k->j[k->nj++];
        j->line = row->line;
        j->reason = row->reason;
        j->field = fs_dup(row->field);
        j->detail = fs_dup(row->detail);
        j->raw = row->raw ? cr_strndup(row->raw, row->raw_len) : NULL;
        j->raw_len = row->raw_len;
    }
    return k->fail_with;
}

static void fs_free(fsink *k)
{
    for (size_t i = 0; i < k->nr; i++) {
        free(k->r[i].tracking);
        free(k->r[i].claim_ref);
        free(k->r[i].serial);
    }
    for (size_t i = 0; i < k->ns; i++) {
        free(k->s[i].psp);
        free(k->s[i].merchant);
        free(k->s[i].raw_type);
        free(k->s[i].brand);
    }
    for (size_t i = 0; i < k->nj; i++) {
        free(k->j[i].field);
        free(k->j[i].detail);
        free(k->j[i].raw);
    }
    memset(k, 0, sizeof *k);
}

/* Reads DATA[0..LEN) with feed FEED_NAME of feed_yaml (or of YAML when
 * given).  Fills K, ST and WHY; returns what cr_feed_parse returned, or
 * CR_ECONFIG when the configuration did not load. */
static cr_err fs_parse_with(const char *yaml, const char *feed_name, const char *data, size_t len,
                            fsink *k, cr_feed_stats *st, char *why, size_t whylen)
{
    cr_config *cfg = NULL;
    cr_err rc = cr_config_load_buffer("feed-test.yaml", "/t", yaml, strlen(yaml), false, &cfg);
    if (rc != CR_OK)
        return CR_ECONFIG;
    const cr_feed *f = NULL;
    for (size_t i = 0; i < cfg->n_feeds; i++)
        if (strcmp(cfg->feeds[i].name, feed_name) == 0)
            f = &cfg->feeds[i];
    rc = CR_EINTERNAL;
    if (f) {
        cr_feed_sink sink = {k, fs_receipt_cb, fs_settle_cb, fs_reject_cb};
        memset(st, 0x55, sizeof *st);   /* must be reset by the parser */
        rc = cr_feed_parse(cfg, f, data, len, &sink, st, why, whylen);
    }
    cr_config_free(cfg);
    return rc;
}

static cr_err fs_parse(const char *feed_name, const char *data, fsink *k, cr_feed_stats *st)
{
    char why[256];
    return fs_parse_with(feed_yaml, feed_name, data, strlen(data), k, st, why, sizeof why);
}

/* Seconds since the epoch of a UTC civil time (own arithmetic, not crtime's). */
static cr_time_t utc(int y, int m, int d, int hh, int mi, int ss)
{
    y -= m <= 2;
    long era = (y >= 0 ? y : y - 399) / 400;
    long yoe = y - era * 400;
    long doy = (153L * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    long days = era * 146097 + doe - 719468;
    return (cr_time_t)days * 86400 + hh * 3600 + mi * 60 + ss;
}

/* Safe accessors: out-of-range reads give values that fail the checks. */
static const fs_receipt *R(const fsink *k, size_t i)
{
    static const fs_receipt none = {.line = -1, .event = -1, .battery = -9, .genuine = -9};
    return i < k->nr ? &k->r[i] : &none;
}

static const fs_settle *S(const fsink *k, size_t i)
{
    static const fs_settle none = {.line = -1, .type = -1, .amount = -1};
    return i < k->ns ? &k->s[i] : &none;
}

static const fs_reject *J(const fsink *k, size_t i)
{
    static const fs_reject none = {.line = -1, .reason = -1};
    return i < k->nj ? &k->j[i] : &none;
}

/* Every reject carries a line, a reason, the raw text and a detail. */
static int rejects_complete(const fsink *k)
{
    for (size_t i = 0; i < k->nj; i++) {
        const fs_reject *j = &k->j[i];
        if (j->line < 1 || j->reason < 0 || j->reason >= CR_R_COUNT || !j->raw ||
            j->raw_len == 0 || !j->detail || !*j->detail) {
            fprintf(stderr, "  reject %zu (line %ld) is incomplete\n", i, j->line);
            return 0;
        }
    }
    return 1;
}

#define DEPOT_HDR "RMA No,Tracking No,Checked In,Serial No,Battery Returned,Genuine\n"

/* ---- receipts ---- */

TEST(feed_depot_received_rows)
{
    fsink k = {0};
    cr_feed_stats st;
    const char *in = DEPOT_HDR
        "CE1,1Z1,2026-03-10T09:30:00+02:00,SN1,Y,N\n"
        "CE2,,2026-03-10T09:30:00-0500,SN2,ja,nein\n"
        ",1Z3,2026-03-10T09:30:00Z,SN3, n , Y \n";
    CHECK_INT(fs_parse("depot", in, &k, &st), CR_OK);
    CHECK_INT(k.nr, 3);
    CHECK_INT(k.nj, 0);
    CHECK_INT(R(&k, 0)->line, 2);
    CHECK_STR(R(&k, 0)->claim_ref, "CE1");
    CHECK_STR(R(&k, 0)->tracking, "1Z1");
    CHECK_INT(R(&k, 0)->event, CR_EV_RECEIVED);
    CHECK_INT(R(&k, 0)->at, utc(2026, 3, 10, 7, 30, 0));
    CHECK_STR(R(&k, 0)->serial, "SN1");
    CHECK_INT(R(&k, 0)->battery, 1);
    CHECK_INT(R(&k, 0)->genuine, 0);
    CHECK_INT(R(&k, 1)->line, 3);
    CHECK(R(&k, 1)->tracking == NULL);              /* empty text is NULL */
    CHECK_INT(R(&k, 1)->at, utc(2026, 3, 10, 14, 30, 0));
    CHECK_INT(R(&k, 1)->battery, 1);                /* custom true value, any case */
    CHECK_INT(R(&k, 1)->genuine, 0);
    CHECK(R(&k, 2)->claim_ref == NULL);
    CHECK_INT(R(&k, 2)->at, utc(2026, 3, 10, 9, 30, 0));
    CHECK_INT(R(&k, 2)->battery, 0);                /* trimmed */
    CHECK_INT(R(&k, 2)->genuine, 1);
    CHECK_INT(st.rows, 3);
    CHECK_INT(st.accepted, 3);
    CHECK_INT(st.rejected, 0);
    CHECK_INT(st.ignored, 0);
    fs_free(&k);
}

/* Header names are trimmed and compared ignoring case; order does not
 * matter; extra columns are ignored.  With a BOM and CRLF. */
TEST(feed_header_trim_case_order_extra)
{
    fsink k = {0};
    cr_feed_stats st;
    const char *in = "\xEF\xBB\xBF\" genuine \",Comment,SERIAL NO,\"checked in \",\"  TRACKING no\","
                     "rma no,battery returned\r\n"
                     "N,\"free, text\",SN9,2026-01-02T03:04:05Z,1Z9,CE9,Y\r\n";
    CHECK_INT(fs_parse("depot", in, &k, &st), CR_OK);
    CHECK_INT(k.nr, 1);
    CHECK_INT(k.nj, 0);
    CHECK_STR(R(&k, 0)->claim_ref, "CE9");
    CHECK_STR(R(&k, 0)->tracking, "1Z9");
    CHECK_STR(R(&k, 0)->serial, "SN9");
    CHECK_INT(R(&k, 0)->at, utc(2026, 1, 2, 3, 4, 5));
    CHECK_INT(R(&k, 0)->battery, 1);
    CHECK_INT(R(&k, 0)->genuine, 0);
    CHECK_INT(R(&k, 0)->line, 2);
    fs_free(&k);
}

/* A spreadsheet's text-forcing ="..." gives the text inside (a review:
 * ="SN002" was read as the serial `="SN002"`, an SN_MISMATCH capture for a
 * unit that came back in order), also when quoted as CSV and with doubled
 * quotes inside; a value with a lone quote inside stays as it is, and =""
 * is empty. */
TEST(feed_text_forcing_equals_quote)
{
    fsink k = {0};
    cr_feed_stats st;
    const char *in = DEPOT_HDR
        "=\"CE2\",=\"1Z2\",=\"2026-03-10T09:30:00Z\",=\"SN002\",=\"Y\",Y\n"
        "\"=\"\"CE3\"\"\",1Z3,2026-03-10T09:30:00Z,\"=\"\"SN \"\"\"\"3\"\"\",Y,Y\n"
        "CE4,1Z4,2026-03-10T09:30:00Z,=\"SN\"4\",Y,Y\n"
        "CE5,1Z5,2026-03-10T09:30:00Z,SN5,Y,=\"\"\n";
    CHECK_INT(fs_parse("depot", in, &k, &st), CR_OK);
    CHECK_INT(k.nr, 3);
    CHECK_INT(k.nj, 1);
    CHECK_STR(R(&k, 0)->claim_ref, "CE2");
    CHECK_STR(R(&k, 0)->tracking, "1Z2");
    CHECK_STR(R(&k, 0)->serial, "SN002");
    CHECK_INT(R(&k, 0)->at, utc(2026, 3, 10, 9, 30, 0));
    CHECK_INT(R(&k, 0)->battery, 1);
    CHECK_STR(R(&k, 1)->claim_ref, "CE3");
    CHECK_STR(R(&k, 1)->serial, "SN \"3");
    CHECK_STR(R(&k, 2)->serial, "=\"SN\"4\"");
    CHECK_INT(J(&k, 0)->line, 5);
    CHECK_INT(J(&k, 0)->reason, CR_R_MISSING_FIELD);
    fs_free(&k);
}

/* Tracking numbers are kept as events are matched by them: case, blanks,
 * hyphens and a scanner's prefix aside (a review: a pickup scan written
 * `1z9r4e81` never met its delivery `1Z9R4E81`, and the claim lost its
 * "shipped by the deadline"); one that is only a dash matches nothing by
 * tracking number, but the row is read (a walk-in check-in with no RMA,
 * matched by its serial: a second review); an empty one with no claim
 * reference is still MISSING_FIELD. */
TEST(feed_tracking_number_as_matched)
{
    fsink k = {0};
    cr_feed_stats st;
    const char *in = DEPOT_HDR
        "CE1, 1z 9r4-e81 ,2026-03-10T09:30:00Z,SN1,Y,Y\n"
        "CE2,]C11Z9R4E82,2026-03-10T09:30:00Z,SN2,Y,Y\n"
        "CE3,-,2026-03-10T09:30:00Z,SN3,Y,Y\n"
        ",-,2026-03-10T09:30:00Z,SN4,Y,Y\n"
        ", ,2026-03-10T09:30:00Z,SN5,Y,Y\n";
    CHECK_INT(fs_parse("depot", in, &k, &st), CR_OK);
    CHECK_INT(k.nr, 4);
    CHECK_INT(k.nj, 1);
    CHECK_STR(R(&k, 0)->tracking, "1Z9R4E81");
    CHECK_STR(R(&k, 1)->tracking, "1Z9R4E82");
    CHECK(R(&k, 2)->tracking == NULL);
    CHECK_STR(R(&k, 2)->claim_ref, "CE3");
    CHECK(R(&k, 3)->tracking == NULL && R(&k, 3)->claim_ref == NULL);
    CHECK_STR(R(&k, 3)->serial, "SN4");
    CHECK_INT(J(&k, 0)->line, 6);
    CHECK_INT(J(&k, 0)->reason, CR_R_MISSING_FIELD);
    fs_free(&k);
}

/* Two exports joined into one file: the header again is no row, and the
 * rows after it are read by where it puts the columns (by name, never
 * position: a Genuine N there must not be read as the battery). */
TEST(feed_header_repeated)
{
    fsink k = {0};
    cr_feed_stats st;
    const char *in = DEPOT_HDR
        "CE1,1Z1,2026-03-10T09:30:00Z,SN1,Y,Y\n"
        "RMA No,Tracking No,Checked In,Serial No,Battery Returned,Genuine\n"
        "CE2,1Z2,2026-03-10T09:30:00Z,SN2,Y,N\n"
        " rma no ,Tracking No,Checked In,Serial No,Genuine,Battery Returned\n"
        "CE3,1Z3,2026-03-10T09:30:00Z,SN3,N,Y\n"
        "Serial No,RMA No,Checked In,Tracking No,Genuine,Battery Returned\n"
        "SN4,CE4,2026-03-10T09:30:00Z,1Z4,Y,N\n";
    CHECK_INT(fs_parse("depot", in, &k, &st), CR_OK);
    CHECK_INT(k.nj, 0);
    CHECK_INT(k.nr, 4);
    CHECK_INT(st.rows, 7);        /* every record counts: accepted, rejected or ignored */
    CHECK_INT(st.ignored, 3);
    CHECK_INT(st.accepted, 4);
    CHECK_STR(R(&k, 1)->claim_ref, "CE2");
    CHECK_INT(R(&k, 1)->genuine, 0);
    CHECK_INT(R(&k, 1)->battery, 1);
    CHECK_STR(R(&k, 2)->claim_ref, "CE3");
    CHECK_INT(R(&k, 2)->genuine, 0);      /* its Genuine is the fifth column now */
    CHECK_INT(R(&k, 2)->battery, 1);
    CHECK_INT(R(&k, 2)->line, 6);
    CHECK_STR(R(&k, 3)->claim_ref, "CE4");
    CHECK_STR(R(&k, 3)->serial, "SN4");
    CHECK_STR(R(&k, 3)->tracking, "1Z4");
    CHECK_INT(R(&k, 3)->battery, 0);
    CHECK_INT(R(&k, 3)->genuine, 1);
    fs_free(&k);
    /* a row that only looks like part of the header is a row */
    const char *in2 = DEPOT_HDR "RMA No,Tracking No,Checked In,Serial No,Battery Returned,Foo\n";
    CHECK_INT(fs_parse("depot", in2, &k, &st), CR_OK);
    CHECK_INT(k.nj, 1);
    CHECK_INT(st.ignored, 0);
    fs_free(&k);
}

/* What spreadsheets leave around a header: Excel's "sep=," first line, a
 * no-break space or two spaces between a name's words, and a DOS
 * end-of-file mark (Ctrl-Z) after the last row. */
TEST(feed_spreadsheet_leftovers)
{
    fsink k = {0};
    cr_feed_stats st;
    const char *in = "sep=,\r\n"
                     "RMA\xc2\xa0No,Tracking  No,Checked In,Serial No, Battery\tReturned ,Genuine\r\n"
                     "CE1,1Z1,2026-03-10T09:30:00Z,SN1,Y,N\r\n"
                     "\x1a";
    CHECK_INT(fs_parse("depot", in, &k, &st), CR_OK);
    CHECK_INT(k.nr, 1);
    CHECK_INT(k.nj, 0);
    CHECK_INT(st.header_line, 2);
    CHECK_INT(st.rows, 1);
    CHECK_STR(R(&k, 0)->claim_ref, "CE1");
    CHECK_INT(R(&k, 0)->genuine, 0);
    fs_free(&k);
    /* a blank inside a name is not no blank: "RMANo" is another column */
    const char *in2 = "RMANo,Tracking No,Checked In,Serial No,Battery Returned,Genuine\n"
                      "CE1,1Z1,2026-03-10T09:30:00Z,SN1,Y,N\n";
    CHECK_INT(fs_parse("depot", in2, &k, &st), CR_EDATA);
    fs_free(&k);
}

/* A long tracking number a spreadsheet showed in scientific notation has
 * lost its digits: it matches nothing (two packages print the same), and
 * the row is read (a check-in is then matched by its serial). */
TEST(feed_tracking_number_exponent)
{
    fsink k = {0};
    cr_feed_stats st;
    const char *in = DEPOT_HDR ",9.40011E+21,2026-03-10T09:30:00Z,SN1,Y,Y\n"
                               ",9400111899223856925814,2026-03-10T09:30:00Z,SN2,Y,Y\n";
    CHECK_INT(fs_parse("depot", in, &k, &st), CR_OK);
    CHECK_INT(k.nr, 2);
    CHECK(R(&k, 0)->tracking == NULL);
    CHECK_STR(R(&k, 0)->serial, "SN1");
    CHECK_STR(R(&k, 1)->tracking, "9400111899223856925814");
    fs_free(&k);
}

#define CARRIER_HDR "Tracking Number,Reference Number 1,Activity Code,Activity Date,Activity Time\n"

/* event_column + event_values: shipped, delivered, ignore (counted, not
 * rejected), an unmapped value (UNKNOWN_VALUE); date and time joined. */
TEST(feed_event_column_values)
{
    fsink k = {0};
    cr_feed_stats st;
    const char *in = CARRIER_HDR
        "1ZA,CE1,P,20260310,093000\n"
        "1ZB,,d,20260115,120000\n"
        "1ZC,CE3,I,20260310,093000\n"
        "1ZD,CE4, x ,20260310,093000\n"
        "1ZE,CE5,Q,20260310,093000\n"
        "1ZF,CE6,,20260310,093000\n";
    CHECK_INT(fs_parse("carrier", in, &k, &st), CR_OK);
    CHECK_INT(k.nr, 2);
    CHECK_INT(R(&k, 0)->event, CR_EV_SHIPPED);
    CHECK_STR(R(&k, 0)->tracking, "1ZA");
    CHECK_INT(R(&k, 0)->at, utc(2026, 3, 10, 16, 30, 0));   /* PDT, -7 */
    CHECK_INT(R(&k, 0)->battery, -1);
    CHECK_INT(R(&k, 0)->genuine, -1);
    CHECK(R(&k, 0)->serial == NULL);
    CHECK_INT(R(&k, 1)->event, CR_EV_DELIVERED);            /* "d": any case */
    CHECK_INT(R(&k, 1)->at, utc(2026, 1, 15, 20, 0, 0));    /* PST, -8 */
    CHECK_INT(R(&k, 1)->line, 3);
    CHECK_INT(k.nj, 2);
    CHECK_INT(J(&k, 0)->line, 6);
    CHECK_INT(J(&k, 0)->reason, CR_R_UNKNOWN_VALUE);
    CHECK_STR(J(&k, 0)->field, "event");
    CHECK_STR(J(&k, 0)->raw, "1ZE,CE5,Q,20260310,093000");
    CHECK_INT(J(&k, 1)->line, 7);
    CHECK_INT(J(&k, 1)->reason, CR_R_MISSING_FIELD);
    CHECK_STR(J(&k, 1)->field, "event");
    CHECK_INT(st.rows, 6);
    CHECK_INT(st.accepted, 2);
    CHECK_INT(st.ignored, 2);
    CHECK_INT(st.rejected, 2);
    CHECK(rejects_complete(&k));
    fs_free(&k);
}

/* Local times in America/Los_Angeles: the spring-forward gap is read with
 * the offset before the change, the fall-back overlap as the earlier
 * instant. */
TEST(feed_local_time_dst)
{
    fsink k = {0};
    cr_feed_stats st;
    const char *in = CARRIER_HDR
        "G1,,P,20260308,023000\n"     /* does not exist: -8 -> 10:30Z */
        "O1,,P,20261101,013000\n"     /* twice: the PDT one, 08:30Z */
        "A1,,P,20261101,023000\n"     /* after: PST, 10:30Z */
        "B1,,P,20260308,013000\n";    /* before: PST, 09:30Z */
    CHECK_INT(fs_parse("carrier", in, &k, &st), CR_OK);
    CHECK_INT(k.nr, 4);
    CHECK_INT(R(&k, 0)->at, utc(2026, 3, 8, 10, 30, 0));
    CHECK_INT(R(&k, 1)->at, utc(2026, 11, 1, 8, 30, 0));
    CHECK_INT(R(&k, 2)->at, utc(2026, 11, 1, 10, 30, 0));
    CHECK_INT(R(&k, 3)->at, utc(2026, 3, 8, 9, 30, 0));
    CHECK_INT(k.nj, 0);
    fs_free(&k);
}

/* A constant event, a ';' delimiter and two preamble lines; local time. */
TEST(feed_preamble_semicolon_constant_event)
{
    fsink k = {0};
    cr_feed_stats st;
    const char *in = "Delivered parcels\nexported 2026-07-01, \"all\n"
                     "trk;when;note\n"
                     "T1;2026-07-01 08:00;a,b\n"
                     "\n"
                     "T2;2026-07-01 09:15;\n";
    CHECK_INT(fs_parse("local", in, &k, &st), CR_OK);
    CHECK_INT(k.nr, 2);
    CHECK_INT(R(&k, 0)->event, CR_EV_DELIVERED);
    CHECK_INT(R(&k, 0)->line, 4);
    CHECK_INT(R(&k, 0)->at, utc(2026, 7, 1, 15, 0, 0));
    CHECK_STR(R(&k, 1)->tracking, "T2");
    CHECK_INT(R(&k, 1)->line, 6);
    CHECK_INT(R(&k, 1)->at, utc(2026, 7, 1, 16, 15, 0));
    CHECK_INT(st.rows, 2);
    fs_free(&k);
}

TEST(feed_bad_datetime)
{
    fsink k = {0};
    cr_feed_stats st;
    const char *in = DEPOT_HDR
        "CE1,1Z1,2026-02-30T10:00:00Z,SN1,Y,Y\n"
        "CE2,1Z2,2026-03-01T25:61:00Z,SN2,Y,Y\n"
        "CE3,1Z3,yesterday,SN3,Y,Y\n"
        "CE4,1Z4,2026-03-01T10:00:00+5,SN4,Y,Y\n";   /* an offset cut short */
    CHECK_INT(fs_parse("depot", in, &k, &st), CR_OK);
    CHECK_INT(k.nr, 0);
    CHECK_INT(k.nj, 4);
    for (size_t i = 0; i < 4; i++) {
        CHECK_INT(J(&k, i)->reason, CR_R_BAD_DATETIME);
        CHECK_STR(J(&k, i)->field, "event_at");
        CHECK_INT(J(&k, i)->line, (long)i + 2);
    }
    CHECK_STR(J(&k, 0)->raw, "CE1,1Z1,2026-02-30T10:00:00Z,SN1,Y,Y");
    CHECK(J(&k, 0)->detail && strstr(J(&k, 0)->detail, "2026-02-30") != NULL);
    CHECK_INT(st.rejected, 4);
    CHECK(rejects_complete(&k));
    fs_free(&k);
    /* two columns: an impossible time */
    CHECK_INT(fs_parse("carrier", CARRIER_HDR "T,,P,20260230,093000\nT,,P,20260301,256100\n",
                       &k, &st), CR_OK);
    CHECK_INT(k.nj, 2);
    CHECK_INT(J(&k, 0)->reason, CR_R_BAD_DATETIME);
    CHECK_INT(J(&k, 1)->reason, CR_R_BAD_DATETIME);
    fs_free(&k);
}

TEST(feed_missing_fields)
{
    fsink k = {0};
    cr_feed_stats st;
    const char *in = DEPOT_HDR
        ",,2026-03-10T09:30:00Z,SN1,Y,Y\n"       /* no tracking, no claim_ref */
        "CE2,1Z2,,SN2,Y,Y\n"                     /* empty event_at */
        "CE3,1Z3,2026-03-10T09:30:00Z,,Y,Y\n"    /* received, empty serial */
        "CE4,1Z4,2026-03-10T09:30:00Z,SN4,,Y\n"  /* empty battery_returned */
        "CE5,1Z5,2026-03-10T09:30:00Z,SN5,Y, \n" /* empty genuine */
        "CE6,1Z6,2026-03-10T09:30:00Z,SN6,Y,Y\n";
    CHECK_INT(fs_parse("depot", in, &k, &st), CR_OK);
    CHECK_INT(k.nr, 1);
    CHECK_INT(R(&k, 0)->line, 7);
    CHECK_INT(k.nj, 5);
    for (size_t i = 0; i < 5; i++) {
        CHECK_INT(J(&k, i)->reason, CR_R_MISSING_FIELD);
        CHECK_INT(J(&k, i)->line, (long)i + 2);
    }
    CHECK(J(&k, 0)->field && (strcmp(J(&k, 0)->field, "claim_ref") == 0 ||
                              strcmp(J(&k, 0)->field, "tracking_number") == 0));
    CHECK_STR(J(&k, 1)->field, "event_at");
    CHECK_STR(J(&k, 2)->field, "serial");
    CHECK_STR(J(&k, 3)->field, "battery_returned");
    CHECK_STR(J(&k, 4)->field, "genuine");
    CHECK_STR(J(&k, 2)->raw, "CE3,1Z3,2026-03-10T09:30:00Z,,Y,Y");
    CHECK(rejects_complete(&k));
    CHECK_INT(st.rows, 6);
    CHECK_INT(st.accepted, 1);
    CHECK_INT(st.rejected, 5);
    fs_free(&k);
}

TEST(feed_bad_boolean)
{
    fsink k = {0};
    cr_feed_stats st;
    const char *in = DEPOT_HDR
        "CE1,1Z1,2026-03-10T09:30:00Z,SN1,maybe,Y\n"
        "CE2,1Z2,2026-03-10T09:30:00Z,SN2,Y,YES\n"     /* not in this feed's true_values */
        "CE3,1Z3,2026-03-10T09:30:00Z,SN3,JA,N\n";
    CHECK_INT(fs_parse("depot", in, &k, &st), CR_OK);
    CHECK_INT(k.nj, 2);
    CHECK_INT(J(&k, 0)->reason, CR_R_BAD_BOOLEAN);
    CHECK_STR(J(&k, 0)->field, "battery_returned");
    CHECK_INT(J(&k, 0)->line, 2);
    CHECK_INT(J(&k, 1)->reason, CR_R_BAD_BOOLEAN);
    CHECK_STR(J(&k, 1)->field, "genuine");
    CHECK_INT(k.nr, 1);
    CHECK_INT(R(&k, 0)->battery, 1);
    CHECK_INT(R(&k, 0)->genuine, 0);
    CHECK(rejects_complete(&k));
    fs_free(&k);
}

/* Wrong field count and broken quoting: BAD_ROW, and the rows after are
 * read with the right line numbers. */
TEST(feed_bad_rows)
{
    fsink k = {0};
    cr_feed_stats st;
    const char *in = DEPOT_HDR
        "CE1,1Z1,2026-03-10T09:30:00Z,SN1,Y\n"            /* 5 fields */
        "CE2,1Z2,2026-03-10T09:30:00Z,SN2,Y,Y,extra\n"    /* 7 fields */
        "\"CE3\"x,1Z3,2026-03-10T09:30:00Z,SN3,Y,Y\n"     /* stray quote */
        "CE4,1Z4,2026-03-10T09:30:00Z,\"SN\n4\",Y,Y\n"    /* quoted newline: fine */
        "CE5,1Z5,2026-03-10T09:30:00Z,SN5,Y,Y\n"
        "CE6,\"1Z6,2026-03-10T09:30:00Z,SN6,Y,Y\n"        /* never closed */
        "CE7,1Z7,2026-03-10T09:30:00Z,SN7,Y,Y\n";
    CHECK_INT(fs_parse("depot", in, &k, &st), CR_OK);
    CHECK_INT(k.nj, 4);
    CHECK_INT(J(&k, 0)->reason, CR_R_BAD_ROW);
    CHECK_INT(J(&k, 0)->line, 2);
    CHECK_STR(J(&k, 0)->raw, "CE1,1Z1,2026-03-10T09:30:00Z,SN1,Y");
    CHECK_INT(J(&k, 1)->reason, CR_R_BAD_ROW);
    CHECK_INT(J(&k, 1)->line, 3);
    CHECK_INT(J(&k, 2)->reason, CR_R_BAD_ROW);
    CHECK_INT(J(&k, 2)->line, 4);
    CHECK_STR(J(&k, 2)->raw, "\"CE3\"x,1Z3,2026-03-10T09:30:00Z,SN3,Y,Y");
    CHECK_INT(J(&k, 3)->reason, CR_R_BAD_ROW);
    CHECK_INT(J(&k, 3)->line, 8);
    CHECK_STR(J(&k, 3)->raw, "CE6,\"1Z6,2026-03-10T09:30:00Z,SN6,Y,Y");
    CHECK_INT(k.nr, 3);
    CHECK_STR(R(&k, 0)->claim_ref, "CE4");
    CHECK_STR(R(&k, 0)->serial, "SN\n4");
    CHECK_INT(R(&k, 0)->line, 5);
    CHECK_STR(R(&k, 1)->claim_ref, "CE5");
    CHECK_INT(R(&k, 1)->line, 7);
    CHECK_STR(R(&k, 2)->claim_ref, "CE7");
    CHECK_INT(R(&k, 2)->line, 9);
    CHECK_INT(st.rows, 7);
    CHECK_INT(st.accepted, 3);
    CHECK_INT(st.rejected, 4);
    CHECK(rejects_complete(&k));
    fs_free(&k);
}

/* A trailing delimiter on every row but not on the header, or on the
 * header only: the rows line up.  The first row sets the file's shape: an
 * extra field that is not empty, another count, or in a plain file an
 * empty field too many (a stray delimiter: the fields have moved) is still
 * BAD_ROW. */
TEST(feed_trailing_delimiter)
{
    fsink k = {0};
    cr_feed_stats st;
    const char *in = DEPOT_HDR
        "CE1,1Z1,2026-03-10T09:30:00Z,SN1,Y,Y,\n"          /* trailing delimiter */
        "CE2,1Z2,2026-03-10T09:30:00Z,SN2,Y,Y, \n"         /* the same, a blank */
        "CE3,1Z3,2026-03-10T09:30:00Z,SN3,Y,Y,x\n"         /* not empty: BAD_ROW */
        "CE4,1Z4,2026-03-10T09:30:00Z,SN4,Y,Y,,\n"         /* another count: BAD_ROW */
        "CE5,1Z5,2026-03-10T09:30:00Z,SN5,Y,Y\n";          /* the same */
    CHECK_INT(fs_parse("depot", in, &k, &st), CR_OK);
    CHECK_INT(k.nr, 2);
    CHECK_STR(R(&k, 0)->claim_ref, "CE1");
    CHECK_STR(R(&k, 1)->claim_ref, "CE2");
    CHECK_INT(k.nj, 3);
    CHECK_INT(J(&k, 0)->reason, CR_R_BAD_ROW);
    CHECK_INT(J(&k, 0)->line, 4);
    CHECK_INT(J(&k, 1)->line, 5);
    CHECK_INT(J(&k, 2)->line, 6);
    CHECK(strstr(J(&k, 2)->detail, "6 fields where the header has 6 and the file's first row 7") != NULL);
    CHECK(strstr(J(&k, 1)->detail, "8 fields where the header has 6 and the file's first row 7") != NULL);
    fs_free(&k);
    /* a plain file: a row with a stray delimiter and an empty last column
     * ("139,50" in a file whose last column is empty) is not read shifted */
    memset(&k, 0, sizeof k);
    const char *plain = DEPOT_HDR
        "CE1,1Z1,2026-03-10T09:30:00Z,SN1,Y,Y\n"
        "CE2,1Z2,2026-03-10T09:30:00Z,SN,2,Y,\n";
    CHECK_INT(fs_parse("depot", plain, &k, &st), CR_OK);
    CHECK_INT(k.nr, 1);
    CHECK_INT(k.nj, 1);
    CHECK_INT(J(&k, 0)->reason, CR_R_BAD_ROW);
    fs_free(&k);
    memset(&k, 0, sizeof k);
    const char *in2 = "RMA No,Tracking No,Checked In,Serial No,Battery Returned,Genuine,\n"
        "CE1,1Z1,2026-03-10T09:30:00Z,SN1,Y,Y\n"           /* the header's trailing delimiter */
        "CE2,1Z2,2026-03-10T09:30:00Z,SN2,Y,Y,\n"          /* both */
        "CE3,1Z3,2026-03-10T09:30:00Z,SN3,Y\n";            /* Genuine missing: BAD_ROW */
    CHECK_INT(fs_parse("depot", in2, &k, &st), CR_OK);
    CHECK_INT(k.nr, 2);
    CHECK_INT(k.nj, 1);
    CHECK_INT(J(&k, 0)->reason, CR_R_BAD_ROW);
    CHECK_INT(J(&k, 0)->line, 4);
    fs_free(&k);
}

/* Invalid UTF-8 in a mapped text field: BAD_ROW naming the field. */
TEST(feed_invalid_utf8)
{
    fsink k = {0};
    cr_feed_stats st;
    const char *in = DEPOT_HDR
        "CE\xff" "1,1Z1,2026-03-10T09:30:00Z,SN1,Y,Y\n"
        "CE2,1Z\xC0\xAF,2026-03-10T09:30:00Z,SN2,Y,Y\n"     /* overlong '/' */
        "CE3,1Z3,2026-03-10T09:30:00Z,SN\xED\xA0\x80,Y,Y\n" /* surrogate */
        "CE\xC3\xA9,1Z4,2026-03-10T09:30:00Z,SN4,Y,Y\n";    /* valid e-acute */
    CHECK_INT(fs_parse("depot", in, &k, &st), CR_OK);
    CHECK_INT(k.nj, 3);
    CHECK_INT(J(&k, 0)->reason, CR_R_BAD_ROW);
    CHECK_STR(J(&k, 0)->field, "claim_ref");
    CHECK_INT(J(&k, 0)->line, 2);
    CHECK_INT(J(&k, 1)->reason, CR_R_BAD_ROW);
    CHECK_STR(J(&k, 1)->field, "tracking_number");
    CHECK_INT(J(&k, 2)->reason, CR_R_BAD_ROW);
    CHECK_STR(J(&k, 2)->field, "serial");
    CHECK_INT(k.nr, 1);
    CHECK_STR(R(&k, 0)->claim_ref, "CE\xC3\xA9");
    CHECK(rejects_complete(&k));
    fs_free(&k);
}

/* ---- whole-file rejects: nothing reaches the sink ---- */

TEST(feed_whole_file_rejects)
{
    fsink k = {0};
    cr_feed_stats st;
    char why[256];
    const char *rows = "CE1,1Z1,2026-03-10T09:30:00Z,SN1,Y,Y\n"
                       "CE2,1Z2,2026-03-10T09:30:00Z,SN2,Y,Y\n";
    char buf[1024];

    /* a mapped column missing */
    snprintf(buf, sizeof buf, "RMA No,Tracking No,Checked In,Serial No,Battery Returned,Colour\n%s",
             rows);
    CHECK_INT(fs_parse_with(feed_yaml, "depot", buf, strlen(buf), &k, &st, why, sizeof why),
              CR_EDATA);
    CHECK_INT(k.calls, 0);
    CHECK(strstr(why, "Genuine") != NULL);
    /* ... named with its field and the header's line */
    CHECK_STR(st.header_field, "genuine");
    CHECK_INT(st.header_line, 1);
    CHECK(strstr(why, "(field genuine, header at line 1)") != NULL);

    /* several missing: all named at once (a review: the sender needed
     * three rounds of fixes), the first one's field kept for the row */
    snprintf(buf, sizeof buf, "RMA,Tracking No,Checked In,Serial,Battery Returned,Colour\n%s", rows);
    CHECK_INT(fs_parse_with(feed_yaml, "depot", buf, strlen(buf), &k, &st, why, sizeof why),
              CR_EDATA);
    CHECK(strstr(why, "the header has no column \"RMA No\" (field claim_ref, header at line 1);"
                      " no column \"Serial No\" (field serial); no column \"Genuine\" (field genuine)") != NULL);
    CHECK_STR(st.header_field, "claim_ref");
    CHECK(strstr(why, "delimiter") == NULL);

    /* one column holding what looks like several: the delimiter is hinted at */
    snprintf(buf, sizeof buf, "RMA No;Tracking No;Checked In;Serial No;Battery Returned;Genuine\n%s", rows);
    CHECK_INT(fs_parse_with(feed_yaml, "depot", buf, strlen(buf), &k, &st, why, sizeof why),
              CR_EDATA);
    static const char hint[] = "the header reads as a single column, so the file may use another"
                               " delimiter than the feed's (\",\"); the header has no column";
    CHECK(strncmp(why, hint, sizeof hint - 1) == 0);
    /* what does not fit is counted, never cut mid-word (a read-through) */
    CHECK(strlen(why) >= 10 && strcmp(why + strlen(why) - 5, " more") == 0);
    CHECK(strstr(why, "; and ") != NULL);

    /* a header in Windows-1252 ("N\xb0" is "No" in Latin-1): said so */
    snprintf(buf, sizeof buf, "RMA N\xb0,Tracking No,Checked In,Serial No,Battery Returned,Genuine\n%s",
             rows);
    CHECK_INT(fs_parse_with(feed_yaml, "depot", buf, strlen(buf), &k, &st, why, sizeof why),
              CR_EDATA);
    static const char enc[] = "the header is not UTF-8 text (a Windows-1252 or Latin-1 export? save"
                              " it as CSV in UTF-8); the header has no column \"RMA No\"";
    CHECK(strncmp(why, enc, sizeof enc - 1) == 0);

    /* a mapped column twice (names compared trimmed, ignoring case) */
    snprintf(buf, sizeof buf, "RMA No,Tracking No,Checked In,Serial No,Battery Returned,Genuine,"
                              " tracking NO\n%s",
             rows);
    CHECK_INT(fs_parse_with(feed_yaml, "depot", buf, strlen(buf), &k, &st, why, sizeof why),
              CR_EDATA);
    CHECK_INT(k.calls, 0);
    CHECK(strstr(why, "Tracking No") != NULL);
    CHECK_STR(st.header_field, "tracking_number");

    /* an unmapped column twice is fine */
    snprintf(buf, sizeof buf, "Note,RMA No,Tracking No,Checked In,Serial No,Battery Returned,"
                              "Genuine,note\n"
                              "a,CE1,1Z1,2026-03-10T09:30:00Z,SN1,Y,Y,b\n");
    CHECK_INT(fs_parse_with(feed_yaml, "depot", buf, strlen(buf), &k, &st, why, sizeof why),
              CR_OK);
    CHECK_INT(k.nr, 1);
    CHECK_STR(R(&k, 0)->claim_ref, "CE1");
    fs_free(&k);

    /* empty file, blank lines only, BOM only */
    static const char *const empties[] = {"", "\n\n\r\n", "\xEF\xBB\xBF"};
    for (size_t i = 0; i < 3; i++) {
        why[0] = '\0';
        CHECK_INT(fs_parse_with(feed_yaml, "depot", empties[i], strlen(empties[i]), &k, &st, why,
                                sizeof why),
                  CR_EDATA);
        CHECK_INT(k.calls, 0);
        CHECK(why[0] != '\0');
    }

    /* UTF-16 (a spreadsheet's "Unicode text"): said so, with its BOM or without */
    static const char u16[] = "\xFF\xFER\0M\0A\0 \0N\0o\0\n\0";
    CHECK_INT(fs_parse_with(feed_yaml, "depot", u16, sizeof u16 - 1, &k, &st, why, sizeof why),
              CR_EDATA);
    CHECK(strstr(why, "UTF-16") != NULL);
    CHECK_INT(k.calls, 0);
    CHECK_INT(fs_parse_with(feed_yaml, "depot", u16 + 2, sizeof u16 - 3, &k, &st, why, sizeof why),
              CR_EDATA);
    CHECK(strstr(why, "NUL") != NULL && strstr(why, "UTF-16") != NULL);
    CHECK_INT(k.calls, 0);

    /* only the preamble of a skip_lines feed */
    CHECK_INT(fs_parse_with(feed_yaml, "local", "a\nb\n", 4, &k, &st, why, sizeof why), CR_EDATA);
    CHECK_INT(k.calls, 0);

    /* the event column, the type column, the time-zone column */
    const char *c1 = "Tracking Number,Reference Number 1,Activity Date,Activity Time\n"
                     "T,,20260301,093000\n";
    CHECK_INT(fs_parse_with(feed_yaml, "carrier", c1, strlen(c1), &k, &st, why, sizeof why),
              CR_EDATA);
    CHECK(strstr(why, "Activity Code") != NULL);
    CHECK_STR(st.header_field, "event");
    const char *p1 = "Psp Reference,Merchant Reference,Payment Method,Creation Date,Type,"
                     "Gross Currency,Gross Debit (GC),Gross Credit (GC)\n"
                     "P,M,visa,2026-03-10 10:00:00,Settled,USD,,1.00\n";
    CHECK_INT(fs_parse_with(feed_yaml, "processor", p1, strlen(p1), &k, &st, why, sizeof why),
              CR_EDATA);
    CHECK(strstr(why, "TimeZone") != NULL);
    CHECK_INT(k.calls, 0);

    /* a header with broken quoting */
    const char *h1 = "\"RMA No,Tracking No\"x,Checked In,Serial No,Battery Returned,Genuine\n";
    CHECK_INT(fs_parse_with(feed_yaml, "depot", h1, strlen(h1), &k, &st, why, sizeof why),
              CR_EDATA);
    CHECK_INT(k.calls, 0);

    /* a header alone: fine, no rows */
    CHECK_INT(fs_parse("depot", DEPOT_HDR, &k, &st), CR_OK);
    CHECK_INT(k.calls, 0);
    CHECK_INT(st.rows, 0);
    fs_free(&k);
}

/* A header with more columns than limits.max_columns rejects the file. */
TEST(feed_too_many_columns)
{
    char yaml[sizeof feed_yaml + 64];
    snprintf(yaml, sizeof yaml, "limits: {max_columns: 6}\n%s", feed_yaml);
    fsink k = {0};
    cr_feed_stats st;
    char why[256];
    const char *in = DEPOT_HDR "CE1,1Z1,2026-03-10T09:30:00Z,SN1,Y,Y\n";
    CHECK_INT(fs_parse_with(yaml, "depot", in, strlen(in), &k, &st, why, sizeof why), CR_OK);
    CHECK_INT(k.nr, 1);
    fs_free(&k);
    const char *in7 = "RMA No,Tracking No,Checked In,Serial No,Battery Returned,Genuine,X\n"
                      "CE1,1Z1,2026-03-10T09:30:00Z,SN1,Y,Y,x\n";
    CHECK_INT(fs_parse_with(yaml, "depot", in7, strlen(in7), &k, &st, why, sizeof why), CR_EDATA);
    CHECK_INT(k.calls, 0);
    fs_free(&k);
}

/* ---- settlements ---- */

#define PROC_HDR                                                                   \
    "Company Account,Merchant Account,Psp Reference,Merchant Reference,Payment Method," \
    "Creation Date,TimeZone,Type,Modification Reference,Gross Currency,Gross Debit (GC)," \
    "Gross Credit (GC)\n"

TEST(feed_settlement_rows)
{
    fsink k = {0};
    cr_feed_stats st;
    const char *in = PROC_HDR
        "A,M,PSP1,CE1,mc,2026-03-10 10:00:00,CET,Settled,X,USD,,\"1,299.00\"\n"
        "A,M,PSP2,CE2,Visa,2026-07-10 10:00:00,PDT,Refunded,X,usd,-20.5,\n"
        "A,M,PSP3,,AMEX,2026-07-10 10:00:00,cest,Cancelled,X,,,\n"
        "A,M,,CE4,,2026-03-10 10:00:00,PST,Expired,X,,,\n"
        "A,M,PSP5,CE5,visa,2026-03-10 10:00:00,CET,SentForSettle,X,USD,,1.00\n"
        "A,M,PSP6,CE6,MC,2026-03-10 10:00:00,CET, settled ,X,USD,-,5.00\n"
        "A,M,PSP7,CE7,Discover,2026-03-10 10:00:00,CET,Chargeback,X,JPY,1500,\n"
        "A,M,PSP8,CE8,visa,2026-03-10 10:00:00,CET,Fee,X,EUR,0.35,\n"
        "A,M,PSP9,CE9,visa,2026-03-10 10:00:00,CET,Settled,X,USD,12.00,0.00\n"
        "A,M,PSP10,CE10,visa,2026-03-10 10:00:00,CET,Settled,X,USD,0.00,0.00\n";
    CHECK_INT(fs_parse("processor", in, &k, &st), CR_OK);
    CHECK_INT(k.nj, 0);
    CHECK_INT(k.ns, 9);
    CHECK_INT(S(&k, 0)->line, 2);
    CHECK_STR(S(&k, 0)->psp, "PSP1");
    CHECK_STR(S(&k, 0)->merchant, "CE1");
    CHECK_INT(S(&k, 0)->type, CR_ST_CAPTURE);
    CHECK_STR(S(&k, 0)->raw_type, "Settled");
    CHECK(S(&k, 0)->has_amount);
    CHECK_INT(S(&k, 0)->amount, 129900);
    CHECK_STR(S(&k, 0)->currency, "USD");
    CHECK_INT(S(&k, 0)->at, utc(2026, 3, 10, 9, 0, 0));
    CHECK_STR(S(&k, 0)->brand, "mastercard");
    /* debit column, negative -> absolute; currency upper-cased */
    CHECK_INT(S(&k, 1)->type, CR_ST_REFUND);
    CHECK_INT(S(&k, 1)->amount, 2050);
    CHECK_STR(S(&k, 1)->currency, "USD");
    CHECK_INT(S(&k, 1)->at, utc(2026, 7, 10, 17, 0, 0));
    CHECK_STR(S(&k, 1)->brand, "visa");
    /* release and expired without amount or currency */
    CHECK_INT(S(&k, 2)->type, CR_ST_RELEASE);
    CHECK(!S(&k, 2)->has_amount);
    CHECK_STR(S(&k, 2)->currency, "");
    CHECK(S(&k, 2)->merchant == NULL);
    CHECK_INT(S(&k, 2)->at, utc(2026, 7, 10, 8, 0, 0));
    CHECK_STR(S(&k, 2)->brand, "amex");
    CHECK_INT(S(&k, 3)->type, CR_ST_EXPIRED);
    CHECK(!S(&k, 3)->has_amount);
    CHECK(S(&k, 3)->psp == NULL);
    CHECK(S(&k, 3)->brand == NULL);
    CHECK_INT(S(&k, 3)->at, utc(2026, 3, 10, 18, 0, 0));
    /* SentForSettle -> ignore: counted, not delivered */
    CHECK_STR(S(&k, 4)->psp, "PSP6");
    CHECK_INT(S(&k, 4)->type, CR_ST_CAPTURE);
    CHECK_INT(S(&k, 4)->amount, 500);      /* credit; "-" (a spreadsheet's zero) is none */
    CHECK_STR(S(&k, 4)->brand, "mastercard");
    CHECK_INT(S(&k, 4)->line, 7);
    CHECK_INT(S(&k, 5)->type, CR_ST_CHARGEBACK);
    CHECK_INT(S(&k, 5)->amount, 1500);     /* JPY: exponent 0 */
    CHECK_STR(S(&k, 5)->currency, "JPY");
    CHECK_STR(S(&k, 5)->brand, "discover"); /* unmapped: lower-cased */
    CHECK_INT(S(&k, 6)->type, CR_ST_FEE);
    CHECK_INT(S(&k, 6)->amount, 35);
    /* 0.00 on the side the row does not use: the other side counts */
    CHECK_INT(S(&k, 7)->amount, 1200);
    CHECK(S(&k, 8)->has_amount);
    CHECK_INT(S(&k, 8)->amount, 0);
    CHECK_INT(st.rows, 10);
    CHECK_INT(st.accepted, 9);
    CHECK_INT(st.ignored, 1);
    CHECK_INT(st.rejected, 0);
    fs_free(&k);
}

/* Debit and credit both holding an amount other than zero: which one
 * counts is unknown (a review: the first listed was taken, 10.00 of a
 * row whose other side said 189.00), so the row is rejected; a release
 * or expired row is kept without its amount.  A lone "-" is no amount. */
TEST(feed_settlement_two_amounts)
{
    fsink k = {0};
    cr_feed_stats st;
    const char *in = PROC_HDR
        "A,M,PSP1,CE1,visa,2026-03-10 10:00:00,CET,Settled,X,USD,10.00,189.00\n"
        "A,M,PSP2,CE2,visa,2026-03-10 10:00:00,CET,Cancelled,X,USD,10.00,189.00\n"
        "A,M,PSP3,CE3,visa,2026-03-10 10:00:00,CET,Settled,X,USD,-,-\n"
        "A,M,PSP4,CE4,visa,2026-03-10 10:00:00,CET,Settled,X,USD,189.00,-\n"
        "A,M,PSP5,CE5,visa,2026-03-10 10:00:00,CET,Settled,X,USD,0.00,189.00\n";
    CHECK_INT(fs_parse("processor", in, &k, &st), CR_OK);
    CHECK_INT(k.nj, 2);
    CHECK_INT(J(&k, 0)->line, 2);
    CHECK_INT(J(&k, 0)->reason, CR_R_BAD_AMOUNT);
    CHECK(strstr(J(&k, 0)->detail, "two amount columns hold an amount (\"189.00\" and \"10.00\")") != NULL);
    CHECK_INT(J(&k, 1)->line, 4);
    CHECK_INT(J(&k, 1)->reason, CR_R_MISSING_FIELD);
    CHECK_INT(k.ns, 3);
    CHECK_STR(S(&k, 0)->psp, "PSP2");
    CHECK(!S(&k, 0)->has_amount);
    CHECK_INT(S(&k, 1)->amount, 18900);
    CHECK_INT(S(&k, 2)->amount, 18900);
    fs_free(&k);
}

/* A settlement row's card brand reads as its network (cr_card_brand_canon),
 * after the feed's card_brand_values: "American Express" is amex. */
TEST(feed_settlement_card_brand_network)
{
    fsink k = {0};
    cr_feed_stats st;
    const char *in = PROC_HDR
        "A,M,PSP1,CE1,American Express,2026-03-10 10:00:00,CET,Settled,X,USD,,1.00\n"
        "A,M,PSP2,CE2,Master Card,2026-03-10 10:00:00,CET,Settled,X,USD,,1.00\n"
        "A,M,PSP3,CE3,mc,2026-03-10 10:00:00,CET,Settled,X,USD,,1.00\n";
    CHECK_INT(fs_parse("processor", in, &k, &st), CR_OK);
    CHECK_INT(k.ns, 3);
    CHECK_STR(S(&k, 0)->brand, "amex");
    CHECK_STR(S(&k, 1)->brand, "mastercard");
    CHECK_STR(S(&k, 2)->brand, "mastercard");
    fs_free(&k);
}

/* "amount with currency except on release and expired rows": a void row
 * that carries an amount without a currency, or junk in the amount, is
 * kept without its amount (it confirms a release all the same); a capture
 * with the same faults is rejected. */
TEST(feed_settlement_release_amount_optional)
{
    fsink k = {0};
    cr_feed_stats st;
    const char *in = PROC_HDR
        "A,M,PSP1,CE1,visa,2026-03-10 10:00:00,CET,Cancelled,X,,,1299.00\n"
        "A,M,PSP2,CE2,visa,2026-03-10 10:00:00,CET,Cancelled,X,USD,,N/A\n"
        "A,M,PSP3,CE3,visa,2026-03-10 10:00:00,CET,Expired,X,??,,-\n"
        "A,M,PSP4,CE4,visa,2026-03-10 10:00:00,CET,Cancelled,X,USD,,12.00\n"
        "A,M,PSP5,CE5,visa,2026-03-10 10:00:00,CET,Settled,X,,,1299.00\n"
        "A,M,PSP6,CE6,visa,2026-03-10 10:00:00,CET,Settled,X,USD,,N/A\n";
    CHECK_INT(fs_parse("processor", in, &k, &st), CR_OK);
    CHECK_INT(k.ns, 4);
    CHECK_INT(k.nj, 2);
    CHECK_INT(S(&k, 0)->type, CR_ST_RELEASE);
    CHECK(!S(&k, 0)->has_amount);
    CHECK(!S(&k, 1)->has_amount);
    CHECK_STR(S(&k, 1)->currency, "USD");
    CHECK_INT(S(&k, 2)->type, CR_ST_EXPIRED);
    CHECK(!S(&k, 2)->has_amount);
    CHECK_STR(S(&k, 2)->currency, "");
    CHECK(S(&k, 3)->has_amount);            /* one that reads is kept */
    CHECK_INT(S(&k, 3)->amount, 1200);
    if (k.nj == 2) {
        CHECK_INT(k.j[0].line, 6);
        CHECK_INT(k.j[0].reason, CR_R_MISSING_FIELD);
        CHECK_INT(k.j[1].line, 7);
        CHECK_INT(k.j[1].reason, CR_R_BAD_AMOUNT);
    }
    CHECK_INT(st.accepted, 4);
    CHECK_INT(st.rejected, 2);
    fs_free(&k);
}

TEST(feed_settlement_rejects)
{
    fsink k = {0};
    cr_feed_stats st;
    const char *in = PROC_HDR
        "A,M,P1,C1,visa,2026-03-10 10:00:00,CET,Settled,X,USD,,1.234\n"     /* 2 BAD_AMOUNT */
        "A,M,P2,C2,visa,2026-03-10 10:00:00,CET,Settled,X,JPY,,1500.5\n"    /* 3 BAD_AMOUNT */
        "A,M,P3,C3,visa,2026-03-10 10:00:00,CET,Settled,X,USD,,\n"          /* 4 MISSING amount */
        "A,M,P4,C4,visa,2026-03-10 10:00:00,CET,Settled,X,US,,1.00\n"       /* 5 BAD currency */
        "A,M,P5,C5,visa,2026-03-10 10:00:00,XYZ,Settled,X,USD,,1.00\n"      /* 6 BAD_DATETIME */
        "A,M,,,visa,2026-03-10 10:00:00,CET,Settled,X,USD,,1.00\n"          /* 7 MISSING ref */
        "A,M,P7,C7,visa,2026-03-10 10:00:00,CET,Bogus,X,USD,,1.00\n"        /* 8 UNKNOWN_VALUE */
        "A,M,P8,C8,visa,2026-03-10 10:00:00,CET,Settled,X,USD,,1.0.0\n"     /* 9 BAD_AMOUNT */
        "A,M,P9,C9,visa,2026-03-10 10:00:00,CET,Settled,X,,,1.00\n"         /* 10 no currency */
        "A,M,P10,C10,visa,2026-03-10,CET,Settled,X,USD,,1.00\n"             /* 11 BAD_DATETIME */
        "A,M,P11,C11,visa,2026-03-10 10:00:00,CET,,X,USD,,1.00\n"           /* 12 MISSING type */
        "A,M,P12,C12,visa,2026-03-10 10:00:00,CET,Refunded,X,USD,,\n"       /* 13 MISSING amount */
        "A,M,P13,C13,vi\xff,2026-03-10 10:00:00,CET,Settled,X,USD,,1.00\n"; /* 14 BAD_ROW */
    CHECK_INT(fs_parse("processor", in, &k, &st), CR_OK);
    CHECK_INT(k.ns, 0);
    CHECK_INT(k.nj, 13);
    static const struct { int reason; const char *field; } want[] = {
        {CR_R_BAD_AMOUNT, "amount"},        {CR_R_BAD_AMOUNT, "amount"},
        {CR_R_MISSING_FIELD, "amount"},     {CR_R_BAD_AMOUNT, "currency"},
        {CR_R_BAD_DATETIME, "booked_at"},   {CR_R_MISSING_FIELD, NULL},
        {CR_R_UNKNOWN_VALUE, "type"},       {CR_R_BAD_AMOUNT, "amount"},
        {CR_R_MISSING_FIELD, "currency"},   {CR_R_BAD_DATETIME, "booked_at"},
        {CR_R_MISSING_FIELD, "type"},       {CR_R_MISSING_FIELD, "amount"},
        {CR_R_BAD_ROW, "card_brand"},
    };
    for (size_t i = 0; i < 13; i++) {
        CHECK_INT(J(&k, i)->line, (long)i + 2);
        CHECK_INT(J(&k, i)->reason, want[i].reason);
        if (want[i].field)
            CHECK_STR(J(&k, i)->field, want[i].field);
        else
            CHECK(J(&k, i)->field && (strcmp(J(&k, i)->field, "psp_reference") == 0 ||
                                      strcmp(J(&k, i)->field, "merchant_reference") == 0));
    }
    CHECK_STR(J(&k, 0)->raw, "A,M,P1,C1,visa,2026-03-10 10:00:00,CET,Settled,X,USD,,1.234");
    CHECK_INT(st.rejected, 13);
    CHECK_INT(st.accepted, 0);
    CHECK(rejects_complete(&k));
    fs_free(&k);
}

/* An empty booked_at, or an empty time-zone column, is MISSING_FIELD:
 * never a row booked at 1970-01-01T00:00:00Z. */
TEST(feed_settlement_empty_booked_at)
{
    fsink k = {0};
    cr_feed_stats st;
    const char *in = PROC_HDR
        "A,M,P1,C1,visa,,CET,Settled,X,USD,,1.00\n"
        "A,M,P2,C2,visa,2026-03-10 10:00:00,,Settled,X,USD,,1.00\n"
        "A,M,P3,C3,visa,2026-03-10 10:00:00,CET,Settled,X,USD,,1.00\n";
    CHECK_INT(fs_parse("processor", in, &k, &st), CR_OK);
    CHECK_INT(k.ns, 1);
    CHECK_STR(S(&k, 0)->psp, "P3");
    for (size_t i = 0; i < k.ns; i++)
        CHECK(S(&k, i)->at == utc(2026, 3, 10, 9, 0, 0));
    CHECK_INT(k.nj, 2);
    CHECK_INT(J(&k, 0)->reason, CR_R_MISSING_FIELD);
    CHECK_STR(J(&k, 0)->field, "booked_at");
    CHECK_INT(J(&k, 0)->line, 2);
    CHECK_INT(J(&k, 1)->reason, CR_R_MISSING_FIELD);
    CHECK_INT(J(&k, 1)->line, 3);
    CHECK_INT(st.rejected, 2);
    fs_free(&k);
}

/* A time-zone abbreviation the feed does not list is BAD_DATETIME, even
 * when it happens to be a zone file name (EST, CET): the column is read
 * through timezone_abbreviations only (feed.h: "Pure: no I/O"; and the
 * CET *zone* would give +02:00 in July, the CET abbreviation is +01:00). */
TEST(feed_tz_abbreviation_unlisted)
{
    fsink k = {0};
    cr_feed_stats st;
    const char *in = PROC_HDR
        "A,M,P1,C1,visa,2026-03-10 10:00:00,XYZ,Settled,X,USD,,1.00\n"
        "A,M,P2,C2,visa,2026-03-10 10:00:00,EST,Settled,X,USD,,1.00\n"
        "A,M,P3,C3,visa,2026-03-10 10:00:00,Europe/Paris,Settled,X,USD,,1.00\n"
        "A,M,P4,C4,visa,2026-03-10 10:00:00,PDT,Settled,X,USD,,1.00\n";
    CHECK_INT(fs_parse("processor", in, &k, &st), CR_OK);
    /* an IANA name is read (EST, an abbreviation the feed does not map, is
     * not guessed) */
    CHECK_INT(k.ns, 2);
    CHECK_STR(S(&k, 0)->psp, "P3");
    CHECK_INT(S(&k, 0)->at, utc(2026, 3, 10, 9, 0, 0));
    CHECK_STR(S(&k, 1)->psp, "P4");
    CHECK_INT(S(&k, 1)->at, utc(2026, 3, 10, 17, 0, 0));
    CHECK_INT(k.nj, 2);
    for (size_t i = 0; i < 2; i++) {
        CHECK_INT(J(&k, i)->reason, CR_R_BAD_DATETIME);
        CHECK_STR(J(&k, i)->field, "booked_at");
        CHECK_INT(J(&k, i)->line, (long)i + 2);
    }
    fs_free(&k);
}

/* An offset in the data wins over the zone; a tab-delimited feed. */
TEST(feed_settlement_offsets_tab)
{
    fsink k = {0};
    cr_feed_stats st;
    const char *in = "claim\tamount\tcur\tat\ttype\n"
                     "CE1\t10\teur\t2026-03-10T10:00:00+05:30\tcapture\n"
                     "CE2\t\t\t2026-03-10T10:00:00-03\trelease\n"
                     "CE3\t10\tEUR\t2026-03-10T10:00:00\tcapture\n";
    CHECK_INT(fs_parse("simple", in, &k, &st), CR_OK);
    CHECK_INT(k.ns, 2);
    CHECK_STR(S(&k, 0)->merchant, "CE1");
    CHECK(S(&k, 0)->psp == NULL);
    CHECK_INT(S(&k, 0)->amount, 1000);
    CHECK_STR(S(&k, 0)->currency, "EUR");
    CHECK_INT(S(&k, 0)->at, utc(2026, 3, 10, 4, 30, 0));
    CHECK_INT(S(&k, 1)->type, CR_ST_RELEASE);
    CHECK_INT(S(&k, 1)->at, utc(2026, 3, 10, 13, 0, 0));
    CHECK(!S(&k, 1)->has_amount);
    CHECK_INT(k.nj, 1);
    CHECK_INT(J(&k, 0)->reason, CR_R_BAD_DATETIME);
    CHECK_INT(J(&k, 0)->line, 4);
    /* a time without its offset, and the feed names no zone: not a guess at UTC */
    CHECK(J(&k, 0)->detail && strstr(J(&k, 0)->detail, "has no UTC offset, and feed simple names no"
                                                      " timezone") != NULL);
    fs_free(&k);
}

/* SPEC 3: a feed's timezone is "for times without an offset", also when
 * its format ends in %z: a value that leaves the offset out is local time
 * of the feed's zone. */
TEST(feed_offset_left_out_reads_feed_zone)
{
    fsink k = {0};
    cr_feed_stats st;
    const char *in = DEPOT_HDR
        "CE1,1Z1,2026-03-01T10:00:00,SN1,Y,Y\n"        /* EST */
        "CE2,1Z2,2026-07-01T10:00:00 ,SN2,Y,Y\n"       /* EDT */
        "CE3,1Z3,2026-07-01T10:00:00Z,SN3,Y,Y\n";      /* an offset wins */
    CHECK_INT(fs_parse("depot", in, &k, &st), CR_OK);
    CHECK_INT(k.nj, 0);
    CHECK_INT(k.nr, 3);
    CHECK_INT(R(&k, 0)->at, utc(2026, 3, 1, 15, 0, 0));
    CHECK_INT(R(&k, 1)->at, utc(2026, 7, 1, 14, 0, 0));
    CHECK_INT(R(&k, 2)->at, utc(2026, 7, 1, 10, 0, 0));
    fs_free(&k);
}

/* A fraction of a second counts as the next whole second (a review: a
 * check-in at 23:59:59.9 was on time for a deadline of 23:59:59, and a row
 * at D + 0.5 s was seen by the night as of D); zeros change nothing. */
TEST(feed_fraction_counts_as_next_second)
{
    fsink k = {0};
    cr_feed_stats st;
    const char *in = "claim,type,amount,cur,at\n"
                     "CE1,capture,1.00,USD,2026-03-15 23:59:59.900\n"
                     "CE2,capture,1.00,USD,2026-03-15 23:59:59.000\n"
                     "CE3,capture,1.00,USD,2026-03-15 23:59:59\n"
                     "CE4,capture,1.00,USD,2026-03-15 23:59:58.001\n";
    CHECK_INT(fs_parse("frac", in, &k, &st), CR_OK);
    CHECK_INT(k.nj, 0);
    CHECK_INT(k.ns, 4);
    CHECK_INT(S(&k, 0)->at, utc(2026, 3, 16, 4, 0, 0));
    CHECK_INT(S(&k, 1)->at, utc(2026, 3, 16, 3, 59, 59));
    CHECK_INT(S(&k, 2)->at, utc(2026, 3, 16, 3, 59, 59));
    CHECK_INT(S(&k, 3)->at, utc(2026, 3, 16, 3, 59, 59));
    fs_free(&k);
}

/* A row whose time-zone column is empty is read in the feed's timezone
 * when the feed names one (else it is MISSING_FIELD: processor). */
TEST(feed_tz_column_empty_reads_feed_zone)
{
    fsink k = {0};
    cr_feed_stats st;
    const char *in = "claim,amount,cur,at,tz,type\n"
                     "CE1,10,USD,2026-07-01 10:00,CET,capture\n"
                     "CE2,10,USD,2026-07-01 10:00,,capture\n"
                     "CE3,10,USD,2026-07-01 10:00, ,capture\n";
    CHECK_INT(fs_parse("zoned", in, &k, &st), CR_OK);
    CHECK_INT(k.nj, 0);
    CHECK_INT(k.ns, 3);
    CHECK_INT(S(&k, 0)->at, utc(2026, 7, 1, 9, 0, 0));
    CHECK_INT(S(&k, 1)->at, utc(2026, 7, 1, 14, 0, 0));   /* EDT */
    CHECK_INT(S(&k, 2)->at, utc(2026, 7, 1, 14, 0, 0));
    fs_free(&k);
    const char *in2 = PROC_HDR "A,M,P1,C1,visa,2026-03-10 10:00:00,,Settled,X,USD,,1.00\n";
    CHECK_INT(fs_parse("processor", in2, &k, &st), CR_OK);
    CHECK_INT(k.ns, 0);
    CHECK_INT(k.nj, 1);
    CHECK_INT(J(&k, 0)->reason, CR_R_MISSING_FIELD);
    fs_free(&k);
}

/* An error from the sink stops the read and comes back. */
TEST(feed_sink_error_propagates)
{
    fsink k = {0};
    cr_feed_stats st;
    k.fail_with = CR_EIO;
    const char *in = DEPOT_HDR
        "CE1,1Z1,2026-03-10T09:30:00Z,SN1,Y,Y\n"
        "CE2,1Z2,2026-03-10T09:30:00Z,SN2,Y,Y\n";
    CHECK_INT(fs_parse("depot", in, &k, &st), CR_EIO);
    CHECK_INT(k.calls, 1);
    fs_free(&k);
    k.fail_with = CR_EIO;
    CHECK_INT(fs_parse("depot", DEPOT_HDR "bad\nCE2,1Z2,2026-03-10T09:30:00Z,SN2,Y,Y\n", &k, &st),
              CR_EIO);
    CHECK_INT(k.calls, 1);
    CHECK_INT(k.nj, 1);
    fs_free(&k);
}

/* ---- small helpers ---- */

TEST(feed_matches_glob)
{
    cr_feed f;
    memset(&f, 0, sizeof f);
    f.files = "depot_*.csv";
    CHECK(cr_feed_matches(&f, "depot_20260310.csv"));
    CHECK(cr_feed_matches(&f, "depot_.csv"));
    CHECK(!cr_feed_matches(&f, "xdepot_1.csv"));
    CHECK(!cr_feed_matches(&f, "depot_1.csv.bak"));
    CHECK(!cr_feed_matches(&f, "depot_1.txt"));
    CHECK(!cr_feed_matches(&f, "carrier_1.csv"));
    f.files = "settlement_detail_report_batch_?.csv";
    CHECK(cr_feed_matches(&f, "settlement_detail_report_batch_7.csv"));
    CHECK(!cr_feed_matches(&f, "settlement_detail_report_batch_17.csv"));
    f.files = "*.csv";
    CHECK(cr_feed_matches(&f, "a.csv"));
    CHECK(!cr_feed_matches(&f, ".hidden.csv"));   /* FNM_PERIOD */
    f.files = "[ab]_*.CSV";
    CHECK(cr_feed_matches(&f, "a_1.CSV"));
    CHECK(!cr_feed_matches(&f, "c_1.CSV"));
}

TEST(feed_utf8_valid)
{
    CHECK(cr_utf8_valid("", 0));
    CHECK(cr_utf8_valid("abc", 3));
    CHECK(cr_utf8_valid("\xC3\xA9", 2));
    CHECK(cr_utf8_valid("\xE2\x82\xAC", 3));
    CHECK(cr_utf8_valid("\xF0\x9F\x98\x80", 4));
    CHECK(cr_utf8_valid("\xF4\x8F\xBF\xBF", 4));       /* U+10FFFF */
    CHECK(!cr_utf8_valid("\xC3", 1));                  /* truncated */
    CHECK(!cr_utf8_valid("\xE2\x82", 2));
    CHECK(!cr_utf8_valid("\x80", 1));                  /* lone continuation */
    CHECK(!cr_utf8_valid("\xC0\x80", 2));              /* overlong */
    CHECK(!cr_utf8_valid("\xE0\x80\xAF", 3));          /* overlong */
    CHECK(!cr_utf8_valid("\xED\xA0\x80", 3));          /* surrogate */
    CHECK(!cr_utf8_valid("\xF4\x90\x80\x80", 4));      /* > U+10FFFF */
    CHECK(!cr_utf8_valid("\xFF", 1));
    CHECK(!cr_utf8_valid("a\xC3(", 3));
}

TEST(feed_names)
{
    CHECK_STR(cr_reason_name(CR_R_MISSING_FIELD), "MISSING_FIELD");
    CHECK_STR(cr_reason_name(CR_R_BAD_DATETIME), "BAD_DATETIME");
    CHECK_STR(cr_reason_name(CR_R_BAD_AMOUNT), "BAD_AMOUNT");
    CHECK_STR(cr_reason_name(CR_R_BAD_BOOLEAN), "BAD_BOOLEAN");
    CHECK_STR(cr_reason_name(CR_R_UNKNOWN_VALUE), "UNKNOWN_VALUE");
    CHECK_STR(cr_reason_name(CR_R_BAD_ROW), "BAD_ROW");
    CHECK_STR(cr_reason_name(CR_R_MISSING_COLUMN), "MISSING_COLUMN");
    CHECK_STR(cr_event_name(CR_EV_SHIPPED), "shipped");
    CHECK_STR(cr_event_name(CR_EV_RECEIVED), "received");
    CHECK_STR(cr_settle_type_name(CR_ST_CHARGEBACK), "chargeback");
    CHECK_INT(cr_settle_type_from_name("release"), CR_ST_RELEASE);
    CHECK_INT(cr_settle_type_from_name("ignore"), -1);
    CHECK_INT(cr_settle_type_from_name(NULL), -1);
}
