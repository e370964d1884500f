#ifndef REALM_METRICS_CPCRE2_SHIM_H
#define REALM_METRICS_CPCRE2_SHIM_H
/* Lines are matched as raw bytes: 8-bit code units, functions with the _8 suffix. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#endif
