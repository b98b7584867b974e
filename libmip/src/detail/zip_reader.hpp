#pragma once
// Private zip reading: safe extraction (zip-slip guards) and entry listing for verification.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <mip/archive_limits.hpp>

namespace mip::detail {

struct ZipEntryInfo {
    std::string name;
    std::uint64_t size = 0;
    std::uint64_t compressed_size = 0;
    std::uint32_t crc = 0;
    std::uint16_t method = 0;
    std::uint32_t external_attributes = 0;
    std::uint8_t opsys = 0;
    std::int64_t mtime = 0;  ///< as libzip reports (local time interpretation of DOS fields)
};

/// Lists entries with libzip. ArchiveError if the archive is unreadable.
[[nodiscard]] std::vector<ZipEntryInfo> read_zip_entries(const std::filesystem::path& archive);

/// Reads one entry's bytes.
[[nodiscard]] std::string read_zip_entry(const std::filesystem::path& archive,
                                         const std::string& name);

/// Checks an entry name: relative, `/`-separated (a `\` is read as `/`), no empty, `.` or `..`
/// component, no drive letter, NUL or control character. Returns "" or the reason.
[[nodiscard]] std::string check_entry_name(const std::string& raw);

/// Checks `entries` of the archive `label` against `limits` (entry count, total uncompressed
/// size, per-entry compression ratio). ArchiveError naming the archive, the limit and its flag.
void check_archive_limits(const std::vector<ZipEntryInfo>& entries,
                          const ArchiveLimits& limits,
                          const std::string& label);

/// Extracts `archive` into `destination` (created). Every entry is checked before anything is
/// written: the `limits`, unsafe names, symlink entries → ArchiveError (`label` names the
/// archive in the limits' messages; "" = its file name). With `strip_top_level`, a single
/// top-level folder is removed. Entries are streamed to disk, never more than their declared
/// size. Modes 0644, or 0755 with a stored exec bit.
void extract_zip(const std::filesystem::path& archive,
                 const std::filesystem::path& destination,
                 bool strip_top_level,
                 const ArchiveLimits& limits = {},
                 const std::string& label = {});

}  // namespace mip::detail

namespace mip::detail {

/// One central-directory record as stored, for checking an archive's exact bytes.
struct RawZipEntry {
    std::string name;
    std::uint16_t version_made_by = 0;
    std::uint16_t version_needed = 0;
    std::uint16_t flags = 0;        ///< central directory flags
    std::uint16_t local_flags = 0;  ///< local header flags
    std::uint16_t method = 0;
    std::uint16_t dos_time = 0;
    std::uint16_t dos_date = 0;
    std::uint32_t crc = 0;
    std::uint32_t compressed_size = 0;
    std::uint32_t size = 0;
    std::uint16_t extra_length = 0;        ///< central
    std::uint16_t local_extra_length = 0;  ///< local header
    std::uint16_t comment_length = 0;
    std::uint16_t internal_attributes = 0;
    std::uint32_t external_attributes = 0;
    std::uint32_t local_header_offset = 0;
    bool local_matches_central = false;  ///< name, flags, method, CRC and sizes agree
};

struct RawZipInfo {
    std::vector<RawZipEntry> entries;
    bool has_zip64 = false;  ///< a ZIP64 end record or locator exists
    std::uint16_t comment_length = 0;
};

/// Parses the end record, central directory and every local header by hand. ArchiveError when
/// the structure is inconsistent.
[[nodiscard]] RawZipInfo read_raw_zip(const std::filesystem::path& archive);

}  // namespace mip::detail
