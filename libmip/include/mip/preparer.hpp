#pragma once
/// \file preparer.hpp
/// `Preparer`: runs every recipe under a packages directory into `<output>/<wheel>.dir/`
/// (package contents, load/unload scripts, mip.json), skipping packages whose published
/// metadata matches (the cache check).

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <mip/log.hpp>
#include <mip/progress.hpp>
#include <mip/recipe.hpp>
#include <mip/report.hpp>
#include <mip/shard.hpp>
#include <mip/source_mirror.hpp>
#include <mip/store.hpp>

namespace mip {

struct PrepareOptions {
    std::filesystem::path recipes_dir = "packages";
    std::filesystem::path output_dir = "build/prepared";
    std::filesystem::path cache_dir = "build/cache";
    std::vector<std::string> packages;  ///< only these (names or recipe dir names); empty = all
    bool force = false;                 ///< skip the cache check; replace existing dirs
    bool dry_run = false;               ///< decide and report, build nothing
    bool keep_going = false;            ///< carry on after a failure
    std::string build_type = "standard";
    unsigned jobs = 1;
    std::optional<Shard> shard;
    std::optional<std::int64_t> source_date_epoch;
    std::string platform_tag_override;  ///< MIP_PLATFORM_TAG
    /// Store holding published sidecars for the cache check (nullptr = use `base_url`, or none).
    Store* store = nullptr;
    /// Public URL of the published packages; used for the cache check when `store` is null.
    std::string base_url;
    std::uint32_t recipe_timeout_seconds = 3600;
    std::string ca_file;  ///< CA bundle for source downloads ("" = the system's)
    /// Environment for recipes and CI detection; nullopt = this process's environment.
    std::optional<std::map<std::string, std::string>> environment;
    PythonRecipeOptions python;
    /// `--tag-prefix`: prefix of the rewritten version tags (`v` → `v1.2`, `v0.0`); versions
    /// never carry it (prepare-stages §3.8).
    std::string tag_prefix;
    /// `--abbrev`: hex digits of the commit in describe-derived versions (7–40).
    int abbrev = 12;
    /// `--from-lock`: prepare exactly the build a `mip.lock.yaml` records, with its commits,
    /// archive hashes, script_env and epoch; any difference throws `LockMismatch` listing all.
    std::filesystem::path from_lock;
    /// With `from_lock`: the recipe directory ("" = the `recipe/` beside the lock).
    std::filesystem::path lock_recipe_dir;
    /// With `from_lock`: a toolchain difference is an error rather than a warning.
    bool strict_toolchain = false;
    /// Called (on a worker thread) after each declarative git source is cloned and before it is
    /// resolved; tests use it to move upstream mid-run. Empty = nothing.
    std::function<void(const std::string& url)> on_cloned;
    /// `--source-mirror FROM=TO`: prefix rewrites of every URL recipes fetch from (zip downloads,
    /// git clones, the helpers and, in Python recipes, their own git clones and `requests`
    /// calls); the longest prefix wins. Recorded in the lock and `build_info.json`; `source` and
    /// the cache check keep the original URLs.
    std::vector<SourceMirror> source_mirrors;
    /// `--pass-env NAME`: further variables recipe processes (prescripts, Python recipes) may
    /// see. A credential name or an invalid name makes `prepare()` throw `SpecError`.
    std::vector<std::string> pass_env;
    Logger logger;
    ProgressCallback progress;
    std::chrono::milliseconds progress_interval = default_progress_interval;
};

class Preparer {
public:
    /// Registers the built-in kinds (`prepare.yaml`, `package.py`, `packages.py`).
    explicit Preparer(PrepareOptions options);
    ~Preparer();
    Preparer(const Preparer&) = delete;
    Preparer& operator=(const Preparer&) = delete;
    Preparer(Preparer&&) noexcept;
    Preparer& operator=(Preparer&&) noexcept;

    /// Adds (or replaces, by file name) a recipe kind.
    void add_recipe_kind(std::shared_ptr<RecipeKind> kind);

    /// Runs every selected recipe through the stages of prepare-stages.md: work area
    /// (`<name>.<tags>.partial` → `<W>.work`), recipe copy, prescript, build info, sources
    /// (clone, resolve, tags, describe), script_env, SOURCE_DATE_EPOCH, build, lock, and one final
    /// rename of `stage/` to `<W>.dir`. Per-item failures are in the report; throws only when the
    /// run cannot start (missing recipes dir: `IoError`; unknown `--package`: `SpecError`; an
    /// unreadable or unmatched lock: `SpecError`/`LockMismatch`) or is cancelled. With
    /// `from_lock`, a mismatch is a failed item whose code is `lock_mismatch`. Stops at the first
    /// failure unless `keep_going`; skipped packages never stop the rest.
    [[nodiscard]] StageReport prepare();

    [[nodiscard]] const PrepareOptions& options() const noexcept;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace mip
