"""Self-test of the SigV4-verifying proxy (tests/servers/sigv4_proxy.py) in front of a real
moto_server: boto3 (botocore's own signer) passes with awkward keys and paged, delimited listings;
a wrong secret, a tampered body or an unsigned host are rejected with real S3 error XML; the R2
rules (no 100 Continue, max-keys cap, equal parts) hold."""
import hashlib
import pathlib
import sys
import urllib.error
import urllib.request

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "support"))

import s3  # noqa: E402

import boto3  # noqa: E402  (Debian python3-boto3; missing = failure, not a skip)
from botocore.config import Config  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402

AWKWARD_KEYS = [
    "plain.txt",
    "with space.txt",
    "plus+sign",
    "equals=sign",
    "tilde~x",
    "caf\u00e9/\u00e9t\u00e9.json",
    "paren(1)",
    "bang!star*quote'",
    "semi;colon:at@",
    "percent%25literal%",
    "dir/./dot/../dotdot",
    "a//double/slash",
    "comma,amp&dollar$hash#",
    "\u65e5\u672c\u8a9e/\u30ad\u30fc",
]


_CLIENTS = []


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with s3.S3Stack(tmp_path_factory.mktemp("proxy")) as st:
        yield st


@pytest.fixture(autouse=True)
def _close_clients():
    yield
    while _CLIENTS:
        _CLIENTS.pop().close()  # pytest runs with -W error: no unclosed sockets


def client(stack, secret=s3.SECRET_KEY, region="us-east-1", access_key=s3.ACCESS_KEY):
    c = boto3.client(
        "s3", endpoint_url=stack.endpoint, region_name=region, aws_access_key_id=access_key,
        aws_secret_access_key=secret,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"},
                      retries={"max_attempts": 1}))
    _CLIENTS.append(c)
    return c


def test_boto3_round_trips_awkward_keys_through_the_proxy(stack):
    c = client(stack)
    for i, key in enumerate(AWKWARD_KEYS):
        body = f"body {i} {key}".encode()
        c.put_object(Bucket=stack.bucket, Key="awk/" + key, Body=body,
                     ContentType="application/octet-stream")
        assert c.get_object(Bucket=stack.bucket, Key="awk/" + key)["Body"].read() == body
        assert c.head_object(Bucket=stack.bucket, Key="awk/" + key)["ContentLength"] == len(body)
    listed = []
    for page in c.get_paginator("list_objects_v2").paginate(Bucket=stack.bucket, Prefix="awk/",
                                                           PaginationConfig={"PageSize": 3}):
        listed += [o["Key"] for o in page.get("Contents", [])]
    assert sorted(listed) == sorted("awk/" + k for k in AWKWARD_KEYS)
    errors = [r for r in stack.records() if r["error"]]
    assert errors == []


def test_paged_delimited_listing_with_region_auto(stack):
    c = client(stack, region="auto")
    for d in range(3):
        for i in range(4):
            c.put_object(Bucket=stack.bucket, Key=f"tree/d{d}/f{i}", Body=b"x")
    c.put_object(Bucket=stack.bucket, Key="tree/top", Body=b"x")
    keys, prefixes = [], []
    for page in c.get_paginator("list_objects_v2").paginate(
            Bucket=stack.bucket, Prefix="tree/", Delimiter="/", PaginationConfig={"PageSize": 2}):
        keys += [o["Key"] for o in page.get("Contents", [])]
        prefixes += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
    assert keys == ["tree/top"]
    assert prefixes == ["tree/d0/", "tree/d1/", "tree/d2/"]


def test_wrong_secret_is_rejected_with_signature_does_not_match(stack):
    stack.clear_log()
    with pytest.raises(ClientError) as info:
        client(stack, secret="not-the-secret").put_object(Bucket=stack.bucket, Key="nope",
                                                          Body=b"x")
    assert info.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    rec = [r for r in stack.records() if r["method"] == "PUT"][-1]
    assert rec["error"] == "SignatureDoesNotMatch"
    assert rec["expected_canonical_request"].startswith("PUT\n/test/nope\n")
    with pytest.raises(ClientError):
        client(stack).head_object(Bucket=stack.bucket, Key="nope")  # never forwarded


def test_unknown_key_and_missing_auth_are_rejected(stack):
    c = client(stack, access_key="otherkey")
    with pytest.raises(ClientError) as info:
        c.list_objects_v2(Bucket=stack.bucket)
    assert info.value.response["Error"]["Code"] == "InvalidAccessKeyId"
    with pytest.raises(urllib.error.HTTPError) as raw:
        urllib.request.urlopen(stack.endpoint + "/test/plain.txt", timeout=10)
    with raw.value:
        assert raw.value.code == 403
        assert b"<Code>AccessDenied</Code>" in raw.value.read()


def test_tampered_body_fails_the_payload_hash(stack):
    import botocore.auth
    import botocore.awsrequest
    import botocore.credentials
    req = botocore.awsrequest.AWSRequest(method="PUT", url=stack.endpoint + "/test/tampered",
                                         data=b"original")
    botocore.auth.S3SigV4Auth(botocore.credentials.Credentials(s3.ACCESS_KEY, s3.SECRET_KEY),
                              "s3", "us-east-1").add_auth(req)
    headers = dict(req.headers.items())
    assert headers["X-Amz-Content-SHA256"] == hashlib.sha256(b"original").hexdigest()
    r = urllib.request.Request(stack.endpoint + "/test/tampered", data=b"tampered",
                               headers=headers, method="PUT")
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(r, timeout=10)
    with info.value:
        assert info.value.code == 400
        assert b"XAmzContentSHA256Mismatch" in info.value.read()


def test_r2_rules_max_keys_cap_and_unequal_parts(stack):
    c = client(stack)
    # (listing >1,000 keys page by page is exercised by the C++ integration tests)
    page = c.list_objects_v2(Bucket=stack.bucket, MaxKeys=5000)
    assert page["MaxKeys"] <= 1000
    mpu = c.create_multipart_upload(Bucket=stack.bucket, Key="unequal")
    five = 5 * 1024 * 1024
    parts = []
    for n, size in ((1, five), (2, five + 1), (3, 10)):
        r = c.upload_part(Bucket=stack.bucket, Key="unequal", UploadId=mpu["UploadId"],
                          PartNumber=n, Body=b"x" * size)
        parts.append({"PartNumber": n, "ETag": r["ETag"]})
    with pytest.raises(ClientError) as info:
        c.complete_multipart_upload(Bucket=stack.bucket, Key="unequal", UploadId=mpu["UploadId"],
                                    MultipartUpload={"Parts": parts})
    assert info.value.response["Error"]["Code"] == "InvalidPart"
    assert "Expected part 2 to have size 5242880, found 5242881" in \
        info.value.response["Error"]["Message"]
    c.abort_multipart_upload(Bucket=stack.bucket, Key="unequal", UploadId=mpu["UploadId"])


def test_expect_header_is_logged_and_never_answered(stack):
    stack.clear_log()
    c = client(stack)
    # botocore sends Expect: 100-continue on large PutObject bodies; the proxy withholds 100.
    c.put_object(Bucket=stack.bucket, Key="expect-big", Body=b"y" * (2 * 1024 * 1024))
    rec = [r for r in stack.records() if r["method"] == "PUT"][-1]
    assert rec["expect"] == "100-continue"
    assert rec["status"] == 200


def test_aws_cli_reads_through_the_proxy(stack, tmp_path):
    client(stack).put_object(Bucket=stack.bucket, Key="cli/with space+plus.bin",
                             Body=bytes(range(256)) * 10)
    out = tmp_path / "out.bin"
    stack.aws("s3", "cp", f"s3://{stack.bucket}/cli/with space+plus.bin", str(out))
    assert out.read_bytes() == bytes(range(256)) * 10
