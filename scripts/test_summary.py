"""The last lines of scripts/test.sh: each suite with its time and status, and the failing tests.

    test_summary.py <suites.tsv> <start epoch>

suites.tsv has one line per suite run: name, status (ok|FAILED), seconds, and optionally a CTest
JUnit report and a log. For a CTest suite the report breaks it down: the cpp.* tests together,
each python.* group (a pytest process, whose own JUnit report under <build>/tests/pytest/ names
the failing pytest tests), the install.* tests together. For other suites the FAILED lines of
the log are shown. Prints nothing but the summary; exit code 0.
"""
import os
import sys
import xml.etree.ElementTree as ET

MAX_NAMED = 15  # failing tests named per suite


def failed(case):
    return (case.get("status") == "fail" or case.find("failure") is not None or
            case.find("error") is not None)


def pytest_failures(report, since):
    """Failing pytest ids from a pytest JUnit report written after `since`."""
    if not os.path.exists(report) or os.path.getmtime(report) < since:
        return ["(no pytest report from this run: " + report + ")"]
    ids = []
    for case in ET.parse(report).getroot().iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            module = case.get("classname", "").replace(".", "/")
            ids.append(f"{module}.py::{case.get('name')}")
    return ids


def group_of(name):
    head = name.split(".", 1)[0]
    return name if head == "python" else head


def ctest_groups(report, since):
    """[(group, status, seconds, count, [failing names])] from a CTest JUnit report."""
    root = ET.parse(report).getroot()
    build_dir = os.path.dirname(os.path.dirname(os.path.dirname(report)))
    groups = {}
    for case in root.iter("testcase"):
        name = case.get("name", "?")
        g = groups.setdefault(group_of(name), {"seconds": 0.0, "count": 0, "failed": []})
        g["seconds"] += float(case.get("time") or 0)
        g["count"] += 1
        if failed(case):
            if name.startswith("python."):
                group = name.split(".", 1)[1]
                pytest_xml = os.path.join(build_dir, "tests", "pytest", group + ".xml")
                g["failed"] += pytest_failures(pytest_xml, since) or [name]
            else:
                g["failed"].append(name)
    return [(k, "FAILED" if v["failed"] else "ok", v["seconds"], v["count"], v["failed"])
            for k, v in sorted(groups.items())]


def log_failures(log):
    if not log or not os.path.exists(log):
        return []
    with open(log, encoding="utf-8", errors="replace") as f:
        return [line.rstrip() for line in f if "FAILED" in line or "not formatted:" in line]


def main():
    suites_file, since = sys.argv[1], float(sys.argv[2])
    print("== test.sh summary (suite, status, time)")
    failing = []
    with open(suites_file, encoding="utf-8") as f:
        rows = [line.rstrip("\n").split("\t") for line in f if line.strip()]
    for row in rows:
        name, status, seconds = row[0], row[1], float(row[2])
        report = row[3] if len(row) > 3 else ""
        log = row[4] if len(row) > 4 else ""
        print(f"  {name:<22} {status:<7} {seconds:7.0f} s")
        if report and os.path.exists(report) and os.path.getmtime(report) >= since:
            for group, gstatus, gseconds, count, names in ctest_groups(report, since):
                what = f"{count} tests, sum of times" if count > 1 else "1 test"
                print(f"    {group:<20} {gstatus:<7} {gseconds:7.0f} s  ({what})")
                for n in names[:MAX_NAMED]:
                    print(f"      FAILED {n}")
                if len(names) > MAX_NAMED:
                    print(f"      … and {len(names) - MAX_NAMED} more")
                failing += [f"{name}: {n}" for n in names]
        elif status != "ok":
            lines = log_failures(log)
            for line in lines[:MAX_NAMED]:
                print(f"      {line}")
            failing += [f"{name}: {line}" for line in lines] or [name]
    if failing:
        print("== failed:")
        for item in failing[:3 * MAX_NAMED]:
            print(f"  {item}")


if __name__ == "__main__":
    main()
