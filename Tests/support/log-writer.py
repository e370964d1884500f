#!/usr/bin/env python3
"""A worker that writes its log as the Realm worker does, for the rotation tests.

    log-writer.py PATH LINES_FILE RATE PIDFILE

Appends each line of LINES_FILE to PATH (O_APPEND, one write per line) at RATE lines per second, and
reopens PATH only on SIGHUP (until then it keeps writing to the file it has open, whatever its name
has become). Writes its pid to PIDFILE first; exits 0 when every line is written.
"""
import os
import signal
import sys
import time

path, lines_file, rate, pidfile = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
with open(lines_file, "rb") as f:
    lines = f.read().splitlines(keepends=True)

reopen = False


def on_hup(signum, frame):
    global reopen
    reopen = True


signal.signal(signal.SIGHUP, on_hup)
# A parent may have started us with signals blocked (the mask is inherited).
signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGHUP, signal.SIGTERM, signal.SIGCONT})
fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
with open(pidfile + ".tmp", "w") as f:
    f.write(str(os.getpid()))
os.rename(pidfile + ".tmp", pidfile)

start = time.monotonic()
for i, line in enumerate(lines):
    if reopen:
        reopen = False
        os.close(fd)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    due = start + i / rate
    delay = due - time.monotonic()
    if delay > 0:
        time.sleep(delay)
    os.write(fd, line)
os.close(fd)
