/*
 * store.c - see store.h.  All SQL of carerecon lives in this file, with
 * bound parameters only: no SQL text is ever built from data.
 */
#include "store.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* Forward-only migrations; migration i brings the schema to version i+1.
 * Each runs in its own transaction with the user_version bump. */
static const char *const migrations[] = {
    /* 1 */
    "CREATE TABLE runs("
    "  run_id INTEGER PRIMARY KEY, as_of INTEGER NOT NULL, mode TEXT NOT NULL,"
    "  started_at INTEGER NOT NULL, finished_at INTEGER, status TEXT NOT NULL,"
    "  files_ingested INTEGER NOT NULL DEFAULT 0, files_skipped INTEGER NOT NULL DEFAULT 0,"
    "  files_rejected INTEGER NOT NULL DEFAULT 0, rows_accepted INTEGER NOT NULL DEFAULT 0,"
    "  rows_rejected INTEGER NOT NULL DEFAULT 0, captures INTEGER NOT NULL DEFAULT 0,"
    "  releases INTEGER NOT NULL DEFAULT 0, pending INTEGER NOT NULL DEFAULT 0,"
    "  ships INTEGER NOT NULL DEFAULT 0, exceptions_open INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE files("
    "  file_id INTEGER PRIMARY KEY, sha256 TEXT NOT NULL, name TEXT NOT NULL, feed TEXT,"
    "  kind TEXT, run_id INTEGER NOT NULL REFERENCES runs, ingested_at INTEGER NOT NULL,"
    "  status TEXT NOT NULL CHECK(status IN ('ingested','rejected')),"
    "  rows INTEGER, accepted INTEGER, rejected INTEGER, ignored INTEGER, detail TEXT);"
    "CREATE UNIQUE INDEX files_sha256 ON files(sha256) WHERE status = 'ingested';"
    "CREATE TABLE events("
    "  event_id INTEGER PRIMARY KEY, file_id INTEGER NOT NULL REFERENCES files,"
    "  line INTEGER NOT NULL, tracking TEXT, claim_ref TEXT,"
    "  kind INTEGER NOT NULL CHECK(kind BETWEEN 0 AND 2), at INTEGER NOT NULL,"
    "  serial TEXT, battery INTEGER, genuine INTEGER, claim_key TEXT, serial_norm TEXT);"
    "CREATE TABLE settlements("
    "  row_id INTEGER PRIMARY KEY, file_id INTEGER NOT NULL REFERENCES files,"
    "  line INTEGER NOT NULL, psp_ref TEXT, merchant_ref TEXT,"
    "  type INTEGER NOT NULL CHECK(type BETWEEN 0 AND 5), raw_type TEXT,"
    "  amount INTEGER, currency TEXT, booked_at INTEGER NOT NULL, card_brand TEXT,"
    "  merchant_key TEXT);"
    "CREATE TABLE rejects("
    "  reject_id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL, file_id INTEGER,"
    "  file_name TEXT NOT NULL, line INTEGER NOT NULL, reason TEXT NOT NULL, field TEXT,"
    "  detail TEXT, raw TEXT);"
    "CREATE INDEX rejects_run ON rejects(run_id);"
    "CREATE TABLE actions("
    "  action_id INTEGER PRIMARY KEY, claim_id TEXT NOT NULL,"
    "  kind TEXT NOT NULL CHECK(kind IN ('payment','fulfillment')),"
    "  action TEXT NOT NULL CHECK(action IN ('capture','release','ship_replacement')),"
    "  reason TEXT, amount INTEGER, currency TEXT, psp_ref TEXT,"
    "  run_id INTEGER NOT NULL, issued_at INTEGER NOT NULL, file_name TEXT,"
    "  written INTEGER NOT NULL DEFAULT 0, confirmed_row INTEGER, confirmed_at INTEGER,"
    "  region TEXT, product_model TEXT, received_sn TEXT, received_at INTEGER,"
    "  UNIQUE(claim_id, kind));"
    "CREATE TABLE decisions("
    "  claim_id TEXT NOT NULL, run_id INTEGER NOT NULL, as_of INTEGER NOT NULL,"
    "  decision TEXT NOT NULL, reason TEXT, state TEXT, detail TEXT,"
    "  PRIMARY KEY(claim_id, run_id)) WITHOUT ROWID;"
    "CREATE TABLE claim_state("
    "  claim_id TEXT PRIMARY KEY, key TEXT NOT NULL, norm_sn TEXT, preauth_ref TEXT,"
    "  active INTEGER NOT NULL, hash INTEGER NOT NULL, row_hash INTEGER NOT NULL,"
    "  wake_at INTEGER, decision TEXT, state TEXT, reminder INTEGER, amount INTEGER,"
    "  currency TEXT, card_brand TEXT, deadline INTEGER, shipped_at INTEGER,"
    "  hold_expires INTEGER, arrived_at INTEGER, fp INTEGER) WITHOUT ROWID;"
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value INTEGER) WITHOUT ROWID;"
    "CREATE TABLE exceptions("
    "  exc_id TEXT PRIMARY KEY, code TEXT NOT NULL, severity TEXT NOT NULL, claim_id TEXT,"
    "  subject TEXT NOT NULL, reference TEXT, detail TEXT, source_file TEXT,"
    "  source_line INTEGER,"
    "  status TEXT NOT NULL CHECK(status IN ('open','resolved','acknowledged')),"
    "  first_seen INTEGER NOT NULL, first_run INTEGER NOT NULL, last_seen INTEGER NOT NULL,"
    "  last_run INTEGER NOT NULL, resolved_run INTEGER, resolved_at INTEGER,"
    "  ack_note TEXT, ack_by TEXT, ack_at INTEGER);"
    "CREATE INDEX exceptions_status ON exceptions(status, code);"
    "CREATE INDEX exceptions_claim ON exceptions(claim_id);"
    "CREATE INDEX actions_unwritten ON actions(kind) WHERE written = 0;",
    /* 2: what the inbox files looked like when their content was known, so
     * a file seen before is not read and hashed again every night */
    "CREATE TABLE inbox_seen("
    "  path TEXT PRIMARY KEY, dev INTEGER NOT NULL, ino INTEGER NOT NULL, size INTEGER NOT NULL,"
    "  mtime_ns INTEGER NOT NULL, ctime_ns INTEGER NOT NULL, sha256 TEXT NOT NULL) WITHOUT ROWID;",
    /* 3: the actions whose file is not written yet, listed by id instead of
     * flagged on every action: marking a night's actions written is then
     * one DELETE of this list, not an UPDATE of each action.  And the
     * CHECKs of actions and exceptions without IN lists of three values,
     * for which SQLite builds a temporary table at every row written. */
    "CREATE TABLE actions_v3("
    "  action_id INTEGER PRIMARY KEY, claim_id TEXT NOT NULL,"
    "  kind TEXT NOT NULL CHECK(kind = 'payment' OR kind = 'fulfillment'),"
    "  action TEXT NOT NULL"
    "    CHECK(action = 'capture' OR action = 'release' OR action = 'ship_replacement'),"
    "  reason TEXT, amount INTEGER, currency TEXT, psp_ref TEXT,"
    "  run_id INTEGER NOT NULL, issued_at INTEGER NOT NULL, file_name TEXT,"
    "  confirmed_row INTEGER, confirmed_at INTEGER,"
    "  region TEXT, product_model TEXT, received_sn TEXT, received_at INTEGER,"
    "  UNIQUE(claim_id, kind));"
    "INSERT INTO actions_v3 SELECT action_id, claim_id, kind, action, reason, amount, currency,"
    "  psp_ref, run_id, issued_at, file_name, confirmed_row, confirmed_at, region,"
    "  product_model, received_sn, received_at FROM actions ORDER BY action_id;"
    "DROP INDEX actions_unwritten;"
    "ALTER TABLE actions RENAME TO actions_v2;"
    "ALTER TABLE actions_v3 RENAME TO actions;"
    "CREATE TABLE unwritten(action_id INTEGER PRIMARY KEY REFERENCES actions);"
    "INSERT INTO unwritten SELECT action_id FROM actions_v2 WHERE written = 0;"
    "DROP TABLE actions_v2;"
    "CREATE TABLE exceptions_v3("
    "  exc_id TEXT PRIMARY KEY, code TEXT NOT NULL, severity TEXT NOT NULL, claim_id TEXT,"
    "  subject TEXT NOT NULL, reference TEXT, detail TEXT, source_file TEXT,"
    "  source_line INTEGER,"
    "  status TEXT NOT NULL"
    "    CHECK(status = 'open' OR status = 'resolved' OR status = 'acknowledged'),"
    "  first_seen INTEGER NOT NULL, first_run INTEGER NOT NULL, last_seen INTEGER NOT NULL,"
    "  last_run INTEGER NOT NULL, resolved_run INTEGER, resolved_at INTEGER,"
    "  ack_note TEXT, ack_by TEXT, ack_at INTEGER);"
    "INSERT INTO exceptions_v3 SELECT * FROM exceptions;"
    "DROP TABLE exceptions;"
    "ALTER TABLE exceptions_v3 RENAME TO exceptions;"
    "CREATE INDEX exceptions_status ON exceptions(status, code);"
    "CREATE INDEX exceptions_claim ON exceptions(claim_id);",
    /* 4: the events and settlement rows dated after the as-of of the first
     * night that saw them (cr_store_mark_later): where an incremental night
     * finds rows that became visible since the last one, instead of an
     * index on every row's date (two index builds of ~1M random keys) */
    "CREATE TABLE events_later(event_id INTEGER PRIMARY KEY REFERENCES events,"
    "  at INTEGER NOT NULL);"
    "CREATE TABLE settlements_later(row_id INTEGER PRIMARY KEY REFERENCES settlements,"
    "  booked_at INTEGER NOT NULL);"
    "INSERT INTO events_later SELECT event_id, at FROM events"
    "  WHERE at > (SELECT value FROM meta WHERE key = 'last_as_of');"
    "INSERT INTO settlements_later SELECT row_id, booked_at FROM settlements"
    "  WHERE booked_at > (SELECT value FROM meta WHERE key = 'last_as_of');"
    "DROP INDEX IF EXISTS events_at;"
    "DROP INDEX IF EXISTS settlements_booked;",
    /* 5: the lookup indexes of claim_state cover what an incremental night's
     * closure reads (key, serial), so a probe is one b-tree descent, not
     * two; they are built anew by the next night, which reads everything */
    "DROP INDEX IF EXISTS claim_state_key;"
    "DROP INDEX IF EXISTS claim_state_sn;"
    "DROP INDEX IF EXISTS claim_state_psp;"
    "UPDATE meta SET value = 0 WHERE key = 'indexed';",
    /* 6: whether a claim's decision is one of its recorded actions (1) or
     * contradicts one (2), so that an incremental night can count the
     * claims outside its subset (the Summary's "Previously issued" and
     * "Action conflicts"); the next night reads everything (no
     * 'matched_total' yet) and fills it in */
    "ALTER TABLE claim_state ADD COLUMN action_match INTEGER NOT NULL DEFAULT 0;",
    /* 7: the actions a claim answers for under another claim's id (its
     * own, before the claim database edited it in case or spaces; or the
     * action on its hold of a claim no longer there), so that an
     * incremental night that looks at the claim loads them too */
    "CREATE TABLE action_alias(claim_id TEXT NOT NULL,"
    "  action_id INTEGER NOT NULL REFERENCES actions, PRIMARY KEY(claim_id, action_id))"
    "  WITHOUT ROWID;",
    /* 8: Unicode spaces (no-break, zero-width, ideographic, a BOM inside
     * text) count as blanks, and Unicode dashes as hyphens in a serial
     * (cr_blank_len): the lookup keys and trimmed references stored before
     * are made again with the rule every new row gets (cr_key, cr_sn,
     * cr_trim: the same C functions), so that nights find old rows by them.
     * Only text with a byte outside printable ASCII can change. */
    "UPDATE events SET claim_key = cr_key(claim_ref) WHERE claim_ref GLOB '*[^ -~]*';"
    "UPDATE events SET serial_norm = cr_sn(serial)"
    "  WHERE serial_norm IS NOT NULL AND serial GLOB '*[^ -~]*';"
    "UPDATE events SET tracking = cr_trim(tracking) WHERE tracking GLOB '*[^ -~]*';"
    "UPDATE settlements SET merchant_key = cr_key(merchant_ref)"
    "  WHERE merchant_ref GLOB '*[^ -~]*';"
    "UPDATE settlements SET psp_ref = cr_trim(psp_ref) WHERE psp_ref GLOB '*[^ -~]*';"
    "UPDATE claim_state SET key = coalesce(cr_key(claim_id), '') WHERE claim_id GLOB '*[^ -~]*';"
    "UPDATE claim_state SET norm_sn = cr_sn(norm_sn) WHERE norm_sn GLOB '*[^ -~]*';"
    "UPDATE claim_state SET preauth_ref = cr_trim(preauth_ref) WHERE preauth_ref GLOB '*[^ -~]*';"
    /* a hold's action is found by its reference (one pre-authorization,
     * one action): it must read as the claim's hold reads now */
    "UPDATE actions SET psp_ref = cr_trim(psp_ref) WHERE psp_ref GLOB '*[^ -~]*';",
    /* 9: where a run's workbook was to be published (recorded with its
     * decisions), and whether a later run found it there: a run killed
     * after its workbook took its name, but before it said so, is not
     * listed again by the next workbook (cr_store_runs_published) */
    ("ALTER TABLE runs ADD COLUMN workbook TEXT;"
     "ALTER TABLE runs ADD COLUMN workbook_after INTEGER;"
     "ALTER TABLE runs ADD COLUMN published INTEGER NOT NULL DEFAULT 0;"),
    /* 10: the money an exception is about (the Exceptions sheet's Amount
     * and Currency): set when next seen, NULL for those not seen since */
    ("ALTER TABLE exceptions ADD COLUMN amount INTEGER;"
     "ALTER TABLE exceptions ADD COLUMN currency TEXT;"),
    /* 11: each new file asks whether a file of its name was ingested before
     * (cr_store_file_resent): without an index, a scan of every file ever
     * ingested, so a night of many small files slowed down with history
     * (1,000 new files: 0.16 s with none before, 11.5 s with 300,000) */
    "CREATE INDEX files_name ON files(name, file_id) WHERE status = 'ingested';",
    /* 12: tracking numbers are stored as events are matched by them, in
     * case, blanks, hyphens and a scanner's prefix aside (cr_trk: feed.c's
     * tracking_norm), so that an old event and a new one of one package
     * find each other */
    "UPDATE events SET tracking = cr_trk(tracking) WHERE tracking IS NOT cr_trk(tracking);",
    /* 13: the refund rows each run lists (cr_store_refund_taken), so that
     * those of a run whose workbook was never written are listed by the
     * next, as its actions and rejected rows are */
    ("CREATE TABLE run_refunds(run_id INTEGER NOT NULL, row_id INTEGER NOT NULL, claim_id TEXT,"
     " PRIMARY KEY(run_id, row_id)) WITHOUT ROWID;"),
    /* 14: the claim a rejected receipt row names (its claim_ref, as a
     * key), so that the claim's capture can say so
     * (cr_store_rejects_by_claim); rows rejected before have none */
    ("ALTER TABLE rejects ADD COLUMN claim_key TEXT;"
     "CREATE INDEX rejects_claim ON rejects(claim_key, reject_id, file_name, line, reason)"
     " WHERE claim_key IS NOT NULL;"),
    /* 15: an action's claim by key (case and blanks aside), so that an
     * incremental night loads the actions of a claim entered again under
     * its id in another case (deleted, then back as a new row): it found
     * them by the exact id only, and issued a second ship_replacement */
    ("ALTER TABLE actions ADD COLUMN claim_key TEXT;"
     "UPDATE actions SET claim_key = cr_key(claim_id);"),   /* its index: cr_store_ensure_indexes */
    /* 16: the normalized serial of a rejected receipt row, so that the
     * capture of the claim of that serial can say so when the row names
     * no claim (a walk-in check-in); rows rejected before have none */
    ("ALTER TABLE rejects ADD COLUMN serial_norm TEXT;"
     "CREATE INDEX rejects_serial ON rejects(serial_norm, reject_id, file_name, line, reason)"
     " WHERE serial_norm IS NOT NULL AND claim_key IS NULL;"),
    /* 17: a placeholder tracking number ("N/A", "0": cr_tracking_placeholder)
     * matches nothing: stored as none, as feed.c's tracking_norm stores it
     * now (before, it tied every walk-in check-in written with it to one
     * claim) */
    "UPDATE events SET tracking = cr_trk(tracking) WHERE tracking IS NOT cr_trk(tracking);",
    /* 18: so does a number a spreadsheet wrote in scientific notation
     * ("9.40011E+21", cr_tracking_placeholder) */
    "UPDATE events SET tracking = cr_trk(tracking) WHERE tracking IS NOT cr_trk(tracking);",
};
#define N_MIGRATIONS ((int)(sizeof migrations / sizeof migrations[0]))

/* The cached statements, prepared on first use. */
enum {
    Q_EVENT_ADD, Q_SETTLE_ADD, Q_REJECT_ADD, Q_REFUND_TAKEN, Q_FILE_FIND, Q_FILE_ADD, Q_DEC_LAST, Q_CSTATE_UPD,
    Q_CSTATE_ADD8, Q_DEC_ADD, Q_DEC_ADD8,
    Q_EXC_GET, Q_EXC_INS, Q_EXC_UPD, Q_ACTION_ADD, Q_ACTION_ADD8, Q_ACTION_MAX, Q_ACTION_HAS,
    Q_UNWRITTEN_ADD, Q_UNWRITTEN_ADD8, Q_ACTION_CONFIRM,
    Q_ACTION_FILE, Q_UNWRITTEN_DEL, Q_COUNT
};
static const char *const sql_text[Q_COUNT] = {
    [Q_EVENT_ADD] = "INSERT INTO events(file_id,line,tracking,claim_ref,kind,at,serial,battery,"
                    "genuine,claim_key,serial_norm) VALUES(?,?,?,?,?,?,?,?,?,?,?)",
    [Q_SETTLE_ADD] = "INSERT INTO settlements(file_id,line,psp_ref,merchant_ref,type,raw_type,"
                     "amount,currency,booked_at,card_brand,merchant_key) VALUES(?,?,?,?,?,?,?,?,?,?,?)",
    [Q_REFUND_TAKEN] = "INSERT OR IGNORE INTO run_refunds(run_id,row_id,claim_id) VALUES(?,?,?)",
    [Q_REJECT_ADD] = "INSERT INTO rejects(run_id,file_id,file_name,line,reason,field,detail,raw,"
                     "claim_key,serial_norm) VALUES(?,?,?,?,?,?,?,?,?,?)",
    [Q_FILE_FIND] = "SELECT name FROM files WHERE sha256 = ? AND status = 'ingested'",
    [Q_FILE_ADD] = "INSERT INTO files(sha256,name,feed,kind,run_id,ingested_at,status,rows,"
                   "accepted,rejected,ignored,detail) VALUES(?,?,?,?,?,?,?,?,?,?,?,?)",
#define CSTATE_INS "INSERT OR REPLACE INTO claim_state(claim_id,key,norm_sn,preauth_ref,active,"  \
                   "hash,row_hash,wake_at,decision,state,reminder,amount,currency,card_brand,"   \
                   "deadline,shipped_at,hold_expires,arrived_at,fp,action_match) VALUES"
#define CSTATE_ROW "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
#define CSTATE_COLS 20
#define DEC_INS "INSERT OR REPLACE INTO decisions(claim_id,run_id,as_of,decision,reason,state,"   \
                "detail) VALUES"
#define DEC_ROW "(?,?,?,?,?,?,?)"
/* MULTI_ROWS rows a statement: a quarter less per row than one at a time */
#define MULTI_ROWS 8
#define TIMES8(r) r "," r "," r "," r "," r "," r "," r "," r
/* an action's id is SQLite's next rowid, or given (cr_store_actions_add) */
#define ACTION_INS "INSERT INTO actions(action_id,claim_id,kind,action,reason,amount,currency,"     \
                   "psp_ref,run_id,issued_at,file_name,region,product_model,received_sn,"          \
                   "received_at,confirmed_row,confirmed_at,claim_key) VALUES"
#define ACTION_ROW "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
#define ACTION_NCOLS 18
    [Q_DEC_LAST] = CSTATE_INS CSTATE_ROW,
    [Q_CSTATE_ADD8] = CSTATE_INS TIMES8(CSTATE_ROW),
    /* the same row when its lookup keys and activity are unchanged: the
     * three indexes on them are left alone (INSERT OR REPLACE rewrites all five) */
    [Q_CSTATE_UPD] = "UPDATE claim_state SET hash=?6,row_hash=?7,wake_at=?8,decision=?9,"
                     "state=?10,reminder=?11,amount=?12,currency=?13,card_brand=?14,deadline=?15,"
                     "shipped_at=?16,hold_expires=?17,arrived_at=?18,fp=?19,action_match=?20 WHERE claim_id=?1"
                     " AND key IS ?2 AND norm_sn IS ?3 AND preauth_ref IS ?4 AND active IS ?5",
    [Q_DEC_ADD] = DEC_INS DEC_ROW,
    [Q_DEC_ADD8] = DEC_INS TIMES8(DEC_ROW),
    [Q_EXC_GET] = "SELECT status FROM exceptions WHERE exc_id = ?",
    [Q_EXC_INS] = "INSERT INTO exceptions(exc_id,code,severity,claim_id,subject,reference,detail,"
                  "source_file,source_line,status,first_seen,first_run,last_seen,last_run,amount,"
                  "currency) VALUES(?,?,?,?,?,?,?,?,?,'open',?,?,?,?,?,?)",
    [Q_EXC_UPD] = "UPDATE exceptions SET detail = ?2, reference = ?3, amount = ?6, currency = ?7,"
                  " first_seen = min(first_seen, ?4), last_seen = max(last_seen, ?4),"
                  " last_run = ?5,"
                  /* seen again as of its resolution or after: open again (a
                   * rerun of that date with a late file); seen by a backfill
                   * as of a time before it was resolved: it held then, and
                   * stays resolved */
                  " status = CASE WHEN status = 'resolved' AND ?4 >= resolved_at THEN 'open'"
                  "   ELSE status END,"
                  " resolved_run = CASE WHEN status = 'resolved' AND ?4 >= resolved_at THEN NULL"
                  "   ELSE resolved_run END,"
                  " resolved_at = CASE WHEN status = 'resolved' AND ?4 >= resolved_at THEN NULL"
                  "   ELSE resolved_at END"
                  " WHERE exc_id = ?1",
    [Q_ACTION_ADD] = ACTION_INS ACTION_ROW " ON CONFLICT(claim_id,kind) DO NOTHING",
    [Q_ACTION_ADD8] = ACTION_INS TIMES8(ACTION_ROW) " ON CONFLICT(claim_id,kind) DO NOTHING",
    [Q_ACTION_MAX] = "SELECT coalesce(max(action_id), 0) FROM actions",
    [Q_ACTION_HAS] = "SELECT 1 FROM actions WHERE action_id = ?",
    [Q_ACTION_CONFIRM] = "UPDATE actions SET confirmed_row = ?2, confirmed_at = ?3"
                         " WHERE action_id = ?1 AND confirmed_row IS NOT ?2",
    [Q_UNWRITTEN_ADD] = "INSERT INTO unwritten(action_id) VALUES(?)",
    [Q_UNWRITTEN_ADD8] = "INSERT INTO unwritten(action_id) VALUES" TIMES8("(?)"),
    [Q_ACTION_FILE] = "UPDATE actions SET file_name = ?2 WHERE action_id = ?1 AND file_name IS NOT ?2",
    [Q_UNWRITTEN_DEL] = "DELETE FROM unwritten WHERE action_id = ?",
};

struct cr_ckpt;

struct cr_store {
    sqlite3 *db;
    char *path;
    sqlite3_stmt *q[Q_COUNT];
    bool subset;               /* loads read only the temp.sub_* subset */
    struct cr_ckpt *ckpt;      /* checkpoints on a thread (cr_store_ckpt_start) */
    pthread_t owner;           /* the thread that may use the connection (cr_store_own) */
    bool check_owner;          /* $CARERECON_CHECK_THREADS: abort when another does */
};

/* The connection is opened without SQLite's mutexes (open_db): one
 * thread at a time, handed over by the night.  The test suite checks it:
 * a use from another thread is refused (the statement is not run) and
 * the night fails with an internal error. */
static bool owned(const cr_store *s)
{
    if (s->check_owner && !pthread_equal(s->owner, pthread_self())) {
        cr_error(CR_EINTERNAL, "internal error: the state database connection %s is used by a"
                               " thread that does not hold it", s->path ? s->path : "");
        return false;
    }
    return true;
}

void cr_store_own(cr_store *s)
{
    s->owner = pthread_self();
}

void cr_store_hand(cr_store *s, pthread_t t)
{
    s->owner = t;
}

static void own_new(cr_store *s)
{
    s->owner = pthread_self();
    s->check_owner = getenv("CARERECON_CHECK_THREADS") != NULL;
}

/* What to do when the disk of the state database at F is full: what the
 * run had written is rolled back, and a rerun takes it up again. */
static void full_hint(const char *f, char *hint, size_t n)
{
    char dir[4096];
    const char *d = cr_parent_dir(f, dir, sizeof dir);
    snprintf(hint, n, "; free space on the disk of %s and run again: what this run had not"
             " committed is rolled back and done again then", d ? d : f);
}

/* Reports a database error with the file, what was done, SQLite's
 * message and the system's, and returns CR_EIO. */

static cr_err db_error(sqlite3 *db, const char *what)
{
    int e = sqlite3_system_errno(db);
    const char *f = sqlite3_db_filename(db, "main");
    char hint[4200] = "";
    if ((sqlite3_errcode(db) & 0xff) == SQLITE_READONLY && f && *f) {
        /* SQLite writes its journal beside the database: say which folder */
        char dir[4096];
        const char *d = cr_parent_dir(f, dir, sizeof dir);
        if (d && access(d, W_OK | X_OK) != 0)
            snprintf(hint, sizeof hint, "; this user cannot write in its folder %s (%s), where"
                     " SQLite makes its journal", d, strerror(errno));
        else if (access(f, W_OK) != 0)
            snprintf(hint, sizeof hint, "; this user cannot write the file (%s)", strerror(errno));
    } else if (((sqlite3_errcode(db) & 0xff) == SQLITE_FULL || e == ENOSPC || e == EDQUOT) && f && *f)
        full_hint(f, hint, sizeof hint);   /* (an existing database says "disk I/O error") */
    return cr_error(CR_EIO, "state database %s: %s: %s%s%s%s%s", f && *f ? f : "(in memory)", what,
                    sqlite3_errmsg(db), e ? " (" : "", e ? strerror(e) : "", e ? ")" : "", hint);
}

static cr_err exec(cr_store *s, const char *sql)
{
    char *msg = NULL;
    if (!owned(s))
        return CR_EINTERNAL;
    cr_fault_point("sql exec");
    if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        sqlite3_free(msg);
        return db_error(s->db, strncmp(sql, "COMMIT", 6) == 0  ? "commit"
                               : strncmp(sql, "BEGIN", 5) == 0 ? "begin a transaction"
                                                               : "execute");
    }
    return CR_OK;
}

/* The cached statement I, reset and with its bindings cleared. */
static sqlite3_stmt *stmt(cr_store *s, int i)
{
    if (!owned(s))
        return NULL;
    if (!s->q[i]) {
        if (sqlite3_prepare_v3(s->db, sql_text[i], -1, SQLITE_PREPARE_PERSISTENT, &s->q[i], NULL) !=
            SQLITE_OK) {
            db_error(s->db, "prepare");
            return NULL;
        }
    } else {
        sqlite3_reset(s->q[i]);
        sqlite3_clear_bindings(s->q[i]);
    }
    return s->q[i];
}

static sqlite3_stmt *prepare(cr_store *s, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (!owned(s))
        return NULL;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
        db_error(s->db, "prepare");
        return NULL;
    }
    return st;
}

/* Binds V without a copy (SQLITE_STATIC): every statement is stepped
 * while the text it was given is alive, and a cached statement's bindings
 * are cleared (stmt) before it is bound again, so SQLite never reads a
 * stale pointer.  The copies were ~10% of a first night's inserts. */
static void bind_text(sqlite3_stmt *st, int i, const char *v)
{
    if (v)
        sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

static void bind_time(sqlite3_stmt *st, int i, cr_time_t t)
{
    if (t == CR_TIME_NONE)
        sqlite3_bind_null(st, i);
    else
        sqlite3_bind_int64(st, i, t);
}

static cr_time_t col_time(sqlite3_stmt *st, int i)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL ? CR_TIME_NONE : sqlite3_column_int64(st, i);
}

static const char *col_text(sqlite3_stmt *st, int i)
{
    return (const char *)sqlite3_column_text(st, i);
}

static char *pool_col(cr_pool *p, sqlite3_stmt *st, int i, bool *oom)
{
    const char *t = col_text(st, i);
    if (!t)
        return NULL;
    char *r = cr_pool_strndup(p, t, (size_t)sqlite3_column_bytes(st, i));
    if (!r)
        *oom = true;
    return r;
}

/* Column I of ST as text in POOL, copied once for all the rows that hold
 * the same value (cr_pool_intern): a column that repeats a few values. */
static const char *pool_col_same(cr_pool *p, sqlite3_stmt *st, int i, bool *oom)
{
    const char *t = col_text(st, i);
    if (!t)
        return NULL;
    const char *r = cr_pool_intern(p, t, (size_t)sqlite3_column_bytes(st, i));
    if (!r)
        *oom = true;
    return r;
}

/* SN normalized (cr_serial_normalize) in POOL, "" when nothing is left;
 * NULL on no memory. */
static const char *pool_serial(cr_pool *pool, const char *sn)
{
    char n[64];
    cr_serial_normalize(sn, n, sizeof n);
    return n[0] ? cr_pool_strdup(pool, n) : "";
}

/* Column I of ST as text in POOL without surrounding blanks (NULL when
 * NULL or blank), upper-cased when UPPER: a hold reference or a currency
 * the claim database holds as typed, for comparing with the processor's
 * (whose fields are read trimmed) and for the action files.  An upper-cased
 * value (a currency) is copied once for all the rows that hold it. */
static const char *pool_col_clean(cr_pool *p, sqlite3_stmt *st, int i, bool upper, bool *oom)
{
    const char *t = col_text(st, i);
    if (!t)
        return NULL;
    size_t n = (size_t)sqlite3_column_bytes(st, i);
    cr_trim_span(&t, &n);
    if (!n)
        return NULL;
    const char *r;
    char b[64];
    if (upper && n < sizeof b) {
        for (size_t k = 0; k < n; k++)
            b[k] = (char)((t[k] >= 'a' && t[k] <= 'z') ? t[k] - 32 : t[k]);
        r = cr_pool_intern(p, b, n);
    } else {
        char *d = cr_pool_strndup(p, t, n);
        if (d && upper)
            for (char *c = d; *c; c++)
                *c = (char)((*c >= 'a' && *c <= 'z') ? *c - 32 : *c);
        r = d;
    }
    if (!r)
        *oom = true;
    return r;
}

/* Steps ST once expecting SQLITE_DONE. */
static cr_err step_done(cr_store *s, sqlite3_stmt *st, const char *what)
{
    cr_fault_point(what);
    int r = sqlite3_step(st);
    if (r != SQLITE_DONE)
        return db_error(s->db, what);
    return CR_OK;
}

/* step_done of ST, prepared for this one use, which is then finalized. */
static cr_err step_once(cr_store *s, sqlite3_stmt *st, const char *what)
{
    cr_err rc = step_done(s, st, what);
    sqlite3_finalize(st);
    return rc;
}

/* Runs each statement of SQL[0..N) once, with the integers V[0..NV) bound
 * to ?1..?NV (as far as a statement has parameters).  Stops at an error. */
static cr_err exec_each(cr_store *s, const char *const *sql, size_t n, const int64_t *v, int nv,
                        const char *what)
{
    cr_err rc = CR_OK;
    for (size_t i = 0; i < n && rc == CR_OK; i++) {
        sqlite3_stmt *st = prepare(s, sql[i]);
        if (!st)
            return CR_EIO;
        for (int k = 0; k < nv; k++)
            if (sqlite3_bind_parameter_count(st) > k)
                sqlite3_bind_int64(st, k + 1, v[k]);
        rc = step_done(s, st, what);
        sqlite3_finalize(st);
    }
    return rc;
}

/* The SQL functions migrations 8 and 12 make keys with: cr_key(id)
 * (cr_claim_key, NULL when too long), cr_sn(serial) (cr_serial_normalize),
 * cr_trim(text) (cr_trim_inplace, NULL when blank), cr_trk(tracking)
 * (cr_serial_normalize of the whole text, NULL when nothing is left or a
 * placeholder: cr_tracking_placeholder).  NULL
 * gives NULL. */
static void sql_keyfn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    const char *t = (const char *)sqlite3_value_text(argv[0]);
    int which = *(const int *)sqlite3_user_data(ctx);
    char out[256];
    if (!t) {
        sqlite3_result_null(ctx);
        return;
    }
    if (which == 0) {
        if (!cr_claim_key(t, out, sizeof out)) {
            sqlite3_result_null(ctx);
            return;
        }
    } else if (which == 1) {
        cr_serial_normalize(t, out, 64);
    } else if (which == 3) {
        size_t n = strlen(t) + 1;
        char *k = malloc(n);
        if (!k) {
            sqlite3_result_error_nomem(ctx);
            return;
        }
        cr_serial_normalize(t, k, n);
        if (*k && !cr_tracking_placeholder(k))
            sqlite3_result_text(ctx, k, -1, free);
        else {
            free(k);
            sqlite3_result_null(ctx);
        }
        return;
    } else {
        size_t n = strlen(t);
        cr_trim_span(&t, &n);
        if (!n) {
            sqlite3_result_null(ctx);
            return;
        }
        sqlite3_result_text(ctx, t, (int)n, SQLITE_TRANSIENT);
        return;
    }
    sqlite3_result_text(ctx, out, -1, SQLITE_TRANSIENT);
}

static cr_err migrate(cr_store *s)
{
    static const int which[4] = {0, 1, 2, 3};
    static const char *const names[4] = {"cr_key", "cr_sn", "cr_trim", "cr_trk"};
    for (int i = 0; i < 4; i++)
        if (sqlite3_create_function_v2(s->db, names[i], 1,
                                       SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_DIRECTONLY,
                                       (void *)&which[i], sql_keyfn, NULL, NULL, NULL) != SQLITE_OK)
            return db_error(s->db, "register a key function");
    int v = cr_store_schema_version(s);
    if (v < 0)
        return db_error(s->db, "read schema version");
    if (v > N_MIGRATIONS)
        return cr_error(CR_EIO,
                        "state database %s has schema version %d, newer than this carerecon (%d)",
                        s->path, v, N_MIGRATIONS);
    for (int i = v; i < N_MIGRATIONS; i++) {
        char bump[64];
        cr_err rc;
        if ((rc = exec(s, "BEGIN IMMEDIATE")) != CR_OK)
            return rc;
        snprintf(bump, sizeof bump, "PRAGMA user_version = %d", i + 1);
        if ((rc = exec(s, migrations[i])) != CR_OK || (rc = exec(s, bump)) != CR_OK) {
            exec(s, "ROLLBACK");
            return rc;
        }
        if ((rc = exec(s, "COMMIT")) != CR_OK)
            return rc;
    }
    return CR_OK;
}

int cr_store_schema_version(cr_store *s)
{
    sqlite3_stmt *st = prepare(s, "PRAGMA user_version");
    int v = -1;
    if (st && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* Every connection is used by one thread at a time (handed over by a join
 * or the recorder's hand-over), so SQLite's per-call mutexes and its
 * allocation statistics (a global mutex at every malloc) are left out. */
static void sqlite_setup(void)
{
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

static int open_db(const char *path, sqlite3 **db, int flags)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, sqlite_setup);
    return sqlite3_open_v2(path, db, flags | SQLITE_OPEN_NOMUTEX, NULL);
}

cr_err cr_store_open(const char *path, bool create, cr_store **out)
{
    cr_err rc;
    cr_store *s = calloc(1, sizeof *s);
    *out = NULL;
    if (!s || !(s->path = cr_strdup(path))) {
        free(s);
        return cr_error(CR_ENOMEM, "out of memory");
    }
    own_new(s);
    int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0);
    bool mem = strcmp(path, ":memory:") == 0;
    mode_t old = umask(027);
    int r = open_db(path, &s->db, flags);
    /* before the first statement: a night over everything holds the
     * database to itself while it commits, and a lookup waits for it */
    if (r == SQLITE_OK)
        sqlite3_busy_timeout(s->db, 5000);
    if (r == SQLITE_OK && cr_store_schema_version(s) > N_MIGRATIONS) {
        /* refuse a newer database before changing anything in it */
        umask(old);
        rc = cr_error(CR_EIO, "state database %s has schema version %d, newer than this carerecon (%d)",
                      path, cr_store_schema_version(s), N_MIGRATIONS);
        cr_store_close(s);
        return rc;
    }
    /* the switch to WAL needs the database to itself, and SQLite does not
     * wait for that through the busy timeout: a lookup while a night over
     * everything writes with a rollback journal waits here (up to 5 s) */
    for (int tries = 0; r == SQLITE_OK && !mem; tries++) {
        r = sqlite3_exec(s->db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL);
        if ((r & 0xff) != SQLITE_BUSY || tries >= 50)
            break;
        r = SQLITE_OK;
        usleep(100000);
    }
    umask(old);
    if (r != SQLITE_OK) {
        char hint[4200] = "";
        int e = s->db ? sqlite3_system_errno(s->db) : 0;
        if ((r & 0xff) == SQLITE_FULL || e == ENOSPC || e == EDQUOT)
            full_hint(path, hint, sizeof hint);
        rc = cr_error(r == SQLITE_CANTOPEN ? CR_ECANTCREAT : CR_EIO,
                      "cannot open state database %s: %s%s", path,
                      s->db ? sqlite3_errmsg(s->db) : "out of memory", hint);
        cr_store_close(s);
        return rc;
    }
    if (!mem)
        chmod(path, 0640);
    sqlite3_extended_result_codes(s->db, 1);
    /* a page cache of 16 MB: a first night at a million claims ran as fast
     * with it as with 64 MB, and 48 MB smaller (BENCHMARKS.md) */
    if ((rc = exec(s, "PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL;"
                      " PRAGMA cache_size = -16384; PRAGMA temp_store = MEMORY")) != CR_OK ||
        (rc = migrate(s)) != CR_OK) {
        cr_store_close(s);
        return rc;
    }
    *out = s;
    return CR_OK;
}

/* Whether S is a file another connection can open (not ":memory:"). */
static bool on_disk(const cr_store *s)
{
    return s->path && strcmp(s->path, ":memory:") != 0;
}

cr_err cr_store_open_reader(cr_store *s, cr_store **out)
{
    cr_store *r;
    *out = NULL;
    /* a second connection sees only what S has committed */
    if (!on_disk(s) || !sqlite3_get_autocommit(s->db))
        return CR_EIO;
    if (!(r = calloc(1, sizeof *r)) || !(r->path = cr_strdup(s->path))) {
        free(r);
        return cr_error(CR_ENOMEM, "out of memory");
    }
    own_new(r);
    if (open_db(r->path, &r->db, SQLITE_OPEN_READONLY) != SQLITE_OK ||
        sqlite3_exec(r->db, "PRAGMA cache_size = -16384; PRAGMA temp_store = MEMORY", NULL, NULL,
                     NULL) != SQLITE_OK) {
        cr_err rc = db_error(r->db, "open a second reader");
        cr_store_close(r);
        return rc;
    }
    sqlite3_busy_timeout(r->db, 5000);
    *out = r;
    return CR_OK;
}

void cr_store_close(cr_store *s)
{
    if (!s)
        return;
    cr_store_ckpt_stop(s, NULL);
    for (int i = 0; i < Q_COUNT; i++)
        sqlite3_finalize(s->q[i]);
    sqlite3_close(s->db);
    free(s->path);
    free(s);
}

cr_err cr_store_begin(cr_store *s) { return exec(s, "BEGIN IMMEDIATE"); }
cr_err cr_store_commit(cr_store *s) { return exec(s, "COMMIT"); }
/* SQLite may already have rolled back (a full disk): then there is
 * nothing to undo, and no second error to report. */
cr_err cr_store_rollback(cr_store *s)
{
    return sqlite3_get_autocommit(s->db) ? CR_OK : exec(s, "ROLLBACK");
}
cr_err cr_store_sync_ingest(cr_store *s, bool on)
{
    /* inside a transaction (a dry run's) nothing commits before its end */
    if (!sqlite3_get_autocommit(s->db))
        return CR_OK;
    return exec(s, on ? "PRAGMA synchronous = NORMAL" : "PRAGMA synchronous = FULL");
}

cr_err cr_store_savepoint(cr_store *s) { return exec(s, "SAVEPOINT cr_file"); }
cr_err cr_store_savepoint_release(cr_store *s) { return exec(s, "RELEASE cr_file"); }
cr_err cr_store_savepoint_rollback(cr_store *s)
{
    if (sqlite3_get_autocommit(s->db))
        return CR_OK;
    cr_err rc = exec(s, "ROLLBACK TO cr_file");
    return rc != CR_OK ? rc : exec(s, "RELEASE cr_file");
}

/* --- runs ---------------------------------------------------------------- */

cr_err cr_store_run_start(cr_store *s, cr_time_t as_of, const char *mode, cr_time_t now,
                          int64_t *run_id)
{
    sqlite3_stmt *st =
        prepare(s, "INSERT INTO runs(as_of, mode, started_at, status) VALUES(?,?,?,'running')");
    if (!st)
        return CR_EIO;
    sqlite3_bind_int64(st, 1, as_of);
    bind_text(st, 2, mode);
    sqlite3_bind_int64(st, 3, now);
    cr_err rc = step_done(s, st, "record the run");
    sqlite3_finalize(st);
    *run_id = sqlite3_last_insert_rowid(s->db);
    return rc;
}

cr_err cr_store_run_finish(cr_store *s, int64_t run_id, const char *status, cr_time_t now,
                           const cr_run_stats *x)
{
    sqlite3_stmt *st = prepare(
        s, "UPDATE runs SET status=?2, finished_at=?3, files_ingested=?4, files_skipped=?5,"
           " files_rejected=?6, rows_accepted=?7, rows_rejected=?8, captures=?9, releases=?10,"
           " pending=?11, ships=?12, exceptions_open=?13 WHERE run_id=?1");
    if (!st)
        return CR_EIO;
    sqlite3_bind_int64(st, 1, run_id);
    bind_text(st, 2, status);
    sqlite3_bind_int64(st, 3, now);
    long v[] = {x->files_ingested, x->files_skipped, x->files_rejected, x->rows_accepted,
                x->rows_rejected, x->captures, x->releases, x->pending, x->ships,
                x->exceptions_open};
    for (int i = 0; i < 10; i++)
        sqlite3_bind_int64(st, 4 + i, v[i]);
    return step_once(s, st, "finish the run");
}

/* Steps ST (prepared and bound, or NULL: CR_EIO) once: *OUT gets its first
 * column, 0 when it gives no row; ST is finalized. */
static cr_err scalar_i64(cr_store *s, sqlite3_stmt *st, const char *what, int64_t *out)
{
    if (!st)
        return CR_EIO;
    int r = sqlite3_step(st);
    *out = r == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);
    return r == SQLITE_ROW || r == SQLITE_DONE ? CR_OK : db_error(s->db, what);
}

/* scalar_i64 of SQL with ?1 bound to ARG. */
static cr_err scalar_of(cr_store *s, const char *sql, int64_t arg, const char *what, int64_t *out)
{
    sqlite3_stmt *st = prepare(s, sql);
    if (st)
        sqlite3_bind_int64(st, 1, arg);
    return scalar_i64(s, st, what, out);
}

cr_err cr_store_runs_close_unfinished(cr_store *s, int64_t before_run, cr_time_t now, long *count)
{
    sqlite3_stmt *st = prepare(s, "UPDATE runs SET status = 'failed', finished_at = ?2"
                                  " WHERE status = 'running' AND run_id < ?1");
    *count = 0;
    if (!st)
        return CR_EIO;
    sqlite3_bind_int64(st, 1, before_run);
    sqlite3_bind_int64(st, 2, now);
    cr_err rc = step_once(s, st, "close unfinished runs");
    if (rc == CR_OK)
        *count = (long)sqlite3_changes(s->db);
    return rc;
}

cr_err cr_store_latest_as_of(cr_store *s, cr_time_t *as_of)
{
    int64_t v = 0;
    cr_err rc = scalar_of(s, "SELECT coalesce(max(as_of), -1) FROM runs WHERE run_id > ?"
                             " AND status IN ('decided', 'done')", 0, "read the runs", &v);
    *as_of = rc == CR_OK && v >= 0 ? (cr_time_t)v : CR_TIME_NONE;
    return rc;
}

cr_err cr_store_runs_count(cr_store *s, long *count)
{
    int64_t v = 0;
    cr_err rc = scalar_of(s, "SELECT count(*) FROM runs WHERE run_id > ?", 0, "count the runs", &v);
    *count = (long)v;
    return rc;
}

cr_err cr_store_run_live(cr_store *s, int64_t run_id, bool *live)
{
    int64_t v = 0;
    cr_err rc = scalar_of(s, "SELECT count(*) FROM runs WHERE run_id = ? AND mode = 'live'", run_id,
                          "look a run up", &v);
    *live = v > 0;
    return rc;
}

/* --- files and rows ------------------------------------------------------ */

cr_err cr_store_file_resent(cr_store *s, const char *name, int64_t file_id, int64_t *run_id)
{
    sqlite3_stmt *st = prepare(s, "SELECT run_id FROM files WHERE name = ?1 AND file_id <> ?2 AND"
                                  " status = 'ingested' ORDER BY file_id DESC LIMIT 1");
    if (st) {
        bind_text(st, 1, name);
        sqlite3_bind_int64(st, 2, file_id);
    }
    return scalar_i64(s, st, "look a file name up", run_id);
}

cr_err cr_store_file_find(cr_store *s, const char *sha256, bool *found, char *name, size_t n)
{
    sqlite3_stmt *st = stmt(s, Q_FILE_FIND);
    if (!st)
        return CR_EIO;
    bind_text(st, 1, sha256);
    int r = sqlite3_step(st);
    *found = r == SQLITE_ROW;
    if (*found && n)
        snprintf(name, n, "%s", col_text(st, 0) ? col_text(st, 0) : "");
    sqlite3_reset(st);
    if (r != SQLITE_ROW && r != SQLITE_DONE)
        return db_error(s->db, "look a file up");
    return CR_OK;
}

/* Binds PATH and FS to parameters 1 to 6. */
static void bind_file_stat(sqlite3_stmt *st, const char *path, const cr_file_stat *fs)
{
    bind_text(st, 1, path);
    sqlite3_bind_int64(st, 2, fs->dev);
    sqlite3_bind_int64(st, 3, fs->ino);
    sqlite3_bind_int64(st, 4, fs->size);
    sqlite3_bind_int64(st, 5, fs->mtime_ns);
    sqlite3_bind_int64(st, 6, fs->ctime_ns);
}

cr_err cr_store_inbox_seen_get(cr_store *s, const char *path, const cr_file_stat *fs,
                               char sha256[65], bool *hit)
{
    sqlite3_stmt *st = prepare(s, "SELECT sha256 FROM inbox_seen WHERE path = ?1 AND dev = ?2"
                                  " AND ino = ?3 AND size = ?4 AND mtime_ns = ?5 AND ctime_ns = ?6");
    if (!st)
        return CR_EIO;
    bind_file_stat(st, path, fs);
    int r = sqlite3_step(st);
    const char *t = r == SQLITE_ROW ? col_text(st, 0) : NULL;
    *hit = t && strlen(t) == 64;
    if (*hit)
        memcpy(sha256, t, 65);
    sqlite3_finalize(st);
    return r == SQLITE_ROW || r == SQLITE_DONE ? CR_OK : db_error(s->db, "look an inbox file up");
}

cr_err cr_store_inbox_seen_put(cr_store *s, const char *path, const cr_file_stat *fs,
                               const char *sha256)
{
    sqlite3_stmt *st = prepare(s, "INSERT OR REPLACE INTO inbox_seen VALUES(?,?,?,?,?,?,?)");
    if (!st)
        return CR_EIO;
    bind_file_stat(st, path, fs);
    bind_text(st, 7, sha256);
    return step_once(s, st, "record an inbox file");
}

cr_err cr_store_file_add(cr_store *s, int64_t run_id, const char *sha256, const char *name,
                         const char *feed, cr_feed_kind kind, const char *status,
                         const cr_feed_stats *fs, const char *detail, cr_time_t now,
                         int64_t *file_id)
{
    sqlite3_stmt *st = stmt(s, Q_FILE_ADD);
    if (!st)
        return CR_EIO;
    bind_text(st, 1, sha256);
    bind_text(st, 2, name);
    bind_text(st, 3, feed);
    bind_text(st, 4, kind == CR_FEED_RECEIPTS ? "receipts" : "settlements");
    sqlite3_bind_int64(st, 5, run_id);
    sqlite3_bind_int64(st, 6, now);
    bind_text(st, 7, status);
    sqlite3_bind_int64(st, 8, fs ? fs->rows : 0);
    sqlite3_bind_int64(st, 9, fs ? fs->accepted : 0);
    sqlite3_bind_int64(st, 10, fs ? fs->rejected : 0);
    sqlite3_bind_int64(st, 11, fs ? fs->ignored : 0);
    bind_text(st, 12, detail);
    cr_err rc = step_done(s, st, "record a file");
    *file_id = sqlite3_last_insert_rowid(s->db);
    return rc;
}

cr_err cr_store_file_counts(cr_store *s, int64_t file_id, const cr_feed_stats *fs)
{
    sqlite3_stmt *st = prepare(s, "UPDATE files SET rows = ?2, accepted = ?3, rejected = ?4,"
                                  " ignored = ?5 WHERE file_id = ?1");
    if (!st)
        return CR_EIO;
    sqlite3_bind_int64(st, 1, file_id);
    sqlite3_bind_int64(st, 2, fs->rows);
    sqlite3_bind_int64(st, 3, fs->accepted);
    sqlite3_bind_int64(st, 4, fs->rejected);
    sqlite3_bind_int64(st, 5, fs->ignored);
    return step_once(s, st, "count a file's rows");
}

cr_err cr_store_event_add(cr_store *s, int64_t file_id, const cr_receipt_row *r)
{
    sqlite3_stmt *st = stmt(s, Q_EVENT_ADD);
    if (!st)
        return CR_EIO;
    sqlite3_bind_int64(st, 1, file_id);
    sqlite3_bind_int64(st, 2, r->line);
    bind_text(st, 3, r->tracking);
    bind_text(st, 4, r->claim_ref);
    sqlite3_bind_int(st, 5, (int)r->event);
    sqlite3_bind_int64(st, 6, r->at);
    bind_text(st, 7, r->serial);
    if (r->battery_returned >= 0)
        sqlite3_bind_int(st, 8, r->battery_returned);
    if (r->genuine >= 0)
        sqlite3_bind_int(st, 9, r->genuine);
    char key[256], sn[64];
    if (r->claim_ref && cr_claim_key(r->claim_ref, key, sizeof key))
        bind_text(st, 10, key);
    if (r->event == CR_EV_RECEIVED && r->serial) {
        cr_serial_normalize(r->serial, sn, sizeof sn);
        bind_text(st, 11, sn);
    }
    return sqlite3_step(st) == SQLITE_DONE ? CR_OK : db_error(s->db, "record an event");
}

cr_err cr_store_settlement_add(cr_store *s, int64_t file_id, const cr_settle_row *r)
{
    sqlite3_stmt *st = stmt(s, Q_SETTLE_ADD);
    if (!st)
        return CR_EIO;
    sqlite3_bind_int64(st, 1, file_id);
    sqlite3_bind_int64(st, 2, r->line);
    bind_text(st, 3, r->psp_ref);
    bind_text(st, 4, r->merchant_ref);
    sqlite3_bind_int(st, 5, (int)r->type);
    bind_text(st, 6, r->raw_type);
    if (r->has_amount)
        sqlite3_bind_int64(st, 7, r->amount);
    bind_text(st, 8, r->currency[0] ? r->currency : NULL);
    sqlite3_bind_int64(st, 9, r->booked_at);
    bind_text(st, 10, r->card_brand);
    char key[256];
    if (r->merchant_ref && cr_claim_key(r->merchant_ref, key, sizeof key))
        bind_text(st, 11, key);
    return sqlite3_step(st) == SQLITE_DONE ? CR_OK : db_error(s->db, "record a settlement row");
}

#define RAW_KEEP 16000
cr_err cr_store_reject_add(cr_store *s, int64_t run_id, int64_t file_id, const char *file_name,
                           const cr_reject_row *r)
{
    sqlite3_stmt *st = stmt(s, Q_REJECT_ADD);
    if (!st)
        return CR_EIO;
    sqlite3_bind_int64(st, 1, run_id);
    if (file_id > 0)
        sqlite3_bind_int64(st, 2, file_id);
    bind_text(st, 3, file_name);
    sqlite3_bind_int64(st, 4, r->line);
    bind_text(st, 5, cr_reason_name(r->reason));
    bind_text(st, 6, r->field);
    bind_text(st, 7, r->detail);
    char key[256], sn[64];
    if (r->claim_ref && cr_claim_key(r->claim_ref, key, sizeof key) && key[0])
        bind_text(st, 9, key);
    if (r->serial) {
        cr_serial_normalize(r->serial, sn, sizeof sn);
        if (sn[0])
            bind_text(st, 10, sn);
    }
    /* the raw text whole up to RAW_KEEP bytes (a workbook cell holds 32,767
     * characters); a longer one is cut at a character's start, and says so */
    char *cut = NULL;
    if (r->raw && r->raw_len > RAW_KEEP) {
        /* back to a character's start: at most 3 continuation bytes in
         * UTF-8 (text that is not UTF-8 is cut where it is) */
        size_t n = RAW_KEEP;
        for (int k = 0; k < 3 && ((unsigned char)r->raw[n] & 0xC0) == 0x80; k++)
            n--;
        if (((unsigned char)r->raw[n] & 0xC0) == 0x80)
            n = RAW_KEEP;
        if (!(cut = malloc(n + 80)))
            return cr_error(CR_ENOMEM, "out of memory");
        memcpy(cut, r->raw, n);
        int m = snprintf(cut + n, 80, " [... cut here: the row has %zu bytes]", r->raw_len);
        sqlite3_bind_text(st, 8, cut, (int)n + (m > 0 && m < 80 ? m : 0), SQLITE_TRANSIENT);
    } else if (r->raw)
        sqlite3_bind_text(st, 8, r->raw, (int)r->raw_len, SQLITE_TRANSIENT);
    cr_err rc = sqlite3_step(st) == SQLITE_DONE ? CR_OK : db_error(s->db, "record a rejected row");
    free(cut);
    return rc;
}

/* The runs after ?2 and before ?1 that never published their workbook,
 * and that no published workbook listed (a run that stopped after
 * publishing its workbook listed every such run before it) */
#define AFTER_PUBLISHED "(SELECT coalesce(max(run_id), 0) FROM runs WHERE published)"
#define UNLISTED_RUNS                                                                      \
    "(run_id > ?2 AND run_id < ?1 AND run_id > " AFTER_PUBLISHED " AND run_id IN"              \
    " (SELECT run_id FROM runs WHERE status <> 'done' AND NOT published))"

/* Steps ST to its end, handing each row to ROW (with UD) until it returns
 * other than CR_OK; finalizes ST.  WHAT says what was read, in an error. */
typedef cr_err (*row_each)(sqlite3_stmt *st, void *ud);
static cr_err each_row(cr_store *s, sqlite3_stmt *st, row_each row, void *ud, const char *what)
{
    cr_err rc = CR_OK;
    int r = SQLITE_DONE;
    if (!st)
        return CR_EIO;
    while (rc == CR_OK && (r = sqlite3_step(st)) == SQLITE_ROW)
        rc = row(st, ud);
    if (rc == CR_OK && r != SQLITE_DONE)
        rc = db_error(s->db, what);
    sqlite3_finalize(st);
    return rc;
}

/* SQL over the runs UNLISTED_RUNS names, for run RUN_ID after LISTED. */
static sqlite3_stmt *prepare_unlisted(cr_store *s, const char *sql, int64_t run_id, int64_t listed)
{
    sqlite3_stmt *st = prepare(s, sql);
    if (st) {
        sqlite3_bind_int64(st, 1, run_id);
        sqlite3_bind_int64(st, 2, listed);
    }
    return st;
}

/* A callback and its argument, for each_row's row functions. */
typedef struct view_fn {
    cr_err (*reject)(void *ud, const cr_reject_view *r);
    cr_err (*refund)(void *ud, const cr_refund_view *r);
    cr_err (*history)(void *ud, const cr_history_item *h);
    void *ud;
    const char *id, *sn;       /* cr_store_claim_rejects: the claim's id and serial */
} view_fn;

/* The rejected row at ST (REJECT_COLS), its raw text RAW. */
#define REJECT_COLS "file_name, line, reason, field, detail, raw, run_id"
static cr_reject_view reject_view(sqlite3_stmt *st, const char *raw)
{
    return (cr_reject_view){col_text(st, 0), (long)sqlite3_column_int64(st, 1), col_text(st, 2),
                            col_text(st, 3), col_text(st, 4), raw, sqlite3_column_int64(st, 6)};
}

static cr_err reject_row(sqlite3_stmt *st, void *ud)
{
    const view_fn *f = ud;
    cr_reject_view v = reject_view(st, col_text(st, 5));
    return f->reject(f->ud, &v);
}

cr_err cr_store_rejects_of_run(cr_store *s, int64_t run_id, int64_t listed, cr_reject_fn fn, void *ud)
{
    view_fn f = {.reject = fn, .ud = ud};
    return each_row(s,
                    prepare_unlisted(s, "SELECT " REJECT_COLS " FROM rejects WHERE run_id = ?1 OR "
                                        UNLISTED_RUNS " ORDER BY reject_id", run_id, listed),
                    reject_row, &f, "read rejected rows");
}

/* Steps ST to its end, appending one element of SIZE bytes per row to a
 * growable array and letting FILL read the row into it (strings into POOL;
 * FILL returns false on no memory).  Finalizes ST.  *OUT is malloc'd. */
typedef bool (*row_fill)(cr_pool *pool, sqlite3_stmt *st, void *item);

static cr_err load_rows(cr_store *s, sqlite3_stmt *st, cr_pool *pool, size_t size, row_fill fill,
                        const char *what, void *out, size_t *n)
{
    char *items = NULL;
    size_t cnt = 0, cap = 0;
    bool ok = true;
    int r;
    *n = 0;
    memset(out, 0, sizeof(void *));
    if (!st)
        return CR_EIO;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        if (!cr_grow(&items, &cap, cnt, size, 1024) ||
            !fill(pool, st, memset(items + cnt * size, 0, size))) {
            ok = false;
            break;
        }
        cnt++;
    }
    cr_err rc = !ok ? cr_error(CR_ENOMEM, "out of memory: %s", what)
                : r != SQLITE_DONE ? db_error(s->db, what)
                                   : CR_OK;
    sqlite3_finalize(st);
    if (rc != CR_OK) {
        free(items);
        return rc;
    }
    memcpy(out, &items, sizeof items);
    *n = cnt;
    return CR_OK;
}

/* Streams the rows of ST as items of SIZE bytes made by FILL to SINK,
 * with the texts of the key columns KEYCOL (-1: none): what a night in
 * parts spools.  The items' texts live until SINK returns. */
static cr_err stream_rows(cr_store *s, sqlite3_stmt *st, size_t size, row_fill fill,
                       const int keycol[CR_PART_KEYS], const char *what, cr_item_sink sink,
                       void *ud)
{
    cr_pool pool = CR_POOL_INIT;
    void *item = malloc(size);
    cr_err rc = CR_OK;
    size_t k = 0;
    int r = SQLITE_DONE;
    if (!st) {
        free(item);
        return CR_EIO;
    }
    if (!item) {
        sqlite3_finalize(st);
        return cr_error(CR_ENOMEM, "out of memory: %s", what);
    }
    while (rc == CR_OK && (r = sqlite3_step(st)) == SQLITE_ROW) {
        const char *keys[CR_PART_KEYS];
        if (!fill(&pool, st, memset(item, 0, size))) {
            rc = cr_error(CR_ENOMEM, "out of memory: %s", what);
            break;
        }
        for (int j = 0; j < CR_PART_KEYS; j++)
            keys[j] = keycol[j] < 0 ? NULL : col_text(st, keycol[j]);
        rc = sink(ud, item, keys);
        if (++k % 4096 == 0)
            cr_pool_release(&pool);   /* the sink copied what it keeps */
    }
    if (rc == CR_OK && r != SQLITE_DONE && r != SQLITE_ROW)
        rc = db_error(s->db, what);
    sqlite3_finalize(st);
    cr_pool_release(&pool);
    free(item);
    return rc;
}

static bool fill_event(cr_pool *pool, sqlite3_stmt *st, void *item)
{
    cr_event *e = item;
    bool oom = false;
    e->id = sqlite3_column_int64(st, 0);
    e->tracking = pool_col(pool, st, 1, &oom);
    e->claim_ref = pool_col(pool, st, 2, &oom);
    e->serial = pool_col(pool, st, 3, &oom);
    e->kind = (cr_event_kind)sqlite3_column_int(st, 4);
    e->at = sqlite3_column_int64(st, 5);
    e->battery_returned = sqlite3_column_type(st, 6) == SQLITE_NULL ? -1 : sqlite3_column_int(st, 6);
    e->genuine = sqlite3_column_type(st, 7) == SQLITE_NULL ? -1 : sqlite3_column_int(st, 7);
    e->file = pool_col_same(pool, st, 8, &oom);
    e->line = (long)sqlite3_column_int64(st, 9);
    e->claim = -1;
    return !oom;
}

cr_err cr_store_events_load(cr_store *s, cr_pool *pool, cr_event **out, size_t *n)
{
#define EVENT_COLS                                                                          \
    "SELECT e.event_id, e.tracking, e.claim_ref, e.serial, e.kind, e.at, e.battery, e.genuine," \
    " f.name, e.line"
#define EVENT_FROM " FROM events e JOIN files f USING(file_id)"
#define EVENT_SELECT EVENT_COLS EVENT_FROM
    sqlite3_stmt *st = prepare(s, s->subset ? EVENT_SELECT " WHERE e.event_id IN (SELECT event_id"
                                                           " FROM temp.sub_events) ORDER BY e.event_id"
                                            : EVENT_SELECT " ORDER BY e.event_id");
    return load_rows(s, st, pool, sizeof **out, fill_event, "load events", out, n);
}

cr_err cr_store_events_each(cr_store *s, cr_item_sink sink, void *ud)
{
    static const int keys[CR_PART_KEYS] = {10, 11, 1, -1};
    return stream_rows(s, prepare(s, EVENT_COLS ", e.claim_key, e.serial_norm" EVENT_FROM
                                     " ORDER BY e.event_id"),
                    sizeof(cr_event), fill_event, keys, "read events", sink, ud);
}

static bool fill_srow(cr_pool *pool, sqlite3_stmt *st, void *item)
{
    cr_srow *x = item;
    bool oom = false;
    x->id = sqlite3_column_int64(st, 0);
    x->psp_ref = pool_col(pool, st, 1, &oom);
    x->merchant_ref = pool_col(pool, st, 2, &oom);
    x->type = (cr_settle_type)sqlite3_column_int(st, 3);
    x->raw_type = pool_col_same(pool, st, 4, &oom);
    x->has_amount = sqlite3_column_type(st, 5) != SQLITE_NULL;
    x->amount = sqlite3_column_int64(st, 5);
    snprintf(x->currency, sizeof x->currency, "%s", col_text(st, 6) ? col_text(st, 6) : "");
    x->booked_at = sqlite3_column_int64(st, 7);
    x->card_brand = pool_col_same(pool, st, 8, &oom);
    x->file = pool_col_same(pool, st, 9, &oom);
    x->line = (long)sqlite3_column_int64(st, 10);
    x->file_id = sqlite3_column_int64(st, 11);
    x->claim = -1;
    return !oom;
}

cr_err cr_store_settlements_load(cr_store *s, cr_pool *pool, cr_srow **out, size_t *n)
{
#define ROW_COLS                                                                            \
    "SELECT s.row_id, s.psp_ref, s.merchant_ref, s.type, s.raw_type, s.amount, s.currency,"     \
    " s.booked_at, s.card_brand, f.name, s.line, s.file_id"
#define ROW_FROM " FROM settlements s JOIN files f USING(file_id)"
#define ROW_SELECT ROW_COLS ROW_FROM
    sqlite3_stmt *st = prepare(s, s->subset ? ROW_SELECT " WHERE s.row_id IN (SELECT row_id FROM"
                                                         " temp.sub_rows) ORDER BY s.row_id"
                                            : ROW_SELECT " ORDER BY s.row_id");
    return load_rows(s, st, pool, sizeof **out, fill_srow, "load settlement rows", out, n);
}

cr_err cr_store_settlements_each(cr_store *s, cr_item_sink sink, void *ud)
{
    static const int keys[CR_PART_KEYS] = {12, -1, -1, 1};
    return stream_rows(s, prepare(s, ROW_COLS ", s.merchant_key" ROW_FROM " ORDER BY s.row_id"),
                    sizeof(cr_srow), fill_srow, keys, "read settlement rows", sink, ud);
}

/* --- actions ------------------------------------------------------------- */

static bool fill_action(cr_pool *pool, sqlite3_stmt *st, void *item)
{
    cr_action *x = item;
    bool oom = false;
    x->id = sqlite3_column_int64(st, 0);
    x->claim_id = pool_col(pool, st, 1, &oom);
    x->kind = pool_col_same(pool, st, 2, &oom);
    x->action = pool_col_same(pool, st, 3, &oom);
    x->reason = pool_col_same(pool, st, 4, &oom);
    x->amount = sqlite3_column_int64(st, 5);
    x->currency = pool_col_same(pool, st, 6, &oom);
    x->psp_ref = pool_col(pool, st, 7, &oom);
    x->run_id = sqlite3_column_int64(st, 8);
    x->issued_at = sqlite3_column_int64(st, 9);
    x->file_name = pool_col_same(pool, st, 10, &oom);
    x->written = sqlite3_column_int(st, 11) != 0;
    x->confirmed_row = sqlite3_column_int64(st, 12);
    x->confirmed_at = col_time(st, 13);
    x->region = pool_col_same(pool, st, 14, &oom);
    x->product_model = pool_col_same(pool, st, 15, &oom);
    x->received_sn = pool_col(pool, st, 16, &oom);
    x->received_at = col_time(st, 17);
    return !oom;
}

#define ACTION_COLS                                                                          \
    "SELECT action_id, claim_id, kind, action, reason, amount, currency, psp_ref, run_id,"      \
    " issued_at, file_name, action_id NOT IN (SELECT action_id FROM unwritten), confirmed_row,"  \
    " confirmed_at, region, product_model,"                                                     \
    " received_sn, received_at"
#define ACTION_SELECT ACTION_COLS " FROM actions"

cr_err cr_store_actions_load(cr_store *s, cr_pool *pool, cr_action **out, size_t *n)
{
    sqlite3_stmt *st = prepare(
        s, s->subset ? ACTION_SELECT " WHERE claim_id IN (SELECT claim_id FROM temp.sub_claims)"
                                     " OR action_id IN (SELECT action_id FROM action_alias WHERE"
                                     " claim_id IN (SELECT claim_id FROM temp.sub_claims))"
                                     /* the subset's claim keys: an action under the id
                                      * in another case (attach_actions takes it by key) */
                                     " OR claim_key IN (SELECT v FROM temp.sub_keys WHERE kind = 0)"
                                     " ORDER BY action_id"
                     : ACTION_SELECT " ORDER BY action_id");
    return load_rows(s, st, pool, sizeof **out, fill_action, "load actions", out, n);
}

cr_err cr_store_actions_each(cr_store *s, cr_item_sink sink, void *ud)
{
    static const int keys[CR_PART_KEYS] = {18, -1, -1, 7};
    return stream_rows(s, prepare(s, ACTION_COLS ", claim_key FROM actions ORDER BY action_id"),
                    sizeof(cr_action), fill_action, keys, "read actions", sink, ud);
}

cr_err cr_store_action_aliases_each(cr_store *s, cr_alias_sink sink, void *ud)
{
    sqlite3_stmt *st = prepare(s, "SELECT action_id, claim_id FROM action_alias");
    cr_err rc = CR_OK;
    int r = SQLITE_DONE;
    if (!st)
        return CR_EIO;
    while (rc == CR_OK && (r = sqlite3_step(st)) == SQLITE_ROW)
        rc = sink(ud, sqlite3_column_int64(st, 0), col_text(st, 1));
    if (rc == CR_OK && r != SQLITE_DONE)
        rc = db_error(s->db, "read the actions' other claims");
    sqlite3_finalize(st);
    return rc;
}

cr_err cr_store_actions_unlisted(cr_store *s, int64_t run_id, int64_t listed, cr_pool *pool,
                                 cr_action **out, size_t *n)
{
    /* actions has no index by run: the scan (0.13 s at a million actions)
     * only when a run is unlisted, which is rare (a killed night) */
    sqlite3_stmt *st = prepare(s, "SELECT count(*) FROM runs WHERE run_id > ?2 AND run_id < ?1 AND"
                                  " status <> 'done' AND NOT published AND run_id > " AFTER_PUBLISHED);
    int64_t unlisted = 0;
    if (st) {
        sqlite3_bind_int64(st, 1, run_id);
        sqlite3_bind_int64(st, 2, listed);
    }
    cr_err rc = scalar_i64(s, st, "look for unlisted runs", &unlisted);
    *out = NULL;
    *n = 0;
    if (rc != CR_OK || unlisted == 0)
        return rc;
    st = prepare(s, ACTION_SELECT " WHERE " UNLISTED_RUNS " ORDER BY action_id");
    if (st) {
        sqlite3_bind_int64(st, 1, run_id);
        sqlite3_bind_int64(st, 2, listed);
    }
    return load_rows(s, st, pool, sizeof **out, fill_action, "load unlisted actions", out, n);
}

cr_err cr_store_refund_taken(cr_store *s, int64_t run_id, int64_t row_id, const char *claim_id)
{
    sqlite3_stmt *st = stmt(s, Q_REFUND_TAKEN);
    if (!st)
        return CR_EIO;
    sqlite3_bind_int64(st, 1, run_id);
    sqlite3_bind_int64(st, 2, row_id);
    bind_text(st, 3, claim_id);
    return step_done(s, st, "record a refund listed");
}

static cr_err refund_row(sqlite3_stmt *st, void *ud)
{
    const view_fn *f = ud;
    cr_refund_view v = {
        .run_id = sqlite3_column_int64(st, 0), .claim_id = col_text(st, 1),
        .psp_ref = col_text(st, 2), .merchant_ref = col_text(st, 3),
        .has_amount = sqlite3_column_type(st, 4) != SQLITE_NULL,
        .amount = sqlite3_column_int64(st, 4), .currency = col_text(st, 5),
        .booked_at = sqlite3_column_int64(st, 6), .file = col_text(st, 7),
        .line = (long)sqlite3_column_int64(st, 8)};
    return f->refund(f->ud, &v);
}

cr_err cr_store_refunds_unlisted(cr_store *s, int64_t run_id, int64_t listed, cr_refund_fn fn,
                                 void *ud)
{
    view_fn f = {.refund = fn, .ud = ud};
    return each_row(s,
                    prepare_unlisted(s,
                        "SELECT r.run_id, r.claim_id, x.psp_ref, x.merchant_ref, x.amount,"
                        " x.currency, x.booked_at, f.name, x.line"
                        " FROM (SELECT * FROM run_refunds WHERE " UNLISTED_RUNS ") r"
                        " JOIN settlements x ON x.row_id = r.row_id"
                        " JOIN files f ON f.file_id = x.file_id ORDER BY r.run_id, r.row_id",
                        run_id, listed),
                    refund_row, &f, "read the refunds of unlisted runs");
}

/* Runs SQL once with TEXT bound to ?1 and NUM to ?2. */
static cr_err exec_text_num(cr_store *s, const char *sql, const char *what, const char *text,
                            int64_t num)
{
    sqlite3_stmt *st = prepare(s, sql);
    if (!st)
        return CR_EIO;
    bind_text(st, 1, text);
    sqlite3_bind_int64(st, 2, num);
    return step_once(s, st, what);
}

int cr_store_sync_level(cr_store *s)
{
    sqlite3_stmt *st = prepare(s, "PRAGMA synchronous");
    int64_t v = -1;
    return scalar_i64(s, st, "read the sync level", &v) == CR_OK ? (int)v : -1;
}

cr_err cr_store_run_workbook(cr_store *s, int64_t run_id, const char *path, int64_t after_ns)
{
    sqlite3_stmt *st = prepare(s, "UPDATE runs SET workbook = ?1, workbook_after = ?3"
                                  " WHERE run_id = ?2");
    if (!st)
        return CR_EIO;
    bind_text(st, 1, path);
    sqlite3_bind_int64(st, 2, run_id);
    sqlite3_bind_int64(st, 3, after_ns);
    return step_once(s, st, "record the workbook's name");
}

cr_err cr_store_runs_published(cr_store *s, int64_t run_id, int64_t listed, int *found)
{
    sqlite3_stmt *st = prepare(s, "SELECT run_id, workbook, workbook_after FROM runs WHERE"
                                  " run_id > ?2 AND run_id < ?1 AND status <> 'done' AND"
                                  " NOT published AND workbook IS NOT NULL ORDER BY run_id");
    int64_t ids[64];
    int n = 0, r = SQLITE_DONE;
    *found = 0;
    if (!st)
        return CR_EIO;
    sqlite3_bind_int64(st, 1, run_id);
    sqlite3_bind_int64(st, 2, listed);
    while (n < 64 && (r = sqlite3_step(st)) == SQLITE_ROW) {
        /* written since the run started (to the nanosecond): not an older
         * workbook of the same name (a --report path given every night) */
        struct stat sb;
        const char *wb = col_text(st, 1);
        if (wb && stat(wb, &sb) == 0 && S_ISREG(sb.st_mode) &&
            (int64_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec >=
                sqlite3_column_int64(st, 2))
            ids[n++] = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    if (r != SQLITE_ROW && r != SQLITE_DONE)
        return db_error(s->db, "look for published workbooks");
    cr_err rc = CR_OK;
    for (int i = 0; i < n && rc == CR_OK; i++) /* (no text: ?1 is unused) */
        rc = exec_text_num(s, "UPDATE runs SET published = 1 WHERE run_id = ?2",
                           "record a published workbook", NULL, ids[i]);
    if (rc == CR_OK)
        *found = n;
    return rc;
}

cr_err cr_store_action_alias(cr_store *s, int64_t action_id, const char *claim_id)
{
    return exec_text_num(s, "INSERT OR IGNORE INTO action_alias(claim_id, action_id) VALUES(?1, ?2)",
                         "record an action's claim", claim_id, action_id);
}

cr_err cr_store_actions_unwritten(cr_store *s, int64_t except_run, cr_pool *pool, cr_action **out,
                                  size_t *n)
{
    sqlite3_stmt *st = prepare(s, ACTION_SELECT " WHERE action_id IN (SELECT action_id FROM"
                                                " unwritten) AND run_id IS NOT ? ORDER BY action_id");
    if (st)
        sqlite3_bind_int64(st, 1, except_run);
    return load_rows(s, st, pool, sizeof **out, fill_action, "load unwritten actions", out, n);
}

/* Binds action A's 17 columns from ?(AT+1); its id only when it has one. */
static void bind_action(sqlite3_stmt *st, int at, const cr_action *a)
{
    if (a->id > 0)
        sqlite3_bind_int64(st, at + 1, a->id);
    else
        sqlite3_bind_null(st, at + 1);
    bind_text(st, at + 2, a->claim_id);
    bind_text(st, at + 3, a->kind);
    bind_text(st, at + 4, a->action);
    bind_text(st, at + 5, a->reason);
    sqlite3_bind_int64(st, at + 6, a->amount);
    bind_text(st, at + 7, a->currency);
    bind_text(st, at + 8, a->psp_ref);
    sqlite3_bind_int64(st, at + 9, a->run_id);
    sqlite3_bind_int64(st, at + 10, a->issued_at);
    bind_text(st, at + 11, a->file_name);
    bind_text(st, at + 12, a->region);
    bind_text(st, at + 13, a->product_model);
    bind_text(st, at + 14, a->received_sn);
    bind_time(st, at + 15, a->received_at);
    if (a->confirmed_row) {
        sqlite3_bind_int64(st, at + 16, a->confirmed_row);
        bind_time(st, at + 17, a->confirmed_at);
    } else {
        sqlite3_bind_null(st, at + 16);
        sqlite3_bind_null(st, at + 17);
    }
    char key[256];
    if (a->claim_id && cr_claim_key(a->claim_id, key, sizeof key))
        sqlite3_bind_text(st, at + 18, key, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, at + 18);
}

cr_err cr_store_action_add(cr_store *s, cr_action *a, bool *duplicate)
{
    sqlite3_stmt *st = stmt(s, Q_ACTION_ADD);
    if (!st)
        return CR_EIO;
    a->id = 0;
    bind_action(st, 0, a);
    cr_err rc = step_done(s, st, "record an action");
    if (rc != CR_OK)
        return rc;
    *duplicate = sqlite3_changes(s->db) == 0;
    a->id = *duplicate ? 0 : sqlite3_last_insert_rowid(s->db);
    if (*duplicate)
        return CR_OK;
    /* its file is still to be written */
    if (!(st = stmt(s, Q_UNWRITTEN_ADD)))
        return CR_EIO;
    sqlite3_bind_int64(st, 1, a->id);
    return step_done(s, st, "record an action");
}

cr_err cr_store_actions_add(cr_store *s, cr_action *const *a, size_t n, size_t *duplicate)
{
    *duplicate = n;
    for (size_t i = 0; i < n; i++) {
        cr_err rc;
        bool dup = false;
        if (n - i < MULTI_ROWS) {
            if ((rc = cr_store_action_add(s, a[i], &dup)) != CR_OK)
                return rc;
            if (dup) {
                *duplicate = i;
                return CR_OK;
            }
            continue;
        }
        /* MULTI_ROWS at once, with the ids SQLite would give them one by
         * one (the next after the highest: nothing else writes meanwhile) */
        sqlite3_stmt *st = stmt(s, Q_ACTION_MAX);
        if (!st || sqlite3_step(st) != SQLITE_ROW)
            return st ? db_error(s->db, "record actions") : CR_EIO;
        int64_t next = sqlite3_column_int64(st, 0) + 1;
        sqlite3_reset(st);
        if (!(st = stmt(s, Q_ACTION_ADD8)))
            return CR_EIO;
        for (int r = 0; r < MULTI_ROWS; r++) {
            a[i + r]->id = next + r;
            bind_action(st, ACTION_NCOLS * r, a[i + r]);
        }
        if ((rc = step_done(s, st, "record actions")) != CR_OK)
            return rc;
        if (sqlite3_changes(s->db) != MULTI_ROWS) {
            /* one of them was there already: which */
            for (int r = 0; r < MULTI_ROWS && *duplicate == n; r++) {
                if (!(st = stmt(s, Q_ACTION_HAS)))
                    return CR_EIO;
                sqlite3_bind_int64(st, 1, a[i + r]->id);
                int x = sqlite3_step(st);
                if (x != SQLITE_ROW && x != SQLITE_DONE)
                    return db_error(s->db, "record actions");
                if (x == SQLITE_DONE) {
                    a[i + r]->id = 0;
                    *duplicate = i + (size_t)r;
                }
            }
            return CR_OK;
        }
        /* their files are still to be written */
        if (!(st = stmt(s, Q_UNWRITTEN_ADD8)))
            return CR_EIO;
        for (int r = 0; r < MULTI_ROWS; r++)
            sqlite3_bind_int64(st, r + 1, a[i + r]->id);
        if ((rc = step_done(s, st, "record actions")) != CR_OK)
            return rc;
        i += MULTI_ROWS - 1;
    }
    return CR_OK;
}

cr_err cr_store_action_confirm(cr_store *s, int64_t action_id, int64_t row_id, cr_time_t at)
{
    sqlite3_stmt *st = stmt(s, Q_ACTION_CONFIRM);
    if (!st)
        return CR_EIO;
    sqlite3_bind_int64(st, 1, action_id);
    if (row_id) {        /* 0: no row confirms it (any more) */
        sqlite3_bind_int64(st, 2, row_id);
        sqlite3_bind_int64(st, 3, at);
    } else {
        sqlite3_bind_null(st, 2);
        sqlite3_bind_null(st, 3);
    }
    return step_done(s, st, "confirm an action");
}

cr_err cr_store_action_retarget(cr_store *s, int64_t action_id, const char *file_name)
{
    sqlite3_stmt *st = stmt(s, Q_ACTION_FILE);
    if (!st)
        return CR_EIO;
    sqlite3_bind_int64(st, 1, action_id);
    bind_text(st, 2, file_name);
    return step_done(s, st, "plan an action's file");
}

cr_err cr_store_action_mark_written(cr_store *s, int64_t action_id, const char *file_name)
{
    cr_err rc = cr_store_action_retarget(s, action_id, file_name);
    sqlite3_stmt *st = rc == CR_OK ? stmt(s, Q_UNWRITTEN_DEL) : NULL;
    if (!st)
        return rc == CR_OK ? CR_EIO : rc;
    sqlite3_bind_int64(st, 1, action_id);
    return step_done(s, st, "mark an action written");
}

cr_err cr_store_actions_all_written(cr_store *s)
{
    return exec(s, "DELETE FROM unwritten");
}

cr_err cr_store_actions_file_written(cr_store *s, const char *file_name)
{
    sqlite3_stmt *st = prepare(s, "DELETE FROM unwritten WHERE action_id IN"
                                  " (SELECT action_id FROM actions WHERE file_name = ?)");
    if (!st)
        return CR_EIO;
    bind_text(st, 1, file_name);
    return step_once(s, st, "mark a file's actions written");
}

/* --- decisions ----------------------------------------------------------- */

static bool fill_dhash(cr_pool *pool, sqlite3_stmt *st, void *item)
{
    cr_dhash *h = item;
    bool oom = false;
    h->claim_id = pool_col(pool, st, 0, &oom);
    h->hash = (uint64_t)sqlite3_column_int64(st, 1);
    h->row_hash = (uint64_t)sqlite3_column_int64(st, 2);
    int m = sqlite3_column_int(st, 3);
    h->action_match = m == CR_MATCH_ISSUED || m == CR_MATCH_CONFLICT ? (cr_action_match)m : CR_MATCH_NONE;
    h->archived = sqlite3_column_int(st, 4) != 0;
    return !oom;
}

cr_err cr_store_decision_hashes(cr_store *s, cr_pool *pool, cr_dhash **out, size_t *n)
{
    sqlite3_stmt *st = prepare(
        s, s->subset ? "SELECT claim_id, hash, row_hash, action_match, fp IS 0 FROM claim_state"
                       " WHERE claim_id IN (SELECT claim_id FROM temp.sub_claims) ORDER BY claim_id"
                     : "SELECT claim_id, hash, row_hash, action_match, fp IS 0 FROM claim_state"
                       " ORDER BY claim_id");
    return load_rows(s, st, pool, sizeof **out, fill_dhash, "load decisions", out, n);
}

/* Binds decision D of CLAIM_ID to ?BASE+1..?BASE+7. */
static void bind_decision(sqlite3_stmt *st, int base, int64_t run_id, cr_time_t as_of,
                          const char *claim_id, const cr_decision *d)
{
    bind_text(st, base + 1, claim_id);
    sqlite3_bind_int64(st, base + 2, run_id);
    sqlite3_bind_int64(st, base + 3, as_of);
    bind_text(st, base + 4, cr_decision_name(d->kind));
    bind_text(st, base + 5, d->reason);
    bind_text(st, base + 6, d->state ? cr_pending_name(d->state) : NULL);
    bind_text(st, base + 7, d->detail[0] ? d->detail : NULL);
}

cr_err cr_store_decision_record(cr_store *s, int64_t run_id, cr_time_t as_of, const char *claim_id,
                                const cr_decision *d)
{
    sqlite3_stmt *st = stmt(s, Q_DEC_ADD);
    if (!st)
        return CR_EIO;
    bind_decision(st, 0, run_id, as_of, claim_id, d);
    return sqlite3_step(st) == SQLITE_DONE ? CR_OK : db_error(s->db, "record a decision");
}

cr_err cr_store_decisions_record(cr_store *s, int64_t run_id, cr_time_t as_of,
                                 const char *const *claim_ids, const cr_decision *const *d, size_t n)
{
    size_t i = 0;
    for (; i + MULTI_ROWS <= n; i += MULTI_ROWS) {
        sqlite3_stmt *st = stmt(s, Q_DEC_ADD8);
        if (!st)
            return CR_EIO;
        for (int r = 0; r < MULTI_ROWS; r++)
            bind_decision(st, 7 * r, run_id, as_of, claim_ids[i + r], d[i + r]);
        if (sqlite3_step(st) != SQLITE_DONE)
            return db_error(s->db, "record decisions");
    }
    cr_err rc = CR_OK;
    for (; i < n && rc == CR_OK; i++)
        rc = cr_store_decision_record(s, run_id, as_of, claim_ids[i], d[i]);
    return rc;
}

/* Binds C to ?B+1..?B+CSTATE_COLS. */
static void bind_cstate(sqlite3_stmt *st, int b, const cr_cstate *c)
{
    bind_text(st, b + 1, c->claim_id);
    bind_text(st, b + 2, c->key);
    bind_text(st, b + 3, c->norm_sn && *c->norm_sn ? c->norm_sn : NULL);
    bind_text(st, b + 4, c->preauth_ref && *c->preauth_ref ? c->preauth_ref : NULL);
    sqlite3_bind_int(st, b + 5, c->active);
    sqlite3_bind_int64(st, b + 6, (int64_t)c->hash);
    sqlite3_bind_int64(st, b + 7, (int64_t)c->row_hash);
    bind_time(st, b + 8, c->wake_at);
    bind_text(st, b + 9, c->decision);
    bind_text(st, b + 10, c->state && *c->state ? c->state : NULL);
    sqlite3_bind_int(st, b + 11, c->reminder);
    sqlite3_bind_int64(st, b + 12, c->amount);
    bind_text(st, b + 13, c->currency);
    bind_text(st, b + 14, c->card_brand);
    bind_time(st, b + 15, c->deadline);
    bind_time(st, b + 16, c->shipped_at);
    bind_time(st, b + 17, c->hold_expires);
    bind_time(st, b + 18, c->arrived_at);
    sqlite3_bind_int64(st, b + 19, (int64_t)c->fp);
    sqlite3_bind_int(st, b + 20, (int)c->action_match);
}

cr_err cr_store_cstate_put(cr_store *s, const cr_cstate *c)
{
    sqlite3_stmt *st;
    if (c->exists) {
        if (!(st = stmt(s, Q_CSTATE_UPD)))
            return CR_EIO;
        bind_cstate(st, 0, c);
        if (sqlite3_step(st) != SQLITE_DONE)
            return db_error(s->db, "record a claim's state");
        if (sqlite3_changes(s->db) > 0)
            return CR_OK;
        /* its lookup keys changed: the whole row */
    }
    if (!(st = stmt(s, Q_DEC_LAST)))
        return CR_EIO;
    bind_cstate(st, 0, c);
    return sqlite3_step(st) == SQLITE_DONE ? CR_OK : db_error(s->db, "record a claim's state");
}

cr_err cr_store_cstates_put(cr_store *s, const cr_cstate *const *c, size_t n)
{
    size_t i = 0;
    cr_err rc = CR_OK;
    /* rows not recorded yet, MULTI_ROWS a statement; the others one by one */
    const cr_cstate *fresh[MULTI_ROWS];
    size_t nf = 0;
    for (; i < n && rc == CR_OK; i++) {
        if (c[i]->exists) {
            rc = cr_store_cstate_put(s, c[i]);
            continue;
        }
        fresh[nf++] = c[i];
        if (nf < MULTI_ROWS)
            continue;
        sqlite3_stmt *st = stmt(s, Q_CSTATE_ADD8);
        if (!st)
            return CR_EIO;
        for (int r = 0; r < MULTI_ROWS; r++)
            bind_cstate(st, CSTATE_COLS * r, fresh[r]);
        if (sqlite3_step(st) != SQLITE_DONE)
            return db_error(s->db, "record claims' states");
        nf = 0;
    }
    for (size_t k = 0; k < nf && rc == CR_OK; k++)
        rc = cr_store_cstate_put(s, fresh[k]);
    return rc;
}

cr_err cr_store_meta_get(cr_store *s, const char *key, int64_t *value, bool *found)
{
    sqlite3_stmt *st = prepare(s, "SELECT value FROM meta WHERE key = ?");
    if (!st)
        return CR_EIO;
    bind_text(st, 1, key);
    int r = sqlite3_step(st);
    *found = r == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL;
    if (*found)
        *value = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return (r == SQLITE_ROW || r == SQLITE_DONE) ? CR_OK : db_error(s->db, "read meta");
}

cr_err cr_store_meta_set(cr_store *s, const char *key, int64_t value)
{
    return exec_text_num(s, "INSERT OR REPLACE INTO meta(key, value) VALUES(?1, ?2)", "write meta",
                         key, value);
}

/* --- checkpoints off the night's path --------------------------------------
 * In write-ahead-log mode a commit that leaves the log over 1,000 pages
 * copies the log into the database there and then (a checkpoint): on an
 * incremental night that is tens of thousands of scattered index pages,
 * on the critical path.  A checkpointer has a connection of its own and
 * copies the log when kicked, while the night goes on; SQLite lets one
 * connection checkpoint while another reads and writes (a PASSIVE
 * checkpoint copies what no reader still needs and never waits). */
struct cr_ckpt {
    sqlite3 *db;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool kicked, stop;
    int restore;               /* the main connection's wal_autocheckpoint before */
    cr_ckpt_stats stats;       /* read after the join */
};

static void *ckpt_main(void *p)
{
    struct cr_ckpt *c = p;
    pthread_mutex_lock(&c->mu);
    for (;;) {
        while (!c->kicked && !c->stop)
            pthread_cond_wait(&c->cv, &c->mu);
        if (!c->kicked)
            break;
        c->kicked = false;
        pthread_mutex_unlock(&c->mu);
        /* a failure leaves the log as it is: the next checkpoint, or the
         * last connection's close, copies it */
        int log = 0, copied = 0;
        int r = sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &copied);
        pthread_mutex_lock(&c->mu);
        c->stats.runs++;
        if (r != SQLITE_OK) {
            c->stats.failed++;
            c->stats.error = sqlite3_errstr(r);
        } else {
            c->stats.log_pages = log;
            c->stats.copied_pages = copied;
        }
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

bool cr_store_ckpt_start(cr_store *s)
{
    struct cr_ckpt *c;
    sqlite3_stmt *q = NULL;
    if (s->ckpt || !on_disk(s) || !cr_threads_allowed() || !(c = calloc(1, sizeof *c)))
        return false;
    if (open_db(s->path, &c->db, SQLITE_OPEN_READWRITE) != SQLITE_OK ||
        sqlite3_exec(c->db, "PRAGMA synchronous = FULL", NULL, NULL, NULL) != SQLITE_OK) {
        sqlite3_close(c->db);
        free(c);
        return false;
    }
    c->restore = 1000;   /* SQLite's default */
    if (sqlite3_prepare_v2(s->db, "PRAGMA wal_autocheckpoint", -1, &q, NULL) == SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW)
        c->restore = sqlite3_column_int(q, 0);
    sqlite3_finalize(q);
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    if (!cr_thread_start(&c->thread, ckpt_main, c)) {
        pthread_cond_destroy(&c->cv);
        pthread_mutex_destroy(&c->mu);
        sqlite3_close(c->db);
        free(c);
        return false;
    }
    sqlite3_wal_autocheckpoint(s->db, 0);
    s->ckpt = c;
    return true;
}

void cr_store_ckpt_kick(cr_store *s)
{
    struct cr_ckpt *c = s->ckpt;
    if (!c)
        return;
    pthread_mutex_lock(&c->mu);
    c->kicked = true;
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

bool cr_store_ckpt_stop(cr_store *s, cr_ckpt_stats *stats)
{
    struct cr_ckpt *c = s->ckpt;
    if (!c)
        return false;
    pthread_mutex_lock(&c->mu);
    c->stop = true;
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
    pthread_join(c->thread, NULL);
    if (stats)
        *stats = c->stats;
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
    sqlite3_close(c->db);
    sqlite3_wal_autocheckpoint(s->db, c->restore);
    free(c);
    s->ckpt = NULL;
    return true;
}

bool cr_store_bulk(cr_store *s, bool on)
{
    sqlite3_stmt *st = prepare(s, on ? "PRAGMA journal_mode = DELETE" : "PRAGMA journal_mode = WAL");
    if (!st)
        return false;
    bool ok = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0) &&
              strcmp((const char *)sqlite3_column_text(st, 0), on ? "delete" : "wal") == 0;
    sqlite3_finalize(st);
    return ok;
}

/* The lookup indexes of what the inbox brings, which a night's decisions
 * do not change: those of the events cr_store_index_inbox builds before
 * them (the settlement rows' after: that balances the night's two
 * threads, the workbook's being the other after its decisions). */
#define INBOX_INDEXES                                                                       \
    "CREATE INDEX IF NOT EXISTS events_key ON events(claim_key);"                          \
    "CREATE INDEX IF NOT EXISTS events_tracking ON events(tracking);"                      \
    "CREATE INDEX IF NOT EXISTS events_serial ON events(serial_norm)"                      \
    "  WHERE serial_norm IS NOT NULL;"
#define ROW_INDEXES                                                                         \
    "CREATE INDEX IF NOT EXISTS settlements_psp ON settlements(psp_ref);"                  \
    "CREATE INDEX IF NOT EXISTS settlements_merchant ON settlements(merchant_key);"

cr_err cr_store_index_inbox(cr_store *s)
{
    /* a connection of its own: the night reads meanwhile (write-ahead log) */
    sqlite3 *db = NULL;
    if (!on_disk(s))
        return CR_EIO;
    int r = open_db(s->path, &db, SQLITE_OPEN_READWRITE);
    sqlite3_stmt *st = NULL;
    if (r == SQLITE_OK) {
        /* only beside readers: in the write-ahead log (a rollback journal
         * would make the night's reads wait for the builds) */
        sqlite3_busy_timeout(db, 5000);
        r = sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL);
        if (r == SQLITE_OK && (sqlite3_step(st) != SQLITE_ROW ||
                               strcmp((const char *)sqlite3_column_text(st, 0), "wal") != 0))
            r = SQLITE_MISUSE;
        sqlite3_finalize(st);
    }
    if (r == SQLITE_OK)
        r = sqlite3_exec(db, "PRAGMA cache_size = -16384;" INBOX_INDEXES, NULL, NULL, NULL);
    sqlite3_close(db);
    return r == SQLITE_OK ? CR_OK : CR_EIO;
}

cr_err cr_store_ensure_indexes(cr_store *s)
{
    /* built once, after the first bulk load: building is much faster than
     * inserting a large load into an existing index */
    return exec(s, INBOX_INDEXES ROW_INDEXES
                   "CREATE INDEX IF NOT EXISTS actions_psp ON actions(psp_ref, claim_id)"
                   "  WHERE kind = 'payment';"
                   "CREATE INDEX IF NOT EXISTS actions_claim_key ON actions(claim_key);"
                   /* key, serial and hold reference cover the closure's reads
                    * (cr_store_subset_begin); the due timers are few */
                   "CREATE INDEX IF NOT EXISTS claim_state_key ON claim_state(key, norm_sn);"
                   "CREATE INDEX IF NOT EXISTS claim_state_sn ON claim_state(norm_sn, active, key)"
                   "  WHERE norm_sn IS NOT NULL;"
                   "CREATE INDEX IF NOT EXISTS claim_state_psp ON claim_state(preauth_ref, key,"
                   "  norm_sn) WHERE preauth_ref IS NOT NULL;"
                   "CREATE INDEX IF NOT EXISTS claim_state_wake ON claim_state(wake_at)"
                   "  WHERE wake_at IS NOT NULL;"
                   "CREATE INDEX IF NOT EXISTS claim_state_pending ON claim_state(decision)"
                   "  WHERE decision = 'pending';");
}

static bool same_text(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

/* --- exceptions ---------------------------------------------------------- */

/* Before 2026-11-27, exception subjects were cut to this many bytes. */
#define OLD_SUBJECT_MAX 159

cr_err cr_store_exc_seen(cr_store *s, const cr_exc *x, int64_t run_id, cr_time_t as_of,
                         bool *is_new)
{
    char id[24];
    cr_exc_id(x->code, x->subject, id);
    sqlite3_stmt *st = stmt(s, Q_EXC_GET);
    if (!st)
        return CR_EIO;
    bind_text(st, 1, id);
    int r = sqlite3_step(st);
    *is_new = r == SQLITE_DONE;
    sqlite3_reset(st);
    if (r != SQLITE_ROW && r != SQLITE_DONE)
        return db_error(s->db, "look an exception up");
    size_t len = strlen(x->subject);
    if (*is_new && len >= OLD_SUBJECT_MAX) {
        /* recorded by a carerecon that cut subjects to 159 bytes: the same
         * finding under the ID of its cut subject takes its whole one */
        char *cut = cr_strndup(x->subject, OLD_SUBJECT_MAX), old[24];
        if (!cut)
            return cr_error(CR_ENOMEM, "out of memory");
        cr_exc_id(x->code, cut, old);
        free(cut);
        sqlite3_stmt *ad = prepare(s, "UPDATE exceptions SET exc_id = ?1, subject = ?2"
                                      " WHERE exc_id = ?3 AND code = ?4");
        if (!ad)
            return CR_EIO;
        bind_text(ad, 1, id);
        bind_text(ad, 2, x->subject);
        bind_text(ad, 3, old);
        bind_text(ad, 4, cr_code_name(x->code));
        r = sqlite3_step(ad);
        *is_new = sqlite3_changes(s->db) == 0;
        sqlite3_finalize(ad);
        if (r != SQLITE_DONE)
            return db_error(s->db, "take up an exception recorded with a cut subject");
    }
    if (*is_new) {
        st = stmt(s, Q_EXC_INS);
        if (!st)
            return CR_EIO;
        bind_text(st, 1, id);
        bind_text(st, 2, cr_code_name(x->code));
        bind_text(st, 3, cr_severity_name(cr_code_severity(x->code)));
        bind_text(st, 4, x->claim_id[0] ? x->claim_id : NULL);
        bind_text(st, 5, x->subject);
        bind_text(st, 6, x->reference[0] ? x->reference : NULL);
        bind_text(st, 7, x->detail);
        bind_text(st, 8, x->source_file[0] ? x->source_file : NULL);
        if (x->source_line > 0)
            sqlite3_bind_int64(st, 9, x->source_line);
        sqlite3_bind_int64(st, 10, as_of);
        sqlite3_bind_int64(st, 11, run_id);
        sqlite3_bind_int64(st, 12, as_of);
        sqlite3_bind_int64(st, 13, run_id);
        if (x->currency)
            sqlite3_bind_int64(st, 14, x->amount);
        bind_text(st, 15, x->currency);
    } else {
        st = stmt(s, Q_EXC_UPD);
        if (!st)
            return CR_EIO;
        bind_text(st, 1, id);
        bind_text(st, 2, x->detail);
        bind_text(st, 3, x->reference[0] ? x->reference : NULL);
        sqlite3_bind_int64(st, 4, as_of);
        sqlite3_bind_int64(st, 5, run_id);
        if (x->currency)
            sqlite3_bind_int64(st, 6, x->amount);
        else
            sqlite3_bind_null(st, 6);
        bind_text(st, 7, x->currency);
    }
    return sqlite3_step(st) == SQLITE_DONE ? CR_OK : db_error(s->db, "record an exception");
}

cr_err cr_store_exc_resolve_unseen(cr_store *s, int64_t run_id, cr_time_t as_of, long *count)
{
#define RESOLVE_UNSEEN                                                                      \
    "UPDATE exceptions SET status = 'resolved', resolved_run = ?1, resolved_at = ?2"            \
    " WHERE status = 'open' AND last_run <> ?1 AND last_seen <= ?2"                            \
    " AND code IN ('AWAITING_CHECKIN','AUTH_EXPIRES_BEFORE_DEADLINE',"                          \
    "              'UNCONFIRMED_ACTION','MISSING_PREAUTH','CLAIM_DATA_INVALID')"
    /* an incremental night looked only at its subset: only there can a
     * waiting condition have gone */
    sqlite3_stmt *st = prepare(
        s, s->subset ? RESOLVE_UNSEEN " AND claim_id IN (SELECT claim_id FROM temp.sub_claims)"
                     : RESOLVE_UNSEEN);
    if (!st)
        return CR_EIO;
    sqlite3_bind_int64(st, 1, run_id);
    sqlite3_bind_int64(st, 2, as_of);
    cr_err rc = step_done(s, st, "resolve exceptions");
    *count = sqlite3_changes(s->db);
    sqlite3_finalize(st);
    return rc;
}

cr_err cr_store_exc_resolve_claim(cr_store *s, int64_t run_id, cr_time_t as_of, const char *claim_id,
                                  long *count)
{
    sqlite3_stmt *st = prepare(s, "UPDATE exceptions SET status = 'resolved', resolved_run = ?1,"
                                  " resolved_at = ?2 WHERE claim_id = ?3 AND status = 'open'"
                                  " AND last_run <> ?1");
    if (!st)
        return CR_EIO;
    sqlite3_bind_int64(st, 1, run_id);
    sqlite3_bind_int64(st, 2, as_of);
    bind_text(st, 3, claim_id);
    cr_err rc = step_once(s, st, "resolve a renamed claim's exceptions");
    *count += sqlite3_changes(s->db);
    return rc;
}

#define EXC_COLS                                                                           \
    "exc_id, code, severity, claim_id, reference, detail, status, source_file, source_line," \
    " first_seen, last_seen, first_run, ack_note, ack_by, ack_at, resolved_at, amount, currency"

static cr_exc_row exc_from(sqlite3_stmt *st)
{
    cr_exc_row x = {
        col_text(st, 0), col_text(st, 1), col_text(st, 2), col_text(st, 3), col_text(st, 4),
        col_text(st, 5), col_text(st, 6), col_text(st, 7), (long)sqlite3_column_int64(st, 8),
        col_time(st, 9), col_time(st, 10), sqlite3_column_int64(st, 11), col_text(st, 12),
        col_text(st, 13), col_time(st, 14), col_time(st, 15),
        sqlite3_column_int64(st, 16), col_text(st, 17),
    };
    return x;
}

cr_err cr_store_exc_open(cr_store *s, cr_time_t as_of, bool past, cr_exc_fn fn, void *ud)
{
#define EXC_ORDER                                                                           \
    " ORDER BY CASE severity WHEN 'high' THEN 0 WHEN 'medium' THEN 1 ELSE 2 END,"           \
    " code, claim_id, exc_id"
    /* as of a past instant (a backfill) also those a later night resolved:
     * they were open then */
    static const char sql[] =
        "SELECT " EXC_COLS " FROM exceptions WHERE status = 'open' AND first_seen <= ?" EXC_ORDER;
    static const char sql_past[] =
        "SELECT " EXC_COLS " FROM exceptions WHERE (status = 'open' OR (status = 'resolved' AND"
        " resolved_at > ?1)) AND first_seen <= ?1" EXC_ORDER;
#undef EXC_ORDER
    sqlite3_stmt *st = prepare(s, past ? sql_past : sql);
    cr_err rc = CR_OK;
    int r;
    if (!st)
        return CR_EIO;
    sqlite3_bind_int64(st, 1, as_of);
    while (rc == CR_OK && (r = sqlite3_step(st)) == SQLITE_ROW) {
        cr_exc_row x = exc_from(st);
        rc = fn(ud, &x);
    }
    if (rc == CR_OK && r != SQLITE_DONE)
        rc = db_error(s->db, "read exceptions");
    sqlite3_finalize(st);
    return rc;
}

cr_err cr_store_exc_ack(cr_store *s, const char *id, const char *note, const char *by,
                        cr_time_t now, cr_ack_outcome *out)
{
    sqlite3_stmt *st = prepare(s, "SELECT status FROM exceptions WHERE exc_id = ?");
    if (!st)
        return CR_EIO;
    bind_text(st, 1, id);
    int r = sqlite3_step(st);
    bool found = r == SQLITE_ROW;
    *out = !found                                            ? CR_ACK_DONE
           : same_text(col_text(st, 0), "acknowledged") ? CR_ACK_BEFORE
           : same_text(col_text(st, 0), "resolved")     ? CR_ACK_RESOLVED
                                                        : CR_ACK_DONE;
    sqlite3_finalize(st);
    if (!found)
        return r == SQLITE_DONE ? CR_ENOTFOUND : db_error(s->db, "look an exception up");
    if (*out != CR_ACK_DONE)
        return CR_OK;
    st = prepare(s, "UPDATE exceptions SET status = 'acknowledged', ack_note = ?2, ack_by = ?3,"
                    " ack_at = ?4 WHERE exc_id = ?1");
    if (!st)
        return CR_EIO;
    bind_text(st, 1, id);
    bind_text(st, 2, note);
    bind_text(st, 3, by);
    sqlite3_bind_int64(st, 4, now);
    return step_once(s, st, "acknowledge an exception");
}

cr_err cr_store_exc_ack_code(cr_store *s, const char *code, cr_time_t before, const char *note,
                             const char *by, cr_time_t now, long *count)
{
    sqlite3_stmt *st = prepare(
        s, "UPDATE exceptions SET status = 'acknowledged', ack_note = ?2, ack_by = ?3, ack_at = ?4"
           " WHERE status = 'open' AND code = ?1 AND (?5 IS NULL OR first_seen < ?5)");
    if (!st)
        return CR_EIO;
    bind_text(st, 1, code);
    bind_text(st, 2, note);
    bind_text(st, 3, by);
    sqlite3_bind_int64(st, 4, now);
    bind_time(st, 5, before);
    cr_err rc = step_done(s, st, "acknowledge exceptions");
    *count = sqlite3_changes(s->db);
    sqlite3_finalize(st);
    return rc;
}

/* --- the incremental night's subset ------------------------------------- */

/* The closure works on the keys items share, each probed once: a new
 * claim, event or row adds its keys (kind 0 claim key, 1 normalized serial,
 * 2 tracking number, 3 hold reference) to temp.sub_keys, and a new key adds
 * every claim, event and row that carries it.  That is a superset of what a
 * decision reads (an event's serial also brings the events with that
 * serial, a row's merchant key the claim's events), which is safe: every
 * item added is closed over in turn, so the night decides each claim of the
 * subset from all it would read in a night over everything. */
#define KEY_CLAIM 0
#define KEY_SERIAL 1
#define KEY_TRACKING 2
#define KEY_HOLD 3

static cr_err subset_key(sqlite3_stmt *st, int kind, const char *v)
{
    if (!v || !*v)
        return CR_OK;
    sqlite3_reset(st);
    sqlite3_bind_int(st, 1, kind);
    bind_text(st, 2, v);
    return sqlite3_step(st) == SQLITE_DONE ? CR_OK : CR_EIO;
}

/* Which of two connections seeds from a row: by the last character of its
 * key, so that the seeds of one claim (its new event, its new row, its
 * timer) are mostly closed over once.  Any split is correct. */
#define HALF(x) "coalesce(unicode(substr(" x ", -1)), 0) % 2"

/* Seeds the closure on S with the seeds of half HALF (0 or 1), or all of
 * them (-1), after emptying S's subset tables. */
static cr_err subset_seed(cr_store *s, const cr_subset_seed *o, int half)
{
    cr_err rc = CR_OK;
    sqlite3_stmt *st = NULL, *kst = NULL;
    static const char *const seed_sql[] = {
        /* claims whose timers are due */
        "INSERT OR IGNORE INTO temp.sub_claims SELECT claim_id, 0 FROM claim_state"
        " WHERE wake_at <= ?1 AND (?5 < 0 OR " HALF("key") " = ?5)",
        /* events and settlement rows new to this run: ingested since the last
         * run, or dated since the last as-of (then not visible yet) */
        "INSERT OR IGNORE INTO temp.sub_events SELECT event_id, 0 FROM events"
        " WHERE event_id > ?3 AND at <= ?1 AND (?5 < 0 OR " HALF("claim_key") " = ?5)",
        "INSERT OR IGNORE INTO temp.sub_events SELECT l.event_id, 0 FROM events_later l"
        " JOIN events e ON e.event_id = l.event_id"
        " WHERE l.at > ?2 AND l.at <= ?1 AND (?5 < 0 OR " HALF("e.claim_key") " = ?5)",
        "INSERT OR IGNORE INTO temp.sub_rows SELECT row_id, 0 FROM settlements"
        " WHERE row_id > ?4 AND booked_at <= ?1 AND (?5 < 0 OR " HALF("merchant_key") " = ?5)",
        "INSERT OR IGNORE INTO temp.sub_rows SELECT l.row_id, 0 FROM settlements_later l"
        " JOIN settlements x ON x.row_id = l.row_id"
        " WHERE l.booked_at > ?2 AND l.booked_at <= ?1 AND (?5 < 0 OR " HALF("x.merchant_key")
        " = ?5)",
    };
    if ((rc = exec(s, "CREATE TEMP TABLE IF NOT EXISTS sub_claims(claim_id TEXT PRIMARY KEY,"
                      " gen INTEGER) WITHOUT ROWID;"
                      "CREATE INDEX IF NOT EXISTS temp.sub_claims_gen ON sub_claims(gen);"
                      "CREATE TEMP TABLE IF NOT EXISTS sub_events(event_id INTEGER PRIMARY KEY,"
                      " gen INTEGER);"
                      "CREATE INDEX IF NOT EXISTS temp.sub_events_gen ON sub_events(gen);"
                      "CREATE TEMP TABLE IF NOT EXISTS sub_rows(row_id INTEGER PRIMARY KEY,"
                      " gen INTEGER);"
                      "CREATE INDEX IF NOT EXISTS temp.sub_rows_gen ON sub_rows(gen);"
                      "CREATE TEMP TABLE IF NOT EXISTS sub_keys(kind INTEGER, v TEXT, gen INTEGER,"
                      " PRIMARY KEY(kind, v)) WITHOUT ROWID;"
                      "CREATE INDEX IF NOT EXISTS temp.sub_keys_gen ON sub_keys(kind, gen, v);"
                      "DELETE FROM temp.sub_claims; DELETE FROM temp.sub_events;"
                      "DELETE FROM temp.sub_rows; DELETE FROM temp.sub_keys;")) != CR_OK)
        return rc;
    /* the claims new in the claim database since the last run (or changed
     * in it), all on the first connection: their keys as read now; those as
     * last recorded are added with the other claims' in subset_grow */
    if (half <= 0) {
        if (!(st = prepare(s, "INSERT OR IGNORE INTO temp.sub_claims VALUES(?,0)")) ||
            !(kst = prepare(s, "INSERT OR IGNORE INTO temp.sub_keys VALUES(?,?,0)"))) {
            sqlite3_finalize(st);
            return CR_EIO;
        }
        for (size_t i = 0; i < o->n_new && rc == CR_OK; i++) {
            const cr_claim *c = &o->new_claims[i];
            sqlite3_reset(st);
            bind_text(st, 1, c->claim_id);
            if (sqlite3_step(st) != SQLITE_DONE || subset_key(kst, KEY_CLAIM, c->key) != CR_OK ||
                subset_key(kst, KEY_SERIAL, c->norm_sn) != CR_OK ||
                subset_key(kst, KEY_HOLD, c->preauth_ref) != CR_OK)
                rc = db_error(s->db, "seed the subset");
        }
        sqlite3_finalize(st);
        sqlite3_finalize(kst);
    }
    const int64_t seed_v[5] = {o->as_of, o->last_as_of, o->last_event_id, o->last_row_id, half};
    if (rc == CR_OK)
        rc = exec_each(s, seed_sql, sizeof seed_sql / sizeof seed_sql[0], seed_v, 5,
                       "seed the subset");
    return rc;
}

/* Grows S's subset to a fixed point: the keys of what round R added, then
 * what carries those keys as round R + 1, until no key is new. */
static cr_err subset_grow(cr_store *s)
{
    cr_err rc = CR_OK;
    /* the keys of the claims, events and rows added as round ?1, one read
     * of each (the join order is forced: the item, then its keys) */
#define KEYS_OF(cols, items, table, id, kinds)                                                 \
    "INSERT OR IGNORE INTO temp.sub_keys SELECT k, v, ?1 FROM (SELECT j.column1 AS k, " cols     \
    " AS v FROM temp." items " n CROSS JOIN " table " x ON x." id " = n." id                     \
    " CROSS JOIN (VALUES " kinds ") j WHERE n.gen = ?1) WHERE v IS NOT NULL"
    static const char *const keys_sql[] = {
        KEYS_OF("CASE j.column1 WHEN 0 THEN x.key WHEN 1 THEN x.norm_sn ELSE x.preauth_ref END",
                "sub_claims", "claim_state", "claim_id", "(0),(1),(3)"),
        KEYS_OF("CASE j.column1 WHEN 0 THEN x.claim_key WHEN 1 THEN x.serial_norm"
                " ELSE x.tracking END",
                "sub_events", "events", "event_id", "(0),(1),(2)"),
        KEYS_OF("CASE j.column1 WHEN 0 THEN x.merchant_key ELSE x.psp_ref END", "sub_rows",
                "settlements", "row_id", "(0),(3)"),
    };
#undef KEYS_OF
    /* every claim, event and row that carries a key added as round ?1,
     * added as round ?2 */
#define NEW_KEYS(kind) "(SELECT v FROM temp.sub_keys WHERE kind = " kind " AND gen = ?1)"
    static const char *const grow_sql[] = {
        "INSERT OR IGNORE INTO temp.sub_events SELECT event_id, ?2 FROM events"
        " WHERE claim_key IN " NEW_KEYS("0"),
        "INSERT OR IGNORE INTO temp.sub_events SELECT event_id, ?2 FROM events"
        " WHERE serial_norm IN " NEW_KEYS("1"),
        "INSERT OR IGNORE INTO temp.sub_events SELECT event_id, ?2 FROM events"
        " WHERE tracking IN " NEW_KEYS("2"),
        "INSERT OR IGNORE INTO temp.sub_claims SELECT claim_id, ?2 FROM claim_state"
        " WHERE key IN " NEW_KEYS("0"),
        /* a serial belongs to the active claim that registered it */
        "INSERT OR IGNORE INTO temp.sub_claims SELECT claim_id, ?2 FROM claim_state"
        " WHERE active AND norm_sn IN " NEW_KEYS("1"),
        "INSERT OR IGNORE INTO temp.sub_claims SELECT claim_id, ?2 FROM claim_state"
        " WHERE preauth_ref IN " NEW_KEYS("3"),
        "INSERT OR IGNORE INTO temp.sub_rows SELECT row_id, ?2 FROM settlements"
        " WHERE merchant_key IN " NEW_KEYS("0"),
        "INSERT OR IGNORE INTO temp.sub_rows SELECT row_id, ?2 FROM settlements"
        " WHERE psp_ref IN " NEW_KEYS("3"),
        /* a hold's payment action, whichever claim it was issued for: that
         * claim may carry another hold by now, or be gone from the claim
         * database, and a hold is acted on once */
        "INSERT OR IGNORE INTO temp.sub_claims SELECT claim_id, ?2 FROM actions"
        " WHERE kind = 'payment' AND psp_ref IN " NEW_KEYS("3"),
    };
#undef NEW_KEYS
    const size_t nkeys = sizeof keys_sql / sizeof keys_sql[0];
    const size_t ngrow = sizeof grow_sql / sizeof grow_sql[0];
    sqlite3_stmt *keys[sizeof keys_sql / sizeof keys_sql[0]] = {NULL};
    sqlite3_stmt *grow[sizeof grow_sql / sizeof grow_sql[0]] = {NULL};
    for (size_t i = 0; i < nkeys && rc == CR_OK; i++)
        if (!(keys[i] = prepare(s, keys_sql[i])))
            rc = CR_EIO;
    for (size_t i = 0; i < ngrow && rc == CR_OK; i++)
        if (!(grow[i] = prepare(s, grow_sql[i])))
            rc = CR_EIO;
    /* ends: a round that goes on added a key, and there are finitely many */
    for (int round = 0; rc == CR_OK; round++) {
        int64_t before = sqlite3_total_changes64(s->db);
        for (size_t i = 0; i < nkeys && rc == CR_OK; i++) {
            sqlite3_reset(keys[i]);
            sqlite3_bind_int(keys[i], 1, round);
            rc = step_done(s, keys[i], "grow the subset");
        }
        /* round 0 also grows from the keys the seeding gave (new claims') */
        if (rc != CR_OK || (round > 0 && sqlite3_total_changes64(s->db) == before))
            break;
        for (size_t i = 0; i < ngrow && rc == CR_OK; i++) {
            sqlite3_reset(grow[i]);
            sqlite3_bind_int(grow[i], 1, round);
            sqlite3_bind_int(grow[i], 2, round + 1);
            rc = step_done(s, grow[i], "grow the subset");
        }
    }
    for (size_t i = 0; i < nkeys; i++)
        sqlite3_finalize(keys[i]);
    for (size_t i = 0; i < ngrow; i++)
        sqlite3_finalize(grow[i]);
    return rc;
}

/* a statement's worth of (id, round) rows for subset_merge */
#define MERGE_ROWS 64
#define ROW_1 ",(?,0)"
#define ROW_4 ROW_1 ROW_1 ROW_1 ROW_1
#define ROW_16 ROW_4 ROW_4 ROW_4 ROW_4
#define ROWS_63 ROW_16 ROW_16 ROW_16 ROW_4 ROW_4 ROW_4 ROW_1 ROW_1 ROW_1

/* Adds the subset found on FROM to that of S, MERGE_ROWS rows a statement. */
static cr_err subset_merge(cr_store *s, cr_store *from)
{
    /* what to read, then how to add one row and MERGE_ROWS rows */
#define MERGE(table, id)                                                                        \
    {"SELECT " id " FROM temp." table, "INSERT OR IGNORE INTO temp." table " VALUES(?,0)",       \
     "INSERT OR IGNORE INTO temp." table " VALUES(?,0)" ROWS_63}
    static const char *const table[][3] = {
        MERGE("sub_claims", "claim_id"),
        MERGE("sub_events", "event_id"),
        MERGE("sub_rows", "row_id"),
    };
#undef MERGE
    /* the round numbers are not needed any more: without their indexes
     * each row added is one b-tree insert */
    cr_err rc = exec(s, "DROP INDEX temp.sub_claims_gen; DROP INDEX temp.sub_events_gen;"
                        " DROP INDEX temp.sub_rows_gen");
    sqlite3_value *v[MERGE_ROWS];
    for (size_t t = 0; t < sizeof table / sizeof table[0] && rc == CR_OK; t++) {
        sqlite3_stmt *q = prepare(from, table[t][0]), *one = prepare(s, table[t][1]),
                     *many = prepare(s, table[t][2]);
        int r = SQLITE_ROW, k = 0;
        if (!q || !many || !one)
            rc = CR_EIO;
        while (rc == CR_OK && (r = sqlite3_step(q)) == SQLITE_ROW) {
            if (!(v[k++] = sqlite3_value_dup(sqlite3_column_value(q, 0))))
                rc = cr_error(CR_ENOMEM, "out of memory");
            else if (k == MERGE_ROWS) {
                sqlite3_reset(many);
                for (int i = 0; i < k; i++)
                    sqlite3_bind_value(many, i + 1, v[i]);
                rc = step_done(s, many, "grow the subset");
            }
            if (rc != CR_OK || k == MERGE_ROWS)
                for (; k > 0; k--)
                    sqlite3_value_free(v[k - 1]);
        }
        if (rc == CR_OK && r != SQLITE_DONE)
            rc = db_error(from->db, "grow the subset");
        for (int i = 0; i < k; i++) {
            if (rc == CR_OK) {
                sqlite3_reset(one);
                sqlite3_bind_value(one, 1, v[i]);
                rc = step_done(s, one, "grow the subset");
            }
            sqlite3_value_free(v[i]);
        }
        sqlite3_finalize(q);
        sqlite3_finalize(many);
        sqlite3_finalize(one);
    }
    return rc;
}

typedef struct subset_job {
    cr_store *r;               /* a second connection (cr_store_open_reader) */
    const cr_subset_seed *o;
    cr_err rc;
} subset_job;

static void *subset_other_half(void *p)
{
    subset_job *j = p;
    cr_store_own(j->r);
    if ((j->rc = subset_seed(j->r, j->o, 1)) == CR_OK)
        j->rc = subset_grow(j->r);
    return NULL;
}

cr_err cr_store_subset_begin(cr_store *s, const cr_subset_seed *o, long *nclaims, int *connections)
{
    cr_err rc;
    sqlite3_stmt *st;
    subset_job job = {.o = o};
    pthread_t t;
    bool split = false;
    /* the seeds split between this connection and a second one on a
     * thread, each closed over on its own: the union of the two closures
     * is the closure of all seeds.  The second sees only what is committed
     * (all of it outside a transaction: cr_store_open_reader) */
    if (cr_threads_allowed() && cr_store_open_reader(s, &job.r) == CR_OK &&
        !(split = cr_thread_start(&t, subset_other_half, &job))) {
        cr_store_close(job.r);
        job.r = NULL;
    }
    if ((rc = subset_seed(s, o, split ? 0 : -1)) == CR_OK)
        rc = subset_grow(s);
    if (split) {
        pthread_join(t, NULL);
        cr_store_own(job.r);
        if (rc == CR_OK && (rc = job.rc) == CR_OK)
            rc = subset_merge(s, job.r);
        cr_store_close(job.r);
    }
    *connections = split ? 2 : 1;
    if (rc != CR_OK)
        return rc;
    if (!(st = prepare(s, "SELECT count(*) FROM temp.sub_claims")))
        return CR_EIO;
    *nclaims = sqlite3_step(st) == SQLITE_ROW ? (long)sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);
    s->subset = true;
    return CR_OK;
}

void cr_store_subset_end(cr_store *s)
{
    s->subset = false;
}

cr_err cr_store_mark_later(cr_store *s, int64_t after_event, int64_t after_row, cr_time_t as_of,
                           cr_time_t last_as_of)
{
    static const char *const sql[] = {
        "INSERT OR IGNORE INTO events_later SELECT event_id, at FROM events"
        " WHERE event_id > ?1 AND at > ?3",
        "INSERT OR IGNORE INTO settlements_later SELECT row_id, booked_at FROM settlements"
        " WHERE row_id > ?2 AND booked_at > ?3",
        /* what no later night can seed: dated at or before the last as-of */
        "DELETE FROM events_later WHERE at <= ?4",
        "DELETE FROM settlements_later WHERE booked_at <= ?4",
    };
    const int64_t v[4] = {after_event, after_row, as_of, last_as_of};
    return exec_each(s, sql, sizeof sql / sizeof sql[0], v, 4, "record rows dated after the as-of");
}

cr_err cr_store_max_ids(cr_store *s, int64_t *event_id, int64_t *row_id)
{
    sqlite3_stmt *st = prepare(s, "SELECT (SELECT coalesce(max(event_id), 0) FROM events),"
                                  " (SELECT coalesce(max(row_id), 0) FROM settlements)");
    if (!st)
        return CR_EIO;
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        *event_id = sqlite3_column_int64(st, 0);
        *row_id = sqlite3_column_int64(st, 1);
    }
    sqlite3_finalize(st);
    return r == SQLITE_ROW ? CR_OK : db_error(s->db, "read the last ids");
}

static bool fill_id(cr_pool *pool, sqlite3_stmt *st, void *item)
{
    bool oom = false;
    *(const char **)item = pool_col(pool, st, 0, &oom);
    return !oom;
}

cr_err cr_store_subset_claim_ids(cr_store *s, cr_pool *pool, const char ***ids, size_t *n)
{
    sqlite3_stmt *st = prepare(s, "SELECT claim_id FROM temp.sub_claims ORDER BY claim_id");
    return load_rows(s, st, pool, sizeof **ids, fill_id, "read the subset", ids, n);
}

cr_err cr_store_pending_outside(cr_store *s, cr_cstate_fn fn, void *ud)
{
    sqlite3_stmt *st = prepare(
        s, "SELECT claim_id, preauth_ref, state, reminder, amount, currency, card_brand, deadline,"
           " shipped_at, hold_expires, arrived_at FROM claim_state WHERE decision = 'pending'"
           " AND claim_id NOT IN (SELECT claim_id FROM temp.sub_claims) ORDER BY claim_id");
    cr_err rc = CR_OK;
    int r;
    if (!st)
        return CR_EIO;
    while (rc == CR_OK && (r = sqlite3_step(st)) == SQLITE_ROW) {
        cr_cstate c = {
            .claim_id = col_text(st, 0), .preauth_ref = col_text(st, 1), .decision = "pending",
            .state = col_text(st, 2), .reminder = sqlite3_column_int(st, 3) != 0,
            .amount = sqlite3_column_int64(st, 4), .currency = col_text(st, 5),
            .card_brand = col_text(st, 6), .deadline = col_time(st, 7),
            .shipped_at = col_time(st, 8), .hold_expires = col_time(st, 9),
            .arrived_at = col_time(st, 10),
        };
        rc = fn(ud, &c);
    }
    if (rc == CR_OK && r != SQLITE_DONE)
        rc = db_error(s->db, "read pending claims");
    sqlite3_finalize(st);
    return rc;
}

cr_err cr_store_claim_state_forget(cr_store *s, const char *const *claim_ids, size_t n)
{
    sqlite3_stmt *st = n ? prepare(s, "DELETE FROM claim_state WHERE claim_id = ?") : NULL;
    cr_err rc = CR_OK;
    if (n && !st)
        return CR_EIO;
    for (size_t i = 0; i < n && rc == CR_OK; i++) {
        bind_text(st, 1, claim_ids[i]);
        if (sqlite3_step(st) != SQLITE_DONE)
            rc = db_error(s->db, "forget a claim's state");
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    return rc;
}

/* --- one claim's history ------------------------------------------------- */

cr_err cr_store_claim_recorded(cr_store *s, const char *id, cr_pool *pool, const char **claim_id,
                               const char **preauth_ref)
{
    char key[256];
    *claim_id = *preauth_ref = NULL;
    if (!cr_claim_key(id, key, sizeof key))
        return CR_OK;
    /* its state row; else (forgotten by a night over everything) its
     * actions or decisions, by its exact id, then by its key */
    sqlite3_stmt *st = prepare(s, "SELECT claim_id, preauth_ref FROM claim_state WHERE key = ?1"
                                  " UNION ALL SELECT * FROM (SELECT claim_id, psp_ref FROM actions"
                                  "  WHERE claim_id = ?2 ORDER BY kind <> 'payment')"
                                  " UNION ALL SELECT claim_id, NULL FROM decisions WHERE claim_id = ?2"
                                  " UNION ALL SELECT * FROM (SELECT claim_id, psp_ref FROM actions"
                                  "  WHERE cr_key(claim_id) = ?1 ORDER BY kind <> 'payment')"
                                  " UNION ALL SELECT claim_id, NULL FROM decisions"
                                  "  WHERE cr_key(claim_id) = ?1 LIMIT 1");
    if (!st)
        return CR_EIO;
    bind_text(st, 1, key);
    bind_text(st, 2, id);
    int r = sqlite3_step(st);
    cr_err rc = CR_OK;
    if (r == SQLITE_ROW) {
        *claim_id = cr_pool_strdup(pool, col_text(st, 0) ? col_text(st, 0) : id);
        *preauth_ref = col_text(st, 1) ? cr_pool_strdup(pool, col_text(st, 1)) : NULL;
        if (!*claim_id)
            rc = cr_error(CR_ENOMEM, "out of memory");
    } else if (r != SQLITE_DONE)
        rc = db_error(s->db, "read claim states");
    sqlite3_finalize(st);
    return rc;
}

static bool fill_claim_reject(cr_pool *pool, sqlite3_stmt *st, void *item)
{
    cr_claim_reject *x = item;
    x->key = cr_pool_strdup(pool, col_text(st, 0));
    x->file = cr_pool_intern(pool, col_text(st, 1), (size_t)sqlite3_column_bytes(st, 1));
    x->line = (long)sqlite3_column_int64(st, 2);
    x->reason = cr_pool_intern(pool, col_text(st, 3), (size_t)sqlite3_column_bytes(st, 3));
    x->count = (long)sqlite3_column_int64(st, 5);
    x->by_serial = sqlite3_column_int(st, 6) != 0;
    x->as_of = col_time(st, 7);
    return x->key && x->file && x->reason;
}

cr_err cr_store_rejects_by_claim(cr_store *s, cr_pool *pool, cr_claim_reject **out, size_t *n)
{
    /* one row a claim (the newest, and how many), so that a feed rejecting
     * every row night after night does not grow what each night holds; then
     * one a serial of the rows that name no claim */
    sqlite3_stmt *st = prepare(s, "SELECT k, file_name, line, reason, max(reject_id), count(*), by_serial,"
                                  " (SELECT as_of FROM runs WHERE runs.run_id = u.run_id)"
                                  " FROM (SELECT claim_key AS k, 0 AS by_serial, file_name, line, reason,"
                                  "  reject_id, run_id FROM rejects WHERE claim_key IS NOT NULL"
                                  "  UNION ALL SELECT serial_norm, 1, file_name, line, reason, reject_id, run_id"
                                  "  FROM rejects WHERE claim_key IS NULL AND serial_norm IS NOT NULL) u"
                                  " GROUP BY by_serial, k ORDER BY by_serial, k");
    return load_rows(s, st, pool, sizeof **out, fill_claim_reject, "read the rejected rows", out, n);
}

cr_err cr_store_claim_now(cr_store *s, const char *claim_id, cr_pool *pool, cr_claim_now *out)
{
    /* the claim's state row says where it stands; its decision row (they
     * are recorded when they change) since which run, when it is the same
     * decision: a claim no longer decided (cancelled) writes no row */
    sqlite3_stmt *st = prepare(s,
        "SELECT cs.decision, cs.state, cs.deadline, cs.hold_expires,"
        "  d.decision = cs.decision AND coalesce(d.state, '') = coalesce(cs.state, ''),"
        "  d.decision || coalesce(' ' || d.reason, '') || coalesce(' (' || d.state || ')', '')"
        "   || CASE WHEN d.decision = 'none' THEN coalesce(': ' || d.detail, '') ELSE '' END,"
        "  d.run_id, d.as_of"
        " FROM claim_state cs LEFT JOIN (SELECT * FROM decisions WHERE claim_id = ?1"
        "  ORDER BY run_id DESC LIMIT 1) d ON 1"
        " WHERE cs.claim_id = ?1");
    *out = (cr_claim_now){NULL, 0, CR_TIME_NONE, CR_TIME_NONE, CR_TIME_NONE};
    if (!st)
        return CR_EIO;
    bind_text(st, 1, claim_id);
    int r = sqlite3_step(st);
    cr_err rc = CR_OK;
    if (r == SQLITE_ROW) {
        const char *dec = col_text(st, 0) ? col_text(st, 0) : "none";
        const char *state = col_text(st, 1) ? col_text(st, 1) : "";
        char text[512];
        if (sqlite3_column_int(st, 4) && col_text(st, 5)) {
            snprintf(text, sizeof text, "%s", col_text(st, 5));
            out->run_id = sqlite3_column_int64(st, 6);
            out->as_of = col_time(st, 7);
        } else if (strcmp(dec, "none") == 0) {
            snprintf(text, sizeof text, "none: not decided (not active, not paid by the as-of, or"
                                        " no pre-authorization)");
        } else {
            snprintf(text, sizeof text, "%s%s%s%s", dec, *state ? " (" : "", state, *state ? ")" : "");
        }
        out->decision = cr_pool_strdup(pool, text);
        out->deadline = col_time(st, 2);
        out->hold_expires = col_time(st, 3);
        if (!out->decision)
            rc = cr_error(CR_ENOMEM, "out of memory");
    } else if (r != SQLITE_DONE)
        rc = db_error(s->db, "read the claim's state");
    sqlite3_finalize(st);
    return rc;
}

static cr_err history_row(sqlite3_stmt *st, void *ud)
{
    const view_fn *f = ud;
    cr_history_item h = {
        .at = col_time(st, 0), .what = col_text(st, 1), .text = col_text(st, 2),
        .has_amount = sqlite3_column_type(st, 3) != SQLITE_NULL,
        .amount = sqlite3_column_int64(st, 3), .currency = col_text(st, 4),
        .tail = col_text(st, 5), .source = col_text(st, 6),
    };
    return f->history(f->ud, &h);
}

cr_err cr_store_claim_history(cr_store *s, const char *claim_id, const char *preauth_ref,
                              const char *norm_sn, cr_history_fn fn, void *ud)
{
    /* One query over the five sources, each row formatted by SQL's printf
     * from bound values only, ordered by time. */
    static const char sql[] =
        /* SPEC 4's matching: the events that name the claim, the received
         * events with its serial that name no other claim it knows, and
         * the events of their tracking numbers */
        "WITH mine AS (SELECT event_id, tracking FROM events WHERE claim_key = ?4"
        "   UNION SELECT event_id, tracking FROM events"
        "   WHERE kind = 2 AND ?3 <> '' AND serial_norm = ?3 AND (claim_key IS NULL OR"
        "     claim_key NOT IN (SELECT key FROM claim_state WHERE key <> ?4))),"
        " evs AS (SELECT * FROM events WHERE event_id IN (SELECT event_id FROM mine)"
        "   OR tracking IN (SELECT tracking FROM mine WHERE tracking IS NOT NULL))"
        "SELECT at, what, text, amount, currency, tail, source FROM ("
        " SELECT e.at AS at, 'event' AS what,"
        "  printf('%s%s%s%s', CASE e.kind WHEN 0 THEN 'shipped' WHEN 1 THEN 'delivered'"
        "   ELSE 'received' END,"
        "   CASE WHEN e.tracking IS NOT NULL THEN ' tracking ' || e.tracking ELSE '' END,"
        "   CASE WHEN e.serial IS NOT NULL THEN ' serial ' || e.serial ELSE '' END,"
        "   CASE WHEN e.kind = 2 THEN printf(' battery %s genuine %s',"
        "     CASE e.battery WHEN 1 THEN 'returned' ELSE 'NOT returned' END,"
        "     CASE e.genuine WHEN 1 THEN 'yes' ELSE 'NO' END) ELSE '' END"
        "   || CASE WHEN e.claim_ref IS NULL THEN ''"
        "      WHEN e.claim_key IS ?4 THEN '' ELSE ' (claim ref ' || e.claim_ref || ')' END)"
        "   AS text,"
        "  NULL AS amount, NULL AS currency, NULL AS tail,"
        "  f.name || ':' || e.line AS source"
        " FROM evs e JOIN files f USING(file_id)"
        " UNION ALL"
        " SELECT d.as_of, 'decision', d.decision || CASE"
        "  WHEN substr(d.detail, 1, length(d.reason) + 1) = d.reason || ':' THEN ' ' || d.detail"
        "  ELSE coalesce(' ' || d.reason, '') || coalesce(' (' || d.state || ')', '')"
        "   || coalesce(': ' || d.detail, '') END,"
        "  NULL, NULL, NULL, 'run ' || d.run_id FROM decisions d WHERE d.claim_id = ?1"
        " UNION ALL"
        " SELECT a.issued_at, 'action', a.action || coalesce(' ' || a.reason, ''),"
        "  CASE WHEN a.kind = 'payment' THEN a.amount END, a.currency,"
        "  CASE WHEN a.action_id NOT IN (SELECT action_id FROM unwritten) THEN ' in ' || a.file_name"
        "   ELSE ' (file not written yet)' END"
        "  || CASE WHEN a.confirmed_row IS NOT NULL THEN ' - confirmed by ' ||"
        "    (SELECT f.name || ':' || s.line FROM settlements s JOIN files f USING(file_id)"
        "     WHERE s.row_id = a.confirmed_row) ELSE '' END,"
        "  'run ' || a.run_id FROM actions a WHERE a.claim_id = ?1"
        /* an action issued under the id as it was typed before (a case
         * corrected): the claim answers for it (action_alias) */
        "  OR a.action_id IN (SELECT action_id FROM action_alias WHERE claim_id = ?1)"
        " UNION ALL"
        " SELECT s.booked_at, 'settlement', coalesce(s.raw_type, '') || ' ('"
        "  || CASE s.type WHEN 0 THEN 'capture' WHEN 1 THEN 'release' WHEN 2 THEN 'expired'"
        "   WHEN 3 THEN 'refund' WHEN 4 THEN 'fee' ELSE 'chargeback' END || ')',"
        "  s.amount, s.currency, NULL,"
        "  f.name || ':' || s.line FROM settlements s JOIN files f USING(file_id)"
        " WHERE (?2 IS NOT NULL AND s.psp_ref = ?2) OR s.merchant_key = ?4"
        " UNION ALL"
        " SELECT x.first_seen, 'exception', x.code || ' ' || x.exc_id || ' [' || x.status"
        "  || coalesce(' by ' || x.ack_by, '') || coalesce(': ' || x.ack_note, '') || '] '"
        "  || coalesce(x.detail, ''), NULL, NULL, NULL,"
        "  coalesce(x.source_file || ':' || x.source_line, 'run ' || x.first_run)"
        " FROM exceptions x WHERE x.claim_id = ?1"
        ") ORDER BY at, what";
    sqlite3_stmt *st = prepare(s, sql);
    if (!st)
        return CR_EIO;
    bind_text(st, 1, claim_id);
    bind_text(st, 2, preauth_ref);
    bind_text(st, 3, norm_sn ? norm_sn : "");
    char key[256];
    if (cr_claim_key(claim_id, key, sizeof key))
        bind_text(st, 4, key);
    view_fn f = {.history = fn, .ud = ud};
    return each_row(s, st, history_row, &f, "read the claim's history");
}

/* Whether NEEDLE (ASCII case aside) is in HAY as a whole word: not inside
 * a longer run of letters and digits ("CE-1" is not in "CE-10"). */
static bool has_word(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    if (!n)
        return false;
    for (const char *p = hay; *p; p++) {
        if (strncasecmp(p, needle, n) != 0)
            continue;
        bool before = p > hay && isalnum((unsigned char)p[-1]) && isalnum((unsigned char)needle[0]);
        bool after = isalnum((unsigned char)p[n]) && isalnum((unsigned char)needle[n - 1]);
        if (!before && !after)
            return true;
    }
    return false;
}

/* Whether a field of TEXT (split where a CSV delimiter or quote can be:
 * , ; tab | ") is the serial NORM_SN once normalized as SPEC 4 says
 * (cr_serial_normalize: blanks, hyphens, case and a scanner's prefix aside). */
static bool has_serial(const char *text, const char *norm_sn)
{
    char field[256], norm[64];
    const char *p = text;
    while (*p) {
        size_t n = strcspn(p, ",;\t|\"");
        if (n && n < sizeof field) {
            memcpy(field, p, n);
            field[n] = '\0';
            cr_serial_normalize(field, norm, sizeof norm);
            if (strcmp(norm, norm_sn) == 0)
                return true;
        }
        p += n;
        if (*p)
            p++;
    }
    return false;
}

/* A candidate row of cr_store_claim_rejects: handed on when it names the
 * claim (F's id as a word, or its serial as a field). */
static cr_err claim_reject_row(sqlite3_stmt *st, void *ud)
{
    const view_fn *f = ud;
    /* the row as stored, a NUL byte in it read as a blank */
    const char *raw = col_text(st, 5);
    size_t len = (size_t)sqlite3_column_bytes(st, 5);
    char *text = malloc(len + 1);
    if (!text)
        return cr_error(CR_ENOMEM, "out of memory");
    for (size_t i = 0; i < len; i++)
        text[i] = raw[i] ? raw[i] : ' ';
    text[len] = '\0';
    cr_err rc = CR_OK;
    if ((f->id[0] && has_word(text, f->id)) || (f->sn[0] && has_serial(text, f->sn))) {
        cr_reject_view v = reject_view(st, text);
        rc = f->reject(f->ud, &v);
    }
    free(text);
    return rc;
}

cr_err cr_store_claim_rejects(cr_store *s, const char *claim_id, const char *norm_sn,
                              cr_reject_fn fn, void *ud)
{
    /* the candidates by SQL (the id by instr, bound values only; with a
     * serial, every row: its forms are many), the tests in claim_reject_row */
    char id[256];
    snprintf(id, sizeof id, "%s", claim_id);
    cr_trim_inplace(id);
    view_fn f = {.reject = fn, .ud = ud, .id = id, .sn = norm_sn ? norm_sn : ""};
    sqlite3_stmt *st = prepare(s, "SELECT " REJECT_COLS " FROM rejects WHERE raw IS NOT NULL AND"
                                  " (?2 <> '' OR instr(lower(raw), lower(?1)) > 0) ORDER BY reject_id");
    if (st) {
        bind_text(st, 1, f.id);
        bind_text(st, 2, f.sn);
    }
    return each_row(s, st, claim_reject_row, &f, "read the rejected rows");
}

/* --- the claim database -------------------------------------------------- */

struct cr_claimsdb {
    sqlite3 *db;
    char *path;
    bool snapshot;             /* a read transaction is open (cr_claimsdb_snapshot) */
    size_t no_id;              /* rows without a claim_id the loads met (cr_claimsdb_take_no_id) */
};

size_t cr_claimsdb_take_no_id(cr_claimsdb *c)
{
    size_t n = c->no_id;
    c->no_id = 0;
    return n;
}

static const char *const claim_cols[] = {
    "claim_id", "plan", "region", "product_model", "registered_sn", "battery_registered",
    "product_value", "currency", "service_fee", "preauth_ref", "preauth_amount", "card_brand",
    "paid_at", "return_days", "refresh_expires_on", "replacements_left", "status",
};
#define N_CLAIM_COLS ((int)(sizeof claim_cols / sizeof claim_cols[0]))

/* The database file at PATH says it is in WAL mode (its header's read and
 * write versions, bytes 18 and 19, are 2). */
static bool claimsdb_in_wal(const char *path)
{
    unsigned char h[20];
    FILE *f = fopen(path, "rb");
    bool wal = f && fread(h, 1, sizeof h, f) == sizeof h && h[18] == 2 && h[19] == 2;
    if (f)
        fclose(f);
    return wal;
}

/* An error reading the claim database at PATH: a file that is not a claim
 * database is missing input (66); one another program holds locked past
 * the busy timeout is an I/O error (74: the night can run once it lets go). */
static cr_err claimsdb_error(const char *path, sqlite3 *db)
{
    int e = sqlite3_errcode(db) & 0xff;
    if (e == SQLITE_BUSY || e == SQLITE_LOCKED)
        return cr_error(CR_EIO, "claim database %s: locked by another program for more than 5 s: %s",
                        path, sqlite3_errmsg(db));
    int x = sqlite3_extended_errcode(db);
    if (x == SQLITE_READONLY_ROLLBACK || x == SQLITE_READONLY_RECOVERY)
        /* a hot journal (SQLITE_READONLY_ROLLBACK) or a log to recover: a
         * program writing to it stopped mid-transaction, and only a writer
         * may roll that back; carerecon opens it read-only */
        return cr_error(CR_EIO,
                        "claim database %s: a program writing to it stopped in the middle of a"
                        " transaction (its journal %s-journal or log %s-wal is left to roll back),"
                        " and carerecon only reads it; have its owner open it once to recover"
                        " (for example sqlite3 %s 'PRAGMA quick_check'), then run again"
                        " (SQLite said: %s)",
                        path, path, path, path, sqlite3_errmsg(db));
    if (e == SQLITE_READONLY && claimsdb_in_wal(path))
        /* a reader of a WAL database needs its -shm and -wal files: when
         * they are not there and the folder is not writable for carerecon,
         * SQLite cannot make them (SQLite said "attempt to write") */
        return cr_error(CR_ENOINPUT,
                        "claim database %s: it is in WAL mode, and carerecon cannot create its"
                        " %s-shm and %s-wal files to read it (is its folder writable for this"
                        " user?); give carerecon write access to the folder, or keep those files"
                        " there, or switch the database to PRAGMA journal_mode=DELETE"
                        " (SQLite said: %s)",
                        path, path, path, sqlite3_errmsg(db));
    return cr_error(CR_ENOINPUT, "claim database %s: %s", path, sqlite3_errmsg(db));
}

cr_err cr_claimsdb_open(const char *path, cr_claimsdb **out)
{
    cr_err rc = CR_ENOINPUT;
    sqlite3_stmt *st = NULL;
    bool have[N_CLAIM_COLS] = {false};
    struct stat sb;
    cr_claimsdb *c = calloc(1, sizeof *c);
    *out = NULL;
    if (!c)
        return cr_error(CR_ENOMEM, "out of memory");
    if (stat(path, &sb) != 0) {
        rc = cr_error(CR_ENOINPUT, "claim database %s: %s", path, strerror(errno));
        goto cleanup;
    }
    if (!S_ISREG(sb.st_mode)) {
        rc = cr_error(CR_ENOINPUT, "claim database %s: not a regular file", path);
        goto cleanup;
    }
    if (access(path, R_OK) != 0) {
        /* said as the system says it ("Permission denied"), not as SQLite
         * does ("unable to open database file") */
        rc = cr_error(CR_ENOINPUT, "claim database %s: cannot read it: %s", path, strerror(errno));
        goto cleanup;
    }
    if (open_db(path, &c->db, SQLITE_OPEN_READONLY) != SQLITE_OK) {
        rc = cr_error(CR_ENOINPUT, "claim database %s: %s", path,
                      c->db ? sqlite3_errmsg(c->db) : "cannot open");
        goto cleanup;
    }
    sqlite3_busy_timeout(c->db, 5000);
    if (sqlite3_prepare_v2(c->db, "SELECT name FROM pragma_table_info('claims')", -1, &st, NULL) !=
        SQLITE_OK) {
        rc = claimsdb_error(path, c->db);
        goto cleanup;
    }
    int r, ncols = 0;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        ncols++;
        for (int i = 0; i < N_CLAIM_COLS; i++)
            if (col_text(st, 0) && sqlite3_stricmp(col_text(st, 0), claim_cols[i]) == 0)
                /* SQLite's names compare without case: "Paid_At" is paid_at */
                have[i] = true;
    }
    if (r != SQLITE_DONE) {
        rc = claimsdb_error(path, c->db);
        goto cleanup;
    }
    if (ncols == 0) {
        rc = cr_error(CR_ENOINPUT, "claim database %s: no table 'claims'", path);
        goto cleanup;
    }
    for (int i = 0; i < N_CLAIM_COLS; i++)
        if (!have[i]) {
            rc = cr_error(CR_ENOINPUT, "claim database %s: table 'claims' has no column '%s'",
                          path, claim_cols[i]);
            goto cleanup;
        }
    c->path = cr_strdup(path);
    rc = CR_OK;
    *out = c;
    c = NULL;
cleanup:
    sqlite3_finalize(st);
    cr_claimsdb_close(c);
    return rc;
}

void cr_claimsdb_close(cr_claimsdb *c)
{
    if (!c)
        return;
    sqlite3_close(c->db);
    free(c->path);
    free(c);
}

/* Reads integer column I, of type T as stored (sqlite3_column_type before
 * anything read it as text: after a conversion SQLite leaves the type
 * undefined), that must hold a whole number (an INTEGER, a REAL with no
 * fraction, or TEXT of digits).  Returns false when it does not. */
static bool col_int(sqlite3_stmt *st, int i, int t, int64_t *out, bool *is_null)
{
    *is_null = t == SQLITE_NULL;
    if (t == SQLITE_NULL)
        return true;
    if (t == SQLITE_INTEGER) {
        *out = sqlite3_column_int64(st, i);
        return true;
    }
    if (t == SQLITE_FLOAT) {
        /* 99900.0: a whole number in a REAL column (pandas' to_sql writes an
         * integer column with NULLs so); one with a fraction is not, nor
         * one beyond what a double holds exactly */
        double d = sqlite3_column_double(st, i);
        if (d > -9007199254740992.0 && d < 9007199254740992.0 && (double)(int64_t)d == d) {
            *out = (int64_t)d;
            return true;
        }
        return false;
    }
    if (t == SQLITE_TEXT) {
        const char *s = col_text(st, i);
        char *end = NULL;
        errno = 0;
        long long v = strtoll(s, &end, 10);
        size_t b;
        while (end && end != s && (b = cr_blank_len(end)) > 0)
            end += b; /* "75900 " as typed */
        if (*s && !errno && end && end != s && *end == '\0') {
            *out = v;
            return true;
        }
    }
    return false;
}

/* Fills C from the current row; strings go to POOL.  Sets c->invalid when
 * a value cannot be read. */
/* A fingerprint of every column of the current claims row: a changed row
 * has another one. */
/* V in decimal, as SQLite renders an integer as text; returns the length. */
static int int_text(int64_t v, char out[24])
{
    char tmp[24];
    int n = 0, k = 0;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do
        tmp[n++] = (char)('0' + u % 10);
    while ((u /= 10) != 0);
    if (v < 0)
        out[k++] = '-';
    while (n)
        out[k++] = tmp[--n];
    return k;
}

/* FNV-1a over each column's type and text (an integer as SQLite would
 * write it: asking SQLite for the text of a number formats and allocates,
 * half the cost of reading a claim).  Stored with each claim's state: a
 * change of these bytes makes every claim look edited once. */
static uint64_t row_fingerprint(sqlite3_stmt *st)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    int n = sqlite3_column_count(st);
    for (int i = 0; i < n; i++) {
        int t = sqlite3_column_type(st, i);
        char num[24];
        const unsigned char *b = NULL;
        int len = 0;
        if (t == SQLITE_INTEGER) {
            len = int_text(sqlite3_column_int64(st, i), num);
            b = (const unsigned char *)num;
        } else if (t != SQLITE_NULL && (b = sqlite3_column_text(st, i)) != NULL)
            len = sqlite3_column_bytes(st, i);
        h = (h ^ (uint64_t)t) * 0x100000001b3ULL;
        for (int k = 0; k < len; k++)
            h = (h ^ b[k]) * 0x100000001b3ULL;
        h = (h ^ 0x1f) * 0x100000001b3ULL;
    }
    return h ? h : 1;
}

/* Column I of ST without the blanks around it, in BUF (N bytes), as typed
 * by hand ("' 2026-11-02T10:15:00Z '"); NULL when NULL, blank, or longer
 * than BUF holds (no date or time is that long). */
static const char *col_trimmed(sqlite3_stmt *st, int i, char *buf, size_t n)
{
    const char *t = col_text(st, i);
    if (!t)
        return NULL;
    size_t len = strlen(t);
    cr_trim_span(&t, &len);
    if (!len || len >= n)
        return NULL;
    memcpy(buf, t, len);
    buf[len] = '\0';
    return buf;
}

/* Appends WHY to the reasons in BUF (*N bytes used of SIZE), "; " between. */
static void invalid_add(char *buf, size_t size, size_t *n, const char *why)
{
    int w = snprintf(buf + *n, size - *n, "%s%s", *n ? "; " : "", why);
    if (w > 0)
        *n = (size_t)w < size - *n ? *n + (size_t)w : size - 1;
}

/* invalid_add of WHY with the value column I holds, as SQLite gives it as
 * text (at most 40 bytes, control characters as '?'), so that the row can
 * be found and mended: 'paid_at is not ...: "2026-11-01 10:00:00"'. */
static void invalid_col(char *buf, size_t size, size_t *n, const char *why, sqlite3_stmt *st, int i)
{
    char text[200], val[48];
    if (sqlite3_column_type(st, i) == SQLITE_NULL) {
        snprintf(text, sizeof text, "%s: NULL", why);
    } else {
        const unsigned char *s = sqlite3_column_text(st, i);
        size_t k = 0;
        for (; s && s[k] && k < 40; k++)
            val[k] = s[k] < 0x20 || s[k] == 0x7f ? '?' : (char)s[k];
        while (k > 0 && s && s[k] && (s[k] & 0xC0) == 0x80)
            k--;   /* cut at a character's start */
        val[k] = '\0';
        snprintf(text, sizeof text, "%s: \"%s\"%s", why, val, s && s[k] ? " (cut)" : "");
    }
    invalid_add(buf, size, n, text);
}

static bool claim_from_row(const cr_config *cfg, cr_pool *pool, sqlite3_stmt *st, cr_claim *c)
{
    bool oom = false, isnull;
    int64_t v;
    memset(c, 0, sizeof *c);
    int type[N_CLAIM_COLS];   /* as stored: row_fingerprint reads every column as text */
    for (int i = 0; i < N_CLAIM_COLS; i++)
        type[i] = sqlite3_column_type(st, i);
    c->fp = row_fingerprint(st);
    c->claim_id = pool_col(pool, st, 0, &oom);
    c->plan = pool_col_same(pool, st, 1, &oom);
    c->region = pool_col_same(pool, st, 2, &oom);
    c->product_model = pool_col_same(pool, st, 3, &oom);
    c->registered_sn = pool_col(pool, st, 4, &oom);
    c->currency = pool_col_clean(pool, st, 7, true, &oom);
    c->preauth_ref = pool_col_clean(pool, st, 9, false, &oom);
    c->status = pool_col_same(pool, st, 16, &oom);
    const char *brand = col_text(st, 11);
    if (brand) {
        char b[64];
        cr_card_brand_canon(brand, b, sizeof b);
        c->card_brand = *b ? cr_pool_intern(pool, b, strlen(b)) : NULL;
    }
    if (oom || !c->claim_id)
        return !oom;
    char key[256];
    if (!cr_claim_key(c->claim_id, key, sizeof key))
        key[0] = '\0'; /* an id this long cannot be looked up */
    if (!(c->key = cr_pool_strdup(pool, key)))
        return false;
    c->premium = c->plan && cr_strcasecmp_trim(c->plan, "premium") == 0;
    c->active = c->status && cr_strcasecmp_trim(c->status, "active") == 0;
    /* a status that is neither (NULL, "closed"): the claim cannot be left
     * alone in silence, its hold held for ever; it is looked at, and
     * raises CLAIM_DATA_INVALID instead of a decision */
    bool status_unknown = !c->active && !(c->status && cr_strcasecmp_trim(c->status, "cancelled") == 0);
    if (status_unknown)
        c->active = true;
    if (!(c->norm_sn = pool_serial(pool, c->registered_sn)))
        return false;
    c->paid_at = CR_TIME_NONE;
    c->refresh_expires_on = INT32_MIN;

    /* every reason, so that one fix of the row can mend them all */
    char why[1024];
    size_t nwhy = 0;
#define INVALID(msg) invalid_add(why, sizeof why, &nwhy, (msg))
#define INVALID_VAL(msg, col) invalid_col(why, sizeof why, &nwhy, (msg), st, (col))
    if (status_unknown)
        INVALID_VAL("status is neither active nor cancelled", 16);
    const char *cid = c->claim_id;
    size_t cidn = strlen(cid);
    cr_trim_span(&cid, &cidn);
    if (!cidn)
        INVALID("claim_id is blank");
    if (!c->plan || (!c->premium && cr_strcasecmp_trim(c->plan, "basic") != 0))
        INVALID("plan is neither basic nor premium");
    if (!c->norm_sn[0])
        INVALID("registered_sn is empty: a returned unit's serial cannot be compared with it");
    if (!c->premium) {
        const char *r = c->region, *m = c->product_model;
        size_t rn = r ? strlen(r) : 0, mn = m ? strlen(m) : 0;
        if (r)
            cr_trim_span(&r, &rn);
        if (m)
            cr_trim_span(&m, &mn);
        if (!rn || !mn)
            INVALID("region or product_model is empty: a replacement cannot be shipped");
    }
    if (!col_int(st, 5, type[5], &v, &isnull) || isnull || (v != 0 && v != 1))
        INVALID_VAL("battery_registered is not 0 or 1", 5);
    else
        c->battery_registered = v != 0;
    /* a premium claim's value caps its capture (SPEC 4): at zero a capture
     * would take nothing and use up the hold */
    if (!col_int(st, 6, type[6], &v, &isnull))
        INVALID_VAL("product_value is not a whole number of minor units", 6);
    else if (isnull)
        INVALID("product_value is missing");
    else if (v < 0 || (v == 0 && c->premium))
        INVALID(v < 0 ? "product_value is below zero" : "product_value is zero on a premium claim");
    else
        c->product_value = v;
    if (!col_int(st, 8, type[8], &v, &isnull))
        INVALID_VAL("service_fee is not a whole number of minor units", 8);
    else if (isnull)
        INVALID("service_fee is missing");
    else
        c->service_fee = v;
    if (!col_int(st, 10, type[10], &v, &isnull))
        INVALID_VAL("preauth_amount is not a whole number of minor units", 10);
    else if (!isnull) {
        c->has_preauth_amount = true;
        c->preauth_amount = v;
    }
    if (!cr_currency_code_ok(c->currency))
        INVALID(c->currency ? "currency is not a three-letter code" : "currency is missing");
    char paid_buf[64];
    const char *paid = col_trimmed(st, 12, paid_buf, sizeof paid_buf);
    if (!paid || cr_parse_iso_instant(paid, &c->paid_at) != CR_OK) {
        c->paid_at = CR_TIME_NONE;
        INVALID_VAL("paid_at is not an ISO 8601 time with an offset", 12);
    }
    if (!col_int(st, 13, type[13], &v, &isnull) || (!isnull && (v < 0 || v > 3650)))
        INVALID_VAL("return_days is not a number of days (0 to 3650)", 13);
    else
        c->return_days = isnull ? cr_policy_return_days(&cfg->policy, c->region) : (int)v;
    char exp_buf[16];
    const char *exp = col_trimmed(st, 14, exp_buf, sizeof exp_buf);
    cr_day_t day;
    if (!exp || cr_parse_date(exp, &day) != CR_OK)
        INVALID_VAL("refresh_expires_on is not a YYYY-MM-DD date", 14);
    else
        c->refresh_expires_on = day;
    if (!col_int(st, 15, type[15], &v, &isnull) || isnull)
        INVALID_VAL("replacements_left is not a number", 15);
    else
        c->replacements_left = v > INT_MAX ? INT_MAX : (v < INT_MIN ? INT_MIN : (int)v);
#undef INVALID
#undef INVALID_VAL
    if (nwhy && !(c->invalid = cr_pool_strdup(pool, why)))
        return false;
    return true;
}

#define CLAIM_SELECT                                                                        \
    "SELECT claim_id, plan, region, product_model, registered_sn, battery_registered,"        \
    " product_value, currency, service_fee, preauth_ref, preauth_amount, card_brand, paid_at," \
    " return_days, refresh_expires_on, replacements_left, status FROM claims"

/* Appends the claims ST yields to *CL (CNT of CAP). */
/* Appends the claims of ST's rows to *CL; with a SINK, hands them over
 * every CLAIMS_BATCH claims instead (and lets their strings in POOL go). */
#define CLAIMS_BATCH 4096
static cr_err claims_from(cr_claimsdb *c, const cr_config *cfg, cr_pool *pool, sqlite3_stmt *st,
                          cr_claim **cl, size_t *cnt, size_t *cap, size_t *no_id,
                          cr_claims_sink sink, void *ud)
{
    int r;
    cr_err rc = CR_OK;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        if (sqlite3_column_type(st, 0) == SQLITE_NULL) {
            (*no_id)++;   /* nothing can name it: said by claims_load */
            continue;
        }
        if (!cr_grow(cl, cap, *cnt, sizeof **cl, 1024) ||
            !claim_from_row(cfg, pool, st, &(*cl)[*cnt]))
            return cr_error(CR_ENOMEM, "out of memory loading claims");
        if (++*cnt == CLAIMS_BATCH && sink) {
            if ((rc = sink(ud, *cl, *cnt)) != CR_OK)
                return rc;
            *cnt = 0;
            cr_pool_release(pool);
        }
    }
    if (r != SQLITE_DONE)
        return cr_error(CR_EIO, "claim database %s: %s", c->path, sqlite3_errmsg(c->db));
    if (sink && *cnt && (rc = sink(ud, *cl, *cnt)) == CR_OK) {
        *cnt = 0;
        cr_pool_release(pool);
    }
    return rc;
}

/* One claim per claim_id in CL (N claims sorted by cr_claim_order, so a
 * claim_id's rows are side by side); returns how many are left.  A table
 * without a unique claim_id can hold one twice: the same row twice is one
 * claim; rows that differ (another hold, another serial) are one claim
 * that cannot be decided, CLAIM_DATA_INVALID, rather than two claims that
 * would each act on one id.  The row kept is the same whatever the order
 * the rows came in. */
static size_t claims_unique(cr_claim *cl, size_t n, cr_pool *pool)
{
    static const char dup[] = "claim_id is on more than one row of the claim database, and the"
                              " rows differ: which one holds is not known";
    size_t w = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i + 1, keep = i;
        bool differ = false;
        for (; j < n && strcmp(cl[j].claim_id, cl[i].claim_id) == 0; j++) {
            differ |= cl[j].fp != cl[i].fp;
            if (cl[j].fp < cl[keep].fp)
                keep = j;
        }
        cl[w] = cl[keep];
        if (differ) {
            /* the kept row's own reasons too, when it has any (one fix
             * may have to mend several) */
            char both[1200];
            snprintf(both, sizeof both, "%s; %s", dup, cl[w].invalid ? cl[w].invalid : "");
            const char *why = cl[w].invalid ? cr_pool_strdup(pool, both) : dup;
            cl[w].invalid = why ? why : dup;
            cl[w].active = true;   /* looked at, so reported, whichever row was kept */
        }
        w++;
        i = j;
    }
    return w;
}

/* Loads claims: all of them (AFTER < 0 and no IDS), those with a rowid
 * above AFTER, or those named by IDS; sorted by key, one per claim_id. */
static cr_err claims_load(cr_claimsdb *c, const cr_config *cfg, cr_pool *pool, int64_t after,
                          const char *const *ids, size_t nids, cr_claim **out, size_t *n,
                          cr_claims_sink sink, void *ud)
{
    sqlite3_stmt *st = NULL;
    cr_claim *cl = NULL;
    size_t cnt = 0, cap = 0, no_id = 0;
    cr_err rc = CR_OK;
    const char *sql = ids          ? CLAIM_SELECT " WHERE claim_id = ?"
                      : after >= 0 ? CLAIM_SELECT " WHERE rowid > ?"
                                   : CLAIM_SELECT;
    *out = NULL;
    *n = 0;
    if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK)
        return claimsdb_error(c->path, c->db);
    if (ids) {
        /* one read transaction: one snapshot, and not a lock and a check of
         * the file per claim */
        bool tx = sqlite3_exec(c->db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK;
        for (size_t i = 0; i < nids && rc == CR_OK; i++) {
            sqlite3_reset(st);
            bind_text(st, 1, ids[i]);
            rc = claims_from(c, cfg, pool, st, &cl, &cnt, &cap, &no_id, sink, ud);
        }
        sqlite3_reset(st);
        if (tx)
            sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL);
    } else {
        if (after >= 0)
            sqlite3_bind_int64(st, 1, after);
        rc = claims_from(c, cfg, pool, st, &cl, &cnt, &cap, &no_id, sink, ud);
    }
    sqlite3_finalize(st);
    c->no_id += no_id;
    if (rc == CR_OK && no_id)
        cr_warn("claim database %s: %zu row%s without a claim_id: nothing can name %s, so %s"
                " not decided; give %s an id",
                c->path, no_id, no_id == 1 ? "" : "s", no_id == 1 ? "it" : "them",
                no_id == 1 ? "it is" : "they are", no_id == 1 ? "it" : "them");
    if (rc != CR_OK) {
        free(cl);
        return rc;
    }
    if (sink) {
        free(cl);
        return CR_OK;
    }
    cr_claims_order_unique(cl, &cnt, pool);
    *out = cl;
    *n = cnt;
    return CR_OK;
}

void cr_claims_order_unique(cr_claim *cl, size_t *n, cr_pool *pool)
{
    if (*n) {
        qsort(cl, *n, sizeof *cl, cr_claim_order);
        *n = claims_unique(cl, *n, pool);
    }
}

cr_err cr_claimsdb_each(cr_claimsdb *c, const cr_config *cfg, cr_claims_sink sink, void *ud)
{
    cr_pool pool = CR_POOL_INIT;
    cr_claim *none = NULL;
    size_t n = 0;
    cr_err rc = claims_load(c, cfg, &pool, -1, NULL, 0, &none, &n, sink, ud);
    cr_pool_release(&pool);
    return rc;
}

cr_err cr_claimsdb_load(cr_claimsdb *c, const cr_config *cfg, cr_pool *pool, cr_claim **out,
                        size_t *n)
{
    return claims_load(c, cfg, pool, -1, NULL, 0, out, n, NULL, NULL);
}

cr_err cr_claimsdb_load_after(cr_claimsdb *c, const cr_config *cfg, cr_pool *pool, int64_t rowid,
                              cr_claim **out, size_t *n)
{
    return claims_load(c, cfg, pool, rowid < 0 ? 0 : rowid, NULL, 0, out, n, NULL, NULL);
}

cr_err cr_claimsdb_load_ids(cr_claimsdb *c, const cr_config *cfg, cr_pool *pool,
                            const char *const *ids, size_t nids, cr_claim **out, size_t *n)
{
    static const char *const none[1] = {NULL};
    return claims_load(c, cfg, pool, -1, ids ? ids : none, nids, out, n, NULL, NULL);
}

/* Whether the state row at CS, which no claim of the claim database
 * matched, is of a claim gone: not one kept as archived for its payment
 * action (fingerprint 0: run.c's add_archived), whose key is kept in
 * *AKEYS instead: it counts as gone if a claim of that key is back (in
 * another case: a night over everything then forgets its row). */
static bool state_gone(sqlite3_stmt *cs, cr_pool *pool, const char ***akeys, size_t *nak,
                       size_t *cap, bool *oom)
{
    if (sqlite3_column_type(cs, 1) != SQLITE_INTEGER || sqlite3_column_int64(cs, 1) != 0)
        return true;
    char key[256];
    if (cr_claim_key(col_text(cs, 0), key, sizeof key) &&
        (!cr_grow(akeys, cap, *nak, sizeof **akeys, 16) ||
         !((*akeys)[(*nak)++] = cr_pool_strdup(pool, key))))
        *oom = true;
    return false;
}

cr_err cr_claimsdb_changed(cr_claimsdb *c, cr_store *s, cr_pool *pool, cr_claim **out, size_t *n,
                           size_t *gone)
{
    cr_err rc = CR_OK;
    sqlite3_stmt *cs = NULL, *st = NULL;
    cr_claim *ch = NULL;
    size_t cnt = 0, cap = 0, nak = 0, akcap = 0;
    const char **akeys = NULL; /* keys of archived claims' rows (state_gone) */
    bool akoom = false;
    int r1, r2 = SQLITE_DONE;
    bool matched = false;      /* the state row at CS has a claim */
    *out = NULL;
    *n = 0;
    *gone = 0;
    /* a merge of the two tables in claim id order (BINARY both sides) */
    if (!(cs = prepare(s, "SELECT claim_id, fp FROM claim_state ORDER BY claim_id")))
        return CR_EIO;
    /* BINARY even when the claim database declares the column NOCASE (its
     * index then does not serve; a sort does).  Ids stored as numbers still
     * sort otherwise: the merge then sees changes and losses that are not,
     * and the night reads everything, which is slower, never wrong. */
    if (sqlite3_prepare_v2(c->db, CLAIM_SELECT " ORDER BY claim_id COLLATE BINARY", -1, &st, NULL) !=
        SQLITE_OK) {
        sqlite3_finalize(cs);
        return claimsdb_error(c->path, c->db);
    }
    r2 = sqlite3_step(cs);
    while ((r1 = sqlite3_step(st)) == SQLITE_ROW) {
        const char *id = col_text(st, 0);
        if (!id)
            continue;
        int cmp = 1;
        while (r2 == SQLITE_ROW && (cmp = strcmp(col_text(cs, 0), id)) < 0) {
            *gone += !matched && state_gone(cs, pool, &akeys, &nak, &akcap, &akoom);
            matched = false;
            r2 = sqlite3_step(cs);
        }
        if (r2 != SQLITE_ROW)
            cmp = 1;
        matched |= cmp == 0;
        uint64_t fp = row_fingerprint(st);
        if (cmp == 0 && (uint64_t)sqlite3_column_int64(cs, 1) == fp)
            continue;
        /* new or changed: the subset needs its id and its lookup keys as
         * read now (claim key, serial, hold reference) */
        if (!cr_grow(&ch, &cap, cnt, sizeof *ch, 256)) {
            rc = cr_error(CR_ENOMEM, "out of memory");
            break;
        }
        cr_claim *x = &ch[cnt++];
        memset(x, 0, sizeof *x);
        char key[256];
        x->claim_id = cr_pool_strdup(pool, id);
        x->key = cr_claim_key(id, key, sizeof key) ? cr_pool_strdup(pool, key) : cr_pool_strdup(pool, "");
        x->norm_sn = pool_serial(pool, col_text(st, 4));
        bool oom = !x->norm_sn;
        x->preauth_ref = pool_col_clean(pool, st, 9, false, &oom);
        if (!x->claim_id || !x->key || oom) {
            rc = cr_error(CR_ENOMEM, "out of memory");
            break;
        }
    }
    if (rc == CR_OK && r1 != SQLITE_DONE)
        rc = cr_error(CR_EIO, "claim database %s: %s", c->path, sqlite3_errmsg(c->db));
    /* the state rows after the claim database's last claim */
    for (; rc == CR_OK && r2 == SQLITE_ROW; matched = false, r2 = sqlite3_step(cs))
        *gone += !matched && state_gone(cs, pool, &akeys, &nak, &akcap, &akoom);
    if (rc == CR_OK && r2 != SQLITE_DONE)
        rc = db_error(s->db, "read claim states");
    if (rc == CR_OK && akoom)
        rc = cr_error(CR_ENOMEM, "out of memory");
    /* an archived claim back under its key: new to the state, so among CH */
    for (size_t a = 0; rc == CR_OK && a < nak; a++)
        for (size_t i = 0; i < cnt; i++)
            if (strcmp(ch[i].key, akeys[a]) == 0) {
                ++*gone;
                break;
            }
    free(akeys);
    sqlite3_finalize(st);
    sqlite3_finalize(cs);
    if (rc != CR_OK) {
        free(ch);
        return rc;
    }
    *out = ch;
    *n = cnt;
    return CR_OK;
}

/* The look of PATH on disk (size, modification and change times, inode),
 * 0 when absent. */
static int64_t file_stamp(const char *path)
{
    struct stat sb;
    if (stat(path, &sb) != 0)
        return 0;
    /* the inode and the change time too: a copy moved in with mv keeps the
     * size and the modification time it was given (rsync -t, cp -p) */
    uint64_t h = (uint64_t)sb.st_size * 1000003u ^ (uint64_t)sb.st_mtim.tv_sec * 1000000000u ^
                 (uint64_t)sb.st_mtim.tv_nsec;
    h ^= (uint64_t)sb.st_ino * 0x9E3779B97F4A7C15ULL;
    h ^= ((uint64_t)sb.st_ctim.tv_sec * 1000000000u + (uint64_t)sb.st_ctim.tv_nsec) * 31u;
    return (int64_t)h;
}

cr_err cr_claimsdb_snapshot(cr_claimsdb *c, bool begin)
{
    if (begin == c->snapshot)
        return CR_OK;
    if (!begin) {
        /* a read transaction: nothing to keep or lose, but while it is
         * open a writer of the claim database cannot commit */
        if (sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
            return cr_error(CR_EIO, "claim database %s: ending the read: %s", c->path,
                            sqlite3_errmsg(c->db));
        c->snapshot = false;
        /* its cached pages (up to 16 MB) are not read again soon: the
         * night's own data can use the memory */
        sqlite3_db_release_memory(c->db);
        return CR_OK;
    }
    /* BEGIN opens the transaction, the first read starts the snapshot */
    if (sqlite3_exec(c->db, "BEGIN; SELECT count(*) FROM (SELECT 1 FROM claims LIMIT 1)", NULL, NULL,
                     NULL) != SQLITE_OK) {
        cr_err rc = claimsdb_error(c->path, c->db);
        sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
        return rc;
    }
    c->snapshot = true;
    return CR_OK;
}

int64_t cr_claimsdb_stamp(cr_claimsdb *c)
{
    /* a claim database in WAL mode may hold an edit in its log only, the
     * main file untouched until a checkpoint */
    /* SQLite's own name of the log: beside the file a symbolic link leads
     * to, not beside the link */
    const char *main = sqlite3_db_filename(c->db, "main");
    const char *wal = main && *main ? sqlite3_filename_wal(main) : NULL;
    char buf[4096];
    if (!wal) {
        snprintf(buf, sizeof buf, "%s-wal", c->path);
        wal = buf;
    }
    return file_stamp(c->path) ^ (int64_t)((uint64_t)file_stamp(wal) * 0x9E3779B97F4A7C15ULL);
}

bool cr_claimsdb_max_rowid(cr_claimsdb *c, int64_t *out)
{
    sqlite3_stmt *st = NULL;
    bool ok = false;
    *out = 0;
    if (sqlite3_prepare_v2(c->db, "SELECT coalesce(max(rowid), 0) FROM claims", -1, &st, NULL) ==
            SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
        *out = sqlite3_column_int64(st, 0);
        ok = true;
    }
    sqlite3_finalize(st);
    return ok;
}

cr_err cr_claimsdb_get(cr_claimsdb *c, const cr_config *cfg, cr_pool *pool, const char *id,
                       cr_claim *out, bool *found)
{
    /* the claim with exactly that id, else the first (byte order) of those
     * whose ids differ from it only in case or spaces, as a night pairs
     * rows with them */
    static const char sql[] = CLAIM_SELECT " WHERE upper(trim(claim_id)) = upper(trim(?1))"
                                           " ORDER BY claim_id = ?1 DESC, claim_id COLLATE BINARY";
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK)
        return claimsdb_error(c->path, c->db);
    bind_text(st, 1, id);
    int r = sqlite3_step(st);
    *found = r == SQLITE_ROW;
    cr_err rc = CR_OK;
    if (*found && !claim_from_row(cfg, pool, st, out))
        rc = cr_error(CR_ENOMEM, "out of memory");
    else if (r != SQLITE_ROW && r != SQLITE_DONE)
        rc = cr_error(CR_EIO, "claim database %s: %s", c->path, sqlite3_errmsg(c->db));
    if (rc == CR_OK && *found) {
        long others = 0;
        while (sqlite3_step(st) == SQLITE_ROW)
            others++;
        if (others)
            cr_warn("%ld other claim(s) have an id that differs from %s only in case or spaces;"
                    " name one exactly to see it", others, out->claim_id);
    }
    sqlite3_finalize(st);
    return rc;
}
