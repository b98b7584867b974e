#pragma once
// Private build information (prepare-stages §3.2–§3.3): CI detection from the environment, the
// recipe repository read with isolated git, the toolchain snapshot, and `build_info.json`.

#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "detail/env.hpp"
#include "detail/json.hpp"

namespace mip::detail {

/// `recipe_source` of build_info.json; unknown values stay nullopt (→ null).
struct RecipeSource {
    std::optional<std::string> repo;  ///< remote URL, userinfo stripped
    std::optional<std::string> branch;
    std::optional<std::string> commit;
    std::optional<std::string> describe;
    std::optional<bool> dirty;
    std::optional<std::int64_t> commit_time;  ///< `git log -1 --format=%ct -- .` (epoch fallback)
    bool operator==(const RecipeSource&) const = default;
};

/// The CI a build runs under: `github_actions` if `GITHUB_ACTIONS=true`, else `travis` if
/// `TRAVIS=true`, else `local`.
[[nodiscard]] std::string detect_build_type(const Environment& env);

/// Repository-wide facts (HEAD commit, remote, branch, describe) by repository top level, so
/// that preparing many recipes of one repository asks git once for them (one cache per run:
/// the repository may move on between runs). Thread-safe.
struct RecipeRepoCache {
    std::mutex mutex;
    std::map<std::filesystem::path, RecipeSource> by_top_level;
};

/// The recipe's repository read with isolated git in `recipe_dir` (local builds): nulls when there
/// is no repository or no git; `warning` set then. With a cache, the repository-wide facts are
/// reused; the per-directory ones (`dirty`, `commit_time`) are always read.
[[nodiscard]] RecipeSource local_recipe_source(const std::filesystem::path& recipe_dir,
                                               int abbrev,
                                               const Environment& env,
                                               std::string& warning,
                                               RecipeRepoCache* cache = nullptr);

/// `recipe_source` for the detected CI, overriding repo/branch/commit with the CI's variables
/// exactly as §3.2 lists them; local values are kept for `local` and for describe/dirty.
[[nodiscard]] RecipeSource ci_recipe_source(const std::string& build_type,
                                            RecipeSource local,
                                            const Environment& env);

/// The `github_actions` or `travis` object (verbatim strings; unset or empty → null); null for
/// local builds.
[[nodiscard]] Json ci_object(const std::string& build_type, const Environment& env);

/// `{mip_build, libzip, git, matlab{release,version}, octave, compiler}`.
struct Toolchain {
    std::optional<std::string> mip_build;
    std::optional<std::string> libzip;
    std::optional<std::string> git;
    std::optional<std::string> matlab_release;
    std::optional<std::string> matlab_version;
    std::optional<std::string> octave;
    std::optional<std::string> compiler;
    bool operator==(const Toolchain&) const = default;
};

/// Probes the tools (10 s each): `git --version`; `VersionInfo.xml` under the root of the `matlab`
/// on PATH (not started); `octave-cli --version`; `$CC --version` (`cc`).
[[nodiscard]] Toolchain probe_toolchain(const Environment& env);

[[nodiscard]] Json toolchain_json(const Toolchain& toolchain);
[[nodiscard]] Toolchain toolchain_from_json(const Json& json);

/// `%Y%m%d_%H%M%S` in UTC.
[[nodiscard]] std::string compact_date(std::int64_t epoch);

/// The whole `build_info.json` document, keys in §3.2 order.
[[nodiscard]] Json build_info_document(const std::string& build_type,
                                       const RecipeSource& source,
                                       const Environment& env,
                                       const std::string& toolchain_arch,
                                       std::int64_t source_date_epoch,
                                       const Toolchain& toolchain);

}  // namespace mip::detail
