// `tarball:` sources: list, check, extract with GNU tar (tar_source.hpp).
#include "detail/tar_source.hpp"

#include <sstream>
#include <vector>

#include <mip/error.hpp>

#include "detail/fs.hpp"
#include "detail/process.hpp"
#include "detail/text.hpp"
#include "detail/zip_reader.hpp"

namespace mip::detail {

namespace {

namespace fs = std::filesystem;

ProcessResult run_tar(const std::vector<std::string>& args,
                      const std::map<std::string, std::string>& env,
                      std::chrono::seconds timeout) {
    ProcessOptions po;
    po.argv = {"tar"};
    po.argv.insert(po.argv.end(), args.begin(), args.end());
    po.env = env;
    po.env["LC_ALL"] = "C";
    po.timeout = timeout;
    po.separate_stderr = true;
    po.capture_limit = std::size_t{64} << 20;
    return run_process(po);
}

/// One member of `tar -tv` output: its type letter and size ("-rw-r--r-- u/g 123 date time name").
struct Member {
    char type = '-';
    std::uint64_t size = 0;
};

Member parse_verbose_line(const std::string& line) {
    Member m;
    m.type = line.empty() ? '?' : line[0];
    std::istringstream in(line);
    std::string mode;
    std::string owner;
    std::string size;
    in >> mode >> owner >> size;
    if (m.type == '-' && !size.empty() &&
        size.find_first_not_of("0123456789") == std::string::npos) {
        m.size = std::stoull(size);
    }
    return m;
}

/// The member name as checked: a leading `./` (tar of `.`) dropped, a trailing `/` kept.
std::string member_name(std::string name) {
    while (name.rfind("./", 0) == 0) {
        name.erase(0, 2);
    }
    return name;
}

void check_listing(const fs::path& archive,
                   const ArchiveLimits& limits,
                   const std::string& label,
                   const std::map<std::string, std::string>& env,
                   std::chrono::seconds timeout) {
    auto names = run_tar({"--list", "--absolute-names", "--file", archive.string()}, env, timeout);
    auto verbose = run_tar({"--list", "--verbose", "--absolute-names", "--file", archive.string()},
                           env, timeout);
    if (!names.ok() || !verbose.ok()) {
        throw ArchiveError("cannot read tarball " + label + ": " +
                           tail_lines(names.ok() ? verbose.err : names.err, 3));
    }
    auto name_lines = split(names.output, '\n');
    auto verbose_lines = split(verbose.output, '\n');
    std::uint64_t total = 0;
    std::uint64_t count = 0;
    for (std::size_t i = 0; i < name_lines.size(); ++i) {
        if (name_lines[i].empty()) {
            continue;
        }
        ++count;
        auto name = member_name(name_lines[i]);
        if (name.empty() || name == "/") {
            continue;  // the `./` of `tar -C dir .`
        }
        if (auto why = check_entry_name(name); !why.empty()) {
            std::string msg = "refusing unsafe member '" + name_lines[i];
            msg += "' in " + label;
            msg += ": " + why;
            throw ArchiveError(msg);
        }
        auto m = i < verbose_lines.size() ? parse_verbose_line(verbose_lines[i]) : Member{'?', 0};
        if (m.type != '-' && m.type != 'd' && m.type != 'l') {
            std::string msg = "refusing member '" + name;
            msg += "' in " + label;
            msg += ": only files, directories and symlinks are extracted (type '";
            msg += m.type;
            msg += "')";
            throw ArchiveError(msg);
        }
        total += m.size;
    }
    if (count > limits.max_archive_entries) {
        throw ArchiveError(label + " has " + std::to_string(count) +
                           " members, over the limit of " +
                           std::to_string(limits.max_archive_entries) + " (--max-archive-entries)");
    }
    if (total > limits.max_extract_bytes()) {
        throw ArchiveError(label + " would extract to " + std::to_string(total >> 20) +
                           " MiB, over the limit of " + std::to_string(limits.max_extract_mib) +
                           " MiB (--max-extract-mib)");
    }
}

/// After extraction: symlinks stay inside `root`, modes normalised.
void check_tree(const fs::path& root, const std::string& label) {
    for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator();
         ++it) {
        const auto& p = it->path();
        auto st = fs::symlink_status(p);
        auto rel = relative_generic(p, root);
        if (fs::is_symlink(st)) {
            auto target = fs::read_symlink(p);
            auto resolved = (p.parent_path() / target).lexically_normal();
            if (target.is_absolute() || !is_within(resolved, root)) {
                std::string msg = "refusing symlink '" + rel;
                msg += "' -> '" + target.string();
                msg += "' in " + label;
                msg += ": it points outside the source";
                throw ArchiveError(msg);
            }
            continue;
        }
        if (fs::is_directory(st)) {
            fs::permissions(p, fs::perms(0755));
        } else if (fs::is_regular_file(st)) {
            bool exec = (st.permissions() & fs::perms::owner_exec) != fs::perms::none;
            fs::permissions(p, fs::perms(exec ? 0755 : 0644));
        } else {
            std::string msg = "refusing '" + rel;
            msg += "' in " + label;
            msg += ": not a file or directory";
            throw ArchiveError(msg);
        }
    }
}

}  // namespace

// NOLINTNEXTLINE(bugprone-easily-swappable-parameters): from, then to, as fs::copy has them.
void extract_tarball(const fs::path& archive,
                     const fs::path& destination,
                     const ArchiveLimits& limits,
                     const std::string& label,
                     const std::map<std::string, std::string>& env,
                     std::chrono::seconds timeout) {
    check_listing(archive, limits, label, env, timeout);
    TempDir tmp(destination.parent_path(), ".tarball-");
    auto out = run_tar({"--extract", "--file", archive.string(), "--directory", tmp.path().string(),
                        "--no-same-owner", "--no-same-permissions", "--no-overwrite-dir"},
                       env, timeout);
    if (!out.ok()) {
        throw ArchiveError("cannot extract tarball " + label + ": " + tail_lines(out.err, 3));
    }
    check_tree(tmp.path(), label);
    std::vector<fs::path> top;
    for (const auto& e : fs::directory_iterator(tmp.path())) {
        top.push_back(e.path());
    }
    if (top.size() == 1 && fs::is_directory(fs::symlink_status(top[0]))) {
        rename_path(top[0], destination);
    } else {
        rename_path(tmp.path(), destination);
        create_dirs(tmp.path());  // TempDir removes its (now empty) directory
    }
}

}  // namespace mip::detail
