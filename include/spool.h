/*
 * spool.h - records kept in a temporary file and read back in order.
 *
 * What a night over a million claims cannot hold in memory at once (the
 * workbook's rows, the claims, events and settlement rows of the parts it
 * is not deciding yet) waits in a spool: a file made beside the state or
 * the workbook and unlinked at once, so that it goes with the process,
 * however it ends.  A record is a struct's bytes and its texts (the
 * `const char *` fields a shape names); it is read back by the same
 * process, so no byte order or version has to be agreed on.
 */
#ifndef CR_SPOOL_H
#define CR_SPOOL_H

#include "cr.h"

#include <stdio.h>

/* What a record is: a struct of SIZE bytes with NTEXTS text fields at the
 * offsets TEXTS (in increasing order); bit k of INTERNED: text k repeats from record to record
 * (a file name, a plan) and is read back once per pool (cr_pool_intern). */
typedef struct cr_spool_shape {
    size_t size;
    const size_t *texts;
    size_t ntexts;
    uint32_t interned;
} cr_spool_shape;

typedef struct cr_spool {
    FILE *f;                   /* NULL: none */
    size_t n;                  /* records written */
    int err;                   /* errno of the first failure (the records are incomplete), 0 */
    char *buf;                 /* the record read last */
    size_t cap;
    char *wbuf;                /* the record being written */
    size_t wcap;
} cr_spool;

/* Makes S's file beside BESIDE ("BESIDE.tmp-XXXXXX", unlinked at once: a
 * run's sweep of temporary files removes one a kill left in between),
 * read and written through a buffer of BUFFER bytes (0: 1 MiB).
 * CR_ECANTCREAT with errno's reason in *ERR when it cannot. */
cr_err cr_spool_open(cr_spool *s, const char *beside, size_t buffer, int *err);
/* Appends ITEM of shape SH; false on a write error (S->err says). */
bool cr_spool_put(cr_spool *s, const cr_spool_shape *sh, const void *item);
/* To the first record, for reading (what is buffered is written first);
 * false on an error (S->err). */
bool cr_spool_rewind(cr_spool *s);
/* Reads the next record into ITEM: its texts copied into POOL or, when
 * POOL is NULL, pointing into S's buffer until the next call.  1: read; 0:
 * no more; -1: an error (S->err; EILSEQ: a damaged record, ENOMEM). */
int cr_spool_get(cr_spool *s, const cr_spool_shape *sh, void *item, cr_pool *pool);
/* Passes over the next record; 1, 0 or -1 as cr_spool_get. */
int cr_spool_skip(cr_spool *s);
/* Moves the next record of S, as it is, to the end of TO; 1, 0 or -1 as
 * cr_spool_get (the error in TO->err when writing failed). */
int cr_spool_move(cr_spool *s, cr_spool *to);
/* Back to the end after reading, to write more; false on an error. */
bool cr_spool_append(cr_spool *s);
/* Closes S's file and frees its buffer; S is empty again. */
void cr_spool_close(cr_spool *s);

#endif
