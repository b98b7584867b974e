#!/usr/bin/env python3
# Shape of mip-core's package.py era (4e01e8d): one zero-argument class Package, version
# "latest", its own requests.get, the zip left in the cwd, a hand-written setup.m.
import requests
import os
import zipfile
import shutil
from mip_build_helpers import collect_exposed_symbols_top_level

class Package:
    def __init__(self):
        self.name = "chebfun"
        self.description = "Conformance stand-in of the chebfun recipe (package.py era)."
        self.version = "latest"
        self.build_number = 1
        self.dependencies = []
        self.homepage = "https://github.com/chebfun/chebfun"
        self.repository = "https://github.com/chebfun/chebfun"
        self.matlab_tag = "any"
        self.abi_tag = "none"
        self.platform_tag = "any"

        # Filled in by prepare()
        self.exposed_symbols = []
    def prepare(self, mhl_dir: str):
        url = "https://github.com/chebfun/chebfun/archive/master.zip"
        download_file = "chebfun_download.zip"
        response = requests.get(url)
        response.raise_for_status()
        with open(download_file, 'wb') as f:
            f.write(response.content)
        with zipfile.ZipFile(download_file, 'r') as zip_ref:
            zip_ref.extractall(".")

        chebfun_dir = os.path.join(mhl_dir, "chebfun")
        shutil.move("chebfun-master", chebfun_dir)

        with open(os.path.join(mhl_dir, "setup.m"), 'w') as f:
            f.write("% Put chebfun on the MATLAB path\n")
            f.write("chebfun_path = fullfile(fileparts(mfilename('fullpath')), 'chebfun');\n")
            f.write("addpath(chebfun_path);\n")

        self.exposed_symbols = collect_exposed_symbols_top_level(chebfun_dir, "chebfun")
