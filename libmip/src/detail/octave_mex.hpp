#pragma once
// Private: MATLAB's `mex` calling convention under GNU Octave (docs/compile.md, "mex under
// Octave"). Octave's own `mex` passes its arguments straight to `mkoctfile --mex`, which refuses
// what real compile scripts write (`mex('CXXFLAGS=$CXXFLAGS -std=c++11', f)` →
// "mkoctfile: unrecognized argument CXXFLAGS="). The compile stage puts a `mex.m` of ours first
// on Octave's path: it maps `NAME=value` assignments (with `$NAME` expanded from the current
// value), `-largeArrayDims`, `-R2017b`/`-R2018a`, `-O`, `-g`, `-v`, `-outdir`, `-output`,
// `-I/-L/-l/-D/-U`, several sources and `.c/.cpp/.F` files onto `mkoctfile --mex`, and names any
// option it cannot map in an error.

#include <filesystem>
#include <string>

namespace mip::detail {

/// The text of the `mex.m` shim.
[[nodiscard]] const std::string& octave_mex_shim();

/// Writes the shim to `<dir>/mex.m` (replacing an older one) and returns the Octave statements
/// that put `dir` first on the path, to run before the compile script (the warning about
/// shadowing a core function is silenced for that one `addpath`). Throws IoError.
[[nodiscard]] std::string install_octave_mex_shim(const std::filesystem::path& dir);

}  // namespace mip::detail
