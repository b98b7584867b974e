#!/usr/bin/env python3
"""A CI publishing job written against mip_native's typed API.

    prepare (cache check against the store) -> compile -> bundle -> upload -> index.json

    python3 examples/ci_publish.py --recipes packages --build-dir build \
        --store s3://mip-packages/core/packages \
        --base-url https://mip-packages.example.org/core/packages

An s3:// store takes its credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY and its
endpoint from AWS_ENDPOINT_URL (or --endpoint); a path or file:// URL is a local store. The index
is assembled only after every upload succeeded, so a failure leaves the published index valid;
deploy <build-dir>/gh-pages afterwards. Exit status: 0 ok, 1 a package failed.
"""
import argparse
import logging
import os
import pathlib
import sys

import mip_native as mip


def show(report):
    for item in report.items:
        line = f"  {report.stage:8} {item.status.name:8} {item.wheel or item.package}"
        if item.status == mip.ItemStatus.failed:
            line += f"\n{item.detail}"
        print(line, flush=True)
    return report.ok


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipes", default="packages")
    parser.add_argument("--build-dir", default="build")
    parser.add_argument("--store", default=os.environ.get("MIP_STORE", "build/store"))
    parser.add_argument("--base-url", default=os.environ.get("MIP_BASE_URL", ""))
    parser.add_argument("--endpoint", default="")
    parser.add_argument("-j", "--jobs", type=int, default=0)
    parser.add_argument("--force", action="store_true")
    args = parser.parse_args(argv)

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    build = pathlib.Path(args.build_dir)
    store = mip.open_store(args.store, endpoint=args.endpoint)
    base_url = args.base_url or store.default_base_url()
    epoch = int(os.environ["SOURCE_DATE_EPOCH"]) if "SOURCE_DATE_EPOCH" in os.environ else None

    # What every stage shares: one RunOptions (selection, jobs, epoch, base URL, logging).
    run = mip.RunOptions(jobs=args.jobs, keep_going=False, source_date_epoch=epoch,
                         base_url=base_url)

    # 1. Prepare: recipes -> build/prepared/<wheel>.dir, skipping packages whose published
    #    sidecar in `store` matches (the cache check).
    preparer = mip.Preparer(mip.PrepareOptions(recipes=args.recipes,
                                               output_dir=build / "prepared",
                                               cache_dir=build / "cache", force=args.force,
                                               build_type=os.environ.get("BUILD_TYPE",
                                                                         "standard")),
                            run, store=store)
    if not show(preparer.prepare()):
        return 1

    # 2. Compile the packages that have a compile script (MATLAB, else GNU Octave).
    if not show(mip.Compiler(mip.CompileOptions(input_dir=build / "prepared"), run).compile()):
        return 1

    # 3. Bundle every prepared dir into a deterministic .mhl + sidecar.
    bundler = mip.Bundler(mip.BundleOptions(input_dir=build / "prepared",
                                            output_dir=build / "bundled"), run)
    if not show(bundler.bundle_all()):
        return 1

    # 4. Upload: sha256/<hex>/<wheel>.mhl (create-only), the flat .mhl, then the sidecar.
    if not show(mip.Uploader(store, mip.UploadOptions(input_dir=build / "bundled"), run).upload()):
        return 1

    # 5. Assemble index.json + packages.html from every sidecar in the store.
    assembler = mip.IndexAssembler(store, None, run)
    index = assembler.assemble()
    for skipped in index.skipped:
        print(f"  index    skipped {skipped.key}: {skipped.reason}")
    mip.IndexAssembler.write(index, build / "gh-pages")
    print(f"index.json: {len(index.packages)} package(s) -> {build / 'gh-pages'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
