#!/usr/bin/python3
"""A steady write load through HAProxy's primary port, for the staged-change
tests: inserts numbered rows every INTERVAL seconds, reconnects and retries
the same number on any error (so a commit whose answer was lost is not
counted twice), and records every number it got a commit for.

  writer.py run HOST PORT STATEFILE STOPFILE   (password in PGPASSWORD,
                                               role in PGUSER: postgres,
                                               database in PGDATABASE:
                                               postgres)
  writer.py check HOST PORT STATEFILE          (every acknowledged row there?)

run writes STATEFILE as JSON when STOPFILE appears: acked numbers, errors,
the longest gap between two acknowledged commits. check exits 1 when a row
that was acknowledged is missing. Traffic goes only to HOST (the lab).
"""
import json
import os
import sys
import time

import psycopg2

INTERVAL = 0.1


def connect(host, port):
    c = psycopg2.connect(host=host, port=port,
                         user=os.environ.get("PGUSER", "postgres"),
                         dbname=os.environ.get("PGDATABASE", "postgres"),
                         connect_timeout=3)
    c.autocommit = True
    return c


def run(host, port, statefile, stopfile):
    conn = None
    # Numbers of this run only: the table outlives a run, and a number
    # written by an earlier run would hide this run's loss of it. A run
    # makes at most 18,000 rows (1800 s at 10 a second), far below the
    # 100,000 between runs a second apart.
    n = int(time.time()) * 100000
    acked = []
    errors = 0
    last_ok = None
    max_gap = 0.0
    gap_at = None
    deadline = time.time() + 1800  # bounded: never runs for ever
    while not os.path.exists(stopfile) and time.time() < deadline:
        try:
            if conn is None:
                conn = connect(host, port)
                conn.cursor().execute(
                    "create table if not exists haprov_load "
                    "(id bigint primary key, at timestamptz default now())")
            conn.cursor().execute(
                "insert into haprov_load (id) values (%s) "
                "on conflict (id) do nothing", (n,))
            now = time.time()
            if last_ok is not None and now - last_ok > max_gap:
                max_gap = now - last_ok
                gap_at = time.strftime("%H:%M:%S", time.gmtime(now))
            last_ok = now
            acked.append(n)
            n += 1
            time.sleep(INTERVAL)
        except psycopg2.Error:
            errors += 1
            try:
                if conn is not None:
                    conn.close()
            except psycopg2.Error:
                pass
            conn = None
            time.sleep(0.05)
    with open(statefile, "w") as f:
        json.dump({"acked": acked, "errors": errors,
                   "max_gap_s": round(max_gap, 2), "gap_at": gap_at}, f)


def check(host, port, statefile):
    with open(statefile) as f:
        st = json.load(f)
    acked = st["acked"]
    for _ in range(30):
        try:
            conn = connect(host, port)
            break
        except psycopg2.Error:
            time.sleep(1)
    cur = conn.cursor()
    cur.execute("select count(*) from haprov_load where id = any(%s)",
                (acked,))
    found = cur.fetchone()[0]
    print("writer: %d rows acknowledged, %d present, %d errors seen, "
          "longest gap %.2fs" % (len(acked), found, st["errors"],
                                 st["max_gap_s"]))
    return 0 if found == len(acked) and acked else 1


if __name__ == "__main__":
    if sys.argv[1] == "run":
        run(sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5])
    else:
        sys.exit(check(sys.argv[2], int(sys.argv[3]), sys.argv[4]))
