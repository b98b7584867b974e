#pragma once
// Private file-system helpers: atomic writes, temp dirs, tree hashes. Errors are mip::IoError.

#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace mip::detail {

namespace fs = std::filesystem;

/// Whole file as bytes. IoError naming the path on failure.
[[nodiscard]] std::string read_file(const fs::path& path);

/// Writes `data` to a temp file beside `path`, fsyncs it (if `durable`), renames it over `path`
/// and fsyncs the directory. Readers see the old or the new file, never a partial one.
void write_file_atomic(const fs::path& path,
                       std::string_view data,
                       bool durable = true,
                       unsigned mode = 0644);

/// Writes all `size` bytes to `fd` (retrying EINTR and short writes). Returns the error, or
/// an empty error_code; a write of 0 bytes counts as EIO.
[[nodiscard]] std::error_code write_all(int fd, const void* data, std::size_t size) noexcept;

/// Appends `data` to `path` (created 0644 if missing) with O_APPEND: for logs, not atomic.
void append_file(const fs::path& path, std::string_view data);

/// "<host>-<pid>" of this process (the host name with '-', '/' and '.' as '_'): the part of a
/// temporary name that says whose it is, so a cleanup removes only what a dead process left.
[[nodiscard]] std::string process_tag();
/// Whether `tagged` starts with "<host>-<pid>-" of this host and that pid no longer runs
/// (kill(pid, 0) fails with ESRCH). Other hosts' names and live processes' are false.
[[nodiscard]] bool tagged_by_dead_process(std::string_view tagged);

/// Removes the `.<name>.tmp-*` files in `path`'s directory whose writer is gone (of every
/// target there, not only `path`'s): this host's with a pid that no longer runs, and the untagged
/// `.tmp-<hex>` form of older versions (best effort). A live process's temp (another run writing
/// the same directory) is left alone. Inside a `StaleTempSweepScope` only the first call per
/// directory sweeps it. write_file_atomic() calls it, so a rerun cleans up after a crash.
void remove_stale_temps(const fs::path& path);

/// While at least one lives (in any thread), remove_stale_temps() sweeps each directory once
/// instead of on every call: for a stage writing thousands of files into one directory (bundle,
/// upload), where a sweep per file made the stage quadratic. Outside every scope each call
/// sweeps, so a directory removed and made again (its inode reused) is never taken as swept.
class StaleTempSweepScope {
public:
    StaleTempSweepScope();
    ~StaleTempSweepScope();
    StaleTempSweepScope(const StaleTempSweepScope&) = delete;
    StaleTempSweepScope& operator=(const StaleTempSweepScope&) = delete;
    StaleTempSweepScope(StaleTempSweepScope&&) = delete;
    StaleTempSweepScope& operator=(StaleTempSweepScope&&) = delete;
};

/// A unique sibling temp name for `path`, unique per process and per call
/// ("<dir>/.<name>.tmp-<host>-<pid>-<random>").
[[nodiscard]] fs::path temp_sibling(const fs::path& path);

/// fsync a file or directory (best effort for directories on file systems that refuse).
void fsync_path(const fs::path& path);

/// Removes a tree, ignoring a missing path; IoError on other failures.
void remove_tree(const fs::path& path);

/// `rename(2)` with IoError naming both paths.
void rename_path(const fs::path& from, const fs::path& to);

/// Creates directories; IoError on failure.
void create_dirs(const fs::path& path);

/// Relative path with `/` separators.
[[nodiscard]] std::string relative_generic(const fs::path& path, const fs::path& base);

/// Files under `root` (regular files and symlinks, not directories), as `/`-separated relative
/// paths sorted bytewise. `.git` directories are pruned when `skip_git`.
[[nodiscard]] std::vector<std::string> list_tree(const fs::path& root, bool skip_git = true);

/// Tree hash (§6): sha256 over `<path>\0<hex sha256>\n` per file and `<path>\0link:<target>\n`
/// per symlink, bytewise order of relative paths, `.git` excluded. OS-independent. With `skip`,
/// the relative paths it returns true for are left out.
[[nodiscard]] std::string tree_hash(const fs::path& root,
                                    const std::function<bool(const std::string&)>& skip = {});

/// Newest mtime (seconds since the epoch) of any file under `root`; 0 when empty.
[[nodiscard]] std::int64_t newest_mtime(const fs::path& root);

/// Copies one regular file with a read/write loop, so a failure keeps the real errno
/// ("No space left on device") and names the destination, not the source. `mode` is applied
/// to the new file; a partial destination is removed on failure.
void copy_file_checked(const fs::path& from, const fs::path& to, unsigned mode = 0644);

/// Copies a tree (regular files, dirs, symlinks as symlinks), keeping exec bits. `.git` skipped
/// when `skip_git`.
void copy_tree(const fs::path& from, const fs::path& to, bool skip_git = true);

/// Whether `path` (made absolute, normalised lexically) lies inside `root` (or equals it).
[[nodiscard]] bool is_within(const fs::path& path, const fs::path& root);

/// RAII temporary directory (removed on destruction).
class TempDir {
public:
    explicit TempDir(const fs::path& parent = fs::temp_directory_path(),
                     std::string_view prefix = "mip-");
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    TempDir(TempDir&&) = delete;
    TempDir& operator=(TempDir&&) = delete;
    [[nodiscard]] const fs::path& path() const noexcept { return path_; }

private:
    fs::path path_;
};

}  // namespace mip::detail
