#include <algorithm>
#include <atomic>
#include <chrono>
#include <ctime>
#include <map>
#include <set>

#include <sys/stat.h>

#include <mip/bundler.hpp>
#include <mip/error.hpp>
#include <mip/package_spec.hpp>

#include "detail/convert.hpp"
#include "detail/failure.hpp"
#include "detail/fs.hpp"
#include "detail/json.hpp"
#include "detail/package_layout.hpp"
#include "detail/parallel.hpp"
#include "detail/progress.hpp"
#include "detail/text.hpp"
#include "detail/zip_reader.hpp"
#include "detail/zip_writer.hpp"

namespace mip {

namespace fs = std::filesystem;

namespace detail {
std::string iso8601_utc(std::int64_t epoch_seconds) {
    auto t = static_cast<std::time_t>(epoch_seconds);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}
}  // namespace detail

namespace {

constexpr std::int64_t zip_epoch_min = 315532800;   // 1980-01-01T00:00:00Z
constexpr std::int64_t zip_epoch_max = 4354819198;  // 2107-12-31T23:59:58Z
constexpr std::uint64_t zip32_limit = 0xFFFFFFFFULL;

struct Entry {
    std::string name;  ///< archive name
    fs::path source;   ///< file to read ("" for mip.json, which comes from memory)
    bool executable = false;
    std::uint64_t size = 0;
};

/// `s` with bytes that are not printable ASCII shown as \xNN, for messages.
std::string printable(const std::string& s) {
    std::string out;
    for (char ch : s) {
        auto c = static_cast<unsigned char>(ch);
        if (c < 0x20 || c >= 0x7f) {
            out += "\\x" + detail::hex_encode(std::string_view(&ch, 1));
        } else {
            out += ch;
        }
    }
    return out;
}

// NOLINTNEXTLINE(bugprone-easily-swappable-parameters): `dir` walks below `root`.
void collect(const fs::path& root, const fs::path& dir, std::vector<Entry>& out) {
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        const auto& p = it->path();
        auto rel = detail::relative_generic(p, root);
        struct stat st {};
        if (::lstat(p.c_str(), &st) != 0) {
            throw IoError("cannot stat", p.string());
        }
        if (S_ISDIR(st.st_mode)) {
            collect(root, p, out);
            continue;
        }
        fs::path source = p;
        if (S_ISLNK(st.st_mode)) {
            std::error_code cec;
            auto target = fs::canonical(p, cec);
            struct stat tst {};
            if (cec || !detail::is_within(target, fs::canonical(root)) ||
                ::stat(target.c_str(), &tst) != 0 || !S_ISREG(tst.st_mode)) {
                throw ArchiveError(
                    "symlink '" + rel + "' in " + root.filename().string() +
                    " does not point to a regular file inside the package directory");
            }
            source = target;
            st = tst;
        } else if (!S_ISREG(st.st_mode)) {
            throw ArchiveError("'" + rel + "' in " + root.filename().string() +
                               " is not a regular file");
        }
        if (static_cast<std::uint64_t>(st.st_size) >= zip32_limit) {
            throw ArchiveError("'" + rel +
                               "' is 4 GiB or larger; mip clients refuse ZIP64 archives");
        }
        out.push_back(
            {rel, source, (st.st_mode & 0111) != 0, static_cast<std::uint64_t>(st.st_size)});
    }
    if (ec) {
        throw IoError("cannot list directory", dir.string(), ec);
    }
}

std::int64_t epoch_for(const PackageSpec& spec, const std::optional<std::int64_t>& override_epoch) {
    if (override_epoch) {
        return *override_epoch;
    }
    return spec.build_info.source_date_epoch().value_or(zip_epoch_min);
}

}  // namespace

std::int64_t clamp_zip_epoch(std::int64_t epoch) noexcept {
    epoch = std::clamp(epoch, zip_epoch_min, zip_epoch_max);
    return epoch - (epoch % 2);
}

// NOLINTNEXTLINE(bugprone-easily-swappable-parameters): the public API's order, documented.
std::string Bundler::mhl_url(const std::string& base_url,
                             const std::string& wheel,
                             const std::string& sha256,
                             bool flat_urls) {
    std::string base = base_url;
    while (!base.empty() && base.back() == '/') {
        base.pop_back();
    }
    if (flat_urls) {
        return base + "/" + wheel + ".mhl";
    }
    return base + "/sha256/" + sha256 + "/" + wheel + ".mhl";
}

namespace {

/// A prepared `<wheel>.dir` that passed the checks, with its metadata.
struct PreparedDir {
    fs::path dir;
    std::string dir_name;
    std::string wheel;
    PackageSpec spec;
};

/// Checks a `<wheel>.dir` before anything is written: its name, a failed compile, mip.json
/// naming the same wheel, a compile script that ran, the load/unload scripts.
PreparedDir check_prepared_dir(const fs::path& dir_in) {
    PreparedDir out;
    fs::path dir = fs::absolute(dir_in).lexically_normal();
    if (dir.filename().empty()) {
        dir = dir.parent_path();
    }
    auto dir_name = dir.filename().string();
    if (dir_name.size() < 5 || dir_name.substr(dir_name.size() - 4) != ".dir") {
        throw SpecError(dir.string(),
                        {{"", "a prepared package directory must be named <wheel>.dir"}});
    }
    auto wheel = WheelName::parse(dir_name).str();
    auto failed_marker = dir.parent_path() / (wheel + ".work") / "compile.failed";
    if (fs::exists(failed_marker)) {
        throw BuildError(
            wheel, "refusing to bundle: its compile step failed (" + failed_marker.string() + ")");
    }
    auto mip_json_path = dir / "mip.json";
    if (!fs::is_regular_file(mip_json_path)) {
        throw SpecError(dir.string(), {{"mip.json", "is missing at the package root"}});
    }
    auto spec = PackageSpec::from_json(detail::read_file(mip_json_path), mip_json_path.string());
    if (spec.wheel_name() != wheel) {
        throw SpecError(mip_json_path.string(),
                        {{"name", "mip.json describes " + spec.wheel_name() +
                                      " but the directory is " + dir_name}});
    }
    if (spec.compile_script) {
        if (spec.build_info.compile_engine().value_or("").empty()) {
            throw BuildError(spec.name,
                             "has a compile script (" + *spec.compile_script +
                                 ") but was never compiled; run `mip-build compile` first");
        }
    }
    for (const char* required : {"load_package.m", "unload_package.m"}) {
        if (!fs::is_regular_file(dir / required)) {
            throw SpecError(dir.string(), {{required, "is missing at the package root"}});
        }
    }

    out.dir = dir;
    out.dir_name = dir_name;
    out.wheel = wheel;
    out.spec = std::move(spec);
    return out;
}

/// The archive's entries, named by the layout, sorted by UTF-8 bytes; names checked (safe,
/// UTF-8, no case clash).
std::vector<Entry> archive_entries(const PreparedDir& prepared,
                                   const detail::PackageLayout& layout) {
    const auto& dir_name = prepared.dir_name;
    std::vector<Entry> collected;
    collect(prepared.dir, prepared.dir, collected);
    std::vector<Entry> entries;
    for (auto& e : collected) {
        if (auto name = layout.entry_name(prepared.spec, e.name)) {
            e.name = *name;
            entries.push_back(std::move(e));
        }
    }
    std::set<std::string> lowered;
    for (const auto& e : entries) {
        auto why = detail::check_entry_name(e.name);
        if (!why.empty() || e.name.find('\\') != std::string::npos) {
            throw ArchiveError("unsafe file name '" + printable(e.name) + "' in " + dir_name +
                               ": " + (why.empty() ? "backslash in name" : why));
        }
        if (!detail::is_valid_utf8(e.name)) {
            throw ArchiveError("file name '" + printable(e.name) + "' in " + dir_name +
                               " is not valid UTF-8 (mip archives hold UTF-8 names)");
        }
        if (!lowered.insert(detail::ascii_lower(e.name)).second) {
            throw ArchiveError("file names in " + dir_name + " collide ignoring case: '" + e.name +
                               "'");
        }
    }
    if (entries.size() > 65535) {
        throw ArchiveError(dir_name + " has " + std::to_string(entries.size()) +
                           " files; a non-ZIP64 archive holds at most 65535");
    }
    std::sort(entries.begin(), entries.end(),
              [](const Entry& a, const Entry& b) { return a.name < b.name; });

    return entries;
}

/// Reads the written archive back and checks it entry by entry; returns its size on disk.
std::uint64_t check_archive(const fs::path& tmp,
                            const std::string& wheel,
                            const std::vector<Entry>& entries,
                            const std::string& archived_json,
                            const detail::ZipWriteResult& written,
                            const detail::ZipWriteOptions& zip_options) {
    const auto dos_time = zip_options.dos_time;
    const auto dos_date = zip_options.dos_date;
    // Read back and check before it is published under its real name.
    auto size = fs::file_size(tmp);
    if (size != written.size) {
        throw ArchiveError("archive check failed for " + wheel +
                           ".mhl (its size on disk differs from the bytes written)");
    }
    if (size >= zip32_limit) {
        throw ArchiveError(wheel +
                           ".mhl would be 4 GiB or larger; mip clients refuse ZIP64 archives");
    }
    auto raw = detail::read_raw_zip(tmp);
    if (raw.has_zip64 || raw.entries.size() != entries.size()) {
        throw ArchiveError("archive check failed for " + wheel + ".mhl (ZIP64 or entry count)");
    }
    for (std::size_t i = 0; i < entries.size(); ++i) {
        const auto& r = raw.entries[i];
        const auto expected_size =
            entries[i].name == "mip.json" ? archived_json.size() : entries[i].size;
        if (r.name != entries[i].name || !r.local_matches_central || r.extra_length != 0 ||
            r.local_extra_length != 0 || (r.flags & 0x0008) != 0 || r.dos_time != dos_time ||
            r.dos_date != dos_date || r.version_made_by != 0x0314 || r.version_needed != 20 ||
            r.size != expected_size) {
            throw ArchiveError("archive check failed for " + wheel + ".mhl at entry '" + r.name +
                               "'");
        }
    }
    return size;
}

}  // namespace

Bundler::Bundler(BundleOptions options, RunOptions run)
    : options_(std::move(options)), run_(std::move(run)) {}

// NOLINTNEXTLINE(bugprone-easily-swappable-parameters): the public API's order, documented.
BundleResult Bundler::bundle(const fs::path& dir_in, const fs::path& output_dir) const {
    const PreparedDir prepared = check_prepared_dir(dir_in);
    const auto& layout = detail::package_layout(run_.format);
    const auto& spec = prepared.spec;
    const auto wheel = layout.archive_stem(spec);
    const std::vector<Entry> entries = archive_entries(prepared, layout);

    const std::int64_t source_epoch = epoch_for(spec, run_.source_date_epoch);
    const std::int64_t epoch = clamp_zip_epoch(source_epoch);
    const detail::LayoutInput layout_input{spec, prepared.dir, source_epoch, epoch};
    const std::string archived_json = layout.archive_json(layout_input);
    std::tm tm{};
    auto t = static_cast<std::time_t>(epoch);
    gmtime_r(&t, &tm);
    auto dos_time =
        static_cast<std::uint16_t>((tm.tm_hour << 11) | (tm.tm_min << 5) | (tm.tm_sec / 2));
    auto dos_date =
        static_cast<std::uint16_t>(((tm.tm_year - 80) << 9) | ((tm.tm_mon + 1) << 5) | tm.tm_mday);

    detail::create_dirs(output_dir);
    auto mhl_path = output_dir / (wheel + ".mhl");
    auto sidecar_path = output_dir / (wheel + ".mhl.mip.json");
    detail::remove_stale_temps(mhl_path);  // left by a killed run
    auto tmp = detail::temp_sibling(mhl_path);
    try {
        // Our own writer (zip_writer.hpp): libdeflate 1.14, exact header bytes, and the sha256
        // computed while writing.
        std::vector<detail::ZipWriteEntry> zip_entries;
        zip_entries.reserve(entries.size());
        for (const auto& e : entries) {
            detail::ZipWriteEntry z{e.name, e.source, std::nullopt, e.executable, e.size};
            if (e.name == "mip.json") {
                z.content = archived_json;
            }
            zip_entries.push_back(std::move(z));
        }
        detail::ZipWriteOptions zip_options;
        zip_options.dos_time = dos_time;
        zip_options.dos_date = dos_date;
        zip_options.level = options_.compression_level;
        zip_options.error_path = mhl_path.string();
        const auto written = detail::write_zip(tmp, zip_entries, zip_options);
        const auto size = check_archive(tmp, wheel, entries, archived_json, written, zip_options);
        detail::fsync_path(tmp);
        BundleResult result;
        result.wheel = wheel;
        result.sha256 = written.sha256;
        result.size = size;
        result.entries = entries.size();
        result.mhl_path = mhl_path;
        result.sidecar_path = sidecar_path;
        detail::rename_path(tmp, mhl_path);

        detail::ArchiveFacts facts{result.sha256, result.size, std::nullopt};
        if (!run_.base_url.empty()) {
            facts.mhl_url = mhl_url(run_.base_url, wheel, result.sha256, run_.flat_urls);
        }
        detail::write_file_atomic(sidecar_path, layout.sidecar_json(layout_input, facts));
        run_.logger.info("bundled " + wheel + ".mhl (" + std::to_string(result.entries) +
                         " files, " + std::to_string(result.size) + " bytes)");
        return result;
    } catch (...) {
        std::error_code ignore;
        fs::remove(tmp, ignore);
        throw;
    }
}

namespace {

/// Prepared `<wheel>.dir` directories of `input_dir`, sorted, with their package names,
/// selected by `run`'s packages and shard.
std::vector<std::pair<fs::path, std::string>> prepared_dirs(const fs::path& input_dir,
                                                            const RunOptions& run) {
    std::vector<std::pair<fs::path, std::string>> out;
    if (!fs::is_directory(input_dir)) {
        return out;
    }
    for (const auto& e : fs::directory_iterator(input_dir)) {
        auto name = e.path().filename().string();
        if (!e.is_directory() || name.size() < 5 || name.substr(name.size() - 4) != ".dir" ||
            name[0] == '.') {
            continue;
        }
        std::string package;
        try {
            package = WheelName::parse(name).name;
        } catch (const SpecError&) {
            package = name;
        }
        if (!run.package.empty() &&
            std::find(run.package.begin(), run.package.end(), package) == run.package.end()) {
            continue;
        }
        if (!run.shard || run.shard->contains(package)) {
            out.emplace_back(e.path(), package);
        }
    }
    std::sort(out.begin(), out.end());
    return out;
}

/// Packages of this run whose archives would get one file name in `layout` (the current format
/// writes `-` as `_`, so `foo-bar` and `foo_bar` are both `foo_bar-…`): index → the other names.
/// Bundling both would leave only the last one's archive, without a word.
std::map<std::size_t, std::string> archive_name_collisions(
    const std::vector<std::pair<fs::path, std::string>>& dirs,
    const detail::PackageLayout& layout) {
    std::map<std::string, std::set<std::string>> names;  // key name -> package names
    for (const auto& d : dirs) {
        names[layout.key_name(d.second)].insert(d.second);
    }
    std::map<std::size_t, std::string> out;
    for (std::size_t i = 0; i < dirs.size(); ++i) {
        std::string others;
        for (const auto& n : names[layout.key_name(dirs[i].second)]) {
            if (n != dirs[i].second) {
                others += (others.empty() ? "'" : ", '") + n + "'";
            }
        }
        if (!others.empty()) {
            out[i] = others;
        }
    }
    return out;
}

}  // namespace

StageReport Bundler::bundle_all() const {
    const detail::StaleTempSweepScope sweep_once;  // two files per package into one bundled/
    StageReport report;
    report.stage = "bundle";
    report.dry_run = run_.dry_run;
    // an unknown --format fails the run, not each item
    const auto& layout = detail::package_layout(run_.format);
    auto dirs = prepared_dirs(options_.input_dir, run_);
    const auto collisions = archive_name_collisions(dirs, layout);
    report.items.resize(dirs.size());
    detail::ProgressEmitter progress(run_.progress, "bundle", dirs.size());
    progress.started();
    std::atomic<bool> failed{false};
    detail::ParallelOptions popt;
    popt.jobs = run_.effective_jobs();
    popt.tick_interval = run_.progress_interval;
    std::vector<bool> ran(dirs.size(), false);
    detail::run_parallel(
        dirs.size(), popt,
        [&](std::size_t i) {
            auto& item = report.items[i];
            const auto& [dir, package] = dirs[i];
            item.package = package;
            item.wheel = std::string(strip_wheel_suffix(dir.filename().string()));
            ran[i] = true;
            auto t0 = std::chrono::steady_clock::now();
            if (failed.load() && !run_.keep_going) {
                item.status = ItemStatus::skipped;
                item.detail = "not run: an earlier package failed";
                return false;
            }
            if (auto c = collisions.find(i); c != collisions.end()) {
                item.status = ItemStatus::failed;
                item.error_code = ErrorCode::invalid_spec;
                item.detail = package + ": its archive file name would equal that of " + c->second +
                              " (--format " + layout.format() +
                              " writes '-' as '_' in archive names); rename one of them";
                failed.store(true);
                run_.logger.error(item.detail);
            } else if (run_.dry_run) {
                item.status = ItemStatus::planned;
                item.detail =
                    "would bundle into " + (options_.output_dir / (item.wheel + ".mhl")).string();
            } else {
                try {
                    auto r = bundle(dir, options_.output_dir);
                    item.status = ItemStatus::done;
                    item.path = r.mhl_path.string();
                    item.detail = "sha256 " + r.sha256 + ", " + std::to_string(r.size) + " bytes";
                } catch (...) {
                    detail::mark_failed(item, std::current_exception());
                    failed.store(true);
                    run_.logger.error(item.detail);
                }
            }
            item.seconds =
                std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
            progress.item_done(item.wheel);
            return item.status != ItemStatus::failed || run_.keep_going;
        },
        [&]() { progress.advanced(); });
    for (std::size_t i = 0; i < dirs.size(); ++i) {
        if (!ran[i]) {
            report.items[i].package = dirs[i].second;
            report.items[i].wheel =
                std::string(strip_wheel_suffix(dirs[i].first.filename().string()));
            report.items[i].status = ItemStatus::skipped;
            report.items[i].detail = "not run: an earlier package failed";
        }
    }
    progress.finished();
    return report;
}

}  // namespace mip
