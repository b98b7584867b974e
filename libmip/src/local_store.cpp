#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mip/error.hpp>
#include <mip/local_store.hpp>

#include "detail/crypto.hpp"
#include "detail/fd.hpp"
#include "detail/fs.hpp"
#include "detail/progress.hpp"
#include "detail/text.hpp"

namespace mip {

namespace fs = std::filesystem;

namespace {

constexpr const char* tmp_dir_name = ".mip-tmp";

std::string encode_segment(const std::string& seg, bool first) {
    if (seg.empty()) {
        return "%";
    }
    if (seg == ".") {
        return "%2E";
    }
    if (seg == "..") {
        return "%2E%2E";
    }
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    for (std::size_t i = 0; i < seg.size(); ++i) {
        auto c = static_cast<unsigned char>(seg[i]);
        bool encode = c == '%' || c < 0x20 || c == 0x7f || (first && i == 0 && seg == tmp_dir_name);
        if (encode) {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        } else {
            out += static_cast<char>(c);
        }
    }
    return out;
}

std::string decode_segment(const std::string& seg) {
    if (seg == "%") {
        return {};
    }
    std::string out;
    for (std::size_t i = 0; i < seg.size(); ++i) {
        const int hi = i + 2 < seg.size() ? detail::hex_digit_value(seg[i + 1]) : -1;
        const int lo = i + 2 < seg.size() ? detail::hex_digit_value(seg[i + 2]) : -1;
        if (seg[i] == '%' && hi >= 0 && lo >= 0) {
            out += static_cast<char>(hi * 16 + lo);
            i += 2;
        } else {
            out += seg[i];
        }
    }
    return out;
}

std::string etag_of(const struct stat& st) {
    return std::to_string(st.st_size) + "-" + std::to_string(st.st_mtim.tv_sec) + "." +
           std::to_string(st.st_mtim.tv_nsec) + "-" + std::to_string(st.st_ino);
}

std::string iso_time(time_t t) {
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

void check_key(const std::string& key) {
    if (key.empty()) {
        throw SpecError("store key", {{"key", "must not be empty"}});
    }
    if (key.size() > 1024) {
        throw SpecError("store key", {{"key", "is longer than 1024 bytes"}});
    }
    if (key.find('\0') != std::string::npos) {
        throw SpecError("store key", {{"key", "must not contain NUL"}});
    }
}

/// "put-<host>-<pid>-": the prefix of this process's temporary objects. A run killed
/// mid-put leaves such a file; the next store opened on the same host removes it once its pid
/// is gone (files of live runs, of other hosts and of the old "put-<hex>" form stay).
std::string put_prefix() { return "put-" + detail::process_tag() + "-"; }

/// Removes `put-<host>-<pid>-*` of this host whose pid no longer runs; returns how many.
std::size_t remove_dead_puts(const fs::path& tmp_dir) {
    std::size_t removed = 0;
    std::error_code ec;
    for (fs::directory_iterator it(tmp_dir, ec), end; !ec && it != end; it.increment(ec)) {
        const std::string name = it->path().filename().string();
        if (name.rfind("put-", 0) == 0 &&
            detail::tagged_by_dead_process(std::string_view(name).substr(4))) {
            std::error_code ignore;
            if (fs::remove(it->path(), ignore)) {
                ++removed;
            }
        }
    }
    return removed;
}

}  // namespace

LocalStore::LocalStore(const fs::path& root, Logger logger, bool create)
    : root_(fs::absolute(root).lexically_normal()), logger_(std::move(logger)) {
    if (root_.filename().empty()) {
        root_ = root_.parent_path();
    }
    if (!create) {
        return;
    }
    detail::create_dirs(root_);
    if (auto n = remove_dead_puts(root_ / tmp_dir_name); n > 0) {
        logger_.info(describe() + ": removed " + std::to_string(n) +
                     " temporary object(s) of runs that died mid-put");
    }
}

fs::path LocalStore::path_for(const std::string& key) const {
    check_key(key);
    fs::path p = root_;
    auto parts = detail::split(key, '/');
    for (std::size_t i = 0; i < parts.size(); ++i) {
        auto enc = encode_segment(parts[i], i == 0);
        if (enc.size() > 255) {
            throw SpecError("store key", {{"key",
                                           "has a path segment longer than 255 bytes, which a "
                                           "local directory store cannot hold"}});
        }
        p /= enc;
    }
    return p;
}

std::string LocalStore::describe() const { return "file://" + root_.string(); }

std::string LocalStore::default_base_url() const { return "file://" + root_.string(); }

namespace {

/// `accept_existing_size`: an existing content-addressed object must have the expected size.
void check_existing_size(const PutRequest& request, const fs::path& target) {
    const auto& expected = request.options.accept_existing_size;
    if (!expected) {
        return;
    }
    struct stat st {};
    if (::stat(target.c_str(), &st) != 0 || static_cast<std::uint64_t>(st.st_size) != *expected) {
        throw RemoteError(
            "'" + request.key + "' exists with a different size (" + std::to_string(st.st_size) +
                " bytes, expected " + std::to_string(*expected) + ")",
            RemoteErrorInfo{412, "PreconditionFailed", "", "", request.key, "PutObject"});
    }
}

/// The store's lock for conditional writes (flock, exclusive; released when the fd closes).
detail::UniqueFd lock_conditional(const fs::path& tmp_dir) {
    const auto path = tmp_dir / "conditional.lock";
    detail::UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
    if (!fd.valid()) {
        throw IoError("cannot open the store's lock", path.string(),
                      {errno, std::generic_category()});
    }
    while (::flock(fd.get(), LOCK_EX) != 0) {
        if (errno != EINTR) {
            throw IoError("cannot lock the store", path.string(), {errno, std::generic_category()});
        }
    }
    return fd;
}

/// The object's bytes and ETag from one open file (nullopt when absent).
std::optional<std::pair<std::string, std::string>> read_with_etag(const fs::path& p) {
    detail::UniqueFd fd(::open(p.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) {
        if (errno == ENOENT || errno == ENOTDIR || errno == EISDIR) {
            return std::nullopt;
        }
        throw IoError("cannot read object", p.string(), {errno, std::generic_category()});
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) {
        throw IoError("cannot read object", p.string(), {errno, std::generic_category()});
    }
    if (!S_ISREG(st.st_mode)) {
        return std::nullopt;
    }
    std::string data(static_cast<std::size_t>(st.st_size), '\0');
    std::size_t done = 0;
    while (done < data.size()) {
        auto n = ::read(fd.get(), data.data() + done, data.size() - done);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            throw IoError("cannot read object", p.string(),
                          {n < 0 ? errno : EIO, std::generic_category()});
        }
        done += static_cast<std::size_t>(n);
    }
    return std::make_pair(std::move(data), etag_of(st));
}

}  // namespace

std::vector<GetResult> LocalStore::get_many(const std::vector<GetRequest>& requests,
                                            const BatchOptions& options) {
    std::vector<GetResult> results(requests.size());
    detail::ProgressEmitter progress(options.progress, options.stage, requests.size());
    progress.started();
    for (std::size_t i = 0; i < requests.size(); ++i) {
        auto& r = results[i];
        r.key = requests[i].key;
        r.attempts = 1;
        try {
            if (auto got = read_with_etag(path_for(requests[i].key))) {
                r.found = true;
                r.etag = std::move(got->second);
                if (!requests[i].if_none_match.empty() && r.etag == requests[i].if_none_match) {
                    r.not_modified = true;
                } else {
                    r.data = std::move(got->first);
                }
            }
        } catch (...) {
            r.error = std::current_exception();
        }
        progress.item_done(r.key);
        if (i + 1 < requests.size()) {
            progress.advance_if_due(options.progress_interval);
        }
    }
    progress.finished();
    return results;
}

PutResult LocalStore::put(const PutRequest& request) {
    PutResult result;
    result.key = request.key;
    result.attempts = 1;
    auto target = path_for(request.key);
    auto tmp_dir = root_ / tmp_dir_name;
    detail::create_dirs(tmp_dir);
    // A key "a/b" cannot coexist with a key "a" in a directory: say so plainly.
    for (auto p = target.parent_path();
         p != root_ && p.has_relative_path() && p.string().size() > root_.string().size();
         p = p.parent_path()) {
        struct stat pst {};
        if (::lstat(p.c_str(), &pst) == 0 && !S_ISDIR(pst.st_mode)) {
            throw IoError("store key '" + request.key + "' conflicts with the existing key '" +
                              detail::relative_generic(p, root_) +
                              "' (a local store cannot hold both)",
                          p.string());
        }
    }
    detail::create_dirs(target.parent_path());
    if (fs::is_directory(target)) {
        throw IoError("store key '" + request.key + "' conflicts with an existing key prefix",
                      target.string());
    }
    // If-Match: compare and replace under the store's lock, atomic among conditional writers
    // of every process sharing this root (S3 and R2 apply a conditional PUT atomically).
    detail::UniqueFd conditional_lock;
    if (!request.options.if_match.empty()) {
        conditional_lock = lock_conditional(tmp_dir);
        auto info = head(request.key);
        if (!info || info->etag != request.options.if_match) {
            result.precondition_failed = true;
            return result;
        }
    }
    auto tmp = tmp_dir / (put_prefix() + detail::random_hex(8));
    try {
        if (!request.copy_from.empty()) {
            auto source = path_for(request.copy_from);
            if (!fs::is_regular_file(source)) {
                throw RemoteError(
                    "cannot copy '" + request.copy_from + "' to '" + request.key + "' in " +
                        describe() + ": the source object does not exist",
                    RemoteErrorInfo{404, "NoSuchKey", "", "", request.copy_from, "CopyObject"});
            }
            detail::copy_file_checked(source, tmp, 0644);
            detail::fsync_path(tmp);
        } else if (request.file) {
            detail::copy_file_checked(*request.file, tmp, 0644);
            detail::fsync_path(tmp);
        } else {
            detail::write_file_atomic(tmp, request.data, true);
        }
        ::chmod(tmp.c_str(), 0644);
        if (request.options.if_none_match) {
            // link(2) fails with EEXIST when the key exists: an atomic create-only write.
            if (::link(tmp.c_str(), target.c_str()) != 0) {
                int e = errno;
                fs::remove(tmp);
                if (e == EEXIST) {
                    result.precondition_failed = true;
                    check_existing_size(request, target);
                    return result;
                }
                throw IoError("cannot write object", target.string(), {e, std::generic_category()});
            }
            fs::remove(tmp);
        } else {
            detail::rename_path(tmp, target);
        }
        detail::fsync_path(target.parent_path());
    } catch (...) {
        std::error_code ignore;
        fs::remove(tmp, ignore);
        throw;
    }
    struct stat st {};
    if (::stat(target.c_str(), &st) == 0) {
        result.etag = etag_of(st);
    }
    result.written = true;
    return result;
}

std::optional<std::string> LocalStore::get(const std::string& key) {
    auto p = path_for(key);
    if (!fs::is_regular_file(p)) {
        return std::nullopt;
    }
    return detail::read_file(p);
}

bool LocalStore::get_to_file(const std::string& key, const fs::path& destination) {
    auto p = path_for(key);
    if (!fs::is_regular_file(p)) {
        return false;
    }
    auto tmp = detail::temp_sibling(destination);
    detail::copy_file_checked(p, tmp, 0644);
    detail::rename_path(tmp, destination);
    return true;
}

std::optional<ObjectInfo> LocalStore::head(const std::string& key) {
    auto p = path_for(key);
    struct stat st {};
    if (::stat(p.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
        return std::nullopt;
    }
    return ObjectInfo{key, static_cast<std::uint64_t>(st.st_size), etag_of(st),
                      iso_time(st.st_mtime)};
}

std::vector<ObjectInfo> LocalStore::list(const std::string& prefix, bool recursive) {
    // Start at the deepest directory the prefix names.
    auto slash = prefix.rfind('/');
    std::string dir_key = slash == std::string::npos ? std::string() : prefix.substr(0, slash);
    fs::path start = dir_key.empty() ? root_ : path_for(dir_key);
    std::vector<ObjectInfo> out;
    if (!fs::is_directory(start)) {
        return out;
    }
    std::string key_base = dir_key.empty() ? std::string() : dir_key + "/";
    struct Frame {
        fs::path dir;
        std::string key_prefix;
    };
    std::vector<Frame> stack{{start, key_base}};
    while (!stack.empty()) {
        auto frame = stack.back();
        stack.pop_back();
        std::error_code ec;
        for (fs::directory_iterator it(frame.dir, ec), end; !ec && it != end; it.increment(ec)) {
            auto name = it->path().filename().string();
            if (frame.dir == root_ && name == tmp_dir_name) {
                continue;
            }
            auto key = frame.key_prefix + decode_segment(name);
            struct stat st {};
            if (::lstat(it->path().c_str(), &st) != 0) {
                continue;
            }
            if (S_ISDIR(st.st_mode)) {
                auto child_prefix = key + "/";
                bool relevant =
                    child_prefix.compare(0, std::min(child_prefix.size(), prefix.size()), prefix, 0,
                                         std::min(child_prefix.size(), prefix.size())) == 0;
                if (recursive && relevant) {
                    stack.push_back({it->path(), child_prefix});
                }
                continue;
            }
            if (!S_ISREG(st.st_mode) || key.compare(0, prefix.size(), prefix) != 0) {
                continue;
            }
            if (!recursive && key.find('/', prefix.size()) != std::string::npos) {
                continue;
            }
            out.push_back(
                {key, static_cast<std::uint64_t>(st.st_size), etag_of(st), iso_time(st.st_mtime)});
        }
        if (ec) {
            throw IoError("cannot list store directory", frame.dir.string(), ec);
        }
    }
    std::sort(out.begin(), out.end(),
              [](const ObjectInfo& a, const ObjectInfo& b) { return a.key < b.key; });
    return out;
}

void LocalStore::remove(const std::string& key) {
    auto p = path_for(key);
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0 || S_ISDIR(st.st_mode)) {
        return;  // absent (a directory is only a prefix of other keys)
    }
    std::error_code ec;
    fs::remove(p, ec);
    if (ec && ec != std::errc::no_such_file_or_directory) {
        throw IoError("cannot delete object", p.string(), ec);
    }
    // Drop folders that held only this key, so the prefix can become a key again.
    for (auto dir = p.parent_path(); dir != root_ && dir.string().size() > root_.string().size();
         dir = dir.parent_path()) {
        if (::rmdir(dir.c_str()) != 0) {
            break;  // not empty (or not ours to remove)
        }
    }
}

}  // namespace mip
