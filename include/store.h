/*
 * store.h - every SQL statement of carerecon: the state database it owns
 * (runs, files, events, settlement rows, rejected rows, decisions, actions,
 * exceptions) and the claim database it only reads.
 *
 * SQLite is spoken to here only, with bound parameters only.  Functions
 * are named for what they do, so another database could stand in later.
 */
#ifndef CR_STORE_H
#define CR_STORE_H

#include "feed.h"
#include "parts.h"
#include "rules.h"
#include "settle.h"
#include <pthread.h>

typedef struct cr_store cr_store;

/* Opens (creating when CREATE) and migrates the state database at PATH.
 * PATH ":memory:" gives a private in-memory database. */
cr_err cr_store_open(const char *path, bool create, cr_store **out);
void cr_store_close(cr_store *s);
/* Makes the calling thread the one that uses S from now on (a connection
 * is used by one thread at a time, handed over by a join or the night's
 * recorder; with $CARERECON_CHECK_THREADS set, another thread's use aborts). */
void cr_store_own(cr_store *s);
/* Hands S to thread T (started to use it), from the thread that holds it. */
void cr_store_hand(cr_store *s, pthread_t t);
/* Opens a second, read-only connection to S's file, for loads on another
 * thread (its own cache and statements; close it with cr_store_close before
 * S changes journal mode).  Fails (CR_EIO, nothing printed) for an
 * in-memory store or while S is inside a transaction: the reader would not
 * see what S has not committed. */
cr_err cr_store_open_reader(cr_store *s, cr_store **out);
int cr_store_schema_version(cr_store *s);

/* While ON, commits do not wait for the disk (synchronous NORMAL): for the
 * ingestion's commit per file.  Losing those to a power cut loses nothing
 * (the files are still in the inbox, and are read again); in write-ahead
 * log mode the next commit with OFF (FULL, the default) makes every commit
 * before it durable too, so the decisions never stand on rows that are not.
 * Inside a transaction it changes nothing (SQLite refuses it there). */
cr_err cr_store_sync_ingest(cr_store *s, bool on);
/* The connection's PRAGMA synchronous (2 FULL, 1 NORMAL), -1 on error. */
int cr_store_sync_level(cr_store *s);

/* Transactions.  Savepoints nest inside an outer transaction. */
cr_err cr_store_begin(cr_store *s);
cr_err cr_store_commit(cr_store *s);
cr_err cr_store_rollback(cr_store *s);
cr_err cr_store_savepoint(cr_store *s);
cr_err cr_store_savepoint_release(cr_store *s);
cr_err cr_store_savepoint_rollback(cr_store *s);

/* --- runs --- */
typedef struct cr_run_stats {
    long files_ingested, files_skipped, files_rejected, files_unmatched;
    long files_unread;         /* named like a feed's file but could not be read: left for the
                                * next run (not in files_rejected, which Rejected Rows lists) */
    long claims_without_id;    /* claim rows read this night that have no claim_id */
    long rows_accepted, rows_rejected, rows_ignored;
    long captures, releases, pending, ships, conflicts, previously_issued;
    long exceptions_open, exceptions_new, exceptions_resolved;
} cr_run_stats;

cr_err cr_store_run_start(cr_store *s, cr_time_t as_of, const char *mode, cr_time_t now,
                          int64_t *run_id);
/* Records PATH as where run RUN_ID's workbook is to be published (in the
 * transaction of its decisions), and AFTER_NS (nanoseconds since 1970) as
 * the time before which a file there is not its workbook (the run's start). */
cr_err cr_store_run_workbook(cr_store *s, int64_t run_id, const char *path, int64_t after_ns);
/* Marks as published the runs after LISTED and before RUN_ID that did not
 * finish but whose workbook is there (a regular file where it was to be
 * published, written since AFTER_NS): they are not listed again.  *FOUND: how many (at most 64 a
 * night; more are left for the next). */
cr_err cr_store_runs_published(cr_store *s, int64_t run_id, int64_t listed, int *found);
cr_err cr_store_run_finish(cr_store *s, int64_t run_id, const char *status, cr_time_t now,
                           const cr_run_stats *st);
/* Runs before BEFORE_RUN that stopped before recording their decisions
 * (killed: status still "running"), marked "failed" now (the run lock says
 * none of them goes on), and how many. */
cr_err cr_store_runs_close_unfinished(cr_store *s, int64_t before_run, cr_time_t now, long *count);
/* The latest as-of instant a run decided (CR_TIME_NONE: none). */
cr_err cr_store_latest_as_of(cr_store *s, cr_time_t *as_of);
/* How many runs the state records (dry runs' are rolled back). */
cr_err cr_store_runs_count(cr_store *s, long *count);
/* Whether the state records live run RUN_ID. */
cr_err cr_store_run_live(cr_store *s, int64_t run_id, bool *live);

/* --- files and their rows --- */
/* Looks a content hash up; *FOUND tells, NAME gets the name it came in as. */
cr_err cr_store_file_find(cr_store *s, const char *sha256, bool *found, char *name, size_t n);
/* The run that last ingested another file (other content) under NAME than
 * file FILE_ID, or 0: a report sent again, changed. */
cr_err cr_store_file_resent(cr_store *s, const char *name, int64_t file_id, int64_t *run_id);
/* An inbox file's identity on disk: when all of it is unchanged, so is
 * the content (the same rule as git's index and rsync's quick check). */
typedef struct cr_file_stat {
    int64_t dev, ino, size, mtime_ns, ctime_ns;
} cr_file_stat;
/* The SHA-256 recorded for PATH when it still looks as FS says (*HIT). */
cr_err cr_store_inbox_seen_get(cr_store *s, const char *path, const cr_file_stat *fs,
                               char sha256[65], bool *hit);
cr_err cr_store_inbox_seen_put(cr_store *s, const char *path, const cr_file_stat *fs,
                               const char *sha256);
cr_err cr_store_file_add(cr_store *s, int64_t run_id, const char *sha256, const char *name,
                         const char *feed, cr_feed_kind kind, const char *status,
                         const cr_feed_stats *st, const char *detail, cr_time_t now,
                         int64_t *file_id);
/* Records how many rows the file had, once it has been read. */
cr_err cr_store_file_counts(cr_store *s, int64_t file_id, const cr_feed_stats *st);
cr_err cr_store_event_add(cr_store *s, int64_t file_id, const cr_receipt_row *r);
cr_err cr_store_settlement_add(cr_store *s, int64_t file_id, const cr_settle_row *r);
cr_err cr_store_reject_add(cr_store *s, int64_t run_id, int64_t file_id, const char *file_name,
                           const cr_reject_row *r);

/* Rejected rows and files of one run, in order. */
typedef struct cr_reject_view {
    const char *file;
    long line;
    const char *reason, *field, *detail, *raw;
    int64_t run_id;            /* the run that read it */
} cr_reject_view;
typedef cr_err (*cr_reject_fn)(void *ud, const cr_reject_view *r);
/* The rejected rows of run RUN_ID and, before them, those of the runs
 * after LISTED that never published their workbook (killed after their
 * decision commit, or their workbook failed), so finance sees them once. */
cr_err cr_store_rejects_of_run(cr_store *s, int64_t run_id, int64_t listed, cr_reject_fn fn, void *ud);

/* Records that run RUN_ID lists settlement row ROW_ID (a refund, matched to
 * CLAIM_ID or NULL) on its Refunds sheet, so that the next run lists it if
 * this one never publishes its workbook. */
cr_err cr_store_refund_taken(cr_store *s, int64_t run_id, int64_t row_id, const char *claim_id);
/* A refund row as a run took it in (cr_store_refunds_unlisted). */
typedef struct cr_refund_view {
    int64_t run_id;            /* the run that took it in */
    const char *claim_id;      /* NULL: matched no claim */
    const char *psp_ref, *merchant_ref;
    bool has_amount;
    cr_money_t amount;
    const char *currency;
    cr_time_t booked_at;
    const char *file;
    long line;
} cr_refund_view;
typedef cr_err (*cr_refund_fn)(void *ud, const cr_refund_view *r);
/* The refunds taken in by the runs after LISTED and before RUN_ID that
 * never published their workbook, as cr_store_rejects_of_run's rows. */
cr_err cr_store_refunds_unlisted(cr_store *s, int64_t run_id, int64_t listed, cr_refund_fn fn,
                                 void *ud);

/* What a night in parts reads in one pass: each item (a cr_event,
 * cr_srow or cr_action) with its lookup keys (parts.h: kind k at KEYS[k],
 * NULL for none); its texts live until the sink returns. */
typedef cr_err (*cr_item_sink)(void *ud, const void *item, const char *const keys[CR_PART_KEYS]);
cr_err cr_store_events_each(cr_store *s, cr_item_sink sink, void *ud);
cr_err cr_store_settlements_each(cr_store *s, cr_item_sink sink, void *ud);
cr_err cr_store_actions_each(cr_store *s, cr_item_sink sink, void *ud);
/* Each other claim an action answers for (cr_store_action_alias). */
typedef cr_err (*cr_alias_sink)(void *ud, int64_t action_id, const char *claim_id);
cr_err cr_store_action_aliases_each(cr_store *s, cr_alias_sink sink, void *ud);

/* Loads every event (with file name and line) into *OUT; strings live in POOL. */
cr_err cr_store_events_load(cr_store *s, cr_pool *pool, cr_event **out, size_t *n);
cr_err cr_store_settlements_load(cr_store *s, cr_pool *pool, cr_srow **out, size_t *n);

/* --- actions --- */
typedef struct cr_action {
    int64_t id;
    const char *claim_id;
    const char *kind;          /* "payment" | "fulfillment" */
    const char *action;        /* "capture" | "release" | "ship_replacement" */
    const char *reason;
    cr_money_t amount;
    const char *currency;
    const char *psp_ref;
    int64_t run_id;
    cr_time_t issued_at;
    const char *file_name;     /* planned output file */
    bool written;
    int64_t confirmed_row;
    cr_time_t confirmed_at;
    /* fulfillment */
    const char *region, *product_model, *received_sn;
    cr_time_t received_at;
} cr_action;

/* Loads the actions (of the subset's claims during a subset). */
cr_err cr_store_actions_load(cr_store *s, cr_pool *pool, cr_action **out, size_t *n);
/* The actions of the runs after LISTED and before RUN_ID that never
 * published their workbook (see cr_store_rejects_of_run). */
cr_err cr_store_actions_unlisted(cr_store *s, int64_t run_id, int64_t listed, cr_pool *pool,
                                 cr_action **out, size_t *n);
/* Records that the claim CLAIM_ID answers for action ACTION_ID, recorded
 * under another claim's id (the subset's cr_store_actions_load then loads
 * it with the claim). */
cr_err cr_store_action_alias(cr_store *s, int64_t action_id, const char *claim_id);
/* Loads the actions not yet written, except those of run EXCEPT_RUN. */
cr_err cr_store_actions_unwritten(cr_store *s, int64_t except_run, cr_pool *pool, cr_action **out,
                                  size_t *n);
/* Records a new action, with its confirmation when CONFIRMED_ROW is set.
 * The database refuses a second action of a kind for a claim (UNIQUE):
 * then *DUPLICATE is set and nothing is written. */
cr_err cr_store_action_add(cr_store *s, cr_action *a, bool *duplicate);
/* Records A[0..N) in order, several a statement, setting their ids, with
 * what cr_store_action_add records.  When one is there already (the same
 * claim and kind), *DUPLICATE is its index (else N) and the transaction
 * must be abandoned: others of its statement may have been recorded. */
cr_err cr_store_actions_add(cr_store *s, cr_action *const *a, size_t n, size_t *duplicate);
cr_err cr_store_action_confirm(cr_store *s, int64_t action_id, int64_t row_id, cr_time_t at);
/* Plans action ACTION_ID (not written yet) into the file FILE_NAME. */
cr_err cr_store_action_retarget(cr_store *s, int64_t action_id, const char *file_name);
/* Marks action ACTION_ID written, in the file FILE_NAME. */
cr_err cr_store_action_mark_written(cr_store *s, int64_t action_id, const char *file_name);
/* Marks every action not written yet as written (into the file it is
 * planned in): after a run wrote its files with all of them. */
/* Marks written the actions recorded for file FILE_NAME. */
cr_err cr_store_actions_file_written(cr_store *s, const char *file_name);
cr_err cr_store_actions_all_written(cr_store *s);

/* --- decisions (recorded when a claim's decision changes) --- */
/* A claim's decision against its recorded actions (claim_state.action_match). */
typedef enum {
    CR_MATCH_NONE = 0,         /* no action, or not a decision that has one */
    CR_MATCH_ISSUED = 1,       /* the decision is one of its actions (issued now or before) */
    CR_MATCH_CONFLICT = 2,     /* the decision contradicts one (ACTION_CONFLICT) */
} cr_action_match;
/* A claim's latest recorded decision, as a hash of its fields. */
typedef struct cr_dhash {
    const char *claim_id;
    uint64_t hash;             /* of the decision: kind, reason, state, detail */
    uint64_t row_hash;         /* of the whole claim_state row */
    cr_action_match action_match;
    bool archived;             /* the row of a claim kept for its action (fingerprint 0) */
} cr_dhash;
/* Loads every claim's latest hashes, sorted by claim id (strcmp). */
cr_err cr_store_decision_hashes(cr_store *s, cr_pool *pool, cr_dhash **out, size_t *n);
/* Records decision D of CLAIM_ID by RUN_ID in the decision history. */
cr_err cr_store_decision_record(cr_store *s, int64_t run_id, cr_time_t as_of, const char *claim_id,
                                const cr_decision *d);
/* cr_store_decision_record of CLAIM_IDS[i] and D[i], i < N, several rows a
 * statement. */
cr_err cr_store_decisions_record(cr_store *s, int64_t run_id, cr_time_t as_of,
                                 const char *const *claim_ids, const cr_decision *const *d, size_t n);

/* A claim's state between nights: what the incremental night looks claims
 * up by, when it must look at the claim again, and its Pending row. */
typedef struct cr_cstate {
    const char *claim_id, *key, *norm_sn, *preauth_ref;
    bool active;
    uint64_t hash, row_hash;
    cr_time_t wake_at;         /* the next instant a rule can change it by time alone */
    const char *decision, *state;
    bool reminder;
    cr_money_t amount;
    const char *currency, *card_brand;
    cr_time_t deadline, shipped_at, hold_expires, arrived_at;
    uint64_t fp;               /* fingerprint of the claim row it was decided from */
    cr_action_match action_match;
    bool exists;               /* a row of the claim is recorded (put updates it) */
} cr_cstate;
cr_err cr_store_cstate_put(cr_store *s, const cr_cstate *c);
/* cr_store_cstate_put of C[0..N), several rows a statement where it can. */
cr_err cr_store_cstates_put(cr_store *s, const cr_cstate *const *c, size_t n);

/* The incremental night: which claims, events and settlement rows it must
 * look at.  Seeds: NEW_CLAIMS (new in the claim database), claims whose
 * wake instant is due, events and rows ingested since the last run or dated
 * since its as-of instant.  Then grown to a fixed point over everything a
 * decision or a match of theirs reads (claims by key, serial and hold
 * reference; events by key, serial and tracking number; rows by reference).
 * While it is in force the loads of events, rows, actions and hashes read
 * only the subset, and resolving unseen exceptions is limited to it.
 * Outside a transaction, and where threads are allowed, half the seeds are
 * closed over on a second connection beside the first: *CONNECTIONS says
 * how many did the work. */
typedef struct cr_subset_seed {
    cr_time_t as_of, last_as_of;
    int64_t last_event_id, last_row_id;
    const cr_claim *new_claims;
    size_t n_new;
} cr_subset_seed;
cr_err cr_store_subset_begin(cr_store *s, const cr_subset_seed *seed, long *nclaims,
                             int *connections);
void cr_store_subset_end(cr_store *s);
/* The claim ids in the subset (strings in POOL; *IDS is malloc'd). */
cr_err cr_store_subset_claim_ids(cr_store *s, cr_pool *pool, const char ***ids, size_t *n);
/* Pending claims outside the subset, from their recorded state. */
typedef cr_err (*cr_cstate_fn)(void *ud, const cr_cstate *c);
cr_err cr_store_pending_outside(cr_store *s, cr_cstate_fn fn, void *ud);

/* The highest event and settlement row ids. */
cr_err cr_store_max_ids(cr_store *s, int64_t *event_id, int64_t *row_id);
/* Records the events and settlement rows after AFTER_EVENT and AFTER_ROW
 * (those no earlier night recorded) that are dated after AS_OF, the night
 * recording them; they are where a later incremental night finds rows that
 * became visible (cr_store_subset_begin).  Forgets those dated at or before
 * LAST_AS_OF: no later night can seed them. */
cr_err cr_store_mark_later(cr_store *s, int64_t after_event, int64_t after_row, cr_time_t as_of,
                           cr_time_t last_as_of);

/* Small integers kept between runs (watermarks). */
cr_err cr_store_meta_get(cr_store *s, const char *key, int64_t *value, bool *found);
cr_err cr_store_meta_set(cr_store *s, const char *key, int64_t value);
/* A night that rewrites most of the state (a first or --full night) runs
 * with a rollback journal instead of the write-ahead log: pages new to the
 * file are then written once instead of twice (log, then checkpoint).
 * Needs the database to itself; false (and the log kept) when another
 * connection has it open.  ON false goes back to the log. */
bool cr_store_bulk(cr_store *s, bool on);
/* Checkpoints the write-ahead log on a thread of its own, with a
 * connection of its own, each time it is kicked, instead of in the commit
 * that fills it.  Start: false (and nothing changed) when it cannot.
 * Stop waits for a checkpoint under way and returns false when none was
 * started; STATS (may be NULL) tells what the thread did.  cr_store_close
 * stops it too. */
typedef struct cr_ckpt_stats {
    int runs, failed;          /* checkpoints run, and failed (the log then stays for the next) */
    const char *error;         /* SQLite's message for the last failure (static) */
    int log_pages, copied_pages; /* the last successful one: pages in the log, and copied */
} cr_ckpt_stats;
bool cr_store_ckpt_start(cr_store *s);
void cr_store_ckpt_kick(cr_store *s);
bool cr_store_ckpt_stop(cr_store *s, cr_ckpt_stats *stats);
/* Builds the lookup indexes of the events (of cr_store_ensure_indexes,
 * which a night's decisions do not change) through
 * a connection of its own, while the night reads: a night in parts, before
 * its decisions.  CR_EIO when they could not be built (ensure_indexes
 * builds them later).  Needs the write-ahead log; S not in a transaction. */
cr_err cr_store_index_inbox(cr_store *s);
/* Creates the lookup indexes when missing (after the first bulk load). */
cr_err cr_store_ensure_indexes(cr_store *s);

/* --- exceptions --- */
typedef struct cr_exc_row {
    const char *id, *code, *severity, *claim_id, *reference, *detail, *status;
    const char *source_file;
    long source_line;
    cr_time_t first_seen, last_seen;
    int64_t first_run;
    const char *ack_note, *ack_by;
    cr_time_t ack_at, resolved_at;
    int64_t amount;            /* the money it is about: AMOUNT of CURRENCY; CURRENCY NULL: none */
    const char *currency;
} cr_exc_row;
typedef cr_err (*cr_exc_fn)(void *ud, const cr_exc_row *r);

/* Records finding X seen by RUN at AS_OF: new ones open with first_seen =
 * AS_OF; known ones keep their first_seen (or move it earlier), a resolved
 * one opens again; an acknowledged one stays acknowledged.  *IS_NEW tells. */
cr_err cr_store_exc_seen(cr_store *s, const cr_exc *x, int64_t run_id, cr_time_t as_of,
                         bool *is_new);
/* Resolves the open findings of claim CLAIM_ID not seen by run RUN_ID (a
 * claim whose id was corrected in the claim database: its findings go on
 * under the id it has now); adds their number to *COUNT. */
cr_err cr_store_exc_resolve_claim(cr_store *s, int64_t run_id, cr_time_t as_of, const char *claim_id,
                                  long *count);
/* Resolves open exceptions of waiting codes that RUN did not see, when
 * they were last seen at or before AS_OF.  *COUNT gets how many. */
cr_err cr_store_exc_resolve_unseen(cr_store *s, int64_t run_id, cr_time_t as_of, long *count);
/* Exceptions open as of AS_OF (first seen by then), most severe first; PAST
 * (a backfill): also those a later night resolved, open at AS_OF. */
cr_err cr_store_exc_open(cr_store *s, cr_time_t as_of, bool past, cr_exc_fn fn, void *ud);
/* What acknowledging an exception did: acknowledged it (it was open), or
 * nothing, as it was acknowledged before or is resolved (its condition is
 * gone; acknowledged, it could never open again). */
typedef enum cr_ack_outcome { CR_ACK_DONE, CR_ACK_BEFORE, CR_ACK_RESOLVED } cr_ack_outcome;
/* Acknowledges one open exception.  CR_ENOTFOUND when unknown. */
cr_err cr_store_exc_ack(cr_store *s, const char *id, const char *note, const char *by,
                        cr_time_t now, cr_ack_outcome *out);
/* Acknowledges every open exception of CODE first seen before BEFORE
 * (CR_TIME_NONE: any).  *COUNT gets how many. */
cr_err cr_store_exc_ack_code(cr_store *s, const char *code, cr_time_t before, const char *note,
                             const char *by, cr_time_t now, long *count);

/* --- one claim's history (carerecon claim) --- */
typedef struct cr_history_item {
    cr_time_t at;              /* when it happened (event time, run as-of, ...) */
    const char *what;          /* "event", "decision", "action", "settlement", "exception" */
    const char *text;          /* one line for a person */
    bool has_amount;           /* then AMOUNT (minor units) CURRENCY follow TEXT */
    cr_money_t amount;
    const char *currency;
    const char *tail;          /* more text after the amount, or NULL */
    const char *source;        /* "file:line" or "run N", or NULL */
} cr_history_item;
typedef cr_err (*cr_history_fn)(void *ud, const cr_history_item *h);
/* A claim the state knows by ID (its key: case and spaces aside) that the
 * claim database may no longer hold, looked for in its state row, else its
 * actions or decisions: *CLAIM_ID its id as recorded and *PREAUTH_REF its
 * hold (NULL when none), both NULL when the state has nothing of it. */
cr_err cr_store_claim_recorded(cr_store *s, const char *id, cr_pool *pool, const char **claim_id,
                               const char **preauth_ref);
/* Calls FN for each item about CLAIM_ID (with PREAUTH_REF), in time order:
 * its events (by claim reference, by its normalized serial NORM_SN, and by
 * tracking numbers they share), decisions, actions, settlement rows and
 * exceptions. */
cr_err cr_store_claim_history(cr_store *s, const char *claim_id, const char *preauth_ref,
                              const char *norm_sn, cr_history_fn fn, void *ud);

/* The rejected receipt rows that name a claim (by its claim_ref). */
typedef struct cr_claim_reject {
    const char *key;           /* the claim's key (cr_claim_key), or a serial (BY_SERIAL) */
    const char *file;          /* the newest such row */
    long line;
    const char *reason;
    long count;                /* how many rows name the claim */
    bool by_serial;            /* rows naming no claim, with this normalized serial */
    cr_time_t as_of;           /* the as-of of the run that took in the newest row */
} cr_claim_reject;
/* One entry a claim that rejected rows name, by key, then one a serial of
 * the rejected rows that name no claim, by serial; strings in POOL, *OUT
 * malloc'd. */
cr_err cr_store_rejects_by_claim(cr_store *s, cr_pool *pool, cr_claim_reject **out, size_t *n);

/* Where claim CLAIM_ID stands after the last run that looked at it:
 * *DECISION ("capture NOT_RETURNED", "pending (in_transit)", "none: not
 * decided ..."; NULL when the state holds no row of it), the run since
 * which it is so and that run's as-of instant (0 and CR_TIME_NONE when no
 * run recorded it as a decision), and its deadline and hold expiry
 * (CR_TIME_NONE when none).  Strings in POOL. */
typedef struct cr_claim_now {
    const char *decision;
    int64_t run_id;
    cr_time_t as_of, deadline, hold_expires;
} cr_claim_now;
cr_err cr_store_claim_now(cr_store *s, const char *claim_id, cr_pool *pool, cr_claim_now *out);

/* Calls FN for each rejected row whose raw text names claim CLAIM_ID (as a
 * whole word, case aside) or holds a field that is its normalized serial
 * NORM_SN (cr_serial_normalize), oldest first, with the run that read it:
 * a check-in the rules never saw, because a field of its row was bad, is
 * where finance looks for it. */
cr_err cr_store_claim_rejects(cr_store *s, const char *claim_id, const char *norm_sn,
                              cr_reject_fn fn, void *ud);

/* --- the claim database (read-only) --- */
typedef struct cr_claimsdb cr_claimsdb;
/* Opens PATH read-only and checks the claims table and its columns.
 * CR_ENOINPUT when missing, not a database, or lacking columns. */
cr_err cr_claimsdb_open(const char *path, cr_claimsdb **out);
/* How many rows without a claim_id the loads since the last call met (they
 * are warned about, and not decided: nothing can name them). */
size_t cr_claimsdb_take_no_id(cr_claimsdb *c);
void cr_claimsdb_close(cr_claimsdb *db);
/* Loads every claim, sorted by claim id (cr_claim_id_cmp), resolving the
 * return period and normalizing the serial.  Strings live in POOL. */
cr_err cr_claimsdb_load(cr_claimsdb *db, const cr_config *cfg, cr_pool *pool, cr_claim **out,
                        size_t *n);
/* Every claim as cr_claimsdb_load reads it, handed to SINK a few thousand
 * at a time in the table's order (not yet made one per claim_id: see
 * cr_claims_order_unique); their strings live until SINK returns. */
typedef cr_err (*cr_claims_sink)(void *ud, const cr_claim *cl, size_t n);
cr_err cr_claimsdb_each(cr_claimsdb *db, const cr_config *cfg, cr_claims_sink sink, void *ud);
/* Sorts CL by key and keeps one claim per claim_id (a table without a
 * unique id can hold one twice), as cr_claimsdb_load does; *N shrinks. */
void cr_claims_order_unique(cr_claim *cl, size_t *n, cr_pool *pool);
/* Loads the claims whose rowid is above ROWID (new since a watermark). */
cr_err cr_claimsdb_load_after(cr_claimsdb *db, const cr_config *cfg, cr_pool *pool, int64_t rowid,
                              cr_claim **out, size_t *n);
/* Loads the claims named by IDS (exact claim_id). */
cr_err cr_claimsdb_load_ids(cr_claimsdb *db, const cr_config *cfg, cr_pool *pool,
                            const char *const *ids, size_t nids, cr_claim **out, size_t *n);
/* The claims whose row differs from what the last night recorded in the
 * state (or that it has not recorded): a read of the whole table, done only
 * when the claim database file changed.  Only claim_id, key, norm_sn and
 * preauth_ref are filled; strings live in POOL.  *GONE: the claims the
 * state has a row for that the claim database no longer has. */
cr_err cr_claimsdb_changed(cr_claimsdb *db, cr_store *s, cr_pool *pool, cr_claim **out, size_t *n,
                           size_t *gone);
/* Forgets the state rows of claims no longer in the claim database (a
 * night over everything found them: it read every claim). */
cr_err cr_store_claim_state_forget(cr_store *s, const char *const *claim_ids, size_t n);
/* BEGIN: what is read from here on is one snapshot of the claim database
 * (a read transaction: in rollback-journal mode writers wait for its end);
 * !BEGIN ends it.  Either is a no-op when already so. */
cr_err cr_claimsdb_snapshot(cr_claimsdb *db, bool begin);
/* A stamp of the claim database file and its write-ahead log (sizes and
 * modification times). */
int64_t cr_claimsdb_stamp(cr_claimsdb *db);
/* The highest rowid of the claims table; false when the table has none
 * (WITHOUT ROWID): then every night reads every claim. */
bool cr_claimsdb_max_rowid(cr_claimsdb *db, int64_t *out);
/* Loads one claim by id; *FOUND tells. */
cr_err cr_claimsdb_get(cr_claimsdb *db, const cr_config *cfg, cr_pool *pool, const char *id,
                       cr_claim *out, bool *found);

#endif
