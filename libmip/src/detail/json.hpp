#pragma once
// Private JSON helpers over nlohmann::ordered_json (key order is preserved everywhere).

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace mip::detail {

using Json = nlohmann::ordered_json;

/// The §3 writer: UTF-8 (non-ASCII unescaped), 2-space indent, `\n`, final newline. A string
/// with invalid UTF-8 never makes it throw: such bytes become U+FFFD (values that are stored are
/// validated before, with an error naming the field: PackageSpec::validate).
[[nodiscard]] std::string dump_pretty(const Json& value);
/// Compact, non-ASCII unescaped; invalid UTF-8 as in dump_pretty.
[[nodiscard]] std::string dump_compact(const Json& value);
/// Parses; throws mip::SpecError with `origin` and the parser's position on failure.
[[nodiscard]] Json parse_json(std::string_view text, std::string_view origin);

}  // namespace mip::detail
