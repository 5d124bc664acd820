/* test_csvread.c - unit tests for csvread.c (cr_csv_read over in-memory buffers). */
#include "harness.h"
#include "csvread.h"

#include <stdlib.h>

#define CSV_MAXR 64
#define CSV_MAXF 16

/* One record as the callback saw it, copied (the record is valid only
 * during the callback). */
typedef struct csv_rec {
    size_t nfields;
    char *f[CSV_MAXF];
    long line;
    char *raw;
    size_t raw_len;
    char *bad;
    long bad_field;
    bool bad_too_long;
} csv_rec;

typedef struct csv_coll {
    csv_rec r[CSV_MAXR];
    size_t n;
    size_t calls;       /* callback calls, even past CSV_MAXR */
    size_t stop_after;  /* when non-zero: return CR_EIO on that call */
} csv_coll;

static cr_err csv_collect(void *ud, const cr_csv_record *rec)
{
    csv_coll *c = ud;
    c->calls++;
    if (c->stop_after && c->calls == c->stop_after)
        return CR_EIO;
    if (c->n >= CSV_MAXR)
        return CR_OK;
    csv_rec *r = &c->r[c->n++];
    r->nfields = rec->nfields;
    for (size_t i = 0; i < rec->nfields && i < CSV_MAXF; i++)
        r->f[i] = cr_strndup(rec->fields[i], strlen(rec->fields[i]));
    r->line = rec->line;
    r->raw = cr_strndup(rec->raw ? rec->raw : "", rec->raw ? rec->raw_len : 0);
    r->raw_len = rec->raw_len;
    r->bad = rec->bad ? cr_strndup(rec->bad, strlen(rec->bad)) : NULL;
    r->bad_field = rec->bad_field;
    r->bad_too_long = rec->bad_too_long;
    return CR_OK;
}

static void csv_coll_free(csv_coll *c)
{
    for (size_t i = 0; i < c->n; i++) {
        for (size_t j = 0; j < c->r[i].nfields && j < CSV_MAXF; j++)
            free(c->r[i].f[j]);
        free(c->r[i].raw);
        free(c->r[i].bad);
    }
    memset(c, 0, sizeof *c);
}

/* Reads LEN bytes of DATA with the given options into C. */
static cr_err csv_readx(const char *data, size_t len, char delim, int skip, size_t max_field,
                        size_t max_fields, csv_coll *c)
{
    cr_csv_opts o = {.delimiter = delim, .skip_lines = skip, .max_field = max_field,
                     .max_fields = max_fields};
    memset(c, 0, sizeof *c);
    return cr_csv_read(data, len, &o, csv_collect, c);
}

/* Reads a NUL-terminated string with ',' and generous limits. */
static cr_err csv_reads(const char *data, csv_coll *c)
{
    return csv_readx(data, strlen(data), ',', 0, 65536, 1024, c);
}

/* Field I of record R, or "(none)" when out of range (so CHECK_STR fails
 * with a message instead of crashing). */
static const char *fld(const csv_coll *c, size_t r, size_t i)
{
    if (r >= c->n || i >= c->r[r].nfields || i >= CSV_MAXF)
        return "(none)";
    return c->r[r].f[i];
}

static long rline(const csv_coll *c, size_t r)
{
    return r < c->n ? c->r[r].line : -1;
}

static const char *rraw(const csv_coll *c, size_t r)
{
    return r < c->n ? c->r[r].raw : "(none)";
}

static int rbad(const csv_coll *c, size_t r)
{
    return r < c->n ? c->r[r].bad != NULL : -1;
}

static long rnf(const csv_coll *c, size_t r)
{
    return r < c->n ? (long)c->r[r].nfields : -1;
}

TEST(csv_lf_lines)
{
    csv_coll c;
    CHECK_INT(csv_reads("a,b\nc,d\n", &c), CR_OK);
    CHECK_INT(c.n, 2);
    CHECK_INT(rnf(&c, 0), 2);
    CHECK_STR(fld(&c, 0, 0), "a");
    CHECK_STR(fld(&c, 0, 1), "b");
    CHECK_STR(fld(&c, 1, 0), "c");
    CHECK_STR(fld(&c, 1, 1), "d");
    CHECK_INT(rline(&c, 0), 1);
    CHECK_INT(rline(&c, 1), 2);
    CHECK_STR(rraw(&c, 0), "a,b");
    CHECK_STR(rraw(&c, 1), "c,d");
    CHECK_INT(rbad(&c, 0), 0);
    CHECK_INT(rbad(&c, 1), 0);
    csv_coll_free(&c);
}

TEST(csv_crlf_lines)
{
    csv_coll c;
    CHECK_INT(csv_reads("a,b\r\nc,\"d\"\r\ne,f\r\n", &c), CR_OK);
    CHECK_INT(c.n, 3);
    CHECK_STR(fld(&c, 0, 1), "b");   /* no CR left in the last field */
    CHECK_STR(fld(&c, 1, 1), "d");
    CHECK_STR(fld(&c, 2, 0), "e");
    CHECK_STR(fld(&c, 2, 1), "f");
    CHECK_INT(rline(&c, 0), 1);
    CHECK_INT(rline(&c, 1), 2);
    CHECK_INT(rline(&c, 2), 3);
    CHECK_STR(rraw(&c, 0), "a,b");   /* raw without CR LF */
    CHECK_STR(rraw(&c, 1), "c,\"d\"");
    CHECK_INT(rbad(&c, 2), 0);
    csv_coll_free(&c);
}

/* A file of bare CRs (classic Mac "CSV (Macintosh)"): each record its own
 * line number and raw text, a preamble counted in those lines, and a
 * quoted CR inside a field kept. */
TEST(csv_bare_cr_lines)
{
    csv_coll c;
    const char *in = "Export\rh1,h2\ra,1\r\"x\ry\",2\rb,3\r";
    CHECK_INT(csv_readx(in, strlen(in), ',', 1, 65536, 1024, &c), CR_OK);
    CHECK_INT(c.n, 4);
    CHECK_STR(fld(&c, 0, 0), "h1");
    CHECK_INT(rline(&c, 0), 2);
    CHECK_STR(fld(&c, 1, 0), "a");
    CHECK_INT(rline(&c, 1), 3);
    CHECK_STR(rraw(&c, 1), "a,1");
    CHECK_STR(fld(&c, 2, 0), "x\ry");
    CHECK_INT(rline(&c, 2), 4);
    CHECK_STR(rraw(&c, 2), "\"x\ry\",2");
    CHECK_STR(fld(&c, 3, 1), "3");
    CHECK_INT(rline(&c, 3), 6);
    CHECK_STR(rraw(&c, 3), "b,3");
    csv_coll_free(&c);
    /* a CR alone inside a line of an LF file stays a character of it */
    CHECK_INT(csv_reads("h1,h2\n\"p\rq\",1\nr,2\n", &c), CR_OK);
    CHECK_INT(c.n, 3);
    CHECK_STR(fld(&c, 1, 0), "p\rq");
    CHECK_INT(rline(&c, 2), 3);
    csv_coll_free(&c);
}

TEST(csv_utf8_bom_skipped)
{
    csv_coll c;
    CHECK_INT(csv_reads("\xEF\xBB\xBFh1,h2\nx,\xC3\xA9\n", &c), CR_OK);
    CHECK_INT(c.n, 2);
    CHECK_STR(fld(&c, 0, 0), "h1");
    CHECK_STR(fld(&c, 1, 1), "\xC3\xA9");
    CHECK_INT(rline(&c, 0), 1);
    CHECK_INT(rline(&c, 1), 2);
    CHECK_STR(rraw(&c, 0), "h1,h2");
    csv_coll_free(&c);
    /* a BOM alone is an empty file */
    CHECK_INT(csv_reads("\xEF\xBB\xBF", &c), CR_OK);
    CHECK_INT(c.n, 0);
    csv_coll_free(&c);
}

TEST(csv_quoted_fields)
{
    csv_coll c;
    const char *in = "\"a,b\",\"he said \"\"hi\"\"\",\"l1\nl2\nl3\"\n"
                     "next,row\n"
                     "\"\",x\n";
    CHECK_INT(csv_reads(in, &c), CR_OK);
    CHECK_INT(c.n, 3);
    CHECK_INT(rnf(&c, 0), 3);
    CHECK_STR(fld(&c, 0, 0), "a,b");
    CHECK_STR(fld(&c, 0, 1), "he said \"hi\"");
    CHECK_STR(fld(&c, 0, 2), "l1\nl2\nl3");
    CHECK_INT(rline(&c, 0), 1);     /* where the record starts */
    CHECK_STR(rraw(&c, 0), "\"a,b\",\"he said \"\"hi\"\"\",\"l1\nl2\nl3\"");
    CHECK_INT(rbad(&c, 0), 0);
    CHECK_INT(rline(&c, 1), 4);     /* after three physical lines */
    CHECK_STR(fld(&c, 1, 0), "next");
    CHECK_STR(rraw(&c, 1), "next,row");
    CHECK_INT(rline(&c, 2), 5);
    CHECK_STR(fld(&c, 2, 0), "");
    CHECK_STR(fld(&c, 2, 1), "x");
    csv_coll_free(&c);
}

TEST(csv_quoted_newline_crlf)
{
    csv_coll c;
    CHECK_INT(csv_reads("\"x\r\ny\",z\r\nq,w\r\n", &c), CR_OK);
    CHECK_INT(c.n, 2);
    CHECK_STR(fld(&c, 0, 0), "x\r\ny");
    CHECK_STR(fld(&c, 0, 1), "z");
    CHECK_INT(rline(&c, 0), 1);
    CHECK_INT(rline(&c, 1), 3);
    CHECK_STR(fld(&c, 1, 0), "q");
    csv_coll_free(&c);
}

TEST(csv_blank_lines_skipped_and_counted)
{
    csv_coll c;
    CHECK_INT(csv_reads("\n\na,1\n\n\nb,2\r\n\r\nc,3\n\n", &c), CR_OK);
    CHECK_INT(c.n, 3);
    CHECK_STR(fld(&c, 0, 0), "a");
    CHECK_INT(rline(&c, 0), 3);
    CHECK_STR(fld(&c, 1, 0), "b");
    CHECK_INT(rline(&c, 1), 6);
    CHECK_STR(fld(&c, 2, 0), "c");
    CHECK_INT(rline(&c, 2), 8);
    CHECK_STR(rraw(&c, 2), "c,3");
    csv_coll_free(&c);
}

/* A line of spaces holds no record (libcsv drops it); the next record must
 * still get its own line number and raw text. */
TEST(csv_whitespace_only_line)
{
    csv_coll c;
    CHECK_INT(csv_reads("a,b\n   \nc,d\n", &c), CR_OK);
    CHECK_INT(c.n, 2);
    CHECK_STR(fld(&c, 1, 0), "c");
    CHECK_INT(rline(&c, 1), 3);
    CHECK_STR(rraw(&c, 1), "c,d");
    csv_coll_free(&c);
}

TEST(csv_last_line_without_newline)
{
    csv_coll c;
    CHECK_INT(csv_reads("a,b\nc,d", &c), CR_OK);
    CHECK_INT(c.n, 2);
    CHECK_STR(fld(&c, 1, 0), "c");
    CHECK_STR(fld(&c, 1, 1), "d");
    CHECK_INT(rline(&c, 1), 2);
    CHECK_STR(rraw(&c, 1), "c,d");
    CHECK_INT(rbad(&c, 1), 0);
    csv_coll_free(&c);
    /* quoted, without newline */
    CHECK_INT(csv_reads("x\n\"q,1\"", &c), CR_OK);
    CHECK_INT(c.n, 2);
    CHECK_STR(fld(&c, 1, 0), "q,1");
    CHECK_INT(rbad(&c, 1), 0);
    csv_coll_free(&c);
}

TEST(csv_skip_lines_preamble)
{
    csv_coll c;
    /* the preamble is not CSV: an odd quote there must not matter */
    const char *in = "Report \"Depot\n\nh1,h2\n1,2\n";
    CHECK_INT(csv_readx(in, strlen(in), ',', 2, 65536, 1024, &c), CR_OK);
    CHECK_INT(c.n, 2);
    CHECK_STR(fld(&c, 0, 0), "h1");
    CHECK_INT(rline(&c, 0), 3);
    CHECK_STR(fld(&c, 1, 1), "2");
    CHECK_INT(rline(&c, 1), 4);
    CHECK_INT(rbad(&c, 0), 0);
    csv_coll_free(&c);
    /* with a BOM before the preamble */
    in = "\xEF\xBB\xBFpre\nh\nv\n";
    CHECK_INT(csv_readx(in, strlen(in), ',', 1, 65536, 1024, &c), CR_OK);
    CHECK_INT(c.n, 2);
    CHECK_STR(fld(&c, 0, 0), "h");
    CHECK_INT(rline(&c, 0), 2);
    csv_coll_free(&c);
    /* more preamble than file */
    CHECK_INT(csv_readx("a\nb\n", 4, ',', 5, 65536, 1024, &c), CR_OK);
    CHECK_INT(c.n, 0);
    csv_coll_free(&c);
}

TEST(csv_semicolon_and_tab)
{
    csv_coll c;
    const char *in = "a;b,c;\"d;e\"\n";
    CHECK_INT(csv_readx(in, strlen(in), ';', 0, 65536, 1024, &c), CR_OK);
    CHECK_INT(c.n, 1);
    CHECK_INT(rnf(&c, 0), 3);
    CHECK_STR(fld(&c, 0, 0), "a");
    CHECK_STR(fld(&c, 0, 1), "b,c");
    CHECK_STR(fld(&c, 0, 2), "d;e");
    csv_coll_free(&c);
    in = "a\t\tb c\tz,y\n1\t2\t3\t4\n";
    CHECK_INT(csv_readx(in, strlen(in), '\t', 0, 65536, 1024, &c), CR_OK);
    CHECK_INT(c.n, 2);
    CHECK_INT(rnf(&c, 0), 4);
    CHECK_STR(fld(&c, 0, 0), "a");
    CHECK_STR(fld(&c, 0, 1), "");      /* an empty field, not a trimmed tab */
    CHECK_STR(fld(&c, 0, 2), "b c");
    CHECK_STR(fld(&c, 0, 3), "z,y");
    CHECK_INT(rnf(&c, 1), 4);
    CHECK_INT(rline(&c, 1), 2);
    csv_coll_free(&c);
}

TEST(csv_stray_quote_after_quoted_field)
{
    csv_coll c;
    CHECK_INT(csv_reads("h1,h2\n\"d\"x,1\nok,2\n\"e\",3\n", &c), CR_OK);
    CHECK_INT(c.n, 4);
    CHECK_INT(rbad(&c, 0), 0);
    CHECK_INT(rbad(&c, 1), 1);
    CHECK_INT(rline(&c, 1), 2);
    CHECK_STR(rraw(&c, 1), "\"d\"x,1");
    CHECK_INT(rbad(&c, 2), 0);
    CHECK_INT(rline(&c, 2), 3);
    CHECK_STR(fld(&c, 2, 0), "ok");
    CHECK_STR(fld(&c, 2, 1), "2");
    CHECK_INT(rline(&c, 3), 4);
    CHECK_STR(fld(&c, 3, 0), "e");
    CHECK_INT(rbad(&c, 3), 0);
    csv_coll_free(&c);
}

/* A quote inside a field that does not start with one is a character, as
 * spreadsheets and Python's csv module read it (`6" arm`): the row is read,
 * not rejected.  Strict libcsv refuses it; the reader reads such a record
 * again by that rule. */
TEST(csv_stray_quote_in_unquoted_field)
{
    csv_coll c;
    CHECK_INT(csv_reads("h1,h2\nx,ab\"c\nnext,1\r\nlast,2", &c), CR_OK);
    CHECK_INT(c.n, 4);
    CHECK_INT(rbad(&c, 1), 0);
    CHECK_INT(rline(&c, 1), 2);
    CHECK_INT((int)c.r[1].nfields, 2);
    CHECK_STR(fld(&c, 1, 0), "x");
    CHECK_STR(fld(&c, 1, 1), "ab\"c");
    CHECK_STR(rraw(&c, 1), "x,ab\"c");
    CHECK_INT(rbad(&c, 2), 0);
    CHECK_INT(rline(&c, 2), 3);
    CHECK_STR(fld(&c, 2, 0), "next");
    CHECK_STR(fld(&c, 2, 1), "1");
    CHECK_INT(rline(&c, 3), 4);
    CHECK_STR(fld(&c, 3, 0), "last");
    CHECK_INT(rbad(&c, 3), 0);
    csv_coll_free(&c);
}

/* The same beside quoted fields, after a quoted line break, at the end of
 * the line, on a CRLF line and with an empty last field */
TEST(csv_stray_quote_with_quoted_fields)
{
    csv_coll c;
    CHECK_INT(csv_reads("h\n\"say \"\"hi\"\"\",6\" arm,\"a,b\"\r\n"
                        "\"two\nlines\",Signed: \"J SMITH\"\n"
                        "x,5\",\n",
                        &c),
              CR_OK);
    CHECK_INT(c.n, 4);
    CHECK_INT(rbad(&c, 1), 0);
    CHECK_INT((int)c.r[1].nfields, 3);
    CHECK_STR(fld(&c, 1, 0), "say \"hi\"");
    CHECK_STR(fld(&c, 1, 1), "6\" arm");
    CHECK_STR(fld(&c, 1, 2), "a,b");
    CHECK_STR(rraw(&c, 1), "\"say \"\"hi\"\"\",6\" arm,\"a,b\"");
    CHECK_INT(rbad(&c, 2), 0);
    CHECK_INT(rline(&c, 2), 3);
    CHECK_STR(fld(&c, 2, 0), "two\nlines");
    CHECK_STR(fld(&c, 2, 1), "Signed: \"J SMITH\"");
    CHECK_INT(rline(&c, 3), 5);
    CHECK_INT((int)c.r[3].nfields, 3);
    CHECK_STR(fld(&c, 3, 1), "5\"");
    CHECK_STR(fld(&c, 3, 2), "");
    csv_coll_free(&c);
}

/* What stays broken: text after a closing quote, and a quoted field not
 * closed on the line (it would swallow the lines after it) */
TEST(csv_stray_quote_still_broken)
{
    csv_coll c;
    CHECK_INT(csv_reads("h\nx,\"ab\"c,d\ny,b\"c,\"d,e\nz,1\n", &c), CR_OK);
    CHECK_INT(c.n, 4);
    CHECK_INT(rbad(&c, 1), 1);
    CHECK_INT(rline(&c, 1), 2);
    CHECK_INT(rbad(&c, 2), 1);
    CHECK_INT(rline(&c, 2), 3);
    CHECK_STR(rraw(&c, 2), "y,b\"c,\"d,e");
    CHECK_INT(rbad(&c, 3), 0);
    CHECK_INT(rline(&c, 3), 4);
    CHECK_STR(fld(&c, 3, 0), "z");
    csv_coll_free(&c);
}

/* The lines of a broken multi-line record, read again after it, are not
 * taken in by the lenient rule: the fragment `more"junk,x` stays a bad row,
 * and the line after the broken record's last is read as usual */
TEST(csv_stray_quote_not_in_a_broken_records_lines)
{
    csv_coll c;
    CHECK_INT(csv_reads("h1,h2\nA1,\"note\nmore\"junk,x\nnext,6\" arm\n", &c), CR_OK);
    CHECK_INT(c.n, 4);
    CHECK_INT(rbad(&c, 1), 1);
    CHECK_INT(rline(&c, 1), 2);
    CHECK_INT(rbad(&c, 2), 1);   /* line 3, a part of the record of line 2 */
    CHECK_INT(rline(&c, 2), 3);
    CHECK_INT(rbad(&c, 3), 0);
    CHECK_INT(rline(&c, 3), 4);
    CHECK_STR(fld(&c, 3, 1), "6\" arm");
    csv_coll_free(&c);
}

/* A tab-separated export with a quoted name in an unquoted field */
TEST(csv_stray_quote_tab_delimited)
{
    csv_coll c;
    const char *t = "a\tb\nOK\tSigned: \"J SMITH\"\n";
    CHECK_INT(csv_readx(t, strlen(t), '\t', 0, 1024, 64, &c), CR_OK);
    CHECK_INT(c.n, 2);
    CHECK_INT(rbad(&c, 1), 0);
    CHECK_STR(fld(&c, 1, 1), "Signed: \"J SMITH\"");
    csv_coll_free(&c);
}

TEST(csv_unclosed_quote_at_end)
{
    csv_coll c;
    CHECK_INT(csv_reads("h\n\"open,1\nc,d\n\ne,f\n", &c), CR_OK);
    CHECK_INT(c.n, 4);
    CHECK_INT(rbad(&c, 0), 0);
    CHECK_INT(rbad(&c, 1), 1);
    CHECK_INT(rline(&c, 1), 2);
    CHECK_STR(rraw(&c, 1), "\"open,1");
    /* the lines it swallowed are read again as records */
    CHECK_INT(rbad(&c, 2), 0);
    CHECK_INT(rline(&c, 2), 3);
    CHECK_STR(fld(&c, 2, 0), "c");
    CHECK_STR(fld(&c, 2, 1), "d");
    CHECK_INT(rbad(&c, 3), 0);
    CHECK_INT(rline(&c, 3), 5);
    CHECK_STR(fld(&c, 3, 1), "f");
    csv_coll_free(&c);
}

TEST(csv_unclosed_quote_twice)
{
    csv_coll c;
    CHECK_INT(csv_reads("\"a\n\"b\nc", &c), CR_OK);
    CHECK_INT(c.n, 3);
    CHECK_INT(rbad(&c, 0), 1);
    CHECK_INT(rline(&c, 0), 1);
    CHECK_INT(rbad(&c, 1), 1);
    CHECK_INT(rline(&c, 1), 2);
    CHECK_INT(rbad(&c, 2), 0);
    CHECK_INT(rline(&c, 2), 3);
    CHECK_STR(fld(&c, 2, 0), "c");
    csv_coll_free(&c);
}

TEST(csv_field_longer_than_max)
{
    csv_coll c;
    const char *in = "abcde,x\nabcd,y\n\"abcdef\",z\n";
    CHECK_INT(csv_readx(in, strlen(in), ',', 0, 4, 1024, &c), CR_OK);
    CHECK_INT(c.n, 3);
    CHECK_INT(rbad(&c, 0), 1);
    CHECK_INT(rline(&c, 0), 1);
    CHECK_STR(rraw(&c, 0), "abcde,x");
    CHECK_INT(rbad(&c, 1), 0);       /* exactly the maximum is fine */
    CHECK_STR(fld(&c, 1, 0), "abcd");
    CHECK_INT(rbad(&c, 2), 1);
    CHECK_INT(rline(&c, 2), 3);
    csv_coll_free(&c);
}

TEST(csv_more_fields_than_max)
{
    csv_coll c;
    const char *in = "a,b,c,d\na,b,c\n";
    CHECK_INT(csv_readx(in, strlen(in), ',', 0, 65536, 3, &c), CR_OK);
    CHECK_INT(c.n, 2);
    CHECK_INT(rbad(&c, 0), 1);
    CHECK_INT(rline(&c, 0), 1);
    CHECK_INT(rbad(&c, 1), 0);
    CHECK_INT(rnf(&c, 1), 3);
    CHECK_INT(rline(&c, 1), 2);
    csv_coll_free(&c);
}

TEST(csv_nul_byte_in_field)
{
    csv_coll c;
    static const char in[] = "a,b\0c\nd,e\n\"x\0\",y\nf,g\n";
    CHECK_INT(csv_readx(in, sizeof in - 1, ',', 0, 65536, 1024, &c), CR_OK);
    CHECK_INT(c.n, 4);
    CHECK_INT(rbad(&c, 0), 1);
    CHECK_INT(rline(&c, 0), 1);
    CHECK_INT(rbad(&c, 1), 0);
    CHECK_STR(fld(&c, 1, 0), "d");
    CHECK_INT(rline(&c, 1), 2);
    CHECK_INT(rbad(&c, 2), 1);
    CHECK_INT(rline(&c, 2), 3);
    CHECK_INT(rbad(&c, 3), 0);
    CHECK_INT(rline(&c, 3), 4);
    csv_coll_free(&c);
}

/* A 1 MB field with a 64 KiB limit: the record is bad, the next line is
 * read, and (under ASan) nothing blows up.  Unquoted and quoted. */
TEST(csv_huge_field_bounded)
{
    for (int quoted = 0; quoted < 2; quoted++) {
        size_t big = 1024 * 1024;
        const char *head = "h1,h2\n";
        const char *tail = ",x\nok,1\n";
        size_t len = strlen(head) + big + 2 + strlen(tail);
        char *buf = malloc(len + 1);
        CHECK(buf != NULL);
        if (!buf)
            return;
        size_t k = 0;
        memcpy(buf + k, head, strlen(head));
        k += strlen(head);
        if (quoted)
            buf[k++] = '"';
        memset(buf + k, 'x', big);
        k += big;
        if (quoted)
            buf[k++] = '"';
        memcpy(buf + k, tail, strlen(tail));
        k += strlen(tail);
        csv_coll c;
        CHECK_INT(csv_readx(buf, k, ',', 0, 65536, 1024, &c), CR_OK);
        CHECK_INT(c.n, 3);
        CHECK_INT(rbad(&c, 0), 0);
        CHECK_INT(rbad(&c, 1), 1);
        CHECK_INT(rline(&c, 1), 2);
        CHECK_INT(rbad(&c, 2), 0);
        CHECK_INT(rline(&c, 2), 3);
        CHECK_STR(fld(&c, 2, 0), "ok");
        csv_coll_free(&c);
        free(buf);
    }
}

TEST(csv_empty_input)
{
    csv_coll c;
    CHECK_INT(csv_readx("", 0, ',', 0, 65536, 1024, &c), CR_OK);
    CHECK_INT(c.calls, 0);
    CHECK_INT(csv_reads("\n\r\n\n", &c), CR_OK);
    CHECK_INT(c.calls, 0);
    csv_coll_free(&c);
}

TEST(csv_callback_error_stops)
{
    csv_coll c;
    cr_csv_opts o = {.delimiter = ',', .max_field = 100, .max_fields = 10};
    memset(&c, 0, sizeof c);
    c.stop_after = 2;
    CHECK_INT(cr_csv_read("a\nb\nc\nd\n", 8, &o, csv_collect, &c), CR_EIO);
    CHECK_INT(c.calls, 2);
    CHECK_INT(c.n, 1);
    csv_coll_free(&c);
}

/* The field a bad record is about: a long one by its place (also one
 * that keeps growing past the limit), none for too many fields (a
 * read-through: it named the long field of the same row). */
TEST(csv_bad_field_named)
{
    csv_coll c;
    char big[12000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    char in[12100];
    snprintf(in, sizeof in, "a,bbbbbbbbbbbb,c\nd,eeeeeeeeeeee,f,g,h\ni,%s,k\n", big);
    size_t len = strlen(in);
    memcpy(in + len, "l,m\0n\n", 6);   /* a NUL byte in the second field */
    len += 6;
    CHECK_INT(csv_readx(in, len, ',', 0, 10, 4, &c), CR_OK);
    CHECK_INT(c.n, 4);
    CHECK(c.r[0].bad != NULL && c.r[0].bad_too_long);
    CHECK_INT(c.r[0].bad_field, 1);
    CHECK(c.r[1].bad != NULL && !c.r[1].bad_too_long);   /* five fields, four allowed: not the long one */
    CHECK_INT(c.r[1].bad_field, -1);
    CHECK(c.r[2].bad != NULL && c.r[2].bad_too_long);    /* past max + 8192: dropped as it grows */
    CHECK_INT(c.r[2].bad_field, 1);
    CHECK(c.r[3].bad != NULL && !c.r[3].bad_too_long);   /* a NUL byte */
    CHECK_INT(c.r[3].bad_field, 1);
    csv_coll_free(&c);
}

TEST(csv_empty_fields_and_trailing_delimiter)
{
    csv_coll c;
    CHECK_INT(csv_reads(",\na,,\n", &c), CR_OK);
    CHECK_INT(c.n, 2);
    CHECK_INT(rnf(&c, 0), 2);
    CHECK_STR(fld(&c, 0, 0), "");
    CHECK_STR(fld(&c, 0, 1), "");
    CHECK_INT(rnf(&c, 1), 3);
    CHECK_STR(fld(&c, 1, 2), "");
    csv_coll_free(&c);
}

/* After a record with an over-long field (flagged bad), libcsv's buffer
 * stays large; a later, normal record that spans lines must not be taken
 * for a "field that keeps growing". */
TEST(csv_long_field_then_multiline_record)
{
    size_t big = 9000;
    const char *tail = "\n\"a\nb\",c\nok,1\n";
    size_t len = 2 + big + strlen(tail);
    char *buf = malloc(len + 1);
    CHECK(buf != NULL);
    if (!buf)
        return;
    memcpy(buf, "h\n", 2);
    memset(buf + 2, 'x', big);
    memcpy(buf + 2 + big, tail, strlen(tail) + 1);
    csv_coll c;
    CHECK_INT(csv_readx(buf, len, ',', 0, 16, 1024, &c), CR_OK);
    CHECK_INT(c.n, 4);
    CHECK_INT(rbad(&c, 1), 1);
    CHECK_INT(rline(&c, 1), 2);
    CHECK_INT(rbad(&c, 2), 0);
    CHECK_INT(rline(&c, 2), 3);
    CHECK_STR(fld(&c, 2, 0), "a\nb");
    CHECK_STR(fld(&c, 2, 1), "c");
    CHECK_INT(rbad(&c, 3), 0);
    CHECK_INT(rline(&c, 3), 5);
    CHECK_STR(fld(&c, 3, 0), "ok");
    csv_coll_free(&c);
    free(buf);
}

/* Records with a field too long to keep (more than max_field + 8192
 * bytes: the reader stops feeding libcsv and finds the record's end by
 * itself).  Each input is HEAD, then PRE, BIG 'y's and POST; record 1 is
 * the long one, rejected on line 2; the input has N records, the last one
 * read whole with LAST as its first field, on line LAST_LINE. */
TEST(csv_long_field_cases)
{
    static const struct {
        const char *why, *head, *pre;
        size_t big;
        const char *post;
        size_t n;
        const char *last;
        long last_line;
    } cases[] = {
        /* a quoted field's lines are its own, never rows (a check-in quoted
         * in a note must not become one): reading goes on after its quote */
        {"\"\" inside, then the close", "h1,h2\n", "a,\"", 100000,
         "\nCE-1,ok\nCE-2,\"\"quoted\"\" ok\"\nnext,1\n", 3, "next", 5},
        {"\"\" after the y's", "h1,h2\n", "a,\"", 100000, "\"\"\nCE-1,ok\"\nnext,1\n", 3, "next", 4},
        {"a second quoted field", "h1,h2\n", "a,\"", 100000, "\",\"more\nCE-1,ok\"\nnext,1\n", 3,
         "next", 4},
        /* 64 KiB pieces: 6 header bytes, 3 more, then the y's up to the cut */
        {"\"\" right at a cut", "h1,h2\n", "a,\"", 131068, "\"\"\nCE-1,ok\"\nnext,1\n", 3, "next", 4},
        /* a quote never closed: broken, and reading goes on at the line
         * after its start (a stray quote, as at the end of any file) */
        {"never closed", "h1,h2\n", "a,\"", 100000, "\nok,1\n", 3, "ok", 3},
        /* text after the closing quote is broken quoting, as strict libcsv
         * reads it: reading goes on at the line after the row's start, so
         * the rows after it are kept (a review: a later `,"` reopened a
         * quote and swallowed three rows) */
        {"text after its quote", "h1,h2\n", "a,\"", 140000,
         "\"junk,\"\nCE-1,released\nCE-2,released\nCE-3,\"a note\"\nnext,1\n", 6, "next", 6},
        /* in a file of bare CRs libcsv also ends a record at an LF */
        {"bare-CR file, LF", "h1,h2\r", "a,", 200000, "\nX,Y\r", 3, "X", 2},
    };
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        size_t hl = strlen(cases[t].head), pl = strlen(cases[t].pre), ql = strlen(cases[t].post);
        size_t len = hl + pl + cases[t].big + ql;
        char *buf = malloc(len + 1);
        CHECK(buf != NULL);
        if (!buf)
            return;
        memcpy(buf, cases[t].head, hl);
        memcpy(buf + hl, cases[t].pre, pl);
        memset(buf + hl + pl, 'y', cases[t].big);
        memcpy(buf + hl + pl + cases[t].big, cases[t].post, ql + 1);
        csv_coll c;
        CHECK_INT(csv_readx(buf, len, ',', 0, 65536, 1024, &c), CR_OK);
        size_t last = cases[t].n - 1;
        if (c.n != cases[t].n || rbad(&c, 1) != 1 || rline(&c, 1) != 2 || rbad(&c, last) != 0 ||
            strcmp(fld(&c, last, 0), cases[t].last) != 0 || rline(&c, last) != cases[t].last_line)
            fprintf(stderr, "  case %s: %zu records, last '%s' on line %ld\n", cases[t].why, c.n,
                    fld(&c, c.n - 1, 0), rline(&c, c.n - 1));
        CHECK_INT(c.n, cases[t].n);
        CHECK_INT(rbad(&c, 1), 1);
        CHECK_INT(rline(&c, 1), 2);
        CHECK_INT(rbad(&c, last), 0);
        CHECK_STR(fld(&c, last, 0), cases[t].last);
        CHECK_INT(rline(&c, last), cases[t].last_line);
        csv_coll_free(&c);
        free(buf);
    }
}

/* CR CR LF line ends (a CRLF written again through a text-mode file) and a
 * last line ending in CR without its LF: the CRs end the line, they are
 * not text of the last field, and a quoted last field is not broken. */
TEST(csv_cr_runs_before_lf)
{
    csv_coll c;
    CHECK_INT(csv_reads("h1,h2\nCE-1,ok\r\r\nCE-2,\"q\"\r\r\n", &c), CR_OK);
    CHECK_INT(c.n, 3);
    CHECK_STR(fld(&c, 1, 1), "ok");
    CHECK_STR(fld(&c, 2, 1), "q");
    CHECK_INT(rbad(&c, 2), 0);
    CHECK_INT(rline(&c, 2), 3);
    csv_coll_free(&c);
    CHECK_INT(csv_reads("h1,h2\r\nCE-1,ok\r", &c), CR_OK);
    CHECK_INT(c.n, 2);
    CHECK_STR(fld(&c, 1, 1), "ok");
    csv_coll_free(&c);
    /* the same ends on the header too: an LF file, its lines counted once */
    CHECK_INT(csv_reads("h1,h2\r\r\nCE-1,ok\r\r\nCE-2,\"a\r\r\nb\"\r\r\nCE-3,z\r\r\n", &c), CR_OK);
    CHECK_INT(c.n, 4);
    CHECK_INT(rline(&c, 1), 2);
    CHECK_STR(fld(&c, 2, 1), "a\r\r\nb");
    CHECK_INT(rline(&c, 3), 5);
    CHECK_STR(fld(&c, 3, 1), "z");
    csv_coll_free(&c);
}
