#pragma once
// Private rendering and parsing of `mip.lock.yaml` (prepare-stages §3.11). The lock is held as an
// ordered JSON tree; the writer emits block YAML with keys in insertion order, plain scalars only
// where they cannot be misread, double-quoted strings otherwise, and `original_recipe.text` as a
// literal block when it holds only printable characters, TAB and LF.

#include <string>

#include "detail/json.hpp"

namespace mip::detail {

/// The three header lines, each ending in LF.
[[nodiscard]] std::string lock_header(const std::string& mip_build_version);

/// The header followed by `doc` as YAML. Byte-stable for equal documents.
[[nodiscard]] std::string render_lock(const Json& doc, const std::string& mip_build_version);

/// Emits any JSON value as block YAML (no header); `literal_keys` values that are strings are
/// written as literal blocks when possible.
[[nodiscard]] std::string to_yaml(const Json& value);

/// Parses a lock (or any YAML written by `to_yaml`) back into JSON: quoted scalars are strings,
/// plain `null`/`true`/`false`/integers are typed. Throws SpecError naming `origin`.
[[nodiscard]] Json parse_lock(const std::string& text, const std::string& origin);

/// How a string scalar is written: plain, double-quoted or literal block (for tests).
[[nodiscard]] std::string yaml_quote(const std::string& text);

}  // namespace mip::detail
