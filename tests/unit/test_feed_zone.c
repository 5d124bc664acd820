/* test_feed_zone.c - a zone abbreviation at the end of a date-time value
 * (" %Z"), and datetime_format directives checked when the config loads. */
#include "harness.h"

#include "config.h"
#include "crtime.h"
#include "feed.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char yaml[] =
    "claims_db: c.db\nstate_db: s.db\nreport_dir: r\nactions_dir: a\n"
    "inbox: {receipts: i, settlements: j}\n"
    "feeds:\n"
    "  - name: z\n"
    "    kind: settlements\n"
    "    files: \"*.csv\"\n"
    "    datetime_format: \"%m/%d/%Y %I:%M %p %Z\"\n"
    "    timezone_abbreviations: {PST: \"-08:00\", PDT: \"-07:00\"}\n"
    "    type_column: T\n"
    "    type_values: {S: capture}\n"
    "    columns: {psp_reference: P, amount: A, currency: C, booked_at: B}\n";

typedef struct zs {
    int rows, rejects;
    cr_time_t at[8];
    cr_reason why[8];
    char detail[8][200];
} zs;

static cr_err z_row(void *ud, const cr_settle_row *r)
{
    zs *z = ud;
    if (z->rows < 8)
        z->at[z->rows] = r->booked_at;
    z->rows++;
    return CR_OK;
}

static cr_err z_rej(void *ud, const cr_reject_row *r)
{
    zs *z = ud;
    if (z->rejects < 8) {
        z->why[z->rejects] = r->reason;
        snprintf(z->detail[z->rejects], sizeof z->detail[0], "%s", r->detail ? r->detail : "");
    }
    z->rejects++;
    return CR_OK;
}

/* Parses IN with the first feed of configuration TEXT into Z; false when the
 * configuration does not load. */
static bool zparse(const char *text, size_t ylen, const char *in, size_t len, zs *z)
{
    cr_config *cfg = NULL;
    CHECK_INT(cr_config_load_buffer("z.yaml", "/tmp", text, ylen, true, &cfg), CR_OK);
    if (!cfg)
        return false;
    cr_feed_sink sink = {z, NULL, z_row, z_rej};
    cr_feed_stats st;
    char why[128];
    CHECK_INT(cr_feed_parse(cfg, &cfg->feeds[0], in, len, &sink, &st, why, sizeof why), CR_OK);
    cr_config_free(cfg);
    return true;
}

TEST(feed_zone_abbreviation_in_value)
{
    const char in[] = "P,T,A,C,B\n"
                      "p1,S,1.00,USD,11/20/2026 2:03 PM PST\n"   /* 22:03Z */
                      "p2,S,1.00,USD,07/01/2026 12:00 AM PDT\n"  /* 07:00Z */
                      "p3,S,1.00,USD,11/20/2026 2:03 PM CET\n"   /* not mapped */
                      "p4,S,1.00,USD,11/20/2026 2:03 PM\n"       /* no zone */
                      "p5,S,1.00,USD,11/20/2026 2:03 PM +01:00\n";
    zs z = {0};
    if (!zparse(yaml, sizeof yaml - 1, in, sizeof in - 1, &z))
        return;
    CHECK_INT(z.rows, 3);
    CHECK_INT(z.at[0], 1795212180); /* 2026-11-20T22:03:00Z */
    CHECK_INT(z.at[1], 1782889200); /* 2026-07-01T07:00:00Z */
    CHECK_INT(z.at[2], 1795179780); /* 2026-11-20T13:03:00Z */
    CHECK_INT(z.rejects, 2);
    CHECK_INT(z.why[0], CR_R_BAD_DATETIME);
    CHECK_INT(z.why[1], CR_R_BAD_DATETIME);
    /* the value quoted whole, with the word %Z took (it quoted "2:03") */
    CHECK(strstr(z.detail[1], "\"11/20/2026 2:03 PM\" does not read as") != NULL);
}

TEST(config_datetime_format_directives_checked)
{
    cr_config *cfg = NULL;
    char *bad = malloc(sizeof yaml + 16);
    /* an unknown directive, %Z not at the end, a 12-hour clock without
     * AM/PM, AM/PM without a 12-hour clock */
    const char *variants[] = {"%Y-%m-%d %Q", "%Z %Y-%m-%d", "%Y-%m-%d%Z", "%Y-%m-%d %",
                              "%m/%d/%Y %I:%M", "%m/%d/%Y %H:%M %p"};
    for (size_t i = 0; bad && i < sizeof variants / sizeof variants[0]; i++) {
        const char *at = strstr(yaml, "%m/%d/%Y %I:%M %p %Z");
        size_t pre = (size_t)(at - yaml);
        snprintf(bad, sizeof yaml + 16, "%.*s%s%s", (int)pre, yaml, variants[i],
                 at + strlen("%m/%d/%Y %I:%M %p %Z"));
        CHECK_INT(cr_config_load_buffer("z.yaml", "/tmp", bad, strlen(bad), true, &cfg),
                  CR_ECONFIG);
        cr_config_free(cfg);
        cfg = NULL;
    }
    free(bad);
}

/* End of day where daylight time ends at midnight (America/Santiago,
 * 2026-04-04: 23:59:59 happens twice): the later one, so the next second
 * is already the next day. */
TEST(crtime_end_of_day_dst_at_midnight)
{
    cr_tz *tz = cr_tz_load("America/Santiago");
    CHECK(tz != NULL);
    if (!tz)
        return;
    cr_day_t d = cr_days_from_civil(2026, 4, 4);
    cr_time_t e = cr_tz_end_of_day(tz, d);
    CHECK_INT(cr_tz_day_of(tz, e), d);
    CHECK_INT(cr_tz_day_of(tz, e + 1), d + 1);
    char b[32];
    cr_format_utc(e, b, sizeof b);
    CHECK_STR(b, "2026-04-05T03:59:59Z");
    cr_tz_free(tz);
}

/* A feed whose timezone_column (or, FMT ending " %Z", a value's last word)
 * gives each row's zone: abbreviations mapped, offsets, UTC and GMT with
 * or without an offset, IANA names; CET unmapped is not guessed. */
static const char yaml_col[] =
    "claims_db: c.db\nstate_db: s.db\nreport_dir: r\nactions_dir: a\n"
    "inbox: {receipts: i, settlements: j}\n"
    "feeds:\n"
    "  - name: z\n"
    "    kind: settlements\n"
    "    files: \"*.csv\"\n"
    "    datetime_format: \"%Y-%m-%d %H:%M:%S\"\n"
    "    timezone_column: Z\n"
    "    timezone_abbreviations: {PST: \"-08:00\"}\n"
    "    type_column: T\n"
    "    type_values: {S: capture}\n"
    "    columns: {psp_reference: P, amount: A, currency: C, booked_at: B}\n";

TEST(feed_zone_column_names_and_utc)
{
    const char in[] = "P,T,A,C,B,Z\n"
                      "p1,S,1.00,USD,2026-07-01 12:00:00,Europe/Berlin\n"   /* +02:00 */
                      "p2,S,1.00,USD,2026-11-20 12:00:00,Europe/Berlin\n"   /* +01:00 */
                      "p3,S,1.00,USD,2026-11-20 12:00:00,UTC\n"
                      "p4,S,1.00,USD,2026-11-20 12:00:00,utc+01:00\n"
                      "p5,S,1.00,USD,2026-11-20 12:00:00,GMT-5\n"
                      "p6,S,1.00,USD,2026-11-20 12:00:00,PST\n"
                      "p7,S,1.00,USD,2026-11-20 12:00:00,CET\n"             /* not mapped */
                      "p8,S,1.00,USD,2026-11-20 12:00:00,Mars/Olympus\n"
                      "p9,S,1.00,USD,2026-11-20 12:00:00,../../etc/passwd\n"
                      "pa,S,1.00,USD,2026-11-20 12:00:00,Z\n"
                      "pb,S,1.00,USD,2026-11-20 12:00:00,GMT+5:30\n";
    zs z = {0};
    if (!zparse(yaml_col, sizeof yaml_col - 1, in, sizeof in - 1, &z))
        return;
    CHECK_INT(z.rows, 8);
    CHECK_INT(z.at[0], 1782900000); /* 2026-07-01T10:00:00Z */
    CHECK_INT(z.at[1], 1795172400); /* 2026-11-20T11:00:00Z */
    CHECK_INT(z.at[2], 1795176000); /* 12:00Z */
    CHECK_INT(z.at[3], 1795172400); /* 11:00Z */
    CHECK_INT(z.at[4], 1795194000); /* 17:00Z */
    CHECK_INT(z.at[5], 1795204800); /* 20:00Z */
    CHECK_INT(z.at[6], 1795176000); /* Z */
    CHECK_INT(z.at[7], 1795156200); /* 06:30Z */
    CHECK_INT(z.rejects, 3);
    for (int i = 0; i < 3; i++)
        CHECK_INT(z.why[i], CR_R_BAD_DATETIME);
    CHECK(strstr(z.detail[0], "\"CET\" is not in timezone_abbreviations") != NULL);
}

/* A Z written in the format itself: the values are UTC whatever the feed's
 * timezone (before, they were read as Los Angeles time, 8 hours late). */
TEST(feed_literal_z_in_format_is_utc)
{
    static const char y[] =
        "claims_db: c.db\nstate_db: s.db\nreport_dir: r\nactions_dir: a\n"
        "inbox: {receipts: i, settlements: j}\n"
        "feeds:\n"
        "  - name: z\n"
        "    kind: settlements\n"
        "    files: \"*.csv\"\n"
        "    datetime_format: \"%Y-%m-%dT%H:%M:%SZ\"\n"
        "    timezone: America/Los_Angeles\n"
        "    type_column: T\n"
        "    type_values: {S: capture}\n"
        "    columns: {psp_reference: P, amount: A, currency: C, booked_at: B}\n";
    const char in[] = "P,T,A,C,B\n"
                      "p1,S,1.00,USD,2026-11-16T00:00:00Z\n"
                      "p2,S,1.00,USD,2026-11-16T00:00:00\n";
    zs z = {0};
    if (!zparse(y, sizeof y - 1, in, sizeof in - 1, &z))
        return;
    CHECK_INT(z.rows, 1);
    CHECK_INT(z.at[0], 1794787200); /* 2026-11-16T00:00:00Z, not 08:00Z */
    CHECK_INT(z.rejects, 1);
    CHECK_INT(z.why[0], CR_R_BAD_DATETIME);
}
