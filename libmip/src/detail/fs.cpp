#include "detail/fs.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <mutex>
#include <set>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mip/error.hpp>

#include "detail/crypto.hpp"
#include "detail/fd.hpp"

namespace mip::detail {

namespace {
std::error_code last_error() { return {errno, std::generic_category()}; }

/// Whether `name` is a temporary file whose writer is gone: `.<target>.tmp-<host>-<pid>-<hex>`
/// of this host with a pid that no longer runs, or the untagged `.<target>.tmp-<hex>` of older
/// versions.
bool stale_temp_name(std::string_view name) {
    constexpr std::string_view marker = ".tmp-";
    const auto at = name.rfind(marker);
    if (name.empty() || name.front() != '.' || at == std::string_view::npos || at < 2) {
        return false;
    }
    const auto rest = name.substr(at + marker.size());
    if (rest.find('-') == std::string_view::npos) {
        return !rest.empty() && std::all_of(rest.begin(), rest.end(), [](char c) {
            return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
        });
    }
    return tagged_by_dead_process(rest);
}

}  // namespace

std::string read_file(const fs::path& path) {
    // One read(2) of the size fstat(2) gives (a stream's char-by-char copy was a third of a
    // warm index run's CPU), then on to EOF in case the file grew.
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    struct stat st {};
    if (!fd.valid() || ::fstat(fd.get(), &st) != 0) {
        throw IoError("cannot read file", path.string(), last_error());
    }
    std::string data;
    data.resize(st.st_size > 0 ? static_cast<std::size_t>(st.st_size) + 1 : 4096);
    std::size_t used = 0;
    for (;;) {
        if (used == data.size()) {
            data.resize(data.size() * 2);
        }
        const auto n = ::read(fd.get(), data.data() + used, data.size() - used);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            throw IoError("read error", path.string(), last_error());
        }
        if (n == 0) {
            break;
        }
        used += static_cast<std::size_t>(n);
    }
    data.resize(used);
    return data;
}

std::string process_tag() {
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) != 0) {
        host[0] = '\0';
    }
    std::string h = host;
    std::replace_if(
        h.begin(), h.end(), [](char c) { return c == '-' || c == '/' || c == '.'; }, '_');
    return h + "-" + std::to_string(::getpid());
}

bool tagged_by_dead_process(std::string_view tagged) {
    const std::string mine = process_tag();
    const std::string host_prefix = mine.substr(0, mine.rfind('-') + 1);  // "<host>-"
    if (tagged.substr(0, host_prefix.size()) != host_prefix) {
        return false;
    }
    auto rest = tagged.substr(host_prefix.size());
    const auto dash = rest.find('-');
    if (dash == std::string_view::npos || dash == 0 || dash > 9) {
        return false;
    }
    long pid = 0;
    for (char c : rest.substr(0, dash)) {
        if (c < '0' || c > '9') {
            return false;
        }
        pid = pid * 10 + (c - '0');
    }
    return pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH;
}

fs::path temp_sibling(const fs::path& path) {
    return path.parent_path() /
           ("." + path.filename().string() + ".tmp-" + process_tag() + "-" + random_hex(6));
}

void fsync_path(const fs::path& path) {
    UniqueFd f(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (f.valid()) {
        (void)::fsync(f.get());
    }
}

namespace {

/// The directories swept while at least one StaleTempSweepScope lives.
struct SweepRegistry {
    std::mutex mutex;
    unsigned scopes = 0;
    std::set<std::pair<dev_t, ino_t>> swept;
};

SweepRegistry& sweep_registry() {
    static SweepRegistry registry;
    return registry;
}

}  // namespace

StaleTempSweepScope::StaleTempSweepScope() {
    auto& r = sweep_registry();
    const std::lock_guard<std::mutex> lock(r.mutex);
    ++r.scopes;
}

StaleTempSweepScope::~StaleTempSweepScope() {
    auto& r = sweep_registry();
    const std::lock_guard<std::mutex> lock(r.mutex);
    if (--r.scopes == 0) {
        r.swept.clear();
    }
}

void remove_stale_temps(const fs::path& path) {
    const auto dir = path.parent_path().empty() ? fs::path(".") : path.parent_path();
    {
        // Inside a scope each directory is swept once: scanning it on every write made bundle,
        // upload and the local store quadratic in the files of one directory (10,000 bundles:
        // over 15 minutes of upload). A dead writer's temporaries cannot appear later.
        struct stat st {};
        if (::stat(dir.c_str(), &st) != 0) {
            return;
        }
        auto& r = sweep_registry();
        const std::lock_guard<std::mutex> lock(r.mutex);
        if (r.scopes > 0 && !r.swept.insert({st.st_dev, st.st_ino}).second) {
            return;
        }
    }
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        if (stale_temp_name(it->path().filename().string())) {
            std::error_code ignore;
            fs::remove(it->path(), ignore);
        }
    }
}

std::error_code write_all(int fd, const void* data, std::size_t size) noexcept {
    const auto* p = static_cast<const char*>(data);
    while (size > 0) {
        const auto n = ::write(fd, p, size);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return last_error();
        }
        if (n == 0) {
            return std::make_error_code(std::errc::io_error);
        }
        p += n;
        size -= static_cast<std::size_t>(n);
    }
    return {};
}

void write_file_atomic(const fs::path& path, std::string_view data, bool durable, unsigned mode) {
    remove_stale_temps(path);
    auto tmp = temp_sibling(path);
    {
        UniqueFd f(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
        if (!f.valid()) {
            throw IoError("cannot create file", tmp.string(), last_error());
        }
        if (auto ec = write_all(f.get(), data.data(), data.size())) {
            ::unlink(tmp.c_str());
            throw IoError("cannot write file", path.string(), ec);
        }
        if (durable && ::fsync(f.get()) != 0) {
            auto ec = last_error();
            ::unlink(tmp.c_str());
            throw IoError("cannot sync file", path.string(), ec);
        }
        (void)::fchmod(f.get(), static_cast<mode_t>(mode));
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        auto ec = last_error();
        ::unlink(tmp.c_str());
        throw IoError("cannot rename into place", path.string(), ec);
    }
    if (durable) {
        fsync_path(path.parent_path().empty() ? fs::path(".") : path.parent_path());
    }
}

void append_file(const fs::path& path, std::string_view data) {
    UniqueFd f(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
    if (!f.valid()) {
        throw IoError("cannot open file for appending", path.string(), last_error());
    }
    if (auto ec = write_all(f.get(), data.data(), data.size())) {
        throw IoError("cannot write file", path.string(), ec);
    }
}

void copy_file_checked(const fs::path& from, const fs::path& to, unsigned mode) {
    UniqueFd in(::open(from.c_str(), O_RDONLY | O_CLOEXEC));
    if (!in.valid()) {
        throw IoError("cannot read", from.string(), last_error());
    }
    UniqueFd out(::open(to.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
    if (!out.valid()) {
        throw IoError("cannot create", to.string(), last_error());
    }
    auto fail = [&](const char* what, std::error_code ec) {
        ::unlink(to.c_str());
        throw IoError(what, to.string(), ec);
    };
    std::vector<char> buffer(1 << 16);
    while (true) {
        auto n = ::read(in.get(), buffer.data(), buffer.size());
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            auto ec = last_error();
            ::unlink(to.c_str());
            throw IoError("cannot read", from.string(), ec);
        }
        if (n == 0) {
            break;
        }
        if (auto ec = write_all(out.get(), buffer.data(), static_cast<std::size_t>(n))) {
            fail("cannot write", ec);
        }
    }
    if (::fchmod(out.get(), static_cast<mode_t>(mode)) != 0) {
        auto ec = last_error();
        out.reset();
        fail("cannot write", ec);
    }
    if (auto ec = out.close()) {
        fail("cannot write", ec);
    }
}

void remove_tree(const fs::path& path) {
    std::error_code ec;
    fs::remove_all(path, ec);
    if (ec && ec != std::errc::no_such_file_or_directory) {
        throw IoError("cannot remove", path.string(), ec);
    }
}

void rename_path(const fs::path& from, const fs::path& to) {
    std::error_code ec;
    fs::rename(from, to, ec);
    if (ec) {
        throw IoError("cannot rename " + from.string() + " to", to.string(), ec);
    }
}

void create_dirs(const fs::path& path) {
    std::error_code ec;
    fs::create_directories(path, ec);
    if (ec) {
        throw IoError("cannot create directory", path.string(), ec);
    }
}

std::string relative_generic(const fs::path& path, const fs::path& base) {
    return path.lexically_relative(base).generic_string();
}

namespace {
// NOLINTNEXTLINE(bugprone-easily-swappable-parameters): `dir` walks below `root`.
void walk(const fs::path& root, const fs::path& dir, bool skip_git, std::vector<std::string>& out) {
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        const auto& entry = *it;
        auto name = entry.path().filename().string();
        if (skip_git && name == ".git") {
            continue;
        }
        auto st = entry.symlink_status(ec);
        if (ec) {
            break;
        }
        if (fs::is_directory(st)) {
            walk(root, entry.path(), skip_git, out);
        } else {
            out.push_back(relative_generic(entry.path(), root));
        }
    }
    if (ec) {
        throw IoError("cannot list directory", dir.string(), ec);
    }
}
}  // namespace

std::vector<std::string> list_tree(const fs::path& root, bool skip_git) {
    std::vector<std::string> out;
    walk(root, root, skip_git, out);
    std::sort(out.begin(), out.end());
    return out;
}

std::string tree_hash(const fs::path& root, const std::function<bool(const std::string&)>& skip) {
    Sha256 h;
    for (const auto& rel : list_tree(root, true)) {
        if (skip && skip(rel)) {
            continue;
        }
        auto p = root / rel;
        h.update(rel);
        h.update(std::string_view("\0", 1));
        if (fs::is_symlink(p)) {
            h.update("link:" + fs::read_symlink(p).generic_string());
        } else {
            h.update(sha256_file_hex(p));
        }
        h.update("\n");
    }
    return h.hex_digest();
}

std::int64_t newest_mtime(const fs::path& root) {
    std::int64_t newest = 0;
    for (const auto& rel : list_tree(root, true)) {
        struct stat st {};
        if (::lstat((root / rel).c_str(), &st) == 0) {
            newest = std::max<std::int64_t>(newest, st.st_mtime);
        }
    }
    return newest;
}

// NOLINTNEXTLINE(bugprone-easily-swappable-parameters): from, to, as cp and fs::copy.
void copy_tree(const fs::path& from, const fs::path& to, bool skip_git) {
    create_dirs(to);
    std::error_code ec;
    for (fs::directory_iterator it(from, ec), end; !ec && it != end; it.increment(ec)) {
        const auto& entry = *it;
        auto name = entry.path().filename();
        if (skip_git && name == ".git") {
            continue;
        }
        auto st = entry.symlink_status();
        auto target = to / name;
        if (fs::is_symlink(st)) {
            fs::create_symlink(fs::read_symlink(entry.path()), target, ec);
        } else if (fs::is_directory(st)) {
            copy_tree(entry.path(), target, skip_git);
        } else if (fs::is_regular_file(st)) {
            copy_file_checked(entry.path(), target,
                              static_cast<unsigned>(st.permissions()) & 07777U);
        }
        if (ec) {
            throw IoError("cannot copy " + entry.path().string() + " to", target.string(), ec);
        }
    }
    if (ec) {
        throw IoError("cannot list directory", from.string(), ec);
    }
}

bool is_within(const fs::path& path, const fs::path& root) {
    auto p = fs::absolute(path).lexically_normal();
    auto r = fs::absolute(root).lexically_normal();
    auto rel = p.lexically_relative(r);
    if (rel.empty()) {
        return false;
    }
    auto first = *rel.begin();
    return first != "..";
}

TempDir::TempDir(const fs::path& parent, std::string_view prefix) {
    create_dirs(parent);
    std::string templ = (parent / (std::string(prefix) + "XXXXXX")).string();
    if (::mkdtemp(templ.data()) == nullptr) {
        throw IoError("cannot create temporary directory", parent.string(), last_error());
    }
    path_ = templ;
}

TempDir::~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
}

}  // namespace mip::detail
