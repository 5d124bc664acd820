/* test_crtime.c - unit tests for crtime.c.  Zone tests use the system's
 * tzdata (/usr/share/zoneinfo) and TZif files built here. */
#include "harness.h"
#include "crtime.h"

#include <stdlib.h>
#include <unistd.h>

/* Expected instants were taken from `date -u -d ... +%s` and zdump. */
#define T_2026_03_08_1000Z 1772964000LL
#define T_2026_11_01_0830Z 1793521800LL
#define T_2026_03_29_0100Z 1774746000LL
#define T_2026_10_25_0100Z 1792890000LL
#define T_2026_11_20_190355Z 1795201435LL

static cr_civil civ(int y, int mo, int d, int h, int mi, int s)
{
    cr_civil c = {y, mo, d, h, mi, s};
    return c;
}

static cr_time_t to_utc(const cr_tz *tz, int y, int mo, int d, int h, int mi, int s)
{
    cr_civil c = civ(y, mo, d, h, mi, s);
    return cr_tz_to_utc(tz, &c);
}

/* ---- building TZif files ---- */

typedef struct tbuf { unsigned char b[4096]; size_t n; } tbuf;

static void put(tbuf *t, const void *p, size_t n)
{
    if (n > 0)
        memcpy(t->b + t->n, p, n);
    t->n += n;
}

static void put32(tbuf *t, uint32_t v)
{
    unsigned char c[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 8), (unsigned char)v};
    put(t, c, 4);
}

static void tzif_hdr(tbuf *t, char ver, uint32_t leap, uint32_t ntime, uint32_t ntype)
{
    static const unsigned char zero[15];
    put(t, "TZif", 4);
    put(t, &ver, 1);
    put(t, zero, 15);
    put32(t, 0);        /* isutcnt */
    put32(t, 0);        /* isstdcnt */
    put32(t, leap);
    put32(t, ntime);
    put32(t, ntype);
    put32(t, 4);        /* charcnt: "ABC\0" */
}

/* A TZif file: N transitions AT[i] to type IDX[i], NTYPE types with offsets
 * OFF[]; VER 0 writes a version-1 file (32-bit times, no footer), else a
 * minimal v1 block, the 64-bit block and FOOTER. */
static size_t make_tzif(tbuf *t, char ver, size_t n, const int64_t *at,
                        const unsigned char *idx, size_t ntype, const int32_t *off,
                        const char *footer)
{
    t->n = 0;
    if (ver != 0) {
        tzif_hdr(t, ver, 0, 0, 1);
        put32(t, 0);
        put(t, "\0\0ABC", 6);       /* isdst 0, abbr 0, then "ABC\0" */
    }
    tzif_hdr(t, ver, 0, (uint32_t)n, (uint32_t)ntype);
    for (size_t i = 0; i < n; i++) {
        if (ver != 0)
            put32(t, (uint32_t)((uint64_t)at[i] >> 32));
        put32(t, (uint32_t)at[i]);
    }
    put(t, idx, n);
    for (size_t j = 0; j < ntype; j++) {
        put32(t, (uint32_t)off[j]);
        put(t, "\0", 2);            /* isdst 0, abbr index 0 */
    }
    put(t, "ABC", 4);
    if (ver != 0) {
        put(t, "\n", 1);
        put(t, footer, strlen(footer));
        put(t, "\n", 1);
    }
    return t->n;
}

/* ---- civil arithmetic ---- */

TEST(crtime_days_civil)
{
    int y, m, d;
    CHECK_INT(cr_days_from_civil(1970, 1, 1), 0);
    CHECK_INT(cr_days_from_civil(2026, 11, 20), 20777);
    CHECK_INT(cr_days_from_civil(1969, 12, 31), -1);
    CHECK_INT(cr_days_from_civil(2000, 3, 1), 11017);
    CHECK_INT(cr_days_from_civil(0, 1, 1), -719528);
    cr_civil_from_days(20777, &y, &m, &d);
    CHECK(y == 2026 && m == 11 && d == 20);
    cr_civil_from_days(-719528, &y, &m, &d);
    CHECK(y == 0 && m == 1 && d == 1);
    for (int day = -800000; day < 3000000; day += 17) {
        cr_civil_from_days(day, &y, &m, &d);
        if (cr_days_from_civil(y, m, d) != day) {
            CHECK_INT(cr_days_from_civil(y, m, d), day);
            break;
        }
    }
    CHECK(1);
    cr_civil_from_days(INT32_MIN, &y, &m, &d);     /* extremes are safe */
    cr_civil_from_days(INT32_MAX, &y, &m, &d);
    CHECK(cr_days_from_civil(INT32_MAX, 12, 31) == INT32_MAX);
    CHECK(cr_days_from_civil(INT32_MIN, 1, 1) == INT32_MIN);
    (void)cr_days_from_civil(2026, INT32_MIN, INT32_MAX);
}

TEST(crtime_civil_valid)
{
    cr_civil c = civ(2024, 2, 29, 23, 59, 59);
    CHECK(cr_civil_valid(&c));
    c = civ(2025, 2, 29, 0, 0, 0);
    CHECK(!cr_civil_valid(&c));
    c = civ(1900, 2, 29, 0, 0, 0);
    CHECK(!cr_civil_valid(&c));
    c = civ(2000, 2, 29, 0, 0, 0);
    CHECK(cr_civil_valid(&c));
    c = civ(2026, 4, 31, 0, 0, 0);
    CHECK(!cr_civil_valid(&c));
    c = civ(2026, 13, 1, 0, 0, 0);
    CHECK(!cr_civil_valid(&c));
    c = civ(2026, 0, 1, 0, 0, 0);
    CHECK(!cr_civil_valid(&c));
    c = civ(2026, 1, 0, 0, 0, 0);
    CHECK(!cr_civil_valid(&c));
    c = civ(2026, 1, 1, 24, 0, 0);
    CHECK(!cr_civil_valid(&c));
    c = civ(2026, 1, 1, 0, 60, 0);
    CHECK(!cr_civil_valid(&c));
    c = civ(2026, 1, 1, 0, 0, 60);
    CHECK(!cr_civil_valid(&c));
    c = civ(2026, 1, 1, -1, 0, 0);
    CHECK(!cr_civil_valid(&c));
    c = civ(10000, 1, 1, 0, 0, 0);
    CHECK(!cr_civil_valid(&c));
    CHECK(!cr_civil_valid(NULL));
}

/* ---- zones ---- */

TEST(crtime_tz_utc_builtin)
{
    const char *old = getenv("TZDIR");
    char *saved = old ? cr_strdup(old) : NULL;
    setenv("TZDIR", "/nonexistent-zoneinfo", 1);
    cr_tz *u = cr_tz_load("UTC"), *e = cr_tz_load("Etc/UTC");
    cr_tz *la = cr_tz_load("America/Los_Angeles");
    CHECK(u != NULL);
    CHECK(e != NULL);
    CHECK(la == NULL);
    CHECK_STR(cr_tz_name(u), "UTC");
    CHECK_STR(cr_tz_name(e), "Etc/UTC");
    CHECK_INT(cr_tz_offset_at(u, T_2026_11_20_190355Z), 0);
    CHECK_INT(to_utc(e, 2026, 11, 20, 19, 3, 55), T_2026_11_20_190355Z);
    CHECK_INT(cr_tz_offset_at(NULL, 0), 0);
    cr_tz_free(u);
    cr_tz_free(e);
    cr_tz_free(la);
    cr_tz_free(NULL);
    if (saved)
        setenv("TZDIR", saved, 1);
    else
        unsetenv("TZDIR");
    free(saved);
}

TEST(crtime_tz_bad_names)
{
    static const char *bad[] = {"", "/etc/passwd", "../etc/passwd", "America/../UTC",
                                "America/..", "..", "Nowhere/Land", "America",
                                "UTC ", "America/Los Angeles", "Europe\\Berlin", "utc\n",
                                /* in the zone folder, but no zone */
                                "localtime", "posixrules", "Factory", "posix/Factory"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_tz *tz = cr_tz_load(bad[i]);
        CHECK(tz == NULL);
        cr_tz_free(tz);
    }
    char longname[400];
    memset(longname, 'A', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    CHECK(cr_tz_load(longname) == NULL);
    CHECK(cr_tz_load(NULL) == NULL);
}

TEST(crtime_tz_la_gap_overlap)
{
    cr_tz *la = cr_tz_load("America/Los_Angeles");
    CHECK(la != NULL);
    if (!la)
        return;
    CHECK_STR(cr_tz_name(la), "America/Los_Angeles");
    /* 2026-03-08 02:30 does not exist: read as PST, i.e. 03:30 PDT */
    CHECK_INT(to_utc(la, 2026, 3, 8, 2, 30, 0), T_2026_03_08_1000Z + 1800);
    CHECK_INT(to_utc(la, 2026, 3, 8, 2, 0, 0), T_2026_03_08_1000Z);
    CHECK_INT(to_utc(la, 2026, 3, 8, 1, 59, 59), T_2026_03_08_1000Z - 1);
    CHECK_INT(to_utc(la, 2026, 3, 8, 3, 0, 0), T_2026_03_08_1000Z);
    CHECK_INT(to_utc(la, 2026, 3, 8, 3, 30, 0), T_2026_03_08_1000Z + 1800);
    CHECK_INT(cr_tz_offset_at(la, T_2026_03_08_1000Z - 1), -28800);
    CHECK_INT(cr_tz_offset_at(la, T_2026_03_08_1000Z), -25200);
    /* 2026-11-01 01:30 exists twice: the earlier one is PDT */
    CHECK_INT(to_utc(la, 2026, 11, 1, 1, 30, 0), T_2026_11_01_0830Z);
    CHECK_INT(to_utc(la, 2026, 11, 1, 0, 59, 59), T_2026_11_01_0830Z - 1801);
    CHECK_INT(to_utc(la, 2026, 11, 1, 2, 0, 0), T_2026_11_01_0830Z + 1800 + 3600);
    CHECK_INT(cr_tz_offset_at(la, T_2026_11_01_0830Z + 1799), -25200);
    CHECK_INT(cr_tz_offset_at(la, T_2026_11_01_0830Z + 1800), -28800);
    /* the repeated hour comes back from UTC as the same local time */
    cr_civil c;
    cr_tz_from_utc(la, T_2026_11_01_0830Z + 3600, &c);
    CHECK(c.year == 2026 && c.month == 11 && c.day == 1 && c.hour == 1 && c.minute == 30);
    cr_tz_free(la);
}

TEST(crtime_tz_berlin_gap_overlap)
{
    cr_tz *be = cr_tz_load("Europe/Berlin");
    CHECK(be != NULL);
    if (!be)
        return;
    /* 2026-03-29 02:30 does not exist: read as CET, i.e. 03:30 CEST */
    CHECK_INT(to_utc(be, 2026, 3, 29, 2, 30, 0), T_2026_03_29_0100Z + 1800);
    CHECK_INT(to_utc(be, 2026, 3, 29, 1, 59, 59), T_2026_03_29_0100Z - 1);
    CHECK_INT(to_utc(be, 2026, 3, 29, 3, 0, 0), T_2026_03_29_0100Z);
    /* 2026-10-25 02:30 exists twice: the earlier one is CEST */
    CHECK_INT(to_utc(be, 2026, 10, 25, 2, 30, 0), T_2026_10_25_0100Z - 1800);
    CHECK_INT(to_utc(be, 2026, 10, 25, 3, 0, 0), T_2026_10_25_0100Z + 3600);
    CHECK_INT(cr_tz_offset_at(be, T_2026_10_25_0100Z - 1), 7200);
    CHECK_INT(cr_tz_offset_at(be, T_2026_10_25_0100Z), 3600);
    cr_tz_free(be);
}

TEST(crtime_tz_after_2037_footer)
{
    cr_tz *la = cr_tz_load("America/Los_Angeles"), *be = cr_tz_load("Europe/Berlin");
    CHECK(la && be);
    if (!la || !be) {
        cr_tz_free(la);
        cr_tz_free(be);
        return;
    }
    /* 2040 (zdump): LA Mar 11 10:00Z / Nov 4 09:00Z; Berlin Mar 25 / Oct 28 01:00Z */
    CHECK_INT(to_utc(la, 2040, 3, 11, 2, 30, 0), 2215074600LL);
    CHECK_INT(to_utc(la, 2040, 11, 4, 1, 30, 0), 2235630600LL);
    CHECK_INT(cr_tz_offset_at(la, 2215074600LL - 1801), -28800);
    CHECK_INT(cr_tz_offset_at(la, 2215074600LL - 1800), -25200);
    CHECK_INT(to_utc(be, 2040, 3, 25, 2, 30, 0), 2216251800LL);
    CHECK_INT(to_utc(be, 2040, 10, 28, 2, 30, 0), 2234997000LL);
    CHECK_INT(cr_tz_offset_at(la, 4115491200LL), -25200);   /* 2100-06-01 */
    CHECK_INT(cr_tz_offset_at(be, 4115491200LL), 7200);
    CHECK_INT(cr_tz_offset_at(be, 253402300799LL), 3600);   /* 9999-12-31 */
    int32_t far = cr_tz_offset_at(be, INT64_MAX);            /* clamped, no overflow */
    CHECK(far == 3600 || far == 7200);
    cr_civil c;
    cr_tz_from_utc(la, INT64_MAX, &c);
    cr_tz_from_utc(la, INT64_MIN, &c);
    CHECK_INT(cr_tz_day_of(la, INT64_MAX), INT32_MAX);
    CHECK_INT(cr_tz_day_of(la, INT64_MIN), INT32_MIN);
    cr_tz_free(la);
    cr_tz_free(be);
}

TEST(crtime_tz_before_first_transition)
{
    cr_tz *la = cr_tz_load("America/Los_Angeles"), *be = cr_tz_load("Europe/Berlin");
    CHECK(la && be);
    if (!la || !be) {
        cr_tz_free(la);
        cr_tz_free(be);
        return;
    }
    /* local mean time: LA -7:52:58 until 1883-11-18, Berlin +0:53:28 until 1893 */
    CHECK_INT(cr_tz_offset_at(la, -5364619200LL), -28378);
    CHECK_INT(to_utc(la, 1800, 1, 1, 12, 0, 0), -5364619200LL + 28378);
    CHECK_INT(cr_tz_offset_at(be, -3786825600LL), 3208);
    CHECK_INT(cr_tz_offset_at(la, INT64_MIN), -28378);
    cr_tz_free(la);
    cr_tz_free(be);
}

TEST(crtime_tz_day_of_and_end_of_day)
{
    cr_tz *la = cr_tz_load("America/Los_Angeles"), *be = cr_tz_load("Europe/Berlin");
    CHECK(la && be);
    if (!la || !be) {
        cr_tz_free(la);
        cr_tz_free(be);
        return;
    }
    cr_day_t d = cr_days_from_civil(2026, 11, 20);
    CHECK_INT(cr_tz_end_of_day(la, d), 1795247999LL);       /* 2026-11-21 07:59:59Z */
    CHECK_INT(cr_tz_day_of(la, T_2026_11_20_190355Z), d);
    CHECK_INT(cr_tz_day_of(la, 1795247999LL), d);
    CHECK_INT(cr_tz_day_of(la, 1795247999LL + 1), d + 1);
    CHECK_INT(cr_tz_day_of(NULL, 1795247999LL), d + 1);
    CHECK_INT(cr_tz_end_of_day(NULL, d), 1795132800LL + 86399);
    /* 23:59:59 in CEST on the spring-forward day, CET on the fall-back day */
    CHECK_INT(cr_tz_end_of_day(be, cr_days_from_civil(2026, 3, 29)),
              T_2026_03_29_0100Z + 21 * 3600 - 1);
    CHECK_INT(cr_tz_end_of_day(be, cr_days_from_civil(2026, 10, 25)),
              T_2026_10_25_0100Z + 22 * 3600 - 1);
    CHECK_INT(cr_tz_day_of(be, -1), 0);                     /* 1970-01-01 00:59:59 local */
    CHECK_INT(cr_tz_day_of(la, 0), -1);
    cr_tz_free(la);
    cr_tz_free(be);
}

TEST(crtime_tz_from_utc_roundtrip)
{
    static const char *zones[] = {"America/Los_Angeles", "Europe/Berlin", "Asia/Tehran",
                                  "Australia/Sydney", "America/Santiago", "UTC"};
    for (size_t z = 0; z < sizeof zones / sizeof zones[0]; z++) {
        cr_tz *tz = cr_tz_load(zones[z]);
        CHECK(tz != NULL);
        if (!tz)
            continue;
        int bad = 0;
        /* every instant maps to a local time that maps back to it, except
         * the later copy of a repeated hour (which reads as the earlier) */
        for (int64_t t = 1577836800LL; t < 2524608000LL; t += 3 * 3600 + 7) {
            cr_civil c;
            cr_tz_from_utc(tz, t, &c);
            cr_time_t back = cr_tz_to_utc(tz, &c);
            if (back != t && !(back < t && cr_tz_offset_at(tz, back) > cr_tz_offset_at(tz, t)))
                bad++;
        }
        CHECK_INT(bad, 0);
        cr_tz_free(tz);
    }
}

/* ---- POSIX TZ strings ---- */

TEST(crtime_posix_fixed)
{
    cr_tz *ir = cr_tz_from_posix("x", "<+0330>-3:30"), *est = cr_tz_from_posix(NULL, "EST5");
    CHECK(ir && est);
    CHECK_INT(cr_tz_offset_at(ir, 0), 12600);
    CHECK_INT(cr_tz_offset_at(est, 4115491200LL), -18000);
    CHECK_STR(cr_tz_name(est), "EST5");
    CHECK_INT(to_utc(ir, 2026, 11, 20, 22, 33, 55), T_2026_11_20_190355Z);
    cr_tz_free(ir);
    cr_tz_free(est);
    cr_tz *neg = cr_tz_from_posix(NULL, "<-0130>+1:30:15");
    CHECK_INT(cr_tz_offset_at(neg, 0), -5415);
    cr_tz_free(neg);
}

TEST(crtime_posix_rules)
{
    /* US rules; default time 02:00; explicit /3 for the EU end */
    cr_tz *us = cr_tz_from_posix(NULL, "PST8PDT,M3.2.0,M11.1.0");
    cr_tz *eu = cr_tz_from_posix(NULL, "CET-1CEST,M3.5.0,M10.5.0/3");
    cr_tz *us_def = cr_tz_from_posix(NULL, "PST8PDT");    /* default US rules */
    CHECK(us && eu && us_def);
    CHECK_INT(to_utc(us, 2026, 3, 8, 2, 30, 0), T_2026_03_08_1000Z + 1800);
    CHECK_INT(to_utc(us, 2026, 11, 1, 1, 30, 0), T_2026_11_01_0830Z);
    CHECK_INT(to_utc(us_def, 2026, 11, 1, 1, 30, 0), T_2026_11_01_0830Z);
    CHECK_INT(to_utc(eu, 2026, 3, 29, 2, 30, 0), T_2026_03_29_0100Z + 1800);
    CHECK_INT(to_utc(eu, 2026, 10, 25, 2, 30, 0), T_2026_10_25_0100Z - 1800);
    cr_tz_free(us);
    cr_tz_free(eu);
    cr_tz_free(us_def);
}

TEST(crtime_posix_negative_and_long_times)
{
    /* America/Nuuk: -1:00 and 0:00 local, i.e. 01:00Z like the EU */
    cr_tz *nuuk = cr_tz_from_posix(NULL, "<-02>2<-01>,M3.5.0/-1,M10.5.0/0");
    /* Asia/Jerusalem: 4th Thursday of March at 26:00 = Friday 02:00 */
    cr_tz *jer = cr_tz_from_posix(NULL, "IST-2IDT,M3.4.4/26,M10.5.0");
    /* America/Santiago: southern, 24:00 on the first Saturday */
    cr_tz *scl = cr_tz_from_posix(NULL, "<-04>4<-03>,M9.1.6/24,M4.1.6/24");
    CHECK(nuuk && jer && scl);
    CHECK_INT(cr_tz_offset_at(nuuk, T_2026_03_29_0100Z - 1), -7200);
    CHECK_INT(cr_tz_offset_at(nuuk, T_2026_03_29_0100Z), -3600);
    CHECK_INT(cr_tz_offset_at(nuuk, T_2026_10_25_0100Z - 1), -3600);
    CHECK_INT(cr_tz_offset_at(nuuk, T_2026_10_25_0100Z), -7200);
    /* 2026-03-27 00:00Z and 2026-10-24 23:00Z */
    CHECK_INT(cr_tz_offset_at(jer, 1774569600LL - 1), 7200);
    CHECK_INT(cr_tz_offset_at(jer, 1774569600LL), 10800);
    CHECK_INT(cr_tz_offset_at(jer, 1792882800LL - 1), 10800);
    CHECK_INT(cr_tz_offset_at(jer, 1792882800LL), 7200);
    /* Santiago 2026: DST ends Sun Apr 5 03:00Z, starts Sun Sep 6 04:00Z */
    CHECK_INT(cr_tz_offset_at(scl, 1767225600LL), -10800);   /* 2026-01-01 */
    CHECK_INT(cr_tz_offset_at(scl, 1775358000LL - 1), -10800);
    CHECK_INT(cr_tz_offset_at(scl, 1775358000LL), -14400);
    CHECK_INT(cr_tz_offset_at(scl, 1788667200LL - 1), -14400);
    CHECK_INT(cr_tz_offset_at(scl, 1788667200LL), -10800);
    /* local 2026-09-06 00:30 does not exist (moved to 01:30 -03) */
    CHECK_INT(to_utc(scl, 2026, 9, 6, 0, 30, 0), 1788667200LL + 1800);
    cr_tz_free(nuuk);
    cr_tz_free(jer);
    cr_tz_free(scl);
}

TEST(crtime_posix_julian_and_permanent)
{
    /* J60 is always March 1; n counts Feb 29 (59 = Feb 29 in 2028) */
    cr_tz *j = cr_tz_from_posix(NULL, "AAA0BBB,J60/0,J305/0");
    cr_tz *n = cr_tz_from_posix(NULL, "AAA0BBB,59/0,304/0");
    cr_tz *perm = cr_tz_from_posix(NULL, "EST5EDT,0/0,J365/25");
    CHECK(j && n && perm);
    int64_t mar1_2028 = (int64_t)cr_days_from_civil(2028, 3, 1) * 86400;
    int64_t feb29_2028 = mar1_2028 - 86400;
    CHECK_INT(cr_tz_offset_at(j, mar1_2028 - 1), 0);
    CHECK_INT(cr_tz_offset_at(j, mar1_2028), 3600);
    CHECK_INT(cr_tz_offset_at(n, feb29_2028 - 1), 0);
    CHECK_INT(cr_tz_offset_at(n, feb29_2028), 3600);
    int64_t mar1_2027 = (int64_t)cr_days_from_civil(2027, 3, 1) * 86400;
    CHECK_INT(cr_tz_offset_at(n, mar1_2027 - 1), 0);
    CHECK_INT(cr_tz_offset_at(n, mar1_2027), 3600);
    int64_t nov1_2027 = (int64_t)cr_days_from_civil(2027, 11, 1) * 86400;
    CHECK_INT(cr_tz_offset_at(j, nov1_2027 - 3600 - 1), 3600);
    CHECK_INT(cr_tz_offset_at(j, nov1_2027 - 3600), 0);
    for (int64_t t = 1767225600LL; t < 1830297600LL; t += 86400 * 5 + 3607)
        if (cr_tz_offset_at(perm, t) != -14400) {
            CHECK_INT(cr_tz_offset_at(perm, t), -14400);
            break;
        }
    CHECK_INT(cr_tz_offset_at(perm, 1767225600LL), -14400);
    cr_tz_free(j);
    cr_tz_free(n);
    cr_tz_free(perm);
}

TEST(crtime_posix_invalid)
{
    static const char *bad[] = {"", "UT", "UTC", "UTC+", "EST5EDT,M3.2.0", "EST5EDT,M13.1.0,M11.1.0",
                                "EST5EDT,M3.6.0,M11.1.0", "EST5EDT,M3.2.7,M11.1.0", "EST5EDT,J0,J365",
                                "EST5EDT,366,1", "EST5EDT,M3.2.0/168,M11.1.0", "EST25",
                                "<AB>5", "<ABC5", "EST5EDT,M3.2.0,M11.1.0x", "EST5:60",
                                "EST5EDT,M3.2.0/1:2:3:4,M11.1.0", "EST99999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_tz *tz = cr_tz_from_posix(NULL, bad[i]);
        if (tz)
            fprintf(stderr, "  accepted \"%s\"\n", bad[i]);
        CHECK(tz == NULL);
        cr_tz_free(tz);
    }
    CHECK(cr_tz_from_posix(NULL, NULL) == NULL);
}

/* ---- TZif files ---- */

/* LA as a slim file: one transition (LMT -> PST in 1883) and the footer */
TEST(crtime_tzif_slim_footer)
{
    tbuf t;
    int64_t at[] = {-2717640000LL};
    unsigned char idx[] = {1};
    int32_t off[] = {-28378, -28800};
    size_t n = make_tzif(&t, '2', 1, at, idx, 2, off, "PST8PDT,M3.2.0,M11.1.0");
    cr_tz *la = cr_tz_from_tzif("slim/LA", t.b, n);
    CHECK(la != NULL);
    CHECK_STR(cr_tz_name(la), "slim/LA");
    CHECK_INT(cr_tz_offset_at(la, -2717640000LL - 1), -28378);
    CHECK_INT(cr_tz_offset_at(la, -2717640000LL), -28800);
    CHECK_INT(to_utc(la, 2026, 3, 8, 2, 30, 0), T_2026_03_08_1000Z + 1800);
    CHECK_INT(to_utc(la, 2026, 11, 1, 1, 30, 0), T_2026_11_01_0830Z);
    CHECK_INT(to_utc(la, 2040, 11, 4, 1, 30, 0), 2235630600LL);
    cr_tz_free(la);

    /* no transitions at all: the footer rules every instant */
    int32_t cet[] = {3600};
    n = make_tzif(&t, '3', 0, NULL, NULL, 1, cet, "CET-1CEST,M3.5.0,M10.5.0/3");
    cr_tz *be = cr_tz_from_tzif("slim/Berlin", t.b, n);
    CHECK(be != NULL);
    CHECK_INT(to_utc(be, 2026, 3, 29, 2, 30, 0), T_2026_03_29_0100Z + 1800);
    CHECK_INT(to_utc(be, 2026, 10, 25, 2, 30, 0), T_2026_10_25_0100Z - 1800);
    cr_tz_free(be);

    /* v4 with an empty footer: the last type stays in force */
    int64_t at2[] = {0};
    int32_t off2[] = {0, 12600};
    n = make_tzif(&t, '4', 1, at2, idx, 2, off2, "");
    cr_tz *v4 = cr_tz_from_tzif("v4", t.b, n);
    CHECK(v4 != NULL);
    CHECK_INT(cr_tz_offset_at(v4, -1), 0);
    CHECK_INT(cr_tz_offset_at(v4, 4115491200LL), 12600);
    cr_tz_free(v4);
}

TEST(crtime_tzif_v1)
{
    tbuf t;
    int64_t at[] = {-100, 0, 1000};
    unsigned char idx[] = {1, 0, 1};
    int32_t off[] = {0, 3600};
    size_t n = make_tzif(&t, 0, 3, at, idx, 2, off, NULL);
    cr_tz *tz = cr_tz_from_tzif("v1", t.b, n);
    CHECK(tz != NULL);
    CHECK_INT(cr_tz_offset_at(tz, -101), 0);
    CHECK_INT(cr_tz_offset_at(tz, -100), 3600);
    CHECK_INT(cr_tz_offset_at(tz, 999), 0);
    CHECK_INT(cr_tz_offset_at(tz, 1000), 3600);
    CHECK_INT(cr_tz_offset_at(tz, INT64_MAX), 3600);
    /* local 00:30 on 1970-01-01 falls in the gap opened at -100: offset before */
    CHECK_INT(to_utc(tz, 1970, 1, 1, 0, 30, 0), 1800);
    cr_tz_free(tz);
}

TEST(crtime_tzif_invalid)
{
    tbuf t;
    int64_t at[] = {100, 50};
    unsigned char idx[] = {0, 0}, bad_idx[] = {0, 2};
    int32_t off[] = {0, 3600}, huge[] = {0, 27 * 3600};
    size_t n;
    n = make_tzif(&t, '2', 2, at, idx, 2, off, "UTC0");     /* not ascending */
    CHECK(cr_tz_from_tzif("x", t.b, n) == NULL);
    at[1] = 200;
    n = make_tzif(&t, '2', 2, at, bad_idx, 2, off, "UTC0"); /* type out of range */
    CHECK(cr_tz_from_tzif("x", t.b, n) == NULL);
    n = make_tzif(&t, '2', 2, at, idx, 2, huge, "UTC0");    /* offset too large */
    CHECK(cr_tz_from_tzif("x", t.b, n) == NULL);
    n = make_tzif(&t, '2', 2, at, idx, 2, off, "NOT A RULE");
    CHECK(cr_tz_from_tzif("x", t.b, n) == NULL);
    n = make_tzif(&t, '2', 2, at, idx, 2, off, "UTC0");
    cr_tz *ok = cr_tz_from_tzif("x", t.b, n);
    CHECK(ok != NULL);
    cr_tz_free(ok);
    CHECK(cr_tz_from_tzif("x", t.b, n - 1) == NULL);        /* footer without '\n' */
    for (size_t cut = 0; cut < n - 1; cut++)                  /* every truncation */
        CHECK(cr_tz_from_tzif("x", t.b, cut) == NULL);
    t.b[0] = 'X';
    CHECK(cr_tz_from_tzif("x", t.b, n) == NULL);
    t.b[0] = 'T';
    t.b[4] = '1';                                            /* unknown version */
    CHECK(cr_tz_from_tzif("x", t.b, n) == NULL);
    t.n = 0;                                                  /* leap seconds */
    tzif_hdr(&t, 0, 1, 0, 1);
    put32(&t, 0);
    put(&t, "\0\0ABC", 6);
    put(&t, "\0\0\0\0\0\0\0\0", 8);
    CHECK(cr_tz_from_tzif("x", t.b, t.n) == NULL);
    CHECK(cr_tz_from_tzif("x", NULL, 100) == NULL);
}

/* Truncations and byte flips of a real file must never crash (ASan/UBSan). */
TEST(crtime_tzif_mutations)
{
    static unsigned char buf[65536];
    FILE *f = fopen("/usr/share/zoneinfo/America/Los_Angeles", "rb");
    CHECK(f != NULL);
    if (!f)
        return;
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    cr_tz *tz = cr_tz_from_tzif("la", buf, n);
    CHECK(tz != NULL);
    cr_tz_free(tz);
    int accepted = 0;
    for (size_t cut = 0; cut < n; cut++) {
        tz = cr_tz_from_tzif("la", buf, cut);
        accepted += tz != NULL;
        cr_tz_free(tz);
    }
    CHECK_INT(accepted, 0);
    uint32_t seed = 12345;
    for (int i = 0; i < 3000; i++) {
        seed = seed * 1103515245u + 12345u;
        size_t pos = (seed >> 8) % n;
        unsigned char old = buf[pos];
        buf[pos] = (unsigned char)(seed >> 24);
        tz = cr_tz_from_tzif("la", buf, n);
        if (tz) {
            cr_civil c = civ(2026, 3, 8, 2, 30, 0);
            (void)cr_tz_to_utc(tz, &c);
            cr_tz_from_utc(tz, (int64_t)seed << 20, &c);
        }
        cr_tz_free(tz);
        buf[pos] = old;
    }
    CHECK(1);
}

TEST(crtime_tz_load_tzdir)
{
    char dir[] = "/tmp/crtime_tzdir_XXXXXX", path[256];
    CHECK(mkdtemp(dir) != NULL);
    tbuf t;
    int32_t ist[] = {19800};
    size_t n = make_tzif(&t, '2', 0, NULL, NULL, 1, ist, "IST-5:30");
    snprintf(path, sizeof path, "%s/Test_Zone", dir);
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (!f)
        return;
    fwrite(t.b, 1, n, f);
    fclose(f);
    const char *old = getenv("TZDIR");
    char *saved = old ? cr_strdup(old) : NULL;
    setenv("TZDIR", dir, 1);
    cr_tz *tz = cr_tz_load("Test_Zone");
    CHECK(tz != NULL);
    CHECK_INT(cr_tz_offset_at(tz, 0), 19800);
    cr_tz_free(tz);
    CHECK(cr_tz_load("Missing_Zone") == NULL);
    if (saved)
        setenv("TZDIR", saved, 1);
    else
        unsetenv("TZDIR");
    free(saved);
    unlink(path);
    rmdir(dir);
}

/* ---- parsing ---- */

TEST(crtime_parse_date)
{
    cr_day_t d = 7;
    CHECK_INT(cr_parse_date("2026-11-20", &d), CR_OK);
    CHECK_INT(d, 20777);
    CHECK_INT(cr_parse_date("2024-02-29", &d), CR_OK);
    CHECK_INT(cr_parse_date("1969-12-31", &d), CR_OK);
    CHECK_INT(d, -1);
    static const char *bad[] = {"", "2026-02-30", "2025-02-29", "2026-13-01", "2026-00-10",
                                "2026-11-00", "2026-1-01", "2026-11-2", "20261120",
                                " 2026-11-20", "2026-11-20 ", "2026-11-20x", "2026/11/20",
                                "99999-01-01", "+2026-11-20", "2026-11-20T00:00:00Z", "2026-11"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_INT(cr_parse_date(bad[i], &d), CR_EPARSE);
    CHECK_INT(cr_parse_date(NULL, &d), CR_EPARSE);
}

TEST(crtime_parse_iso_instant)
{
    cr_time_t t = 0;
    CHECK_INT(cr_parse_iso_instant("2026-11-20T19:03:55Z", &t), CR_OK);
    CHECK_INT(t, T_2026_11_20_190355Z);
    CHECK_INT(cr_parse_iso_instant("2026-11-20 11:03:55-08:00", &t), CR_OK);
    CHECK_INT(t, T_2026_11_20_190355Z);
    CHECK_INT(cr_parse_iso_instant("2026-11-20T11:03:55-0800", &t), CR_OK);
    CHECK_INT(t, T_2026_11_20_190355Z);
    CHECK_INT(cr_parse_iso_instant("2026-11-20T11:03:55-08", &t), CR_OK);
    CHECK_INT(t, T_2026_11_20_190355Z);
    CHECK_INT(cr_parse_iso_instant("2026-11-21T00:33:55.999+05:30", &t), CR_OK);
    CHECK_INT(t, T_2026_11_20_190355Z);
    /* a comma marks the fraction too (ISO 8601) */
    CHECK_INT(cr_parse_iso_instant("2026-11-21T00:33:55,5+05:30", &t), CR_OK);
    CHECK_INT(t, T_2026_11_20_190355Z);
    CHECK_INT(cr_parse_iso_instant("2026-11-20t19:03:55.123456789012345678901234567890z", &t), CR_OK);
    CHECK_INT(t, T_2026_11_20_190355Z);
    CHECK_INT(cr_parse_iso_instant("1969-12-31T23:59:59Z", &t), CR_OK);
    CHECK_INT(t, -1);
    /* the seconds may be left out, as ISO 8601 allows */
    CHECK_INT(cr_parse_iso_instant("2026-11-20T14:03-05:00", &t), CR_OK);
    CHECK_INT(t, T_2026_11_20_190355Z - 55);
    static const char *bad[] = {"", "2026-11-20T19:03:55", "2026-11-20", "2026-11-20T19:03",
                                "2026-11-20T19:03:Z", "2026-11-20T19:03.5Z", "2026-11-20T19Z",
                                "2026-11-20T19:03:55+", "2026-11-20T19:03:55+1",
                                "2026-11-20T19:03:55+01:0", "2026-11-20T19:03:55+010",
                                "2026-11-20T19:03:55+0100x", "2026-11-20T19:03:55Z ",
                                "2026-11-20T24:00:00Z", "2026-11-20T19:60:00Z",
                                "2026-11-20T19:03:60Z", "2026-02-30T19:03:55Z",
                                "2026-11-20T19:03:55.Z", "2026-11-20T19:03:55+24:00",
                                "2026-11-20T19:03:55+01:60", "2026-11-20X19:03:55Z",
                                "2026-11-20T19:03:55ZZ", " 2026-11-20T19:03:55Z"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        t = 42;
        CHECK_INT(cr_parse_iso_instant(bad[i], &t), CR_EPARSE);
        CHECK_INT(t, 42);
    }
}

TEST(crtime_parse_offset)
{
    int32_t o = 1;
    CHECK_INT(cr_parse_offset("+01:00", &o), CR_OK);
    CHECK_INT(o, 3600);
    CHECK_INT(cr_parse_offset("-0700", &o), CR_OK);
    CHECK_INT(o, -25200);
    CHECK_INT(cr_parse_offset("+05", &o), CR_OK);
    CHECK_INT(o, 18000);
    CHECK_INT(cr_parse_offset("+05:30", &o), CR_OK);
    CHECK_INT(o, 19800);
    CHECK_INT(cr_parse_offset("-00:00", &o), CR_OK);
    CHECK_INT(o, 0);
    o = 1;
    CHECK_INT(cr_parse_offset("Z", &o), CR_OK);
    CHECK_INT(o, 0);
    o = 1;
    CHECK_INT(cr_parse_offset("UTC", &o), CR_OK);
    CHECK_INT(o, 0);
    o = 1;
    CHECK_INT(cr_parse_offset("gmt", &o), CR_OK);
    CHECK_INT(o, 0);
    /* UTC or GMT with an offset, as Windows and exports write zones: east
     * positive, and an hour of one digit after the prefix */
    CHECK_INT(cr_parse_offset("UTC+01:00", &o), CR_OK);
    CHECK_INT(o, 3600);
    CHECK_INT(cr_parse_offset("GMT-5", &o), CR_OK);
    CHECK_INT(o, -18000);
    CHECK_INT(cr_parse_offset("utc+5:30", &o), CR_OK);
    CHECK_INT(o, 19800);
    static const char *bad[] = {"", "+", "+5", "01:00", "+01:60", "UTC+", "UTC1", "GMT+25",
                                "UTC+1:60", "+0100 ", " Z", "+01:00:00", "+1:00", "ZZ", "UT",
                                "UTCX", "+2400", "--01", "UTC +1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_INT(cr_parse_offset(bad[i], &o), CR_EPARSE);
    CHECK_INT(cr_parse_offset(NULL, &o), CR_EPARSE);
}

/* Runs cr_parse_datetime and checks the civil fields; returns the error. */
static cr_err pdt(const char *fmt, const char *s, cr_civil *c, bool *has, int32_t *off)
{
    memset(c, 0x55, sizeof *c);
    *has = true;
    *off = 99;
    return cr_parse_datetime(fmt, s, c, has, off, NULL);
}

#define CHECK_CIVIL(c, y, mo, d, h, mi, s)                                              \
    CHECK((c).year == (y) && (c).month == (mo) && (c).day == (d) && (c).hour == (h) && \
          (c).minute == (mi) && (c).second == (s))

TEST(crtime_parse_datetime_basic)
{
    cr_civil c;
    bool has;
    int32_t off;
    CHECK_INT(pdt("%Y-%m-%dT%H:%M:%S%z", "2026-11-20T19:03:55+0100", &c, &has, &off), CR_OK);
    CHECK_CIVIL(c, 2026, 11, 20, 19, 3, 55);
    CHECK(has);
    CHECK_INT(off, 3600);
    CHECK_INT(pdt("%Y%m%d %H%M%S", "20261120 190355", &c, &has, &off), CR_OK);
    CHECK_CIVIL(c, 2026, 11, 20, 19, 3, 55);
    CHECK(!has);
    CHECK_INT(off, 0);
    CHECK_INT(pdt("%Y-%m-%d %H:%M:%S", "2026-11-20 19:03:55", &c, &has, &off), CR_OK);
    CHECK_CIVIL(c, 2026, 11, 20, 19, 3, 55);
    CHECK_INT(pdt("%F %T", "2026-11-20 19:03:55", &c, &has, &off), CR_OK);
    CHECK_CIVIL(c, 2026, 11, 20, 19, 3, 55);
    CHECK_INT(pdt("%F", "2026-11-20", &c, &has, &off), CR_OK);   /* time defaults to 00 */
    CHECK_CIVIL(c, 2026, 11, 20, 0, 0, 0);
    CHECK_INT(pdt("%m/%d/%Y %H:%M", "1/5/2026 7:03", &c, &has, &off), CR_OK);
    CHECK_CIVIL(c, 2026, 1, 5, 7, 3, 0);
    CHECK_INT(pdt("%d.%m.%Y", "05.01.2026", &c, &has, &off), CR_OK);
    CHECK_CIVIL(c, 2026, 1, 5, 0, 0, 0);
    CHECK(cr_parse_datetime("%F", "2026-11-20", &c, NULL, NULL, NULL) == CR_OK);
}

/* Weekday names (RFC 2822, ctime), %R, %D, and epoch seconds (%s, UTC). */
TEST(crtime_parse_datetime_weekday_epoch)
{
    cr_civil c;
    bool has;
    int32_t off;
    CHECK_INT(pdt("%a, %d %b %Y %H:%M:%S %z", "Fri, 20 Nov 2026 19:03:55 -0500", &c, &has, &off),
              CR_OK);
    CHECK_CIVIL(c, 2026, 11, 20, 19, 3, 55);
    CHECK(has);
    CHECK_INT(off, -5 * 3600);
    CHECK_INT(pdt("%A %d %B %Y %R", "friday 20 November 2026 07:03", &c, &has, &off), CR_OK);
    CHECK_CIVIL(c, 2026, 11, 20, 7, 3, 0);
    CHECK_INT(pdt("%a %b %e %T %Y", "Thu Nov  5 10:00:00 2026", &c, &has, &off), CR_OK);
    CHECK_CIVIL(c, 2026, 11, 5, 10, 0, 0);
    CHECK_INT(pdt("%D %R", "11/20/26 19:03", &c, &has, &off), CR_OK);
    CHECK_CIVIL(c, 2026, 11, 20, 19, 3, 0);
    CHECK_INT(pdt("%s", "1795201435", &c, &has, &off), CR_OK);  /* 2026-11-20T19:03:55Z */
    CHECK_CIVIL(c, 2026, 11, 20, 19, 3, 55);
    CHECK(has);
    CHECK_INT(off, 0);
    CHECK_INT(pdt("%s", "0", &c, &has, &off), CR_OK);
    CHECK_CIVIL(c, 1970, 1, 1, 0, 0, 0);
    CHECK_INT(pdt("%s", "1795201435123", &c, &has, &off), CR_EPARSE);   /* milliseconds */
    CHECK_INT(pdt("%s", "", &c, &has, &off), CR_EPARSE);
    CHECK_INT(pdt("%a %F", "Fry 2026-11-20", &c, &has, &off), CR_EPARSE);
}

TEST(crtime_parse_datetime_years)
{
    cr_civil c;
    bool has;
    int32_t off;
    CHECK_INT(pdt("%y-%m-%d", "26-11-20", &c, &has, &off), CR_OK);
    CHECK_INT(c.year, 2026);
    CHECK_INT(pdt("%y-%m-%d", "00-01-01", &c, &has, &off), CR_OK);
    CHECK_INT(c.year, 2000);
    CHECK_INT(pdt("%y-%m-%d", "68-01-01", &c, &has, &off), CR_OK);
    CHECK_INT(c.year, 2068);
    CHECK_INT(pdt("%y-%m-%d", "69-01-01", &c, &has, &off), CR_OK);
    CHECK_INT(c.year, 1969);
    CHECK_INT(pdt("%y-%m-%d", "99-01-01", &c, &has, &off), CR_OK);
    CHECK_INT(c.year, 1999);
    CHECK_INT(pdt("%y-%m-%d", "6-11-20", &c, &has, &off), CR_EPARSE);
    CHECK_INT(pdt("%Y-%m-%d", "926-11-20", &c, &has, &off), CR_EPARSE);
    CHECK_INT(pdt("%Y-%m-%d", "02026-11-20", &c, &has, &off), CR_EPARSE);
    CHECK_INT(pdt("%Y%m%d", "20261120", &c, &has, &off), CR_OK);
    CHECK_CIVIL(c, 2026, 11, 20, 0, 0, 0);
}

TEST(crtime_parse_datetime_month_names)
{
    cr_civil c;
    bool has;
    int32_t off;
    static const char *abbr[] = {"Jan", "feb", "MAR", "Apr", "may", "Jun",
                                 "jul", "Aug", "sEp", "Oct", "Nov", "DEC"};
    char buf[32];
    for (int i = 0; i < 12; i++) {
        snprintf(buf, sizeof buf, "%s 1 2026", abbr[i]);
        CHECK_INT(pdt("%b %d %Y", buf, &c, &has, &off), CR_OK);
        CHECK_INT(c.month, i + 1);
    }
    CHECK_INT(pdt("%d %B %Y", "20 November 2026", &c, &has, &off), CR_OK);
    CHECK_INT(c.month, 11);
    CHECK_INT(pdt("%d %B %Y", "20 SEPTEMBER 2026", &c, &has, &off), CR_OK);
    CHECK_INT(c.month, 9);
    CHECK_INT(pdt("%d-%h-%Y", "20-nov-2026", &c, &has, &off), CR_OK);
    CHECK_INT(c.month, 11);
    CHECK_INT(pdt("%d %b %Y", "20 June 2026", &c, &has, &off), CR_OK);   /* full name via %b */
    CHECK_INT(c.month, 6);
    CHECK_INT(pdt("%b %e %Y", "Nov  5 2026", &c, &has, &off), CR_OK);
    CHECK_CIVIL(c, 2026, 11, 5, 0, 0, 0);
    CHECK_INT(pdt("%b%e,%Y", "Nov 5,2026", &c, &has, &off), CR_OK);     /* %e: leading space */
    CHECK_INT(c.day, 5);
    CHECK_INT(pdt("%b %d %Y", "Sept 1 2026", &c, &has, &off), CR_EPARSE);
    CHECK_INT(pdt("%b %d %Y", "Nvm 1 2026", &c, &has, &off), CR_EPARSE);
    CHECK_INT(pdt("%b %d %Y", "No", &c, &has, &off), CR_EPARSE);
    CHECK_INT(pdt("%B", "", &c, &has, &off), CR_EPARSE);
}

TEST(crtime_parse_datetime_ampm_fraction)
{
    cr_civil c;
    bool has;
    int32_t off;
    CHECK_INT(pdt("%F %I:%M %p", "2026-11-20 7:03 pm", &c, &has, &off), CR_OK);
    CHECK_INT(c.hour, 19);
    CHECK_INT(pdt("%F %I:%M %p", "2026-11-20 12:00 AM", &c, &has, &off), CR_OK);
    CHECK_INT(c.hour, 0);
    CHECK_INT(pdt("%F %I:%M %p", "2026-11-20 12:00 PM", &c, &has, &off), CR_OK);
    CHECK_INT(c.hour, 12);
    CHECK_INT(pdt("%F %I:%M:%S%p", "2026-11-20 11:59:59Am", &c, &has, &off), CR_OK);
    CHECK_CIVIL(c, 2026, 11, 20, 11, 59, 59);
    CHECK_INT(pdt("%F %I:%M %p", "2026-11-20 13:00 PM", &c, &has, &off), CR_EPARSE);
    CHECK_INT(pdt("%F %I:%M %p", "2026-11-20 0:00 AM", &c, &has, &off), CR_EPARSE);
    CHECK_INT(pdt("%F %I:%M %p", "2026-11-20 1:00 XM", &c, &has, &off), CR_EPARSE);
    CHECK_INT(pdt("%F %I:%M", "2026-11-20 1:00", &c, &has, &off), CR_EPARSE);     /* %I alone */
    CHECK_INT(pdt("%F %H:%M %p", "2026-11-20 1:00 PM", &c, &has, &off), CR_EPARSE); /* %p alone */
    CHECK_INT(pdt("%F %T.%f", "2026-11-20 19:03:55.123456", &c, &has, &off), CR_OK);
    CHECK_CIVIL(c, 2026, 11, 20, 19, 3, 55);
    CHECK_INT(pdt("%F %T.%f", "2026-11-20 19:03:55.1234567890123456789012345678901234567890",
                  &c, &has, &off), CR_OK);
    CHECK_INT(pdt("%F %T.%f", "2026-11-20 19:03:55.", &c, &has, &off), CR_EPARSE);
    /* whole seconds leave the fraction out (Python's isoformat, ISO 8601) */
    CHECK_INT(pdt("%F %T.%f", "2026-11-20 19:03:55", &c, &has, &off), CR_OK);
    CHECK_CIVIL(c, 2026, 11, 20, 19, 3, 55);
    CHECK_INT(pdt("%Y-%m-%dT%H:%M:%S.%f%z", "2026-11-20T19:03:55+00:00", &c, &has, &off), CR_OK);
    CHECK_INT(off, 0);
    CHECK_INT(pdt("%Y-%m-%dT%H:%M:%S.%f%z", "2026-11-20T19:03:55.5-05:00", &c, &has, &off), CR_OK);
    CHECK_INT(off, -5 * 3600);
    CHECK_INT(pdt("%F %T.%f", "2026-11-20 19:03:55x", &c, &has, &off), CR_EPARSE);
    /* whether the fraction was other than zero */
    bool frac = false;
    CHECK_INT(cr_parse_datetime("%F %T.%f", "2026-11-20 19:03:55.0010", &c, NULL, NULL, &frac), CR_OK);
    CHECK(frac);
    CHECK_CIVIL(c, 2026, 11, 20, 19, 3, 55);
    CHECK_INT(cr_parse_datetime("%F %T.%f", "2026-11-20 19:03:55.000", &c, NULL, NULL, &frac), CR_OK);
    CHECK(!frac);
    frac = true;
    CHECK_INT(cr_parse_datetime("%F %T.%f", "2026-11-20 19:03:55", &c, NULL, NULL, &frac), CR_OK);
    CHECK(!frac);
}

TEST(crtime_parse_datetime_offsets)
{
    cr_civil c;
    bool has;
    int32_t off;
    static const struct { const char *s; int32_t off; } ok[] = {
        {"2026-11-20 19:03:55Z", 0}, {"2026-11-20 19:03:55+01", 3600},
        {"2026-11-20 19:03:55-0530", -19800}, {"2026-11-20 19:03:55+05:30", 19800},
        {"2026-11-20 19:03:55-00:00", 0}};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        CHECK_INT(pdt("%F %T%z", ok[i].s, &c, &has, &off), CR_OK);
        CHECK(has);
        CHECK_INT(off, ok[i].off);
    }
    CHECK_INT(pdt("%F %T %z", "2026-11-20 19:03:55 +0100", &c, &has, &off), CR_OK);
    CHECK_INT(off, 3600);
    /* a value that ends before its offset has none (the caller's zone applies) */
    CHECK_INT(pdt("%F %T%z", "2026-11-20 19:03:55", &c, &has, &off), CR_OK);
    CHECK(!has);
    CHECK_INT(c.hour, 19);
    CHECK_INT(pdt("%F %T %z", "2026-11-20 19:03:55", &c, &has, &off), CR_OK);
    CHECK(!has);
    /* only at the end: an offset the format wants before other text stays required */
    CHECK_INT(pdt("%F %T%z x", "2026-11-20 19:03:55 x", &c, &has, &off), CR_EPARSE);
    static const char *bad[] = {"2026-11-20 19:03:55+1", "2026-11-20 19:03:55+01:",
                                "2026-11-20 19:03:55+0160", "2026-11-20 19:03:55 +",
                                "2026-11-20 19:03:55UTC", "2026-11-20 19:03:55+01:00:00"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_INT(pdt("%F %T%z", bad[i], &c, &has, &off), CR_EPARSE);
}

TEST(crtime_parse_datetime_literals_spaces)
{
    cr_civil c;
    bool has;
    int32_t off;
    CHECK_INT(pdt("Date: %F at %T", "Date: 2026-11-20 at 19:03:55", &c, &has, &off), CR_OK);
    CHECK_CIVIL(c, 2026, 11, 20, 19, 3, 55);
    CHECK_INT(pdt("Date: %F", "date: 2026-11-20", &c, &has, &off), CR_EPARSE);
    CHECK_INT(pdt("%Y%%%m%%%d", "2026%11%20", &c, &has, &off), CR_OK);
    CHECK_CIVIL(c, 2026, 11, 20, 0, 0, 0);
    CHECK_INT(pdt("%Y%%%m%%%d", "2026x11%20", &c, &has, &off), CR_EPARSE);
    CHECK_INT(pdt("%Y%%", "2026", &c, &has, &off), CR_EPARSE);
    CHECK_INT(pdt("%Y%m%d %H%M%S", "20261120 \t  190355", &c, &has, &off), CR_OK);
    CHECK_INT(pdt("%Y%m%d  %H%M%S", "20261120 190355", &c, &has, &off), CR_OK);
    CHECK_INT(pdt("%Y%m%d %H%M%S", "20261120190355", &c, &has, &off), CR_EPARSE);
    /* packed numbers have their full width: a time that lost its leading
     * zero in a spreadsheet is not read nine hours off */
    CHECK_INT(pdt("%Y%m%d %H%M%S", "20261120 10000", &c, &has, &off), CR_EPARSE);
    CHECK_INT(pdt("%Y%m%d %H%M%S", "20261120 010000", &c, &has, &off), CR_OK);
    CHECK_CIVIL(c, 2026, 11, 20, 1, 0, 0);
    CHECK_INT(pdt("%Y%m%d", "2026112", &c, &has, &off), CR_EPARSE);
    /* a number with a separator after it may still be short */
    CHECK_INT(pdt("%m/%d/%Y %H:%M", "1/2/2026 9:05", &c, &has, &off), CR_OK);
    CHECK_CIVIL(c, 2026, 1, 2, 9, 5, 0);
    CHECK_INT(pdt("%F", " 2026-11-20", &c, &has, &off), CR_EPARSE);
    CHECK_INT(pdt("%F", "2026-11-20 ", &c, &has, &off), CR_EPARSE);
    CHECK_INT(pdt("%F ", "2026-11-20 ", &c, &has, &off), CR_OK);
    /* before an offset the blank may be missing, as in strptime */
    CHECK_INT(pdt("%Y-%m-%d %H:%M:%S %z", "2026-11-10 10:00:00+01:00", &c, &has, &off), CR_OK);
    CHECK_CIVIL(c, 2026, 11, 10, 10, 0, 0);
    CHECK(has && off == 3600);
    CHECK_INT(pdt("%Y-%m-%d %H:%M:%S %z", "2026-11-10 10:00:00Z", &c, &has, &off), CR_OK);
    CHECK(has && off == 0);
    CHECK_INT(pdt("%Y-%m-%d %H:%M:%S %z", "2026-11-10 10:00:00 -0500", &c, &has, &off), CR_OK);
    CHECK(has && off == -5 * 3600);
}

TEST(crtime_parse_datetime_failures)
{
    cr_civil c;
    bool has;
    int32_t off;
    static const struct { const char *fmt, *s; } bad[] = {
        {"%F", "2026-02-30"}, {"%F", "2025-02-29"}, {"%F %H:%M", "2026-11-20 25:61"},
        {"%F %H:%M", "2026-11-20 24:00"}, {"%F %T", "2026-11-20 23:59:60"},
        {"%F", "2026-13-01"}, {"%F", "2026-00-01"}, {"%F", "2026-01-00"},
        {"%F", ""}, {"", ""}, {"", "x"}, {"%F", "2026-11-20x"}, {"%F %T", "2026-11-20"},
        {"%F %T", "2026-11-20 19:03"}, {"%F %Q", "2026-11-20 x"}, {"%F%", "2026-11-20"},
        {"%F%", "2026-11-20%"}, {"%H:%M", "19:03"}, {"%Y-%m", "2026-11"},
        {"%m-%d", "11-20"}, {"%Y", "99999999999999999999999999"},
        {"%F %H", "2026-11-20 99999999999999999999999999"}, {"%m/%d/%Y", "0001/20/2026"},
        {"%F", "2026-1a-20"}, {"%F", "-026-11-20"}, {"%F %H:%M", "2026-11-20 -1:00"},
        {"%F %H:%M", "2026-11-20 +1:00"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_err e = pdt(bad[i].fmt, bad[i].s, &c, &has, &off);
        if (e != CR_EPARSE)
            fprintf(stderr, "  accepted \"%s\" with \"%s\"\n", bad[i].s, bad[i].fmt);
        CHECK_INT(e, CR_EPARSE);
    }
    CHECK_INT(cr_parse_datetime(NULL, "2026-11-20", &c, &has, &off, NULL), CR_EPARSE);
    CHECK_INT(cr_parse_datetime("%F", NULL, &c, &has, &off, NULL), CR_EPARSE);
    CHECK_INT(cr_parse_datetime("%F", "2026-11-20", NULL, &has, &off, NULL), CR_EPARSE);
}

/* ---- formatting ---- */

TEST(crtime_format)
{
    char b[32];
    cr_format_utc(T_2026_11_20_190355Z, b, sizeof b);
    CHECK_STR(b, "2026-11-20T19:03:55Z");
    cr_format_utc(-1, b, sizeof b);
    CHECK_STR(b, "1969-12-31T23:59:59Z");
    cr_format_utc(0, b, 21);
    CHECK_STR(b, "1970-01-01T00:00:00Z");
    cr_format_utc(T_2026_11_20_190355Z, b, 5);
    CHECK_STR(b, "2026");
    cr_format_utc(INT64_MIN, b, sizeof b);    /* clamped, no overflow */
    CHECK(strlen(b) > 0);
    cr_format_day(20777, b, 11);
    CHECK_STR(b, "2026-11-20");
    cr_format_day(-719528, b, sizeof b);
    CHECK_STR(b, "0000-01-01");
    cr_format_local(NULL, T_2026_11_20_190355Z, b, sizeof b);
    CHECK_STR(b, "2026-11-20 19:03:55");
    cr_tz *la = cr_tz_load("America/Los_Angeles");
    CHECK(la != NULL);
    cr_format_local(la, T_2026_11_20_190355Z, b, 20);
    CHECK_STR(b, "2026-11-20 11:03:55");
    cr_format_local(la, T_2026_03_08_1000Z, b, sizeof b);
    CHECK_STR(b, "2026-03-08 03:00:00");
    cr_format_zoned(la, T_2026_11_20_190355Z, b, sizeof b);
    CHECK_STR(b, "2026-11-20 11:03:55 -08:00");
    cr_format_zoned(la, T_2026_03_08_1000Z, b, sizeof b);   /* daylight time */
    CHECK_STR(b, "2026-03-08 03:00:00 -07:00");
    cr_format_zoned(NULL, T_2026_11_20_190355Z, b, sizeof b);
    CHECK_STR(b, "2026-11-20T19:03:55Z");
    cr_tz *kol = cr_tz_load("Asia/Kolkata");
    CHECK(kol != NULL);
    cr_format_zoned(kol, T_2026_11_20_190355Z, b, sizeof b);
    CHECK_STR(b, "2026-11-21 00:33:55 +05:30");
    cr_tz_free(kol);
    cr_tz_free(la);
    cr_format_day(0, NULL, 0);                /* no-ops */
    cr_format_utc(0, b, 0);
}

TEST(crtime_parse_format_roundtrip)
{
    char b[32];
    cr_time_t back = 0;
    int bad = 0;
    for (int64_t t = -62167219200LL; t < 253402300799LL; t += 86400LL * 365 + 12345) {
        cr_format_utc(t, b, sizeof b);
        if (cr_parse_iso_instant(b, &back) != CR_OK || back != t)
            bad++;
    }
    CHECK_INT(bad, 0);
}

/* A zone whose transitions are seconds apart (fuzzed TZif data, no real
 * zone has them): a local time that exists is read back as an instant that
 * shows it.  The walk over segments stopped at the first "gap" it met and
 * gave an instant of another segment (06:00:53 read as 21621, which shows
 * 06:00:21). */
TEST(crtime_to_utc_close_transitions)
{
    static const char tzif[] =
        "\x54\x5a\x69\x66\x00\x32\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
        "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x04\x00\x00\x00\x00"
        "\x00\x00\x00\x06\x00\x00\x00\x04\x00\x00\x00\x12\x80\x00\x00\x03"
        "\x00\x00\x00\x00\x00\x00\x00\x28\x32\xd2\xcc\xa8\x71\x18\xcc\x05"
        "\x74\x95\x12\x98\x01\x02\x03\x02\x03\x02\x00\x00\x52\xf8\x00\x00"
        "\x00\x00\x00\x20\x00\x00\x00\x00\xff\x07\x00\x00\x00\x00\x00\x00"
        "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\xff\xff\xff\xff\xff"
        "\x01\x00\x00\x16\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"
        "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x00\x00\xcc\x95\x54\x00\x00"
        "\x00\x00\x00\x0a";
    cr_tz *tz = cr_tz_from_tzif("fuzz", tzif, sizeof tzif - 1);
    CHECK(tz != NULL);
    if (!tz)
        return;
    for (cr_time_t t = 21500; t < 21800; t++) {
        cr_civil c, c2;
        cr_tz_from_utc(tz, t, &c);
        cr_tz_from_utc(tz, cr_tz_to_utc(tz, &c), &c2);
        if (memcmp(&c, &c2, sizeof c) != 0) {
            fprintf(stderr, "  %lld: %02d:%02d:%02d read back as %02d:%02d:%02d\n", (long long)t,
                    c.hour, c.minute, c.second, c2.hour, c2.minute, c2.second);
            CHECK(false);
            break;
        }
    }
    cr_tz_free(tz);
}

/* A literal Z, UTC or GMT in the format says the value is in UTC: the
 * feed's timezone (for times without an offset) is not its zone. */
TEST(crtime_parse_datetime_literal_utc)
{
    cr_civil c;
    bool has;
    int32_t off;
    CHECK_INT(pdt("%Y-%m-%dT%H:%M:%SZ", "2026-11-16T00:00:00Z", &c, &has, &off), CR_OK);
    CHECK_CIVIL(c, 2026, 11, 16, 0, 0, 0);
    CHECK(has);
    CHECK_INT(off, 0);
    CHECK_INT(pdt("%Y-%m-%d %H:%M:%S UTC", "2026-11-16 00:00:00 UTC", &c, &has, &off), CR_OK);
    CHECK(has);
    CHECK_INT(off, 0);
    CHECK_INT(pdt("%d %b %Y %H:%M GMT", "16 Nov 2026 09:30 GMT", &c, &has, &off), CR_OK);
    CHECK_CIVIL(c, 2026, 11, 16, 9, 30, 0);
    CHECK(has);
    CHECK_INT(pdt("%Y-%m-%dT%H:%M:%S.%fZ", "2026-11-16T00:00:00Z", &c, &has, &off), CR_OK);
    CHECK(has);
    /* the word must be the value's too */
    CHECK_INT(pdt("%Y-%m-%dT%H:%M:%SZ", "2026-11-16T00:00:00", &c, &has, &off), CR_EPARSE);
    CHECK_INT(pdt("%Y-%m-%d %H:%M:%S UTC", "2026-11-16 00:00:00 GMT", &c, &has, &off), CR_EPARSE);
    /* a Z or UTC inside a longer word is only text */
    CHECK_INT(pdt("%Y-%m-%d ZULU %H:%M", "2026-11-16 ZULU 10:00", &c, &has, &off), CR_OK);
    CHECK(!has);
    CHECK_INT(pdt("%Y-%m-%d XZ %H:%M", "2026-11-16 XZ 10:00", &c, &has, &off), CR_OK);
    CHECK(!has);
    CHECK_INT(pdt("%Y-%m-%d UTCX %H:%M", "2026-11-16 UTCX 10:00", &c, &has, &off), CR_OK);
    CHECK(!has);
    /* an offset after the word is the value's offset */
    CHECK_INT(pdt("%Y-%m-%d %H:%M UTC%z", "2026-11-16 10:00 UTC+05:30", &c, &has, &off), CR_OK);
    CHECK(has);
    CHECK_INT(off, 5 * 3600 + 1800);
}
