#pragma once
// Private: the JSON object behind a `BuildInfo` (build_info.hpp), for the code that writes or
// converts mip.json (package_spec.cpp, the Preparer, the Bundler).

#include <mip/build_info.hpp>

#include "detail/json.hpp"

namespace mip::detail {

struct BuildInfoAccess {
    /// The object, or nullptr when absent. Valid while `info` lives and is not assigned.
    [[nodiscard]] static const Json* object(const BuildInfo& info);
    /// A present BuildInfo holding `object`. Throws `SpecError` when it is not an object.
    [[nodiscard]] static BuildInfo make(Json object);
};

}  // namespace mip::detail
