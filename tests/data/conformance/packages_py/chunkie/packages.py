#!/usr/bin/env python3
# Shape of mip-core's chunkie recipe (2bc98f5): clone into chunkie_clone in the cwd, move its
# chunkie/ subfolder, copy LICENSE.md, remove the clone; depends on two other packages.
import os
import shutil
from mip_build_helpers import collect_exposed_symbols, clone_repository_and_remove_git, create_load_and_unload_scripts

class ChunkiePackage:
    def __init__(self):
        self.name = "chunkie"
        self.description = "Conformance stand-in of the chunkie recipe (packages.py era)."
        self.version = "unspecified"
        self.build_number = 11
        self.dependencies = ["fmm2d", "FLAM"]
        self.homepage = "https://github.com/fastalgorithms/chunkie"
        self.repository = "https://github.com/fastalgorithms/chunkie"
        self.license = "BSD-3-Clause"
        self.matlab_tag = "any"
        self.abi_tag = "none"
        self.platform_tag = "any"

        # Filled in by prepare()
        self.exposed_symbols = []

    def prepare(self, mhl_dir: str):
        clone_dir = "chunkie_clone"
        clone_repository_and_remove_git(self.repository, clone_dir)

        chunkie_source = os.path.join(clone_dir, "chunkie")
        if not os.path.exists(chunkie_source):
            raise RuntimeError(f"no chunkie folder at {chunkie_source}")
        chunkie_dir = os.path.join(mhl_dir, "chunkie")
        shutil.move(chunkie_source, chunkie_dir)

        license_source = os.path.join(clone_dir, "LICENSE.md")
        if not os.path.exists(license_source):
            raise RuntimeError(f"no LICENSE.md at {license_source}")
        shutil.copyfile(license_source, os.path.join(mhl_dir, "LICENSE.md"))

        print(f"Removing {clone_dir}...")
        shutil.rmtree(clone_dir)

        create_load_and_unload_scripts(mhl_dir, dirs_to_add_to_path=["chunkie"])

        self.exposed_symbols = collect_exposed_symbols(
            mhl_dir + "/chunkie"
        )

if os.environ.get('BUILD_TYPE') == 'standard':
    packages = [ChunkiePackage()]
else:
    packages = []
