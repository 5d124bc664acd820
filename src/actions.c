/*
 * actions.c - see actions.h.
 */
#include "actions.h"

#include "crtime.h"
#include "money.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void cr_actions_file_names(cr_day_t day, int64_t run_id, char *payment, char *fulfillment, size_t n)
{
    int y, m, d;
    cr_civil_from_days(day, &y, &m, &d);
    snprintf(payment, n, "payment_actions_%04d%02d%02d_run%lld.csv", y, m, d, (long long)run_id);
    snprintf(fulfillment, n, "fulfillment_%04d%02d%02d_run%lld.csv", y, m, d, (long long)run_id);
}

bool cr_actions_file_exists(const char *dir, const char *name)
{
    char path[4096];
    struct stat sb;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

cr_err cr_make_dirs(const char *path)
{
    char buf[4096];
    struct stat sb;
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        return cr_error(CR_ECANTCREAT, "%s: path too long", path);
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (stat(buf, &sb) != 0) {
                if (mkdir(buf, 0750) != 0 && errno != EEXIST)
                    return cr_error(CR_ECANTCREAT, "cannot create folder %s: %s", buf,
                                    strerror(errno));
            } else if (!S_ISDIR(sb.st_mode)) {
                return cr_error(CR_ECANTCREAT, "cannot create folder %s: a file is in the way", buf);
            }
            *p = c;
            if (c == '\0')
                break;
        }
    }
    return CR_OK;
}

cr_err cr_write_atomic(const char *dir, const char *name, cr_write_fn fn, void *ud)
{
    char tmp[4096], path[4096];
    cr_err rc = CR_OK;
    FILE *f = NULL;
    int fd = -1;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    snprintf(tmp, sizeof tmp, "%s/.%s.tmp-%ld", dir, name, (long)getpid());
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0)
        return cr_error(CR_ECANTCREAT, "cannot create %s: %s", path, strerror(errno));
    f = fdopen(fd, "w");
    if (!f) {
        rc = cr_error(CR_EIO, "cannot write %s: %s", path, strerror(errno));
        close(fd);
        goto fail;
    }
    rc = fn(ud, f);
    cr_fault_point("action file written");
    if (rc == CR_OK && (fflush(f) != 0 || ferror(f) || fsync(fileno(f)) != 0))
        rc = cr_error(CR_EIO, "cannot write %s: %s", path, strerror(errno));
    if (fclose(f) != 0 && rc == CR_OK)
        rc = cr_error(CR_EIO, "cannot write %s: %s", path, strerror(errno));
    if (rc != CR_OK)
        goto fail;
    if (rename(tmp, path) != 0) {
        rc = cr_error(CR_EIO, "cannot rename %s into place: %s", path, strerror(errno));
        goto fail;
    }
    cr_fault_point("action file renamed");
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return CR_OK;
fail:
    unlink(tmp);
    return rc;
}

/* Writes one CSV field, quoted when it holds a delimiter, quote or newline. */
static void csv_field(FILE *f, const char *s, bool last)
{
    if (!s)
        s = "";
    if (strpbrk(s, ",\"\r\n")) {
        fputc('"', f);
        for (; *s; s++) {
            if (*s == '"')
                fputc('"', f);
            fputc(*s, f);
        }
        fputc('"', f);
    } else {
        fputs(s, f);
    }
    fputc(last ? '\n' : ',', f);
}

typedef struct payctx {
    const cr_config *cfg;
    const cr_action *const *acts;
    size_t n;
    cr_action_source more;
    void *more_ud;
    FILE *f;
} payctx;

static cr_err payment_row(void *ud, const cr_action *a)
{
    payctx *c = ud;
    char key[160], amt[40];
    int ex = cr_currency_exponent(c->cfg->policy.currency_exponents,
                                  c->cfg->policy.n_currency_exponents, a->currency);
    snprintf(key, sizeof key, "%s:%s", a->claim_id, a->action);
    cr_money_format(a->amount, ex, amt, sizeof amt);
    csv_field(c->f, key, false);
    csv_field(c->f, a->action, false);
    csv_field(c->f, a->psp_ref, false);
    csv_field(c->f, a->claim_id, false);
    csv_field(c->f, amt, false);
    csv_field(c->f, a->currency, false);
    csv_field(c->f, a->reason, true);
    return CR_OK;
}

static cr_err fulfillment_row(void *ud, const cr_action *a)
{
    payctx *c = ud;
    char at[32] = "";
    if (a->received_at != CR_TIME_NONE)
        cr_format_utc(a->received_at, at, sizeof at);
    csv_field(c->f, a->claim_id, false);
    csv_field(c->f, a->region, false);
    csv_field(c->f, a->product_model, false);
    csv_field(c->f, a->received_sn, false);
    csv_field(c->f, at, true);
    return CR_OK;
}

/* The header, the rows of the array, then those of the source. */
static cr_err write_rows(payctx *c, FILE *f, const char *header, cr_action_put row)
{
    cr_err rc = CR_OK;
    c->f = f;
    fputs(header, f);
    for (size_t i = 0; i < c->n && rc == CR_OK; i++)
        rc = row(c, c->acts[i]);
    if (rc == CR_OK && c->more)
        rc = c->more(c->more_ud, row, c);
    return rc;
}

static cr_err write_payment(void *ud, FILE *f)
{
    return write_rows(ud, f, "idempotency_key,action,psp_reference,claim_id,amount,currency,reason\n",
                      payment_row);
}

static cr_err write_fulfillment(void *ud, FILE *f)
{
    return write_rows(ud, f, "claim_id,region,product_model,received_sn,received_at\n",
                      fulfillment_row);
}

cr_err cr_actions_write_payment(const cr_config *cfg, const char *dir, const char *name,
                                const cr_action *const *acts, size_t n, cr_action_source more,
                                void *more_ud)
{
    payctx c = {cfg, acts, n, more, more_ud, NULL};
    return cr_write_atomic(dir, name, write_payment, &c);
}

cr_err cr_actions_write_fulfillment(const char *dir, const char *name,
                                    const cr_action *const *acts, size_t n, cr_action_source more,
                                    void *more_ud)
{
    payctx c = {NULL, acts, n, more, more_ud, NULL};
    return cr_write_atomic(dir, name, write_fulfillment, &c);
}
