/*
 * test_settle.c - unit tests for settle.c against SPEC section 4
 * ("Settlement" and UNCONFIRMED_ACTION).
 *
 * The world: three premium claims sorted by id (A, B, C) with their holds
 * PSP-A, PSP-B, PSP-C; a policy with settlement_confirm_days 3; actions
 * issued 2026-11-16T06:00:00Z unless a test says otherwise; as-of
 * 2026-11-18T06:00:00Z (two days later: no UNCONFIRMED_ACTION yet).
 */
#include "harness.h"
#include "settle.h"

#include <stdlib.h>

#define A 0
#define B 1
#define C 2
#define ISSUED "2026-11-16T06:00:00Z"
#define AS_OF "2026-11-18T06:00:00Z"
#define HOLD 150000
#define FEE 7900

static cr_time_t T(const char *iso)
{
    cr_time_t t = CR_TIME_NONE;
    if (cr_parse_iso_instant(iso, &t) != CR_OK) {
        fprintf(stderr, "  test data: bad instant \"%s\"\n", iso);
        t_failed_checks++;
        return CR_TIME_NONE;
    }
    return t;
}

typedef struct sfx {
    cr_claim cl[3];
    cr_payview pay[3];
    cr_srow rows[8];
    size_t nrows;
    cr_policy pol;
    cr_time_t as_of;
    cr_excs ex;
} sfx;

static void claim(cr_claim *c, const char *id, const char *psp, const char *brand)
{
    memset(c, 0, sizeof *c);
    c->claim_id = id;
    c->premium = true;
    c->plan = "premium";
    c->active = true;
    c->status = "active";
    c->region = "US";
    c->registered_sn = "SN";
    c->product_value = 219900;
    c->currency = "USD";
    c->service_fee = FEE;
    c->preauth_ref = psp;
    c->has_preauth_amount = true;
    c->preauth_amount = HOLD;
    c->card_brand = brand;
    c->paid_at = T("2026-11-01T15:00:00Z");
    c->return_days = 14;
    c->replacements_left = 1;
}

static void sfx_open(sfx *f)
{
    memset(f, 0, sizeof *f);
    claim(&f->cl[A], "CE2611-000201", "PSP-A", "visa");
    claim(&f->cl[B], "CE2611-000202", "PSP-B", "visa");
    claim(&f->cl[C], "CE2611-000203", "PSP-C", "mastercard");
    for (int i = 0; i < 3; i++) {
        f->pay[i].kind = CR_PAY_NONE;
        f->pay[i].issued_at = CR_TIME_NONE;
    }
    f->pol.settlement_confirm_days = 3;
    f->as_of = T(AS_OF);
}

static void sfx_close(sfx *f) { cr_excs_release(&f->ex); }

/* Claim I's payment action: KIND of AMOUNT USD, issued at AT. */
static void issue(sfx *f, int i, cr_pay_kind kind, const char *at, cr_money_t amount)
{
    f->pay[i].kind = kind;
    f->pay[i].issued_at = T(at);
    f->pay[i].amount = amount;
    f->pay[i].currency = "USD";
    f->pay[i].action_id = 100 + i;
}

/* Appends a settlement row; AMOUNT < 0 means none.  Row ids are 1, 2, ...
 * and lines 11, 12, ... in "batch.csv". */
static cr_srow *row(sfx *f, const char *psp, const char *merchant, cr_settle_type type,
                    cr_money_t amount, const char *currency, const char *booked, const char *brand)
{
    cr_srow *r = &f->rows[f->nrows++];
    memset(r, 0, sizeof *r);
    r->id = (int64_t)f->nrows;
    r->psp_ref = psp;
    r->merchant_ref = merchant;
    r->type = type;
    r->raw_type = cr_settle_type_name(type);
    r->has_amount = amount >= 0;
    r->amount = amount >= 0 ? amount : 0;
    snprintf(r->currency, sizeof r->currency, "%s", currency ? currency : "");
    r->booked_at = T(booked);
    r->card_brand = brand;
    r->file = "batch.csv";
    r->line = 10 + (long)f->nrows;
    r->claim = -2;
    return r;
}

static void settle(sfx *f)
{
    CHECK_INT(cr_settle(f->cl, 3, f->rows, f->nrows, f->pay, &f->pol, NULL, f->as_of, &f->ex), CR_OK);
}

static int nexc(const cr_excs *l, cr_code code)
{
    int k = 0;
    for (size_t i = 0; i < l->n; i++)
        if (l->items[i].code == code)
            k++;
    return k;
}

static const cr_exc *find_exc(const cr_excs *l, cr_code code)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->items[i].code == code)
            return &l->items[i];
    return NULL;
}

/* The single finding of F, checked to be CODE about claim CLAIM_ID. */
static void only(const sfx *f, cr_code code, const char *claim_id)
{
    CHECK_INT(f->ex.n, 1);
    if (f->ex.n >= 1) {
        CHECK_STR(cr_code_name(f->ex.items[0].code), cr_code_name(code));
        CHECK_STR(f->ex.items[0].claim_id, claim_id);
    }
}

/* --- capture rows -------------------------------------------------------- */

/* "capture | capture issued, same amount and currency | action confirmed" */
TEST(settle_capture_confirmed)
{
    sfx f;
    sfx_open(&f);
    issue(&f, A, CR_PAY_CAPTURE, ISSUED, HOLD);
    row(&f, "PSP-A", "CE2611-000201", CR_ST_CAPTURE, HOLD, "USD", "2026-11-17T09:00:00Z", NULL);
    settle(&f);
    CHECK_INT(f.ex.n, 0);
    CHECK_INT(f.rows[0].claim, A);
    CHECK_INT(f.pay[A].confirmed_row, 1);
    CHECK_INT(f.pay[A].confirmed_at, T("2026-11-17T09:00:00Z"));
    CHECK(f.pay[A].seen_same_type);
    sfx_close(&f);
}

/* Two claims with the same hold reference (a registration entered twice):
 * a row with it goes to the first of them in the night's claim order, the
 * same claim whichever other claims a night holds (an incremental night
 * holds fewer). */
TEST(settle_shared_hold_reference_goes_to_the_first_claim)
{
    for (int shared = B; shared <= C; shared++) {
        sfx f;
        sfx_open(&f);
        f.cl[shared].preauth_ref = "PSP-A";
        row(&f, "PSP-A", NULL, CR_ST_CAPTURE, HOLD, "USD", "2026-11-17T09:00:00Z", NULL);
        settle(&f);
        CHECK_INT(f.rows[0].claim, A);
        sfx_close(&f);
    }
}

/* "capture | capture issued, and an earlier capture row already seen |
 * DUPLICATE_CAPTURE"; the first row confirms. */
TEST(settle_duplicate_capture)
{
    sfx f;
    sfx_open(&f);
    issue(&f, A, CR_PAY_CAPTURE, ISSUED, HOLD);
    row(&f, "PSP-A", NULL, CR_ST_CAPTURE, HOLD, "USD", "2026-11-17T09:00:00Z", NULL);
    row(&f, "PSP-A", NULL, CR_ST_CAPTURE, HOLD, "USD", "2026-11-17T10:00:00Z", NULL);
    settle(&f);
    only(&f, CR_X_DUPLICATE_CAPTURE, "CE2611-000201");
    CHECK_INT(f.ex.n ? f.ex.items[0].source_line : 0, 12);
    CHECK_INT(f.pay[A].confirmed_row, 1);
    sfx_close(&f);
}

/* Rows are "taken in booked_at order": a capture booked earlier but listed
 * later confirms, and the later-booked one is the duplicate. */
TEST(settle_rows_taken_in_booked_order)
{
    sfx f;
    sfx_open(&f);
    issue(&f, A, CR_PAY_CAPTURE, ISSUED, HOLD);
    row(&f, "PSP-A", NULL, CR_ST_CAPTURE, HOLD, "USD", "2026-11-17T12:00:00Z", NULL);   /* id 1 */
    row(&f, "PSP-A", NULL, CR_ST_CAPTURE, HOLD, "USD", "2026-11-17T08:00:00Z", NULL);   /* id 2 */
    settle(&f);
    only(&f, CR_X_DUPLICATE_CAPTURE, "CE2611-000201");
    CHECK_INT(f.ex.n ? f.ex.items[0].source_line : 0, 11);
    CHECK_INT(f.pay[A].confirmed_row, 2);
    sfx_close(&f);
}

/* The duplicate line comes first: a second capture in another currency is
 * DUPLICATE_CAPTURE, not CURRENCY_MISMATCH. */
TEST(settle_duplicate_before_currency)
{
    sfx f;
    sfx_open(&f);
    issue(&f, A, CR_PAY_CAPTURE, ISSUED, HOLD);
    row(&f, "PSP-A", NULL, CR_ST_CAPTURE, HOLD, "USD", "2026-11-17T09:00:00Z", NULL);
    row(&f, "PSP-A", NULL, CR_ST_CAPTURE, 999, "EUR", "2026-11-17T10:00:00Z", NULL);
    settle(&f);
    only(&f, CR_X_DUPLICATE_CAPTURE, "CE2611-000201");
    sfx_close(&f);
}

/* "capture | capture issued, currency differs | CURRENCY_MISMATCH" (before
 * the amount line); not confirmed. */
TEST(settle_currency_mismatch)
{
    sfx f;
    sfx_open(&f);
    issue(&f, A, CR_PAY_CAPTURE, ISSUED, HOLD);
    row(&f, "PSP-A", NULL, CR_ST_CAPTURE, 140000, "EUR", "2026-11-17T09:00:00Z", NULL);
    settle(&f);
    only(&f, CR_X_CURRENCY_MISMATCH, "CE2611-000201");
    CHECK_INT(f.pay[A].confirmed_row, 0);
    sfx_close(&f);
}

/* "capture | capture issued, amount differs | SETTLEMENT_AMOUNT_MISMATCH" */
TEST(settle_amount_mismatch)
{
    sfx f;
    sfx_open(&f);
    issue(&f, A, CR_PAY_CAPTURE, ISSUED, HOLD);
    row(&f, "PSP-A", NULL, CR_ST_CAPTURE, HOLD - 1, "USD", "2026-11-17T09:00:00Z", NULL);
    settle(&f);
    only(&f, CR_X_SETTLEMENT_AMOUNT_MISMATCH, "CE2611-000201");
    CHECK_INT(f.pay[A].confirmed_row, 0);
    sfx_close(&f);
}

/* "capture | release issued | CAPTURED_AFTER_RELEASE" */
TEST(settle_captured_after_release)
{
    sfx f;
    sfx_open(&f);
    issue(&f, A, CR_PAY_RELEASE, ISSUED, HOLD);
    row(&f, "PSP-A", NULL, CR_ST_CAPTURE, HOLD, "USD", "2026-11-17T09:00:00Z", NULL);
    settle(&f);
    only(&f, CR_X_CAPTURED_AFTER_RELEASE, "CE2611-000201");
    CHECK_INT(f.pay[A].confirmed_row, 0);
    sfx_close(&f);
}

/* "capture | no action issued | UNEXPECTED_CAPTURE" */
TEST(settle_unexpected_capture)
{
    sfx f;
    sfx_open(&f);
    row(&f, "PSP-B", NULL, CR_ST_CAPTURE, HOLD, "USD", "2026-11-17T09:00:00Z", NULL);
    settle(&f);
    only(&f, CR_X_UNEXPECTED_CAPTURE, "CE2611-000202");
    sfx_close(&f);
}

/* "An action counts as issued at the as-of instant of the run that issued
 * it": a capture booked before that is UNEXPECTED_CAPTURE. */
TEST(settle_capture_before_issue_is_unexpected)
{
    sfx f;
    sfx_open(&f);
    issue(&f, A, CR_PAY_CAPTURE, ISSUED, HOLD);
    row(&f, "PSP-A", NULL, CR_ST_CAPTURE, HOLD, "USD", "2026-11-16T05:59:59Z", NULL);
    settle(&f);
    only(&f, CR_X_UNEXPECTED_CAPTURE, "CE2611-000201");
    CHECK_INT(f.pay[A].confirmed_row, 0);
    sfx_close(&f);
}

/* --- release rows -------------------------------------------------------- */

/* "release | release issued | action confirmed" (a release row has no
 * amount). */
TEST(settle_release_confirmed)
{
    sfx f;
    sfx_open(&f);
    issue(&f, B, CR_PAY_RELEASE, ISSUED, HOLD);
    row(&f, "PSP-B", NULL, CR_ST_RELEASE, -1, NULL, "2026-11-17T09:00:00Z", NULL);
    settle(&f);
    CHECK_INT(f.ex.n, 0);
    CHECK_INT(f.pay[B].confirmed_row, 1);
    CHECK(f.pay[B].seen_same_type);
    sfx_close(&f);
}

/* "release | anything else | UNEXPECTED_RELEASE": no action issued. */
TEST(settle_unexpected_release_no_action)
{
    sfx f;
    sfx_open(&f);
    row(&f, "PSP-B", NULL, CR_ST_RELEASE, -1, NULL, "2026-11-17T09:00:00Z", NULL);
    settle(&f);
    only(&f, CR_X_UNEXPECTED_RELEASE, "CE2611-000202");
    sfx_close(&f);
}

/* ... and with a capture issued. */
TEST(settle_unexpected_release_capture_issued)
{
    sfx f;
    sfx_open(&f);
    issue(&f, B, CR_PAY_CAPTURE, ISSUED, HOLD);
    row(&f, "PSP-B", NULL, CR_ST_RELEASE, -1, NULL, "2026-11-17T09:00:00Z", NULL);
    settle(&f);
    only(&f, CR_X_UNEXPECTED_RELEASE, "CE2611-000202");
    CHECK_INT(f.pay[B].confirmed_row, 0);
    sfx_close(&f);
}

/* --- expired, fee, chargeback, refund ------------------------------------ */

/* "expired | no action issued, or capture issued |
 * PREAUTH_EXPIRED_AT_PROCESSOR" */
TEST(settle_expired_no_action)
{
    sfx f;
    sfx_open(&f);
    row(&f, "PSP-C", NULL, CR_ST_EXPIRED, -1, NULL, "2026-11-17T09:00:00Z", NULL);
    settle(&f);
    only(&f, CR_X_PREAUTH_EXPIRED_AT_PROCESSOR, "CE2611-000203");
    sfx_close(&f);
}

TEST(settle_expired_capture_issued)
{
    sfx f;
    sfx_open(&f);
    issue(&f, C, CR_PAY_CAPTURE, ISSUED, HOLD);
    row(&f, "PSP-C", NULL, CR_ST_EXPIRED, -1, NULL, "2026-11-17T09:00:00Z", NULL);
    settle(&f);
    only(&f, CR_X_PREAUTH_EXPIRED_AT_PROCESSOR, "CE2611-000203");
    sfx_close(&f);
}

/* An expired hold after a release was issued is harmless: no exception. */
TEST(settle_expired_release_issued_is_fine)
{
    sfx f;
    sfx_open(&f);
    issue(&f, C, CR_PAY_RELEASE, ISSUED, HOLD);
    row(&f, "PSP-C", NULL, CR_ST_EXPIRED, -1, NULL, "2026-11-17T09:00:00Z", NULL);
    settle(&f);
    CHECK_INT(nexc(&f.ex, CR_X_PREAUTH_EXPIRED_AT_PROCESSOR), 0);
    CHECK_INT(f.ex.n, 0);
    sfx_close(&f);
}

/* "fee | amount != service_fee | FEE_MISMATCH" */
TEST(settle_fee_mismatch)
{
    sfx f;
    sfx_open(&f);
    row(&f, NULL, "CE2611-000202", CR_ST_FEE, FEE + 100, "USD", "2026-11-17T09:00:00Z", NULL);
    settle(&f);
    only(&f, CR_X_FEE_MISMATCH, "CE2611-000202");
    /* amounts in the detail in major units, as the workbook's */
    const cr_exc *x = find_exc(&f.ex, CR_X_FEE_MISMATCH);
    if (x)
        CHECK_STR(x->detail, "fee 80.00 USD, service fee is 79.00 USD");
    sfx_close(&f);
}

/* A fee equal to the service fee raises nothing. */
TEST(settle_fee_matching_is_silent)
{
    sfx f;
    sfx_open(&f);
    row(&f, NULL, "CE2611-000202", CR_ST_FEE, FEE, "USD", "2026-11-17T09:00:00Z", NULL);
    settle(&f);
    CHECK_INT(f.ex.n, 0);
    CHECK_INT(f.rows[0].claim, B);
    sfx_close(&f);
}

/* A claim archived out of the claim database (kept for its action): its
 * service fee is not known any more, so a fee row for it raises nothing. */
TEST(settle_fee_archived_claim_is_silent)
{
    sfx f;
    sfx_open(&f);
    f.cl[B].archived = true;
    f.cl[B].active = false;
    f.cl[B].service_fee = 0;
    row(&f, NULL, "CE2611-000202", CR_ST_FEE, FEE + 100, "USD", "2026-11-17T09:00:00Z", NULL);
    settle(&f);
    CHECK_INT(f.ex.n, 0);
    CHECK_INT(f.rows[0].claim, B);
    sfx_close(&f);
}

/* "chargeback | any | CHARGEBACK" */
TEST(settle_chargeback)
{
    sfx f;
    sfx_open(&f);
    issue(&f, A, CR_PAY_CAPTURE, ISSUED, HOLD);
    row(&f, "PSP-A", NULL, CR_ST_CHARGEBACK, HOLD, "USD", "2026-11-17T09:00:00Z", NULL);
    settle(&f);
    only(&f, CR_X_CHARGEBACK, "CE2611-000201");
    sfx_close(&f);
}

/* "refund | any | listed, no exception" */
TEST(settle_refund_no_exception)
{
    sfx f;
    sfx_open(&f);
    row(&f, "PSP-A", NULL, CR_ST_REFUND, FEE, "USD", "2026-11-17T09:00:00Z", NULL);
    settle(&f);
    CHECK_INT(f.ex.n, 0);
    CHECK_INT(f.rows[0].claim, A);
    sfx_close(&f);
}

/* --- matching ------------------------------------------------------------ */

/* "any | no claim found | UNMATCHED_SETTLEMENT" */
TEST(settle_unmatched_settlement)
{
    sfx f;
    sfx_open(&f);
    row(&f, "PSP-ZZZ", "CE2611-999999", CR_ST_CAPTURE, HOLD, "USD", "2026-11-17T09:00:00Z",
        "visa");
    settle(&f);
    CHECK_INT(f.ex.n, 1);
    const cr_exc *x = find_exc(&f.ex, CR_X_UNMATCHED_SETTLEMENT);
    CHECK(x != NULL);
    if (x)
        CHECK_STR(x->claim_id, "");
    CHECK_INT(f.rows[0].claim, -1);
    sfx_close(&f);
}

/* Two unmatched rows with a long reference in a file with a long name are
 * two findings with two IDs: the subject "ref@file:line" is never cut
 * (cut at 160 bytes, both lost their line numbers and shared one ID, so
 * one of them disappeared from the Exceptions sheet). */
TEST(settle_long_reference_findings_keep_their_own_ids)
{
    sfx f;
    sfx_open(&f);
    char ref[200], file[240];
    memset(ref, 'R', sizeof ref - 1);
    ref[sizeof ref - 1] = '\0';
    memset(file, 'f', sizeof file - 5);
    snprintf(file + sizeof file - 5, 5, ".csv");
    for (int k = 0; k < 2; k++)
        row(&f, ref, "CE2611-999999", CR_ST_CAPTURE, HOLD, "USD", "2026-11-17T09:00:00Z", "visa")->file =
            file;
    settle(&f);
    CHECK_INT(nexc(&f.ex, CR_X_UNMATCHED_SETTLEMENT), 2);
    if (f.ex.n == 2) {
        char id0[24], id1[24];
        cr_exc_id(f.ex.items[0].code, f.ex.items[0].subject, id0);
        cr_exc_id(f.ex.items[1].code, f.ex.items[1].subject, id1);
        CHECK(strcmp(id0, id1) != 0);
        CHECK_STR(f.ex.items[0].reference, ref);
        CHECK_STR(f.ex.items[1].source_file, file);
        CHECK(strstr(f.ex.items[1].subject, ".csv:12") != NULL);
    }
    sfx_close(&f);
}

/* "matched by psp_reference = preauth_ref, else by merchant_reference =
 * claim_id": with no psp reference, the merchant reference matches. */
TEST(settle_match_by_merchant_reference)
{
    sfx f;
    sfx_open(&f);
    issue(&f, B, CR_PAY_CAPTURE, ISSUED, HOLD);
    row(&f, NULL, "CE2611-000202", CR_ST_CAPTURE, HOLD, "USD", "2026-11-17T09:00:00Z", NULL);
    row(&f, "PSP-UNKNOWN", "CE2611-000203", CR_ST_REFUND, 100, "USD", "2026-11-17T09:00:00Z",
        NULL);
    settle(&f);
    CHECK_INT(f.rows[0].claim, B);
    CHECK_INT(f.rows[1].claim, C);
    CHECK_INT(f.pay[B].confirmed_row, 1);
    CHECK_INT(f.ex.n, 0);
    sfx_close(&f);
}

/* The psp reference comes first: it wins over a merchant reference naming
 * another claim. */
TEST(settle_match_psp_reference_first)
{
    sfx f;
    sfx_open(&f);
    issue(&f, A, CR_PAY_CAPTURE, ISSUED, HOLD);
    row(&f, "PSP-A", "CE2611-000202", CR_ST_CAPTURE, HOLD, "USD", "2026-11-17T09:00:00Z", NULL);
    settle(&f);
    CHECK_INT(f.rows[0].claim, A);
    CHECK_INT(f.pay[A].confirmed_row, 1);
    /* ... and says that the merchant reference named another claim, on
     * another hold (a reference a spreadsheet cut to 15 digits reads as a
     * neighbour's: the neighbour's capture confirmed, the real row taken
     * for a DUPLICATE_CAPTURE, and nothing said) */
    only(&f, CR_X_REFERENCE_MISMATCH, "CE2611-000201");
    const cr_exc *x = find_exc(&f.ex, CR_X_REFERENCE_MISMATCH);
    CHECK(x && x->detail && strstr(x->detail, "merchant reference names CE2611-000202 (hold PSP-B)"));
    sfx_close(&f);
    /* a merchant reference naming no claim (the processor's own order
     * number) is no mismatch */
    sfx_open(&f);
    issue(&f, A, CR_PAY_CAPTURE, ISSUED, HOLD);
    row(&f, "PSP-A", "ORDER-77", CR_ST_CAPTURE, HOLD, "USD", "2026-11-17T09:00:00Z", NULL);
    settle(&f);
    CHECK_INT(f.ex.n, 0);
    sfx_close(&f);
}

/* "any | card_brand given and != the claim's | CARD_MISMATCH", checked
 * besides the row's own outcome. */
TEST(settle_card_mismatch_besides_outcome)
{
    sfx f;
    sfx_open(&f);
    issue(&f, A, CR_PAY_CAPTURE, ISSUED, HOLD);
    row(&f, "PSP-A", NULL, CR_ST_CAPTURE, HOLD, "USD", "2026-11-17T09:00:00Z", "mastercard");
    row(&f, "PSP-B", NULL, CR_ST_CHARGEBACK, HOLD, "USD", "2026-11-17T09:00:00Z", "amex");
    settle(&f);
    CHECK_INT(f.pay[A].confirmed_row, 1);              /* still confirmed */
    CHECK_INT(nexc(&f.ex, CR_X_CARD_MISMATCH), 2);
    CHECK_INT(nexc(&f.ex, CR_X_CHARGEBACK), 1);
    CHECK_INT(f.ex.n, 3);
    sfx_close(&f);
}

/* The same brand, or no brand on the row, is no CARD_MISMATCH. */
TEST(settle_card_same_or_absent)
{
    sfx f;
    sfx_open(&f);
    row(&f, "PSP-A", NULL, CR_ST_REFUND, 100, "USD", "2026-11-17T09:00:00Z", "visa");
    row(&f, "PSP-C", NULL, CR_ST_REFUND, 100, "USD", "2026-11-17T09:00:00Z", NULL);
    /* a row stored by an older carerecon, in another spelling: the same */
    row(&f, "PSP-B", NULL, CR_ST_REFUND, 100, "USD", "2026-11-17T09:00:00Z", " Visa");
    settle(&f);
    CHECK_INT(f.ex.n, 0);
    sfx_close(&f);
}

/* Spellings of one network are one brand on both sides (a review:
 * "American Express" against amex was CARD_MISMATCH). */
TEST(settle_card_spellings)
{
    sfx f;
    sfx_open(&f);
    f.cl[A].card_brand = "amex";
    f.cl[B].card_brand = "mastercard";
    row(&f, "PSP-A", NULL, CR_ST_REFUND, 100, "USD", "2026-11-17T09:00:00Z", "American Express");
    row(&f, "PSP-B", NULL, CR_ST_REFUND, 100, "USD", "2026-11-17T09:00:00Z", "MC");
    settle(&f);
    CHECK_INT(nexc(&f.ex, CR_X_CARD_MISMATCH), 0);
    sfx_close(&f);
}

/* "settlement rows with booked_at <= D are considered": a later row is not
 * seen - it neither confirms nor raises anything. */
TEST(settle_rows_after_as_of_ignored)
{
    sfx f;
    sfx_open(&f);
    issue(&f, A, CR_PAY_CAPTURE, ISSUED, HOLD);
    row(&f, "PSP-A", NULL, CR_ST_CAPTURE, HOLD, "USD", "2026-11-18T06:00:01Z", NULL);
    row(&f, "PSP-ZZZ", NULL, CR_ST_CHARGEBACK, HOLD, "USD", "2026-11-19T00:00:00Z", NULL);
    row(&f, "PSP-B", NULL, CR_ST_CHARGEBACK, HOLD, "USD", AS_OF, NULL);      /* at D: seen */
    settle(&f);
    CHECK_INT(f.pay[A].confirmed_row, 0);
    CHECK_INT(f.ex.n, 1);
    CHECK_INT(nexc(&f.ex, CR_X_CHARGEBACK), 1);
    CHECK_INT(f.rows[2].claim, B);
    sfx_close(&f);
}

/* --- UNCONFIRMED_ACTION -------------------------------------------------- */

/* "A payment action with no settlement row of its type ... more than
 * settlement_confirm_days days after it was issued raises
 * UNCONFIRMED_ACTION": exactly 72 h is not yet more. */
TEST(settle_unconfirmed_not_at_boundary)
{
    sfx f;
    sfx_open(&f);
    f.as_of = T("2026-11-19T06:00:00Z");
    issue(&f, A, CR_PAY_CAPTURE, ISSUED, HOLD);
    settle(&f);
    CHECK_INT(nexc(&f.ex, CR_X_UNCONFIRMED_ACTION), 0);
    sfx_close(&f);
}

/* 72 h + 1 s: raised, for a capture and for a release. */
TEST(settle_unconfirmed_after_boundary)
{
    sfx f;
    sfx_open(&f);
    f.as_of = T("2026-11-19T06:00:01Z");
    issue(&f, A, CR_PAY_CAPTURE, ISSUED, HOLD);
    issue(&f, B, CR_PAY_RELEASE, ISSUED, HOLD);
    settle(&f);
    CHECK_INT(nexc(&f.ex, CR_X_UNCONFIRMED_ACTION), 2);
    CHECK_INT(f.ex.n, 2);
    const cr_exc *x = find_exc(&f.ex, CR_X_UNCONFIRMED_ACTION);
    CHECK(x != NULL);
    if (x)
        CHECK_STR(x->claim_id, "CE2611-000201");
    sfx_close(&f);
}

/* A row of its type (even a mismatched one) answers the action: no
 * UNCONFIRMED_ACTION. */
TEST(settle_unconfirmed_not_when_row_of_type_seen)
{
    sfx f;
    sfx_open(&f);
    f.as_of = T("2026-11-25T00:00:00Z");
    issue(&f, A, CR_PAY_CAPTURE, ISSUED, HOLD);
    issue(&f, B, CR_PAY_RELEASE, ISSUED, HOLD);
    row(&f, "PSP-A", NULL, CR_ST_CAPTURE, HOLD - 1, "USD", "2026-11-17T09:00:00Z", NULL);
    row(&f, "PSP-B", NULL, CR_ST_RELEASE, -1, NULL, "2026-11-24T09:00:00Z", NULL);
    settle(&f);
    CHECK_INT(nexc(&f.ex, CR_X_UNCONFIRMED_ACTION), 0);
    CHECK_INT(nexc(&f.ex, CR_X_SETTLEMENT_AMOUNT_MISMATCH), 1);
    CHECK_INT(f.pay[B].confirmed_row, 2);
    sfx_close(&f);
}

/* A row of another type is not a confirmation: a capture answered only by
 * a release row stays unconfirmed. */
TEST(settle_unconfirmed_when_only_other_type_seen)
{
    sfx f;
    sfx_open(&f);
    f.as_of = T("2026-11-25T00:00:00Z");
    issue(&f, A, CR_PAY_CAPTURE, ISSUED, HOLD);
    row(&f, "PSP-A", NULL, CR_ST_RELEASE, -1, NULL, "2026-11-17T09:00:00Z", NULL);
    settle(&f);
    CHECK_INT(nexc(&f.ex, CR_X_UNEXPECTED_RELEASE), 1);
    CHECK_INT(nexc(&f.ex, CR_X_UNCONFIRMED_ACTION), 1);
    sfx_close(&f);
}

/* A capture row booked before the action was issued does not confirm it:
 * it is unexpected, and the action is still unconfirmed later. */
TEST(settle_unconfirmed_when_row_before_issue)
{
    sfx f;
    sfx_open(&f);
    f.as_of = T("2026-11-25T00:00:00Z");
    issue(&f, A, CR_PAY_CAPTURE, ISSUED, HOLD);
    row(&f, "PSP-A", NULL, CR_ST_CAPTURE, HOLD, "USD", "2026-11-15T09:00:00Z", NULL);
    settle(&f);
    CHECK_INT(nexc(&f.ex, CR_X_UNEXPECTED_CAPTURE), 1);
    CHECK_INT(nexc(&f.ex, CR_X_UNCONFIRMED_ACTION), 1);
    CHECK_INT(f.pay[A].confirmed_row, 0);
    sfx_close(&f);
}

/* Nothing issued, nothing booked: nothing raised. */
TEST(settle_nothing_is_quiet)
{
    sfx f;
    sfx_open(&f);
    f.as_of = T("2026-12-31T00:00:00Z");
    settle(&f);
    CHECK_INT(f.ex.n, 0);
    sfx_close(&f);
}

/* A re-sent or corrected report repeats a capture row already read from
 * another file: it counts once, no DUPLICATE_CAPTURE.  Two equal rows in
 * one file are two captures. */
TEST(settle_resent_row_in_another_file_counts_once)
{
    sfx f;
    sfx_open(&f);
    issue(&f, A, CR_PAY_CAPTURE, ISSUED, HOLD);
    row(&f, "PSP-A", NULL, CR_ST_CAPTURE, HOLD, "USD", "2026-11-17T10:00:00Z", NULL);
    cr_srow *again = row(&f, "PSP-A", NULL, CR_ST_CAPTURE, HOLD, "USD", "2026-11-17T10:00:00Z", NULL);
    again->file = "batch_corrected.csv";
    settle(&f);
    CHECK_INT(nexc(&f.ex, CR_X_DUPLICATE_CAPTURE), 0);
    CHECK(again->resent);
    CHECK_INT(f.pay[A].confirmed_row, 1);
    sfx_close(&f);

    sfx_open(&f);
    issue(&f, A, CR_PAY_CAPTURE, ISSUED, HOLD);
    row(&f, "PSP-A", NULL, CR_ST_CAPTURE, HOLD, "USD", "2026-11-17T10:00:00Z", NULL);
    row(&f, "PSP-A", NULL, CR_ST_CAPTURE, HOLD, "USD", "2026-11-17T10:00:00Z", NULL);
    settle(&f);
    CHECK_INT(nexc(&f.ex, CR_X_DUPLICATE_CAPTURE), 1);
    sfx_close(&f);

    /* a report re-sent whole under its own name (a row added: another
     * file to the ingest) is another file too; one file's two equal rows
     * still count twice */
    sfx_open(&f);
    issue(&f, A, CR_PAY_CAPTURE, ISSUED, HOLD);
    row(&f, "PSP-A", NULL, CR_ST_CAPTURE, HOLD, "USD", "2026-11-17T10:00:00Z", NULL)->file_id = 1;
    again = row(&f, "PSP-A", NULL, CR_ST_CAPTURE, HOLD, "USD", "2026-11-17T10:00:00Z", NULL);
    again->file_id = 2;
    settle(&f);
    CHECK_INT(nexc(&f.ex, CR_X_DUPLICATE_CAPTURE), 0);
    CHECK(again->resent);
    sfx_close(&f);

    sfx_open(&f);
    issue(&f, A, CR_PAY_CAPTURE, ISSUED, HOLD);
    row(&f, "PSP-A", NULL, CR_ST_CAPTURE, HOLD, "USD", "2026-11-17T10:00:00Z", NULL)->file_id = 1;
    row(&f, "PSP-A", NULL, CR_ST_CAPTURE, HOLD, "USD", "2026-11-17T10:00:00Z", NULL)->file_id = 1;
    settle(&f);
    CHECK_INT(nexc(&f.ex, CR_X_DUPLICATE_CAPTURE), 1);
    sfx_close(&f);

    /* a corrected report fixes the card brand: the same capture, counted
     * once; the first row read stands for it */
    sfx_open(&f);
    issue(&f, A, CR_PAY_CAPTURE, ISSUED, HOLD);
    row(&f, "PSP-A", NULL, CR_ST_CAPTURE, HOLD, "USD", "2026-11-17T10:00:00Z", "visa")->file_id = 1;
    again = row(&f, "PSP-A", NULL, CR_ST_CAPTURE, HOLD, "USD", "2026-11-17T10:00:00Z", "mastercard");
    again->file_id = 2;
    settle(&f);
    CHECK_INT(nexc(&f.ex, CR_X_DUPLICATE_CAPTURE), 0);
    CHECK(again->resent);
    CHECK_INT(f.pay[A].confirmed_row, 1);
    sfx_close(&f);

    /* a corrected report re-sent with the processor's second, real capture
     * of the same amount: of its two equal rows one repeats the first
     * file's, the other is new, a DUPLICATE_CAPTURE (a review: both were
     * set aside as re-sent); sent a third time, nothing is new */
    sfx_open(&f);
    issue(&f, A, CR_PAY_CAPTURE, ISSUED, HOLD);
    row(&f, "PSP-A", NULL, CR_ST_CAPTURE, HOLD, "USD", "2026-11-17T10:00:00Z", NULL)->file_id = 1;
    cr_srow *r2a = row(&f, "PSP-A", NULL, CR_ST_CAPTURE, HOLD, "USD", "2026-11-17T10:00:00Z", NULL);
    r2a->file_id = 2;
    cr_srow *r2b = row(&f, "PSP-A", NULL, CR_ST_CAPTURE, HOLD, "USD", "2026-11-17T10:00:00Z", NULL);
    r2b->file_id = 2;
    cr_srow *r3a = row(&f, "PSP-A", NULL, CR_ST_CAPTURE, HOLD, "USD", "2026-11-17T10:00:00Z", NULL);
    r3a->file_id = 3;
    cr_srow *r3b = row(&f, "PSP-A", NULL, CR_ST_CAPTURE, HOLD, "USD", "2026-11-17T10:00:00Z", NULL);
    r3b->file_id = 3;
    settle(&f);
    CHECK_INT(nexc(&f.ex, CR_X_DUPLICATE_CAPTURE), 1);
    CHECK(r2a->resent && !r2b->resent);
    CHECK(r3a->resent && r3b->resent);
    CHECK_INT(f.pay[A].confirmed_row, 1);
    sfx_close(&f);
}

/* Two claims share one hold (one pre-authorization, one action: B's).  A
 * row on the hold goes to the claim whose action is on it, whichever claim
 * sorts first; with no action on it, to the claim its merchant reference
 * names; else to the first.  Before, it went to A: UNEXPECTED_RELEASE on
 * A and B's release unconfirmed. */
TEST(settle_shared_hold_row_goes_to_the_action_claim)
{
    sfx f;
    sfx_open(&f);
    f.cl[B].preauth_ref = "PSP-A";
    issue(&f, B, CR_PAY_RELEASE, ISSUED, HOLD);
    row(&f, "PSP-A", "CE2611-000202", CR_ST_RELEASE, -1, NULL, "2026-11-17T09:00:00Z", NULL);
    row(&f, "PSP-A", "CE2611-000201", CR_ST_RELEASE, -1, NULL, "2026-11-17T10:00:00Z", NULL);
    settle(&f);
    CHECK_INT(f.ex.n, 0);
    CHECK_INT(f.rows[0].claim, B);
    CHECK_INT(f.rows[1].claim, B);
    CHECK_INT(f.pay[B].confirmed_row, 1);

    sfx_close(&f);
    sfx_open(&f);
    f.cl[B].preauth_ref = "PSP-A";
    row(&f, "PSP-A", "CE2611-000202", CR_ST_FEE, FEE, "USD", "2026-11-17T09:00:00Z", NULL);
    row(&f, "PSP-A", "other", CR_ST_FEE, FEE, "USD", "2026-11-17T09:00:00Z", NULL);
    settle(&f);
    CHECK_INT(f.rows[0].claim, B);   /* named by its merchant reference */
    CHECK_INT(f.rows[1].claim, A);   /* neither: the first */
    sfx_close(&f);
}

/* A hold reference on many claims (a placeholder copied onto thousands of
 * claims, with as many rows on it): the row still goes to the first claim
 * whose payment action is on the hold and that its merchant reference
 * names, else the first with a payment action, else the first it names,
 * else the first; found without looking at every claim of the hold for
 * every row (a night grew with rows times claims: 30,000 of each, 31 s). */
TEST(settle_hold_on_many_claims_picks_as_for_few)
{
    enum { N = 40 };
    static char ids[N][16], keys[N][16];
    cr_claim cl[N];
    cr_payview pay[N];
    cr_policy pol = {.settlement_confirm_days = 3};
    for (int i = 0; i < N; i++) {
        snprintf(ids[i], sizeof ids[i], "CE-%04d", i);
        snprintf(keys[i], sizeof keys[i], "ce-%04d", i);
        claim(&cl[i], ids[i], "PSP-X", "visa");
        cl[i].key = keys[i];
        pay[i] = (cr_payview){.kind = CR_PAY_NONE, .issued_at = CR_TIME_NONE};
    }
    /* an id too long to key (keyed ""), named by a reference as long */
    static char long_id[300], long_ref[300];
    memset(long_id, 'L', sizeof long_id - 1);
    memset(long_ref, 'l', sizeof long_ref - 1);
    cl[20].claim_id = long_id;
    cl[20].key = "";
    for (int p = 0; p < 2; p++) {
        int k = p ? 35 : 30;
        pay[k] = (cr_payview){.kind = CR_PAY_CAPTURE, .issued_at = T(ISSUED), .amount = HOLD,
                              .currency = "USD", .action_id = 100 + k};
    }
    static const struct {
        const char *merchant;
        int want;
    } cases[] = {
        {"ce-0035 ", 35},   /* a payment action and named (any case, blanks) */
        {"CE-0010", 30},    /* named, but the first with a payment action wins */
        {"CE-9999", 30},    /* names no claim of the hold */
        {NULL, 30},
        {long_ref, 30},
    };
    cr_srow rows[5];
    for (int c = 0; c < 5; c++) {
        memset(&rows[c], 0, sizeof rows[c]);
        rows[c].id = c + 1;
        rows[c].psp_ref = "PSP-X";
        rows[c].merchant_ref = cases[c].merchant;
        rows[c].type = CR_ST_FEE;
        rows[c].raw_type = "Fee";
        rows[c].has_amount = true;
        rows[c].amount = FEE;
        snprintf(rows[c].currency, sizeof rows[c].currency, "USD");
        rows[c].booked_at = T("2026-11-17T09:00:00Z");
        rows[c].file = "batch.csv";
        rows[c].line = 10 + c;
    }
    cr_excs ex = {0};
    CHECK_INT(cr_settle(cl, N, rows, 5, pay, &pol, NULL, T(AS_OF), &ex), CR_OK);
    for (int c = 0; c < 5; c++)
        CHECK_INT(rows[c].claim, cases[c].want);
    cr_excs_release(&ex);
    /* without payment actions: the first it names, else the first */
    for (int p = 0; p < 2; p++)
        pay[p ? 35 : 30].kind = CR_PAY_NONE;
    cr_excs ex2 = {0};
    CHECK_INT(cr_settle(cl, N, rows, 5, pay, &pol, NULL, T(AS_OF), &ex2), CR_OK);
    CHECK_INT(rows[0].claim, 35);
    CHECK_INT(rows[1].claim, 10);
    CHECK_INT(rows[2].claim, 0);
    CHECK_INT(rows[3].claim, 0);
    CHECK_INT(rows[4].claim, 20);   /* the long reference names the long id */
    cr_excs_release(&ex2);
}
