/* Thread-local last-error message: the returned-status half of pstyle's two-tier error model
 * (internal invariants use assert). */
#include "src/base/base.h"
#include <stdarg.h>
#include <stdio.h>

static _Thread_local char ps__errbuf[1024] = "no error";

const char *ps_last_error(void) { return ps__errbuf; }

ps_status ps_fail(ps_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ps__errbuf, sizeof ps__errbuf, fmt, ap);
    va_end(ap);
    return st;
}

const char *ps_version(void) { return PS_VERSION; }
