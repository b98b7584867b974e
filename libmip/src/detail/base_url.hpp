#pragma once
// Private: the one check of a store's public base URL (the `mhl_url` prefix of every package).

#include <string>

#include <mip/store.hpp>

namespace mip::detail {

/// Whether `store` is an S3/R2 bucket (its description is an `s3://` URL; wrappers forward it).
[[nodiscard]] bool is_s3_store(const Store& store);

/// The public base URL of `store`'s prefix: `configured`, else `store.default_base_url()`, with
/// trailing slashes dropped. Throws `SpecError` (for `subject`, field `base_url`) when it is
/// empty, plain `http://`, or anything but `https://` for an S3 store. A `file://` default of a
/// local store is accepted.
[[nodiscard]] std::string resolve_base_url(const std::string& configured,
                                           const Store& store,
                                           const std::string& subject);

}  // namespace mip::detail
