/*
 * settle.h - settlement rows against issued payment actions (SPEC 4,
 * "Settlement"), and UNCONFIRMED_ACTION.  Pure: no I/O.
 */
#ifndef CR_SETTLE_H
#define CR_SETTLE_H

#include "rules.h"

/* A stored settlement row with its provenance. */
typedef struct cr_srow {
    int64_t id;
    const char *psp_ref, *merchant_ref;
    const char *raw_type;
    const char *card_brand;
    const char *file;
    int64_t file_id;           /* the ingested file (a file re-sent under its name is another) */
    long line;
    cr_money_t amount;
    cr_time_t booked_at;
    cr_settle_type type;
    int claim;                 /* matched claim index, -1 none (set by cr_settle) */
    char currency[4];
    bool has_amount;
    bool resent;               /* the same row came before in another file (set by cr_settle) */
    /* (widest fields first: a million rows are held at once) */
} cr_srow;

/* A claim's payment action as the settlement rules see it. */
typedef enum cr_pay_kind { CR_PAY_NONE = 0, CR_PAY_CAPTURE, CR_PAY_RELEASE } cr_pay_kind;

typedef struct cr_payview {
    cr_pay_kind kind;
    cr_time_t issued_at;
    cr_money_t amount;
    const char *currency;
    int64_t action_id;
    /* outputs */
    int64_t confirmed_row;     /* the settlement row that confirmed it, 0 none */
    cr_time_t confirmed_at;
    bool seen_same_type;       /* a row of the action's type was booked after issue */
} cr_payview;

/* Matches ROWS to CLAIMS (by psp_reference = preauth_ref, else
 * merchant_reference = claim_id), takes those booked by AS_OF in booked_at
 * order and applies the table of SPEC 4 against PAY[claim index], raising
 * exceptions into EXCS and filling the outputs of PAY.  A row equal in
 * every field to a row of another file that came before (a re-sent or
 * corrected report) counts once; equal rows within one file all count.
 * Then raises UNCONFIRMED_ACTION for actions older than
 * settlement_confirm_days with no row of their type.  Amounts in the
 * exceptions' details are in major units, times in TZ.  CLAIMS must be
 * sorted by cr_claim_order. */
cr_err cr_settle(const cr_claim *claims, size_t nclaims, cr_srow *rows, size_t nrows,
                 cr_payview *pay, const cr_policy *policy, const cr_tz *tz, cr_time_t as_of,
                 cr_excs *excs);

#endif
