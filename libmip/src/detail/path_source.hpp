#pragma once
// Private: `prepare.path` sources (format spec §7(c)). The path is recipe-relative and may leave
// the recipe directory (`path: ..` for a recipe kept inside the package's own repository, as
// conda and rattler-build allow). Such a source can contain libmip's own output (a `build/` in
// the repository), which is left out of both the hash and the copy: otherwise every run would see
// a changed source and the package would contain its own build tree.

#include <filesystem>
#include <string>
#include <vector>

namespace mip::detail {

/// `/`-separated paths below `root` to leave out of a path source: the build directory holding
/// `outputs` (the prepared and cache directories) when it lies inside `root`, else each output
/// inside `root`. Throws SpecError (field `field`, subject `subject`) when `root` lies inside an
/// output or an output is `root` itself.
[[nodiscard]] std::vector<std::string> path_source_exclusions(
    const std::filesystem::path& root,
    const std::vector<std::filesystem::path>& outputs,
    const std::string& subject,
    const std::string& field);

/// The tree hash (§6) of `root` without `.git` and the `excluded` paths; equals `tree_hash(root)`
/// when nothing is excluded.
[[nodiscard]] std::string path_source_hash(const std::filesystem::path& root,
                                           const std::vector<std::string>& excluded);

/// Copies `root` into `to` (regular files with their modes, symlinks as symlinks), without `.git`
/// and the `excluded` paths.
void copy_path_source(const std::filesystem::path& root,
                      const std::filesystem::path& to,
                      const std::vector<std::string>& excluded);

}  // namespace mip::detail
