/* cr.c - the error type, messages, fault injection and small string helpers. */
#include "cr.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

const char *cr_strerror(cr_err e)
{
    switch (e) {
    case CR_OK: return "no error";
    case CR_EUSAGE: return "bad usage";
    case CR_EDATA: return "an input file was rejected";
    case CR_ENOINPUT: return "input missing";
    case CR_ECANTCREAT: return "output cannot be created";
    case CR_EIO: return "input/output error";
    case CR_ELOCKED: return "another run holds the lock";
    case CR_ECONFIG: return "bad configuration";
    case CR_ENOMEM: return "out of memory";
    case CR_ENOTFOUND: return "not found";
    case CR_EINTERNAL: return "internal error";
    case CR_EPARSE: return "cannot parse";
    case CR_ERANGE: return "out of range";
    }
    return "unknown error";
}

int cr_exit_code(cr_err e)
{
    switch (e) {
    case CR_OK: return EX_OK;
    case CR_EUSAGE: return EX_USAGE;
    case CR_EDATA: return EX_DATAERR;
    case CR_ENOTFOUND: return EX_DATAERR;
    case CR_ENOINPUT: return EX_NOINPUT;
    case CR_ECANTCREAT: return EX_CANTCREAT;
    case CR_EIO: return EX_IOERR;
    case CR_ELOCKED: return EX_TEMPFAIL;
    case CR_ECONFIG: return EX_CONFIG;
    case CR_EPARSE: return EX_DATAERR;
    case CR_ERANGE: return EX_DATAERR;
    case CR_ENOMEM:
    case CR_EINTERNAL: return EX_SOFTWARE;
    }
    return EX_SOFTWARE;
}

cr_err cr_error(cr_err e, const char *fmt, ...)
{
    va_list ap;
    fputs("carerecon: error: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return e;
}

void cr_warn(const char *fmt, ...)
{
    va_list ap;
    fputs("carerecon: warning: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* Prints "carerecon: <message>" when V is at least AT. */
static void say(cr_verbosity v, cr_verbosity at, const char *fmt, va_list ap)
{
    if (v < at)
        return;
    fputs("carerecon: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void cr_info(cr_verbosity v, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    say(v, CR_NORMAL, fmt, ap);
    va_end(ap);
}

void cr_debug(cr_verbosity v, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    say(v, CR_VERBOSE, fmt, ap);
    va_end(ap);
}

void cr_fault_point(const char *where)
{
    /* atomic: the decision writer's thread reaches fault points too (the
     * main thread does not meanwhile; the first call is before any thread) */
    static atomic_long count;
    static long target = -1;
    static int trace = -1;
    if (trace < 0) {
        const char *t = getenv("CARERECON_CRASH_TRACE");
        trace = t && *t;
    }
    long n = atomic_fetch_add(&count, 1) + 1;
    if (trace)
        fprintf(stderr, "carerecon: fault point %ld: %s\n", n, where);
    if (target < 0) {
        const char *s = getenv("CARERECON_CRASH_AT");
        char *end = NULL;
        target = 0;
        if (s && *s) {
            errno = 0;
            long v = strtol(s, &end, 10);
            if (errno == 0 && end && *end == '\0' && v > 0)
                target = v;
        }
    }
    if (target > 0 && n == target)
        raise(SIGKILL);
}

bool cr_threads_allowed(void)
{
    const char *e = getenv("CARERECON_THREADS");
    return !(e && strcmp(e, "0") == 0);
}

bool cr_thread_start(pthread_t *t, void *(*fn)(void *), void *arg)
{
    return cr_threads_allowed() && pthread_create(t, NULL, fn, arg) == 0;
}

char *cr_strdup(const char *s)
{
    return s ? cr_strndup(s, strlen(s)) : NULL;
}

char *cr_strndup(const char *s, size_t n)
{
    if (!s)
        return NULL;
    char *p = malloc(n + 1);
    if (!p)
        return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

/* Blanks a field is trimmed of (and a serial loses anywhere): ASCII space,
 * tab, CR and LF, and in UTF-8 the spaces a spreadsheet, a web page or a
 * scanner leaves in text: no-break space (U+00A0), ogham space (U+1680),
 * the typographic spaces U+2000..U+200A, the zero-width space and joiners
 * U+200B..U+200D, narrow no-break space (U+202F), medium mathematical space
 * (U+205F), word joiner (U+2060), ideographic space (U+3000) and a byte
 * order mark inside text (U+FEFF).  Returns the blank's length at S, 0 when
 * S does not start with one. */
size_t cr_blank_len(const char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    switch (u[0]) {
    case ' ': case '\t': case '\r': case '\n':
        return 1;
    case 0xC2:
        return u[1] == 0xA0 ? 2 : 0;
    case 0xE1:
        return u[1] == 0x9A && u[2] == 0x80 ? 3 : 0;
    case 0xE2:
        if (u[1] == 0x80 && ((u[2] >= 0x80 && u[2] <= 0x8D) || u[2] == 0xAF))
            return 3;
        return u[1] == 0x81 && (u[2] == 0x9F || u[2] == 0xA0) ? 3 : 0;
    case 0xE3:
        return u[1] == 0x80 && u[2] == 0x80 ? 3 : 0;
    case 0xEF:
        return u[1] == 0xBB && u[2] == 0xBF ? 3 : 0;
    default:
        return 0;
    }
}

/* The length of the blank that ends at E (B its start bound), 0 when none.
 * A lead byte is never a continuation byte in UTF-8, so a blank's bytes
 * found before E are that blank. */
static size_t blank_before(const char *b, const char *e)
{
    for (size_t k = 1; k <= 3 && k <= (size_t)(e - b); k++) {
        size_t l = cr_blank_len(e - k);
        if (l == k)
            return k;
        if (l)
            return 0;
    }
    return 0;
}

void cr_trim_span(const char **s, size_t *n)
{
    const char *b = *s, *e = *s + *n;
    size_t k;
    while (b < e && (k = cr_blank_len(b)) > 0 && k <= (size_t)(e - b))
        b += k;
    while (e > b && (k = blank_before(b, e)) > 0)
        e -= k;
    *s = b;
    *n = (size_t)(e - b);
}

char *cr_trim_inplace(char *s)
{
    if (!s)
        return s;
    const char *b = s;
    size_t n = strlen(s);
    cr_trim_span(&b, &n);
    memmove(s, b, n);
    s[n] = '\0';
    return s;
}

const char *cr_card_brand_canon(const char *in, char *out, size_t n)
{
    static const struct {
        const char *squeezed, *canon;
    } alias[] = {{"americanexpress", "amex"}, {"amex", "amex"}, {"mastercard", "mastercard"},
                 {"mc", "mastercard"}};
    char sq[64];
    size_t k = 0;
    if (!n)
        return out;
    snprintf(out, n, "%s", in ? in : "");
    cr_trim_inplace(out);
    for (char *p = out; *p; p++) {
        *p = (char)((*p >= 'A' && *p <= 'Z') ? *p + 32 : *p);
        if (*p != ' ' && *p != '-' && *p != '_' && *p != '.' && k + 1 < sizeof sq)
            sq[k++] = *p;
    }
    sq[k] = '\0';
    for (size_t i = 0; i < sizeof alias / sizeof alias[0]; i++)
        if (strcmp(sq, alias[i].squeezed) == 0) {
            snprintf(out, n, "%s", alias[i].canon);
            break;
        }
    return out;
}

int cr_strcasecmp_trim(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    cr_trim_span(&a, &na);
    cr_trim_span(&b, &nb);
    size_t n = na < nb ? na : nb;
    for (size_t i = 0; i < n; i++) {
        int x = tolower((unsigned char)a[i]), y = tolower((unsigned char)b[i]);
        if (x != y)
            return x - y;
    }
    return (int)na - (int)nb;
}

struct cr_pool_block {
    struct cr_pool_block *next;
    size_t used, cap;
    char data[];
};

char *cr_pool_strndup(cr_pool *p, const char *s, size_t n)
{
    struct cr_pool_block *b = p->head;
    if (!b || b->cap - b->used < n + 1) {
        size_t cap = n + 1 > 65536 ? n + 1 : 65536;
        b = malloc(sizeof *b + cap);
        if (!b)
            return NULL;
        b->used = 0;
        b->cap = cap;
        b->next = p->head;
        p->head = b;
    }
    char *d = b->data + b->used;
    memcpy(d, s, n);
    d[n] = '\0';
    b->used += n + 1;
    return d;
}

char *cr_pool_strdup(cr_pool *p, const char *s)
{
    return s ? cr_pool_strndup(p, s, strlen(s)) : NULL;
}

static uint64_t pool_hash(const char *s, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
    return h;
}

/* Puts S into the set of P, which has room (open addressing, linear probe). */
static void pool_set_put(cr_pool *p, const char *s)
{
    size_t i = (size_t)pool_hash(s, strlen(s)) & p->set_mask;
    while (p->set[i])
        i = (i + 1) & p->set_mask;
    p->set[i] = s;
}

const char *cr_pool_intern(cr_pool *p, const char *s, size_t n)
{
    if (p->set) {
        for (size_t i = (size_t)pool_hash(s, n) & p->set_mask; p->set[i]; i = (i + 1) & p->set_mask)
            if (strlen(p->set[i]) == n && memcmp(p->set[i], s, n) == 0)
                return p->set[i];   /* (a text with a NUL inside is never found: copied) */
    }
    char *d = cr_pool_strndup(p, s, n);
    if (!d || p->set_n >= CR_POOL_SET_MAX)
        return d;
    if (!p->set || (p->set_n + 1) * 2 > p->set_mask + 1) {
        /* at most half full: grow (a failure only means no sharing) */
        size_t cap = p->set ? (p->set_mask + 1) * 2 : 64;
        const char **old = p->set, **set = calloc(cap, sizeof *set);
        if (!set)
            return d;
        size_t old_cap = old ? p->set_mask + 1 : 0;
        p->set = set;
        p->set_mask = cap - 1;
        for (size_t i = 0; i < old_cap; i++)
            if (old[i])
                pool_set_put(p, old[i]);
        free(old);
    }
    pool_set_put(p, d);
    p->set_n++;
    return d;
}

void cr_pool_release(cr_pool *p)
{
    free(p->set);
    p->set = NULL;
    p->set_mask = p->set_n = 0;
    struct cr_pool_block *b = p->head;
    while (b) {
        struct cr_pool_block *n = b->next;
        free(b);
        b = n;
    }
    p->head = NULL;
}

bool cr_grow(void *pitems, size_t *cap, size_t n, size_t size, size_t min)
{
    void *items, *grown;
    if (n < *cap)
        return true;
    size_t nc = *cap ? *cap * 2 : (min ? min : 16);
    if (nc > SIZE_MAX / size)
        return false;
    memcpy(&items, pitems, sizeof items);
    grown = realloc(items, nc * size);
    if (!grown)
        return false;
    memcpy(pitems, &grown, sizeof grown);
    *cap = nc;
    return true;
}

bool cr_remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    if (!d)
        return false;
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char p[4096];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        unlink(p);
    }
    closedir(d);
    return rmdir(dir) == 0;
}

const char *cr_parent_dir(const char *path, char *buf, size_t n)
{
    snprintf(buf, n, "%s", path);
    char *slash = strrchr(buf, '/');
    if (!slash)
        return ".";
    if (slash == buf)
        return "/";
    *slash = '\0';
    return buf;
}
