"""Correctness under concurrency (issue #7): the same bytes and the same index whatever `-j` and
`--max-in-flight`; `--shard K/N` partitions the packages exactly (every package in exactly one of
N shards) over prepare, bundle and upload; an incremental index (ETag cache) equals a full one —
on a local store and on S3 (moto_server behind the SigV4-verifying proxy). No timings here:
speed is measured in bench/."""
import json
import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "support"))

import s3  # noqa: E402

EPOCH = {"SOURCE_DATE_EPOCH": "1700000000"}
BASE_URL = "https://example.invalid/core/packages"
COUNT = 23  # not a multiple of any shard count tried


def make_recipes(root, count=COUNT):
    """`count` prepare.yaml recipes with path sources of different sizes and names."""
    root = pathlib.Path(root)
    names = []
    for i in range(count):
        name = f"conc_{i:02d}" if i % 4 else f"Conc-Pkg{i:02d}"  # some need normalising
        d = root / name
        src = d / "src" / "+ns"
        src.mkdir(parents=True)
        for k in range(1 + i % 5):
            (src / f"f{k}.m").write_text(f"function y = f{k}(x)\n% package {i} file {k}\n" +
                                         "y = x;\n" * (50 * (i + 1)) + "end\n")
        (d / "src" / f"top_{i}.m").write_text(f"function top_{i}()\nend\n")
        (d / "prepare.yaml").write_text(
            f"name: {name}\ndescription: concurrency test package {i}\nversion: \"1.{i}.0\"\n"
            f"license: MIT\nprepare:\n  path: {{path: src, destination: {name}}}\n")
        names.append(name)
    return names


def tree(root):
    root = pathlib.Path(root)
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and ".mip-tmp" not in p.parts}


VOLATILE = ("prepare_duration", "compile_duration")  # wall-clock measurements, never compared


def stable(name, data):
    """Bytes for comparison: .mhl and other files exactly; sidecars and index.json without the
    measured durations (the .mhl's own mip.json has them neutralised, so it compares exactly); the
    index manifest by the sidecars it names (their ETags change with the durations)."""
    if name.endswith("mip-index-manifest.json"):  # the sidecars' ETags follow their durations
        doc = json.loads(data)
        return json.dumps(sorted(doc["sidecars"])).encode()
    if name.endswith(".json"):
        doc = json.loads(data)
        for entry in doc.get("packages", [doc]):
            for k in VOLATILE:
                entry.pop(k, None)
        return json.dumps(doc, sort_keys=True).encode()
    return data


def stable_tree(root):
    return {k: stable(k, v) for k, v in tree(root).items()}


def ok(r):
    assert r.returncode == 0, r.stdout + r.stderr
    return r


def items(r):
    """{wheel: status} from a stage's --json report."""
    doc = json.loads(r.stdout)
    return {i["wheel"] or i["package"]: i["status"] for i in doc["items"]}


@pytest.fixture(scope="module")
def recipes(tmp_path_factory):
    root = tmp_path_factory.mktemp("conc-recipes")
    make_recipes(root)
    return root


def test_same_bytes_and_index_whatever_jobs_and_in_flight(tmp_path, run_cli, recipes):
    results = []
    for jobs, in_flight in (("1", "1"), ("2", "3"), ("8", "256")):
        build = tmp_path / f"b{jobs}"
        store = tmp_path / f"s{jobs}"
        ok(run_cli("publish", "--test", "skip", "--recipes", recipes, "--build-dir", build, "--store", store, "--base-url",
                   BASE_URL, "-j", jobs, "--max-in-flight", in_flight, env=EPOCH))
        results.append((stable_tree(build / "bundled"), stable_tree(store),
                        stable("index.json", (build / "gh-pages" / "index.json").read_bytes())))
    bundled, stored, index = results[0]
    assert len([k for k in bundled if k.endswith(".mhl")]) == COUNT
    assert len([k for k in stored if k.startswith("sha256/")]) == COUNT
    assert json.loads(index)["total_packages"] == COUNT
    for other in results[1:]:
        assert other[0] == bundled
        assert other[1] == stored
        assert other[2] == index


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5])
def test_shards_partition_packages_over_prepare_bundle_and_upload(tmp_path, run_cli, recipes, n):
    full = tmp_path / "full"
    everything = items(ok(run_cli("--json", "prepare", "--recipes", recipes, "--build-dir", full, env=EPOCH)))
    assert len(everything) == COUNT
    ok(run_cli("bundle", "--build-dir", full, env=EPOCH))
    full_bundles = tree(full / "bundled")

    prepared, bundled, uploaded = [], [], []
    for k in range(1, n + 1):
        shard = f"{k}/{n}"
        b = tmp_path / f"shard{k}"
        r = ok(run_cli("--json", "prepare", "--recipes", recipes, "--build-dir", b, "--shard", shard, env=EPOCH))
        prepared.append({w for w, s in items(r).items() if s == "done"})
        assert {p.name[:-4] for p in (b / "prepared").glob("*.dir")} == prepared[-1]
        # bundle and upload of one shard over the *full* prepared/bundled directories
        out = tmp_path / f"bundled{k}"
        r = ok(run_cli("--json", "bundle", "--build-dir", full, "--output-dir", out, "--shard", shard, env=EPOCH))
        bundled.append({w for w, s in items(r).items() if s == "done"})
        # the same bytes as the unsharded bundle
        for name, data in tree(out).items():
            assert data == full_bundles[name], name
        store = tmp_path / f"store{k}"
        r = ok(run_cli("--json", "upload", "--build-dir", full, "--store", store, "--base-url", BASE_URL,
                       "--shard", shard, env=EPOCH))
        uploaded.append({w for w, s in items(r).items() if s == "done"})
    for sets in (prepared, bundled, uploaded):
        union = set().union(*sets)
        assert union == set(everything), "every package is in some shard"
        assert sum(len(s) for s in sets) == COUNT, "no package is in two shards"
    assert prepared == bundled == uploaded, "a package lands in the same shard in every stage"
    if n > 1:
        assert sum(1 for s in prepared if s) > 1, "the packages spread over several shards"


def change_description(recipes, name, text):
    y = pathlib.Path(recipes) / name / "prepare.yaml"
    lines = [f"description: {text}" if line.startswith("description:") else line
             for line in y.read_text().splitlines()]
    y.write_text("\n".join(lines) + "\n")


def index_json_report(r):
    return json.loads(r.stdout)


def test_incremental_index_equals_full_local_store(tmp_path, run_cli, recipes):
    import shutil
    rec = tmp_path / "recipes"
    shutil.copytree(recipes, rec)
    build = tmp_path / "build"
    store = tmp_path / "store"
    ok(run_cli("publish", "--test", "skip", "--recipes", rec, "--build-dir", build, "--store", store, env=EPOCH))
    warm = index_json_report(ok(run_cli("--json", "index", "--build-dir", build, "--store", store, env=EPOCH)))
    assert warm["sidecars_downloaded"] == 0, "publish already filled the cache"
    changed = ["conc_01", "conc_05"]
    for name in changed:
        change_description(rec, name, f"changed {name}")
    pub = json.loads(ok(run_cli("--json", "publish", "--test", "skip", "--recipes", rec, "--build-dir", build, "--store", store,
                                "--package", changed[0], "--package", changed[1], env=EPOCH)).stdout)
    # publish's index step used the cache: only the two changed sidecars were read
    assert pub["index"]["sidecars_downloaded"] == 2
    assert pub["index"]["total_packages"] == COUNT
    again = index_json_report(ok(run_cli("--json", "index", "--build-dir", build, "--store", store, env=EPOCH)))
    assert again["sidecars_downloaded"] == 0
    full_dir = tmp_path / "full"
    full = index_json_report(ok(run_cli("--json", "index", "--build-dir", full_dir, "--store", store, env=EPOCH)))
    assert full["sidecars_downloaded"] == COUNT
    a = (build / "gh-pages" / "index.json").read_bytes()
    b = (full_dir / "gh-pages" / "index.json").read_bytes()
    assert a == b
    assert b"changed conc_05" in a


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with s3.S3Stack(tmp_path_factory.mktemp("conc-s3")) as st:
        yield st


def s3_flags(stack, prefix):
    return ["--store", f"s3://test/{prefix}", "--endpoint", stack.endpoint, "--allow-insecure-loopback",
            "--base-url", BASE_URL]


S3_ENV = dict(EPOCH, AWS_ACCESS_KEY_ID=s3.ACCESS_KEY, AWS_SECRET_ACCESS_KEY=s3.SECRET_KEY)


def test_s3_same_objects_and_index_whatever_jobs_and_in_flight(tmp_path, run_cli, recipes, stack):
    got = []
    for jobs, in_flight in (("1", "1"), ("2", "64")):
        prefix = f"conc/j{jobs}"
        build = tmp_path / f"b{jobs}"
        ok(run_cli("publish", "--test", "skip", "--recipes", recipes, "--build-dir", build, "-j", jobs, "--max-in-flight", in_flight,
                   *s3_flags(stack, prefix), env=S3_ENV))
        local = tmp_path / f"down{jobs}"
        stack.aws("s3", "sync", "--quiet", f"s3://test/{prefix}", local)
        got.append((stable_tree(local), stable("index.json", (build / "gh-pages" / "index.json").read_bytes())))
    (objects, index), (objects2, index2) = got
    assert len([k for k in objects if k.endswith(".mhl.mip.json")]) == COUNT
    assert len([k for k in objects if k.startswith("sha256/")]) == COUNT
    assert objects == objects2
    assert index == index2
    # every request the proxy forwarded was signed correctly (it rejects the others)
    assert all(r.get("status", 200) != 403 for r in stack.records())


def test_s3_incremental_index_equals_full(tmp_path, run_cli, recipes, stack):
    import shutil
    rec = tmp_path / "recipes"
    shutil.copytree(recipes, rec)
    prefix = "conc/inc"
    build = tmp_path / "build"
    ok(run_cli("publish", "--test", "skip", "--recipes", rec, "--build-dir", build, *s3_flags(stack, prefix), env=S3_ENV))
    first = index_json_report(ok(run_cli("--json", "index", "--build-dir", build, "--max-in-flight", "7",
                                         *s3_flags(stack, prefix), env=S3_ENV)))
    assert first["total_packages"] == COUNT
    assert first["sidecars_downloaded"] == 0, "unchanged sidecars come from the ETag cache"
    change_description(rec, "conc_02", "changed on S3")
    ok(run_cli("publish", "--test", "skip", "--recipes", rec, "--build-dir", tmp_path / "other", "--package", "conc_02",
               *s3_flags(stack, prefix), env=S3_ENV))
    inc = index_json_report(ok(run_cli("--json", "index", "--build-dir", build, *s3_flags(stack, prefix), env=S3_ENV)))
    assert inc["sidecars_downloaded"] == 1
    full_dir = tmp_path / "full"
    full = index_json_report(ok(run_cli("--json", "index", "--build-dir", full_dir, "--max-in-flight", "1",
                                        *s3_flags(stack, prefix), env=S3_ENV)))
    assert full["sidecars_downloaded"] == COUNT
    a = (build / "gh-pages" / "index.json").read_bytes()
    assert a == (full_dir / "gh-pages" / "index.json").read_bytes()
    assert b"changed on S3" in a
