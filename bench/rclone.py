"""rclone (Debian's 1.60, installed by bench/setup.sh) as a competitor: its configuration for the
bench's servers and the flags of every job it does like libmip.

The remote is written to a config file in the bench work dir (never the user's
~/.config/rclone; the client environment drops every RCLONE_* variable):

    [bench]  type = s3, provider = Cloudflare (R2: region "auto", ListObjectsV2, no ACLs),
             path-style requests to the latency proxy's endpoint, the bench's test key, and
             no_check_bucket (the bucket exists; libmip does not probe it either)

Flags, chosen to give rclone libmip's concurrency wherever rclone has the knob:

  --transfers N --checkers N   N = 32, libmip's --max-in-flight; the index job also runs with
                               64 (issue #18: rclone needs twice the connections to match)
  --s3-upload-cutoff 64M       libmip's multipart threshold (r2_client.hpp)
  --s3-chunk-size 8M           libmip's part size
  --s3-upload-concurrency 8    libmip's parts in flight per file
  --s3-no-head                 no HEAD after each PUT: libmip trusts the PUT's 200 and ETag too
  --include '*.mhl.mip.json'   downloads fetch sidecars only, like the index assembly
  --checksum                   (warm download only) compare the listing's ETag with the local
                               file's MD5, like libmip's ETag cache, instead of size + mtime

rclone 1.60 takes an object's metadata from its GET response, so a download is one listing plus
one GET per object (counted at nginx), the same requests as libmip's index assembly.

Everything else stays at rclone's defaults, including its integrity work: MD5 of every uploaded
file (Content-MD5 for single PUTs, a whole-file MD5 before a multipart upload) and of every
downloaded file against the ETag. That work is rclone's real cost per object and shows in the
client-CPU column."""
import pathlib
import shutil

REMOTE = "bench"

CONFIG = """# written by bench/rclone.py for one bench run; test credentials of the local moto_server
[{remote}]
type = s3
provider = Cloudflare
access_key_id = {key}
secret_access_key = {secret}
endpoint = {endpoint}
region = auto
force_path_style = true
no_check_bucket = true
"""

# libmip's defaults (libmip/include/mip/r2_client.hpp): 32 requests in flight, multipart from
# 64 MiB in 8 MiB parts, 8 parts of one file in flight.
IN_FLIGHT = 32
UPLOAD_FLAGS = ["--s3-upload-cutoff", "64M", "--s3-chunk-size", "8M", "--s3-upload-concurrency", "8",
                "--s3-no-head"]


def exe():
    path = shutil.which("rclone")
    if not path:
        raise RuntimeError("rclone not found: run bench/setup.sh (Debian package rclone)")
    return path


def write_config(path, endpoint, key, secret):
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(CONFIG.format(remote=REMOTE, key=key, secret=secret, endpoint=endpoint))
    path.chmod(0o600)
    return path


def remote(bucket, key=""):
    return f"{REMOTE}:{bucket}/{key}"


def base(conf, verb):
    return [exe(), "--config", str(conf), verb, "-q", "--stats", "0"]


def download(conf, bucket, prefix, dest, transfers=IN_FLIGHT, checksum=False):
    """Every sidecar under prefix/ into dest (the index assembly's I/O). With checksum, into a
    warm dest: only objects whose MD5 (the listing's ETag) differs from the local file's."""
    argv = base(conf, "copy") + [remote(bucket, prefix + "/"), str(dest), "--transfers", str(transfers),
                                 "--checkers", str(transfers), "--include", "*.mhl.mip.json"]
    return argv + (["--checksum"] if checksum else [])


def upload_dir(conf, directory, bucket, prefix):
    """Every .mhl and sidecar of a bundled directory to prefix/."""
    return base(conf, "copy") + [str(directory), remote(bucket, prefix + "/"), "--transfers", str(IN_FLIGHT),
                                 "--checkers", str(IN_FLIGHT), "--include", "*.mhl",
                                 "--include", "*.mhl.mip.json", *UPLOAD_FLAGS]


def upload_file(conf, path, bucket, key):
    """One file to one key (multipart above the cutoff)."""
    return base(conf, "copyto") + [str(path), remote(bucket, key), *UPLOAD_FLAGS]
