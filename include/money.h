/*
 * money.h - decimal amounts to and from integer minor units.
 *
 * No floating point anywhere.  A currency's exponent (digits after the
 * decimal point) is 2 unless the configuration says otherwise.
 */
#ifndef CR_MONEY_H
#define CR_MONEY_H

#include "cr.h"

/* Parses a decimal amount in major units into minor units with EXPONENT
 * decimals (0..6).  Accepts optional surrounding spaces, a leading '+' or
 * '-', digits with optional ',' thousands separators in groups of three
 * ("1,299.00"), and a '.' with at most EXPONENT decimals ("1299", "1299.5",
 * "1,299.00", "-5.00").  Parentheses for negatives "(5.00)" are accepted.
 * Rejects: empty text, more decimals than EXPONENT, bad grouping ("1,29"),
 * any other character, and values that do not fit in int64.
 * Choices: "spaces" are spaces and tabs; ".5" is accepted (= 0.5) but "1."
 * and "." are rejected; a '.' needs 1..EXPONENT digits after it, so with
 * exponent 0 "1299.0" is rejected and "1.500" is rejected with exponent 2
 * (no silent dropping of digits, even zeros); groups are 1-3 digits then
 * exactly 3; parentheses take no sign or inner spaces ("(-5)" is an error);
 * INT64_MIN is reachable ("-92233720368547758.08" with exponent 2).  A
 * syntax error is CR_EPARSE even when the digits would also overflow; an
 * EXPONENT outside 0..6 gives CR_ERANGE.
 * Returns CR_OK, CR_EPARSE or CR_ERANGE. */
cr_err cr_money_parse(const char *s, int exponent, cr_money_t *out);

/* Formats minor units as "1299.00" (no grouping, '-' for negatives) into
 * BUF; returns BUF.  N must be at least 32 (a shorter BUF gets a truncated,
 * NUL-terminated text).  EXPONENT is clamped to 0..6; exponent 0 prints no
 * '.'; values below one unit get a leading "0" ("0.05", "-0.005"). */
char *cr_money_format(cr_money_t v, int exponent, char *buf, size_t n);

/* Exponent of CURRENCY ("USD") given a table of exceptions; 2 when the
 * currency is not in the table (or TABLE/CURRENCY is NULL).  Codes compare
 * ignoring ASCII case. */
typedef struct cr_currency_exp { char code[4]; int exponent; } cr_currency_exp;
int cr_currency_exponent(const cr_currency_exp *table, size_t n, const char *currency);

/* Whether CODE has the shape of an ISO 4217 code: three ASCII letters, any
 * case ("US$", "123", "€" and "EURO" do not). */
bool cr_currency_code_ok(const char *code);

#endif
