// The worker process of Python recipes: its environment, one run of
// `python -m mip_build_helpers._worker`, and the errors of a worker that failed.
// Internal to recipe_python.cpp (split out to keep each file to one concern).
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <mip/recipe.hpp>

#include "detail/json.hpp"
#include "detail/process.hpp"

namespace mip::detail::python_worker {

namespace fs = std::filesystem;

struct WorkerSetup {
    PythonRecipeOptions options;
    std::string file_name;  // "package.py" or "packages.py"
};

/// What a recipe process sees besides the caller's environment.
struct WorkerEnvironment {
    std::string build_type;
    fs::path recipe_dir;
    std::vector<std::string> script_env;
    std::vector<std::string> pass_env;  ///< --pass-env (checked by the Preparer)
    std::vector<SourceMirror> mirrors;
    fs::path tmp_dir;              ///< "" = the caller's TMPDIR
    ArchiveLimits archive_limits;  ///< for the helpers' downloads (MIP_ARCHIVE_LIMITS)
    bool require_https = false;    ///< the helpers refuse http:// (MIP_REQUIRE_HTTPS)
};

struct WorkerOutcome {
    detail::ProcessResult process;
    std::optional<Json> result;  // nullopt when the worker wrote none
};

/// The recipe process's environment: a pass-through subset of `env`, the `--pass-env` names,
/// fixed variables, PYTHONPATH, isolated git config (with the source mirrors as `insteadOf`),
/// then the declared script_env values.
[[nodiscard]] std::map<std::string, std::string> worker_environment(
    const WorkerSetup& setup,
    const std::map<std::string, std::string>& env,
    const WorkerEnvironment& w);

/// Runs the worker with `args` (+ `--result <result_path>`); its JSON answer when it wrote one.
WorkerOutcome run_worker(const WorkerSetup& setup,
                         std::vector<std::string> args,
                         // NOLINTNEXTLINE(bugprone-easily-swappable-parameters)
                         const fs::path& result_path,
                         const fs::path& cwd,
                         std::map<std::string, std::string> env,
                         std::chrono::seconds timeout,
                         std::optional<fs::path> log_file,
                         const std::atomic<bool>* cancel = nullptr);

/// Turns a worker that produced no usable result into a BuildError.
[[noreturn]] void throw_worker_failure(const std::string& package,
                                       const std::string& what,
                                       const WorkerOutcome& outcome,
                                       const std::chrono::seconds timeout,
                                       const std::string& log_hint);

/// The BuildError for a recipe that raised (`error`: the worker's phase, type, message, traceback).
[[noreturn]] void throw_recipe_raised(const std::string& package,
                                      const std::string& file,
                                      const Json& error,
                                      const std::string& log_hint);

}  // namespace mip::detail::python_worker
