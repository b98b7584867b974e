#!/usr/bin/env python3
# Shape of mip-core's lower-case flam recipe (f59d2a0): `git clone --recurse-submodules` through
# subprocess, a setup.m that runs the upstream startup.m, and
# collect_exposed_symbols_recursive(flam_dir, "flam", exclude_dirs=...) called the reference's way.
import os
import shutil
import subprocess
from mip_build_helpers import collect_exposed_symbols_recursive

class FlamPackage:
    def __init__(self):
        self.name = "flam"
        self.description = "Conformance stand-in of the flam recipe (f59d2a0)."
        self.version = "unspecified"
        self.build_number = 1
        self.dependencies = []
        self.homepage = "https://github.com/klho/FLAM"
        self.repository = "https://github.com/klho/FLAM"
        self.matlab_tag = "any"
        self.abi_tag = "none"
        self.platform_tag = "any"

        # Filled in by prepare()
        self.exposed_symbols = []

    def prepare(self, mhl_dir: str):
        clone_dir = "FLAM"
        subprocess.run(
            ["git", "clone", "--recurse-submodules", self.repository, clone_dir],
            check=True
        )
        for root, dirs, files in os.walk(clone_dir):
            if ".git" in dirs:
                shutil.rmtree(os.path.join(root, ".git"))
                dirs.remove(".git")

        flam_dir = os.path.join(mhl_dir, "flam")
        shutil.move(clone_dir, flam_dir)

        with open(os.path.join(mhl_dir, "setup.m"), 'w') as f:
            f.write("% Put flam on the MATLAB path and run its startup\n")
            f.write("flam_path = fullfile(fileparts(mfilename('fullpath')), 'flam');\n")
            f.write("addpath(flam_path);\n")
            f.write("startup_file = fullfile(flam_path, 'startup.m');\n")
            f.write("if exist(startup_file, 'file')\n")
            f.write("    run(startup_file);\n")
            f.write("end\n")

        self.exposed_symbols = collect_exposed_symbols_recursive(
            flam_dir,
            "flam",
            exclude_dirs=['test', 'paper']
        )

if os.environ.get('BUILD_TYPE') == 'standard':
    packages = [FlamPackage()]
else:
    packages = []
