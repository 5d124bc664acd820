/*
 * floor.c - the benchmark's floor: what the libraries alone cost for the
 * work a first night must do (see BENCHMARKS.md).
 *
 *   build/floor DIR [--xlsx-rows R] [--xlsx-cells C] [--sqlite-rows R]
 *
 * In one process, each phase timed with CLOCK_MONOTONIC:
 *   csv     libcsv's bare parse (CSV_STRICT | CSV_STRICT_FINI, counting
 *           fields and rows in the callbacks, copying nothing) of every
 *           *.csv file in DIR/inbox/receipts and DIR/inbox/settlements,
 *           read with read() in 1 MiB blocks;
 *   sqlite  a bare bulk insert of as many rows as the csv phase counted
 *           (or --sqlite-rows), 8 columns, one prepared statement, one
 *           transaction, into DIR/tmp/floor.db (WAL, synchronous=NORMAL),
 *           then one index built afterwards;
 *   xlsx    writing R rows with libxlsxwriter in constant_memory mode
 *           into DIR/tmp/floor.xlsx: a bold frozen header, an autofilter,
 *           a new sheet every 1,048,575 rows, and workbook_close() (the
 *           zip compression).  R is --xlsx-rows (the bench passes the
 *           number of rows the night's workbook holds), else the csv rows.
 *           Rows have 10 cells (6 strings, 1 amount, 1 more string, 2 date
 *           cells), or, with --xlsx-cells C, C cells in all spread evenly
 *           over the rows (the bench passes the workbook's cell count), the
 *           columns taken in the order Claim ID, PSP Reference, Amount,
 *           Currency, Arrived At, Card Brand, Reason, Deadline, Received SN,
 *           Registered SN.
 * Prints one line per phase and ends with "floor_s=Y", Y the sum.
 */
#include <csv.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>
#include <xlsxwriter.h>

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------------------------ */
/* csv                                                                      */

typedef struct counts {
    uint64_t fields, rows, field_bytes;
} counts;

static void on_field(void *s, size_t len, void *data)
{
    counts *c = data;
    (void)s;
    c->fields++;
    c->field_bytes += len;
}

static void on_row(int term, void *data)
{
    counts *c = data;
    (void)term;
    c->rows++;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Parses every *.csv in FOLDER; adds to C, *BYTES, *FILES, *ERRORS. */
static int parse_folder(const char *folder, unsigned char *buf, size_t bufsz, counts *c,
                        uint64_t *bytes, long *files, long *errors)
{
    DIR *d = opendir(folder);
    if (!d) {
        fprintf(stderr, "floor: cannot open %s: %s\n", folder, strerror(errno));
        return -1;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l < 5 || strcmp(e->d_name + l - 4, ".csv") != 0)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            char **nn = realloc(names, cap * sizeof *names);
            if (!nn) {
                closedir(d);
                return -1;
            }
            names = nn;
        }
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, by_name);
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", folder, names[i]);
        int fd = open(path, O_RDONLY);
        if (fd < 0) {
            fprintf(stderr, "floor: cannot open %s: %s\n", path, strerror(errno));
            (*errors)++;
            continue;
        }
        struct csv_parser p;
        csv_init(&p, CSV_STRICT | CSV_STRICT_FINI);
        bool failed = false;
        ssize_t got;
        while ((got = read(fd, buf, bufsz)) > 0) {
            *bytes += (uint64_t)got;
            if (!failed && csv_parse(&p, buf, (size_t)got, on_field, on_row, c) != (size_t)got)
                failed = true;
        }
        if (csv_fini(&p, on_field, on_row, c) != 0)
            failed = true;
        if (failed) {
            fprintf(stderr, "floor: %s: %s\n", names[i], csv_strerror(csv_error(&p)));
            (*errors)++;
        }
        csv_free(&p);
        close(fd);
        (*files)++;
        free(names[i]);
    }
    free(names);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* sqlite                                                                   */

/* Writes V as decimal, zero-padded to WIDTH, into P; returns the end. */
static char *put_u(char *p, uint64_t v, int width)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v || n < width);
    while (n)
        *p++ = tmp[--n];
    return p;
}

static int sqlite_phase(const char *dir, uint64_t rows, double *t_insert, double *t_index)
{
    char path[4096];
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int rc = -1;
    static const char *const suffix[] = {"", "-wal", "-shm", "-journal"};
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/tmp/floor.db%s", dir, suffix[i]);
        unlink(path);
    }
    snprintf(path, sizeof path, "%s/tmp/floor.db", dir);
    double t0 = mono();
    if (sqlite3_open(path, &db) != SQLITE_OK ||
        sqlite3_exec(db,
                     "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
                     "CREATE TABLE t(claim_ref TEXT, tracking TEXT, kind INTEGER, at INTEGER,"
                     " serial TEXT, flags INTEGER, file_id INTEGER, line INTEGER);"
                     "BEGIN",
                     NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "INSERT INTO t VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)", -1, &st,
                           NULL) != SQLITE_OK)
        goto done;
    for (uint64_t i = 0; i < rows; i++) {
        /* keys in shuffled order, as files bring them */
        uint64_t k = (i * UINT64_C(2654435761)) % (rows ? rows : 1);
        char ref[16], tr[24], sn[24], *e;
        memcpy(ref, "CE2611-", 7);
        e = put_u(ref + 7, k, 7);
        *e = '\0';
        memcpy(tr, "1Z9R4E81", 8);
        e = put_u(tr + 8, k * 7919u % 10000000000u, 10);
        *e = '\0';
        memcpy(sn, "1581F5BHD", 9);
        e = put_u(sn + 9, k, 6);
        *e = '\0';
        sqlite3_bind_text(st, 1, ref, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, tr, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 3, (int)(k % 3));
        sqlite3_bind_int64(st, 4, 1790000000 + (int64_t)(k % 5184000));
        sqlite3_bind_text(st, 5, sn, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 6, (int)(k % 4));
        sqlite3_bind_int(st, 7, (int)(i / 10000));
        sqlite3_bind_int64(st, 8, (int64_t)(i % 10000) + 2);
        if (sqlite3_step(st) != SQLITE_DONE)
            goto done;
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    st = NULL;
    if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        goto done;
    double t1 = mono();
    if (sqlite3_exec(db, "CREATE INDEX t_ref ON t(claim_ref)", NULL, NULL, NULL) != SQLITE_OK)
        goto done;
    if (sqlite3_close(db) != SQLITE_OK) /* the final checkpoint */
        goto done;
    db = NULL;
    *t_insert = t1 - t0;
    *t_index = mono() - t1;
    rc = 0;
done:
    if (rc)
        fprintf(stderr, "floor: sqlite: %s\n", db ? sqlite3_errmsg(db) : "cannot open");
    sqlite3_finalize(st);
    sqlite3_close(db);
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/tmp/floor.db%s", dir, suffix[i]);
        unlink(path);
    }
    return rc;
}

/* ------------------------------------------------------------------------ */
/* xlsx                                                                     */

#define SHEET_ROWS 1048575u /* data rows per sheet, below the header */

static int xlsx_phase(const char *dir, uint64_t rows, uint64_t cells)
{
    char path[4096], tmpdir[4096];
    snprintf(path, sizeof path, "%s/tmp/floor.xlsx", dir);
    snprintf(tmpdir, sizeof tmpdir, "%s/tmp", dir);
    lxw_workbook_options opt = {.constant_memory = LXW_TRUE, .tmpdir = tmpdir, .use_zip64 = LXW_FALSE};
    lxw_workbook *wb = workbook_new_opt(path, &opt);
    if (!wb) {
        fprintf(stderr, "floor: cannot create %s\n", path);
        return -1;
    }
    lxw_format *bold = workbook_add_format(wb);
    format_set_bold(bold);
    lxw_format *money = workbook_add_format(wb);
    format_set_num_format(money, "#,##0.00");
    lxw_format *date = workbook_add_format(wb);
    format_set_num_format(date, "yyyy-mm-dd hh:mm:ss");
    static const char *const head[10] = {"Claim ID",   "PSP Reference", "Amount",      "Currency",
                                         "Arrived At", "Card Brand",    "Reason",      "Deadline",
                                         "Received SN", "Registered SN"};
    static const char *const brands[3] = {"mastercard", "visa", "amex"};
    static const char *const reasons[4] = {"RETURNED", "NOT_RETURNED", "LATE_RETURN", "NON_GENUINE"};
    uint64_t done_rows = 0;
    int sheet = 0, err = 0;
    while (done_rows < rows || sheet == 0) {
        char name[32];
        snprintf(name, sizeof name, "Rows %d", ++sheet);
        lxw_worksheet *ws = workbook_add_worksheet(wb, name);
        if (!ws) {
            err = 1;
            break;
        }
        worksheet_freeze_panes(ws, 1, 0);
        worksheet_set_column(ws, 0, 9, 18, NULL);
        for (lxw_col_t c = 0; c < 10; c++)
            err |= worksheet_write_string(ws, 0, c, head[c], bold);
        uint64_t n = rows - done_rows < SHEET_ROWS ? rows - done_rows : SHEET_ROWS;
        for (uint64_t i = 0; i < n; i++) {
            uint64_t k = done_rows + i;
            lxw_row_t r = (lxw_row_t)(i + 1);
            char id[16], ref[24], sn[24], rsn[24], *e;
            memcpy(id, "CE2611-", 7);
            e = put_u(id + 7, k, 7);
            *e = '\0';
            memcpy(ref, "88", 2);
            e = put_u(ref + 2, k * 7919u + 104729u, 14);
            *e = '\0';
            memcpy(sn, "1581F5BHD", 9);
            e = put_u(sn + 9, k, 6);
            *e = '\0';
            memcpy(rsn, sn, sizeof sn);
            lxw_datetime d1 = {2026, 11, 1 + (int)(k % 28), (int)(k % 24), (int)(k % 60), (double)(k % 60)};
            lxw_datetime d2 = {2026, 10, 1 + (int)(k % 28), (int)(k % 24), (int)(k % 60), 0};
            /* cells of this row: CELLS spread evenly, at most 10 */
            uint64_t nc = cells ? (cells * (k + 1)) / rows - (cells * k) / rows : 10;
            nc = nc < 1 ? 1 : nc > 10 ? 10 : nc;
            err |= worksheet_write_string(ws, r, 0, id, NULL);
            if (nc > 1)
                err |= worksheet_write_string(ws, r, 1, ref, NULL);
            if (nc > 2)
                err |= worksheet_write_number(ws, r, 2, (double)(13900 + k % 200000) / 100.0, money);
            if (nc > 3)
                err |= worksheet_write_string(ws, r, 3, "USD", NULL);
            if (nc > 4)
                err |= worksheet_write_datetime(ws, r, 4, &d2, date);
            if (nc > 5)
                err |= worksheet_write_string(ws, r, 5, brands[k % 3], NULL);
            if (nc > 6)
                err |= worksheet_write_string(ws, r, 6, reasons[k % 4], NULL);
            if (nc > 7)
                err |= worksheet_write_datetime(ws, r, 7, &d1, date);
            if (nc > 8)
                err |= worksheet_write_string(ws, r, 8, sn, NULL);
            if (nc > 9)
                err |= worksheet_write_string(ws, r, 9, rsn, NULL);
        }
        worksheet_autofilter(ws, 0, 0, (lxw_row_t)n, 9);
        done_rows += n;
        if (rows == 0)
            break;
    }
    lxw_error rc = workbook_close(wb);
    if (rc != LXW_NO_ERROR || err) {
        fprintf(stderr, "floor: xlsx: %s\n", lxw_strerror(rc != LXW_NO_ERROR ? rc : LXW_ERROR_MEMORY_MALLOC_FAILED));
        return -1;
    }
    unlink(path);
    return 0;
}

/* ------------------------------------------------------------------------ */

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"xlsx-rows", required_argument, NULL, 'x'},
                                         {"xlsx-cells", required_argument, NULL, 'c'},
                                         {"sqlite-rows", required_argument, NULL, 's'},
                                         {NULL, 0, NULL, 0}};
    long long xrows = -1, srows = -1, xcells = 0;
    int c;
    char *end;
    while ((c = getopt_long(argc, argv, "x:c:s:", opts, NULL)) != -1) {
        switch (c) {
        case 'x':
            xrows = strtoll(optarg, &end, 10);
            if (*end || xrows < 0)
                goto usage;
            break;
        case 'c':
            xcells = strtoll(optarg, &end, 10);
            if (*end || xcells < 0)
                goto usage;
            break;
        case 's':
            srows = strtoll(optarg, &end, 10);
            if (*end || srows < 0)
                goto usage;
            break;
        default: goto usage;
        }
    }
    if (optind != argc - 1)
        goto usage;
    const char *dir = argv[optind];
    char folder[4096];

    /* csv */
    size_t bufsz = 1u << 20;
    unsigned char *buf = malloc(bufsz);
    if (!buf)
        return 70;
    counts cnt = {0, 0, 0};
    uint64_t bytes = 0;
    long files = 0, errors = 0;
    double t0 = mono();
    snprintf(folder, sizeof folder, "%s/inbox/receipts", dir);
    if (parse_folder(folder, buf, bufsz, &cnt, &bytes, &files, &errors))
        return 66;
    snprintf(folder, sizeof folder, "%s/inbox/settlements", dir);
    if (parse_folder(folder, buf, bufsz, &cnt, &bytes, &files, &errors))
        return 66;
    double t_csv = mono() - t0;
    free(buf);
    printf("floor: csv    %7.3f s  %ld files, %.1f MB, %" PRIu64 " rows, %" PRIu64
           " fields, %.0f MB/s%s\n",
           t_csv, files, (double)bytes / 1e6, cnt.rows, cnt.fields,
           t_csv > 0 ? (double)bytes / 1e6 / t_csv : 0.0, errors ? " (parse errors)" : "");
    fflush(stdout);

    /* sqlite */
    uint64_t nrows = srows >= 0 ? (uint64_t)srows : cnt.rows;
    double t_ins = 0, t_idx = 0;
    if (sqlite_phase(dir, nrows, &t_ins, &t_idx))
        return 74;
    double t_sql = t_ins + t_idx;
    printf("floor: sqlite %7.3f s  %" PRIu64 " rows x 8 columns, one transaction (%.3f s, %.0f rows/s)"
           " + one index afterwards (%.3f s)\n",
           t_sql, nrows, t_ins, t_ins > 0 ? (double)nrows / t_ins : 0.0, t_idx);
    fflush(stdout);

    /* xlsx */
    uint64_t xr = xrows >= 0 ? (uint64_t)xrows : cnt.rows;
    t0 = mono();
    uint64_t xc = xcells > 0 && xr > 0 ? (uint64_t)xcells : 10 * xr;
    if (xlsx_phase(dir, xr, xc))
        return 73;
    double t_xlsx = mono() - t0;
    printf("floor: xlsx   %7.3f s  %" PRIu64 " rows, %" PRIu64 " cells (%.1f a row), constant_memory"
           " (%.0f rows/s)\n",
           t_xlsx, xr, xc, xr ? (double)xc / (double)xr : 0.0, t_xlsx > 0 ? (double)xr / t_xlsx : 0.0);
    printf("floor_s=%.3f\n", t_csv + t_sql + t_xlsx);
    return errors ? 65 : 0;
usage:
    fputs("usage: floor DIR [--xlsx-rows R] [--xlsx-cells C] [--sqlite-rows R]\n", stderr);
    return 64;
}
