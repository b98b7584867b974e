#pragma once
/// \file helpers.hpp
/// Recipe helper functions (§8 of the format spec), the C++ side of `mip_build_helpers`.
/// Used by the declarative recipe kind and bound 1:1 in `mip_native`.
///
/// **Example**
/// ```cpp
/// auto sha = mip::download_and_extract_zip("https://example.org/src.zip", work / "src",
///                                          {.strip_top_level = true});
/// auto symbols = mip::collect_exposed_symbols(work / "src");
/// ```
///
/// Each function says what it throws (`SpecError`, `IoError`, `ArchiveError`, `NetworkError`,
/// `BuildError`). They share no state: calls on different directories may run on several threads.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <mip/archive_limits.hpp>
#include <mip/log.hpp>

namespace mip {

struct CloneOptions {
    std::optional<std::string> ref;  ///< branch, tag or commit; nullopt = default branch
    std::uint32_t timeout_seconds = 900;
    Logger logger;
};

struct CloneResult {
    std::string commit;            ///< 40 hex
    std::int64_t commit_time = 0;  ///< committer time, seconds since the epoch
};

/// `git clone` (shallow unless `ref` is a commit) with isolated git config, no prompts,
/// `LC_ALL=C`, `TZ=UTC`; records HEAD, then removes every `.git`. A non-empty `clone_dir` is an
/// error (`SpecError`); git failures are `BuildError` with git's stderr.
CloneResult clone_repository_and_remove_git(const std::string& repository_url,
                                            const std::filesystem::path& clone_dir,
                                            const CloneOptions& options = {});

struct DownloadOptions {
    std::optional<std::string> sha256;  ///< expected hex digest, checked before extraction
    bool strip_top_level = false;
    std::uint32_t timeout_seconds = 900;
    unsigned retries = 3;
    std::filesystem::path cache_dir;  ///< where the archive is kept ("" = a private temp dir)
    ArchiveLimits limits;             ///< download size, extracted size, entries, ratio
    Logger logger;
};

/// Downloads a zip (`https://`, `file://`; `http://` warns) into a private temp dir (never the
/// cwd), verifies `sha256`, refuses unsafe entries before writing anything, extracts into
/// `extract_dir`. Returns the archive's hex sha256.
std::string download_and_extract_zip(const std::string& url,
                                     const std::filesystem::path& extract_dir,
                                     const DownloadOptions& options = {});

/// Top-level symbols of `base_dir`: files ending in one of `extensions` give their stem,
/// `+pkg`/`@cls` dirs give `pkg`/`cls`; non-identifiers and duplicates dropped; sorted bytewise.
[[nodiscard]] std::vector<std::string> collect_exposed_symbols(
    const std::filesystem::path& base_dir, const std::vector<std::string>& extensions = {".m"});

/// Sorted union of `collect_exposed_symbols` over `base_dir / path` for each path.
[[nodiscard]] std::vector<std::string> collect_exposed_symbols_multiple_paths(
    const std::filesystem::path& base_dir,
    const std::vector<std::string>& paths,
    const std::vector<std::string>& extensions = {".m"});

/// Symbols of every directory below `package_dir / base_path` (inclusive), pruning
/// `exclude_dirs`, `+…`, `@…`, `private`, `.git`.
[[nodiscard]] std::vector<std::string> collect_exposed_symbols_recursive(
    const std::filesystem::path& package_dir,
    const std::string& base_path,
    const std::vector<std::string>& exclude_dirs = {});

/// Writes `load_package.m` / `unload_package.m` (§8): one `addpath` line per dir, in order;
/// unload reversed with `rmpath`. Dirs must lie inside `mhl_dir` (`SpecError` otherwise).
void create_load_and_unload_scripts(const std::filesystem::path& mhl_dir,
                                    const std::vector<std::string>& dirs_to_add_to_path);

/// Every directory strictly below `base_dir` (relative to `mhl_dir`, `/`-separated, sorted),
/// pruning `exclude_dirs` and `.git`, `private`, `+…`, `@…`.
[[nodiscard]] std::vector<std::string> generate_recursive_subdir_list(
    const std::filesystem::path& mhl_dir,
    const std::filesystem::path& base_dir,
    const std::vector<std::string>& exclude_dirs = {});

/// Removes prebuilt binaries (§9): always MEX files; with `compiled` also objects and shared
/// libraries. Case-insensitive; paths (relative, `/`) in `keep` are spared. Returns the removed
/// relative paths, sorted.
std::vector<std::string> strip_prebuilt_binaries(const std::filesystem::path& base_dir,
                                                 bool compiled = true,
                                                 const std::vector<std::string>& keep = {});

/// Expands `addpaths` items (§7) relative to `mhl_dir`: a recursive item gives its path plus
/// every directory below it containing a `.m` file (sorted, pruning `exclude`, `.git`,
/// `private`, `+…`, `@…`). Duplicates dropped. Missing paths → `SpecError`.
struct AddPath {
    std::string path;
    bool recursive = false;
    std::vector<std::string> exclude;
    bool operator==(const AddPath&) const = default;
};
[[nodiscard]] std::vector<std::string> expand_addpaths(const std::filesystem::path& mhl_dir,
                                                       const std::vector<AddPath>& items);

}  // namespace mip
