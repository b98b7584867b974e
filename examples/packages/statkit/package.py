#!/usr/bin/env python3
"""statkit: a package.py recipe in the style of mip-core's chebfun/export_fig recipes (class
Package, prepare(mhl_dir)), except that its sources live beside the recipe in src/ so it builds
offline. A real recipe would call download_and_extract_zip(url) or
clone_repository_and_remove_git(url, dir) here; both record the fetched source in mip.json."""
import os
import shutil

from mip_build_helpers import (collect_exposed_symbols_top_level, create_load_and_unload_scripts,
                               strip_prebuilt_binaries)


class Package:
    def __init__(self):
        self.name = "statkit"
        self.description = "Robust statistics helpers: robust z-scores, running statistics"
        self.version = "0.3.1"
        self.build_number = 0
        self.dependencies = []
        self.homepage = "https://example.org/statkit"
        self.repository = "https://github.com/example/statkit"
        self.license = "BSD-3-Clause"
        self.matlab_tag = "any"
        self.abi_tag = "none"
        self.platform_tag = "any"
        self.usage_examples = [
            "z = statkit_zscore([1 2 3 100]);",
            "rs = RunningStats();\nrs = rs.push(4);\nrs.mean()",
        ]

        # Filled in during prepare
        self.exposed_symbols = []

    def prepare(self, mhl_dir: str):
        # MIP_RECIPE_DIR is this recipe's directory; the cwd is build/prepared.
        source = os.path.join(os.environ["MIP_RECIPE_DIR"], "src")
        package_dir = os.path.join(mhl_dir, "statkit")
        print(f"Copying {source} to {package_dir}...")
        shutil.copytree(source, package_dir)
        strip_prebuilt_binaries(package_dir, compiled=False)

        create_load_and_unload_scripts(mhl_dir, dirs_to_add_to_path=[package_dir])
        print("Collecting exposed symbols...")
        self.exposed_symbols = collect_exposed_symbols_top_level(package_dir)
