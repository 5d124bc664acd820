/*
 * ingest.c - see ingest.h.  libcrypto (for SHA-256) is spoken to here only.
 */
#include "ingest.h"

#include "feed.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

cr_err cr_file_map(const char *path, const char **data, size_t *len)
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

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Reports NAME skipped: its content was ingested before as SEEN_NAME. */
static void skipped(cr_verbosity v, const char *name, const char *kind, const cr_feed *feed,
                    const char *seen_name, cr_run_stats *stats, cr_file_list *files)
{
    char d[600];
    snprintf(d, sizeof d, "same content as %s, ingested before", seen_name);
    cr_debug(v, "%s: skipped: %s", name, d);
    if (strcmp(seen_name, name) != 0)
        cr_info(v, "%s: skipped: %s", name, d);
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

/* Ingests one file: NAME in folder DIR, matched to FEED; ID is how it
 * looks on disk. */
static cr_err ingest_file(const cr_config *cfg, cr_store *st, int64_t run_id, cr_time_t now,
                          cr_verbosity v, const char *dir, const char *name, const cr_feed *feed,
                          const cr_file_stat *id, cr_run_stats *stats, cr_file_list *files,
                          bool *rejected_whole)
{
    char path[4096], sha[65], seen_name[512], why[512];
    const char *data = NULL;
    size_t len = 0;
    bool found = false;
    cr_feed_stats fs = {0};
    cr_err rc;
    const char *kind = feed->kind == CR_FEED_RECEIPTS ? "receipts" : "settlements";

    snprintf(path, sizeof path, "%s/%s", dir, name);
    /* a file seen before and unchanged on disk is known without reading it */
    bool hit = false;
    if ((rc = cr_store_inbox_seen_get(st, path, id, sha, &hit)) != CR_OK)
        return rc;
    if (hit && (rc = cr_store_file_find(st, sha, &found, seen_name, sizeof seen_name)) != CR_OK)
        return rc;
    if (hit && found) {
        cr_debug(v, "%s: unchanged on disk since it was read; not read again", name);
        skipped(v, name, kind, feed, seen_name, stats, files);
        return CR_OK;
    }
    if (cr_file_map(path, &data, &len) != CR_OK) {
        /* one unreadable file must not stop the night: it is left for the
         * next run, like a file rejected whole (the message is printed) */
        stats->files_rejected++;
        *rejected_whole = true;
        file_add(files, name, kind, feed->name, "unreadable", "cannot be read; left for the next run");
        return CR_OK;
    }
    cr_sha256_hex(data, len, sha);
    if ((rc = cr_store_file_find(st, sha, &found, seen_name, sizeof seen_name)) != CR_OK)
        goto cleanup;
    if (found) {
        skipped(v, name, kind, feed, seen_name, stats, files);
        if (settled(id, now))
            rc = cr_store_inbox_seen_put(st, path, id, sha);
        goto cleanup;
    }
    sinkctx sc = {.st = st, .run_id = run_id, .name = name, .v = v};
    cr_feed_sink sink = {&sc, sink_receipt, sink_settlement, sink_reject};
    if ((rc = cr_store_savepoint(st)) != CR_OK)
        goto cleanup;
    rc = cr_store_file_add(st, run_id, sha, name, feed->name, feed->kind, "ingested", NULL, NULL,
                           now, &sc.file_id);
    if (rc == CR_OK && settled(id, now))
        rc = cr_store_inbox_seen_put(st, path, id, sha);
    if (rc == CR_OK)
        rc = cr_feed_parse(cfg, feed, data, len, &sink, &fs, why, sizeof why);
    if (rc == CR_EDATA) {
        /* rejected whole: nothing of it is kept but the record of the rejection */
        if ((rc = cr_store_savepoint_rollback(st)) != CR_OK || (rc = cr_store_savepoint(st)) != CR_OK)
            goto cleanup;
        int64_t fid = 0;
        cr_reject_row rj = {.line = 0, .reason = CR_R_MISSING_COLUMN, .detail = why,
                            .raw = NULL, .raw_len = 0};
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
    cr_rep_file *rf = file_add(files, name, kind, feed->name, "ingested", NULL);
    if (rf) {
        rf->rows = fs.rows;
        rf->accepted = fs.accepted;
        rf->rejected = fs.rejected;
        rf->ignored = fs.ignored;
    }
cleanup:
    cr_file_unmap(data, len);
    return rc;
}

/* Ingests every regular file of DIR that a feed of KIND matches. */
static cr_err ingest_dir(const cr_config *cfg, cr_store *st, int64_t run_id, cr_time_t now,
                         cr_verbosity v, const char *dir, cr_feed_kind kind, cr_run_stats *stats,
                         cr_file_list *files, bool *rejected_whole)
{
    cr_err rc = CR_OK;
    DIR *d = NULL;
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct stat sb;
    const char *kname = kind == CR_FEED_RECEIPTS ? "receipts" : "settlements";

    if (stat(dir, &sb) != 0)
        return cr_error(CR_ENOINPUT, "inbox.%s %s: %s", kname, dir, strerror(errno));
    if (!S_ISDIR(sb.st_mode))
        return cr_error(CR_ENOINPUT, "inbox.%s %s: not a folder", kname, dir);
    if (!(d = opendir(dir)))
        return cr_error(CR_ENOINPUT, "inbox.%s %s: %s", kname, dir, strerror(errno));
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue; /* hidden and partial files (".name.part") are not ingested */
        if (!cr_grow(&names, &cap, n, sizeof *names, 64)) {
            rc = cr_error(CR_ENOMEM, "out of memory");
            goto cleanup;
        }
        if (!(names[n] = cr_strdup(e->d_name))) {
            rc = cr_error(CR_ENOMEM, "out of memory");
            goto cleanup;
        }
        n++;
    }
    if (n)
        qsort(names, n, sizeof *names, name_cmp);
    for (size_t i = 0; i < n && rc == CR_OK; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        const cr_feed *feed = NULL;
        for (size_t f = 0; f < cfg->n_feeds && !feed; f++)
            if (cfg->feeds[f].kind == kind && cr_feed_matches(&cfg->feeds[f], names[i]))
                feed = &cfg->feeds[f];
        if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) {
            if (feed) {
                cr_info(v, "%s/%s: not a regular file; left alone", dir, names[i]);
                file_add(files, names[i], kname, feed->name, "not a file",
                         "not a regular file; left alone");
            }
            continue;
        }
        if (!feed) {
            cr_info(v, "%s/%s: matches no %s feed; left alone", dir, names[i], kname);
            stats->files_unmatched++;
            file_add(files, names[i], kname, NULL, "no feed", "matches no feed; left alone");
            continue;
        }
        if (v >= CR_NORMAL && isatty(STDERR_FILENO)) {
            /* progress only on a terminal; the line is cleared afterwards */
            fprintf(stderr, "\rcarerecon: %s %zu/%zu %-40.40s", kname, i + 1, n, names[i]);
            fflush(stderr);
        }
        cr_file_stat id = {(int64_t)sb.st_dev, (int64_t)sb.st_ino, (int64_t)sb.st_size,
                           (int64_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec,
                           (int64_t)sb.st_ctim.tv_sec * 1000000000 + sb.st_ctim.tv_nsec};
        rc = ingest_file(cfg, st, run_id, now, v, dir, names[i], feed, &id, stats, files,
                         rejected_whole);
        if (v >= CR_NORMAL && isatty(STDERR_FILENO))
            fprintf(stderr, "\r%-80s\r", "");
    }
cleanup:
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    closedir(d);
    return rc;
}

cr_err cr_ingest(const cr_config *cfg, cr_store *st, int64_t run_id, cr_time_t now,
                 cr_verbosity v, cr_run_stats *stats, cr_file_list *files)
{
    bool rejected = false;
    cr_err rc = ingest_dir(cfg, st, run_id, now, v, cfg->inbox_receipts, CR_FEED_RECEIPTS, stats,
                           files, &rejected);
    if (rc == CR_OK)
        rc = ingest_dir(cfg, st, run_id, now, v, cfg->inbox_settlements, CR_FEED_SETTLEMENTS, stats,
                        files, &rejected);
    if (rc == CR_OK && rejected)
        rc = CR_EDATA;
    return rc;
}
