/*
 * fuzz_feed.c - one input file through the whole ingestion path: the
 * bytes are read by cr_feed_parse with a fixed feed, and every row is
 * stored the way ingest.c stores it (cr_store_file_add, _event_add,
 * _settlement_add, _reject_add) into an in-memory state database, then read
 * back with cr_store_events_load / cr_store_settlements_load.
 *
 * The first input byte chooses the layout: bit 0 the feed (receipts or
 * settlements), bit 1 the configuration (A: ',' delimiter, default limits;
 * B: ';' delimiter, one preamble line, small limits so that the field-size
 * and column-count paths are reached with small inputs).  The rest is the
 * file.
 *
 * Beyond the sanitizers, the target aborts when a contract of feed.h is
 * broken: a store error (a row the schema refuses), a whole-file reject
 * that had already sent rows to the sink, counts that do not add up, line
 * numbers going backwards or past the end of the file, raw text outside
 * the input, a mapped text field that is not valid UTF-8, a settlement type
 * or event kind out of range, a negative amount, a bad currency code, or a
 * row read back from the database that differs from what was stored.
 */
#include "config.h"
#include "feed.h"
#include "rules.h"
#include "settle.h"
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FEED_COMMON                                                                         \
    "claims_db: /nonexistent/claims.db\n"                                                 \
    "state_db: /nonexistent/state.db\n"                                                   \
    "report_dir: /nonexistent/reports\n"                                                  \
    "actions_dir: /nonexistent/actions\n"                                                 \
    "inbox: {receipts: /nonexistent/r, settlements: /nonexistent/s}\n"                     \
    "policy:\n"                                                                             \
    "  currency_exponents: {JPY: 0, KRW: 0, BHD: 3}\n"

#define FEED_RECEIPTS(delim, skip, tz)                                                      \
    "  - name: carrier\n"                                                                   \
    "    kind: receipts\n"                                                                  \
    "    files: \"carrier_*.csv\"\n"                                                        \
    "    delimiter: \"" delim "\"\n"                                                        \
    "    skip_lines: " skip "\n"                                                            \
    "    datetime_format: \"%Y%m%d %H%M%S\"\n"                                              \
    "    timezone: " tz "\n"                                                                \
    "    event_column: \"Activity Code\"\n"                                                 \
    "    event_values: {P: shipped, D: delivered, R: received, I: ignore, X: ignore}\n"     \
    "    columns: {tracking_number: \"Tracking Number\", claim_ref: \"Reference Number 1\",\n" \
    "              event_at: [\"Activity Date\", \"Activity Time\"], serial: \"Serial No\",\n" \
    "              battery_returned: \"Battery\", genuine: \"Genuine\"}\n"                   \
    "    true_values: [\"Y\", \"YES\", \"1\", \"TRUE\"]\n"                                   \
    "    false_values: [\"N\", \"NO\", \"0\", \"FALSE\"]\n"

#define FEED_SETTLEMENTS(delim, skip)                                                       \
    "  - name: processor\n"                                                                 \
    "    kind: settlements\n"                                                               \
    "    files: \"settlement_detail_report_*.csv\"\n"                                       \
    "    delimiter: \"" delim "\"\n"                                                        \
    "    skip_lines: " skip "\n"                                                            \
    "    datetime_format: \"%Y-%m-%d %H:%M:%S\"\n"                                          \
    "    timezone_column: \"TimeZone\"\n"                                                   \
    "    timezone_abbreviations: {CET: \"+01:00\", CEST: \"+02:00\", PST: \"-08:00\", "     \
    "PDT: \"-07:00\"}\n"                                                                    \
    "    type_column: \"Type\"\n"                                                           \
    "    type_values: {Settled: capture, Cancelled: release, Expired: expired,\n"           \
    "                  Refunded: refund, Fee: fee, Chargeback: chargeback,\n"               \
    "                  SentForSettle: ignore}\n"                                            \
    "    card_brand_values: {mc: mastercard}\n"                                             \
    "    columns: {psp_reference: \"Psp Reference\", merchant_reference: \"Merchant "       \
    "Reference\",\n"                                                                        \
    "              amount: [\"Gross Credit (GC)\", \"Gross Debit (GC)\"], currency: "       \
    "\"Gross Currency\",\n"                                                                 \
    "              booked_at: \"Creation Date\", card_brand: \"Payment Method\"}\n"

static const char yaml_a[] = FEED_COMMON "feeds:\n" FEED_RECEIPTS(",", "0", "America/Los_Angeles")
    FEED_SETTLEMENTS(",", "0");

static const char yaml_b[] = FEED_COMMON "limits: {max_field_bytes: 64, max_columns: 24}\n"
                                         "feeds:\n" FEED_RECEIPTS(";", "1", "Europe/London")
                                             FEED_SETTLEMENTS(";", "1");

static cr_config *cfgs[2];
static cr_store *store;

#define DIE(...)                                                                            \
    do {                                                                                    \
        fprintf(stderr, "fuzz_feed: " __VA_ARGS__);                                         \
        fputc('\n', stderr);                                                                \
        abort();                                                                            \
    } while (0)

/* What the sink saw, to check the contracts. */
typedef struct sinkctx {
    const char *data;
    size_t len;
    long max_line;
    long last_line;
    long receipts, settlements, rejects;
    int64_t run_id, file_id;
} sinkctx;

static void check_line(sinkctx *c, long line)
{
    if (line < 1 || line > c->max_line)
        DIE("line %ld outside 1..%ld", line, c->max_line);
    if (line < c->last_line)
        DIE("line %ld after line %ld", line, c->last_line);
    c->last_line = line;
}

static void check_text(const char *what, const char *s)
{
    if (s && (!*s || !cr_utf8_valid(s, strlen(s))))
        DIE("%s is empty or not UTF-8", what);
}

static cr_err on_receipt(void *ud, const cr_receipt_row *r)
{
    sinkctx *c = ud;
    check_line(c, r->line);
    /* a row may carry neither a tracking number nor a claim ref: a
     * tracking value with nothing left once normalized ("-", a control
     * character) is given but matches nothing (a walk-in check-in is
     * matched by its serial; anything else is UNMATCHED_RECEIPT) */
    if ((int)r->event < CR_EV_SHIPPED || (int)r->event > CR_EV_RECEIVED)
        DIE("event kind %d", (int)r->event);
    check_text("tracking", r->tracking);
    check_text("claim_ref", r->claim_ref);
    check_text("serial", r->serial);
    if (r->event == CR_EV_RECEIVED) {
        if (!r->serial || (r->battery_returned != 0 && r->battery_returned != 1) ||
            (r->genuine != 0 && r->genuine != 1))
            DIE("received event without serial or booleans");
    } else if (r->battery_returned != -1 || r->genuine != -1) {
        DIE("booleans on a %s event", cr_event_name(r->event));
    }
    c->receipts++;
    cr_err rc = cr_store_event_add(store, c->file_id, r);
    if (rc != CR_OK)
        DIE("cr_store_event_add: %s", cr_strerror(rc));
    return CR_OK;
}

static cr_err on_settlement(void *ud, const cr_settle_row *r)
{
    sinkctx *c = ud;
    check_line(c, r->line);
    if ((int)r->type < CR_ST_CAPTURE || (int)r->type > CR_ST_CHARGEBACK)
        DIE("settlement type %d", (int)r->type);
    if (!r->psp_ref && !r->merchant_ref)
        DIE("settlement row without references");
    check_text("psp_ref", r->psp_ref);
    check_text("merchant_ref", r->merchant_ref);
    check_text("card_brand", r->card_brand);
    if (r->has_amount && r->amount < 0)
        DIE("negative amount %lld", (long long)r->amount);
    if (r->currency[0]) {
        for (int i = 0; i < 3; i++)
            if (r->currency[i] < 'A' || r->currency[i] > 'Z')
                DIE("currency \"%s\"", r->currency);
        if (r->currency[3])
            DIE("currency not terminated");
    }
    if (r->has_amount && !r->currency[0])
        DIE("amount without currency");
    if (r->type != CR_ST_RELEASE && r->type != CR_ST_EXPIRED && (!r->has_amount || !r->currency[0]))
        DIE("%s row without amount or currency", cr_settle_type_name(r->type));
    c->settlements++;
    cr_err rc = cr_store_settlement_add(store, c->file_id, r);
    if (rc != CR_OK)
        DIE("cr_store_settlement_add: %s", cr_strerror(rc));
    return CR_OK;
}

static cr_err on_reject(void *ud, const cr_reject_row *r)
{
    sinkctx *c = ud;
    check_line(c, r->line);
    if ((int)r->reason < 0 || (int)r->reason >= CR_R_MISSING_COLUMN)
        DIE("row reject reason %d", (int)r->reason);
    if (!r->detail || !*r->detail)
        DIE("reject without detail");
    if (r->raw_len && (!r->raw || r->raw < c->data || r->raw + r->raw_len > c->data + c->len))
        DIE("raw text outside the input");
    c->rejects++;
    cr_err rc = cr_store_reject_add(store, c->run_id, c->file_id, "fuzz.csv", r);
    if (rc != CR_OK)
        DIE("cr_store_reject_add: %s", cr_strerror(rc));
    return CR_OK;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *y[2] = {yaml_a, yaml_b};
    for (int i = 0; i < 2; i++)
        if (cr_config_load_buffer("fuzz_feed.yaml", "/", y[i], strlen(y[i]), false, &cfgs[i]) !=
            CR_OK)
            DIE("the embedded configuration %d does not load", i);
    if (cr_store_open(":memory:", true, &store) != CR_OK)
        DIE("cannot open the in-memory state database");
    return 0;
}

static void read_back(const sinkctx *c)
{
    cr_pool pool = CR_POOL_INIT;
    cr_event *ev = NULL;
    cr_srow *sr = NULL;
    size_t nev = 0, nsr = 0;
    if (cr_store_events_load(store, &pool, &ev, &nev) != CR_OK ||
        cr_store_settlements_load(store, &pool, &sr, &nsr) != CR_OK)
        DIE("cannot read the rows back");
    if ((long)nev != c->receipts || (long)nsr != c->settlements)
        DIE("read back %zu events and %zu settlement rows, stored %ld and %ld", nev, nsr,
            c->receipts, c->settlements);
    for (size_t i = 0; i < nev; i++) {
        char norm[128];
        if (ev[i].serial) {
            cr_serial_normalize(ev[i].serial, norm, sizeof norm);
            (void)cr_serial_near_match(norm, "9GSCJ4M0B20E4D");
        }
    }
    free(ev);
    free(sr);
    cr_pool_release(&pool);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const cr_config *cfg = cfgs[(data[0] >> 1) & 1];
    const cr_feed *feed = &cfg->feeds[data[0] & 1];
    /* the file on its own heap block, so that a read past its end is caught */
    size_t len = size - 1;
    char *file = malloc(len ? len : 1);
    if (!file)
        return 0;
    memcpy(file, data + 1, len);

    /* lines end in LF, or in bare CRs in a file whose first line does */
    sinkctx c = {.data = file, .len = len, .max_line = 1};
    long lf = 0, cr = 0;
    for (size_t i = 0; i < len; i++) {
        lf += file[i] == '\n';
        cr += file[i] == '\r';
    }
    c.max_line += lf > cr ? lf : cr;
    cr_feed_sink sink = {&c, on_receipt, on_settlement, on_reject};
    cr_feed_stats st;
    char why[512];

    if (cr_store_begin(store) != CR_OK ||
        cr_store_run_start(store, 1800000000, "fuzz", 1800000000, &c.run_id) != CR_OK ||
        cr_store_file_add(store, c.run_id, "0123", "fuzz.csv", feed->name, feed->kind, "ingested",
                          NULL, NULL, 1800000000, &c.file_id) != CR_OK)
        DIE("cannot start the run");

    cr_err rc = cr_feed_parse(cfg, feed, file, len, &sink, &st, why, sizeof why);
    if (rc == CR_EDATA) {
        if (c.receipts || c.settlements || c.rejects)
            DIE("file rejected whole after %ld rows went to the sink",
                c.receipts + c.settlements + c.rejects);
        if (!why[0])
            DIE("file rejected whole without a reason");
    } else if (rc != CR_OK) {
        DIE("cr_feed_parse: %s", cr_strerror(rc));
    } else {
        if (st.rows != st.accepted + st.rejected + st.ignored)
            DIE("rows %ld != accepted %ld + rejected %ld + ignored %ld", st.rows, st.accepted,
                st.rejected, st.ignored);
        if (st.accepted != c.receipts + c.settlements || st.rejected != c.rejects)
            DIE("stats do not match the sink");
        if (cr_store_file_counts(store, c.file_id, &st) != CR_OK)
            DIE("cannot record the counts");
        read_back(&c);
    }
    if (cr_store_rollback(store) != CR_OK)
        DIE("cannot roll back");
    free(file);
    return 0;
}
