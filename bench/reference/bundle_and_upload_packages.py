"""bundle_and_upload_packages.py: for each .dir, zip it into a .mhl with zipfile, then upload the
.mhl and the .mip.json one after the other with boto3. Usage: INPUT_DIR BUCKET PREFIX [--no-upload]

For the upload-only benchmark, `--upload-only` takes INPUT_DIR holding finished `<wheel>.mhl` and
`<wheel>.mhl.mip.json` files and runs only the upload half of the same loop (same calls, same
order), so bundling time is not counted."""
import json
import os
import pathlib
import sys
import tempfile
import zipfile

from common import s3_client


def zip_dir(src, dest):
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as z:
        for root, _dirs, files in os.walk(src):
            for f in files:
                p = os.path.join(root, f)
                z.write(p, os.path.relpath(p, src))


def upload_only(input_dir, bucket, prefix):
    s3 = s3_client()
    mhls = sorted(p for p in input_dir.iterdir() if p.name.endswith(".mhl"))
    for mhl in mhls:
        s3.upload_file(str(mhl), bucket, f"{prefix}/{mhl.name}")
        s3.upload_file(str(mhl) + ".mip.json", bucket, f"{prefix}/{mhl.name}.mip.json")
    print(f"processed {len(mhls)}")


def main():
    input_dir = pathlib.Path(sys.argv[1])
    if "--upload-only" in sys.argv:
        return upload_only(input_dir, sys.argv[2], sys.argv[3])
    upload = "--no-upload" not in sys.argv
    bucket, prefix = (sys.argv[2], sys.argv[3]) if upload else (None, None)
    s3 = s3_client() if upload else None
    dirs = sorted(p for p in input_dir.iterdir() if p.name.endswith(".dir"))
    out = input_dir.parent / "reference-bundled"
    if not upload:
        out.mkdir(exist_ok=True)
    for d in dirs:
        meta = json.loads((d / "mip.json").read_text())
        wheel = d.name[: -len(".dir")]
        with tempfile.TemporaryDirectory() as tmp:
            # --no-upload zips straight into reference-bundled/ (no extra copy is timed)
            mhl = pathlib.Path(tmp if upload else out) / f"{wheel}.mhl"
            zip_dir(d, mhl)
            side = pathlib.Path(tmp) / f"{wheel}.mhl.mip.json"
            meta["mhl_url"] = f"https://example.invalid/{prefix}/{wheel}.mhl"
            side.write_text(json.dumps(meta, indent=2))
            if upload:
                s3.upload_file(str(mhl), bucket, f"{prefix}/{wheel}.mhl")
                s3.upload_file(str(side), bucket, f"{prefix}/{wheel}.mhl.mip.json")
    print(f"processed {len(dirs)}")


if __name__ == "__main__":
    main()
