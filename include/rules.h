/*
 * rules.h - the business rules of SPEC section 4, pure: no I/O, no SQL.
 *
 * Input: the claims, the receipt events, the policy and the as-of instant.
 * Output: for each claim a decision with its reason, detail, pending state
 * and the exceptions it raises.  The orchestrator (run.c) loads the inputs
 * from the stores and records the outputs.
 */
#ifndef CR_RULES_H
#define CR_RULES_H

#include "config.h"
#include "crtime.h"
#include "feed.h"

/* Exception codes (SPEC section 4), and one of carerecon's own:
 * CLAIM_DATA_INVALID, for a claim row the rules cannot read. */
typedef enum cr_code {
    CR_X_SN_NEAR_MATCH = 0,
    CR_X_UNMATCHED_RECEIPT,
    CR_X_AWAITING_CHECKIN,
    CR_X_AUTH_EXPIRED,
    CR_X_AUTH_EXPIRES_BEFORE_DEADLINE,
    CR_X_NONCONFORMING_BASIC,
    CR_X_MISSING_PREAUTH,
    CR_X_PREAUTH_EXCEEDS_VALUE,
    CR_X_PREMIUM_REGION_NOT_ALLOWED,
    CR_X_CARD_BRAND_NOT_ALLOWED,
    CR_X_INELIGIBLE_CLAIM,
    CR_X_RECEIPT_FOR_CANCELLED_CLAIM,
    CR_X_MULTIPLE_RECEIPTS,
    CR_X_SERIAL_REUSED,
    CR_X_ACTION_CONFLICT,
    CR_X_DUPLICATE_CAPTURE,
    CR_X_CURRENCY_MISMATCH,
    CR_X_SETTLEMENT_AMOUNT_MISMATCH,
    CR_X_CAPTURED_AFTER_RELEASE,
    CR_X_UNEXPECTED_CAPTURE,
    CR_X_UNEXPECTED_RELEASE,
    CR_X_PREAUTH_EXPIRED_AT_PROCESSOR,
    CR_X_FEE_MISMATCH,
    CR_X_CHARGEBACK,
    CR_X_UNMATCHED_SETTLEMENT,
    CR_X_CARD_MISMATCH,
    CR_X_UNCONFIRMED_ACTION,
    CR_X_CLAIM_DATA_INVALID,
    CR_X_REFERENCE_MISMATCH,
    CR_X_COUNT
} cr_code;

typedef enum cr_severity { CR_SEV_LOW = 0, CR_SEV_MEDIUM, CR_SEV_HIGH } cr_severity;

const char *cr_code_name(cr_code c);
int cr_code_from_name(const char *s);           /* -1 when unknown */
cr_severity cr_code_severity(cr_code c);
const char *cr_severity_name(cr_severity s);
/* Waiting codes resolve themselves when their condition is gone. */
bool cr_code_is_waiting(cr_code c);

/* One finding.  SUBJECT identifies what it is about (a claim id, a
 * "file:line", a processor reference); with CODE it makes the stable ID.
 * The strings are whole (never cut: a subject cut short could give two
 * findings one ID), "" when there is none, and live in the list's pool. */
typedef struct cr_exc {
    cr_code code;
    const char *claim_id;
    const char *subject;
    const char *reference;
    const char *detail;
    const char *source_file;
    long source_line;
    const char *currency;          /* the money at stake: AMOUNT of CURRENCY; NULL: none */
    cr_money_t amount;
} cr_exc;

typedef struct cr_excs {
    cr_exc *items;
    size_t n, cap;
    bool oom;
    cr_pool pool;              /* the findings' strings */
} cr_excs;
/* Appends a finding; on no memory sets ->oom and drops it. */
cr_exc *cr_excs_add(cr_excs *l, cr_code code, const char *claim_id, const char *subject);
/* Sets FIELD (a string of a finding of L) to the formatted text; on no
 * memory sets ->oom and leaves FIELD as it was. */
void cr_exc_set(cr_excs *l, const char **field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Sets the money at stake in finding X of L: AMOUNT minor units of CURRENCY. */
void cr_exc_money(cr_excs *l, cr_exc *x, cr_money_t amount, const char *currency);
void cr_excs_release(cr_excs *l);
/* The stable ID of CODE + SUBJECT: "EX-" and 16 hex digits. */
void cr_exc_id(cr_code code, const char *subject, char out[24]);

/* A claim as the rules see it.  Strings are owned by whoever loaded it. */
typedef struct cr_claim {
    const char *claim_id;
    const char *key;               /* claim_id trimmed and lower-cased (cr_claim_key), or
                                    * NULL: then lookups compare claim_id as they go */
    const char *plan, *status;
    const char *region;
    const char *product_model;
    const char *registered_sn;
    const char *currency;
    const char *preauth_ref;       /* NULL when absent */
    const char *card_brand;        /* lower-cased, or NULL */
    const char *invalid;           /* why the row cannot be read, or NULL */
    const char *norm_sn;           /* normalized registered serial (cr_serial_normalize,
                                    * at most 63 bytes), "" when none */
    cr_money_t product_value;
    cr_money_t service_fee;
    cr_money_t preauth_amount;
    cr_time_t paid_at;             /* CR_TIME_NONE when unreadable */
    uint64_t fp;                   /* fingerprint of the claim row as read (0: not read) */
    int battery_registered;
    int return_days;               /* resolved: the claim's, else the policy's */
    cr_day_t refresh_expires_on;   /* INT32_MIN when unreadable */
    int replacements_left;
    bool premium;
    bool active;
    bool archived;                 /* not in the claim database any more: made from the
                                    * payment action issued for it (never decided; its
                                    * action still waits for its settlement) */
    bool has_preauth_amount;
    /* (widest fields first: a million claims are held at once) */
} cr_claim;

/* A stored receipt event with its provenance. */
typedef struct cr_event {
    int64_t id;
    const char *tracking, *claim_ref, *serial;
    cr_event_kind kind;
    cr_time_t at;
    int battery_returned, genuine;
    const char *file;
    long line;
    int claim;                     /* index of the matched claim, -1 none */
    bool duplicate;                /* the same event seen before: counts once */
} cr_event;

/* Normalizes a serial: trimmed, a scanner symbology prefix (']' and two
 * characters) and control characters removed, spaces and hyphens removed,
 * upper case.  Writes at most N-1 bytes and a NUL. */
void cr_serial_normalize(const char *in, char *out, size_t n);
/* Whether NORM, a tracking number normalized as a serial, is a placeholder
 * a depot writes for a unit that came without one ("N/A", "NONE",
 * "WALKIN", "0", "000000"): nothing but zeros, or one of the words for
 * "none" (letters and digits compared, in any case); or what a spreadsheet
 * left of a long number ("9.40011E+21": its digits are lost, and two
 * packages print the same).  Such a number matches nothing (SPEC 4's "the
 * same tracking number" would tie every walk-in to one claim). */
bool cr_tracking_placeholder(const char *norm);
/* True when two normalized serials differ but are equal once O->0, I->1,
 * L->1, S->5 are folded. */
bool cr_serial_near_match(const char *a, const char *b);

/* Matches events to claims (SPEC 4, "Matching receipts to claims"),
 * marking duplicates.  Only events with at <= AS_OF take part (others get
 * claim -1 and are left alone).  Raises UNMATCHED_RECEIPT,
 * RECEIPT_FOR_CANCELLED_CLAIM and SERIAL_REUSED into EXCS.  CLAIMS must be
 * sorted by cr_claim_order. */
cr_err cr_match_events(const cr_claim *claims, size_t nclaims, cr_event *events, size_t nevents,
                       cr_time_t as_of, cr_excs *excs);

/* Claim ids compare trimmed and case-insensitive. */
int cr_claim_id_cmp(const char *a, const char *b);
/* Writes ID trimmed and lower-cased into OUT (N bytes); false when it does
 * not fit.  strcmp on keys orders as cr_claim_id_cmp on ids. */
bool cr_claim_key(const char *id, char *out, size_t n);
/* The order of a night's claims (qsort): by key, claims whose ids differ
 * only in case or spaces by their exact id, so that the same claims sort
 * the same way in any night that holds them all. */
int cr_claim_order(const void *a, const void *b);
/* The same order of two ids whose keys are not at hand (an id too long to
 * key sorts with the empty key, as the claim database's reader keys it). */
int cr_claim_id_order(const char *a, const char *b);
/* An index into some array by a text key; sorted by cr_keyed_cmp (key,
 * then index), equal keys keep the order of the array they index. */
typedef struct cr_keyed {
    const char *key;
    size_t idx;
} cr_keyed;
int cr_keyed_cmp(const void *a, const void *b);
/* The first entry with KEY in K[0..N) sorted by cr_keyed_cmp, or N. */
size_t cr_keyed_find(const cr_keyed *k, size_t n, const char *key);
/* Binary search in CLAIMS sorted by cr_claim_order: the first claim with
 * ID's key; -1 when none. */
long cr_claim_find(const cr_claim *claims, size_t n, const char *id);
/* cr_claim_find among the claims that are not archived (a claim kept only
 * for its payment action): -1 when none. */
long cr_claim_find_live(const cr_claim *claims, size_t n, const char *id);
/* The claim whose claim_id is exactly ID (what the state records of it:
 * its actions, decisions), in CLAIMS sorted by cr_claim_order; -1 when none. */
long cr_claim_find_exact(const cr_claim *claims, size_t n, const char *id);

typedef enum cr_decision_kind {
    CR_D_NONE = 0,         /* not decided (not active, not paid yet, missing preauth) */
    CR_D_PENDING,
    CR_D_CAPTURE,
    CR_D_RELEASE,
    CR_D_SHIP,             /* basic: ship_replacement */
    CR_D_NONCONFORMING,    /* basic: exception only */
    CR_D_WAITING           /* basic: nothing checked in yet */
} cr_decision_kind;
const char *cr_decision_name(cr_decision_kind d);

typedef enum cr_pending_state { CR_P_NONE = 0, CR_P_PENDING, CR_P_IN_TRANSIT, CR_P_AWAITING_CHECKIN } cr_pending_state;
const char *cr_pending_name(cr_pending_state s);

typedef struct cr_decision {
    cr_decision_kind kind;
    const char *reason;            /* RETURNED, LATE_RETURN, NOT_RETURNED, NON_GENUINE, ... or NULL */
    char detail[256];              /* all non-conformities, or other explanation */
    cr_pending_state state;
    bool reminder;
    cr_money_t amount;             /* capture: min(preauth, value); release: preauth */
    cr_time_t deadline, grace_end;
    cr_time_t shipped_at, delivered_at, checkin_at, arrival; /* CR_TIME_NONE when none */
    cr_time_t hold_expires;        /* CR_TIME_NONE when unknown */
    const cr_event *checkin;       /* the deciding check-in, or NULL */
} cr_decision;

/* Everything the per-claim rule needs besides the claim and its events. */
typedef struct cr_rules_ctx {
    const cr_policy *policy;
    const cr_tz *tz;
    cr_time_t as_of;
} cr_rules_ctx;

/* Decides claim C from its matched, de-duplicated events EV[0..N) (any
 * order), and raises the claim checks and decision exceptions into EXCS.
 * Nothing is decided (kind NONE) for a claim that is not active or not paid
 * by the as-of instant. */
void cr_decide(const cr_rules_ctx *rc, const cr_claim *c, const cr_event *const *ev, size_t n,
               cr_decision *out, cr_excs *excs);

/* Whether the hold of C expires before the end of the time it may wait. */
cr_time_t cr_hold_expiry(const cr_policy *p, const cr_claim *c);

#endif
