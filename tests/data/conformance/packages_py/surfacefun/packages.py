#!/usr/bin/env python3
# Shape of mip-core's surfacefun recipe (e042d49): ungated, version "latest", its own
# `git clone` through subprocess, .git removed by hand, a setup.m adding two folders, and
# collect_exposed_symbols_multiple_paths called the reference's way.
import os
import shutil
from mip_build_helpers import collect_exposed_symbols_multiple_paths

class SurfacefunPackage:
    def __init__(self):
        self.name = "surfacefun"
        self.description = "Conformance stand-in of the surfacefun recipe (packages.py era)."
        self.version = "latest"
        self.build_number = 3
        self.dependencies = ["chebfun"]
        self.homepage = "https://github.com/danfortunato/surfacefun"
        self.repository = "https://github.com/danfortunato/surfacefun"
        self.matlab_tag = "any"
        self.abi_tag = "none"
        self.platform_tag = "any"

        # Filled in by prepare()
        self.exposed_symbols = []
    def prepare(self, mhl_dir: str):
        import subprocess

        clone_dir = "surfacefun_clone"
        print(f'Cloning {self.repository}...')
        subprocess.run(
            ["git", "clone", self.repository, clone_dir],
            check=True
        )

        for root, dirs, files in os.walk(clone_dir):
            if ".git" in dirs:
                shutil.rmtree(os.path.join(root, ".git"))
                dirs.remove(".git")

        surfacefun_dir = os.path.join(mhl_dir, "surfacefun")
        shutil.move(clone_dir, surfacefun_dir)

        with open(os.path.join(mhl_dir, "setup.m"), 'w') as f:
            f.write("% Put surfacefun and its tools on the MATLAB path\n")
            f.write("surfacefun_path = fullfile(fileparts(mfilename('fullpath')), 'surfacefun');\n")
            f.write("addpath(surfacefun_path);\n")
            f.write("tools_path = fullfile(surfacefun_path, 'tools');\n")
            f.write("addpath(tools_path);\n")

        tools_dir = os.path.join(surfacefun_dir, "tools")
        self.exposed_symbols = collect_exposed_symbols_multiple_paths(
            [surfacefun_dir, tools_dir],
            ["surfacefun", "surfacefun/tools"]
        )

packages = [SurfacefunPackage()]
