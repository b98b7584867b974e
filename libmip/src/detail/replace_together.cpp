#include "detail/replace_together.hpp"

#include <cerrno>
#include <system_error>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mip/error.hpp>

#include "detail/fs.hpp"

namespace mip::detail {

namespace fs = std::filesystem;

namespace {

std::error_code last_error() { return {errno, std::generic_category()}; }

struct Slot {
    fs::path target;
    fs::path temp;
    fs::path backup;  ///< empty: there was no old file
    bool placed = false;
};

void write_temp(const fs::path& temp, std::string_view data, const fs::path& target) {
    int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        throw IoError("cannot create file", temp.string(), last_error());
    }
    std::error_code ec = write_all(fd, data.data(), data.size());
    if (!ec && ::fsync(fd) != 0) {
        ec = last_error();
    }
    if (!ec) {
        (void)::fchmod(fd, 0644);
    }
    if (::close(fd) != 0 && !ec) {
        ec = last_error();
    }
    if (ec) {
        throw IoError("cannot write file", target.string(), ec);
    }
}

/// Puts every placed slot back as it was; returns what could not be restored ("" if all).
std::string roll_back(std::vector<Slot>& slots) {
    std::string failed;
    for (auto it = slots.rbegin(); it != slots.rend(); ++it) {
        if (!it->placed) {
            continue;
        }
        int rc = it->backup.empty() ? ::unlink(it->target.c_str())
                                    : ::rename(it->backup.c_str(), it->target.c_str());
        if (rc != 0) {
            failed += (failed.empty() ? "" : ", ") + it->target.string() + " (" +
                      last_error().message() + ")";
        } else {
            it->backup.clear();
        }
        it->placed = false;
    }
    return failed;
}

void remove_leftovers(const std::vector<Slot>& slots) {
    for (const auto& s : slots) {
        if (!s.temp.empty()) {
            (void)::unlink(s.temp.c_str());
        }
        if (!s.backup.empty()) {
            (void)::unlink(s.backup.c_str());
        }
    }
}

}  // namespace

void replace_files_together(const fs::path& dir, const std::vector<FileContent>& files) {
    create_dirs(dir);
    std::vector<Slot> slots;
    slots.reserve(files.size());
    for (const auto& f : files) {
        remove_stale_temps(dir / f.name);
    }
    try {
        for (const auto& f : files) {
            Slot s;
            s.target = dir / f.name;
            s.temp = temp_sibling(s.target);
            slots.push_back(s);
            write_temp(slots.back().temp, f.data, s.target);
        }
    } catch (...) {
        remove_leftovers(slots);
        throw;
    }
    for (auto& s : slots) {
        std::error_code ec;
        const char* what = nullptr;
        struct stat st {};
        if (::lstat(s.target.c_str(), &st) == 0) {
            if (S_ISDIR(st.st_mode)) {
                ec = std::make_error_code(std::errc::is_a_directory);
                what = "cannot replace";
            } else {
                auto backup = temp_sibling(s.target);
                if (::link(s.target.c_str(), backup.c_str()) == 0) {
                    s.backup = backup;
                } else if (errno == EPERM || errno == ENOTSUP || errno == EMLINK) {
                    // A file system without hard links: a copy is the backup.
                    try {
                        copy_file_checked(s.target, backup);
                        s.backup = backup;
                    } catch (const IoError& e) {
                        ec = e.error_code();
                        what = "cannot keep a backup of";
                    }
                } else {
                    ec = last_error();
                    what = "cannot keep a backup of";
                }
            }
        } else if (errno != ENOENT) {
            ec = last_error();
            what = "cannot inspect";
        }
        if (!ec) {
            if (::rename(s.temp.c_str(), s.target.c_str()) == 0) {
                s.placed = true;
                s.temp.clear();
                continue;
            }
            ec = last_error();
            what = "cannot rename into place";
        }
        auto not_restored = roll_back(slots);
        remove_leftovers(slots);
        std::string message = std::string(what) + "; every file of the site was left as it was";
        if (!not_restored.empty()) {
            message = std::string(what) + "; could not restore " + not_restored;
        }
        throw IoError(message, s.target.string(), ec);
    }
    fsync_path(dir);
    for (auto& s : slots) {
        if (!s.backup.empty()) {
            (void)::unlink(s.backup.c_str());
        }
    }
}

}  // namespace mip::detail
