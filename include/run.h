/*
 * run.h - one nightly run: ingest, decide, settle, record, emit the action
 * files and write the workbook (SPEC 4-6).
 */
#ifndef CR_RUN_H
#define CR_RUN_H

#include "config.h"
#include "store.h"

typedef struct cr_run_opts {
    cr_time_t as_of;
    bool dry_run;
    bool full;                 /* --full: read every claim, whatever the watermarks say */
    bool in_transaction;       /* dry run: the caller holds the transaction to roll back
                                * (a dry --from/--to sees its earlier days' decisions) */
    const char *report_path;   /* NULL: report_dir/carerecon_YYYYMMDD_runN.xlsx */
    cr_verbosity v;
} cr_run_opts;

/* Takes the run lock beside the state database (a file that is never
 * deleted, locked with flock).  CR_ELOCKED at once when another run holds
 * it.  *FD is released with cr_run_unlock. */
cr_err cr_run_lock(const cr_config *cfg, int *fd);
void cr_run_unlock(int fd);

/* Runs one night as of O->as_of over the open stores.  Returns CR_OK,
 * CR_EDATA when an input file was rejected whole (everything else done),
 * or the error that stopped it (nothing of the decision phase recorded). */
cr_err cr_run_night(const cr_config *cfg, cr_store *st, cr_claimsdb *cdb, const cr_run_opts *o);

#endif
