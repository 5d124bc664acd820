/*
 * report.c - the finance workbook (SPEC 6.3), written with libxlsxwriter.
 *
 * The only module that speaks to libxlsxwriter.  It formats what the run
 * hands over in a cr_report and decides nothing.
 *
 * How it writes:
 *  - constant_memory mode: every sheet is written strictly top to bottom,
 *    so column widths are measured in a first pass over the in-memory rows
 *    and set before the first row; the Summary is first laid out as a list
 *    of cells (a "plan"), measured, then written;
 *  - every worksheet_* return code is checked: a lost cell is CR_EIO;
 *  - text from input files goes through cr_cell_text() and is written with
 *    worksheet_write_string() only, so "=HYPERLINK(..)" stays text; a
 *    literal "_xHHHH_" in text is escaped ("_x005F_xHHHH_") so that Excel
 *    shows it as written instead of decoding it;
 *  - the file is created with mkstemp() as PATH.tmp-XXXXXX (mode 0640) in
 *    the target folder, which also holds libxlsxwriter's temporary files;
 *    after workbook_close() it is fsync'd and, if r->publish agrees, renamed
 *    to PATH, and the folder is fsync'd.  On any error (or no publish) the
 *    temporary file is removed.
 */
#include "report.h"

#include "crtime.h"
#include "money.h"

#include <xlsxwriter.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define XL_MAX_CHARS 32767           /* Excel's limit of a cell's text */
#define XL_MAX_ROWS 1048576u         /* rows per sheet, header included */
#define WIDTH_CAP 60.0               /* widest column, in characters */
#define MAX_COLS 16                  /* columns of the widest sheet */
#define N_EXP 7                      /* currency exponents 0..6 */
#define N_CUR 32                     /* currencies with their own number format */
#define TIME_CHARS 19                /* "2026-11-20 11:03:55" */
#define ROW_PX 20                    /* default row height in pixels */

/* ------------------------------------------------------------------ */
/* Cell text                                                          */
/* ------------------------------------------------------------------ */

/* Decodes the UTF-8 sequence at S (N > 0 bytes available).  Returns the
 * number of bytes it spans and stores the code point in *CP; for an
 * ill-formed sequence returns the length of its maximal subpart (at least
 * 1, as Unicode's "best practice" for U+FFFD substitution) and stores -1.
 * Overlong forms, surrogates and values above U+10FFFF are ill-formed. */
static size_t utf8_decode(const unsigned char *s, size_t n, long *cp)
{
    unsigned char b = s[0], lo = 0x80, hi = 0xBF;
    size_t need;
    long v;

    if (b < 0x80) {
        *cp = b;
        return 1;
    }
    if (b >= 0xC2 && b <= 0xDF) {
        need = 1;
        v = b & 0x1F;
    } else if (b >= 0xE0 && b <= 0xEF) {
        need = 2;
        v = b & 0x0F;
        if (b == 0xE0)
            lo = 0xA0;
        else if (b == 0xED)
            hi = 0x9F;
    } else if (b >= 0xF0 && b <= 0xF4) {
        need = 3;
        v = b & 0x07;
        if (b == 0xF0)
            lo = 0x90;
        else if (b == 0xF4)
            hi = 0x8F;
    } else {
        *cp = -1;
        return 1;
    }
    for (size_t i = 1; i <= need; i++) {
        if (i >= n || s[i] < lo || s[i] > hi) {
            *cp = -1;
            return i;
        }
        lo = 0x80;
        hi = 0xBF;
        v = (v << 6) | (s[i] & 0x3F);
    }
    *cp = v;
    return need + 1;
}

/* True when code point CP may stand in a cell: not ill-formed (-1), not a
 * control character (C0 other than tab and newline, DEL, C1) and not one
 * of the non-characters U+FFFE/U+FFFF, which XML cannot carry. */
static bool cell_char_ok(long cp)
{
    if (cp < 0)
        return false;
    if (cp < 0x20)
        return cp == '\t' || cp == '\n';
    if (cp >= 0x7F && cp <= 0x9F)
        return false;
    return cp != 0xFFFE && cp != 0xFFFF;
}

/* Grows *BUF (capacity *CAP) to at least NEED bytes.  CR_ENOMEM on failure
 * (the old buffer is kept). */
static cr_err buf_reserve(char **buf, size_t *cap, size_t need)
{
    char *nb;
    if (need <= *cap)
        return CR_OK;
    nb = realloc(*buf, need);
    if (!nb)
        return CR_ENOMEM;
    *buf = nb;
    *cap = need;
    return CR_OK;
}

/* Writes the cell-safe form of S (see cr_cell_text) into *BUF, grown as
 * needed.  Characters are counted in UTF-16 units, as Excel counts them
 * (a character above U+FFFF counts 2), so the result also fits libxlsxwriter's
 * own limit, which counts code points.  Each input byte yields at most
 * three output bytes, hence the bound below. */
static cr_err clean_text(const char *s, char **buf, size_t *cap)
{
    size_t len = strlen(s), units = 0;
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    char *o;
    cr_err rc = buf_reserve(buf, cap, 3 * (len < XL_MAX_CHARS ? len : XL_MAX_CHARS) + 1);

    if (rc != CR_OK)
        return rc;
    o = *buf;
    while (p < end) {
        long cp;
        size_t k = utf8_decode(p, (size_t)(end - p), &cp);
        size_t u = cp >= 0x10000 ? 2 : 1;
        if (units + u > XL_MAX_CHARS)
            break;
        if (cell_char_ok(cp)) {
            memcpy(o, p, k);
            o += k;
        } else {
            memcpy(o, "\xEF\xBF\xBD", 3);   /* U+FFFD */
            o += 3;
        }
        units += u;
        p += k;
    }
    *o = '\0';
    return CR_OK;
}

/* Contract: see report.h.  NULL S gives an empty string.  Ill-formed UTF-8
 * is replaced per maximal subpart (as Python's "replace" does), so "\xE2\x82A"
 * gives U+FFFD then "A".  The cap counts UTF-16 units (Excel's count). */
char *cr_cell_text(const char *s)
{
    char *buf = NULL;
    size_t cap = 0;
    if (clean_text(s ? s : "", &buf, &cap) != CR_OK) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* True when P starts Excel's escape pattern "_xHHHH_". */
static bool is_xescape(const char *p)
{
    static const char hex[] = "0123456789ABCDEFabcdef";
    if (p[0] != '_' || p[1] != 'x')
        return false;
    for (int i = 2; i < 6; i++)
        if (!p[i] || !strchr(hex, p[i]))
            return false;
    return p[6] == '_';
}

/* Copies valid UTF-8 S into *BUF with every "_xHHHH_" escaped as
 * "_x005F_xHHHH_", so Excel shows the text as written.  The result is cut
 * (never inside a character or an escape) at XL_MAX_CHARS code points,
 * libxlsxwriter's limit. */
static cr_err escape_x(const char *s, char **buf, size_t *cap)
{
    size_t n = 0, cps = 0;
    const char *p;
    char *o;
    cr_err rc;

    for (p = strstr(s, "_x"); p; p = strstr(p + 1, "_x"))
        if (is_xescape(p))
            n++;
    rc = buf_reserve(buf, cap, strlen(s) + 6 * n + 1);
    if (rc != CR_OK)
        return rc;
    o = *buf;
    for (p = s; *p;) {
        if (is_xescape(p)) {
            if (cps + 7 > XL_MAX_CHARS)
                break;
            memcpy(o, "_x005F_", 7);
            o += 7;
            cps += 7;
            p++;
            continue;
        }
        unsigned char b = (unsigned char)*p;
        size_t k = b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
        if (cps + 1 > XL_MAX_CHARS)
            break;
        memcpy(o, p, k);
        o += k;
        p += k;
        cps++;
    }
    *o = '\0';
    return CR_OK;
}

/* Display width of S in characters: the longest line, wide (East Asian)
 * characters counting two, capped at WIDTH_CAP.  Measured on the raw text;
 * an ill-formed byte counts one (it becomes one U+FFFD). */
static double text_width(const char *s)
{
    const unsigned char *p = (const unsigned char *)s, *end;
    double line = 0, best = 0;

    if (!s)
        return 0;
    end = p + strlen(s);
    while (p < end && best < WIDTH_CAP) {
        long cp;
        p += utf8_decode(p, (size_t)(end - p), &cp);
        if (cp == '\n') {
            line = 0;
            continue;
        }
        bool wide = (cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0xA4CF) ||
                    (cp >= 0xAC00 && cp <= 0xD7A3) || (cp >= 0xF900 && cp <= 0xFAFF) ||
                    (cp >= 0xFE30 && cp <= 0xFE4F) || (cp >= 0xFF00 && cp <= 0xFF60) ||
                    (cp >= 0xFFE0 && cp <= 0xFFE6) || cp >= 0x20000;
        line += wide ? 2 : 1;
        if (line > best)
            best = line;
    }
    return best < WIDTH_CAP ? best : WIDTH_CAP;
}

/* ------------------------------------------------------------------ */
/* The writer                                                         */
/* ------------------------------------------------------------------ */

/* Everything one cr_report_write() call shares; lives on its stack. */
typedef struct wctx {
    const cr_report *r;
    const char *path;            /* for messages */
    const char *sheet;           /* sheet being written, for messages */
    const cr_tz *tz;             /* NULL = UTC */
    const cr_currency_exp *exps;
    size_t n_exps;
    lxw_workbook *wb;
    lxw_format *f_header, *f_time, *f_int, *f_count, *f_money[N_EXP];
    struct {
        char code[4];
        int e;
        lxw_format *f;
    } cur_fmt[N_CUR];            /* amounts with their currency, on first use */
    size_t n_cur_fmt;
    lxw_format *f_high, *f_medium;
    lxw_format *f_title, *f_section, *f_label, *f_vint, *f_vtime, *f_dry, *f_live, *f_total;
    lxw_format *f_wrap;        /* text longer than its column: wrapped, not cut */
    lxw_format *f_text;        /* a list's text cell: at the top, as every cell of its row */
    lxw_format *f_header_num;  /* the header of a number column: right, over its numbers */
    char what[320];              /* the Summary's note of what its decision rows count */
    struct cur_group *groups[3];  /* captures, releases, pending by currency, as written */
    size_t ngroups[3], groups_cap[3];
    size_t n_ful;                /* Fulfillment rows written */
    char *clean;                 /* reused text buffers */
    size_t clean_cap;
    char *esc;
    size_t esc_cap;
    char *tmp;
    size_t tmp_cap;
} wctx;

/* Turns a libxlsxwriter result for cell (ROW, COL) into CR_OK or a CR_EIO
 * message naming the workbook, the sheet and the cell. */
static cr_err xl_check(const wctx *w, lxw_error e, lxw_row_t row, lxw_col_t col)
{
    char cell[LXW_MAX_CELL_NAME_LENGTH];
    if (e == LXW_NO_ERROR)
        return CR_OK;
    lxw_rowcol_to_cell(cell, row, col);
    return cr_error(CR_EIO, "workbook %s: cannot write sheet %s cell %s: %s", w->path,
                    w->sheet ? w->sheet : "?", cell, lxw_strerror(e));
}

/* The text to hand libxlsxwriter for S: S itself when it is short plain
 * ASCII, else its cleaned (and escaped) copy in W's buffers.  NULL on no
 * memory. */
static const char *cell_prepare(wctx *w, const char *s)
{
    const unsigned char *p;
    const char *out;

    for (p = (const unsigned char *)s; *p; p++)
        if ((*p < 0x20 && *p != '\t' && *p != '\n') || *p >= 0x7F)
            break;
    if (!*p && (size_t)(p - (const unsigned char *)s) <= XL_MAX_CHARS && !strstr(s, "_x"))
        return s;
    if (clean_text(s, &w->clean, &w->clean_cap) != CR_OK)
        return NULL;
    out = w->clean;
    if (strstr(out, "_x")) {
        if (escape_x(out, &w->esc, &w->esc_cap) != CR_OK)
            return NULL;
        out = w->esc;
    }
    return out;
}

/* Writes text S (NULL or "" = empty cell) as a string cell. */
static cr_err put_text(wctx *w, lxw_worksheet *ws, lxw_row_t row, lxw_col_t col, const char *s,
                       lxw_format *fmt)
{
    const char *t;
    if (!s || !*s)
        return CR_OK;
    t = cell_prepare(w, s);
    if (!t)
        return cr_error(CR_ENOMEM, "workbook %s: out of memory", w->path);
    return xl_check(w, worksheet_write_string(ws, row, col, t, fmt), row, col);
}

/* Writes a number. */
static cr_err put_num(wctx *w, lxw_worksheet *ws, lxw_row_t row, lxw_col_t col, double v,
                      lxw_format *fmt)
{
    return xl_check(w, worksheet_write_number(ws, row, col, v, fmt), row, col);
}

/* Writes instant T (CR_TIME_NONE = empty cell) as a date-time cell in the
 * report's time zone.  Excel cannot show years outside 1900-9999: such an
 * instant is written as the same text instead. */
static cr_err put_time(wctx *w, lxw_worksheet *ws, lxw_row_t row, lxw_col_t col, cr_time_t t,
                       lxw_format *fmt)
{
    cr_civil c;
    if (t == CR_TIME_NONE)
        return CR_OK;
    cr_tz_from_utc(w->tz, t, &c);
    if (c.year < 1900 || c.year > 9999) {
        char buf[48];
        snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d:%02d", c.year, c.month, c.day,
                 c.hour, c.minute, c.second);
        return xl_check(w, worksheet_write_string(ws, row, col, buf, NULL), row, col);
    }
    lxw_datetime dt = {c.year, c.month, c.day, c.hour, c.minute, (double)c.second};
    return xl_check(w, worksheet_write_datetime(ws, row, col, &dt, fmt), row, col);
}

/* The display exponent of CURRENCY, clamped to 0..6. */
static int currency_exp(const wctx *w, const char *currency)
{
    int e = cr_currency_exponent(w->exps, w->n_exps, currency);
    return e < 0 ? 0 : e >= N_EXP ? N_EXP - 1 : e;
}

/* AMOUNT minor units with exponent E, in major units, for display only. */
static double major_units(cr_money_t amount, int e)
{
    cr_money_t d = 1;
    for (int i = 0; i < e; i++)
        d *= 10;
    return (double)(amount / d) + (double)(amount % d) / (double)d;
}

/* Characters V needs when shown with grouping and E decimals. */
static double number_width(double v, int e)
{
    char buf[64];
    int n = snprintf(buf, sizeof buf, "%.*f", e, v);
    int digits = n - (e > 0 ? e + 1 : 0) - (v < 0);
    if (n < 0)
        return 0;
    return (double)(n + (digits > 0 ? (digits - 1) / 3 : 0));
}

/* The currency code an amount shows, upper-cased into CODE: only three
 * ASCII letters (ISO 4217) go into a number format; false for anything else. */
static bool display_code(const char *currency, char code[4])
{
    if (!currency)
        return false;
    for (int i = 0; i < 3; i++) {
        if (!isalpha((unsigned char)currency[i]))
            return false;
        code[i] = (char)toupper((unsigned char)currency[i]);
    }
    code[3] = '\0';
    return currency[3] == '\0';
}

/* The number format of an amount in CURRENCY with exponent E: Excel's
 * currency format with the ISO code, "[$USD] #,##0.00" ("[$JPY] #,##0"),
 * so that a sheet of mixed currencies shows each amount's; the bare
 * "#,##0.00" for a currency that is not three letters, or once N_CUR
 * currencies have their own. */
static lxw_format *money_format(wctx *w, const char *currency, int e)
{
    char code[4], nf[32];
    bool coded = display_code(currency, code);
    if (coded) {
        for (size_t i = 0; i < w->n_cur_fmt; i++)
            if (w->cur_fmt[i].e == e && strcmp(w->cur_fmt[i].code, code) == 0)
                return w->cur_fmt[i].f;
        coded = w->n_cur_fmt < N_CUR;
    }
    if (!coded && w->f_money[e])
        return w->f_money[e];
    int l = coded ? snprintf(nf, sizeof nf, "[$%s] #,##0", code) : snprintf(nf, sizeof nf, "#,##0");
    if (e > 0) {
        nf[l++] = '.';
        for (int i = 0; i < e; i++)
            nf[l++] = '0';
        nf[l] = '\0';
    }
    lxw_format *f = workbook_add_format(w->wb);
    if (!f)
        return NULL;
    format_set_num_format(f, nf);
    format_set_align(f, LXW_ALIGN_VERTICAL_TOP);
    if (!coded)
        return w->f_money[e] = f;
    memcpy(w->cur_fmt[w->n_cur_fmt].code, code, sizeof code);
    w->cur_fmt[w->n_cur_fmt].e = e;
    return w->cur_fmt[w->n_cur_fmt++].f = f;
}

/* Characters an amount in CURRENCY takes besides its digits ("USD "). */
static double code_width(const char *currency)
{
    char code[4];
    return display_code(currency, code) ? 4 : 0;
}

/* Creates the fixed formats (the money formats come on first use).
 * CR_ENOMEM when libxlsxwriter cannot allocate one. */
static cr_err make_formats(wctx *w)
{
    lxw_workbook *wb = w->wb;
    lxw_format **all[] = {&w->f_header, &w->f_time, &w->f_int, &w->f_count, &w->f_high,
                          &w->f_medium, &w->f_title, &w->f_section, &w->f_label, &w->f_vint,
                          &w->f_vtime, &w->f_dry, &w->f_live, &w->f_total, &w->f_wrap,
                          &w->f_text, &w->f_header_num};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        *all[i] = workbook_add_format(wb);
        if (!*all[i])
            return cr_error(CR_ENOMEM, "workbook %s: out of memory", w->path);
    }
    for (int k = 0; k < 2; k++) {
        lxw_format *h = k ? w->f_header_num : w->f_header;
        format_set_bold(h);
        format_set_bg_color(h, 0xD9E1F2);
        format_set_bottom(h, LXW_BORDER_THIN);
    }
    format_set_align(w->f_header_num, LXW_ALIGN_RIGHT);
    /* a list's cells sit at the top of their row: a row made taller for a
     * wrapped Detail keeps every value of it on its first line */
    lxw_format *top[] = {w->f_text, w->f_time, w->f_int, w->f_high, w->f_medium, w->f_wrap};
    for (size_t i = 0; i < sizeof top / sizeof top[0]; i++)
        format_set_align(top[i], LXW_ALIGN_VERTICAL_TOP);
    /* text one step in from its left edge: apart from a right-aligned
     * number or date in the column before ("USD 139.00 USD", not "…00USD") */
    lxw_format *text[] = {w->f_text, w->f_high, w->f_medium, w->f_wrap, w->f_header, w->f_label};
    for (size_t i = 0; i < sizeof text / sizeof text[0]; i++) {
        format_set_align(text[i], LXW_ALIGN_LEFT);
        format_set_indent(text[i], 1);
    }
    format_set_num_format(w->f_time, "yyyy-mm-dd hh:mm:ss");
    format_set_num_format(w->f_int, "0");
    format_set_num_format(w->f_count, "#,##0");
    format_set_bold(w->f_high);
    format_set_font_color(w->f_high, 0xC00000);
    format_set_font_color(w->f_medium, 0x9C5700);
    format_set_bold(w->f_title);
    format_set_font_size(w->f_title, 16);
    format_set_bold(w->f_section);
    format_set_font_size(w->f_section, 12);
    format_set_font_color(w->f_section, 0x1F3864);
    format_set_bold(w->f_label);
    format_set_num_format(w->f_vint, "0");
    format_set_align(w->f_vint, LXW_ALIGN_LEFT);
    format_set_num_format(w->f_vtime, "yyyy-mm-dd hh:mm:ss");
    format_set_align(w->f_vtime, LXW_ALIGN_LEFT);
    format_set_bold(w->f_dry);
    format_set_font_size(w->f_dry, 14);
    format_set_font_color(w->f_dry, LXW_COLOR_WHITE);
    format_set_bg_color(w->f_dry, 0xC00000);
    format_set_align(w->f_dry, LXW_ALIGN_VERTICAL_CENTER);
    format_set_bold(w->f_live);
    format_set_font_color(w->f_live, 0x006100);
    format_set_bg_color(w->f_live, 0xC6EFCE);
    format_set_bold(w->f_total);
    format_set_text_wrap(w->f_wrap);
    format_set_num_format(w->f_total, "#,##0");
    return CR_OK;
}

/* ------------------------------------------------------------------ */
/* List sheets, described by tables of columns                        */
/* ------------------------------------------------------------------ */

typedef enum col_kind {
    K_TEXT,      /* const char * at off */
    K_SEVERITY,  /* const char * at off, coloured by value */
    K_TIME,      /* cr_time_t at off */
    K_MONEY,     /* cr_money_t at off, currency (const char *) at off2 */
    K_AMOUNT,    /* int64_t at off, currency at off2: as K_MONEY, empty when the currency is NULL */
    K_LONG,      /* long at off */
    K_YES,       /* bool at off: "yes" or empty */
    K_SOURCE     /* file (const char *) at off, line (long) at off2: "file:line" */
} col_kind;

typedef struct col_spec {
    const char *header;
    col_kind kind;
    size_t off, off2;
} col_spec;

#define C_TEXT(h, T, f) {h, K_TEXT, offsetof(T, f), 0}
#define C_TIME(h, T, f) {h, K_TIME, offsetof(T, f), 0}
#define C_LONG(h, T, f) {h, K_LONG, offsetof(T, f), 0}
#define C_YES(h, T, f) {h, K_YES, offsetof(T, f), 0}
#define C_MONEY(h, T, f, cur) {h, K_MONEY, offsetof(T, f), offsetof(T, cur)}
#define C_AMOUNT(h, T, f, cur) {h, K_AMOUNT, offsetof(T, f), offsetof(T, cur)}

static const col_spec CAPTURE_COLS[] = {
    C_TEXT("Claim ID", cr_rep_row, claim_id),
    C_TEXT("PSP Reference", cr_rep_row, psp_ref),
    C_TEXT("Card Brand", cr_rep_row, card_brand),
    C_MONEY("Amount", cr_rep_row, amount, currency),
    C_TEXT("Currency", cr_rep_row, currency),
    C_TEXT("Reason", cr_rep_row, reason),
    C_TIME("Deadline", cr_rep_row, deadline),
    C_TIME("Arrived At", cr_rep_row, arrived_at),
    C_TEXT("Received SN", cr_rep_row, received_sn),
    C_TEXT("Registered SN", cr_rep_row, registered_sn),
    C_TEXT("Detail", cr_rep_row, detail),
    C_YES("Auth Expired", cr_rep_row, auth_expired),
};

static const col_spec RELEASE_COLS[] = {
    C_TEXT("Claim ID", cr_rep_row, claim_id),
    C_TEXT("PSP Reference", cr_rep_row, psp_ref),
    C_MONEY("Amount", cr_rep_row, amount, currency),
    C_TEXT("Currency", cr_rep_row, currency),
    C_TIME("Arrived At", cr_rep_row, arrived_at),
    C_TEXT("Reason", cr_rep_row, reason),
    C_TEXT("Detail", cr_rep_row, detail),
};

static const col_spec PENDING_COLS[] = {
    C_TEXT("Claim ID", cr_rep_row, claim_id),
    C_TEXT("State", cr_rep_row, state),
    C_TIME("Deadline", cr_rep_row, deadline),
    C_LONG("Days Left", cr_rep_row, days_left),
    C_TIME("Shipped At", cr_rep_row, shipped_at),
    C_YES("Reminder", cr_rep_row, reminder),
    C_TIME("Hold Expires", cr_rep_row, hold_expires),
    C_MONEY("Amount", cr_rep_row, amount, currency),
    C_TEXT("Currency", cr_rep_row, currency),
};

static const col_spec FULFILLMENT_COLS[] = {
    C_TEXT("Claim ID", cr_rep_row, claim_id),
    C_TEXT("Region", cr_rep_row, region),
    C_TEXT("Product Model", cr_rep_row, product_model),
    C_TEXT("Received SN", cr_rep_row, received_sn),
    C_TIME("Received At", cr_rep_row, received_at),
    C_TEXT("Detail", cr_rep_row, detail),
};

static const col_spec EXCEPTION_COLS[] = {
    C_TEXT("ID", cr_exc_row, id),
    C_TEXT("Code", cr_exc_row, code),
    {"Severity", K_SEVERITY, offsetof(cr_exc_row, severity), 0},
    C_TEXT("Claim ID", cr_exc_row, claim_id),
    C_TEXT("Reference", cr_exc_row, reference),
    C_TEXT("Detail", cr_exc_row, detail),
    C_TIME("First Seen", cr_exc_row, first_seen),
    {"Source", K_SOURCE, offsetof(cr_exc_row, source_file), offsetof(cr_exc_row, source_line)},
    C_AMOUNT("Amount", cr_exc_row, amount, currency),
    C_TEXT("Currency", cr_exc_row, currency),
};

static const col_spec REJECT_COLS[] = {
    C_TEXT("File", cr_reject_view, file),
    C_LONG("Line", cr_reject_view, line),
    C_TEXT("Reason", cr_reject_view, reason),
    C_TEXT("Raw", cr_reject_view, raw),
    C_TEXT("Field", cr_reject_view, field),
    C_TEXT("Detail", cr_reject_view, detail),
};

static const col_spec REFUND_COLS[] = {
    C_TEXT("Claim ID", cr_rep_refund, claim_id),
    C_TEXT("PSP Reference", cr_rep_refund, psp_ref),
    C_TEXT("Merchant Reference", cr_rep_refund, merchant_ref),
    C_MONEY("Amount", cr_rep_refund, amount, currency),
    C_TEXT("Currency", cr_rep_refund, currency),
    C_TIME("Booked At", cr_rep_refund, booked_at),
    {"Source", K_SOURCE, offsetof(cr_rep_refund, file), offsetof(cr_rep_refund, line)},
    C_TEXT("Detail", cr_rep_refund, detail),
};

#define NCOLS(a) (sizeof(a) / sizeof((a)[0]))

/* One list sheet: its columns and its rows (N rows of SIZE bytes at ROWS,
 * or, when LIST is set, LIST's N rows). */
typedef struct table_spec {
    const char *name;
    const col_spec *cols;
    size_t ncols;
    const void *rows;
    size_t size, n;
    const cr_rep_rows *list;
} table_spec;

/* The rows of a table, in order (tbl_first, tbl_next), then tbl_end. */
typedef struct tbl_iter {
    const table_spec *t;
    size_t i;
    cr_rep_iter it;
} tbl_iter;

static const void *tbl_first(const table_spec *t, tbl_iter *x)
{
    x->t = t;
    x->i = 0;
    if (t->list)
        return cr_rep_rows_first(t->list, &x->it);
    return t->n ? t->rows : NULL;
}

static const void *tbl_next(tbl_iter *x)
{
    if (x->t->list)
        return cr_rep_rows_next(&x->it);
    return ++x->i < x->t->n ? (const char *)x->t->rows + x->i * x->t->size : NULL;
}

static const char *field_str(const void *row, size_t off)
{
    return *(const char *const *)(const void *)((const char *)row + off);
}
static long field_long(const void *row, size_t off)
{
    return *(const long *)(const void *)((const char *)row + off);
}
static cr_time_t field_time(const void *row, size_t off)
{
    return *(const cr_time_t *)(const void *)((const char *)row + off);
}
static cr_money_t field_money(const void *row, size_t off)
{
    return *(const cr_money_t *)(const void *)((const char *)row + off);
}
static bool field_bool(const void *row, size_t off)
{
    return *(const bool *)(const void *)((const char *)row + off);
}

/* "file:line" (or "file" when LINE <= 0, or NULL without a file) in W's
 * scratch buffer; NULL also on no memory (*OOM set). */
static const char *source_text(wctx *w, const char *file, long line, bool *oom)
{
    size_t need;
    *oom = false;
    if (!file || !*file)
        return NULL;
    need = strlen(file) + 32;
    if (buf_reserve(&w->tmp, &w->tmp_cap, need) != CR_OK) {
        *oom = true;
        return NULL;
    }
    if (line > 0)
        snprintf(w->tmp, w->tmp_cap, "%s:%ld", file, line);
    else
        snprintf(w->tmp, w->tmp_cap, "%s", file);
    return w->tmp;
}

/* Characters the cell of column C in ROW needs. */
static double cell_width(wctx *w, const col_spec *c, const void *row)
{
    switch (c->kind) {
    case K_TEXT:
    case K_SEVERITY:
        return text_width(field_str(row, c->off));
    case K_TIME:
        return field_time(row, c->off) == CR_TIME_NONE ? 0 : TIME_CHARS;
    case K_MONEY:
    case K_AMOUNT: {
        const char *cur = field_str(row, c->off2);
        if (c->kind == K_AMOUNT && !cur)
            return 0;
        int e = currency_exp(w, cur);
        return number_width(major_units(field_money(row, c->off), e), e) + code_width(cur);
    }
    case K_LONG:
        return number_width((double)field_long(row, c->off), 0);
    case K_YES:
        return field_bool(row, c->off) ? 3 : 0;
    case K_SOURCE: {
        const char *f = field_str(row, c->off);
        return f ? text_width(f) + number_width((double)field_long(row, c->off2), 0) + 1 : 0;
    }
    }
    return 0;
}

/* Writes the cell of column C of ROW at (R, COL). */
static cr_err put_cell(wctx *w, lxw_worksheet *ws, lxw_row_t r, lxw_col_t col,
                       const col_spec *c, const void *row)
{
    switch (c->kind) {
    case K_TEXT: {
        /* a text wider than the widest column (a Detail, a raw line) wraps
         * in its cell rather than running under the next column's */
        const char *s = field_str(row, c->off);
        return put_text(w, ws, r, col, s, s && text_width(s) >= WIDTH_CAP ? w->f_wrap : w->f_text);
    }
    case K_SEVERITY: {
        const char *s = field_str(row, c->off);
        lxw_format *f = !s ? NULL
                        : strcmp(s, "high") == 0 ? w->f_high
                        : strcmp(s, "medium") == 0 ? w->f_medium
                                                   : w->f_text;
        return put_text(w, ws, r, col, s, f);
    }
    case K_TIME:
        return put_time(w, ws, r, col, field_time(row, c->off), w->f_time);
    case K_MONEY:
    case K_AMOUNT: {
        const char *cur = field_str(row, c->off2);
        if (c->kind == K_AMOUNT && !cur)
            return CR_OK;
        int e = currency_exp(w, cur);
        lxw_format *f = money_format(w, cur, e);
        if (!f)
            return cr_error(CR_ENOMEM, "workbook %s: out of memory", w->path);
        return put_num(w, ws, r, col, major_units(field_money(row, c->off), e), f);
    }
    case K_LONG:
        return put_num(w, ws, r, col, (double)field_long(row, c->off), w->f_int);
    case K_YES:
        return field_bool(row, c->off) ? put_text(w, ws, r, col, "yes", w->f_text) : CR_OK;
    case K_SOURCE: {
        bool oom;
        const char *s = source_text(w, field_str(row, c->off), field_long(row, c->off2), &oom);
        if (oom)
            return cr_error(CR_ENOMEM, "workbook %s: out of memory", w->path);
        return put_text(w, ws, r, col, s, w->f_text);
    }
    }
    return cr_error(CR_EINTERNAL, "workbook %s: unknown column kind", w->path);
}

/* The rows a sheet holds, header included: Excel's limit, or fewer when
 * CARERECON_TEST_SHEET_ROWS says so (the tests' way to reach the limit). */
static size_t sheet_rows(void)
{
    const char *v = getenv("CARERECON_TEST_SHEET_ROWS");
    char *end;
    unsigned long long k = v ? strtoull(v, &end, 10) : 0;
    return v && *end == '\0' && k >= 3 && k < XL_MAX_ROWS ? (size_t)k : XL_MAX_ROWS;
}

/* Where the rows of sheet NAME that do not fit it are found. */
static const char *all_rows_in(const char *name, bool dry)
{
    if (dry)
        return "a dry run records nothing and writes no action file; a live run lists the same"
               " rows in the state database and its action files";
    static const struct {
        const char *sheet, *where;
    } w[] = {
        {"Captures", "every capture is in the payment action files (this run's, and an earlier"
                     " run's that had no workbook)"},
        {"Releases", "every release is in the payment action files (this run's, and an earlier"
                     " run's that had no workbook)"},
        {"Fulfillment", "every shipment is in the fulfillment files (this run's, and an earlier"
                        " run's that had no workbook)"},
        {"Pending", "every pending claim is in the state database's claim_state table"},
        {"Exceptions", "every exception is in the state database's exceptions table"},
        {"Rejected Rows", "every rejected row is in the state database's rejects table"},
        {"Refunds", "every refund is in the state database's settlements table"},
    };
    for (size_t i = 0; i < sizeof w / sizeof w[0]; i++)
        if (strcmp(w[i].sheet, name) == 0)
            return w[i].where;
    return "every row is in the state database";
}

/* Writes list sheet T into WS: widths measured over all rows first (set
 * before any row, as constant_memory requires), a bold frozen header row,
 * an autofilter over header and data, then the rows in order.  Rows past
 * what a sheet holds are left out, and its last row says how many and
 * where they are (a workbook that failed instead would fail every night
 * after: the rows of a run whose workbook was not written are listed by
 * the next). */
/* Ends the iteration X; CR_EIO when the rows could not all be read back. */
static cr_err rows_lost(wctx *w, const char *sheet, int e)
{
    return cr_error(CR_EIO, "workbook %s: cannot read back the rows of sheet %s from their"
                            " temporary file: %s", w->path, sheet, strerror(e));
}

static cr_err tbl_end(wctx *w, tbl_iter *x)
{
    int e = x->t->list ? cr_rep_iter_end(&x->it) : 0;
    return e ? rows_lost(w, x->t->name, e) : CR_OK;
}

static const size_t row_texts[] = {
    offsetof(cr_rep_row, claim_id),      offsetof(cr_rep_row, psp_ref),
    offsetof(cr_rep_row, card_brand),    offsetof(cr_rep_row, currency),
    offsetof(cr_rep_row, reason),        offsetof(cr_rep_row, detail),
    offsetof(cr_rep_row, received_sn),   offsetof(cr_rep_row, registered_sn),
    offsetof(cr_rep_row, region),        offsetof(cr_rep_row, product_model),
    offsetof(cr_rep_row, state)};

/* A list sheet being written: its rows come one at a time (sheet_row), in
 * one piece or part by part (cr_report.next_part); the column widths, the
 * autofilter and a note of rows a sheet cannot hold are set once all have
 * come (sheet_end: libxlsxwriter writes them with the sheet at its close). */
typedef struct sheet_run {
    lxw_worksheet *ws;
    const table_spec *t;       /* its name and columns */
    double width[MAX_COLS];
    size_t n;                  /* rows come */
    size_t cap;                /* rows the sheet holds, header included */
    cr_rep_row held;           /* the row that fits only if it is the last (cap - 1): a copy */
    char *held_text;
    bool has_held;
    bool streamed;             /* cr_rep_rows come part by part: their number is known at the end */
} sheet_run;

static cr_err sheet_begin(wctx *w, lxw_worksheet *ws, const table_spec *t, sheet_run *s)
{
    cr_err rc = CR_OK;
    *s = (sheet_run){.ws = ws, .t = t, .cap = sheet_rows()};
    w->sheet = t->name;
    if (t->ncols > MAX_COLS)
        return cr_error(CR_EINTERNAL, "workbook %s: too many columns", w->path);
    for (size_t c = 0; c < t->ncols; c++)
        s->width[c] = text_width(t->cols[c].header) + 2;
    worksheet_freeze_panes(ws, 1, 0);
    worksheet_set_landscape(ws);
    worksheet_fit_to_pages(ws, 1, 0);
    if (w->r->dry_run) {
        /* every sheet of a dry run says so: a red tab, and on paper a header */
        worksheet_set_tab_color(ws, 0xC00000);
        rc = xl_check(w, worksheet_set_header(ws, "&C&\"-,Bold\"DRY RUN: nothing was recorded or sent"),
                      0, 0);
        if (rc != CR_OK)
            return rc;
    }
    rc = xl_check(w, worksheet_repeat_rows(ws, 0, 0), 0, 0);
    for (size_t c = 0; c < t->ncols && rc == CR_OK; c++) {
        col_kind k = t->cols[c].kind;
        bool num = k == K_MONEY || k == K_AMOUNT || k == K_LONG || k == K_TIME; /* right-aligned */
        rc = put_text(w, ws, 0, (lxw_col_t)c, t->cols[c].header, num ? w->f_header_num : w->f_header);
    }
    return rc;
}

/* Writes ROWP as sheet row ROW. */
static cr_err sheet_put(wctx *w, sheet_run *s, lxw_row_t row, const void *rowp)
{
    const table_spec *t = s->t;
    cr_err rc = CR_OK;
    /* a row with a text wider than its column (put_cell wraps it) is
     * made as tall as its lines, up to six: no reader grows it */
    size_t lines = 1;
    for (size_t c = 0; c < t->ncols; c++) {
        const char *x = t->cols[c].kind == K_TEXT ? field_str(rowp, t->cols[c].off) : NULL;
        if (x && text_width(x) >= WIDTH_CAP) {
            size_t chars = 0;
            for (const char *p = x; *p; p++)
                chars += ((unsigned char)*p & 0xC0) != 0x80;
            size_t k = (chars + (size_t)WIDTH_CAP - 3) / ((size_t)WIDTH_CAP - 2);
            lines = k > lines ? k : lines;
        }
    }
    if (lines > 1)
        rc = xl_check(w, worksheet_set_row(s->ws, row, 15.0 * (double)(lines > 6 ? 6 : lines), NULL),
                      row, 0);
    for (size_t c = 0; c < t->ncols && rc == CR_OK; c++)
        rc = put_cell(w, s->ws, row, (lxw_col_t)c, &t->cols[c], rowp);
    return rc;
}

/* Keeps a copy of cr_rep_row ROWP (its text read back from a spool goes
 * with the next row). */
static cr_err sheet_hold(wctx *w, sheet_run *s, const void *rowp)
{
    const cr_rep_row *r = rowp;
    size_t need = 0;
    for (size_t k = 0; k < NCOLS(row_texts); k++) {
        const char *x = *(const char *const *)(const void *)((const char *)r + row_texts[k]);
        need += x ? strlen(x) + 1 : 0;
    }
    if (!(s->held_text = malloc(need ? need : 1)))
        return cr_error(CR_ENOMEM, "workbook %s: out of memory", w->path);
    s->held = *r;
    char *at = s->held_text;
    for (size_t k = 0; k < NCOLS(row_texts); k++) {
        const char **x = (const char **)(void *)((char *)&s->held + row_texts[k]);
        if (*x) {
            size_t n = strlen(*x) + 1;
            memcpy(at, *x, n);
            *x = at;
            at += n;
        }
    }
    s->has_held = true;
    return CR_OK;
}

/* The next row of the sheet.  A sheet holds CAP - 1 rows below its header:
 * of more, CAP - 2 are shown and a note says where the rest are
 * (sheet_end), so the row at CAP - 1 is shown only if it is the last. */
static cr_err sheet_row(wctx *w, sheet_run *s, const void *rowp)
{
    const table_spec *t = s->t;
    for (size_t c = 0; c < t->ncols; c++) {
        double cw = cell_width(w, &t->cols[c], rowp) + 2;   /* a gap to the next column */
        if (cw > s->width[c])
            s->width[c] = cw > WIDTH_CAP ? WIDTH_CAP : cw;
    }
    size_t i = s->n++;
    if (i + 2 < s->cap)
        return sheet_put(w, s, (lxw_row_t)(i + 1), rowp);
    if (i + 2 == s->cap) {
        if (s->streamed)
            return sheet_hold(w, s, rowp);   /* (rows come part by part: how many is not known) */
        if (t->n == s->cap - 1)
            return sheet_put(w, s, (lxw_row_t)(i + 1), rowp);
    }
    return CR_OK;
}

/* The rows of T's array or list, in order. */
static cr_err sheet_table_rows(wctx *w, sheet_run *s, const table_spec *t)
{
    cr_err rc = CR_OK;
    tbl_iter x;
    for (const void *rowp = tbl_first(t, &x); rowp && rc == CR_OK; rowp = tbl_next(&x))
        rc = sheet_row(w, s, rowp);
    cr_err irc = tbl_end(w, &x);
    return rc != CR_OK ? rc : irc;
}

/* Widths, the autofilter over the rows shown, and what did not fit. */
static cr_err sheet_end(wctx *w, sheet_run *s)
{
    cr_err rc = CR_OK;
    const table_spec *t = s->t;
    size_t shown = s->n > s->cap - 1 ? s->cap - 2 : s->n;
    w->sheet = t->name;
    if (s->has_held && s->n == s->cap - 1)
        rc = sheet_put(w, s, (lxw_row_t)(s->cap - 1), &s->held);   /* the last: it fits */
    free(s->held_text);
    s->held_text = NULL;
    s->has_held = false;
    for (size_t c = 0; c < t->ncols && rc == CR_OK; c++)
        rc = xl_check(w, worksheet_set_column(s->ws, (lxw_col_t)c, (lxw_col_t)c, s->width[c], NULL), 0,
                      (lxw_col_t)c);
    if (rc == CR_OK)
        rc = xl_check(w, worksheet_autofilter(s->ws, 0, 0, (lxw_row_t)shown, (lxw_col_t)(t->ncols - 1)),
                      0, 0);
    if (rc == CR_OK && shown < s->n) {
        char note[512];
        const char *where = all_rows_in(t->name, w->r->dry_run);
        snprintf(note, sizeof note, "%zu more rows not shown (a sheet holds %zu rows): %s", s->n - shown,
                 s->cap, where);
        cr_warn("workbook %s: sheet %s lists %zu of its %zu rows; %s", w->path, t->name, shown, s->n,
                where);
        rc = put_text(w, s->ws, (lxw_row_t)(shown + 1), 0, note, w->f_text);
    }
    return rc;
}

static cr_err write_table(wctx *w, lxw_worksheet *ws, const table_spec *t)
{
    sheet_run s;
    cr_err rc = sheet_begin(w, ws, t, &s);
    if (rc == CR_OK)
        rc = sheet_table_rows(w, &s, t);
    cr_err erc = sheet_end(w, &s);
    return rc != CR_OK ? rc : erc;
}

/* ------------------------------------------------------------------ */
/* The Summary: planned as a list of cells, then measured and written */
/* ------------------------------------------------------------------ */

typedef enum sc_kind { SC_TEXT, SC_NUM, SC_TIME, SC_MERGE, SC_HEIGHT } sc_kind;

typedef struct scell {
    lxw_row_t row;
    lxw_col_t col, last_col;     /* last_col: SC_MERGE */
    sc_kind kind;
    const char *text;            /* SC_TEXT, SC_MERGE (not owned) */
    double num;                  /* SC_NUM; SC_HEIGHT: row height in points */
    cr_time_t t;                 /* SC_TIME */
    lxw_format *fmt;
    double width;                /* characters needed; 0 = may overflow */
} scell;

/* The cells of the Summary in writing order (rows ascending, then
 * columns).  A failed allocation sets OOM; checked once at the end. */
typedef struct splan {
    scell *items;
    size_t n, cap;
    lxw_row_t row;               /* row being laid out */
    lxw_row_t files_first, files_last; /* the Files table, header to last row: its autofilter */
    lxw_col_t files_cols;
    bool oom;
} splan;

static scell *sp_add(splan *p, lxw_col_t col, sc_kind kind, lxw_format *fmt)
{
    scell *c;
    if (p->oom)
        return NULL;
    if (!cr_grow(&p->items, &p->cap, p->n, sizeof *p->items, 64)) {
        p->oom = true;
        return NULL;
    }
    c = &p->items[p->n++];
    memset(c, 0, sizeof *c);
    c->row = p->row;
    c->col = col;
    c->kind = kind;
    c->fmt = fmt;
    return c;
}

/* Text S at column COL of the current row; MEASURE: it counts for the
 * column's width (else it may run over into empty neighbours). */
static void sp_text(splan *p, lxw_col_t col, const char *s, lxw_format *fmt, bool measure)
{
    scell *c = sp_add(p, col, SC_TEXT, fmt);
    if (c) {
        c->text = s;
        c->width = measure ? text_width(s) : 0;
    }
}

static scell *sp_num(splan *p, lxw_col_t col, double v, int decimals, lxw_format *fmt)
{
    scell *c = sp_add(p, col, SC_NUM, fmt);
    if (c) {
        c->num = v;
        c->width = number_width(v, decimals);
    }
    return c;
}

static void sp_time(splan *p, lxw_col_t col, cr_time_t t, lxw_format *fmt)
{
    scell *c = sp_add(p, col, SC_TIME, fmt);
    if (c) {
        c->t = t;
        c->width = TIME_CHARS;
    }
}

static void sp_merge(splan *p, lxw_col_t col, lxw_col_t last, const char *s, lxw_format *fmt)
{
    scell *c = sp_add(p, col, SC_MERGE, fmt);
    if (c) {
        c->text = s;
        c->last_col = last;
    }
}

/* Sets the height of the current row; must come before its cells. */
static void sp_height(splan *p, double points)
{
    scell *c = sp_add(p, 0, SC_HEIGHT, NULL);
    if (c)
        c->num = points;
}

/* A label and a count on the current row, then the next row. */
static void sp_label_count(wctx *w, splan *p, const char *label, long v)
{
    sp_text(p, 0, label, w->f_label, true);
    sp_num(p, 1, (double)v, 0, w->f_vint);
    p->row++;
}

/* Header cells of a small table on the current row, then the next row;
 * bit I of NUM: column I holds numbers (its header right-aligned over them). */
static void sp_header(wctx *w, splan *p, const char *const *h, size_t n, unsigned num)
{
    for (size_t i = 0; i < n; i++)
        sp_text(p, (lxw_col_t)i, h[i], (num >> i) & 1 ? w->f_header_num : w->f_header, true);
    p->row++;
}

/* A group of rows of one decision sharing a currency. */
typedef struct cur_group {
    const char *currency;        /* "" when none */
    long count;
    cr_money_t sum;
    double dsum;                 /* the same in double, used when SUM overflowed */
    bool overflow;
} cur_group;

static int cmp_cur_group(const void *a, const void *b)
{
    return strcmp(((const cur_group *)a)->currency, ((const cur_group *)b)->currency);
}

/* Counts ROW in W's groups of decision K (0 captures, 1 releases, 2
 * pending) by currency: a table of the few currencies seen. */
static cr_err group_add(wctx *w, int k, const cr_rep_row *row)
{
    const char *cur = row->currency ? row->currency : "";
    size_t i = 0;
    cur_group *g = w->groups[k];
    while (i < w->ngroups[k] && strcmp(g[i].currency, cur) != 0)
        i++;
    if (i == w->ngroups[k]) {
        char *copy = cr_strdup(cur);   /* a row read back goes with the next */
        if (!copy || !cr_grow(&w->groups[k], &w->groups_cap[k], i, sizeof *g, 4)) {
            free(copy);
            return cr_error(CR_ENOMEM, "workbook %s: out of memory", w->path);
        }
        g = w->groups[k];
        g[w->ngroups[k]++] = (cur_group){.currency = copy};
    }
    g[i].count++;
    g[i].dsum += (double)row->amount;
    if (__builtin_add_overflow(g[i].sum, row->amount, &g[i].sum))
        g[i].overflow = true;
    return CR_OK;
}

/* Rank of a severity for sorting: high, medium, low, anything else. */
static int sev_rank(const char *s)
{
    if (!s)
        return 3;
    if (strcmp(s, "high") == 0)
        return 0;
    if (strcmp(s, "medium") == 0)
        return 1;
    if (strcmp(s, "low") == 0)
        return 2;
    return 3;
}

typedef struct code_group {
    const char *code, *severity;
    long count;
} code_group;

static int cmp_code_group(const void *a, const void *b)
{
    const code_group *x = a, *y = b;
    int d = sev_rank(x->severity) - sev_rank(y->severity);
    if (d)
        return d;
    d = strcmp(x->code, y->code);
    return d ? d : strcmp(x->severity, y->severity);
}

/* Groups the open exceptions by code (and severity), most severe first. */
static cr_err group_by_code(const cr_exc_row *x, size_t n, code_group **out, size_t *ng)
{
    code_group *g;
    size_t k = 0;

    *out = NULL;
    *ng = 0;
    if (n == 0)
        return CR_OK;
    g = calloc(n, sizeof *g);
    if (!g)
        return CR_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        g[i].code = x[i].code ? x[i].code : "";
        g[i].severity = x[i].severity ? x[i].severity : "";
        g[i].count = 1;
    }
    qsort(g, n, sizeof *g, cmp_code_group);
    for (size_t i = 1; i < n; i++) {
        if (strcmp(g[i].code, g[k].code) == 0 && strcmp(g[i].severity, g[k].severity) == 0)
            g[k].count++;
        else
            g[++k] = g[i];
    }
    *out = g;
    *ng = k + 1;
    return CR_OK;
}

/* What the Summary's chart shows: rows FIRST..LAST (0-based) of column A
 * (categories) and column C (counts). */
typedef struct chart_plan {
    bool by_code;                /* else: decisions */
    lxw_row_t first, last;
    lxw_row_t at_row;            /* where it is anchored */
    lxw_col_t at_col;
    double height_px;
    bool wanted;
    const code_group *codes;     /* by_code: for bar colours */
    size_t n_codes;
    long max_count;              /* largest value charted */
} chart_plan;

/* Lays out one decision: a row per currency, or one row with count 0. */
static cr_err plan_decision(wctx *w, splan *p, const char *name, int k, long *max_count)
{
    cur_group *g = w->groups[k];
    size_t ng = w->ngroups[k];
    cr_err rc = CR_OK;

    if (ng)
        qsort(g, ng, sizeof *g, cmp_cur_group);
    if (ng == 0) {
        sp_text(p, 0, name, w->f_text, true);
        sp_num(p, 2, 0, 0, w->f_count);
        p->row++;
    }
    for (size_t i = 0; i < ng; i++) {
        int e = currency_exp(w, g[i].currency);
        double v = major_units(g[i].sum, e);
        lxw_format *f = money_format(w, g[i].currency, e);
        if (g[i].overflow) {           /* display only: the double sum will do */
            double d = 1;
            for (int j = 0; j < e; j++)
                d *= 10;
            v = g[i].dsum / d;
        }
        if (!f) {
            rc = cr_error(CR_ENOMEM, "workbook %s: out of memory", w->path);
            break;
        }
        sp_text(p, 0, name, w->f_text, true);
        sp_text(p, 1, g[i].currency, w->f_text, true);
        sp_num(p, 2, (double)g[i].count, 0, w->f_count);
        scell *c = sp_num(p, 3, v, e, f);
        if (c)
            c->width += code_width(g[i].currency);
        if (g[i].count > *max_count)
            *max_count = g[i].count;
        p->row++;
    }
    return rc;
}

/* Lays out the whole Summary into P (strictly top to bottom) and says
 * where the chart goes.  *CODES receives the exception groups (caller
 * frees; the chart's colours refer to them). */
static cr_err plan_summary(wctx *w, splan *p, chart_plan *ch, code_group **codes)
{
    static const char *const dec_h[] = {"Decision", "Currency", "Count", "Amount"};
    static const char *const code_h[] = {"Code", "Severity", "Count"};
    static const char *const sev_h[] = {"Severity", "Count"};
    static const char *const file_h[] = {"Name", "Kind", "Feed", "Outcome", "Rows",
                                         "Accepted", "Rejected", "Ignored", "Detail"};
    static const char *const sevs[] = {"high", "medium", "low"};
    const cr_report *r = w->r;
    const cr_run_stats *st = r->stats;
    const char *tzname = NULL;
    size_t ncodes = 0;
    long sev_n[4] = {0, 0, 0, 0}, dec_max = 0;
    lxw_row_t dec_first, dec_last, files_at;
    cr_err rc;

    memset(ch, 0, sizeof *ch);
    *codes = NULL;
    if (r->cfg)
        tzname = r->cfg->timezone_name;
    if (!tzname && w->tz)
        tzname = cr_tz_name(w->tz);

    sp_height(p, 24);
    sp_text(p, 0, "carerecon \xE2\x80\x94 nightly reconciliation", w->f_title, false);
    p->row += 2;
    sp_text(p, 0, "Run", w->f_label, true);
    if (r->dry_run || r->run_id == 0)
        sp_text(p, 1, "dry run", NULL, true);
    else
        sp_num(p, 1, (double)r->run_id, 0, w->f_vint);
    p->row++;
    sp_text(p, 0, "As of", w->f_label, true);
    sp_time(p, 1, r->as_of, w->f_vtime);
    p->row++;
    sp_text(p, 0, "Time zone", w->f_label, true);
    sp_text(p, 1, tzname ? tzname : "UTC", NULL, true);
    p->row++;
    sp_text(p, 0, "Generated at", w->f_label, true);
    sp_time(p, 1, r->generated_at, w->f_vtime);
    p->row++;
    if (r->dry_run) {
        sp_height(p, 30);
        sp_text(p, 0, "Mode", w->f_label, true);
        sp_merge(p, 1, 5, "DRY RUN \xE2\x80\x94 nothing was recorded or sent", w->f_dry);
    } else {
        sp_text(p, 0, "Mode", w->f_label, true);
        sp_text(p, 1, r->mode && *r->mode ? r->mode : "LIVE", w->f_live, true);
    }
    p->row += 2;
    if (st) {
        sp_label_count(w, p, "Files ingested", st->files_ingested);
        sp_label_count(w, p, "Files skipped", st->files_skipped);
        sp_label_count(w, p, "Files rejected", st->files_rejected);
        if (st->files_unread)
            sp_label_count(w, p, "Files not read", st->files_unread);
        sp_label_count(w, p, "Files with no feed", st->files_unmatched);
        if (st->claims_without_id)   /* never decided: nothing can name them */
            sp_label_count(w, p, "Claim rows without a claim_id", st->claims_without_id);
        sp_label_count(w, p, "Rows accepted", st->rows_accepted);
        sp_label_count(w, p, "Rows rejected", st->rows_rejected);
        sp_label_count(w, p, "Rows ignored", st->rows_ignored);
        sp_label_count(w, p, "Previously issued", st->previously_issued);
        sp_label_count(w, p, "Action conflicts", st->conflicts);
        sp_label_count(w, p, "New exceptions", st->exceptions_new);
        sp_label_count(w, p, "Resolved exceptions", st->exceptions_resolved);
    }
    sp_text(p, 0, "Payment file", w->f_label, true);
    sp_text(p, 1, r->payment_file ? r->payment_file : "none", NULL, false);
    p->row++;
    sp_text(p, 0, "Fulfillment file", w->f_label, true);
    sp_text(p, 1, r->fulfillment_file ? r->fulfillment_file : "none", NULL, false);
    p->row += 2;

    /* Decisions by currency */
    sp_text(p, 0, "Decisions by currency", w->f_section, false);
    p->row++;
    sp_header(w, p, dec_h, NCOLS(dec_h), 0xC);
    dec_first = p->row;
    rc = plan_decision(w, p, "capture", 0, &dec_max);
    if (rc == CR_OK)
        rc = plan_decision(w, p, "release", 1, &dec_max);
    if (rc == CR_OK)
        rc = plan_decision(w, p, "pending", 2, &dec_max);
    if (rc != CR_OK)
        return rc;
    size_t n_ful = w->n_ful;
    sp_text(p, 0, "ship_replacement", w->f_text, true);
    sp_num(p, 2, (double)n_ful, 0, w->f_count);
    if ((long)n_ful > dec_max)
        dec_max = (long)n_ful;
    dec_last = p->row;
    p->row++;
    /* what the rows count: this run's actions (and those of earlier runs
     * listed here), and every claim still waiting */
    if (r->n_carried)
        snprintf(w->what, sizeof w->what,
                 "capture, release, ship_replacement: issued by this run, and %zu by earlier runs"
                 " whose workbook was not written (their Detail says which); pending: every claim"
                 " still waiting as of this run (its hold)", r->n_carried);
    else
        snprintf(w->what, sizeof w->what, "capture, release, ship_replacement: issued by this run;"
                                          " pending: every claim still waiting as of this run (its"
                                          " hold)");
    sp_text(p, 0, w->what, w->f_text, false);   /* kept by the plan: not on this stack */
    p->row += 2;

    /* Open exceptions by code, then by severity; the chart to their right */
    rc = group_by_code(r->exceptions, r->n_exceptions, codes, &ncodes);
    if (rc != CR_OK)
        return cr_error(rc, "workbook %s: out of memory", w->path);
    ch->at_row = p->row;
    ch->at_col = 5;
    sp_text(p, 0, "Open exceptions by code", w->f_section, false);
    p->row++;
    sp_header(w, p, code_h, NCOLS(code_h), 0x4);
    if (ncodes == 0) {
        sp_text(p, 0, "none", w->f_text, true);
        p->row++;
    } else {
        ch->by_code = true;
        ch->first = p->row;
        ch->codes = *codes;
        ch->n_codes = ncodes;
        for (size_t i = 0; i < ncodes; i++) {
            const code_group *g = &(*codes)[i];
            int k = sev_rank(g->severity);
            sp_text(p, 0, g->code, w->f_text, true);
            sp_text(p, 1, g->severity, k == 0 ? w->f_high : k == 1 ? w->f_medium : w->f_text, true);
            sp_num(p, 2, (double)g->count, 0, w->f_count);
            sev_n[k] += g->count;
            if (g->count > ch->max_count)
                ch->max_count = g->count;
            p->row++;
        }
        ch->last = p->row - 1;
    }
    sp_text(p, 0, "Total", w->f_label, true);
    sp_num(p, 2, (double)r->n_exceptions, 0, w->f_total);
    p->row += 2;
    sp_text(p, 0, "Open exceptions by severity", w->f_section, false);
    p->row++;
    sp_header(w, p, sev_h, NCOLS(sev_h), 0x2);
    for (int k = 0; k < 3; k++) {
        sp_text(p, 0, sevs[k], k == 0 ? w->f_high : k == 1 ? w->f_medium : w->f_text, true);
        sp_num(p, 1, (double)sev_n[k], 0, w->f_count);
        p->row++;
    }
    if (sev_n[3]) {
        sp_text(p, 0, "other", w->f_text, true);
        sp_num(p, 1, (double)sev_n[3], 0, w->f_count);
        p->row++;
    }
    if (!ch->by_code) {
        ch->first = dec_first;
        ch->last = dec_last;
        ch->max_count = dec_max;
    }
    ch->wanted = true;
    ch->height_px = 288;
    /* a bar per code, as tall as the table's row beside it, so that the
     * chart ends with the tables it sits beside (on one printed page) */
    if (ch->by_code && 90.0 + 20.0 * (double)ncodes > ch->height_px)
        ch->height_px = 90.0 + 20.0 * (double)ncodes;
    files_at = ch->at_row + (lxw_row_t)(ch->height_px / ROW_PX) + 2;
    p->row = p->row + 1 > files_at ? p->row + 1 : files_at;

    /* Files */
    sp_text(p, 0, "Files", w->f_section, false);
    p->row++;
    p->files_first = p->row;
    p->files_cols = (lxw_col_t)NCOLS(file_h);
    sp_header(w, p, file_h, NCOLS(file_h), 0xF0);
    if (r->n_files == 0) {
        sp_text(p, 0, "none", w->f_text, true);
        p->row++;
    }
    for (size_t i = 0; i < r->n_files; i++) {
        const cr_rep_file *f = &r->files[i];
        sp_text(p, 0, f->name, w->f_text, true);
        sp_text(p, 1, f->kind, w->f_text, true);
        sp_text(p, 2, f->feed, w->f_text, true);
        sp_text(p, 3, f->outcome, w->f_text, true);
        sp_num(p, 4, (double)f->rows, 0, w->f_count);
        sp_num(p, 5, (double)f->accepted, 0, w->f_count);
        sp_num(p, 6, (double)f->rejected, 0, w->f_count);
        sp_num(p, 7, (double)f->ignored, 0, w->f_count);
        sp_text(p, 8, f->detail, w->f_text, true);
        p->row++;
    }
    p->files_last = p->row - 1;
    if (p->oom)
        return cr_error(CR_ENOMEM, "workbook %s: out of memory", w->path);
    return CR_OK;
}

/* Adds the Summary's bar chart as planned in CH. */
static cr_err add_chart(wctx *w, lxw_worksheet *ws, const chart_plan *ch)
{
    char cats[64], vals[64];
    lxw_chart *chart;
    lxw_chart_series *s;
    lxw_chart_options opt = {0};
    cr_err rc = CR_OK;

    if (!ch->wanted || ch->max_count == 0)
        return CR_OK;            /* nothing to draw */
    chart = workbook_add_chart(w->wb, ch->by_code ? LXW_CHART_BAR : LXW_CHART_COLUMN);
    if (!chart)
        return cr_error(CR_ENOMEM, "workbook %s: cannot add the chart", w->path);
    /* decisions: two-level categories, decision and currency */
    snprintf(cats, sizeof cats, "=Summary!$A$%lu:$%c$%lu", (unsigned long)ch->first + 1,
             ch->by_code ? 'A' : 'B', (unsigned long)ch->last + 1);
    snprintf(vals, sizeof vals, "=Summary!$C$%lu:$C$%lu", (unsigned long)ch->first + 1,
             (unsigned long)ch->last + 1);
    s = chart_add_series(chart, cats, vals);
    if (!s)
        return cr_error(CR_ENOMEM, "workbook %s: cannot add the chart", w->path);
    chart_title_set_name(chart, ch->by_code ? "Open exceptions by code" : "Decisions (count)");
    chart_legend_set_position(chart, LXW_CHART_LEGEND_NONE);
    chart_series_set_labels(s);
    chart_set_series_gap(chart, 60);
    if (ch->by_code) {
        /* most severe at the top, bars coloured by severity */
        lxw_chart_fill fills[4] = {{0xC00000, 0, 0}, {0xED7D31, 0, 0}, {0x7F7F7F, 0, 0},
                                   {0xA5A5A5, 0, 0}};
        lxw_chart_point pts[4] = {{NULL, &fills[0], NULL}, {NULL, &fills[1], NULL},
                                  {NULL, &fills[2], NULL}, {NULL, &fills[3], NULL}};
        lxw_chart_point **pp = calloc(ch->n_codes + 1, sizeof *pp);
        if (!pp)
            return cr_error(CR_ENOMEM, "workbook %s: out of memory", w->path);
        for (size_t i = 0; i < ch->n_codes; i++)
            pp[i] = &pts[sev_rank(ch->codes[i].severity)];
        rc = xl_check(w, chart_series_set_points(s, pp), ch->first, 0);
        free(pp);
        /* in a bar chart the categories are on y_axis (vertical) */
        chart_axis_set_reverse(chart->y_axis);
        chart_axis_set_crossing_max(chart->y_axis);
    }
    if (ch->max_count <= 10)
        chart_axis_set_major_unit(ch->by_code ? chart->x_axis : chart->y_axis, 1);
    if (rc != CR_OK)
        return rc;
    opt.x_scale = 1.25;
    opt.y_scale = ch->height_px / 288.0;
    opt.x_offset = 10;
    return xl_check(w, worksheet_insert_chart_opt(ws, ch->at_row, ch->at_col, chart, &opt),
                    ch->at_row, ch->at_col);
}

/* Writes the Summary sheet into WS. */
static cr_err write_summary(wctx *w, lxw_worksheet *ws)
{
    cr_err rc;
    splan p = {0};
    chart_plan ch;
    code_group *codes = NULL;
    double width[MAX_COLS] = {0};

    w->sheet = "Summary";
    rc = plan_summary(w, &p, &ch, &codes);
    if (rc != CR_OK)
        goto cleanup;
    for (size_t i = 0; i < p.n; i++)
        if (p.items[i].col < MAX_COLS && p.items[i].width + 2 > width[p.items[i].col])
            width[p.items[i].col] = p.items[i].width + 2;
    for (lxw_col_t c = 0; c < MAX_COLS && rc == CR_OK; c++)
        if (width[c] > 0)
            rc = xl_check(w,
                          worksheet_set_column(ws, c, c, width[c] < 10 ? 10
                                                         : width[c] > WIDTH_CAP ? WIDTH_CAP
                                                                                : width[c],
                                               NULL),
                          0, c);
    if (w->r->dry_run)
        worksheet_set_tab_color(ws, 0xC00000);
    /* as every sheet (SPEC 6.3): its bold first row frozen, and the
     * autofilter on its one list, the Files table */
    worksheet_freeze_panes(ws, 1, 0);
    if (rc == CR_OK && p.files_cols)
        rc = xl_check(w, worksheet_autofilter(ws, p.files_first, 0, p.files_last, p.files_cols - 1),
                      p.files_first, 0);
    worksheet_set_landscape(ws);
    worksheet_fit_to_pages(ws, 1, 0);
    for (size_t i = 0; i < p.n && rc == CR_OK; i++) {
        const scell *c = &p.items[i];
        switch (c->kind) {
        case SC_TEXT:
            rc = put_text(w, ws, c->row, c->col, c->text, c->fmt);
            break;
        case SC_NUM:
            rc = put_num(w, ws, c->row, c->col, c->num, c->fmt);
            break;
        case SC_TIME:
            rc = put_time(w, ws, c->row, c->col, c->t, c->fmt);
            break;
        case SC_MERGE: {
            const char *t = cell_prepare(w, c->text);
            if (!t)
                rc = cr_error(CR_ENOMEM, "workbook %s: out of memory", w->path);
            else
                rc = xl_check(w,
                              worksheet_merge_range(ws, c->row, c->col, c->row, c->last_col, t,
                                                    c->fmt),
                              c->row, c->col);
            break;
        }
        case SC_HEIGHT:
            rc = xl_check(w, worksheet_set_row(ws, c->row, c->num, NULL), c->row, 0);
            break;
        }
    }
    if (rc == CR_OK)
        rc = add_chart(w, ws, &ch);
cleanup:
    free(codes);
    free(p.items);
    return rc;
}

/* ------------------------------------------------------------------ */
/* The file                                                           */
/* ------------------------------------------------------------------ */

/* The folder of PATH ("." when it names none); malloc'd, NULL on no memory. */
static char *dir_of(const char *path)
{
    char buf[4096];
    return cr_strdup(cr_parent_dir(path, buf, sizeof buf));
}

/* fsyncs PATH (a file or a folder).  Returns 0 or an errno value. */
static int fsync_path(const char *path, bool dir)
{
    int fd = open(path, O_RDONLY | (dir ? O_DIRECTORY : 0));
    int e = 0;
    if (fd < 0)
        return errno;
    if (fsync(fd) != 0 && !(dir && (errno == EINVAL || errno == EROFS)))
        e = errno;
    if (close(fd) != 0 && !e)
        e = errno;
    return e;
}

/* The tables of R, in sheet order after the Summary: SPEC 6.3's, then
 * the refunds its settlement table lists. */
enum { T_CAPTURES, T_RELEASES, T_PENDING, T_EXCEPTIONS, T_FULFILLMENT, T_REJECTS, T_REFUNDS, N_TABLES };
static void report_tables(const cr_report *r, table_spec t[N_TABLES])
{
    t[T_CAPTURES] = (table_spec){"Captures", CAPTURE_COLS, NCOLS(CAPTURE_COLS), NULL,
                                 sizeof(cr_rep_row), cr_rep_rows_count(r->captures), r->captures};
    t[T_RELEASES] = (table_spec){"Releases", RELEASE_COLS, NCOLS(RELEASE_COLS), NULL,
                                 sizeof(cr_rep_row), cr_rep_rows_count(r->releases), r->releases};
    t[T_PENDING] = (table_spec){"Pending", PENDING_COLS, NCOLS(PENDING_COLS), NULL,
                                sizeof(cr_rep_row), cr_rep_rows_count(r->pending), r->pending};
    t[T_EXCEPTIONS] = (table_spec){"Exceptions", EXCEPTION_COLS, NCOLS(EXCEPTION_COLS),
                                   r->exceptions, sizeof(cr_exc_row), r->n_exceptions, NULL};
    t[T_FULFILLMENT] = (table_spec){"Fulfillment", FULFILLMENT_COLS, NCOLS(FULFILLMENT_COLS),
                                    NULL, sizeof(cr_rep_row), cr_rep_rows_count(r->fulfillment),
                                    r->fulfillment};
    t[T_REJECTS] = (table_spec){"Rejected Rows", REJECT_COLS, NCOLS(REJECT_COLS), r->rejects,
                                sizeof(cr_reject_view), r->n_rejects, NULL};
    t[T_REFUNDS] = (table_spec){"Refunds", REFUND_COLS, NCOLS(REFUND_COLS), r->refunds,
                                sizeof(cr_rep_refund), r->n_refunds, NULL};
}

/* Sheets with rows missing fail the workbook. */
static cr_err check_tables(const table_spec *t, size_t n, const char *path)
{
    for (size_t i = 0; i < n; i++) {
        if (t[i].n && !t[i].rows && !t[i].list)
            return cr_error(CR_EINTERNAL, "workbook %s: sheet %s has no rows", path, t[i].name);
        if (t[i].list && t[i].list->spool.err)
            return cr_error(CR_EIO, "workbook %s: the rows of sheet %s could not be kept in their"
                                    " temporary file: %s", path, t[i].name,
                            strerror(t[i].list->spool.err));
    }
    return CR_OK;
}

/* The rows of decision sheet K (captures, releases, pending, fulfillment)
 * in L, counted by currency for the Summary. */
static cr_err decision_rows(wctx *w, sheet_run *s, int k, const cr_rep_rows *l)
{
    cr_err rc = CR_OK;
    cr_rep_iter it;
    for (const cr_rep_row *r = cr_rep_rows_first(l, &it); r && rc == CR_OK; r = cr_rep_rows_next(&it))
        if ((rc = sheet_row(w, s, r)) == CR_OK && k < 3)
            rc = group_add(w, k, r);
    int e = cr_rep_iter_end(&it);
    return rc == CR_OK && e ? rows_lost(w, s->t->name, e) : rc;
}

/* Contract: see report.h.  R and PATH must not be NULL.  Sheets with more
 * rows than Excel holds (1,048,575 below the header) make it fail with
 * CR_EIO before anything is created.  Messages go through cr_error(). */
cr_err cr_report_write(const cr_report *r, const char *path)
{
    static const char *const sheet_names[] = {"Summary",    "Captures",    "Releases",
                                              "Pending",    "Exceptions",  "Fulfillment",
                                              "Rejected Rows", "Refunds"};
    cr_err rc = CR_OK;
    wctx w = {0};
    char *dir = NULL, *tmp = NULL, *tmpd = NULL;
    bool tmp_made = false;
    lxw_workbook *wb = NULL;
    lxw_worksheet *ws[NCOLS(sheet_names)] = {0};
    lxw_workbook_options opts = {0};
    lxw_error lerr;
    int fd, e;

    if (!r || !path || !*path || path[strlen(path) - 1] == '/')
        return cr_error(CR_ECANTCREAT, "workbook %s: not a file name", path ? path : "(null)");
    cr_report rr = *r;   /* completed by r->complete on the way */
    w.r = &rr;
    w.path = path;
    w.tz = r->cfg ? r->cfg->tz : NULL;
    if (r->cfg) {
        w.exps = r->cfg->policy.currency_exponents;
        w.n_exps = r->cfg->policy.n_currency_exponents;
    }

    table_spec tables[N_TABLES];
    report_tables(&rr, tables);
    if ((rc = check_tables(tables, NCOLS(tables), path)) != CR_OK)
        return rc;

    dir = dir_of(path);
    tmp = malloc(strlen(path) + sizeof ".tmp-XXXXXX");
    if (!dir || !tmp) {
        rc = cr_error(CR_ENOMEM, "workbook %s: out of memory", path);
        goto cleanup;
    }
    snprintf(tmp, strlen(path) + sizeof ".tmp-XXXXXX", "%s.tmp-XXXXXX", path);
    fd = mkstemp(tmp);
    if (fd < 0) {
        rc = cr_error(CR_ECANTCREAT, "workbook %s: cannot create %s: %s", path, tmp,
                      strerror(errno));
        goto cleanup;
    }
    tmp_made = true;
    e = fchmod(fd, 0640) != 0 ? errno : 0;
    if (close(fd) != 0 && !e)
        e = errno;
    if (e) {
        rc = cr_error(CR_ECANTCREAT, "workbook %s: cannot create %s: %s", path, tmp, strerror(e));
        goto cleanup;
    }

    /* libxlsxwriter's own temporary files (one per sheet, unlinked as soon
     * as made) go into a folder of this workbook's: one a kill leaves is
     * recognised by its name and removed by the next run (cr_report_sweep) */
    tmpd = malloc(strlen(path) + sizeof ".tmpd-XXXXXX");
    if (!tmpd) {
        rc = cr_error(CR_ENOMEM, "workbook %s: out of memory", path);
        goto cleanup;
    }
    snprintf(tmpd, strlen(path) + sizeof ".tmpd-XXXXXX", "%s.tmpd-XXXXXX", path);
    if (!mkdtemp(tmpd)) {
        rc = cr_error(CR_ECANTCREAT, "workbook %s: cannot create %s: %s", path, tmpd,
                      strerror(errno));
        free(tmpd);
        tmpd = NULL;
        goto cleanup;
    }
    opts.constant_memory = LXW_TRUE;
    opts.tmpdir = tmpd;
    wb = workbook_new_opt(tmp, &opts);
    if (!wb) {
        rc = cr_error(CR_ECANTCREAT, "workbook %s: cannot create the workbook", path);
        goto cleanup;
    }
    w.wb = wb;
    rc = make_formats(&w);
    if (rc != CR_OK)
        goto cleanup;
    for (size_t i = 0; i < NCOLS(sheet_names); i++) {
        ws[i] = workbook_add_worksheet(wb, sheet_names[i]);
        if (!ws[i]) {
            rc = cr_error(CR_ECANTCREAT, "workbook %s: cannot add sheet %s", path,
                          sheet_names[i]);
            goto cleanup;
        }
    }
    /* first the sheets of this run's decisions, then the rest once known */
    static const size_t first[] = {T_CAPTURES, T_RELEASES, T_PENDING, T_FULFILLMENT},
                        rest[] = {T_EXCEPTIONS, T_REJECTS, T_REFUNDS};
    sheet_run dec[NCOLS(first)];
    size_t begun = 0;
    for (; begun < NCOLS(first) && rc == CR_OK; begun++) {
        rc = sheet_begin(&w, ws[first[begun] + 1], &tables[first[begun]], &dec[begun]);
        dec[begun].streamed = rr.next_part != NULL;
    }
    /* a night in parts hands its rows over part by part as it decides them */
    const cr_rep_rows *part[NCOLS(first)];
    int got = 0;
    while (rc == CR_OK && rr.next_part && (got = rr.next_part(rr.next_part_ud, part)) == 1)
        for (size_t i = 0; i < NCOLS(first) && rc == CR_OK; i++)
            rc = decision_rows(&w, &dec[i], (int)i, part[i]);
    if (rc == CR_OK && got < 0)
        rc = CR_EIO;   /* dropped (its caller said why): nothing more is read */
    for (size_t i = 0; i < NCOLS(first) && rc == CR_OK; i++)
        rc = decision_rows(&w, &dec[i], (int)i, tables[first[i]].list);
    for (size_t i = 0; i < begun; i++) {
        cr_err erc = sheet_end(&w, &dec[i]);
        rc = rc == CR_OK ? erc : rc;
    }
    w.n_ful = dec[3].n;
    if (rc == CR_OK && rr.complete && (rc = rr.complete(rr.complete_ud, &rr)) == CR_OK) {
        report_tables(&rr, tables);
        rc = check_tables(tables, NCOLS(tables), path);
    }
    if (rc == CR_OK)
        rc = write_summary(&w, ws[0]);
    for (size_t i = 0; i < NCOLS(rest) && rc == CR_OK; i++)
        rc = write_table(&w, ws[rest[i] + 1], &tables[rest[i]]);
    if (rc != CR_OK)
        goto cleanup;

    errno = 0;
    lerr = workbook_close(wb);
    e = errno;
    wb = NULL;
    if (lerr != LXW_NO_ERROR) {
        rc = cr_error(lerr == LXW_ERROR_CREATING_XLSX_FILE ? CR_ECANTCREAT : CR_EIO,
                      "workbook %s: %s%s%s", path, lxw_strerror(lerr), e ? ": " : "",
                      e ? strerror(e) : "");
        goto cleanup;
    }
    e = fsync_path(tmp, false);
    if (e) {
        rc = cr_error(CR_EIO, "workbook %s: cannot flush %s: %s", path, tmp, strerror(e));
        goto cleanup;
    }
    if (r->publish && !r->publish(r->publish_ud))
        goto cleanup;   /* not wanted after all: the temporary file is removed */
    if (rename(tmp, path) != 0) {
        e = errno;
        rc = cr_error(e == EIO || e == ENOSPC || e == EDQUOT ? CR_EIO : CR_ECANTCREAT,
                      "workbook %s: cannot rename %s: %s", path, tmp, strerror(e));
        goto cleanup;
    }
    tmp_made = false;
    e = fsync_path(dir, true);
    if (e)
        rc = cr_error(CR_EIO, "workbook %s: cannot flush folder %s: %s", path, dir, strerror(e));

cleanup:
    if (wb)
        workbook_close(wb);   /* also closes its temporary files; the result is removed below */
    if (tmp_made)
        unlink(tmp);
    if (tmpd) {
        cr_remove_tree(tmpd);
        free(tmpd);
    }
    for (int k = 0; k < 3; k++) {
        for (size_t i = 0; i < w.ngroups[k]; i++)
            free((char *)w.groups[k][i].currency);
        free(w.groups[k]);
    }
    free(w.clean);
    free(w.esc);
    free(w.tmp);
    free(tmp);
    free(dir);
    return rc;
}

/* Contract: see report.h.  Grows by doubling; the new row is zeroed with
 * every instant set to CR_TIME_NONE.  Pointers to earlier rows become
 * invalid when it grows. */
cr_rep_row *cr_rep_rows_add(cr_rep_rows *l)
{
    cr_rep_row *row;
    if (!cr_grow(&l->items, &l->cap, l->n, sizeof *l->items, 16))
        return NULL;
    row = &l->items[l->n++];
    memset(row, 0, sizeof *row);
    row->deadline = CR_TIME_NONE;
    row->arrived_at = CR_TIME_NONE;
    row->shipped_at = CR_TIME_NONE;
    row->hold_expires = CR_TIME_NONE;
    row->received_at = CR_TIME_NONE;
    return row;
}

/* Contract: see report.h.  Frees the rows (not the strings they point to,
 * which the caller owns), closes the spool and leaves L empty; L may be NULL. */
void cr_rep_rows_release(cr_rep_rows *l)
{
    if (!l)
        return;
    free(l->items);
    cr_spool_close(&l->spool);
    *l = (cr_rep_rows){0};
}

static const cr_spool_shape row_shape = {sizeof(cr_rep_row), row_texts, NCOLS(row_texts), 0};

cr_err cr_rep_rows_spool(cr_rep_rows *l, const char *like, int *err)
{
    return cr_spool_open(&l->spool, like, 256 << 10, err);
}

cr_err cr_rep_rows_spill(cr_rep_rows *l)
{
    if (!l->spool.f && !l->spool.err)
        return CR_OK;
    for (size_t i = 0; i < l->n && cr_spool_put(&l->spool, &row_shape, &l->items[i]); i++)
        ;
    l->n = 0;
    return l->spool.err ? CR_EIO : CR_OK;
}

cr_err cr_rep_rows_seal(cr_rep_rows *l)
{
    if (cr_rep_rows_spill(l) == CR_OK && l->spool.f && fflush(l->spool.f) != 0 && !l->spool.err)
        l->spool.err = errno ? errno : EIO;
    return l->spool.err ? CR_EIO : CR_OK;
}

size_t cr_rep_rows_count(const cr_rep_rows *l)
{
    return l ? l->spool.n + l->n : 0;
}

const cr_rep_row *cr_rep_rows_first(const cr_rep_rows *l, cr_rep_iter *it)
{
    /* the workbook reads the rows it was handed: the spool's position is
     * its reader's, not a change to the rows */
    *it = (cr_rep_iter){.l = (cr_rep_rows *)(uintptr_t)l};
    if (!l)
        return NULL;
    if (l->spool.n && !cr_spool_rewind(&it->l->spool)) {
        it->err = l->spool.err;
        return NULL;
    }
    return cr_rep_rows_next(it);
}

const cr_rep_row *cr_rep_rows_next(cr_rep_iter *it)
{
    cr_rep_rows *l = it->l;
    if (it->err || it->i >= l->spool.n + l->n)
        return NULL;
    size_t i = it->i++;
    if (i >= l->spool.n)
        return &l->items[i - l->spool.n];
    if (cr_spool_get(&l->spool, &row_shape, &it->row, NULL) != 1) {
        it->err = l->spool.err ? l->spool.err : EILSEQ;
        return NULL;
    }
    return &it->row;
}

int cr_rep_iter_end(cr_rep_iter *it)
{
    int e = it->err;
    if (it->l && it->l->spool.f && !cr_spool_append(&it->l->spool) && !e)
        e = it->l->spool.err;
    return e;
}
