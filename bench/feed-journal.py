#!/usr/bin/env python3
"""feed-journal.py IDENTIFIER RATE SECONDS LOGFILE: writes lines of LOGFILE (cycling) to the journal
through one systemd-cat process at RATE lines/s for SECONDS seconds, in 10 ms batches."""
import subprocess, sys, time

ident, rate, seconds, path = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
lines = open(path, "rb").read().splitlines()
p = subprocess.Popen(["systemd-cat", "-t", ident], stdin=subprocess.PIPE)
start = time.monotonic()
sent = 0
i = 0
while True:
    elapsed = time.monotonic() - start
    if elapsed >= seconds:
        break
    due = int(elapsed * rate)
    if due > sent:
        batch = []
        for _ in range(due - sent):
            batch.append(lines[i % len(lines)])
            i += 1
        p.stdin.write(b"\n".join(batch) + b"\n")
        p.stdin.flush()
        sent = due
    time.sleep(0.01)
p.stdin.close()
p.wait()
print(sent)
