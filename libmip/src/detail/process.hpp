#pragma once
// Private child-process runner: explicit environment, own process group, timeout that kills the
// whole group, output captured to a string and/or a log file.

#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace mip::detail {

struct Sandbox;

struct ProcessOptions {
    std::vector<std::string> argv;           ///< argv[0] is looked up on the child's PATH
    std::filesystem::path cwd;               ///< "" = inherit
    std::map<std::string, std::string> env;  ///< the child's whole environment
    std::string stdin_data;  ///< fed to stdin, then closed (stdin is /dev/null if empty)
    std::optional<std::filesystem::path> log_file;  ///< also append stdout+stderr here
    std::chrono::seconds timeout{0};      ///< 0 = none; on expiry SIGKILL to the process group
    std::size_t capture_limit = 1 << 20;  ///< keep at most this many trailing bytes of output
    bool separate_stderr = false;         ///< capture stderr apart (into ProcessResult::err)
    /// When it becomes true, the child's process group is killed (checked every 200 ms).
    const std::atomic<bool>* cancel = nullptr;
    /// Runs the child in this sandbox (sandbox.hpp), entered before it drops its privileges.
    const Sandbox* sandbox = nullptr;
};

struct ProcessResult {
    int exit_code = -1;  ///< -1 when killed by a signal
    int signal = 0;
    bool timed_out = false;
    bool cancelled = false;  ///< killed because `cancel` became true
    std::string output;      ///< stdout (+ stderr unless separate_stderr), trailing capture_limit
    std::string err;
    double seconds = 0;
    [[nodiscard]] bool ok() const { return exit_code == 0 && !timed_out; }
    /// "exit status 3", "killed by signal 9", "timed out after 5 s"
    [[nodiscard]] std::string status_text() const;
};

/// Runs a child to completion. Throws IoError if it cannot be started (e.g. not found).
[[nodiscard]] ProcessResult run_process(const ProcessOptions& options);

/// Finds an executable on `path_value` (a PATH string); nullopt if absent.
[[nodiscard]] std::optional<std::filesystem::path> find_executable(const std::string& name,
                                                                   const std::string& path_value);

/// Last `max_lines` lines of a text.
[[nodiscard]] std::string tail_lines(const std::string& text, std::size_t max_lines);

}  // namespace mip::detail
