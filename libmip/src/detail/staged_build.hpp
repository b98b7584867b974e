#pragma once
// Private side interface between the Preparer and the built-in declarative recipe kind
// (prepare-stages §3.5–§3.12). A RecipeBuild that also derives from StagedBuild receives the
// stage options (tag prefix, describe length, locked pins) before `resolve()` and reports what
// the lock records afterwards. Other kinds (Python recipes) get generic lock entries.

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "detail/json.hpp"

namespace mip::detail {

struct StageOptions {
    std::string tag_prefix;  ///< `--tag-prefix` (tags only)
    int abbrev = 12;         ///< `--abbrev`
    /// `--from-lock`: the lock's `sources` array (commits and archive hashes come from it).
    std::optional<Json> locked_sources;
    /// Called after each git source is cloned, before resolving (tests move upstream here).
    std::function<void(const std::string& url)> on_cloned;
};

class StagedBuild {
public:
    StagedBuild() = default;
    virtual ~StagedBuild() = default;
    StagedBuild(const StagedBuild&) = delete;  // polymorphic: held by pointer, never sliced
    StagedBuild& operator=(const StagedBuild&) = delete;
    StagedBuild(StagedBuild&&) = delete;
    StagedBuild& operator=(StagedBuild&&) = delete;
    virtual void set_stage_options(const StageOptions& options) = 0;
    /// `sources` entries of the lock (after `resolve()`; submodules after `build()`).
    [[nodiscard]] virtual Json lock_sources() const = 0;
    /// The resolved recipe: the parsed recipe with version, commits, archive hashes and the
    /// reduced script_env set structurally (`set_names` = the script_env names that were set).
    [[nodiscard]] virtual Json resolved_recipe(const std::vector<std::string>& set_names) const = 0;
    /// `recipe` (as written), `git` (derived from describe) or `unspecified`.
    [[nodiscard]] virtual std::string version_source() const = 0;
    /// Messages worth logging (tag rewrites, nested submodules...).
    [[nodiscard]] virtual std::vector<std::string> stage_notes() const = 0;
};

}  // namespace mip::detail
