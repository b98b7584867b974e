"""The bad-input catalogue (docs/bad-inputs.md): every case runs the real `mip-build` on a hostile
or broken input and asserts the documented exit code, that the message names the package, file or
field at fault, and that nothing half-written is left (no `.dir` of a failed prepare, no `stage/`
work area, no temporary files, no `.mhl` of a failed bundle, no object of a failed upload, no
index of a failed index run, no file written outside the build directory).

Each case is one row of the catalogue; its id is the test id (`test_bad_input[<id>]`)."""
import hashlib
import json
import os
import pathlib
import subprocess
import sys
import time
from dataclasses import dataclass, field

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "support"))

import pkgtrees  # noqa: E402
import s3  # noqa: E402

pytestmark = pytest.mark.slow

EPOCH = "1700000000"
PY = sys.executable


# ---------------------------------------------------------------------------------------------
# Building blocks


def recipe_yaml(name="goodpkg", version="1.0.0", extra="", source=None):
    source = source if source is not None else f"prepare:\n  path: {{path: src, destination: {name}}}\n"
    return f"name: {name}\nversion: \"{version}\"\nlicense: MIT\n{source}{extra}"


def write_recipe(root, dirname, text, files=None, file_name="prepare.yaml"):
    d = pathlib.Path(root) / dirname
    (d / "src").mkdir(parents=True, exist_ok=True)
    (d / "src" / "fn.m").write_text("function fn\nend\n")
    (d / file_name).write_bytes(text.encode() if isinstance(text, str) else text)
    for rel, content in (files or {}).items():
        p = d / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(content if isinstance(content, bytes) else content.encode())
    return d


PY_PACKAGE = '''
import os
class Package:
    name = {name!r}
    description = "python recipe"
    version = "1.0.0"
    build_number = {build_number!r}
    dependencies = {dependencies!r}
    homepage = ""
    repository = ""
    matlab_tag = "any"
    abi_tag = "none"
    platform_tag = "any"
{extra_attrs}
    def prepare(self, mhl_dir):
{body}
        with open(os.path.join(mhl_dir, "load_package.m"), "w") as f:
            f.write("")
        with open(os.path.join(mhl_dir, "unload_package.m"), "w") as f:
            f.write("")
        self.exposed_symbols = []
'''


def py_recipe(name="pyrec", body="        pass", build_number=0, dependencies=(), extra_attrs=""):
    return PY_PACKAGE.format(name=name, body=body, build_number=build_number,
                             dependencies=list(dependencies), extra_attrs=extra_attrs)


def make_zip_bytes(tmp, entries):
    path = pkgtrees.make_zip(pathlib.Path(tmp) / "zips" / f"z{len(entries)}-{time.monotonic_ns()}.zip",
                             entries)
    return path


def sidecar(name, version="1.0.0", deps=(), **overrides):
    d = {"name": name, "description": "", "version": version, "build_number": 0,
         "dependencies": list(deps), "homepage": "", "repository": "", "license": "MIT",
         "matlab_tag": "any", "abi_tag": "none", "platform_tag": "any", "usage_examples": [],
         "exposed_symbols": [], "timestamp": "2024-01-01T00:00:00Z", "prepare_duration": 0,
         "compile_duration": 0, "mhl_sha256": "0" * 64, "mhl_size": 1}
    d.update(overrides)
    return d


def put_sidecar(store, doc, key=None, raw=None):
    wheel = f"{doc['name']}-{doc['version']}-any-none-any" if doc else None
    key = key or f"{wheel}.mhl.mip.json"
    p = pathlib.Path(store) / key
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(raw if raw is not None else (json.dumps(doc, indent=2) + "\n").encode())
    return p


# ---------------------------------------------------------------------------------------------
# What a case is


@dataclass
class Ctx:
    tmp: pathlib.Path
    stack_factory: object = None

    @property
    def recipes(self):
        return self.tmp / "recipes"

    @property
    def build(self):
        return self.tmp / "build"

    @property
    def store(self):
        return self.build / "store"

    @property
    def prepared(self):
        return self.build / "prepared"

    def stack(self):
        return self.stack_factory()


@dataclass
class Case:
    id: str
    verb: str           # prepare, bundle, upload, index, publish, cli
    exit_code: int
    names: tuple        # substrings the output must contain (package / file / field)
    setup: object       # Ctx -> list of extra CLI args (after the verb's defaults)
    env: dict = field(default_factory=dict)
    defaults: bool = True   # add --recipes/--build-dir etc.
    allowed: tuple = ()     # leftovers allowed (relative paths)
    outside: tuple = ()     # paths (relative to tmp) that must not exist afterwards
    timeout: int = 300


CASES = []


def case(id, verb, exit_code, names, **kw):
    def deco(fn):
        CASES.append(Case(id, verb, exit_code, tuple(names), fn, **kw))
        return fn
    return deco


def yaml_case(id, text, names, exit_code=3, files=None, dirname="badpkg", **kw):
    def setup(ctx):
        write_recipe(ctx.recipes, dirname, text(ctx) if callable(text) else text, files)
        return []
    CASES.append(Case(id, "prepare", exit_code, tuple(names), setup, **kw))


# --- prepare.yaml: malformed and missing fields, wrong types --------------------------------

yaml_case("yaml-syntax-error", "name: [unclosed\nversion: 1\n", ["badpkg/prepare.yaml", "not valid YAML"])
yaml_case("yaml-not-a-mapping", "- name\n- version\n", ["badpkg/prepare.yaml", "mapping"])
yaml_case("yaml-empty-file", "", ["badpkg/prepare.yaml"])
yaml_case("name-missing", "version: \"1.0\"\nprepare:\n  path: {path: src}\n", ["prepare.yaml", "name", "is required"])
yaml_case("name-with-slash", recipe_yaml("evil/pkg"), ["prepare.yaml", "name", "evil/pkg"])
yaml_case("name-dotdot", recipe_yaml(".."), ["prepare.yaml", "name"])
yaml_case("name-with-space", recipe_yaml("my pkg"), ["prepare.yaml", "name"])
yaml_case("name-control-char", 'name: "bad\\x01pkg"\nversion: "1.0"\nprepare:\n  path: {path: src}\n',
          ["prepare.yaml", "name"])
yaml_case("name-too-long", recipe_yaml("a" * 101), ["prepare.yaml", "name"])
yaml_case("name-non-ascii", recipe_yaml("päckage"), ["prepare.yaml", "name"])
yaml_case("name-not-a-string", "name: [a, b]\nversion: \"1.0\"\nprepare:\n  path: {path: src}\n",
          ["prepare.yaml", "name", "must be a string"])
yaml_case("version-with-dash", recipe_yaml("badpkg", "1.0-beta"), ["badpkg", "version"])
yaml_case("version-too-long", recipe_yaml("badpkg", "1." * 40), ["badpkg", "version"])
yaml_case("version-leading-dot", recipe_yaml("badpkg", ".1"), ["badpkg", "version"])
yaml_case("matlab-tag-with-dash", recipe_yaml(extra="builds:\n  - {build_type: standard, matlab_tag: R2023-b}\n"),
          ["goodpkg", "matlab_tag"])
yaml_case("platform-tag-unknown", recipe_yaml(extra="builds:\n  - {build_type: standard, platform_tag: solaris_sparc}\n"),
          ["goodpkg", "builds[0].platform_tag", "solaris_sparc"])
yaml_case("build-number-not-int", recipe_yaml(extra="build_number: abc\n"), ["goodpkg", "build_number"])
yaml_case("build-number-negative", recipe_yaml(extra="build_number: -1\n"), ["goodpkg", "build_number"])
yaml_case("dependencies-not-a-list", recipe_yaml(extra="dependencies: mathutils\n"), ["goodpkg", "dependencies"])
yaml_case("dependency-version-constraint", recipe_yaml(extra="dependencies: [\"mathutils>=1.0\"]\n"),
          ["goodpkg", "dependencies[0]"])
yaml_case("dependency-with-slash", recipe_yaml(extra="dependencies: [\"../etc\"]\n"), ["goodpkg", "dependencies[0]"])
yaml_case("unknown-key-typo", recipe_yaml(extra="licence: MIT\n"), ["goodpkg", "licence", "not a known key"])
yaml_case("description-not-a-string", recipe_yaml(extra="description: {a: b}\n"), ["goodpkg", "description"])
yaml_case("builds-not-a-list", recipe_yaml(extra="builds: standard\n"), ["goodpkg", "builds"])
yaml_case("two-source-kinds", recipe_yaml(source="prepare:\n  path: {path: src}\n  clone_git: {url: https://example.invalid/r.git}\n"),
          ["goodpkg", "prepare", "exactly one source kind"])
yaml_case("path-source-escapes-recipe", recipe_yaml(source="prepare:\n  path: {path: ../other}\n"),
          ["goodpkg", "prepare.path.path"])
yaml_case("destination-absolute", recipe_yaml(source="prepare:\n  path: {path: src, destination: /tmp/mip-evil}\n"),
          ["goodpkg", "prepare.path.destination"], outside=("/tmp/mip-evil",))
yaml_case("destination-dotdot", recipe_yaml(source="prepare:\n  path: {path: src, destination: ../../../escaped}\n"),
          ["goodpkg", "prepare.path.destination"], outside=("escaped", "build/escaped"))
yaml_case("download-url-not-https", recipe_yaml(source="prepare:\n  download_zip: {url: \"ftp://example.invalid/x.zip\"}\n"),
          ["goodpkg", "prepare.download_zip.url"])
yaml_case("download-sha256-not-hex", recipe_yaml(source="prepare:\n  download_zip: {url: \"https://example.invalid/x.zip\", sha256: xyz}\n"),
          ["goodpkg", "prepare.download_zip.sha256"])
yaml_case("addpath-escapes", recipe_yaml(extra="addpaths: [\"../../outside\"]\n"), ["goodpkg", "addpaths[0]"])
yaml_case("addpath-missing-dir", recipe_yaml(extra="addpaths: [\"goodpkg/nonexistent\"]\n"),
          ["goodpkg", "nonexistent"], exit_code=3)
yaml_case("script-env-credential", recipe_yaml(extra="script_env: [AWS_SECRET_ACCESS_KEY]\n"),
          ["goodpkg", "script_env[0]", "credential"])
# One rule for script_env (both recipe kinds) and --pass-env: credentials by pattern and by list,
# and the variables that decide what a process runs or loads (issue 13, item 14).
yaml_case("script-env-secret-pattern", recipe_yaml(extra="script_env: [R2_SECRET]\n"),
          ["goodpkg", "script_env[0]", "R2_SECRET", "credential", "SECRET"])
yaml_case("script-env-password-pattern", recipe_yaml(extra="script_env: [OK_VAR, MY_PASSWORD]\n"),
          ["goodpkg", "script_env[1]", "MY_PASSWORD", "credential", "PASSWORD"])
yaml_case("script-env-ld-preload", recipe_yaml(extra="script_env: [LD_PRELOAD]\n"),
          ["goodpkg", "script_env[0]", "LD_PRELOAD", "LD_"])
yaml_case("script-env-ld-library-path", recipe_yaml(extra="script_env: [LD_LIBRARY_PATH]\n"),
          ["goodpkg", "script_env[0]", "LD_LIBRARY_PATH", "LD_"])
yaml_case("script-env-path", recipe_yaml(extra="script_env: [PATH]\n"),
          ["goodpkg", "script_env[0]", "PATH", "process-control"])
yaml_case("description-invalid-utf8",
          recipe_yaml().encode() + b'description: "caf\xe9 au lait"\n',
          ["goodpkg", "description", "not valid UTF-8", "0xe9"])
# Paths a recipe names must stay inside the package; the generated loader is not a compile script
# (issue 13, item 15).
yaml_case("keep-prebuilt-dotdot", recipe_yaml(extra="keep_prebuilt: [\"../../outside.mexa64\"]\n"),
          ["goodpkg", "keep_prebuilt[0]", "inside the package"])
yaml_case("keep-prebuilt-absolute", recipe_yaml(extra="keep_prebuilt: [ok.mexa64, /etc/passwd]\n"),
          ["goodpkg", "keep_prebuilt[1]", "/etc/passwd"])
yaml_case("exclude-dotdot",
          recipe_yaml(extra="addpaths:\n  - {path: goodpkg, exclude: [\"../../elsewhere\"]}\n"),
          ["goodpkg", "addpaths[0].exclude[0]", "inside the package"])
yaml_case("compile-script-is-the-loader",
          recipe_yaml(extra="builds:\n  - build_type: standard\n    compile_script: load_package.m\n"),
          ["goodpkg", "compile_script", "load_package.m", "generated loader"])
yaml_case("script-env-bad-name", recipe_yaml(extra="script_env: [\"A B\"]\n"), ["goodpkg", "script_env[0]"])
yaml_case("symbol-extension-malformed", recipe_yaml(extra="symbol_extensions: [m]\n"), ["goodpkg", "symbol_extensions[0]"])
# A recipe-controlled compile script name must not make libmip copy a file outside the .dir:
# a/b/c/recipes/goodpkg/../../../../evil.m is tmp/a/evil.m (it exists), and the same relative
# name below build/prepared/<W>.work/stage would be tmp/evil.m.
def _compile_escape(ctx):
    (ctx.tmp / "a").mkdir(parents=True, exist_ok=True)
    (ctx.tmp / "a" / "evil.m").write_text("% planted\n")
    write_recipe(ctx.tmp / "a" / "b" / "c" / "recipes", "goodpkg",
                 recipe_yaml(extra="builds:\n  - {build_type: standard, compile_script: ../../../../evil.m}\n"))
    return ["--recipes", ctx.tmp / "a" / "b" / "c" / "recipes"]


CASES.append(Case("compile-script-escapes-dir", "prepare", 3, ("goodpkg", "compile_script"),
                  _compile_escape, outside=("evil.m", "build/prepared/evil.m", "build/evil.m")))


@case("two-recipe-files-in-one-dir", "prepare", 3, ["badpkg", "more than one recipe file"])
def _(ctx):
    d = write_recipe(ctx.recipes, "badpkg", recipe_yaml("badpkg"))
    (d / "package.py").write_text(py_recipe("badpkg"))
    return []


@case("duplicate-package-two-recipes", "prepare", 3, ["dup-1.0.0-any-none-any", "built by both", "dupa", "dupb"],
      allowed=("prepared/dup-1.0.0-any-none-any.dir",))
def _(ctx):
    write_recipe(ctx.recipes, "dupa", recipe_yaml("dup"))
    write_recipe(ctx.recipes, "dupb", recipe_yaml("dup"))
    return []


@case("package-selection-matches-nothing", "prepare", 3, ["--package", "nosuchpkg"])
def _(ctx):
    write_recipe(ctx.recipes, "goodpkg", recipe_yaml())
    return ["--package", "nosuchpkg"]


@case("recipes-dir-missing", "prepare", 4, ["recipes directory", "no-such-dir"])
def _(ctx):
    return ["--recipes", ctx.tmp / "no-such-dir"]


@case("path-source-symlink-leaves-recipe", "prepare", 3, ["goodpkg", "'src'", "symbolic link"])
def _(ctx):
    secret = ctx.tmp / "outside-secret"
    secret.mkdir()
    (secret / "id_rsa").write_text("PRIVATE KEY\n")
    d = ctx.recipes / "goodpkg"
    d.mkdir(parents=True)
    (d / "prepare.yaml").write_text(recipe_yaml())
    os.symlink(secret, d / "src")
    return []


@case("symlink-in-recipe-leaving-it", "publish", 3, ["goodpkg", "src/escape.m", "symbolic link"])
def _(ctx):
    d = write_recipe(ctx.recipes, "goodpkg", recipe_yaml())
    (ctx.tmp / "outside.m").write_text("function outside\nend\n")
    os.symlink(ctx.tmp / "outside.m", d / "src" / "escape.m")
    return []


# --- download_zip: digests, zip-slip, broken archives, unreachable hosts --------------------


def zip_case(id, entries, names, exit_code=4, sha=None, strip=False, outside=()):
    def setup(ctx):
        z = make_zip_bytes(ctx.tmp, entries) if entries is not None else None
        if entries is None:
            z = ctx.tmp / "zips" / "corrupt.zip"
            z.parent.mkdir(parents=True, exist_ok=True)
            z.write_bytes(b"PK\x03\x04" + hashlib.sha256(b"x").digest() * 10)
        digest = sha(z) if sha else None
        src = f"prepare:\n  download_zip: {{url: \"file://{z}\", destination: goodpkg"
        if digest:
            src += f", sha256: {digest}"
        if strip:
            src += ", strip_top_level: true"
        src += "}\n"
        write_recipe(ctx.recipes, "goodpkg", recipe_yaml(source=src))
        return []
    CASES.append(Case(id, "prepare", exit_code, tuple(names), setup, outside=outside))


zip_case("zip-sha256-mismatch", {"goodpkg/fn.m": "function fn\nend\n"},
         ["goodpkg", "prepare.download_zip.sha256", "mismatch"], exit_code=3, sha=lambda z: "0" * 64)
zip_case("zip-slip-dotdot", {"../../../../zip-slip-evil.m": "x"}, ["goodpkg", "zip-slip-evil.m", "refusing"],
         outside=("zip-slip-evil.m", "build/zip-slip-evil.m"))
zip_case("zip-absolute-path", {"/tmp/mip-zip-abs-evil.m": "x"}, ["goodpkg", "mip-zip-abs-evil.m", "absolute"],
         outside=("/tmp/mip-zip-abs-evil.m",))
zip_case("zip-backslash-dotdot", {"..\\..\\zip-bs-evil.m": "x"}, ["goodpkg", "zip-bs-evil.m"],
         outside=("zip-bs-evil.m",))
zip_case("zip-symlink-entry", {"goodpkg/link": ("/etc/passwd", pkgtrees.SYMLINK_MODE)}, ["goodpkg", "symlink"])
zip_case("zip-drive-letter", {"C:/evil.m": "x"}, ["goodpkg", "drive letter"])
zip_case("zip-corrupt-archive", None, ["goodpkg", "zip"])
zip_case("zip-strip-two-top-folders", {"a/fn.m": "x", "b/fn.m": "y"}, ["goodpkg", "top-level"], strip=True)


@case("download-404", "prepare", 5, ["goodpkg", "404", "missing.zip"])
def _(ctx):
    src = f"prepare:\n  download_zip: {{url: \"{ctx.http_base}/missing.zip\", destination: goodpkg}}\n"
    write_recipe(ctx.recipes, "goodpkg", recipe_yaml(source=src))
    return []


@case("download-unreachable-host", "prepare", 5, ["goodpkg", "127.0.0.1"])
def _(ctx):
    src = "prepare:\n  download_zip: {url: \"https://127.0.0.1:1/x.zip\", destination: goodpkg}\n"
    write_recipe(ctx.recipes, "goodpkg", recipe_yaml(source=src))
    return []


# --- Python recipes: raise, hang, crash, wrong types, writes outside --------------------------


def py_case(id, text, names, exit_code, extra_args=(), outside=(), timeout=300):
    def setup(ctx):
        write_recipe(ctx.recipes, "pyrec", text, file_name="package.py")
        return list(extra_args)
    CASES.append(Case(id, "prepare", exit_code, tuple(names), setup, outside=outside, timeout=timeout))


py_case("py-recipe-raises", py_recipe(body="        raise ValueError('upstream tarball moved')"),
        ["pyrec", "ValueError", "upstream tarball moved"], 1)
py_case("py-recipe-hangs", py_recipe(body="        import time\n        time.sleep(600)"),
        ["pyrec", "timed out"], 1, extra_args=("--recipe-timeout", "3"))
py_case("py-recipe-crashes", py_recipe(body="        os._exit(9)"), ["pyrec"], 1)
py_case("py-recipe-syntax-error", "class Package:\n    name = 'pyrec'\n    def prepare(self, d)\n",
        ["pyrec", "package.py"], 1)
py_case("py-script-env-refused", py_recipe(extra_attrs="    script_env = ['R2_SECRET', 'LD_PRELOAD']\n"),
        ["pyrec", "script_env", "R2_SECRET", "LD_PRELOAD", "credential"], 3)
py_case("py-dependencies-wrong-type", py_recipe(dependencies="mathutils"), ["pyrec", "dependencies"], 3)
py_case("py-build-number-wrong-type", py_recipe(build_number="1"), ["pyrec", "build_number"], 3)
py_case("py-name-with-slash", py_recipe(name="py/rec"), ["py/rec", "name"], 3)
py_case("py-missing-attribute",
        py_recipe().replace('    homepage = ""\n', ""), ["pyrec", "homepage"], 3)
py_case("py-recipe-writes-outside-its-dir",
        py_recipe(body="        open(os.path.join(mhl_dir, '..', '..', '..', 'py-escape.txt'), 'w').write('x')"),
        ["pyrec", "outside"], 1, outside=("build/py-escape.txt",))


# --- bundle: the prepared .dir is hostile -------------------------------------------------------


def dir_case(id, names, exit_code=4, files=None, mutate=None, extra=None, name="dirpkg"):
    def setup(ctx):
        d = pkgtrees.make_prepared_dir(ctx.prepared, name, files=files, extra=extra)
        if mutate:
            mutate(ctx, d)
        return []
    CASES.append(Case(id, "bundle", exit_code, tuple(names), setup))


def _huge(ctx, d):
    with open(d / "dirpkg" / "huge.bin", "wb") as f:
        f.truncate(4 * 1024 ** 3)  # sparse: 4 GiB of nothing, allocated by no one


def _fifo(ctx, d):
    os.mkfifo(d / "dirpkg" / "pipe")


def _link_dir(ctx, d):
    os.symlink("/etc", d / "dirpkg" / "etc")


def _link_out(ctx, d):
    (ctx.tmp / "outside.m").write_text("function outside\nend\n")
    os.symlink(ctx.tmp / "outside.m", d / "dirpkg" / "escape.m")


def _compile_failed(ctx, d):
    work = ctx.prepared / (d.name[:-4] + ".work")
    work.mkdir()
    (work / "compile.failed").write_text("octave exited with 1\n")


dir_case("huge-file-needs-zip64", ["dirpkg", "huge.bin", "4 GiB"], mutate=_huge)
dir_case("non-utf8-file-name", ["dirpkg", "UTF-8"], files={"dirpkg/\udcff\udcfe.m": "x"})
dir_case("file-names-collide-ignoring-case", ["dirpkg", "collide"], files={"dirpkg/Fn.m": "a", "dirpkg/fn.m": "b"})
dir_case("control-char-in-file-name", ["dirpkg", "control"], files={"dirpkg/a\x01b.m": "x"})
dir_case("backslash-in-file-name", ["dirpkg", "backslash"], files={"dirpkg/a\\b.m": "x"})
dir_case("fifo-in-dir", ["dirpkg", "pipe", "not a regular file"], mutate=_fifo)
dir_case("symlink-to-directory", ["dirpkg", "symlink", "etc"], mutate=_link_dir)
dir_case("symlink-leaving-the-dir", ["dirpkg", "symlink", "escape.m"], mutate=_link_out)
dir_case("compile-failed-marker", ["dirpkg", "compile"], exit_code=1, mutate=_compile_failed)
dir_case("mip-json-missing", ["dirpkg", "mip.json", "missing"], exit_code=3,
         mutate=lambda ctx, d: (d / "mip.json").unlink())
dir_case("mip-json-not-json", ["dirpkg", "mip.json"], exit_code=3,
         mutate=lambda ctx, d: (d / "mip.json").write_text("{\"name\": \"dirpkg\", "))
dir_case("mip-json-wrong-type", ["dirpkg", "mip.json", "dependencies"], exit_code=3,
         extra={"dependencies": "mathutils"})
dir_case("mip-json-names-other-package", ["dirpkg", "mip.json", "name"], exit_code=3, extra={"name": "other"})
dir_case("load-package-missing", ["dirpkg", "load_package.m"], exit_code=3,
         mutate=lambda ctx, d: (d / "load_package.m").unlink())


# --- upload: tampered bundles, bad stores, credentials, endpoints, clock -----------------------


def bundled(ctx, name="uppkg"):
    pkgtrees.make_prepared_dir(ctx.prepared, name)
    r = subprocess.run([ctx.exe, "bundle", "--build-dir", ctx.build], capture_output=True, text=True,
                       env=dict(os.environ, SOURCE_DATE_EPOCH=EPOCH))
    assert r.returncode == 0, r.stderr
    return ctx.build / "bundled" / f"{name}-1.0.0-any-none-any.mhl"


@case("sidecar-missing-before-upload", "upload", 3, ["uppkg", "sidecar", "missing"])
def _(ctx):
    mhl = bundled(ctx)
    pathlib.Path(str(mhl) + ".mip.json").unlink()
    return []


@case("bundle-tampered-after-bundling", "upload", 3, ["uppkg", "mhl_sha256"])
def _(ctx):
    mhl = bundled(ctx)
    with open(mhl, "ab") as f:
        f.write(b"tampered")
    return []


@case("symlinked-mhl-in-bundled", "upload", 4, ["uppkg-1.0.0-any-none-any.mhl", "symbolic link"])
def _(ctx):
    """A link named like a bundle, to a file outside, with a sidecar that matches its bytes: upload
    sends regular files only (issue 13, item 9)."""
    mhl = bundled(ctx)
    secret = ctx.build.parent / "not-a-bundle.txt"
    secret.write_bytes(b"root:x:0:0:root:/root:/bin/bash\n")
    sidecar = pathlib.Path(str(mhl) + ".mip.json")
    doc = json.loads(sidecar.read_text())
    doc["mhl_sha256"] = hashlib.sha256(secret.read_bytes()).hexdigest()
    doc["mhl_size"] = secret.stat().st_size
    sidecar.write_text(json.dumps(doc))
    mhl.unlink()
    mhl.symlink_to(secret)
    return []


@case("index-store-does-not-exist", "index", 4, ["no-such-store", "does not exist"])
def _(ctx):
    """index of a mistyped local store path: an error, not an empty index (issue 13, item 10)."""
    return ["--store", str(ctx.build.parent / "no-such-store")]


@case("base-url-plain-http", "upload", 3, ["base_url", "https"])
def _(ctx):
    bundled(ctx)
    return ["--base-url", "http://mirror.example.invalid/core"]


@case("store-unsupported-scheme", "upload", 3, ["store", "ftp://"])
def _(ctx):
    bundled(ctx)
    return ["--store", "ftp://example.invalid/store"]


@case("s3-store-without-bucket", "upload", 3, ["store", "bucket"])
def _(ctx):
    bundled(ctx)
    return ["--store", "s3:///core/packages"]


def s3_upload_case(id, exit_code, names, env=None, endpoint=None, extra=(), skew=None):
    def setup(ctx):
        bundled(ctx)
        st = ctx.stack()
        if skew is not None:
            ctx.set_skew(skew)
        return ["--store", "s3://test/badinputs/packages", "--endpoint",
                endpoint or st.endpoint, *extra, "--base-url", "https://example.invalid/badinputs/packages"]
    CASES.append(Case(id, "upload", exit_code, tuple(names), setup, env=env or {}))


s3_upload_case("credentials-missing", 6, ["AWS_ACCESS_KEY_ID"], env={"AWS_ACCESS_KEY_ID": None},
               extra=("--allow-insecure-loopback",))
s3_upload_case("credentials-wrong-secret", 6, ["uppkg", "SignatureDoesNotMatch"],
               env={"AWS_SECRET_ACCESS_KEY": "not-the-secret"}, extra=("--allow-insecure-loopback",))
s3_upload_case("credentials-unknown-key-id", 6, ["uppkg", "InvalidAccessKeyId"],
               env={"AWS_ACCESS_KEY_ID": "AKIDUNKNOWN"}, extra=("--allow-insecure-loopback",))
s3_upload_case("endpoint-unreachable", 5, ["uppkg", "127.0.0.1"], endpoint="http://127.0.0.1:1",
               extra=("--allow-insecure-loopback",))
s3_upload_case("endpoint-plain-http-refused", 3, ["http://", "endpoint"])
s3_upload_case("clock-skew", 6, ["uppkg", "RequestTimeTooSkewed", "clock"], skew=3600,
               extra=("--allow-insecure-loopback",))


@case("s3-bucket-does-not-exist", "upload", 5, ["uppkg", "NoSuchBucket"])
def _(ctx):
    bundled(ctx)
    st = ctx.stack()
    return ["--store", "s3://no-such-bucket/p", "--endpoint", st.endpoint, "--allow-insecure-loopback",
            "--base-url", "https://example.invalid/p"]


# --- index: corrupt or truncated sidecars, cycles, collisions, 10,000+ keys --------------------


def index_case(id, exit_code, names, docs, strict=True, raw=None, check=None):
    def setup(ctx):
        for doc in docs:
            put_sidecar(ctx.store, doc)
        for key, data in (raw or {}).items():
            put_sidecar(ctx.store, None, key=key, raw=data)
        return ["--strict"] if strict else []
    CASES.append(Case(id, "index", exit_code, tuple(names), setup))


index_case("sidecar-corrupt-json", 3, ["broken-1.0.0-any-none-any.mhl.mip.json"], [sidecar("good")],
           raw={"broken-1.0.0-any-none-any.mhl.mip.json": b"{\"name\": \"broken\", \"vers"})
index_case("sidecar-truncated-to-zero", 3, ["empty-1.0.0-any-none-any.mhl.mip.json"], [sidecar("good")],
           raw={"empty-1.0.0-any-none-any.mhl.mip.json": b""})
index_case("sidecar-key-does-not-match-fields", 3, ["impostor-1.0.0-any-none-any.mhl.mip.json", "describe"],
           [], raw={"impostor-1.0.0-any-none-any.mhl.mip.json": json.dumps(sidecar("other")).encode()})
index_case("sidecar-bad-sha256", 3, ["badsha-1.0.0-any-none-any.mhl.mip.json", "mhl_sha256"],
           [sidecar("badsha", mhl_sha256="not-hex")])
index_case("sidecar-negative-size", 3, ["negsize-1.0.0-any-none-any.mhl.mip.json", "mhl_size"],
           [sidecar("negsize", mhl_size=-8)])
index_case("sidecar-negative-float-size", 3, ["negfloat-1.0.0-any-none-any.mhl.mip.json", "mhl_size"],
           [sidecar("negfloat", mhl_size=-8.0)])
# Invalid UTF-8 in a sidecar: skipped with a warning naming its key (an error under --strict);
# every message stays valid UTF-8 (issue 13, item 2).
index_case("sidecar-invalid-utf8", 0, ["caf-1.0.0-any-none-any.mhl.mip.json", "skipping", "\\xe9",
                                       "1 package(s), 1 skipped"],
           [sidecar("good")], raw={"caf-1.0.0-any-none-any.mhl.mip.json": b'{"name":"caf\xe9"}'},
           strict=False)
index_case("sidecar-invalid-utf8-strict", 3, ["caf-1.0.0-any-none-any.mhl.mip.json"],
           [sidecar("good")], raw={"caf-1.0.0-any-none-any.mhl.mip.json": b'{"name":"caf\xe9"}'})
index_case("dependency-missing", 3, ["needy", "ghost"], [sidecar("needy", deps=["ghost"])])
index_case("dependency-cycle", 3, ["cyca", "cycb", "cycle"], [sidecar("cyca", deps=["cycb"]), sidecar("cycb", deps=["cyca"])])
index_case("names-collide-after-normalising", 3, ["Foo-Bar", "foo_bar", "collide"],
           [sidecar("Foo-Bar"), sidecar("foo_bar")], strict=False)


@case("listing-of-10001-keys", "index", 0, ["3 package(s)"])
def _(ctx):
    for name in ("alpha", "beta", "gamma"):
        put_sidecar(ctx.store, sidecar(name))
    for i in range(10001):
        (ctx.store / f"junk-{i:05d}.txt").write_bytes(b"x")
    return []


# --- command line ------------------------------------------------------------------------------


@case("unknown-verb", "cli", 2, ["subcommand"], defaults=False)
def _(ctx):
    return ["frobnicate"]


@case("shard-out-of-range", "cli", 3, ["shard"], defaults=False)
def _(ctx):
    return ["prepare", "--recipes", ctx.recipes, "--build-dir", ctx.build, "--shard", "3/2"]


@case("max-in-flight-zero", "cli", 2, ["max-in-flight"], defaults=False)
def _(ctx):
    return ["upload", "--build-dir", ctx.build, "--max-in-flight", "0"]


@case("source-date-epoch-not-a-number", "cli", 3, ["SOURCE_DATE_EPOCH"], defaults=False,
      env={"SOURCE_DATE_EPOCH": "yesterday"})
def _(ctx):
    return ["bundle", "--build-dir", ctx.build]


@case("quiet-and-verbose", "cli", 2, ["--quiet", "--verbose", "contradict"], defaults=False)
def _(ctx):
    return ["-q", "-v", "bundle", "--build-dir", ctx.build]


@case("allow-overwrite-without-flat-urls", "cli", 2, ["--allow-overwrite", "--flat-urls"],
      defaults=False)
def _(ctx):
    return ["upload", "--build-dir", ctx.build, "--allow-overwrite"]


@case("source-date-epoch-negative-flag", "cli", 3, ["--source-date-epoch", "-5", "ZIP date range"],
      defaults=False)
def _(ctx):
    return ["bundle", "--build-dir", ctx.build, "--source-date-epoch=-5"]


@case("source-date-epoch-huge-flag", "cli", 3, ["--source-date-epoch", "9223372036854775807"],
      defaults=False)
def _(ctx):
    return ["bundle", "--build-dir", ctx.build, "--source-date-epoch", "9223372036854775807"]


@case("source-date-epoch-huge-env", "cli", 3, ["SOURCE_DATE_EPOCH", "9223372036854775807"],
      defaults=False, env={"SOURCE_DATE_EPOCH": "9223372036854775807"})
def _(ctx):
    return ["bundle", "--build-dir", ctx.build]


# --- real recipe shapes and source mirrors (issue 12) ---------------------------------------------

yaml_case("addpaths-in-both-places",
          recipe_yaml(source="prepare:\n  path: {path: src, destination: goodpkg}\n"
                             "  addpaths: [goodpkg]\n", extra="addpaths: [goodpkg]\n"),
          ["goodpkg", "addpaths", "prepare.addpaths"])
yaml_case("nested-addpath-missing-dir",
          recipe_yaml(source="prepare:\n  path: {path: src, destination: goodpkg}\n"
                             "  addpaths: [goodpkg, goodpkg/nonexistent]\n"),
          ["goodpkg", "prepare.addpaths[1]", "nonexistent"])


@case("source-mirror-malformed", "cli", 3, ["source mirror", "no-equals-sign", "FROM=TO"],
      defaults=False)
def _(ctx):
    write_recipe(ctx.recipes, "goodpkg", recipe_yaml())
    return ["prepare", "--recipes", ctx.recipes, "--build-dir", ctx.build,
            "--source-mirror", "no-equals-sign"]


@case("source-mirrors-env-malformed", "cli", 3, ["source mirror", "=file:///x"], defaults=False,
      env={"MIP_SOURCE_MIRRORS": "https://ok/=file:///ok/ =file:///x"})
def _(ctx):
    return ["bundle", "--build-dir", ctx.build]


@case("pass-env-credential", "cli", 3, ["--pass-env", "AWS_SECRET_ACCESS_KEY", "credential"],
      defaults=False)
def _(ctx):
    write_recipe(ctx.recipes, "goodpkg", recipe_yaml())
    return ["prepare", "--recipes", ctx.recipes, "--build-dir", ctx.build,
            "--pass-env", "AWS_SECRET_ACCESS_KEY"]


@case("json-non-utf8-directory-name", "cli", 7, ["d\\xff/prepare.yaml", "name"], defaults=False)
def _(ctx):
    """--json with a recipe directory whose name is not UTF-8: the document stays valid."""
    write_recipe(ctx.recipes, "good", recipe_yaml("good"))
    bad = pathlib.Path(os.fsdecode(os.fsencode(str(ctx.recipes)) + b"/d\xff"))
    bad.mkdir()
    (bad / "prepare.yaml").write_text('version: "1.0"\n')
    return ["--json", "prepare", "--recipes", ctx.recipes, "--build-dir", ctx.build,
            "--keep-going", "-j", "1"]


@case("pass-env-by-pattern-and-list", "cli", 3,
      ["--pass-env", "MY_PASSWORD", "LD_PRELOAD", "PATH", "credential", "process-control"],
      defaults=False)
def _(ctx):
    write_recipe(ctx.recipes, "goodpkg", recipe_yaml())
    return ["prepare", "--recipes", ctx.recipes, "--build-dir", ctx.build, "--pass-env",
            "MY_PASSWORD", "--pass-env", "LD_PRELOAD", "--pass-env", "PATH", "--pass-env", "MY_OK"]


# ---------------------------------------------------------------------------------------------
# The runner


TEMP_MARKERS = (".tmp-", ".old-", "put-")


def leftovers(ctx, case):
    """Half-written things: temp files anywhere under the build dir, `stage/` work areas, `.dir`
    of failed prepares, bundles of failed bundles, objects of failed uploads, index files."""
    found = []
    build = ctx.build
    if not build.exists():
        return found
    for p in build.rglob("*"):
        rel = p.relative_to(build).as_posix()
        if any(rel == a or rel.startswith(a + "/") for a in case.allowed):
            continue
        name = p.name
        if any(m in name for m in TEMP_MARKERS) and (name.startswith(".") or ".mip-tmp" in rel):
            found.append(rel)
        elif name == "stage" and p.parent.name.endswith(".work"):
            found.append(rel)
        elif case.verb in ("prepare", "publish") and name.endswith(".dir") and p.parent.name == "prepared":
            found.append(rel)
        elif case.verb in ("bundle", "publish") and (name.endswith(".mhl") or name.endswith(".mhl.mip.json")) \
                and p.parent.name == "bundled":
            found.append(rel)
        elif case.verb in ("upload", "publish") and rel.startswith("store/") and p.is_file() \
                and not rel.startswith("store/.mip-tmp"):
            found.append(rel)
        elif case.verb in ("index", "publish") and rel.startswith("gh-pages/") and case.exit_code != 0:
            found.append(rel)
    return found


@pytest.fixture(scope="module")
def lazy_stack(tmp_path_factory):
    holder = {}

    def get():
        if "stack" not in holder:
            holder["stack"] = s3.S3Stack(tmp_path_factory.mktemp("badinputs-s3")).start()
        return holder["stack"]

    yield get
    if "stack" in holder:
        holder["stack"].stop()


@pytest.mark.parametrize("bad", CASES, ids=[c.id for c in CASES])
def test_bad_input(bad, tmp_path, mip_build_exe, lazy_stack, http_server):
    ctx = Ctx(tmp_path, lazy_stack)
    ctx.exe = mip_build_exe
    ctx.http_base = http_server[1]
    skew = {}

    def set_skew(seconds):
        stack = lazy_stack()
        verifier = stack.proxy.state.verifier
        original = type(verifier).verify
        # The server's clock runs `seconds` ahead: the real check, with a shifted `now`.
        verifier.verify = lambda *a, **k: original(verifier, *a, now=time.time() + seconds)
        skew["undo"] = lambda: verifier.__dict__.pop("verify", None)

    ctx.set_skew = set_skew
    ctx.recipes.mkdir(parents=True, exist_ok=True)
    try:
        extra = [str(a) for a in bad.setup(ctx)]
        if bad.defaults:
            args = [bad.verb, "--build-dir", str(ctx.build)]
            if bad.verb in ("prepare", "publish") and "--recipes" not in extra:
                args += ["--recipes", str(ctx.recipes)]
            if bad.verb == "prepare":
                args += ["--force"]
            args += ["-j", "1"] if bad.verb != "index" else []
        else:
            args = []
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("AWS_") and k not in ("MIP_STORE", "MIP_BASE_URL")}
        env.update({"SOURCE_DATE_EPOCH": EPOCH, "AWS_ACCESS_KEY_ID": s3.ACCESS_KEY,
                    "AWS_SECRET_ACCESS_KEY": s3.SECRET_KEY, "NO_PROXY": "*"})
        for k, v in bad.env.items():
            if v is None:
                env.pop(k, None)
            else:
                env[k] = v
        r = subprocess.run([mip_build_exe, *args, *extra], capture_output=True,
                           env=env, cwd=tmp_path, timeout=bad.timeout)
    finally:
        if "undo" in skew:
            skew["undo"]()
    raw = r.stdout + r.stderr
    out = raw.decode("utf-8", "backslashreplace")
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as e:
        pytest.fail(f"the output is not valid UTF-8 ({e}); a message must escape the bytes it "
                    f"quotes:\n{out[-2000:]}")
    if os.environ.get("MIP_BAD_INPUTS_RECORD"):  # regenerating docs/bad-inputs.md
        with open(os.environ["MIP_BAD_INPUTS_RECORD"], "a", encoding="utf-8") as f:
            f.write(json.dumps({"id": bad.id, "exit": r.returncode, "out": out[-4000:]}) + "\n")
    assert r.returncode == bad.exit_code, f"exit {r.returncode}, expected {bad.exit_code}:\n{out[-3000:]}"
    for name in bad.names:
        assert name in out, f"the message does not name {name!r}:\n{out[-3000:]}"
    assert leftovers(ctx, bad) == []
    for rel in bad.outside:
        p = pathlib.Path(rel) if rel.startswith("/") else tmp_path / rel
        assert not p.exists(), f"{p} was written outside the output directories"


def test_catalogue_lists_every_case(source_dir):
    """docs/bad-inputs.md has one row per case, with the same exit code, and at least 40 rows."""
    text = (source_dir / "docs" / "bad-inputs.md").read_text()
    rows = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 4 and cells[-1].startswith("`test_bad_input["):
            rows[cells[-1].strip("`")[len("test_bad_input["):-1]] = int(cells[-2])
    assert len(CASES) >= 40
    assert {c.id: c.exit_code for c in CASES} == rows
