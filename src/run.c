/*
 * run.c - see run.h.  The order of a night, and what makes it safe:
 *
 *  1. the run is recorded (its number names the output files);
 *  2. new inbox files are ingested, each in its own transaction;
 *  3. decisions, actions, confirmations and exceptions are recorded in ONE
 *     transaction: a crash before its commit leaves no trace of them;
 *  4. the action files are written (temporary name, fsync, rename) and the
 *     actions marked written.  An action recorded but whose file never
 *     appeared is written by the next run; one whose file did appear is
 *     only marked.  So no action is emitted twice or lost;
 *  5. the workbook is written.
 *
 * A dry run does all of it inside one transaction that is rolled back, and
 * writes no action file.
 *
 * Several steps run on threads of their own, each joined before what depends
 * on it (and done in line when a thread cannot be started): the claim
 * database is read while the inbox is ingested, or an incremental night's
 * subset of it while the subset's rows are loaded (claims_job); a night
 * over everything loads its settlement rows through a second connection
 * while the events are loaded (rows_job); inbox files
 * are read ahead (ingest.c); what is decided is written through the state
 * connection while the next claims are decided (recorder: nothing else
 * uses the connection until rec_finish); the workbook is written from the
 * moment the decisions are made, and takes its name only after step 3's
 * commit (report_job); an incremental night's write-ahead log is copied
 * into the database by a checkpointer (cr_store_ckpt_*).
 */
#include "run.h"

#include "parts.h"
#include "spool.h"

#include "actions.h"
#include "crtime.h"
#include "ingest.h"
#include "money.h"
#include "report.h"
#include "rules.h"
#include "settle.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* PATH with its folder's real path (the next run may start elsewhere), in
 * BUF; PATH itself when the folder cannot be resolved. */
static const char *real_path(const char *path, char *buf, size_t n)
{
    const char *slash = strrchr(path, '/');
    char dir[4096], real[4096];
    if (!realpath(cr_parent_dir(path, dir, sizeof dir), real) ||
        (size_t)snprintf(buf, n, "%s/%s", strcmp(real, "/") ? real : "", slash ? slash + 1 : path) >= n)
        return path;
    return buf;
}

cr_err cr_run_lock(const cr_config *cfg, int *fd)
{
    /* beside the state database's real file: two configurations naming it
     * by two paths (a symbolic link, "..") take one lock */
    char path[4096], real[PATH_MAX], dbuf[4096], link[PATH_MAX];
    const char *db = cfg->state_db;
    struct stat sb;
    ssize_t ll;
    if (realpath(db, real))
        db = real;
    else if (errno == ENOENT) {
        /* not made yet, perhaps through links to where it will be */
        for (int hop = 0; hop < 16 && lstat(db, &sb) == 0 && S_ISLNK(sb.st_mode) &&
                          (ll = readlink(db, path, sizeof path - 1)) > 0;
             hop++) {
            path[ll] = '\0';
            const char *ldir = cr_parent_dir(db, dbuf, sizeof dbuf);
            if (path[0] != '/' && ldir && strlen(ldir) + strlen(path) + 2 < sizeof link)
                snprintf(link, sizeof link, "%s/%s", ldir, path);
            else
                snprintf(link, sizeof link, "%s", path);
            db = link;
        }
        db = real_path(db, real, sizeof real);
    }
    snprintf(path, sizeof path, "%s.lock", db);
    *fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    if (*fd < 0) {
        int e = errno;
        /* the state there but not writable (a read-only volume, another
         * account's files): 74, as for the state database itself */
        if ((e == EACCES || e == EPERM || e == EROFS) &&
            (stat(cfg->state_db, &sb) == 0 || errno == EACCES)) {
            if (e != EROFS && access(cfg->state_db, W_OK) == 0)
                return cr_error(CR_EIO, "cannot open the lock file %s: %s (made by another account?"
                                        " it may be removed when no run is going on)", path,
                                strerror(e));
            return cr_error(CR_EIO, "state database %s is not writable (its lock file %s: %s)",
                            cfg->state_db, path, strerror(e));
        }
        return cr_error(CR_ECANTCREAT, "cannot create lock file %s: %s", path, strerror(e));
    }
    if (flock(*fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        close(*fd);
        *fd = -1;
        if (e == EWOULDBLOCK)
            return cr_error(CR_ELOCKED, "another run holds the lock %s; nothing was changed", path);
        return cr_error(CR_EIO, "cannot lock %s: %s", path, strerror(e));
    }
    return CR_OK;
}

void cr_run_unlock(int fd)
{
    if (fd >= 0) {
        flock(fd, LOCK_UN);
        close(fd);
    }
}

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* With --verbose, prints how long a phase took: "phase NAME 1.234 s". */
static void phase(cr_verbosity v, const char *name, double *t0)
{
    double t = mono();
    cr_debug(v, "phase %s %.3f s", name, t - *t0);
    *t0 = t;
}

/* A recorded claim's key (a night in parts: dh_keys_init). */
typedef struct dh_key {
    const char *key;
    size_t i;                  /* into dh */
} dh_key;

/* Everything one night holds in memory. */
typedef struct night {
    const cr_config *cfg;
    cr_store *st;
    const cr_run_opts *o;
    cr_time_t D;
    cr_day_t day;
    int64_t run_id;
    bool dry;
    cr_pool pool;
    cr_claim *claims;
    size_t nclaims;
    cr_event *events;
    size_t nevents;
    cr_pool events_pool;       /* the events' strings, let go with them after decide_all */
    const cr_event *sn_event;  /* the check-in whose serial sn_copy holds (checkin_sn) */
    const char *sn_copy;
    cr_srow *srows;
    size_t nsrows;
    cr_action *actions;        /* loaded from the state */
    size_t nactions;
    cr_action *new_actions;    /* issued by this run */
    size_t nnew, capnew;
    long *pay_of, *ful_of;     /* per claim: index into actions, -1 none */
    long *newpay_of;           /* per claim: index into new_actions, -1 none */
    long *hold_slot;           /* payment actions by hold reference (hold_find) */
    size_t hold_mask;
    cr_excs excs;
    cr_run_stats stats;
    cr_file_list files;
    cr_rep_rows captures, releases, pending, ships;
    cr_rep_rows pending_out;   /* an incremental night's pending claims outside its subset */
    cr_rep_refund *refunds;    /* the refund rows this run ingested (the Refunds sheet) */
    size_t nrefunds, refunds_cap;
    int64_t rows_before;       /* the highest settlement row id a night that committed looked
                                * at (its refunds were listed then), else before this ingest */
    cr_time_t last_as_of;      /* the as-of instant of the last run (CR_TIME_NONE: none) */
    int64_t listed;            /* META_LISTED when the night began */
    cr_action *unlisted;       /* the actions of runs that never published their workbook */
    size_t nunlisted;
    const char **renamed;      /* claims gone under an id another present claim's equals but
                                * for case or spaces (forget_gone) */
    size_t nrenamed;
    cr_claim_reject *crej;     /* rejected rows that name a claim, by key, then those that
                                * name none, by serial (report_row) */
    size_t ncrej, ncrej_key;   /* all, and those by key */
    cr_dhash *dh;              /* latest decision hash per claim, by claim id */
    size_t ndh;
    bool *dh_seen;             /* per dh: its claim was decided this night */
    struct {                   /* claims per cr_action_match: */
        int64_t now;           /* decided this night */
        int64_t before;        /* the same claims when last decided */
        int64_t total;         /* every claim (the decided ones and, incremental, the others) */
    } matched[3];
    bool incremental;          /* only the subset of claims that can have changed */
    bool backfill;             /* the as-of is before the last run's */
    cr_claimsdb *cdb;
    int64_t claims_rowid;      /* the claim database's highest rowid seen */
    int64_t claims_stamp;      /* its file's look (cr_claimsdb_stamp) before any claim was read */
    cr_pool claims_pool;       /* the strings of the claims read on the claims thread */
    cr_pool rows_pool;         /* the strings of the settlement rows read on the rows thread */
    char pay_name[128], ful_name[128];
    struct recorder *rec;      /* writes decisions and claim states during decide_all */
    /* a night over everything decided in parts (decide_in_parts) */
    cr_parts *parts;           /* NULL: in one piece */
    dh_key *dh_bykey;          /* dh by claim key (dh_keys_init) */
    size_t ndh_bykey;
    bool *dh_live;             /* per dh: a claim of its key was decided */
    int nparts;                /* the parts asked for, then made */
    cr_spool sp_claims, sp_events, sp_rows, sp_actions;   /* every item, in read order */
    cr_spool *sp_part;         /* then each part's claims and events (scatter_parts) */
    cr_spool *sp_part2;        /* ... and its rows and actions */
    size_t (*part_n)[CR_ITEM_KINDS];   /* items of each kind in each part */
    cr_spool sp_pay, sp_ful;   /* this run's actions, for its action files (emit_actions) */
    int64_t *action_ids;       /* the spooled actions' ids, in order (their aliases' ties) */
    size_t naction_ids, action_ids_cap;
    cr_pool part_pool;         /* a part's actions' strings */
    size_t gone_archived;      /* claims kept for their actions that were not before (forget_gone) */
    struct report_job *job;    /* the workbook a night in parts hands its rows to, part by part */
    bool workbook;             /* ... while it can be made */
    cr_err report_rc;          /* why it cannot (report_hand_part) */
    struct alias {             /* record_aliases: an action a claim answers for */
        int64_t action_id;
        const char *claim_id;
    } *aliases;
    size_t naliases, aliases_cap;
} night;

static void part_release(night *n);

static void night_release(night *n)
{
    cr_parts_free(n->parts);
    cr_spool_close(&n->sp_claims);
    cr_spool_close(&n->sp_events);
    cr_spool_close(&n->sp_rows);
    cr_spool_close(&n->sp_actions);
    for (int p = 0; n->sp_part && p < n->nparts; p++) {
        cr_spool_close(&n->sp_part[p]);
        cr_spool_close(&n->sp_part2[p]);
    }
    free(n->sp_part);
    free(n->sp_part2);
    free(n->part_n);
    cr_spool_close(&n->sp_pay);
    cr_spool_close(&n->sp_ful);
    free(n->action_ids);
    free(n->aliases);
    free(n->dh_bykey);
    free(n->dh_live);
    part_release(n);   /* the claims, events, rows and actions, and their strings */
    cr_pool_release(&n->pool);
    free(n->dh);
    free(n->dh_seen);
    free(n->crej);
    free(n->renamed);
    cr_excs_release(&n->excs);
    cr_file_list_release(&n->files);
    cr_rep_rows_release(&n->captures);
    cr_rep_rows_release(&n->releases);
    cr_rep_rows_release(&n->pending);
    cr_rep_rows_release(&n->pending_out);
    cr_rep_rows_release(&n->ships);
    free(n->refunds);
    free(n->unlisted);
}

static cr_action *new_action(night *n)
{
    if (!cr_grow(&n->new_actions, &n->capnew, n->nnew, sizeof *n->new_actions, 64))
        return NULL;
    cr_action *a = &n->new_actions[n->nnew++];
    memset(a, 0, sizeof *a);
    a->received_at = CR_TIME_NONE;
    a->confirmed_at = CR_TIME_NONE;
    return a;
}

/* Loads claims, events, settlement rows and actions, and indexes the
 * actions by claim. */
/* Meta keys of the state database. */
#define META_AS_OF "last_as_of"
#define META_EVENT "last_event_id"
#define META_ROW "last_row_id"
#define META_CLAIMS "claims_rowid"
#define META_CONFIG "config_hash"
#define META_INDEXED "indexed"
#define META_STAMP "claims_stamp"
#define META_BACKFILL "backfilled"
#define META_MATCHED "matched_total"
#define META_CONFLICTS "conflicts_total"
#define N_META 7
/* the last run whose workbook listed the actions and rejected rows of the
 * runs before it that never published theirs */
#define META_LISTED "listed_through_run"

/* Changes with a release of carerecon that decides claims otherwise from
 * the same data (3: unknown status, empty serial and what a basic claim
 * ships with are invalid claim data; exact claim ids and shared holds;
 * 4: no AUTH_EXPIRES_BEFORE_DEADLINE for a hold acted on, exception
 * subjects whole; 5: one claim_id on claim rows that differ, and a
 * battery_registered other than 0 or 1, are invalid claim data; blanks
 * around refresh_expires_on, and a paid_at fraction after a comma, are
 * read; 6: a claim archived after its payment action stays, made from it:
 * add_archived; 7: tracking numbers compared in case, blanks and hyphens
 * aside; 8: a currency not of three letters, and a premium claim's
 * product_value of zero, are invalid claim data; 9: a claim whose row
 * cannot be read, or that is not paid yet, counts among the active claims
 * of its serial, for matching and SERIAL_REUSED; a whole number stored as
 * a REAL is read; card brands compare by network: cr_card_brand_canon;
 * 10: a placeholder tracking number matches nothing).
 * It is mixed into the configuration's mark, so the first night after such
 * an upgrade looks at every claim, as after a change of configuration. */
#define RULES_VERSION 11
static int64_t config_mark(const cr_config *cfg)
{
    return (int64_t)(cfg->hash ^ ((uint64_t)RULES_VERSION * 0x9e3779b97f4a7c15ULL));
}

/* Whether this night may look only at what can have changed: a forward
 * run (as-of not before the last one) with the same configuration, over
 * a state with its lookup indexes, and a claim database that only grew.
 * Anything else, or --full, reads everything. */
static bool can_increment(night *n, cr_claimsdb *cdb, int64_t meta[N_META])
{
    static const char *const keys[N_META] = {META_AS_OF,  META_EVENT,   META_ROW,      META_CLAIMS,
                                             META_STAMP, META_MATCHED, META_CONFLICTS};
    int64_t cfg_hash = 0, indexed = 0, max_rowid = 0, backfilled = 0;
    bool found;
    if (n->o->full)
        return false;
    for (int i = 0; i < N_META; i++)
        if (cr_store_meta_get(n->st, keys[i], &meta[i], &found) != CR_OK || !found)
            return false;
    if (cr_store_meta_get(n->st, META_CONFIG, &cfg_hash, &found) != CR_OK || !found)
        return false;
    if (cfg_hash != config_mark(n->cfg)) {
        cr_info(n->o->v, "the configuration, or this carerecon's rules, changed since the last"
                         " night: this night looks at every claim");
        return false;
    }
    if (cr_store_meta_get(n->st, META_INDEXED, &indexed, &found) != CR_OK || !found || !indexed)
        return false;
    /* the last run decided an earlier date than the one before it: the
     * claims' states, timers and watermarks are of that date, and rows it
     * ingested dated between the two were never looked at after it */
    if (cr_store_meta_get(n->st, META_BACKFILL, &backfilled, &found) != CR_OK || (found && backfilled)) {
        cr_info(n->o->v, "the last run was a backfill of an earlier date: this night looks at every claim");
        return false;
    }
    if (!cr_claimsdb_max_rowid(cdb, &max_rowid) || max_rowid < meta[3])
        return false;
    return n->D >= meta[0];
}

/* The claim database is read on a thread of its own while the state
 * database is: a night over everything reads every claim while the inbox is
 * ingested, an incremental night reads its subset's claims while the
 * subset's events, rows and actions are loaded.  The two share nothing (the
 * claim database has its own connection, the claims their own string
 * pool; IDS are only read). */
typedef struct claims_job {
    const cr_config *cfg;
    cr_claimsdb *cdb;
    cr_parts *parts;           /* a night in parts: every claim spooled into SPOOL instead */
    cr_spool *spool;
    bool by_id;                /* read IDS only, else every claim */
    const char **ids;          /* owned */
    size_t nids;
    cr_claim *fresh;           /* an incremental night's new claims, read before (owned) */
    size_t nfresh;
    cr_pool pool;
    cr_claim *claims;
    size_t n;
    cr_err rc;
} claims_job;

/* --- what a night in parts spools -------------------------------------- */
static const size_t claim_texts[] = {
    offsetof(cr_claim, claim_id),   offsetof(cr_claim, key),           offsetof(cr_claim, plan),
    offsetof(cr_claim, status),     offsetof(cr_claim, region),        offsetof(cr_claim, product_model),
    offsetof(cr_claim, registered_sn), offsetof(cr_claim, currency),   offsetof(cr_claim, preauth_ref),
    offsetof(cr_claim, card_brand), offsetof(cr_claim, invalid),       offsetof(cr_claim, norm_sn)};
static const size_t event_texts[] = {offsetof(cr_event, tracking), offsetof(cr_event, claim_ref),
                                     offsetof(cr_event, serial), offsetof(cr_event, file)};
static const size_t srow_texts[] = {offsetof(cr_srow, psp_ref), offsetof(cr_srow, merchant_ref),
                                    offsetof(cr_srow, raw_type), offsetof(cr_srow, card_brand),
                                    offsetof(cr_srow, file)};
static const size_t action_texts[] = {
    offsetof(cr_action, claim_id), offsetof(cr_action, kind),      offsetof(cr_action, action),
    offsetof(cr_action, reason),   offsetof(cr_action, currency),  offsetof(cr_action, psp_ref),
    offsetof(cr_action, file_name), offsetof(cr_action, region),   offsetof(cr_action, product_model),
    offsetof(cr_action, received_sn)};
#define NTEXTS(a) (sizeof(a) / sizeof((a)[0]))
/* (a bit per text that repeats from item to item: plans, files, currencies) */
static const cr_spool_shape claim_shape = {sizeof(cr_claim), claim_texts, NTEXTS(claim_texts),
                                           (1u << 2) | (1u << 3) | (1u << 4) | (1u << 5) |
                                               (1u << 7) | (1u << 9)};
static const cr_spool_shape event_shape = {sizeof(cr_event), event_texts, NTEXTS(event_texts),
                                           1u << 3};
static const cr_spool_shape srow_shape = {sizeof(cr_srow), srow_texts, NTEXTS(srow_texts),
                                          (1u << 2) | (1u << 3) | (1u << 4)};
static const cr_spool_shape action_shape = {sizeof(cr_action), action_texts, NTEXTS(action_texts),
                                            0x1deu /* all but claim_id, psp_ref, received_sn */};

/* A claim's lookup keys (parts.h), as the subset records them. */
static void claim_keys(const cr_claim *c, const char *keys[CR_PART_KEYS])
{
    /* an id too long to key (cr_claim_key) is looked for as it is
     * (cr_claim_find_exact): its actions are tied by it (spool_item) */
    keys[0] = c->key && *c->key ? c->key : c->claim_id;
    keys[1] = c->norm_sn;
    keys[2] = NULL;
    keys[3] = c->preauth_ref;
}

static cr_err spool_full(const cr_spool *sp, const char *where)
{
    int e = sp->err ? sp->err : EIO;
    char dir[4096];
    const char *d = cr_parent_dir(where, dir, sizeof dir);
    return cr_error(CR_EIO, "cannot write to a temporary file beside the state database %s: %s%s%s%s",
                    where, strerror(e), e == ENOSPC || e == EDQUOT ? "; free space on the disk of " : "",
                    e == ENOSPC || e == EDQUOT ? (d ? d : where) : "",
                    e == ENOSPC || e == EDQUOT ? " and run again: this run's decisions are rolled back"
                                                 " and made again then" : "");
}

/* Opens SP beside the state database (a buffer of BUFFER bytes, 0: 1 MiB). */
static cr_err state_spool(const cr_config *cfg, cr_spool *sp, size_t buffer)
{
    int e;
    if (cr_spool_open(sp, cfg->state_db, buffer, &e) == CR_OK)
        return CR_OK;
    return cr_error(CR_ECANTCREAT, "cannot create a temporary file beside the state database %s: %s",
                    cfg->state_db, strerror(e));
}

static cr_err spool_claims(void *ud, const cr_claim *cl, size_t n)
{
    claims_job *j = ud;
    for (size_t i = 0; i < n; i++) {
        const char *keys[CR_PART_KEYS];
        claim_keys(&cl[i], keys);
        if (!cr_spool_put(j->spool, &claim_shape, &cl[i]))
            return spool_full(j->spool, j->cfg->state_db);
        if (!cr_parts_add(j->parts, CR_ITEM_CLAIM, keys))
            return cr_error(CR_ENOMEM, "out of memory");
    }
    return CR_OK;
}

static void *claims_read(void *p)
{
    claims_job *j = p;
    j->rc = j->parts    ? cr_claimsdb_each(j->cdb, j->cfg, spool_claims, j)
            : j->by_id ? cr_claimsdb_load_ids(j->cdb, j->cfg, &j->pool, j->ids, j->nids, &j->claims, &j->n)
                       : cr_claimsdb_load(j->cdb, j->cfg, &j->pool, &j->claims, &j->n);
    /* the incremental night's snapshot (load_subset) ends with its last
     * read: a writer of the claim database waits no longer than that */
    cr_err rc = cr_claimsdb_snapshot(j->cdb, false);
    if (j->rc == CR_OK)
        j->rc = rc;
    return NULL;
}

static void claims_job_release(claims_job *j)
{
    free(j->ids);
    free(j->fresh);
    free(j->claims);
    cr_pool_release(&j->pool);
    j->ids = NULL;
    j->fresh = j->claims = NULL;
}

/* Finds the incremental night's subset: new claims, due claims, and the
 * claims, events and rows that new rows touch (cr_store_subset_begin).  The
 * new claims are read here, into CJ, to seed it; the ids of all its claims
 * are left in CJ for claims_read. */
static cr_err load_subset(night *n, cr_claimsdb *cdb, const int64_t meta[N_META], claims_job *cj,
                          bool *everything)
{
    cr_err rc;
    cr_claim *changed = NULL, *seeds = NULL;
    size_t nids = 0, nchanged = 0, gone = 0;
    const char **ids = NULL;
    long count = 0;

    double t0 = mono();
    /* what is read of the claim database from here to claims_read is one
     * snapshot: a claim edited meanwhile is decided as it was when its
     * lookup keys grew the subset (and its fingerprint says so) */
    if ((rc = cr_claimsdb_snapshot(cdb, true)) != CR_OK ||
        (rc = cr_claimsdb_load_after(cdb, n->cfg, &n->pool, meta[3], &cj->fresh, &cj->nfresh)) != CR_OK)
        goto cleanup;
    if (n->claims_stamp != meta[4]) {
        /* the claim database changed: find the rows that did (a full read) */
        if ((rc = cr_claimsdb_changed(cdb, n->st, &n->pool, &changed, &nchanged, &gone)) != CR_OK)
            goto cleanup;
        phase(n->o->v, "changed", &t0);
        if (gone) {
            /* a claim gone from it: its state must go too (forget_gone) */
            cr_info(n->o->v,
                    "%zu claim%s the last night decided %s no longer in the claim database:"
                    " this night looks at every claim",
                    gone, gone == 1 ? "" : "s", gone == 1 ? "is" : "are");
            *everything = true;
            goto cleanup;
        }
    }
    seeds = malloc((cj->nfresh + nchanged ? cj->nfresh + nchanged : 1) * sizeof *seeds);
    if (!seeds) {
        rc = cr_error(CR_ENOMEM, "out of memory");
        goto cleanup;
    }
    if (cj->nfresh)
        memcpy(seeds, cj->fresh, cj->nfresh * sizeof *seeds);
    if (nchanged)
        memcpy(seeds + cj->nfresh, changed, nchanged * sizeof *seeds);
    cr_subset_seed seed = {n->D, meta[0], meta[1], meta[2], seeds, cj->nfresh + nchanged};
    int conns = 1;
    if ((rc = cr_store_subset_begin(n->st, &seed, &count, &conns)) != CR_OK ||
        (rc = cr_store_subset_claim_ids(n->st, &n->pool, &ids, &nids)) != CR_OK)
        goto cleanup;
    phase(n->o->v, "subset", &t0);
    cr_debug(n->o->v, "the subset closed over on %d connection%s", conns, conns > 1 ? "s" : "");
    /* every claim of the subset is read by its id, the new ones again
     * too: a new row may carry the id of a claim already there (a table
     * without a unique id), and only a read of the id sees both rows
     * (claims_unique) */
    cj->by_id = true;
    cj->ids = ids;
    cj->nids = nids;
    ids = NULL;
cleanup:
    free(ids);
    free(changed);
    free(seeds);
    return rc;
}

/* The incremental night's claims: CJ's new ones and those claims_read read,
 * in key order. */
static cr_err subset_claims(night *n, claims_job *cj)
{
    size_t nc = cj->nfresh + cj->n;
    if (!(n->claims = malloc((nc ? nc : 1) * sizeof *n->claims)))
        return cr_error(CR_ENOMEM, "out of memory");
    if (cj->n)
        memcpy(n->claims, cj->claims, cj->n * sizeof *cj->claims);
    nc = cj->n;
    /* a new claim read again by its id is taken as read then (with every
     * row of its id); one not found so (none expected: one snapshot) as
     * read new */
    for (size_t i = 0; i < cj->nfresh; i++)
        if (cr_claim_find_exact(cj->claims, cj->n, cj->fresh[i].claim_id) < 0)
            n->claims[nc++] = cj->fresh[i];
    n->nclaims = nc;
    qsort(n->claims, n->nclaims, sizeof *n->claims, cr_claim_order);
    size_t nfresh = cj->nfresh;
    free(cj->fresh);
    free(cj->claims);
    cj->fresh = cj->claims = NULL;
    cj->nfresh = cj->n = 0;
    /* the claims' strings live as long as the night */
    cr_pool_release(&n->claims_pool);
    n->claims_pool = cj->pool;
    cj->pool = (cr_pool)CR_POOL_INIT;
    n->incremental = true;
    cr_debug(n->o->v, "incremental night: %zu claims to look at (%zu new)", n->nclaims, nfresh);
    return CR_OK;
}

/* A night over everything loads its settlement rows through a second,
 * read-only connection on a thread of its own while the events are loaded
 * (cr_store_open_reader: only what is committed, which is all of it after
 * the ingest; an incremental night's subset lives in the main connection). */
typedef struct rows_job {
    cr_store *st;
    cr_pool pool;
    cr_srow *rows;
    size_t n;
    cr_err rc;
} rows_job;

static void *rows_read(void *p)
{
    rows_job *j = p;
    cr_store_own(j->st);
    j->rc = cr_store_settlements_load(j->st, &j->pool, &j->rows, &j->n);
    return NULL;
}

/* Indexes the actions by claim (pay_of, ful_of; newpay_of made empty).
 * Each action belongs to the claim with exactly its id; one whose id is no
 * longer among the claims (edited in case or spaces in the claim database)
 * belongs to the first claim of the same key, unless that claim has its
 * own: a claim renamed so is the same claim, and its action stays final. */
static cr_err attach_actions(night *n)
{
    size_t nc = n->nclaims ? n->nclaims : 1;
    free(n->pay_of);
    free(n->ful_of);
    free(n->newpay_of);
    n->pay_of = malloc(nc * sizeof *n->pay_of);
    n->ful_of = malloc(nc * sizeof *n->ful_of);
    n->newpay_of = malloc(nc * sizeof *n->newpay_of);
    if (!n->pay_of || !n->ful_of || !n->newpay_of)
        return cr_error(CR_ENOMEM, "out of memory");
    for (size_t i = 0; i < n->nclaims; i++)
        n->pay_of[i] = n->ful_of[i] = n->newpay_of[i] = -1;
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < n->nactions; i++) {
            const char *id = n->actions[i].claim_id;
            long c = cr_claim_find_exact(n->claims, n->nclaims, id);
            if (pass == 1)
                c = c < 0 ? cr_claim_find_live(n->claims, n->nclaims, id) : -1;
            if (c < 0)
                continue;
            long *slot = strcmp(n->actions[i].kind, "payment") == 0 ? &n->pay_of[c] : &n->ful_of[c];
            if (pass == 0 || *slot < 0)
                *slot = (long)i;
        }
    return CR_OK;
}

/* A claim archived out of the claim database after a payment action was
 * issued for it (its action belongs to no claim of the night: attach_actions):
 * the action still waits for its settlement (SPEC 4, UNCONFIRMED_ACTION),
 * and rows on its hold or naming it confirm it rather than match nothing.
 * It stays among the night's claims as one made from that action: not
 * active, so never decided again and raising no claim check, and taking no
 * receipt (cr_match_events); its state row (fingerprint 0) keeps its timer,
 * and is not taken for a claim gone (cr_claimsdb_changed) unless a claim of
 * its key is back. */
static cr_err add_archived(night *n)
{
    size_t k = 0;
    bool *attached = calloc(n->nactions ? n->nactions : 1, sizeof *attached);
    if (!attached)
        return cr_error(CR_ENOMEM, "out of memory");
    for (size_t i = 0; i < n->nclaims; i++)
        if (n->pay_of[i] >= 0)
            attached[n->pay_of[i]] = true;
    for (size_t i = 0; i < n->nactions; i++)
        k += !attached[i] && strcmp(n->actions[i].kind, "payment") == 0;
    if (!k) {
        free(attached);
        return CR_OK;
    }
    cr_claim *c = realloc(n->claims, (n->nclaims + k) * sizeof *c);
    if (!c) {
        free(attached);
        return cr_error(CR_ENOMEM, "out of memory");
    }
    n->claims = c;
    for (size_t i = 0; i < n->nactions; i++) {
        const cr_action *a = &n->actions[i];
        if (attached[i] || strcmp(a->kind, "payment") != 0)
            continue;
        char key[256];
        const char *kp = cr_claim_key(a->claim_id, key, sizeof key) ? cr_pool_strdup(&n->pool, key) : "";
        if (!kp) {
            free(attached);
            return cr_error(CR_ENOMEM, "out of memory");
        }
        c[n->nclaims++] = (cr_claim){
            .claim_id = a->claim_id, .key = kp, .premium = true, .archived = true, .plan = "premium",
            .status = "archived (not in the claim database)", .currency = a->currency,
            .preauth_ref = a->psp_ref, .paid_at = CR_TIME_NONE,
            .refresh_expires_on = INT32_MIN, .norm_sn = ""};
    }
    free(attached);
    qsort(c, n->nclaims, sizeof *c, cr_claim_order);
    cr_debug(n->o->v, "%zu claim%s no longer in the claim database, kept for %s payment action%s",
             k, k == 1 ? "" : "s", k == 1 ? "its" : "their", k == 1 ? "" : "s");
    return attach_actions(n);
}

/* --- a night over everything in parts ---------------------------------- */

/* The claims of a part of a night over everything: PART_CLAIMS
 * (CARERECON_PART_CLAIMS sets another size, the tests' way to decide small
 * nights in parts). */
#define PART_CLAIMS 125000
static long long part_claims(void)
{
    const char *v = getenv("CARERECON_PART_CLAIMS");
    char *end;
    long long per = v ? strtoll(v, &end, 10) : 0;
    return !v || *end || per < 1 ? PART_CLAIMS : per;
}

/* The parts for N claims (a night in parts is one when its claim table's
 * highest rowid is above a part's claims: rowids only hint at how many
 * claims there are, so the parts are counted once they are read). */
static int parts_for(size_t n)
{
    long long per = part_claims(), k = ((long long)n + per - 1) / per;
    return k < 1 ? 1 : k > 250 ? 250 : (int)k;
}


/* A night in parts: the recorded claims by key, to tell at the end a claim
 * gone from one still there under its id in another case or spacing
 * (forget_gone; cr_claim_find_live in a night in one piece). */
static int dh_key_cmp(const void *a, const void *b)
{
    return strcmp(((const dh_key *)a)->key, ((const dh_key *)b)->key);
}

static cr_err dh_keys_init(night *n)
{
    char key[256];
    if (!n->ndh)
        return CR_OK;
    if (!(n->dh_bykey = malloc(n->ndh * sizeof *n->dh_bykey)) ||
        !(n->dh_live = calloc(n->ndh, sizeof *n->dh_live)))
        return cr_error(CR_ENOMEM, "out of memory");
    for (size_t i = 0; i < n->ndh; i++) {
        if (!cr_claim_key(n->dh[i].claim_id, key, sizeof key))
            continue;
        if (!(n->dh_bykey[n->ndh_bykey].key = cr_pool_strdup(&n->pool, key)))
            return cr_error(CR_ENOMEM, "out of memory");
        n->dh_bykey[n->ndh_bykey++].i = i;
    }
    qsort(n->dh_bykey, n->ndh_bykey, sizeof *n->dh_bykey, dh_key_cmp);
    return CR_OK;
}

/* Marks the recorded claims that a claim of this part answers to by key. */
static void dh_keys_mark(night *n)
{
    for (size_t c = 0; c < n->nclaims && n->ndh_bykey; c++) {
        if (n->claims[c].archived || !n->claims[c].key)
            continue;
        dh_key want = {n->claims[c].key, 0};
        const dh_key *at = bsearch(&want, n->dh_bykey, n->ndh_bykey, sizeof want, dh_key_cmp);
        if (!at)
            continue;
        while (at > n->dh_bykey && strcmp(at[-1].key, want.key) == 0)
            at--;
        for (; at < n->dh_bykey + n->ndh_bykey && strcmp(at->key, want.key) == 0; at++)
            n->dh_live[at->i] = true;
    }
}


typedef struct item_spool {
    night *n;
    cr_spool *sp;
    const cr_spool_shape *shape;
    cr_item_kind kind;
} item_spool;

static cr_err spool_item(void *ud, const void *item, const char *const keys[CR_PART_KEYS])
{
    item_spool *j = ud;
    night *n = j->n;
    const char *k[CR_PART_KEYS] = {keys[0], keys[1], keys[2], keys[3]};
    if (j->kind == CR_ITEM_ACTION && !k[0])
        k[0] = ((const cr_action *)item)->claim_id;   /* an id too long to key: claim_keys */
    if (!cr_spool_put(j->sp, j->shape, item))
        return spool_full(j->sp, n->cfg->state_db);
    if (!cr_parts_add(n->parts, j->kind, k))
        return cr_error(CR_ENOMEM, "out of memory");
    if (j->kind == CR_ITEM_ACTION &&
        !(cr_grow(&n->action_ids, &n->action_ids_cap, n->naction_ids, sizeof *n->action_ids, 64) &&
          (n->action_ids[n->naction_ids++] = ((const cr_action *)item)->id, true)))
        return cr_error(CR_ENOMEM, "out of memory");
    return CR_OK;
}

/* An action that answers for another claim too (record_aliases) is tied
 * to that claim's key. */
static cr_err tie_alias(void *ud, int64_t action_id, const char *claim_id)
{
    night *n = ud;
    char key[256];
    size_t lo = 0, hi = n->naction_ids;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (n->action_ids[mid] < action_id)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == n->naction_ids || n->action_ids[lo] != action_id || !claim_id)
        return CR_OK;
    const char *k = cr_claim_key(claim_id, key, sizeof key) ? key : claim_id;   /* claim_keys */
    return cr_parts_tie(n->parts, CR_ITEM_ACTION, lo, 0, k) ? CR_OK
                                                            : cr_error(CR_ENOMEM, "out of memory");
}

/* The settlement rows are spooled on a thread of their own (through a
 * second connection) while the events are; their keys wait, hashed, for
 * the partition, which takes one kind after the other. */
typedef struct rows_spool {
    cr_store *st;
    cr_spool *sp;
    const char *where;
    uint64_t *keys;            /* two a row: its claim key and its hold reference */
    size_t n, cap;
    cr_err rc;
} rows_spool;

static cr_err spool_row(void *ud, const void *item, const char *const keys[CR_PART_KEYS])
{
    rows_spool *j = ud;
    if (!cr_spool_put(j->sp, &srow_shape, item))
        return spool_full(j->sp, j->where);
    if (!cr_grow(&j->keys, &j->cap, j->n, 2 * sizeof *j->keys, 1024))
        return cr_error(CR_ENOMEM, "out of memory");
    j->keys[2 * j->n] = cr_parts_key(0, keys[0]);
    j->keys[2 * j->n++ + 1] = cr_parts_key(3, keys[3]);
    return CR_OK;
}

static void *rows_spool_main(void *p)
{
    rows_spool *j = p;
    cr_store_own(j->st);
    j->rc = cr_store_settlements_each(j->st, spool_row, j);
    return NULL;
}

/* Reads every event, settlement row and action into its spool, and ties
 * them to the claims the claims thread spooled. */
static cr_err spool_items(night *n)
{
    cr_err rc;
    pthread_t t;
    cr_spool *sp[] = {&n->sp_events, &n->sp_rows, &n->sp_actions, &n->sp_pay, &n->sp_ful};
    for (size_t i = 0; i < sizeof sp / sizeof sp[0]; i++)
        if ((rc = state_spool(n->cfg, sp[i], i < 3 ? 0 : 256 << 10)) != CR_OK)
            return rc;
    rows_spool rj = {.sp = &n->sp_rows, .where = n->cfg->state_db};
    bool threaded = cr_threads_allowed() && cr_store_open_reader(n->st, &rj.st) == CR_OK &&
                    cr_thread_start(&t, rows_spool_main, &rj);
    if (!threaded) {
        cr_store_close(rj.st);
        rj.st = NULL;
    }
    item_spool ev = {n, &n->sp_events, &event_shape, CR_ITEM_EVENT},
               ac = {n, &n->sp_actions, &action_shape, CR_ITEM_ACTION};
    rc = cr_store_events_each(n->st, spool_item, &ev);
    if (threaded) {
        pthread_join(t, NULL);
        cr_store_close(rj.st);
    } else if (rc == CR_OK) {
        rj.st = n->st;
        rows_spool_main(&rj);
    }
    if (rc == CR_OK)
        rc = rj.rc;
    for (size_t i = 0; rc == CR_OK && i < rj.n; i++) {
        const uint64_t h[CR_PART_KEYS] = {rj.keys[2 * i], 0, 0, rj.keys[2 * i + 1]};
        if (!cr_parts_add_keyed(n->parts, CR_ITEM_ROW, h))
            rc = cr_error(CR_ENOMEM, "out of memory");
    }
    free(rj.keys);
    if (rc != CR_OK || (rc = cr_store_actions_each(n->st, spool_item, &ac)) != CR_OK)
        return rc;
    return cr_store_action_aliases_each(n->st, tie_alias, n);
}

static cr_err spool_lost(night *n, const cr_spool *sp)
{
    return sp->err == ENOMEM ? cr_error(CR_ENOMEM, "out of memory")
                             : cr_error(CR_EIO, "cannot read back a temporary file beside the state"
                                                " database %s: %s", n->cfg->state_db,
                                        strerror(sp->err ? sp->err : EIO));
}

/* Moves every item of two kinds (claims and events, or rows and actions)
 * from the spools read in one piece to the spool of its part, on a thread
 * each (scatter_parts). */
typedef struct scatter_job {
    night *n;
    cr_item_kind kinds[2];
    cr_spool *to;
    cr_err rc;
} scatter_job;

static void *scatter_main(void *arg)
{
    scatter_job *j = arg;
    night *n = j->n;
    cr_spool *from[CR_ITEM_KINDS] = {&n->sp_claims, &n->sp_events, &n->sp_rows, &n->sp_actions};
    for (int i = 0; i < 2 && j->rc == CR_OK; i++) {
        cr_item_kind k = j->kinds[i];
        cr_spool *sp = from[k];
        if (!cr_spool_rewind(sp)) {
            j->rc = spool_lost(n, sp);
            break;
        }
        for (size_t x = 0; x < sp->n && j->rc == CR_OK; x++) {
            int p = cr_parts_of(n->parts, k, x);
            if (cr_spool_move(sp, &j->to[p]) != 1)
                j->rc = j->to[p].err ? spool_full(&j->to[p], n->cfg->state_db) : spool_lost(n, sp);
            n->part_n[p][k]++;
        }
        cr_spool_close(sp);   /* moved: its pages go */
    }
    for (int p = 0; p < n->nparts && j->rc == CR_OK; p++)
        if (!cr_spool_rewind(&j->to[p]))
            j->rc = spool_full(&j->to[p], n->cfg->state_db);
    return NULL;
}

static cr_err scatter_parts(night *n)
{
    cr_err rc;
    pthread_t t;
    if (!(n->sp_part = calloc((size_t)n->nparts, sizeof *n->sp_part)) ||
        !(n->sp_part2 = calloc((size_t)n->nparts, sizeof *n->sp_part2)) ||
        !(n->part_n = calloc((size_t)n->nparts, sizeof *n->part_n)))
        return cr_error(CR_ENOMEM, "out of memory");
    for (int p = 0; p < n->nparts; p++)
        if ((rc = state_spool(n->cfg, &n->sp_part[p], 256 << 10)) != CR_OK ||
            (rc = state_spool(n->cfg, &n->sp_part2[p], 256 << 10)) != CR_OK)
            return rc;
    scatter_job a = {n, {CR_ITEM_CLAIM, CR_ITEM_EVENT}, n->sp_part, CR_OK},
                b = {n, {CR_ITEM_ROW, CR_ITEM_ACTION}, n->sp_part2, CR_OK};
    bool threaded = cr_thread_start(&t, scatter_main, &b);
    scatter_main(&a);
    if (threaded)
        pthread_join(t, NULL);
    else
        scatter_main(&b);
    return a.rc != CR_OK ? a.rc : b.rc;
}

/* Reads the next COUNT items of shape SH from SP into *ITEMS, their
 * strings into POOL. */
static cr_err read_part(night *n, cr_spool *sp, const cr_spool_shape *sh, size_t count, void *items,
                        size_t *got, cr_pool *pool)
{
    char *a = malloc(count ? count * sh->size : 1);
    if (!a)
        return cr_error(CR_ENOMEM, "out of memory");
    for (size_t i = 0; i < count; i++)
        if (cr_spool_get(sp, sh, a + i * sh->size, pool) != 1) {
            free(a);
            return spool_lost(n, sp);
        }
    memcpy(items, &a, sizeof a);
    *got = count;
    return CR_OK;
}

/* Makes part P the night's claims, events, rows and actions. */
static cr_err part_load(night *n, int p)
{
    cr_err rc;
    cr_spool *sp = &n->sp_part[p];
    const size_t *cnt = n->part_n[p];
    if ((rc = read_part(n, sp, &claim_shape, cnt[CR_ITEM_CLAIM], &n->claims, &n->nclaims,
                        &n->claims_pool)) != CR_OK ||
        (rc = read_part(n, sp, &event_shape, cnt[CR_ITEM_EVENT], &n->events, &n->nevents,
                        &n->events_pool)) != CR_OK ||
        (rc = read_part(n, &n->sp_part2[p], &srow_shape, cnt[CR_ITEM_ROW], &n->srows, &n->nsrows,
                        &n->rows_pool)) != CR_OK ||
        (rc = read_part(n, &n->sp_part2[p], &action_shape, cnt[CR_ITEM_ACTION], &n->actions,
                        &n->nactions, &n->part_pool)) != CR_OK)
        return rc;
    cr_spool_close(sp);   /* read: its pages go */
    cr_spool_close(&n->sp_part2[p]);
    cr_claims_order_unique(n->claims, &n->nclaims, &n->claims_pool);
    if ((rc = attach_actions(n)) != CR_OK)
        return rc;
    return add_archived(n);
}

/* Lets the night's claims, events, rows and actions go with their strings:
 * a night in parts, each part's once decided, settled and recorded. */
static void part_release(night *n)
{
    free(n->claims);
    free(n->events);
    free(n->srows);
    free(n->actions);
    free(n->new_actions);
    free(n->pay_of);
    free(n->ful_of);
    free(n->newpay_of);
    free(n->hold_slot);
    n->claims = NULL;
    n->events = NULL;
    n->srows = NULL;
    n->actions = n->new_actions = NULL;
    n->pay_of = n->ful_of = n->newpay_of = n->hold_slot = NULL;
    n->nclaims = n->nevents = n->nsrows = n->nactions = n->nnew = n->capnew = 0;
    cr_pool_release(&n->claims_pool);
    cr_pool_release(&n->events_pool);
    cr_pool_release(&n->rows_pool);
    cr_pool_release(&n->part_pool);
}

static void *index_inbox(void *st)
{
    cr_store_index_inbox(st);   /* failing, the indexes are built after the decisions */
    return NULL;
}

/* Loads what the night decides on: the subset of an incremental night
 * (META from can_increment), or the claims CJ read and everything else. */
static cr_err load(night *n, const int64_t *meta, claims_job *cj)
{
    cr_err rc;
    pthread_t reader, rows_thread;
    bool reading = false, rows_reading = false;
    rows_job rj = {0};
    if (meta) {
        bool everything = false;
        if ((rc = load_subset(n, n->cdb, meta, cj, &everything)) != CR_OK)
            return rc;
        if (everything) {
            /* a night over everything after all, its claims read now; it
             * writes with the rollback journal, alone in the database */
            meta = NULL;
            cr_store_ckpt_stop(n->st, NULL);
            free(cj->fresh);
            cj->fresh = NULL;
            cj->nfresh = 0;
            /* one statement reads them all: one snapshot of its own (and
             * counts the rows without an id again, those it met new too) */
            if ((rc = cr_claimsdb_snapshot(n->cdb, false)) != CR_OK)
                return rc;
            cr_claimsdb_take_no_id(n->cdb);
            claims_read(cj);
            cr_pool_release(&n->claims_pool);
            n->claims_pool = cj->pool;
            cj->pool = (cr_pool)CR_POOL_INIT;
        } else if (!(reading = cr_thread_start(&reader, claims_read, cj)))
            claims_read(cj);
    }
    if (!meta && (rc = cj->rc) == CR_OK && !n->parts) {
        n->claims = cj->claims;
        n->nclaims = cj->n;
        cj->claims = NULL;
        if (cr_threads_allowed() && cr_store_open_reader(n->st, &rj.st) == CR_OK &&
            !(rows_reading = cr_thread_start(&rows_thread, rows_read, &rj))) {
            cr_store_close(rj.st);
            rj.st = NULL;
        }
    }
    pthread_t indexer;
    bool indexing = false;
    if (rc == CR_OK && n->parts) {
        /* the lookup indexes of the events and rows are built meanwhile on
         * a thread of their own, not after the decisions */
        if (!n->dry)
            indexing = cr_thread_start(&indexer, index_inbox, n->st);
        rc = spool_items(n);
    } else if (rc == CR_OK &&
             (rc = cr_store_events_load(n->st, &n->events_pool, &n->events, &n->nevents)) == CR_OK &&
             (rows_reading ||
              (rc = cr_store_settlements_load(n->st, &n->pool, &n->srows, &n->nsrows)) == CR_OK))
        rc = cr_store_actions_load(n->st, &n->pool, &n->actions, &n->nactions);
    if (rc == CR_OK && (rc = cr_store_rejects_by_claim(n->st, &n->pool, &n->crej, &n->ncrej)) == CR_OK)
        rc = cr_store_decision_hashes(n->st, &n->pool, &n->dh, &n->ndh);
    while (n->ncrej_key < n->ncrej && !n->crej[n->ncrej_key].by_serial)
        n->ncrej_key++;   /* where the rejected rows by serial begin */
    if (rc == CR_OK && !(n->dh_seen = calloc(n->ndh ? n->ndh : 1, sizeof *n->dh_seen)))
        rc = cr_error(CR_ENOMEM, "out of memory");
    if (reading)
        pthread_join(reader, NULL);
    cr_claimsdb_snapshot(n->cdb, false);
    if (rows_reading) {
        pthread_join(rows_thread, NULL);
        cr_store_close(rj.st);
        if (rc == CR_OK && (rc = rj.rc) == CR_OK) {
            n->srows = rj.rows;
            n->nsrows = rj.n;
            n->rows_pool = rj.pool;
            rj.rows = NULL;
            rj.pool = (cr_pool)CR_POOL_INIT;
        }
        free(rj.rows);
        cr_pool_release(&rj.pool);
    }
    if (indexing && rc != CR_OK) {
        pthread_join(indexer, NULL);
        indexing = false;
    }
    if (rc == CR_OK && n->parts) {
        /* the claims, events, rows and actions wait in their spools */
        if (!(n->nparts = cr_parts_assign(n->parts, parts_for(cr_parts_count(n->parts, CR_ITEM_CLAIM))))) {
            if (indexing)
                pthread_join(indexer, NULL);
            return cr_error(CR_ENOMEM, "out of memory");
        }
        cr_debug(n->o->v, "a night in %d parts: %zu claims, %zu events, %zu settlement rows, %zu"
                          " actions, kept in temporary files beside the state database",
                 n->nparts, n->sp_claims.n, n->sp_events.n, n->sp_rows.n, n->sp_actions.n);
        rc = scatter_parts(n);
        if (rc == CR_OK)
            rc = dh_keys_init(n);
        if (indexing)
            pthread_join(indexer, NULL);
        return rc;
    }
    if (rc != CR_OK || (meta && ((rc = cj->rc) != CR_OK || (rc = subset_claims(n, cj)) != CR_OK)) ||
        (rc = attach_actions(n)) != CR_OK)
        return rc;
    return add_archived(n);
}

/* FNV-1a over text and numbers, to see whether something changed (and to
 * place a hold reference in hold_find's table). */
#define FNV_START 0xcbf29ce484222325ULL
static uint64_t fnv_text(uint64_t h, const char *s)
{
    for (const unsigned char *c = (const unsigned char *)(s ? s : ""); *c; c++)
        h = (h ^ *c) * 0x100000001b3ULL;
    return (h ^ 0x1f) * 0x100000001b3ULL;
}

static uint64_t fnv_num(uint64_t h, int64_t v)
{
    for (int i = 0; i < 8; i++, v >>= 8)
        h = (h ^ (uint64_t)(v & 0xff)) * 0x100000001b3ULL;
    return h;
}

static cr_exc *claim_exc(night *n, cr_code code, const cr_claim *c)
{
    return cr_excs_add(&n->excs, code, c->claim_id, c->claim_id);
}

/* --- one payment action per pre-authorization ------------------------------
 * A hold is captured or released once, whichever claim carries it (a claim
 * entered twice under two ids shares its hold): the night keeps its
 * payment actions, recorded and new, in an open-addressing table by hold
 * reference.  A slot is -1 (empty), an index into actions, or -2 - an
 * index into new_actions. */
static const cr_action *hold_action(const night *n, long v)
{
    return v >= 0 ? &n->actions[v] : &n->new_actions[-2 - v];
}

/* The slot of hold reference REF: its action's, or the empty one where it goes. */
static long *hold_find(night *n, const char *ref)
{
    size_t i = (size_t)fnv_text(FNV_START, ref) & n->hold_mask;
    while (n->hold_slot[i] != -1 && strcmp(hold_action(n, n->hold_slot[i])->psp_ref, ref) != 0)
        i = (i + 1) & n->hold_mask;
    return &n->hold_slot[i];
}

/* Sizes the table for the recorded actions and one new action per claim,
 * and enters the recorded payment actions (the first of a hold wins). */
static cr_err holds_init(night *n)
{
    size_t want = 2 * (n->nactions + n->nclaims) + 16, cap = 16;
    while (cap < want)
        cap *= 2;
    if (!(n->hold_slot = malloc(cap * sizeof *n->hold_slot)))
        return cr_error(CR_ENOMEM, "out of memory");
    for (size_t i = 0; i < cap; i++)
        n->hold_slot[i] = -1;
    n->hold_mask = cap - 1;
    for (size_t i = 0; i < n->nactions; i++) {
        const cr_action *a = &n->actions[i];
        if (strcmp(a->kind, "payment") == 0 && a->psp_ref && *a->psp_ref) {
            long *s = hold_find(n, a->psp_ref);
            if (*s == -1)
                *s = (long)i;
        }
    }
    return CR_OK;
}

/* Records the recorded actions each claim answers for under another id, so
 * that a later incremental night that looks at the claim loads them with
 * it: its own, attached to it under an id since edited (see load), and the
 * action on its hold of a claim no longer in the claim database (a claim
 * whose id was corrected there: hold_find found it, as a night over
 * everything does). */
static cr_err add_alias(night *n, int64_t action_id, const char *claim_id)
{
    const char *id = cr_pool_strdup(&n->pool, claim_id);
    if (!id || !cr_grow(&n->aliases, &n->aliases_cap, n->naliases, sizeof *n->aliases, 16))
        return cr_error(CR_ENOMEM, "out of memory");
    n->aliases[n->naliases++] = (struct alias){action_id, id};
    return CR_OK;
}

static cr_err record_aliases(night *n)
{
    cr_err rc = CR_OK;
    for (size_t i = 0; i < n->nclaims && rc == CR_OK; i++) {
        const cr_claim *c = &n->claims[i];
        for (int k = 0; k < 2 && rc == CR_OK; k++) {
            long a = k ? n->ful_of[i] : n->pay_of[i];
            if (a >= 0 && strcmp(n->actions[a].claim_id, c->claim_id) != 0)
                rc = add_alias(n, n->actions[a].id, c->claim_id);
        }
        if (rc != CR_OK || n->pay_of[i] >= 0 || n->newpay_of[i] >= 0 || !c->preauth_ref ||
            !*c->preauth_ref)
            continue;
        long v = *hold_find(n, c->preauth_ref);
        if (v >= 0 && cr_claim_find_exact(n->claims, n->nclaims, n->actions[v].claim_id) < 0)
            rc = add_alias(n, n->actions[v].id, c->claim_id);
    }
    return rc;
}

/* ... writes them, once the decision writer is done with the database. */
static cr_err write_aliases(night *n)
{
    cr_err rc = CR_OK;
    for (size_t i = 0; i < n->naliases && rc == CR_OK; i++)
        rc = cr_store_action_alias(n->st, n->aliases[i].action_id, n->aliases[i].claim_id);
    return rc;
}

/* Claim C's decision meets a recorded action A: SAME (the action it
 * decides), or A issued after this (earlier) as-of date, counts as
 * previously issued (a backfill does not second-guess what later nights
 * did); else ACTION_CONFLICT, returned for the caller's detail with A's
 * issue time in T (NULL: nothing to fill). */
static cr_exc *meet_action(night *n, const cr_claim *c, const cr_action *a, bool same, char t[32],
                           cr_action_match *match)
{
    if (same || a->issued_at > n->D) {
        n->stats.previously_issued++;
        *match = CR_MATCH_ISSUED;
        return NULL;
    }
    cr_exc *x = claim_exc(n, CR_X_ACTION_CONFLICT, c);
    if (x) {
        cr_format_zoned(n->cfg->tz, a->issued_at, t, 32);
        n->stats.conflicts++;
        *match = CR_MATCH_CONFLICT;
    }
    return x;
}

/* The serial of D's check-in, copied into the night's pool: the events and
 * their strings go after decide_all, the actions and report rows that name
 * it stay (the copy is made once for a claim's action and its row). */
static const char *checkin_sn(night *n, const cr_decision *d, bool *oom)
{
    if (!d->checkin || !d->checkin->serial)
        return NULL;
    if (n->sn_event != d->checkin) {
        if (!(n->sn_copy = cr_pool_strdup(&n->pool, d->checkin->serial))) {
            *oom = true;
            return NULL;
        }
        n->sn_event = d->checkin;
    }
    return n->sn_copy;
}

/* Applies "actions are final" to claim I's decision: a new action, a
 * previously issued one, or ACTION_CONFLICT; *MATCH says which. */
static cr_err act(night *n, size_t i, const cr_decision *d, cr_action_match *match)
{
    *match = CR_MATCH_NONE;
    const cr_claim *c = &n->claims[i];
    cr_exc *x;
    char t[32];

    bool pay = d->kind == CR_D_CAPTURE || d->kind == CR_D_RELEASE;
    if (pay) {
        const char *want = d->kind == CR_D_CAPTURE ? "capture" : "release";
        if (n->pay_of[i] >= 0) {
            const cr_action *a = &n->actions[n->pay_of[i]];
            if ((x = meet_action(n, c, a, strcmp(a->action, want) == 0, t, match))) {
                char amt[48];
                cr_policy_amount(&n->cfg->policy, a->amount, a->currency, amt, sizeof amt);
                cr_exc_set(&n->excs, &x->detail,
                         "%s of %s was issued by run %lld (%s); now decided %s %s: %s", a->action,
                         amt, (long long)a->run_id, t, want, d->reason ? d->reason : "",
                         strcmp(a->action, "capture") == 0 ? "refund the customer"
                                                           : "collect the default cost");
                cr_exc_set(&n->excs, &x->reference, "%s", c->preauth_ref ? c->preauth_ref : "");
                cr_exc_money(&n->excs, x, a->amount, a->currency);
            }
            return CR_OK;
        }
        long *hold = c->preauth_ref && *c->preauth_ref ? hold_find(n, c->preauth_ref) : NULL;
        if (hold && *hold != -1) {
            /* another claim's action already holds this pre-authorization */
            const cr_action *o = hold_action(n, *hold);
            if ((x = meet_action(n, c, o, strcmp(o->action, want) == 0, t, match))) {
                cr_exc_set(&n->excs, &x->detail,
                         "the hold already has a %s, issued for claim %s by run %lld (%s); this claim "
                         "is decided %s %s: nothing is issued, a hold is acted on once",
                         o->action, o->claim_id, (long long)o->run_id, t, want,
                         d->reason ? d->reason : "");
                cr_exc_set(&n->excs, &x->reference, "%s", c->preauth_ref);
                cr_exc_money(&n->excs, x, o->amount, o->currency);
            }
            return CR_OK;
        }
        cr_action *a = new_action(n);
        if (!a)
            return cr_error(CR_ENOMEM, "out of memory");
        if (hold)
            *hold = -2 - (long)(n->nnew - 1);
        a->claim_id = c->claim_id;
        a->kind = "payment";
        a->action = want;
        a->reason = d->reason;
        a->amount = d->amount;
        a->currency = c->currency;
        a->psp_ref = c->preauth_ref;
        a->run_id = n->run_id;
        a->issued_at = n->D;
        a->file_name = n->pay_name;
        n->newpay_of[i] = (long)(n->nnew - 1);
        *match = CR_MATCH_ISSUED;
        if (d->kind == CR_D_CAPTURE) {
            n->stats.captures++;
            if (d->hold_expires != CR_TIME_NONE && n->D > d->hold_expires &&
                (x = claim_exc(n, CR_X_AUTH_EXPIRED, c))) {
                cr_format_zoned(n->cfg->tz, d->hold_expires, t, sizeof t);
                cr_exc_set(&n->excs, &x->detail,
                         "capture issued after the %s hold expired on %s",
                         c->card_brand ? c->card_brand : "card", t);
                cr_exc_set(&n->excs, &x->reference, "%s", c->preauth_ref ? c->preauth_ref : "");
                cr_exc_money(&n->excs, x, a->amount, a->currency);
            }
        } else {
            n->stats.releases++;
        }
        return CR_OK;
    }
    if (d->kind == CR_D_SHIP || d->kind == CR_D_NONCONFORMING) {
        if (n->ful_of[i] >= 0) {
            const cr_action *a = &n->actions[n->ful_of[i]];
            if ((x = meet_action(n, c, a, d->kind == CR_D_SHIP, t, match)))
                cr_exc_set(&n->excs, &x->detail,
                         "replacement shipment was issued by run %lld (%s); the unit is now found "
                         "non-conforming (%s)",
                         (long long)a->run_id, t, d->reason ? d->reason : "");
            return CR_OK;
        }
        if (d->kind == CR_D_NONCONFORMING)
            return CR_OK;
        cr_action *a = new_action(n);
        if (!a)
            return cr_error(CR_ENOMEM, "out of memory");
        a->claim_id = c->claim_id;
        a->kind = "fulfillment";
        a->action = "ship_replacement";
        a->reason = d->reason;
        a->currency = c->currency;
        a->run_id = n->run_id;
        a->issued_at = n->D;
        a->file_name = n->ful_name;
        a->region = c->region;
        a->product_model = c->product_model;
        bool oom = false;
        a->received_sn = checkin_sn(n, d, &oom);
        if (oom)
            return cr_error(CR_ENOMEM, "out of memory");
        a->received_at = d->checkin_at;
        n->stats.ships++;
        *match = CR_MATCH_ISSUED;
    }
    return CR_OK;
}

static cr_err report_row(night *n, size_t i, const cr_decision *d, const cr_action *issued);
static const char *night_dup(night *n, const char *s, bool *oom);
struct report_job;
static cr_err report_hand_part(night *n, struct report_job *j, bool workbook, bool done);
static void report_drop(struct report_job *j);

/* A hash of what a decision says, to record it only when it changes. */
static uint64_t decision_hash(const cr_decision *d)
{
    uint64_t h = FNV_START;
    h = fnv_text(h, cr_decision_name(d->kind));
    h = fnv_text(h, d->reason);
    h = fnv_text(h, cr_pending_name(d->state));
    return fnv_text(h, d->detail);
}

static uint64_t cstate_hash(const cr_cstate *c)
{
    uint64_t h = fnv_num(FNV_START, (int64_t)c->hash);
    const char *t[] = {c->key, c->norm_sn, c->preauth_ref, c->currency, c->card_brand};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        h = fnv_text(h, t[i]);
    int64_t v[] = {c->active, c->wake_at, c->reminder, c->amount, c->deadline,
                   c->shipped_at, c->hold_expires, c->arrived_at, (int64_t)c->fp, c->action_match};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        h = fnv_num(h, v[i]);
    return h;
}

/* The recorded hashes of CLAIM_ID, or NULL when it has none yet; marks
 * them seen. */
static const cr_dhash *last_hashes(night *n, const char *claim_id)
{
    size_t lo = 0, hi = n->ndh;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(n->dh[mid].claim_id, claim_id);
        if (c == 0) {
            n->dh_seen[mid] = true;
            return &n->dh[mid];
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* The next instant after the as-of instant at which time alone (no new
 * row) can change claim I's decision or exceptions; CR_TIME_NONE when only
 * new rows can.  Early is safe (the claim is looked at once more), late is
 * not, so every timer of SPEC 4 is here.  ISSUED_NOW: this run issued its
 * payment action. */
static cr_time_t wake_of(const night *n, size_t i, const cr_decision *d, bool issued_now)
{
    const cr_claim *c = &n->claims[i];
    const cr_policy *p = &n->cfg->policy;
    const cr_time_t D = n->D, day = CR_SECONDS_PER_DAY;
    cr_time_t w = CR_TIME_NONE;
#define WAKE_AT(t)                                                                           \
    do {                                                                                     \
        cr_time_t t_ = (t);                                                                  \
        if (t_ != CR_TIME_NONE && t_ > D && (w == CR_TIME_NONE || t_ < w))                   \
            w = t_;                                                                          \
    } while (0)
    /* an action waits for its confirmation whatever became of its claim
     * since (cancelled, moved to another plan, undecidable); the claim is
     * looked at when the window closes, confirmed or not: this night's
     * settlement rows are applied after its claims are decided, so whether
     * they confirm it is not known here, and a timer that depended on it
     * would differ between a full night and an incremental one */
    const cr_action *a = n->pay_of[i] >= 0 ? &n->actions[n->pay_of[i]] : NULL;
    if (a || issued_now)
        WAKE_AT((a ? a->issued_at : D) + (cr_time_t)p->settlement_confirm_days * day + 1);
    if (!c->active)
        return w;
    if (c->invalid || d->kind == CR_D_NONE) {
        if (c->paid_at != CR_TIME_NONE && c->paid_at > D && !c->invalid)
            WAKE_AT(c->paid_at); /* not paid yet: decided once paid */
        else
            WAKE_AT(D + 1);      /* unreadable or missing a hold: looked at by every later night */
        return w;
    }
    if (!c->premium)
        return w;
    /* a claim with an action can still be pending (its data corrected
     * since): its timers still raise exceptions */
    if (d->kind == CR_D_PENDING) {
        if (d->shipped_at == CR_TIME_NONE)
            WAKE_AT(c->paid_at + (cr_time_t)p->ship_reminder_days * day + 1);
        WAKE_AT(d->deadline + 1);
        WAKE_AT(d->grace_end + 1);
        if (d->delivered_at != CR_TIME_NONE)
            WAKE_AT(d->delivered_at + (cr_time_t)p->checkin_sla_days * day + 1);
    }
    return w;
#undef WAKE_AT
}

/* --- the decision writer --------------------------------------------------
 * From decide_all to record_new_actions, a second thread writes what the
 * night decided through the state database's connection, which nothing
 * else uses until rec_finish has joined it: each claim's decision and
 * state rows, the confirmations of earlier actions, this run's actions.
 * Rows are handed over in batches through a ring of REC_RING slots;
 * without a thread they are written by the caller, a batch at a time. */
typedef enum { REC_CLAIM, REC_CONFIRM, REC_ACTION } rec_kind;

typedef struct rec_item {
    rec_kind kind;
    bool decision, state;      /* REC_CLAIM: which rows to write */
    const char *claim_id;
    cr_decision d;             /* a copy: its detail is a buffer */
    cr_cstate c;               /* its strings live for the night */
    int64_t action_id, row;    /* REC_CONFIRM */
    cr_time_t at;
    cr_action *a;              /* REC_ACTION: its id is set once recorded */
} rec_item;

#define REC_BATCH 256
#define REC_RING 8

typedef struct recorder {
    cr_store *st;
    int64_t run_id;
    cr_time_t D;
    struct {
        size_t n;
        rec_item item[REC_BATCH];
    } slot[REC_RING];
    size_t w, r;               /* slots handed over, slots written */
    bool closing, threaded;
    cr_err rc;                 /* the first write error (under mu while threaded) */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
} recorder;

/* Records the action of IT: every claim's earlier actions were loaded, so
 * the database refusing one (UNIQUE) means the night read an incomplete
 * state, and nothing of it is kept. */
static cr_err rec_actions(recorder *r, cr_action *const *a, size_t n)
{
    size_t dup = n;
    cr_err rc = cr_store_actions_add(r->st, a, n, &dup);
    if (rc == CR_OK && dup < n)
        rc = cr_error(CR_EIO, "claim %s: the state database already holds a %s action"
                              " that this run did not see (another program writing to it?);"
                              " nothing of this run was recorded, run it again",
                      a[dup]->claim_id, a[dup]->kind);
    return rc;
}

/* Writes slot K: the claims' rows first, several a statement (no other
 * row depends on them), then the rest in order. */
static cr_err rec_write(recorder *r, size_t k)
{
    const char *ids[REC_BATCH];
    const cr_decision *ds[REC_BATCH];
    const cr_cstate *cs[REC_BATCH];
    size_t nd = 0, nc = 0;
    for (size_t i = 0; i < r->slot[k].n; i++) {
        const rec_item *it = &r->slot[k].item[i];
        if (it->kind == REC_CLAIM && it->decision) {
            ids[nd] = it->claim_id;
            ds[nd++] = &it->d;
        }
        if (it->kind == REC_CLAIM && it->state)
            cs[nc++] = &it->c;
    }
    cr_err rc = cr_store_decisions_record(r->st, r->run_id, r->D, ids, ds, nd);
    if (rc == CR_OK)
        rc = cr_store_cstates_put(r->st, cs, nc);
    /* the rest in order; actions that follow one another, together */
    cr_action *acts[REC_BATCH];
    size_t na = 0;
    for (size_t i = 0; rc == CR_OK && i < r->slot[k].n; i++) {
        const rec_item *it = &r->slot[k].item[i];
        if (it->kind == REC_ACTION) {
            acts[na++] = it->a;
            continue;
        }
        if (na) {
            rc = rec_actions(r, acts, na);
            na = 0;
        }
        if (rc == CR_OK && it->kind == REC_CONFIRM)
            rc = cr_store_action_confirm(r->st, it->action_id, it->row, it->at);
    }
    if (rc == CR_OK && na)
        rc = rec_actions(r, acts, na);
    return rc;
}

static void *rec_main(void *p)
{
    recorder *r = p;
    cr_store_own(r->st);
    pthread_mutex_lock(&r->mu);
    for (;;) {
        while (r->r == r->w && !r->closing)
            pthread_cond_wait(&r->cv, &r->mu);
        if (r->r == r->w)
            break;
        bool ok = r->rc == CR_OK;
        pthread_mutex_unlock(&r->mu);
        cr_err rc = ok ? rec_write(r, r->r % REC_RING) : CR_OK;
        pthread_mutex_lock(&r->mu);
        if (r->rc == CR_OK)
            r->rc = rc;
        r->r++;
        pthread_cond_broadcast(&r->cv);
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

static void rec_start(recorder *r, cr_store *st, int64_t run_id, cr_time_t D)
{
    r->st = st;
    r->run_id = run_id;
    r->D = D;
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    r->threaded = cr_thread_start(&r->thread, rec_main, r);
    if (r->threaded)
        cr_store_hand(st, r->thread);   /* the night leaves it alone until rec_finish */
}

/* Hands the filling slot over (without a thread: writes it) and waits for
 * a free one.  Returns the first write error so far. */
static cr_err rec_flush(recorder *r)
{
    cr_err rc;
    if (!r->threaded) {
        if (r->rc == CR_OK)
            r->rc = rec_write(r, r->w % REC_RING);
        r->slot[r->w % REC_RING].n = 0;
        return r->rc;
    }
    pthread_mutex_lock(&r->mu);
    r->w++;
    pthread_cond_broadcast(&r->cv);
    while (r->w - r->r == REC_RING)
        pthread_cond_wait(&r->cv, &r->mu);
    rc = r->rc;
    pthread_mutex_unlock(&r->mu);
    r->slot[r->w % REC_RING].n = 0;
    return rc;
}

/* Hands the filling slot over and waits until all is written: what the
 * rows point to may go then (a night in parts lets each part go). */
static cr_err rec_drain(recorder *r)
{
    cr_err rc = rec_flush(r);
    if (r->threaded) {
        pthread_mutex_lock(&r->mu);
        while (r->r != r->w)
            pthread_cond_wait(&r->cv, &r->mu);
        rc = r->rc;
        pthread_mutex_unlock(&r->mu);
    }
    return rc;
}

/* The slot being filled: what was handed over so far is in it or before. */
static size_t rec_slot(const recorder *r)
{
    return r->w;
}

/* Waits until slot SLOT (rec_slot) is written, handing it over first if
 * it is still being filled; without a thread, writes what is filled. */
static void rec_written(recorder *r, size_t slot)
{
    if (!r->threaded || r->w <= slot) {
        rec_flush(r);   /* its error stays in r->rc, returned by rec_finish */
        if (!r->threaded)
            return;
    }
    pthread_mutex_lock(&r->mu);
    while (r->r <= slot)
        pthread_cond_wait(&r->cv, &r->mu);
    pthread_mutex_unlock(&r->mu);
}

/* The next row to fill; NULL after a write error (its message is printed). */
static rec_item *rec_next(recorder *r)
{
    if (r->slot[r->w % REC_RING].n == REC_BATCH && rec_flush(r) != CR_OK)
        return NULL;
    return &r->slot[r->w % REC_RING].item[r->slot[r->w % REC_RING].n++];
}

/* Writes what is left and stops the thread.  Returns the first write error. */
static cr_err rec_finish(recorder *r)
{
    cr_err rc = rec_flush(r);
    if (r->threaded) {
        pthread_mutex_lock(&r->mu);
        r->closing = true;
        pthread_cond_broadcast(&r->cv);
        pthread_mutex_unlock(&r->mu);
        pthread_join(r->thread, NULL);
        cr_store_own(r->st);
        r->threaded = false;
        rc = r->rc;
    }
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->mu);
    return rc;
}

/* Records claim I's decision when it changed, and its state row when that
 * changed (through the decision writer). */
static cr_err record_claim(night *n, size_t i, const cr_decision *d, bool issued_now,
                           cr_action_match match)
{
    const cr_claim *c = &n->claims[i];
    const cr_dhash *last = last_hashes(n, c->claim_id);
    n->matched[match].now++;
    if (last)
        n->matched[last->action_match].before++;
    uint64_t h = decision_hash(d);
    bool decision = (d->kind != CR_D_NONE || d->detail[0]) && (!last || last->hash != h);
    cr_cstate cs = {
        .claim_id = c->claim_id, .key = c->key ? c->key : "", .norm_sn = c->norm_sn,
        .preauth_ref = c->preauth_ref, .active = c->active, .hash = h,
        .wake_at = wake_of(n, i, d, issued_now), .decision = cr_decision_name(d->kind),
        .state = cr_pending_name(d->state), .reminder = d->reminder,
        .amount = c->premium ? c->preauth_amount : 0, .currency = c->currency,
        .card_brand = c->card_brand, .deadline = d->deadline, .shipped_at = d->shipped_at,
        .hold_expires = d->hold_expires, .arrived_at = d->arrival, .fp = c->fp,
        .action_match = match, .exists = last != NULL,
    };
    cs.row_hash = cstate_hash(&cs);
    bool state = !last || last->row_hash != cs.row_hash;
    if (!decision && !state)
        return CR_OK;
    rec_item *it = rec_next(n->rec);
    if (!it)
        return CR_EIO;
    it->kind = REC_CLAIM;
    it->decision = decision;
    it->state = state;
    it->claim_id = c->claim_id;
    if (decision) {
        it->d = *d;
        it->d.checkin = NULL;   /* the events go after decide_all */
    }
    it->c = cs;
    return CR_OK;
}

/* Whether claim I's hold was already acted on (a capture or release issued
 * for it, or for another claim on the same hold): a claim pending again
 * (a late file showed a timely delivery after a capture for NOT_RETURNED)
 * has no hold left to re-authorize. */
static bool held_no_more(night *n, size_t i)
{
    const cr_claim *c = &n->claims[i];
    /* issued by the as-of instant: a backfilled date before it still had the hold */
    if (n->pay_of[i] >= 0)
        return n->actions[n->pay_of[i]].issued_at <= n->D;
    long *hold = c->preauth_ref && *c->preauth_ref ? hold_find(n, c->preauth_ref) : NULL;
    return hold && *hold != -1 && hold_action(n, *hold)->issued_at <= n->D;
}

/* Drops the night's AUTH_EXPIRES_BEFORE_DEADLINE ("re-authorize in time")
 * of claims whose hold was acted on, by this night's actions too (so that
 * a claim decided before the claim whose capture takes their shared hold
 * is treated as one decided after it). */
static void drop_reauthorize(night *n)
{
    size_t k = 0;
    for (size_t j = 0; j < n->excs.n; j++) {
        const cr_exc *x = &n->excs.items[j];
        long c = x->code == CR_X_AUTH_EXPIRES_BEFORE_DEADLINE
                     ? cr_claim_find_exact(n->claims, n->nclaims, x->claim_id)
                     : -1;
        if (c < 0 || !held_no_more(n, (size_t)c))
            n->excs.items[k++] = *x;
    }
    n->excs.n = k;
}

/* Matches, decides and applies actions to every claim. */
static cr_err decide_all(night *n)
{
    cr_err rc;
    const cr_event **byclaim = NULL;
    size_t *start = NULL;
    cr_rules_ctx rctx = {&n->cfg->policy, n->cfg->tz, n->D};

    if ((rc = holds_init(n)) != CR_OK)
        goto cleanup;
    if ((rc = cr_match_events(n->claims, n->nclaims, n->events, n->nevents, n->D, &n->excs)) != CR_OK) {
        rc = cr_error(rc, "out of memory matching events");
        goto cleanup;
    }
    /* group the matched events by claim (counting sort) */
    start = calloc(n->nclaims + 1, sizeof *start);
    byclaim = malloc((n->nevents ? n->nevents : 1) * sizeof *byclaim);
    if (!start || !byclaim) {
        rc = cr_error(CR_ENOMEM, "out of memory");
        goto cleanup;
    }
    for (size_t i = 0; i < n->nevents; i++)
        if (n->events[i].claim >= 0)
            start[n->events[i].claim + 1]++;
    for (size_t i = 0; i < n->nclaims; i++)
        start[i + 1] += start[i];
    {
        size_t *fill = calloc(n->nclaims + 1, sizeof *fill);
        if (!fill) {
            rc = cr_error(CR_ENOMEM, "out of memory");
            goto cleanup;
        }
        for (size_t i = 0; i < n->nevents; i++) {
            int c = n->events[i].claim;
            if (c >= 0)
                byclaim[start[c] + fill[c]++] = &n->events[i];
        }
        free(fill);
    }
    for (size_t i = 0; i < n->nclaims; i++) {
        cr_decision d;
        size_t before = n->nnew;
        cr_decide(&rctx, &n->claims[i], byclaim + start[i], start[i + 1] - start[i], &d, &n->excs);
        cr_action_match match;
        if ((rc = act(n, i, &d, &match)) != CR_OK ||
            (rc = report_row(n, i, &d, n->nnew > before ? &n->new_actions[n->nnew - 1] : NULL)) !=
                CR_OK)
            goto cleanup;
        if (d.kind == CR_D_PENDING)
            n->stats.pending++;
        bool issued_now = n->nnew > before && strcmp(n->new_actions[n->nnew - 1].kind, "payment") == 0;
        if ((rc = record_claim(n, i, &d, issued_now, match)) != CR_OK)
            goto cleanup;
    }
    drop_reauthorize(n);
    if (n->excs.oom)
        rc = cr_error(CR_ENOMEM, "out of memory");
    /* the events are decided on: they go, with their strings (the actions
     * and report rows that name a check-in's serial have a copy: checkin_sn) */
    free(n->events);
    n->events = NULL;
    n->nevents = 0;
    cr_pool_release(&n->events_pool);
    n->sn_event = NULL;
cleanup:
    free(start);
    free(byclaim);
    return rc;
}

static int i64_cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Applies the settlement table and records confirmations. */
static cr_err settle_all(night *n)
{
    cr_err rc;
    int64_t *held = NULL;
    size_t nheld = 0;
    cr_payview *pv = calloc(n->nclaims ? n->nclaims : 1, sizeof *pv);
    if (!pv)
        return cr_error(CR_ENOMEM, "out of memory");
    for (size_t i = 0; i < n->nclaims; i++) {
        const cr_action *a = n->pay_of[i] >= 0 ? &n->actions[n->pay_of[i]] : NULL;
        if (a) {
            pv[i].kind = strcmp(a->action, "capture") == 0 ? CR_PAY_CAPTURE : CR_PAY_RELEASE;
            pv[i].issued_at = a->issued_at;
            pv[i].amount = a->amount;
            pv[i].currency = a->currency;
            pv[i].action_id = a->id;
        }
    }
    for (size_t i = 0; i < n->nclaims; i++) {
        if (n->newpay_of[i] < 0)
            continue;
        const cr_action *a = &n->new_actions[n->newpay_of[i]];
        pv[i].kind = strcmp(a->action, "capture") == 0 ? CR_PAY_CAPTURE : CR_PAY_RELEASE;
        pv[i].issued_at = a->issued_at;
        pv[i].amount = a->amount;
        pv[i].currency = a->currency;
    }
    rc = cr_settle(n->claims, n->nclaims, n->srows, n->nsrows, pv, &n->cfg->policy, n->cfg->tz, n->D,
                   &n->excs);
    if (rc != CR_OK) {
        rc = cr_error(rc, "out of memory settling");
        goto cleanup;
    }
    /* refunds raise nothing but are listed: once, by the night that first
     * takes them in, the one that ingests them or, for a row booked after
     * its as-of, the first whose as-of reaches it (both are in an
     * incremental night's subset) */
    for (size_t i = 0; i < n->nsrows; i++) {
        const cr_srow *r = &n->srows[i];
        if (r->type != CR_ST_REFUND || r->booked_at > n->D ||
            (r->id <= n->rows_before && n->last_as_of != CR_TIME_NONE && r->booked_at <= n->last_as_of))
            continue;
        if (!cr_grow(&n->refunds, &n->refunds_cap, n->nrefunds, sizeof *n->refunds, 16)) {
            rc = cr_error(CR_ENOMEM, "out of memory");
            goto cleanup;
        }
        /* the row's currency is kept in the row, whose array goes below;
         * its texts and its claim's id go with their part in a night in
         * parts: the few refunds keep copies */
        bool oom = false;
        const char *cur = cr_pool_intern(&n->pool, r->currency, strlen(r->currency));
        n->refunds[n->nrefunds++] = (cr_rep_refund){
            .claim_id = r->claim >= 0 ? night_dup(n, n->claims[r->claim].claim_id, &oom) : NULL,
            .psp_ref = night_dup(n, r->psp_ref, &oom), .merchant_ref = night_dup(n, r->merchant_ref, &oom),
            .amount = r->has_amount ? r->amount : 0, .currency = cur,
            .booked_at = r->booked_at, .file = night_dup(n, r->file, &oom), .line = r->line,
            .row_id = r->id};
        if (oom || !cur) {
            rc = cr_error(CR_ENOMEM, "out of memory");
            goto cleanup;
        }
    }
    /* the recorded actions some claim confirms tonight (by id, sorted) */
    if (!n->backfill) {
        if (!(held = malloc((n->nclaims ? n->nclaims : 1) * sizeof *held))) {
            rc = cr_error(CR_ENOMEM, "out of memory");
            goto cleanup;
        }
        for (size_t i = 0; i < n->nclaims; i++)
            if (pv[i].confirmed_row && pv[i].action_id)
                held[nheld++] = pv[i].action_id;
        qsort(held, nheld, sizeof *held, i64_cmp);
    }
    for (size_t i = 0; i < n->nclaims; i++) {
        /* a recorded confirmation that no row gives any more (its row is now
         * the duplicate of an earlier, mismatching one a late file brought)
         * is taken back, unless another claim of the hold confirms it; a
         * backfill, which sees fewer rows, leaves it */
        const cr_action *was = n->pay_of[i] >= 0 ? &n->actions[n->pay_of[i]] : NULL;
        if (!pv[i].confirmed_row &&
            (n->backfill || !was || !was->confirmed_row || n->newpay_of[i] >= 0 ||
             !pv[i].action_id ||
             bsearch(&pv[i].action_id, held, nheld, sizeof *held, i64_cmp)))
            continue;
        if (n->newpay_of[i] >= 0) {
            /* issued tonight: recorded with its confirmation (record_new_actions) */
            n->new_actions[n->newpay_of[i]].confirmed_row = pv[i].confirmed_row;
            n->new_actions[n->newpay_of[i]].confirmed_at = pv[i].confirmed_at;
            continue;
        }
        if (!pv[i].action_id)
            continue;
        /* recorded, or recorded with another row: a row booked earlier
         * that came in a late file confirms it now (the first in booked
         * order; the other is the duplicate) */
        if (was && was->confirmed_row == pv[i].confirmed_row)
            continue;
        rec_item *it = rec_next(n->rec);
        if (!it) {
            rc = CR_EIO;
            goto cleanup;
        }
        it->kind = REC_CONFIRM;
        it->action_id = pv[i].action_id;
        it->row = pv[i].confirmed_row;
        it->at = pv[i].confirmed_at;
    }
    /* the rows are settled: their array goes, its strings stay (refunds) */
    free(n->srows);
    n->srows = NULL;
    n->nsrows = 0;
cleanup:
    free(held);
    free(pv);
    return rc;
}

/* Records the actions this run issued, with the confirmations settle
 * found for them tonight (through the decision writer: rec_actions). */
static cr_err record_new_actions(night *n)
{
    for (size_t k = 0; k < n->nnew; k++) {
        rec_item *it = rec_next(n->rec);
        if (!it)
            return CR_EIO;
        it->kind = REC_ACTION;
        it->a = &n->new_actions[k];
    }
    return CR_OK;
}

/* The claims kept for their actions (add_archived) that the state knew as
 * claims of the claim database: gone tonight. */
static size_t archived_gone(night *n)
{
    size_t k = 0;
    for (size_t i = 0; i < n->nclaims; i++) {
        const cr_dhash *h = n->claims[i].archived ? last_hashes(n, n->claims[i].claim_id) : NULL;
        k += h && !h->archived;
    }
    return k;
}

/* A night over every claim forgets the state rows of claims no longer in
 * the claim database (so no later night lists them as pending or wakes
 * them); their actions, decisions and exceptions stay as history. */
static cr_err forget_gone(night *n)
{
    const char **ids = NULL;
    size_t k = 0;
    cr_err rc;
    if (n->incremental)
        return CR_OK;
    /* claims gone tonight: their state goes, or (add_archived) is kept
     * for their actions, which makes them missing all the same */
    size_t archived = n->parts ? n->gone_archived : archived_gone(n);
    for (size_t i = 0; i < n->ndh; i++)
        k += !n->dh_seen[i];
    if ((k + archived) * 10 > n->ndh)
        /* a claim database pointed at by mistake, or restored from an old copy */
        cr_warn("%zu of the %zu claims the state knows are not in the claim database %s: is it the"
                " right file? Nothing is issued for them; a night with the right file decides them"
                " again", k + archived, n->ndh, n->cfg->claims_db);
    if (!k)
        return CR_OK;
    if (!(ids = malloc(k * sizeof *ids)))
        return cr_error(CR_ENOMEM, "out of memory");
    k = 0;
    for (size_t i = 0; i < n->ndh; i++)
        if (!n->dh_seen[i])
            ids[k++] = n->dh[i].claim_id;
    if ((k + archived) * 10 <= n->ndh)
        cr_info(n->o->v, "%zu claim%s no longer in the claim database (%s%s): %s state forgotten", k,
                k == 1 ? " is" : "s are", ids[0], k > 1 ? ", ..." : "", k == 1 ? "its" : "their");
    rc = cr_store_claim_state_forget(n->st, ids, k);
    /* an id corrected in case or spaces: the claim is still there, and its
     * findings go on under its id as it is now (record_exceptions) */
    for (size_t i = 0, j = 0; i < n->ndh; i++)
        if (!n->dh_seen[i] && (n->parts ? n->dh_live[i]
                                        : cr_claim_find_live(n->claims, n->nclaims, ids[j++]) >= 0))
            ids[n->nrenamed++] = n->dh[i].claim_id;
    n->renamed = ids;
    return rc;
}

/* What a decided part leaves to the decision writer: its claims, actions
 * and new actions, let go once the writer has written the slot (REC_RING)
 * that holds the part's last row. */
typedef struct part_left {
    cr_claim *claims;
    cr_action *actions, *new_actions;
    cr_pool claims_pool, part_pool;
    size_t slot;
    bool held;
} part_left;

static void part_left_go(night *n, part_left *l)
{
    if (!l->held)
        return;
    rec_written(n->rec, l->slot);
    free(l->claims);
    free(l->actions);
    free(l->new_actions);
    cr_pool_release(&l->claims_pool);
    cr_pool_release(&l->part_pool);
    *l = (part_left){0};
}

/* Spools this part's new actions for the action files (emit_actions). */
static cr_err spool_new_actions(night *n)
{
    for (size_t k = 0; k < n->nnew; k++) {
        cr_spool *sp = strcmp(n->new_actions[k].kind, "payment") == 0 ? &n->sp_pay : &n->sp_ful;
        if (!cr_spool_put(sp, &action_shape, &n->new_actions[k]))
            return spool_full(sp, n->cfg->state_db);
    }
    return CR_OK;
}

/* A night over everything in parts: each part's claims, events, rows and
 * actions read back from its spool, decided, settled and handed to the
 * decision writer; the next part is read while the writer writes this one,
 * which goes once written.  Parts are whole components (parts.h): each
 * claim is decided as in one piece. */
static cr_err decide_in_parts(night *n)
{
    cr_err rc = CR_OK;
    part_left left = {0};
    for (int p = 0; p < n->nparts && rc == CR_OK; p++) {
        if ((rc = part_load(n, p)) != CR_OK || (rc = decide_all(n)) != CR_OK ||
            (rc = settle_all(n)) != CR_OK || (rc = record_new_actions(n)) != CR_OK ||
            (rc = spool_new_actions(n)) != CR_OK || (rc = record_aliases(n)) != CR_OK)
            break;
        n->gone_archived += archived_gone(n);
        dh_keys_mark(n);
        cr_debug(n->o->v, "part %d of %d: %zu claims decided", p + 1, n->nparts, n->nclaims);
        /* its rows to the workbook's thread, which writes them while the
         * next part is decided; a workbook that fails never stops the night */
        cr_err hrc = report_hand_part(n, n->job, n->workbook, false);
        if (hrc != CR_OK && n->workbook) {
            n->workbook = false;
            n->report_rc = hrc;
            report_drop(n->job);
        }
        part_left_go(n, &left);   /* the part before, written by now */
        left = (part_left){n->claims, n->actions, n->new_actions, n->claims_pool, n->part_pool,
                           rec_slot(n->rec), true};
        n->claims_pool = n->part_pool = (cr_pool)CR_POOL_INIT;
        n->claims = NULL;
        n->actions = n->new_actions = NULL;
        part_release(n);
    }
    cr_err drc = rec_drain(n->rec);
    part_left_go(n, &left);
    return rc != CR_OK ? rc : drc;
}

static cr_err record_exceptions(night *n)
{
    cr_err rc = CR_OK;
    for (size_t i = 0; i < n->excs.n && rc == CR_OK; i++) {
        bool is_new = false;
        rc = cr_store_exc_seen(n->st, &n->excs.items[i], n->run_id, n->D, &is_new);
        if (is_new)
            n->stats.exceptions_new++;
    }
    /* a backfill cannot tell whether what a later night saw still holds:
     * the next night, which reads everything, resolves what it no longer sees */
    if (rc == CR_OK && !n->backfill)
        rc = cr_store_exc_resolve_unseen(n->st, n->run_id, n->D, &n->stats.exceptions_resolved);
    for (size_t i = 0; i < n->nrenamed && rc == CR_OK && !n->backfill; i++)
        rc = cr_store_exc_resolve_claim(n->st, n->run_id, n->D, n->renamed[i],
                                        &n->stats.exceptions_resolved);
    return rc;
}

/* This run's actions of one kind, read back from their spool (a night in
 * parts) for its action file (cr_action_source). */
typedef struct run_actions {
    night *n;
    cr_spool *sp;
} run_actions;

static cr_err read_run_actions(void *ud, cr_action_put put, void *w)
{
    run_actions *r = ud;
    cr_action a;
    cr_err rc = CR_OK;
    size_t k = 0;
    int got = cr_spool_rewind(r->sp) ? 1 : -1;
    while (rc == CR_OK && got == 1 && (got = cr_spool_get(r->sp, &action_shape, &a, NULL)) == 1) {
        rc = put(w, &a);
        k++;
    }
    if (rc == CR_OK && got == 0 && k != r->sp->n && !r->sp->err)
        r->sp->err = EILSEQ;   /* a short file: every action, or no file */
    return rc != CR_OK ? rc : got < 0 || k != r->sp->n ? spool_lost(r->n, r->sp) : CR_OK;
}

/* Writes this run's action files: the new actions plus earlier ones whose
 * file never appeared.  Marks them written. */
static cr_err emit_actions(night *n)
{
    cr_err rc = CR_OK;
    cr_action *all = NULL;
    size_t nall = 0;
    const cr_action **pay = NULL, **ful = NULL;
    size_t npay = 0, nful = 0, late[2] = {0, 0};   /* earlier runs' payment, fulfillment */
    int64_t first_run = 0, last_run = 0;
    cr_pool pool = CR_POOL_INIT;

    if ((rc = cr_make_dirs(n->cfg->actions_dir)) != CR_OK)
        return rc;
    /* the actions not written yet: any a killed run left, then this run's */
    if ((rc = cr_store_actions_unwritten(n->st, n->run_id, &pool, &all, &nall)) != CR_OK)
        goto cleanup;
    pay = malloc((nall + n->nnew ? nall + n->nnew : 1) * sizeof *pay);
    ful = malloc((nall + n->nnew ? nall + n->nnew : 1) * sizeof *ful);
    if (!pay || !ful) {
        rc = cr_error(CR_ENOMEM, "out of memory");
        goto cleanup;
    }
    if ((rc = cr_store_begin(n->st)) != CR_OK)
        goto cleanup;
    for (size_t i = 0; i < nall; i++) {
        cr_action *a = &all[i];
        bool pays = strcmp(a->kind, "payment") == 0;
        if (a->file_name && cr_actions_file_exists(n->cfg->actions_dir, a->file_name)) {
            /* its file appeared before the run that wrote it was killed */
            if ((rc = cr_store_action_mark_written(n->st, a->id, a->file_name)) != CR_OK)
                goto rollback;
            continue;
        }
        cr_debug(n->o->v, "claim %s: %s of run %lld was never written; writing it now",
                 a->claim_id, a->action, (long long)a->run_id);
        late[!pays]++;
        first_run = first_run && first_run < a->run_id ? first_run : a->run_id;
        last_run = last_run > a->run_id ? last_run : a->run_id;
        /* it goes into this run's file: if this run is killed after renaming
         * the file, the next run finds it there by name */
        if ((rc = cr_store_action_retarget(n->st, a->id, pays ? n->pay_name : n->ful_name)) !=
            CR_OK)
            goto rollback;
        if (pays)
            pay[npay++] = a;
        else
            ful[nful++] = a;
    }
    if (late[0] + late[1]) {
        char runs[64];
        snprintf(runs, sizeof runs, first_run == last_run ? "run %lld" : "runs %lld to %lld",
                 (long long)first_run, (long long)last_run);
        cr_info(n->o->v, "%zu action%s recorded by %s %s never written to a file (%zu payment,"
                " %zu fulfillment); writing %s now into %s%s%s", late[0] + late[1],
                late[0] + late[1] == 1 ? "" : "s", runs, late[0] + late[1] == 1 ? "was" : "were",
                late[0], late[1], late[0] + late[1] == 1 ? "it" : "them", late[0] ? n->pay_name : "",
                late[0] && late[1] ? " and " : "", late[1] ? n->ful_name : "");
    }
    /* this run's own actions were recorded with its file names (a night
     * in parts let them go: they are read back as the files are written) */
    for (size_t i = 0; i < n->nnew; i++) {
        const cr_action *a = &n->new_actions[i];
        if (strcmp(a->kind, "payment") == 0)
            pay[npay++] = a;
        else
            ful[nful++] = a;
    }
    if ((rc = cr_store_commit(n->st)) != CR_OK)
        goto cleanup;
    run_actions pays = {n, &n->sp_pay}, fuls = {n, &n->sp_ful};
    if ((rc = cr_actions_write_payment(n->cfg, n->cfg->actions_dir, n->pay_name, pay, npay,
                                       n->parts ? read_run_actions : NULL, &pays)) != CR_OK)
        goto cleanup;
    cr_fault_point("after payment file");
    if ((rc = cr_actions_write_fulfillment(n->cfg->actions_dir, n->ful_name, ful, nful,
                                           n->parts ? read_run_actions : NULL, &fuls)) != CR_OK) {
        /* the payment file is out (an uploader may take it before the next
         * run looks for it by name): its actions are written */
        if (cr_store_begin(n->st) == CR_OK) {
            if (cr_store_actions_file_written(n->st, n->pay_name) == CR_OK)
                cr_store_commit(n->st);
            else
                cr_store_rollback(n->st);
        }
        goto cleanup;
    }
    /* every action not written yet went into these two files */
    if ((rc = cr_store_begin(n->st)) != CR_OK)
        goto cleanup;
    if ((rc = cr_store_actions_all_written(n->st)) != CR_OK)
        goto rollback;
    rc = cr_store_commit(n->st);
    goto cleanup;
rollback:
    cr_store_rollback(n->st);
cleanup:
    free(pay);
    free(ful);
    free(all);
    cr_pool_release(&pool);
    return rc;
}

/* S copied into the night's pool (NULL stays NULL); *OOM on failure. */
static const char *night_dup(night *n, const char *s, bool *oom)
{
    const char *d = s ? cr_pool_strdup(&n->pool, s) : NULL;
    *oom |= s && !d;
    return d;
}

/* Appends refund row R of a run that never published its workbook to the
 * night's Refunds (load_unlisted). */
static cr_err add_unlisted_refund(void *ud, const cr_refund_view *r)
{
    night *n = ud;
    char note[96];
    bool oom = false;
    snprintf(note, sizeof note, "taken in by run %lld, whose workbook was not written",
             (long long)r->run_id);
    if (!cr_grow(&n->refunds, &n->refunds_cap, n->nrefunds, sizeof *n->refunds, 16))
        return cr_error(CR_ENOMEM, "out of memory");
    cr_rep_refund *x = &n->refunds[n->nrefunds];
    x->claim_id = night_dup(n, r->claim_id, &oom);
    x->psp_ref = night_dup(n, r->psp_ref, &oom);
    x->merchant_ref = night_dup(n, r->merchant_ref, &oom);
    x->amount = r->has_amount ? r->amount : 0;
    x->currency = night_dup(n, r->currency, &oom);
    x->booked_at = r->booked_at;
    x->file = night_dup(n, r->file, &oom);
    x->line = r->line;
    x->row_id = 0;
    x->detail = night_dup(n, note, &oom);
    if (oom)
        return cr_error(CR_ENOMEM, "out of memory");
    n->nrefunds++;
    return CR_OK;
}

/* Records the refunds this night lists, for the next run to list if this
 * one never publishes its workbook (those of earlier runs it lists again
 * stay recorded under those runs). */
static cr_err record_refunds(night *n)
{
    cr_err rc = CR_OK;
    for (size_t i = 0; i < n->nrefunds && rc == CR_OK; i++)
        if (!n->refunds[i].detail)
            rc = cr_store_refund_taken(n->st, n->run_id, n->refunds[i].row_id,
                                       n->refunds[i].claim_id);
    return rc;
}

/* Loads, for this night's Captures, Releases and Fulfillment rows, the actions
 * of the runs since the last listing that never published their workbook
 * (killed after their decision commit, or their workbook could not be
 * written): their files went out, so finance sees them here once, marked
 * with the run that issued them (their rejected rows come with the
 * Rejected Rows, report_gather; their refunds with the Refunds). */
static cr_err load_unlisted(night *n)
{
    bool found = false;
    cr_err rc;
    if ((rc = cr_store_meta_get(n->st, META_LISTED, &n->listed, &found)) != CR_OK)
        return rc;
    if (!found)
        n->listed = 0;
    int published = 0;
    if ((rc = cr_store_runs_published(n->st, n->run_id, n->listed, &published)) != CR_OK)
        return rc;
    if (published)
        cr_info(n->o->v, "%d earlier run%s stopped after publishing %s workbook; %s actions are"
                         " listed there and not repeated in this one",
                published, published == 1 ? "" : "s", published == 1 ? "its" : "their",
                published == 1 ? "its" : "their");
    if ((rc = cr_store_refunds_unlisted(n->st, n->run_id, n->listed, add_unlisted_refund, n)) !=
        CR_OK)
        return rc;
    return cr_store_actions_unlisted(n->st, n->run_id, n->listed, &n->pool, &n->unlisted,
                                     &n->nunlisted);
}

/* ... and lists them after this night's own (no database: the recorder
 * has the connection while the night decides). */
static cr_err list_unlisted(night *n)
{
    for (size_t i = 0; i < n->nunlisted; i++) {
        const cr_action *a = &n->unlisted[i];
        bool pays = strcmp(a->kind, "payment") == 0;
        cr_rep_row *r = cr_rep_rows_add(!pays ? &n->ships
                                        : strcmp(a->action, "capture") == 0 ? &n->captures
                                                                             : &n->releases);
        /* and the file it is in: its own, or (never written) this run's,
         * which emit_actions writes it into; a dry run writes none */
        const char *in = a->file_name;
        if (!a->written && !(in && cr_actions_file_exists(n->cfg->actions_dir, in)))
            in = n->dry ? NULL : pays ? n->pay_name : n->ful_name;
        char note[320];
        snprintf(note, sizeof note, "issued by run %lld, whose workbook was not written%s%s",
                 (long long)a->run_id, in ? "; in " : "; in no action file yet (the next live run"
                                                       " writes it)", in ? in : "");
        if (!r || !(r->detail = cr_pool_strdup(&n->pool, note)))
            return cr_error(CR_ENOMEM, "out of memory");
        r->claim_id = a->claim_id;
        r->psp_ref = a->psp_ref;
        r->amount = a->amount;
        r->currency = a->currency;
        r->reason = a->reason;
        r->region = a->region;
        r->product_model = a->product_model;
        r->received_sn = a->received_sn;
        r->received_at = a->received_at;
    }
    if (n->nunlisted)
        cr_info(n->o->v, "%zu action%s of earlier runs whose workbook was not written %s listed in"
                         " this one", n->nunlisted, n->nunlisted == 1 ? "" : "s",
                n->nunlisted == 1 ? "is" : "are");
    return CR_OK;
}

/* Removes temporary files a killed run left in DIR: action files
 * (".payment_actions_....csv.tmp-PID"), workbooks ("carerecon_....xlsx.tmp-
 * XXXXXX") and, when WORKBOOK is not NULL, those of that file name
 * ("WORKBOOK.tmp-XXXXXX", a --report path).  Only one run holds the lock. */
/* Whether NM is "NAME.xlsx" SUFFIX and six characters: a temporary of a
 * workbook (mkstemp's and mkdtemp's six). */
static bool temp_of_xlsx(const char *nm, const char *suffix)
{
    const char *at = strstr(nm, suffix);
    size_t sl = strlen(suffix);
    return at && at - nm > 5 && strncmp(at - 5, ".xlsx", 5) == 0 && strlen(at + sl) == 6;
}

static void sweep_temp(const char *dir, const char *workbook, const char *only)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    size_t wl = workbook ? strlen(workbook) : 0;
    if (!d)
        return;
    while ((e = readdir(d))) {
        const char *nm = e->d_name;
        if (only && !strstr(nm, only))
            continue;
        /* a workbook's folder of libxlsxwriter's temporaries: ".tmpd-"; in
         * a --report folder also those of the workbooks earlier runs were
         * given there under other names (any "X.xlsx.tmp-XXXXXX") */
        bool folder = (strncmp(nm, "carerecon_", 10) == 0 && strstr(nm, ".xlsx.tmpd-")) ||
                      (workbook && ((strncmp(nm, workbook, wl) == 0 &&
                                     strncmp(nm + wl, ".tmpd-", 6) == 0 && strlen(nm + wl + 6) == 6) ||
                                    temp_of_xlsx(nm, ".tmpd-")));
        if (folder || (nm[0] == '.' && strstr(nm, ".csv.tmp-") &&
                       (strncmp(nm, ".payment_actions_", 17) == 0 ||
                        strncmp(nm, ".fulfillment_", 13) == 0)) ||
            (strncmp(nm, "carerecon_", 10) == 0 && strstr(nm, ".xlsx.tmp-")) ||
            (workbook && ((strncmp(nm, workbook, wl) == 0 && strncmp(nm + wl, ".tmp-", 5) == 0 &&
                           strlen(nm + wl + 5) == 6) ||
                          temp_of_xlsx(nm, ".tmp-")))) {
            char p[4096];
            snprintf(p, sizeof p, "%s/%s", dir, nm);
            if (folder)
                cr_remove_tree(p);
            else
                unlink(p);
        }
    }
    closedir(d);
}

/* Removes the temporaries a killed run left of the workbook PATH (a
 * --report file): they sit beside it. */
static void sweep_workbook_temp(const char *path)
{
    const char *slash = strrchr(path, '/');
    char dir[4096];
    sweep_temp(cr_parent_dir(path, dir, sizeof dir), slash ? slash + 1 : path, NULL);
}

/* --- the report ---------------------------------------------------------- */

typedef struct gather {
    cr_pool pool;
    cr_exc_row *exc;
    size_t nexc, capexc;
    cr_reject_view *rej;
    size_t nrej, caprej;
    bool oom;
} gather;

static const char *gdup(gather *g, const char *s)
{
    if (!s)
        return NULL;
    const char *r = cr_pool_strdup(&g->pool, s);
    if (!r)
        g->oom = true;
    return r;
}

static cr_err gather_exc(void *ud, const cr_exc_row *x)
{
    gather *g = ud;
    if (!cr_grow(&g->exc, &g->capexc, g->nexc, sizeof *g->exc, 256))
        return CR_ENOMEM;
    cr_exc_row *r = &g->exc[g->nexc++];
    *r = *x;
    r->id = gdup(g, x->id);
    r->code = gdup(g, x->code);
    r->severity = gdup(g, x->severity);
    r->claim_id = gdup(g, x->claim_id);
    r->reference = gdup(g, x->reference);
    r->detail = gdup(g, x->detail);
    r->status = gdup(g, x->status);
    r->source_file = gdup(g, x->source_file);
    r->ack_note = gdup(g, x->ack_note);
    r->ack_by = gdup(g, x->ack_by);
    r->currency = gdup(g, x->currency);
    return g->oom ? CR_ENOMEM : CR_OK;
}

static cr_err gather_rej(void *ud, const cr_reject_view *x)
{
    gather *g = ud;
    if (!cr_grow(&g->rej, &g->caprej, g->nrej, sizeof *g->rej, 256))
        return CR_ENOMEM;
    cr_reject_view *r = &g->rej[g->nrej++];
    r->file = gdup(g, x->file);
    r->line = x->line;
    r->reason = gdup(g, x->reason);
    r->field = gdup(g, x->field);
    r->detail = gdup(g, x->detail);
    r->raw = gdup(g, x->raw);
    return g->oom ? CR_ENOMEM : CR_OK;
}

/* DETAIL of claim C's capture, with a note when rejected receipt rows name
 * the claim (the newest, and how many): a check-in rejected for one bad
 * field is in no decision, and the claim is captured NOT_RETURNED while the
 * unit may be in the depot.  Sets *OOM when the note cannot be made. */
static int crej_cmp(const void *key, const void *item)
{
    return strcmp(key, ((const cr_claim_reject *)item)->key);
}

static const char *rejected_note(night *n, const cr_claim *c, const char *detail, bool *oom)
{
    const cr_claim_reject *x =
        n->ncrej_key && c->key && *c->key
            ? bsearch(c->key, n->crej, n->ncrej_key, sizeof *n->crej, crej_cmp)
            : NULL;
    /* else a walk-in check-in (no claim named) rejected with its serial,
     * taken in by a run deciding a time after the claim was paid: a row
     * before it was another claim's unit of the serial */
    if (!x && c->norm_sn && *c->norm_sn && n->ncrej > n->ncrej_key) {
        x = bsearch(c->norm_sn, n->crej + n->ncrej_key, n->ncrej - n->ncrej_key, sizeof *n->crej,
                    crej_cmp);
        if (x && x->as_of != CR_TIME_NONE && c->paid_at != CR_TIME_NONE && x->as_of < c->paid_at)
            x = NULL;
    }
    if (!x)
        return detail;
    char note[768], more[48] = "";
    if (x->count > 1)
        snprintf(more, sizeof more, "; and %ld more", x->count - 1);
    snprintf(note, sizeof note, "%s%sa receipt row %s was rejected (%.200s:%ld, %s%s)"
             " and not used: check it before collecting", detail ? detail : "", detail ? "; " : "",
             x->by_serial ? "with this claim's serial and no claim reference that could be read"
                          : "naming this claim",
             x->file, x->line, x->reason, more);
    const char *d = cr_pool_strdup(&n->pool, note);
    if (!d)
        *oom = true;
    return d ? d : detail;
}

/* The report row of claim I's decision D, when this run issued an action
 * for it (ISSUED, or NULL) or it is pending.  Detail text is copied. */
static cr_err report_row(night *n, size_t i, const cr_decision *d, const cr_action *issued)
{
    const cr_claim *c = &n->claims[i];
    cr_rep_rows *l = issued ? (strcmp(issued->action, "capture") == 0   ? &n->captures
                               : strcmp(issued->action, "release") == 0 ? &n->releases
                                                                        : &n->ships)
                            : d->kind == CR_D_PENDING ? &n->pending : NULL;
    if (!l)
        return CR_OK;
    cr_rep_row *r = cr_rep_rows_add(l);
    if (!r)
        return cr_error(CR_ENOMEM, "out of memory");
    r->claim_id = c->claim_id;
    r->psp_ref = c->preauth_ref;
    r->card_brand = c->card_brand;
    r->currency = c->currency;
    r->registered_sn = c->registered_sn;
    r->region = c->region;
    r->product_model = c->product_model;
    r->deadline = d->deadline;
    r->arrived_at = d->arrival;
    r->shipped_at = d->shipped_at;
    r->hold_expires = d->hold_expires;
    if (issued) {
        r->reason = issued->reason;
        r->amount = issued->amount;
        r->detail = d->detail[0] ? cr_pool_strdup(&n->pool, d->detail) : NULL;
        bool oom = false;
        /* a capture with no check-in (NOT_RETURNED, LATE_RETURN of a unit
         * delivered): one taken in since makes the rejected row moot */
        if (strcmp(issued->action, "capture") == 0 && !d->checkin)
            r->detail = rejected_note(n, c, r->detail, &oom);
        if (!oom)
            r->received_sn = checkin_sn(n, d, &oom);
        if (oom)
            return cr_error(CR_ENOMEM, "out of memory");
        r->received_at = d->checkin_at;
        r->auth_expired = strcmp(issued->action, "capture") == 0 &&
                          d->hold_expires != CR_TIME_NONE && n->D > d->hold_expires;
    } else {
        r->state = cr_pending_name(d->state);
        r->amount = c->preauth_amount;
        r->reminder = d->reminder;
        r->days_left = (long)cr_tz_day_of(n->cfg->tz, d->deadline) - (long)n->day;
    }
    if (l != &n->pending || n->parts)
        cr_rep_rows_spill(l);   /* a write that fails fails the workbook: report_begin says so */
    return CR_OK;
}

/* What the workbook shows.  A live night's workbook is written on a thread
 * of its own from the moment the decisions are made (report_begin): the
 * sheets of the run's actions first, then, once the decisions are recorded
 * (stage 1), the Pending, Exceptions and Rejected Rows sheets and the
 * Summary, gathered from the state (report_gather); it takes its name only
 * once the decisions are committed (stage 2), and is dropped if they are
 * not (-1).  The thread reads nothing the night changes before the stage
 * that hands it over. */
typedef struct report_job {
    cr_report r;
    gather g;
    char path[4096];
    cr_err rc;
    night *n;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stage;
    bool gated;                /* the workbook was let through to its name */
    /* a night in parts: each part's rows of the decision sheets, handed to
     * the workbook's thread as the part is decided (report_next_part) */
    struct part_rows {
        cr_rep_rows l[4];      /* captures, releases, pending, fulfillment */
    } **parts;
    size_t nparts, parts_cap, taken;
    bool parts_done;
} report_job;

static cr_err report_complete(void *ud, cr_report *r);
static bool report_gate(void *ud);

static cr_rep_rows *spilled_rows(night *n, int k);
static cr_err report_spools(night *n, report_job *j);
static cr_err rows_seal(const report_job *j, cr_rep_rows *l);
static void report_stage(report_job *j, int stage);

/* Drops the workbook (report_stage -1). */
static void report_drop(report_job *j)
{
    report_stage(j, -1);
}

/* The workbook's thread takes the next part's rows (cr_report.next_part),
 * waiting for it to be decided; the part before is read by then. */
static int report_next_part(void *ud, const cr_rep_rows *rows[4])
{
    report_job *j = ud;
    pthread_mutex_lock(&j->mu);
    if (j->taken) {
        struct part_rows *done = j->parts[j->taken - 1];
        for (int k = 0; k < 4; k++)
            cr_rep_rows_release(&done->l[k]);
    }
    while (j->taken == j->nparts && !j->parts_done && j->stage >= 0)
        pthread_cond_wait(&j->cv, &j->mu);
    int more = j->stage < 0 ? -1 : j->taken < j->nparts;
    if (more == 1) {
        for (int k = 0; k < 4; k++)
            rows[k] = &j->parts[j->taken]->l[k];
        j->taken++;
    }
    pthread_mutex_unlock(&j->mu);
    return more;   /* (dropped: the night's own lists are not read, they are still in use) */
}

/* Hands a decided part's rows (N's lists, sealed) to the workbook, and
 * gives N new lists for the next; without a workbook they go.  DONE: the
 * last part was decided, and N's lists are the rows of no part. */
static cr_err report_hand_part(night *n, report_job *j, bool workbook, bool done)
{
    cr_err rc = CR_OK;
    if (!done) {
        struct part_rows *b = workbook ? calloc(1, sizeof *b) : NULL;
        cr_rep_rows *l[4] = {&n->captures, &n->releases, &n->pending, &n->ships};
        for (int k = 0; k < 4; k++) {
            if (b) {
                cr_err src = rows_seal(j, l[k]);
                rc = rc == CR_OK ? src : rc;
                b->l[k] = *l[k];
                *l[k] = (cr_rep_rows){0};
            } else {
                cr_rep_rows_release(l[k]);
            }
        }
        if (workbook && !b)
            rc = cr_error(CR_ENOMEM, "out of memory");
        pthread_mutex_lock(&j->mu);
        if (b && !cr_grow(&j->parts, &j->parts_cap, j->nparts, sizeof *j->parts, 16)) {
            for (int k = 0; k < 4; k++)
                cr_rep_rows_release(&b->l[k]);
            free(b);
            b = NULL;
            rc = cr_error(CR_ENOMEM, "out of memory");
        }
        if (b)
            j->parts[j->nparts++] = b;
        pthread_cond_broadcast(&j->cv);
        pthread_mutex_unlock(&j->mu);
        if (rc == CR_OK && workbook)
            rc = report_spools(n, j);
        return rc;
    }
    for (int k = 0; workbook && rc == CR_OK && spilled_rows(n, k); k++)
        rc = rows_seal(j, spilled_rows(n, k));
    pthread_mutex_lock(&j->mu);
    j->parts_done = true;
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&j->mu);
    return rc;
}

/* The rows of these sheets wait on disk for the workbook (at a million
 * claims, ~800,000 Releases rows); Pending's few stay in memory, where an
 * incremental night merges them with those of the claims it did not look at. */
static cr_rep_rows *spilled_rows(night *n, int k)
{
    /* (a night in parts lets its claims go: their Pending rows wait on disk too) */
    return k == 0 ? &n->captures : k == 1 ? &n->releases : k == 2 ? &n->ships
           : k == 3 && n->parts ? &n->pending : NULL;
}

/* Spools beside the workbook for the rows of its action sheets. */
static cr_err report_spools(night *n, report_job *j)
{
    int e;
    for (int k = 0; spilled_rows(n, k); k++)
        if (!spilled_rows(n, k)->spool.f &&
            cr_rep_rows_spool(spilled_rows(n, k), j->path, &e) != CR_OK)
            return cr_error(CR_ECANTCREAT, "workbook %s: cannot create a temporary file beside it"
                                           " for its rows: %s", j->path, strerror(e));
    return CR_OK;
}

/* Names the workbook (J->path) and makes its folder, before the night
 * decides: the rows of its action sheets spill beside it as they are decided
 * (report_row).  An error is the workbook's, never the night's. */
static cr_err report_prepare(night *n, report_job *j)
{
    cr_err rc;
    char dayname[16];
    int y, m, d;

    cr_civil_from_days(n->day, &y, &m, &d);
    snprintf(dayname, sizeof dayname, "%04d%02d%02d", y, m, d);
    if (n->o->report_path)
        snprintf(j->path, sizeof j->path, "%s", n->o->report_path);
    else if (n->dry)
        snprintf(j->path, sizeof j->path, "%s/carerecon_%s_dryrun.xlsx", n->cfg->report_dir,
                 dayname);
    else
        snprintf(j->path, sizeof j->path, "%s/carerecon_%s_run%lld.xlsx", n->cfg->report_dir,
                 dayname, (long long)n->run_id);
    if (!n->o->report_path && (rc = cr_make_dirs(n->cfg->report_dir)) != CR_OK)
        return rc;
    return report_spools(n, j);
}

/* Writes out what L's spool buffers (cr_rep_rows_seal), saying why not. */
static cr_err rows_seal(const report_job *j, cr_rep_rows *l)
{
    if (cr_rep_rows_seal(l) == CR_OK)
        return CR_OK;
    return cr_error(CR_EIO, "workbook %s: cannot write its rows to a temporary file beside it: %s",
                    j->path, strerror(l->spool.err));
}

/* Hands the decided rows to the workbook (report_prepare named it). */
static cr_err report_begin(night *n, report_job *j)
{
    cr_err rc;
    for (int k = 0; spilled_rows(n, k); k++)
        if ((rc = rows_seal(j, spilled_rows(n, k))) != CR_OK)
            return rc;
    j->n = n;
    j->r = (cr_report){
        .cfg = n->cfg,
        .run_id = n->dry ? 0 : n->run_id,
        .as_of = n->D,
        .generated_at = (cr_time_t)time(NULL),
        .dry_run = n->dry,
        .mode = n->dry ? "DRY RUN" : "LIVE",
        .stats = &n->stats,
        .captures = &n->captures, .releases = &n->releases, .pending = &n->pending,
        .fulfillment = &n->ships,
        .n_carried = n->nunlisted,
        .files = n->files.items, .n_files = n->files.n,
        .payment_file = n->dry ? NULL : n->pay_name,
        .fulfillment_file = n->dry ? NULL : n->ful_name,
        .next_part = n->parts ? report_next_part : NULL,
        .next_part_ud = j,
        .complete = report_complete,
        .complete_ud = j,
        .publish = report_gate,
        .publish_ud = j,
    };
    return CR_OK;
}

/* The open exceptions and this run's rejected rows, once recorded. */
static cr_err report_gather(night *n, report_job *j)
{
    cr_err rc;
    if ((rc = cr_store_exc_open(n->st, n->D, n->backfill, gather_exc, &j->g)) != CR_OK ||
        (rc = cr_store_rejects_of_run(n->st, n->run_id, n->listed, gather_rej, &j->g)) != CR_OK)
        return rc == CR_ENOMEM ? cr_error(rc, "out of memory") : rc;
    n->stats.exceptions_open = (long)j->g.nexc;
    return CR_OK;
}

/* Moves the workbook to STAGE (1: its rest is gathered, 2: publish it,
 * -1: drop it); a published workbook is not dropped, a dropped one stays so. */
static void report_stage(report_job *j, int stage)
{
    pthread_mutex_lock(&j->mu);
    if (j->stage >= 0 && (stage > j->stage || (stage < 0 && j->stage < 2)))
        j->stage = stage;
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&j->mu);
}

/* Waits until the workbook reaches STAGE or is dropped; returns its stage. */
static int report_wait(report_job *j, int stage)
{
    pthread_mutex_lock(&j->mu);
    while (j->stage >= 0 && j->stage < stage)
        pthread_cond_wait(&j->cv, &j->mu);
    int s = j->stage;
    pthread_mutex_unlock(&j->mu);
    return s;
}

static cr_err report_complete(void *ud, cr_report *r)
{
    report_job *j = ud;
    if (report_wait(j, 1) < 0)
        return CR_EIO;   /* dropped: the night failed and said why */
    r->exceptions = j->g.exc;
    r->n_exceptions = j->g.nexc;
    r->rejects = j->g.rej;
    r->n_rejects = j->g.nrej;
    r->refunds = j->n->refunds;
    r->n_refunds = j->n->nrefunds;
    return CR_OK;
}

static bool report_gate(void *ud)
{
    report_job *j = ud;
    return j->gated = report_wait(j, 2) == 2;
}

/* Once the workbook is out: this run's actions and rejected rows, and
 * those of the runs before it whose workbook was not written, are listed
 * (load_unlisted), whatever happens to the run after (its action files may
 * still fail to appear; the next run writes them, but lists nothing of
 * this one again).  A dry run records it too, in its transaction, which is
 * rolled back: the next day of a dry range does not list it again. */
static cr_err mark_listed(night *n, const report_job *j)
{
    if (!j->gated || j->rc != CR_OK)
        return CR_OK;
    return cr_store_meta_set(n->st, META_LISTED, n->run_id);
}

static void *report_write(void *p)
{
    report_job *j = p;
    j->rc = cr_report_write(&j->r, j->path);
    return NULL;
}

static void report_release(report_job *j)
{
    for (size_t i = 0; i < j->nparts; i++) {
        for (int k = 0; k < 4; k++)
            cr_rep_rows_release(&j->parts[i]->l[k]);
        free(j->parts[i]);
    }
    free(j->parts);
    free(j->g.exc);
    free(j->g.rej);
    cr_pool_release(&j->g.pool);
}

/* A Pending row from a claim's recorded state (incremental nights: the
 * pending claims outside the subset, which this night does not change;
 * listed after those it decides, once they are decided). */
static cr_err pending_outside(void *ud, const cr_cstate *c)
{
    night *n = ud;
    cr_rep_row *r = cr_rep_rows_add(&n->pending_out);
    if (!r)
        return cr_error(CR_ENOMEM, "out of memory");
    r->claim_id = cr_pool_strdup(&n->pool, c->claim_id);
    r->psp_ref = cr_pool_strdup(&n->pool, c->preauth_ref);
    r->card_brand = cr_pool_strdup(&n->pool, c->card_brand);
    r->currency = cr_pool_strdup(&n->pool, c->currency);
    r->state = cr_pool_strdup(&n->pool, c->state);
    r->amount = c->amount;
    r->deadline = c->deadline;
    r->shipped_at = c->shipped_at;
    r->hold_expires = c->hold_expires;
    r->arrived_at = c->arrived_at;
    r->reminder = c->reminder;
    r->days_left = (long)cr_tz_day_of(n->cfg->tz, c->deadline) - (long)n->day;
    n->stats.pending++;
    return (!r->claim_id || (c->state && !r->state)) ? cr_error(CR_ENOMEM, "out of memory") : CR_OK;
}

/* Pending rows in the order of their claims (cr_claim_order) */
static int pending_order(const void *a, const void *b)
{
    const cr_rep_row *x = a, *y = b;
    return cr_claim_id_order(x->claim_id, y->claim_id);
}

/* The Pending rows of the claims outside the subset merged with those
 * decided, in claim order as a night over everything lists them. */
static cr_err pending_append(night *n)
{
    cr_rep_rows *in = &n->pending, *out = &n->pending_out;
    if (!out->n)
        return CR_OK;
    cr_rep_row *m = malloc((in->n + out->n) * sizeof *m);
    if (!m)
        return cr_error(CR_ENOMEM, "out of memory");
    /* read in id order, which is claim order unless ids differ in case */
    for (size_t x = 1; x < out->n; x++)
        if (pending_order(&out->items[x - 1], &out->items[x]) > 0) {
            qsort(out->items, out->n, sizeof *out->items, pending_order);
            break;
        }
    size_t i = 0, j = 0, k = 0;
    while (i < in->n || j < out->n)
        m[k++] = j >= out->n || (i < in->n && pending_order(&in->items[i], &out->items[j]) <= 0)
                     ? in->items[i++]
                     : out->items[j++];
    free(in->items);
    in->items = m;
    in->n = in->cap = k;
    cr_rep_rows_release(out);
    return CR_OK;
}

/* Records what the next night starts from: the as-of instant, the last
 * event and settlement row seen (and those of the rows new to this night
 * that are dated after it), the claim database's highest rowid and the
 * configuration.  Inside the decision transaction. */
static cr_err record_watermarks(night *n)
{
    int64_t prev = 0, ev = 0, row = 0, prev_ev = 0, prev_row = 0;
    bool found = false, f;
    cr_err rc;
    if ((rc = cr_store_meta_get(n->st, META_AS_OF, &prev, &found)) != CR_OK ||
        (rc = cr_store_meta_get(n->st, META_EVENT, &prev_ev, &f)) != CR_OK ||
        (rc = cr_store_meta_get(n->st, META_ROW, &prev_row, &f)) != CR_OK ||
        (rc = cr_store_max_ids(n->st, &ev, &row)) != CR_OK)
        return rc;
    cr_time_t last = found && prev > n->D ? prev : n->D;
    if ((rc = cr_store_mark_later(n->st, prev_ev, prev_row, n->D, last)) != CR_OK)
        return rc;
    if ((rc = cr_store_meta_set(n->st, META_AS_OF, last)) != CR_OK ||
        (rc = cr_store_meta_set(n->st, META_EVENT, ev)) != CR_OK ||
        (rc = cr_store_meta_set(n->st, META_ROW, row)) != CR_OK ||
        (rc = cr_store_meta_set(n->st, META_CLAIMS, n->claims_rowid)) != CR_OK ||
        (rc = cr_store_meta_set(n->st, META_CONFIG, config_mark(n->cfg))) != CR_OK ||
        (rc = cr_store_meta_set(n->st, META_STAMP, n->claims_stamp)) != CR_OK ||
        (rc = cr_store_meta_set(n->st, META_BACKFILL, found && prev > n->D)) != CR_OK ||
        (rc = cr_store_meta_set(n->st, META_MATCHED, n->matched[CR_MATCH_ISSUED].total)) != CR_OK ||
        (rc = cr_store_meta_set(n->st, META_CONFLICTS, n->matched[CR_MATCH_CONFLICT].total)) != CR_OK)
        return rc;
    return CR_OK;
}

static void summary_line(const night *n, const char *report)
{
    char asof[48], unread[48] = "";
    const cr_run_stats *s = &n->stats;
    /* with its offset: two instants of a repeated hour read apart */
    cr_format_zoned(n->cfg->tz, n->D, asof, sizeof asof);
    if (s->files_unread)
        snprintf(unread, sizeof unread, ", %ld not read", s->files_unread);
    fprintf(stderr,
            "carerecon: %s%lld%s as of %s %s: files %ld ingested, %ld skipped, %ld rejected%s;"
            " rows %ld accepted, %ld rejected; %ld capture%s, %ld release%s, %ld shipment%s,"
            " %ld pending, %ld conflict%s; exceptions %ld open (%ld new, %ld resolved);"
            " workbook %s\n",
            n->dry ? "DRY RUN (would be run " : "run ", (long long)n->run_id, n->dry ? ")" : "",
            asof, n->cfg->timezone_name, s->files_ingested, s->files_skipped, s->files_rejected,
            unread, s->rows_accepted, s->rows_rejected, s->captures, s->captures == 1 ? "" : "s",
            s->releases, s->releases == 1 ? "" : "s", s->ships, s->ships == 1 ? "" : "s", s->pending,
            s->conflicts, s->conflicts == 1 ? "" : "s", s->exceptions_open, s->exceptions_new,
            s->exceptions_resolved,
            report ? report : "(not written)");
}

/* The run number in an action file's name ("payment_actions_20261120_run7.csv",
 * "fulfillment_20261120_run7.csv"), or 0 when NAME is not one. */
static int64_t action_file_run(const char *name)
{
    static const char *const prefixes[] = {"payment_actions_", "fulfillment_"};
    for (size_t k = 0; k < 2; k++) {
        size_t pl = strlen(prefixes[k]);
        if (strncmp(name, prefixes[k], pl) != 0)
            continue;
        const char *p = name + pl;
        for (int d = 0; d < 8; d++, p++)
            if (*p < '0' || *p > '9')
                return 0;
        if (strncmp(p, "_run", 4) != 0 || p[4] < '1' || p[4] > '9')
            return 0;
        char *end;
        errno = 0;
        long long r = strtoll(p + 4, &end, 10);
        return errno == 0 && strcmp(end, ".csv") == 0 ? (int64_t)r : 0;
    }
    return 0;
}

/* Refuses a live run when actions_dir holds action files of runs the state
 * does not record: the state was restored from an older copy, cut short
 * (a zero-byte file), or the configuration points at another one.  Their
 * actions are unknown to it, and it would issue them again (the opposite
 * one, even, for a claim decided otherwise since). */
static cr_err foreign_action_files(const cr_config *cfg, cr_store *st)
{
    DIR *d = opendir(cfg->actions_dir);
    if (!d)
        return CR_OK;   /* made later, or says why then */
    cr_err rc = CR_OK;
    char first[256] = "";
    long count = 0;
    const struct dirent *e;
    while (rc == CR_OK && (e = readdir(d))) {
        int64_t r = action_file_run(e->d_name);
        bool live = false;
        if (r <= 0 || ((rc = cr_store_run_live(st, r, &live)) == CR_OK && live))
            continue;
        char path[4096];
        struct stat sb;
        snprintf(path, sizeof path, "%s/%s", cfg->actions_dir, e->d_name);
        if (rc != CR_OK || lstat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
            continue;   /* a folder in the way of a name says so when written */
        if (!count++ || strcmp(e->d_name, first) < 0)
            snprintf(first, sizeof first, "%s", e->d_name);
    }
    closedir(d);
    if (rc == CR_OK && count)
        rc = cr_error(CR_ECANTCREAT,
                      "%s holds %ld action file(s) of runs the state database %s does not record (%s%s);"
                      " nothing was issued. Is the state restored from an older copy, cut short, or"
                      " is this the wrong state_db? Their actions are unknown to it and would be"
                      " issued again. Restore the latest state database (moving those files out of"
                      " %s lets the run go on, and it then acts again on their claims)",
                      cfg->actions_dir, count, cfg->state_db, first, count > 1 ? ", ..." : "",
                      cfg->actions_dir);
    return rc;
}

cr_err cr_run_night(const cr_config *cfg, cr_store *st, cr_claimsdb *cdb, const cr_run_opts *o)
{
    cr_err rc, ingest_rc = CR_OK;
    night n = {.cfg = cfg, .st = st, .o = o, .D = o->as_of, .dry = o->dry_run};
    char report[4096] = "";
    bool in_tx = false, outer_tx = false, threaded = false, bulk = false;
    cr_err prc = CR_OK;       /* why the workbook cannot be made */
    report_job job = {0};
    pthread_t thread, reader;
    claims_job claims = {0};
    bool incremental, reading = false;
    int64_t meta[N_META];
    long unfinished = 0;

    /* a file at the workbook's path written before now is not this run's */
    struct timespec began;
    clock_gettime(CLOCK_REALTIME, &began);
    pthread_mutex_init(&job.mu, NULL);
    pthread_cond_init(&job.cv, NULL);
    n.day = cr_tz_day_of(cfg->tz, n.D);
    if (n.dry && !o->in_transaction) {
        if ((rc = cr_store_begin(st)) != CR_OK)
            goto cleanup;
        outer_tx = true;
    }
    /* before this run is recorded: a refused run must not make the next
     * attempt take the unknown files for this run's */
    if (!n.dry && (rc = foreign_action_files(cfg, st)) != CR_OK)
        goto cleanup;
    if ((rc = cr_store_run_start(st, n.D, n.dry ? "dry-run" : "live", (cr_time_t)time(NULL),
                                 &n.run_id)) != CR_OK)
        goto cleanup;
    cr_fault_point("run recorded");
    cr_actions_file_names(n.day, n.run_id, n.pay_name, n.ful_name, sizeof n.pay_name);
    /* (the actions of a run killed after recording its decisions are
     * written by emit_actions, which says how many) */
    if (!n.dry && cr_store_runs_close_unfinished(st, n.run_id, (cr_time_t)time(NULL), &unfinished) ==
                      CR_OK && unfinished > 0)
        cr_info(o->v, "%ld earlier run%s stopped before recording %s decisions (killed, or failed"
                " where %s could not record why: a full disk); what %s ingested is kept, and this"
                " run decides on it", unfinished, unfinished == 1 ? "" : "s",
                unfinished == 1 ? "its" : "their", unfinished == 1 ? "it" : "they",
                unfinished == 1 ? "it" : "they");
    if (!n.dry) {
        sweep_temp(cfg->actions_dir, NULL, NULL);
        sweep_temp(cfg->report_dir, NULL, NULL);
        sweep_workbook_temp(cfg->state_db);   /* spools a kill left (spool.h) */
        if (o->report_path)
            sweep_workbook_temp(o->report_path);
    } else {
        /* a dry run leaves live runs' temporaries to them, and removes
         * those killed dry runs left (it holds the run lock, but on a
         * machine with no state database yet: cli.c) */
        sweep_temp(cfg->report_dir, NULL, "_dryrun.xlsx.tmp");
        if (o->report_path)
            sweep_workbook_temp(o->report_path);
    }

    n.cdb = cdb;
    /* before any claim is read: an edit made while they are read shows as
     * a changed stamp to the next night, which then looks for it */
    n.claims_stamp = cr_claimsdb_stamp(cdb);
    if (!cr_claimsdb_max_rowid(cdb, &n.claims_rowid))
        n.claims_rowid = 0;
    int64_t last_as_of = 0;
    bool found_as_of = false;
    n.backfill = cr_store_meta_get(st, META_AS_OF, &last_as_of, &found_as_of) == CR_OK && found_as_of &&
                 last_as_of > n.D;
    n.last_as_of = found_as_of ? last_as_of : CR_TIME_NONE;
    incremental = can_increment(&n, cdb, meta);
    claims.cfg = cfg;
    claims.cdb = cdb;
    if (!incremental && n.claims_rowid > part_claims()) {
        /* too many claims to hold at once: decided in parts (decide_in_parts);
         * the key table is sized for a million claims at most, and grows */
        size_t expect = (size_t)(n.claims_rowid < 1000000 ? n.claims_rowid : 1000000);
        if (!(n.parts = cr_parts_new(4 * expect + 1024))) {
            rc = cr_error(CR_ENOMEM, "out of memory");
            goto cleanup;
        }
        if ((rc = state_spool(cfg, &n.sp_claims, 0)) != CR_OK)
            goto cleanup;
        claims.parts = n.parts;
        claims.spool = &n.sp_claims;
    }
    reading = !incremental && cr_thread_start(&reader, claims_read, &claims);
    /* an incremental night's write-ahead log is copied into the database on
     * a thread (cr_store_ckpt_*), not in its commits; a night over everything
     * switches to a rollback journal, which needs the database to itself */
    if (incremental && !n.dry)
        cr_store_ckpt_start(st);

    double t0 = mono();
    int64_t ev_before = 0;
    if ((rc = cr_store_max_ids(st, &ev_before, &n.rows_before)) != CR_OK)
        goto cleanup;
    {
        /* rows a night ingested but died before deciding on (its ingest
         * commits on its own) were not taken in: their refunds are this
         * night's to list, as the last committed night's watermark says */
        int64_t seen_row = 0;
        bool seen = false;
        if ((rc = cr_store_meta_get(st, META_ROW, &seen_row, &seen)) != CR_OK)
            goto cleanup;
        if (seen && seen_row < n.rows_before)
            n.rows_before = seen_row;
    }
    ingest_rc = cr_ingest(cfg, st, n.run_id, (cr_time_t)time(NULL), o->v, &n.stats, &n.files);
    cr_store_ckpt_kick(st);
    phase(o->v, "ingest", &t0);
    if (reading)
        pthread_join(reader, NULL);
    else if (!incremental)
        claims_read(&claims);
    reading = false;
    n.claims_pool = claims.pool;
    claims.pool = (cr_pool)CR_POOL_INIT;
    if (ingest_rc != CR_OK && ingest_rc != CR_EDATA) {
        rc = ingest_rc;
        goto cleanup;
    }
    cr_debug(o->v, "ingested: %ld files, %ld rows", n.stats.files_ingested, n.stats.rows_accepted);

    if ((rc = load(&n, incremental ? meta : NULL, &claims)) != CR_OK ||
        (n.incremental && (rc = cr_store_pending_outside(st, pending_outside, &n)) != CR_OK))
        goto cleanup;
    n.stats.claims_without_id = (long)cr_claimsdb_take_no_id(cdb);
    phase(o->v, "load", &t0);
    if (!n.parts)
        cr_debug(o->v, "loaded %zu claims, %zu events, %zu settlement rows, %zu actions", n.nclaims,
                 n.nevents, n.nsrows, n.nactions);
    if (!n.dry) {
        /* a night over everything writes most pages anew: see cr_store_bulk */
        bulk = !n.incremental && cr_store_bulk(st, true);
        if (!n.incremental)
            cr_debug(o->v, "%s", bulk ? "a night over all claims: written with a rollback journal"
                                      : "a night over all claims, but another process has the state"
                                        " database open: written through the write-ahead log (slower)");
        if ((rc = cr_store_begin(st)) != CR_OK)
            goto cleanup;
        in_tx = true;
    }
    /* what is decided is written on a second thread from here on (rec_*) */
    if (!(n.rec = calloc(1, sizeof *n.rec))) {
        rc = cr_error(CR_ENOMEM, "out of memory");
        goto cleanup;
    }
    if ((rc = load_unlisted(&n)) != CR_OK)
        goto cleanup;
    prc = report_prepare(&n, &job);
    if (n.parts) {
        /* the workbook is written while the parts are decided (report_hand_part) */
        n.job = &job;
        n.workbook = prc == CR_OK;
        if (in_tx && prc == CR_OK && (prc = report_begin(&n, &job)) == CR_OK)
            threaded = cr_thread_start(&thread, report_write, &job);
        n.workbook = prc == CR_OK;
    }
    rec_start(n.rec, st, n.run_id, n.D);
    if ((rc = n.parts ? decide_in_parts(&n) : decide_all(&n)) != CR_OK ||
        (rc = pending_append(&n)) != CR_OK || (rc = list_unlisted(&n)) != CR_OK)
        goto cleanup;
    if (n.parts) {
        cr_err hrc = report_hand_part(&n, &job, n.workbook, true);
        if (n.workbook && (hrc != CR_OK || n.report_rc != CR_OK)) {
            prc = hrc != CR_OK ? hrc : n.report_rc;
            report_drop(&job);
        } else if (prc == CR_OK && n.report_rc != CR_OK) {
            prc = n.report_rc;
        }
    }
    /* "Previously issued" and "Action conflicts" count every claim whose
     * decision is one of its earlier actions or contradicts one: an
     * incremental night adds the claims outside its subset (unchanged since
     * the night that decided them) */
    for (int m = CR_MATCH_ISSUED; m <= CR_MATCH_CONFLICT; m++) {
        int64_t outside = n.incremental ? meta[m == CR_MATCH_ISSUED ? 5 : 6] - n.matched[m].before : 0;
        outside = outside > 0 ? outside : 0;
        n.matched[m].total = n.matched[m].now + outside;
        *(m == CR_MATCH_ISSUED ? &n.stats.previously_issued : &n.stats.conflicts) += outside;
    }
    phase(o->v, "decide", &t0);
    if (in_tx && !n.parts) {
        /* the workbook is written on a second thread from here on (report_job;
         * settling changes none of the rows of its first sheets); a workbook
         * that cannot be made never holds back the action files */
        if (prc == CR_OK)
            prc = report_begin(&n, &job);
        threaded = prc == CR_OK && cr_thread_start(&thread, report_write, &job);
    }
    /* (a night in parts settled and handed over each part's actions with it) */
    if (!n.parts && (rc = settle_all(&n)) != CR_OK)
        goto cleanup;
    phase(o->v, "settle", &t0);
    rc = n.parts ? CR_OK : record_new_actions(&n);
    cr_err wrc = rec_finish(n.rec);
    free(n.rec);
    n.rec = NULL;
    if (rc != CR_OK || (rc = wrc) != CR_OK || (!n.parts && (rc = record_aliases(&n)) != CR_OK) ||
        (rc = write_aliases(&n)) != CR_OK || (rc = forget_gone(&n)) != CR_OK ||
        (rc = record_exceptions(&n)) != CR_OK || (rc = record_refunds(&n)) != CR_OK)
        goto cleanup;
    if (in_tx) {
        if (prc == CR_OK)
            prc = report_gather(&n, &job);
        report_stage(&job, prc == CR_OK ? 1 : -1);
    }
    if ((!n.dry && (rc = record_watermarks(&n)) != CR_OK) ||
        (rc = cr_store_run_finish(st, n.run_id, "decided", (cr_time_t)time(NULL), &n.stats)) != CR_OK)
        goto cleanup;
    phase(o->v, "record", &t0);
    if (in_tx && prc == CR_OK) {
        /* where its workbook will be: a run killed after publishing it and
         * before saying so is not listed again (cr_store_runs_published) */
        char where[4096];
        if ((rc = cr_store_run_workbook(st, n.run_id, real_path(job.path, where, sizeof where),
                                        (int64_t)began.tv_sec * 1000000000 + began.tv_nsec)) != CR_OK)
            goto cleanup;
    }
    if (in_tx && cr_store_sync_level(st) != 2) {
        /* the decisions must be on disk before any action file is written
         * (the ingestion's commits do not wait: cr_store_sync_ingest) */
        rc = cr_error(CR_EIO, "internal error: the decisions would commit without waiting for the"
                              " disk; nothing was issued");
        goto cleanup;
    }
    if (in_tx) {
        cr_fault_point("before decision commit");
        if ((rc = cr_store_commit(st)) != CR_OK)
            goto cleanup;
        in_tx = false;
        /* before the workbook may take its name: a kill here leaves none */
        cr_fault_point("after decision commit");
        cr_store_ckpt_kick(st);
        phase(o->v, "commit", &t0);
        /* the workbook takes its name once the action files it names are
         * out: if they cannot be written, the next run writes them and
         * lists them (load_unlisted), with the file they went into */
        if ((rc = emit_actions(&n)) != CR_OK)
            report_stage(&job, -1);
        else {
            report_stage(&job, 2);
            phase(o->v, "actions", &t0);
            /* the lookup indexes of incremental nights, built after the first load */
            if ((rc = cr_store_ensure_indexes(st)) == CR_OK)
                rc = cr_store_meta_set(st, META_INDEXED, 1);
            phase(o->v, "indexes", &t0);
        }
        if (bulk && !cr_store_bulk(st, false))
            cr_warn("the state database stays in its bulk-write mode until the next run switches it back;"
                    " nothing was lost and nothing needs doing");
        bulk = false;
        if (threaded)
            pthread_join(thread, NULL);
        else if (prc == CR_OK)
            report_write(&job);
        threaded = false;
        cr_fault_point("after workbook published");
        cr_err lrc = mark_listed(&n, &job);
        if (rc != CR_OK || (rc = lrc) != CR_OK)
            goto cleanup;
    } else {
        if ((rc = prc) != CR_OK || (rc = report_begin(&n, &job)) != CR_OK ||
            (rc = report_gather(&n, &job)) != CR_OK)
            goto cleanup;
        report_stage(&job, 2);
        report_write(&job);
        if ((rc = mark_listed(&n, &job)) != CR_OK)
            goto cleanup;
    }
    phase(o->v, "report", &t0);
    cr_ckpt_stats ck;
    if (cr_store_ckpt_stop(st, &ck)) {
        phase(o->v, "checkpoint", &t0);
        if (ck.failed)
            cr_debug(o->v, "write-ahead log: %d of %d checkpoints on their thread failed (%s);"
                           " the log is copied when the database is closed",
                     ck.failed, ck.runs, ck.error);
        else
            cr_debug(o->v, "write-ahead log: %d checkpoints on their thread; the last copied %d of"
                           " %d pages", ck.runs, ck.copied_pages, ck.log_pages);
    }
    if ((rc = prc != CR_OK ? prc : job.rc) != CR_OK)
        goto cleanup;
    snprintf(report, sizeof report, "%s", job.path);
    if (!n.dry)
        rc = cr_store_run_finish(st, n.run_id, "done", (cr_time_t)time(NULL), &n.stats);
    if (o->v >= CR_NORMAL)
        summary_line(&n, report);
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0)
        cr_debug(o->v, "peak rss %ld MB", ru.ru_maxrss / 1024);
cleanup:
    if (n.rec) {
        rec_finish(n.rec);   /* its error, if any, was printed */
        free(n.rec);
        n.rec = NULL;
    }
    if (in_tx)
        cr_store_rollback(st);
    if (outer_tx)
        cr_store_rollback(st);
    if (bulk)
        cr_store_bulk(st, false);
    if (rc != CR_OK && !n.dry && n.run_id)
        cr_store_run_finish(st, n.run_id, "failed", (cr_time_t)time(NULL), &n.stats);
    if (threaded) {
        report_stage(&job, -1);   /* nothing committed: no workbook */
        pthread_join(thread, NULL);
    }
    if (reading)
        pthread_join(reader, NULL);
    cr_claimsdb_snapshot(cdb, false);
    claims_job_release(&claims);
    cr_store_ckpt_stop(st, NULL);
    report_release(&job);
    pthread_cond_destroy(&job.cv);
    pthread_mutex_destroy(&job.mu);
    cr_store_subset_end(st);
    night_release(&n);
    if (rc == CR_OK)
        rc = ingest_rc;
    return rc;
}
