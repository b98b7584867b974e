"""clang-tidy over every project file of compile_commands.json, in parallel (scripts/tidy.sh).

Each diagnostic is printed once (a header included by many files is reported once), then a count
per file and per check, and the elapsed time. Exit 1 when a diagnostic remains or clang-tidy
fails on a file.

Results are cached in <build>/tidy-cache/, keyed by the sha256 of the clang-tidy version, every
.clang-tidy file, the compile command and the translation unit as clang preprocesses it with its
comments kept (`-E -C`: every header's text and path, and every NOLINT): the same input gives the
same diagnostics, so a cached result is exact, never stale.
"""
import argparse
import concurrent.futures
import hashlib
import json
import os
import re
import shlex
import subprocess
import sys
import time

DIAGNOSTIC = re.compile(r"^(?P<path>[^ :][^:]*):\d+:\d+: (warning|error): .*\[(?P<check>[^\]]+)\]$")


def project_files(compile_commands, root, build_dir, pattern):
    """{relative path: compile command entry} for the project's own sources."""
    files = {}
    for entry in compile_commands:
        path = os.path.normpath(os.path.join(entry["directory"], entry["file"]))
        rel = os.path.relpath(path, root)
        if rel.startswith("..") or path.startswith(build_dir + os.sep):
            continue
        if re.search(pattern, rel):
            files[rel] = entry
    return files


def preprocess_args(entry):
    """The entry's compiler arguments for `-E` to stdout: without -c, -o, and dependency files."""
    args = entry.get("arguments") or shlex.split(entry["command"])
    out, skip = [], False
    for a in args[1:]:
        if skip:
            skip = False
            continue
        if a in ("-o", "-MF", "-MT", "-MQ"):
            skip = True
            continue
        if a in ("-c", "-MD", "-MMD") or a.startswith(("-o", "-MF", "-MT", "-MQ")) and len(a) > 3:
            continue
        out.append(a)
    return out


def check_file(rel, entry, tidy, clang, build_dir, salt, cache_dir):
    """(rel, output text, ok, cached)."""
    args = preprocess_args(entry)
    pre = subprocess.run([clang, "-E", "-C", *args], cwd=entry["directory"], capture_output=True)
    key = None
    if pre.returncode == 0:
        h = hashlib.sha256(salt)
        h.update(json.dumps(args).encode())
        h.update(pre.stdout)
        key = h.hexdigest()
        cached = os.path.join(cache_dir, key + ".json")
        if os.path.exists(cached):
            with open(cached, encoding="utf-8") as f:
                result = json.load(f)
            return rel, result["output"], result["ok"], True
    r = subprocess.run([tidy, "-p", build_dir, "--quiet", rel], capture_output=True, text=True)
    output = r.stdout + r.stderr
    ok = r.returncode == 0
    if key is not None:
        os.makedirs(cache_dir, exist_ok=True)
        tmp = os.path.join(cache_dir, f"{key}.{os.getpid()}.tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump({"file": rel, "output": output, "ok": ok}, f)
        os.replace(tmp, os.path.join(cache_dir, key + ".json"))
    return rel, output, ok, False


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--build-dir", required=True)
    p.add_argument("--jobs", type=int, required=True)
    p.add_argument("--tidy", required=True)
    p.add_argument("--clang", required=True)
    p.add_argument("pattern", nargs="?", default=".")
    opts = p.parse_args()
    root = os.getcwd()
    build_dir = os.path.abspath(opts.build_dir)
    start = time.monotonic()

    with open(os.path.join(build_dir, "compile_commands.json"), encoding="utf-8") as f:
        files = project_files(json.load(f), root, build_dir, opts.pattern)
    if not files:
        print(f"tidy.sh: no file of compile_commands.json matches '{opts.pattern}'")
        return 1
    # Every .clang-tidy of the tree (tests/ has its own), with its path.
    salt = subprocess.run([opts.tidy, "--version"], capture_output=True).stdout
    configs = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard",
                              "--", ".clang-tidy", "*/.clang-tidy"],
                             capture_output=True, text=True, check=True).stdout.split()
    for config in sorted(set(configs)):
        with open(os.path.join(root, config), "rb") as f:
            salt += config.encode() + b"\0" + f.read()
    cache_dir = os.path.join(build_dir, "tidy-cache")

    diagnostics, failed, cached = set(), [], 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=opts.jobs) as pool:
        futures = [pool.submit(check_file, rel, entry, opts.tidy, opts.clang, build_dir, salt,
                               cache_dir) for rel, entry in sorted(files.items())]
        for fut in concurrent.futures.as_completed(futures):
            rel, output, ok, was_cached = fut.result()
            cached += was_cached
            if not ok:
                failed.append((rel, output))
            for line in output.splitlines():
                if line.startswith(root + os.sep):
                    line = line[len(root) + 1:]
                if DIAGNOSTIC.match(line) and not line.startswith("/"):
                    diagnostics.add(line)

    own = sorted(diagnostics)
    for line in own:
        print(line)
    if own:
        print("-- clang-tidy diagnostics per file:")
        per_file, per_check = {}, {}
        for line in own:
            m = DIAGNOSTIC.match(line)
            per_file[m["path"]] = per_file.get(m["path"], 0) + 1
            per_check[m["check"]] = per_check.get(m["check"], 0) + 1
        for path, n in sorted(per_file.items(), key=lambda kv: (-kv[1], kv[0])):
            print(f"{n:6d} {path}")
        print("-- per check:")
        for check, n in sorted(per_check.items(), key=lambda kv: (-kv[1], kv[0])):
            print(f"{n:6d} {check}")
    for rel, output in failed:
        print(f"tidy.sh: clang-tidy failed on {rel}:")
        errors = [line for line in output.splitlines() if "error:" in line][:5]
        for line in errors or output.splitlines()[-5:]:
            print("    " + line)
    elapsed = time.monotonic() - start
    summary = (f"{len(files)} files checked ({cached} from the cache), {elapsed:.0f} s, "
               f"{opts.jobs} jobs")
    if own or failed:
        print(f"tidy.sh: FAILED: {len(own)} diagnostic(s), {summary}")
        return 1
    print(f"tidy.sh: clean, {summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
