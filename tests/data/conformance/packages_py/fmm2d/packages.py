#!/usr/bin/env python3
# Shape of mip-core's fmm2d recipe (2bc98f5): keyword-only platform_tag from
# get_current_platform_tag() at import, gated on linux_workstation, rewrites -march=native in the
# makefile, runs `make matlab` in the clone, copies matlab/, counts .c files as symbols.
import os
import shutil
import subprocess
from mip_build_helpers import get_current_platform_tag, clone_repository_and_remove_git, collect_exposed_symbols, create_load_and_unload_scripts

class Fmm2dPackage:
    def __init__(self, *, platform_tag: str):
        self.name = "fmm2d"
        self.description = "Conformance stand-in of the fmm2d recipe (packages.py era)."
        self.version = "unspecified"
        self.build_number = 11
        self.dependencies = []
        self.homepage = "https://github.com/flatironinstitute/fmm2d"
        self.repository = "https://github.com/flatironinstitute/fmm2d"
        self.license = "Apache-2.0"
        self.matlab_tag = "any"
        self.abi_tag = "none"
        self.platform_tag = platform_tag

        # Filled in by prepare()
        self.exposed_symbols = []

    def prepare(self, mhl_dir: str):
        if self.platform_tag != 'linux_x86_64':
            raise RuntimeError(f"fmm2d builds on linux_x86_64 only, not {self.platform_tag}")

        clone_dir = "fmm2d_clone"
        clone_repository_and_remove_git(self.repository, clone_dir)

        license_source = os.path.join(clone_dir, "LICENSE")
        if not os.path.exists(license_source):
            raise RuntimeError(f"no LICENSE at {license_source}")
        shutil.copyfile(license_source, os.path.join(mhl_dir, "LICENSE"))

        makefile_path = os.path.join(clone_dir, "makefile")
        if not os.path.exists(makefile_path):
            raise RuntimeError(f"no makefile at {makefile_path}")
        with open(makefile_path, 'r') as f:
            makefile_content = f.read()
        if '-march=native' not in makefile_content:
            raise RuntimeError("the makefile has no '-march=native'")
        with open(makefile_path, 'w') as f:
            f.write(makefile_content.replace('-march=native', '-march=x86-64'))

        print("Running 'make matlab'...")
        subprocess.run(
            ["make", "matlab"],
            cwd=clone_dir,
            check=True
        )

        matlab_dir = os.path.join(clone_dir, "matlab")
        if not os.path.exists(matlab_dir):
            raise RuntimeError(f"'make matlab' did not create {matlab_dir}")
        fmm2d_dir = os.path.join(mhl_dir, "fmm2d")
        shutil.copytree(matlab_dir, fmm2d_dir)

        shutil.rmtree(clone_dir)

        create_load_and_unload_scripts(mhl_dir, dirs_to_add_to_path=["fmm2d"])
        self.exposed_symbols = collect_exposed_symbols(mhl_dir + "/fmm2d", extensions=['.m', '.c'])

# `make matlab` needs a workstation: the package is listed only there.

platform_tag = get_current_platform_tag()

if os.environ.get('BUILD_TYPE') == 'linux_workstation' and platform_tag == 'linux_x86_64':
    packages = [Fmm2dPackage(platform_tag=platform_tag)]
else:
    packages = []
