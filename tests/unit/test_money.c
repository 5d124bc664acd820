/* test_money.c - unit tests for money.c. */
#include "harness.h"
#include "money.h"

/* Parses S with EXPONENT; returns the error and stores the value in *V. */
static cr_err mp(const char *s, int exponent, cr_money_t *v)
{
    *v = 12345;     /* sentinel: must be left alone on failure */
    return cr_money_parse(s, exponent, v);
}

/* ISO 4217's shape: three ASCII letters, any case; nothing else. */
TEST(money_currency_code_shape)
{
    static const char *const ok[] = {"USD", "eur", "JpY"};
    static const char *const bad[] = {"US$", "123", "U D", "\xE2\x82\xAC", "EURO", "US", "",
                                      " USD", "USD ", "\xC3\x84UR", NULL};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        CHECK(cr_currency_code_ok(ok[i]));
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(!cr_currency_code_ok(bad[i]));
}

TEST(money_parse_plain)
{
    cr_money_t v;
    CHECK_INT(mp("1299", 2, &v), CR_OK);
    CHECK_INT(v, 129900);
    CHECK_INT(mp("1299.5", 2, &v), CR_OK);
    CHECK_INT(v, 129950);
    CHECK_INT(mp("1299.05", 2, &v), CR_OK);
    CHECK_INT(v, 129905);
    CHECK_INT(mp("0", 2, &v), CR_OK);
    CHECK_INT(v, 0);
    CHECK_INT(mp("0.01", 2, &v), CR_OK);
    CHECK_INT(v, 1);
    CHECK_INT(mp("007", 2, &v), CR_OK);
    CHECK_INT(v, 700);
    CHECK_INT(mp("+1.2", 2, &v), CR_OK);
    CHECK_INT(v, 120);
}

TEST(money_parse_grouping)
{
    cr_money_t v;
    CHECK_INT(mp("1,299.00", 2, &v), CR_OK);
    CHECK_INT(v, 129900);
    CHECK_INT(mp("12,345,678", 2, &v), CR_OK);
    CHECK_INT(v, 1234567800);
    CHECK_INT(mp("999,999.9", 2, &v), CR_OK);
    CHECK_INT(v, 99999990);
    CHECK_INT(mp("1,29", 2, &v), CR_EPARSE);
    CHECK_INT(v, 12345);
    CHECK_INT(mp("12,34,567", 2, &v), CR_EPARSE);
    CHECK_INT(mp("1234,567", 2, &v), CR_EPARSE);
    CHECK_INT(mp("1,2345", 2, &v), CR_EPARSE);
    CHECK_INT(mp(",123", 2, &v), CR_EPARSE);
    CHECK_INT(mp("1,,000", 2, &v), CR_EPARSE);
    CHECK_INT(mp("1,", 2, &v), CR_EPARSE);
    CHECK_INT(mp("1,000,", 2, &v), CR_EPARSE);
    CHECK_INT(mp("1,000.00,0", 2, &v), CR_EPARSE);
}

TEST(money_parse_negative)
{
    cr_money_t v;
    CHECK_INT(mp("-5.00", 2, &v), CR_OK);
    CHECK_INT(v, -500);
    CHECK_INT(mp("(5.00)", 2, &v), CR_OK);
    CHECK_INT(v, -500);
    CHECK_INT(mp(" (1,299.5) ", 2, &v), CR_OK);
    CHECK_INT(v, -129950);
    CHECK_INT(mp("-0", 2, &v), CR_OK);
    CHECK_INT(v, 0);
    CHECK_INT(mp("(-5)", 2, &v), CR_EPARSE);
    CHECK_INT(mp("(+5)", 2, &v), CR_EPARSE);
    CHECK_INT(mp("-(5)", 2, &v), CR_EPARSE);
    CHECK_INT(mp("(5", 2, &v), CR_EPARSE);
    CHECK_INT(mp("5)", 2, &v), CR_EPARSE);
    CHECK_INT(mp("( 5)", 2, &v), CR_EPARSE);
    CHECK_INT(mp("()", 2, &v), CR_EPARSE);
    CHECK_INT(mp("--5", 2, &v), CR_EPARSE);
    CHECK_INT(mp("- 5", 2, &v), CR_EPARSE);
    CHECK_INT(mp("5-", 2, &v), CR_EPARSE);
    CHECK_INT(mp("-", 2, &v), CR_EPARSE);
}

TEST(money_parse_decimals)
{
    cr_money_t v;
    CHECK_INT(mp("1299.999", 2, &v), CR_EPARSE);
    CHECK_INT(mp("1.500", 2, &v), CR_EPARSE);     /* maybe 1500, written in German */
    CHECK_INT(mp("7.5", 1, &v), CR_OK);
    CHECK_INT(v, 75);
    CHECK_INT(mp("7.50", 1, &v), CR_OK);          /* a zero past one decimal, two in all */
    CHECK_INT(v, 75);
    CHECK_INT(mp("7.55", 1, &v), CR_EPARSE);
    CHECK_INT(mp("1.", 2, &v), CR_EPARSE);        /* documented: rejected */
    CHECK_INT(mp(".", 2, &v), CR_EPARSE);
    CHECK_INT(mp("-.", 2, &v), CR_EPARSE);
    CHECK_INT(mp(".5", 2, &v), CR_OK);            /* documented: accepted */
    CHECK_INT(v, 50);
    CHECK_INT(mp("-.05", 2, &v), CR_OK);
    CHECK_INT(v, -5);
    CHECK_INT(mp("1.2.3", 2, &v), CR_EPARSE);
    CHECK_INT(mp("1299.5", 3, &v), CR_OK);
    CHECK_INT(v, 1299500);
    CHECK_INT(mp("1.234", 3, &v), CR_OK);
    CHECK_INT(v, 1234);
    CHECK_INT(mp("0.000001", 6, &v), CR_OK);
    CHECK_INT(v, 1);
}

TEST(money_parse_exponent_zero)
{
    cr_money_t v;
    CHECK_INT(mp("1299", 0, &v), CR_OK);
    CHECK_INT(v, 1299);
    CHECK_INT(mp("1,299", 0, &v), CR_OK);
    CHECK_INT(v, 1299);
    /* zeros past the currency's decimals, up to two decimals in all: an
     * export that writes every currency with two */
    CHECK_INT(mp("1299.0", 0, &v), CR_OK);
    CHECK_INT(v, 1299);
    CHECK_INT(mp("150,000.00", 0, &v), CR_OK);
    CHECK_INT(v, 150000);
    CHECK_INT(mp("1299.05", 0, &v), CR_EPARSE);   /* never dropped */
    CHECK_INT(mp("1299.50", 0, &v), CR_EPARSE);
    CHECK_INT(mp("1.500", 0, &v), CR_EPARSE);     /* maybe 1500, written in German */
    CHECK_INT(mp("1299.", 0, &v), CR_EPARSE);
    CHECK_INT(mp("-7", 0, &v), CR_OK);
    CHECK_INT(v, -7);
    CHECK_INT(mp("1", -1, &v), CR_ERANGE);
    CHECK_INT(mp("1", 7, &v), CR_ERANGE);
}

TEST(money_parse_spaces_and_junk)
{
    cr_money_t v;
    CHECK_INT(mp(" 12.30 ", 2, &v), CR_OK);
    CHECK_INT(v, 1230);
    CHECK_INT(mp("\t12.30\t ", 2, &v), CR_OK);
    CHECK_INT(v, 1230);
    CHECK_INT(mp("", 2, &v), CR_EPARSE);
    CHECK_INT(mp("   ", 2, &v), CR_EPARSE);
    CHECK_INT(mp("12 30", 2, &v), CR_EPARSE);
    CHECK_INT(mp("$12", 2, &v), CR_EPARSE);
    CHECK_INT(mp("12EUR", 2, &v), CR_EPARSE);
    CHECK_INT(mp("1e3", 2, &v), CR_EPARSE);
    CHECK_INT(mp("0x10", 2, &v), CR_EPARSE);
    CHECK_INT(mp("12\n", 2, &v), CR_EPARSE);
    CHECK_INT(mp("1 000", 2, &v), CR_EPARSE);
    CHECK_INT(mp("++1", 2, &v), CR_EPARSE);
    CHECK_INT(cr_money_parse(NULL, 2, &v), CR_EPARSE);
    CHECK_INT(cr_money_parse("1", 2, NULL), CR_EPARSE);
}

TEST(money_parse_range)
{
    cr_money_t v;
    CHECK_INT(mp("92233720368547758.07", 2, &v), CR_OK);
    CHECK_INT(v, INT64_MAX);
    CHECK_INT(mp("-92233720368547758.08", 2, &v), CR_OK);
    CHECK(v == INT64_MIN);
    CHECK_INT(mp("92233720368547758.08", 2, &v), CR_ERANGE);
    CHECK_INT(mp("-92233720368547758.09", 2, &v), CR_ERANGE);
    CHECK_INT(mp("9223372036854775807", 0, &v), CR_OK);
    CHECK_INT(v, INT64_MAX);
    CHECK_INT(mp("9223372036854775808", 0, &v), CR_ERANGE);
    CHECK_INT(mp("(9223372036854775808)", 0, &v), CR_OK);
    CHECK(v == INT64_MIN);
    CHECK_INT(mp("92233720368547758070", 2, &v), CR_ERANGE);
    CHECK_INT(mp("99999999999999999999999999999999999999999", 2, &v), CR_ERANGE);
    CHECK_INT(mp("18446744073709551616", 0, &v), CR_ERANGE);  /* 2^64 */
    CHECK_INT(mp("999,999,999,999,999,999,999.99", 2, &v), CR_ERANGE);
    /* syntax errors win over overflow */
    CHECK_INT(mp("99999999999999999999999x", 2, &v), CR_EPARSE);
    /* many leading zeros are fine */
    CHECK_INT(mp("0000000000000000000000000000000000000001.25", 2, &v), CR_OK);
    CHECK_INT(v, 125);
    CHECK_INT(mp("-9223372036854775808", 0, &v), CR_OK);
    CHECK(v == INT64_MIN);
}

TEST(money_format)
{
    char b[32];
    CHECK_STR(cr_money_format(129900, 2, b, sizeof b), "1299.00");
    CHECK_STR(cr_money_format(129950, 2, b, sizeof b), "1299.50");
    CHECK_STR(cr_money_format(0, 2, b, sizeof b), "0.00");
    CHECK_STR(cr_money_format(5, 2, b, sizeof b), "0.05");
    CHECK_STR(cr_money_format(-5, 2, b, sizeof b), "-0.05");
    CHECK_STR(cr_money_format(-500, 2, b, sizeof b), "-5.00");
    CHECK_STR(cr_money_format(-129950, 2, b, sizeof b), "-1299.50");
    CHECK_STR(cr_money_format(1299, 0, b, sizeof b), "1299");
    CHECK_STR(cr_money_format(0, 0, b, sizeof b), "0");
    CHECK_STR(cr_money_format(-7, 0, b, sizeof b), "-7");
    CHECK_STR(cr_money_format(1299500, 3, b, sizeof b), "1299.500");
    CHECK_STR(cr_money_format(-5, 3, b, sizeof b), "-0.005");
    CHECK_STR(cr_money_format(1, 6, b, sizeof b), "0.000001");
    CHECK_STR(cr_money_format(INT64_MAX, 2, b, sizeof b), "92233720368547758.07");
    CHECK_STR(cr_money_format(INT64_MIN, 2, b, sizeof b), "-92233720368547758.08");
    CHECK_STR(cr_money_format(INT64_MIN, 0, b, sizeof b), "-9223372036854775808");
    CHECK_STR(cr_money_format(INT64_MIN, 6, b, sizeof b), "-9223372036854.775808");
    CHECK_STR(cr_money_format(100, 9, b, sizeof b), "0.000100");  /* clamped to 6 */
    CHECK_STR(cr_money_format(100, -1, b, sizeof b), "100");      /* clamped to 0 */
    char small[5];
    CHECK_STR(cr_money_format(129900, 2, small, sizeof small), "1299");
    CHECK(cr_money_format(1, 2, NULL, 0) == NULL);
}

TEST(money_roundtrip)
{
    static const cr_money_t vals[] = {0, 1, -1, 99, 100, -100, 123456789, -987654321,
                                      INT64_MAX, INT64_MIN, INT64_MIN + 1};
    char b[32];
    for (int e = 0; e <= 6; e++)
        for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
            cr_money_t back = 0;
            CHECK_INT(cr_money_parse(cr_money_format(vals[i], e, b, sizeof b), e, &back), CR_OK);
            CHECK(back == vals[i]);
        }
}

TEST(money_currency_exponent)
{
    static const cr_currency_exp table[] = {{"JPY", 0}, {"KWD", 3}, {"BHD", 3}};
    CHECK_INT(cr_currency_exponent(table, 3, "JPY"), 0);
    CHECK_INT(cr_currency_exponent(table, 3, "jpy"), 0);
    CHECK_INT(cr_currency_exponent(table, 3, "KWD"), 3);
    CHECK_INT(cr_currency_exponent(table, 3, "USD"), 2);
    CHECK_INT(cr_currency_exponent(table, 3, "JP"), 2);
    CHECK_INT(cr_currency_exponent(table, 3, "JPYX"), 2);
    CHECK_INT(cr_currency_exponent(table, 3, ""), 2);
    CHECK_INT(cr_currency_exponent(table, 0, "JPY"), 2);
    CHECK_INT(cr_currency_exponent(NULL, 3, "JPY"), 2);
    CHECK_INT(cr_currency_exponent(table, 3, NULL), 2);
}
