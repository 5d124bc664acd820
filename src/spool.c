/*
 * spool.c - see spool.h.
 *
 * A record: its length (uint32, what follows), the struct's bytes but its
 * text pointers (meaningless on disk: set again on reading), then
 * each text as its length (uint32, NO_TEXT for NULL), its bytes and a NUL,
 * so that a text read into the buffer is used in place.
 */
#include "spool.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NO_TEXT UINT32_MAX
#define SPOOL_BUFFER (1 << 20) /* stdio's buffer: a million records pass in few system calls */

static int fail(cr_spool *s, int e)
{
    if (!s->err)
        s->err = e ? e : EIO;
    return -1;
}

cr_err cr_spool_open(cr_spool *s, const char *beside, size_t buffer, int *err)
{
    size_t n = strlen(beside) + sizeof ".tmp-XXXXXX";
    char *path = malloc(n);
    *s = (cr_spool){0};
    *err = ENOMEM;
    if (!path)
        return CR_ECANTCREAT;
    snprintf(path, n, "%s.tmp-XXXXXX", beside);
    int fd = mkstemp(path);
    *err = fd < 0 ? errno : 0;
    if (fd >= 0) {
        unlink(path);
        if (!(s->f = fdopen(fd, "w+b"))) {
            *err = errno;
            close(fd);
        } else {
            setvbuf(s->f, NULL, _IOFBF, buffer ? buffer : SPOOL_BUFFER);
        }
    }
    free(path);
    return s->f ? CR_OK : CR_ECANTCREAT;
}

static const char **text_at(const cr_spool_shape *sh, void *item, size_t k)
{
    return (const char **)(void *)((char *)item + sh->texts[k]);
}

static const char *text_of(const cr_spool_shape *sh, const void *item, size_t k)
{
    return *(const char *const *)(const void *)((const char *)item + sh->texts[k]);
}

/* A record holds the struct's bytes but its text pointers (SH->texts, in
 * the order of their offsets): what lies between them, in order. */
static size_t fixed_bytes(const cr_spool_shape *sh)
{
    return sh->size - sh->ntexts * sizeof(const char *);
}

bool cr_spool_put(cr_spool *s, const cr_spool_shape *sh, const void *item)
{
    uint32_t len[32];
    size_t sum = 4 + fixed_bytes(sh);
    if (s->err || !s->f || sh->ntexts > 32)
        return fail(s, s->err ? s->err : EINVAL), false;
    for (size_t k = 0; k < sh->ntexts; k++) {
        const char *t = text_of(sh, item, k);
        size_t n = t ? strlen(t) : 0;
        len[k] = t ? (uint32_t)n : NO_TEXT;
        sum += 4 + (t ? n + 1 : 0);
        if (n >= UINT32_MAX / 16 || sum >= UINT32_MAX / 2)
            return fail(s, EOVERFLOW), false;
    }
    if (sum > s->wcap) {
        char *b = realloc(s->wbuf, sum);
        if (!b)
            return fail(s, ENOMEM), false;
        s->wbuf = b;
        s->wcap = sum;
    }
    /* the record is made in one piece and written with one call */
    char *at = s->wbuf;
    uint32_t total = (uint32_t)(sum - 4);
    memcpy(at, &total, 4);
    at += 4;
    size_t from = 0;
    for (size_t k = 0; k <= sh->ntexts; k++) {
        size_t to = k < sh->ntexts ? sh->texts[k] : sh->size;
        memcpy(at, (const char *)item + from, to - from);
        at += to - from;
        from = to + sizeof(const char *);
    }
    for (size_t k = 0; k < sh->ntexts; k++) {
        memcpy(at, &len[k], 4);
        at += 4;
        if (len[k] != NO_TEXT) {
            memcpy(at, text_of(sh, item, k), len[k] + 1);
            at += len[k] + 1;
        }
    }
    errno = 0;
    if (fwrite(s->wbuf, 1, sum, s->f) != sum)
        return fail(s, errno), false;
    s->n++;
    return true;
}

bool cr_spool_rewind(cr_spool *s)
{
    if (s->err || !s->f)
        return fail(s, s->err ? s->err : EINVAL), false;
    errno = 0;
    if (fflush(s->f) != 0 || fseek(s->f, 0, SEEK_SET) != 0)
        return fail(s, errno), false;
    return true;
}

bool cr_spool_append(cr_spool *s)
{
    if (s->err || !s->f)
        return fail(s, s->err ? s->err : EINVAL), false;
    errno = 0;
    if (fseek(s->f, 0, SEEK_END) != 0)
        return fail(s, errno), false;
    return true;
}

/* Reads the next record's length into *TOTAL: 1, 0 at the end, -1. */
static int next_length(cr_spool *s, uint32_t *total)
{
    if (s->err || !s->f)
        return fail(s, s->err ? s->err : EINVAL);
    errno = 0;
    if (fread(total, 4, 1, s->f) != 1)
        return ferror(s->f) ? fail(s, errno) : feof(s->f) ? 0 : fail(s, EILSEQ);
    return 1;
}

/* Reads the rest of a record of TOTAL bytes into S's buffer: 1 or -1. */
static int read_body(cr_spool *s, uint32_t total)
{
    if (total > s->cap) {
        char *b = realloc(s->buf, total);
        if (!b)
            return fail(s, ENOMEM);
        s->buf = b;
        s->cap = total;
    }
    errno = 0;
    if (fread(s->buf, 1, total, s->f) != total)
        return fail(s, ferror(s->f) ? errno : EILSEQ);
    return 1;
}

int cr_spool_skip(cr_spool *s)
{
    /* read, not sought past: a seek costs more than copying a record
     * out of stdio's buffer */
    uint32_t total;
    int r = next_length(s, &total);
    return r == 1 ? read_body(s, total) : r;
}

int cr_spool_get(cr_spool *s, const cr_spool_shape *sh, void *item, cr_pool *pool)
{
    uint32_t total;
    int r = next_length(s, &total);
    if (r != 1 || (r = read_body(s, total)) != 1)
        return r;
    if (total < fixed_bytes(sh))
        return fail(s, EILSEQ);
    size_t at = 0, from = 0;
    for (size_t k = 0; k <= sh->ntexts; k++) {
        size_t to = k < sh->ntexts ? sh->texts[k] : sh->size;
        memcpy((char *)item + from, s->buf + at, to - from);
        at += to - from;
        from = to + sizeof(const char *);
    }
    for (size_t k = 0; k < sh->ntexts; k++) {
        uint32_t n;
        if (at + 4 > total)
            return fail(s, EILSEQ);
        memcpy(&n, s->buf + at, 4);
        at += 4;
        const char **t = text_at(sh, item, k);
        if (n == NO_TEXT) {
            *t = NULL;
            continue;
        }
        if (n >= total - at || s->buf[at + n] != '\0')
            return fail(s, EILSEQ);
        const char *v = s->buf + at;
        if (pool) {
            v = sh->interned & (1u << k) ? cr_pool_intern(pool, v, n) : cr_pool_strndup(pool, v, n);
            if (!v)
                return fail(s, ENOMEM);
        }
        *t = v;
        at += (size_t)n + 1;
    }
    return 1;
}

int cr_spool_move(cr_spool *s, cr_spool *to)
{
    uint32_t total;
    int r = next_length(s, &total);
    if (r != 1 || (r = read_body(s, total)) != 1)
        return r;
    if (to->err || !to->f)
        return fail(to, to->err ? to->err : EINVAL);
    errno = 0;
    if (fwrite(&total, 4, 1, to->f) != 1 || fwrite(s->buf, 1, total, to->f) != total)
        return fail(to, errno);
    to->n++;
    return 1;
}

void cr_spool_close(cr_spool *s)
{
    if (s->f)
        fclose(s->f);
    free(s->buf);
    free(s->wbuf);
    *s = (cr_spool){0};
}
