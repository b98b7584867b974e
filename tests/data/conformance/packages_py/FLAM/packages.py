#!/usr/bin/env python3
# Shape of mip-core's packages.py era (2bc98f5): clone into the cwd, move into the package, copy
# LICENSE, recursive subdirectory list with exclusions, one symbol scan per directory.
import os
import shutil
from mip_build_helpers import collect_exposed_symbols, clone_repository_and_remove_git, create_load_and_unload_scripts, generate_recursive_subdir_list

class FLAMPackage:
    def __init__(self):
        self.name = "FLAM"
        self.description = "Conformance stand-in of the FLAM recipe (packages.py era)."
        self.version = "unspecified"
        self.build_number = 11
        self.dependencies = []
        self.homepage = "https://github.com/klho/FLAM"
        self.repository = "https://github.com/klho/FLAM"
        self.license = "GPL-3.0"
        self.matlab_tag = "any"
        self.abi_tag = "none"
        self.platform_tag = "any"

        # Filled in by prepare()
        self.exposed_symbols = []

    def prepare(self, mhl_dir: str):
        clone_dir = "FLAM"
        clone_repository_and_remove_git(self.repository, clone_dir)

        flam_dir = os.path.join(mhl_dir, "FLAM")
        print("Moving the clone into the package...")
        shutil.move(clone_dir, flam_dir)

        license_source = os.path.join(flam_dir, "LICENSE")
        if not os.path.exists(license_source):
            raise RuntimeError(f"no LICENSE in the clone at {license_source}")
        shutil.copyfile(license_source, os.path.join(mhl_dir, "LICENSE"))

        subdirs = generate_recursive_subdir_list(mhl_dir, base_dir="FLAM", exclude_dirs=['test', 'paper'])
        create_load_and_unload_scripts(mhl_dir, dirs_to_add_to_path=subdirs)

        print("Collecting exposed symbols...")
        for subdir in subdirs:
            self.exposed_symbols.extend(collect_exposed_symbols(mhl_dir + "/" + subdir))

if os.environ.get('BUILD_TYPE') == 'standard':
    packages = [FLAMPackage()]
else:
    packages = []
