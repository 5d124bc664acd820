/*
 * rules.c - see rules.h.  Pure functions over claims and events: no I/O.
 */
#include "rules.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *name;
    cr_severity sev;
    bool waiting;
} codes[CR_X_COUNT] = {
    [CR_X_SN_NEAR_MATCH] = {"SN_NEAR_MATCH", CR_SEV_MEDIUM, false},
    [CR_X_UNMATCHED_RECEIPT] = {"UNMATCHED_RECEIPT", CR_SEV_MEDIUM, false},
    [CR_X_AWAITING_CHECKIN] = {"AWAITING_CHECKIN", CR_SEV_MEDIUM, true},
    [CR_X_AUTH_EXPIRED] = {"AUTH_EXPIRED", CR_SEV_HIGH, false},
    [CR_X_AUTH_EXPIRES_BEFORE_DEADLINE] = {"AUTH_EXPIRES_BEFORE_DEADLINE", CR_SEV_HIGH, true},
    [CR_X_NONCONFORMING_BASIC] = {"NONCONFORMING_BASIC", CR_SEV_MEDIUM, false},
    [CR_X_MISSING_PREAUTH] = {"MISSING_PREAUTH", CR_SEV_HIGH, true},
    [CR_X_PREAUTH_EXCEEDS_VALUE] = {"PREAUTH_EXCEEDS_VALUE", CR_SEV_LOW, false},
    [CR_X_PREMIUM_REGION_NOT_ALLOWED] = {"PREMIUM_REGION_NOT_ALLOWED", CR_SEV_MEDIUM, false},
    [CR_X_CARD_BRAND_NOT_ALLOWED] = {"CARD_BRAND_NOT_ALLOWED", CR_SEV_MEDIUM, false},
    [CR_X_INELIGIBLE_CLAIM] = {"INELIGIBLE_CLAIM", CR_SEV_MEDIUM, false},
    [CR_X_RECEIPT_FOR_CANCELLED_CLAIM] = {"RECEIPT_FOR_CANCELLED_CLAIM", CR_SEV_MEDIUM, false},
    [CR_X_MULTIPLE_RECEIPTS] = {"MULTIPLE_RECEIPTS", CR_SEV_LOW, false},
    [CR_X_SERIAL_REUSED] = {"SERIAL_REUSED", CR_SEV_MEDIUM, false},
    [CR_X_ACTION_CONFLICT] = {"ACTION_CONFLICT", CR_SEV_HIGH, false},
    [CR_X_DUPLICATE_CAPTURE] = {"DUPLICATE_CAPTURE", CR_SEV_HIGH, false},
    [CR_X_CURRENCY_MISMATCH] = {"CURRENCY_MISMATCH", CR_SEV_HIGH, false},
    [CR_X_SETTLEMENT_AMOUNT_MISMATCH] = {"SETTLEMENT_AMOUNT_MISMATCH", CR_SEV_HIGH, false},
    [CR_X_CAPTURED_AFTER_RELEASE] = {"CAPTURED_AFTER_RELEASE", CR_SEV_HIGH, false},
    [CR_X_UNEXPECTED_CAPTURE] = {"UNEXPECTED_CAPTURE", CR_SEV_HIGH, false},
    [CR_X_UNEXPECTED_RELEASE] = {"UNEXPECTED_RELEASE", CR_SEV_HIGH, false},
    [CR_X_PREAUTH_EXPIRED_AT_PROCESSOR] = {"PREAUTH_EXPIRED_AT_PROCESSOR", CR_SEV_HIGH, false},
    [CR_X_FEE_MISMATCH] = {"FEE_MISMATCH", CR_SEV_HIGH, false},
    [CR_X_CHARGEBACK] = {"CHARGEBACK", CR_SEV_HIGH, false},
    [CR_X_UNMATCHED_SETTLEMENT] = {"UNMATCHED_SETTLEMENT", CR_SEV_HIGH, false},
    [CR_X_CARD_MISMATCH] = {"CARD_MISMATCH", CR_SEV_HIGH, false},
    [CR_X_UNCONFIRMED_ACTION] = {"UNCONFIRMED_ACTION", CR_SEV_MEDIUM, true},
    [CR_X_CLAIM_DATA_INVALID] = {"CLAIM_DATA_INVALID", CR_SEV_MEDIUM, true},
    [CR_X_REFERENCE_MISMATCH] = {"REFERENCE_MISMATCH", CR_SEV_HIGH, false},
};

const char *cr_code_name(cr_code c)
{
    return (c >= 0 && c < CR_X_COUNT) ? codes[c].name : "?";
}

int cr_code_from_name(const char *s)
{
    for (int i = 0; s && i < CR_X_COUNT; i++)
        if (strcmp(s, codes[i].name) == 0)
            return i;
    return -1;
}

cr_severity cr_code_severity(cr_code c)
{
    return (c >= 0 && c < CR_X_COUNT) ? codes[c].sev : CR_SEV_MEDIUM;
}

const char *cr_severity_name(cr_severity s)
{
    return s == CR_SEV_HIGH ? "high" : s == CR_SEV_MEDIUM ? "medium" : "low";
}

bool cr_code_is_waiting(cr_code c)
{
    return c >= 0 && c < CR_X_COUNT && codes[c].waiting;
}

const char *cr_decision_name(cr_decision_kind d)
{
    static const char *const n[] = {"none",    "pending",       "capture", "release",
                                     "ship_replacement", "nonconforming", "waiting"};
    return (d >= 0 && d <= CR_D_WAITING) ? n[d] : "?";
}

const char *cr_pending_name(cr_pending_state s)
{
    static const char *const n[] = {"", "pending", "in_transit", "awaiting_checkin"};
    return (s >= 0 && s <= CR_P_AWAITING_CHECKIN) ? n[s] : "?";
}

cr_exc *cr_excs_add(cr_excs *l, cr_code code, const char *claim_id, const char *subject)
{
    if (!cr_grow(&l->items, &l->cap, l->n, sizeof *l->items, 64)) {
        l->oom = true;
        return NULL;
    }
    const char *id = cr_pool_strdup(&l->pool, claim_id ? claim_id : "");
    const char *subj = cr_pool_strdup(&l->pool, subject ? subject : (claim_id ? claim_id : ""));
    if (!id || !subj) {
        l->oom = true;
        return NULL;
    }
    cr_exc *e = &l->items[l->n++];
    *e = (cr_exc){.code = code, .claim_id = id, .subject = subj, .reference = "", .detail = "",
                  .source_file = ""};
    return e;
}

void cr_exc_set(cr_excs *l, const char **field, const char *fmt, ...)
{
    char buf[512], *big = NULL;
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    const char *text = buf;
    if (len >= (int)sizeof buf) {
        if (!(big = malloc((size_t)len + 1))) {
            l->oom = true;
            return;
        }
        va_start(ap, fmt);
        vsnprintf(big, (size_t)len + 1, fmt, ap);
        va_end(ap);
        text = big;
    }
    const char *d = len < 0 ? NULL : cr_pool_strndup(&l->pool, text, (size_t)len);
    free(big);
    if (d)
        *field = d;
    else
        l->oom = true;
}

void cr_exc_money(cr_excs *l, cr_exc *x, cr_money_t amount, const char *currency)
{
    if (!currency || !*currency)
        return;
    x->amount = amount;
    cr_exc_set(l, &x->currency, "%s", currency);
}

void cr_excs_release(cr_excs *l)
{
    free(l->items);
    cr_pool_release(&l->pool);
    memset(l, 0, sizeof *l);
}

void cr_exc_id(cr_code code, const char *subject, char out[24])
{
    /* FNV-1a, 64 bits, over "CODE\x1fSUBJECT": stable across runs and builds */
    uint64_t h = 0xcbf29ce484222325ULL;
    const char *parts[2] = {cr_code_name(code), subject ? subject : ""};
    for (int p = 0; p < 2; p++) {
        for (const unsigned char *s = (const unsigned char *)parts[p]; *s; s++) {
            h ^= *s;
            h *= 0x100000001b3ULL;
        }
        h ^= 0x1f;
        h *= 0x100000001b3ULL;
    }
    snprintf(out, 24, "EX-%016llX", (unsigned long long)h);
}

/* The length of a Unicode dash that stands for a hyphen at S (UTF-8):
 * hyphen, non-breaking hyphen, figure dash, en dash, em dash (U+2010..U+2014),
 * minus sign (U+2212), small and full-width hyphen-minus (U+FE63, U+FF0D);
 * 0 when none.  Spreadsheets and word processors put them in for '-'. */
static size_t dash_len(const char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    if (u[0] == 0xE2 && u[1] == 0x80 && u[2] >= 0x90 && u[2] <= 0x94)
        return 3;
    if (u[0] == 0xE2 && u[1] == 0x88 && u[2] == 0x92)
        return 3;
    if (u[0] == 0xEF && ((u[1] == 0xB9 && u[2] == 0xA3) || (u[1] == 0xBC && u[2] == 0x8D)))
        return 3;
    return 0;
}

/* Whether S is a number as a spreadsheet shows one too long for it
 * ("9.40011E+21", "1E+15"): its digits are lost, and two packages can
 * print the same. */
static bool spreadsheet_exponent(const char *s)
{
    if (!(*s >= '1' && *s <= '9'))
        return false;
    s++;
    if (*s == '.' || *s == ',') {
        if (!(s[1] >= '0' && s[1] <= '9'))
            return false;
        for (s++; *s >= '0' && *s <= '9'; s++)
            ;
    }
    if ((*s != 'E' && *s != 'e') || s[1] != '+' || !(s[2] >= '0' && s[2] <= '9'))
        return false;
    for (s += 2; *s >= '0' && *s <= '9'; s++)
        ;
    return *s == '\0';
}

bool cr_tracking_placeholder(const char *norm)
{
    /* the words depots write for "no tracking number", letters and digits
     * only (N/A, n.a. and NA are one); a made-up number of letters only
     * ("PKG-A") is a number */
    static const char *const words[] = {
        "NA", "NONE", "NULL", "NIL", "UNKNOWN", "TBD", "TBA", "WALKIN", "NOTRACKING",
        "NOTRACKINGNUMBER", "NOTAVAILABLE", "NOTAPPLICABLE", "NOTPROVIDED", "MISSING",
        "DROPOFF", "INPERSON", "HANDDELIVERED"};
    char key[32];
    size_t n = 0;
    bool zeros = true;        /* no digit but 0, nor a letter */
    if (spreadsheet_exponent(norm))
        return true;
    for (const char *s = norm; *s; s++) {
        char c = *s >= 'a' && *s <= 'z' ? (char)(*s - 'a' + 'A') : *s;
        if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
            continue;
        zeros &= c == '0';
        if (n + 1 >= sizeof key)
            return false;     /* longer than any of the words, and not all zeros */
        key[n++] = c;
    }
    key[n] = '\0';
    if (zeros)
        return true;          /* "", "-", "0", "000000" */
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (strcmp(key, words[i]) == 0)
            return true;
    return false;
}

void cr_serial_normalize(const char *in, char *out, size_t n)
{
    size_t k = 0, b;
    if (!n)
        return;
    if (!in)
        in = "";
    for (;;) {
        if (*in && ((unsigned char)*in <= 0x20 || *in == 0x7f))
            in++;
        else if ((b = cr_blank_len(in)) > 0)
            in += b;
        else
            break;
    }
    if (in[0] == ']' && in[1] && in[2])
        in += 3;
    while (*in && k + 1 < n) {
        unsigned char c = (unsigned char)*in;
        if ((b = cr_blank_len(in)) > 0 || (b = dash_len(in)) > 0) {
            in += b;
            continue;
        }
        in++;
        if (c < 0x20 || c == 0x7f || c == ' ' || c == '-')
            continue;
        out[k++] = (char)toupper(c);
    }
    out[k] = '\0';
}

static char fold(char c)
{
    switch (c) {
    case 'O': return '0';
    case 'I': case 'L': return '1';
    case 'S': return '5';
    default: return c;
    }
}

bool cr_serial_near_match(const char *a, const char *b)
{
    if (strcmp(a, b) == 0 || strlen(a) != strlen(b))
        return false;
    for (; *a; a++, b++)
        if (fold(*a) != fold(*b))
            return false;
    return true;
}

int cr_claim_id_cmp(const char *a, const char *b)
{
    return cr_strcasecmp_trim(a ? a : "", b ? b : "");
}

bool cr_claim_key(const char *id, char *out, size_t n)
{
    if (!id || !n)
        return false;
    size_t len = strlen(id);
    cr_trim_span(&id, &len);
    if (len + 1 > n)
        return false;
    for (size_t k = 0; k < len; k++)
        out[k] = (char)tolower((unsigned char)id[k]);
    out[len] = '\0';
    return true;
}

int cr_claim_order(const void *a, const void *b)
{
    const cr_claim *x = a, *y = b;
    int c = strcmp(x->key ? x->key : "", y->key ? y->key : "");
    return c ? c : strcmp(x->claim_id ? x->claim_id : "", y->claim_id ? y->claim_id : "");
}

int cr_claim_id_order(const char *a, const char *b)
{
    char ka[256], kb[256];
    /* as the claim database's reader keys them: an id too long has none */
    if (!cr_claim_key(a, ka, sizeof ka))
        ka[0] = '\0';
    if (!cr_claim_key(b, kb, sizeof kb))
        kb[0] = '\0';
    int c = strcmp(ka, kb);
    return c ? c : strcmp(a ? a : "", b ? b : "");
}

/* strcmp of claim C's key (its id's, when it has none) with KEY */
static int key_cmp(const cr_claim *c, const char *key)
{
    return c->key ? strcmp(c->key, key) : cr_claim_id_cmp(c->claim_id, key);
}

/* The first claim with KEY in CLAIMS, or N. */
static size_t key_lower_bound(const cr_claim *claims, size_t n, const char *key)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (key_cmp(&claims[mid], key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

long cr_claim_find(const cr_claim *claims, size_t n, const char *id)
{
    char key[256];
    if (!id || !cr_claim_key(id, key, sizeof key))
        return -1;
    /* of claims entered twice (ids equal but for case or spaces), the one
     * ID names exactly, else the first: the same claim whichever of the
     * night's claims lie around it */
    size_t f = key_lower_bound(claims, n, key);
    if (f >= n || key_cmp(&claims[f], key) != 0)
        return -1;
    const char *t = id;
    size_t tn = strlen(id);
    cr_trim_span(&t, &tn);
    for (size_t i = f; i < n && key_cmp(&claims[i], key) == 0; i++) {
        const char *c = claims[i].claim_id;
        size_t cn = c ? strlen(c) : 0;
        if (c && (cr_trim_span(&c, &cn), cn == tn) && memcmp(c, t, tn) == 0)
            return (long)i;
    }
    return (long)f;
}

long cr_claim_find_live(const cr_claim *claims, size_t n, const char *id)
{
    long c = cr_claim_find(claims, n, id);
    if (c < 0 || !claims[c].archived)
        return c;
    /* the claim ID names exactly is archived: another of its key, if any */
    char key[256];
    if (!cr_claim_key(id, key, sizeof key))
        return -1;
    for (size_t i = key_lower_bound(claims, n, key); i < n && key_cmp(&claims[i], key) == 0; i++)
        if (!claims[i].archived)
            return (long)i;
    return -1;
}

long cr_claim_find_exact(const cr_claim *claims, size_t n, const char *id)
{
    char key[256];
    if (!id)
        return -1;
    if (!cr_claim_key(id, key, sizeof key))
        key[0] = '\0';   /* too long to key: it sorts with the empty key */
    for (size_t i = key_lower_bound(claims, n, key); i < n && key_cmp(&claims[i], key) == 0; i++)
        if (claims[i].claim_id && strcmp(claims[i].claim_id, id) == 0)
            return (long)i;
    return -1;
}

/* --- matching ------------------------------------------------------------ */

int cr_keyed_cmp(const void *a, const void *b)
{
    const cr_keyed *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    if (c)
        return c;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

size_t cr_keyed_find(const cr_keyed *k, size_t n, const char *key)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(k[mid].key, key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (lo < n && strcmp(k[lo].key, key) == 0) ? lo : n;
}

static bool paid_by(const cr_claim *c, cr_time_t as_of)
{
    return c->paid_at != CR_TIME_NONE && c->paid_at <= as_of;
}

static void event_source(const cr_event *e, char *buf, size_t n)
{
    snprintf(buf, n, "%s:%ld", e->file ? e->file : "?", e->line);
}

/* Assigns events with a tracking number to the claim another event with
 * that tracking number has; a tracking number seen on two claims is
 * ambiguous and assigns nothing. */
static void match_by_tracking(cr_event *ev, size_t n, cr_keyed *byt, size_t nt, bool received_only)
{
    (void)received_only;
    size_t i = 0;
    while (i < nt) {
        size_t j = i;
        int claim = -1;
        bool ambiguous = false;
        while (j < nt && strcmp(byt[j].key, byt[i].key) == 0) {
            int c = ev[byt[j].idx].claim;
            if (c >= 0) {
                if (claim >= 0 && claim != c)
                    ambiguous = true;
                claim = c;
            }
            j++;
        }
        if (claim >= 0 && !ambiguous)
            for (size_t k = i; k < j; k++)
                if (ev[byt[k].idx].claim < 0)
                    ev[byt[k].idx].claim = claim;
        i = j;
    }
    (void)n;
}

/* The order that puts the same event seen twice side by side: tracking
 * number, claim reference, serial, event, time.  The same event is all of
 * those alike: two units in one box (one tracking number, one batch
 * check-in time) carry two claim references or serials and are two. */
static int event_dup_cmp(const void *a, const void *b)
{
    const cr_event *const *x = a, *const *y = b;
    const cr_event *p = *x, *q = *y;
    int c = strcmp(p->tracking ? p->tracking : "", q->tracking ? q->tracking : "");
    if (c)
        return c;
    if ((c = cr_claim_id_cmp(p->claim_ref, q->claim_ref)) != 0 ||
        (c = strcmp(p->serial ? p->serial : "", q->serial ? q->serial : "")) != 0)
        return c;
    if (p->kind != q->kind)
        return (int)p->kind - (int)q->kind;
    if (p->at != q->at)
        return p->at < q->at ? -1 : 1;
    return p->id < q->id ? -1 : p->id > q->id;
}

cr_err cr_match_events(const cr_claim *claims, size_t nclaims, cr_event *ev, size_t n,
                       cr_time_t as_of, cr_excs *excs)
{
    cr_err rc = CR_ENOMEM;
    cr_keyed *byt = NULL, *bys = NULL;
    const cr_event **order = NULL;
    size_t nt = 0, ns = 0, no = 0;
    char src[512];                 /* a file name (at most NAME_MAX bytes) and a line */

    byt = malloc((n ? n : 1) * sizeof *byt);
    bys = malloc((nclaims ? nclaims : 1) * sizeof *bys);
    order = malloc((n ? n : 1) * sizeof *order);
    if (!byt || !bys || !order)
        goto cleanup;

    /* duplicates: the same tracking number, event and time count once */
    for (size_t i = 0; i < n; i++) {
        ev[i].claim = -1;
        ev[i].duplicate = false;
        if (ev[i].at <= as_of)
            order[no++] = &ev[i];
    }
    qsort(order, no, sizeof *order, event_dup_cmp);
    /* the first copy read stands for the event (its file and line name it,
     * night after night); a later copy whose battery or genuine flag
     * differs is a correction (a service center's export sent again, fixed),
     * and its flags are the event's */
    cr_event *rep = no ? (cr_event *)order[0] : NULL;
    for (size_t i = 1; i < no; i++) {
        const cr_event *p = order[i - 1];
        cr_event *q = (cr_event *)order[i];
        bool same = p->kind == q->kind && p->at == q->at &&
                    strcmp(p->tracking ? p->tracking : "", q->tracking ? q->tracking : "") == 0 &&
                    cr_claim_id_cmp(p->claim_ref, q->claim_ref) == 0 &&
                    strcmp(p->serial ? p->serial : "", q->serial ? q->serial : "") == 0;
        if (!same) {
            rep = q;
            continue;
        }
        q->duplicate = true;
        if (q->battery_returned >= 0)
            rep->battery_returned = q->battery_returned;
        if (q->genuine >= 0)
            rep->genuine = q->genuine;
    }

    /* 1. by claim reference */
    for (size_t i = 0; i < n; i++) {
        if (ev[i].at > as_of || ev[i].duplicate || !ev[i].claim_ref)
            continue;
        /* never an archived claim's (run.c add_archived): a receipt is for
         * a claim that can still be decided, or for none */
        long c = cr_claim_find_live(claims, nclaims, ev[i].claim_ref);
        if (c >= 0)
            ev[i].claim = (int)c;
    }
    for (size_t i = 0; i < n; i++)
        if (ev[i].at <= as_of && !ev[i].duplicate && ev[i].tracking)
            byt[nt++] = (cr_keyed){ev[i].tracking, i};
    qsort(byt, nt, sizeof *byt, cr_keyed_cmp);
    /* 2. by another event with the same tracking number */
    match_by_tracking(ev, n, byt, nt, false);

    /* 3. received events by serial: the one active claim with that serial
     * that was paid when the unit was checked in (a claim paid after it
     * cannot be what it was returned for; one whose payment cannot be read
     * is not known to be).  Another claim made later, or a row that cannot
     * be read, then leaves an earlier check-in where it was.  One whose row
     * cannot be read otherwise counts: the unit may be its, and giving it
     * to the other claim of its serial would be a guess. */
    for (size_t i = 0; i < nclaims; i++)
        if (claims[i].active && claims[i].norm_sn[0])
            bys[ns++] = (cr_keyed){claims[i].norm_sn, i};
    qsort(bys, ns, sizeof *bys, cr_keyed_cmp);
    for (size_t i = 0; i < n; i++) {
        if (ev[i].at > as_of || ev[i].duplicate || ev[i].claim >= 0 || ev[i].kind != CR_EV_RECEIVED)
            continue;
        char sn[64];
        cr_serial_normalize(ev[i].serial, sn, sizeof sn);
        if (!sn[0])
            continue;
        size_t cnt = 0, only = 0;
        for (size_t f = cr_keyed_find(bys, ns, sn); f < ns && strcmp(bys[f].key, sn) == 0; f++)
            if (paid_by(&claims[bys[f].idx], ev[i].at)) {
                cnt++;
                only = bys[f].idx;
            }
        if (cnt == 1)
            ev[i].claim = (int)only;
    }
    /* events sharing a tracking number with a serial-matched one follow it */
    match_by_tracking(ev, n, byt, nt, false);

    for (size_t i = 0; i < n; i++) {
        if (ev[i].at > as_of || ev[i].duplicate)
            continue;
        event_source(&ev[i], src, sizeof src);
        if (ev[i].claim < 0) {
            cr_exc *x = cr_excs_add(excs, CR_X_UNMATCHED_RECEIPT, NULL, src);
            if (x) {
                cr_exc_set(excs, &x->reference, "%s",
                         ev[i].tracking ? ev[i].tracking : (ev[i].claim_ref ? ev[i].claim_ref : ""));
                cr_exc_set(excs, &x->detail,
                         "%s event at %s matches no claim (claim ref \"%s\", tracking \"%s\","
                         " serial \"%s\")",
                         cr_event_name(ev[i].kind), src, ev[i].claim_ref ? ev[i].claim_ref : "",
                         ev[i].tracking ? ev[i].tracking : "", ev[i].serial ? ev[i].serial : "");
                cr_exc_set(excs, &x->source_file, "%s", ev[i].file ? ev[i].file : "");
                x->source_line = ev[i].line;
            }
        } else if (!claims[ev[i].claim].active) {
            const cr_claim *c = &claims[ev[i].claim];
            cr_exc *x = cr_excs_add(excs, CR_X_RECEIPT_FOR_CANCELLED_CLAIM, c->claim_id, c->claim_id);
            if (x) {
                cr_exc_set(excs, &x->reference, "%s", ev[i].tracking ? ev[i].tracking : "");
                cr_exc_set(excs, &x->detail, "%s event (%s) for a claim whose status is %s",
                         cr_event_name(ev[i].kind), src, c->status ? c->status : "?");
                cr_exc_set(excs, &x->source_file, "%s", ev[i].file ? ev[i].file : "");
                x->source_line = ev[i].line;
            }
        }
    }

    /* SERIAL_REUSED: one registered serial on more than one active claim
     * (paid yet or not, as SPEC says), raised on each that is paid by the
     * as-of instant and can be read (the claim checks' claims) */
    for (size_t i = 0; i < ns;) {
        size_t j = i;
        while (j < ns && strcmp(bys[j].key, bys[i].key) == 0)
            j++;
        size_t cnt = j - i;
        if (cnt > 1)
            for (size_t k = i; k < j; k++) {
                const cr_claim *c = &claims[bys[k].idx];
                if (!paid_by(c, as_of) || c->invalid)   /* that one says CLAIM_DATA_INVALID */
                    continue;
                cr_exc *x = cr_excs_add(excs, CR_X_SERIAL_REUSED, c->claim_id, c->claim_id);
                if (x) {
                    /* the serial and the other claims (the first few), to find them */
                    char others[256] = "";
                    size_t used = 0, listed = 0;
                    for (size_t m = i; m < j; m++) {
                        const cr_claim *o = &claims[bys[m].idx];
                        if (m == k)
                            continue;
                        if (listed == 3) {
                            snprintf(others + used, sizeof others - used, ", ...");
                            break;
                        }
                        int w = snprintf(others + used, sizeof others - used, "%s%s",
                                         listed ? ", " : "",
                                         *o->claim_id ? o->claim_id : "(a row with a blank claim_id)");
                        if (w < 0 || (size_t)w >= sizeof others - used)
                            break;
                        used += (size_t)w;
                        listed++;
                    }
                    cr_exc_set(excs, &x->detail,
                               "registered serial %s is on %zu active claims; also on %s",
                               c->norm_sn, cnt, others);
                    cr_exc_set(excs, &x->reference, "%s", c->norm_sn);
                }
            }
        i = j;
    }
    rc = excs->oom ? CR_ENOMEM : CR_OK;
cleanup:
    free(order);
    free(bys);
    free(byt);
    return rc;
}

/* --- deciding ------------------------------------------------------------ */

cr_time_t cr_hold_expiry(const cr_policy *p, const cr_claim *c)
{
    int d = cr_policy_auth_days(p, c->card_brand);
    if (d < 0 || c->paid_at == CR_TIME_NONE)
        return CR_TIME_NONE;
    return c->paid_at + (cr_time_t)d * CR_SECONDS_PER_DAY;
}


static void claim_checks(const cr_rules_ctx *rc, const cr_claim *c, cr_excs *excs)
{
    const cr_policy *p = rc->policy;
    cr_exc *x;
    if (c->premium && c->has_preauth_amount && c->preauth_amount > c->product_value &&
        (x = cr_excs_add(excs, CR_X_PREAUTH_EXCEEDS_VALUE, c->claim_id, c->claim_id))) {
        char a[48], b[48];
        cr_exc_set(excs, &x->detail, "hold %s exceeds product value %s; a capture is capped",
                 cr_policy_amount(p, c->preauth_amount, c->currency, a, sizeof a),
                 cr_policy_amount(p, c->product_value, c->currency, b, sizeof b));
        cr_exc_money(excs, x, c->preauth_amount, c->currency);
    }
    if (c->premium && !cr_strlist_has(&p->premium_regions, c->region) &&
        (x = cr_excs_add(excs, CR_X_PREMIUM_REGION_NOT_ALLOWED, c->claim_id, c->claim_id)))
        cr_exc_set(excs, &x->detail, "premium plan in region %s", c->region ? c->region : "?");
    if (c->card_brand && *c->card_brand && !cr_strlist_has(&p->card_brands, c->card_brand) &&
        (x = cr_excs_add(excs, CR_X_CARD_BRAND_NOT_ALLOWED, c->claim_id, c->claim_id)))
        cr_exc_set(excs, &x->detail, "card brand %s is not accepted", c->card_brand);
    bool no_left = c->replacements_left <= 0;
    bool expired = c->refresh_expires_on != INT32_MIN &&
                   cr_tz_day_of(rc->tz, c->paid_at) > c->refresh_expires_on;
    if ((no_left || expired) &&
        (x = cr_excs_add(excs, CR_X_INELIGIBLE_CLAIM, c->claim_id, c->claim_id))) {
        char d[16];
        cr_format_day(c->refresh_expires_on, d, sizeof d);
        if (no_left && expired)
            cr_exc_set(excs, &x->detail,
                     "no replacement left, and paid after the plan ended on %s", d);
        else if (no_left)
            cr_exc_set(excs, &x->detail, "no replacement left on the plan");
        else
            cr_exc_set(excs, &x->detail, "paid after the plan ended on %s", d);
    }
}

/* Appends TEXT to the decision detail, comma-separated. */
static void add_detail(cr_decision *d, const char *text)
{
    size_t l = strlen(d->detail);
    snprintf(d->detail + l, sizeof d->detail - l, "%s%s", l ? "; " : "", text);
}

void cr_decide(const cr_rules_ctx *rc, const cr_claim *c, const cr_event *const *ev, size_t n,
               cr_decision *d, cr_excs *excs)
{
    const cr_policy *p = rc->policy;
    cr_time_t D = rc->as_of;
    cr_exc *x;
    char buf[256];

    memset(d, 0, sizeof *d);
    d->kind = CR_D_NONE;
    d->deadline = d->grace_end = d->hold_expires = CR_TIME_NONE;
    d->shipped_at = d->delivered_at = d->checkin_at = d->arrival = CR_TIME_NONE;
    if (!c->active)
        return;
    if (c->invalid) {
        if ((x = cr_excs_add(excs, CR_X_CLAIM_DATA_INVALID, c->claim_id, c->claim_id))) {
            size_t idn = strlen(c->claim_id);
            const char *id = c->claim_id;
            cr_trim_span(&id, &idn);
            if (idn)
                cr_exc_set(excs, &x->detail, "%s", c->invalid);
            else   /* no id to find the row by: what else it holds */
                cr_exc_set(excs, &x->detail, "%s (the row's hold %s, serial %s)", c->invalid,
                           c->preauth_ref ? c->preauth_ref : "none",
                           c->registered_sn && *c->registered_sn ? c->registered_sn : "none");
        }
        snprintf(d->detail, sizeof d->detail, "claim data invalid: %s", c->invalid);
        return;
    }
    if (!paid_by(c, D))
        return;

    claim_checks(rc, c, excs);

    /* the events, earliest first; of two check-ins at one time the one read
     * last (a corrected export's) */
    const cr_event *checkin = NULL;
    for (size_t i = 0; i < n; i++) {
        const cr_event *e = ev[i];
        if (e->at > D || e->duplicate)
            continue;
        if (e->kind == CR_EV_SHIPPED)
            d->shipped_at = cr_time_min(d->shipped_at, e->at);
        else if (e->kind == CR_EV_DELIVERED)
            d->delivered_at = cr_time_min(d->delivered_at, e->at);
        else if (!checkin || e->at < checkin->at || (e->at == checkin->at && e->id > checkin->id))
            checkin = e;
    }
    if (checkin) {
        char first[64];
        cr_serial_normalize(checkin->serial, first, sizeof first);
        for (size_t i = 0; i < n; i++) {
            const cr_event *e = ev[i];
            char sn[64];
            if (e->at > D || e->duplicate || e->kind != CR_EV_RECEIVED || e == checkin)
                continue;
            cr_serial_normalize(e->serial, sn, sizeof sn);
            if (strcmp(sn, first) != 0) {
                if ((x = cr_excs_add(excs, CR_X_MULTIPLE_RECEIPTS, c->claim_id, c->claim_id))) {
                    cr_exc_set(excs, &x->detail,
                             "check-ins with different serials (%s at %s:%ld, %s at %s:%ld);"
                             " %s decides",
                             first, checkin->file ? checkin->file : "?", checkin->line, sn,
                             e->file ? e->file : "?", e->line,
                             e->at == checkin->at ? "of those at one time the one read last"
                                                  : "the earliest");
                    cr_exc_set(excs, &x->source_file, "%s", checkin->file ? checkin->file : "");
                    x->source_line = checkin->line;
                }
                break;
            }
        }
        d->checkin = checkin;
        d->checkin_at = checkin->at;
    }
    if (c->premium &&
        (!c->preauth_ref || !*c->preauth_ref || !c->has_preauth_amount || c->preauth_amount <= 0)) {
        if ((x = cr_excs_add(excs, CR_X_MISSING_PREAUTH, c->claim_id, c->claim_id)))
            cr_exc_set(excs, &x->detail, "premium claim without %s; not decided",
                     (!c->preauth_ref || !*c->preauth_ref) ? "a pre-authorization reference"
                                                           : "a positive hold amount");
        d->detail[0] = '\0';
        snprintf(d->detail, sizeof d->detail, "not decided: missing pre-authorization");
        return;
    }
    d->arrival = cr_time_min(d->delivered_at, d->checkin_at);
    cr_day_t paid_day = cr_tz_day_of(rc->tz, c->paid_at);
    cr_day_t deadline_day = paid_day + c->return_days;
    d->deadline = cr_tz_end_of_day(rc->tz, deadline_day);
    d->grace_end = cr_tz_end_of_day(rc->tz, deadline_day + p->transit_grace_days);
    d->hold_expires = c->premium ? cr_hold_expiry(p, c) : CR_TIME_NONE;

    bool shipped_in_time = d->shipped_at != CR_TIME_NONE && d->shipped_at <= d->deadline;
    bool timely = d->arrival != CR_TIME_NONE &&
                  (d->arrival <= d->deadline || (shipped_in_time && d->arrival <= d->grace_end));

    /* non-conformities of the deciding check-in, in order of precedence */
    const char *first_nc = NULL;
    if (checkin) {
        char sn[64];
        cr_serial_normalize(checkin->serial, sn, sizeof sn);
        if (checkin->genuine == 0) {
            first_nc = "NON_GENUINE";
            add_detail(d, "NON_GENUINE: not a genuine product");
        }
        if (strcmp(sn, c->norm_sn) != 0) {
            if (!first_nc)
                first_nc = "SN_MISMATCH";
            snprintf(buf, sizeof buf, "SN_MISMATCH: received %s, registered %s", sn, c->norm_sn);
            add_detail(d, buf);
            if (cr_serial_near_match(sn, c->norm_sn) &&
                (x = cr_excs_add(excs, CR_X_SN_NEAR_MATCH, c->claim_id, c->claim_id))) {
                cr_exc_set(excs, &x->detail,
                         "received %s and registered %s differ only in look-alike characters "
                         "(O/0, I/1, L/1, S/5); a person should look",
                         sn, c->norm_sn);
                cr_exc_set(excs, &x->source_file, "%s", checkin->file ? checkin->file : "");
                x->source_line = checkin->line;
            }
        }
        if (c->battery_registered && checkin->battery_returned == 0) {
            if (!first_nc)
                first_nc = "BATTERY_NOT_RETURNED";
            add_detail(d, "BATTERY_NOT_RETURNED: a replacement battery was registered");
        }
    }

    if (!c->premium) {
        if (!checkin) {
            d->kind = CR_D_WAITING;
            return;
        }
        if (first_nc) {
            d->kind = CR_D_NONCONFORMING;
            d->reason = first_nc;
            if ((x = cr_excs_add(excs, CR_X_NONCONFORMING_BASIC, c->claim_id, c->claim_id))) {
                cr_exc_set(excs, &x->detail, "%s", d->detail);
                cr_exc_set(excs, &x->source_file, "%s", checkin->file ? checkin->file : "");
                x->source_line = checkin->line;
            }
        } else {
            d->kind = CR_D_SHIP;
            d->reason = "RETURNED";
        }
        return;
    }

    cr_money_t cap = c->preauth_amount < c->product_value ? c->preauth_amount : c->product_value;
    bool late_capture = p->late_return == CR_LATE_CAPTURE;

    if (checkin) {
        if (first_nc) {
            d->kind = CR_D_CAPTURE;
            d->reason = first_nc;
        } else if (timely) {
            d->kind = CR_D_RELEASE;
            d->reason = "RETURNED";
        } else {
            d->kind = late_capture ? CR_D_CAPTURE : CR_D_RELEASE;
            d->reason = "LATE_RETURN";
        }
    } else if (d->delivered_at != CR_TIME_NONE) {
        if (!timely && late_capture) {
            d->kind = CR_D_CAPTURE;
            d->reason = "LATE_RETURN";
        } else {
            d->kind = CR_D_PENDING;
            d->state = CR_P_AWAITING_CHECKIN;
            if (D - d->delivered_at > (cr_time_t)p->checkin_sla_days * CR_SECONDS_PER_DAY &&
                (x = cr_excs_add(excs, CR_X_AWAITING_CHECKIN, c->claim_id, c->claim_id))) {
                char t[32];
                cr_format_zoned(rc->tz, d->delivered_at, t, sizeof t);
                cr_exc_set(excs, &x->detail,
                         "delivered %s and not checked in after %d days", t, p->checkin_sla_days);
            }
        }
    } else if (D <= d->deadline) {
        d->kind = CR_D_PENDING;
        d->state = CR_P_PENDING;
        d->reminder = d->shipped_at == CR_TIME_NONE &&
                      D - c->paid_at > (cr_time_t)p->ship_reminder_days * CR_SECONDS_PER_DAY;
    } else if (shipped_in_time && D <= d->grace_end) {
        d->kind = CR_D_PENDING;
        d->state = CR_P_IN_TRANSIT;
    } else {
        d->kind = CR_D_CAPTURE;
        d->reason = "NOT_RETURNED";
    }
    if (d->kind == CR_D_CAPTURE)
        d->amount = cap;
    else if (d->kind == CR_D_RELEASE)
        d->amount = c->preauth_amount;
    if (d->kind == CR_D_PENDING && d->hold_expires != CR_TIME_NONE) {
        cr_time_t limit = shipped_in_time ? d->grace_end : d->deadline;
        if (d->hold_expires < limit &&
            (x = cr_excs_add(excs, CR_X_AUTH_EXPIRES_BEFORE_DEADLINE, c->claim_id, c->claim_id))) {
            char a[32], b[32];
            cr_format_zoned(rc->tz, d->hold_expires, a, sizeof a);
            cr_format_zoned(rc->tz, limit, b, sizeof b);
            cr_exc_set(excs, &x->detail,
                     "the %s hold expires %s, before the %s %s; re-authorize in time",
                     c->card_brand ? c->card_brand : "card", a,
                     shipped_in_time ? "end of transit grace" : "return deadline", b);
            cr_exc_set(excs, &x->reference, "%s", c->preauth_ref);
            if (c->has_preauth_amount)
                cr_exc_money(excs, x, c->preauth_amount, c->currency);
        }
    }
}
