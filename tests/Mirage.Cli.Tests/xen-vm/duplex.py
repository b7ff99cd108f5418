#!/usr/bin/env python3
"""duplex.py SEND EXPECT -- COMMAND...

Runs COMMAND with the file SEND on its standard input and hashes what comes out of its standard output.
Its standard input stays open until SEND is written and EXPECT bytes came back (EXPECT -1: until its
output ends), because a vchan has no half-close: closing a vchan-cat's input closes the vchan.
Prints one line: <bytes received> <sha256 of them> <exit code> <seconds in all> <seconds from first to last byte>.
"""
import hashlib
import subprocess
import sys
import threading
import time

send, expect, command = sys.argv[1], int(sys.argv[2]), sys.argv[4:]
start = time.monotonic()
process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)
enough = threading.Event()


def feed():
    try:
        with open(send, 'rb') as f:
            while chunk := f.read(65536):
                process.stdin.write(chunk)
        enough.wait()
        process.stdin.close()
    except BrokenPipeError:
        pass  # the command ended first; its exit code and the byte count tell


feeder = threading.Thread(target=feed, daemon=True)
feeder.start()
digest, received, first, last = hashlib.sha256(), 0, None, start
while chunk := process.stdout.read(65536):
    first = first or time.monotonic()
    last = time.monotonic()
    digest.update(chunk)
    received += len(chunk)
    if 0 <= expect <= received:
        enough.set()
enough.set()
code = process.wait()
print(f"{received} {digest.hexdigest()} {code} {time.monotonic() - start:.1f} {last - (first or last):.1f}", flush=True)
