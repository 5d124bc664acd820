/*
 * fuzz_datetime.c - the date and time parsers of crtime.c.
 *
 * The input is split at its first newline: the part before is a
 * strptime-style format, the part after is the value.  The value goes
 * through cr_parse_datetime with that format, and (as is) through
 * cr_parse_iso_instant, cr_parse_date and cr_parse_offset; the whole input
 * also goes through the three fixed-syntax parsers.
 *
 * Besides the sanitizers, the target aborts when a parser accepts what its
 * contract in crtime.h says it rejects, or when a value does not survive a
 * round trip:
 *  - cr_parse_datetime: the civil time it returns is cr_civil_valid, the
 *    offset is within -23:59..+23:59, and (with America/New_York and a
 *    POSIX-rule zone) local -> UTC -> local -> UTC gives the same instant;
 *  - cr_parse_date: cr_format_day of the day gives back the input text;
 *  - cr_parse_iso_instant: cr_format_utc of the instant parses back to it;
 *  - cr_parse_offset: within range and a multiple of 60 s.
 */
#include "crtime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DIE(...)                                                                            \
    do {                                                                                    \
        fprintf(stderr, "fuzz_datetime: " __VA_ARGS__);                                     \
        fputc('\n', stderr);                                                                \
        abort();                                                                            \
    } while (0)

#define MAX_OFF (23 * 3600 + 59 * 60)

static cr_tz *zones[3];

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    zones[0] = NULL; /* UTC */
    zones[1] = cr_tz_load("America/New_York");
    zones[2] = cr_tz_from_posix(NULL, "<+0330>-3:30<+0430>,J79/24,J263/24");
    if (!zones[1] || !zones[2])
        DIE("cannot load the test zones");
    return 0;
}

/* Local -> UTC -> local -> UTC must be stable in every zone. */
static void zone_round_trip(const cr_civil *c)
{
    for (int z = 0; z < 3; z++) {
        cr_time_t t = cr_tz_to_utc(zones[z], c);
        cr_civil back;
        cr_tz_from_utc(zones[z], t, &back);
        if (!cr_civil_valid(&back) && back.year >= 0 && back.year <= 9999)
            DIE("from_utc gave an invalid civil time");
        cr_time_t t2 = cr_tz_to_utc(zones[z], &back);
        if (t2 != t)
            DIE("zone %d: %04d-%02d-%02d %02d:%02d:%02d -> %lld -> %04d-%02d-%02d "
                "%02d:%02d:%02d -> %lld",
                z, c->year, c->month, c->day, c->hour, c->minute, c->second, (long long)t,
                back.year, back.month, back.day, back.hour, back.minute, back.second,
                (long long)t2);
        /* the day of an instant contains it */
        cr_day_t d = cr_tz_day_of(zones[z], t);
        cr_time_t eod = cr_tz_end_of_day(zones[z], d);
        if (eod < t && back.year > 0 && back.year < 9999)
            DIE("zone %d: end of day %lld before %lld", z, (long long)eod, (long long)t);
    }
}

static void fixed_parsers(const char *s)
{
    cr_day_t d;
    if (cr_parse_date(s, &d) == CR_OK) {
        char buf[16];
        cr_format_day(d, buf, sizeof buf);
        if (strcmp(buf, s) != 0)
            DIE("date \"%s\" formats back as \"%s\"", s, buf);
    }
    cr_time_t t;
    if (cr_parse_iso_instant(s, &t) == CR_OK) {
        char buf[40];
        cr_time_t t2;
        cr_format_utc(t, buf, sizeof buf);
        if (strlen(buf) == 20 && (cr_parse_iso_instant(buf, &t2) != CR_OK || t2 != t))
            DIE("instant \"%s\" = %lld formats as \"%s\" which does not read back", s,
                (long long)t, buf);
    }
    int32_t off;
    if (cr_parse_offset(s, &off) == CR_OK && (off < -MAX_OFF || off > MAX_OFF || off % 60))
        DIE("offset \"%s\" read as %d", s, (int)off);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    char *all = malloc(size + 1);
    if (!all)
        return 0;
    memcpy(all, data, size);
    all[size] = '\0';
    fixed_parsers(all);

    char *nl = memchr(all, '\n', size);
    if (nl) {
        *nl = '\0';
        const char *fmt = all, *val = nl + 1;
        cr_civil c;
        bool has_off = true;
        int32_t off = 12345;
        if (cr_parse_datetime(fmt, val, &c, &has_off, &off, NULL) == CR_OK) {
            if (!cr_civil_valid(&c))
                DIE("\"%s\" read with \"%s\" is not a valid civil time", val, fmt);
            if (has_off ? (off < -MAX_OFF || off > MAX_OFF) : off != 0)
                DIE("\"%s\" read with \"%s\": offset %d", val, fmt, (int)off);
            zone_round_trip(&c);
        }
        fixed_parsers(val);
    }
    free(all);
    return 0;
}
