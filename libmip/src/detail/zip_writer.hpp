#pragma once
// Private deterministic zip writer for .mhl archives (mip-format.md §10). Deflate comes from
// libdeflate (pinned to 1.14 in cmake/MipDependencies.cmake), never from the system zlib, so the
// bytes depend only on the entries, the DOS time and the level.
//
// Layout: per entry a local header + data (no data descriptor, no extra field), then the central
// directory and the end record (no comment, never ZIP64). Version made by 0x0314 (Unix, 2.0),
// version needed 20; flag bit 11 only for names with a byte >= 0x80; external attributes
// (0100644 or 0100755) << 16. Method: empty → stored; level 0 → stored; otherwise deflate at
// `level`, kept only when strictly smaller than the input, else stored.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mip::detail {

struct ZipWriteEntry {
    std::string name;                         ///< archive name (UTF-8, `/`-separated)
    std::filesystem::path source;             ///< file to read, unless `content` is set
    std::optional<std::string_view> content;  ///< in-memory bytes (must outlive write_zip)
    bool executable = false;                  ///< 0100755 instead of 0100644
    std::uint64_t size = 0;  ///< expected size of `source`; a mismatch → ArchiveError
};

struct ZipWriteOptions {
    std::uint16_t dos_time = 0;
    std::uint16_t dos_date = 0x21;  ///< 1980-01-01
    int level = 6;                  ///< 0 = store everything, 1–9 = libdeflate level
    /// Path named by write errors ("" = the path written); the bundler names the final
    /// archive rather than its temp sibling.
    std::string error_path;
};

struct ZipWriteResult {
    std::string sha256;  ///< hex digest of the bytes written
    std::uint64_t size = 0;
};

/// Sizes of the fixed zip records.
inline constexpr std::size_t zip_local_header_size = 30;
inline constexpr std::size_t zip_central_header_size = 46;
inline constexpr std::size_t zip_end_record_size = 22;
/// Files this large or larger are mapped read-only instead of read into the heap.
inline constexpr std::uint64_t zip_mmap_threshold = std::uint64_t{64} << 20;

/// Creates `archive` (O_EXCL, mode 0666 & ~umask) and writes `entries` in the given order.
/// Returns the SHA-256 and size of what was written (computed while writing). Throws IoError
/// naming the file on read or write failures (ENOSPC names the archive), ArchiveError when a
/// source changed size since it was listed, is no longer a regular file, or the archive would
/// need ZIP64 (> 65535 entries, an offset or size reaching 0xFFFFFFFF). The partial archive is
/// removed on failure.
[[nodiscard]] ZipWriteResult write_zip(const std::filesystem::path& archive,
                                       const std::vector<ZipWriteEntry>& entries,
                                       const ZipWriteOptions& options);

}  // namespace mip::detail
