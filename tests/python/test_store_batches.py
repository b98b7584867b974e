"""The store's batch calls (put_many, get_many, head_many, put_chains, list_and_get) and the
Uploader from Python, on a real LocalStore and on moto_server behind the SigV4-verifying proxy;
per-item failures come back as the exception objects the single calls would raise, and the calls
release the GIL for their whole run."""
import hashlib
import pathlib
import sys
import threading

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "support"))

import s3  # noqa: E402
from blocking_server import BlockingHttpServer  # noqa: E402
from pkgtrees import make_prepared_dir  # noqa: E402

import mip_native as m  # noqa: E402

BASE = "https://pkgs.example.org/core/packages"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with s3.S3Stack(tmp_path_factory.mktemp("batches")) as st:
        yield st


def r2(stack, prefix):
    return m.R2Client(endpoint=stack.endpoint, bucket=stack.bucket, prefix=prefix,
                      access_key_id=s3.ACCESS_KEY, secret_access_key=s3.SECRET_KEY,
                      allow_insecure_loopback=True)


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path):
    if request.param == "local":
        return m.LocalStore(tmp_path / "store")
    return r2(request.getfixturevalue("stack"), f"batch-{request.node.name}")


def test_put_many_get_many_head_many_round_trip(store, tmp_path):
    (tmp_path / "big.bin").write_bytes(b"\x00\xff" * 5000)
    requests = [m.PutRequest(key=f"k{i}.txt", data=f"body {i}".encode()) for i in range(5)]
    requests.append(m.PutRequest(key="file.bin", file=tmp_path / "big.bin"))
    events = []
    puts = store.put_many(requests, max_in_flight=4, progress=events.append, progress_interval=0,
                          stage="test:put")
    assert [r.key for r in puts] == [r.key for r in requests]
    assert all(r.written and r.error is None for r in puts)
    assert events[0].phase == m.ProgressPhase.started and events[0].stage == "test:put"
    assert events[-1].phase == m.ProgressPhase.finished and events[-1].done == 6

    got = store.get_many([m.GetRequest(key="k3.txt"), m.GetRequest(key="absent"),
                          m.GetRequest(key="file.bin")])
    assert [g.found for g in got] == [True, False, True]
    assert got[0].data == b"body 3" and got[2].data == b"\x00\xff" * 5000
    assert got[1].error is None
    # An ETag we already have: the object comes back not_modified, without its bytes.
    again = store.get_many([m.GetRequest(key="k3.txt", if_none_match=got[0].etag)])
    assert again[0].not_modified and again[0].found

    heads = store.head_many(["k0.txt", "absent"], m.BatchOptions(max_in_flight=2))
    assert heads[0].info.size == len(b"body 0") and heads[1].info is None


def test_put_chains_stop_a_chain_at_its_first_failure(store):
    assert store.put("taken", b"first").written
    chains = [
        [m.PutRequest(key="a/1", data=b"x"), m.PutRequest(key="a/2", copy_from="a/1")],
        # A create-only put of a key that exists with another size fails this chain.
        [m.PutRequest(key="taken", data=b"other bytes",
                      options=m.PutOptions(if_none_match=True, accept_existing_size=3)),
         m.PutRequest(key="never", data=b"y")],
    ]
    results = store.put_chains(chains)
    assert [[r.key for r in chain] for chain in results] == [["a/1", "a/2"], ["taken", "never"]]
    assert results[0][0].written and results[0][1].written
    assert store.get("a/2") == b"x"
    failed = results[1][0].error
    assert isinstance(failed, m.RemoteError) and "different size" in str(failed)
    assert results[1][1].attempts == 0 and results[1][1].error is None
    assert store.get("never") is None


def test_list_and_get_reads_what_want_asks_for(store):
    for name in ["a.json", "b.json", "c.txt", "sub/d.json"]:
        store.put(name, name.encode())
    seen = []

    def want(info):
        seen.append(info.key)
        return m.GetRequest(key=info.key) if info.key.endswith(".json") else None

    listed = store.list_and_get("", False, want=want)
    assert [o.info.key for o in listed] == ["a.json", "b.json", "c.txt"]
    assert [o.got.data if o.got else None for o in listed] == [b"a.json", b"b.json", None]
    assert sorted(seen) == ["a.json", "b.json", "c.txt"]
    with pytest.raises(ZeroDivisionError):  # what `want` raises ends the call unchanged
        store.list_and_get("", True, want=lambda info: 1 / 0)


def test_a_batch_releases_the_gil(tmp_path):
    # A store whose endpoint answers only when the test says so: while the batch waits in C++,
    # the server's handler (Python, another thread) and this thread must both run.
    with BlockingHttpServer(b"held", content_type="application/json") as server:
        client = m.R2Client(endpoint=server.base_url, bucket="b", access_key_id="k",
                            secret_access_key="s", allow_insecure_loopback=True, retries=0)
        result = {}

        def call():
            try:
                result["got"] = client.get_many([m.GetRequest(key="x.json")])
            except BaseException as e:  # noqa: B036 - reported below
                result["error"] = e
            finally:
                server.received.set()

        worker = threading.Thread(target=call)
        worker.start()
        assert server.received.wait(120), "the server never saw the request"
        assert worker.is_alive() and result == {}, result
        total = sum(range(10_000))
        server.release.set()
        worker.join(120)
    assert total == 49_995_000
    assert result["got"][0].data == b"held", result


def bundled(tmp_path, names):
    for name in names:
        make_prepared_dir(tmp_path / "prepared", name)
    bundler = m.Bundler(input_dir=tmp_path / "prepared", output_dir=tmp_path / "bundled",
                        source_date_epoch=1700000000)
    report = bundler.bundle_all()
    assert report.ok and [i.status for i in report.items] == [m.ItemStatus.done] * len(names)
    return tmp_path / "bundled"


def test_uploader_publishes_and_then_skips(store, tmp_path):
    source = bundled(tmp_path, ["alpha", "beta"])
    uploader = m.Uploader(store, input_dir=source, base_url=BASE, jobs=2)
    assert uploader.options.input_dir == source and uploader.run.base_url == BASE
    report = uploader.upload()
    assert [i.status for i in report.items] == [m.ItemStatus.done] * 2
    for item in report.items:
        mhl = (source / f"{item.wheel}.mhl").read_bytes()
        digest = hashlib.sha256(mhl).hexdigest()
        assert item.path == f"{BASE}/sha256/{digest}/{item.wheel}.mhl"
        assert store.get(f"sha256/{digest}/{item.wheel}.mhl") == mhl
        spec = m.PackageSpec.from_json(store.get(f"{item.wheel}.mhl.mip.json").decode())
        assert spec.mhl_url == item.path
    again = m.Uploader(store, m.UploadOptions(input_dir=source), m.RunOptions(base_url=BASE))
    assert [i.status for i in again.upload().items] == [m.ItemStatus.skipped] * 2


def test_uploader_refuses_octave_builds_for_s3_only(stack, tmp_path):
    source = bundled(tmp_path, ["octy"])
    sidecar = source / "octy-1.0.0-any-none-any.mhl.mip.json"
    spec = m.PackageSpec.from_json(sidecar.read_text())
    spec.build_info = {"source_date_epoch": 1700000000, "compile_engine": "octave 7.3.0"}
    sidecar.write_text(spec.to_json())
    item = m.Uploader(r2(stack, "octave"), input_dir=source, base_url=BASE).upload().items[0]
    assert item.status == m.ItemStatus.failed and item.error_code == m.ErrorCode.build_failed
    assert m.Uploader(m.LocalStore(tmp_path / "local"), input_dir=source,
                      base_url=BASE).upload().ok
    assert m.Uploader(r2(stack, "octave"), input_dir=source, base_url=BASE,
                      allow_octave_builds=True).upload().ok


def test_service_keywords_are_checked(tmp_path):
    store = m.LocalStore(tmp_path / "store")
    with pytest.raises(TypeError, match="Uploader: unknown option 'allow_overwrit'"):
        m.Uploader(store, allow_overwrit=True)
    with pytest.raises(TypeError, match="BatchOptions: unknown option 'max_inflight'"):
        store.get_many([], max_inflight=3)
