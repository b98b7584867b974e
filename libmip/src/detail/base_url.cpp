#include "detail/base_url.hpp"

#include <mip/error.hpp>

namespace mip::detail {

bool is_s3_store(const Store& store) { return store.describe().rfind("s3://", 0) == 0; }

std::string resolve_base_url(const std::string& configured,
                             const Store& store,
                             const std::string& subject) {
    std::string base = configured.empty() ? store.default_base_url() : configured;
    while (!base.empty() && base.back() == '/') {
        base.pop_back();
    }
    if (base.empty()) {
        throw SpecError(subject,
                        {{"base_url", "is required with " + store.describe() +
                                          " (the public https:// URL of the store prefix)"}});
    }
    if (base.rfind("http://", 0) == 0) {
        throw SpecError(subject, {{"base_url", "must use https:// (plain http is refused)"}});
    }
    if (is_s3_store(store) && base.rfind("https://", 0) != 0) {
        throw SpecError(subject, {{"base_url", "must be an https:// URL for an S3 store"}});
    }
    return base;
}

}  // namespace mip::detail
