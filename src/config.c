/*
 * config.c - loads the YAML configuration with libyaml's document API and
 * checks it against the schema of SPEC section 3.
 *
 * libyaml is spoken to here only.  The loader is schema-driven: every key
 * is looked up in what its parent allows, so an unknown key, a wrong type
 * or an alias that expands into something unexpected is an error naming the
 * key, line and column, and traversal never follows an alias into a place
 * the schema does not have (no "billion laughs" blow-up).
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

#define CFG_MAX_BYTES (1024 * 1024)
#define CFG_MAX_NODES 20000

static const char *const field_names[CR_F_COUNT] = {
    "tracking_number", "claim_ref", "event", "event_at", "serial", "battery_returned", "genuine",
    "psp_reference", "merchant_reference", "type", "amount", "currency", "booked_at", "card_brand",
};

const char *cr_field_name(cr_field f)
{
    return (f >= 0 && f < CR_F_COUNT) ? field_names[f] : "?";
}

/* The parsing state: the document, where messages point, and whether any
 * error was reported (the loader reports the first and stops). */
typedef struct cfgp {
    yaml_document_t doc;
    const char *name;
    bool quiet;
    bool failed;
    cr_config *cfg;
} cfgp;

static void perr(cfgp *p, const yaml_node_t *n, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Reports one configuration error: "FILE:LINE:COL: KEY: WHY". */
static void perr(cfgp *p, const yaml_node_t *n, const char *key, const char *fmt, ...)
{
    if (p->failed)
        return;
    p->failed = true;
    if (p->quiet)
        return;
    va_list ap;
    fprintf(stderr, "carerecon: error: bad configuration: %s", p->name);
    if (n)
        fprintf(stderr, ":%lu:%lu", (unsigned long)n->start_mark.line + 1,
                (unsigned long)n->start_mark.column + 1);
    if (key && *key)
        fprintf(stderr, ": %s", key);
    fputs(": ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static yaml_node_t *node(cfgp *p, int i)
{
    return yaml_document_get_node(&p->doc, i);
}

static const char *scalar(const yaml_node_t *n)
{
    return (const char *)n->data.scalar.value;
}

static bool want(cfgp *p, const yaml_node_t *n, yaml_node_type_t t, const char *key)
{
    static const char *const what[] = {"nothing", "a value", "a list", "a mapping"};
    if (n->type == t && t == YAML_MAPPING_NODE) {
        /* libyaml keeps duplicate keys; a configuration must not have them */
        for (yaml_node_pair_t *a = n->data.mapping.pairs.start; a < n->data.mapping.pairs.top; a++)
            for (yaml_node_pair_t *b = n->data.mapping.pairs.start; b < a; b++) {
                yaml_node_t *ka = node(p, a->key), *kb = node(p, b->key);
                if (ka && kb && ka->type == YAML_SCALAR_NODE && kb->type == YAML_SCALAR_NODE &&
                    strcmp(scalar(ka), scalar(kb)) == 0) {
                    char sub[256];
                    snprintf(sub, sizeof sub, "%s%s%s", key && *key ? key : "",
                             key && *key ? "." : "", scalar(ka));
                    perr(p, ka, sub, "appears twice");
                    return false;
                }
            }
    }
    if (n->type == t)
        return true;
    perr(p, n, key, "must be %s", what[t]);
    return false;
}

/* Copies a scalar string value. */
static bool get_str(cfgp *p, const yaml_node_t *n, const char *key, char **out)
{
    if (!want(p, n, YAML_SCALAR_NODE, key))
        return false;
    free(*out);
    *out = cr_strdup(scalar(n));
    if (!*out) {
        perr(p, n, key, "out of memory");
        return false;
    }
    return true;
}

/* Reads a plain scalar as an integer in [LO, HI]. */
static bool get_int(cfgp *p, const yaml_node_t *n, const char *key, long lo, long hi, int *out)
{
    if (!want(p, n, YAML_SCALAR_NODE, key))
        return false;
    const char *s = scalar(n);
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE || !*s || errno || !end || *end) {
        perr(p, n, key, "must be a whole number, not '%s'", s);
        return false;
    }
    if (v < lo || v > hi) {
        perr(p, n, key, "must be between %ld and %ld, not %ld", lo, hi, v);
        return false;
    }
    *out = (int)v;
    return true;
}

/* Reads a list of scalars.  A bare scalar is refused, not taken as a list
 * of one: "card_brands: visa, mastercard" would be one brand named "visa,
 * mastercard", and no card allowed; so is an empty list. */
static bool get_strlist(cfgp *p, const yaml_node_t *n, const char *key, cr_strlist *out)
{
    for (size_t i = 0; i < out->n; i++)
        free(out->items[i]);
    free(out->items);
    out->items = NULL;
    out->n = 0;
    if (n->type == YAML_SCALAR_NODE) {
        /* SPEC 3: a wrong type is an error, also a list of one written
         * without its brackets ("visa, mastercard" would be one brand) */
        perr(p, n, key, "must be a list: write [%s]", scalar(n));
        return false;
    }
    if (!want(p, n, YAML_SEQUENCE_NODE, key))
        return false;
    size_t cnt = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
    if (cnt == 0) {
        /* not the default in silence, nor nothing allowed: card_brands: []
         * would make every claim CARD_BRAND_NOT_ALLOWED */
        perr(p, n, key, "is an empty list: list at least one value (a key with a default may be"
             " left out for it)");
        return false;
    }
    out->items = calloc(cnt, sizeof *out->items);
    if (!out->items) {
        perr(p, n, key, "out of memory");
        return false;
    }
    for (size_t i = 0; i < cnt; i++) {
        yaml_node_t *it = node(p, n->data.sequence.items.start[i]);
        if (!it || !want(p, it, YAML_SCALAR_NODE, key))
            return false;
        out->items[out->n] = cr_strdup(scalar(it));
        if (!out->items[out->n]) {
            perr(p, it, key, "out of memory");
            return false;
        }
        out->n++;
    }
    return true;
}

static void kvlist_free(cr_kvlist *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->items[i].key);
        free(l->items[i].value);
    }
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

static void strlist_free(cr_strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->items[i]);
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

/* Reads a mapping of scalar -> scalar.  When NUMERIC, values must be whole
 * numbers in [LO, HI] and go to .num.  ALLOWED (NULL-terminated) restricts
 * string values, compared case-insensitively. */
static bool get_kvlist(cfgp *p, const yaml_node_t *n, const char *key, bool numeric, long lo,
                       long hi, const char *const *allowed, cr_kvlist *out)
{
    kvlist_free(out);
    if (!want(p, n, YAML_MAPPING_NODE, key))
        return false;
    size_t cnt = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
    out->items = calloc(cnt ? cnt : 1, sizeof *out->items);
    if (!out->items) {
        perr(p, n, key, "out of memory");
        return false;
    }
    for (size_t i = 0; i < cnt; i++) {
        yaml_node_pair_t *pr = &n->data.mapping.pairs.start[i];
        yaml_node_t *k = node(p, pr->key), *v = node(p, pr->value);
        if (!k || !v || !want(p, k, YAML_SCALAR_NODE, key))
            return false;
        char sub[256];
        snprintf(sub, sizeof sub, "%s.%s", key, scalar(k));
        cr_kv *kv = &out->items[out->n];
        kv->key = cr_strdup(scalar(k));
        if (!kv->key) {
            perr(p, k, key, "out of memory");
            return false;
        }
        out->n++;
        if (numeric) {
            if (!get_int(p, v, sub, lo, hi, &kv->num))
                return false;
            kv->value = cr_strdup(scalar(v));
        } else {
            if (!get_str(p, v, sub, &kv->value))
                return false;
            if (allowed) {
                bool ok = false;
                for (const char *const *a = allowed; *a; a++)
                    if (cr_strcasecmp_trim(kv->value, *a) == 0)
                        ok = true;
                if (!ok) {
                    char list[256] = "";
                    size_t used = 0;
                    for (const char *const *a = allowed; *a && used < sizeof list; a++) {
                        int w = snprintf(list + used, sizeof list - used, "%s%s", *a,
                                         a[1] ? ", " : "");
                        used += w > 0 ? (size_t)w : 0;
                    }
                    perr(p, v, sub, "must be one of %s, not '%s'", list, kv->value);
                    return false;
                }
                for (char *c = kv->value; *c; c++)
                    *c = (char)tolower((unsigned char)*c);
                cr_trim_inplace(kv->value);
            }
        }
        for (size_t j = 0; j + 1 < out->n; j++)
            if (cr_strcasecmp_trim(out->items[j].key, kv->key) == 0) {
                perr(p, k, sub, "appears twice");
                return false;
            }
    }
    return true;
}

/* Removes "." and "dir/.." parts of PATH in place, lexically. */
static void normalize_path(char *path)
{
    char *parts[256];
    size_t n = 0;
    bool abs = path[0] == '/';
    char *save = NULL, *copy = cr_strdup(path);
    if (!copy)
        return;
    for (char *t = strtok_r(copy, "/", &save); t && n < 256; t = strtok_r(NULL, "/", &save)) {
        if (strcmp(t, ".") == 0)
            continue;
        if (strcmp(t, "..") == 0 && n > 0 && strcmp(parts[n - 1], "..") != 0) {
            n--;
            continue;
        }
        if (strcmp(t, "..") == 0 && abs)
            continue;
        parts[n++] = t;
    }
    size_t k = 0;
    if (abs)
        path[k++] = '/';
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(parts[i]);
        if (i)
            path[k++] = '/';
        memmove(path + k, parts[i], l);
        k += l;
    }
    if (k == 0)
        path[k++] = '.';
    path[k] = '\0';
    free(copy);
}

/* Resolves a path relative to the config's folder; takes ownership. */
static bool resolve_path(cfgp *p, const yaml_node_t *n, const char *key, char **path)
{
    if (!*path || !**path) {
        perr(p, n, key, "must not be empty");
        return false;
    }
    if ((*path)[0] == '/' || !p->cfg->dir || !*p->cfg->dir)
        return true;
    size_t len = strlen(p->cfg->dir) + strlen(*path) + 2;
    char *full = malloc(len);
    if (!full) {
        perr(p, n, key, "out of memory");
        return false;
    }
    snprintf(full, len, "%s/%s", p->cfg->dir, *path);
    normalize_path(full);
    free(*path);
    *path = full;
    return true;
}

static const char *const event_names[] = {"shipped", "delivered", "received", "ignore", NULL};
static const char *const type_names[] = {"capture", "release", "expired", "refund",
                                         "fee",     "chargeback", "ignore", NULL};

/* Reads the columns mapping of a feed. */
static bool parse_columns(cfgp *p, const yaml_node_t *n, const char *key, cr_feed *f)
{
    if (!want(p, n, YAML_MAPPING_NODE, key))
        return false;
    for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
        yaml_node_t *k = node(p, pr->key), *v = node(p, pr->value);
        if (!k || !v || !want(p, k, YAML_SCALAR_NODE, key))
            return false;
        char sub[256];
        snprintf(sub, sizeof sub, "%s.%s", key, scalar(k));
        int fi = -1;
        for (int i = 0; i < CR_F_COUNT; i++)
            if (strcmp(scalar(k), field_names[i]) == 0)
                fi = i;
        bool receipt_field = fi >= CR_F_TRACKING && fi <= CR_F_GENUINE;
        if (fi < 0 || receipt_field != (f->kind == CR_FEED_RECEIPTS)) {
            perr(p, k, sub, "unknown column field for a %s feed",
                 f->kind == CR_FEED_RECEIPTS ? "receipts" : "settlements");
            return false;
        }
        if (f->ncolumns[fi]) {
            perr(p, k, sub, "appears twice");
            return false;
        }
        bool multi = fi == CR_F_EVENT_AT || fi == CR_F_BOOKED_AT || fi == CR_F_AMOUNT;
        if (v->type == YAML_SEQUENCE_NODE && multi) {
            cr_strlist l = {0};
            bool ok = get_strlist(p, v, sub, &l);
            if (ok && (l.n == 0 || l.n > CR_MAX_COLS_PER_FIELD)) {
                perr(p, v, sub, "must list 1 to %d column names", CR_MAX_COLS_PER_FIELD);
                ok = false;
            }
            for (size_t i = 0; ok && i < l.n; i++) {
                f->columns[fi][i] = l.items[i];
                l.items[i] = NULL;
            }
            if (ok)
                f->ncolumns[fi] = (int)l.n;
            strlist_free(&l);
            if (!ok)
                return false;
        } else {
            if (v->type != YAML_SCALAR_NODE) {
                perr(p, v, sub, multi ? "must be a column name or a list of column names"
                                      : "must be a column name");
                return false;
            }
            if (!get_str(p, v, sub, &f->columns[fi][0]))
                return false;
            f->ncolumns[fi] = 1;
        }
        for (int i = 0; i < f->ncolumns[fi]; i++)
            if (!*cr_trim_inplace(f->columns[fi][i])) {
                perr(p, v, sub, "column name must not be empty");
                return false;
            }
    }
    return true;
}

static bool kv_has_value(const cr_kvlist *l, const char *v)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->items[i].value && strcmp(l->items[i].value, v) == 0)
            return true;
    return false;
}

/* Checks that a feed maps what its kind requires. */
static bool check_feed(cfgp *p, const yaml_node_t *n, const char *key, cr_feed *f)
{
    char sub[256];
    snprintf(sub, sizeof sub, "%s.columns", key);
    if (!f->name || !f->files) {
        perr(p, n, key, "a feed needs 'name', 'kind' and 'files'");
        return false;
    }
    if (f->kind == CR_FEED_RECEIPTS) {
        if (!f->ncolumns[CR_F_EVENT_AT]) {
            perr(p, n, sub, "a receipts feed must map event_at");
            return false;
        }
        if (!f->ncolumns[CR_F_TRACKING] && !f->ncolumns[CR_F_CLAIM_REF]) {
            perr(p, n, sub, "a receipts feed must map tracking_number or claim_ref");
            return false;
        }
        if (f->ncolumns[CR_F_EVENT] && !f->event_column) {
            f->event_column = f->columns[CR_F_EVENT][0];
            f->columns[CR_F_EVENT][0] = NULL;
            f->ncolumns[CR_F_EVENT] = 0;
        }
        if (!!f->event == !!f->event_column) {
            perr(p, n, key, "a receipts feed needs exactly one of 'event' and 'event_column'");
            return false;
        }
        if (f->event_column && !f->event_values.n) {
            perr(p, n, key, "'event_column' needs 'event_values'");
            return false;
        }
        bool received = f->event ? strcmp(f->event, "received") == 0
                                 : kv_has_value(&f->event_values, "received");
        if (received) {
            static const cr_field need[] = {CR_F_SERIAL, CR_F_BATTERY, CR_F_GENUINE};
            for (size_t i = 0; i < 3; i++)
                if (!f->ncolumns[need[i]]) {
                    perr(p, n, sub, "a feed of received events must map %s",
                         field_names[need[i]]);
                    return false;
                }
        }
    } else {
        if (!f->ncolumns[CR_F_BOOKED_AT]) {
            perr(p, n, sub, "a settlements feed must map booked_at");
            return false;
        }
        if (!f->ncolumns[CR_F_PSP_REF] && !f->ncolumns[CR_F_MERCHANT_REF]) {
            perr(p, n, sub, "a settlements feed must map psp_reference or merchant_reference");
            return false;
        }
        if (!f->ncolumns[CR_F_AMOUNT] || !f->ncolumns[CR_F_CURRENCY]) {
            perr(p, n, sub, "a settlements feed must map amount and currency");
            return false;
        }
        if (f->ncolumns[CR_F_TYPE] && !f->type_column) {
            f->type_column = f->columns[CR_F_TYPE][0];
            f->columns[CR_F_TYPE][0] = NULL;
            f->ncolumns[CR_F_TYPE] = 0;
        }
        if (!f->type_column || !f->type_values.n) {
            perr(p, n, key, "a settlements feed needs 'type_column' and 'type_values'");
            return false;
        }
    }
    return true;
}

/* The first directive of a datetime_format that carerecon does not read,
 * or NULL.  %Z is read only at the end, after a space. */
static const char *bad_directive(const char *fmt)
{
    static const char known[] = "YymdeHIpMSfbhBzTFaAsRD%";
    size_t len = strlen(fmt);
    for (const char *c = fmt; *c; c++) {
        if (*c != '%')
            continue;
        if (c[1] == 'Z' && c == fmt + len - 2 && c > fmt && c[-1] == ' ') {
            c++;
            continue;
        }
        if (!c[1] || !strchr(known, c[1]))
            return c;
        c++;
    }
    return NULL;
}

/* The part of a date FMT never reads ("year", ...), or NULL: such a
 * format passes no value at all, every row would be BAD_DATETIME. */
static const char *missing_date_part(const char *fmt)
{
    static const struct {
        const char *part, *by;
    } parts[] = {{"year", "YyFDs"}, {"month", "mbhBFDs"}, {"day", "deFDs"}};
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        bool found = false;
        for (const char *c = fmt; *c && !found; c++)
            if (*c == '%' && c[1]) {
                found = strchr(parts[i].by, c[1]) != NULL;
                c++;
            }
        if (!found)
            return parts[i].part;
    }
    return NULL;
}

/* Why a date FMT reads no hour of a 12-hour clock right, or NULL: %I
 * needs %p (strptime would take every time as AM), and %p needs %I
 * (beside %H it is never applied): every value would be BAD_DATETIME or
 * wrong. */
static const char *clock_mismatch(const char *fmt)
{
    bool twelve = false, ampm = false;
    for (const char *c = fmt; *c; c++)
        if (*c == '%' && c[1]) {
            twelve |= c[1] == 'I';
            ampm |= c[1] == 'p';
            c++;
        }
    if (twelve && !ampm)
        return "reads the hour with %I (a 12-hour clock) but no AM/PM (%p): add %p, or read a"
               " 24-hour clock with %H";
    if (ampm && !twelve)
        return "reads AM/PM (%p) but no 12-hour clock hour (%I): read the hour with %I";
    return NULL;
}

/* Reads one feed mapping. */
static bool parse_feed(cfgp *p, const yaml_node_t *n, const char *key, cr_feed *f)
{
    if (!want(p, n, YAML_MAPPING_NODE, key))
        return false;
    f->line = (int)n->start_mark.line + 1;
    f->delimiter = ',';
    /* kind first: the keys allowed depend on it */
    const yaml_node_t *columns = NULL;
    bool have_kind = false;
    for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
        yaml_node_t *k = node(p, pr->key), *v = node(p, pr->value);
        if (k && v && k->type == YAML_SCALAR_NODE && strcmp(scalar(k), "kind") == 0) {
            char sub[256];
            snprintf(sub, sizeof sub, "%s.kind", key);
            if (!want(p, v, YAML_SCALAR_NODE, sub))
                return false;
            if (strcmp(scalar(v), "receipts") == 0)
                f->kind = CR_FEED_RECEIPTS;
            else if (strcmp(scalar(v), "settlements") == 0)
                f->kind = CR_FEED_SETTLEMENTS;
            else {
                perr(p, v, sub, "must be receipts or settlements, not '%s'", scalar(v));
                return false;
            }
            have_kind = true;
        }
    }
    if (!have_kind) {
        perr(p, n, key, "a feed needs 'kind' (receipts or settlements)");
        return false;
    }
    bool rc = f->kind == CR_FEED_RECEIPTS;
    const yaml_node_t *bool_nodes[2] = {NULL, NULL};   /* true_values, false_values as written */
    for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
        yaml_node_t *k = node(p, pr->key), *v = node(p, pr->value);
        if (!k || !v || !want(p, k, YAML_SCALAR_NODE, key))
            return false;
        const char *kn = scalar(k);
        char sub[256];
        snprintf(sub, sizeof sub, "%s.%s", key, kn);
        bool ok = true;
        if (strcmp(kn, "kind") == 0) {
            /* read above */
        } else if (strcmp(kn, "name") == 0) {
            ok = get_str(p, v, sub, &f->name);
        } else if (strcmp(kn, "files") == 0) {
            ok = get_str(p, v, sub, &f->files);
            if (ok && (!*f->files || strchr(f->files, '/'))) {
                perr(p, v, sub, "must be a file-name pattern without '/'");
                ok = false;
            }
        } else if (strcmp(kn, "delimiter") == 0) {
            char *d = NULL;
            ok = get_str(p, v, sub, &d);
            if (ok && strcmp(d, "\\t") == 0)
                d[0] = '\t', d[1] = '\0';
            if (ok && (strlen(d) != 1 || d[0] == '"' || d[0] == '\n' || d[0] == '\r')) {
                perr(p, v, sub, "must be one character (not a quote or newline), not '%s'", d);
                ok = false;
            }
            if (ok)
                f->delimiter = d[0];
            free(d);
        } else if (strcmp(kn, "skip_lines") == 0) {
            ok = get_int(p, v, sub, 0, 1000, &f->skip_lines);
        } else if (strcmp(kn, "datetime_format") == 0) {
            ok = get_str(p, v, sub, &f->datetime_format);
            if (ok && !*f->datetime_format) {
                perr(p, v, sub, "must not be empty");
                ok = false;
            }
            const char *bad = ok ? bad_directive(f->datetime_format) : NULL;
            if (bad) {
                perr(p, v, sub, "unknown or misplaced directive %.2s (see the README)", bad);
                ok = false;
            }
            const char *part = ok ? missing_date_part(f->datetime_format) : NULL;
            if (part) {
                perr(p, v, sub, "reads no %s: no date could be read with it", part);
                ok = false;
            }
            const char *clock = ok ? clock_mismatch(f->datetime_format) : NULL;
            if (clock) {
                perr(p, v, sub, "%s", clock);
                ok = false;
            }
        } else if (strcmp(kn, "timezone") == 0) {
            ok = get_str(p, v, sub, &f->tz_name);
            if (ok) {
                f->tz_set = true;
                cr_tz_free(f->tz);
                f->tz = cr_tz_load(f->tz_name);
                if (!f->tz) {
                    perr(p, v, sub, "unknown time zone '%s' (an IANA name like America/New_York)",
                         f->tz_name);
                    ok = false;
                }
            }
        } else if (strcmp(kn, "columns") == 0) {
            columns = v;
            ok = parse_columns(p, v, sub, f);
        } else if (rc && strcmp(kn, "event") == 0) {
            ok = get_str(p, v, sub, &f->event);
            if (ok) {
                cr_trim_inplace(f->event);
                for (char *c = f->event; *c; c++)
                    *c = (char)tolower((unsigned char)*c);
                if (strcmp(f->event, "shipped") && strcmp(f->event, "delivered") &&
                    strcmp(f->event, "received")) {
                    perr(p, v, sub, "must be shipped, delivered or received, not '%s'", f->event);
                    ok = false;
                }
            }
        } else if (rc && strcmp(kn, "event_column") == 0) {
            ok = get_str(p, v, sub, &f->event_column);
        } else if (rc && strcmp(kn, "event_values") == 0) {
            ok = get_kvlist(p, v, sub, false, 0, 0, event_names, &f->event_values);
        } else if (rc && strcmp(kn, "true_values") == 0) {
            ok = get_strlist(p, v, sub, &f->true_values);
            bool_nodes[0] = v;
        } else if (rc && strcmp(kn, "false_values") == 0) {
            ok = get_strlist(p, v, sub, &f->false_values);
            bool_nodes[1] = v;
        } else if (!rc && strcmp(kn, "type_column") == 0) {
            ok = get_str(p, v, sub, &f->type_column);
        } else if (!rc && strcmp(kn, "type_values") == 0) {
            ok = get_kvlist(p, v, sub, false, 0, 0, type_names, &f->type_values);
        } else if (strcmp(kn, "timezone_column") == 0) {
            ok = get_str(p, v, sub, &f->timezone_column);
        } else if (strcmp(kn, "timezone_abbreviations") == 0) {
            ok = get_kvlist(p, v, sub, false, 0, 0, NULL, &f->tz_abbrevs);
            for (size_t i = 0; ok && i < f->tz_abbrevs.n; i++) {
                int32_t off = 0;
                if (cr_parse_offset(f->tz_abbrevs.items[i].value, &off) != CR_OK) {
                    perr(p, v, sub, "'%s' must map to an offset like +01:00, not '%s'",
                         f->tz_abbrevs.items[i].key, f->tz_abbrevs.items[i].value);
                    ok = false;
                }
                f->tz_abbrevs.items[i].num = off;
            }
        } else if (!rc && strcmp(kn, "card_brand_values") == 0) {
            ok = get_kvlist(p, v, sub, false, 0, 0, NULL, &f->card_brand_values);
            for (size_t i = 0; ok && i < f->card_brand_values.n; i++)
                for (char *c = f->card_brand_values.items[i].value; *c; c++)
                    *c = (char)tolower((unsigned char)*c);
        } else {
            perr(p, k, sub, "unknown key for a %s feed", rc ? "receipts" : "settlements");
            ok = false;
        }
        if (!ok)
            return false;
    }
    if (!columns) {
        perr(p, n, key, "a feed needs 'columns'");
        return false;
    }
    if (!f->datetime_format && !(f->datetime_format = cr_strdup("%Y-%m-%dT%H:%M:%S%z")))
        return false;
    if (!f->tz) {
        f->tz = cr_tz_load("UTC");
        f->tz_name = cr_strdup("UTC");
        if (!f->tz || !f->tz_name)
            return false;
    }
    if (rc && !f->true_values.n) {
        static const char *const t[] = {"Y", "YES", "1", "TRUE", "T"};
        cr_strlist l = {calloc(5, sizeof(char *)), 0};
        for (size_t i = 0; l.items && i < 5; i++)
            l.items[l.n++] = cr_strdup(t[i]);
        f->true_values = l;
    }
    if (rc && !f->false_values.n) {
        static const char *const t[] = {"N", "NO", "0", "FALSE", "F"};
        cr_strlist l = {calloc(5, sizeof(char *)), 0};
        for (size_t i = 0; l.items && i < 5; i++)
            l.items[l.n++] = cr_strdup(t[i]);
        f->false_values = l;
    }
    /* a value both true and false (values compare case-insensitively):
     * the row's meaning would depend on which list is looked at first */
    for (size_t i = 0; rc && i < f->true_values.n; i++)
        for (size_t j = 0; j < f->false_values.n; j++)
            if (cr_strcasecmp_trim(f->true_values.items[i], f->false_values.items[j]) == 0) {
                const char *both = "a value must be true or false, not both";
                char sub[256];
                if (bool_nodes[1]) {
                    snprintf(sub, sizeof sub, "%s.false_values", key);
                    perr(p, bool_nodes[1], sub, "'%s' is also %s: %s", f->false_values.items[j],
                         bool_nodes[0] ? "in true_values"
                                       : "one of the default true values (Y, YES, 1, TRUE, T)",
                         both);
                } else {
                    snprintf(sub, sizeof sub, "%s.true_values", key);
                    perr(p, bool_nodes[0] ? bool_nodes[0] : n, sub,
                         "'%s' is also one of the default false values (N, NO, 0, FALSE, F): %s",
                         f->true_values.items[i], both);
                }
                return false;
            }
    return check_feed(p, n, key, f);
}

static bool parse_policy(cfgp *p, const yaml_node_t *n)
{
    cr_policy *pol = &p->cfg->policy;
    if (!want(p, n, YAML_MAPPING_NODE, "policy"))
        return false;
    for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
        yaml_node_t *k = node(p, pr->key), *v = node(p, pr->value);
        if (!k || !v || !want(p, k, YAML_SCALAR_NODE, "policy"))
            return false;
        const char *kn = scalar(k);
        char sub[256];
        snprintf(sub, sizeof sub, "policy.%s", kn);
        bool ok;
        if (strcmp(kn, "return_days") == 0)
            ok = get_int(p, v, sub, 0, 3650, &pol->return_days);
        else if (strcmp(kn, "return_days_by_region") == 0)
            ok = get_kvlist(p, v, sub, true, 0, 3650, NULL, &pol->return_days_by_region);
        else if (strcmp(kn, "transit_grace_days") == 0)
            ok = get_int(p, v, sub, 0, 3650, &pol->transit_grace_days);
        else if (strcmp(kn, "ship_reminder_days") == 0)
            ok = get_int(p, v, sub, 0, 3650, &pol->ship_reminder_days);
        else if (strcmp(kn, "checkin_sla_days") == 0)
            ok = get_int(p, v, sub, 0, 3650, &pol->checkin_sla_days);
        else if (strcmp(kn, "settlement_confirm_days") == 0)
            ok = get_int(p, v, sub, 0, 3650, &pol->settlement_confirm_days);
        else if (strcmp(kn, "late_return") == 0) {
            ok = want(p, v, YAML_SCALAR_NODE, sub);
            /* any case, as value mappings are compared (SPEC 3) */
            if (ok && cr_strcasecmp_trim(scalar(v), "capture") == 0)
                pol->late_return = CR_LATE_CAPTURE;
            else if (ok && cr_strcasecmp_trim(scalar(v), "release") == 0)
                pol->late_return = CR_LATE_RELEASE;
            else if (ok) {
                perr(p, v, sub, "must be capture or release, not '%s'", scalar(v));
                ok = false;
            }
        } else if (strcmp(kn, "premium_regions") == 0)
            ok = get_strlist(p, v, sub, &pol->premium_regions);
        else if (strcmp(kn, "card_brands") == 0)
            ok = get_strlist(p, v, sub, &pol->card_brands);
        else if (strcmp(kn, "auth_validity_days") == 0)
            ok = get_kvlist(p, v, sub, true, 0, 3650, NULL, &pol->auth_validity_days);
        else if (strcmp(kn, "currency_exponents") == 0) {
            cr_kvlist l = {0};
            ok = get_kvlist(p, v, sub, true, 0, 6, NULL, &l);
            free(pol->currency_exponents);
            pol->currency_exponents = ok ? calloc(l.n ? l.n : 1, sizeof(cr_currency_exp)) : NULL;
            pol->n_currency_exponents = 0;
            for (size_t i = 0; ok && i < l.n; i++) {
                const char *c = l.items[i].key;
                if (!cr_currency_code_ok(c)) {
                    perr(p, v, sub, "'%s' is not a three-letter currency code", c);
                    ok = false;
                    break;
                }
                cr_currency_exp *e = &pol->currency_exponents[pol->n_currency_exponents++];
                for (int j = 0; j < 3; j++)
                    e->code[j] = (char)toupper((unsigned char)c[j]);
                e->exponent = l.items[i].num;
            }
            kvlist_free(&l);
        } else {
            perr(p, k, sub, "unknown key");
            ok = false;
        }
        if (!ok)
            return false;
    }
    return true;
}

static bool parse_limits(cfgp *p, const yaml_node_t *n)
{
    if (!want(p, n, YAML_MAPPING_NODE, "limits"))
        return false;
    for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
        yaml_node_t *k = node(p, pr->key), *v = node(p, pr->value);
        if (!k || !v || !want(p, k, YAML_SCALAR_NODE, "limits"))
            return false;
        char sub[256];
        snprintf(sub, sizeof sub, "limits.%s", scalar(k));
        int val = 0;
        if (strcmp(scalar(k), "max_field_bytes") == 0) {
            if (!get_int(p, v, sub, 16, 64 * 1024 * 1024, &val))
                return false;
            p->cfg->max_field_bytes = (size_t)val;
        } else if (strcmp(scalar(k), "max_columns") == 0) {
            if (!get_int(p, v, sub, 1, 100000, &val))
                return false;
            p->cfg->max_columns = (size_t)val;
        } else {
            perr(p, k, sub, "unknown key");
            return false;
        }
    }
    return true;
}

static bool parse_inbox(cfgp *p, const yaml_node_t *n)
{
    if (!want(p, n, YAML_MAPPING_NODE, "inbox"))
        return false;
    for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
        yaml_node_t *k = node(p, pr->key), *v = node(p, pr->value);
        if (!k || !v || !want(p, k, YAML_SCALAR_NODE, "inbox"))
            return false;
        char sub[256];
        snprintf(sub, sizeof sub, "inbox.%s", scalar(k));
        char **dst = strcmp(scalar(k), "receipts") == 0      ? &p->cfg->inbox_receipts
                     : strcmp(scalar(k), "settlements") == 0 ? &p->cfg->inbox_settlements
                                                             : NULL;
        if (!dst) {
            perr(p, k, sub, "unknown key (receipts or settlements)");
            return false;
        }
        if (!get_str(p, v, sub, dst) || !resolve_path(p, v, sub, dst))
            return false;
    }
    return true;
}

static bool set_default_list(cr_strlist *l, const char *const *vals, size_t n)
{
    if (l->n)
        return true;
    l->items = calloc(n, sizeof *l->items);
    if (!l->items)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!(l->items[l->n++] = cr_strdup(vals[i])))
            return false;
    return true;
}

/* Defaults for what the configuration leaves out: the values of SPEC §3. */
static bool set_defaults(cr_config *c)
{
    cr_policy *p = &c->policy;
    p->return_days = 14;
    p->transit_grace_days = 7;
    p->ship_reminder_days = 3;
    p->checkin_sla_days = 2;
    p->late_return = CR_LATE_CAPTURE;
    p->settlement_confirm_days = 3;
    c->max_field_bytes = 65536;
    c->max_columns = 1024;
    return true;
}

/* Whether paths A and B name one file: the same text, or both there and
 * the same file on disk (through a link, "./", "..", another spelling). */
static bool same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    if (strcmp(a, b) == 0)
        return true;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* The value node of top-level KEY in ROOT (for its line), else ROOT. */
static const yaml_node_t *value_of(cfgp *p, const yaml_node_t *root, const char *key)
{
    for (yaml_node_pair_t *pr = root->data.mapping.pairs.start; pr < root->data.mapping.pairs.top; pr++) {
        yaml_node_t *k = node(p, pr->key);
        if (k && k->type == YAML_SCALAR_NODE && strcmp((const char *)k->data.scalar.value, key) == 0)
            return node(p, pr->value);
    }
    return root;
}

static bool finish_defaults(cfgp *p, const yaml_node_t *root)
{
    cr_config *c = p->cfg;
    cr_policy *pol = &c->policy;
    static const char *const regions[] = {"US"};
    static const char *const brands[] = {"visa", "mastercard", "amex"};
    if (!set_default_list(&pol->premium_regions, regions, 1) ||
        !set_default_list(&pol->card_brands, brands, 3))
        return false;
    /* card brands as carerecon compares them ("American Express" is amex) */
    for (size_t i = 0; i < pol->card_brands.n + pol->auth_validity_days.n; i++) {
        char **b = i < pol->card_brands.n ? &pol->card_brands.items[i]
                                          : &pol->auth_validity_days.items[i - pol->card_brands.n].key;
        char canon[64], *d = cr_strdup(cr_card_brand_canon(*b, canon, sizeof canon));
        if (!d)
            return false;
        free(*b);
        *b = d;
    }
    /* two spellings of one brand: which number holds would be the order */
    for (size_t i = 0; i < pol->auth_validity_days.n; i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp(pol->auth_validity_days.items[i].key, pol->auth_validity_days.items[j].key) == 0) {
                const yaml_node_t *pn = value_of(p, root, "policy");
                perr(p, pn, "policy.auth_validity_days",
                     "names card brand %s twice (spellings of one network count as one:"
                     " American Express is amex, MC is mastercard)",
                     pol->auth_validity_days.items[i].key);
                return false;
            }
    if (!c->timezone_name) {
        c->timezone_name = cr_strdup("UTC");
        c->tz = cr_tz_load("UTC");
        if (!c->tz || !c->timezone_name)
            return false;
    }
    static const char *const required[] = {"claims_db", "state_db", "report_dir", "actions_dir"};
    char *const *vals[] = {&c->claims_db, &c->state_db, &c->report_dir, &c->actions_dir};
    for (size_t i = 0; i < 4; i++)
        if (!*vals[i]) {
            perr(p, root, required[i], "required key is missing");
            return false;
        }
    if (!c->inbox_receipts || !c->inbox_settlements) {
        perr(p, root, "inbox", "required: inbox.receipts and inbox.settlements");
        return false;
    }
    if (same_file(c->state_db, c->claims_db)) {
        /* the run would write its tables into the claim database, which
         * carerecon only reads (SPEC 2.1) */
        perr(p, value_of(p, root, "state_db"), "state_db",
             "names the same file as claims_db (%s): the state must be a database of its own",
             c->claims_db);
        return false;
    }
    if (!c->n_feeds) {
        perr(p, root, "feeds", "required: at least one feed");
        return false;
    }
    return true;
}

/* YAML 1.1's merge key (`<<: *depot`), which libyaml leaves as a plain
 * key: said as such, rather than as the keys it would have brought in
 * being missing. */
static bool no_merge_keys(cfgp *p)
{
    for (yaml_node_t *n = p->doc.nodes.start; n < p->doc.nodes.top; n++) {
        if (n->type != YAML_MAPPING_NODE)
            continue;
        for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
            yaml_node_t *k = yaml_document_get_node(&p->doc, pr->key);
            if (k && k->type == YAML_SCALAR_NODE && k->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
                strcmp((const char *)k->data.scalar.value, "<<") == 0) {
                perr(p, k, "<<", "YAML merge keys are not supported: write the keys out (an anchor"
                                 " and alias may still name a whole value)");
                return false;
            }
        }
    }
    return true;
}

static bool parse_root(cfgp *p, yaml_node_t *root)
{
    cr_config *c = p->cfg;
    if (!root) {
        perr(p, NULL, NULL, "the configuration is empty");
        return false;
    }
    if (root->type != YAML_MAPPING_NODE) {
        perr(p, root, NULL, "the configuration must be a mapping of keys, not %s",
             root->type == YAML_SEQUENCE_NODE ? "a list" : "a single value");
        return false;
    }
    for (yaml_node_pair_t *pr = root->data.mapping.pairs.start; pr < root->data.mapping.pairs.top;
         pr++) {
        yaml_node_t *k = node(p, pr->key), *v = node(p, pr->value);
        if (!k || !v || !want(p, k, YAML_SCALAR_NODE, "(top level)"))
            return false;
        const char *kn = scalar(k);
        bool ok;
        for (yaml_node_pair_t *q = root->data.mapping.pairs.start; q < pr; q++) {
            yaml_node_t *qk = node(p, q->key);
            if (qk && qk->type == YAML_SCALAR_NODE && strcmp(scalar(qk), kn) == 0) {
                perr(p, k, kn, "appears twice");
                return false;
            }
        }
        if (strcmp(kn, "timezone") == 0) {
            ok = get_str(p, v, kn, &c->timezone_name);
            if (ok && !(c->tz = cr_tz_load(c->timezone_name))) {
                perr(p, v, kn, "unknown time zone '%s' (an IANA name like America/New_York)",
                     c->timezone_name);
                ok = false;
            }
        } else if (strcmp(kn, "claims_db") == 0) {
            ok = get_str(p, v, kn, &c->claims_db) && resolve_path(p, v, kn, &c->claims_db);
        } else if (strcmp(kn, "state_db") == 0) {
            ok = get_str(p, v, kn, &c->state_db) && resolve_path(p, v, kn, &c->state_db);
        } else if (strcmp(kn, "report_dir") == 0) {
            ok = get_str(p, v, kn, &c->report_dir) && resolve_path(p, v, kn, &c->report_dir);
        } else if (strcmp(kn, "actions_dir") == 0) {
            ok = get_str(p, v, kn, &c->actions_dir) && resolve_path(p, v, kn, &c->actions_dir);
        } else if (strcmp(kn, "inbox") == 0) {
            ok = parse_inbox(p, v);
        } else if (strcmp(kn, "policy") == 0) {
            ok = parse_policy(p, v);
        } else if (strcmp(kn, "limits") == 0) {
            ok = parse_limits(p, v);
        } else if (strcmp(kn, "feeds") == 0) {
            ok = want(p, v, YAML_SEQUENCE_NODE, kn);
            size_t cnt = ok ? (size_t)(v->data.sequence.items.top - v->data.sequence.items.start) : 0;
            if (ok && cnt == 0) {
                perr(p, v, kn, "must list at least one feed");
                ok = false;
            }
            if (ok && c->feeds) {
                perr(p, v, kn, "appears twice");
                ok = false;
            }
            if (ok && !(c->feeds = calloc(cnt, sizeof *c->feeds)))
                ok = false;
            for (size_t i = 0; ok && i < cnt; i++) {
                char sub[64];
                snprintf(sub, sizeof sub, "feeds[%zu]", i);
                yaml_node_t *fn = node(p, v->data.sequence.items.start[i]);
                c->n_feeds = i + 1;
                ok = fn && parse_feed(p, fn, sub, &c->feeds[i]);
                for (size_t j = 0; ok && j < i; j++)
                    if (strcmp(c->feeds[j].name, c->feeds[i].name) == 0) {
                        perr(p, fn, sub, "feed name '%s' is used twice", c->feeds[i].name);
                        ok = false;
                    }
            }
        } else {
            perr(p, k, kn, "unknown key");
            ok = false;
        }
        if (!ok) {
            if (!p->failed)
                perr(p, v, kn, "out of memory");
            return false;
        }
    }
    return finish_defaults(p, root);
}

cr_err cr_config_load_buffer(const char *name, const char *dir, const char *buf, size_t len,
                             bool quiet, cr_config **out)
{
    cr_err rc = CR_ECONFIG;
    yaml_parser_t parser;
    cfgp p = {.name = name, .quiet = quiet};
    bool have_doc = false;

    *out = NULL;
    if (!yaml_parser_initialize(&parser))
        return quiet ? CR_ENOMEM : cr_error(CR_ENOMEM, "yaml parser: out of memory");
    p.cfg = calloc(1, sizeof *p.cfg);
    if (!p.cfg)
        goto cleanup;
    p.cfg->path = cr_strdup(name);
    p.cfg->dir = cr_strdup(dir ? dir : "");
    set_defaults(p.cfg);
    if (len > CFG_MAX_BYTES) {
        perr(&p, NULL, NULL, "the file is larger than %d bytes", CFG_MAX_BYTES);
        goto cleanup;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
    if (!yaml_parser_load(&parser, &p.doc)) {
        if (!quiet)
            fprintf(stderr, "carerecon: error: bad configuration: %s:%lu:%lu: %s%s%s\n", name,
                    (unsigned long)parser.problem_mark.line + 1,
                    (unsigned long)parser.problem_mark.column + 1,
                    parser.problem ? parser.problem : "YAML syntax error",
                    parser.context ? " " : "", parser.context ? parser.context : "");
        goto cleanup;
    }
    have_doc = true;
    if (p.doc.nodes.top - p.doc.nodes.start > CFG_MAX_NODES) {
        perr(&p, NULL, NULL, "the document has more than %d nodes", CFG_MAX_NODES);
        goto cleanup;
    }
    if (!no_merge_keys(&p) || !parse_root(&p, yaml_document_get_root_node(&p.doc)))
        goto cleanup;
    p.cfg->hash = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < len; i++)
        p.cfg->hash = (p.cfg->hash ^ (unsigned char)buf[i]) * 0x100000001b3ULL;
    rc = CR_OK;
    *out = p.cfg;
    p.cfg = NULL;
cleanup:
    if (have_doc)
        yaml_document_delete(&p.doc);
    yaml_parser_delete(&parser);
    cr_config_free(p.cfg);
    return rc;
}

cr_err cr_config_load(const char *path, cr_config **out)
{
    cr_err rc = CR_ECONFIG;
    FILE *f = NULL;
    char *buf = NULL, *dir = NULL;
    size_t len = 0;

    *out = NULL;
    f = fopen(path, "rb");
    if (!f) {
        rc = cr_error(CR_ECONFIG, "cannot read configuration %s: %s", path, strerror(errno));
        goto cleanup;
    }
    buf = malloc(CFG_MAX_BYTES + 1);
    if (!buf) {
        rc = cr_error(CR_ENOMEM, "out of memory");
        goto cleanup;
    }
    len = fread(buf, 1, CFG_MAX_BYTES + 1, f);
    if (ferror(f)) {
        rc = cr_error(CR_ECONFIG, "cannot read configuration %s: %s", path, strerror(errno));
        goto cleanup;
    }
    dir = cr_strdup(path);
    if (!dir) {
        rc = cr_error(CR_ENOMEM, "out of memory");
        goto cleanup;
    }
    char *slash = strrchr(dir, '/');
    if (slash)
        *(slash == dir ? slash + 1 : slash) = '\0';
    else
        dir[0] = '.', dir[1] = '\0'; /* a non-empty name: fopen succeeded */
    rc = cr_config_load_buffer(path, dir, buf, len, false, out);
cleanup:
    free(dir);
    free(buf);
    if (f)
        fclose(f);
    return rc;
}

static void feed_free(cr_feed *f)
{
    free(f->name);
    free(f->files);
    free(f->datetime_format);
    cr_tz_free(f->tz);
    free(f->tz_name);
    free(f->event);
    free(f->event_column);
    kvlist_free(&f->event_values);
    free(f->type_column);
    kvlist_free(&f->type_values);
    free(f->timezone_column);
    kvlist_free(&f->tz_abbrevs);
    kvlist_free(&f->card_brand_values);
    strlist_free(&f->true_values);
    strlist_free(&f->false_values);
    for (int i = 0; i < CR_F_COUNT; i++)
        for (int j = 0; j < CR_MAX_COLS_PER_FIELD; j++)
            free(f->columns[i][j]);
}

void cr_config_free(cr_config *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n_feeds; i++)
        feed_free(&c->feeds[i]);
    free(c->feeds);
    kvlist_free(&c->policy.return_days_by_region);
    kvlist_free(&c->policy.auth_validity_days);
    strlist_free(&c->policy.premium_regions);
    strlist_free(&c->policy.card_brands);
    free(c->policy.currency_exponents);
    cr_tz_free(c->tz);
    free(c->timezone_name);
    free(c->claims_db);
    free(c->state_db);
    free(c->report_dir);
    free(c->actions_dir);
    free(c->inbox_receipts);
    free(c->inbox_settlements);
    free(c->path);
    free(c->dir);
    free(c);
}

const cr_kv *cr_kv_find(const cr_kvlist *l, const char *key)
{
    for (size_t i = 0; key && i < l->n; i++)
        if (cr_strcasecmp_trim(l->items[i].key, key) == 0)
            return &l->items[i];
    return NULL;
}

bool cr_strlist_has(const cr_strlist *l, const char *s)
{
    for (size_t i = 0; s && i < l->n; i++)
        if (cr_strcasecmp_trim(l->items[i], s) == 0)
            return true;
    return false;
}

int cr_policy_return_days(const cr_policy *p, const char *region)
{
    const cr_kv *kv = cr_kv_find(&p->return_days_by_region, region);
    return kv ? kv->num : p->return_days;
}

int cr_policy_auth_days(const cr_policy *p, const char *brand)
{
    const cr_kv *kv = cr_kv_find(&p->auth_validity_days, brand);
    return kv ? kv->num : -1;
}

static void print_kv(FILE *out, const cr_kvlist *l, bool numeric)
{
    fputc('{', out);
    for (size_t i = 0; i < l->n; i++) {
        if (numeric)
            fprintf(out, "%s%s: %d", i ? ", " : "", l->items[i].key, l->items[i].num);
        else
            fprintf(out, "%s%s: %s", i ? ", " : "", l->items[i].key, l->items[i].value);
    }
    fputc('}', out);
}

static void print_list(FILE *out, const cr_strlist *l)
{
    fputc('[', out);
    for (size_t i = 0; i < l->n; i++)
        fprintf(out, "%s%s", i ? ", " : "", l->items[i]);
    fputc(']', out);
}

void cr_config_print(const cr_config *c, FILE *out)
{
    const cr_policy *p = &c->policy;
    fprintf(out, "configuration  %s\n", c->path);
    fprintf(out, "time zone      %s\n", c->timezone_name);
    fprintf(out, "\npaths\n");
    fprintf(out, "  claims_db           %s (read-only)\n", c->claims_db);
    fprintf(out, "  state_db            %s\n", c->state_db);
    fprintf(out, "  report_dir          %s\n", c->report_dir);
    fprintf(out, "  actions_dir         %s\n", c->actions_dir);
    fprintf(out, "  inbox.receipts      %s\n", c->inbox_receipts);
    fprintf(out, "  inbox.settlements   %s\n", c->inbox_settlements);
    fprintf(out, "\npolicy\n");
    fprintf(out, "  return_days              %d (by region: ", p->return_days);
    print_kv(out, &p->return_days_by_region, true);
    fprintf(out, ")\n  transit_grace_days       %d\n", p->transit_grace_days);
    fprintf(out, "  ship_reminder_days       %d\n", p->ship_reminder_days);
    fprintf(out, "  checkin_sla_days         %d\n", p->checkin_sla_days);
    fprintf(out, "  late_return              %s\n",
            p->late_return == CR_LATE_CAPTURE ? "capture" : "release");
    fprintf(out, "  settlement_confirm_days  %d\n", p->settlement_confirm_days);
    fprintf(out, "  premium_regions          ");
    print_list(out, &p->premium_regions);
    fprintf(out, "\n  card_brands              ");
    print_list(out, &p->card_brands);
    fprintf(out, "\n  auth_validity_days       ");
    print_kv(out, &p->auth_validity_days, true);
    fprintf(out, "\n  currency_exponents       {");
    for (size_t i = 0; i < p->n_currency_exponents; i++)
        fprintf(out, "%s%s: %d", i ? ", " : "", p->currency_exponents[i].code,
                p->currency_exponents[i].exponent);
    fprintf(out, "} (others: 2)\n");
    fprintf(out, "\nlimits\n  max_field_bytes  %zu\n  max_columns      %zu\n", c->max_field_bytes,
            c->max_columns);
    fprintf(out, "\nfeeds (%zu)\n", c->n_feeds);
    for (size_t i = 0; i < c->n_feeds; i++) {
        const cr_feed *f = &c->feeds[i];
        fprintf(out, "  %s: %s, files '%s' in %s\n", f->name,
                f->kind == CR_FEED_RECEIPTS ? "receipts" : "settlements", f->files,
                f->kind == CR_FEED_RECEIPTS ? c->inbox_receipts : c->inbox_settlements);
        if (f->delimiter == '\t')
            fprintf(out, "    delimiter TAB, skip_lines %d\n", f->skip_lines);
        else
            fprintf(out, "    delimiter '%c', skip_lines %d\n", f->delimiter, f->skip_lines);
        fprintf(out, "    datetime_format \"%s\", timezone %s", f->datetime_format, f->tz_name);
        if (f->timezone_column) {
            fprintf(out, ", timezone_column \"%s\" ", f->timezone_column);
            print_kv(out, &f->tz_abbrevs, false);
        }
        fputc('\n', out);
        if (f->event)
            fprintf(out, "    event %s (every row)\n", f->event);
        if (f->event_column) {
            fprintf(out, "    event from \"%s\" ", f->event_column);
            print_kv(out, &f->event_values, false);
            fputc('\n', out);
        }
        if (f->type_column) {
            fprintf(out, "    type from \"%s\" ", f->type_column);
            print_kv(out, &f->type_values, false);
            fputc('\n', out);
        }
        for (int fi = 0; fi < CR_F_COUNT; fi++) {
            if (!f->ncolumns[fi])
                continue;
            fprintf(out, "    %-18s <- ", field_names[fi]);
            for (int j = 0; j < f->ncolumns[fi]; j++)
                fprintf(out, "%s\"%s\"", j ? (fi == CR_F_AMOUNT ? " or " : " + ") : "",
                        f->columns[fi][j]);
            fputc('\n', out);
        }
    }
}

char *cr_policy_amount(const cr_policy *p, cr_money_t v, const char *currency, char *buf, size_t n)
{
    char num[40];
    cr_money_format(v, cr_currency_exponent(p->currency_exponents, p->n_currency_exponents, currency),
                    num, sizeof num);
    snprintf(buf, n, "%s %s", num, currency && *currency ? currency : "(no currency)");
    return buf;
}
