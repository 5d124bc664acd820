/*
 * fuzz_amount.c - cr_money_parse and cr_money_format.
 *
 * The first byte chooses the exponent (0..7; 7 is out of range and must
 * give CR_ERANGE), the rest is the amount text.  Besides the sanitizers,
 * the target aborts when:
 *  - a parsed value does not survive format -> parse (parse(format(v)) == v);
 *  - the parser accepts text its contract rejects: a character outside
 *    "0-9,.+-() \t", more decimals than the exponent other than zeros up
 *    to two decimals in all, or (checked against a
 *    small independent reader) a value other than the one the digits say;
 *  - format -> parse fails for the first 8 bytes read as an int64, at every
 *    exponent 0..6 (INT64_MIN and INT64_MAX included).
 */
#include "money.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DIE(...)                                                                            \
    do {                                                                                    \
        fprintf(stderr, "fuzz_amount: " __VA_ARGS__);                                       \
        fputc('\n', stderr);                                                                \
        abort();                                                                            \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void round_trip(cr_money_t v, int ex, const char *from)
{
    char buf[64];
    cr_money_t back = 0;
    cr_money_format(v, ex, buf, sizeof buf);
    cr_err rc = cr_money_parse(buf, ex, &back);
    if (rc != CR_OK || back != v)
        DIE("%lld (exponent %d, from \"%s\") formats as \"%s\", which reads back as %lld (%s)",
            (long long)v, ex, from, buf, (long long)back, cr_strerror(rc));
}

/* An independent reading of an accepted amount: the digits in order, the
 * sign, the decimals padded to EX.  Returns false when it overflows. */
static bool reference_value(const char *s, int ex, __int128 *out)
{
    __int128 mag = 0;
    bool neg = strchr(s, '-') || strchr(s, '('), frac = false;
    int nfrac = 0;
    for (; *s; s++) {
        if (*s >= '0' && *s <= '9') {
            mag = mag * 10 + (*s - '0');
            nfrac += frac;
            if (mag > ((__int128)1 << 80))
                return false;
        } else if (*s == '.') {
            frac = true;
        }
    }
    for (; nfrac < ex; nfrac++)
        mag *= 10;
    for (; nfrac > ex; nfrac--)
        mag /= 10;   /* zeros past the exponent (the caller checked) */
    *out = neg ? -mag : mag;
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 512)
        return 0;
    int ex = data[0] & 7;
    char *s = malloc(size);
    if (!s)
        return 0;
    memcpy(s, data + 1, size - 1);
    s[size - 1] = '\0';

    cr_money_t v = 777;
    cr_err rc = cr_money_parse(s, ex, &v);
    if (ex > 6 && rc != CR_ERANGE)
        DIE("exponent %d gave %s", ex, cr_strerror(rc));
    if (rc != CR_OK && v != 777)
        DIE("a failed parse of \"%s\" changed the output", s);
    if (rc != CR_OK && rc != CR_EPARSE && rc != CR_ERANGE)
        DIE("unexpected error %d", (int)rc);
    if (rc == CR_OK) {
        if (strspn(s, "0123456789,.+-() \t") != strlen(s))
            DIE("\"%s\" accepted with a foreign character", s);
        /* more decimals than the exponent only as zeros, two decimals at most */
        const char *dot = strchr(s, '.');
        int nd = dot ? (int)strspn(dot + 1, "0123456789") : 0;
        if (nd > ex && (nd > 2 || strspn(dot + 1 + ex, "0") < (size_t)(nd - ex)))
            DIE("\"%s\" accepted with %d decimals (exponent %d)", s, nd, ex);
        __int128 ref;
        if (!reference_value(s, ex, &ref) || ref != (__int128)v)
            DIE("\"%s\" (exponent %d) read as %lld", s, ex, (long long)v);
        round_trip(v, ex, s);
    } else if (rc == CR_ERANGE && ex <= 6) {
        /* out of range: the digits really do not fit */
        __int128 ref;
        if (reference_value(s, ex, &ref) && ref >= INT64_MIN && ref <= INT64_MAX)
            DIE("\"%s\" (exponent %d) said out of range", s, ex);
    }

    if (size >= 9) {
        int64_t raw;
        memcpy(&raw, data + 1, sizeof raw);
        for (int e = 0; e <= 6; e++)
            round_trip(raw, e, "raw bytes");
        round_trip(INT64_MIN, ex > 6 ? 6 : ex, "INT64_MIN");
        round_trip(INT64_MAX, ex > 6 ? 6 : ex, "INT64_MAX");
    }
    free(s);
    return 0;
}
