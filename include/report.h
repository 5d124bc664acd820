/*
 * report.h - the finance workbook (SPEC 6.3), written with libxlsxwriter.
 *
 * report.c only formats: the run hands it everything as plain rows.  Text
 * that came from input files is always written as a string cell, never as
 * a formula.  The workbook is written to a temporary name in the target
 * folder and renamed when complete.
 */
#ifndef CR_REPORT_H
#define CR_REPORT_H

#include "config.h"
#include "spool.h"
#include "store.h"

/* One row of Captures, Releases, Pending or Fulfillment.  NULL text and
 * CR_TIME_NONE instants are written as empty cells. */
typedef struct cr_rep_row {
    const char *claim_id;
    const char *psp_ref;
    const char *card_brand;
    const char *currency;
    const char *reason;
    const char *detail;        /* all non-conformities (captures) */
    const char *received_sn;
    const char *registered_sn;
    const char *region;
    const char *product_model;
    const char *state;         /* pending: pending | in_transit | awaiting_checkin */
    cr_money_t amount;         /* minor units of currency */
    cr_time_t deadline;
    cr_time_t arrived_at;
    cr_time_t shipped_at;
    cr_time_t hold_expires;
    cr_time_t received_at;
    long days_left;            /* pending: calendar days from the as-of day to the deadline day */
    bool reminder;
    bool auth_expired;         /* captures: issued after the hold expired */
} cr_rep_row;

/* The rows of one sheet: those spilled to a file (cr_rep_rows_spool), in
 * the order they were added, then those in memory.  A night's hundreds of
 * thousands of Releases rows wait on disk for the workbook, not in memory. */
typedef struct cr_rep_rows {
    cr_rep_row *items;         /* the rows in memory */
    size_t n, cap;
    cr_spool spool;            /* the rows spilled (cr_rep_rows_spool), before those in memory */
} cr_rep_rows;
/* Appends a zeroed row (instants set to CR_TIME_NONE); NULL on no memory. */
cr_rep_row *cr_rep_rows_add(cr_rep_rows *l);
/* Frees the rows and closes the spool (the strings rows point to are the caller's). */
void cr_rep_rows_release(cr_rep_rows *l);
/* Rows of L spill from now on to a spool beside the workbook LIKE
 * (cr_spool_open). */
cr_err cr_rep_rows_spool(cr_rep_rows *l, const char *like, int *err);
/* Moves the rows in memory to the spool, their text copied (nothing when L
 * has no spool).  A write that fails sets spool.err and drops the rows:
 * CR_EIO; the caller says so once. */
cr_err cr_rep_rows_spill(cr_rep_rows *l);
/* Writes out what the spool buffers; CR_EIO as cr_rep_rows_spill. */
cr_err cr_rep_rows_seal(cr_rep_rows *l);
/* All rows of L, spilled and in memory. */
size_t cr_rep_rows_count(const cr_rep_rows *l);

/* Reads L's rows in order: the row returned (and its text) stays valid
 * until the next call.  NULL at the end or on an error, which *IT says. */
typedef struct cr_rep_iter {
    cr_rep_rows *l;
    size_t i;                  /* rows returned */
    cr_rep_row row;            /* a spilled row, read back */
    int err;                   /* errno of a failed read (EILSEQ: a damaged record) */
} cr_rep_iter;
const cr_rep_row *cr_rep_rows_first(const cr_rep_rows *l, cr_rep_iter *it);
const cr_rep_row *cr_rep_rows_next(cr_rep_iter *it);
/* Ends IT (the spool is ready for more rows); returns 0 or the errno of
 * the read that stopped it. */
int cr_rep_iter_end(cr_rep_iter *it);

/* A refund row of the processor's (SPEC 4: "listed, no exception"). */
typedef struct cr_rep_refund {
    const char *claim_id;      /* the claim it matched, NULL when none */
    const char *psp_ref, *merchant_ref;
    cr_money_t amount;         /* minor units of currency */
    const char *currency;
    cr_time_t booked_at;
    const char *file;
    long line;
    int64_t row_id;            /* the settlement row (recorded as listed by this run) */
    const char *detail;        /* NULL, or why it is listed here ("taken in by run N, ...") */
} cr_rep_refund;

/* A file this run looked at. */
typedef struct cr_rep_file {
    const char *name;
    const char *kind;          /* receipts | settlements */
    const char *feed;          /* NULL when no feed matched */
    const char *outcome;       /* ingested | skipped (same content as ...) | rejected | no feed */
    const char *detail;
    long rows, accepted, rejected, ignored;
} cr_rep_file;

typedef struct cr_report {
    const cr_config *cfg;      /* time zone, currency exponents */
    int64_t run_id;            /* 0 for a dry run */
    cr_time_t as_of;
    cr_time_t generated_at;
    bool dry_run;
    const char *mode;          /* "LIVE" or "DRY RUN" */
    const cr_run_stats *stats;
    const cr_rep_rows *captures, *releases, *pending, *fulfillment;   /* NULL: none */
    size_t n_carried;          /* of the actions listed, those of earlier runs whose workbook
                                * was not written (their rows say which run) */
    const cr_exc_row *exceptions; size_t n_exceptions;   /* open as of as_of */
    const cr_reject_view *rejects; size_t n_rejects;     /* this run's, incl. whole files (at the header line) */
    const cr_rep_file *files;    size_t n_files;
    const cr_rep_refund *refunds; size_t n_refunds;      /* ingested by this run (complete) */
    const char *payment_file;    /* action files of this run, or NULL */
    const char *fulfillment_file;
    /* Called once the sheets of this run's decisions (Captures, Releases,
     * Pending, Fulfillment) are written and before the others: fills in the
     * rest of *R (exceptions, rejects; stats is read only after it) and
     * may block until they are known.  An error abandons the workbook.
     * NULL: R is complete from the start. */
    cr_err (*complete)(void *ud, struct cr_report *r);
    void *complete_ud;
    /* A night in parts hands the rows of its decision sheets over part by
     * part: called while it returns 1, each time with the next part's
     * rows of Captures, Releases, Pending and Fulfillment (NULL: none),
     * read before the next call; 0: no more parts, the lists above come
     * next; -1: the workbook is dropped (CR_EIO, nothing more is read).
     * May block until the next part is decided.  NULL: only the lists above. */
    int (*next_part)(void *ud, const cr_rep_rows *rows[4]);
    void *next_part_ud;
    /* Asked once the workbook is complete and flushed, before it takes its
     * name: false removes it (nothing is written; CR_OK).  May block, e.g.
     * until the run's state is committed.  NULL: always published. */
    bool (*publish)(void *ud);
    void *publish_ud;
} cr_report;

/* Writes the workbook to PATH (via PATH.tmp-XXXX and rename).
 * CR_ECANTCREAT when the file cannot be created, CR_EIO on a write error. */
cr_err cr_report_write(const cr_report *r, const char *path);

/* Text safe for a cell: invalid UTF-8 bytes and control characters other
 * than tab and newline become U+FFFD, cut at 32767 characters (Excel's
 * limit).  Returns a malloc'd string (NULL on no memory). */
char *cr_cell_text(const char *s);

#endif
