#pragma once
/// \file compiler.hpp
/// `Compiler`: runs each prepared package's compile script (`compile_script`, else `compile.m`)
/// with MATLAB, or GNU Octave where MATLAB is absent, inside its `.dir`; records
/// `compile_duration` and `build_info.compile_engine` in mip.json (through the JSON library).
///
/// Per package, in its own engine process:
///
/// - cwd is the absolute `.dir`; MATLAB runs `matlab -batch "cd('<dir>'); <stem>"`, Octave runs
///   `octave-cli --norc --no-history --eval "cd('<dir>'); <stem>"` (`'` in paths doubled);
/// - the environment is exactly the pass-through names (`PATH HOME USER USERNAME LOGNAME TMPDIR
///   TMP TEMP SYSTEMROOT SYSTEMDRIVE WINDIR COMSPEC PATHEXT MLM_LICENSE_FILE LM_LICENSE_FILE` and
///   `RunOptions::pass_env`) taken from `RunOptions::environment`, fixed `TZ=UTC`,
///   `SOURCE_DATE_EPOCH` (mip.json `build_info.source_date_epoch`, when set) and
///   `TOOLCHAIN_ARCH` (= `platform_tag`), then the pairs of `<wheel>.work/script_env.json`
///   (which may override pass-through values, never the fixed ones);
/// - stale MEX binaries in the `.dir` (`.mexa64 .mexglx .mexmaci64 .mexmaca64 .mexmac .mexw64
///   .mexw32 .mex .oct`, any case) are removed first, unless listed in mip.json `keep_prebuilt`;
/// - the engine's whole output goes to `<wheel>.work/compile.log`; a timeout kills the engine's
///   process group.
///
/// **Example**
/// ```cpp
/// mip::Compiler compiler({.input_dir = "build/prepared", .engine = "octave"}, {.jobs = 2});
/// mip::StageReport report = compiler.compile();
/// if (!report.ok()) { /* report.first_failure()->detail holds the engine's output tail */ }
/// ```
///
/// Thread-safety: one `compile()` at a time per Compiler; it runs `jobs` engines on worker
/// threads. `find_compile_engine` is thread-safe.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <mip/report.hpp>
#include <mip/run_options.hpp>

namespace mip {

/// What only compiling reads. From `RunOptions`: `package` (names compared as clients do),
/// `shard`, `jobs` (packages compiled at once), `keep_going`, `dry_run` (list what would run,
/// run nothing), `environment` (pass-through values and the `PATH` searched for the engine),
/// the logger and progress.
struct CompileOptions {
    /// `--input-dir`: the prepared `<wheel>.dir` directories.
    std::filesystem::path input_dir = "build/prepared";
    /// `--engine`: "auto", "matlab", "octave" or a path to either.
    std::string engine = "auto";
    /// `--compile-timeout`: seconds per package; a timeout kills the engine's process group.
    std::uint32_t compile_timeout = 3600;
};

enum class EngineKind { matlab, octave };

[[nodiscard]] const char* to_string(EngineKind kind) noexcept;

/// A located compile engine.
struct CompileEngine {
    EngineKind kind = EngineKind::octave;
    std::filesystem::path executable;  ///< absolute
    std::string version;               ///< "7.3.0", "R2024a"; "" when it could not be probed

    /// What mip.json `build_info.compile_engine` records: "octave 7.3.0", "matlab R2024a"
    /// (just "octave"/"matlab" when the version is unknown).
    [[nodiscard]] std::string description() const;
    /// The engine's argv for running `script_stem` in `dir` (absolute).
    [[nodiscard]] std::vector<std::string> command(const std::filesystem::path& dir,
                                                   const std::string& script_stem) const;
    bool operator==(const CompileEngine&) const = default;
};

/// Locates the engine named by `engine` ("auto": `matlab`, else `octave-cli`; "matlab";
/// "octave"; or a path, whose base name decides the kind) on the `PATH` of `environment`, and,
/// when `probe_version`, reads its version: `octave-cli --version` (10 s limit), or MATLAB's
/// `VersionInfo.xml` under the installation root (MATLAB is not started). Throws `SpecError`
/// naming the programs and `PATH` directories searched when nothing is found. Thread-safe.
[[nodiscard]] CompileEngine find_compile_engine(
    const std::string& engine,
    const std::map<std::string, std::string>& environment,
    bool probe_version = true);

class Compiler {
public:
    explicit Compiler(CompileOptions options, RunOptions run = {});

    /// Compiles every candidate: each `<wheel>.dir` under `input_dir` whose root holds its
    /// mip.json `compile_script`, else `compile.m`; sorted by name, filtered by `packages`
    /// (names compared as clients do: lower case, `-` = `_`) and `shard`. A missing
    /// `input_dir` means nothing to compile (an empty report), as for bundle.
    ///
    /// Per-item results are in the report: `done` (mip.json updated, a stale
    /// `<wheel>.work/compile.failed` removed), `failed` (`build_failed` for a script error,
    /// timeout or crash, with the output's tail in `detail`; the `.dir` is kept and
    /// `<wheel>.work/compile.failed` holds the reason; `invalid_spec` for unreadable metadata),
    /// `skipped` ("not run: an earlier package failed", unless `keep_going`), `planned` (dry run).
    ///
    /// Throws `SpecError` when no engine is found (naming what was searched) and there is work
    /// to do (a dry run only logs a warning); rethrows whatever the progress callback throws
    /// (after running engines finished). Progress events (stage "compile") run on the calling
    /// thread; the logger may be called from worker threads.
    [[nodiscard]] StageReport compile();

    [[nodiscard]] const CompileOptions& options() const noexcept { return options_; }
    [[nodiscard]] const RunOptions& run_options() const noexcept { return run_; }

private:
    CompileOptions options_;
    RunOptions run_;
};

}  // namespace mip
