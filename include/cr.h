/*
 * cr.h - what every carerecon module shares: the error type, the run
 * context, instants and money.
 *
 * Conventions (see ../shared/STYLE.md):
 *  - every external symbol starts with cr_ (types cr_*_t or struct cr_*);
 *  - functions return cr_err and hand results back through out-parameters;
 *  - a constructor returns NULL on failure, a destructor accepts NULL;
 *  - only main() exits; cr_exit_code() maps an error to sysexits in one place.
 */
#ifndef CR_H
#define CR_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <pthread.h>

#define CR_VERSION "0.1.0"

/* The one error type.  CR_OK is 0. */
typedef enum cr_err {
    CR_OK = 0,
    CR_EUSAGE,      /* bad command line                      -> 64 EX_USAGE   */
    CR_EDATA,       /* an input file was rejected whole      -> 65 EX_DATAERR */
    CR_ENOINPUT,    /* claim database or inbox missing       -> 66 EX_NOINPUT */
    CR_ECANTCREAT,  /* an output cannot be created           -> 73            */
    CR_EIO,         /* an I/O error                          -> 74 EX_IOERR   */
    CR_ELOCKED,     /* another run holds the lock            -> 75 EX_TEMPFAIL*/
    CR_ECONFIG,     /* bad configuration                     -> 78 EX_CONFIG  */
    CR_ENOMEM,      /* out of memory                         -> 70 EX_SOFTWARE*/
    CR_ENOTFOUND,   /* a named claim or exception is unknown -> 65 EX_DATAERR */
    CR_EINTERNAL,   /* a bug or an unexpected library state  -> 70           */
    CR_EPARSE,      /* a value could not be parsed (internal to modules)    */
    CR_ERANGE       /* a value is out of range (internal to modules)        */
} cr_err;

const char *cr_strerror(cr_err e);
int cr_exit_code(cr_err e);

/* An instant: seconds since 1970-01-01T00:00:00Z.  UTC inside, always. */
typedef int64_t cr_time_t;
#define CR_TIME_NONE INT64_MIN

/* A calendar day: days since 1970-01-01 (may be negative). */
typedef int32_t cr_day_t;

/* Money: integer minor units of a currency.  Never floating point. */
typedef int64_t cr_money_t;

#define CR_SECONDS_PER_DAY 86400

/* Verbosity of messages on stderr. */
typedef enum cr_verbosity { CR_QUIET = 0, CR_NORMAL = 1, CR_VERBOSE = 2 } cr_verbosity;

/* Messages.  Format: "carerecon: error: <what>: <why>".  Lower case, no
 * final full stop.  cr_error() prints and returns the error it is given,
 * so callers write `return cr_error(CR_EIO, "...")`. */
cr_err cr_error(cr_err e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cr_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cr_info(cr_verbosity v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cr_debug(cr_verbosity v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Test-only fault injection: when the environment variable
 * CARERECON_CRASH_AT=N is set, the Nth call of cr_fault_point() in the
 * process kills the process with SIGKILL; CARERECON_CRASH_TRACE=1 lists
 * every point on stderr.  A no-op otherwise. */
void cr_fault_point(const char *where);

/* Starts FN(ARG) on a thread of its own; false when it cannot, and the
 * caller then does the work itself.  CARERECON_THREADS=0 (for tests)
 * makes every start fail, so that the single-threaded path is run too. */
bool cr_thread_start(pthread_t *t, void *(*fn)(void *), void *arg);
/* False under CARERECON_THREADS=0: for work that would set up more than a
 * thread before starting it. */
bool cr_threads_allowed(void);

/* Safe string helpers. */
char *cr_strdup(const char *s);             /* NULL on NULL or no memory */
char *cr_strndup(const char *s, size_t n);
/* The length of the blank S starts with (ASCII space, tab, CR, LF, or a
 * Unicode space, zero-width space or BOM in UTF-8), 0 when none. */
size_t cr_blank_len(const char *s);
void cr_trim_span(const char **s, size_t *n); /* S[0..N) without blanks at either end */
/* A card brand as carerecon compares it: trimmed, lower case, and the
 * common spellings of a network as its one name ("American Express",
 * "AMEX" -> amex; "MasterCard", "Master Card", "MC" -> mastercard).  Into
 * OUT (N bytes), which is returned. */
const char *cr_card_brand_canon(const char *in, char *out, size_t n);
int cr_strcasecmp_trim(const char *a, const char *b); /* trims both; 0 when equal ignoring ASCII case */
/* The folder of file PATH: "." for a bare name, "/" for one at the root,
 * else PATH up to its last '/' in BUF (N bytes). */
const char *cr_parent_dir(const char *path, char *buf, size_t n);
/* Removes the files in folder DIR (not below it) and DIR; true when DIR is gone. */
bool cr_remove_tree(const char *dir);
char *cr_trim_inplace(char *s);             /* trims blanks (cr_blank_len) at both ends */

/* Makes room for one more element in a growable array: *(T **)PITEMS
 * holds N elements of SIZE bytes in room for *CAP.  When full, the room
 * doubles (starting at MIN).  Returns false on no memory, leaving the array
 * as it was. */
bool cr_grow(void *pitems, size_t *cap, size_t n, size_t size, size_t min);

/* A string pool: many small strings freed at once.  cr_pool_release()
 * frees everything; a zeroed struct is an empty pool (CR_POOL_INIT). */
typedef struct cr_pool {
    struct cr_pool_block *head;
    const char **set;          /* the strings cr_pool_intern has copied (open addressing) */
    size_t set_mask, set_n;
} cr_pool;
#define CR_POOL_INIT {NULL, NULL, 0, 0}
/* Copies S (N bytes) into the pool, NUL-terminated; NULL on no memory. */
char *cr_pool_strndup(cr_pool *p, const char *s, size_t n);
/* The same as cr_pool_strndup, except that a string copied before by this
 * function is not copied again: for the values a column repeats on every
 * row (a file name, a currency, a plan).  The result must not be written
 * to.  Past CR_POOL_SET_MAX different strings it copies every time. */
const char *cr_pool_intern(cr_pool *p, const char *s, size_t n);
#define CR_POOL_SET_MAX 65536
/* Copies S, or returns NULL for NULL. */
char *cr_pool_strdup(cr_pool *p, const char *s);
void cr_pool_release(cr_pool *p);

#endif
