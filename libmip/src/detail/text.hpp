#pragma once
// Private text helpers, one of each: ASCII case, trimming, splitting, identifiers, hex, UTF-8.
// Every function treats its input as bytes: nothing depends on the C locale.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mip::detail {

/// `text` with ASCII `A`–`Z` lowered; every other byte (UTF-8 included) unchanged.
[[nodiscard]] std::string ascii_lower(std::string_view text);

/// `text` without leading and trailing ASCII white space (space, `\t`, `\n`, `\v`, `\f`, `\r`).
[[nodiscard]] std::string_view trim(std::string_view text);

/// The pieces of `text` between `separator`s, empty ones kept: `"a//b"` → `{"a", "", "b"}`,
/// `""` → `{""}`.
[[nodiscard]] std::vector<std::string> split(std::string_view text, char separator);

/// Which names count as identifiers. Both allow ASCII letters, digits and `_` after the first
/// character; they differ in the first one.
enum class IdentifierRule {
    /// MATLAB function, script and variable names: an ASCII letter first.
    matlab,
    /// C, Python (ASCII) and POSIX environment variable names: an ASCII letter or `_` first.
    c,
};

/// Whether `text` is a non-empty identifier under `rule`.
[[nodiscard]] bool is_identifier(std::string_view text, IdentifierRule rule);

/// Lower-case hex of `bytes` (two digits per byte).
[[nodiscard]] std::string hex_encode(std::string_view bytes);

/// The value of one hex digit (either case), or -1.
[[nodiscard]] int hex_digit_value(char c) noexcept;

/// The bytes `hex` spells (either case, even length), or nullopt.
[[nodiscard]] std::optional<std::string> hex_decode(std::string_view hex);

/// Whether `text` is exactly `length` lower-case hex digits (a SHA-256 is 64, an MD5 32).
[[nodiscard]] bool is_lower_hex(std::string_view text, std::size_t length) noexcept;

/// Whether `text` is well-formed UTF-8: no stray continuation bytes, no truncated sequences, no
/// overlong forms, no surrogates (U+D800–U+DFFF), nothing above U+10FFFF.
[[nodiscard]] bool is_valid_utf8(std::string_view text) noexcept;
/// `text` with every byte that is not part of a well-formed UTF-8 sequence written as `\xNN`
/// (the text itself when it is valid): what goes into messages and JSON documents.
[[nodiscard]] std::string escape_invalid_utf8(std::string_view text);
/// Offset of the first byte of `text` that is not well-formed UTF-8, or npos.
[[nodiscard]] std::size_t invalid_utf8_offset(std::string_view text) noexcept;

}  // namespace mip::detail
