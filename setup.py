"""Builds mip_native (CMake + pybind11) and installs it with mip_build_helpers.

Follows pybind/cmake_example: setuptools' build_ext runs CMake on this source tree and builds only
the `mip_native` target, with the interpreter running this script. Offline install (Debian
bookworm packages only):

    python3 -m pip install --no-build-isolation --no-index .

Environment: CMAKE_BUILD_PARALLEL_LEVEL (jobs), CMAKE_GENERATOR, MIP_CMAKE_ARGS (extra -D...).
"""
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent


def project_version():
    text = (ROOT / "CMakeLists.txt").read_text(encoding="utf-8")
    return re.search(r"project\(libmip\s+VERSION\s+([0-9.]+)", text).group(1)


class CMakeExtension(Extension):
    def __init__(self, name, sourcedir=""):
        super().__init__(name, sources=[])
        self.sourcedir = os.fspath(Path(sourcedir).resolve())


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        ext_fullpath = Path.cwd() / self.get_ext_fullpath(ext.name)
        extdir = ext_fullpath.parent.resolve()
        cfg = "Debug" if self.debug else "Release"
        cmake_args = [
            f"-DCMAKE_LIBRARY_OUTPUT_DIRECTORY={extdir}{os.sep}",
            f"-DPython_EXECUTABLE={sys.executable}",
            f"-DCMAKE_BUILD_TYPE={cfg}",
            "-DMIP_BUILD_PYTHON=ON",
            "-DMIP_BUILD_CLI=OFF",
            "-DMIP_BUILD_TESTS=OFF",
            "-DMIP_INSTALL=OFF",
        ]
        cmake_args += shlex.split(os.environ.get("MIP_CMAKE_ARGS", ""))
        if "CMAKE_GENERATOR" not in os.environ and shutil.which("ninja"):
            cmake_args += ["-G", "Ninja"]
        build_args = ["--target", "mip_native"]
        if "CMAKE_BUILD_PARALLEL_LEVEL" not in os.environ and getattr(self, "parallel", None):
            build_args += [f"-j{self.parallel}"]
        build_temp = Path(self.build_temp) / ext.name
        build_temp.mkdir(parents=True, exist_ok=True)
        subprocess.run(["cmake", ext.sourcedir, *cmake_args], cwd=build_temp, check=True)
        subprocess.run(["cmake", "--build", ".", *build_args], cwd=build_temp, check=True)
        # The hand-written type stub goes next to the module.
        shutil.copyfile(ROOT / "bindings" / "mip_native.pyi", extdir / "mip_native.pyi")


setup(
    name="libmip",
    version=project_version(),
    description="Build and publish MATLAB packages (.mhl) for mip: the mip_native module and "
                "the mip_build_helpers recipe helpers",
    long_description=(ROOT / "docs" / "python.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    python_requires=">=3.11",
    packages=["mip_build_helpers"],
    package_dir={"": "bindings/python"},
    ext_modules=[CMakeExtension("mip_native", sourcedir=str(ROOT))],
    cmdclass={"build_ext": CMakeBuild},
    zip_safe=False,
)
