#include "detail/replace_together.hpp"

#include <cerrno>
#include <cstdint>
#include <sstream>
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

/// Writes a new file; fsynced unless `sync` is false (then its writeback is only started, and
/// `sync_temp` must follow before it is relied on).
void write_temp(const fs::path& temp,
                std::string_view data,
                const fs::path& target,
                bool sync = true) {
    int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        throw IoError("cannot create file", temp.string(), last_error());
    }
    std::error_code ec = write_all(fd, data.data(), data.size());
    if (!ec && !sync) {
        (void)::sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);  // a hint; errors via fsync
    } else if (!ec && ::fsync(fd) != 0) {
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

/// The fsync that `write_temp(..., false)` left for later (errors name the slot's target).
void sync_temp(const Slot& s) {
    const auto& target = s.target;
    int fd = ::open(s.temp.c_str(), O_RDONLY | O_CLOEXEC);
    std::error_code ec;
    if (fd < 0 || ::fsync(fd) != 0) {
        ec = last_error();
    }
    if (fd >= 0) {
        (void)::close(fd);
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

fs::path journal_path(const fs::path& dir) { return dir / std::string(replace_journal_name); }

/// Writes the journal complete or not at all: a temp file (fsynced) hard-linked to the journal
/// name, which fails with EEXIST when another run's journal is there.
void write_journal(const fs::path& dir, const std::vector<Slot>& slots) {
    std::string text = "mip-replace 1\nowner " + process_tag() + "\n";
    for (const auto& s : slots) {
        text += s.target.filename().string() + "\t" +
                (s.backup.empty() ? std::string("-") : s.backup.filename().string()) + "\n";
    }
    text += "end\n";
    const auto journal = journal_path(dir);
    const auto temp = temp_sibling(journal);
    write_temp(temp, text, journal);
    int rc = ::link(temp.c_str(), journal.c_str());
    auto ec = last_error();
    (void)::unlink(temp.c_str());
    if (rc != 0 && (ec.value() == EPERM || ec.value() == ENOTSUP || ec.value() == EMLINK)) {
        // No hard links here: written in place (a crash mid-write leaves a journal without
        // "end", which recovery drops: no rename had happened yet).
        try {
            write_temp(journal, text, journal);
            rc = 0;
        } catch (const IoError& e) {
            ec = e.error_code();
        }
    }
    if (rc != 0) {
        throw IoError(ec.value() == EEXIST ? "another run is replacing the site files (its journal "
                                             "appeared meanwhile)"
                                           : "cannot write the journal",
                      journal.string(), ec);
    }
    fsync_path(dir);
}

struct Journal {
    std::string owner;                                       ///< "<host>-<pid>"
    std::vector<std::pair<std::string, std::string>> files;  ///< name, backup name or ""
    bool complete = false;
};

Journal read_journal(const fs::path& journal) {
    Journal j;
    std::istringstream in(read_file(journal));
    std::string line;
    if (!std::getline(in, line) || line != "mip-replace 1") {
        return j;
    }
    while (std::getline(in, line)) {
        if (line == "end") {
            j.complete = true;
            break;
        }
        if (line.rfind("owner ", 0) == 0) {
            j.owner = line.substr(6);
            continue;
        }
        auto tab = line.find('\t');
        auto name = line.substr(0, tab);
        auto backup = tab == std::string::npos ? std::string("-") : line.substr(tab + 1);
        // Plain names in the directory; a backup is one of the name's temp siblings.
        if (tab == std::string::npos || name.empty() || name.find('/') != std::string::npos ||
            name[0] == '.' || backup.find('/') != std::string::npos ||
            (backup != "-" && backup.rfind("." + name + ".tmp-", 0) != 0)) {
            j.files.clear();
            return j;  // incomplete
        }
        j.files.emplace_back(name, backup == "-" ? "" : backup);
    }
    return j;
}

}  // namespace

std::string recover_replace(const fs::path& dir) {
    const auto journal = journal_path(dir);
    struct stat st {};
    if (::lstat(journal.c_str(), &st) != 0) {
        if (errno == ENOENT || errno == ENOTDIR) {
            return "";
        }
        throw IoError("cannot inspect", journal.string(), last_error());
    }
    const Journal j = read_journal(journal);
    if (!j.complete && !j.owner.empty() && tagged_by_dead_process(j.owner + "-")) {
        // Its writer died while writing it, before any rename: nothing to restore.
        if (::unlink(journal.c_str()) != 0) {
            throw IoError("cannot remove", journal.string(), last_error());
        }
        return "";
    }
    if (!j.complete || j.owner.empty()) {
        throw IoError("is not a journal this version can read; if no run is writing " +
                          dir.string() + ", remove it",
                      journal.string(), {EINVAL, std::generic_category()});
    }
    if (!tagged_by_dead_process(j.owner + "-")) {
        const auto dash = j.owner.rfind('-');
        const bool here =
            j.owner.substr(0, dash + 1) == process_tag().substr(0, process_tag().rfind('-') + 1);
        throw IoError(here ? dir.string() + " is in use by pid " + j.owner.substr(dash + 1) +
                                 " (replacing the site files); wait for it"
                           : "was left by " + j.owner + " (another host); if no run is writing " +
                                 dir.string() + ", remove it",
                      journal.string(), {EBUSY, std::generic_category()});
    }
    // The owner died between its renames: put every file back as it was before that run.
    std::string failed;
    for (const auto& [name, backup] : j.files) {
        const auto target = dir / name;
        int rc = 0;
        if (backup.empty()) {
            rc = ::unlink(target.c_str());  // new in that run (or never placed)
            if (rc != 0 && errno == ENOENT) {
                rc = 0;
            }
        } else {
            rc = ::rename((dir / backup).c_str(), target.c_str());
            if (rc == 0) {
                (void)::unlink((dir / backup).c_str());  // a link to the unreplaced file stays
            } else if (errno == ENOENT) {
                rc = 0;  // restored already (the run rolled this one back before it died)
            }
        }
        if (rc != 0) {
            failed += (failed.empty() ? "" : ", ") + target.string() + " (" +
                      last_error().message() + ")";
        }
    }
    if (!failed.empty()) {
        throw IoError("cannot restore the site files of an interrupted run: " + failed,
                      journal.string(), {EIO, std::generic_category()});
    }
    fsync_path(dir);
    if (::unlink(journal.c_str()) != 0) {
        throw IoError("cannot remove", journal.string(), last_error());
    }
    fsync_path(dir);
    for (const auto& f : j.files) {
        remove_stale_temps(dir / f.first);  // the dead run's new files that were never placed
    }
    std::string names;
    for (const auto& f : j.files) {
        names += (names.empty() ? "" : ", ") + f.first;
    }
    return "restored " + names + " in " + dir.string() + " as they were before run " + j.owner +
           ", which was killed while replacing them";
}

namespace {

/// Whether `path` is a regular file holding exactly `data` (then it need not be replaced).
bool holds(const fs::path& path, std::string_view data) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode) ||
        static_cast<std::uint64_t>(st.st_size) != data.size()) {
        return false;
    }
    try {
        return read_file(path) == data;
    } catch (const IoError&) {
        return false;
    }
}

}  // namespace

void replace_files_together(const fs::path& dir, const std::vector<FileContent>& files) {
    create_dirs(dir);
    (void)recover_replace(dir);  // a killed run's half-replaced set first (its backups too)
    // A file that already holds its new bytes is left alone: no write, no fsync.
    std::vector<FileContent> changed;
    for (const auto& f : files) {
        if (!holds(dir / f.name, f.data)) {
            changed.push_back(f);
        }
    }
    if (changed.empty()) {
        return;
    }
    std::vector<Slot> slots;
    slots.reserve(changed.size());
    for (const auto& f : changed) {
        remove_stale_temps(dir / f.name);
    }
    remove_stale_temps(journal_path(dir));
    auto fail = [&](const char* what, const fs::path& target, std::error_code ec) {
        auto not_restored = roll_back(slots);
        if (!not_restored.empty()) {
            // The journal and the remaining backups stay: the next run restores from them.
            for (const auto& s : slots) {
                if (!s.temp.empty()) {
                    (void)::unlink(s.temp.c_str());
                }
            }
            throw IoError(std::string(what) + "; could not restore " + not_restored +
                              " (the next run restores it from " +
                              std::string(replace_journal_name) + ")",
                          target.string(), ec);
        }
        remove_leftovers(slots);
        (void)::unlink(journal_path(dir).c_str());  // if it was written: nothing to recover
        throw IoError(std::string(what) + "; every file of the site was left as it was",
                      target.string(), ec);
    };
    try {
        for (const auto& f : changed) {
            Slot s;
            s.target = dir / f.name;
            s.temp = temp_sibling(s.target);
            slots.push_back(s);
            // every file's writeback started before the first fsync waits: the disk writes of
            // the set overlap
            write_temp(slots.back().temp, f.data, s.target, false);
        }
        for (const auto& s : slots) {
            sync_temp(s);
        }
    } catch (...) {
        remove_leftovers(slots);
        throw;
    }
    // The old files kept, all of them, before anything is replaced.
    for (auto& s : slots) {
        struct stat st {};
        if (::lstat(s.target.c_str(), &st) != 0) {
            if (errno != ENOENT) {
                fail("cannot inspect", s.target, last_error());
            }
            continue;
        }
        if (S_ISDIR(st.st_mode)) {
            fail("cannot replace", s.target, std::make_error_code(std::errc::is_a_directory));
        }
        auto backup = temp_sibling(s.target);
        if (::link(s.target.c_str(), backup.c_str()) == 0) {
            s.backup = backup;
        } else if (errno == EPERM || errno == ENOTSUP || errno == EMLINK) {
            // A file system without hard links: a copy is the backup.
            try {
                copy_file_checked(s.target, backup);
                s.backup = backup;
            } catch (const IoError& e) {
                fail("cannot keep a backup of", s.target, e.error_code());
            }
        } else {
            fail("cannot keep a backup of", s.target, last_error());
        }
    }
    try {
        write_journal(dir, slots);
    } catch (...) {
        remove_leftovers(slots);
        throw;
    }
    for (auto& s : slots) {
        if (::rename(s.temp.c_str(), s.target.c_str()) != 0) {
            fail("cannot rename into place", s.target, last_error());
        }
        s.placed = true;
        s.temp.clear();
    }
    // Done: the journal goes (durably) before the backups it names.
    fsync_path(dir);
    (void)::unlink(journal_path(dir).c_str());
    fsync_path(dir);
    for (auto& s : slots) {
        if (!s.backup.empty()) {
            (void)::unlink(s.backup.c_str());
        }
    }
}

}  // namespace mip::detail
