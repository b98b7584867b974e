#pragma once
/// \file recipe_channel_schema.hpp
/// Private to the channel-tree recipe kind (docs/current-format.md, spec mip-current §1): one
/// release folder `packages/<name>/<release>/` read into typed values
/// (`read_channel_recipe`, recipe_channel_schema.cpp), which the builds (recipe_channel.cpp)
/// then run. Every problem of both files is reported at once, naming the file and the field.

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <mip/package_spec.hpp>
#include <mip/recipe.hpp>

namespace mip::detail {

/// One `{path, recursive?}` item of `paths`, `extra_paths.<group>` or `builds[i].paths`.
struct ChannelPath {
    std::string path;  ///< relative to the source root; "." is the root itself
    bool recursive = false;
    bool operator==(const ChannelPath&) const = default;
};

/// `source.yaml`'s `source:`.
struct ChannelSource {
    std::string kind;  ///< "git", "zip" or "tarball"
    std::string url;
    std::optional<std::string> branch;  ///< git: branch or tag (default: the remote's HEAD)
    std::string subdirectory;           ///< git: keep only this subtree ("" = all)
    bool submodules = false;            ///< git: clone recursively
    std::vector<std::string> remove_dirs;
    std::vector<std::string> remove_files;
};

/// One entry of `builds:`.
struct ChannelBuildSpec {
    std::vector<std::string> architectures;
    std::optional<std::string> compile_script;
    std::optional<std::string> test_script;
    std::optional<std::vector<ChannelPath>> paths;  ///< replaces the top-level `paths`
};

/// A release folder, checked.
struct ChannelRecipe {
    std::string subject;  ///< "<name>: <name>/<release>/mip.yaml", for errors and logs
    std::string release;  ///< the folder's name
    PackageSpec base;     ///< name, version (release rules applied), description, links, deps
    std::vector<ChannelPath> paths;
    std::vector<std::pair<std::string, std::vector<ChannelPath>>> extra_paths;  ///< sorted
    std::vector<ChannelBuildSpec> builds;
    ChannelSource source;
    /// The release folder's other files, copied over the fetched source (`/`-separated, sorted).
    std::vector<std::string> overlay_files;
};

/// The architectures a build may declare (spec §1).
[[nodiscard]] const std::vector<std::string>& channel_architectures();

/// Whether a release name is numeric (`5.7.0`, `2.9`): digits separated by single dots.
[[nodiscard]] bool numeric_release(const std::string& release);

/// Reads and checks `<ctx.recipe_dir>/{mip.yaml,source.yaml}` (the recipe directory is the
/// release folder). Throws `SpecError` naming the package, the file and every bad field;
/// `IoError` when a file cannot be read.
[[nodiscard]] ChannelRecipe read_channel_recipe(const RecipeContext& ctx);

}  // namespace mip::detail
