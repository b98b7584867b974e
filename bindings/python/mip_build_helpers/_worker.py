"""The recipe worker: runs one Python recipe (``package.py`` or ``packages.py``) for libmip.

libmip starts it as a separate interpreter, one process per call, so a recipe that raises, hangs,
calls ``sys.exit``/``os._exit`` or crashes the interpreter cannot take the build run down:

    python -m mip_build_helpers._worker load  --recipe FILE --result OUT.json
    python -m mip_build_helpers._worker build --recipe FILE --index I --name NAME \
        --mhl-dir DIR --result OUT.json

Recipes may print freely: stdout and stderr go to the recipe log. The answer is one JSON document
written (atomically) to ``--result``:

    {"ok": true, "packages": [{"index": 0, "attributes": {...}, "issues": [[field, msg], ...],
                               "has_prepare": true}, ...]}                        (load)
    {"ok": true, "attributes": {...}, "exposed_symbols": [...], "sources": [...],
     "source_epoch": <newest cloned commit time or null>,
     "mirrors": [[url, fetched_from], ...], "issues": [...]}                     (build)
    {"ok": false, "error": {"phase": ..., "type": ..., "message": ..., "traceback": ...}}

The worker exits 0 whenever it wrote a result; libmip treats a missing result as a crash.

With source mirrors (``MIP_SOURCE_MIRRORS``, set by libmip from ``--source-mirror``), the
recipe's own ``requests`` calls are routed through them too (``requests.Session.request`` is
wrapped before the recipe is imported); its own ``git`` children get ``url.<mirror>.insteadOf``
from the environment libmip gives the worker.
"""
import argparse
import importlib.util
import json
import os
import sys
import traceback

REQUIRED = ("name", "description", "version", "build_number", "dependencies", "homepage",
            "repository", "matlab_tag", "abi_tag", "platform_tag")
OPTIONAL = ("license", "usage_examples", "script_env")
STRING_FIELDS = {"name", "description", "version", "homepage", "repository", "matlab_tag",
                 "abi_tag", "platform_tag", "license"}
LIST_FIELDS = {"dependencies", "usage_examples", "script_env"}


class RecipeFailure(Exception):
    """Raised inside the worker to report a recipe error with its phase."""

    def __init__(self, phase, exc):
        super().__init__(phase)
        self.phase = phase
        self.exc = exc


def _type_name(value):
    return type(value).__name__


def _check_attribute(field, value):
    """Returns (json value, issue message or None)."""
    if field == "build_number":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None, f"must be an int, not {_type_name(value)}"
        if isinstance(value, float):
            if not value.is_integer():
                return None, f"must be an integer, not {value!r}"
            value = int(value)
        if value < 0:
            return None, f"must be >= 0, not {value}"
        return value, None
    if field in STRING_FIELDS:
        if not isinstance(value, str):
            return None, f"must be a str, not {_type_name(value)}"
        return value, None
    if field in LIST_FIELDS:
        if not isinstance(value, (list, tuple)):
            return None, f"must be a list of str, not {_type_name(value)}"
        for i, item in enumerate(value):
            if not isinstance(item, str):
                return None, f"item {i} must be a str, not {_type_name(item)}"
        return list(value), None
    return value, None


def _read_attributes(obj, *, required):
    """The metadata attributes of a recipe object, and the problems with them."""
    attributes, issues = {}, []
    for field in REQUIRED + OPTIONAL:
        if not hasattr(obj, field):
            if field in REQUIRED and required:
                issues.append([field, "required attribute is missing"])
            continue
        value, problem = _check_attribute(field, getattr(obj, field))
        if problem:
            issues.append([field, problem])
        else:
            attributes[field] = value
    return attributes, issues


def _route_requests_through_mirrors():
    """Wraps ``requests.Session.request`` (which ``requests.get`` and friends call) so that URLs
    under a source mirror's prefix are fetched from the mirror. Nothing happens without mirrors,
    or when ``requests`` is not installed."""
    text = os.environ.get("MIP_SOURCE_MIRRORS", "")
    if not text.strip():
        return
    import mip_native

    from . import _record

    mirrors = mip_native.parse_source_mirrors(text)
    try:
        import requests.sessions
    except ImportError:
        return
    original = requests.sessions.Session.request

    def request(self, method, url, *args, **kwargs):
        fetched = mip_native.mirror_url(str(url), mirrors) if isinstance(url, (str, bytes)) else None
        if fetched is not None:
            _record.mirrored(url, fetched)
            url = fetched
        return original(self, method, url, *args, **kwargs)

    requests.sessions.Session.request = request


def _import_recipe(path):
    recipe_dir = os.path.dirname(os.path.abspath(path))
    sys.dont_write_bytecode = True  # never write __pycache__ into the recipe directory
    if recipe_dir not in sys.path:
        sys.path.insert(0, recipe_dir)
    module_name = "mip_recipe_" + os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException as exc:  # noqa: B036 - any failure of recipe code is reported
        raise RecipeFailure("import", exc) from None
    return module


def _objects(module, path):
    """The recipe objects, or raises RecipeFailure / returns an issue list."""
    kind = os.path.basename(path)
    if kind == "packages.py":
        if not hasattr(module, "packages"):
            return None, [["packages", "packages.py must define a list named 'packages'"]]
        packages = module.packages
        if not isinstance(packages, (list, tuple)):
            return None, [["packages", f"must be a list, not {_type_name(packages)}"]]
        return list(packages), []
    cls = getattr(module, "Package", None)
    if cls is None or not callable(cls):
        return None, [["Package", "package.py must define a class named 'Package'"]]
    # package.py's Package is constructed without arguments (packages.py recipes construct their
    # objects themselves, keyword-only arguments such as fmm2d's platform_tag included).
    required = _required_parameters(cls)
    if required:
        return None, [["Package", "must be constructible without arguments, but its constructor "
                                  f"requires {', '.join(required)}; a recipe whose objects need "
                                  "arguments is a packages.py that builds its own 'packages' "
                                  "list"]]
    try:
        return [cls()], []
    except BaseException as exc:  # noqa: B036
        raise RecipeFailure("Package()", exc) from None


def _required_parameters(cls):
    """Names of the constructor parameters without a default ([] when unknown)."""
    import inspect

    try:
        parameters = inspect.signature(cls).parameters.values()
    except (TypeError, ValueError):
        return []
    return [p.name for p in parameters
            if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]


def _error_info(phase, exc):
    tb = exc.__traceback__
    # Drop the worker's own frames; start at the first frame of recipe code.
    while tb is not None and tb.tb_frame.f_code.co_filename == __file__:
        tb = tb.tb_next
    lines = traceback.format_exception(type(exc), exc, tb)
    if isinstance(exc, SystemExit):
        message = f"the recipe called sys.exit({exc.code!r})"
    else:
        message = str(exc)
    return {"phase": phase, "type": type(exc).__name__, "message": message,
            "traceback": "".join(lines).rstrip("\n")}


def _load(args):
    module = _import_recipe(args.recipe)
    objects, issues = _objects(module, args.recipe)
    if objects is None:
        return {"ok": True, "packages": [], "issues": issues}
    packages = []
    for i, obj in enumerate(objects):
        attributes, obj_issues = _read_attributes(obj, required=True)
        has_prepare = callable(getattr(obj, "prepare", None))
        has_build = callable(getattr(obj, "build", None))
        if not has_prepare and not has_build:
            obj_issues.append(["prepare", "the object has neither prepare(mhl_dir) nor "
                                          "build(mhl_dir)"])
        packages.append({"index": i, "class": type(obj).__name__, "attributes": attributes,
                         "issues": obj_issues, "has_prepare": has_prepare})
    return {"ok": True, "packages": packages, "issues": []}


def _build(args):
    from . import _record

    module = _import_recipe(args.recipe)
    objects, issues = _objects(module, args.recipe)
    if objects is None or args.index >= len(objects):
        return {"ok": True, "issues": issues or [[
            "packages", f"the recipe no longer yields package #{args.index} when built"]]}
    obj = objects[args.index]
    if getattr(obj, "name", None) != args.name:
        return {"ok": True, "issues": [[
            "name", f"package #{args.index} is {getattr(obj, 'name', None)!r} when built, "
                    f"{args.name!r} when loaded"]]}
    method = getattr(obj, "prepare", None)
    phase = "prepare()"
    if not callable(method):
        method, phase = getattr(obj, "build"), "build()"
    _route_requests_through_mirrors()
    _record.start()
    try:
        method(args.mhl_dir)
    except BaseException as exc:  # noqa: B036 - SystemExit and KeyboardInterrupt included
        _record.stop()
        raise RecipeFailure(phase, exc) from None
    sources, source_epoch, mirrors = _record.stop()
    attributes, issues = _read_attributes(obj, required=True)
    symbols = getattr(obj, "exposed_symbols", [])
    if not isinstance(symbols, (list, tuple)) or not all(isinstance(s, str) for s in symbols):
        issues.append(["exposed_symbols", "must be a list of str"])
        symbols = []
    return {"ok": True, "attributes": attributes, "exposed_symbols": list(symbols),
            "sources": sources, "source_epoch": source_epoch, "mirrors": mirrors,
            "issues": issues}


def _write_result(path, document):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(document, f, ensure_ascii=False)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m mip_build_helpers._worker")
    parser.add_argument("command", choices=("load", "build"))
    parser.add_argument("--recipe", required=True)
    parser.add_argument("--result", required=True)
    parser.add_argument("--index", type=int, default=0)
    parser.add_argument("--name", default="")
    parser.add_argument("--mhl-dir", default="")
    args = parser.parse_args(argv)
    try:
        document = _load(args) if args.command == "load" else _build(args)
    except RecipeFailure as failure:
        document = {"ok": False, "error": _error_info(failure.phase, failure.exc)}
        print(document["error"]["traceback"], file=sys.stderr)
    sys.stdout.flush()
    sys.stderr.flush()
    _write_result(args.result, document)
    return 0


if __name__ == "__main__":
    sys.exit(main())
