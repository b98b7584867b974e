#!/usr/bin/env python3
"""Generates botocore_vectors.json: S3 SigV4 vectors computed by botocore's reference
S3SigV4Auth under a fixed clock (region `auto`, an R2 host, special-character keys,
continuation tokens, value-less parameters, a non-default port, signed if-none-match).

Run with Debian's python3 (python3-botocore):  python3 generate_botocore_vectors.py > botocore_vectors.json
The C++ test (tests/cpp/test_sigv4.cpp) rebuilds each request from its *unencoded* parts with
libmip's own encoders and must reproduce the canonical request and signature exactly."""
import hashlib
import json
import sys
from urllib.parse import quote

import botocore
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

ACCESS_KEY = "AKIAEXAMPLER2TEST"
SECRET_KEY = "r2/Secret+Example=Key0123456789abcdefABCDEF"
AMZ_DATE = "20250314T092653Z"
R2_HOST = "0123456789abcdef0123456789abcdef.r2.cloudflarestorage.com"


def enc(text, keep_slash):
    return quote(text, safe="/~" if keep_slash else "~")


CASES = [
    {"name": "r2-put-special-key", "method": "PUT", "scheme": "https", "host": R2_HOST,
     "region": "auto", "bucket": "mip-packages",
     "key": "core/packages/a b+c=d~e\u00e9:f@g,h;i!j*k'l(m)n$o&p%q#r[s]t.mhl",
     "query": [], "headers": [["content-type", "application/zip"], ["if-none-match", "*"],
                              ["cache-control", "public, max-age=31536000, immutable"]],
     "body": "hello r2\n"},
    {"name": "r2-list-continuation", "method": "GET", "scheme": "https", "host": R2_HOST,
     "region": "auto", "bucket": "mip-packages", "key": "",
     "query": [["list-type", "2"], ["prefix", "core/packages/"], ["delimiter", "/"],
               ["continuation-token", "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM+/=a=="],
               ["max-keys", "1000"]],
     "headers": [], "body": ""},
    {"name": "r2-create-multipart", "method": "POST", "scheme": "https", "host": R2_HOST,
     "region": "auto", "bucket": "mip-packages", "key": "core/packages/big file.mhl",
     "query": [["uploads", ""]], "headers": [["content-type", "application/zip"]], "body": ""},
    {"name": "r2-upload-part", "method": "PUT", "scheme": "https", "host": R2_HOST,
     "region": "auto", "bucket": "mip-packages", "key": "core/packages/big file.mhl",
     "query": [["partNumber", "10"], ["uploadId", "AbC/dEf+gHi=="]], "headers": [],
     "body": "x" * 1000},
    {"name": "loopback-port-head", "method": "HEAD", "scheme": "http", "host": "127.0.0.1:45678",
     "region": "us-east-1", "bucket": "test", "key": "dir/.././/x y",
     "query": [], "headers": [], "body": ""},
    {"name": "loopback-get-if-none-match", "method": "GET", "scheme": "http",
     "host": "localhost:9000", "region": "auto", "bucket": "test",
     "key": "index/\u65e5\u672c\u8a9e.json", "query": [],
     "headers": [["if-none-match", "\"0123abcd\""], ["range", "bytes=0-99"]], "body": ""},
    {"name": "delete-sorted-query", "method": "DELETE", "scheme": "https", "host": R2_HOST,
     "region": "auto", "bucket": "mip-packages", "key": "k",
     "query": [["uploadId", "a-b"], ["upload", "z"], ["upload-id", "q"]], "headers": [],
     "body": ""},
]


def main():
    out = {"generator": "botocore %s S3SigV4Auth" % botocore.__version__,
           "access_key_id": ACCESS_KEY, "secret_access_key": SECRET_KEY,
           "amz_date": AMZ_DATE, "cases": []}
    for case in CASES:
        body = case["body"].encode()
        payload = hashlib.sha256(body).hexdigest()
        path = "/" + enc(case["bucket"], False) + ("/" + enc(case["key"], True) if case["key"] else "")
        query = "&".join(enc(n, False) + "=" + enc(v, False) for n, v in case["query"])
        url = "%s://%s%s%s" % (case["scheme"], case["host"], path, ("?" + query) if query else "")
        headers = {"host": case["host"], "x-amz-date": AMZ_DATE, "x-amz-content-sha256": payload}
        for n, v in case["headers"]:
            headers[n] = v
        request = AWSRequest(method=case["method"], url=url, headers=headers, data=body)
        request.context["timestamp"] = AMZ_DATE
        auth = S3SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), "s3", case["region"])
        canonical = auth.canonical_request(request)
        sts = auth.string_to_sign(request, canonical)
        signature = auth.signature(sts, request)
        record = dict(case)
        record.update({"payload_sha256": payload, "url": url, "canonical_request": canonical,
                       "string_to_sign": sts, "signature": signature})
        out["cases"].append(record)
    json.dump(out, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
