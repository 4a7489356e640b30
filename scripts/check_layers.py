#!/usr/bin/env python3
"""Fails when a C++ file includes a header from a room above its own.

The rooms, lowest first (docs/architecture.md says what each holds). A file
may include headers from its own room and from rooms below it, never above:
nothing under server/ reaches handlers/ or app/, the core never reaches the
worker. Run by scripts/test.sh; prints each offending include.
"""
import pathlib
import re
import subprocess
import sys

ROOMS = [
    "server/util",
    "server/core",
    "server/store",
    "auth",
    "server/net",
    "server/transport",
    "server",  # the node's runtime: worker, hub, context, listeners
    "handlers",
    "app",
]


# Upward includes still to remove: the poll session reads history through
# the hub (server/context.h, server/hub.h) and asks DecideDelivery
# (server/delivery_policy.h); it reaches its worker only through
# ConnectionHost (server/transport/connection_host.h).
KNOWN = {
    "server/transport/poll_session.cc",
}


def room_of(path):
    for room in sorted(ROOMS, key=len, reverse=True):
        if path.startswith(room + "/"):
            return room
    return None


def main():
    root = pathlib.Path(__file__).resolve().parent.parent
    files = subprocess.check_output(
        ["git", "ls-files", "*.cc", "*.h"], cwd=root, text=True).split()
    bad = []
    for f in files:
        mine = room_of(f)
        if mine is None or f in KNOWN:
            continue
        text = (root / f).read_text()
        for inc in re.findall(r'^#include "([^"]+)"', text, re.M):
            theirs = room_of(inc)
            if theirs is not None and ROOMS.index(theirs) > ROOMS.index(mine):
                bad.append(f"{f}: includes {inc} ({mine} -> {theirs}, upward)")
    for line in bad:
        print(line)
    print(f"layers: {len(files)} files, {len(bad)} upward includes")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
