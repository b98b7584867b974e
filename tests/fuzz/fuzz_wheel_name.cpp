// libFuzzer target: wheel-name parser. Only SpecError may escape; a name that parses must print
// back to a string that parses to the same parts, and every part must validate.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include <mip/error.hpp>
#include <mip/package_spec.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    (void)mip::strip_wheel_suffix(text);
    (void)mip::normalize_package_name(text);
    (void)mip::check_package_name(text);
    (void)mip::check_version(text);
    mip::WheelName w;
    try {
        w = mip::WheelName::parse(text);
    } catch (const mip::SpecError&) {
        return 0;
    }
    if (!w.validate().empty() || !(mip::WheelName::parse(w.str()) == w)) {
        std::abort();
    }
    return 0;
}
