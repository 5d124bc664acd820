/*
 * settle.c - see settle.h.
 */
#include "settle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int text_cmp(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "");
}

/* Orders rows by content, then by id: equal rows end up side by side. */
static int row_content(const void *a, const void *b)
{
    const cr_srow *x = *(const cr_srow *const *)a, *y = *(const cr_srow *const *)b;
    int c;
    if ((c = text_cmp(x->psp_ref, y->psp_ref)) || (c = text_cmp(x->merchant_ref, y->merchant_ref)))
        return c;
    if (x->type != y->type)
        return (int)x->type - (int)y->type;
    if (x->booked_at != y->booked_at)
        return x->booked_at < y->booked_at ? -1 : 1;
    if (x->has_amount != y->has_amount)
        return (int)x->has_amount - (int)y->has_amount;
    if (x->amount != y->amount)
        return x->amount < y->amount ? -1 : 1;
    if ((c = strcmp(x->currency, y->currency)))
        return c;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* The same payment event: all but the card brand, which a corrected
 * report may fix (the event stays one; the first row read stands for it). */
static bool same_content(const cr_srow *x, const cr_srow *y)
{
    return text_cmp(x->psp_ref, y->psp_ref) == 0 && text_cmp(x->merchant_ref, y->merchant_ref) == 0 &&
           x->type == y->type && x->booked_at == y->booked_at && x->has_amount == y->has_amount &&
           x->amount == y->amount && strcmp(x->currency, y->currency) == 0;
}

/* Whether X and Y come from different files: different ingested files,
 * even under one name (a report re-sent whole, with rows added, under the
 * name it had), else (rows not read from the state) different names. */
static bool other_file(const cr_srow *x, const cr_srow *y)
{
    if (x->file_id || y->file_id)
        return x->file_id != y->file_id;
    return text_cmp(x->file, y->file) != 0;
}

/* Marks rows that repeat a row of another, earlier file.  Equal rows are
 * counted as a multiset: a file's copies of a row beyond the most any
 * earlier file held are new (a corrected report that adds the processor's
 * second, real capture of the same amount: it counts); those up to it are
 * the same payment events read again.  A file's rows have ids in one run
 * (it is ingested whole), so one file's copies lie side by side. */
static void mark_resent(cr_srow **rows, size_t n)
{
    qsort(rows, n, sizeof *rows, row_content);
    for (size_t i = 0; i < n;) {
        size_t j = i + 1, counted = 0;
        while (j < n && same_content(rows[i], rows[j]))
            j++;
        for (size_t k = i; k < j;) {
            size_t m = k + 1;
            while (m < j && !other_file(rows[m], rows[k]))
                m++;
            for (size_t t = k; t < m; t++)
                rows[t]->resent = t - k < counted;
            if (m - k > counted)
                counted = m - k;
            k = m;
        }
        i = j;
    }
}

static int row_order(const void *a, const void *b)
{
    const cr_srow *const *x = a, *const *y = b;
    if ((*x)->booked_at != (*y)->booked_at)
        return (*x)->booked_at < (*y)->booked_at ? -1 : 1;
    return (*x)->id < (*y)->id ? -1 : (*x)->id > (*y)->id;
}

/* Fills the common parts of a settlement finding about row R. */
static cr_exc *row_exc(cr_excs *excs, cr_code code, const cr_claim *c, const cr_srow *r)
{
    const char *ref = r->psp_ref ? r->psp_ref : (r->merchant_ref ? r->merchant_ref : "");
    cr_exc *x = cr_excs_add(excs, code, c ? c->claim_id : NULL, "");
    if (x) {
        cr_exc_set(excs, &x->subject, "%s@%s:%ld", ref, r->file ? r->file : "?", r->line);
        cr_exc_set(excs, &x->reference, "%s", ref);
        cr_exc_set(excs, &x->source_file, "%s", r->file ? r->file : "");
        x->source_line = r->line;
        if (r->has_amount)
            cr_exc_money(excs, x, r->amount, r->currency);
        else if (c && c->has_preauth_amount)   /* a release or expiry row: the hold */
            cr_exc_money(excs, x, c->preauth_amount, c->currency);
    }
    return x;
}

static void fmt_amt(const cr_policy *p, const cr_srow *r, char *buf, size_t n)
{
    if (r->has_amount)
        cr_policy_amount(p, r->amount, r->currency, buf, n);
    else
        snprintf(buf, n, "no amount");
}

/* A hold shared by more claims than this is looked up through an index
 * (hold_index) rather than claim by claim. */
#define HOLD_SMALL 16

/* Claims by hold reference and claim key (then claim order): where a row's
 * merchant reference is looked up among the claims sharing its hold. */
typedef struct hold_key {
    const char *ref, *key;
    size_t idx;
} hold_key;

static int hold_key_cmp(const void *a, const void *b)
{
    const hold_key *x = a, *y = b;
    int c = strcmp(x->ref, y->ref);
    if (!c)
        c = strcmp(x->key, y->key);
    return c ? c : (x->idx < y->idx ? -1 : x->idx > y->idx);
}

/* What is known of the group of claims sharing the hold at refs[f]: its
 * first claim with a payment action, and whether every claim has a key. */
typedef struct hold_group {
    size_t f, end;             /* the group is refs[f..end) */
    bool known, keyed;
    long first_pay;            /* -1 none */
} hold_group;

/* The claim a row on hold reference refs[f..e) goes to: the first (in
 * claim order) of those whose payment action is on it and that the row's
 * merchant reference names, else of those with a payment action, else of
 * those it names, else the first.  A group of a few claims is looked at
 * claim by claim; a large one (a placeholder reference on thousands of
 * claims, with as many rows) through HK, so that a night does not grow
 * with rows times claims. */
typedef struct hold_index {
    hold_key *hk;              /* built when a large group is first met */
    size_t nhk;
    bool built, oom;
} hold_index;

static void hold_index_build(hold_index *h, const cr_claim *claims, size_t nclaims)
{
    h->built = true;
    if (!(h->hk = malloc((nclaims ? nclaims : 1) * sizeof *h->hk))) {
        h->oom = true;
        return;
    }
    for (size_t i = 0; i < nclaims; i++)
        if (claims[i].preauth_ref && *claims[i].preauth_ref && claims[i].key)
            h->hk[h->nhk++] = (hold_key){claims[i].preauth_ref, claims[i].key, i};
    qsort(h->hk, h->nhk, sizeof *h->hk, hold_key_cmp);
}

static size_t hold_claim(const cr_claim *claims, size_t nclaims, const cr_payview *pay,
                         const cr_keyed *refs, size_t f, size_t e, hold_index *h, hold_group *g,
                         const char *merchant_ref)
{
    if (e - f > HOLD_SMALL && !h->built)
        hold_index_build(h, claims, nclaims);
    const hold_key *hk = h->hk;
    size_t nhk = h->nhk;
    if (e - f > HOLD_SMALL && !g->known) {
        g->known = g->keyed = true;
        g->first_pay = -1;
        for (size_t k = f; k < e; k++) {
            g->keyed = g->keyed && claims[refs[k].idx].key;
            if (g->first_pay < 0 && pay[refs[k].idx].kind != CR_PAY_NONE)
                g->first_pay = (long)refs[k].idx;
        }
    }
    /* a reference too long to key can name only a claim whose id is too
     * long to key too: those are keyed "" */
    char mk[256] = "";
    bool keyable = merchant_ref && cr_claim_key(merchant_ref, mk, sizeof mk);
    if (!keyable)
        mk[0] = '\0';
    if (e - f <= HOLD_SMALL || !g->keyed || h->oom) {
        size_t pick = refs[f].idx;
        int best = -1;
        for (size_t k = f; k < e; k++) {
            size_t ci = refs[k].idx;
            int score = (pay[ci].kind != CR_PAY_NONE ? 2 : 0) +
                        (merchant_ref && cr_claim_id_cmp(claims[ci].claim_id, merchant_ref) == 0);
            if (score > best) {
                best = score;
                pick = ci;
            }
        }
        return pick;
    }
    long first_named = -1;
    if (merchant_ref) {
        size_t lo = 0, hi = nhk;   /* the first entry of (ref, key) */
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            int c = strcmp(hk[mid].ref, refs[f].key);
            if (!c)
                c = strcmp(hk[mid].key, mk);
            if (c < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        for (size_t k = lo; k < nhk && strcmp(hk[k].ref, refs[f].key) == 0 && strcmp(hk[k].key, mk) == 0;
             k++) {
            if (!mk[0] && cr_claim_id_cmp(claims[hk[k].idx].claim_id, merchant_ref) != 0)
                continue;   /* keyed "": an id too long to key, or a blank one */
            if (pay[hk[k].idx].kind != CR_PAY_NONE)
                return hk[k].idx;
            if (first_named < 0)
                first_named = (long)hk[k].idx;
        }
    }
    return g->first_pay >= 0 ? (size_t)g->first_pay : first_named >= 0 ? (size_t)first_named : refs[f].idx;
}

cr_err cr_settle(const cr_claim *claims, size_t nclaims, cr_srow *rows, size_t nrows,
                 cr_payview *pay, const cr_policy *policy, const cr_tz *tz, cr_time_t as_of,
                 cr_excs *excs)
{
    cr_err rc = CR_ENOMEM;
    cr_keyed *refs = NULL;
    hold_index hold = {0};
    hold_group *large = NULL;  /* the groups of more than HOLD_SMALL claims, by f */
    size_t nlarge = 0, caplarge = 0;
    cr_srow **order = NULL;
    bool *seen_capture = NULL;
    size_t nref = 0, no = 0;
    char a[64], b[64];

    refs = malloc((nclaims ? nclaims : 1) * sizeof *refs);
    order = malloc((nrows ? nrows : 1) * sizeof *order);
    seen_capture = calloc(nclaims ? nclaims : 1, sizeof *seen_capture);
    if (!refs || !order || !seen_capture)
        goto cleanup;
    for (size_t i = 0; i < nclaims; i++)
        if (claims[i].preauth_ref && *claims[i].preauth_ref)
            refs[nref++] = (cr_keyed){claims[i].preauth_ref, i};
    qsort(refs, nref, sizeof *refs, cr_keyed_cmp);
    for (size_t f = 0, e; f < nref; f = e) {
        for (e = f + 1; e < nref && strcmp(refs[e].key, refs[f].key) == 0;)
            e++;
        if (e - f > HOLD_SMALL) {
            if (!cr_grow(&large, &caplarge, nlarge, sizeof *large, 8))
                goto cleanup;
            large[nlarge++] = (hold_group){.f = f, .end = e};
        }
    }
    for (size_t i = 0; i < nclaims; i++) {
        pay[i].confirmed_row = 0;
        pay[i].confirmed_at = CR_TIME_NONE;
        pay[i].seen_same_type = false;
    }

    for (size_t i = 0; i < nrows; i++) {
        cr_srow *r = &rows[i];
        r->claim = -1;
        r->resent = false;
        if (r->booked_at > as_of)
            continue;
        if (r->psp_ref) {
            /* of the claims with the reference (a hold two claims share),
             * the one whose payment action is on it, else the one the row's
             * merchant reference names, else the first: the same claim
             * whichever others a night holds (a night holds all of a hold's) */
            size_t f = cr_keyed_find(refs, nref, r->psp_ref), e = f;
            hold_group *g = NULL, small = {0};
            size_t lo = 0, hi = nlarge;   /* a large group starting at f? */
            while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (large[mid].f < f)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            if (f < nref && lo < nlarge && large[lo].f == f)
                g = &large[lo];
            else {
                while (e < nref && strcmp(refs[e].key, r->psp_ref) == 0)
                    e++;
                small.end = e;
                g = &small;
            }
            if (f < nref)
                r->claim = (int)hold_claim(claims, nclaims, pay, refs, f, g->end, &hold, g,
                                           r->merchant_ref);
        }
        if (r->claim < 0 && r->merchant_ref) {
            long c = cr_claim_find(claims, nclaims, r->merchant_ref);
            if (c >= 0)
                r->claim = (int)c;
        }
        order[no++] = r;
    }
    mark_resent(order, no);
    qsort(order, no, sizeof *order, row_order);

    for (size_t i = 0; i < no; i++) {
        cr_srow *r = order[i];
        cr_exc *x;
        if (r->resent)
            continue;
        if (r->claim < 0) {
            if ((x = row_exc(excs, CR_X_UNMATCHED_SETTLEMENT, NULL, r))) {
                fmt_amt(policy, r, a, sizeof a);
                cr_exc_set(excs, &x->detail, "%s row (%s, %s) matches no claim",
                         r->raw_type ? r->raw_type : cr_settle_type_name(r->type), a,
                         r->merchant_ref ? r->merchant_ref : "no merchant reference");
            }
            continue;
        }
        const cr_claim *c = &claims[r->claim];
        cr_payview *p = &pay[r->claim];
        /* the action counts from the as-of instant of the run that issued it */
        cr_pay_kind k = (p->kind != CR_PAY_NONE && p->issued_at <= r->booked_at) ? p->kind
                                                                                 : CR_PAY_NONE;
        fmt_amt(policy, r, a, sizeof a);
        if (r->merchant_ref && cr_claim_id_cmp(c->claim_id, r->merchant_ref) != 0) {
            /* taken by its psp reference (SPEC 4), while its merchant
             * reference names another claim, not on that hold: a reference
             * a spreadsheet cut to 15 digits reads as a neighbour's hold */
            long m = cr_claim_find(claims, nclaims, r->merchant_ref);
            const char *mhold = m >= 0 ? claims[m].preauth_ref : NULL;
            bool same_hold = mhold && r->psp_ref && strcmp(mhold, r->psp_ref) == 0;
            if (m >= 0 && m != r->claim && !claims[m].archived && !same_hold &&
                (x = row_exc(excs, CR_X_REFERENCE_MISMATCH, c, r)))
                cr_exc_set(excs, &x->detail,
                           "%s row (%s): its psp reference %s is this claim's hold, but its merchant"
                           " reference names %s (hold %s); taken as this claim's: check the"
                           " processor's report (a reference cut to 15 digits by a spreadsheet?)",
                           r->raw_type ? r->raw_type : cr_settle_type_name(r->type), a,
                           r->psp_ref ? r->psp_ref : "", claims[m].claim_id, mhold ? mhold : "none");
        }
        switch (r->type) {
        case CR_ST_CAPTURE:
            if (k == CR_PAY_CAPTURE) {
                p->seen_same_type = true;
                if (seen_capture[r->claim]) {
                    if ((x = row_exc(excs, CR_X_DUPLICATE_CAPTURE, c, r)))
                        cr_exc_set(excs, &x->detail, "a second capture (%s)", a);
                } else if (strcmp(r->currency, p->currency ? p->currency : "") != 0) {
                    if ((x = row_exc(excs, CR_X_CURRENCY_MISMATCH, c, r)))
                        cr_exc_set(excs, &x->detail, "captured %s, issued %s", a,
                                 cr_policy_amount(policy, p->amount, p->currency, b, sizeof b));
                } else if (r->amount != p->amount) {
                    if ((x = row_exc(excs, CR_X_SETTLEMENT_AMOUNT_MISMATCH, c, r)))
                        cr_exc_set(excs, &x->detail, "captured %s, issued %s", a,
                                 cr_policy_amount(policy, p->amount, p->currency, b, sizeof b));
                } else if (!p->confirmed_row) {
                    p->confirmed_row = r->id;
                    p->confirmed_at = r->booked_at;
                }
            } else if (k == CR_PAY_RELEASE) {
                if ((x = row_exc(excs, CR_X_CAPTURED_AFTER_RELEASE, c, r)))
                    cr_exc_set(excs, &x->detail, "captured %s after the hold was released",
                             a);
            } else if ((x = row_exc(excs, CR_X_UNEXPECTED_CAPTURE, c, r))) {
                cr_exc_set(excs, &x->detail, "captured %s with no capture issued", a);
            }
            seen_capture[r->claim] = true;
            break;
        case CR_ST_RELEASE:
            if (k == CR_PAY_RELEASE) {
                p->seen_same_type = true;
                if (!p->confirmed_row) {
                    p->confirmed_row = r->id;
                    p->confirmed_at = r->booked_at;
                }
            } else if ((x = row_exc(excs, CR_X_UNEXPECTED_RELEASE, c, r))) {
                cr_exc_set(excs, &x->detail, "hold released with %s",
                         k == CR_PAY_CAPTURE ? "a capture issued" : "no release issued");
            }
            break;
        case CR_ST_EXPIRED:
            if (k != CR_PAY_RELEASE && (x = row_exc(excs, CR_X_PREAUTH_EXPIRED_AT_PROCESSOR, c, r)))
                cr_exc_set(excs, &x->detail, "the hold expired at the processor with %s",
                         k == CR_PAY_CAPTURE ? "a capture issued" : "no action issued");
            break;
        case CR_ST_FEE:
            /* an archived claim's service fee is not known any more */
            if (!c->archived && (!r->has_amount || r->amount != c->service_fee ||
                 strcmp(r->currency, c->currency ? c->currency : "") != 0) &&
                (x = row_exc(excs, CR_X_FEE_MISMATCH, c, r)))
                cr_exc_set(excs, &x->detail, "fee %s, service fee is %s", a,
                         cr_policy_amount(policy, c->service_fee, c->currency, b, sizeof b));
            break;
        case CR_ST_CHARGEBACK:
            if ((x = row_exc(excs, CR_X_CHARGEBACK, c, r)))
                cr_exc_set(excs, &x->detail, "chargeback of %s", a);
            break;
        case CR_ST_REFUND:
            break;
        }
        char rb[64], cb[64];   /* as carerecon compares brands (rows read by an older one too) */
        if (r->card_brand && c->card_brand && strcmp(r->card_brand, c->card_brand) != 0 &&
            strcmp(cr_card_brand_canon(r->card_brand, rb, sizeof rb),
                   cr_card_brand_canon(c->card_brand, cb, sizeof cb)) != 0 &&
            (x = row_exc(excs, CR_X_CARD_MISMATCH, c, r)))
            cr_exc_set(excs, &x->detail, "settled on %s, the claim's card is %s",
                     r->card_brand, c->card_brand);
    }

    for (size_t i = 0; i < nclaims; i++) {
        cr_payview *p = &pay[i];
        cr_exc *x;
        if (p->kind == CR_PAY_NONE || p->issued_at > as_of || p->seen_same_type)
            continue;
        if (as_of - p->issued_at > (cr_time_t)policy->settlement_confirm_days * CR_SECONDS_PER_DAY &&
            (x = cr_excs_add(excs, CR_X_UNCONFIRMED_ACTION, claims[i].claim_id, claims[i].claim_id))) {
            cr_format_zoned(tz, p->issued_at, b, sizeof b);
            cr_exc_set(excs, &x->reference, "%s",
                     claims[i].preauth_ref ? claims[i].preauth_ref : "");
            cr_exc_set(excs, &x->detail,
                     "%s issued %s has no %s settlement row after %d days",
                     p->kind == CR_PAY_CAPTURE ? "capture" : "release", b,
                     p->kind == CR_PAY_CAPTURE ? "capture" : "release",
                     policy->settlement_confirm_days);
            cr_exc_money(excs, x, p->amount, p->currency);
        }
    }
    rc = excs->oom ? CR_ENOMEM : CR_OK;
cleanup:
    free(seen_capture);
    free(order);
    free(large);
    free(hold.hk);
    free(refs);
    return rc;
}
