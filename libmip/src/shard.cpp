#include <charconv>
#include <cstdint>

#include <mip/error.hpp>
#include <mip/package_spec.hpp>
#include <mip/shard.hpp>

namespace mip {

Shard Shard::parse(const std::string& text) {
    auto slash = text.find('/');
    auto bad = [&text]() {
        return SpecError("--shard", {{"shard", "'" + text + "' is not K/N with 1 <= K <= N"}});
    };
    if (slash == std::string::npos) {
        throw bad();
    }
    unsigned k = 0;
    unsigned n = 0;
    const char* b = text.data();
    auto r1 = std::from_chars(b, b + slash, k);
    auto r2 = std::from_chars(b + slash + 1, b + text.size(), n);
    if (r1.ec != std::errc{} || r1.ptr != b + slash || r2.ec != std::errc{} ||
        r2.ptr != b + text.size() || n == 0 || k == 0 || k > n) {
        throw bad();
    }
    return Shard{k, n};
}

bool Shard::contains(const std::string& package_name) const {
    if (count <= 1) {
        return true;
    }
    std::uint64_t h = 1469598103934665603ULL;  // FNV-1a 64
    for (char ch : normalize_package_name(package_name)) {
        auto c = static_cast<unsigned char>(ch);
        h ^= c;
        h *= 1099511628211ULL;
    }
    return h % count == index - 1;
}

}  // namespace mip
