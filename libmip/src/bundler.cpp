#include <algorithm>
#include <ctime>
#include <map>
#include <set>

#include <sys/stat.h>

#include <mip/bundler.hpp>
#include <mip/error.hpp>
#include <mip/package_spec.hpp>

#include "detail/convert.hpp"
#include "detail/fs.hpp"
#include "detail/json.hpp"
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

/// True when `s` is well-formed UTF-8 (no overlong forms, surrogates or code points > U+10FFFF).
bool valid_utf8(const std::string& s) {
    static constexpr std::uint32_t min_for[] = {0, 0x80, 0x800, 0x10000};
    std::size_t i = 0;
    while (i < s.size()) {
        auto c = static_cast<unsigned char>(s[i]);
        std::size_t n = 0;  // continuation bytes
        std::uint32_t cp = 0;
        if (c < 0x80) {
            ++i;
            continue;
        }
        if ((c & 0xE0U) == 0xC0U) {
            n = 1;
            cp = c & 0x1FU;
        } else if ((c & 0xF0U) == 0xE0U) {
            n = 2;
            cp = c & 0x0FU;
        } else if ((c & 0xF8U) == 0xF0U) {
            n = 3;
            cp = c & 0x07U;
        } else {
            return false;
        }
        if (s.size() - i - 1 < n) {
            return false;
        }
        for (std::size_t k = 1; k <= n; ++k) {
            auto cc = static_cast<unsigned char>(s[i + k]);
            if ((cc & 0xC0U) != 0x80U) {
                return false;
            }
            cp = (cp << 6U) | static_cast<std::uint32_t>(cc & 0x3FU);
        }
        if (cp < min_for[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
            return false;
        }
        i += n + 1;
    }
    return true;
}

/// `s` with bytes that are not printable ASCII shown as \xNN, for messages.
std::string printable(const std::string& s) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    for (char ch : s) {
        auto c = static_cast<unsigned char>(ch);
        if (c < 0x20 || c >= 0x7f) {
            out += "\\x";
            out += hex[c >> 4];
            out += hex[c & 15];
        } else {
            out += ch;
        }
    }
    return out;
}

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

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

/// The archive's mip.json: volatile fields neutralised, no mhl_* fields.
std::string archive_mip_json(const PackageSpec& spec, std::int64_t epoch) {
    PackageSpec s = spec;
    s.timestamp = detail::iso8601_utc(epoch);
    s.prepare_duration = 0;
    s.compile_duration = 0;
    s.mhl_url.reset();
    s.mhl_sha256.reset();
    s.mhl_size.reset();
    s.mip_json_url.reset();
    if (!s.build_info_json.empty()) {
        auto bi = detail::Json::parse(s.build_info_json);
        for (const char* k : {"host_platform", "ci", "ci_run_url"}) {
            if (bi.contains(k)) {
                bi[k] = nullptr;
            }
        }
        s.build_info_json = detail::dump_compact(bi);
    }
    return s.to_json();
}

std::int64_t epoch_for(const PackageSpec& spec, const std::optional<std::int64_t>& override_epoch) {
    if (override_epoch) {
        return *override_epoch;
    }
    if (!spec.build_info_json.empty()) {
        auto bi = detail::Json::parse(spec.build_info_json);
        if (bi.contains("source_date_epoch") && bi["source_date_epoch"].is_number_integer()) {
            return bi["source_date_epoch"].get<std::int64_t>();
        }
    }
    return zip_epoch_min;
}

}  // namespace

std::int64_t clamp_zip_epoch(std::int64_t epoch) noexcept {
    epoch = std::clamp(epoch, zip_epoch_min, zip_epoch_max);
    return epoch - (epoch % 2);
}

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

Bundler::Bundler(BundleOptions options) : options_(std::move(options)) {}

BundleResult Bundler::bundle(const fs::path& dir_in, const fs::path& output_dir) const {
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
        std::string engine;
        if (!spec.build_info_json.empty()) {
            auto bi = detail::Json::parse(spec.build_info_json);
            if (bi.contains("compile_engine") && bi["compile_engine"].is_string()) {
                engine = bi["compile_engine"].get<std::string>();
            }
        }
        if (engine.empty()) {
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

    std::vector<Entry> entries;
    collect(dir, dir, entries);
    std::set<std::string> lowered;
    for (const auto& e : entries) {
        auto why = detail::check_entry_name(e.name);
        if (!why.empty() || e.name.find('\\') != std::string::npos) {
            throw ArchiveError("unsafe file name '" + printable(e.name) + "' in " + dir_name +
                               ": " + (why.empty() ? "backslash in name" : why));
        }
        if (!valid_utf8(e.name)) {
            throw ArchiveError("file name '" + printable(e.name) + "' in " + dir_name +
                               " is not valid UTF-8 (mip archives hold UTF-8 names)");
        }
        if (!lowered.insert(lower(e.name)).second) {
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

    const std::int64_t epoch = clamp_zip_epoch(epoch_for(spec, options_.source_date_epoch));
    const std::string archived_json = archive_mip_json(spec, epoch);
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
                throw ArchiveError("archive check failed for " + wheel + ".mhl at entry '" +
                                   r.name + "'");
            }
        }
        detail::fsync_path(tmp);
        BundleResult result;
        result.wheel = wheel;
        result.sha256 = written.sha256;
        result.size = size;
        result.entries = entries.size();
        result.mhl_path = mhl_path;
        result.sidecar_path = sidecar_path;
        detail::rename_path(tmp, mhl_path);

        PackageSpec sidecar = spec;
        sidecar.mhl_sha256 = result.sha256;
        sidecar.mhl_size = result.size;
        if (!options_.base_url.empty()) {
            sidecar.mhl_url = mhl_url(options_.base_url, wheel, result.sha256, options_.flat_urls);
        } else {
            sidecar.mhl_url.reset();
        }
        detail::write_file_atomic(sidecar_path, sidecar.to_json());
        options_.logger.info("bundled " + wheel + ".mhl (" + std::to_string(result.entries) +
                             " files, " + std::to_string(result.size) + " bytes)");
        return result;
    } catch (...) {
        std::error_code ignore;
        fs::remove(tmp, ignore);
        throw;
    }
}

}  // namespace mip
