#pragma once
// The process environment, read in one place.

#include <map>
#include <optional>
#include <string>

namespace mip::detail {

using Environment = std::map<std::string, std::string>;

/// A snapshot of this process's environment.
[[nodiscard]] Environment process_environment();
/// Value or "" when unset.
[[nodiscard]] std::string env_get(const Environment& env, const std::string& name);
[[nodiscard]] std::optional<std::string> env_find(const Environment& env, const std::string& name);
/// `options` if set, else the process environment.
[[nodiscard]] Environment resolve_environment(const std::optional<Environment>& options);
/// Parses a SOURCE_DATE_EPOCH value (non-negative integer). Throws SpecError.
[[nodiscard]] std::int64_t parse_epoch(const std::string& text, const std::string& origin);

}  // namespace mip::detail
