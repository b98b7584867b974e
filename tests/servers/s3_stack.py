#!/usr/bin/env python3
"""Starts the S3 test servers (moto_server on 127.0.0.1, bucket `test`, the verifying SigV4 proxy
in R2 mode), prints ONE JSON line describing them ({"endpoint", "moto", "bucket", "log", "aws",
"access_key_id", "secret_access_key", "pid"}) and runs until its stdin closes or it gets SIGTERM;
then stops moto by PID. Used by the C++ integration tests (tests/cpp/test_r2_client.cpp).

    python3 tests/servers/s3_stack.py [--workdir DIR] [--no-r2] [--latency-ms N]"""
import argparse
import json
import pathlib
import signal
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "support"))

import s3  # noqa: E402


def _terminate(*_):
    raise SystemExit(0)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--workdir")
    parser.add_argument("--no-r2", action="store_true")
    parser.add_argument("--latency-ms", type=int, default=0)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, _terminate)
    stack = s3.S3Stack(args.workdir, r2=not args.no_r2, latency_ms=args.latency_ms)
    try:
        stack.start()
    except Exception as e:  # reported on the line the parent waits for
        print(json.dumps({"error": str(e)}), flush=True)
        return 1
    try:
        print(json.dumps(stack.describe()), flush=True)
        sys.stdin.read()  # until the parent closes our stdin (or dies)
    except (SystemExit, KeyboardInterrupt):
        pass
    finally:
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
