/*
 * actions.h - the payment-action and fulfillment files of SPEC 6.2.
 *
 * A file is written to a temporary name in the same folder, flushed with
 * fsync, renamed into place and the folder fsync'd, so a reader sees a
 * whole file or none.  The header is always written.
 */
#ifndef CR_ACTIONS_H
#define CR_ACTIONS_H

#include "config.h"
#include "store.h"

/* "payment_actions_20261120_run7.csv" / "fulfillment_20261120_run7.csv" */
void cr_actions_file_names(cr_day_t day, int64_t run_id, char *payment, char *fulfillment,
                           size_t n);

/* More actions after an array: a source hands them to PUT one at a time
 * (a night in parts reads its own back from the state as it writes them). */
typedef cr_err (*cr_action_put)(void *w, const cr_action *a);
typedef cr_err (*cr_action_source)(void *ud, cr_action_put put, void *w);

/* Writes the payment file DIR/NAME with ACTS[0..N) (capture/release),
 * then those of MORE (NULL: none). */
cr_err cr_actions_write_payment(const cr_config *cfg, const char *dir, const char *name,
                                const cr_action *const *acts, size_t n, cr_action_source more,
                                void *more_ud);
/* Writes the fulfillment file DIR/NAME with ACTS[0..N) (ship_replacement),
 * then those of MORE. */
cr_err cr_actions_write_fulfillment(const char *dir, const char *name,
                                    const cr_action *const *acts, size_t n, cr_action_source more,
                                    void *more_ud);

/* Does DIR/NAME exist? */
bool cr_actions_file_exists(const char *dir, const char *name);

/* Makes folder PATH (and its parents) when missing; CR_ECANTCREAT when it
 * cannot. */
cr_err cr_make_dirs(const char *path);

/* Writes a file atomically: FN writes the content to the FILE it is given;
 * the result is fsync'd and renamed to DIR/NAME, mode 0640. */
typedef cr_err (*cr_write_fn)(void *ud, FILE *f);
cr_err cr_write_atomic(const char *dir, const char *name, cr_write_fn fn, void *ud);

#endif
