// libFuzzer target: mip.json / sidecar text -> PackageSpec::from_json (the sidecar reader of
// `index`). Anything but a SpecError (or a crash, leak, UB) is a bug, and so is a message that is
// not valid UTF-8 (it reaches terminals, --json documents and Python str; the seed corpus holds
// sidecars with invalid UTF-8). The writer's output of a parsed document must read back and
// write the same text again (to_json normalises, e.g. durations to 2 decimals, then is a fixed
// point) and be valid UTF-8.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <mip/error.hpp>
#include <mip/package_spec.hpp>

#include "detail/text.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    mip::PackageSpec spec;
    try {
        spec = mip::PackageSpec::from_json_unchecked(text, "fuzz.json");
    } catch (const mip::SpecError& e) {
        if (!mip::detail::is_valid_utf8(e.what())) {
            std::abort();
        }
        return 0;
    }
    for (const auto& issue : spec.validate()) {
        if (!mip::detail::is_valid_utf8(issue.message)) {
            std::abort();
        }
    }
    try {
        (void)mip::PackageSpec::from_json(text, "fuzz.json");
    } catch (const mip::SpecError& e) {
        if (!mip::detail::is_valid_utf8(e.what())) {
            std::abort();
        }
    }
    const std::string once = spec.to_json();
    const std::string twice =
        mip::PackageSpec::from_json_unchecked(once, "round-trip.json").to_json();
    if (once != twice || !mip::detail::is_valid_utf8(once)) {
        std::abort();
    }
    return 0;
}
