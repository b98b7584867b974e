"""Disk full and read-only targets: prepare, bundle, upload (local store) and index write into a
tiny tmpfs (ENOSPC) or a read-only mount, each inside a private mount namespace (`unshare -m`,
as root), so nothing on the host is mounted. Each run must fail with exit code 4 and a message
naming the path it could not write, and leave no partial file: no `.dir`, no `.mhl`, no object,
no index, no temporary file on the small filesystem.

If `unshare -m` is impossible here (not root, or no CAP_SYS_ADMIN in a container) the tests are
skipped, and the reason is printed loudly on stderr and in the skip reason. A read-only mount is
used rather than chmod because root ignores directory permissions."""
import os
import pathlib
import shlex
import shutil
import subprocess
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "support"))

import faults  # noqa: E402
import pkgtrees  # noqa: E402

MNT_SIZE = "256k"


def unshare_problem():
    if shutil.which("unshare") is None:
        return "the unshare command is missing (util-linux)"
    if os.geteuid() != 0:
        return "not running as root: unshare -m cannot mount a tmpfs"
    r = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c",
                        "d=$(mktemp -d) && mount -t tmpfs -o size=64k tmpfs \"$d\" && umount \"$d\"; "
                        "rc=$?; rmdir \"$d\"; exit $rc"], capture_output=True, text=True)
    if r.returncode != 0:
        return f"unshare -m + mount tmpfs failed: {r.stderr.strip()}"
    return None


PROBLEM = unshare_problem()
if PROBLEM:
    print(f"\n*** test_disk_full: SKIPPING the tmpfs/read-only-mount cases: {PROBLEM} ***\n",
          file=sys.stderr)
needs_unshare = pytest.mark.skipif(PROBLEM is not None, reason=f"unshare -m impossible: {PROBLEM}")


def in_namespace(tmp_path, mip_build_exe, args, readonly=False, prefill=None):
    """Runs mip-build with `{mnt}` in args replaced by a fresh tmpfs of MNT_SIZE (mounted
    read-only with `readonly`), in a private mount namespace. Returns (rc, output, listing of the
    tmpfs as {relative path: size}) — the listing is taken inside the namespace, before it goes."""
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    quoted = " ".join(shlex.quote(str(a).replace("{mnt}", str(mnt))) for a in args)
    script = f"""
set -u
mount -t tmpfs -o size={MNT_SIZE},mode=0755 tmpfs {shlex.quote(str(mnt))} || exit 97
{prefill or ''}
{"mount -o remount,ro " + shlex.quote(str(mnt)) + " || exit 98" if readonly else ""}
{shlex.quote(mip_build_exe)} {quoted} > {shlex.quote(str(tmp_path / 'out.txt'))} 2>&1
echo "RC=$?" >> {shlex.quote(str(tmp_path / 'out.txt'))}
find {shlex.quote(str(mnt))} -mindepth 1 -printf '%y %s %P\\n' > {shlex.quote(str(tmp_path / 'listing.txt'))}
df -k {shlex.quote(str(mnt))} >> {shlex.quote(str(tmp_path / 'out.txt'))}
"""
    env = {k: v for k, v in os.environ.items() if k not in ("MIP_STORE", "MIP_BASE_URL")}
    env["SOURCE_DATE_EPOCH"] = "1700000000"
    r = subprocess.run(["unshare", "-m", "--propagation", "private", "bash", "-c", script],
                       capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    out = (tmp_path / "out.txt").read_text(errors="replace")
    rc = int(out.rsplit("RC=", 1)[1].split()[0])
    listing = {}
    for line in (tmp_path / "listing.txt").read_text().splitlines():
        kind, size, rel = line.split(" ", 2)
        listing[rel] = (kind, int(size))
    return rc, out, listing, mnt


def partial_files(listing):
    bad = []
    for rel, (kind, _) in listing.items():
        name = rel.rsplit("/", 1)[-1]
        if ".tmp-" in name or name.endswith(".dir") or name == "stage" or name.endswith(".mhl") \
                or name.endswith(".mhl.mip.json") or rel.startswith(".mip-tmp/") or name == "index.json":
            bad.append(rel)
    return bad


def big_recipe(tmp_path, size=1024 * 1024):
    recipes = tmp_path / "recipes"
    faults.make_recipes(recipes, 1, prefix="full", big={1: os.urandom(size)})
    return recipes


@needs_unshare
def test_prepare_into_a_full_filesystem(tmp_path, mip_build_exe):
    recipes = big_recipe(tmp_path)
    rc, out, listing, mnt = in_namespace(
        tmp_path, mip_build_exe,
        ["prepare", "--recipes", recipes, "--build-dir", tmp_path / "build", "--output-dir",
         "{mnt}/prepared", "--force", "-j", "1"])
    assert rc == 4, out
    assert "full001" in out
    # The message must name the full filesystem's path and say why (not the source file, EIO).
    assert str(mnt) in out.split("RC=")[0] and "No space left on device" in out, out
    assert partial_files(listing) == [], listing


@needs_unshare
def test_bundle_into_a_full_filesystem(tmp_path, mip_build_exe):
    pkgtrees.make_prepared_dir(tmp_path / "prepared", "fullb", files={"fullb/blob.bin": os.urandom(1024 * 1024)})
    rc, out, listing, mnt = in_namespace(
        tmp_path, mip_build_exe,
        ["bundle", "--build-dir", tmp_path / "build", "--input-dir", tmp_path / "prepared",
         "--output-dir", "{mnt}/bundled"])
    assert rc == 4, out
    assert str(mnt) in out, out
    assert "fullb" in out
    assert partial_files(listing) == [], listing


@needs_unshare
def test_upload_into_a_full_local_store(tmp_path, mip_build_exe):
    pkgtrees.make_prepared_dir(tmp_path / "build" / "prepared", "fullu", files={"fullu/blob.bin": os.urandom(200 * 1024)})
    r = subprocess.run([mip_build_exe, "bundle", "--build-dir", tmp_path / "build"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    size = next((tmp_path / "build" / "bundled").glob("*.mhl")).stat().st_size
    rc, out, listing, mnt = in_namespace(
        tmp_path, mip_build_exe,
        ["upload", "--build-dir", tmp_path / "build", "--store", "{mnt}/store", "--flat-copy"])
    print(out)
    assert rc == 4, out
    assert str(mnt) in out and "No space left on device" in out, out
    # A complete object may have landed (the write-once sha256/ copy fits; the flat copy, asked
    # for with --flat-copy, does not): nothing partial, no sidecar, nothing in the store's
    # scratch area.
    for rel, (kind, got) in listing.items():
        if rel.endswith(".mhl"):
            assert got == size, f"partial object {rel}: {got} of {size} bytes"
    assert [r for r in partial_files(listing) if not r.endswith(".mhl")] == [], listing


@needs_unshare
def test_index_into_a_full_filesystem(tmp_path, mip_build_exe):
    store = tmp_path / "store"
    for i in range(300):  # an index bigger than the filesystem
        name = f"idx{i:03d}"
        (store).mkdir(exist_ok=True)
        (store / f"{name}-1.0.0-any-none-any.mhl.mip.json").write_text(
            '{"name": "%s", "version": "1.0.0", "dependencies": [], "platform_tag": "any", '
            '"description": "%s", "mhl_sha256": "%s", "mhl_size": 1}' % (name, "x" * 900, "0" * 64))
    rc, out, listing, mnt = in_namespace(
        tmp_path, mip_build_exe,
        ["index", "--build-dir", tmp_path / "build", "--store", store, "--output-dir", "{mnt}/gh-pages"])
    assert rc == 4, out
    assert str(mnt) in out, out
    assert partial_files(listing) == [], listing


@needs_unshare
@pytest.mark.parametrize("verb", ["prepare", "bundle"])
def test_read_only_target(verb, tmp_path, mip_build_exe):
    if verb == "prepare":
        recipes = big_recipe(tmp_path, 1024)
        args = ["prepare", "--recipes", recipes, "--build-dir", tmp_path / "build", "--output-dir",
                "{mnt}/prepared", "--force"]
    else:
        pkgtrees.make_prepared_dir(tmp_path / "prepared", "rob")
        args = ["bundle", "--build-dir", tmp_path / "build", "--input-dir", tmp_path / "prepared",
                "--output-dir", "{mnt}/bundled"]
    rc, out, listing, mnt = in_namespace(tmp_path, mip_build_exe, args, readonly=True)
    assert rc == 4, out
    assert str(mnt) in out and "Read-only file system" in out, out
    assert listing == {}
