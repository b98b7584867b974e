#!/usr/bin/env python3
"""The strong Python alternative: boto3 with a 32-thread pool on one shared client whose
connection pool holds 32 connections (so every thread reuses a kept-alive connection), and
boto3's own transfer manager for large files.

    boto3_threads.py index  BUCKET PREFIX OUT_JSON      list + GET every *.mhl.mip.json
    boto3_threads.py upload DIR BUCKET PREFIX           PUT every *.mhl and *.mhl.mip.json
    boto3_threads.py big    FILE BUCKET KEY             upload_file (TransferManager defaults)

Credentials and endpoint from AWS_* like the reference."""
import json
import os
import pathlib
import sys
from concurrent.futures import ThreadPoolExecutor

import boto3
from botocore.config import Config

THREADS = int(os.environ.get("BENCH_THREADS", "32"))


def client():
    return boto3.client(
        "s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name="auto",
        aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=os.environ["AWS_SECRET_ACCESS_KEY"],
        config=Config(max_pool_connections=THREADS, request_checksum_calculation="when_required",
                      response_checksum_validation="when_required"))


def index(bucket, prefix, out):
    s3 = client()
    keys = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix + "/", Delimiter="/"):
        keys += [o["Key"] for o in page.get("Contents", []) if o["Key"].endswith(".mhl.mip.json")]

    def get(key):
        return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    with ThreadPoolExecutor(THREADS) as ex:
        packages = list(ex.map(get, keys))
    packages.sort(key=lambda p: (p["name"], p["version"]))
    with open(out, "w") as f:
        json.dump({"packages": packages, "total_packages": len(packages)}, f, indent=2)
    print(f"indexed {len(packages)}")


def upload(directory, bucket, prefix):
    s3 = client()
    files = sorted(p for p in pathlib.Path(directory).iterdir()
                   if p.name.endswith(".mhl") or p.name.endswith(".mhl.mip.json"))

    def put(p):
        ctype = "application/zip" if p.name.endswith(".mhl") else "application/json"
        with open(p, "rb") as f:
            s3.put_object(Bucket=bucket, Key=f"{prefix}/{p.name}", Body=f, ContentType=ctype)
    with ThreadPoolExecutor(THREADS) as ex:
        list(ex.map(put, files))
    print(f"uploaded {len(files)}")


def big(path, bucket, key):
    s3 = client()
    s3.upload_file(path, bucket, key)  # TransferManager: 8 MiB parts, 10 threads
    print("uploaded 1")


def main():
    mode, *args = sys.argv[1:]
    {"index": index, "upload": upload, "big": big}[mode](*args)


if __name__ == "__main__":
    main()
