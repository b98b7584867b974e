#pragma once
// Private (tester.hpp): the test stage's checks on the files of an installed package — the ELF
// checks (glibc floor, NEEDED libraries) and the MEX coverage (every MEX file loaded).

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace mip::detail {

/// The system libraries a shipped binary may need: glibc's, the GCC runtime, and what MATLAB
/// and GNU Octave installs provide (libmx, libmex, liboctinterp, BLAS/LAPACK…).
[[nodiscard]] bool is_provided_library(const std::string& soname);

/// Checks every ELF file under `dir`: its highest `GLIBC_x.y` need must not exceed `floor`,
/// and each NEEDED library must be a file of `dir` (by name) or `is_provided_library`. Returns
/// one message per problem, naming the file (relative to `dir`), the version and a symbol, or
/// the library. Throws ArchiveError for a malformed ELF file.
[[nodiscard]] std::vector<std::string> check_binaries(const std::filesystem::path& dir,
                                                      std::pair<int, int> floor);

/// The MEX files under `dir` an engine on this host can load (Octave: `.mex`, `.oct`; MATLAB:
/// `.mexa64`), as absolute paths, sorted.
[[nodiscard]] std::vector<std::filesystem::path> loadable_mex_files(
    const std::filesystem::path& dir, bool octave);

/// Those of `mex` that `loaded_list` (one path per line, as the audit library writes it) does
/// not name (compared after resolving symlinks), as paths relative to `dir`.
[[nodiscard]] std::vector<std::string> untouched_mex_files(
    const std::vector<std::filesystem::path>& mex,
    const std::string& loaded_list,
    const std::filesystem::path& dir);

}  // namespace mip::detail
