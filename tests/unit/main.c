/* main.c - runs every registered unit test; see harness.h. */
#include "harness.h"
#include <stdlib.h>

#define T_MAX 2048
static struct { const char *name; t_fn fn; } t_tests[T_MAX];
static int t_count;
int t_failed_checks;
int t_checks;

void t_register(const char *name, t_fn fn)
{
    if (t_count < T_MAX) {
        t_tests[t_count].name = name;
        t_tests[t_count].fn = fn;
        t_count++;
    }
}

static int by_name(const void *a, const void *b)
{
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    return strcmp(x, y);
}

int main(int argc, char **argv)
{
    const char *filter = argc > 1 ? argv[1] : NULL;
    int passed = 0, failed = 0;
    (void)by_name;
    for (int i = 0; i < t_count; i++) {
        if (filter && !strstr(t_tests[i].name, filter))
            continue;
        int before_fail = t_failed_checks, before = t_checks;
        t_tests[i].fn();
        if (t_checks == before) {
            fprintf(stderr, "  test %s made no check\n", t_tests[i].name);
            t_failed_checks++;
        }
        if (t_failed_checks == before_fail) {
            passed++;
            printf("ok %s\n", t_tests[i].name);
        } else {
            failed++;
            printf("FAIL %s\n", t_tests[i].name);
        }
    }
    printf("unit: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
