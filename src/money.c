/* money.c - decimal amounts to and from integer minor units, without
 * floating point and with every step overflow-checked. */
#include "money.h"

#include <string.h>

#define MONEY_MAX_EXP 6

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* *MAG = *MAG * 10 + DIGIT; sets *OVF (sticky) instead of wrapping. */
static void push_digit(uint64_t *mag, unsigned digit, bool *ovf)
{
    uint64_t v;
    if (*ovf || __builtin_mul_overflow(*mag, 10u, &v) ||
        __builtin_add_overflow(v, digit, &v))
        *ovf = true;
    else
        *mag = v;
}

/* Syntax: blanks? ( '(' body ')' | [+-]? body ) blanks?, where body is
 * int ('.' frac)? or '.' frac; int is plain digits or groups "d{1,3}(,ddd)+";
 * frac is 1..EXPONENT digits, or up to two with zeros past EXPONENT.
 * Syntax errors win over overflow. */
cr_err cr_money_parse(const char *s, int exponent, cr_money_t *out)
{
    uint64_t mag = 0;
    bool neg = false, paren = false, ovf = false, grouped = false;
    int ndig = 0, group = 0, nfrac = 0;
    if (!s || !out)
        return CR_EPARSE;
    if (exponent < 0 || exponent > MONEY_MAX_EXP)
        return CR_ERANGE;
    while (is_blank(*s))
        s++;
    if (*s == '(')
        paren = neg = true, s++;
    else if (*s == '+' || *s == '-')
        neg = *s++ == '-';
    for (;; s++) {
        if (is_digit(*s)) {
            push_digit(&mag, (unsigned)(*s - '0'), &ovf);
            ndig++;
            group++;
        } else if (*s == ',') {
            if (ndig == 0 || (grouped ? group != 3 : group > 3))
                return CR_EPARSE;
            grouped = true;
            group = 0;
        } else {
            break;
        }
    }
    if (grouped && group != 3)
        return CR_EPARSE;
    if (*s == '.') {
        for (s++; is_digit(*s); s++, nfrac++) {
            if (nfrac >= exponent) {
                if (*s != '0')
                    return CR_EPARSE;   /* never dropped: 1299.999 USD */
                continue;
            }
            push_digit(&mag, (unsigned)(*s - '0'), &ovf);
        }
        if (nfrac == 0)
            return CR_EPARSE;           /* "1." and "." */
        /* zeros past the currency's decimals, up to two: an export that
         * writes every currency with two ("150000.00" JPY); never three,
         * as "1.500" may be a thousand and a half written in German */
        if (nfrac > exponent && nfrac > 2)
            return CR_EPARSE;
    }
    if (ndig + nfrac == 0)
        return CR_EPARSE;
    for (int i = nfrac; i < exponent; i++)
        push_digit(&mag, 0, &ovf);
    if (paren && *s++ != ')')
        return CR_EPARSE;
    while (is_blank(*s))
        s++;
    if (*s)
        return CR_EPARSE;
    uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    if (ovf || mag > limit)
        return CR_ERANGE;
    *out = !neg ? (int64_t)mag : mag == limit ? INT64_MIN : -(int64_t)mag;
    return CR_OK;
}

/* Digits are written backwards into a scratch buffer, then copied. */
char *cr_money_format(cr_money_t v, int exponent, char *buf, size_t n)
{
    char tmp[48], *q = tmp + sizeof tmp;
    uint64_t mag = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    int i = 0;
    if (exponent < 0)
        exponent = 0;
    if (exponent > MONEY_MAX_EXP)
        exponent = MONEY_MAX_EXP;
    *--q = '\0';
    do {
        *--q = (char)('0' + mag % 10);
        mag /= 10;
        if (++i == exponent)
            *--q = '.';
    } while (mag || i <= exponent);
    if (v < 0)
        *--q = '-';
    if (buf && n > 0) {
        size_t len = strlen(q);
        if (len >= n)
            len = n - 1;
        memcpy(buf, q, len);
        buf[len] = '\0';
    }
    return buf;
}

/* ASCII case-insensitive comparison of a table code (up to 4 bytes) with CUR. */
static bool code_eq(const char code[4], const char *cur)
{
    for (size_t i = 0; i < 4; i++) {
        char a = code[i], b = cur[i];
        if (a >= 'a' && a <= 'z')
            a = (char)(a - 'a' + 'A');
        if (b >= 'a' && b <= 'z')
            b = (char)(b - 'a' + 'A');
        if (a != b)
            return false;
        if (a == '\0')
            return true;
    }
    return cur[4] == '\0';
}

bool cr_currency_code_ok(const char *code)
{
    if (!code)
        return false;
    for (int i = 0; i < 3; i++)
        if (!((code[i] >= 'A' && code[i] <= 'Z') || (code[i] >= 'a' && code[i] <= 'z')))
            return false;
    return code[3] == '\0';
}

int cr_currency_exponent(const cr_currency_exp *table, size_t n, const char *currency)
{
    if (!table || !currency)
        return 2;
    for (size_t i = 0; i < n; i++)
        if (code_eq(table[i].code, currency))
            return table[i].exponent;
    return 2;
}
