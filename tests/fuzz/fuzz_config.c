/*
 * fuzz_config.c - cr_config_load_buffer (quiet) on any bytes.
 *
 * A configuration that loads is printed (cr_config_print, to /dev/null)
 * and its lookups are exercised, then freed: the sanitizers catch leaks,
 * double frees and reads past the end on the way.  Beyond that, the target
 * aborts when a loaded configuration breaks what config.h promises: at
 * least one feed, every required path set, limits in range, a time zone.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DIE(...)                                                                            \
    do {                                                                                    \
        fprintf(stderr, "fuzz_config: " __VA_ARGS__);                                       \
        fputc('\n', stderr);                                                                \
        abort();                                                                            \
    } while (0)

static FILE *devnull;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    devnull = fopen("/dev/null", "w");
    if (!devnull)
        DIE("cannot open /dev/null");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cr_config *cfg = NULL;
    /* the bytes on their own heap block, so that a read past the end is caught */
    char *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    cr_err rc = cr_config_load_buffer("fuzz.yaml", "/etc/carerecon", buf, size, true, &cfg);
    if (rc == CR_OK) {
        if (!cfg || !cfg->n_feeds || !cfg->feeds || !cfg->claims_db || !cfg->state_db ||
            !cfg->report_dir || !cfg->actions_dir || !cfg->inbox_receipts ||
            !cfg->inbox_settlements || !cfg->timezone_name || !cfg->tz)
            DIE("a configuration loaded without a required part");
        if (cfg->max_field_bytes < 1 || cfg->max_columns < 1)
            DIE("limits out of range");
        for (size_t i = 0; i < cfg->n_feeds; i++) {
            const cr_feed *f = &cfg->feeds[i];
            if (!f->name || !f->files || !f->datetime_format)
                DIE("feed %zu without name, files or datetime_format", i);
            if (f->skip_lines < 0)
                DIE("feed %zu: skip_lines %d", i, f->skip_lines);
            for (int k = 0; k < CR_F_COUNT; k++)
                if (f->ncolumns[k] < 0 || f->ncolumns[k] > CR_MAX_COLS_PER_FIELD)
                    DIE("feed %zu: %d columns for %s", i, f->ncolumns[k], cr_field_name(k));
        }
        cr_config_print(cfg, devnull);
        (void)cr_policy_return_days(&cfg->policy, "US");
        (void)cr_policy_auth_days(&cfg->policy, "visa");
        (void)cr_strlist_has(&cfg->policy.card_brands, "amex");
    } else if (cfg) {
        DIE("a failed load handed a configuration back");
    } else if (rc != CR_ECONFIG && rc != CR_ENOMEM) {
        DIE("unexpected error %d", (int)rc);
    }
    cr_config_free(cfg);
    free(buf);
    return 0;
}
