/*
 * csvread.h - CSV records from a buffer through libcsv in strict mode,
 * with what libcsv does not give: physical line numbers, the raw text of
 * each record, bounds on field size and count, BOM and preamble handling,
 * a quote inside an unquoted field read as a character (strict libcsv
 * refuses it; such a record is read again by that rule), and recovery
 * after broken quoting (the parse goes on at the line after the one where
 * the broken record started, so one bad row loses nothing else).
 *
 * libcsv is spoken to here only.
 */
#ifndef CR_CSVREAD_H
#define CR_CSVREAD_H

#include "cr.h"

/* One record as handed to the callback.  Every pointer is valid only
 * during the callback.  Fields are NUL-terminated copies (a field holding
 * a NUL byte makes the record bad). */
typedef struct cr_csv_record {
    char **fields;
    size_t nfields;
    long line;             /* physical line (1-based) where the record starts */
    const char *raw;       /* the record's raw text, without its final newline */
    size_t raw_len;
    const char *bad;       /* NULL, or why the record is unusable (BAD_ROW) */
    long bad_field;        /* the field BAD is about (0-based), -1 when none or unknown */
    bool bad_too_long;     /* BAD is that field's length (over max_field) */
} cr_csv_record;

/* Return CR_OK to go on; anything else stops the read and is returned. */
typedef cr_err (*cr_csv_fn)(void *ud, const cr_csv_record *rec);

typedef struct cr_csv_opts {
    char delimiter;        /* ',' by default */
    int skip_lines;        /* physical lines dropped before the first record */
    size_t max_field;      /* a longer field makes its record bad */
    size_t max_fields;     /* more fields than this make the record bad */
} cr_csv_opts;

/* Reads DATA[0..LEN) and calls FN for every record, in order.  A UTF-8 BOM
 * is skipped; LF and CRLF both end lines; blank lines between records are
 * skipped.  Returns CR_OK, CR_ENOMEM, or what FN returned. */
cr_err cr_csv_read(const char *data, size_t len, const cr_csv_opts *opts, cr_csv_fn fn, void *ud);

#endif
