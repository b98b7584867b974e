#pragma once
// Helpers for the C++ tests: temporary directories, file writing, running the built CLI.

#include <filesystem>
#include <map>
#include <string>

#include <mip/preparer.hpp>

namespace mip::test {

namespace fs = std::filesystem;

/// A fresh directory under the system temp dir, removed at scope exit.
class TempDir {
public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    TempDir(TempDir&&) = delete;
    TempDir& operator=(TempDir&&) = delete;
    [[nodiscard]] const fs::path& path() const { return path_; }
    [[nodiscard]] fs::path operator/(const std::string& rel) const { return path_ / rel; }

private:
    fs::path path_;
};

/// Writes `content` to `path`, creating parent directories.
void write_file(const fs::path& path, const std::string& content, bool executable = false);
[[nodiscard]] std::string read_file(const fs::path& path);

/// Creates a minimal valid prepared `<wheel>.dir` (mip.json, load/unload scripts, one .m file).
fs::path make_prepared_dir(const fs::path& parent,
                           const std::string& name,
                           const std::string& version = "1.0.0");

/// A Preparer's own options and the shared block in one value, so a test sets `o.build_type`
/// and `o.environment` alike; `preparer_for(o)` hands each to the Preparer.
struct PrepareSetup : PrepareOptions, RunOptions {
    Store* store = nullptr;
};
[[nodiscard]] Preparer preparer_for(const PrepareSetup& setup);

/// Path of the repository's examples/packages.
[[nodiscard]] fs::path examples_dir();

/// The environment of this process as a map (for options' `environment`).
[[nodiscard]] std::map<std::string, std::string> environment();

}  // namespace mip::test
