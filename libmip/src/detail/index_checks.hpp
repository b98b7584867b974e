#pragma once
// Private: the R2 index's version order and the checks of its entries (index_assembler.cpp).

#include <string>
#include <string_view>
#include <vector>

#include "detail/index_cache.hpp"

namespace mip::detail {

/// <0 when a sorts before b in newest-first order (numeric dotted versions first, by value).
[[nodiscard]] int version_order(const std::string& a, const std::string& b);

/// The first of the fields §5 requires that the sidecar text does not contain ("" if none).
[[nodiscard]] std::string missing_required_field(std::string_view json_text);

/// Every dependency cycle among the packages' (normalised) names, each as "a -> b -> a",
/// reported once, starting from its smallest name.
[[nodiscard]] std::vector<std::string> dependency_cycles(const std::vector<IndexEntry*>& packages);

}  // namespace mip::detail
