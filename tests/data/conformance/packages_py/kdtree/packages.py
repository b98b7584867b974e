#!/usr/bin/env python3
# Shape of mip-core's kdtree recipe (dbdd12d): helpers of the 250a9dd era
# (collect_exposed_symbols_with_extensions, create_load_m_and_unload_m), compile_kdtree.m copied
# from beside the recipe and a generated compile.m calling it.
import os
import shutil
from mip_build_helpers import clone_repository_and_remove_git, collect_exposed_symbols_with_extensions, create_load_m_and_unload_m

class KdtreePackage:
    def __init__(self):
        self.name = "kdtree"
        self.description = "Conformance stand-in of the kdtree recipe (packages.py era)."
        self.version = "unspecified"
        self.build_number = 3
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
        clone_repository_and_remove_git(self.repository, clone_dir)

        kdtree_dir = os.path.join(mhl_dir, "kdtree")
        shutil.copytree(os.path.join(clone_dir, "toolbox"), kdtree_dir)

        print(f"Removing {clone_dir}...")
        shutil.rmtree(clone_dir)

        create_load_m_and_unload_m(mhl_dir, "kdtree")

        package_dir = os.path.dirname(os.path.abspath(__file__))
        shutil.copy(os.path.join(package_dir, "compile_kdtree.m"), os.path.join(mhl_dir, "compile_kdtree.m"))

        with open(os.path.join(mhl_dir, "compile.m"), 'w') as f:
            f.write("% Compile the kdtree package\n")
            f.write("compile_kdtree;\n")

        self.exposed_symbols = collect_exposed_symbols_with_extensions(kdtree_dir, ['.m', '.cpp'])

if os.environ.get('BUILD_TYPE') == 'standard':
    packages = [KdtreePackage()]
else:
    packages = []
