/* pstyle — learn a visual style from a few images and paint new photos in it.
 *
 * Public C API. Every call that a user's input can make fail returns a ps_status and leaves a
 * message for ps_last_error(); library code never exits. The status values are the CLI's exit codes.
 *
 *   ps_model *m; ps_store *db; ps_style *s;
 *   if (ps_model_load(&m, NULL) || ps_store_open(&db, NULL, 0)) die(ps_last_error());
 *   ...
 */
#ifndef PSTYLE_H
#define PSTYLE_H
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ps_status {
    PS_OK = 0,
    PS_EUSAGE = 1,    /* bad command line or API misuse */
    PS_EINPUT = 2,    /* bad image, unknown user, bad or mismatched model file */
    PS_ESTORE = 3,    /* database missing, locked, corrupt, read-only, full */
    PS_EINTERNAL = 4, /* out of memory, bug */
} ps_status;

/* Message of the last failure on this thread ("<what>: <why>"); never NULL. */
const char *ps_last_error(void);
/* Record a failure (printf-style) and return st, so callers can `return ps_fail(PS_EINPUT, ...)`. */
ps_status ps_fail(ps_status st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Library version string, e.g. "0.1.0". */
const char *ps_version(void);

#ifdef __cplusplus
}
#endif
#endif
