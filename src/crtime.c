/* crtime.c - civil-date arithmetic, IANA zones (TZif + POSIX TZ footer) and
 * strict date/time parsing.  No TZ, tzset, localtime, mktime or strptime. */
#include "crtime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HOUR 3600
#define DAY 86400
#define MAX_UTOFF (26 * HOUR)          /* larger offsets in a file are refused */
#define TZIF_MAX_BYTES (1024 * 1024)
#define TZ_NAME_MAX 255
#define FOOTER_MAX 255
/* Instants are clamped to +-2^50 s (about +-35 million years) before any
 * civil arithmetic, so every intermediate value fits and years fit in int. */
#define T_LIMIT ((int64_t)1 << 50)

/* One POSIX TZ rule date ("M3.2.0/2", "J60", "59/-1"). */
typedef struct tz_rule {
    char kind;                 /* 'J': day 1-365 without Feb 29; 'D': day 0-365; 'M' */
    int day, week, month;      /* 'M': month 1-12, week 1-5, day 0-6 (Sunday 0) */
    int32_t time;              /* local seconds after midnight, -167h..167h */
} tz_rule;

/* A parsed POSIX TZ string; offsets are seconds east of UTC. */
typedef struct tz_posix {
    bool present, has_dst;
    bool perpetual;            /* daylight time all year in every year (no transitions) */
    int32_t std_off, dst_off;
    tz_rule start, end;        /* start: to daylight time; end: back to standard */
} tz_posix;

struct cr_tz {
    char *name;
    size_t n;                  /* number of transitions */
    int64_t *at;               /* transition instants, strictly ascending */
    int32_t *off;              /* offset in force from at[i] on */
    int32_t off0;              /* offset before the first transition (type 0) */
    tz_posix rule;             /* footer: for instants after at[n-1] (all when n == 0) */
};

/* ---- civil arithmetic (proleptic Gregorian, H. Hinnant's algorithms) ---- */

static int64_t floor_div(int64_t a, int64_t b) /* b > 0 */
{
    int64_t q = a / b;
    return q - (a % b < 0);
}

static int64_t clamp_t(int64_t t)
{
    return t < -T_LIMIT ? -T_LIMIT : t > T_LIMIT ? T_LIMIT : t;
}

static bool is_leap(int64_t y)
{
    return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
}

static int month_len(int64_t y, int m)
{
    static const int len[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : len[m - 1];
}

/* Days since 1970-01-01; any int-sized inputs are safe (garbage in, garbage
 * out for months outside 1-12, but no overflow). */
static int64_t days64(int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    int64_t era = floor_div(y, 400);
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* Inverse of days64 for |z| well inside int64. */
static void civil64(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = floor_div(z, 146097);
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static cr_day_t sat_day(int64_t d)
{
    return d < INT32_MIN ? INT32_MIN : d > INT32_MAX ? INT32_MAX : (cr_day_t)d;
}

cr_day_t cr_days_from_civil(int y, int m, int d)
{
    return sat_day(days64(y, m, d));
}

void cr_civil_from_days(cr_day_t days, int *y, int *m, int *d)
{
    int64_t yy;
    civil64(days, &yy, m, d);
    *y = (int)yy;   /* |days| < 2^31, so |year| < 6 million */
}

bool cr_civil_valid(const cr_civil *c)
{
    return c && c->year >= 0 && c->year <= 9999 && c->month >= 1 && c->month <= 12 &&
           c->day >= 1 && c->day <= month_len(c->year, c->month) &&
           c->hour >= 0 && c->hour <= 23 && c->minute >= 0 && c->minute <= 59 &&
           c->second >= 0 && c->second <= 59;
}

/* Local seconds since the epoch of C read as if it were UTC. */
static int64_t civil_secs(const cr_civil *c)
{
    return days64(c->year, c->month, c->day) * DAY + (int64_t)c->hour * HOUR +
           (int64_t)c->minute * 60 + c->second;
}

/* ---- POSIX TZ strings ---- */

/* Reads 1..MAXD digits with a value in [LO, HI] at *P and advances *P. */
static bool num_in(const char **p, int maxd, int lo, int hi, int *out)
{
    const char *s = *p;
    int v = 0, n = 0;
    while (n < maxd && s[n] >= '0' && s[n] <= '9')
        v = v * 10 + (s[n++] - '0');
    if (n == 0 || v < lo || v > hi)
        return false;
    *p = s + n;
    *out = v;
    return true;
}

static bool is_alpha(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* A zone abbreviation: three or more letters, or "<...>" with letters,
 * digits, '+' and '-'. */
static bool posix_abbr(const char **p)
{
    const char *s = *p;
    size_t n = 0;
    if (*s == '<') {
        for (s++; is_alpha(*s) || is_digit(*s) || *s == '+' || *s == '-'; s++)
            n++;
        if (*s++ != '>')
            return false;
    } else {
        for (; is_alpha(*s); s++)
            n++;
    }
    if (n < 3)
        return false;
    *p = s;
    return true;
}

/* "[+-]h[h[h]][:mm[:ss]]" with hours up to MAXH -> signed seconds. */
static bool posix_hms(const char **p, int maxh, int32_t *out)
{
    const char *s = *p;
    int sign = 1, h, m = 0, sec = 0;
    if (*s == '+' || *s == '-')
        sign = *s++ == '-' ? -1 : 1;
    if (!num_in(&s, 3, 0, maxh, &h))
        return false;
    if (*s == ':') {
        s++;
        if (!num_in(&s, 2, 0, 59, &m))
            return false;
        if (*s == ':') {
            s++;
            if (!num_in(&s, 2, 0, 59, &sec))
                return false;
        }
    }
    *p = s;
    *out = sign * (h * HOUR + m * 60 + sec);
    return true;
}

/* One rule date with an optional "/time" (default 02:00). */
static bool posix_rule(const char **p, tz_rule *r)
{
    const char *s = *p;
    memset(r, 0, sizeof *r);
    if (*s == 'J') {
        s++;
        r->kind = 'J';
        if (!num_in(&s, 3, 1, 365, &r->day))
            return false;
    } else if (*s == 'M') {
        s++;
        r->kind = 'M';
        if (!num_in(&s, 2, 1, 12, &r->month) || *s++ != '.' ||
            !num_in(&s, 1, 1, 5, &r->week) || *s++ != '.' ||
            !num_in(&s, 1, 0, 6, &r->day))
            return false;
    } else {
        r->kind = 'D';
        if (!num_in(&s, 3, 0, 365, &r->day))
            return false;
    }
    r->time = 2 * HOUR;
    if (*s == '/') {
        s++;
        if (!posix_hms(&s, 167, &r->time))
            return false;
    }
    *p = s;
    return true;
}

static bool posix_year(const tz_posix *p, int64_t y, int64_t *start, int64_t *end);

/* Parses a whole POSIX TZ string ("PST8PDT,M3.2.0,M11.1.0", "<+0330>-3:30").
 * A daylight name without rules gets the US rules, as in tzcode. */
static bool posix_parse(const char *s, tz_posix *out)
{
    tz_posix p;
    memset(&p, 0, sizeof p);
    if (!posix_abbr(&s) || !posix_hms(&s, 24, &p.std_off))
        return false;
    p.std_off = -p.std_off;     /* POSIX offsets are west positive */
    p.present = true;
    if (*s) {
        if (!posix_abbr(&s))
            return false;
        p.has_dst = true;
        p.dst_off = p.std_off + HOUR;
        if (*s == '+' || *s == '-' || is_digit(*s)) {
            if (!posix_hms(&s, 24, &p.dst_off))
                return false;
            p.dst_off = -p.dst_off;
        }
        if (*s == '\0') {
            const char *def = ",M3.2.0,M11.1.0";
            s = def;
        }
        if (*s++ != ',' || !posix_rule(&s, &p.start) || *s++ != ',' ||
            !posix_rule(&s, &p.end))
            return false;
    }
    if (*s)
        return false;
    /* perpetual daylight time: no year of a whole Gregorian cycle has
     * transitions (tzcode's "DST all year", e.g. "EST5EDT,0/0,J365/25") */
    p.perpetual = p.has_dst;
    for (int64_t y = 2000, st, en; y < 2400 && p.perpetual; y++)
        p.perpetual = !posix_year(&p, y, &st, &en);
    *out = p;
    return true;
}

/* Local time of rule R in year Y, as seconds since the epoch. */
static int64_t rule_local(const tz_rule *r, int64_t y)
{
    int64_t day;
    if (r->kind == 'J') {
        day = days64(y, 1, 1) + r->day - 1 + (is_leap(y) && r->day >= 60);
    } else if (r->kind == 'D') {
        day = days64(y, 1, 1) + r->day;
    } else {
        int64_t first = days64(y, r->month, 1);
        int wday = (int)((first % 7 + 11) % 7);     /* 1970-01-01 was a Thursday */
        day = first + (r->day - wday + 7) % 7 + 7 * (r->week - 1);
        while (day - first >= month_len(y, r->month))
            day -= 7;
    }
    return day * DAY + r->time;
}

/* The two transitions of P in year Y as instants.  Returns false when
 * daylight time lasts all year (tzcode's rule: start == end, or end at least
 * a year after start). */
static bool posix_year(const tz_posix *p, int64_t y, int64_t *start, int64_t *end)
{
    *start = rule_local(&p->start, y) - p->std_off;
    *end = rule_local(&p->end, y) - p->dst_off;
    int64_t ylen = (365 + is_leap(y)) * (int64_t)DAY;
    return *end < *start || (*start < *end && *end - *start < ylen);
}

static int64_t year_of(int64_t t)
{
    int64_t y;
    int m, d;
    civil64(floor_div(t, DAY), &y, &m, &d);
    return y;
}

/* The offset after the latest transition at or before T.  A year in which
 * daylight time would last all year has no transitions (as in tzcode): the
 * offset set by the year before stays in force, so that this function and
 * posix_next() always agree. */
static int32_t posix_offset(const tz_posix *p, int64_t t)
{
    if (!p->has_dst)
        return p->std_off;
    if (p->perpetual)
        return p->dst_off;
    t = clamp_t(t);
    int64_t y = year_of(t), best = INT64_MIN, found = INT64_MIN, s, e;
    int32_t off = p->std_off;
    /* transitions of year yy lie within about a week of it: once one at or
     * before T is found in year yy, year yy - 1 is the last to look at; a
     * non-perpetual rule has transitions in every 400 years */
    for (int64_t yy = y + 1; yy >= y - 402; yy--) {
        if (found != INT64_MIN && yy < found - 1)
            break;
        if (!posix_year(p, yy, &s, &e))
            continue;
        if (s <= t && s > best)
            best = s, off = p->dst_off;
        if (e <= t && e > best)
            best = e, off = p->std_off;
        if (best != INT64_MIN && found == INT64_MIN)
            found = yy;
    }
    return off;
}

/* The first footer transition after T: its instant and the offset after it. */
static bool posix_next(const tz_posix *p, int64_t t, int64_t *at, int32_t *off)
{
    if (!p->has_dst)
        return false;
    t = clamp_t(t);
    int64_t y = year_of(t), best = INT64_MAX, s, e;
    for (int64_t yy = y - 1; yy <= y + 2; yy++) {
        if (!posix_year(p, yy, &s, &e))
            continue;
        if (s > t && s < best)
            best = s, *off = p->dst_off;
        if (e > t && e < best)
            best = e, *off = p->std_off;
    }
    *at = best;
    return best != INT64_MAX;
}

/* ---- zones ---- */

static cr_tz *tz_new(const char *name)
{
    cr_tz *tz = calloc(1, sizeof *tz);
    if (!tz)
        return NULL;
    tz->name = cr_strdup(name ? name : "");
    if (!tz->name) {
        free(tz);
        return NULL;
    }
    return tz;
}

void cr_tz_free(cr_tz *tz)
{
    if (!tz)
        return;
    free(tz->name);
    free(tz->at);
    free(tz->off);
    free(tz);
}

const char *cr_tz_name(const cr_tz *tz)
{
    return tz ? tz->name : NULL;
}

cr_tz *cr_tz_from_posix(const char *name, const char *spec)
{
    tz_posix p;
    if (!spec || !posix_parse(spec, &p))
        return NULL;
    cr_tz *tz = tz_new(name ? name : spec);
    if (tz) {
        tz->rule = p;
        tz->off0 = p.std_off;
    }
    return tz;
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
    uint64_t u = (uint64_t)be32(p) << 32 | be32(p + 4);
    int64_t v;
    memcpy(&v, &u, sizeof v);   /* two's complement reinterpretation */
    return v;
}

static int32_t be32s(const unsigned char *p)
{
    uint32_t u = be32(p);
    int32_t v;
    memcpy(&v, &u, sizeof v);
    return v;
}

typedef struct tzif_hdr {
    int version;                /* 1, 2, 3, 4 */
    uint32_t isut, isstd, leap, time, type, chr;
} tzif_hdr;

#define TZIF_HDR 44

/* Reads a 44-byte TZif header; returns the size of the data block that
 * follows it (with TSIZE-byte times), or 0 when the header is invalid. */
static uint64_t tzif_header(const unsigned char *p, size_t left, int tsize, tzif_hdr *h)
{
    if (left < TZIF_HDR || memcmp(p, "TZif", 4) != 0)
        return 0;
    h->version = p[4] == 0 ? 1 : p[4] >= '2' && p[4] <= '9' ? p[4] - '0' : 0;
    if (!h->version)
        return 0;
    h->isut = be32(p + 20);
    h->isstd = be32(p + 24);
    h->leap = be32(p + 28);
    h->time = be32(p + 32);
    h->type = be32(p + 36);
    h->chr = be32(p + 40);
    return (uint64_t)h->time * (uint64_t)(tsize + 1) + (uint64_t)h->type * 6 + h->chr +
           (uint64_t)h->leap * (uint64_t)(tsize + 4) + h->isstd + h->isut;
}

/* Decodes the data block at P (header H, TSIZE-byte times) into TZ. */
static bool tzif_body(cr_tz *tz, const unsigned char *p, const tzif_hdr *h, int tsize)
{
    if (h->type == 0 || h->type > 256 || h->chr == 0 || h->leap != 0 ||
        (h->isstd != 0 && h->isstd != h->type) || (h->isut != 0 && h->isut != h->type))
        return false;   /* leap-second ("right/") zones are not supported */
    const unsigned char *times = p, *idx = p + (size_t)h->time * tsize;
    const unsigned char *types = idx + h->time;
    int32_t offs[256];
    for (uint32_t j = 0; j < h->type; j++) {
        const unsigned char *ty = types + 6 * j;
        offs[j] = be32s(ty);
        if (offs[j] < -MAX_UTOFF || offs[j] > MAX_UTOFF || ty[4] > 1 || ty[5] >= h->chr)
            return false;
    }
    tz->off0 = offs[0];
    tz->n = h->time;
    if (tz->n == 0)
        return true;
    tz->at = malloc(tz->n * sizeof *tz->at);
    tz->off = malloc(tz->n * sizeof *tz->off);
    if (!tz->at || !tz->off)
        return false;
    for (size_t i = 0; i < tz->n; i++) {
        tz->at[i] = tsize == 8 ? be64(times + 8 * i) : be32s(times + 4 * i);
        if ((i > 0 && tz->at[i] <= tz->at[i - 1]) || idx[i] >= h->type)
            return false;
        tz->off[i] = offs[idx[i]];
    }
    return true;
}

cr_tz *cr_tz_from_tzif(const char *name, const void *data, size_t len)
{
    const unsigned char *p = data;
    tzif_hdr h;
    int tsize = 4;
    if (!p)
        return NULL;
    uint64_t body = tzif_header(p, len, 4, &h);
    if (!body || body > len - TZIF_HDR)
        return NULL;
    if (h.version >= 2) {       /* skip the 32-bit block, use the 64-bit one */
        p += TZIF_HDR + body;
        len -= TZIF_HDR + body;
        tsize = 8;
        body = tzif_header(p, len, 8, &h);
        if (!body || body > len - TZIF_HDR || h.version < 2)
            return NULL;
    }
    cr_tz *tz = tz_new(name);
    if (!tz)
        return NULL;
    p += TZIF_HDR;
    len -= TZIF_HDR;
    if (!tzif_body(tz, p, &h, tsize))
        goto fail;
    if (tsize == 8) {           /* footer: "\n<POSIX TZ string>\n", may be empty */
        const unsigned char *f = p + body, *nl;
        size_t flen = len - body;
        char spec[FOOTER_MAX + 1];
        if (flen < 2 || f[0] != '\n' || !(nl = memchr(f + 1, '\n', flen - 1)))
            goto fail;
        size_t n = (size_t)(nl - f - 1);
        if (n > FOOTER_MAX || memchr(f + 1, '\0', n))
            goto fail;
        memcpy(spec, f + 1, n);
        spec[n] = '\0';
        if (n > 0 && !posix_parse(spec, &tz->rule))
            goto fail;
        /* RFC 8536 3.3: the footer must give the offset of the last
         * transition at that transition; one that does not would make
         * local -> UTC depend on which side of it the search started */
        if (n > 0 && tz->n > 0 && posix_offset(&tz->rule, tz->at[tz->n - 1]) != tz->off[tz->n - 1])
            goto fail;
    }
    return tz;
fail:
    cr_tz_free(tz);
    return NULL;
}

/* Zone names: 1-255 characters from [A-Za-z0-9_+-./], no "..", no leading '/'. */
static bool tz_name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > TZ_NAME_MAX || name[0] == '/' || strstr(name, ".."))
        return false;
    for (const char *s = name; *s; s++)
        if (!is_alpha(*s) && !is_digit(*s) && !strchr("_+-./", *s))
            return false;
    /* files of the zone folder that name no zone: the host's own setting
     * (days would follow the machine, not the configuration), the rules
     * POSIX TZ strings borrow, a placeholder */
    static const char *const not_zones[] = {"localtime", "posixrules", "Factory"};
    const char *base = strrchr(name, '/');
    base = base ? base + 1 : name;
    for (size_t i = 0; i < sizeof not_zones / sizeof not_zones[0]; i++)
        if (strcmp(base, not_zones[i]) == 0)
            return false;
    return true;
}

cr_tz *cr_tz_load(const char *name)
{
    if (!name || !tz_name_ok(name))
        return NULL;
    if (strcmp(name, "UTC") == 0 || strcmp(name, "Etc/UTC") == 0)
        return cr_tz_from_posix(name, "UTC0");

    const char *dir = getenv("TZDIR");
    char path[4096];
    unsigned char *buf = NULL;
    cr_tz *tz = NULL;
    FILE *f = NULL;
    if (!dir || !*dir)
        dir = "/usr/share/zoneinfo";
    int w = snprintf(path, sizeof path, "%s/%s", dir, name);
    if (w < 0 || (size_t)w >= sizeof path)
        goto done;
    if (!(f = fopen(path, "rb")) || !(buf = malloc(TZIF_MAX_BYTES + 1)))
        goto done;
    size_t len = fread(buf, 1, TZIF_MAX_BYTES + 1, f);
    if (ferror(f) || len > TZIF_MAX_BYTES)
        goto done;
    tz = cr_tz_from_tzif(name, buf, len);
done:
    free(buf);
    if (f)
        fclose(f);
    return tz;
}

int32_t cr_tz_offset_at(const cr_tz *tz, cr_time_t t)
{
    if (!tz)
        return 0;
    if (tz->n == 0)
        return tz->rule.present ? posix_offset(&tz->rule, t) : tz->off0;
    if (t < tz->at[0])
        return tz->off0;
    if (t > tz->at[tz->n - 1] && tz->rule.present)
        return posix_offset(&tz->rule, t);
    size_t lo = 0, hi = tz->n;      /* last i with at[i] <= t */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (tz->at[mid] <= t)
            lo = mid;
        else
            hi = mid;
    }
    return tz->off[lo];
}

/* The first transition strictly after T: its instant and the offset after. */
static bool next_transition(const cr_tz *tz, int64_t t, int64_t *at, int32_t *off)
{
    if (tz->n > 0 && t < tz->at[tz->n - 1]) {
        size_t lo = 0, hi = tz->n - 1;  /* first i with at[i] > t */
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (tz->at[mid] > t)
                hi = mid;
            else
                lo = mid + 1;
        }
        *at = tz->at[lo];
        *off = tz->off[lo];
        return true;
    }
    return tz->rule.present && posix_next(&tz->rule, t, at, off);
}

/* Walks the offset segments from a day before LOCAL onwards: the first
 * segment whose local span holds LOCAL gives the earlier instant of an
 * overlap; a LOCAL that falls between two segments (a gap) is read with the
 * offset of the segment before. */
cr_time_t cr_tz_to_utc(const cr_tz *tz, const cr_civil *local)
{
    /* segment [seg, end) has offset OFF: it shows LOCAL at l - off when
     * that falls inside it.  Every instant that can show LOCAL lies within
     * MAX_UTOFF of it, and transitions ascend, so the walk ends. */
    int64_t l = civil_secs(local), seg = l - MAX_UTOFF - HOUR, at, gap;
    int32_t off = cr_tz_offset_at(tz, seg), next;
    gap = l - off;
    for (;;) {
        bool more = tz && next_transition(tz, seg, &at, &next);
        int64_t u = l - off;
        if (u >= seg && (!more || u < at))
            return u;            /* the first segment showing it: the earlier instant */
        if (u >= seg)
            gap = u;             /* LOCAL is past this segment: the offset before a gap */
        if (!more || at > l + MAX_UTOFF + HOUR)
            return gap;
        seg = at;
        off = next;
    }
}

void cr_tz_from_utc(const cr_tz *tz, cr_time_t t, cr_civil *out)
{
    t = clamp_t(t);
    int64_t l = t + cr_tz_offset_at(tz, t), days = floor_div(l, DAY), y;
    int secs = (int)(l - days * DAY);
    civil64(days, &y, &out->month, &out->day);
    out->year = (int)y;
    out->hour = secs / HOUR;
    out->minute = secs / 60 % 60;
    out->second = secs % 60;
}

cr_day_t cr_tz_day_of(const cr_tz *tz, cr_time_t t)
{
    t = clamp_t(t);
    return sat_day(floor_div(t + cr_tz_offset_at(tz, t), DAY));
}

/* The last second of DAY: one second before the next day starts.  This
 * stays right where a daylight-saving change happens at midnight (23:59:59
 * repeated, or 00:00 skipped), where "23:59:59 local" would be ambiguous. */
cr_time_t cr_tz_end_of_day(const cr_tz *tz, cr_day_t day)
{
    cr_civil c = {0, 0, 0, 0, 0, 0};
    cr_civil_from_days(day + 1, &c.year, &c.month, &c.day);
    return cr_tz_to_utc(tz, &c) - 1;
}

/* ---- parsing ---- */

/* Case-insensitive ASCII match of the N bytes of WORD (lower case) at S. */
static bool word_at(const char *s, const char *word, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != word[i])
            return false;
    }
    return true;
}

/* Exactly N digits at *P. */
static bool fixed_num(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!is_digit((*p)[i]))
            return false;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return true;
}

/* "+hh", "+hhmm", "+hh:mm" (or '-') at *P -> seconds east. */
static bool offset_num(const char **p, int32_t *out)
{
    const char *s = *p;
    int sign, h, m = 0;
    if (*s != '+' && *s != '-')
        return false;
    sign = *s++ == '-' ? -1 : 1;
    if (!fixed_num(&s, 2, &h) || h > 23)
        return false;
    if (*s == ':') {
        s++;
        if (!fixed_num(&s, 2, &m))
            return false;
    } else if (is_digit(*s) && !fixed_num(&s, 2, &m)) {
        return false;
    }
    if (m > 59)
        return false;
    *p = s;
    *out = sign * (h * HOUR + m * 60);
    return true;
}

cr_err cr_parse_offset(const char *s, int32_t *out)
{
    int32_t v = 0;
    char o[8];
    if (!s || !out)
        return CR_EPARSE;
    if (word_at(s, "z", 1) && !s[1]) {
        *out = 0;
        return CR_OK;
    }
    if (word_at(s, "utc", 3) || word_at(s, "gmt", 3)) {
        s += 3;
        if (!*s) {
            *out = 0;
            return CR_OK;
        }
        /* "UTC+01:00", "GMT-5", as Windows and many exports write zones:
         * east of UTC positive (not the inverted sign of the Etc/GMT+5
         * zone file), and an hour of one digit read as "+05" */
        if ((s[0] == '+' || s[0] == '-') && is_digit(s[1]) && !is_digit(s[2]) &&
            snprintf(o, sizeof o, "%c0%s", s[0], s + 1) < (int)sizeof o)
            s = o;
    }
    if (!offset_num(&s, &v) || *s)
        return CR_EPARSE;
    *out = v;
    return CR_OK;
}

cr_err cr_parse_date(const char *s, cr_day_t *out)
{
    cr_civil c = {0, 0, 0, 0, 0, 0};
    if (!s || !out || !fixed_num(&s, 4, &c.year) || *s++ != '-' ||
        !fixed_num(&s, 2, &c.month) || *s++ != '-' || !fixed_num(&s, 2, &c.day) || *s ||
        !cr_civil_valid(&c))
        return CR_EPARSE;
    *out = cr_days_from_civil(c.year, c.month, c.day);
    return CR_OK;
}

cr_err cr_parse_iso_instant(const char *s, cr_time_t *out)
{
    cr_civil c;
    int32_t off = 0;
    if (!s || !out || !fixed_num(&s, 4, &c.year) || *s++ != '-' ||
        !fixed_num(&s, 2, &c.month) || *s++ != '-' || !fixed_num(&s, 2, &c.day))
        return CR_EPARSE;
    if (*s != 'T' && *s != 't' && *s != ' ')
        return CR_EPARSE;
    s++;
    if (!fixed_num(&s, 2, &c.hour) || *s++ != ':' || !fixed_num(&s, 2, &c.minute))
        return CR_EPARSE;
    /* ISO 8601 allows the seconds to be left out (then no fraction) */
    bool has_second = *s == ':';
    c.second = 0;
    if (has_second && (s++, !fixed_num(&s, 2, &c.second)))
        return CR_EPARSE;
    if (has_second && (*s == '.' || *s == ',')) {   /* ISO 8601: either mark */
        if (!is_digit(*++s))
            return CR_EPARSE;
        while (is_digit(*s))
            s++;
    }
    if (*s == 'Z' || *s == 'z')
        s++;
    else if (!offset_num(&s, &off))
        return CR_EPARSE;
    if (*s || !cr_civil_valid(&c))
        return CR_EPARSE;
    *out = civil_secs(&c) - off;
    return CR_OK;
}

/* What cr_parse_datetime has read so far. */
typedef struct dt_state {
    cr_civil c;
    int hour12, pm;             /* pm: -1 not read, 0 AM, 1 PM */
    bool has_y, has_m, has_d, has_i, has_off;
    bool frac;                  /* %f read a fraction other than zero */
    int32_t off;
} dt_state;

static const char *const month_names[12] = {
    "january", "february", "march", "april", "may", "june", "july",
    "august", "september", "october", "november", "december"};

/* The index of the English name in NAMES[0..N) at *P, full or its first
 * three letters, any case (full names win); -1 when none. */
static int name_at(const char **p, const char *const *names, int n)
{
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < n; i++) {
            size_t len = pass == 0 ? strlen(names[i]) : 3;
            if (word_at(*p, names[i], len)) {
                *p += len;
                return i;
            }
        }
    return -1;
}

/* An English month name, full or three-letter, any case. */
static bool month_name(const char **p, int *out)
{
    int i = name_at(p, month_names, 12);
    *out = i + 1;
    return i >= 0;
}

static const char *const day_names[7] = {"monday", "tuesday", "wednesday", "thursday",
                                         "friday", "saturday", "sunday"};

/* An English weekday name, full or three-letter, any case (read, not
 * checked against the date, as strptime does). */
static bool day_name(const char **p)
{
    return name_at(p, day_names, 7) >= 0;
}

/* Seconds since 1970-01-01T00:00:00Z ("%s"), at most 11 digits: a date and
 * time in UTC. */
static bool epoch_secs(const char **p, dt_state *st)
{
    const char *s = *p;
    bool neg = *s == '-';
    int64_t v = 0;
    int n = 0;
    if (neg)
        s++;
    for (; is_digit(*s) && n < 12; s++, n++)
        v = v * 10 + (*s - '0');
    if (n == 0 || n > 11)
        return false;
    cr_tz_from_utc(NULL, neg ? -v : v, &st->c);
    st->has_y = st->has_m = st->has_d = st->has_off = true;
    st->off = 0;
    *p = s;
    return true;
}

/* Up to MAXD (at least one) digits at *P. */
static bool var_num(const char **p, int maxd, int *out)
{
    return num_in(p, maxd, 0, 9999, out);
}

static bool dt_scan(const char *fmt, const char **sp, dt_state *st);

/* One conversion directive D at *SP. */
static bool dt_directive(char d, const char **sp, dt_state *st)
{
    const char **p = sp;
    int v;
    switch (d) {
    case 'Y':
        st->has_y = true;
        return fixed_num(p, 4, &st->c.year);
    case 'y':
        if (!fixed_num(p, 2, &v))
            return false;
        st->c.year = v < 69 ? 2000 + v : 1900 + v;
        st->has_y = true;
        return true;
    case 'm':
        st->has_m = true;
        return var_num(p, 2, &st->c.month);
    case 'e':
        if (**p == ' ')
            (*p)++;
        /* fall through */
    case 'd':
        st->has_d = true;
        return var_num(p, 2, &st->c.day);
    case 'H':
        return var_num(p, 2, &st->c.hour);
    case 'I':
        st->has_i = true;
        return var_num(p, 2, &st->hour12);
    case 'M':
        return var_num(p, 2, &st->c.minute);
    case 'S':
        return var_num(p, 2, &st->c.second);
    case 'p':
        if (word_at(*p, "am", 2) || word_at(*p, "pm", 2)) {
            st->pm = (**p == 'p' || **p == 'P');
            *p += 2;
            return true;
        }
        return false;
    case 'f':
        if (!is_digit(**p))
            return false;
        while (is_digit(**p))
            st->frac |= *(*p)++ != '0';
        return true;
    case 'b':
    case 'h':
    case 'B':
        st->has_m = true;
        return month_name(p, &st->c.month);
    case 'z':
        st->has_off = true;
        if (**p == 'Z' || **p == 'z') {
            (*p)++;
            st->off = 0;
            return true;
        }
        return offset_num(p, &st->off);
    case 'a':
    case 'A':
        return day_name(p);
    case 's':
        return epoch_secs(p, st);
    case 'R':
        return dt_scan("%H:%M", p, st);
    case 'D':
        return dt_scan("%m/%d/%y", p, st);
    case 'T':
        return dt_scan("%H:%M:%S", p, st);
    case 'F':
        return dt_scan("%Y-%m-%d", p, st);
    case '%':
        if (**p != '%')
            return false;
        (*p)++;
        return true;
    default:
        return false;
    }
}

/* Matches FMT against the text at *SP, advancing *SP. */
/* Whether FMT is only a UTC offset at its end: "%z", perhaps after blanks. */
static bool only_offset(const char *fmt)
{
    while (*fmt == ' ' || *fmt == '\t')
        fmt++;
    return fmt[0] == '%' && fmt[1] == 'z' && !fmt[2];
}

/* The length of a literal word of FMT naming UTC ("Z", "UTC", "GMT"), not
 * part of a longer word (PREV_LETTER: the literal before FMT is a letter),
 * or 0. */
static size_t utc_word(const char *fmt, bool prev_letter)
{
    static const char *const words[] = {"Z", "UTC", "GMT"};
    if (prev_letter)
        return 0;
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        size_t n = strlen(words[i]);
        if (strncmp(fmt, words[i], n) == 0 && !is_alpha(fmt[n]))
            return n;
    }
    return 0;
}

static bool dt_scan(const char *fmt, const char **sp, dt_state *st)
{
    bool prev_num = false;     /* the directive before was a number, packed against this one */
    bool prev_letter = false;  /* the literal before was a letter */
    size_t n;
    while (*fmt) {
        if (only_offset(fmt)) {
            /* a value that ends before its offset has none: the caller
             * reads it in its time zone (SPEC 3: "for times without an
             * offset") */
            const char *t = *sp;
            while (*t == ' ' || *t == '\t')
                t++;
            if (!*t) {
                *sp = t;
                return true;
            }
        }
        if (*fmt == ' ' || *fmt == '\t') {
            /* blanks match blanks; before an offset none too, as in
             * strptime ("10:00:00+00:00" as "%H:%M:%S %z": a sign or a Z
             * cannot be read as part of the number before it) */
            while (*fmt == ' ' || *fmt == '\t')
                fmt++;
            if (**sp != ' ' && **sp != '\t' && !(fmt[0] == '%' && fmt[1] == 'z'))
                return false;
            while (**sp == ' ' || **sp == '\t')
                (*sp)++;
        } else if (*fmt == '%') {
            const char *at = *sp;
            if (!fmt[1] || !dt_directive(fmt[1], sp, st))
                return false;
            /* a number packed against another ("%H%M%S") has its full two
             * digits: "10000" is not 01:00:00 read as 10:00:0 */
            bool num = strchr("mdeHIMSYyf", fmt[1]) != NULL;
            bool next_num = fmt[2] == '%' && fmt[3] && strchr("mdeHIMSYyf", fmt[3]);
            if (num && (prev_num || next_num) && strchr("mdeHIMS", fmt[1])) {
                while (*at == ' ')
                    at++;
                if (*sp - at != 2)
                    return false;
            }
            prev_num = num;
            prev_letter = false;
            fmt += 2;
            continue;
        } else if ((*fmt == '.' || *fmt == ',') && fmt[1] == '%' && fmt[2] == 'f' && **sp != *fmt) {
            /* a fraction of a second may be left out, as ISO 8601 writers
             * do for whole seconds ("10:00:00" beside "10:00:00.25") */
            fmt += 3;
            continue;
        } else if ((n = utc_word(fmt, prev_letter)) > 0) {
            /* "%H:%M:%SZ", "%H:%M:%S UTC": the value says it is in UTC, so
             * the feed's timezone (for times without an offset) is not its */
            if (strncmp(*sp, fmt, n) != 0)
                return false;
            *sp += n;
            fmt += n;
            st->has_off = true;
            st->off = 0;
        } else {
            if (**sp != *fmt)
                return false;
            (*sp)++;
            prev_letter = is_alpha(*fmt);
            fmt++;
            prev_num = false;
            continue;
        }
        prev_num = false;
        prev_letter = false;
    }
    return true;
}

cr_err cr_parse_datetime(const char *fmt, const char *s, cr_civil *out,
                         bool *has_offset, int32_t *offset, bool *fraction)
{
    dt_state st;
    memset(&st, 0, sizeof st);
    st.pm = -1;
    if (!fmt || !s || !out || !dt_scan(fmt, &s, &st) || *s)
        return CR_EPARSE;
    if (!st.has_y || !st.has_m || !st.has_d || st.has_i != (st.pm >= 0))
        return CR_EPARSE;
    if (st.has_i) {
        if (st.hour12 < 1 || st.hour12 > 12)
            return CR_EPARSE;
        st.c.hour = st.hour12 % 12 + (st.pm ? 12 : 0);
    }
    if (!cr_civil_valid(&st.c))
        return CR_EPARSE;
    *out = st.c;
    if (has_offset)
        *has_offset = st.has_off;
    if (offset)
        *offset = st.has_off ? st.off : 0;
    if (fraction)
        *fraction = st.frac;
    return CR_OK;
}

/* ---- formatting ---- */

void cr_format_utc(cr_time_t t, char *buf, size_t n)
{
    cr_civil c;
    if (!buf || n == 0)
        return;
    cr_tz_from_utc(NULL, t, &c);
    snprintf(buf, n, "%04d-%02d-%02dT%02d:%02d:%02dZ", c.year, c.month, c.day, c.hour,
             c.minute, c.second);
}

void cr_format_local(const cr_tz *tz, cr_time_t t, char *buf, size_t n)
{
    cr_civil c;
    if (!buf || n == 0)
        return;
    cr_tz_from_utc(tz, t, &c);
    snprintf(buf, n, "%04d-%02d-%02d %02d:%02d:%02d", c.year, c.month, c.day, c.hour,
             c.minute, c.second);
}

void cr_format_zoned(const cr_tz *tz, cr_time_t t, char *buf, size_t n)
{
    char local[32];
    if (!buf || n == 0)
        return;
    if (!tz) {
        cr_format_utc(t, buf, n);
        return;
    }
    int32_t off = cr_tz_offset_at(tz, t);
    int32_t a = off < 0 ? -off : off;
    cr_format_local(tz, t, local, sizeof local);
    snprintf(buf, n, "%s %c%02d:%02d", local, off < 0 ? '-' : '+', (int)(a / 3600),
             (int)(a / 60 % 60));
}

void cr_format_day(cr_day_t day, char *buf, size_t n)
{
    int y, m, d;
    if (!buf || n == 0)
        return;
    cr_civil_from_days(day, &y, &m, &d);
    snprintf(buf, n, "%04d-%02d-%02d", y, m, d);
}

cr_time_t cr_time_min(cr_time_t a, cr_time_t b)
{
    if (a == CR_TIME_NONE)
        return b;
    if (b == CR_TIME_NONE)
        return a;
    return a < b ? a : b;
}
