/*
 * feed.h - one input file's bytes, read through its feed's layout into
 * canonical receipt events, settlement rows and rejected rows (SPEC 2.2-2.4).
 *
 * Pure: no I/O.  The caller hands the bytes and a sink; every row of the
 * file ends up in exactly one of the sink's three callbacks, or is counted
 * as ignored (a value the feed maps to `ignore`).
 */
#ifndef CR_FEED_H
#define CR_FEED_H

#include "config.h"

typedef enum cr_reason {
    CR_R_MISSING_FIELD = 0,
    CR_R_BAD_DATETIME,
    CR_R_BAD_AMOUNT,
    CR_R_BAD_BOOLEAN,
    CR_R_UNKNOWN_VALUE,
    CR_R_BAD_ROW,
    CR_R_MISSING_COLUMN,
    CR_R_COUNT
} cr_reason;
const char *cr_reason_name(cr_reason r);

typedef enum cr_event_kind { CR_EV_SHIPPED = 0, CR_EV_DELIVERED, CR_EV_RECEIVED } cr_event_kind;
const char *cr_event_name(cr_event_kind k);

typedef enum cr_settle_type {
    CR_ST_CAPTURE = 0, CR_ST_RELEASE, CR_ST_EXPIRED, CR_ST_REFUND, CR_ST_FEE, CR_ST_CHARGEBACK
} cr_settle_type;
const char *cr_settle_type_name(cr_settle_type t);
/* "capture" -> CR_ST_CAPTURE ...; -1 when unknown (incl. "ignore") */
int cr_settle_type_from_name(const char *s);

/* Pointers are valid during the callback only; empty text is NULL. */
typedef struct cr_receipt_row {
    long line;
    const char *tracking;
    const char *claim_ref;
    cr_event_kind event;
    cr_time_t at;
    const char *serial;       /* received only */
    int battery_returned;     /* 0/1, -1 when not received */
    int genuine;              /* 0/1, -1 when not received */
} cr_receipt_row;

typedef struct cr_settle_row {
    long line;
    const char *psp_ref;
    const char *merchant_ref;
    cr_settle_type type;
    const char *raw_type;     /* the processor's own type text */
    bool has_amount;
    cr_money_t amount;        /* absolute value, minor units */
    char currency[4];         /* "" when absent */
    cr_time_t booked_at;
    const char *card_brand;   /* mapped and lower-cased, or NULL */
} cr_settle_row;

typedef struct cr_reject_row {
    long line;                /* a whole-file reject: the header's line (0: none) */
    cr_reason reason;
    const char *field;        /* the canonical field at fault, or NULL */
    const char *detail;       /* what was wrong, for a person */
    const char *raw;
    size_t raw_len;
    const char *claim_ref;    /* a receipt row's claim_ref, when its fields line up with the
                               * header's, else NULL */
    const char *serial;       /* its serial, the same way */
} cr_reject_row;

typedef struct cr_feed_sink {
    void *ud;
    cr_err (*receipt)(void *ud, const cr_receipt_row *row);
    cr_err (*settlement)(void *ud, const cr_settle_row *row);
    cr_err (*reject)(void *ud, const cr_reject_row *row);
} cr_feed_sink;

typedef struct cr_feed_stats {
    long rows;       /* data records seen (not the header) */
    long accepted;
    long rejected;
    long ignored;
    long header_line;          /* the header record's line (0: no header) */
    const char *header_field;  /* a file rejected whole: the field whose column is at fault, or NULL */
} cr_feed_stats;

/* Reads DATA[0..LEN) with FEED's layout.  Returns CR_OK when the file was
 * read (its bad rows went to sink->reject), CR_EDATA when the whole file is
 * rejected (its header lacks a mapped column, has too many columns, or the
 * file is empty): then nothing went to the sink and WHY says what, or
 * another error from the sink or memory. */
cr_err cr_feed_parse(const cr_config *cfg, const cr_feed *feed, const char *data, size_t len,
                     const cr_feed_sink *sink, cr_feed_stats *stats, char *why, size_t whylen);

/* Does NAME match FEED's `files` glob? */
bool cr_feed_matches(const cr_feed *feed, const char *name);

/* Checks that S[0..N) is valid UTF-8. */
bool cr_utf8_valid(const char *s, size_t n);

#endif
