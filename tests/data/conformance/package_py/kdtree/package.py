#!/usr/bin/env python3
# Shape of mip-core's kdtree recipe (a01a4dd): no helpers at all, an inline `git clone` through
# subprocess, a setup.m, compile_kdtree.m copied and a compile.m generated, and a private
# symbol collector.
import os
import shutil
import subprocess

class Package:
    def __init__(self):
        self.name = "kdtree"
        self.description = "Conformance stand-in of the kdtree recipe (package.py era)."
        self.version = "latest"
        self.build_number = 1
        self.dependencies = []
        self.homepage = "https://github.com/taiya/kdtree"
        self.repository = "https://github.com/taiya/kdtree"
        self.matlab_tag = "any"
        self.abi_tag = "none"
        self.platform_tag = "any"

        # Filled in by prepare()
        self.exposed_symbols = []

    def prepare(self, mhl_dir: str):
        clone_dir = "kdtree_clone"
        subprocess.run(
            ["git", "clone", self.repository, clone_dir],
            check=True
        )
        for root, dirs, files in os.walk(clone_dir):
            if ".git" in dirs:
                shutil.rmtree(os.path.join(root, ".git"))
                dirs.remove(".git")

        kdtree_dir = os.path.join(mhl_dir, "kdtree")
        shutil.copytree(os.path.join(clone_dir, "toolbox"), kdtree_dir)
        shutil.rmtree(clone_dir)

        with open(os.path.join(mhl_dir, "setup.m"), 'w') as f:
            f.write("% Put kdtree on the MATLAB path\n")
            f.write("kdtree_path = fullfile(fileparts(mfilename('fullpath')), 'kdtree');\n")
            f.write("addpath(kdtree_path);\n")

        package_dir = os.path.dirname(os.path.abspath(__file__))
        shutil.copy(os.path.join(package_dir, "compile_kdtree.m"), os.path.join(mhl_dir, "compile_kdtree.m"))
        with open(os.path.join(mhl_dir, "compile.m"), 'w') as f:
            f.write("% Compile the kdtree package\n")
            f.write("compile_kdtree;\n")

        self.exposed_symbols = self._collect_kdtree_symbols(kdtree_dir)

    def _collect_kdtree_symbols(self, toolbox_dir):
        """.m and .cpp files of the toolbox folder, without their extensions."""
        symbols = []
        if not os.path.exists(toolbox_dir):
            return symbols
        for item in sorted(os.listdir(toolbox_dir)):
            if os.path.isfile(os.path.join(toolbox_dir, item)):
                if item.endswith('.m'):
                    symbols.append(item[:-2])
                elif item.endswith('.cpp'):
                    symbols.append(item[:-4])
        return symbols
