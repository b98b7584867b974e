#pragma once
// Private conversions of public value types to JSON documents.

#include <mip/package_spec.hpp>
#include <mip/report.hpp>

#include "detail/json.hpp"

namespace mip::detail {

/// mip.json object in table order (the §3 writer's key order), unknown keys last.
[[nodiscard]] Json spec_to_json(const PackageSpec& spec);
[[nodiscard]] Json report_to_json(const StageReport& report);

/// UTC "YYYY-MM-DDTHH:MM:SSZ".
[[nodiscard]] std::string iso8601_utc(std::int64_t epoch_seconds);

}  // namespace mip::detail
