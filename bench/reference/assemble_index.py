"""assemble_index.py: list every .mhl.mip.json under the prefix (paginated list_objects_v2),
download each one at a time, fill mhl_url, write index.json. Usage: BUCKET PREFIX OUT_FILE"""
import json
import sys

from common import s3_client


def main():
    bucket, prefix, out = sys.argv[1], sys.argv[2], sys.argv[3]
    s3 = s3_client()
    keys = []
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix + "/"):
        for obj in page.get("Contents", []):
            if obj["Key"].endswith(".mhl.mip.json"):
                keys.append(obj["Key"])
    packages = []
    for key in keys:
        meta = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        if "mhl_url" not in meta:
            meta["mhl_url"] = f"https://example.invalid/{key[: -len('.mip.json')]}"
        packages.append(meta)
    with open(out, "w") as f:
        json.dump({"packages": packages, "total_packages": len(packages)}, f, indent=2)
    print(f"indexed {len(packages)}")


if __name__ == "__main__":
    main()
