#include "detail/zip_reader.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <set>

#include <sys/stat.h>
#include <zip.h>

#include <mip/error.hpp>

#include "detail/fs.hpp"

namespace mip::detail {

namespace {
struct ZipDiscard {
    void operator()(zip_t* z) const noexcept { zip_discard(z); }
};
struct ZipFileClose {
    void operator()(zip_file_t* f) const noexcept { zip_fclose(f); }
};
using ZipHandle = std::unique_ptr<zip_t, ZipDiscard>;

ZipHandle open_archive(const std::filesystem::path& archive) {
    int err = 0;
    zip_t* z = zip_open(archive.c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &err);
    if (z == nullptr) {
        zip_error_t ze;
        zip_error_init_with_code(&ze, err);
        std::string msg = zip_error_strerror(&ze);
        zip_error_fini(&ze);
        throw ArchiveError("cannot open zip archive " + archive.string() + ": " + msg);
    }
    return ZipHandle(z);
}

std::string read_entry(zip_t* z, zip_uint64_t index, const std::string& name, std::uint64_t size) {
    std::unique_ptr<zip_file_t, ZipFileClose> f(zip_fopen_index(z, index, 0));
    if (!f) {
        throw ArchiveError("cannot open zip entry '" + name + "': " + zip_strerror(z));
    }
    std::string data(size, '\0');
    zip_int64_t got = size == 0 ? 0 : zip_fread(f.get(), data.data(), size);
    if (got < 0 || static_cast<std::uint64_t>(got) != size) {
        throw ArchiveError("cannot read zip entry '" + name + "' (corrupt archive?)");
    }
    return data;
}

/// Streams entry `index` into a temp sibling of `target` and renames it into place: at most
/// `size` bytes (the declared size, already checked against the limits), in 1 MiB chunks.
void extract_entry(zip_t* z,
                   zip_uint64_t index,
                   const ZipEntryInfo& e,
                   const std::filesystem::path& target,
                   unsigned mode) {
    std::unique_ptr<zip_file_t, ZipFileClose> f(zip_fopen_index(z, index, 0));
    if (!f) {
        throw ArchiveError("cannot open zip entry '" + e.name + "': " + zip_strerror(z));
    }
    auto tmp = temp_sibling(target);
    std::FILE* out = std::fopen(tmp.c_str(), "wb");
    if (out == nullptr) {
        throw IoError("cannot create", tmp.string());
    }
    auto fail = [&](auto error) {
        std::fclose(out);
        std::error_code ignore;
        std::filesystem::remove(tmp, ignore);
        throw error;
    };
    std::string buffer(std::size_t{1} << 20, '\0');
    std::uint64_t left = e.size;
    while (left > 0) {
        auto want = static_cast<zip_uint64_t>(std::min<std::uint64_t>(left, buffer.size()));
        zip_int64_t got = zip_fread(f.get(), buffer.data(), want);
        if (got <= 0) {
            fail(ArchiveError("cannot read zip entry '" + e.name + "' (corrupt archive?)"));
        }
        auto n = static_cast<std::size_t>(got);
        if (std::fwrite(buffer.data(), 1, n, out) != n) {
            fail(IoError("cannot write", target.string()));
        }
        left -= n;
    }
    if (std::fclose(out) != 0) {
        std::error_code ignore;
        std::filesystem::remove(tmp, ignore);
        throw IoError("cannot write", target.string());
    }
    std::filesystem::permissions(tmp, static_cast<std::filesystem::perms>(mode));
    rename_path(tmp, target);
}

bool is_symlink_entry(const ZipEntryInfo& e) {
    return e.opsys == ZIP_OPSYS_UNIX && ((e.external_attributes >> 16) & S_IFMT) == S_IFLNK;
}
}  // namespace

std::vector<ZipEntryInfo> read_zip_entries(const std::filesystem::path& archive) {
    auto z = open_archive(archive);
    zip_int64_t n = zip_get_num_entries(z.get(), 0);
    std::vector<ZipEntryInfo> out;
    for (zip_int64_t i = 0; i < n; ++i) {
        auto idx = static_cast<zip_uint64_t>(i);
        zip_stat_t st;
        zip_stat_init(&st);
        if (zip_stat_index(z.get(), idx, ZIP_FL_ENC_RAW, &st) != 0) {
            throw ArchiveError("cannot stat zip entry " + std::to_string(i) + " of " +
                               archive.string());
        }
        ZipEntryInfo e;
        const char* name = zip_get_name(z.get(), idx, ZIP_FL_ENC_GUESS);
        e.name = name != nullptr ? name : "";
        e.size = st.size;
        e.compressed_size = st.comp_size;
        e.crc = st.crc;
        e.method = st.comp_method;
        e.mtime = static_cast<std::int64_t>(st.mtime);
        zip_uint8_t opsys = 0;
        zip_uint32_t attr = 0;
        zip_file_get_external_attributes(z.get(), idx, 0, &opsys, &attr);
        e.opsys = opsys;
        e.external_attributes = attr;
        out.push_back(std::move(e));
    }
    return out;
}

std::string read_zip_entry(const std::filesystem::path& archive, const std::string& name) {
    auto z = open_archive(archive);
    zip_int64_t idx = zip_name_locate(z.get(), name.c_str(), 0);
    if (idx < 0) {
        throw ArchiveError("no entry '" + name + "' in " + archive.string());
    }
    zip_stat_t st;
    zip_stat_init(&st);
    zip_stat_index(z.get(), static_cast<zip_uint64_t>(idx), 0, &st);
    return read_entry(z.get(), static_cast<zip_uint64_t>(idx), name, st.size);
}

std::string check_entry_name(const std::string& raw) {
    if (raw.empty()) {
        return "empty name";
    }
    std::string name = raw;
    for (auto& c : name) {
        if (c == '\\') {
            c = '/';
        }
    }
    for (char ch : name) {
        auto c = static_cast<unsigned char>(ch);
        if (c == 0 || c < 0x20 || c == 0x7f) {
            return "control or NUL character in name";
        }
    }
    if (name.front() == '/') {
        return "absolute path";
    }
    if (name.size() >= 2 && name[1] == ':' &&
        std::isalpha(static_cast<unsigned char>(name[0])) != 0) {
        return "drive letter";
    }
    std::string trimmed = name;
    if (trimmed.back() == '/') {
        trimmed.pop_back();  // directory entry
    }
    std::size_t start = 0;
    while (start <= trimmed.size()) {
        auto end = trimmed.find('/', start);
        if (end == std::string::npos) {
            end = trimmed.size();
        }
        auto part = trimmed.substr(start, end - start);
        if (part.empty()) {
            return "empty path component";
        }
        if (part == "." || part == "..") {
            return "'" + part + "' path component";
        }
        start = end + 1;
    }
    return {};
}

void check_archive_limits(const std::vector<ZipEntryInfo>& entries,
                          const ArchiveLimits& limits,
                          const std::string& label) {
    constexpr std::uint64_t mib = std::uint64_t{1} << 20;
    auto refuse = [&label](const std::string& why, const std::string& flag) {
        return ArchiveError("refusing the archive " + label + ": " + why +
                            " (a zip bomb? raise the limit with " + flag + ")");
    };
    if (entries.size() > limits.max_archive_entries) {
        throw refuse(std::to_string(entries.size()) + " entries, more than the limit of " +
                         std::to_string(limits.max_archive_entries),
                     "--max-archive-entries");
    }
    std::uint64_t total = 0;
    for (const auto& e : entries) {
        // Wraps only past 16 EiB; a sum that small cannot pass the check below anyway.
        total = e.size > UINT64_MAX - total ? UINT64_MAX : total + e.size;
        if (e.size >= mib && (e.compressed_size == 0 ||
                              e.size / e.compressed_size >= limits.max_compression_ratio + 1)) {
            std::string ratio = e.compressed_size == 0
                                    ? "from 0 bytes"
                                    : std::to_string(e.size / e.compressed_size) + ":1";
            throw refuse("entry '" + e.name + "' expands " + std::to_string(e.compressed_size) +
                             " bytes to " + std::to_string(e.size) + " (" + ratio +
                             "), more than the limit of " +
                             std::to_string(limits.max_compression_ratio) + ":1",
                         "--max-compression-ratio");
        }
    }
    if (total > limits.max_extract_bytes()) {
        throw refuse("its entries expand to " + std::to_string(total / mib) +
                         " MiB, more than the limit of " + std::to_string(limits.max_extract_mib) +
                         " MiB",
                     "--max-extract-mib");
    }
}

// NOLINTNEXTLINE(bugprone-easily-swappable-parameters): from, to
void extract_zip(const std::filesystem::path& archive,
                 const std::filesystem::path& destination,
                 bool strip_top_level,
                 const ArchiveLimits& limits,
                 const std::string& label) {
    auto entries = read_zip_entries(archive);
    check_archive_limits(entries, limits, label.empty() ? archive.filename().string() : label);
    // libzip returns names as C strings: "a/ev\0il" would arrive as "a/ev". Check the stored
    // bytes of every central-directory name too.
    for (const auto& raw : read_raw_zip(archive).entries) {
        if (raw.name.find('\0') != std::string::npos) {
            throw ArchiveError("refusing unsafe entry in " + archive.filename().string() +
                               ": NUL byte in name");
        }
        auto why = check_entry_name(raw.name);
        if (!why.empty()) {
            throw ArchiveError("refusing unsafe entry '" + raw.name + "' in " +
                               archive.filename().string() + ": " + why);
        }
    }
    // Check everything before writing anything.
    std::set<std::string> tops;
    for (const auto& e : entries) {
        auto why = check_entry_name(e.name);
        if (!why.empty()) {
            throw ArchiveError("refusing unsafe entry '" + e.name + "' in " +
                               archive.filename().string() + ": " + why);
        }
        if (is_symlink_entry(e)) {
            throw ArchiveError("refusing symlink entry '" + e.name + "' in " +
                               archive.filename().string());
        }
        std::string n = e.name;
        for (auto& c : n) {
            if (c == '\\') {
                c = '/';
            }
        }
        auto slash = n.find('/');
        tops.insert(slash == std::string::npos ? n + "\x01file" : n.substr(0, slash));
    }
    std::string strip;
    if (strip_top_level) {
        if (tops.size() != 1 || tops.begin()->find('\x01') != std::string::npos) {
            throw ArchiveError("cannot strip the top-level folder of " +
                               archive.filename().string() +
                               ": it does not have exactly one top-level folder");
        }
        strip = *tops.begin() + "/";
    }
    create_dirs(destination);
    auto z = open_archive(archive);
    for (std::size_t i = 0; i < entries.size(); ++i) {
        const auto& e = entries[i];
        std::string n = e.name;
        for (auto& c : n) {
            if (c == '\\') {
                c = '/';
            }
        }
        if (!strip.empty()) {
            n = n.substr(strip.size());
            if (n.empty()) {
                continue;
            }
        }
        auto target = destination / n;
        if (!is_within(target, destination)) {
            throw ArchiveError("refusing entry '" + e.name + "' escaping the target");
        }
        // Never write through a pre-existing symlink: neither the file nor any folder on the way.
        for (auto p = target; p != destination && p.string().size() > destination.string().size();
             p = p.parent_path()) {
            if (std::filesystem::is_symlink(p)) {
                throw ArchiveError("refusing to write '" + e.name + "' through the symlink " +
                                   p.string());
            }
        }
        if (n.back() == '/') {
            create_dirs(target);
            continue;
        }
        create_dirs(target.parent_path());
        bool exec = e.opsys == ZIP_OPSYS_UNIX && ((e.external_attributes >> 16) & 0111) != 0;
        extract_entry(z.get(), i, e, target, exec ? 0755 : 0644);
    }
}

}  // namespace mip::detail

namespace mip::detail {

namespace {
std::uint16_t u16(const std::string& b, std::size_t o) {
    return static_cast<std::uint16_t>(static_cast<unsigned char>(b[o]) |
                                      (static_cast<unsigned char>(b[o + 1]) << 8));
}
std::uint32_t u32(const std::string& b, std::size_t o) {
    return static_cast<std::uint32_t>(u16(b, o)) |
           (static_cast<std::uint32_t>(u16(b, o + 2)) << 16);
}
}  // namespace

RawZipInfo read_raw_zip(const std::filesystem::path& archive) {
    std::string b = read_file(archive);
    auto bad = [&archive](const std::string& why) {
        return ArchiveError("malformed zip " + archive.filename().string() + ": " + why);
    };
    if (b.size() < 22) {
        throw bad("too short");
    }
    std::size_t eocd = std::string::npos;
    for (std::size_t i = b.size() - 22 + 1; i-- > 0;) {
        if (u32(b, i) == 0x06054b50) {
            eocd = i;
            break;
        }
        if (b.size() - i > 22 + 65535) {
            break;
        }
    }
    if (eocd == std::string::npos) {
        throw bad("no end of central directory record");
    }
    RawZipInfo info;
    info.comment_length = u16(b, eocd + 20);
    info.has_zip64 = b.find(std::string("PK\x06\x06", 4)) != std::string::npos ||
                     b.find(std::string("PK\x06\x07", 4)) != std::string::npos;
    std::size_t count = u16(b, eocd + 10);
    std::size_t cd_offset = u32(b, eocd + 16);
    std::size_t p = cd_offset;
    for (std::size_t i = 0; i < count; ++i) {
        if (p + 46 > b.size() || u32(b, p) != 0x02014b50) {
            throw bad("central directory entry " + std::to_string(i));
        }
        RawZipEntry e;
        e.version_made_by = u16(b, p + 4);
        e.version_needed = u16(b, p + 6);
        e.flags = u16(b, p + 8);
        e.method = u16(b, p + 10);
        e.dos_time = u16(b, p + 12);
        e.dos_date = u16(b, p + 14);
        e.crc = u32(b, p + 16);
        e.compressed_size = u32(b, p + 20);
        e.size = u32(b, p + 24);
        std::size_t name_len = u16(b, p + 28);
        e.extra_length = u16(b, p + 30);
        e.comment_length = u16(b, p + 32);
        e.internal_attributes = u16(b, p + 36);
        e.external_attributes = u32(b, p + 38);
        e.local_header_offset = u32(b, p + 42);
        if (p + 46 + name_len > b.size()) {
            throw bad("central directory name");
        }
        e.name = b.substr(p + 46, name_len);
        std::size_t l = e.local_header_offset;
        if (l + 30 > b.size() || u32(b, l) != 0x04034b50) {
            throw bad("local header of " + e.name);
        }
        e.local_flags = u16(b, l + 6);
        std::size_t lname = u16(b, l + 26);
        e.local_extra_length = u16(b, l + 28);
        e.local_matches_central = u16(b, l + 8) == e.method && u32(b, l + 14) == e.crc &&
                                  u32(b, l + 18) == e.compressed_size && u32(b, l + 22) == e.size &&
                                  e.local_flags == e.flags && lname == name_len &&
                                  b.compare(l + 30, lname, e.name) == 0;
        info.entries.push_back(std::move(e));
        p += 46 + name_len + info.entries.back().extra_length + info.entries.back().comment_length;
    }
    return info;
}

}  // namespace mip::detail
