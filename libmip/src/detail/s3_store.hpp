#pragma once
// Factory for the S3/R2 store behind `open_store("s3://bucket/prefix")` (implemented with the
// R2 client). Kept private so store.cpp does not depend on the R2 client's headers.

#include <memory>
#include <string>

#include <mip/store.hpp>

namespace mip::detail {

/// Parses `s3://bucket[/prefix]`, reads credentials (R2Config::from_environment) and returns an
/// R2Client. Throws SpecError (malformed URL) or AuthError (missing credentials).
[[nodiscard]] std::unique_ptr<Store> open_s3_store(const std::string& url,
                                                   const StoreOptions& options,
                                                   const RunOptions& run);

}  // namespace mip::detail
