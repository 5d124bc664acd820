/* test_regress.c - one regression test per bug found by the fuzzers
 * (tests/fuzz/) and the bad-input corpus (tests/bad/), named regress_*. */
#include "harness.h"
#include "crtime.h"
#include "csvread.h"

#include <stdlib.h>

/* ---- a collector of csvread records ---- */

#define RG_MAXR 16

typedef struct rg_rec {
    long line;
    size_t nfields;
    char *f0;      /* first field, or NULL */
    char *raw;
    bool bad;
} rg_rec;

typedef struct rg_csv {
    rg_rec r[RG_MAXR];
    size_t n;
} rg_csv;

static cr_err rg_collect(void *ud, const cr_csv_record *rec)
{
    rg_csv *c = ud;
    if (c->n >= RG_MAXR)
        return CR_OK;
    rg_rec *r = &c->r[c->n++];
    r->line = rec->line;
    r->nfields = rec->nfields;
    r->f0 = rec->nfields ? cr_strndup(rec->fields[0], strlen(rec->fields[0])) : NULL;
    r->raw = cr_strndup(rec->raw ? rec->raw : "", rec->raw ? rec->raw_len : 0);
    r->bad = rec->bad != NULL;
    return CR_OK;
}

static void rg_free(rg_csv *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free(c->r[i].f0);
        free(c->r[i].raw);
    }
    memset(c, 0, sizeof *c);
}

/* Reads TEXT (strlen) with ',' and the default limits; the buffer is an
 * exact-size heap copy so that a read past its end is an ASan error. */
static cr_err rg_read(const char *text, rg_csv *c)
{
    size_t n = strlen(text);
    char *buf = malloc(n ? n : 1);
    memcpy(buf, text, n);
    cr_csv_opts o = {.delimiter = ',', .skip_lines = 0, .max_field = 65536, .max_fields = 1024};
    memset(c, 0, sizeof *c);
    cr_err rc = cr_csv_read(buf, n, &o, rg_collect, c);
    free(buf);
    return rc;
}

/* The inputs below once crashed or lost text when a lone CR ended a
 * record inside a line (fuzz_feed: recover() ran with no start position,
 * memchr(NULL, ...); a quoted blank line was skipped; a last line was
 * numbered one past the end).  In a file of LF lines a lone CR is now a
 * character of its field (README), so each line is one record: read, or
 * rejected whole, numbered from its own line. */
TEST(regress_csv_lone_cr_then_stray_quote)
{
    rg_csv c;
    CHECK_INT(rg_read("h\na,b\r\"c\"x,d\ne,f\n", &c), CR_OK);
    CHECK_INT(c.n, 3);
    CHECK_INT(c.r[1].line, 2);
    CHECK(!c.r[1].bad);          /* b\r"c"x: a quote inside an unquoted field is a character */
    CHECK_INT(c.r[1].nfields, 3);
    CHECK_INT(c.r[2].line, 3);
    CHECK_STR(c.r[2].f0, "e");
    CHECK(!c.r[2].bad);
    rg_free(&c);
}

/* Text after a closing quote, on a line with a lone CR: that line alone
 * is rejected. */
TEST(regress_csv_lone_cr_field_then_stray_quote)
{
    rg_csv c;
    CHECK_INT(rg_read("h\na\rb,\"c\"x\nz\n", &c), CR_OK);
    CHECK_INT(c.n, 3);
    CHECK(c.r[1].bad);
    CHECK_INT(c.r[1].line, 2);
    CHECK_STR(c.r[2].f0, "z");
    CHECK_INT(c.r[2].line, 3);
    rg_free(&c);
}

/* A quote that opens after a lone CR inside an unquoted field is a
 * character: the line is one record, nothing is dropped. */
TEST(regress_csv_lone_cr_unclosed_quote_at_eof)
{
    rg_csv c;
    CHECK_INT(rg_read("h\na,b\r\"unterminated\n", &c), CR_OK);
    CHECK_INT(c.n, 2);
    CHECK(!c.r[1].bad);
    CHECK_INT(c.r[1].line, 2);
    CHECK_INT(c.r[1].nfields, 2);
    rg_free(&c);
}

/* A quoted field with a lone CR and a blank line inside keeps both. */
TEST(regress_csv_lone_cr_quoted_blank_line_kept)
{
    rg_csv c;
    CHECK_INT(rg_read("h\n\"a\rx\n\ny\"\nz\n", &c), CR_OK);
    CHECK_INT(c.n, 3);
    CHECK_STR(c.r[1].f0, "a\rx\n\ny");
    CHECK_INT(c.r[1].line, 2);
    CHECK_STR(c.r[2].f0, "z");
    CHECK_INT(c.r[2].line, 5);
    rg_free(&c);
}

/* A last line without a newline, with a lone CR in it: one record,
 * numbered from its line. */
TEST(regress_csv_lone_cr_last_line_number)
{
    rg_csv c;
    CHECK_INT(rg_read("h\na\rb", &c), CR_OK);
    CHECK_INT(c.n, 2);
    CHECK_STR(c.r[1].f0, "a\rb");
    CHECK_INT(c.r[1].line, 2);
    rg_free(&c);
}

/* A check-in whose note holds a lone CR (a field typed on an old Mac) is
 * one row, not two rejects, the second with no text (a review). */
TEST(regress_csv_lone_cr_inside_unquoted_field_keeps_the_row)
{
    rg_csv c;
    CHECK_INT(rg_read("RMA,Notes,Tracking\nCE-1,box\rdamaged,T1\r\nCE-2,ok,T2\n", &c), CR_OK);
    CHECK_INT(c.n, 3);
    CHECK(!c.r[1].bad);
    CHECK_INT(c.r[1].nfields, 3);
    CHECK_STR(c.r[1].f0, "CE-1");
    CHECK_INT(c.r[2].line, 3);
    CHECK_STR(c.r[2].f0, "CE-2");
    rg_free(&c);
}

/* A BOM before a quoted header under a preamble line (a report glued
 * under a title): the header's names are read without their quotes. */
TEST(regress_csv_bom_after_preamble)
{
    const char *in = "Report title\r\n\xEF\xBB\xBF\"Psp Reference\",\"Type\"\r\n\"P1\",\"Fee\"\r\n";
    cr_csv_opts o = {.delimiter = ',', .skip_lines = 1, .max_field = 65536, .max_fields = 1024};
    rg_csv c;
    memset(&c, 0, sizeof c);
    CHECK_INT(cr_csv_read(in, strlen(in), &o, rg_collect, &c), CR_OK);
    CHECK_INT(c.n, 2);
    CHECK_STR(c.r[0].f0, "Psp Reference");
    CHECK_INT(c.r[0].line, 2);
    CHECK(!c.r[0].bad);
    CHECK_STR(c.r[1].f0, "P1");
    rg_free(&c);
}

/* fuzz_tz: a POSIX rule under which daylight time lasts all year in some
 * years only (here J60 and 60 fall on the same day in leap years).  The
 * offset function said "daylight time" for those years while the
 * transition walk skipped them, so local -> UTC -> local -> UTC moved by an
 * hour.  Such years now have no transitions, as in tzcode. */
TEST(regress_tz_posix_all_year_in_some_years)
{
    cr_tz *tz = cr_tz_from_posix(NULL, "XXX1YYY,J60/-1,60/0");
    CHECK(tz != NULL);
    if (!tz)
        return;
    static const cr_time_t probes[] = {-62167219200 /* 0000-01-01 */, 946684800 /* 2000-01-01 */,
                                       951868800 /* 2000-03-01 */, 978307200 /* 2001-01-01 */,
                                       983404800 /* 2001-03-01 */, 983491200 /* 2001-03-02 */};
    for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++) {
        cr_civil c, c2;
        cr_tz_from_utc(tz, probes[i], &c);
        cr_time_t u = cr_tz_to_utc(tz, &c);
        cr_tz_from_utc(tz, u, &c2);
        CHECK_INT(cr_tz_to_utc(tz, &c2), u);
    }
    /* 2000 (leap): no daylight time at all, standard time (UTC-1) all year */
    CHECK_INT(cr_tz_offset_at(tz, 951868800 + 3600), -3600);
    /* 2001: one day of daylight time, 1 March 00:00 UTC to 2 March 00:00 UTC */
    CHECK_INT(cr_tz_offset_at(tz, 983404800 + 3600), 0);
    CHECK_INT(cr_tz_offset_at(tz, 983491200 + 3600), -3600);
    cr_tz_free(tz);
    /* perpetual daylight time (every year) is still daylight time */
    tz = cr_tz_from_posix(NULL, "EST5EDT,0/0,J365/25");
    CHECK(tz != NULL);
    if (tz) {
        CHECK_INT(cr_tz_offset_at(tz, 1800000000), -4 * 3600);
        CHECK_INT(cr_tz_offset_at(tz, 0), -4 * 3600);
        cr_tz_free(tz);
    }
}

/* A TZif v2 file with one transition at AT to an offset of OFF1 seconds
 * (OFF0 before it) and FOOTER as its POSIX TZ string; *LEN gets the size. */
static unsigned char *rg_tzif(int64_t at, int32_t off0, int32_t off1, const char *footer,
                              size_t *len)
{
    static unsigned char b[256];
    size_t n = 0;
    /* header: magic, version, 15 reserved, isut isstd leap time type char */
    const uint32_t v1[6] = {0, 0, 0, 0, 1, 4}, v2[6] = {0, 0, 0, 1, 2, 8};
    for (int part = 0; part < 2; part++) {
        const uint32_t *c = part ? v2 : v1;
        memcpy(b + n, "TZif2", 5);
        memset(b + n + 5, 0, 15);
        n += 20;
        for (int i = 0; i < 6; i++, n += 4)
            for (int k = 0; k < 4; k++)
                b[n + k] = (unsigned char)(c[i] >> (24 - 8 * k));
        if (!part) { /* v1 data: one type, "LMT" */
            for (int k = 0; k < 4; k++)
                b[n + k] = (unsigned char)((uint32_t)off0 >> (24 - 8 * k));
            b[n + 4] = 0, b[n + 5] = 0;
            memcpy(b + n + 6, "LMT", 4);
            n += 10;
            continue;
        }
        for (int k = 0; k < 8; k++) /* the transition time, 64-bit */
            b[n + k] = (unsigned char)((uint64_t)at >> (56 - 8 * k));
        n += 8;
        b[n++] = 1; /* it switches to type 1 */
        const int32_t offs[2] = {off0, off1};
        for (int j = 0; j < 2; j++, n += 6) {
            for (int k = 0; k < 4; k++)
                b[n + k] = (unsigned char)((uint32_t)offs[j] >> (24 - 8 * k));
            b[n + 4] = 0;
            b[n + 5] = (unsigned char)(4 * j);
        }
        memcpy(b + n, "LMT\0IST", 8);
        n += 8;
    }
    n += (size_t)snprintf((char *)b + n, sizeof b - n, "\n%s\n", footer);
    *len = n;
    return b;
}

/* fuzz_tz: a TZif file whose footer disagrees with its last transition
 * (the transition says +05:30, the footer +03:30).  The offset after the
 * transition came from the footer but the local -> UTC walk used the
 * transition's: local -> UTC -> local -> UTC drifted by 2 h on every turn.
 * Such a file breaks RFC 8536 3.3 and is refused; a consistent one loads. */
TEST(regress_tz_tzif_footer_inconsistent)
{
    size_t len;
    const int64_t at = 1700000000;
    unsigned char *b = rg_tzif(at, 12600, 19800, "IST-3:30", &len);
    CHECK(cr_tz_from_tzif("bad", b, len) == NULL);
    b = rg_tzif(at, 12600, 19800, "IST-5:30", &len);
    cr_tz *tz = cr_tz_from_tzif("good", b, len);
    CHECK(tz != NULL);
    if (!tz)
        return;
    CHECK_INT(cr_tz_offset_at(tz, at - 1), 12600);
    CHECK_INT(cr_tz_offset_at(tz, at + 86400 * 400), 19800);
    cr_civil c, c2;
    cr_tz_from_utc(tz, at + 3600, &c);
    cr_time_t u = cr_tz_to_utc(tz, &c);
    CHECK_INT(u, at + 3600);
    cr_tz_from_utc(tz, u, &c2);
    CHECK_INT(cr_tz_to_utc(tz, &c2), u);
    cr_tz_free(tz);
}

/* cr_pool_intern compared N bytes of a stored string shorter than N (a
 * read past its end: ASan found it at a pool block's end).  Strings that
 * are prefixes of one another, each the last bytes of a full block,
 * collide in a small set; each is found again as itself. */
TEST(regress_pool_intern_prefixes)
{
    static char filler[65536];
    cr_pool p = CR_POOL_INIT;
    char s[40];
    const char *got[40] = {NULL};
    memset(filler, 'f', sizeof filler);
    for (int i = 1; i < 40; i++) {
        /* a new block: a filler, then the string and its NUL end it */
        CHECK(cr_pool_strndup(&p, filler, 65534 - (size_t)i) != NULL);
        memset(s, 'a', (size_t)i);
        s[i] = '\0';
        got[i] = cr_pool_intern(&p, s, (size_t)i);
        CHECK(got[i] != NULL && strcmp(got[i], s) == 0);
    }
    for (int i = 1; i < 40; i++) {
        memset(s, 'a', (size_t)i);
        s[i] = '\0';
        CHECK(cr_pool_intern(&p, s, (size_t)i) == got[i]);
    }
    /* longer strings probe past the short ones at the blocks' ends */
    for (int k = 0; k < 3000; k++) {
        char l[48];
        int w = snprintf(l, sizeof l, "%039d", k);
        const char *x = cr_pool_intern(&p, l, (size_t)w);
        CHECK(x != NULL && strcmp(x, l) == 0);
    }
    /* a text with a NUL inside is copied, never taken for a shorter one */
    const char *nul = cr_pool_intern(&p, "aa\0b", 4);
    CHECK(nul != NULL && nul != got[2]);
    cr_pool_release(&p);
}
