/* test_config.c - unit tests for config.c (the YAML configuration). */
#include "harness.h"
#include "config.h"

#include <limits.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

/* ---- building blocks of a valid configuration (the shape of
 * config/carerecon.yaml) ---- */

#define CFG_PATHS                                                                      \
    "timezone: America/New_York\n"                                                     \
    "claims_db: ../fixtures/claims.db\n"                                               \
    "state_db: /var/lib/cr/state.db\n"                                                 \
    "report_dir: ./reports/./x/..\n"                                                   \
    "actions_dir: ../reports/actions\n"                                                \
    "inbox:\n"                                                                         \
    "  receipts: ../inbox/receipts\n"                                                  \
    "  settlements: ../inbox/settlements\n"

#define CFG_POLICY                                                                     \
    "policy:\n"                                                                        \
    "  return_days: 14\n"                                                              \
    "  return_days_by_region: {US: 14, DE: 30}\n"                                      \
    "  transit_grace_days: 5\n"                                                        \
    "  ship_reminder_days: 3\n"                                                        \
    "  checkin_sla_days: 2\n"                                                          \
    "  late_return: capture\n"                                                         \
    "  settlement_confirm_days: 3\n"                                                   \
    "  premium_regions: [US]\n"                                                        \
    "  card_brands: [visa, mastercard, amex]\n"                                        \
    "  auth_validity_days: {visa: 10, mastercard: 30, amex: 7}\n"                      \
    "  currency_exponents: {JPY: 0, krw: 0}\n"

#define FEED_DEPOT                                                                     \
    "  - name: depot\n"                                                                \
    "    kind: receipts\n"                                                             \
    "    files: \"depot_*.csv\"\n"                                                     \
    "    delimiter: \",\"\n"                                                           \
    "    skip_lines: 2\n"                                                              \
    "    datetime_format: \"%Y-%m-%dT%H:%M:%S%z\"\n"                                   \
    "    timezone: America/New_York\n"                                                 \
    "    event: received\n"                                                            \
    "    columns:\n"                                                                   \
    "      claim_ref: \"RMA No\"\n"                                                    \
    "      tracking_number: \"Tracking No\"\n"                                         \
    "      event_at: \"Checked In\"\n"                                                 \
    "      serial: \"Serial No\"\n"                                                    \
    "      battery_returned: \"Battery Returned (Y/N)\"\n"                             \
    "      genuine: \"Genuine (Y/N)\"\n"                                               \
    "    true_values: [\"Y\", \"YES\", \"1\", \"TRUE\"]\n"                             \
    "    false_values: [\"N\", \"NO\", \"0\", \"FALSE\"]\n"

#define FEED_CARRIER                                                                   \
    "  - name: carrier\n"                                                              \
    "    kind: receipts\n"                                                             \
    "    files: \"carrier_*.csv\"\n"                                                   \
    "    datetime_format: \"%Y%m%d %H%M%S\"\n"                                         \
    "    timezone: America/Los_Angeles\n"                                              \
    "    event_column: \"Activity Code\"\n"                                            \
    "    event_values: {P: shipped, D: Delivered, I: ignore, X: ignore}\n"             \
    "    columns: {tracking_number: \"Tracking Number\", claim_ref: \"Reference Number 1\",\n" \
    "              event_at: [\"Activity Date\", \"Activity Time\"]}\n"

#define FEED_PROC                                                                      \
    "  - name: processor\n"                                                            \
    "    kind: settlements\n"                                                          \
    "    files: \"settlement_detail_report_*.csv\"\n"                                  \
    "    datetime_format: \"%Y-%m-%d %H:%M:%S\"\n"                                     \
    "    timezone_column: \"TimeZone\"\n"                                              \
    "    timezone_abbreviations: {CET: \"+01:00\", CEST: \"+02:00\", PST: \"-08:00\", PDT: \"-0700\"}\n" \
    "    type_column: \"Type\"\n"                                                      \
    "    type_values: {Settled: capture, Cancelled: release, Expired: expired,\n"      \
    "                  Refunded: refund, Fee: fee, Chargeback: chargeback,\n"          \
    "                  SentForSettle: ignore}\n"                                       \
    "    card_brand_values: {mc: MasterCard, AmericanExpress: AMEX}\n"                 \
    "    columns: {psp_reference: \"Psp Reference\", merchant_reference: \"Merchant Reference\",\n" \
    "              amount: [\"Gross Credit (GC)\", \"Gross Debit (GC)\"], currency: \"Gross Currency\",\n" \
    "              booked_at: \"Creation Date\", card_brand: \"Payment Method\"}\n"

#define CFG_FEEDS "feeds:\n" FEED_DEPOT FEED_CARRIER FEED_PROC

#define CFG_OK CFG_PATHS CFG_POLICY CFG_FEEDS

/* A minimal receipts feed head; the rest is given per test. */
#define RFEED(name)                                                                    \
    "  - name: " name "\n"                                                             \
    "    kind: receipts\n"                                                             \
    "    files: \"r_*.csv\"\n"

#define SFEED(name)                                                                    \
    "  - name: " name "\n"                                                             \
    "    kind: settlements\n"                                                          \
    "    files: \"s_*.csv\"\n"

#define CFG_DIR "/srv/cr/config"

static cr_err cfg_load(const char *yaml, cr_config **out)
{
    return cr_config_load_buffer("test.yaml", CFG_DIR, yaml, strlen(yaml), true, out);
}

static cr_err cfg_load_stderr(const char *yaml, char *buf, size_t n);

/* Loads YAML, expecting a config error, no config, and a message that
 * holds KEY (the key at fault, so the test fails when the error comes from
 * somewhere else).  Also checks that a quiet load fails the same way. */
static int cfg_bad(const char *key, const char *yaml)
{
    char msg[4096];
    cr_config *c = (cr_config *)1;
    cr_err rc = cfg_load(yaml, &c);
    int ok = rc == CR_ECONFIG && c == NULL;
    if (rc == CR_OK)
        cr_config_free(c);
    cr_err rc2 = cfg_load_stderr(yaml, msg, sizeof msg);
    if (rc2 != CR_ECONFIG)
        ok = 0;
    /* KEY may hold several '|'-separated parts, all of which must appear */
    for (const char *k = key; *k;) {
        const char *bar = strchr(k, '|');
        size_t kl = bar ? (size_t)(bar - k) : strlen(k);
        char part[256];
        snprintf(part, sizeof part, "%.*s", (int)kl, k);
        if (!strstr(msg, part))
            ok = 0;
        k += kl + (bar ? 1 : 0);
    }
    if (!ok)
        fprintf(stderr, "  expected CR_ECONFIG naming '%s', got %d/%d: %s\n", key, (int)rc,
                (int)rc2, msg);
    return ok;
}

static const cr_feed *cfg_feed(const cr_config *c, const char *name)
{
    for (size_t i = 0; c && i < c->n_feeds; i++)
        if (strcmp(c->feeds[i].name, name) == 0)
            return &c->feeds[i];
    return NULL;
}

/* Loads YAML with messages on, capturing what goes to stderr into BUF. */
static cr_err cfg_load_stderr(const char *yaml, char *buf, size_t n)
{
    cr_config *c = NULL;
    buf[0] = '\0';
    fflush(stderr);
    FILE *tmp = tmpfile();
    if (!tmp)
        return CR_EIO;
    int saved = dup(2);
    dup2(fileno(tmp), 2);
    cr_err rc = cr_config_load_buffer("test.yaml", CFG_DIR, yaml, strlen(yaml), false, &c);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    rewind(tmp);
    size_t k = fread(buf, 1, n - 1, tmp);
    buf[k] = '\0';
    fclose(tmp);
    cr_config_free(c);
    return rc;
}

/* 1-based line of the first occurrence of NEEDLE in S, 0 when absent. */
static int line_of(const char *s, const char *needle)
{
    const char *p = strstr(s, needle);
    if (!p)
        return 0;
    int line = 1;
    for (const char *q = s; q < p; q++)
        if (*q == '\n')
            line++;
    return line;
}

/* Does MSG name KEY and the line of NEEDLE (":LINE:")? */
static int msg_names(const char *msg, const char *yaml, const char *key, const char *needle)
{
    char at[32];
    snprintf(at, sizeof at, ":%d:", line_of(yaml, needle));
    int ok = strstr(msg, key) != NULL && strstr(msg, at) != NULL && line_of(yaml, needle) > 0;
    if (!ok)
        fprintf(stderr, "  message \"%s\" should name %s and %s\n", msg, key, at);
    return ok;
}

/* ---- the shipped file ---- */

/* Path of config/carerecon.yaml: from the current folder (the repository
 * root, where make and the unit binary run) or from __FILE__. */
static int shipped_path(char *out, size_t n)
{
    if (access("config/carerecon.yaml", R_OK) == 0) {
        snprintf(out, n, "config/carerecon.yaml");
        return 1;
    }
    const char *f = __FILE__;
    const char *t = strstr(f, "tests/unit/test_config.c");
    if (t) {
        snprintf(out, n, "%.*sconfig/carerecon.yaml", (int)(t - f), f);
        return access(out, R_OK) == 0;
    }
    return 0;
}

TEST(config_shipped_file_loads)
{
    char rel[PATH_MAX], absf[PATH_MAX], root[PATH_MAX], want[PATH_MAX + 64];
    CHECK(shipped_path(rel, sizeof rel));
    CHECK(realpath(rel, absf) != NULL);
    /* root = the folder above config/ */
    snprintf(root, sizeof root, "%s", absf);
    for (int i = 0; i < 2; i++) {
        char *s = strrchr(root, '/');
        if (s)
            *s = '\0';
    }
    cr_config *c = NULL;
    CHECK_INT(cr_config_load(absf, &c), CR_OK);
    CHECK(c != NULL);
    if (!c)
        return;
    CHECK_INT(c->n_feeds, 3);
    CHECK(cfg_feed(c, "depot") != NULL);
    CHECK(cfg_feed(c, "carrier") != NULL);
    CHECK(cfg_feed(c, "processor") != NULL);
    CHECK_STR(c->timezone_name, "America/New_York");
    CHECK(c->tz != NULL);
    snprintf(want, sizeof want, "%s/fixtures/claims.db", root);
    CHECK_STR(c->claims_db, want);
    snprintf(want, sizeof want, "%s/var/carerecon.db", root);
    CHECK_STR(c->state_db, want);
    snprintf(want, sizeof want, "%s/reports", root);
    CHECK_STR(c->report_dir, want);
    snprintf(want, sizeof want, "%s/reports/actions", root);
    CHECK_STR(c->actions_dir, want);
    snprintf(want, sizeof want, "%s/fixtures/inbox/receipts", root);
    CHECK_STR(c->inbox_receipts, want);
    snprintf(want, sizeof want, "%s/fixtures/inbox/settlements", root);
    CHECK_STR(c->inbox_settlements, want);
    const cr_feed *d = cfg_feed(c, "depot");
    if (d) {
        CHECK_INT(d->kind, CR_FEED_RECEIPTS);
        CHECK_INT(d->skip_lines, 2);
        CHECK_STR(d->event, "received");
        CHECK_STR(d->columns[CR_F_BATTERY][0], "Battery Returned (Y/N)");
    }
    const cr_feed *p = cfg_feed(c, "processor");
    if (p) {
        CHECK_INT(p->kind, CR_FEED_SETTLEMENTS);
        CHECK_INT(p->ncolumns[CR_F_AMOUNT], 2);
        CHECK_STR(p->type_column, "Type");
    }
    CHECK_INT(cr_policy_auth_days(&c->policy, "amex"), 7);
    cr_config_free(c);

    /* relative path: resolved against the config's folder as given */
    if (strcmp(rel, "config/carerecon.yaml") == 0) {
        CHECK_INT(cr_config_load(rel, &c), CR_OK);
        if (c) {
            CHECK_STR(c->claims_db, "fixtures/claims.db");
            CHECK_STR(c->actions_dir, "reports/actions");
        }
        cr_config_free(c);
    }
}

TEST(config_missing_file)
{
    cr_config *c = (cr_config *)1;
    char msg[1024];
    fflush(stderr);
    FILE *tmp = tmpfile();
    CHECK(tmp != NULL);
    if (!tmp)
        return;
    int saved = dup(2);
    dup2(fileno(tmp), 2);
    cr_err rc = cr_config_load("/nonexistent/dir/carerecon.yaml", &c);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    rewind(tmp);
    size_t k = fread(msg, 1, sizeof msg - 1, tmp);
    msg[k] = '\0';
    fclose(tmp);
    CHECK_INT(rc, CR_ECONFIG);
    CHECK(c == NULL);
    CHECK(strstr(msg, "/nonexistent/dir/carerecon.yaml") != NULL);
}

/* ---- a valid buffer: values, defaults, lookups ---- */

TEST(config_buffer_values)
{
    cr_config *c = NULL;
    CHECK_INT(cfg_load(CFG_OK, &c), CR_OK);
    if (!c)
        return;
    CHECK_INT(c->n_feeds, 3);
    CHECK_STR(c->claims_db, "/srv/cr/fixtures/claims.db");
    CHECK_STR(c->state_db, "/var/lib/cr/state.db");      /* absolute: unchanged */
    CHECK_STR(c->report_dir, "/srv/cr/config/reports");  /* ./reports/./x/.. */
    CHECK_STR(c->actions_dir, "/srv/cr/reports/actions");
    CHECK_STR(c->inbox_receipts, "/srv/cr/inbox/receipts");
    CHECK_STR(c->inbox_settlements, "/srv/cr/inbox/settlements");
    CHECK_INT(c->policy.return_days, 14);
    CHECK_INT(c->policy.transit_grace_days, 5);
    CHECK_INT(c->policy.late_return, CR_LATE_CAPTURE);
    CHECK_INT(c->policy.n_currency_exponents, 2);
    CHECK_INT(cr_currency_exponent(c->policy.currency_exponents, c->policy.n_currency_exponents,
                                   "JPY"), 0);
    CHECK_INT(cr_currency_exponent(c->policy.currency_exponents, c->policy.n_currency_exponents,
                                   "KRW"), 0);
    CHECK_INT(cr_currency_exponent(c->policy.currency_exponents, c->policy.n_currency_exponents,
                                   "USD"), 2);
    CHECK(cr_strlist_has(&c->policy.premium_regions, "us"));
    CHECK(!cr_strlist_has(&c->policy.premium_regions, "DE"));

    const cr_feed *d = cfg_feed(c, "depot");
    CHECK(d != NULL);
    if (d) {
        CHECK_INT(d->delimiter, ',');
        CHECK_INT(d->skip_lines, 2);
        CHECK_STR(d->datetime_format, "%Y-%m-%dT%H:%M:%S%z");
        CHECK_STR(d->tz_name, "America/New_York");
        CHECK_INT(d->ncolumns[CR_F_EVENT_AT], 1);
        CHECK_STR(d->columns[CR_F_SERIAL][0], "Serial No");
        CHECK(cr_strlist_has(&d->true_values, " yes "));
        CHECK(cr_strlist_has(&d->false_values, "false"));
        CHECK(!cr_strlist_has(&d->true_values, "T"));
        CHECK(d->line > 0);
    }
    const cr_feed *r = cfg_feed(c, "carrier");
    CHECK(r != NULL);
    if (r) {
        CHECK(r->event == NULL);
        CHECK_STR(r->event_column, "Activity Code");
        CHECK_INT(r->ncolumns[CR_F_EVENT_AT], 2);
        CHECK_STR(r->columns[CR_F_EVENT_AT][0], "Activity Date");
        CHECK_STR(r->columns[CR_F_EVENT_AT][1], "Activity Time");
        const cr_kv *kv = cr_kv_find(&r->event_values, " d");
        CHECK(kv != NULL);
        if (kv)
            CHECK_STR(kv->value, "delivered");   /* lower-cased */
        CHECK_INT(r->skip_lines, 0);
        CHECK_INT(r->delimiter, ',');           /* default */
    }
    const cr_feed *p = cfg_feed(c, "processor");
    CHECK(p != NULL);
    if (p) {
        CHECK_STR(p->timezone_column, "TimeZone");
        CHECK_STR(p->tz_name, "UTC");              /* default */
        const cr_kv *kv = cr_kv_find(&p->tz_abbrevs, "cet");
        CHECK(kv != NULL);
        if (kv)
            CHECK_INT(kv->num, 3600);
        kv = cr_kv_find(&p->tz_abbrevs, "PDT");
        CHECK(kv != NULL);
        if (kv)
            CHECK_INT(kv->num, -7 * 3600);
        kv = cr_kv_find(&p->tz_abbrevs, "PST");
        if (kv)
            CHECK_INT(kv->num, -8 * 3600);
        CHECK(kv != NULL);
        kv = cr_kv_find(&p->card_brand_values, "MC");
        CHECK(kv != NULL);
        if (kv)
            CHECK_STR(kv->value, "mastercard");
        kv = cr_kv_find(&p->card_brand_values, "americanexpress");
        CHECK(kv != NULL);
        if (kv)
            CHECK_STR(kv->value, "amex");
        kv = cr_kv_find(&p->type_values, "sentforsettle");
        CHECK(kv != NULL);
        if (kv)
            CHECK_STR(kv->value, "ignore");
        CHECK_INT(p->ncolumns[CR_F_AMOUNT], 2);
        CHECK_STR(p->columns[CR_F_AMOUNT][1], "Gross Debit (GC)");
    }
    cr_config_free(c);
}

TEST(config_policy_lookups)
{
    cr_config *c = NULL;
    CHECK_INT(cfg_load(CFG_PATHS
                       "policy:\n"
                       "  return_days: 10\n"
                       "  return_days_by_region: {US: 14, DE: 30}\n"
                       "  auth_validity_days: {visa: 10, mastercard: 30, amex: 7}\n"
                       "feeds:\n" FEED_CARRIER,
                       &c),
              CR_OK);
    if (!c)
        return;
    CHECK_INT(cr_policy_return_days(&c->policy, "US"), 14);
    CHECK_INT(cr_policy_return_days(&c->policy, " de"), 30);
    CHECK_INT(cr_policy_return_days(&c->policy, "FR"), 10);
    CHECK_INT(cr_policy_return_days(&c->policy, NULL), 10);
    CHECK_INT(cr_policy_auth_days(&c->policy, "visa"), 10);
    CHECK_INT(cr_policy_auth_days(&c->policy, "MasterCard"), 30);
    CHECK_INT(cr_policy_auth_days(&c->policy, "amex"), 7);
    CHECK_INT(cr_policy_auth_days(&c->policy, "discover"), -1);
    CHECK_INT(cr_policy_auth_days(&c->policy, NULL), -1);
    cr_config_free(c);
}

TEST(config_defaults)
{
    cr_config *c = NULL;
    CHECK_INT(cfg_load("claims_db: c.db\nstate_db: s.db\nreport_dir: r\nactions_dir: a\n"
                       "inbox: {receipts: ir, settlements: is}\n"
                       "policy: {return_days: 12}\n"
                       "feeds:\n" FEED_CARRIER,
                       &c),
              CR_OK);
    if (!c)
        return;
    CHECK_INT(c->policy.return_days, 12);
    CHECK_INT(c->policy.transit_grace_days, 7);
    CHECK_INT(c->policy.ship_reminder_days, 3);
    CHECK_INT(c->policy.checkin_sla_days, 2);
    CHECK_INT(c->policy.settlement_confirm_days, 3);
    CHECK_INT(c->policy.late_return, CR_LATE_CAPTURE);
    CHECK(cr_strlist_has(&c->policy.premium_regions, "US"));
    CHECK_INT(c->policy.premium_regions.n, 1);
    CHECK_INT(c->policy.card_brands.n, 3);
    CHECK(cr_strlist_has(&c->policy.card_brands, "amex"));
    CHECK_INT(cr_policy_return_days(&c->policy, "US"), 12);
    CHECK_INT(c->max_field_bytes, 65536);
    CHECK_INT(c->max_columns, 1024);
    CHECK_STR(c->timezone_name, "UTC");
    CHECK(c->tz != NULL);
    CHECK_STR(c->claims_db, "/srv/cr/config/c.db");
    const cr_feed *f = cfg_feed(c, "carrier");
    CHECK(f != NULL);
    if (f) {
        /* default true/false values for a receipts feed */
        CHECK(cr_strlist_has(&f->true_values, "yes"));
        CHECK(cr_strlist_has(&f->false_values, "N"));
    }
    cr_config_free(c);

    /* no policy at all */
    CHECK_INT(cfg_load(CFG_PATHS "feeds:\n" FEED_CARRIER, &c), CR_OK);
    if (c) {
        CHECK_INT(c->policy.return_days, 14);
        CHECK_INT(c->policy.transit_grace_days, 7);
    }
    cr_config_free(c);
}

TEST(config_limits_and_late_release)
{
    cr_config *c = NULL;
    CHECK_INT(cfg_load(CFG_PATHS "policy: {late_return: release}\n"
                                 "limits: {max_field_bytes: 1024, max_columns: 50}\n"
                                 "feeds:\n" FEED_CARRIER,
                       &c),
              CR_OK);
    if (!c)
        return;
    CHECK_INT(c->max_field_bytes, 1024);
    CHECK_INT(c->max_columns, 50);
    CHECK_INT(c->policy.late_return, CR_LATE_RELEASE);
    cr_config_free(c);
    CHECK(cfg_bad("limits.max_field_bytes:", CFG_PATHS "limits: {max_field_bytes: 0}\nfeeds:\n" FEED_CARRIER));
    CHECK(cfg_bad("limits.max_rows:", CFG_PATHS "limits: {max_rows: 10}\nfeeds:\n" FEED_CARRIER));
    /* in any case, as value mappings are read; anything else stays an error */
    CHECK_INT(cfg_load(CFG_PATHS "policy: {late_return: Release}\nfeeds:\n" FEED_CARRIER, &c), CR_OK);
    if (c)
        CHECK_INT(c->policy.late_return, CR_LATE_RELEASE);
    cr_config_free(c);
    c = NULL;
    CHECK(cfg_bad("policy.late_return:", CFG_PATHS "policy: {late_return: refund}\nfeeds:\n" FEED_CARRIER));
}

TEST(config_delimiters)
{
    cr_config *c = NULL;
    CHECK_INT(cfg_load(CFG_PATHS "feeds:\n" FEED_CARRIER "    delimiter: \"\\t\"\n", &c), CR_OK);
    if (c)
        CHECK_INT(c->feeds[0].delimiter, '\t');
    cr_config_free(c);
    CHECK_INT(cfg_load(CFG_PATHS "feeds:\n" FEED_CARRIER "    delimiter: '\\t'\n", &c), CR_OK);
    if (c)
        CHECK_INT(c->feeds[0].delimiter, '\t');
    cr_config_free(c);
    CHECK_INT(cfg_load(CFG_PATHS "feeds:\n" FEED_CARRIER "    delimiter: \";\"\n", &c), CR_OK);
    if (c)
        CHECK_INT(c->feeds[0].delimiter, ';');
    cr_config_free(c);
    CHECK(cfg_bad("feeds[0].delimiter:", CFG_PATHS "feeds:\n" FEED_CARRIER "    delimiter: \",,\"\n"));
    CHECK(cfg_bad("feeds[0].delimiter:", CFG_PATHS "feeds:\n" FEED_CARRIER "    delimiter: \"\"\n"));
    CHECK(cfg_bad("feeds[0].delimiter:", CFG_PATHS "feeds:\n" FEED_CARRIER "    delimiter: '\"'\n"));
}

TEST(config_type_in_columns_is_type_column)
{
    cr_config *c = NULL;
    CHECK_INT(cfg_load(CFG_PATHS "feeds:\n" SFEED("s")
                       "    type_values: {S: capture}\n"
                       "    columns: {psp_reference: P, amount: A, currency: C, booked_at: B, "
                       "type: T}\n",
                       &c),
              CR_OK);
    if (c)
        CHECK_STR(c->feeds[0].type_column, "T");
    cr_config_free(c);
}

/* ---- errors ---- */

TEST(config_err_unknown_keys)
{
    CHECK(cfg_bad("colour:", CFG_OK "colour: red\n"));
    CHECK(cfg_bad("policy.grace:", CFG_PATHS "policy:\n  return_days: 14\n  grace: 3\n" CFG_FEEDS));
    CHECK(cfg_bad("feeds[2].colour:", CFG_PATHS CFG_POLICY CFG_FEEDS "    colour: red\n"));
    /* a settlements key in a receipts feed */
    CHECK(cfg_bad("feeds[0].type_column:", CFG_PATHS "feeds:\n" FEED_CARRIER "    type_column: Type\n"));
    /* a settlements field in a receipts feed's columns */
    CHECK(cfg_bad("feeds[0].columns.amount:", CFG_PATHS "feeds:\n" RFEED("r") "    event: shipped\n"
                  "    columns: {tracking_number: T, event_at: A, amount: X}\n"));
    CHECK(cfg_bad("feeds[0].columns.colour:", CFG_PATHS "feeds:\n" RFEED("r") "    event: shipped\n"
                  "    columns: {tracking_number: T, event_at: A, colour: X}\n"));
    CHECK(cfg_bad("inbox.other:", "inbox: {receipts: a, settlements: b, other: c}\n" CFG_POLICY CFG_FEEDS));
}

/* The directives carerecon reads load; one it does not is refused. */
TEST(config_datetime_directives)
{
    static const char *const ok[] = {"%a, %d %b %Y %H:%M:%S %z", "%A %D %R", "%s", "%F %T %Z"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        char y[2048];
        snprintf(y, sizeof y, CFG_PATHS "feeds:\n  - name: carrier\n    kind: receipts\n"
                 "    files: \"c_*.csv\"\n    datetime_format: \"%s\"\n"
                 "    timezone_abbreviations: {PST: \"-08:00\"}\n"
                 "    event: delivered\n    columns: {tracking_number: T, event_at: A}\n", ok[i]);
        cr_config *c = NULL;
        CHECK_INT(cfg_load(y, &c), CR_OK);
        cr_config_free(c);
    }
    CHECK(cfg_bad("datetime_format|%j", CFG_PATHS "feeds:\n  - name: carrier\n    kind: receipts\n"
                  "    files: \"c_*.csv\"\n    datetime_format: \"%j %Y\"\n"
                  "    event: delivered\n    columns: {tracking_number: T, event_at: A}\n"));
    /* a format that cannot read a whole date: every row would be rejected */
    static const char *const no_date[][2] = {
        {"%m/%d %H:%M", "reads no year"}, {"%Y %H:%M", "reads no month"}, {"%Y-%m %H", "reads no day"}};
    for (size_t i = 0; i < sizeof no_date / sizeof no_date[0]; i++) {
        char y[2048], want[128];
        snprintf(y, sizeof y, CFG_PATHS "feeds:\n  - name: carrier\n    kind: receipts\n"
                 "    files: \"c_*.csv\"\n    datetime_format: \"%s\"\n"
                 "    event: delivered\n    columns: {tracking_number: T, event_at: A}\n", no_date[i][0]);
        snprintf(want, sizeof want, "feeds[0].datetime_format:|%s", no_date[i][1]);
        CHECK(cfg_bad(want, y));
    }
}

TEST(config_err_wrong_types)
{
    CHECK(cfg_bad("policy.return_days:", CFG_PATHS "policy:\n  return_days: \"x\"\n" CFG_FEEDS));
    CHECK(cfg_bad("policy.return_days:", CFG_PATHS "policy:\n  return_days: \"14\"\n" CFG_FEEDS));
    CHECK(cfg_bad("policy.return_days:", CFG_PATHS "policy:\n  return_days: [1]\n" CFG_FEEDS));
    CHECK(cfg_bad("policy.return_days:", CFG_PATHS "policy:\n  return_days: 14.5\n" CFG_FEEDS));
    CHECK(cfg_bad("policy.return_days:", CFG_PATHS "policy:\n  return_days:\n" CFG_FEEDS));
    CHECK(cfg_bad("policy.premium_regions:", CFG_PATHS "policy:\n  premium_regions: {a: b}\n" CFG_FEEDS));
    CHECK(cfg_bad("policy.premium_regions:", CFG_PATHS "policy:\n  premium_regions: [[US]]\n" CFG_FEEDS));
    /* a scalar where a list is expected is a wrong type (SPEC 3), with the
     * list to write instead */
    CHECK(cfg_bad("policy.premium_regions:|must be a list: write [US]",
                  CFG_PATHS "policy:\n  premium_regions: US\n" CFG_FEEDS));
    CHECK(cfg_bad("policy.premium_regions:|must be a list", CFG_PATHS "policy:\n  premium_regions: 5\n" CFG_FEEDS));
    /* a scalar with a comma is not a list of one: "visa, mastercard" would be one brand */
    CHECK(cfg_bad("policy.card_brands:|[visa, mastercard]",
                  CFG_PATHS "policy:\n  card_brands: visa, mastercard\n" CFG_FEEDS));
    /* an empty list is neither the default in silence nor nothing allowed
     * (card_brands: [] leaked its list, and then took the default) */
    CHECK(cfg_bad("policy.card_brands:|is an empty list", CFG_PATHS "policy:\n  card_brands: []\n" CFG_FEEDS));
    CHECK(cfg_bad("policy.premium_regions:|is an empty list",
                  CFG_PATHS "policy:\n  premium_regions: []  # none\n" CFG_FEEDS));
    CHECK(cfg_bad("policy.return_days_by_region:", CFG_PATHS "policy:\n  return_days_by_region: [US, 14]\n" CFG_FEEDS));
    CHECK(cfg_bad("policy.auth_validity_days.visa:", CFG_PATHS "policy:\n  auth_validity_days: {visa: ten}\n" CFG_FEEDS));
    CHECK(cfg_bad("policy:", CFG_PATHS "policy: 3\n" CFG_FEEDS));
    CHECK(cfg_bad("policy.currency_exponents:", CFG_PATHS "policy:\n  currency_exponents: {JPYY: 0}\n" CFG_FEEDS));
    CHECK(cfg_bad("policy.currency_exponents.JPY:", CFG_PATHS "policy:\n  currency_exponents: {JPY: 9}\n" CFG_FEEDS));
    CHECK(cfg_bad("claims_db:|value", "claims_db: [a]\n" CFG_POLICY CFG_FEEDS));
    CHECK(cfg_bad("feeds:|list", CFG_PATHS CFG_POLICY "feeds: {name: x}\n"));
    CHECK(cfg_bad("feeds[0]:|mapping", CFG_PATHS CFG_POLICY "feeds:\n  - just a string\n"));
    CHECK(cfg_bad("feeds[0].skip_lines:", CFG_PATHS "feeds:\n" FEED_CARRIER "    skip_lines: two\n"));
    CHECK(cfg_bad("feeds[0].skip_lines:", CFG_PATHS "feeds:\n" FEED_CARRIER "    skip_lines: -1\n"));
    CHECK(cfg_bad("feeds[0].columns.tracking_number:", CFG_PATHS "feeds:\n" RFEED("r") "    event: shipped\n"
                  "    columns: {tracking_number: [A, B], event_at: X}\n"));
    CHECK(cfg_bad("feeds[0].columns.event_at:", CFG_PATHS "feeds:\n" RFEED("r") "    event: shipped\n"
                  "    columns: {tracking_number: T, event_at: [A, B, C, D, E]}\n"));
    CHECK(cfg_bad("feeds[0].columns.tracking_number:", CFG_PATHS "feeds:\n" RFEED("r") "    event: shipped\n"
                  "    columns: {tracking_number: \" \", event_at: A}\n"));
}

TEST(config_err_late_return_and_negative_days)
{
    CHECK(cfg_bad("policy.late_return:", CFG_PATHS "policy:\n  late_return: sometimes\n" CFG_FEEDS));
    CHECK(cfg_bad("policy.late_return:", CFG_PATHS "policy:\n  late_return: [capture]\n" CFG_FEEDS));
    CHECK(cfg_bad("policy.return_days:", CFG_PATHS "policy:\n  return_days: -1\n" CFG_FEEDS));
    CHECK(cfg_bad("policy.transit_grace_days:", CFG_PATHS "policy:\n  transit_grace_days: -7\n" CFG_FEEDS));
    CHECK(cfg_bad("policy.return_days_by_region.US:", CFG_PATHS "policy:\n  return_days_by_region: {US: -3}\n" CFG_FEEDS));
    CHECK(cfg_bad("policy.auth_validity_days.visa:", CFG_PATHS "policy:\n  auth_validity_days: {visa: -1}\n" CFG_FEEDS));
    CHECK(cfg_bad("policy.return_days:", CFG_PATHS "policy:\n  return_days: 99999999999999999999\n" CFG_FEEDS));
}

TEST(config_err_unknown_time_zone)
{
    CHECK(cfg_bad("timezone:", "timezone: Mars/Olympus_Mons\n" CFG_POLICY CFG_FEEDS
                  "claims_db: c\nstate_db: s\nreport_dir: r\nactions_dir: a\n"
                  "inbox: {receipts: a, settlements: b}\n"));
    CHECK(cfg_bad("timezone:", "timezone: ../../etc/passwd\n" CFG_POLICY CFG_FEEDS
                  "claims_db: c\nstate_db: s\nreport_dir: r\nactions_dir: a\n"
                  "inbox: {receipts: a, settlements: b}\n"));
    CHECK(cfg_bad("feeds[0].timezone:", CFG_PATHS "feeds:\n" FEED_CARRIER "    timezone: America/Springfield\n"));
    CHECK(cfg_bad("feeds[0].timezone_abbreviations:", CFG_PATHS "feeds:\n" FEED_PROC
                  "    timezone_abbreviations: {XST: \"one hour\"}\n"));
}

TEST(config_err_receipts_feed_shape)
{
    /* missing event_at */
    CHECK(cfg_bad("feeds[0].columns:|event_at", CFG_PATHS "feeds:\n" RFEED("r") "    event: shipped\n"
                  "    columns: {tracking_number: T}\n"));
    /* neither tracking_number nor claim_ref */
    CHECK(cfg_bad("feeds[0].columns:|tracking_number or claim_ref", CFG_PATHS "feeds:\n" RFEED("r") "    event: shipped\n"
                  "    columns: {event_at: A}\n"));
    /* no columns at all */
    CHECK(cfg_bad("feeds[0]:|columns", CFG_PATHS "feeds:\n" RFEED("r") "    event: shipped\n"));
    /* received without serial / battery_returned / genuine */
    CHECK(cfg_bad("feeds[0].columns:|serial", CFG_PATHS "feeds:\n" RFEED("r") "    event: received\n"
                  "    columns: {claim_ref: C, event_at: A, battery_returned: B, genuine: G}\n"));
    CHECK(cfg_bad("feeds[0].columns:|battery_returned", CFG_PATHS "feeds:\n" RFEED("r") "    event: received\n"
                  "    columns: {claim_ref: C, event_at: A, serial: S, genuine: G}\n"));
    CHECK(cfg_bad("feeds[0].columns:|genuine", CFG_PATHS "feeds:\n" RFEED("r") "    event: received\n"
                  "    columns: {claim_ref: C, event_at: A, serial: S, battery_returned: B}\n"));
    /* received through event_values needs them too */
    CHECK(cfg_bad("feeds[0].columns:|serial", CFG_PATHS "feeds:\n" RFEED("r") "    event_column: E\n"
                  "    event_values: {R: received}\n"
                  "    columns: {claim_ref: C, event_at: A}\n"));
    /* the same with everything: fine */
    cr_config *c = NULL;
    CHECK_INT(cfg_load(CFG_PATHS "feeds:\n" RFEED("r") "    event: received\n"
                       "    columns: {claim_ref: C, event_at: A, serial: S, battery_returned: B, "
                       "genuine: G}\n",
                       &c),
              CR_OK);
    cr_config_free(c);
}

TEST(config_err_event_rules)
{
    /* both event and event_column */
    CHECK(cfg_bad("feeds[0]:|event_column", CFG_PATHS "feeds:\n" FEED_CARRIER "    event: shipped\n"));
    /* neither */
    CHECK(cfg_bad("feeds[0]:|event_column", CFG_PATHS "feeds:\n" RFEED("r") "    columns: {claim_ref: C, event_at: A}\n"));
    /* event_column without event_values */
    CHECK(cfg_bad("feeds[0]:|event_values", CFG_PATHS "feeds:\n" RFEED("r") "    event_column: E\n"
                  "    columns: {claim_ref: C, event_at: A}\n"));
    /* a value outside shipped/delivered/received/ignore */
    CHECK(cfg_bad("feeds[0].event_values.L:", CFG_PATHS "feeds:\n" RFEED("r") "    event_column: E\n"
                  "    event_values: {P: shipped, L: lost}\n"
                  "    columns: {claim_ref: C, event_at: A}\n"));
    /* a constant event that is not an event */
    CHECK(cfg_bad("feeds[0].event:", CFG_PATHS "feeds:\n" RFEED("r") "    event: ignore\n"
                  "    columns: {claim_ref: C, event_at: A}\n"));
    /* the same key twice, ignoring case */
    CHECK(cfg_bad("feeds[0].event_values.p:", CFG_PATHS "feeds:\n" RFEED("r") "    event_column: E\n"
                  "    event_values: {P: shipped, p: delivered}\n"
                  "    columns: {claim_ref: C, event_at: A}\n"));
    CHECK(cfg_bad("feeds[0].kind:", CFG_PATHS "feeds:\n" RFEED("r") "    kind: magic\n"
                  "    event: shipped\n    columns: {claim_ref: C, event_at: A}\n"));
    /* a value both true and false (a battery "N" read as returned) */
    CHECK(cfg_bad("test.yaml:15:|feeds[0].false_values:|'n'|in true_values",
                  CFG_PATHS "feeds:\n" RFEED("r") "    event: received\n"
                  "    true_values: [Y, OK, N]\n"
                  "    false_values: [n, MISSING]\n"
                  "    columns: {claim_ref: C, event_at: A}\n"));
    CHECK(cfg_bad("feeds[0].true_values:|' no '|default false",
                  CFG_PATHS "feeds:\n" RFEED("r") "    event: received\n"
                  "    true_values: [Y, ' no ']\n"
                  "    columns: {claim_ref: C, event_at: A}\n"));
    CHECK(cfg_bad("feeds[0].false_values:|'t'|default true",
                  CFG_PATHS "feeds:\n" RFEED("r") "    event: received\n"
                  "    false_values: [N, t]\n"
                  "    columns: {claim_ref: C, event_at: A}\n"));
}

TEST(config_err_settlements_feed_shape)
{
    /* no type_column */
    CHECK(cfg_bad("feeds[0]:|type_column", CFG_PATHS "feeds:\n" SFEED("s") "    type_values: {S: capture}\n"
                  "    columns: {psp_reference: P, amount: A, currency: C, booked_at: B}\n"));
    /* no type_values */
    CHECK(cfg_bad("feeds[0]:|type_values", CFG_PATHS "feeds:\n" SFEED("s") "    type_column: T\n"
                  "    columns: {psp_reference: P, amount: A, currency: C, booked_at: B}\n"));
    /* no amount */
    CHECK(cfg_bad("feeds[0].columns:|amount", CFG_PATHS "feeds:\n" SFEED("s") "    type_column: T\n"
                  "    type_values: {S: capture}\n"
                  "    columns: {psp_reference: P, currency: C, booked_at: B}\n"));
    /* no currency, no booked_at, no reference */
    CHECK(cfg_bad("feeds[0].columns:|currency", CFG_PATHS "feeds:\n" SFEED("s") "    type_column: T\n"
                  "    type_values: {S: capture}\n"
                  "    columns: {psp_reference: P, amount: A, booked_at: B}\n"));
    CHECK(cfg_bad("feeds[0].columns:|booked_at", CFG_PATHS "feeds:\n" SFEED("s") "    type_column: T\n"
                  "    type_values: {S: capture}\n"
                  "    columns: {psp_reference: P, amount: A, currency: C}\n"));
    CHECK(cfg_bad("feeds[0].columns:|psp_reference or merchant_reference", CFG_PATHS "feeds:\n" SFEED("s") "    type_column: T\n"
                  "    type_values: {S: capture}\n"
                  "    columns: {amount: A, currency: C, booked_at: B}\n"));
    /* a type value that is not a type */
    CHECK(cfg_bad("feeds[0].type_values.S:", CFG_PATHS "feeds:\n" SFEED("s") "    type_column: T\n"
                  "    type_values: {S: settle}\n"
                  "    columns: {psp_reference: P, amount: A, currency: C, booked_at: B}\n"));
    /* the minimal one is fine */
    cr_config *c = NULL;
    CHECK_INT(cfg_load(CFG_PATHS "feeds:\n" SFEED("s") "    type_column: T\n"
                       "    type_values: {S: capture}\n"
                       "    columns: {psp_reference: P, amount: A, currency: C, booked_at: B}\n",
                       &c),
              CR_OK);
    cr_config_free(c);
}

TEST(config_err_feed_list)
{
    /* duplicate names */
    CHECK(cfg_bad("feeds[2]:|carrier|twice", CFG_PATHS "feeds:\n" FEED_CARRIER FEED_DEPOT FEED_CARRIER));
    /* files with a folder */
    CHECK(cfg_bad("feeds[0].files:", CFG_PATHS "feeds:\n" FEED_CARRIER "    files: \"../x/*.csv\"\n"));
    /* missing feeds, empty feeds */
    CHECK(cfg_bad("feeds:|required", CFG_PATHS CFG_POLICY));
    CHECK(cfg_bad("feeds:|at least one", CFG_PATHS CFG_POLICY "feeds: []\n"));
    /* feed without name */
    CHECK(cfg_bad("feeds[0]:|name", CFG_PATHS "feeds:\n  - kind: receipts\n    files: x\n    event: shipped\n"
                  "    columns: {claim_ref: C, event_at: A}\n"));
}

TEST(config_err_required_paths)
{
    CHECK(cfg_bad("claims_db:|missing", "state_db: s\nreport_dir: r\nactions_dir: a\n"
                  "inbox: {receipts: a, settlements: b}\n" CFG_FEEDS));
    CHECK(cfg_bad("state_db:", "claims_db: c\nreport_dir: r\nactions_dir: a\n"
                  "inbox: {receipts: a, settlements: b}\n" CFG_FEEDS));
    CHECK(cfg_bad("inbox:", "claims_db: c\nstate_db: s\nreport_dir: r\nactions_dir: a\n"
                  "inbox: {receipts: a}\n" CFG_FEEDS));
    CHECK(cfg_bad("claims_db:|empty", "claims_db: \"\"\nstate_db: s\nreport_dir: r\nactions_dir: a\n"
                  "inbox: {receipts: a, settlements: b}\n" CFG_FEEDS));
}

TEST(config_err_document_shape)
{
    CHECK(cfg_bad("the configuration is empty", ""));
    CHECK(cfg_bad("the configuration is empty", "# only a comment\n"));
    CHECK(cfg_bad("test.yaml:1:|mapping|list", "- a\n- b\n"));
    CHECK(cfg_bad("test.yaml:1:|mapping|single value", "just text\n"));
    CHECK(cfg_bad("test.yaml:10:", CFG_PATHS "policy: [1, 2\n" CFG_FEEDS));           /* syntax */
    CHECK(cfg_bad("test.yaml:10:1:", CFG_PATHS "policy:\n\treturn_days: 3\n" CFG_FEEDS)); /* tab indentation */
    CHECK(cfg_bad("claims_db:|twice", CFG_OK "claims_db: again.db\n"));                  /* top-level key twice */
    CHECK(cfg_bad("test.yaml:9:|alias", CFG_PATHS "policy: {return_days: *nowhere}\n" CFG_FEEDS));
    /* a merge key is named as such (a review: "a feed needs 'kind'") */
    CHECK(cfg_bad("test.yaml:10:|merge keys are not supported",
                  CFG_PATHS "policy: &p {return_days: 3}\nother: {<<: *p}\n" CFG_FEEDS));
    CHECK(cfg_bad("|merge keys are not supported", CFG_PATHS "feeds:\n" FEED_CARRIER
                  "  - <<: {kind: receipts}\n    name: x\n"));
}

/* YAML mappings may not repeat a key; the top level checks this, policy
 * and feed mappings must too (else the last value wins silently). */
TEST(config_err_duplicate_nested_keys)
{
    CHECK(cfg_bad("policy.return_days", CFG_PATHS "policy:\n  return_days: 14\n  return_days: 30\n" CFG_FEEDS));
    CHECK(cfg_bad("feeds[0].files", CFG_PATHS "feeds:\n" FEED_CARRIER "    files: \"other_*.csv\"\n"));
}

#define LOL9 "[x, x, x, x, x, x, x, x, x]"
#define LOLREF(a) "[*" a ", *" a ", *" a ", *" a ", *" a ", *" a ", *" a ", *" a ", *" a "]"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

TEST(config_err_alias_bomb)
{
    const char *under_unknown =
        CFG_PATHS "lol:\n"
        "  a: &a " LOL9 "\n"
        "  b: &b " LOLREF("a") "\n"
        "  c: &c " LOLREF("b") "\n"
        "  d: &d " LOLREF("c") "\n"
        "  e: &e " LOLREF("d") "\n"
        "  f: &f " LOLREF("e") "\n"
        "  g: &g " LOLREF("f") "\n"
        "  h: &h " LOLREF("g") "\n"
        "  i: &i " LOLREF("h") "\n" CFG_FEEDS;
    const char *under_regions =
        CFG_PATHS "policy:\n"
        "  premium_regions:\n"
        "    - &a " LOL9 "\n"
        "    - &b " LOLREF("a") "\n"
        "    - &c " LOLREF("b") "\n"
        "    - &d " LOLREF("c") "\n"
        "    - &e " LOLREF("d") "\n"
        "    - &f " LOLREF("e") "\n"
        "    - &g " LOLREF("f") "\n"
        "    - &h " LOLREF("g") "\n"
        "    - &i " LOLREF("h") "\n" CFG_FEEDS;
    /* the last level only, reached through a scalar-looking place */
    const char *through_alias =
        "anchors_first_is_unknown: &a " LOL9 "\n" CFG_PATHS CFG_FEEDS;
    double t0 = now_s();
    CHECK(cfg_bad("lol:", under_unknown));
    CHECK(cfg_bad("policy.premium_regions:", under_regions));
    CHECK(cfg_bad("anchors_first_is_unknown:", through_alias));
    double dt = now_s() - t0;
    CHECK(dt < 2.0);
}

/* An alias into a place the schema expects a list of scalars: still an
 * error, and quick. */
TEST(config_err_alias_into_columns)
{
    const char *y = CFG_PATHS "feeds:\n" RFEED("r") "    event: shipped\n"
                    "    columns: {tracking_number: &t T, event_at: [*t, &b [x, x]], "
                    "claim_ref: *b}\n";
    double t0 = now_s();
    CHECK(cfg_bad("feeds[0].columns.event_at:", y));
    CHECK(now_s() - t0 < 2.0);
}

/* ---- messages name the key and the line ---- */

TEST(config_msg_names_key_and_line)
{
    char msg[4096];
    const char *y = CFG_PATHS "policy:\n  return_days: 14\n  late_return: sometimes\n" CFG_FEEDS;
    CHECK_INT(cfg_load_stderr(y, msg, sizeof msg), CR_ECONFIG);
    CHECK(msg_names(msg, y, "policy.late_return", "late_return: sometimes"));
    CHECK(strstr(msg, "test.yaml") != NULL);
    CHECK(strstr(msg, "sometimes") != NULL);

    y = CFG_PATHS CFG_POLICY "colour: red\n" CFG_FEEDS;
    CHECK_INT(cfg_load_stderr(y, msg, sizeof msg), CR_ECONFIG);
    CHECK(msg_names(msg, y, "colour", "colour: red"));

    y = CFG_PATHS CFG_POLICY "feeds:\n" FEED_DEPOT FEED_CARRIER "    colour: red\n";
    CHECK_INT(cfg_load_stderr(y, msg, sizeof msg), CR_ECONFIG);
    CHECK(msg_names(msg, y, "feeds[1].colour", "colour: red"));

    y = CFG_PATHS "policy:\n  return_days: \"x\"\n" CFG_FEEDS;
    CHECK_INT(cfg_load_stderr(y, msg, sizeof msg), CR_ECONFIG);
    CHECK(msg_names(msg, y, "policy.return_days", "return_days: \"x\""));

    y = CFG_PATHS "policy:\n  premium_regions: {a: b}\n" CFG_FEEDS;
    CHECK_INT(cfg_load_stderr(y, msg, sizeof msg), CR_ECONFIG);
    CHECK(msg_names(msg, y, "policy.premium_regions", "premium_regions:"));

    y = CFG_PATHS "feeds:\n" FEED_CARRIER "    timezone: America/Springfield\n";
    CHECK_INT(cfg_load_stderr(y, msg, sizeof msg), CR_ECONFIG);
    CHECK(msg_names(msg, y, "feeds[0].timezone", "America/Springfield"));

    y = CFG_PATHS "feeds:\n" RFEED("r") "    event_column: E\n"
        "    event_values: {P: shipped, L: lost}\n"
        "    columns: {claim_ref: C, event_at: A}\n";
    CHECK_INT(cfg_load_stderr(y, msg, sizeof msg), CR_ECONFIG);
    CHECK(msg_names(msg, y, "feeds[0].event_values.L", "event_values"));

    /* a YAML syntax error names the line too */
    y = CFG_PATHS "policy:\n\treturn_days: 3\n" CFG_FEEDS;
    CHECK_INT(cfg_load_stderr(y, msg, sizeof msg), CR_ECONFIG);
    CHECK(msg_names(msg, y, "test.yaml", "\treturn_days"));

    /* quiet: nothing at all */
    y = CFG_PATHS "policy:\n  late_return: sometimes\n" CFG_FEEDS;
    fflush(stderr);
    FILE *tmp = tmpfile();
    CHECK(tmp != NULL);
    if (!tmp)
        return;
    int saved = dup(2);
    dup2(fileno(tmp), 2);
    cr_config *c = NULL;
    cr_err rc = cfg_load(y, &c);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    long size = ftell(tmp) >= 0 ? (fseek(tmp, 0, SEEK_END), ftell(tmp)) : -1;
    fclose(tmp);
    CHECK_INT(rc, CR_ECONFIG);
    CHECK_INT(size, 0);
}

TEST(config_field_names)
{
    CHECK_STR(cr_field_name(CR_F_TRACKING), "tracking_number");
    CHECK_STR(cr_field_name(CR_F_BATTERY), "battery_returned");
    CHECK_STR(cr_field_name(CR_F_PSP_REF), "psp_reference");
    CHECK_STR(cr_field_name(CR_F_CARD_BRAND), "card_brand");
    CHECK_STR(cr_field_name(CR_F_COUNT), "?");
}
