"""Recipe code cannot steal the credentials of the mip-build run that executes it (issue 13, item 1).

The tests run as root, the hardest case: a root process with CAP_SYS_PTRACE reads any process's
`/proc/<pid>/environ` and `mem`. Three hostile recipes — a `package.py`, a `prepare.yaml`
prescript and a `compile.m` (Octave `system()`) — run `tests/support/proc_attack.py` against every
ancestor up to this test process (environ, cmdline, every readable memory region) and ship what
they find inside their own package, which `publish` uploads to an S3 store with the secret in
`AWS_SECRET_ACCESS_KEY`. The published objects, every file under the build directory and all
output must be free of the secret, and the attack reports must show the ancestors were tried.

So that the test can fail, the same attack is run against a plain process holding the secret and
must find it; and mip-build's own environment block (read by this root test, which can) no longer
holds the secret once mip-build has read it."""
import io
import json
import os
import pathlib
import secrets
import select
import subprocess
import sys
import textwrap
import zipfile

import pytest

import mip_native as m

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "support"))

import faults  # noqa: E402
import s3  # noqa: E402
import tools  # noqa: E402

pytestmark = pytest.mark.slow

ATTACK = pathlib.Path(__file__).resolve().parent.parent / "support" / "proc_attack.py"
PREFIX = "mipSecret-"  # what the attacker greps for; the rest of the secret is random
BASE = "https://example.invalid/iso/packages"


@pytest.fixture
def secret():
    return PREFIX + secrets.token_hex(16)


@pytest.fixture(scope="module")
def moto(tmp_path_factory):
    server = s3.MotoServer(tmp_path_factory.mktemp("isolation-s3")).start()
    try:
        s3.run_aws(server.endpoint, "s3", "mb", "s3://iso")
        yield server
    finally:
        server.stop()


def run_env(secret):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AWS_") and k not in ("MIP_STORE", "MIP_BASE_URL")}
    env.update({"AWS_ACCESS_KEY_ID": "AKIAMIPISOLATION0001", "AWS_SECRET_ACCESS_KEY": secret,
                "AWS_ENDPOINT_URL": "http://127.0.0.1:1", "SOURCE_DATE_EPOCH": "1700000000",
                "NO_PROXY": "*"})
    return env


def package_py(name, stop_pid, extra=""):
    return textwrap.dedent(f'''
        import json, os, sys
        from mip_build_helpers import create_load_and_unload_scripts
        sys.path.insert(0, {str(ATTACK.parent)!r})
        import proc_attack

        class Package:
            def __init__(self):
                self.name = "{name}"
                self.description = "steals what it can"
                self.version = "1.0"
                self.build_number = 0
                self.dependencies = []
                self.homepage = ""
                self.repository = ""
                self.matlab_tag = "any"
                self.abi_tag = "none"
                self.platform_tag = "any"
                self.exposed_symbols = []

            def prepare(self, mhl_dir):
                d = os.path.join(mhl_dir, "{name}")
                os.makedirs(d, exist_ok=True)
{textwrap.indent(textwrap.dedent(extra), " " * 16)}
                with open(os.path.join(d, "loot.json"), "w") as f:
                    json.dump(proc_attack.attack({PREFIX!r}, {stop_pid}), f)
                create_load_and_unload_scripts(mhl_dir, dirs_to_add_to_path=[d])
        ''')


def write_hostile_recipes(recipes, stop_pid):
    py = recipes / "pyevil"
    py.mkdir(parents=True)
    (py / "package.py").write_text(package_py("pyevil", stop_pid))
    # prepare.yaml: the prescript attacks and leaves its loot in the source the recipe ships;
    # compile.m attacks again from Octave and leaves its loot in the compiled package.
    ym = recipes / "yamlevil"
    (ym / "src").mkdir(parents=True)
    (ym / "src" / "yamlevil_hello.m").write_text("function yamlevil_hello\ndisp('hi')\nend\n")
    # The prescript runs for the build's platform tag: this host's, as compile.m makes it.
    (ym / f"prescript.{m.host_platform_tag()}.sh").write_text(
        f"/usr/bin/python3 {ATTACK} {PREFIX} {stop_pid} src/prescript_loot.json\n")
    (ym / "prepare.yaml").write_text(textwrap.dedent("""\
        name: yamlevil
        version: "1.0"
        prepare:
          path: {path: src, destination: yamlevil}
        addpaths: [yamlevil]
        builds:
          - build_type: standard
            compile_script: compile.m
        """))
    (ym / "compile.m").write_text(
        f"[status, out] = system('/usr/bin/python3 {ATTACK} {PREFIX} {stop_pid} "
        f"yamlevil/compile_loot.json');\n"
        "if status ~= 0, error('attack failed: %s', out); end\n")


def mhl_entries(data):
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {n: z.read(n) for n in z.namelist()}


def test_the_attack_finds_a_secret_a_plain_process_holds(tmp_path, secret):
    """The control: without protection the same attack steals the secret from its parent's
    environ and memory."""
    out = tmp_path / "loot.json"
    holder = ("import os, subprocess, sys\n"
              "subprocess.run([sys.executable, sys.argv[1], sys.argv[2], str(os.getpid()), "
              "sys.argv[3]], check=True)\n")
    subprocess.run([sys.executable, "-c", holder, str(ATTACK), PREFIX, str(out)],
                   env=run_env(secret), check=True, timeout=120)
    report = json.loads(out.read_text())
    assert secret in report["loot"], report
    holder_report = report["ancestors"][-1]
    assert any(h.endswith(":environ") for h in holder_report["hits"]), holder_report
    assert any(h.endswith(":mem") for h in holder_report["hits"]), holder_report


def test_hostile_recipes_publish_nothing_of_the_secret(tmp_path, mip_build_exe, moto, secret):
    tools.require_tool("octave-cli")
    recipes = tmp_path / "recipes"
    write_hostile_recipes(recipes, os.getpid())
    build = tmp_path / "build"
    r = subprocess.run([mip_build_exe, "-vv", "publish", "--test", "skip", "--recipes", recipes, "--build-dir", build,
                        "-j", "1", "--allow-octave-builds", "--store", "s3://iso/p", "--endpoint", moto.endpoint,
                        "--allow-insecure-loopback", "--base-url", BASE],
                       capture_output=True, env=run_env(secret), timeout=900)
    assert r.returncode == 0, (r.stdout.decode()[-2000:], r.stderr.decode()[-4000:])

    objects = faults.bucket_objects(moto.endpoint, "iso", "p/")
    # The content-addressed bundles (a new bucket gets no flat <wheel>.mhl copies).
    mhls = {k: v for k, v in objects.items() if k.endswith(".mhl") and "/sha256/" in k}
    assert sorted(k.split("/")[-1].split("-")[0] for k in mhls) == ["pyevil", "yamlevil"]
    # Every attack ran, walked up to this test process and was refused at mip-build.
    reports = {}
    for key, data in mhls.items():
        for name, content in mhl_entries(data).items():
            if name.endswith("loot.json"):
                reports[name] = json.loads(content)
    assert sorted(reports) == ["pyevil/loot.json", "yamlevil/compile_loot.json",
                               "yamlevil/prescript_loot.json"], sorted(reports)
    for name, report in reports.items():
        chain = [a["comm"] for a in report["ancestors"]]
        assert "mip-build" in chain, (name, chain)
        assert report["ancestors"][-1]["pid"] == os.getpid(), (name, chain)
        assert report["loot"] == [], (name, report)
        for a in report["ancestors"]:
            assert a["hits"] == [], (name, a)
            if a["comm"] == "mip-build" or a["pid"] == os.getpid():
                assert a["environ"].startswith("denied"), (name, a)
                assert a["mem_bytes"] == 0, (name, a)
    # The secret is nowhere: objects (and the files inside every bundle), build files, output.
    found = []
    for key, data in objects.items():
        blobs = mhl_entries(data) if key.endswith(".mhl") else {"": data}
        found += [f"{key}:{n}" for n, b in blobs.items() if secret.encode() in b]
    for p in build.rglob("*"):
        if p.is_file() and secret.encode() in p.read_bytes():
            found.append(str(p.relative_to(tmp_path)))
    for label, text in (("stdout", r.stdout), ("stderr", r.stderr)):
        if secret.encode() in text:
            found.append(label)
    assert found == [], found


def test_mip_build_scrubs_its_own_environment_block(tmp_path, mip_build_exe, secret):
    """While a recipe runs, mip-build's /proc/<pid>/environ (readable by this root test) holds
    no secret any more, nor does its command line; the recipe waits on a FIFO meanwhile."""
    ready = tmp_path / "ready"
    go = tmp_path / "go"
    os.mkfifo(ready)
    os.mkfifo(go)
    recipes = tmp_path / "recipes"
    d = recipes / "waiter"
    d.mkdir(parents=True)
    (d / "package.py").write_text(package_py("waiter", os.getpid(), f"""\
        with open({str(ready)!r}, "w") as f:
            f.write("running")
        with open({str(go)!r}) as f:
            f.read()
        """))
    proc = subprocess.Popen([mip_build_exe, "prepare", "--recipes", recipes, "--build-dir",
                             tmp_path / "build"], env=run_env(secret),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    fd = os.open(ready, os.O_RDONLY | os.O_NONBLOCK)
    try:
        got = b""
        while not got:
            readable, _, _ = select.select([fd], [], [], 5)
            if readable:
                got = os.read(fd, 100)
            assert proc.poll() is None, proc.communicate()
        environ = pathlib.Path(f"/proc/{proc.pid}/environ").read_bytes()
        cmdline = pathlib.Path(f"/proc/{proc.pid}/cmdline").read_bytes()
        status = pathlib.Path(f"/proc/{proc.pid}/status").read_text()
    finally:
        os.close(fd)
        with open(go, "w") as f:
            f.write("go")
        out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err.decode()[-3000:]
    # The block was really read (it still holds the other variables), and the secret is gone.
    assert b"SOURCE_DATE_EPOCH=1700000000" in environ
    assert secret.encode() not in environ and secret.encode() not in cmdline
    assert b"AWS_SECRET_ACCESS_KEY=" + secret.encode() not in environ
    assert f"Pid:\t{proc.pid}" in status


def test_the_ci_workflow_keeps_credentials_out_of_jobs_that_run_recipes(source_dir):
    """docs/ci/github-actions.yml: a job that runs recipe code (prepare, compile, publish) sees
    no secret; the credentials are in jobs that only upload or index."""
    import yaml
    workflow = yaml.safe_load((source_dir / "docs" / "ci" / "github-actions.yml").read_text())
    runs_recipes, holds_secrets = set(), set()
    for name, job in workflow["jobs"].items():
        text = yaml.safe_dump(job)
        if any(f"mip-build {verb}" in text for verb in ("prepare", "compile", "publish")):
            runs_recipes.add(name)
        if "secrets." in text:
            holds_secrets.add(name)
    assert runs_recipes and holds_secrets >= {"upload", "index"}, (runs_recipes, holds_secrets)
    assert runs_recipes.isdisjoint(holds_secrets), (runs_recipes, holds_secrets)
