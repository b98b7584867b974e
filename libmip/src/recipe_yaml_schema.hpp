#pragma once
/// \file recipe_yaml_schema.hpp
/// Private to the prepare.yaml recipe kind: the recipe read into typed values
/// (`read_prepare_yaml`, recipe_yaml_schema.cpp), which the builds (recipe_yaml.cpp) then run.
/// The schema is the real recipes' (format spec §7(c)): `addpaths` under `prepare:` (canonical;
/// the top level is accepted), builds not selected by `BUILD_TYPE` not held to the tag rules.

#include <optional>
#include <string>
#include <vector>

#include <mip/helpers.hpp>
#include <mip/package_spec.hpp>
#include <mip/recipe.hpp>

namespace mip::detail {

/// `prepare.<kind>`: where the package's files come from.
struct YamlSource {
    std::string kind;  ///< "", "download_zip", "clone_git", "path"
    std::string url;   ///< url, or the recipe-relative path for "path"
    std::string destination;
    std::optional<std::string> sha256;
    bool strip_top_level = false;
    std::optional<std::string> ref;
};

/// One entry of `builds:`.
struct YamlBuildSpec {
    std::string build_type = "standard";
    std::optional<std::string> matlab_tag, abi_tag, platform_tag, compile_script;
    /// The test stage's script (tester.hpp): copied beside mip.json, named in its `test_script`.
    std::optional<std::string> test_script;
};

/// A whole prepare.yaml, checked: every problem of the file is reported at once.
struct YamlRecipe {
    std::string subject;  ///< "<name>: <dir>/prepare.yaml", for errors and logs
    std::string text;     ///< the file as read (the lock's resolved recipe edits its parse)
    PackageSpec base;     ///< metadata shared by every build (tags not set)
    /// recipe | git | auto (absent version: from git describe when a git source exists).
    std::string version_mode;
    YamlSource source;
    std::vector<AddPath> addpaths;
    std::string addpaths_field = "prepare.addpaths";  ///< or "addpaths" (top level)
    std::vector<YamlBuildSpec> builds;                ///< every build; unselected ones unchecked
    std::vector<std::string> extensions;
    std::vector<std::string> keep_prebuilt;
    std::vector<std::string> script_env;  ///< valid, non-credential names, deduplicated
};

/// Reads and checks `<ctx.recipe_dir>/prepare.yaml`. Throws `SpecError` naming the recipe and
/// every bad field, `IoError` when it cannot be read. Logs unselected builds at info level.
[[nodiscard]] YamlRecipe read_prepare_yaml(const RecipeContext& ctx);

}  // namespace mip::detail
