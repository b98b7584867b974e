"""prepare_packages.py: for each package directory, import its package.py, build the wheel name,
check the cache with one GET of <base>/<wheel>.mhl.mip.json (as check_cache.py), and if it must be
built, call Package.build(<wheel>.dir) and write mip.json. Sequential, like the seed.
Usage: prepare_packages.py PACKAGES_DIR OUTPUT_DIR BASE_URL"""
import importlib.util
import json
import os
import pathlib
import shutil
import sys
import time
import urllib.error
import urllib.request

from check_cache import FIELDS


def load(path):
    spec = importlib.util.spec_from_file_location(f"pkg_{path.parent.name}", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.Package()


def published(base, name):
    try:
        with urllib.request.urlopen(f"{base}/{name}.mhl.mip.json", timeout=10) as r:
            return json.loads(r.read())
    except urllib.error.HTTPError:
        return None


def main():
    packages_dir, out_dir, base = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), sys.argv[3]
    out_dir.mkdir(parents=True, exist_ok=True)
    built = skipped = 0
    for d in sorted(p for p in packages_dir.iterdir() if (p / "package.py").is_file()):
        pkg = load(d / "package.py")
        name = f"{pkg.name}-{pkg.version}-{pkg.matlab_tag}-{pkg.abi_tag}-{pkg.platform_tag}"
        pub = published(base, name)
        if pub is not None and all(pub.get(f) == getattr(pkg, f) for f in FIELDS):
            skipped += 1
            continue
        target = out_dir / f"{name}.dir"
        if target.exists():
            shutil.rmtree(target)
        target.mkdir()
        t0 = time.time()
        try:
            pkg.build(str(target))
        except BaseException:
            shutil.rmtree(target, ignore_errors=True)
            raise
        meta = {f: getattr(pkg, f) for f in FIELDS + ["matlab_tag", "abi_tag", "platform_tag", "exposed_symbols"]}
        meta.update({"timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                     "prepare_duration": round(time.time() - t0, 2), "compile_duration": 0.0})
        with open(os.path.join(target, "mip.json"), "w") as f:
            json.dump(meta, f, indent=2)
        built += 1
    print(f"built {built} skipped {skipped}")


if __name__ == "__main__":
    main()
