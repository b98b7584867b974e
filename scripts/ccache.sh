# Sourced by the scripts that configure a build directory: MIP_CCACHE_ARGS holds the CMake
# arguments that compile through ccache when it is installed (a rebuild of an unchanged file is
# then a cache hit, in every build directory), and nothing otherwise. MIP_NO_CCACHE=1 turns it off.
MIP_CCACHE_ARGS=()
if [ -z "${MIP_NO_CCACHE:-}" ] && command -v ccache >/dev/null; then
  MIP_CCACHE_ARGS=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
