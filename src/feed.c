/*
 * feed.c - see feed.h.  Maps a file's header to canonical fields, then
 * reads each record: value mappings, date-times with their time zone,
 * booleans and amounts, rejecting a row with the first fault found.
 */
#include "feed.h"

#include "csvread.h"
#include "crtime.h"
#include "money.h"
#include "rules.h"

#include <ctype.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const reason_names[CR_R_COUNT] = {
    "MISSING_FIELD", "BAD_DATETIME", "BAD_AMOUNT", "BAD_BOOLEAN",
    "UNKNOWN_VALUE", "BAD_ROW",      "MISSING_COLUMN",
};

const char *cr_reason_name(cr_reason r)
{
    return (r >= 0 && r < CR_R_COUNT) ? reason_names[r] : "?";
}

const char *cr_event_name(cr_event_kind k)
{
    static const char *const n[] = {"shipped", "delivered", "received"};
    return (k >= 0 && k <= CR_EV_RECEIVED) ? n[k] : "?";
}

static const char *const st_names[] = {"capture", "release", "expired",
                                       "refund",  "fee",     "chargeback"};

const char *cr_settle_type_name(cr_settle_type t)
{
    return (t >= 0 && t <= CR_ST_CHARGEBACK) ? st_names[t] : "?";
}

int cr_settle_type_from_name(const char *s)
{
    for (int i = 0; s && i <= CR_ST_CHARGEBACK; i++)
        if (strcmp(s, st_names[i]) == 0)
            return i;
    return -1;
}

bool cr_feed_matches(const cr_feed *feed, const char *name)
{
    return fnmatch(feed->files, name, FNM_PERIOD) == 0;
}

bool cr_utf8_valid(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str, *e = s + n;
    while (s < e) {
        unsigned c = *s;
        size_t k;
        unsigned min;
        if (c < 0x80) {
            s++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            k = 1, min = 0x80, c &= 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            k = 2, min = 0x800, c &= 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            k = 3, min = 0x10000, c &= 0x07;
        } else {
            return false;
        }
        if ((size_t)(e - s) <= k)
            return false;
        for (size_t i = 1; i <= k; i++) {
            if ((s[i] & 0xC0) != 0x80)
                return false;
            c = (c << 6) | (s[i] & 0x3F);
        }
        if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
            return false;
        s += k + 1;
    }
    return true;
}

/* The state of one file's read. */
typedef struct fstate {
    const cr_config *cfg;
    const cr_feed *feed;
    const cr_feed_sink *sink;
    cr_feed_stats *stats;
    bool have_header;
    size_t ncols;
    int col[CR_F_COUNT][CR_MAX_COLS_PER_FIELD]; /* header index per mapped column, -1 none */
    int event_col, type_col, tz_col;
    bool file_rejected;
    char *why;
    size_t whylen;
    char buf[512];        /* joined date-time text */
    char detail[512];
    int header_unsaid;    /* header faults that did not fit in WHY */
    char **header_names;  /* the header's fields, as read (owned) */
    bool sep_seen;        /* the file began with Excel's "sep=" line (excel_sep_line) */
    size_t nheader_names;
    char limit_text[24];  /* limits.max_field_bytes, as text */
    struct {
        char name[64];
        cr_tz *tz;
    } zones[4];           /* zones the rows named by IANA name (named_zone) */
    size_t nzones;
    size_t row_fields;    /* the fields of the file's first row read (aligned), 0 before */
} fstate;

/* The canonical field read from column COL: its index (enum of
 * cr_field_name), -2 for the event, type or time-zone column, -1 when
 * the feed does not read the column. */
static int mapped_field(const fstate *st, int col)
{
    for (int fi = 0; fi < CR_F_COUNT; fi++)
        for (int j = 0; j < CR_MAX_COLS_PER_FIELD; j++)
            if (st->col[fi][j] == col)
                return fi;
    return col == st->event_col || col == st->type_col || col == st->tz_col ? -2 : -1;
}

/* Whether header names A and B are the same to a reader: trimmed, in any
 * ASCII case, and any run of blanks inside one blank (a no-break space, or
 * two spaces, between words looks like a space). */
static bool header_eq(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b), k;
    cr_trim_span(&a, &na);
    cr_trim_span(&b, &nb);
    const char *ea = a + na, *eb = b + nb;
    while (a < ea && b < eb) {
        size_t ka = cr_blank_len(a), kb = cr_blank_len(b);
        if (ka || kb) {
            if (!ka || !kb)
                return false;
            while (a < ea && (k = cr_blank_len(a)) > 0)
                a += k;
            while (b < eb && (k = cr_blank_len(b)) > 0)
                b += k;
            continue;
        }
        if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
            return false;
        a++;
        b++;
    }
    return a == ea && b == eb;
}

/* Finds header NAME among the record's fields; -1 when absent, -2 when it
 * appears more than once. */
static int find_col(const cr_csv_record *h, const char *name)
{
    int found = -1;
    for (size_t i = 0; i < h->nfields; i++)
        if (header_eq(h->fields[i], name)) {
            if (found >= 0)
                return -2;
            found = (int)i;
        }
    return found;
}

/* Finds column NAME, which FIELD (a canonical field name) is read from;
 * when it is absent or twice, says so in WHY (after what it holds: every
 * column missing is named at once, so that the sender fixes the file in
 * one round) and names the first such field. */
static bool header_col(fstate *st, const cr_csv_record *h, const char *name, const char *field,
                       int *out)
{
    int c = find_col(h, name);
    *out = -1;
    if (c == -1 || c == -2) {
        /* each fault whole, or counted: room is kept for " and N more" */
        char one[400];
        size_t used = st->whylen ? strlen(st->why) : 0;
        if (!st->stats->header_field)
            snprintf(one, sizeof one,
                     c == -1 ? "the header has no column \"%.100s\" (field %s, header at line %ld)"
                             : "the header has column \"%.100s\" more than once (field %s, header at line %ld)",
                     name, field, h->line);
        else
            snprintf(one, sizeof one,
                     c == -1 ? "; no column \"%.100s\" (field %s)" : "; column \"%.100s\" more than once (field %s)",
                     name, field);
        if (used + strlen(one) + 24 < st->whylen)
            memcpy(st->why + used, one, strlen(one) + 1);
        else
            st->header_unsaid++;
        if (!st->stats->header_field)
            st->stats->header_field = field;
        return false;
    }
    *out = c;
    return true;
}

static bool read_header(fstate *st, const cr_csv_record *h)
{
    const cr_feed *f = st->feed;
    if (h->bad) {
        bool nul = strstr(h->bad, "NUL") != NULL;
        snprintf(st->why, st->whylen, "the header line cannot be read: %s%s", h->bad,
                 nul ? " (UTF-16 text, or not text at all: save it as CSV in UTF-8)" : "");
        return false;
    }
    if (h->nfields > st->cfg->max_columns) {
        snprintf(st->why, st->whylen, "the header has %zu columns, more than the maximum %zu",
                 h->nfields, st->cfg->max_columns);
        return false;
    }
    st->ncols = h->nfields;
    if (!(st->header_names = calloc(h->nfields ? h->nfields : 1, sizeof *st->header_names))) {
        snprintf(st->why, st->whylen, "out of memory");
        return false;
    }
    st->nheader_names = h->nfields;
    for (size_t i = 0; i < h->nfields; i++)
        if (!(st->header_names[i] = cr_strdup(h->fields[i]))) {
            snprintf(st->why, st->whylen, "out of memory");
            return false;
        }
    if (st->whylen)
        st->why[0] = '\0';
    if (h->nfields == 1 && h->fields[0][strcspn(h->fields[0], ",;\t|")]) {
        /* one column holding what looks like several: another delimiter
         * (said first: the columns then all seem missing) */
        char d[8] = "tab";
        if (f->delimiter != '\t')
            snprintf(d, sizeof d, "\"%c\"", f->delimiter);
        snprintf(st->why, st->whylen, "the header reads as a single column, so the file may use"
                                      " another delimiter than the feed's (%s); ", d);
    }
    for (size_t i = 0; i < h->nfields; i++)
        if (!cr_utf8_valid(h->fields[i], strlen(h->fields[i]))) {
            /* "N\xb0 RMA" never equals "N° RMA": say why (said first) */
            size_t used = st->whylen ? strlen(st->why) : 0;
            if (used < st->whylen)
                snprintf(st->why + used, st->whylen - used,
                         "the header is not UTF-8 text (a Windows-1252 or Latin-1 export? save it"
                         " as CSV in UTF-8); ");
            break;
        }
    st->stats->header_field = NULL;
    bool ok = true;
    for (int fi = 0; fi < CR_F_COUNT; fi++)
        for (int j = 0; j < CR_MAX_COLS_PER_FIELD; j++) {
            st->col[fi][j] = -1;
            if (j < f->ncolumns[fi])
                ok &= header_col(st, h, f->columns[fi][j], cr_field_name(fi), &st->col[fi][j]);
        }
    st->event_col = st->type_col = st->tz_col = -1;
    if (f->event_column)
        ok &= header_col(st, h, f->event_column, "event", &st->event_col);
    if (f->type_column)
        ok &= header_col(st, h, f->type_column, "type", &st->type_col);
    if (f->timezone_column)
        ok &= header_col(st, h, f->timezone_column, "timezone", &st->tz_col);
    size_t used = st->whylen ? strlen(st->why) : 0;
    if (st->header_unsaid && used < st->whylen)
        snprintf(st->why + used, st->whylen - used, "; and %d more", st->header_unsaid);
    return ok;
}

/* A spreadsheet's text-forcing form ="..." (written so that Excel keeps
 * leading zeros and long digit strings as text: ="00123", ="1Z999...")
 * gives the text inside, its doubled quotes single.  In place. */
static char *unforce(char *s)
{
    size_t n = strlen(s);
    if (n < 3 || s[0] != '=' || s[1] != '"' || s[n - 1] != '"')
        return s;
    const char *end = s + n - 1;
    for (const char *p = s + 2; p < end; p++)
        if (*p == '"' && !(p + 1 < end && *++p == '"'))
            return s;   /* a lone quote inside: not that form, left as it is */
    char *w = s;
    for (const char *p = s + 2; p < end; p++) {
        if (*p == '"')
            p++;
        *w++ = *p;
    }
    *w = '\0';
    return cr_trim_inplace(s);
}

/* The trimmed value of column index C, or NULL when empty or absent.
 * Trims in place (the record's fields are the reader's copies). */
static const char *val(const cr_csv_record *r, int c)
{
    if (c < 0 || (size_t)c >= r->nfields)
        return NULL;
    char *s = unforce(cr_trim_inplace(r->fields[c]));
    return *s ? s : NULL;
}

/* Whether record R's fields line up with the header's: as many; more,
 * with nothing but blanks past the header's (a trailing delimiter on every
 * row and not on the header, as some exports write); or fewer by trailing
 * header columns that have no name (a trailing delimiter on the header
 * only).  The file's first row sets its shape, and every other row must
 * have it (or, where the header has the trailing delimiter, the header's
 * count): a row of a plain file with a stray delimiter and an empty last
 * column has one empty field too many, and its fields have moved.  Any
 * other count is BAD_ROW. */
static bool aligned(const fstate *st, const cr_csv_record *r)
{
    for (size_t i = st->ncols; i < r->nfields; i++)
        if (val(r, (int)i))
            return false;
    for (size_t i = r->nfields; i < st->ncols; i++) {
        const char *h = st->header_names ? st->header_names[i] : "";
        if (strspn(h, " \t") != strlen(h))
            return false;
    }
    return !st->row_fields || r->nfields == st->row_fields ||
           (r->nfields == st->ncols && st->row_fields < st->ncols);
}

/* An amount in column C, as val: a lone "-" is no amount (a spreadsheet's
 * accounting format writes a zero so, on the side a row does not use). */
static const char *amount_val(const cr_csv_record *r, int c)
{
    const char *s = val(r, c);
    return s && strcmp(s, "-") == 0 ? NULL : s;
}

/* The tracking number in column C as events are matched by it (SPEC 4:
 * "the same tracking number"): written as serials are compared
 * (cr_serial_normalize: case, blanks, hyphens and a scanner's prefix
 * aside, `1z 9r4-e81` is `1Z9R4E81`), in the reader's copy; NULL when
 * nothing is left or it is a placeholder (cr_tracking_placeholder: "N/A",
 * "WALKIN", "0").  *GIVEN tells whether the column held anything: a placeholder
 * ("-", "N/A") still counts as given, so the row is read (a check-in is
 * matched by its serial), but it matches nothing by tracking number. */
static const char *tracking_norm(const cr_csv_record *r, int c, bool *given)
{
    char *s = (char *)(uintptr_t)val(r, c);   /* the reader's copy, as val trims it */
    *given = s != NULL;
    if (!s)
        return NULL;
    cr_serial_normalize(s, s, strlen(s) + 1); /* never longer: in place */
    return *s && !cr_tracking_placeholder(s) ? s : NULL;
}

/* Field F (claim_ref, serial) of rejected receipt row R, when its fields
 * line up with the header's and the value is text: so that the capture of
 * the claim it names, or of the claim of its serial, can say a rejected
 * check-in may be that claim's.  NULL when none. */
static const char *rejected_field(const fstate *st, const cr_csv_record *r, cr_field f)
{
    int c = st->col[f][0];
    /* a receipt row whose fields line up with the header's (one too long
     * or holding a NUL is emptied, the others are as read) */
    if (st->feed->kind != CR_FEED_RECEIPTS || !aligned(st, r) || c < 0 ||
        (r->bad && (r->bad_field < 0 || r->bad_field == c)))
        return NULL;
    const char *v = val(r, c);
    return v && cr_utf8_valid(v, strlen(v)) ? v : NULL;
}

/* Hands record R on as rejected for WHY, FIELD, with st->detail. */
static cr_err send_reject(fstate *st, const cr_csv_record *r, cr_reason why, const char *field)
{
    st->stats->rejected++;
    cr_reject_row rj = {
        .line = r->line, .reason = why, .field = field, .detail = st->detail,
        .raw = r->raw, .raw_len = r->raw_len, .claim_ref = rejected_field(st, r, CR_F_CLAIM_REF),
        .serial = rejected_field(st, r, CR_F_SERIAL),
    };
    return st->sink->reject(st->sink->ud, &rj);
}

static cr_err reject(fstate *st, const cr_csv_record *r, cr_reason why, const char *field,
                     const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static cr_err reject(fstate *st, const cr_csv_record *r, cr_reason why, const char *field,
                     const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(st->detail, sizeof st->detail, fmt, ap);
    va_end(ap);
    return send_reject(st, r, why, field);
}

/* Maps V through a value list; NULL when unmapped. */
static const char *map_value(const cr_kvlist *l, const char *v)
{
    const cr_kv *kv = cr_kv_find(l, v);
    return kv ? kv->value : NULL;
}

static cr_time_t civil_utc(const cr_civil *c, int32_t off)
{
    return (cr_time_t)cr_days_from_civil(c->year, c->month, c->day) * CR_SECONDS_PER_DAY +
           c->hour * 3600 + c->minute * 60 + c->second - off;
}

/* The zone named NAME (an IANA name with a '/', Europe/Berlin), loaded once
 * a file; NULL when there is none of that name. */
static const cr_tz *named_zone(fstate *st, const char *name)
{
    size_t n = sizeof st->zones / sizeof st->zones[0];
    for (size_t i = 0; i < n; i++)
        if (st->zones[i].tz && strcmp(st->zones[i].name, name) == 0)
            return st->zones[i].tz;
    if (strlen(name) >= sizeof st->zones[0].name)
        return NULL;
    cr_tz *tz = cr_tz_load(name);
    if (!tz)
        return NULL;
    size_t i = st->nzones++ % n;   /* a file of more zones than this loads some again */
    cr_tz_free(st->zones[i].tz);
    st->zones[i].tz = tz;
    snprintf(st->zones[i].name, sizeof st->zones[i].name, "%s", name);
    return tz;
}

/* The instant of the local time CIV (plus FRAC seconds) in ZONE, a row's
 * own zone (the word a %Z read, or its timezone_column): an abbreviation
 * of timezone_abbreviations, an offset (cr_parse_offset: +01:00, UTC, Z,
 * UTC+01:00), or an IANA name with a '/' (its offset on that date).
 * False for anything else: an abbreviation the feed does not map is not
 * guessed ("CET" read as the zone file would be +02:00 in summer). */
static bool zone_instant(fstate *st, const char *zone, const cr_civil *civ, bool frac, cr_time_t *out)
{
    int32_t off;
    const cr_kv *kv = cr_kv_find(&st->feed->tz_abbrevs, zone);
    if (kv)
        off = (int32_t)kv->num;
    else if (cr_parse_offset(zone, &off) != CR_OK) {
        const cr_tz *tz = strchr(zone, '/') ? named_zone(st, zone) : NULL;
        if (!tz)
            return false;
        *out = cr_tz_to_utc(tz, civ) + frac;
        return true;
    }
    *out = civil_utc(civ, off) + frac;
    return true;
}

/* Reads the date-time field F of record R into *OUT.  Returns -1 on
 * success, or the reject reason (with st->detail set).
 *
 * The zone of a value is, in this order: an offset read by %z; a zone
 * abbreviation read by a %Z that ends the format; the timezone_column;
 * the feed's timezone (also for a row whose timezone_column is empty, when
 * the feed names one). */
static int read_instant(fstate *st, const cr_csv_record *r, cr_field f, cr_time_t *out)
{
    const cr_feed *fd = st->feed;
    size_t n = 0;
    bool any = false;
    st->buf[0] = '\0';
    for (int j = 0; j < fd->ncolumns[f]; j++) {
        const char *v = val(r, st->col[f][j]);
        if (v)
            any = true;
        int w = snprintf(st->buf + n, sizeof st->buf - n, "%s%s", j ? " " : "", v ? v : "");
        if (w < 0 || (size_t)w >= sizeof st->buf - n) {
            snprintf(st->detail, sizeof st->detail, "%s is too long to be a date-time",
                     cr_field_name(f));
            return CR_R_BAD_DATETIME;
        }
        n += (size_t)w;
    }
    if (!any) {
        snprintf(st->detail, sizeof st->detail, "%s is empty", cr_field_name(f));
        return CR_R_MISSING_FIELD;
    }
    /* a format ending in " %Z": the value's last word is a zone abbreviation */
    char fmt[256];
    const char *zone = NULL;
    snprintf(fmt, sizeof fmt, "%s", fd->datetime_format);
    size_t fl = strlen(fmt);
    if (fl >= 3 && strcmp(fmt + fl - 3, " %Z") == 0) {
        fmt[fl - 3] = '\0';
        char *sp = strrchr(st->buf, ' ');
        if (!sp || !sp[1]) {
            snprintf(st->detail, sizeof st->detail, "%s \"%.100s\" ends without a time zone",
                     cr_field_name(f), st->buf);
            return CR_R_BAD_DATETIME;
        }
        zone = sp + 1;
        *sp = '\0';
    }
    cr_civil civ;
    bool has_off = false;
    int32_t off = 0;
    bool frac = false;
    if (cr_parse_datetime(fmt, st->buf, &civ, &has_off, &off, &frac) != CR_OK) {
        if (zone)   /* the value as it is, with the word %Z took (a review) */
            st->buf[zone - 1 - st->buf] = ' ';
        snprintf(st->detail, sizeof st->detail, "%s \"%.100s\" does not read as \"%s\"",
                 cr_field_name(f), st->buf, fd->datetime_format);
        return CR_R_BAD_DATETIME;
    }
    /* a fraction of a second counts as the next whole second: an arrival
     * at 23:59:59.9 is after a deadline of 23:59:59, and an event or row
     * half a second after the as-of instant is not seen by it */
    if (has_off) {
        *out = civil_utc(&civ, off) + frac;
        return -1;
    }
    if (!zone && st->tz_col < 0 && !fd->tz_set && strstr(fmt, "%z")) {
        /* the format has room for an offset the value left out, and the
         * feed names no time zone to read it in: UTC would be a guess */
        snprintf(st->detail, sizeof st->detail,
                 "%s \"%.100s\" has no UTC offset, and feed %s names no timezone to read it in",
                 cr_field_name(f), st->buf, fd->name);
        return CR_R_BAD_DATETIME;
    }
    if (!zone && st->tz_col >= 0) {
        zone = val(r, st->tz_col);
        if (!zone && !fd->tz_set) {   /* else the feed's timezone, named for such rows */
            snprintf(st->detail, sizeof st->detail, "time zone column \"%s\" is empty",
                     fd->timezone_column);
            return CR_R_MISSING_FIELD;
        }
    }
    if (zone) {
        if (!zone_instant(st, zone, &civ, frac, out)) {
            snprintf(st->detail, sizeof st->detail,
                     "time zone \"%.40s\" is not in timezone_abbreviations (nor an offset,"
                     " UTC or an IANA name like Europe/Berlin)", zone);
            return CR_R_BAD_DATETIME;
        }
        return -1;
    }
    *out = cr_tz_to_utc(fd->tz, &civ) + frac;
    return -1;
}

/* Mapped text fields must be valid UTF-8. */
static const char *check_text(fstate *st, const cr_csv_record *r, const char *const *vals,
                              const cr_field *fields, size_t n)
{
    (void)st;
    (void)r;
    for (size_t i = 0; i < n; i++)
        if (vals[i] && !cr_utf8_valid(vals[i], strlen(vals[i])))
            return cr_field_name(fields[i]);
    return NULL;
}

static int read_bool(const cr_feed *f, const char *v)
{
    if (cr_strlist_has(&f->true_values, v))
        return 1;
    if (cr_strlist_has(&f->false_values, v))
        return 0;
    return -1;
}

static cr_err receipt_row(fstate *st, const cr_csv_record *r)
{
    const cr_feed *f = st->feed;
    cr_receipt_row row = {.line = r->line, .battery_returned = -1, .genuine = -1};
    const char *ev = f->event;
    if (!ev) {
        const char *v = val(r, st->event_col);
        if (!v)
            return reject(st, r, CR_R_MISSING_FIELD, "event", "event (column \"%s\") is empty",
                          f->event_column);
        ev = map_value(&f->event_values, v);
        if (!ev)
            return reject(st, r, CR_R_UNKNOWN_VALUE, "event",
                          "event value \"%.60s\" is not in event_values", v);
    }
    if (strcmp(ev, "ignore") == 0) {
        st->stats->ignored++;
        return CR_OK;
    }
    row.event = strcmp(ev, "shipped") == 0     ? CR_EV_SHIPPED
                : strcmp(ev, "delivered") == 0 ? CR_EV_DELIVERED
                                               : CR_EV_RECEIVED;
    bool trk_given = false;
    row.tracking = tracking_norm(r, st->col[CR_F_TRACKING][0], &trk_given);
    row.claim_ref = val(r, st->col[CR_F_CLAIM_REF][0]);
    if (!trk_given && !row.claim_ref)
        return reject(st, r, CR_R_MISSING_FIELD,
                      f->ncolumns[CR_F_CLAIM_REF] ? "claim_ref" : "tracking_number",
                      "neither tracking_number nor claim_ref is given");
    int why = read_instant(st, r, CR_F_EVENT_AT, &row.at);
    if (why >= 0)
        return send_reject(st, r, (cr_reason)why, "event_at");   /* read_instant said why */
    if (row.event == CR_EV_RECEIVED) {
        row.serial = val(r, st->col[CR_F_SERIAL][0]);
        if (!row.serial)
            return reject(st, r, CR_R_MISSING_FIELD, "serial", "serial is empty on a received event");
        static const cr_field bf[] = {CR_F_BATTERY, CR_F_GENUINE};
        int *dst[] = {&row.battery_returned, &row.genuine};
        for (int i = 0; i < 2; i++) {
            const char *v = val(r, st->col[bf[i]][0]);
            if (!v)
                return reject(st, r, CR_R_MISSING_FIELD, cr_field_name(bf[i]),
                              "%s is empty on a received event", cr_field_name(bf[i]));
            *dst[i] = read_bool(f, v);
            if (*dst[i] < 0)
                return reject(st, r, CR_R_BAD_BOOLEAN, cr_field_name(bf[i]),
                              "%s \"%.40s\" is neither a true nor a false value",
                              cr_field_name(bf[i]), v);
        }
    }
    const char *texts[] = {row.tracking, row.claim_ref, row.serial};
    static const cr_field tf[] = {CR_F_TRACKING, CR_F_CLAIM_REF, CR_F_SERIAL};
    const char *badf = check_text(st, r, texts, tf, 3);
    if (badf)
        return reject(st, r, CR_R_BAD_ROW, badf, "%s is not valid UTF-8", badf);
    st->stats->accepted++;
    return st->sink->receipt(st->sink->ud, &row);
}

static cr_err settle_row(fstate *st, const cr_csv_record *r)
{
    const cr_feed *f = st->feed;
    cr_settle_row row = {.line = r->line};
    const char *tv = val(r, st->type_col);
    if (!tv)
        return reject(st, r, CR_R_MISSING_FIELD, "type", "type (column \"%s\") is empty",
                      f->type_column);
    const char *t = map_value(&f->type_values, tv);
    if (!t)
        return reject(st, r, CR_R_UNKNOWN_VALUE, "type",
                      "type value \"%.60s\" is not in type_values", tv);
    if (strcmp(t, "ignore") == 0) {
        st->stats->ignored++;
        return CR_OK;
    }
    row.type = (cr_settle_type)cr_settle_type_from_name(t);
    row.raw_type = tv;
    row.psp_ref = val(r, st->col[CR_F_PSP_REF][0]);
    row.merchant_ref = val(r, st->col[CR_F_MERCHANT_REF][0]);
    if (!row.psp_ref && !row.merchant_ref)
        return reject(st, r, CR_R_MISSING_FIELD,
                      f->ncolumns[CR_F_PSP_REF] ? "psp_reference" : "merchant_reference",
                      "neither psp_reference nor merchant_reference is given");
    int why = read_instant(st, r, CR_F_BOOKED_AT, &row.booked_at);
    if (why >= 0)
        return send_reject(st, r, (cr_reason)why, "booked_at");
    /* a release or expired row needs no amount (SPEC 2.3): one it carries
     * but that does not read (no currency, "N/A") is left out, not the row,
     * which confirms a release all the same */
    bool amount_required = row.type != CR_ST_RELEASE && row.type != CR_ST_EXPIRED;
    const char *amt = NULL;    /* the first amount column with a value */
    for (int j = 0; j < f->ncolumns[CR_F_AMOUNT] && !amt; j++)
        amt = amount_val(r, st->col[CR_F_AMOUNT][j]);
    const char *cur = val(r, st->col[CR_F_CURRENCY][0]);
    if (cur && !cr_currency_code_ok(cur)) {
        if (amount_required)
            return reject(st, r, CR_R_BAD_AMOUNT, "currency",
                          "currency \"%.20s\" is not a three-letter code", cur);
        cur = NULL;
    }
    if (cur)
        for (int i = 0; i < 3; i++)
            row.currency[i] = (char)toupper((unsigned char)cur[i]);
    if (amt && !cur && amount_required)
        return reject(st, r, CR_R_MISSING_FIELD, "currency", "an amount without a currency");
    if (amt && cur) {
        int ex = cr_currency_exponent(st->cfg->policy.currency_exponents,
                                      st->cfg->policy.n_currency_exponents, row.currency);
        /* debit and credit columns: the one that is not zero (an export
         * may write 0.00 on the side a row does not use); two that are
         * not zero leave it unknown which counts */
        row.amount = 0;
        row.has_amount = true;
        const char *taken = NULL;
        for (int j = 0; j < f->ncolumns[CR_F_AMOUNT] && row.has_amount; j++) {
            const char *a = amount_val(r, st->col[CR_F_AMOUNT][j]);
            cr_money_t v = 0;
            if (!a)
                continue;
            cr_err e = cr_money_parse(a, ex, &v);
            if (e == CR_OK && v != INT64_MIN && v != 0) {
                if (taken) {
                    if (!amount_required) {
                        row.amount = 0;
                        row.has_amount = false;
                        break;
                    }
                    return reject(st, r, CR_R_BAD_AMOUNT, "amount",
                                  "two amount columns hold an amount (\"%.40s\" and \"%.40s\"):"
                                  " which one counts is unknown", taken, a);
                }
                taken = a;
                row.amount = v;
            }
            if ((e != CR_OK || v == INT64_MIN) && !amount_required) {
                row.amount = 0;
                row.has_amount = false;
            } else if (e != CR_OK && e != CR_ERANGE)
                return reject(st, r, CR_R_BAD_AMOUNT, "amount",
                              "amount \"%.40s\" is not a %s amount with at most %d decimals%s", a,
                              row.currency, ex,
                              strchr(a, ',') && !strchr(a, '.')
                                  ? " (a decimal comma? the decimal separator is a point)"
                                  : "");
            else if (e == CR_ERANGE || v == INT64_MIN)   /* too large either way */
                return reject(st, r, CR_R_BAD_AMOUNT, "amount", "amount \"%.40s\" is out of range",
                              a);
        }
        if (row.amount < 0)
            row.amount = -row.amount;
    } else if (amount_required) {
        return reject(st, r, CR_R_MISSING_FIELD, amt ? "currency" : "amount",
                      amt ? "a %s row needs a currency" : "a %s row needs an amount",
                      cr_settle_type_name(row.type));
    }
    char brand[64] = "";
    const char *b = val(r, st->col[CR_F_CARD_BRAND][0]);
    if (b) {
        const char *m = map_value(&f->card_brand_values, b);
        cr_card_brand_canon(m ? m : b, brand, sizeof brand);
        row.card_brand = brand;
    }
    const char *texts[] = {row.psp_ref, row.merchant_ref, row.card_brand};
    static const cr_field tf[] = {CR_F_PSP_REF, CR_F_MERCHANT_REF, CR_F_CARD_BRAND};
    const char *badf = check_text(st, r, texts, tf, 3);
    if (badf)
        return reject(st, r, CR_R_BAD_ROW, badf, "%s is not valid UTF-8", badf);
    st->stats->accepted++;
    return st->sink->settlement(st->sink->ud, &row);
}

/* Whether R is the header again, its names in any order (two exports
 * joined into one file, the second maybe with its columns moved). */
static bool header_again(const fstate *st, const cr_csv_record *r)
{
    if (r->bad || r->nfields != st->nheader_names || !r->nfields)
        return false;
    bool *taken = calloc(r->nfields, sizeof *taken);
    bool same = taken != NULL;
    for (size_t i = 0; same && i < r->nfields; i++) {
        size_t j = 0;
        while (j < r->nfields && (taken[j] || !header_eq(r->fields[i], st->header_names[j])))
            j++;
        same = j < r->nfields;
        if (same)
            taken[j] = true;
    }
    free(taken);
    return same;
}

/* R repeats the header: not a row, ignored; the rows after it are read by
 * where it puts its columns (SPEC 2.4: by name, never position). */
static cr_err header_repeated(fstate *st, const cr_csv_record *r)
{
    bool moved = false;
    for (size_t i = 0; i < r->nfields && !moved; i++)
        moved = strcmp(r->fields[i], st->header_names[i]) != 0;
    st->stats->ignored++;
    if (!moved)
        return CR_OK;
    for (size_t i = 0; i < st->nheader_names; i++)
        free(st->header_names[i]);
    free(st->header_names);
    st->header_names = NULL;
    st->nheader_names = 0;
    st->row_fields = 0;
    if (!read_header(st, r)) {
        st->file_rejected = true;   /* (the same names: not expected) */
        return CR_EDATA;
    }
    return CR_OK;
}

/* Whether R is the "sep=;" line Excel writes first (and reads as the
 * delimiter): "sep=" and an empty field, split at the feed's delimiter. */
static bool excel_sep_line(const fstate *st, const cr_csv_record *r)
{
    return !r->bad && r->nfields == 2 && !r->fields[1][0] &&
           (strcmp(r->fields[0], "sep=") == 0 || strcmp(r->fields[0], "SEP=") == 0) &&
           st->feed->delimiter != '\0';
}

static cr_err on_record(void *ud, const cr_csv_record *r)
{
    fstate *st = ud;
    if (!st->have_header && !st->sep_seen && excel_sep_line(st, r)) {
        st->sep_seen = true;   /* the feed's own delimiter: the header is next */
        return CR_OK;
    }
    if (st->have_header && !r->bad && r->nfields == 1 && strcmp(r->fields[0], "\x1a") == 0)
        return CR_OK;          /* an old DOS end-of-file mark (Ctrl-Z): not a row */
    if (!st->have_header) {
        st->have_header = true;
        st->stats->header_line = r->line;
        if (!read_header(st, r)) {
            st->file_rejected = true;
            return CR_EDATA;
        }
        return CR_OK;
    }
    if (!r->bad) {
        /* a row of empty fields (",,,," as spreadsheets export) is blank */
        bool blank = true;
        for (size_t i = 0; i < r->nfields && blank; i++)
            blank = !val(r, (int)i);
        if (blank)
            return CR_OK;
    }
    st->stats->rows++;
    if (!r->bad && header_again(st, r))
        return header_repeated(st, r);   /* a record, counted, and ignored */
    if (r->bad && r->bad_field >= 0 && (size_t)r->bad_field < st->ncols) {
        /* which column, and the limit when it is one (a review: "a field"
         * sent the sender looking through every column) */
        int fi = mapped_field(st, (int)r->bad_field);
        return reject(st, r, CR_R_BAD_ROW, fi >= 0 ? cr_field_name(fi) : NULL,
                      "%s: column %ld, \"%.80s\"%s%s%s", r->bad, r->bad_field + 1,
                      st->header_names[r->bad_field], fi != -1 ? "" : " (a column the feed does not read)",
                      r->bad_too_long ? "; limits.max_field_bytes is " : "",
                      r->bad_too_long ? st->limit_text : "");
    }
    if (r->bad)
        return reject(st, r, CR_R_BAD_ROW, NULL, "%s", r->bad);
    if (!aligned(st, r)) {
        char first[64] = "";
        if (st->row_fields && st->row_fields != st->ncols)
            snprintf(first, sizeof first, " and the file's first row %zu", st->row_fields);
        return reject(st, r, CR_R_BAD_ROW, NULL, "%zu fields where the header has %zu%s",
                      r->nfields, st->ncols, first);
    }
    if (!st->row_fields)
        st->row_fields = r->nfields;   /* the file's shape (aligned) */
    return st->feed->kind == CR_FEED_RECEIPTS ? receipt_row(st, r) : settle_row(st, r);
}

cr_err cr_feed_parse(const cr_config *cfg, const cr_feed *feed, const char *data, size_t len,
                     const cr_feed_sink *sink, cr_feed_stats *stats, char *why, size_t whylen)
{
    fstate st = {.cfg = cfg, .feed = feed, .sink = sink, .stats = stats, .why = why,
                 .whylen = whylen};
    cr_csv_opts o = {
        .delimiter = feed->delimiter,
        .skip_lines = feed->skip_lines,
        .max_field = cfg->max_field_bytes,
        .max_fields = cfg->max_columns,
    };
    memset(stats, 0, sizeof *stats);
    snprintf(st.limit_text, sizeof st.limit_text, "%zu", cfg->max_field_bytes);
    if (whylen)
        why[0] = '\0';
    if (len >= 2 && (((unsigned char)data[0] == 0xFF && (unsigned char)data[1] == 0xFE) ||
                     ((unsigned char)data[0] == 0xFE && (unsigned char)data[1] == 0xFF))) {
        snprintf(why, whylen, "the file is UTF-16 text (it starts with a UTF-16 byte order mark):"
                              " save it as CSV in UTF-8");
        return CR_EDATA;
    }
    cr_err rc = cr_csv_read(data, len, &o, on_record, &st);
    for (size_t i = 0; i < st.nheader_names; i++)
        free(st.header_names[i]);
    free(st.header_names);
    for (size_t i = 0; i < sizeof st.zones / sizeof st.zones[0]; i++)
        cr_tz_free(st.zones[i].tz);
    if (rc == CR_EDATA && st.file_rejected)
        return CR_EDATA;
    if (rc != CR_OK)
        return rc;
    if (!st.have_header) {
        if (feed->skip_lines > 0 && len > 0)
            snprintf(why, whylen, "the file has no header line after its %d preamble line%s"
                                  " (skip_lines)", feed->skip_lines, feed->skip_lines == 1 ? "" : "s");
        else
            snprintf(why, whylen, "the file is empty: no header line");
        return CR_EDATA;
    }
    return CR_OK;
}
