#!/usr/bin/env python3
"""signalkit: a packages.py recipe in the style of mip-core's fmm2d/export_fig recipes (a
`packages` list gated on BUILD_TYPE, MEX sources counted as symbols, legacy helper names). Its
sources live beside the recipe in src/ so it builds offline."""
import os
import shutil

from mip_build_helpers import (collect_exposed_symbols_with_extensions,
                               generate_recursive_subdir_list, create_load_and_unload_scripts,
                               strip_prebuilt_binaries)


class SignalkitPackage:
    def __init__(self):
        self.name = "signalkit"
        self.description = "Small signal-processing helpers with an optional MEX kernel"
        self.version = "1.0.0"
        self.build_number = 2
        self.dependencies = ["statkit"]
        self.homepage = "https://example.org/signalkit"
        self.repository = "https://github.com/example/signalkit"
        self.license = "MIT"
        self.matlab_tag = "any"
        self.abi_tag = "none"
        self.platform_tag = "any"

        # Filled in during prepare
        self.exposed_symbols = []

    def prepare(self, mhl_dir: str):
        source = os.path.join(os.environ["MIP_RECIPE_DIR"], "src")
        package_dir = os.path.join(mhl_dir, "signalkit")
        shutil.copytree(source, package_dir)
        # Never ship binaries built elsewhere; the .c sources stay.
        strip_prebuilt_binaries(package_dir)

        # The package folder and its subfolders (mex/) go on the path.
        subdirs = generate_recursive_subdir_list(mhl_dir, base_dir=package_dir)
        create_load_and_unload_scripts(mhl_dir, dirs_to_add_to_path=[package_dir] + subdirs)

        self.exposed_symbols = sorted(
            collect_exposed_symbols_with_extensions(package_dir, [".m", ".c"])
            + collect_exposed_symbols_with_extensions(os.path.join(package_dir, "mex"),
                                                      [".m", ".c"]))


# The reference CI ran BUILD_TYPE=standard; other build types get no signalkit build.
if os.environ.get("BUILD_TYPE") == "standard":
    packages = [SignalkitPackage()]
else:
    packages = []
