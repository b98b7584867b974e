// libFuzzer target: mip.json text -> PackageSpec::from_json. Anything but a SpecError (or a
// crash, leak, UB) is a bug. The writer's output of a parsed document must read back and write
// the same text again (to_json normalises, e.g. durations to 2 decimals, then is a fixed point).
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <mip/error.hpp>
#include <mip/package_spec.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    mip::PackageSpec spec;
    try {
        spec = mip::PackageSpec::from_json_unchecked(text, "fuzz.json");
    } catch (const mip::SpecError&) {
        return 0;
    }
    (void)spec.validate();
    try {
        (void)mip::PackageSpec::from_json(text, "fuzz.json");
    } catch (const mip::SpecError&) {
    }
    const std::string once = spec.to_json();
    const std::string twice =
        mip::PackageSpec::from_json_unchecked(once, "round-trip.json").to_json();
    if (once != twice) {
        std::abort();
    }
    return 0;
}
