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

#include <mip/recipe.hpp>
#include <mip/report.hpp>
#include <mip/run_options.hpp>
#include <mip/source_mirror.hpp>
#include <mip/store.hpp>

namespace mip {

/// What only preparing reads. From `RunOptions`: `package` (names or recipe directory names),
/// `shard`, `jobs`, `keep_going`, `dry_run` (decide and report, build nothing),
/// `source_date_epoch`, `base_url` (the cache check over HTTP when there is no store), `ca_file`
/// (source downloads), `environment` (recipes and CI detection), `pass_env` (further variables
/// prescripts and Python recipes see; a credential or invalid name makes `prepare()` throw
/// `SpecError`), the logger and progress.
struct PrepareOptions {
    /// `--recipes`: the directory of recipe directories.
    std::filesystem::path recipes = "packages";
    /// `--output-dir`: where `<wheel>.dir` and `<wheel>.work` go.
    std::filesystem::path output_dir = "build/prepared";
    /// Downloads and git mirrors shared between runs.
    std::filesystem::path cache_dir = "build/cache";
    /// `--force`: skip the cache check; replace existing dirs.
    bool force = false;
    /// `--build-type`: the `BUILD_TYPE` recipes select their builds by.
    std::string build_type = "standard";
    /// The host's platform tag, overridden (`MIP_PLATFORM_TAG`); "" = detect.
    std::string platform_tag_override;
    /// `--recipe-timeout`: seconds a recipe process (Python recipe, prescript) may run.
    std::uint32_t recipe_timeout = 3600;
    /// `--python`: interpreter of the Python recipe worker.
    std::string python = "python3";
    /// `--python-path`: prepended to the worker's PYTHONPATH so `mip_native` and
    /// `mip_build_helpers` import ("" = unchanged).
    std::string python_path;
    /// `--tag-prefix`: prefix of the rewritten version tags (`v` → `v1.2`, `v0.0`); versions
    /// never carry it (prepare-stages §3.8).
    std::string tag_prefix;
    /// `--abbrev`: hex digits of the commit in describe-derived versions (7–40).
    int abbrev = 12;
    /// `--from-lock`: prepare exactly the build a `mip.lock.yaml` records, with its commits,
    /// archive hashes, script_env and epoch; any difference throws `LockMismatch` listing all.
    std::filesystem::path from_lock;
    /// RECIPE_DIR with `from_lock`: the recipe directory ("" = the `recipe/` beside the lock).
    std::filesystem::path recipe_dir;
    /// `--strict-toolchain`: with `from_lock`, a toolchain difference is an error rather than
    /// a warning.
    bool strict_toolchain = false;
    /// Called (on a worker thread) after each declarative git source is cloned and before it is
    /// resolved; tests use it to move upstream mid-run. Empty = nothing.
    std::function<void(const std::string& url)> on_cloned;
    /// `--source-mirror FROM=TO` (repeatable; also `MIP_SOURCE_MIRRORS`): prefix rewrites of
    /// every URL recipes fetch from (zip downloads, git clones, the helpers and, in Python
    /// recipes, their own git clones and `requests` calls); the longest prefix wins. Recorded in
    /// the lock and `build_info.json`; `source` and the cache check keep the original URLs.
    std::vector<SourceMirror> source_mirror;
    /// `--max-download-mib`: MiB one source download may bring (zip bombs, endless bodies).
    std::uint64_t max_download_mib = ArchiveLimits{}.max_download_mib;
    /// `--max-extract-mib`: total uncompressed MiB of one source archive's entries.
    std::uint64_t max_extract_mib = ArchiveLimits{}.max_extract_mib;
    /// `--max-archive-entries`: entries in one source archive.
    std::uint64_t max_archive_entries = ArchiveLimits{}.max_archive_entries;
    /// `--max-compression-ratio`: uncompressed : compressed size of one archive entry of
    /// 1 MiB or more.
    std::uint64_t max_compression_ratio = ArchiveLimits{}.max_compression_ratio;
    /// `--require-https`: refuse plain `http://` source URLs (download_zip, clone_git and the
    /// Python helpers), which are otherwise fetched with a warning and pinned by their sha256 in
    /// the lock.
    bool require_https = false;
};

/// **Example**
/// ```cpp
/// auto store = mip::open_store("build/store");
/// mip::Preparer preparer({.recipes = "packages", .output_dir = "build/prepared"},
///                        {.jobs = 4, .keep_going = true}, store.get());
/// mip::StageReport report = preparer.prepare();
/// ```
///
/// Thread-safety: one `prepare()` at a time per Preparer. It runs `jobs` builds on worker
/// threads; progress events (stage "prepare") run on the calling thread, the logger and
/// `on_cloned` on workers.
class Preparer {
public:
    /// Registers the built-in kinds (`prepare.yaml`, `package.py`, `packages.py`). `store`
    /// holds the published sidecars for the cache check (nullptr: fetch them from
    /// `run.base_url`, or build everything); it must outlive the Preparer.
    explicit Preparer(PrepareOptions options, RunOptions run = {}, Store* store = nullptr);
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
    [[nodiscard]] const RunOptions& run_options() const noexcept;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace mip
