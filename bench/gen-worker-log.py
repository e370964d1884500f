#!/usr/bin/env python3
"""Writes a deterministic realm-sync-worker log: gen-worker-log.py LINES > FILE.

About 80 % of the lines are noise that still names `Connection[..]` / `Session[..]` (as real logs
do); the rest drive every metric: connections and sessions opening and closing in a consistent order,
uploads and downloads with sizes, protocol versions, errors of every kind, Realm files, and worker
restarts. The same LINES always gives the same bytes.
"""
import random
import sys

def main():
    total = int(sys.argv[1]) if len(sys.argv) > 1 else 2_000_000
    rng = random.Random(20201105)
    out = sys.stdout
    write = out.write
    t = 1_588_680_000_000  # ms
    n = 0
    next_conn = 1
    conns = {}  # id -> set of live session idents

    def stamp():
        nonlocal t
        t += rng.randint(0, 3)
        s, ms = divmod(t, 1000)
        m, sec = divmod(s, 60)
        h, mi = divmod(m, 60)
        return "2020-05-05T%02d:%02d:%02d.%03d: " % (h % 24, mi, sec, ms)

    noise = [
        "Sync Connection[{c}]: Session[{s}]: Received: UPLOAD(progress_client_version={a}, progress_server_version={b}, locked_server_version={b}, num_changesets=1)",
        "Sync Connection[{c}]: Session[{s}]: Received: IDENT(client_file_ident={a}, client_file_ident_salt={b}, scan_server_version=0, scan_client_version=0, latest_server_version=0, latest_server_version_salt=0)",
        "Sync Connection[{c}]: Session[{s}]: Sending: MARK(request_ident={a})",
        "Sync Connection[{c}]: Session[{s}]: Received: MARK(request_ident={a})",
        "Sync Connection[{c}]: Session[{s}]: Sending: IDENT(client_file_ident={a}, client_file_ident_salt={b})",
        "Sync Connection[{c}]: Session[{s}]: Integrated {a} changesets out of {b}",
        "Sync Connection[{c}]: Received: PING(timestamp={a}, rtt={b})",
        "Sync Connection[{c}]: Sending: PONG(timestamp={a})",
        "Sync Connection[{c}]: Session[{s}]: Received: BIND(path=/default/realm{b}, signed_user_token_size=1023, need_client_file_ident=0, is_subserver=0)",
        "Sync Connection[{c}]: Session[{s}]: Sending: ALLOC(file_ident={a})",
        "ServerFile[/default/realm{b}]: Integrated {a} changesets from client file {b}",
        "Connection[{c}]: Session[{s}]: Bootstrapping server-side history from {a} entries",
    ]
    while n < total:
        r = rng.random()
        if r < 0.00002 or n == 0:
            write(stamp() + "Realm sync server started ([realm-core-5.23.8], [realm-sync-4.9.5])\n"); n += 1
            write(stamp() + "Log level: debug\n"); n += 1
            next_conn = 1
            conns.clear()
            continue
        if r < 0.80 or not conns:
            if not conns or rng.random() < 0.02:
                c = next_conn; next_conn += 1
                conns[c] = set()
                write(stamp() + "HTTP Connection[%d]: Connection from 10.0.%d.%d:%d\n" % (c, rng.randint(0, 255), rng.randint(1, 254), rng.randint(1024, 65535))); n += 1
                write(stamp() + "HTTP Connection[%d]: Received: Sync HTTP request (negotiated_protocol_version=%d)\n" % (c, rng.choice([22, 24, 24, 26]))); n += 1
                continue
            c = rng.choice(list(conns))
            s = rng.randint(1, 8)
            write(stamp() + rng.choice(noise).format(c=c, s=s, a=rng.randint(1, 99999), b=rng.randint(1, 500)) + "\n"); n += 1
            continue
        c = rng.choice(list(conns))
        live = conns[c]
        k = rng.random()
        if k < 0.25:
            s = rng.randint(1, 8)
            if s in live:
                write(stamp() + "Sync Connection[%d]: Session[%d]: Session terminated\n" % (c, s)); live.discard(s)
            else:
                write(stamp() + "Sync Connection[%d]: Session[%d]: Session initiated\n" % (c, s)); live.add(s)
            n += 1
        elif k < 0.35:
            s = rng.choice(sorted(live)) if live else 1
            write(stamp() + "Sync Connection[%d]: Session[%d]: Client info: (path='/default/realm%d', from=10.0.0.1, protocol=24)\n" % (c, s, rng.randint(1, 500))); n += 1
        elif k < 0.55:
            s = rng.randint(1, 8)
            comp = rng.randint(0, 1)
            u = rng.randint(100, 100000)
            write(stamp() + "Sync Connection[%d]: Session[%d]: Upload message compression: is_body_compressed = %d, compressed_body_size=%d, uncompressed_body_size=%d, progress_client_version=%d, progress_server_version=%d\n"
                  % (c, s, comp, u // 3 if comp else 0, u, rng.randint(1, 999), rng.randint(1, 999))); n += 1
        elif k < 0.75:
            s = rng.randint(1, 8)
            comp = rng.randint(0, 1)
            b = rng.randint(100, 100000)
            write(stamp() + "Sync Connection[%d]: Session[%d]: Sending: DOWNLOAD(download_server_version=%d, download_client_version=%d, latest_server_version=%d, latest_server_version_salt=%d, upload_client_version=%d, upload_server_version=%d, downloadable_bytes=0, num_changesets=1, is_body_compressed=%d, body_size=%d, compressed_body_size=%d)\n"
                  % (c, s, rng.randint(1, 999), rng.randint(1, 999), rng.randint(1, 999), rng.randint(1, 999), rng.randint(1, 999), rng.randint(1, 999), comp, b, b // 3 if comp else 0)); n += 1
        elif k < 0.85:
            for s in sorted(live):
                write(stamp() + "Sync Connection[%d]: Session[%d]: Session terminated\n" % (c, s)); n += 1
            write(stamp() + "Sync Connection[%d]: %s\n" % (c, rng.choice(["Sync connection closed by client: End of input", "Sync connection closed (no heartbeat)", "Sync connection closed by client: Connection reset by peer"]))); n += 1
            del conns[c]
        else:
            s = rng.randint(1, 8)
            msg = rng.choice([
                "ERROR: Sync Connection[%d]: Session[%d]: Token expired (signed_user_token='...abc==')." ,
                "ERROR: Sync Connection[%d]: Session[%d]: Permission denied (message_type='bind', path='/x')",
                "ERROR: Sync Connection[%d]: Session[%d]: Bad client file ident (client_file_ident=2,  client_file_ident_secret=HIDDEN_SECRET).",
                "ERROR: Sync Connection[%d]: Session[%d]: Bad virtual path (message_type='bind', path='/a/../b')",
                "ERROR: Sync Connection[%d]: Session[%d]: Received UPLOAD message before IDENT message",
                "Sync Connection[%d]: Session[%d]: Protocol error: Permission denied (error_code=206)",
            ]) % (c, s)
            write(stamp() + msg + "\n"); n += 1

if __name__ == "__main__":
    main()
