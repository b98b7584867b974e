#pragma once
/// \file archive_limits.hpp
/// `ArchiveLimits`: how much a source download and its extraction may take (zip bombs, endless
/// downloads). The defaults are far above any real package; `mip-build prepare` raises them with
/// `--max-download-mib`, `--max-extract-mib`, `--max-archive-entries` and
/// `--max-compression-ratio` (docs/cli.md).

#include <cstdint>

namespace mip {

struct ArchiveLimits {
    /// Bytes one source download may bring, in MiB (the transfer stops there).
    std::uint64_t max_download_mib = 2048;
    /// Total uncompressed size of one archive's entries, in MiB.
    std::uint64_t max_extract_mib = 8192;
    /// Entries in one archive.
    std::uint64_t max_archive_entries = 100000;
    /// Uncompressed : compressed size of one entry, checked for entries of 1 MiB or more.
    std::uint64_t max_compression_ratio = 200;

    /// The two size limits in bytes (saturating).
    [[nodiscard]] constexpr std::uint64_t max_download_bytes() const noexcept {
        return mib_to_bytes(max_download_mib);
    }
    [[nodiscard]] constexpr std::uint64_t max_extract_bytes() const noexcept {
        return mib_to_bytes(max_extract_mib);
    }

private:
    static constexpr std::uint64_t mib_to_bytes(std::uint64_t mib) noexcept {
        return mib >= (UINT64_MAX >> 20) ? UINT64_MAX : mib << 20;
    }
};

}  // namespace mip
