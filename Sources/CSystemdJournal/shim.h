#ifndef REALM_METRICS_CSYSTEMD_JOURNAL_SHIM_H
#define REALM_METRICS_CSYSTEMD_JOURNAL_SHIM_H
#include <systemd/sd-journal.h>
#include <systemd/sd-daemon.h>
#endif
