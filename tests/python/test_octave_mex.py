"""MATLAB's `mex` calling convention under GNU Octave (docs/compile.md): compile scripts written
the MATLAB way — `NAME=value` with `$NAME`, command syntax, `-largeArrayDims -O`, `-outdir`,
`-output`, several sources, `-I/-L/-l/-D/-U`, `-c`, `-lmwblas`, `.c/.cpp/.F` — build real C, C++
and Fortran sources through `mip-build compile --engine octave`; the results load in a fresh
Octave and are called. An option the shim cannot map fails the compile, naming it."""
import json
import os
import subprocess
import textwrap

import pytest

import tools


@pytest.fixture(scope="module")
def octave_cli():
    return tools.require_tool("octave-cli")


SOURCES = {
    # C++ with a header found through -I, needing C++11.
    "mx/include/kd_heap.h": """
        #pragma once
        #include <algorithm>
        #include <vector>
        inline double largest(std::vector<double> v) {
            std::make_heap(v.begin(), v.end());
            return std::is_heap(v.begin(), v.end()) ? v.front() : -1.0;
        }
    """,
    "mx/kd_max.cpp": """
        #include "mex.h"
        #include "kd_heap.h"
        // CXXFLAGS=$CXXFLAGS -std=c++11: the assignment applied, and $CXXFLAGS kept Octave's flags.
        static_assert(__cplusplus == 201103L, "built with -std=c++11");
        #ifndef __OPTIMIZE__
        #error $CXXFLAGS lost Octave's -O2
        #endif
        void mexFunction(int nlhs, mxArray* plhs[], int nrhs, const mxArray* prhs[]) {
            const double* x = mxGetPr(prhs[0]);
            std::vector<double> v(x, x + mxGetNumberOfElements(prhs[0]));
            auto top = largest(v);
            plhs[0] = mxCreateDoubleScalar(top);
        }
    """,
    # C with a definition given by -D (no default: a missing -D fails the build).
    "mx/twice.c": """
        #include "mex.h"
        #ifndef SCALE
        #error SCALE must be defined with -D
        #endif
        void mexFunction(int nlhs, mxArray *plhs[], int nrhs, const mxArray *prhs[]) {
            plhs[0] = mxCreateDoubleScalar(SCALE * mxGetScalar(prhs[0]));
        }
    """,
    # A C gateway and a preprocessed Fortran kernel: several sources, .F, FFLAGS with $FFLAGS.
    "mx/gate.c": """
        #include "mex.h"
        extern void kscale_(double *x, double *y);
        void mexFunction(int nlhs, mxArray *plhs[], int nrhs, const mxArray *prhs[]) {
            double x = mxGetScalar(prhs[0]), y = 0;
            kscale_(&x, &y);
            plhs[0] = mxCreateDoubleScalar(y);
        }
    """,
    "mx/kern.F": """
        #ifndef KSCALE
        #define KSCALE 1.0d0
        #endif
              subroutine kscale(x, y)
              real*8 x, y
              y = KSCALE * x
              return
              end
    """,
    # -c, then a static library linked with -L. -lhelper.
    "mx/helper.c": "double helper_offset(void) { return 100.0; }\n",
    "mx/usehelper.c": """
        #include "mex.h"
        double helper_offset(void);
        void mexFunction(int nlhs, mxArray *plhs[], int nrhs, const mxArray *prhs[]) {
            plhs[0] = mxCreateDoubleScalar(helper_offset() + mxGetScalar(prhs[0]));
        }
    """,
    # -UNAME drops this call's -DNAME.
    "mx/undef.c": """
        #include "mex.h"
        void mexFunction(int nlhs, mxArray *plhs[], int nrhs, const mxArray *prhs[]) {
        #ifdef NOT_THIS
            plhs[0] = mxCreateDoubleScalar(-1);
        #else
            plhs[0] = mxCreateDoubleScalar(1);
        #endif
        }
    """,
    # MATLAB's BLAS (-lmwblas) is Octave's BLAS here; sedumi's compile.m has this shape.
    "mx/blasdot.c": """
        #include "mex.h"
        extern double ddot_(const int *n, const double *x, const int *incx, const double *y,
                            const int *incy);
        void mexFunction(int nlhs, mxArray *plhs[], int nrhs, const mxArray *prhs[]) {
            int n = (int)mxGetNumberOfElements(prhs[0]), one = 1;
            plhs[0] = mxCreateDoubleScalar(ddot_(&n, mxGetPr(prhs[0]), &one, mxGetPr(prhs[1]), &one));
        }
    """,
}

COMPILE_M = r"""
% MATLAB's mex calling convention, as real compile scripts write it.
here = pwd;
cd(fullfile(here, 'mxpkg', 'mx'));
mex('CXXFLAGS=$CXXFLAGS -std=c++11', '-Iinclude', 'kd_max.cpp');
mex -largeArrayDims -O -DSCALE=2 twice.c -outdir ../bin -output dbl.mexa64
mex('gate.c', 'kern.F', 'FFLAGS=$FFLAGS -DKSCALE=7.0d0', '-v');
mex('-c', 'helper.c');
status = system('ar rcs libhelper.a helper.o');
assert(status == 0);
delete('helper.o');
mex('-L.', '-lhelper', 'usehelper.c');
mex('-DNOT_THIS=1', '-UNOT_THIS', 'undef.c');
mex('-O', '-largeArrayDims', 'CFLAGS=$CFLAGS -std=gnu17', 'blasdot.c', '-lmwblas');
delete('libhelper.a');
cd(here);
"""


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"))


def make_recipe(recipes, name, compile_m):
    d = recipes / name
    for rel, text in SOURCES.items():
        write(d / "src" / rel, text)
    write(d / "compile.m", compile_m)
    write(d / "prepare.yaml", f"""
        name: {name}
        version: "1.0"
        prepare:
          path: {{path: src, destination: mxpkg}}
          addpaths: [mxpkg/mx, mxpkg/bin]
        builds:
          - build_type: standard
            compile_script: compile.m
    """)
    # bin/ holds only the compiled result; the recipe creates it empty-handed via -outdir.
    write(d / "src" / "bin" / "README.txt", "MEX files built with -outdir land here.\n")


def cli(run_cli, *args, tmp_path):
    env = {"BUILD_TYPE": "standard", "MIP_PLATFORM_TAG": ""}
    return run_cli(*args, cwd=tmp_path, env=env, timeout=900)


def test_matlab_style_mex_builds_c_cpp_and_fortran_that_octave_calls(run_cli, octave_cli,
                                                                     tmp_path):
    recipes = tmp_path / "recipes"
    make_recipe(recipes, "mexstyles", COMPILE_M)
    build = tmp_path / "build"
    r = cli(run_cli, "prepare", "--recipes", recipes, "--build-dir", build, tmp_path=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    (d,) = (build / "prepared").glob("mexstyles-*.dir")
    r = cli(run_cli, "compile", "--build-dir", build, "--engine", "octave", tmp_path=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    mx, out_bin = d / "mxpkg" / "mx", d / "mxpkg" / "bin"
    assert sorted(p.name for p in mx.glob("*.mex")) == [
        "blasdot.mex", "gate.mex", "kd_max.mex", "undef.mex", "usehelper.mex"]
    assert sorted(p.name for p in out_bin.glob("*.mex")) == ["dbl.mex"]  # -outdir, -output
    assert not list(mx.glob("*.o")) and not list(mx.glob("*.mexa64"))
    log = (d.parent / (d.name[:-4] + ".work") / "compile.log").read_text()
    assert "-DKSCALE=7.0d0" in log  # -v shows gfortran's flags: FFLAGS=$FFLAGS ... applied
    assert "Building with mkoctfile (GNU Octave): -Iinclude -o kd_max.mex kd_max.cpp" in log
    assert json.loads((d / "mip.json").read_text())["build_info"]["compile_engine"].startswith(
        "octave")

    code = (f"addpath('{mx}'); addpath('{out_bin}'); "
            "printf('kd=%g dbl=%g gate=%g use=%g undef=%g blas=%g which=%s\\n', "
            "kd_max([3 9 4]), dbl(21), gate(3), usehelper(1), undef(), "
            "blasdot([1 2 3], [4 5 6]), which('dbl'));")
    r = subprocess.run([octave_cli, "--norc", "--no-history", "--eval", code], cwd=tmp_path,
                       env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path)},
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"kd=9 dbl=42 gate=21 use=101 undef=1 blas=32 which={out_bin}/dbl.mex" in r.stdout


@pytest.mark.parametrize("call, named", [
    ("mex('-setup', 'twice.c')", "option '-setup' is not supported"),
    ("mex('COMPILER_FLAVOUR=x', 'twice.c')", "the variable COMPILER_FLAVOUR"),
    ("mex('CFLAGS=$NO_SUCH_VAR', 'twice.c')", "$NO_SUCH_VAR"),
    ("mex('twice.c', '-lmat')", "the MATLAB library mat (-lmat)"),
    ("mex('twice.txt')", "'twice.txt' is not a C, C++ or Fortran source"),
    ("mex('-DSCALE=1', 'twice.c', '-outdir')", "-outdir needs a value"),
])
def test_an_option_the_shim_cannot_map_fails_the_compile_naming_it(run_cli, tmp_path, call,
                                                                     named):
    recipes = tmp_path / "recipes"
    make_recipe(recipes, "badmex", f"cd(fullfile(pwd, 'mxpkg', 'mx'));\n{call};\n")
    build = tmp_path / "build"
    r = cli(run_cli, "prepare", "--recipes", recipes, "--build-dir", build, tmp_path=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    r = cli(run_cli, "compile", "--build-dir", build, "--engine", "octave", tmp_path=tmp_path)
    assert r.returncode == 1, r.stdout + r.stderr
    assert named in r.stdout + r.stderr
    (d,) = (build / "prepared").glob("badmex-*.dir")
    assert not list(d.rglob("*.mex"))
    assert (d.parent / (d.name[:-4] + ".work") / "compile.failed").is_file()


def test_a_failed_build_names_its_sources_and_status_returns_it(run_cli, tmp_path):
    recipes = tmp_path / "recipes"
    # `status = mex(...)` returns the status (as in MATLAB); a bare call raises naming the source.
    make_recipe(recipes, "failing", "cd(fullfile(pwd, 'mxpkg', 'mx'));\n"
                "s = mex('twice.c');\nprintf('status=%d\\n', s);\nmex('twice.c');\n")
    build = tmp_path / "build"
    r = cli(run_cli, "prepare", "--recipes", recipes, "--build-dir", build, tmp_path=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    r = cli(run_cli, "compile", "--build-dir", build, "--engine", "octave", tmp_path=tmp_path)
    assert r.returncode == 1, r.stdout + r.stderr
    out = r.stdout + r.stderr
    assert "status=1" in out
    assert "mex: building twice.c failed (mkoctfile exit status 1)" in out
    assert "SCALE must be defined with -D" in out  # the compiler's own message is kept
