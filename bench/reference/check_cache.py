"""prepare_packages.py's smart caching: one GET of <base>/<wheel>.mhl.mip.json per package, in a
loop, comparing the seven cached fields. Usage: check_cache.py BASE_URL WHEELS_FILE"""
import json
import sys
import urllib.error
import urllib.request

FIELDS = ["name", "description", "version", "build_number", "dependencies", "homepage", "repository"]


def main():
    base, wheels_file = sys.argv[1], sys.argv[2]
    wheels = [json.loads(line) for line in open(wheels_file)]
    skipped = built = 0
    for meta in wheels:
        name = f'{meta["name"]}-{meta["version"]}-{meta["matlab_tag"]}-{meta["abi_tag"]}-{meta["platform_tag"]}'
        try:
            with urllib.request.urlopen(f"{base}/{name}.mhl.mip.json", timeout=10) as r:
                published = json.loads(r.read())
        except urllib.error.HTTPError:
            built += 1
            continue
        if all(published.get(f) == meta.get(f) for f in FIELDS):
            skipped += 1
        else:
            built += 1
    print(f"skipped {skipped} built {built}")


if __name__ == "__main__":
    main()
