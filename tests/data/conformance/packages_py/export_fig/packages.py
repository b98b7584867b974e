#!/usr/bin/env python3
# Shape of mip-core's export_fig recipe (2bc98f5): download_and_extract_zip into the cwd, then
# move export_fig-<version> into the package.
import os
import shutil
from mip_build_helpers import collect_exposed_symbols, download_and_extract_zip, create_load_and_unload_scripts

class ExportFigPackage:
    def __init__(self):
        self.name = "export_fig"
        self.description = "Conformance stand-in of the export_fig recipe (packages.py era)."
        self.version = "3.54"
        self.build_number = 11
        self.dependencies = []
        self.homepage = "https://github.com/altmany/export_fig"
        self.repository = "https://github.com/altmany/export_fig"
        self.license = "BSD-3-Clause"
        self.matlab_tag = "any"
        self.abi_tag = "none"
        self.platform_tag = "any"

        # Filled in by prepare()
        self.exposed_symbols = []
    def prepare(self, mhl_dir: str):
        download_url = f"https://github.com/altmany/export_fig/archive/refs/tags/v{self.version}.zip"
        download_and_extract_zip(download_url)

        export_fig_dir = os.path.join(mhl_dir, "export_fig")
        shutil.move(f"export_fig-{self.version}", export_fig_dir)

        create_load_and_unload_scripts(mhl_dir, dirs_to_add_to_path=["export_fig"])
        self.exposed_symbols = collect_exposed_symbols(
            mhl_dir + "/export_fig"
        )

if os.environ.get('BUILD_TYPE') == 'standard':
    packages = [ExportFigPackage()]
else:
    packages = []
