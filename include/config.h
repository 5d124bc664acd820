/*
 * config.h - the YAML configuration (SPEC section 3), parsed with libyaml
 * into typed structs.  Unknown keys, wrong types, missing required keys and
 * bad values are errors naming the key, its line and column.
 */
#ifndef CR_CONFIG_H
#define CR_CONFIG_H

#include "cr.h"
#include "crtime.h"
#include "money.h"

#include <stdio.h>

typedef enum cr_feed_kind { CR_FEED_RECEIPTS = 0, CR_FEED_SETTLEMENTS = 1 } cr_feed_kind;

/* Canonical fields of both kinds, in one enum so a feed can map any. */
typedef enum cr_field {
    /* receipts */
    CR_F_TRACKING = 0, CR_F_CLAIM_REF, CR_F_EVENT, CR_F_EVENT_AT, CR_F_SERIAL,
    CR_F_BATTERY, CR_F_GENUINE,
    /* settlements */
    CR_F_PSP_REF, CR_F_MERCHANT_REF, CR_F_TYPE, CR_F_AMOUNT, CR_F_CURRENCY,
    CR_F_BOOKED_AT, CR_F_CARD_BRAND,
    CR_F_COUNT
} cr_field;

const char *cr_field_name(cr_field f);   /* "tracking_number", ... */

#define CR_MAX_COLS_PER_FIELD 4

/* A key -> value mapping (value mappings, abbreviations, per-key numbers). */
typedef struct cr_kv {
    char *key;
    char *value;
    int num;
} cr_kv;

typedef struct cr_kvlist {
    cr_kv *items;
    size_t n;
} cr_kvlist;

typedef struct cr_strlist {
    char **items;
    size_t n;
} cr_strlist;

typedef struct cr_feed {
    char *name;
    cr_feed_kind kind;
    char *files;                 /* glob inside the inbox of its kind */
    char delimiter;
    int skip_lines;
    char *datetime_format;
    cr_tz *tz;                   /* for times without an offset */
    char *tz_name;
    bool tz_set;               /* the feed names its timezone (else UTC, and a time without an
                                * offset in a format with %z is refused) */
    char *event;                 /* constant event, or NULL */
    char *event_column;
    cr_kvlist event_values;      /* value -> shipped|delivered|received|ignore */
    char *type_column;
    cr_kvlist type_values;       /* value -> capture|release|...|ignore */
    char *timezone_column;
    cr_kvlist tz_abbrevs;        /* value -> offset seconds in num */
    cr_kvlist card_brand_values;
    cr_strlist true_values;
    cr_strlist false_values;
    /* columns[f]: header names for field f (0 = unmapped); several for
     * event_at (date + time, joined with a space) or amount (first non-empty) */
    char *columns[CR_F_COUNT][CR_MAX_COLS_PER_FIELD];
    int ncolumns[CR_F_COUNT];
    int line;                    /* where the feed starts in the YAML */
} cr_feed;

typedef enum cr_late_policy { CR_LATE_CAPTURE = 0, CR_LATE_RELEASE = 1 } cr_late_policy;

typedef struct cr_policy {
    int return_days;
    cr_kvlist return_days_by_region;  /* region -> num */
    int transit_grace_days;
    int ship_reminder_days;
    int checkin_sla_days;
    cr_late_policy late_return;
    int settlement_confirm_days;
    cr_strlist premium_regions;
    cr_strlist card_brands;
    cr_kvlist auth_validity_days;     /* brand -> num */
    cr_currency_exp *currency_exponents;
    size_t n_currency_exponents;
} cr_policy;

/* Formats V minor units of CURRENCY as "1299.00 USD" (the currency's
 * exponent from P) into BUF (at least 40 bytes); returns BUF. */
char *cr_policy_amount(const cr_policy *p, cr_money_t v, const char *currency, char *buf, size_t n);

typedef struct cr_config {
    char *path;                /* the file read */
    char *dir;                 /* its folder: relative paths resolve here */
    char *timezone_name;
    cr_tz *tz;
    char *claims_db;
    char *state_db;
    char *report_dir;
    char *actions_dir;
    char *inbox_receipts;
    char *inbox_settlements;
    cr_policy policy;
    cr_feed *feeds;
    size_t n_feeds;
    /* limits (section "limits" is optional) */
    size_t max_field_bytes;    /* default 65536 */
    size_t max_columns;        /* default 1024 */
    uint64_t hash;             /* of the file's bytes: a changed configuration means a full night */
} cr_config;

/* Loads and validates PATH.  On error prints a message naming the key,
 * line and column and returns CR_ECONFIG (CR_ENOINPUT when the file cannot
 * be opened is also reported as CR_ECONFIG: a missing config is a config
 * error).  *OUT is owned by the caller: cr_config_free(). */
cr_err cr_config_load(const char *path, cr_config **out);
/* Loads from memory (for tests and fuzzing); NAME is used in messages and
 * DIR resolves relative paths.  QUIET suppresses messages. */
cr_err cr_config_load_buffer(const char *name, const char *dir, const char *buf, size_t len,
                             bool quiet, cr_config **out);
void cr_config_free(cr_config *cfg);

/* Prints a readable summary of the effective configuration. */
void cr_config_print(const cr_config *cfg, FILE *out);

/* Lookups (case-insensitive, trimmed). */
const cr_kv *cr_kv_find(const cr_kvlist *l, const char *key);
bool cr_strlist_has(const cr_strlist *l, const char *s);
/* Agreed return period for REGION when the claim has none. */
int cr_policy_return_days(const cr_policy *p, const char *region);
/* auth_validity_days for BRAND; -1 when unknown. */
int cr_policy_auth_days(const cr_policy *p, const char *brand);

#endif
