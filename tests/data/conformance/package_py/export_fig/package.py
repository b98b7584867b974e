#!/usr/bin/env python3
# Shape of mip-core's export_fig recipe (4e01e8d): requests and zipfile imported inside
# prepare(), the tag archive downloaded into the cwd, export_fig-<version> moved, a setup.m.
import os
import shutil
from mip_build_helpers import collect_exposed_symbols_top_level

class Package:
    def __init__(self):
        self.name = "export_fig"
        self.description = "Conformance stand-in of the export_fig recipe (package.py era)."
        self.version = "3.54"
        self.build_number = 1
        self.dependencies = []
        self.homepage = "https://github.com/altmany/export_fig"
        self.repository = "https://github.com/altmany/export_fig"
        self.matlab_tag = "any"
        self.abi_tag = "none"
        self.platform_tag = "any"

        # Filled in by prepare()
        self.exposed_symbols = []
    def prepare(self, mhl_dir: str):

        download_file = "export_fig_download.zip"
        download_url = f"https://github.com/altmany/export_fig/archive/refs/tags/v{self.version}.zip"
        import requests
        response = requests.get(download_url)
        response.raise_for_status()
        with open(download_file, 'wb') as f:
            f.write(response.content)

        import zipfile
        with zipfile.ZipFile(download_file, 'r') as zip_ref:
            zip_ref.extractall(".")

        export_fig_dir = os.path.join(mhl_dir, "export_fig")
        shutil.move(f"export_fig-{self.version}", export_fig_dir)

        with open(os.path.join(mhl_dir, "setup.m"), 'w') as f:
            f.write("% Put export_fig on the MATLAB path\n")
            f.write(f"export_fig_path = fullfile(fileparts(mfilename('fullpath')), 'export_fig');\n")
            f.write("addpath(export_fig_path);\n")
        self.exposed_symbols = collect_exposed_symbols_top_level(export_fig_dir, "export_fig")
