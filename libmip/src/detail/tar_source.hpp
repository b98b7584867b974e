#pragma once
// Private: `tarball:` sources of channel recipes (.tar, .tar.gz, .tgz, .tar.bz2, .tar.xz),
// extracted with the system's GNU tar after every member has been checked.

#include <chrono>
#include <filesystem>
#include <map>
#include <string>

#include <mip/archive_limits.hpp>

namespace mip::detail {

/// Extracts `archive` into `destination` (created; it must not exist), stripping the single
/// top-level directory when there is exactly one. Before anything is written, the listing is
/// checked: every name as `check_entry_name` wants it (a leading `./` is allowed), no device,
/// FIFO or hard link, no symlink that is absolute or climbs out, and the `limits` (entries,
/// total size). ArchiveError naming `label` and the member otherwise; IoError when tar cannot
/// run. Files get 0644 (0755 when executable), directories 0755. `env` is tar's environment.
void extract_tarball(const std::filesystem::path& archive,
                     const std::filesystem::path& destination,
                     const ArchiveLimits& limits,
                     const std::string& label,
                     const std::map<std::string, std::string>& env,
                     std::chrono::seconds timeout);

}  // namespace mip::detail
