/*
 * gen.c - the benchmark's seeded data generator (see BENCHMARKS.md).
 *
 *   build/gen --claims N --seed S --out DIR [--as-of YYYY-MM-DD]
 *             [--template config/carerecon.yaml]
 *   build/gen --claims N --seed S --out DIR [--as-of YYYY-MM-DD]
 *             --increment K --increment-tag T
 *
 * The first form writes DIR/claims.db (the schema of fixtures/claims.sql, one
 * transaction), DIR/config/carerecon.yaml (the shipped configuration with its
 * paths pointing into DIR) and about 60 days of inbox files in the fixture
 * layouts: DIR/inbox/receipts/depot_YYYYMMDD.csv (check-ins),
 * carrier_YYYYMMDD.csv (pickup/delivery scans) and
 * DIR/inbox/settlements/settlement_detail_report_batch_YYYYMMDD.csv.
 *
 * Every claim is simulated from (seed, index) alone, so the second form can
 * re-simulate the same world without reading anything: it writes K receipt
 * events and K settlement rows dated the day after --as-of into
 * depot_incr_T.csv, carrier_incr_T.csv and settlement_detail_report_incr_T.csv
 * and touches nothing else.
 *
 * The shape of a night (percentages of claims, roughly): 90% premium; most
 * returned in time and released; 5-10% captured (not returned, late, not
 * genuine, battery missing, serial mismatch); the rest pending.  About 1% of
 * the rows are rejected (bad dates, booleans, amounts, unknown codes) and a
 * few percent of the claims raise exceptions.  Settlement rows that confirm
 * the first night's actions are booked at its as-of instant (23:59:59 in the
 * configured zone), the earliest instant at which they can confirm an action
 * that night issues; 10% of the actions are left unconfirmed and confirmed by
 * the increment.
 *
 * The PRNG is splitmix64, seeded per claim; no rand().
 */
#include "cr.h"
#include "crtime.h"
#include "money.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <sqlite3.h>

/* ------------------------------------------------------------------------ */
/* PRNG                                                                     */

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

typedef struct rng {
    uint64_t s;
} rng;

static uint64_t rnext(rng *r)
{
    r->s += UINT64_C(0x9e3779b97f4a7c15);
    return mix64(r->s);
}

static double ru01(rng *r) { return (double)(rnext(r) >> 11) * 0x1.0p-53; }

/* Uniform in [lo, hi]. */
static int64_t rrange(rng *r, int64_t lo, int64_t hi)
{
    return lo + (int64_t)(rnext(r) % (uint64_t)(hi - lo + 1));
}

/* A stateless hash of (seed, index, salt): attributes that other claims
 * must be able to recompute. */
static uint64_t hsh(uint64_t seed, uint64_t idx, uint64_t salt)
{
    return mix64(seed ^ mix64(idx * UINT64_C(0x9e3779b97f4a7c15) + salt * UINT64_C(0xd1b54a32d192ed03)));
}

/* ------------------------------------------------------------------------ */
/* The world                                                                */

#define DAY CR_SECONDS_PER_DAY
#define HOUR 3600
/* Claims are paid at a steady rate (about 1,500 a day, and over at least
 * 60 days), so a larger business has a longer history, not busier nights:
 * what a night costs should follow the day's volume, not the history. */
#define MIN_HISTORY_DAYS 60
#define CLAIMS_PER_DAY 1500
#define FILE_DAYS 72 /* file slots: A-70 .. A+1 */

typedef struct model {
    const char *name, *prefix;
    int64_t value, fee; /* USD cents */
} model;

static const model MODELS[] = {
    {"Mavic 3 Pro", "1581F5BHD", 219900, 18900},   {"Mini 4 Pro", "1581F6Z9C", 75900, 7900},
    {"Air 3", "1581F6Q8D", 109900, 10900},          {"Osmo Mobile 6", "3XSCK6R0B", 13900, 2900},
    {"Avata 2", "1581F7K2C", 49900, 6900},          {"Mavic 3 Classic", "1581F4XFC", 159900, 14900},
    {"Osmo Pocket 3", "9GSCJ4M0B", 51900, 4900},    {"Ronin RS 4", "5RNSG2P0A", 54900, 5900},
    {"Osmo Action 4", "Q2RDH5A0C", 39900, 3900},
};
#define NMODELS (sizeof MODELS / sizeof MODELS[0])

static const char *const TECHS[] = {"J. Ortiz", "M. Chen", "R. Diaz", "A. Novak", "S. Okafor"};
static const char *const NAMES[] = {"M. Alvarez", "D. Kowalski", "R. Patel", "L. Moreau", "E. Rossi",
                                    "N. Haddad", "C. Adams", "P. Romero", "V. Ivanova", "K. Tanaka"};
static const char *const CITIES[][2] = {{"San Diego", "CA"}, {"Denver", "CO"},   {"Edison", "NJ"},
                                        {"Boston", "MA"},    {"Chicago", "IL"},  {"Dearborn", "MI"},
                                        {"Portland", "OR"},  {"Phoenix", "AZ"},  {"Brooklyn", "NY"},
                                        {"Austin", "TX"}};

/* 32 characters without I, L, O, S: serial suffixes never look alike. */
static const char B32[] = "0123456789ABCDEFGHJKMNPQRTUVWXYZ";

enum fate {
    F_CONFORM,
    F_NOT_RETURNED,
    F_LATE,
    F_LOST,
    F_DELIV_NO_CI,
    F_NONGENUINE,
    F_BATTERY,
    F_SN_FAR,
    F_SN_NEAR
};

enum flag { G_NONE, G_CANCELLED, G_NO_PREAUTH, G_EXCEEDS, G_REGION, G_DISCOVER, G_INELIGIBLE };

enum decision { D_NONE, D_PENDING, D_CAPTURE, D_RELEASE };

typedef struct claim {
    uint32_t idx;
    char id[24];
    bool premium;
    int flag;
    int model;
    char sn[24];
    int battery;
    int64_t value, fee, preauth;
    bool has_preauth_amount, has_ref;
    char ref[24];
    const char *region, *currency, *brand;
    int exponent;
    cr_time_t paid;
    bool paid_z;
    int return_days; /* 0: NULL in the database */
    cr_day_t expires;
    int left;
    int fate;
    cr_time_t ship, deliv, ci, ci2, iscan; /* CR_TIME_NONE when it never happens */
    bool carrier;                          /* pickup/delivery scans are written */
    bool blank_ref_carrier;
    bool serial_only; /* check-in with no RMA and no known tracking */
    char tracking[24];
    char ci_tracking[32];
    char ci_serial[48];
    bool ci_batt, ci_genuine;
    char ci2_serial[24];
    rng r; /* the claim's stream, for the writers */
} claim;

typedef struct world {
    uint64_t seed;
    uint32_t n;
    const cr_tz *tz;  /* the configured zone: calendar days */
    const cr_tz *la;  /* carrier and processor local times */
    cr_day_t day_a;   /* the as-of day */
    cr_time_t D;      /* end of the as-of day */
    int rd_default;
    int history_days; /* claims are paid over this many days before the as-of day */
} world;

static void sn_of(uint32_t idx, int m, char *out, size_t n)
{
    uint32_t v = (uint32_t)((idx * UINT64_C(2654435761)) & 0x3fffffffu); /* bijective on 30 bits */
    char s[8];
    for (int i = 5; i >= 0; i--) {
        s[i] = B32[v & 31];
        v >>= 5;
    }
    s[6] = '\0';
    snprintf(out, n, "%s%s", MODELS[m].prefix, s);
}

static int model_of(const world *w, uint32_t idx) { return (int)(hsh(w->seed, idx, 1) % NMODELS); }

static bool reuses_serial(const world *w, uint32_t idx)
{
    return idx > 0 && hsh(w->seed, idx, 2) % 5000 == 0;
}

static cr_time_t local_to_utc(const cr_tz *tz, cr_day_t day, int64_t secs)
{
    cr_civil c;
    cr_civil_from_days(day, &c.year, &c.month, &c.day);
    c.hour = (int)(secs / 3600);
    c.minute = (int)(secs / 60 % 60);
    c.second = (int)(secs % 60);
    return cr_tz_to_utc(tz, &c);
}


static void simulate(const world *w, uint32_t idx, claim *c)
{
    memset(c, 0, sizeof *c);
    c->idx = idx;
    c->r.s = w->seed ^ mix64((uint64_t)idx + 0x5eed);
    rng *r = &c->r;

    c->premium = ru01(r) < 0.90;
    double g = ru01(r);
    c->flag = g < 0.005    ? G_CANCELLED
              : g < 0.0055 ? G_NO_PREAUTH
              : g < 0.0060 ? G_EXCEEDS
              : g < 0.0065 ? G_REGION
              : g < 0.0070 ? G_DISCOVER
              : g < 0.0075 ? G_INELIGIBLE
                           : G_NONE;
    if (!c->premium && (c->flag == G_NO_PREAUTH || c->flag == G_EXCEEDS || c->flag == G_REGION))
        c->flag = G_NONE;

    c->model = model_of(w, idx);
    uint32_t sn_idx = idx;
    if (reuses_serial(w, idx)) { /* SERIAL_REUSED: the previous claim's unit */
        sn_idx = idx - 1;
        c->model = model_of(w, idx - 1);
    }
    sn_of(sn_idx, c->model, c->sn, sizeof c->sn);
    const model *m = &MODELS[c->model];

    cr_day_t pday = w->day_a - (cr_day_t)rrange(r, 0, w->history_days - 1);
    c->paid = local_to_utc(w->tz, pday, rrange(r, 0, DAY - 1));
    c->paid_z = ru01(r) < 0.05;
    int y, mo, d;
    cr_civil_from_days(pday, &y, &mo, &d);
    snprintf(c->id, sizeof c->id, "CE%02d%02d-%07" PRIu32, y % 100, mo, idx + 1);

    c->region = "US";
    c->currency = "USD";
    c->exponent = 2;
    c->value = m->value;
    c->fee = m->fee;
    if (!c->premium) {
        double q = ru01(r);
        if (q < 0.02) {
            c->region = "JP";
            c->currency = "JPY";
            c->exponent = 0;
            c->value = m->value * 34 / 100 * 10; /* yen, rounded to 10 */
            c->fee = m->fee * 34 / 100 * 10;
        } else if (q < 0.05) {
            c->region = "CA";
            c->currency = "CAD";
            c->value = m->value * 136 / 100;
            c->fee = m->fee * 136 / 100;
        }
    } else if (c->flag == G_REGION) {
        c->region = "CA";
        c->currency = "CAD";
        c->value = m->value * 136 / 100;
        c->fee = m->fee * 136 / 100;
    }
    c->battery = ru01(r) < 0.35;

    double b = ru01(r);
    c->brand = b < 0.70 ? "mastercard" : b < 0.92 ? "visa" : "amex";
    if (c->flag == G_DISCOVER)
        c->brand = "discover";

    if (c->premium) {
        c->has_ref = true;
        snprintf(c->ref, sizeof c->ref, "88%014" PRIu64, (uint64_t)idx * 7919u + 104729u);
        c->has_preauth_amount = true;
        c->preauth = c->value;
        if (c->flag == G_EXCEEDS)
            c->preauth = c->value + 16000;
        if (c->flag == G_NO_PREAUTH) {
            if (idx % 2)
                c->has_ref = false;
            else
                c->preauth = 0;
        }
    }
    c->return_days = ru01(r) < 0.05 ? (ru01(r) < 0.5 ? 7 : 10) : 0;
    c->expires = pday + (cr_day_t)rrange(r, 90, 700);
    c->left = (int)rrange(r, 1, 2);
    if (c->flag == G_INELIGIBLE) {
        if (idx % 2)
            c->left = 0;
        else
            c->expires = pday - (cr_day_t)rrange(r, 1, 30);
    }

    /* tracking numbers: unique per claim */
    snprintf(c->tracking, sizeof c->tracking, "1Z9R4E81%010" PRIu64, ((uint64_t)idx * 7919u + 17u) % 10000000000u);
    snprintf(c->ci_tracking, sizeof c->ci_tracking, "%s", c->tracking);

    /* fate */
    double f = ru01(r);
    if (c->premium)
        c->fate = f < 0.020   ? F_NOT_RETURNED
                  : f < 0.040 ? F_LATE
                  : f < 0.045 ? F_LOST
                  : f < 0.052 ? F_DELIV_NO_CI
                  : f < 0.060 ? F_NONGENUINE
                  : f < 0.070 ? F_BATTERY
                  : f < 0.077 ? F_SN_FAR
                  : f < 0.080 ? F_SN_NEAR
                              : F_CONFORM;
    else
        c->fate = f < 0.06 ? F_NOT_RETURNED : f < 0.07 ? F_NONGENUINE : f < 0.08 ? F_BATTERY : F_CONFORM;
    if (c->flag == G_CANCELLED)
        c->fate = f < 0.4 ? F_CONFORM : F_NOT_RETURNED;
    if (c->fate == F_BATTERY)
        c->battery = 1;

    int rd = c->return_days ? c->return_days : w->rd_default;
    c->ship = c->deliv = c->ci = c->ci2 = c->iscan = CR_TIME_NONE;
    switch (c->fate) {
    case F_NOT_RETURNED: break;
    case F_LATE:
        c->ship = c->paid + (rd + rrange(r, 1, 6)) * DAY + rrange(r, 0, DAY);
        c->deliv = c->ship + rrange(r, 2 * DAY, 4 * DAY);
        c->ci = c->deliv + rrange(r, 2 * HOUR, 36 * HOUR);
        break;
    case F_LOST: c->ship = c->paid + rrange(r, DAY, 4 * DAY); break;
    case F_DELIV_NO_CI:
        c->ship = c->paid + rrange(r, DAY, 4 * DAY);
        c->deliv = c->ship + rrange(r, 2 * DAY, 4 * DAY);
        break;
    default:
        c->ship = c->paid + rrange(r, 5 * HOUR, 5 * DAY);
        c->deliv = c->ship + rrange(r, 36 * HOUR, 5 * DAY);
        c->ci = c->deliv + rrange(r, HOUR, 2 * DAY);
        break;
    }
    if (c->ship != CR_TIME_NONE && c->deliv != CR_TIME_NONE && ru01(r) < 0.3)
        c->iscan = c->ship + (c->deliv - c->ship) / 2;

    /* the check-in's content */
    snprintf(c->ci_serial, sizeof c->ci_serial, "%s", c->sn);
    c->ci_genuine = true;
    c->ci_batt = c->battery ? true : ru01(r) < 0.8;
    if (c->fate == F_NONGENUINE)
        c->ci_genuine = false;
    if (c->fate == F_BATTERY)
        c->ci_batt = false;
    if (c->fate == F_SN_FAR)
        sn_of(idx ^ 0x2aaaaaau, (c->model + 1) % (int)NMODELS, c->ci_serial, sizeof c->ci_serial);
    if (c->fate == F_SN_NEAR) { /* one look-alike character: 0->O, 1->I or 5->S */
        for (char *p = c->ci_serial; *p; p++) {
            if (*p == '0' || *p == '1' || *p == '5') {
                *p = *p == '0' ? 'O' : *p == '1' ? 'I' : 'S';
                break;
            }
        }
    }
    if (c->ci != CR_TIME_NONE && ru01(r) < 0.001) { /* MULTIPLE_RECEIPTS */
        c->ci2 = c->ci + rrange(r, HOUR, 3 * HOUR);
        sn_of(idx ^ 0x1555555u, c->model, c->ci2_serial, sizeof c->ci2_serial);
    }

    bool ci_seen = c->ci != CR_TIME_NONE && c->ci <= w->D;
    c->carrier = c->fate == F_LATE || c->fate == F_LOST || c->fate == F_DELIV_NO_CI || !ci_seen ||
                 ru01(r) < 0.05;
    if (c->fate == F_CONFORM && c->flag == G_NONE && !c->carrier && ru01(r) < 0.01 &&
        !reuses_serial(w, idx) && !reuses_serial(w, idx + 1)) {
        /* checked in from the serial alone: own label, scanner prefix, lower case */
        c->serial_only = true;
        snprintf(c->ci_tracking, sizeof c->ci_tracking, "9400111206%012" PRIu64,
                 ((uint64_t)idx * 7919u + 31u) % 1000000000000u);
        char low[24];
        size_t l = strlen(c->sn);
        for (size_t i = 0; i <= l; i++)
            low[i] = (char)((c->sn[i] >= 'A' && c->sn[i] <= 'Z') ? c->sn[i] + 32 : c->sn[i]);
        snprintf(c->ci_serial, sizeof c->ci_serial, "]C1 %.5s-%s", low, low + 5);
    }
    c->blank_ref_carrier = c->carrier && ci_seen && !c->serial_only && ru01(r) < 0.05;
}

/* What the first night decides for a premium claim, from what it can see. */
static int predict(const world *w, const claim *c)
{
    if (!c->premium || c->flag == G_CANCELLED || !c->has_ref || c->preauth <= 0)
        return D_NONE;
    cr_time_t D = w->D;
    cr_day_t pday = cr_tz_day_of(w->tz, c->paid);
    int rd = c->return_days ? c->return_days : w->rd_default;
    cr_time_t deadline = cr_tz_end_of_day(w->tz, pday + rd);
    cr_time_t grace = cr_tz_end_of_day(w->tz, pday + rd + 7);
    cr_time_t ci = c->ci != CR_TIME_NONE && c->ci <= D ? c->ci : CR_TIME_NONE;
    cr_time_t dl = c->carrier && c->deliv != CR_TIME_NONE && c->deliv <= D ? c->deliv : CR_TIME_NONE;
    cr_time_t sh = c->carrier && c->ship != CR_TIME_NONE && c->ship <= D ? c->ship : CR_TIME_NONE;
    cr_time_t arr = cr_time_min(dl, ci);
    bool timely = arr != CR_TIME_NONE &&
                  (arr <= deadline || (sh != CR_TIME_NONE && sh <= deadline && arr <= grace));
    if (ci != CR_TIME_NONE) {
        bool nc = !c->ci_genuine || strcmp(c->ci_serial, c->sn) != 0 || (c->battery && !c->ci_batt);
        if (c->serial_only)
            nc = false;
        return nc ? D_CAPTURE : timely ? D_RELEASE : D_CAPTURE;
    }
    if (dl != CR_TIME_NONE)
        return timely ? D_PENDING : D_CAPTURE;
    if (D <= deadline)
        return D_PENDING;
    if (sh != CR_TIME_NONE && sh <= deadline && D <= grace)
        return D_PENDING;
    return D_CAPTURE;
}

/* ------------------------------------------------------------------------ */
/* Output files                                                             */

enum kind { K_DEPOT, K_CARRIER, K_SETTLE, K_N };

typedef struct out {
    FILE *f;
    char *buf;
    long rows;
} out;

typedef struct gen {
    world w;
    const char *dir;
    const char *tag; /* increment tag, NULL for the base data */
    out files[K_N][FILE_DAYS];
    long events, srows, rejected, strays;
    long files_written;
    uint64_t modref;
    bool failed;
} gen;

static const char DEPOT_HEADER[] =
    "RMA No,Tracking No,Checked In,Serial No,Battery Returned (Y/N),Genuine (Y/N),Technician,Notes";
static const char CARRIER_HEADER[] =
    "Tracking Number,Activity Code,Activity Date,Activity Time,Reference Number 1,"
    "Reference Number 2,Shipper Name,Shipper City,Shipper State,Package Weight";
static const char SETTLE_HEADER[] =
    "Company Account,Merchant Account,Psp Reference,Merchant Reference,Payment Method,"
    "Creation Date,TimeZone,Type,Modification Reference,Gross Currency,Gross Debit (GC),"
    "Gross Credit (GC),Exchange Rate,Net Currency,Net Debit (NC),Net Credit (NC),"
    "Commission (NC),Batch Number";

static bool crlf_of(int k, int slot) { return k == K_DEPOT && slot % 2 == 0; }

/* The file of kind K for the day of instant T (base data), or the single
 * increment file; NULL when T lies outside the files' days. */
static FILE *file_for(gen *g, int k, cr_time_t t, bool *crlf)
{
    int slot;
    char name[64], path[4096];
    if (g->failed)
        return NULL;
    if (g->tag) {
        slot = 0;
    } else {
        cr_day_t d = cr_tz_day_of(g->w.tz, t);
        slot = (int)(d - (g->w.day_a - (FILE_DAYS - 2)));
        if (slot < 0)
            slot = 0; /* older rows go to the oldest file */
        if (slot >= FILE_DAYS)
            return NULL;
    }
    *crlf = crlf_of(k, slot);
    out *o = &g->files[k][slot];
    if (o->f)
        return o->f;
    cr_day_t fday = g->w.day_a - (FILE_DAYS - 2) + slot;
    int y, m, d;
    cr_civil_from_days(g->tag ? g->w.day_a + 1 : fday, &y, &m, &d);
    static const char *const pfx[K_N] = {"depot", "carrier", "settlement_detail_report"};
    if (g->tag)
        snprintf(name, sizeof name, "%s_incr_%s.csv", pfx[k], g->tag);
    else
        snprintf(name, sizeof name, "%s%s_%04d%02d%02d.csv", pfx[k], k == K_SETTLE ? "_batch" : "", y,
                 m, d);
    snprintf(path, sizeof path, "%s/inbox/%s/%s", g->dir, k == K_SETTLE ? "settlements" : "receipts",
             name);
    o->f = fopen(path, "wx");
    if (!o->f) {
        fprintf(stderr, "gen: cannot create %s: %s\n", path, strerror(errno));
        g->failed = true;
        return NULL;
    }
    o->buf = malloc(1 << 16);
    if (o->buf)
        setvbuf(o->f, o->buf, _IOFBF, 1 << 16);
    g->files_written++;
    const char *eol = *crlf ? "\r\n" : "\n";
    switch (k) {
    case K_DEPOT:
        fprintf(o->f, "%sService Center Check-in Export%sGenerated %04d-%02d-%02d 23:00%s%s%s",
                *crlf ? "\xEF\xBB\xBF" : "", eol, y, m, d, eol, DEPOT_HEADER, eol);
        break;
    case K_CARRIER: fprintf(o->f, "%s%s", CARRIER_HEADER, eol); break;
    default: fprintf(o->f, "%s%s%s", slot % 3 == 1 ? "\xEF\xBB\xBF" : "", SETTLE_HEADER, eol); break;
    }
    return o->f;
}

static int close_all(gen *g)
{
    int bad = 0;
    for (int k = 0; k < K_N; k++)
        for (int s = 0; s < FILE_DAYS; s++) {
            out *o = &g->files[k][s];
            if (o->f && (ferror(o->f) || fclose(o->f) != 0)) {
                fprintf(stderr, "gen: write error: %s\n", strerror(errno));
                bad = 1;
            }
            free(o->buf);
            o->f = NULL;
            o->buf = NULL;
        }
    return bad;
}

/* "2026-11-13T10:14:22-05:00" in zone TZ. */
static void fmt_offset(const cr_tz *tz, cr_time_t t, char *buf, size_t n)
{
    cr_civil c;
    cr_tz_from_utc(tz, t, &c);
    int32_t off = cr_tz_offset_at(tz, t);
    int a = off < 0 ? -off : off;
    snprintf(buf, n, "%04d-%02d-%02dT%02d:%02d:%02d%c%02d:%02d", c.year, c.month, c.day, c.hour,
             c.minute, c.second, off < 0 ? '-' : '+', a / 3600, a / 60 % 60);
}

/* --- receipts --- */

/* A depot check-in row.  BAD: 0 good, 1 bad date, 2 bad boolean. */
static void depot_row(gen *g, rng *r, cr_time_t t, const char *rma, const char *tracking,
                      const char *serial, bool batt, bool genuine, int bad)
{
    bool crlf;
    FILE *f = file_for(g, K_DEPOT, t, &crlf);
    if (!f)
        return;
    char when[40];
    fmt_offset(g->w.tz, t, when, sizeof when);
    if (bad == 1) { /* day 31 of a 30-day month, or a day-first date */
        cr_civil c;
        cr_tz_from_utc(g->w.tz, t, &c);
        snprintf(when, sizeof when, "%02d/%02d/%04d %02d:%02d", c.day, c.month, c.year, c.hour, c.minute);
    }
    const char *bs = batt ? "Y" : "N", *gs = genuine ? "Y" : "N";
    if (bad == 2) {
        if (rnext(r) % 2)
            bs = "maybe";
        else
            gs = "?";
    }
    double q = ru01(r);
    const char *notes = q < 0.04 ? "\"Box damaged, unit intact\""
                        : q < 0.05 ? "\"label said \"\"fragile\"\", no RMA on box\""
                        : q < 0.06 ? "\"two units,\nsecond one returned to sender\""
                                   : "";
    fprintf(f, "%s,%s,%s,%s,%s,%s,%s,%s%s", rma, tracking, when, serial, bs, gs,
            TECHS[rnext(r) % 5], notes, crlf ? "\r\n" : "\n");
    g->events++;
    if (bad)
        g->rejected++;
}

/* A carrier scan row: CODE P/D/I (or Z: unknown).  BAD 1: impossible date. */
static void carrier_row(gen *g, rng *r, cr_time_t t, const char *tracking, char code, const char *ref,
                        int bad)
{
    bool crlf;
    FILE *f = file_for(g, K_CARRIER, t, &crlf);
    if (!f)
        return;
    cr_civil c;
    cr_tz_from_utc(g->w.la, t, &c);
    char date[16];
    snprintf(date, sizeof date, "%04d%02d%02d", c.year, c.month, c.day);
    if (bad == 1)
        snprintf(date, sizeof date, "%04d%02d31", c.year, c.month == 2 ? 2 : 11);
    const char *const *city = CITIES[rnext(r) % 10];
    uint64_t wt = rnext(r) % 40 + 3;
    fprintf(f, "%s,%c,%s,%02d%02d%02d,%s,CARE EXPRESS RETURN,%s,%s,%s,%d.%d%s", tracking, code, date,
            c.hour, c.minute, c.second, ref, NAMES[rnext(r) % 10], city[0], city[1], (int)(wt / 10),
            (int)(wt % 10), crlf ? "\r\n" : "\n");
    g->events++;
    if (bad)
        g->rejected++;
}

/* Maybe (1%) a rejected copy of a receipt row. */
static void maybe_bad_receipt(gen *g, const claim *c, rng *r, cr_time_t t, bool depot)
{
    if (ru01(r) >= 0.01)
        return;
    if (depot)
        depot_row(g, r, t, c->id, c->ci_tracking, c->ci_serial, c->ci_batt, c->ci_genuine,
                  1 + (int)(rnext(r) % 2));
    else if (rnext(r) % 2)
        carrier_row(g, r, t, c->tracking, 'D', c->id, 1);
    else
        carrier_row(g, r, t, c->tracking, 'Z', c->id, 0), g->rejected++;
}

static void checkin(gen *g, const claim *c, rng *r, cr_time_t t)
{
    depot_row(g, r, t, c->serial_only ? "" : c->id, c->ci_tracking, c->ci_serial, c->ci_batt,
              c->ci_genuine, 0);
    maybe_bad_receipt(g, c, r, t, true);
}

static void scan(gen *g, const claim *c, rng *r, cr_time_t t, char code)
{
    carrier_row(g, r, t, c->tracking, code, c->blank_ref_carrier ? "" : c->id, 0);
    maybe_bad_receipt(g, c, r, t, false);
}

/* A receipt no claim will match (UNMATCHED_RECEIPT). */
static void stray(gen *g, const claim *c, rng *r, cr_time_t t)
{
    char tr[32], sn[24];
    snprintf(tr, sizeof tr, "1Z9R4E82%010" PRIu64, ((uint64_t)c->idx * 7919u + 3u) % 10000000000u);
    if (rnext(r) % 2) {
        sn_of(c->idx, c->model, sn, sizeof sn);
        sn[0] = 'Z';
        sn[1] = 'Z'; /* no model has this prefix */
        depot_row(g, r, t, "", tr, sn, true, true, 0);
    } else {
        carrier_row(g, r, t, tr, 'P', "", 0);
    }
    g->strays++;
}

/* --- settlements --- */

static const char *method_of(const char *brand)
{
    return strcmp(brand, "mastercard") == 0 ? "mc" : brand;
}

/* One processor row.  AMOUNT < 0: no amount (Cancelled, Expired).  BAD: 0
 * good, 1 bad amount, 2 bad date. */
static void settle_row(gen *g, rng *r, cr_time_t t, const char *psp, const char *mref,
                       const char *method, const char *type, const char *currency, int exponent,
                       int64_t amount, int bad)
{
    bool crlf;
    FILE *f = file_for(g, K_SETTLE, t, &crlf);
    if (!f)
        return;
    cr_civil c;
    cr_tz_from_utc(g->w.la, t, &c);
    int32_t off = cr_tz_offset_at(g->w.la, t);
    char date[32], gross[40] = "", net[40] = "", comm[40] = "", debit[40] = "", credit[40] = "",
                   netd[40] = "", netc[40] = "";
    snprintf(date, sizeof date, "%04d-%02d-%02d %02d:%02d:%02d", c.year, c.month, c.day, c.hour,
             c.minute, c.second);
    if (bad == 2)
        snprintf(date, sizeof date, "%04d-02-30 %02d:%02d:%02d", c.year, c.hour, c.minute, c.second);
    if (amount >= 0) {
        int64_t cm = amount * 6 / 1000;
        cr_money_format(amount, exponent, gross, sizeof gross);
        cr_money_format(amount - cm, exponent, net, sizeof net);
        cr_money_format(cm, exponent, comm, sizeof comm);
        if (bad == 1) { /* a decimal comma, quoted: "39,00" */
            char tmp[40];
            char *dot = strchr(gross, '.');
            if (dot)
                *dot = ',';
            snprintf(tmp, sizeof tmp, "\"%s%s\"", gross, dot ? "" : ",5");
            snprintf(gross, sizeof gross, "%s", tmp);
        }
        bool as_debit = rnext(r) % 5 == 0;
        snprintf(as_debit ? debit : credit, sizeof debit, "%s", gross);
        snprintf(as_debit ? netd : netc, sizeof netd, "%s", net);
    }
    bool us = strcmp(currency, "USD") == 0;
    fprintf(f, "CareExpressCOM,%s,%s,%s,%s,%s,%s,%s,889%013" PRIu64 ",%s,%s,%s,%s,%s,%s,%s,%s,%d%s",
            us ? "CareExpressUS" : "CareExpressGlobal", psp, mref, method, date,
            off == -7 * 3600 ? "PDT" : "PST", type, g->modref++, currency, debit, credit,
            amount >= 0 ? "1" : "", amount >= 0 ? currency : "", netd, netc, comm,
            400 + (int)(g->w.day_a % 100), crlf ? "\r\n" : "\n");
    g->srows++;
    if (bad)
        g->rejected++;
}

static void fee_psp(const claim *c, char *buf, size_t n)
{
    snprintf(buf, n, "8931%012" PRIu64, ((uint64_t)c->idx * 7919u + 71u) % 1000000000000u);
}

static void fee_row(gen *g, const claim *c, rng *r, cr_time_t t, bool mismatch)
{
    char psp[24];
    fee_psp(c, psp, sizeof psp);
    int64_t fee = mismatch ? c->fee + (c->exponent ? 100 : 1000) : c->fee;
    settle_row(g, r, t, psp, c->id, method_of(c->brand), "Fee", c->currency, c->exponent, fee, 0);
    if (ru01(r) < 0.01)
        settle_row(g, r, t, psp, c->id, method_of(c->brand), "Fee", c->currency, c->exponent, fee,
                   1 + (int)(rnext(r) % 2));
}

/* The row confirming the first night's action on C, booked at T. */
static void confirm_row(gen *g, const claim *c, rng *r, int dec, cr_time_t t)
{
    const char *method = method_of(c->brand);
    if (ru01(r) < 0.003) /* CARD_MISMATCH */
        method = strcmp(c->brand, "visa") == 0 ? "mc" : "visa";
    if (dec == D_RELEASE) {
        settle_row(g, r, t, c->ref, c->id, method, "Cancelled", c->currency, c->exponent, -1, 0);
        return;
    }
    int64_t cap = c->preauth < c->value ? c->preauth : c->value;
    if (ru01(r) < 0.01)
        settle_row(g, r, t - HOUR, c->ref, c->id, method, "SentForSettle", c->currency, c->exponent,
                   cap, 0);
    int64_t amt = ru01(r) < 0.03 ? cap - 1000 : cap; /* SETTLEMENT_AMOUNT_MISMATCH */
    settle_row(g, r, t, c->ref, c->id, method, "Settled", c->currency, c->exponent, amt, 0);
    if (ru01(r) < 0.02) /* DUPLICATE_CAPTURE */
        settle_row(g, r, t, c->ref, c->id, method, "Settled", c->currency, c->exponent, amt, 0);
    if (strcmp(c->brand, "amex") == 0 && ru01(r) < 0.05) /* PREAUTH_EXPIRED_AT_PROCESSOR */
        settle_row(g, r, t, c->ref, c->id, method, "Expired", c->currency, c->exponent, -1, 0);
}

/* Is the first night's action on claim IDX confirmed by the base data (90%)
 * or left to the increment? */
static bool confirmed_in_base(const world *w, uint32_t idx) { return hsh(w->seed, idx, 7) % 100 < 90; }

/* ------------------------------------------------------------------------ */
/* The base data                                                            */

static void base_receipts(gen *g, claim *c)
{
    const world *w = &g->w;
    rng *r = &c->r;
    if (c->carrier) {
        if (c->ship != CR_TIME_NONE && c->ship <= w->D)
            scan(g, c, r, c->ship, 'P');
        if (c->iscan != CR_TIME_NONE && c->iscan <= w->D)
            scan(g, c, r, c->iscan, 'I');
        if (c->deliv != CR_TIME_NONE && c->deliv <= w->D)
            scan(g, c, r, c->deliv, 'D');
    }
    if (c->ci != CR_TIME_NONE && c->ci <= w->D)
        checkin(g, c, r, c->ci);
    if (c->ci2 != CR_TIME_NONE && c->ci2 <= w->D)
        depot_row(g, r, c->ci2, c->id, c->ci_tracking, c->ci2_serial, c->ci_batt, c->ci_genuine, 0);
    if (ru01(r) < 0.002 && c->paid + 3 * DAY <= w->D)
        stray(g, c, r, c->paid + 3 * DAY);
}

static void base_settlements(gen *g, claim *c)
{
    const world *w = &g->w;
    rng *r = &c->r;
    if (!c->premium || ru01(r) < 0.15)
        fee_row(g, c, r, c->paid + rrange(r, 60, 900), ru01(r) < 0.01);
    int dec = predict(w, c);
    if ((dec == D_CAPTURE || dec == D_RELEASE) && confirmed_in_base(w, c->idx))
        confirm_row(g, c, r, dec, w->D);
    if (dec == D_PENDING && ru01(r) < 0.005) /* UNEXPECTED_CAPTURE */
        settle_row(g, r, w->D - 2 * HOUR, c->ref, c->id, method_of(c->brand), "Settled", c->currency,
                   c->exponent, c->preauth, 0);
    if (!c->premium && c->ci == CR_TIME_NONE && ru01(r) < 0.01 && c->paid + 2 * DAY <= w->D)
        settle_row(g, r, c->paid + 2 * DAY, "", c->id, method_of(c->brand), "Refunded", c->currency,
                   c->exponent, c->fee, 0);
    if (ru01(r) < 0.0003 && c->paid + 5 * DAY <= w->D) /* CHARGEBACK */
        settle_row(g, r, c->paid + 5 * DAY, "", c->id, method_of(c->brand), "Chargeback", c->currency,
                   c->exponent, c->fee, 0);
    if (ru01(r) < 0.0005) { /* UNMATCHED_SETTLEMENT: a payment of another shop */
        char psp[24], po[24];
        snprintf(psp, sizeof psp, "8932%012" PRIu64, (uint64_t)c->idx * 7919u % 1000000000000u);
        snprintf(po, sizeof po, "PO-2026-%06" PRIu32, c->idx % 1000000u);
        settle_row(g, r, c->paid + HOUR, psp, po, "visa", "Settled", "USD", 2, 34900, 0);
    }
}

static int write_claims_db(gen *g)
{
    char path[4096];
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int rc = 1;
    snprintf(path, sizeof path, "%s/claims.db", g->dir);
    unlink(path);
    if (sqlite3_open(path, &db) != SQLITE_OK)
        goto done;
    static const char schema[] =
        "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;"
        "CREATE TABLE claims (\n"
        "    claim_id           TEXT PRIMARY KEY,\n"
        "    plan               TEXT,\n"
        "    region             TEXT,\n"
        "    product_model      TEXT,\n"
        "    registered_sn      TEXT,\n"
        "    battery_registered INTEGER,\n"
        "    product_value      INTEGER,\n"
        "    currency           TEXT,\n"
        "    service_fee        INTEGER,\n"
        "    preauth_ref        TEXT NULL,\n"
        "    preauth_amount     INTEGER NULL,\n"
        "    card_brand         TEXT NULL,\n"
        "    paid_at            TEXT,\n"
        "    return_days        INTEGER NULL,\n"
        "    refresh_expires_on TEXT,\n"
        "    replacements_left  INTEGER,\n"
        "    status             TEXT\n"
        ");\n"
        "BEGIN;";
    if (sqlite3_exec(db, schema, NULL, NULL, NULL) != SQLITE_OK)
        goto done;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO claims VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12,"
                           " ?13, ?14, ?15, ?16, ?17)",
                           -1, &st, NULL) != SQLITE_OK)
        goto done;
    for (uint32_t i = 0; i < g->w.n; i++) {
        claim c;
        simulate(&g->w, i, &c);
        char paid[40], exp[16];
        if (c.paid_z)
            cr_format_utc(c.paid, paid, sizeof paid);
        else
            fmt_offset(g->w.tz, c.paid, paid, sizeof paid);
        cr_format_day(c.expires, exp, sizeof exp);
        sqlite3_bind_text(st, 1, c.id, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, c.premium ? "premium" : "basic", -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, c.region, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, MODELS[c.model].name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, c.sn, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(st, 6, c.battery);
        sqlite3_bind_int64(st, 7, c.value);
        sqlite3_bind_text(st, 8, c.currency, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 9, c.fee);
        if (c.premium && c.has_ref)
            sqlite3_bind_text(st, 10, c.ref, -1, SQLITE_TRANSIENT);
        else
            sqlite3_bind_null(st, 10);
        if (c.premium)
            sqlite3_bind_int64(st, 11, c.preauth);
        else
            sqlite3_bind_null(st, 11);
        sqlite3_bind_text(st, 12, c.brand, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 13, paid, -1, SQLITE_TRANSIENT);
        if (c.return_days)
            sqlite3_bind_int(st, 14, c.return_days);
        else
            sqlite3_bind_null(st, 14);
        sqlite3_bind_text(st, 15, exp, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(st, 16, c.left);
        sqlite3_bind_text(st, 17, c.flag == G_CANCELLED ? "cancelled" : "active", -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE)
            goto done;
        sqlite3_reset(st);
    }
    if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        goto done;
    rc = 0;
done:
    if (rc)
        fprintf(stderr, "gen: %s: %s\n", path, db ? sqlite3_errmsg(db) : "cannot open");
    sqlite3_finalize(st);
    sqlite3_close(db);
    return rc;
}

/* Copies the shipped configuration, pointing its paths into DIR. */
static int write_config(gen *g, const char *tmpl, char *tzname, size_t tzn)
{
    char path[4096], line[4096];
    FILE *in = fopen(tmpl, "r"), *o = NULL;
    int replaced = 0;
    bool in_inbox = false;
    if (!in) {
        fprintf(stderr, "gen: cannot read %s: %s\n", tmpl, strerror(errno));
        return 1;
    }
    snprintf(path, sizeof path, "%s/config/carerecon.yaml", g->dir);
    o = fopen(path, "w");
    if (!o) {
        fprintf(stderr, "gen: cannot create %s: %s\n", path, strerror(errno));
        fclose(in);
        return 1;
    }
    fprintf(o, "# Written by build/gen from %s: the shipped feeds and policy, paths into the\n"
               "# generated data set.\n",
            tmpl);
    static const char *const keys[][2] = {{"claims_db:", "../claims.db"},
                                          {"state_db:", "../var/carerecon.db"},
                                          {"report_dir:", "../reports"},
                                          {"actions_dir:", "../reports/actions"}};
    while (fgets(line, sizeof line, in)) {
        bool done = false;
        if (line[0] != ' ' && line[0] != '#' && line[0] != '\n')
            in_inbox = strncmp(line, "inbox:", 6) == 0;
        for (size_t k = 0; k < 4 && !done; k++)
            if (strncmp(line, keys[k][0], strlen(keys[k][0])) == 0) {
                fprintf(o, "%s %s\n", keys[k][0], keys[k][1]);
                replaced++;
                done = true;
            }
        if (!done && in_inbox) {
            const char *p = line + strspn(line, " ");
            if (strncmp(p, "receipts:", 9) == 0 || strncmp(p, "settlements:", 12) == 0) {
                bool rec = p[0] == 'r';
                fprintf(o, "%.*s%s ../inbox/%s\n", (int)(p - line), line, rec ? "receipts:" : "settlements:",
                        rec ? "receipts" : "settlements");
                replaced++;
                done = true;
            }
        }
        if (!done && strncmp(line, "timezone:", 9) == 0) {
            const char *p = line + 9 + strspn(line + 9, " ");
            size_t l = strcspn(p, " #\n");
            snprintf(tzname, tzn, "%.*s", (int)l, p);
        }
        if (!done)
            fputs(line, o);
    }
    fclose(in);
    if (fclose(o) != 0 || replaced != 6) {
        fprintf(stderr, "gen: %s: expected 6 paths to rewrite, found %d\n", tmpl, replaced);
        return 1;
    }
    return 0;
}

/* Reads the zone back from a written config (increment mode). */
static void config_tz(const char *dir, char *tzname, size_t tzn)
{
    char path[4096], line[4096];
    snprintf(path, sizeof path, "%s/config/carerecon.yaml", dir);
    FILE *in = fopen(path, "r");
    if (!in)
        return;
    while (fgets(line, sizeof line, in))
        if (strncmp(line, "timezone:", 9) == 0) {
            const char *p = line + 9 + strspn(line + 9, " ");
            snprintf(tzname, tzn, "%.*s", (int)strcspn(p, " #\n"), p);
        }
    fclose(in);
}

/* ------------------------------------------------------------------------ */
/* The increment                                                            */

/* Where claim C stands after the first night: 0 nothing seen, 1 shipped,
 * 2 delivered, 3 checked in (not a candidate). */
static int stage_of(const world *w, const claim *c)
{
    if (c->ci != CR_TIME_NONE && c->ci <= w->D)
        return 3;
    if (c->carrier && c->deliv != CR_TIME_NONE && c->deliv <= w->D)
        return 2;
    if (c->carrier && c->ship != CR_TIME_NONE && c->ship <= w->D)
        return 1;
    return 0;
}

static void increment(gen *g, long k)
{
    const world *w = &g->w;
    uint32_t start = (uint32_t)(hsh(w->seed, 0, mix64((uint64_t)strlen(g->tag)) ^ (uint64_t)g->tag[0]) % w->n);
    cr_day_t next = w->day_a + 1;
    rng r = {w->seed ^ mix64(0xabcdefu + (uint64_t)g->tag[0])};
    for (const char *p = g->tag; *p; p++)
        r.s = mix64(r.s ^ (uint64_t)(unsigned char)*p);

    /* receipts: each claim still out moves one step a pass (shipped,
     * delivered, checked in), all on the next day */
    for (int pass = 0; pass < 3 && g->events < k && !g->failed; pass++) {
        for (uint32_t j = 0; j < w->n && g->events < k && !g->failed; j++) {
            uint32_t i = (start + j) % w->n;
            claim c;
            simulate(w, i, &c);
            if (c.flag == G_CANCELLED)
                continue;
            int st = stage_of(w, &c) + pass;
            if (st > 2)
                continue;
            c.carrier = true;
            c.serial_only = false;
            c.blank_ref_carrier = false;
            snprintf(c.ci_tracking, sizeof c.ci_tracking, "%s", c.tracking);
            if (c.fate != F_SN_FAR && c.fate != F_SN_NEAR) /* no scanner format: RMA given */
                snprintf(c.ci_serial, sizeof c.ci_serial, "%s", c.sn);
            if (st == 0)
                scan(g, &c, &r, local_to_utc(w->tz, next, rrange(&r, 8 * HOUR, 11 * HOUR)), 'P');
            else if (st == 1)
                scan(g, &c, &r, local_to_utc(w->tz, next, rrange(&r, 11 * HOUR, 15 * HOUR)), 'D');
            else
                checkin(g, &c, &r, local_to_utc(w->tz, next, rrange(&r, 15 * HOUR, 20 * HOUR)));
            if (ru01(&r) < 0.005 && g->events < k)
                stray(g, &c, &r, local_to_utc(w->tz, next, rrange(&r, 9 * HOUR, 17 * HOUR)));
        }
    }
    if (g->events < k && !g->failed)
        fprintf(stderr, "gen: warning: only %ld receipt events available for the increment\n", g->events);

    /* settlements: the first night's actions the base data left
     * unconfirmed, then fees */
    long target_confirm = k * 6 / 10;
    for (uint32_t j = 0; j < w->n && g->srows < target_confirm && !g->failed; j++) {
        uint32_t i = (start + j) % w->n;
        if (confirmed_in_base(w, i))
            continue;
        claim c;
        simulate(w, i, &c);
        int dec = predict(w, &c);
        if (dec == D_CAPTURE || dec == D_RELEASE)
            confirm_row(g, &c, &r, dec, local_to_utc(w->tz, next, rrange(&r, HOUR, 22 * HOUR)));
    }
    for (uint32_t j = 0; g->srows < k && !g->failed; j = (j + 1) % w->n) {
        uint32_t i = (start + j + w->n / 2) % w->n;
        claim c;
        simulate(w, i, &c);
        cr_time_t t = local_to_utc(w->tz, next, rrange(&r, HOUR, 22 * HOUR));
        double q = ru01(&r);
        if (q < 0.003)
            settle_row(g, &r, t, "", c.id, method_of(c.brand), "Chargeback", c.currency, c.exponent, c.fee, 0);
        else if (q < 0.01)
            settle_row(g, &r, t, "", c.id, method_of(c.brand), "Refunded", c.currency, c.exponent, c.fee, 0);
        else
            fee_row(g, &c, &r, t, q > 0.99);
    }
}

/* ------------------------------------------------------------------------ */

static int mkdirs(const char *dir, const char *sub)
{
    char path[4096];
    snprintf(path, sizeof path, "%s%s%s", dir, sub ? "/" : "", sub ? sub : "");
    for (char *p = path + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(path, 0777) != 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    }
    if (mkdir(path, 0777) != 0 && errno != EEXIST)
        return -1;
    return 0;
}

static int usage(void)
{
    fputs("usage: gen --claims N --seed S --out DIR [--as-of YYYY-MM-DD] [--template FILE]\n"
          "           [--increment K --increment-tag T]\n",
          stderr);
    return 64;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"claims", required_argument, NULL, 'n'},     {"seed", required_argument, NULL, 's'},
        {"out", required_argument, NULL, 'o'},        {"as-of", required_argument, NULL, 'a'},
        {"increment", required_argument, NULL, 'i'},  {"increment-tag", required_argument, NULL, 't'},
        {"template", required_argument, NULL, 'T'},   {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    long long n = 1000000, k = -1;
    unsigned long long seed = 42;
    const char *dir = NULL, *asof = "2026-11-20", *tag = NULL, *tmpl = "config/carerecon.yaml";
    int c;
    char *end;
    while ((c = getopt_long(argc, argv, "n:s:o:a:i:t:T:h", opts, NULL)) != -1) {
        switch (c) {
        case 'n':
            n = strtoll(optarg, &end, 10);
            if (*end || n < 1 || n > 100000000)
                return usage();
            break;
        case 's':
            seed = strtoull(optarg, &end, 10);
            if (*end)
                return usage();
            break;
        case 'o': dir = optarg; break;
        case 'a': asof = optarg; break;
        case 'i':
            k = strtoll(optarg, &end, 10);
            if (*end || k < 1)
                return usage();
            break;
        case 't': tag = optarg; break;
        case 'T': tmpl = optarg; break;
        default: return usage();
        }
    }
    if (!dir || optind != argc || (k > 0) != (tag != NULL))
        return usage();
    if (tag && (!*tag || strspn(tag, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") != strlen(tag)))
        return usage();

    static gen g; /* large: file table */
    g.dir = dir;
    g.tag = tag;
    g.w.seed = mix64(seed);
    g.w.n = (uint32_t)n;
    g.w.history_days = (int)(n / CLAIMS_PER_DAY) > MIN_HISTORY_DAYS ? (int)(n / CLAIMS_PER_DAY)
                                                                    : MIN_HISTORY_DAYS;
    g.w.rd_default = 14;
    g.modref = tag ? 5000000000000u + (mix64(seed ^ (uint64_t)strlen(tag)) % 1000000000u) : 1000000000000u;
    if (cr_parse_date(asof, &g.w.day_a) != CR_OK) {
        fprintf(stderr, "gen: --as-of %s is not a date\n", asof);
        return 64;
    }
    char tzname[256] = "America/New_York";
    if (mkdirs(dir, "inbox/receipts") || mkdirs(dir, "inbox/settlements") || mkdirs(dir, "config") ||
        mkdirs(dir, "var") || mkdirs(dir, "reports/actions") || mkdirs(dir, "tmp")) {
        fprintf(stderr, "gen: cannot create folders under %s: %s\n", dir, strerror(errno));
        return 73;
    }
    if (!tag) {
        if (write_config(&g, tmpl, tzname, sizeof tzname))
            return 78;
    } else {
        config_tz(dir, tzname, sizeof tzname);
    }
    cr_tz *tz = cr_tz_load(tzname), *la = cr_tz_load("America/Los_Angeles");
    if (!tz || !la) {
        fprintf(stderr, "gen: cannot load time zone %s or America/Los_Angeles\n", tzname);
        return 78;
    }
    g.w.tz = tz;
    g.w.la = la;
    g.w.D = cr_tz_end_of_day(tz, g.w.day_a);

    long captures = 0, releases = 0, pending = 0, premium = 0;
    if (tag) {
        increment(&g, (long)k);
    } else {
        if (write_claims_db(&g))
            return 74;
        for (uint32_t i = 0; i < g.w.n && !g.failed; i++) {
            claim cl;
            simulate(&g.w, i, &cl);
            base_receipts(&g, &cl);
            base_settlements(&g, &cl);
            premium += cl.premium;
            int d = predict(&g.w, &cl);
            captures += d == D_CAPTURE;
            releases += d == D_RELEASE;
            pending += d == D_PENDING;
        }
    }
    int bad = close_all(&g) || g.failed;
    cr_tz_free(tz);
    cr_tz_free(la);
    if (bad)
        return 74;
    if (tag)
        printf("gen: increment %s: %ld receipt events, %ld settlement rows (%ld rejected, %ld unmatched)"
               " dated the day after %s\n",
               tag, g.events, g.srows, g.rejected, g.strays, asof);
    else
        printf("gen: claims=%lld premium=%ld files=%ld receipt_events=%ld settlement_rows=%ld rejected=%ld"
               " unmatched_receipts=%ld as_of=%s (expected first night: about %ld releases, %ld captures,"
               " %ld pending)\n",
               n, premium, g.files_written, g.events, g.srows, g.rejected, g.strays, asof, releases,
               captures, pending);
    return 0;
}
