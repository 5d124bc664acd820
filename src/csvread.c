/*
 * csvread.c - see csvread.h.
 *
 * The buffer is handed to libcsv one physical line at a time (long lines in
 * pieces), which is how records get the line number where they start and
 * their raw text: a record runs from the first non-blank line after the
 * previous record to the line where libcsv ends it.  libcsv's field buffer
 * is reused, so fields are copied into an arena owned by the reader.
 */
#include "csvread.h"

#include <csv.h>
#include <stdlib.h>
#include <string.h>

#define PIECE 65536

typedef struct reader {
    const cr_csv_opts *o;
    cr_csv_fn fn;
    void *ud;
    cr_err rc;            /* first error from FN or memory */
    /* the record being built */
    char *arena;
    size_t arena_len, arena_cap;
    size_t *offs;         /* field offsets into arena */
    size_t nfields, cap_fields;
    const char *bad;
    long bad_field;            /* the field BAD is about, -1 none */
    bool bad_long;             /* BAD is that field's length */
    bool active;          /* a record has started */
    long start_line;
    const char *start_pos;
    /* where the feeding is */
    const char *line_start; /* start of the physical line being fed */
    long line_start_no;     /* its number (r->line is one past it in csv_fini) */
    const char *line_end; /* end of the physical line being fed (past '\n') */
    long line;
    bool emitted_in_line; /* a record ended inside the current line */
    long fragment_end;    /* the last line of a broken record read again line by line */
    char eol;             /* what ends a line: '\n' (LF, CRLF), or '\r' (a file of bare CRs) */
} reader;

static void rec_reset(reader *r)
{
    r->arena_len = 0;
    r->nfields = 0;
    r->bad = NULL;
    r->bad_field = -1;
    r->bad_long = false;
    r->active = false;
}

static void on_field(void *s, size_t len, void *data)
{
    reader *r = data;
    if (r->rc != CR_OK)
        return;
    if (!r->active) {
        /* a record that starts inside a line after another ended there
         * (a lone CR ends a record): it starts on this line */
        r->active = true;
        r->start_line = r->line_start_no;
        r->start_pos = r->line_start;
    }
    if (r->nfields >= r->o->max_fields) {
        r->bad = "more fields than the configured maximum";
        r->bad_field = -1;
        r->bad_long = false;
        return;
    }
    if (len > r->o->max_field) {
        r->bad = "a field is longer than the configured maximum";
        r->bad_field = (long)r->nfields;
        r->bad_long = true;
        len = 0;
    }
    if (s && memchr(s, '\0', len)) {
        r->bad = "a field holds a NUL byte";
        r->bad_field = (long)r->nfields;
        r->bad_long = false;
        len = 0;
    }
    if (r->nfields == r->cap_fields) {
        size_t nc = r->cap_fields ? r->cap_fields * 2 : 32;
        size_t *no = realloc(r->offs, nc * sizeof *no);
        if (!no) {
            r->rc = CR_ENOMEM;
            return;
        }
        r->offs = no;
        r->cap_fields = nc;
    }
    if (r->arena_len + len + 1 > r->arena_cap) {
        size_t nc = r->arena_cap ? r->arena_cap : 4096;
        while (nc < r->arena_len + len + 1)
            nc *= 2;
        char *na = realloc(r->arena, nc);
        if (!na) {
            r->rc = CR_ENOMEM;
            return;
        }
        r->arena = na;
        r->arena_cap = nc;
    }
    r->offs[r->nfields++] = r->arena_len;
    if (len)
        memcpy(r->arena + r->arena_len, s, len);
    r->arena_len += len;
    r->arena[r->arena_len++] = '\0';
}

/* Hands the finished record to the callback. */
static void emit(reader *r)
{
    if (r->rc != CR_OK)
        return;
    char **fields = malloc((r->nfields ? r->nfields : 1) * sizeof *fields);
    if (!fields) {
        r->rc = CR_ENOMEM;
        return;
    }
    for (size_t i = 0; i < r->nfields; i++)
        fields[i] = r->arena + r->offs[i];
    const char *start = r->start_pos ? r->start_pos : r->line_end;
    const char *end = r->line_end;
    if (r->emitted_in_line)
        start = end; /* a second record on one physical line: no raw text of its own */
    while (end > start && (end[-1] == '\n' || end[-1] == '\r'))
        end--;
    cr_csv_record rec = {
        .fields = fields,
        .nfields = r->nfields,
        .line = r->start_line,
        .raw = start,
        .raw_len = (size_t)(end - start),
        .bad = r->bad,
        .bad_field = r->bad ? r->bad_field : -1,
        .bad_too_long = r->bad && r->bad_long,
    };
    r->rc = r->fn(r->ud, &rec);
    free(fields);
    r->emitted_in_line = true;
    rec_reset(r);
    r->start_pos = NULL;
}

static void on_row(int term, void *data)
{
    (void)term;
    reader *r = data;
    emit(r);
}

static bool blank_line(const char *b, const char *e)
{
    for (; b < e; b++)
        if (*b != '\n' && *b != '\r' && *b != ' ' && *b != '\t')
            return false;
    return true;
}

static const char *next_line(const char *p, const char *end, char eol)
{
    const char *nl = memchr(p, eol, (size_t)(end - p));
    return nl ? nl + 1 : end;
}

/* A file whose first line ends in a bare CR (classic Mac "CSV (Macintosh)"
 * exports) has bare-CR lines: its line numbers, raw text and preamble
 * count those.  Any other file counts LF (a lone CR in one is a character). */
static char line_end_of(const char *p, const char *end)
{
    for (; p < end; p++)
        if (*p == '\n')
            return '\n';
        else if (*p == '\r') {
            while (p + 1 < end && p[1] == '\r')
                p++;   /* CR CR LF (a CRLF written through a text-mode file) ends in LF */
            return p + 1 < end && p[1] == '\n' ? '\n' : '\r';
        }
    return '\n';
}

static int lf_only(unsigned char c)
{
    return c == '\n';
}

/* A parser for a file whose lines end with EOL: in a file of LF lines
 * (CRLF ones too) only LF ends a record, so that a lone CR inside a field
 * is a character of it (the README's promise), not the end of a record
 * that cuts the row in two; the CR of a CRLF is left out when it is fed. */
static cr_err parser_init(struct csv_parser *p, const cr_csv_opts *o, char eol)
{
    if (csv_init(p, CSV_STRICT | CSV_STRICT_FINI) != 0)
        return CR_ENOMEM;
    if (eol == '\n')
        csv_set_term_func(p, lf_only);
    csv_set_delim(p, (unsigned char)o->delimiter);
    csv_set_blk_size(p, 4096);
    return CR_OK;
}

/* Starts P again after a record it refused or was stopped in; false (R's
 * error set) on no memory. */
static bool parser_reset(struct csv_parser *p, const cr_csv_opts *o, reader *r)
{
    csv_free(p);
    cr_err rc = parser_init(p, o, r->eol);
    if (rc != CR_OK)
        r->rc = rc;
    return rc == CR_OK;
}

/* libcsv's parser states (libcsv.c): inside a field, and after a quote
 * inside a quoted field (a second quote makes it a character). */
#define LIBCSV_IN_FIELD 2
#define LIBCSV_AFTER_QUOTE 3

/* How a record that libcsv was parsing (P, stopped at FROM) goes on, read
 * the way strict libcsv reads it: R_END, it ends at *AT (past the line end
 * outside quotes that ends it); R_OPEN, a quote is still open at END;
 * R_BROKEN, strict libcsv would refuse it at *AT (text after a closing
 * quote, a quote inside an unquoted field). */
enum { R_END, R_OPEN, R_BROKEN };

static bool is_term(char c, char eol)
{
    /* in a file of LF (or CRLF) lines only LF ends a record (lf_only); in
     * one of bare CRs, libcsv's own rule: CR or LF */
    return eol == '\n' ? c == '\n' : (c == '\r' || c == '\n');
}

static int record_end(const char *from, const char *end, const struct csv_parser *p, char delim,
                      char eol, const char **at)
{
    enum { FIELD_START, UNQUOTED, QUOTED, AFTER_QUOTE } st;
    const char *c = from;
    if (p->quoted && p->pstate == LIBCSV_AFTER_QUOTE) {
        /* a quote inside a quoted field: with another right after it, a
         * quote character; else the field's end (blanks may follow) */
        if (!p->spaces && c < end && *c == '"') {
            c++;
            st = QUOTED;
        } else
            st = AFTER_QUOTE;
    } else if (p->quoted)
        st = QUOTED;
    else if (p->pstate == LIBCSV_IN_FIELD)
        st = UNQUOTED;
    else
        st = FIELD_START;
    for (; c < end; c++) {
        switch (st) {
        case QUOTED:
            if (*c == '"') {
                if (c + 1 < end && c[1] == '"')
                    c++;   /* "" inside: a quote */
                else
                    st = AFTER_QUOTE;
            }
            break;
        case AFTER_QUOTE:  /* blanks, then the delimiter or the end of the record */
        case FIELD_START:  /* blanks, then a quote, or text */
        case UNQUOTED:
            if (is_term(*c, eol)) {
                *at = c + 1;
                return R_END;
            }
            if (*c == delim)
                st = FIELD_START;
            else if (*c == ' ' || *c == '\t')
                ;
            else if (st == AFTER_QUOTE || (*c == '"' && st == UNQUOTED)) {
                *at = c;
                return R_BROKEN;
            } else if (*c == '"')
                st = QUOTED;
            else
                st = UNQUOTED;
            break;
        }
    }
    *at = end;
    return st == QUOTED ? R_OPEN : R_END;
}

/* Reports the record that started at the remembered line as broken, and
 * returns where parsing starts again: the line after the one where it
 * started. */
static const char *recover(reader *r, const char *end, const char *why)
{
    const char *start = r->start_pos;
    const char *after = next_line(start, end, r->eol);
    rec_reset(r);
    r->active = true;
    r->bad = why;
    r->start_pos = start;
    r->line_end = after;
    r->emitted_in_line = false;
    emit(r);
    return after;
}

/* Appends C to the growing buffer *B (length *N, capacity *CAP). */
static bool buf_put(char **b, size_t *n, size_t *cap, char c)
{
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 256;
        char *nb = realloc(*b, nc);
        if (!nb)
            return false;
        *b = nb;
        *cap = nc;
    }
    (*b)[(*n)++] = c;
    return true;
}

/* A record strict libcsv refused, read again by the rule spreadsheets and
 * Python's csv module follow: a quote inside a field that does not start
 * with one is a character (`6" arm`, `Signed: "J SMITH"`).  A field that
 * starts with a quote must still close it (`""` inside is a quote), then
 * meet the delimiter or the end of the record, and the record must end
 * where LINE_END is (the end of the line where libcsv stopped): so nothing
 * past what libcsv had read is taken in.  On success the record is handed
 * on and true returned; otherwise the reader is left as it was. */
static bool lenient(reader *r, const char *start, const char *line_end)
{
    const char d = r->o->delimiter;
    const char *p = start, *e = line_end;
    char *buf = NULL;
    size_t n = 0, cap = 0;
    bool ok = false;
    /* the record must end with the line: drop its line end (and the CRs
     * before an LF, as the feeding does) */
    if (e > p && e[-1] == r->eol)
        e--;
    while (r->eol == '\n' && e > p && e[-1] == '\r')
        e--;
    rec_reset(r);
    r->active = true;
    for (;;) {
        const char *q = p;
        while (q < e && (*q == ' ' || *q == '\t') && *q != d)
            q++;
        n = 0;
        if (q < e && *q == '"') {
            for (q++;; q++) {
                if (q >= e)
                    goto done; /* never closed on this line */
                if (*q == '"') {
                    if (q + 1 < e && q[1] == '"')
                        q++;
                    else
                        break;
                }
                if (!buf_put(&buf, &n, &cap, *q)) {
                    r->rc = CR_ENOMEM;
                    goto done;
                }
            }
            q++;
            while (q < e && (*q == ' ' || *q == '\t') && *q != d)
                q++;
            if (q < e && *q != d)
                goto done; /* text after a closing quote: broken */
            on_field(buf ? buf : "", n, r);
        } else {
            q = p;
            while (q < e && *q != d)
                if (*q == '\n' || (*q == '\r' && r->eol == '\r'))
                    goto done; /* a line end outside quotes: libcsv's record end */
                else
                    q++;
            on_field((void *)p, (size_t)(q - p), r);
        }
        if (r->rc != CR_OK)
            goto done;
        if (q >= e)
            break;
        p = q + 1; /* past the delimiter */
        if (p >= e) {
            on_field((void *)"", 0, r); /* a delimiter ends the line: one more, empty field */
            break;
        }
    }
    ok = true;
done:
    free(buf);
    if (!ok || r->rc != CR_OK) {
        rec_reset(r);
        return false;
    }
    r->start_pos = start;
    r->line_end = line_end;
    r->emitted_in_line = false;
    emit(r);
    return true;
}

cr_err cr_csv_read(const char *data, size_t len, const cr_csv_opts *opts, cr_csv_fn fn, void *ud)
{
    struct csv_parser p;
    reader r = {.o = opts, .fn = fn, .ud = ud, .rc = CR_OK, .bad_field = -1};
    const char *pos = data, *end = data + len;
    cr_err rc;

    if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0)
        pos += 3;
    r.line = 1;
    r.eol = line_end_of(pos, end);
    for (int i = 0; i < opts->skip_lines && pos < end; i++, r.line++)
        pos = next_line(pos, end, r.eol);
    /* a report glued under a title line keeps its own BOM before the
     * header: left out as at the start of the file (a quoted header name
     * after it would otherwise not be seen as quoted) */
    if (opts->skip_lines > 0 && end - pos >= 3 && memcmp(pos, "\xEF\xBB\xBF", 3) == 0)
        pos += 3;
    if ((rc = parser_init(&p, opts, r.eol)) != CR_OK)
        return rc;

    while (r.rc == CR_OK) {
        if (pos >= end) {
            if (csv_fini(&p, on_field, on_row, &r) != 0 && r.active && r.start_pos) {
                /* unterminated quote at the end: report it and go on after its line */
                long l = r.start_line;
                if (!parser_reset(&p, opts, &r))
                    break;
                r.start_line = l;
                pos = recover(&r, end, "broken quoting (a quote is never closed)");
                r.line = l + 1;
                if (pos < end)
                    continue;
            }
            break;
        }
        const char *le = next_line(pos, end, r.eol);
        r.line_start = pos;
        r.line_start_no = r.line;
        r.line_end = le;
        r.emitted_in_line = false;
        if (!r.active && blank_line(pos, le)) {
            pos = le;
            r.line++;
            continue;
        }
        if (!r.active) {
            r.active = true;
            r.start_line = r.line;
            r.start_pos = pos;
        }
        bool broken = false, skipped = false;
        /* the CRs that end the line with its LF (CRLF; CR CR LF from a
         * text-mode writer; CRs at the end of a file without its last LF),
         * fed only inside a quoted field, where they are its text */
        const char *cr = NULL, *cr_end = le;
        if (r.eol == '\n') {
            if (cr_end > pos && cr_end[-1] == '\n')
                cr_end--;
            const char *u = cr_end;
            while (u > pos && u[-1] == '\r')
                u--;
            if (u < cr_end)
                cr = u;
        }
        for (const char *q = pos; q < le && r.rc == CR_OK;) {
            if (q == cr && !(p.quoted && p.pstate == LIBCSV_IN_FIELD))
                q = cr_end;
            if (q >= le)
                break;
            const char *stop = cr && q < cr ? cr : le;
            size_t n = (size_t)(stop - q) > PIECE ? PIECE : (size_t)(stop - q);
            size_t used = csv_parse(&p, q, n, on_field, on_row, &r);
            if (used != n) {
                broken = true;
                break;
            }
            q += n;
            if (!r.active && p.quoted) {
                /* a quoted field opened after a record ended inside this
                 * line (a lone CR): its record starts on this line */
                r.active = true;
                r.start_line = r.line;
                r.start_pos = pos;
            }
            if (r.active && p.entry_pos > opts->max_field + 8192) {
                /* a field that keeps growing: drop the record, go on
                 * where it ends (a quoted field's lines are its own, never
                 * rows), or, when its quote never closes, on the line
                 * after the one where it started */
                long l = r.start_line;
                long at_field = (long)r.nfields;   /* the fields before it are whole */
                const char *after = NULL;
                int how = record_end(q, end, &p, opts->delimiter, r.eol, &after);
                if (!parser_reset(&p, opts, &r))
                    break;
                if (!r.start_pos)
                    r.start_pos = pos;
                r.start_line = l;
                long at_line = r.line;   /* the line where it ends or breaks */
                for (const char *c = pos; c < after; c++)
                    at_line += *c == r.eol;
                if (how != R_END) {
                    /* as any broken record: reported, and reading goes on
                     * at the line after the one where it started (the
                     * lines up to where it broke are never read leniently) */
                    if (at_line > r.fragment_end)
                        r.fragment_end = at_line;
                    pos = recover(&r, end, how == R_OPEN ? "a field is longer than the configured"
                                                           " maximum, and its quote is never closed"
                                                         : "a field is longer than the configured"
                                                           " maximum, and its quoting is broken");
                    r.line = l + 1;
                } else {
                    rec_reset(&r);
                    r.active = true;
                    r.start_line = l;
                    r.bad = "a field is longer than the configured maximum";
                    r.bad_field = at_field;
                    r.bad_long = true;
                    r.line_end = after;
                    emit(&r);
                    r.line = at_line;
                    pos = after;
                }
                skipped = true;
                break;
            }
        }
        if (skipped)
            continue;
        if (broken) {
            if (!r.active) {
                /* broken before its first field, after a record ended
                 * inside this line (a lone CR) */
                r.start_line = r.line;
                r.start_pos = pos;
            }
            long l = r.start_line;
            const char *from = r.start_pos;
            bool fresh = !r.emitted_in_line; /* no record ended earlier in this line */
            if (!parser_reset(&p, opts, &r))
                break;
            r.start_line = l;
            /* the lines of a broken record, read again after it, are parts
             * of it: never taken in by the lenient rule */
            if (fresh && l > r.fragment_end && lenient(&r, from, le)) {
                /* a quote inside an unquoted field: read as a character */
                pos = le;
                r.line++;
                continue;
            }
            if (r.rc != CR_OK)
                break;
            if (r.line > l && r.line > r.fragment_end)
                r.fragment_end = r.line;
            pos = recover(&r, end, "broken quoting (a stray or unclosed quote)");
            r.line = l + 1;
            continue;
        }
        pos = le;
        r.line++;
    }
    csv_free(&p);
    free(r.arena);
    free(r.offs);
    return r.rc;
}
