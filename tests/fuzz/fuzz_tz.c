/*
 * fuzz_tz.c - the time-zone readers of crtime.c: TZif data
 * (cr_tz_from_tzif), POSIX TZ strings (cr_tz_from_posix) and zone names
 * (cr_tz_load, which reads the system's zone files; a value in a feed's
 * timezone_column reaches it).
 *
 * An input that starts with "TZif" is read as TZif data; any other is read
 * as a POSIX TZ string and, when short, as a zone name.  A zone that loads
 * is then queried at instants taken from the input and at fixed ones;
 * besides the sanitizers, the target aborts when an offset is beyond
 * +-26 h, when local -> UTC -> local -> UTC is not stable, or when the day
 * of an instant does not contain it.
 */
#include "crtime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DIE(...)                                                                            \
    do {                                                                                    \
        fprintf(stderr, "fuzz_tz: " __VA_ARGS__);                                           \
        fputc('\n', stderr);                                                                \
        abort();                                                                            \
    } while (0)

#define MAX_OFF (26 * 3600)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void probe(const cr_tz *tz, cr_time_t t)
{
    int32_t off = cr_tz_offset_at(tz, t);
    if (off < -MAX_OFF || off > MAX_OFF)
        DIE("offset %d at %lld", (int)off, (long long)t);
    if (t < -((int64_t)1 << 40) || t > (int64_t)1 << 40)
        return; /* far outside years 0..9999: only the offset is checked */
    cr_civil c;
    cr_tz_from_utc(tz, t, &c);
    if (c.year < 0 || c.year > 9999)
        return;
    if (!cr_civil_valid(&c))
        DIE("from_utc(%lld) is not a valid civil time", (long long)t);
    /* a local time that exists (it is T's) is read back as an instant that
     * shows it: T itself, or another of a repeated hour.  (Not: local ->
     * UTC -> local -> UTC is stable; with transitions seconds apart, as
     * fuzzed data has, an instant of one repeated span can show a local
     * time another span repeats.) */
    cr_time_t u = cr_tz_to_utc(tz, &c);
    cr_civil c2;
    cr_tz_from_utc(tz, u, &c2);
    if (memcmp(&c, &c2, sizeof c) != 0)
        DIE("%lld -> %04d-%02d-%02d %02d:%02d:%02d -> %lld -> %04d-%02d-%02d %02d:%02d:%02d",
            (long long)t, c.year, c.month, c.day, c.hour, c.minute, c.second, (long long)u,
            c2.year, c2.month, c2.day, c2.hour, c2.minute, c2.second);
    cr_day_t d = cr_tz_day_of(tz, t);
    cr_time_t eod = cr_tz_end_of_day(tz, d);
    (void)eod;
    char buf[64];
    cr_format_local(tz, t, buf, sizeof buf);
}

static void query(const cr_tz *tz, const uint8_t *data, size_t size)
{
    static const cr_time_t fixed[] = {
        INT64_MIN, -((int64_t)1 << 50), -62167219200 /* 0000-01-01 */, -2147483648LL, -1, 0, 1,
        1700000000, 1800000000, 2147483647LL, 253402300799 /* 9999-12-31 */,
        (int64_t)1 << 50, INT64_MAX};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        probe(tz, fixed[i]);
    for (size_t i = 0; i + 8 <= size && i < 64; i += 8) {
        int64_t t;
        memcpy(&t, data + i, sizeof t);
        probe(tz, t);
        probe(tz, t % ((int64_t)1 << 38)); /* within the years the parsers produce */
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536)
        return 0;
    if (size >= 4 && memcmp(data, "TZif", 4) == 0) {
        /* on its own heap block, so that a read past the end is caught */
        unsigned char *copy = malloc(size);
        if (!copy)
            return 0;
        memcpy(copy, data, size);
        cr_tz *tz = cr_tz_from_tzif("fuzz", copy, size);
        if (tz)
            query(tz, data + size - (size > 64 ? 64 : size), size > 64 ? 64 : size);
        cr_tz_free(tz);
        free(copy);
        return 0;
    }
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    cr_tz *tz = cr_tz_from_posix(NULL, s);
    if (tz)
        query(tz, data, size);
    cr_tz_free(tz);
    if (size < 64) {
        tz = cr_tz_load(s);
        if (tz)
            query(tz, data, size);
        cr_tz_free(tz);
    }
    free(s);
    return 0;
}
