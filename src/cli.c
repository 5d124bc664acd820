/*
 * cli.c - the command line (SPEC section 5): subcommands dispatched from a
 * table, options read with getopt_long, every error mapped to an exit
 * status in one place (cr_exit_code).
 */
#include "cli.h"

#include "config.h"
#include "crtime.h"
#include "ingest.h"
#include "money.h"
#include "rules.h"
#include "run.h"
#include "store.h"
#include "actions.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char usage_text[] =
    "usage: carerecon run [--config F] [--as-of DATE|DATETIME] [--from DATE --to DATE]\n"
    "                     [--dry-run] [--report FILE] [--quiet | --verbose] [--full]\n"
    "       carerecon claim CLAIM_ID [--config F]\n"
    "       carerecon ack (EXCEPTION_ID... | --code CODE [--first-seen-before DATE])\n"
    "                     --note TEXT [--by NAME] [--config F]\n"
    "       carerecon check-config [--config F]\n"
    "       carerecon --help | --version\n";

static const char help_text[] =
    "\n"
    "carerecon reconciles Care Express returns: it ingests carrier receipt and\n"
    "payment-processor settlement files, decides every claim, emits each\n"
    "pre-authorization capture or release exactly once, and writes the finance\n"
    "workbook.\n"
    "\n"
    "  run            ingest new inbox files and decide as of --as-of (default now;\n"
    "                 a bare DATE is the end of that day in the configured zone;\n"
    "                 a DATETIME is ISO 8601 with Z or an offset, or local time\n"
    "                 in that zone without one: 2026-11-20T18:00)\n"
    "    --from A --to B   replay the nightly run for each day A..B, in order\n"
    "    --dry-run         decide and write the workbook, change nothing else\n"
    "    --report FILE     the workbook path (a single run only)\n"
    "    --full            look at every claim (nights otherwise look only at what\n"
    "                      can have changed since the last run)\n"
    "    --quiet, --verbose\n"
    "  claim ID       one claim's whole history\n"
    "  ack            acknowledge exceptions, with a note (all named IDs or none)\n"
    "    --code CODE       every open exception of CODE\n"
    "    --first-seen-before DATE   with --code: only those first seen before DATE\n"
    "    --by NAME         who (default $SUDO_USER, $LOGNAME, $USER, the account)\n"
    "  check-config   print the effective configuration\n"
    "\n"
    "The configuration is --config FILE, else $CARERECON_CONFIG, else\n"
    "config/carerecon.yaml.  Exit status: 0 done, 64 bad usage, 65 an input file\n"
    "was rejected (or an unknown claim/exception), 66 claim database or inbox\n"
    "missing, 70 internal error, 73 an output cannot be created, 74 I/O error,\n"
    "75 another run holds the lock, 78 bad configuration.\n";

static cr_err usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* An option of COMMAND given twice. */
static cr_err twice(const char *command, const char *option)
{
    return usage("%s: --%s is given twice", command, option);
}

static cr_err usage(const char *fmt, ...)
{
    va_list ap;
    fputs("carerecon: error: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\n", stderr);
    fputs(usage_text, stderr);
    fputs("(see carerecon --help)\n", stderr);
    return CR_EUSAGE;
}

static const char *config_path(const char *opt)
{
    if (opt)
        return opt;
    const char *env = getenv("CARERECON_CONFIG");
    if (env && *env)
        return env;
    return "config/carerecon.yaml";
}

/* Reads --as-of: a DATE is the end of that day in TZ; an instant with an
 * offset or Z is that instant; one without is local time in TZ (seconds
 * and a fraction may be left out).  TZ NULL: UTC (checking the syntax). */
static cr_err parse_as_of(const char *s, const cr_tz *tz, cr_time_t *out)
{
    static const char *const local[] = {"%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%d %H:%M:%S.%f",
                                        "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"};
    cr_day_t day;
    if (cr_parse_date(s, &day) == CR_OK) {
        *out = cr_tz_end_of_day(tz, day);
        return CR_OK;
    }
    if (cr_parse_iso_instant(s, out) == CR_OK)
        return CR_OK;
    cr_civil c;
    bool has_off;
    int32_t off;
    for (size_t i = 0; i < sizeof local / sizeof local[0]; i++)
        if (cr_parse_datetime(local[i], s, &c, &has_off, &off, NULL) == CR_OK) {
            *out = cr_tz_to_utc(tz, &c);
            return CR_OK;
        }
    return CR_EPARSE;
}

static bool date_syntax_ok(const char *s)
{
    cr_time_t t;
    return parse_as_of(s, NULL, &t) == CR_OK;
}

/* Makes the folder of the state database (the run lock sits beside it). */
static cr_err state_dir(const cr_config *cfg)
{
    char buf[4096];
    return cr_make_dirs(cr_parent_dir(cfg->state_db, buf, sizeof buf));
}

/* FOLDER (what KEY names) exists, made when missing, and this user can
 * make files in it: checked before anything is read or decided, so that a
 * run that cannot write its outputs issues nothing (exit 73). */
static cr_err writable_dir(const char *key, const char *folder)
{
    cr_err rc = cr_make_dirs(folder);
    if (rc == CR_OK && access(folder, W_OK | X_OK) != 0)
        rc = cr_error(CR_ECANTCREAT, "%s %s: cannot write in it: %s; nothing was done", key, folder,
                      strerror(errno));
    return rc;
}

/* Whether the file SB describes is PATH's (links followed). */
static bool same_as(const struct stat *sb, const char *path)
{
    struct stat o;
    return path && stat(path, &o) == 0 && o.st_dev == sb->st_dev && o.st_ino == sb->st_ino;
}

/* A file at --report's PATH is replaced by the new workbook: only when it
 * is a regular file holding a ZIP archive (as an XLSX is), or an empty one
 * named .xlsx (a name made with mktemp), and none of the run's own files.
 * A slip of the hand must not put a workbook in place of the state
 * database or its lock or log (the lock replaced, a second run would run
 * beside this one), the claim database, the configuration, an action file
 * not yet uploaded or an inbox file.  Checked before anything is made. */
static cr_err report_target_ok(const cr_config *cfg, const char *cfg_path, const char *path)
{
    struct stat sb;
    if (stat(path, &sb) != 0)
        return errno == ENOENT ? CR_OK
                               : cr_error(CR_ECANTCREAT, "--report %s: cannot look at the file there:"
                                          " %s; nothing was done", path, strerror(errno));
    if (S_ISDIR(sb.st_mode))
        return CR_OK;   /* said by output_dirs, with the folder's own words */
    static const char *const own[] = {"", ".lock", "-wal", "-shm", "-journal"};
    char real[PATH_MAX], p[PATH_MAX + 16];
    const char *bases[] = {cfg->state_db, realpath(cfg->state_db, real) ? real : NULL};
    bool mine = same_as(&sb, cfg->claims_db) || same_as(&sb, cfg_path);
    for (size_t b = 0; b < 2 && !mine; b++)
        for (size_t i = 0; bases[b] && i < sizeof own / sizeof own[0] && !mine; i++) {
            snprintf(p, sizeof p, "%s%s", bases[b], own[i]);
            mine = same_as(&sb, p);
        }
    if (mine)
        return cr_error(CR_ECANTCREAT, "--report %s: that file is one carerecon itself uses (the state"
                                       " or claim database, their lock or journal files, or the"
                                       " configuration); name another file; nothing was done", path);
    if (!S_ISREG(sb.st_mode))
        return cr_error(CR_ECANTCREAT, "--report %s: not a regular file; name another file; nothing"
                                       " was done", path);
    unsigned char head[4] = {0};
    FILE *f = fopen(path, "rb");
    if (!f)
        return cr_error(CR_ECANTCREAT, "--report %s: cannot read the file there to see what it is:"
                                       " %s; nothing was done", path, strerror(errno));
    size_t got = fread(head, 1, sizeof head, f);
    bool err = ferror(f);
    fclose(f);
    size_t pl = strlen(path);
    bool xlsx_name = pl >= 5 && strcasecmp(path + pl - 5, ".xlsx") == 0;
    if (!err && ((got == 0 && xlsx_name) || (got == sizeof head && memcmp(head, "PK\x03\x04", 4) == 0)))
        return CR_OK;
    return cr_error(CR_ECANTCREAT, "--report %s: a file that is not a workbook is there, and the"
                                   " workbook would replace it; name another file; nothing was done",
                    path);
}

/* The folders a run writes into, made and writable (or, for --report
 * FILE, found and writable)
 * before anything is read or decided: a night that could not write its
 * workbook or its action files stopped with 73 only after its actions were
 * committed, and the action files of a run that "failed" went out.  A dry
 * run makes no actions folder. */
static cr_err output_dirs(const cr_config *cfg, const char *report, bool dry)
{
    cr_err rc;
    char dir[4096];
    struct stat sb;
    if (!dry && (rc = writable_dir("actions_dir", cfg->actions_dir)) != CR_OK)
        return rc;
    if (!report)
        return writable_dir("report_dir", cfg->report_dir);
    size_t rl = strlen(report);
    if (!rl || report[rl - 1] == '/' || (stat(report, &sb) == 0 && S_ISDIR(sb.st_mode)))
        return cr_error(CR_ECANTCREAT, "--report %s: a folder, not a workbook's file name (give"
                                       " FOLDER/NAME.xlsx); nothing was done", report);
    const char *d = cr_parent_dir(report, dir, sizeof dir);
    if (stat(d, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return cr_error(CR_ECANTCREAT, "--report %s: there is no folder %s; nothing was done",
                        report, d);
    if (access(d, W_OK | X_OK) != 0)
        return cr_error(CR_ECANTCREAT, "--report %s: cannot write in folder %s: %s; nothing was done",
                        report, d, strerror(errno));
    return CR_OK;
}

/* Opens the state database; a dry run on a missing one uses an empty
 * in-memory database so that nothing is created. */
static cr_err open_state(const cr_config *cfg, bool dry, bool must_exist, cr_store **st)
{
    struct stat sb;
    bool exists = stat(cfg->state_db, &sb) == 0;
    if (!exists && must_exist)
        return cr_error(CR_ENOINPUT, "state database %s does not exist yet: no run has been made",
                        cfg->state_db);
    if (!exists && dry)
        return cr_store_open(":memory:", true, st);
    cr_err rc;
    if (!exists && (rc = state_dir(cfg)) != CR_OK)
        return rc;
    return cr_store_open(cfg->state_db, true, st);
}

/* --- run ------------------------------------------------------------------ */

static cr_err cmd_run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'}, {"as-of", required_argument, NULL, 'a'},
        {"from", required_argument, NULL, 'f'},   {"to", required_argument, NULL, 't'},
        {"dry-run", no_argument, NULL, 'n'},      {"report", required_argument, NULL, 'r'},
        {"quiet", no_argument, NULL, 'q'},        {"verbose", no_argument, NULL, 'v'},
        {"full", no_argument, NULL, 'F'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    const char *cfgp = NULL, *as_of = NULL, *from = NULL, *to = NULL, *report = NULL;
    bool dry = false, quiet = false, verbose = false, full = false;
    int c;
    cr_err rc;
    cr_config *cfg = NULL;
    cr_store *st = NULL;
    cr_claimsdb *cdb = NULL;
    int lock = -1;

    optind = 1;
    while ((c = getopt_long(argc, argv, "+c:a:f:t:nr:qvh", opts, NULL)) != -1) {
        switch (c) {
        /* an option given twice is a slip (which date was meant?), not the last one */
        case 'c': if (cfgp) return twice("run", "config"); cfgp = optarg; break;
        case 'a': if (as_of) return twice("run", "as-of"); as_of = optarg; break;
        case 'f': if (from) return twice("run", "from"); from = optarg; break;
        case 't': if (to) return twice("run", "to"); to = optarg; break;
        case 'n': dry = true; break;
        case 'r': if (report) return twice("run", "report"); report = optarg; break;
        case 'q': quiet = true; break;
        case 'v': verbose = true; break;
        case 'F': full = true; break;
        case 'h': fputs(usage_text, stdout); fputs(help_text, stdout); return CR_OK;
        default: return usage("run: unknown or incomplete option");
        }
    }
    if (optind < argc)
        return usage("run: unexpected argument '%s'", argv[optind]);
    if (quiet && verbose)
        return usage("run: --quiet and --verbose exclude each other");
    if ((from && !to) || (to && !from))
        return usage("run: --from and --to go together");
    if (from && as_of)
        return usage("run: --as-of cannot be combined with --from/--to");
    if (from && report)
        return usage("run: --report names the workbook of a single run, not of --from/--to");
    cr_day_t dfrom = 0, dto = 0;
    if (from && cr_parse_date(from, &dfrom) != CR_OK)
        return usage("run: --from '%s' is not a day of the calendar (YYYY-MM-DD)", from);
    if (to && cr_parse_date(to, &dto) != CR_OK)
        return usage("run: --to '%s' is not a day of the calendar (YYYY-MM-DD)", to);
    if (from && dto < dfrom)
        return usage("run: --to %s is before --from %s", to, from);
    if (from && dto - dfrom > 3660)
        return usage("run: --from/--to spans more than ten years");
    if (as_of && !date_syntax_ok(as_of) && strlen(as_of) == 10 && as_of[4] == '-' && as_of[7] == '-')
        return usage("run: --as-of '%s' is not a day of the calendar", as_of);
    if (as_of && !date_syntax_ok(as_of))
        return usage("run: --as-of '%s' is neither a date (YYYY-MM-DD) nor an ISO 8601 instant",
                     as_of);

    if ((rc = cr_config_load(config_path(cfgp), &cfg)) != CR_OK)
        goto cleanup;
    cr_run_opts o = {.dry_run = dry, .report_path = report, .full = full,
                     .v = quiet ? CR_QUIET : verbose ? CR_VERBOSE : CR_NORMAL};
    if (as_of && parse_as_of(as_of, cfg->tz, &o.as_of) != CR_OK) {
        rc = usage("run: --as-of '%s' cannot be read", as_of);
        goto cleanup;
    }
    cr_time_t now = (cr_time_t)time(NULL);
    if (!as_of)
        o.as_of = now;
    if ((as_of && o.as_of > now) || (from && cr_tz_end_of_day(cfg->tz, dto) > now + CR_SECONDS_PER_DAY))
        cr_warn("the as-of instant is in the future: what is decided now counts as issued then "
                "(check the date)");
    if ((report && (rc = report_target_ok(cfg, config_path(cfgp), report)) != CR_OK) ||
        (rc = cr_claimsdb_open(cfg->claims_db, &cdb)) != CR_OK || (rc = cr_ingest_inboxes(cfg)) != CR_OK)
        goto cleanup;
    struct stat sb;
    bool fresh = stat(cfg->state_db, &sb) != 0;
    /* a dry run on a fresh machine creates nothing: no folder, no lock */
    if (!(dry && fresh) && (rc = state_dir(cfg)) != CR_OK)
        goto cleanup;
    if (!(dry && fresh) && (rc = cr_run_lock(cfg, &lock)) != CR_OK)
        goto cleanup;
    if ((rc = open_state(cfg, dry, false, &st)) != CR_OK ||
        (rc = output_dirs(cfg, o.report_path, dry)) != CR_OK)
        goto cleanup;
    if (!from) {
        rc = cr_run_night(cfg, st, cdb, &o);
    } else {
        cr_err worst = CR_OK;
        if (dry) {
            /* one transaction over all the days, rolled back at the end */
            if ((rc = cr_store_begin(st)) != CR_OK)
                goto cleanup;
            o.in_transaction = true;
        }
        for (cr_day_t d = dfrom; d <= dto; d++) {
            o.as_of = cr_tz_end_of_day(cfg->tz, d);
            rc = cr_run_night(cfg, st, cdb, &o);
            if (rc == CR_EDATA) {
                worst = CR_EDATA;
                continue;
            }
            if (rc != CR_OK)
                break;
        }
        if (dry)
            cr_store_rollback(st);
        if (rc == CR_OK)
            rc = worst;
    }
cleanup:
    cr_store_close(st);
    cr_run_unlock(lock);
    cr_claimsdb_close(cdb);
    cr_config_free(cfg);
    return rc;
}

/* --- claim ---------------------------------------------------------------- */

typedef struct histctx {
    const cr_config *cfg;
    bool tty;
    long n;
    cr_time_t last_as_of;      /* the latest as-of a run decided, CR_TIME_NONE: none */
} histctx;

static cr_err print_history(void *ud, const cr_history_item *h)
{
    histctx *c = ud;
    char t[48] = "";
    if (h->at != CR_TIME_NONE)   /* with its offset: the two 01:30 of a repeated hour read apart */
        cr_format_zoned(c->cfg->tz, h->at, t, sizeof t);
    if (c->tty)
        printf("%-26s  \033[1m%-10s\033[0m %s", t, h->what, h->text ? h->text : "");
    else
        printf("%-26s  %-10s %s", t, h->what, h->text ? h->text : "");
    if (h->has_amount) {
        char amt[40];
        int ex = cr_currency_exponent(c->cfg->policy.currency_exponents,
                                      c->cfg->policy.n_currency_exponents, h->currency);
        printf(" %s %s", cr_money_format(h->amount, ex, amt, sizeof amt),
               h->currency ? h->currency : "");
    }
    if (h->tail)
        fputs(h->tail, stdout);
    if (h->source)
        printf("  (%s)", h->source);
    /* a row or event dated after the latest as-of a run decided: no run
     * has looked at it yet (a review: a settled capture read as one
     * carerecon missed) */
    if (h->at != CR_TIME_NONE && c->last_as_of != CR_TIME_NONE && h->at > c->last_as_of &&
        (strcmp(h->what, "event") == 0 || strcmp(h->what, "settlement") == 0))
        fputs("  [dated after the latest run's as-of: no run has used it yet]", stdout);
    putchar('\n');
    c->n++;
    return CR_OK;
}

typedef struct rejctx {
    bool tty;
    long n;
} rejctx;

/* Text from an input file, for a terminal: at most MAX bytes, cut at a
 * character's start, control characters (escape sequences) shown as '?';
 * true when it was cut. */
static bool put_plain(const char *s, size_t max)
{
    size_t len = s ? strlen(s) : 0, cut = len > max ? max : len;
    while (cut < len && cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80)
        cut--;
    for (size_t k = 0; k < cut; k++) {
        unsigned char ch = (unsigned char)s[k];
        putchar(ch < 0x20 || ch == 0x7f ? '?' : ch);
    }
    return cut < len;
}

static cr_err print_reject(void *ud, const cr_reject_view *r)
{
    rejctx *c = ud;
    if (!c->n++)
        printf("\n%srejected rows naming this claim%s (by its id or serial; a rejected row is"
               " used in no decision)\n", c->tty ? "\033[1m" : "", c->tty ? "\033[0m" : "");
    fputs("  ", stdout);
    put_plain(r->file, 300);
    printf(":%ld  %s", r->line, r->reason);
    if (r->field && *r->field) {
        putchar(' ');
        put_plain(r->field, 100);
    }
    if (r->detail) {
        fputs(": ", stdout);
        put_plain(r->detail, 600);
    }
    printf("  (run %lld)\n      row: ", (long long)r->run_id);
    puts(put_plain(r->raw, 300) ? " [...]" : "");
    return CR_OK;
}

/* The "history" part of `claim`: what state ST (NULL: no run made yet)
 * recorded of claim CLAIM_ID with hold PREAUTH_REF and normalized serial
 * NORM_SN, in time order; then the rejected rows that name it or hold
 * its serial. */
static cr_err claim_history(const cr_config *cfg, cr_store *st, bool tty, const char *claim_id,
                            const char *preauth_ref, const char *norm_sn)
{
    if (st) {
        /* where the claim stands, before the history that led there (a
         * review: a decision contradicted later read as the current one) */
        cr_pool pool = CR_POOL_INIT;
        cr_claim_now now;
        cr_err rc = cr_store_claim_now(st, claim_id, &pool, &now);
        if (rc == CR_OK && now.decision) {
            char t[48] = "", dl[48] = "", he[48] = "";
            if (now.as_of != CR_TIME_NONE)
                cr_format_zoned(cfg->tz, now.as_of, t, sizeof t);
            if (now.deadline != CR_TIME_NONE)
                cr_format_zoned(cfg->tz, now.deadline, dl, sizeof dl);
            if (now.hold_expires != CR_TIME_NONE)
                cr_format_zoned(cfg->tz, now.hold_expires, he, sizeof he);
            if (now.run_id)
                printf("  decision now       %s, since run %lld (as of %s)\n", now.decision,
                       (long long)now.run_id, t);
            else
                printf("  decision now       %s\n", now.decision);
            if (dl[0] || he[0])
                printf("  deadline           %s%s%s\n", dl[0] ? dl : "none",
                       he[0] ? ";  hold expires " : "", he);
        }
        cr_pool_release(&pool);
        if (rc != CR_OK)
            return rc;
    }
    printf("\n%shistory%s (times in %s)\n", tty ? "\033[1m" : "", tty ? "\033[0m" : "",
           cfg->timezone_name);
    if (!st) {
        printf("  no run has been made yet (no state database %s)\n", cfg->state_db);
        return CR_OK;
    }
    histctx hc = {cfg, tty, 0, CR_TIME_NONE};
    cr_err rc = cr_store_latest_as_of(st, &hc.last_as_of);
    if (rc == CR_OK)
        rc = cr_store_claim_history(st, claim_id, preauth_ref, norm_sn, print_history, &hc);
    if (rc == CR_OK && !hc.n)
        printf("  nothing recorded yet\n");
    rejctx rj = {tty, 0};
    if (rc == CR_OK)
        rc = cr_store_claim_rejects(st, claim_id, norm_sn, print_reject, &rj);
    return rc;
}

static cr_err cmd_claim(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0},
    };
    const char *cfgp = NULL;
    int c;
    cr_err rc;
    cr_config *cfg = NULL;
    cr_store *st = NULL;
    cr_claimsdb *cdb = NULL;
    cr_pool pool = CR_POOL_INIT;

    optind = 1;
    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        if (c == 'c' && cfgp)
            return twice("claim", "config");
        if (c == 'c')
            cfgp = optarg;
        else if (c == 'h') {
            fputs(usage_text, stdout);
            fputs(help_text, stdout);
            return CR_OK;
        } else
            return usage("claim: unknown or incomplete option");
    }
    if (optind + 1 != argc)
        return usage("claim: name exactly one CLAIM_ID");
    const char *id = argv[optind];
    if (!id[strspn(id, " \t")])
        return usage("claim: CLAIM_ID is empty");
    if ((rc = cr_config_load(config_path(cfgp), &cfg)) != CR_OK)
        goto cleanup;
    if ((rc = cr_claimsdb_open(cfg->claims_db, &cdb)) != CR_OK)
        goto cleanup;
    cr_claim cl;
    bool found = false;
    if ((rc = cr_claimsdb_get(cdb, cfg, &pool, id, &cl, &found)) != CR_OK)
        goto cleanup;
    bool tty = isatty(STDOUT_FILENO);
    if (!found) {
        /* archived out of the claim database: its recorded history still */
        struct stat sb0;
        const char *rid = NULL, *rhold = NULL;
        if ((stat(cfg->state_db, &sb0) == 0 && (rc = open_state(cfg, false, true, &st)) != CR_OK) ||
            (st && (rc = cr_store_claim_recorded(st, id, &pool, &rid, &rhold)) != CR_OK))
            goto cleanup;
        if (!rid) {
            rc = cr_error(CR_ENOTFOUND, "claim %s: no such claim in %s", id, cfg->claims_db);
            goto cleanup;
        }
        printf("%sclaim %s%s  not in the claim database %s (archived or deleted): what the state"
               " recorded of it\n", tty ? "\033[1m" : "", rid, tty ? "\033[0m" : "", cfg->claims_db);
        printf("  pre-authorization  ref %s\n", rhold ? rhold : "none");
        rc = claim_history(cfg, st, tty, rid, rhold, "");
        goto cleanup;
    }
    /* what the row holds that cannot be read says so (INVALID DATA below) */
    char paid[32] = "(unreadable)", exp[16] = "(unreadable)", val[32], hold[32] = "";
    int ex = cr_currency_exponent(cfg->policy.currency_exponents, cfg->policy.n_currency_exponents,
                                  cl.currency);
    if (cl.paid_at != CR_TIME_NONE)
        cr_format_local(cfg->tz, cl.paid_at, paid, sizeof paid);
    if (cl.refresh_expires_on != INT32_MIN)
        cr_format_day(cl.refresh_expires_on, exp, sizeof exp);
    cr_money_format(cl.product_value, ex, val, sizeof val);
    if (cl.invalid && strstr(cl.invalid, "product_value is "))
        snprintf(val, sizeof val, "(unreadable)");
    if (cl.has_preauth_amount)
        cr_money_format(cl.preauth_amount, ex, hold, sizeof hold);
    if (cl.invalid && strstr(cl.invalid, "preauth_amount is "))   /* its reason (claim_from_row) */
        snprintf(hold, sizeof hold, "(unreadable)");
    char days[32];
    snprintf(days, sizeof days, "%d days", cl.return_days);
    if (cl.invalid && strstr(cl.invalid, "return_days is "))
        snprintf(days, sizeof days, "(unreadable)");
    printf("%sclaim %s%s  %s %s, %s, %s\n", tty ? "\033[1m" : "", cl.claim_id, tty ? "\033[0m" : "",
           cl.plan ? cl.plan : "?", cl.status ? cl.status : "?", cl.region ? cl.region : "?",
           cl.product_model ? cl.product_model : "?");
    printf("  registered serial  %s%s\n", cl.registered_sn ? cl.registered_sn : "",
           cl.battery_registered ? "  (replacement battery registered)" : "");
    printf("  product value      %s %s\n", val, cl.currency ? cl.currency : "");
    if (cl.premium)
        printf("  pre-authorization  %s %s, ref %s, card %s\n", hold[0] ? hold : "none",
               cl.currency ? cl.currency : "", cl.preauth_ref ? cl.preauth_ref : "none",
               cl.card_brand ? cl.card_brand : "?");
    printf("  paid               %s%s%s, return period %s\n", paid,
           cl.paid_at != CR_TIME_NONE ? " " : "", cl.paid_at != CR_TIME_NONE ? cfg->timezone_name : "",
           days);
    printf("  plan coverage      until %s, %d replacement(s) left\n", exp, cl.replacements_left);
    if (cl.invalid)
        printf("  INVALID DATA       %s\n", cl.invalid);
    struct stat sb;
    if (stat(cfg->state_db, &sb) != 0 && errno == ENOENT) {
        claim_history(cfg, NULL, tty, cl.claim_id, NULL, NULL);
        goto cleanup;
    }
    if ((rc = open_state(cfg, false, true, &st)) == CR_OK)
        rc = claim_history(cfg, st, tty, cl.claim_id, cl.preauth_ref, cl.norm_sn);
cleanup:
    cr_store_close(st);
    cr_claimsdb_close(cdb);
    cr_pool_release(&pool);
    cr_config_free(cfg);
    return rc;
}

/* --- ack ------------------------------------------------------------------ */

/* An exception ID as typed (" ex-1a2b… "): trimmed and upper-cased, in
 * OUT (N bytes), which is returned. */
static const char *exc_id_arg(const char *arg, char *out, size_t n)
{
    snprintf(out, n, "%s", arg);
    cr_trim_inplace(out);
    for (char *p = out; *p; p++)
        *p = (char)toupper((unsigned char)*p);
    return out;
}

/* ack before any run: 66, WHY (about the state database STATE_DB). */
static cr_err nothing_to_ack(const char *why, const char *state_db)
{
    return cr_error(CR_ENOINPUT, "ack: no run has been made yet, so there is nothing to acknowledge"
                                 " (%s %s)", why, state_db);
}

static cr_err cmd_ack(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'}, {"code", required_argument, NULL, 'C'},
        {"first-seen-before", required_argument, NULL, 'b'},
        {"note", required_argument, NULL, 'n'},   {"by", required_argument, NULL, 'y'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    const char *cfgp = NULL, *code = NULL, *before = NULL, *note = NULL, *by = NULL;
    int c;
    cr_err rc;
    cr_config *cfg = NULL;
    cr_store *st = NULL;
    int lock = -1;
    bool in_tx = false;

    optind = 1;
    while ((c = getopt_long(argc, argv, "c:C:b:n:y:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': if (cfgp) return twice("ack", "config"); cfgp = optarg; break;
        case 'C': if (code) return twice("ack", "code"); code = optarg; break;
        case 'b': if (before) return twice("ack", "first-seen-before"); before = optarg; break;
        case 'n': if (note) return twice("ack", "note"); note = optarg; break;
        case 'y': if (by) return twice("ack", "by"); by = optarg; break;
        case 'h': fputs(usage_text, stdout); fputs(help_text, stdout); return CR_OK;
        default: return usage("ack: unknown or incomplete option");
        }
    }
    int nids = argc - optind;
    if (!note || !note[strspn(note, " \t\r\n")])
        return usage("ack: --note TEXT is required (why: for the audit trail)");
    if (by && !by[strspn(by, " \t\r\n")])
        return usage("ack: --by is empty (leave it out to record the login name)");
    if (code && nids)
        return usage("ack: name exception IDs or --code, not both");
    if (!code && !nids)
        return usage("ack: name exception IDs or --code CODE");
    if (before && !code)
        return usage("ack: --first-seen-before goes with --code");
    char ucode[64];
    if (code) {
        /* codes are upper case; one typed in lower case is the same code */
        snprintf(ucode, sizeof ucode, "%s", code);
        cr_trim_inplace(ucode);
        for (char *p = ucode; *p; p++)
            *p = (char)toupper((unsigned char)*p);
        if (cr_code_from_name(ucode) < 0)
            return usage("ack: unknown exception code '%s'", code);
        code = ucode;
    }
    cr_day_t bday = 0;
    if (before && cr_parse_date(before, &bday) != CR_OK)
        return usage("ack: --first-seen-before '%s' is not a date (YYYY-MM-DD)", before);
    if (!by) {
        /* who acknowledges, for the audit trail: the person behind sudo
         * first, then the login, then the account the process runs as */
        static const char *const vars[] = {"SUDO_USER", "LOGNAME", "USER"};
        by = NULL;
        for (size_t i = 0; i < sizeof vars / sizeof vars[0] && !by; i++)
            if ((by = getenv(vars[i])) && !*by)
                by = NULL;
        const struct passwd *pw = by ? NULL : getpwuid(geteuid());
        by = by ? by : pw && pw->pw_name && *pw->pw_name ? pw->pw_name : "unknown";
    }
    if ((rc = cr_config_load(config_path(cfgp), &cfg)) != CR_OK)
        goto cleanup;
    /* no state and not even its folder, where the lock file would go */
    struct stat sb;
    char dbuf[4096];
    const char *dir = cr_parent_dir(cfg->state_db, dbuf, sizeof dbuf);
    if (stat(cfg->state_db, &sb) != 0 && errno == ENOENT && dir && stat(dir, &sb) != 0 &&
        errno == ENOENT) {
        rc = nothing_to_ack("no state database", cfg->state_db);
        goto cleanup;
    }
    if ((rc = cr_run_lock(cfg, &lock)) != CR_OK)
        goto cleanup;
    if ((rc = open_state(cfg, false, true, &st)) != CR_OK)
        goto cleanup;
    long runs = 0;
    if ((rc = cr_store_runs_count(st, &runs)) != CR_OK)
        goto cleanup;
    if (!runs) {
        /* a state made by a run that stopped before it was recorded */
        rc = nothing_to_ack("none recorded in the state database", cfg->state_db);
        goto cleanup;
    }
    if ((rc = cr_store_begin(st)) != CR_OK)
        goto cleanup;
    in_tx = true;
    cr_time_t now = (cr_time_t)time(NULL);
    long count = 0;
    if (code) {
        /* first seen before the start of that day in the configured zone */
        cr_time_t limit = before ? cr_tz_end_of_day(cfg->tz, bday - 1) + 1 : CR_TIME_NONE;
        if ((rc = cr_store_exc_ack_code(st, code, limit, note, by, now, &count)) != CR_OK)
            goto cleanup;
    } else {
        long unknown = 0, already = 0, resolved = 0;
        for (int i = optind; i < argc; i++) {
            char id[64], other[64];
            cr_ack_outcome was;
            exc_id_arg(argv[i], id, sizeof id);
            /* an ID named twice is acknowledged once, and counted once */
            bool named_before = false;
            for (int j = optind; j < i && !named_before; j++)
                named_before = strcmp(exc_id_arg(argv[j], other, sizeof other), id) == 0;
            if (named_before)
                continue;
            rc = cr_store_exc_ack(st, id, note, by, now, &was);
            if (rc == CR_ENOTFOUND) {
                cr_error(CR_ENOTFOUND, "ack: no exception with ID %s", argv[i]);
                unknown++;
                rc = CR_OK;
                continue;
            }
            if (rc != CR_OK)
                goto cleanup;
            if (was == CR_ACK_BEFORE)
                already++;
            else if (was == CR_ACK_RESOLVED)
                resolved++;
            else
                count++;
        }
        if (unknown) {
            rc = cr_error(CR_ENOTFOUND, "ack: %ld unknown ID(s); nothing was acknowledged", unknown);
            goto cleanup;
        }
        if (already)
            printf("%ld exception(s) were acknowledged before\n", already);
        if (resolved)
            printf("%ld exception(s) are resolved (their condition is gone): not acknowledged\n",
                   resolved);
    }
    if ((rc = cr_store_commit(st)) != CR_OK)
        goto cleanup;
    in_tx = false;
    printf("acknowledged %ld exception(s)\n", count);
cleanup:
    if (in_tx)
        cr_store_rollback(st);
    cr_store_close(st);
    cr_run_unlock(lock);
    cr_config_free(cfg);
    return rc;
}

/* --- check-config ---------------------------------------------------------- */

static cr_err cmd_check_config(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0},
    };
    const char *cfgp = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+c:h", opts, NULL)) != -1) {
        if (c == 'c' && cfgp)
            return twice("check-config", "config");
        if (c == 'c')
            cfgp = optarg;
        else if (c == 'h') {
            fputs(usage_text, stdout);
            fputs(help_text, stdout);
            return CR_OK;
        } else
            return usage("check-config: unknown or incomplete option");
    }
    if (optind < argc)
        return usage("check-config: unexpected argument '%s'", argv[optind]);
    cr_config *cfg = NULL;
    cr_err rc = cr_config_load(config_path(cfgp), &cfg);
    if (rc != CR_OK)
        return rc;
    cr_config_print(cfg, stdout);
    printf("\nconfiguration is valid\n");
    cr_config_free(cfg);
    return CR_OK;
}

static const struct {
    const char *name;
    cr_err (*fn)(int argc, char **argv);
} commands[] = {
    {"run", cmd_run},
    {"claim", cmd_claim},
    {"ack", cmd_ack},
    {"check-config", cmd_check_config},
};

int cr_cli_main(int argc, char **argv)
{
    /* a log reader that goes away (`run 2>&1 | head`, a dead log shipper)
     * must not kill a night half-way: writes to it fail and are dropped */
    signal(SIGPIPE, SIG_IGN);
    if (argc < 2)
        return cr_exit_code(usage("no command given"));
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        fputs(usage_text, stdout);
        fputs(help_text, stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("carerecon %s\n", CR_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return cr_exit_code(commands[i].fn(argc - 1, argv + 1));
    return cr_exit_code(usage("unknown command '%s'", argv[1]));
}
