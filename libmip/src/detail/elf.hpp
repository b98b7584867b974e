#pragma once
// Private: a small ELF reader for the test stage's binary checks (tester.hpp). It reads only
// what the checks need, from the section headers: `.dynamic` (DT_NEEDED, DT_SONAME), and the
// symbol versions a file requires (`.gnu.version_r`, joined with `.gnu.version` and `.dynsym`
// to name the symbols). ELF32 and ELF64, either byte order. Every offset is bounds-checked.

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mip::detail {

/// One version a file needs from a library (`.gnu.version_r`), e.g. GLIBC_2.34 from libc.so.6,
/// with the undefined dynamic symbols bound to it.
struct ElfVersionNeed {
    std::string library;  ///< vn_file: "libc.so.6"
    std::string version;  ///< vna_name: "GLIBC_2.34"
    std::vector<std::string> symbols;
    bool operator==(const ElfVersionNeed&) const = default;
};

struct ElfInfo {
    std::vector<std::string> needed;  ///< DT_NEEDED, in order
    std::string soname;               ///< DT_SONAME, "" if none
    std::vector<ElfVersionNeed> version_needs;
    bool operator==(const ElfInfo&) const = default;
};

/// Whether `data` starts with the ELF magic.
[[nodiscard]] bool is_elf(std::string_view data) noexcept;

/// Whether the file at `path` starts with the ELF magic (false when unreadable or short).
[[nodiscard]] bool is_elf_file(const std::filesystem::path& path);

/// Parses an ELF image. Throws ArchiveError naming `label` and what is malformed.
[[nodiscard]] ElfInfo parse_elf(std::string_view data, const std::string& label);

/// Reads and parses the file at `path` (IoError when unreadable).
[[nodiscard]] ElfInfo read_elf(const std::filesystem::path& path);

/// "GLIBC_2.34" → {2, 34}; nullopt for other names ("GLIBC_PRIVATE", "GCC_3.0").
[[nodiscard]] std::optional<std::pair<int, int>> glibc_version(std::string_view name);

/// "2.28" → {2, 28}; nullopt when malformed.
[[nodiscard]] std::optional<std::pair<int, int>> parse_version_pair(std::string_view text);

}  // namespace mip::detail
