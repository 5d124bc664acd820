/*
 * harness.h - the whole unit-test harness.
 *
 *   TEST(name) { CHECK(x == 1); CHECK_INT(got, want); CHECK_STR(got, want); }
 *
 * Tests register themselves; tests/unit/main.c runs them all (or the ones
 * whose name contains argv[1]) and prints "ok"/"FAIL" lines and a closing
 * "unit: N passed, N failed".  A test passes when no CHECK in it failed and
 * it made at least one CHECK: a test that asserts nothing fails.
 */
#ifndef HARNESS_H
#define HARNESS_H
#include <stdio.h>
#include <string.h>
#include <stdint.h>

typedef void (*t_fn)(void);
void t_register(const char *name, t_fn fn);
extern int t_failed_checks;
extern int t_checks;

#define TEST(name)                                                        \
    static void test_##name(void);                                        \
    __attribute__((constructor)) static void t_reg_##name(void)           \
    { t_register(#name, test_##name); }                                   \
    static void test_##name(void)

#define CHECK(cond) do { t_checks++; if (!(cond)) { t_failed_checks++;    \
    fprintf(stderr, "  %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); } } while (0)

#define CHECK_INT(got, want) do { long long g_ = (long long)(got), w_ = (long long)(want); \
    t_checks++; if (g_ != w_) { t_failed_checks++;                              \
    fprintf(stderr, "  %s:%d: %s == %lld, want %lld\n", __FILE__, __LINE__, #got, g_, w_); } } while (0)

#define CHECK_STR(got, want) do { const char *g_ = (got), *w_ = (want);         \
    t_checks++; if (!g_ || !w_ || strcmp(g_, w_) != 0) { t_failed_checks++;      \
    fprintf(stderr, "  %s:%d: %s == \"%s\", want \"%s\"\n", __FILE__, __LINE__, \
            #got, g_ ? g_ : "(null)", w_ ? w_ : "(null)"); } } while (0)
#endif
