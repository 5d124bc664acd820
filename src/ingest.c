/*
 * ingest.c - see ingest.h.  libcrypto (for SHA-256) is spoken to here only.
 */
#include "ingest.h"

#include "feed.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* How many rejected rows of one file are printed; the rest are counted. */
#define PRINT_REJECTS 10

void cr_sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    static const char hex[] = "0123456789abcdef";
    if (!EVP_Digest(data ? data : "", len, md, &n, EVP_sha256(), NULL))
        n = 0;
    for (unsigned i = 0; i < n && i < 32; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[n ? 64 : 0] = '\0';
}

static cr_file_stat look_of(const struct stat *sb)
{
    return (cr_file_stat){(int64_t)sb->st_dev, (int64_t)sb->st_ino, (int64_t)sb->st_size,
                          (int64_t)sb->st_mtim.tv_sec * 1000000000 + sb->st_mtim.tv_nsec,
                          (int64_t)sb->st_ctim.tv_sec * 1000000000 + sb->st_ctim.tv_nsec};
}

cr_err cr_file_read_look(const char *path, const char **data, size_t *len, cr_file_stat *after)
{
    struct stat sb;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    *data = NULL;
    *len = 0;
    if (fd < 0)
        return cr_error(CR_EIO, "cannot read %s: %s", path, strerror(errno));
    if (fstat(fd, &sb) != 0) {
        int e = errno;
        close(fd);
        return cr_error(CR_EIO, "cannot read %s: %s", path, strerror(e));
    }
    /* read, not mmap: a file truncated while it is read must not kill the
     * run with SIGBUS */
    size_t cap = sb.st_size > 0 ? (size_t)sb.st_size : 0, n = 0;
    char *buf = cap ? malloc(cap) : NULL;
    if (cap && !buf) {
        close(fd);
        return cr_error(CR_ENOMEM, "cannot read %s: out of memory", path);
    }
    while (n < cap) {
        ssize_t got = read(fd, buf + n, cap - n);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            int e = errno;
            free(buf);
            close(fd);
            return cr_error(CR_EIO, "cannot read %s: %s", path, strerror(e));
        }
        if (got == 0)
            break; /* it shrank: read what is there */
        n += (size_t)got;
    }
    if (after) {
        struct stat now;
        if (fstat(fd, &now) == 0)
            *after = look_of(&now);
        else
            memset(after, 0, sizeof *after);   /* differs from any look: taken as changed */
    }
    close(fd);
    *data = buf;
    *len = n;
    return CR_OK;
}

void cr_file_unmap(const char *data, size_t len)
{
    (void)len;
    free((void *)data);
}

void cr_file_list_release(cr_file_list *l)
{
    free(l->items);
    cr_pool_release(&l->pool);
    memset(l, 0, sizeof *l);
}

static cr_rep_file *file_add(cr_file_list *l, const char *name, const char *kind, const char *feed,
                             const char *outcome, const char *detail)
{
    if (!cr_grow(&l->items, &l->cap, l->n, sizeof *l->items, 16))
        return NULL;
    cr_rep_file *f = &l->items[l->n++];
    memset(f, 0, sizeof *f);
    f->name = cr_pool_strdup(&l->pool, name);
    f->kind = kind;
    f->feed = cr_pool_strdup(&l->pool, feed);
    f->outcome = outcome;
    f->detail = cr_pool_strdup(&l->pool, detail);
    return f;
}

/* The sink that stores one file's rows. */
typedef struct sinkctx {
    cr_store *st;
    int64_t run_id, file_id;
    const char *name;
    long printed;
    cr_verbosity v;
} sinkctx;

static cr_err sink_receipt(void *ud, const cr_receipt_row *r)
{
    sinkctx *c = ud;
    return cr_store_event_add(c->st, c->file_id, r);
}

static cr_err sink_settlement(void *ud, const cr_settle_row *r)
{
    sinkctx *c = ud;
    return cr_store_settlement_add(c->st, c->file_id, r);
}

static cr_err sink_reject(void *ud, const cr_reject_row *r)
{
    sinkctx *c = ud;
    if (c->v >= CR_NORMAL && (c->printed++ < PRINT_REJECTS || c->v >= CR_VERBOSE))
        fprintf(stderr, "carerecon: rejected row: %s:%ld: %s%s%s: %s\n", c->name, r->line,
                cr_reason_name(r->reason), r->field ? " " : "", r->field ? r->field : "",
                r->detail);
    return cr_store_reject_add(c->st, c->run_id, c->file_id, c->name, r);
}

/* Reports NAME skipped: its content was ingested before as SEEN_NAME;
 * UNREAD when its look on disk said so without reading it. */
static void skipped(cr_verbosity v, const char *name, const char *kind, const cr_feed *feed,
                    const char *seen_name, bool unread, cr_run_stats *stats, cr_file_list *files)
{
    char d[600];
    if (strcmp(seen_name, name) != 0)
        snprintf(d, sizeof d, "same content as %s, ingested before", seen_name);
    else
        snprintf(d, sizeof d, "ingested before; not read again");
    if (strcmp(seen_name, name) != 0)
        cr_info(v, "%s: skipped: %s", name, d);
    else
        cr_debug(v, "%s: skipped: %s", name,
                 unread ? "unchanged on disk since it was ingested; not read again"
                        : "same content, ingested before");
    stats->files_skipped++;
    file_add(files, name, kind, feed->name, "skipped", d);
}

/* Whether a file last changed a second or more before NOW: only then
 * is its look on disk remembered (a file still being written, or written
 * twice within the clock's granularity, is read again next time). */
static bool settled(const cr_file_stat *id, cr_time_t now)
{
    int64_t changed = id->mtime_ns > id->ctime_ns ? id->mtime_ns : id->ctime_ns;
    return changed / 1000000000 + 1 < now;
}

/* --- reading ahead --------------------------------------------------------
 * The files to read are read, hashed and parsed on a second thread, in
 * order, while the main thread inserts the rows of the file before: the
 * parser's rows are handed over in batches through a ring of AHEAD_RING
 * slots (so memory stays bounded whatever a file's size).  Each file
 * yields one batch marked `start` (its SHA-256, or unreadable), batches of
 * rows, and one marked `end` (how the parse went).  The main thread alone
 * speaks to the database. */
#define AHEAD_ROWS 2048
#define AHEAD_RING 8

typedef enum { AB_RECEIPT, AB_SETTLE, AB_REJECT } ab_tag;

typedef struct ab_row {
    ab_tag tag;
    union {
        cr_receipt_row r;
        cr_settle_row s;
        cr_reject_row j;
    } u;
} ab_row;

typedef struct ab_batch {
    bool start, end;
    bool vanished;             /* start: the file is gone (moved away since it was listed) */
    bool unreadable;           /* start: the file could not be read */
    bool changed;              /* start: it is not as it was taken as written (read_taken) */
    char sha[65];              /* start */
    cr_err rc;                 /* end: cr_feed_parse's result */
    char why[512];             /* end: why the whole file was rejected */
    cr_feed_stats fs;          /* end */
    size_t n;
    ab_row row[AHEAD_ROWS];
    cr_pool pool;              /* the rows' text */
} ab_batch;

typedef struct ahead_file {
    char *path;
    const cr_feed *feed;
    cr_file_stat look;         /* its look when it was taken as written (wait_written) */
} ahead_file;

typedef struct ahead {
    const cr_config *cfg;
    const ahead_file *files;
    size_t nfiles;
    ab_batch slot[AHEAD_RING];
    size_t w, r;               /* batches handed over, batches taken */
    bool cancel, threaded;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
} ahead;

/* Hands the filling batch over and starts the next (worker side).  False
 * when the main thread gave up. */
static bool ab_post(ahead *a)
{
    pthread_mutex_lock(&a->mu);
    a->w++;
    pthread_cond_broadcast(&a->cv);
    while (a->w - a->r == AHEAD_RING && !a->cancel)
        pthread_cond_wait(&a->cv, &a->mu);
    bool go = !a->cancel;
    pthread_mutex_unlock(&a->mu);
    ab_batch *b = &a->slot[a->w % AHEAD_RING];
    cr_pool_release(&b->pool);
    memset(b, 0, offsetof(ab_batch, row));
    b->n = 0;
    return go;
}

static ab_row *ab_add(ahead *a, ab_tag tag)
{
    ab_batch *b = &a->slot[a->w % AHEAD_RING];
    if (b->n == AHEAD_ROWS && !ab_post(a))
        return NULL;
    b = &a->slot[a->w % AHEAD_RING];
    ab_row *row = &b->row[b->n++];
    row->tag = tag;
    return row;
}

/* Copies S into the filling batch's pool; *OOM on failure. */
static const char *ab_dup(ahead *a, const char *s, size_t n, bool *oom)
{
    if (!s)
        return NULL;
    const char *d = cr_pool_strndup(&a->slot[a->w % AHEAD_RING].pool, s, n);
    if (!d)
        *oom = true;
    return d;
}
#define AB_STR(a, s, oom) ab_dup((a), (s), (s) ? strlen(s) : 0, (oom))

static cr_err ab_receipt(void *ud, const cr_receipt_row *r)
{
    ahead *a = ud;
    bool oom = false;
    ab_row *row = ab_add(a, AB_RECEIPT);
    if (!row)
        return CR_EINTERNAL;   /* cancelled */
    row->u.r = *r;
    row->u.r.tracking = AB_STR(a, r->tracking, &oom);
    row->u.r.claim_ref = AB_STR(a, r->claim_ref, &oom);
    row->u.r.serial = AB_STR(a, r->serial, &oom);
    return oom ? CR_ENOMEM : CR_OK;
}

static cr_err ab_settlement(void *ud, const cr_settle_row *r)
{
    ahead *a = ud;
    bool oom = false;
    ab_row *row = ab_add(a, AB_SETTLE);
    if (!row)
        return CR_EINTERNAL;
    row->u.s = *r;
    row->u.s.psp_ref = AB_STR(a, r->psp_ref, &oom);
    row->u.s.merchant_ref = AB_STR(a, r->merchant_ref, &oom);
    row->u.s.raw_type = AB_STR(a, r->raw_type, &oom);
    row->u.s.card_brand = AB_STR(a, r->card_brand, &oom);
    return oom ? CR_ENOMEM : CR_OK;
}

static cr_err ab_reject(void *ud, const cr_reject_row *r)
{
    ahead *a = ud;
    bool oom = false;
    ab_row *row = ab_add(a, AB_REJECT);
    if (!row)
        return CR_EINTERNAL;
    row->u.j = *r;
    row->u.j.field = AB_STR(a, r->field, &oom);
    row->u.j.detail = AB_STR(a, r->detail, &oom);
    row->u.j.raw = ab_dup(a, r->raw, r->raw_len, &oom);
    row->u.j.claim_ref = AB_STR(a, r->claim_ref, &oom);
    row->u.j.serial = AB_STR(a, r->serial, &oom);
    return oom ? CR_ENOMEM : CR_OK;
}

/* Whether PATH is no longer a regular file (moved away since it was listed). */
static bool vanished(const char *path)
{
    struct stat sb;
    return stat(path, &sb) != 0 ? errno == ENOENT : !S_ISREG(sb.st_mode);
}

/* How long to wait between looking at an inbox's files and reading them:
 * 0, or what CARERECON_TEST_READ_DELAY_MS says (the tests' way to change a
 * file between its look and its read). */
static long read_delay_ms(void)
{
    const char *v = getenv("CARERECON_TEST_READ_DELAY_MS");
    char *end;
    long k = v ? strtol(v, &end, 10) : 0;
    return v && *end == '\0' && k > 0 && k <= 10000 ? k : 0;
}

static bool same_look(const cr_file_stat *a, const cr_file_stat *b)
{
    return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
           a->mtime_ns == b->mtime_ns && a->ctime_ns == b->ctime_ns;
}

/* Reads file F as it was taken as written (wait_written), or sets
 * *CHANGED and reads nothing when its look is not that any more: a writer
 * went on, or a copy was written over it or put in its place, so what
 * was judged written is not what would be read, and a row cut off may
 * read as a row (a serial cut short: a capture).  It is read the next
 * night. */
static cr_err read_taken(const ahead_file *f, const char **data, size_t *len, bool *changed)
{
    cr_file_stat after;
    *changed = false;
    cr_err rc = cr_file_read_look(f->path, data, len, &after);
    if (rc == CR_OK && !same_look(&after, &f->look)) {
        cr_file_unmap(*data, *len);
        *data = NULL;
        *len = 0;
        *changed = true;
    }
    return rc;
}

/* Reads, hashes and parses one file into batches (worker side). */
static bool ahead_one(ahead *a, const ahead_file *f)
{
    const char *data = NULL;
    size_t len = 0;
    ab_batch *b = &a->slot[a->w % AHEAD_RING];
    b->start = true;
    if ((b->vanished = vanished(f->path)) ||
        read_taken(f, &data, &len, &b->changed) != CR_OK || b->changed) {
        b->unreadable = !b->vanished && !b->changed;   /* the message is printed */
        b->end = true;
        return ab_post(a);
    }
    cr_sha256_hex(data, len, b->sha);
    if (!ab_post(a)) {
        cr_file_unmap(data, len);
        return false;
    }
    cr_feed_sink sink = {a, ab_receipt, ab_settlement, ab_reject};
    cr_feed_stats fs = {0};
    char why[512] = "";
    cr_err rc = cr_feed_parse(a->cfg, f->feed, data, len, &sink, &fs, why, sizeof why);
    cr_file_unmap(data, len);
    b = &a->slot[a->w % AHEAD_RING];
    b->end = true;
    b->rc = rc;
    b->fs = fs;
    snprintf(b->why, sizeof b->why, "%s", why);
    return ab_post(a);
}

static void *ahead_main(void *p)
{
    ahead *a = p;
    for (size_t i = 0; i < a->nfiles && ahead_one(a, &a->files[i]); i++)
        ;
    return NULL;
}

/* Starts reading FILES[0..N) ahead (without a thread: nothing now, each
 * file is read when it is asked for). */
static void ahead_start(ahead *a, const cr_config *cfg, const ahead_file *files, size_t n)
{
    long delay = read_delay_ms();
    if (delay) {
        struct timespec nap = {delay / 1000, delay % 1000 * 1000000};
        nanosleep(&nap, NULL);
    }
    memset(a, 0, sizeof *a);
    a->cfg = cfg;
    a->files = files;
    a->nfiles = n;
    pthread_mutex_init(&a->mu, NULL);
    pthread_cond_init(&a->cv, NULL);
    a->threaded = n > 0 && cr_thread_start(&a->thread, ahead_main, a);
}

/* The next batch (main side, threaded). */
static const ab_batch *ahead_take(ahead *a)
{
    pthread_mutex_lock(&a->mu);
    while (a->r == a->w)
        pthread_cond_wait(&a->cv, &a->mu);
    const ab_batch *b = &a->slot[a->r % AHEAD_RING];
    pthread_mutex_unlock(&a->mu);
    return b;
}

/* Gives the batch taken last back to the worker. */
static void ahead_done(ahead *a)
{
    pthread_mutex_lock(&a->mu);
    a->r++;
    pthread_cond_broadcast(&a->cv);
    pthread_mutex_unlock(&a->mu);
}

static void ahead_stop(ahead *a)
{
    if (a->threaded) {
        pthread_mutex_lock(&a->mu);
        a->cancel = true;
        pthread_cond_broadcast(&a->cv);
        pthread_mutex_unlock(&a->mu);
        pthread_join(a->thread, NULL);
        a->threaded = false;
    }
    for (size_t i = 0; i < AHEAD_RING; i++)
        cr_pool_release(&a->slot[i].pool);
    pthread_cond_destroy(&a->cv);
    pthread_mutex_destroy(&a->mu);
}

/* One file to read, as the main thread sees it: from the worker's batches,
 * or (no thread) read and parsed here. */
typedef struct source {
    ahead *a;
    const ahead_file *f;
    const char *data;          /* no thread: the content */
    size_t len;
    bool ended;                /* threaded: its end batch was taken */
} source;

/* Opens the file: its SHA-256, or *GONE (it was moved away), or
 * *UNREADABLE (the message is printed), or *CHANGED (read_taken). */
static void src_open(source *s, char sha[65], bool *gone, bool *unreadable, bool *changed)
{
    *unreadable = *changed = false;
    if (!s->a->threaded) {
        if ((*gone = vanished(s->f->path)))
            return;
        if (read_taken(s->f, &s->data, &s->len, changed) != CR_OK)
            *unreadable = true;
        else if (!*changed)
            cr_sha256_hex(s->data, s->len, sha);
        return;
    }
    const ab_batch *b = ahead_take(s->a);
    *gone = b->vanished;
    *unreadable = b->unreadable;
    *changed = b->changed;
    s->ended = b->end;
    snprintf(sha, 65, "%s", b->sha);
    ahead_done(s->a);
}

/* Feeds the file's rows to SINK, as cr_feed_parse does. */
static cr_err src_parse(source *s, const cr_feed_sink *sink, cr_feed_stats *fs, char *why,
                        size_t whylen)
{
    if (!s->a->threaded)
        return cr_feed_parse(s->a->cfg, s->f->feed, s->data, s->len, sink, fs, why, whylen);
    cr_err rc = CR_OK;
    while (!s->ended) {
        const ab_batch *b = ahead_take(s->a);
        for (size_t i = 0; rc == CR_OK && i < b->n; i++) {
            const ab_row *r = &b->row[i];
            rc = r->tag == AB_RECEIPT  ? sink->receipt(sink->ud, &r->u.r)
                 : r->tag == AB_SETTLE ? sink->settlement(sink->ud, &r->u.s)
                                       : sink->reject(sink->ud, &r->u.j);
        }
        s->ended = b->end;
        if (b->end && rc == CR_OK) {
            rc = b->rc;
            *fs = b->fs;
            snprintf(why, whylen, "%s", b->why);
        }
        ahead_done(s->a);
        if (rc != CR_OK)
            break;
    }
    return rc;
}

/* Lets go of the file: what is left of it is skipped. */
static void src_close(source *s)
{
    if (!s->a->threaded) {
        cr_file_unmap(s->data, s->len);
        s->data = NULL;
        return;
    }
    while (!s->ended) {
        s->ended = ahead_take(s->a)->end;
        ahead_done(s->a);
    }
}

/* A file of FEED's the night could not read: one must not stop it, so it
 * is left for the next run, like a file rejected whole (exit 65), and
 * listed with WHY (the caller prints the message). */
static void left_unread(cr_run_stats *stats, cr_file_list *files, const char *name,
                        const char *kind, const cr_feed *feed, const char *why,
                        bool *rejected_whole)
{
    stats->files_unread++;
    *rejected_whole = true;
    file_add(files, name, kind, feed->name, "unreadable", why);
}

/* A file of FEED's left for the next run as being written (WHY): said
 * even with --quiet, since the night decides without its rows. */
static void left_being_written(cr_run_stats *stats, cr_file_list *files, const char *dir,
                               const char *name, const char *kind, const cr_feed *feed,
                               const char *why)
{
    char detail[256];
    snprintf(detail, sizeof detail, "%s; left for the next run", why);
    cr_warn("%s/%s: %s", dir, name, detail);
    stats->files_skipped++;
    file_add(files, name, kind, feed->name, "being written", detail);
}

/* Reads one file (NAME, matched to FEED, ID its look on disk) from SRC
 * and stores its rows: one savepoint, the SHA-256 recorded. */
static cr_err ingest_read(cr_store *st, int64_t run_id, cr_time_t now,
                          cr_verbosity v, const char *dir, const char *name, const cr_feed *feed,
                          const cr_file_stat *id, source *src, cr_run_stats *stats,
                          cr_file_list *files, bool *rejected_whole)
{
    char sha[65] = "", seen_name[512], why[512] = "";
    bool found = false, gone = false, unreadable = false, changed = false;
    cr_feed_stats fs = {0};
    cr_err rc;
    const char *kind = feed->kind == CR_FEED_RECEIPTS ? "receipts" : "settlements";

    src_open(src, sha, &gone, &unreadable, &changed);
    if (changed) {
        left_being_written(stats, files, dir, name, kind, feed,
                           "changed while this run read the inbox (still being uploaded, or"
                           " copied over)");
        rc = CR_OK;
        goto cleanup;
    }
    if (gone) {
        /* moved away since the folder was listed: as if it had not been there */
        cr_info(v, "%s/%s: no longer there; left alone", dir, name);
        file_add(files, name, kind, feed->name, "not a file", "no longer there; left alone");
        rc = CR_OK;
        goto cleanup;
    }
    if (unreadable) {
        /* the message is printed */
        left_unread(stats, files, name, kind, feed, "cannot be read; left for the next run",
                    rejected_whole);
        rc = CR_OK;
        goto cleanup;
    }
    if ((rc = cr_store_file_find(st, sha, &found, seen_name, sizeof seen_name)) != CR_OK)
        goto cleanup;
    if (found) {
        skipped(v, name, kind, feed, seen_name, false, stats, files);
        if (settled(id, now))
            rc = cr_store_inbox_seen_put(st, src->f->path, id, sha);
        goto cleanup;
    }
    sinkctx sc = {.st = st, .run_id = run_id, .name = name, .v = v};
    cr_feed_sink sink = {&sc, sink_receipt, sink_settlement, sink_reject};
    if ((rc = cr_store_savepoint(st)) != CR_OK)
        goto cleanup;
    rc = cr_store_file_add(st, run_id, sha, name, feed->name, feed->kind, "ingested", NULL, NULL,
                           now, &sc.file_id);
    if (rc == CR_OK && settled(id, now))
        rc = cr_store_inbox_seen_put(st, src->f->path, id, sha);
    if (rc == CR_OK)
        rc = src_parse(src, &sink, &fs, why, sizeof why);
    if (rc == CR_EDATA) {
        /* rejected whole: nothing of it is kept but the record of the rejection */
        if ((rc = cr_store_savepoint_rollback(st)) != CR_OK || (rc = cr_store_savepoint(st)) != CR_OK)
            goto cleanup;
        int64_t fid = 0;
        cr_reject_row rj = {.line = fs.header_line, .reason = CR_R_MISSING_COLUMN,
                            .field = fs.header_field, .detail = why, .raw = NULL, .raw_len = 0};
        fs.rows = fs.accepted = fs.rejected = fs.ignored = 0;
        rc = cr_store_file_add(st, run_id, sha, name, feed->name, feed->kind, "rejected", &fs, why,
                               now, &fid);
        if (rc == CR_OK)
            rc = cr_store_reject_add(st, run_id, fid, name, &rj);
        if (rc != CR_OK) {
            cr_store_savepoint_rollback(st);
            goto cleanup;
        }
        if ((rc = cr_store_savepoint_release(st)) != CR_OK)
            goto cleanup;
        cr_fault_point("file rejected");
        fprintf(stderr, "carerecon: error: %s/%s: file rejected (MISSING_COLUMN): %s\n", dir, name,
                why);
        stats->files_rejected++;
        *rejected_whole = true;
        file_add(files, name, kind, feed->name, "rejected", why);
        goto cleanup;
    }
    if (rc != CR_OK) {
        cr_store_savepoint_rollback(st);
        goto cleanup;
    }
    if ((rc = cr_store_file_counts(st, sc.file_id, &fs)) != CR_OK ||
        (rc = cr_store_savepoint_release(st)) != CR_OK) {
        cr_store_savepoint_rollback(st);
        goto cleanup;
    }
    cr_fault_point("file ingested");
    if (fs.rejected && v >= CR_NORMAL && fs.rejected > PRINT_REJECTS)
        fprintf(stderr, "carerecon: %s: %ld more rejected rows (see the workbook)\n", name,
                fs.rejected - PRINT_REJECTS);
    cr_debug(v, "%s: %s feed %s: %ld rows, %ld accepted, %ld rejected, %ld ignored", name, kind,
             feed->name, fs.rows, fs.accepted, fs.rejected, fs.ignored);
    stats->files_ingested++;
    stats->rows_accepted += fs.accepted;
    stats->rows_rejected += fs.rejected;
    stats->rows_ignored += fs.ignored;
    /* a report sent again under its name, changed: read as a new file
     * (rows repeated from the earlier one count once), and said so */
    int64_t prev_run = 0;
    char again[160] = "";
    if (cr_store_file_resent(st, name, sc.file_id, &prev_run) == CR_OK && prev_run) {
        snprintf(again, sizeof again,
                 "sent again with other content (a file of this name was ingested by run %lld)",
                 (long long)prev_run);
        cr_info(v, "%s: %s", name, again);
    }
    cr_rep_file *rf = file_add(files, name, kind, feed->name, "ingested", again[0] ? again : NULL);
    if (rf) {
        rf->rows = fs.rows;
        rf->accepted = fs.accepted;
        rf->rejected = fs.rejected;
        rf->ignored = fs.ignored;
    }
cleanup:
    src_close(src);
    return rc;
}

/* What ingest_dir found a folder entry to be. */
typedef enum { E_NOT_FILE, E_NO_FEED, E_SEEN, E_READ, E_BUSY } entry_kind;
typedef struct dir_entry {
    char *name;
    entry_kind kind;
    const cr_feed *feed;
    cr_file_stat id;
    char seen_name[512];       /* E_SEEN: the file its content was ingested as */
    char why[160];             /* E_NOT_FILE: what it is instead ("" when gone) */
    bool folder;               /* E_NOT_FILE: a folder */
} dir_entry;

/* What the entry at PATH is, when it is not a regular file this run can
 * read (stat gave ERR, or *SB when OK), for a person: "" when it is gone
 * (moved away since the folder was listed). */
static void not_file_why(const char *path, bool ok, int err, const struct stat *sb, char *out,
                         size_t n)
{
    struct stat lb;
    if (ok && S_ISDIR(sb->st_mode))
        snprintf(out, n, "a folder (files in folders below the inbox are not read)");
    else if (ok)
        snprintf(out, n, "%s", S_ISFIFO(sb->st_mode) ? "a pipe, not a file" : "not a regular file");
    else if (err == ENOENT && lstat(path, &lb) == 0 && S_ISLNK(lb.st_mode))
        snprintf(out, n, "a symbolic link to nothing (its target is not there)");
    else if (err == ENOENT)
        out[0] = '\0';
    else
        snprintf(out, n, "cannot be read (%s)", strerror(err));
}

/* Files are read in name order, by the name without its extension first:
 * a re-export saved beside the original ("depot_x (1).csv", "depot_x-fix.csv",
 * "depot_x_v2.csv") is read after it, so its corrections count (a copy read
 * later is the correction); by the whole name, ' ' and '-' sort before the
 * '.' of "depot_x.csv", and the original would win. */
static int entry_cmp(const void *a, const void *b)
{
    const char *x = ((const dir_entry *)a)->name, *y = ((const dir_entry *)b)->name;
    const char *dx = strrchr(x, '.'), *dy = strrchr(y, '.');
    size_t nx = dx && dx != x ? (size_t)(dx - x) : strlen(x);
    size_t ny = dy && dy != y ? (size_t)(dy - y) : strlen(y);
    int c = memcmp(x, y, nx < ny ? nx : ny);
    if (c)
        return c;
    if (nx != ny)
        return nx < ny ? -1 : 1;
    return strcmp(x, y);
}

/* An inbox folder that is not there (66), checked for both before either is read. */
static cr_err inbox_check(const char *dir, const char *kname)
{
    struct stat sb;
    if (stat(dir, &sb) != 0)
        return cr_error(CR_ENOINPUT, "inbox.%s %s: %s", kname, dir, strerror(errno));
    if (!S_ISDIR(sb.st_mode))
        return cr_error(CR_ENOINPUT, "inbox.%s %s: not a folder", kname, dir);
    DIR *d = opendir(dir);   /* there, but this user may not list it */
    if (!d)
        return cr_error(CR_ENOINPUT, "inbox.%s %s: cannot list it: %s", kname, dir, strerror(errno));
    closedir(d);
    return CR_OK;
}

/* Both kinds of file arrive in one folder (inbox.receipts and
 * inbox.settlements name the same one). */
static bool inbox_shared(const cr_config *cfg)
{
    struct stat a, b;
    return stat(cfg->inbox_receipts, &a) == 0 && stat(cfg->inbox_settlements, &b) == 0 &&
           a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* The first feed of the other kind than KIND whose files NAME matches, or
 * NULL. */
static const cr_feed *other_kind_feed(const cr_config *cfg, cr_feed_kind kind, const char *name)
{
    for (size_t f = 0; f < cfg->n_feeds; f++)
        if (cfg->feeds[f].kind != kind && cr_feed_matches(&cfg->feeds[f], name))
            return &cfg->feeds[f];
    return NULL;
}

/* NAME, which no feed of KIND matches, in a folder both kinds share, is
 * for the other kind's pass: a file of the other kind (that pass reads and
 * reports it), or, in the settlements pass, a file of no feed at all (the
 * receipts pass has said so once). */
static bool other_pass_file(const cr_config *cfg, cr_feed_kind kind, const char *name, bool shared)
{
    if (!shared)
        return false;
    return other_kind_feed(cfg, kind, name) || kind == CR_FEED_SETTLEMENTS;
}

/* How long a file whose last line has no end yet may go on changing before
 * it is left for the next run, and how long it must stay unchanged to be
 * taken as written. */
#define BUSY_WAIT_MS 5000
#define BUSY_QUIET_NS 1000000000LL

/* Whether the file at PATH (whose look is *SB) ends in the middle of a
 * line: a row cut off, if something is still writing it. */
static bool ends_mid_line(const char *path, const struct stat *sb)
{
    char last = '\n';
    int fd = sb->st_size > 0 ? open(path, O_RDONLY | O_CLOEXEC) : -1;
    if (fd >= 0) {
        if (pread(fd, &last, 1, sb->st_size - 1) != 1)
            last = '\n';
        close(fd);
    }
    return last != '\n' && last != '\r';
}

static int64_t changed_ns(const struct stat *sb)
{
    int64_t m = (int64_t)sb->st_mtim.tv_sec * 1000000000 + sb->st_mtim.tv_nsec;
    int64_t c = (int64_t)sb->st_ctim.tv_sec * 1000000000 + sb->st_ctim.tv_nsec;
    return m > c ? m : c;
}

/* A file being written as the night reads it would give a cut-off last
 * row, which may still read as a row (a serial cut short: SN_MISMATCH, a
 * capture).  A file that changed in the last second and ends in the
 * middle of a line is waited for until it has not changed for a second
 * (a file written at once, without a last line end, is read then); one
 * still changing after BUSY_WAIT_MS is left for the next run (false).
 * *SB is its look when it is taken. */
static bool wait_written(const char *path, struct stat *sb)
{
    int64_t seen = changed_ns(sb);
    off_t size = sb->st_size;
    for (int waited = 0, still = 0;; waited += 100) {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        int64_t now_ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
        /* quiet: a second since it changed by the clock, or, whatever the
         * clock says of its times (a server's clock ahead), unchanged
         * while it was watched for a second */
        if (now_ns - changed_ns(sb) >= BUSY_QUIET_NS || still >= BUSY_QUIET_NS / 1000000 ||
            !ends_mid_line(path, sb))
            return true;
        if (waited >= BUSY_WAIT_MS)
            return false;
        struct timespec nap = {0, 100 * 1000000};
        nanosleep(&nap, NULL);
        if (stat(path, sb) != 0 || !S_ISREG(sb->st_mode))
            return true;   /* gone or changed kind: found so as it is read */
        if (changed_ns(sb) == seen && sb->st_size == size)
            still += 100;
        else {
            still = 0;
            seen = changed_ns(sb);
            size = sb->st_size;
        }
    }
}

/* Ingests every regular file of DIR that a feed of KIND matches, in name
 * order.  First every entry is looked at (a file seen before and unchanged
 * on disk is known without reading it), then the files to read are read
 * ahead on a second thread while the main thread stores them. */
static cr_err ingest_dir(const cr_config *cfg, cr_store *st, int64_t run_id, cr_time_t now,
                         cr_verbosity v, const char *dir, cr_feed_kind kind, cr_run_stats *stats,
                         cr_file_list *files, bool *rejected_whole)
{
    cr_err rc = CR_OK;
    DIR *d = NULL;
    dir_entry *ents = NULL;
    ahead_file *reads = NULL;
    size_t n = 0, cap = 0, nreads = 0;
    struct stat sb;
    const char *kname = kind == CR_FEED_RECEIPTS ? "receipts" : "settlements";
    ahead *a = NULL;

    if ((rc = inbox_check(dir, kname)) != CR_OK)
        return rc;
    /* a file's look on disk is remembered under the folder's canonical
     * path: the same inbox named another way (a relative --config, another
     * working folder, a symbolic link) is not read all over again */
    char canon[4096];
    const char *at = realpath(dir, canon) ? canon : dir;
    bool shared = inbox_shared(cfg);
    struct stat other;
    bool other_ok = stat(kind == CR_FEED_RECEIPTS ? cfg->inbox_settlements : cfg->inbox_receipts,
                         &other) == 0;
    if (!(d = opendir(dir)))
        return cr_error(CR_ENOINPUT, "inbox.%s %s: %s", kname, dir, strerror(errno));
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue; /* hidden and partial files (".name.part") are not ingested */
        if (!cr_grow(&ents, &cap, n, sizeof *ents, 64)) {
            rc = cr_error(CR_ENOMEM, "out of memory");
            goto cleanup;
        }
        memset(&ents[n], 0, sizeof ents[n]);
        if (!(ents[n].name = cr_strdup(e->d_name))) {
            rc = cr_error(CR_ENOMEM, "out of memory");
            goto cleanup;
        }
        n++;
    }
    if (n)
        qsort(ents, n, sizeof *ents, entry_cmp);
    if (n && !(reads = calloc(n, sizeof *reads))) {
        rc = cr_error(CR_ENOMEM, "out of memory");
        goto cleanup;
    }
    /* what each entry is, and which files must be read */
    for (size_t i = 0; i < n && rc == CR_OK; i++) {
        dir_entry *x = &ents[i];
        char path[4096], sha[65];
        bool hit = false, found = false;
        snprintf(path, sizeof path, "%s/%s", at, x->name);
        for (size_t f = 0; f < cfg->n_feeds && !x->feed; f++)
            if (cfg->feeds[f].kind == kind && cr_feed_matches(&cfg->feeds[f], x->name))
                x->feed = &cfg->feeds[f];
        bool ok = stat(path, &sb) == 0;
        if (!ok || !S_ISREG(sb.st_mode)) {
            x->kind = E_NOT_FILE;
            not_file_why(path, ok, errno, &sb, x->why, sizeof x->why);
            x->folder = ok && S_ISDIR(sb.st_mode);
            if (x->folder && other_ok && sb.st_dev == other.st_dev && sb.st_ino == other.st_ino)
                x->why[0] = '\0';   /* the other kind's inbox, inside this one: read by its pass */
            continue;
        }
        if (!x->feed) {
            x->kind = other_pass_file(cfg, kind, x->name, shared) ? E_NOT_FILE : E_NO_FEED;
            continue;
        }
        if (!wait_written(path, &sb)) {
            x->kind = E_BUSY;
            continue;
        }
        x->id = look_of(&sb);
        if ((rc = cr_store_inbox_seen_get(st, path, &x->id, sha, &hit)) != CR_OK ||
            (hit && (rc = cr_store_file_find(st, sha, &found, x->seen_name,
                                             sizeof x->seen_name)) != CR_OK))
            break;
        x->kind = hit && found ? E_SEEN : E_READ;
        for (size_t f = (size_t)(x->feed - cfg->feeds) + 1; x->kind == E_READ && f < cfg->n_feeds; f++)
            if (cfg->feeds[f].kind == kind && cr_feed_matches(&cfg->feeds[f], x->name))
                /* one feed reads a file: what only the other maps (a
                 * second date column, say) is not read */
                cr_warn("%s: matches feed %s too, which does not read it: feed %s, listed"
                        " first, does (a file is read by one feed)",
                        path, cfg->feeds[f].name, x->feed->name);
        if (x->kind == E_READ) {
            if (!(reads[nreads].path = cr_strdup(path))) {
                rc = cr_error(CR_ENOMEM, "out of memory");
                break;
            }
            reads[nreads].look = x->id;
            reads[nreads++].feed = x->feed;
        }
    }
    if (rc != CR_OK)
        goto cleanup;
    if (!(a = malloc(sizeof *a))) {   /* ~1.5 MB: not on the stack */
        rc = cr_error(CR_ENOMEM, "out of memory");
        goto cleanup;
    }
    ahead_start(a, cfg, reads, nreads);
    size_t k = 0;
    for (size_t i = 0; i < n && rc == CR_OK; i++) {
        dir_entry *x = &ents[i];
        switch (x->kind) {
        case E_NOT_FILE:
            if (x->feed && x->why[0]) {
                /* named as a feed's file, but not one this run can read (a
                 * link into a share not mounted, no permission, a folder):
                 * its rows may be missing tonight, so the run says so and
                 * exits 65, as for a file that cannot be read */
                fprintf(stderr, "carerecon: error: %s/%s: %s; left for the next run\n", dir,
                        x->name, x->why);
                left_unread(stats, files, x->name, kname, x->feed, x->why, rejected_whole);
            } else if (!x->feed && x->folder && x->why[0] &&
                       !other_pass_file(cfg, kind, x->name, shared)) {
                cr_info(v, "%s/%s: %s; left alone", dir, x->name, x->why);
                file_add(files, x->name, kname, NULL, "left alone", x->why);
            }
            break;
        case E_BUSY:
            left_being_written(stats, files, dir, x->name, kname, x->feed,
                               "still being written (it keeps changing, and its last line has no"
                               " end yet)");
            break;
        case E_NO_FEED: {
            /* a file of the other kind's feed, dropped into this inbox: said
             * even with --quiet, since its rows are missing tonight */
            const cr_feed *of = other_kind_feed(cfg, kind, x->name);
            char hint[256] = "matches no feed; left alone";
            if (of) {
                bool r = kind == CR_FEED_RECEIPTS;
                const char *oname = r ? "settlements" : "receipts";
                snprintf(hint, sizeof hint,
                         "matches no %s feed but the %s feed %s: left alone. Is it in the wrong"
                         " inbox? (inbox.%s is %s)", kname, oname, of->name, oname,
                         r ? cfg->inbox_settlements : cfg->inbox_receipts);
                cr_warn("%s/%s: %s", dir, x->name, hint);
            } else
                cr_info(v, "%s/%s: matches no %s feed; left alone", dir, x->name, kname);
            stats->files_unmatched++;
            file_add(files, x->name, kname, NULL, "no feed", hint);
            break;
        }
        case E_SEEN:
            skipped(v, x->name, kname, x->feed, x->seen_name, true, stats, files);
            break;
        case E_READ: {
            if (v >= CR_NORMAL && isatty(STDERR_FILENO)) {
                /* progress only on a terminal; the line is cleared afterwards */
                fprintf(stderr, "\rcarerecon: %s %zu/%zu %-40.40s", kname, i + 1, n, x->name);
                fflush(stderr);
            }
            source src = {.a = a, .f = &reads[k++]};
            rc = ingest_read(st, run_id, now, v, dir, x->name, x->feed, &x->id, &src, stats, files,
                             rejected_whole);
            if (v >= CR_NORMAL && isatty(STDERR_FILENO))
                fprintf(stderr, "\r%-80s\r", "");
            break;
        }
        }
    }
cleanup:
    if (a) {
        ahead_stop(a);
        free(a);
    }
    for (size_t i = 0; i < n; i++)
        free(ents[i].name);
    free(ents);
    for (size_t i = 0; i < nreads; i++)
        free(reads[i].path);
    free(reads);
    closedir(d);
    return rc;
}

cr_err cr_ingest_inboxes(const cr_config *cfg)
{
    cr_err rc = inbox_check(cfg->inbox_receipts, "receipts");
    return rc == CR_OK ? inbox_check(cfg->inbox_settlements, "settlements") : rc;
}

cr_err cr_ingest(const cr_config *cfg, cr_store *st, int64_t run_id, cr_time_t now,
                 cr_verbosity v, cr_run_stats *stats, cr_file_list *files)
{
    bool rejected = false;
    /* both inboxes there before either is read: a night that stops for a
     * missing one has taken in nothing */
    cr_err rc = cr_ingest_inboxes(cfg);
    /* a file's commit need not wait for the disk (cr_store_sync_ingest) */
    if (rc == CR_OK)
        rc = cr_store_sync_ingest(st, true);
    if (rc == CR_OK)
        rc = ingest_dir(cfg, st, run_id, now, v, cfg->inbox_receipts, CR_FEED_RECEIPTS, stats,
                        files, &rejected);
    if (rc == CR_OK)
        rc = ingest_dir(cfg, st, run_id, now, v, cfg->inbox_settlements, CR_FEED_SETTLEMENTS, stats,
                        files, &rejected);
    cr_err src = cr_store_sync_ingest(st, false);
    if (rc == CR_OK)
        rc = src;
    if (rc == CR_OK && rejected)
        rc = CR_EDATA;
    return rc;
}
