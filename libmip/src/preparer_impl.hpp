#pragma once
// Private to the Preparer (preparer.cpp: the run; preparer_stages.cpp: one build's stages): the
// shared state of a run, one scheduled build (`Job`), and what a build's stages hand on.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <mip/error.hpp>
#include <mip/preparer.hpp>

#include "detail/build_info.hpp"
#include "detail/env.hpp"
#include "detail/failure.hpp"
#include "detail/fs.hpp"
#include "detail/json.hpp"
#include "detail/staged_build.hpp"

namespace mip {

namespace fs = std::filesystem;

namespace prepare {

using detail::Json;

/// One package build scheduled in this run.
struct Job {
    fs::path recipe_dir;
    std::string recipe_file;
    std::unique_ptr<RecipeBuild> build;
    std::string wheel;
    ItemResult result;
    std::string partial;  ///< `<name>.<matlab_tag>-<abi_tag>-<platform_tag>.partial`
    std::string recipe_sha256;
    std::optional<PackageSpec> published;
    std::string cache_note;
    bool ran = false;  ///< reached by the scheduler (else: stopped by an earlier failure)
};

/// Strips `user:password@` from every URL-looking string of a document, except the verbatim
/// original recipe text (which the spec keeps byte for byte, like the recipe/ copy).
void redact_url_credentials(Json& value);

/// `[{url, fetched_from}]` of the fetches that went through a source mirror (URL credentials
/// stripped), for the lock and build_info.json.
[[nodiscard]] Json mirrored_fetches_json(const RecipeBuild& build);

[[nodiscard]] double seconds_since(std::chrono::steady_clock::time_point t0);
using detail::code_of;
using detail::message_of;

/// Byte copy of a recipe directory, modes kept; `.git` skipped; a symlink or special file is a
/// SpecError naming the package and path.
void copy_recipe(const fs::path& from,
                 const fs::path& to,
                 const fs::path& root,
                 const std::string& subject);

/// `{relative path: sha256}` of every file under `root`, bytewise path order.
Json hash_files(const fs::path& root);

/// Every difference between two JSON values, as "path: lock X, now Y" lines.
void diff_json(const Json& lock,
               const Json& now,
               const std::string& path,
               std::vector<std::string>& out);

/// Records stage, command, status and stderr tail in `logs/prepare.log` of the current work dir.
class StageLog {
public:
    void set_dir(const fs::path& work) { work_ = work; }
    void begin(const std::string& stage) {
        stage_ = stage;
        append("stage " + stage);
    }
    [[nodiscard]] const std::string& stage() const { return stage_; }
    void append(const std::string& line) const {
        if (work_.empty()) {
            return;
        }
        try {
            if (created_ != work_) {
                detail::create_dirs(work_ / "logs");
                created_ = work_;
            }
            detail::append_file(work_ / "logs" / "prepare.log", line + "\n");
        } catch (const std::exception&) {  // logging must not mask the real error
        }
    }

private:
    fs::path work_;
    mutable fs::path created_;  ///< the work dir whose logs/ exists
    std::string stage_ = "start";
};

/// What one build's stages hand to each other.
struct BuildRun {
    BuildRun(const Job& job, fs::path out);

    std::chrono::steady_clock::time_point t0 = std::chrono::steady_clock::now();
    fs::path out_dir;
    std::string arch;
    std::string package;
    StageLog log;
    fs::path work;       ///< `<name>.<tags>.partial`, then `<W>.work`
    fs::path stage_dir;  ///< `<W>.work/stage`, renamed to `<W>.dir` at the end
    fs::path final_dir;
    fs::path recipe_copy;
    Json input_files;
    Json recipe_files;
    Json prescript_entry;
    detail::StagedBuild* staged = nullptr;  ///< the declarative build, else nullptr
    const detail::Toolchain* tools = nullptr;
    BuildContext ctx;
    std::string build_type;
    detail::RecipeSource local_source;
    detail::RecipeSource recipe_source;
    Json script_env = Json::object();
    std::vector<std::string> set_names;
    std::int64_t epoch = 0;
    std::string epoch_source;
    Json mirrored;  ///< `mirrored_fetches_json` of the build (metadata), for the lock
};

/// Where a run's recipes are: `--recipes`, or the one recipe directory of `--from-lock`.
// NOLINTNEXTLINE(bugprone-exception-escape): its implicit moves; nlohmann's asserts, not throws.
struct RecipeDirs {
    fs::path recipes_dir;
    std::vector<fs::path> dirs;  ///< sorted
    Json locked_package;         ///< with --from-lock: the lock's `package`
};

/// Phase 1's results so far: the scheduled builds and the names already taken.
struct LoadState {
    std::vector<Job> jobs;
    std::map<std::string, std::string> wheels_seen;    ///< wheel → recipe dir name
    std::map<std::string, std::string> partials_seen;  ///< work area → recipe dir name
};

/// `--package` selection of (recipe dir name, package name).
using Selector = std::function<bool(const std::string& dir_name, const std::string& package)>;

}  // namespace prepare

struct Preparer::Impl {
    using Job = prepare::Job;
    using BuildRun = prepare::BuildRun;
    using StageLog = prepare::StageLog;
    using RecipeDirs = prepare::RecipeDirs;
    using LoadState = prepare::LoadState;
    using Selector = prepare::Selector;
    using Json = detail::Json;
    PrepareOptions options;
    RunOptions run_options;
    Store* store =
        nullptr;  ///< published sidecars for the cache check (nullptr: base_url, or none)
    std::atomic<bool> cancel{false};  ///< set when a progress callback throws: children are killed
    std::map<std::string, std::shared_ptr<RecipeKind>> kinds;  // by file name
    detail::Environment env;
    std::string host_tag;
    std::optional<Json> lock;  ///< the parsed `from_lock`
    /// Sidecars fetched for the cache check in one batch, by key (`<wheel>.mhl.mip.json`),
    /// while the workers do their local work up to the cache decision. One future per key, set
    /// the moment its answer arrives: each decision waits for its own sidecar, not the batch.
    /// The map is filled before the batch starts and only read afterwards. A wheel whose name
    /// changes once its sources are pinned is not in here and is fetched on its own.
    std::map<std::string, std::shared_future<GetResult>> prefetched;
    std::shared_future<void> prefetch_done;  ///< the whole batch (joined before prepare returns)
    std::once_flag toolchain_once;
    detail::Toolchain toolchain;
    /// The recipe repositories' HEAD facts, asked of git once per repository per run.
    detail::RecipeRepoCache recipe_repos;

    /// The toolchain probes (git, octave, cc, ... --version: ~0.1 s of processes) start with
    /// the run and overlap the cache check's requests.
    std::future<detail::Toolchain> toolchain_probe;
    bool toolchain_started = false;

    /// The run's environment, host tag and toolchain probe; checks `abbrev`.
    void start_run();
    /// The recipe directories of this run (reads and checks the lock with `from_lock`).
    [[nodiscard]] RecipeDirs recipe_dirs();
    /// Adds `dir` to `dirs` when it is a recipe directory, else its channel release folders.
    void add_recipe_dir(const fs::path& dir, std::vector<fs::path>& dirs) const;
    /// Phase 1 for one recipe directory: its selected builds become jobs (or failed items).
    void load_recipe_dir(const fs::path& dir,
                         const RecipeDirs& found,
                         Selector& selected,
                         LoadState& state);
    /// Starts reading the published sidecars of every job (one batch, own thread; a future per
    /// key in `prefetched`).
    void start_prefetch(const std::vector<Job>& jobs);
    /// Phases 2–3: every job's stages on `jobs` workers, progress on this thread.
    void run_jobs(std::vector<Job>& jobs);

    const detail::Toolchain& probed_toolchain();
    [[nodiscard]] std::optional<std::int64_t> explicit_epoch() const;
    [[nodiscard]] Json ci_run_url(const std::string& build_type) const;
    /// The environment recipe code sees (§3.9): pass-through names, fixed values, script_env.
    [[nodiscard]] detail::Environment minimal_environment(const std::string& arch,
                                                          std::optional<std::int64_t> epoch) const;
    std::optional<PackageSpec> fetch_published(const PackageSpec& spec, std::string& note) const;
    /// What a recipe kind knows when it loads the recipe in `recipe_dir`.
    [[nodiscard]] RecipeContext recipe_context(const fs::path& recipe_dir) const;
    /// The lock's value for `key`, or null.
    [[nodiscard]] Json lock_value(const std::string& key) const;
    void run_prescript(const fs::path& work,
                       const std::string& arch,
                       StageLog& log,
                       Json& prescript_entry) const;
    /// Re-reads the recipe from the work area's copy (after a prescript) and picks this build.
    [[nodiscard]] std::unique_ptr<RecipeBuild> reload(const Job& job,
                                                      const fs::path& recipe_copy) const;

    /// Runs every stage of one build (prepare-stages §2–§3.12), one function per stage below;
    /// a failure anywhere is recorded in `job.result` (never thrown).
    void run(Job& job);
    /// A dry run's decision: nothing fetched, no recipe code run, nothing under the build dir.
    void plan(Job& job);
    void stage_partial(Job& job, BuildRun& r) const;
    void stage_recipe(Job& job, BuildRun& r) const;
    void stage_prescript(Job& job, BuildRun& r) const;
    void stage_toolchain(BuildRun& r);
    void stage_sources(Job& job, BuildRun& r);
    void stage_build_info(Job& job, BuildRun& r);
    void stage_work_area(Job& job, BuildRun& r) const;
    void stage_script_env(Job& job, BuildRun& r) const;
    [[nodiscard]] std::pair<std::int64_t, std::string> epoch_of(const Job& job,
                                                                const BuildRun& r) const;
    void stage_build(Job& job, BuildRun& r) const;
    [[nodiscard]] bool stage_metadata(Job& job, BuildRun& r) const;
    void stage_lock(Job& job, BuildRun& r) const;
    void stage_rename(Job& job, BuildRun& r) const;
    void fail_build(Job& job, BuildRun& r) const;
    [[nodiscard]] BuildContext context_for(const Job& job, const fs::path& work, bool staged) const;
    /// The cache decision: true = build. Fills status for skips and dry runs.
    bool decide(Job& job);
    void fill_build_info(Job& job,
                         PackageSpec& spec,
                         const detail::RecipeSource& source,
                         const std::string& build_type,
                         std::int64_t epoch,
                         const std::string& epoch_source) const;
    Json lock_document(const Job& job,
                       detail::StagedBuild* staged,
                       const std::vector<std::string>& set_names,
                       const Json& script_env,
                       std::int64_t epoch,
                       const std::string& epoch_source,
                       const detail::Toolchain& tc,
                       const Json& prescript_entry,
                       const Json& input_files,
                       const Json& recipe_files) const;
    /// §3.12: every difference from the lock is a LockMismatch; toolchain ones warn unless strict.
    void compare_with_lock(const Json& doc, const std::string& package) const;
};

}  // namespace mip
