#pragma once
/// \file tester.hpp
/// `Tester`: the test stage between bundle and upload. Every bundled `<wheel>.mhl` is installed
/// the way a client installs it into a fresh temporary root, loaded in MATLAB or GNU Octave, and
/// tested; its binaries are checked. A package that fails is marked (`<wheel>.mhl.test-failed`
/// beside the bundle), and the `Uploader` refuses a bundle whose marker names its digest.
///
/// Per package, in order (docs/testing.md, "The test stage"):
///
/// 1. **Install** as the client does. R2-era archives: `<root>/packages/<name>/`, loaded by
///    running its `load_package.m`. Dependencies (by name, recursively, dependencies first) come
///    from the same `input_dir` (host platform tag first, then `any`), else from the `store`
///    when one is given (its published bundles, fetched once per run). The layout is one small
///    function per archive format (`detail/test_install.hpp`).
/// 2. **Binary checks** on every ELF file of the archive: the highest `GLIBC_x.y` version it
///    needs must not exceed `glibc_floor`; every `NEEDED` library must be in the package or among
///    the system libraries a MATLAB/Octave install provides.
/// 3. **Run** the engine with a clean path, `HOME`, `TMPDIR` and cwd inside the root, and:
///    the archive's `test_script` (mip.json; a `.m` at the package root), else each of its
///    `usage_examples` as a smoke test (lines `mip load …`/`mip install …` are done by the
///    harness), else only the load. `test_timeout` kills the engine's process group.
/// 4. **MEX coverage**: every MEX file the archive ships must have been loaded during the run
///    (an `LD_AUDIT` library records each object the engine maps).
///
/// The engine's whole output goes to `<work_dir>/<wheel>.work/test.log`. The temporary root is
/// always removed.
///
/// **Example**
/// ```cpp
/// mip::Tester tester({.input_dir = "build/bundled", .engine = "octave"}, {.jobs = 2});
/// mip::StageReport report = tester.test();
/// if (const auto* f = report.first_failure()) { /* f->detail names the file and first error */ }
/// ```
///
/// Thread-safety: one `test()` at a time per Tester; it runs `jobs` engines on worker threads.
/// Progress events (stage "test") run on the calling thread; the logger may be called from
/// worker threads.

#include <cstdint>
#include <filesystem>
#include <string>

#include <mip/report.hpp>
#include <mip/run_options.hpp>
#include <mip/store.hpp>

namespace mip {

/// `--test`: whether `publish` runs the test stage.
enum class TestMode {
    skip,    ///< no test stage (every bundle is uploaded as before)
    native,  ///< test with the engine on this machine
};

[[nodiscard]] const char* to_string(TestMode mode) noexcept;

/// What only the test stage reads. From `RunOptions`: `package`, `shard`, `jobs`, `keep_going`,
/// `dry_run`, `environment` (`PATH` searched for the engine, pass-through values), the logger
/// and progress.
struct TestOptions {
    /// `--input-dir`: the bundled `.mhl` files and their sidecars.
    std::filesystem::path input_dir = "build/bundled";
    /// `--work-dir`: `<wheel>.work/test.log` goes here (the prepare stage's directory).
    std::filesystem::path work_dir = "build/prepared";
    /// `--test`: `publish` only; `mip-build test` always tests.
    TestMode test = TestMode::native;
    /// `--test-engine`: "auto", "matlab", "octave" or a path to either.
    std::string test_engine = "auto";
    /// `--test-timeout`: seconds per package; a timeout kills the engine's process group.
    std::uint32_t test_timeout = 600;
    /// `--glibc-floor`: the newest `GLIBC_x.y` symbol version a shipped binary may need.
    std::string glibc_floor = "2.28";
    /// `--audit-library`: the `LD_AUDIT` library recording loaded MEX files; "" = the one
    /// installed with libmip (its configured `<libdir>/libmip/`, else `<libdir>/libmip/` beside
    /// the running program's `bin/`, else the one in libmip's build tree).
    std::filesystem::path audit_library{};
    /// `--no-sandbox`: run the engine without the sandbox (no namespaces: compilers usable,
    /// writes outside the root and leftover processes not caught). For hosts without mount
    /// and PID namespaces.
    bool no_sandbox = false;
};

class Tester {
public:
    /// `store` (may be null; must outlive the Tester): where dependencies not bundled in this
    /// run are fetched from (`run_publish` passes its store).
    explicit Tester(TestOptions options, RunOptions run = {}, Store* store = nullptr);

    /// Tests every selected `<wheel>.mhl` of `input_dir` (sorted; selection as the uploader's).
    /// Per item: `done` ("passed: <what ran>", `seconds` = the engine's run), `failed`
    /// (`build_failed`: the test errored, timed out, left a MEX untested, or a binary check
    /// failed; `invalid_spec`: unreadable metadata, a missing dependency or `test_script`; the
    /// detail names the file and the first error line), `skipped` ("not run: an earlier package
    /// failed", unless `keep_going`), `planned` (dry run). A passing test removes a stale
    /// `.test-failed` marker; a failing one writes it. A missing `input_dir` is nothing to test.
    ///
    /// Throws `SpecError` when no engine is found and there is work (a dry run only warns), or
    /// for a malformed `glibc_floor`; rethrows what the progress callback throws (after running
    /// engines were killed).
    [[nodiscard]] StageReport test();

    [[nodiscard]] const TestOptions& options() const noexcept { return options_; }
    [[nodiscard]] const RunOptions& run_options() const noexcept { return run_; }

    /// The marker a failed test leaves beside `mhl` (`<wheel>.mhl.test-failed`).
    [[nodiscard]] static std::filesystem::path failure_marker(const std::filesystem::path& mhl);

private:
    TestOptions options_;
    RunOptions run_;
    Store* store_ = nullptr;
};

}  // namespace mip
