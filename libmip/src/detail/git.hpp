#pragma once
// Private git runner with config isolation (prepare-stages §3.4): every git child ignores the
// user's and system's config, never prompts, runs in LC_ALL=C / TZ=UTC, and inherits no GIT_*
// variables except GIT_TRACE*.

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "detail/env.hpp"
#include "detail/process.hpp"

namespace mip::detail {

/// The git settings forced on every git child, as (key, value), in order.
[[nodiscard]] const std::vector<std::pair<std::string, std::string>>& forced_git_config();

/// The environment for a git child derived from `base`.
[[nodiscard]] Environment git_environment(const Environment& base);

/// Runs `git <args>` in `cwd`. Returns the result; does not throw on non-zero exit.
[[nodiscard]] ProcessResult run_git(const std::vector<std::string>& args,
                                    const std::filesystem::path& cwd,
                                    const Environment& base,
                                    std::chrono::seconds timeout = std::chrono::seconds{900},
                                    const Environment& extra = {});

/// Like `run_git`, feeding `input` to the child's stdin.
[[nodiscard]] ProcessResult run_git_input(const std::vector<std::string>& args,
                                          const std::filesystem::path& cwd,
                                          const Environment& base,
                                          const std::string& input,
                                          std::chrono::seconds timeout = std::chrono::seconds{900},
                                          const Environment& extra = {});

/// `git --version` → "2.39.5"; nullopt when git is missing or prints something else.
[[nodiscard]] std::optional<std::string> git_version(const Environment& base);

/// Whether a dotted version string is at least `major.minor.patch`.
[[nodiscard]] bool version_at_least(const std::string& version, int major, int minor, int patch);

/// Runs git and returns trimmed stdout; throws BuildError(`what`) with git's output on failure.
std::string git_checked(const std::vector<std::string>& args,
                        const std::filesystem::path& cwd,
                        const Environment& base,
                        const std::string& what,
                        std::chrono::seconds timeout = std::chrono::seconds{900},
                        const Environment& extra = {});

/// Whether `text` is 40 (or 64) lowercase hex digits.
[[nodiscard]] bool is_full_commit_id(const std::string& text);

}  // namespace mip::detail
