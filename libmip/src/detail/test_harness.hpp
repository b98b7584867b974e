#pragma once
// Private (tester.hpp): the MATLAB/Octave script that loads a package the client's way and runs
// its test, and reading the first error back out of the engine's output.

#include <filesystem>
#include <string>
#include <vector>

namespace mip::detail {

/// What a package's test runs.
struct TestPlan {
    std::vector<std::string> loads;  ///< load statements, dependencies first, the package last
    std::string package;
    std::string test_script;            ///< absolute path of the test script, or ""
    std::string test_script_name;       ///< as mip.json names it (for messages)
    std::vector<std::string> examples;  ///< usage_examples (used without a test_script)
};

/// Every line the engine prints about the harness starts with this.
inline constexpr const char* harness_prefix = "mip-test: ";

/// Writes `mip_test_harness.m` (and one `mip_example_<i>.m` per usage example, `mip load` /
/// `mip install` lines turned into comments) into `dir`; returns what the test runs, for
/// messages ("test_script test_foo.m", "2 usage examples", "load only").
std::string write_harness(const TestPlan& plan, const std::filesystem::path& dir);

/// The first `mip-test: error: …` line of `output` without the prefix, else the first line
/// starting with `error:` (Octave) or `Error` (MATLAB), else "".
[[nodiscard]] std::string first_error_line(const std::string& output);

/// `snippet` with each `mip load …` / `mip install …` line made a comment (the harness loads).
[[nodiscard]] std::string strip_mip_commands(const std::string& snippet);

}  // namespace mip::detail
