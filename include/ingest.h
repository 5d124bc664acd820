/*
 * ingest.h - every new file in the inboxes, read through its feed into
 * the state database: one transaction per file, the SHA-256 of the content
 * recorded so the same content under any name is read once.
 *
 * carerecon never moves, changes or deletes an input file.
 */
#ifndef CR_INGEST_H
#define CR_INGEST_H

#include "config.h"
#include "report.h"
#include "store.h"

/* The files one ingestion looked at, for the report. */
typedef struct cr_file_list {
    cr_rep_file *items;
    size_t n, cap;
    cr_pool pool;
} cr_file_list;
void cr_file_list_release(cr_file_list *l);

/* Ingests both inboxes of CFG for RUN_ID.  Counts go to STATS, each file
 * to FILES.  Returns CR_OK, CR_EDATA when at least one file was rejected
 * whole (the others were still ingested), CR_ENOINPUT when an inbox is
 * missing or not a folder, or another error (I/O, database). */
cr_err cr_ingest(const cr_config *cfg, cr_store *st, int64_t run_id, cr_time_t now,
                 cr_verbosity v, cr_run_stats *stats, cr_file_list *files);

/* CR_OK when both inbox folders of CFG are there; else CR_ENOINPUT with a
 * message naming the key and the folder.  cr_ingest checks them too; `run`
 * checks them first, so that a run refused for a missing inbox records
 * nothing (no run, no run number taken). */
cr_err cr_ingest_inboxes(const cr_config *cfg);

/* SHA-256 of DATA as 64 lowercase hex digits and a NUL. */
void cr_sha256_hex(const void *data, size_t len, char out[65]);

/* Reads a whole file into memory, and (AFTER not NULL) its look once it
 * was read.  *DATA is NULL for an empty file.  Release with cr_file_unmap
 * (free). */
cr_err cr_file_read_look(const char *path, const char **data, size_t *len, cr_file_stat *after);
void cr_file_unmap(const char *data, size_t len);

#endif
