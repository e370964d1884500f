#!/usr/bin/env python3
"""make bench: realm-metrics against mtail and grep on the same 2,000,000-line worker log, in one run.

Prints lines/s (median of RUNS runs) and peak RSS for each tool, the ratios, the CPU and RSS of `run`
following a journald fed at 10,000 lines/s, and the RSS with 100,000 open sessions. The backfill of the
log (`replay --to influx:/dev/null`, time buckets) runs in the same rounds as the plain replay; the
bench fails when it takes more than BACKFILL_LIMIT times as long. With BENCH_BASE_BIN (a realm-metrics
binary of an earlier commit; `make bench BASE=<rev>` builds one) its replay and backfill run in the
same rounds too, and the before/after ratios are printed. The base binary reads the pattern files of its
own revision: those in BENCH_BASE_PATTERNS, else in the `patterns/` folder beside it (where
bench/base-bin.sh puts them), else wherever it finds its built-in ones.
"""
import json, os, shutil, signal, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("REALM_METRICS_BIN", os.path.join(ROOT, ".build/release/realm-metrics"))
OUT = os.path.join(ROOT, "bench/out")
LINES = int(os.environ.get("BENCH_LINES", "2000000"))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
# The fast tools take well under a second each: more runs steady their medians.
FAST_RUNS = int(os.environ.get("BENCH_FAST_RUNS", "9"))
LIVE_SECONDS = int(os.environ.get("BENCH_LIVE_SECONDS", "60"))
BASE_BIN = os.environ.get("BENCH_BASE_BIN", "")
BASE_PATTERNS = os.environ.get("BENCH_BASE_PATTERNS", "")
if BASE_BIN and not BASE_PATTERNS and os.path.isfile(os.path.join(os.path.dirname(BASE_BIN), "patterns/realm-sync-worker.yaml")):
    BASE_PATTERNS = os.path.join(os.path.dirname(BASE_BIN), "patterns")
# A backfill that takes longer than this many replays fails the bench.
BACKFILL_LIMIT = 1.5

def timed(cmd, discard=False, **kw):
    """(seconds, peak RSS in KB) of one run, via GNU time."""
    start = time.monotonic()
    # stdout to a pipe, not /dev/null: GNU grep stops at the first match when its output is /dev/null.
    r = subprocess.run(["/usr/bin/time", "-f", "%M"] + cmd, stdout=subprocess.DEVNULL if discard else subprocess.PIPE,
                       stderr=subprocess.PIPE, **kw)
    elapsed = time.monotonic() - start
    if r.returncode != 0:
        sys.exit("failed: %s\n%s" % (" ".join(cmd), r.stderr.decode()[-2000:]))
    return elapsed, int(r.stderr.decode().strip().splitlines()[-1])

def report(name, results):
    secs = statistics.median(r[0] for r in results)
    rss = max(r[1] for r in results)
    print("  %-44s %8.3f s  %12s lines/s  %8.1f MB" % (name, secs, "{:,.0f}".format(LINES / secs), rss / 1024), flush=True)
    return LINES / secs, rss

def measure(name, cmd, runs=RUNS, discard=False, **kw):
    return report(name, [timed(cmd, discard, **kw) for _ in range(runs)])

def measure_interleaved(entries, runs):
    """Runs the commands in turn, round after round, so that a slow moment of the machine hits all alike."""
    results = {name: [] for name, _, _, _ in entries}
    for _ in range(runs):
        for name, cmd, discard, kw in entries:
            results[name].append(timed(cmd, discard, **kw))
    return {name: report(name, results[name]) for name, _, _, _ in entries}

def main():
    if BASE_BIN and not (os.path.isfile(BASE_BIN) and os.access(BASE_BIN, os.X_OK)):
        sys.exit("BENCH_BASE_BIN=%s: not an executable file (a realm-metrics binary of an earlier commit)" % BASE_BIN)
    if BASE_PATTERNS and not os.path.isfile(os.path.join(BASE_PATTERNS, "realm-sync-worker.yaml")):
        sys.exit("BENCH_BASE_PATTERNS=%s: no realm-sync-worker.yaml there (the pattern files of the base binary's revision)" % BASE_PATTERNS)
    os.makedirs(OUT, exist_ok=True)
    log = os.path.join(OUT, "worker-%d.log" % LINES)
    if not os.path.exists(log):
        with open(log + ".tmp", "w") as f:
            subprocess.run([sys.executable, os.path.join(ROOT, "bench/gen-worker-log.py"), str(LINES)], stdout=f, check=True)
        os.rename(log + ".tmp", log)
    size = os.path.getsize(log)
    # Warm the page cache so every tool reads from memory.
    with open(log, "rb") as f:
        while f.read(1 << 24):
            pass
    print("replay of %s (%d lines, %.0f MB), median of %d runs (realm-metrics%s, grep and cat in turn), peak RSS:"
          % (os.path.relpath(log, ROOT), LINES, size / 1e6, FAST_RUNS, " and the base binary" if BASE_BIN else ""))
    if BASE_BIN:
        print("  base: %s (%s), pattern files %s" % (BASE_BIN, version(BASE_BIN), BASE_PATTERNS or "of its own lookup"))
    env_c = dict(os.environ, LC_ALL="C")
    alternation = "|".join([
        "Connection from ", "onnection closed", "Connection is closed after", "Reading failed: ", "Writing failed: ",
        "Skipping aborted connection", "Failed to accept a connection", "Session initiated", "Session terminated",
        "Bad syntax in input message", "Unknown input message type", "Permission denied", "Bad client file ident",
        "Bad virtual path", "Token expired", "Invalid JWT format", "Received [A-Z_]+ message (before|after|while)",
        "protocol_version=", "Upload message compression", "Sending: DOWNLOAD", "Client info: ", "Realm file deleted",
        "Realm sync server (started|stopped)"])
    replay = ["replay", "-q", "--prefix", "realm.bench", log]
    backfill = ["replay", "-q", "--prefix", "realm.bench", "--to", "influx:/dev/null", log]
    entries = [
        ("realm-metrics replay", [BIN] + replay, False, {}),
        ("realm-metrics replay --to influx:/dev/null", [BIN] + backfill, False, {}),
    ]
    if BASE_BIN:
        base_env = {"env": dict(os.environ, REALM_METRICS_PATTERNS_DIR=BASE_PATTERNS)} if BASE_PATTERNS else {}
        entries += [
            ("base replay", [BASE_BIN] + replay, False, base_env),
            ("base replay --to influx:/dev/null", [BASE_BIN] + backfill, False, base_env),
        ]
    entries += [
        ("LC_ALL=C grep -c -E", ["grep", "-c", "-E", alternation, log], False, {"env": env_c}),
        ("cat > /dev/null", ["cat", log], True, {}),
    ]
    fast = measure_interleaved(entries, FAST_RUNS)
    rm, rm_rss = fast["realm-metrics replay"]
    bf, _ = fast["realm-metrics replay --to influx:/dev/null"]
    gp, _ = fast["LC_ALL=C grep -c -E"]
    cat, _ = fast["cat > /dev/null"]
    progs = tempfile.mkdtemp()
    shutil.copy(os.path.join(ROOT, "bench/mtail/realm.mtail"), progs)
    mt, mt_rss = measure("mtail --one_shot (%d runs)" % RUNS, ["mtail", "--one_shot", "--one_shot_format=json", "--progs", progs,
                                                              "--logs", log, "--logtostderr=false", "--stderrthreshold=FATAL"])
    shutil.rmtree(progs)
    print()
    print("  realm-metrics / mtail: %6.1fx   (target >= 30x)" % (rm / mt))
    print("  realm-metrics / grep:  %6.2fx   (target >= 1.0x)" % (rm / gp))
    print("  realm-metrics / cat:   %6.2fx" % (rm / cat))
    # Rates are lines/s: the time ratio backfill/replay is replay's rate over backfill's.
    backfill_ratio = rm / bf
    print("  backfill / replay:     %6.2fx the time   (limit %.1fx)" % (backfill_ratio, BACKFILL_LIMIT))
    if BASE_BIN:
        base_rm, _ = fast["base replay"]
        base_bf, _ = fast["base replay --to influx:/dev/null"]
        print("  before / after, replay:   %6.2fx   (time of the base over this build's: above 1, this build is faster)" % (rm / base_rm))
        print("  before / after, backfill: %6.2fx" % (bf / base_bf))
    print(flush=True)
    failures = []
    if backfill_ratio > BACKFILL_LIMIT:
        failures.append("backfill (replay --to influx:/dev/null) takes %.2fx the time of replay, more than the %.1fx allowed"
                        % (backfill_ratio, BACKFILL_LIMIT))

    # Memory with 100,000 open sessions: a file whose lines open them, followed by `run`.
    tmp = tempfile.mkdtemp()
    sessions = os.path.join(tmp, "w.log")
    with open(sessions, "w") as f:
        f.write("2020-05-05T12:00:00.000: Realm sync server started ([realm-core-5.23.8], [realm-sync-4.9.5])\n")
        for c in range(1, 1001):
            f.write("2020-05-05T12:00:01.000: HTTP Connection[%d]: Connection from 10.0.0.1:%d\n" % (c, c))
            for s in range(1, 101):
                f.write("2020-05-05T12:00:01.000: Sync Connection[%d]: Session[%d]: Session initiated\n" % (c, s))
    p = subprocess.Popen([BIN, "run", "--file", sessions, "--statsd", "127.0.0.1:9", "--flush-interval", "1",
                          "--state-dir", os.path.join(tmp, "state"), "--prefix", "realm.bench"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    state = os.path.join(tmp, "state/state.json")
    deadline = time.time() + 60
    while time.time() < deadline and not os.path.exists(state):
        time.sleep(0.1)
    time.sleep(3.5)  # a few flushes and checkpoints
    status = open("/proc/%d/status" % p.pid).read()
    rss = int([l for l in status.splitlines() if l.startswith("VmRSS")][0].split()[1])
    hwm = int([l for l in status.splitlines() if l.startswith("VmHWM")][0].split()[1])
    p.send_signal(signal.SIGTERM)
    p.wait()
    online = json.load(open(state))["metrics"]["workers"][0]["open"].get("session.online", [])
    shutil.rmtree(tmp)
    print("run holding %d open sessions: RSS %.1f MB, peak %.1f MB   (target < 50 MB)" % (len(online), rss / 1024, hwm / 1024))
    print(flush=True)

    # Live: run following a real journald fed at 10,000 lines/s.
    r = subprocess.run(["bash", os.path.join(ROOT, "bench/live-cpu.sh"), "10000", str(LIVE_SECONDS)], capture_output=True, text=True)
    print(r.stdout.strip() or r.stderr.strip())
    print("  (target: under 5 % of one core)")
    if failures:
        sys.exit("bench failed: " + "; ".join(failures))

def version(binary):
    r = subprocess.run([binary, "--version"], capture_output=True, text=True)
    return r.stdout.strip() or "version unknown"

if __name__ == "__main__":
    main()
