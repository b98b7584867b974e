#pragma once
/// \file build_info.hpp
/// `BuildInfo`: mip.json's `build_info` object (prepare-stages §3.2): where, when and how a
/// package was built. Parsed once with its mip.json; the keys libmip reads have typed accessors,
/// and every key (known or not) keeps its value and its place, so reading and writing a mip.json
/// changes nothing else.
///
/// **Example**
/// ```cpp
/// auto spec = mip::PackageSpec::load("build/prepared/foo-1.0-any-none-any.dir/mip.json");
/// if (spec.build_info.compiled_with_octave()) { /* MEX files built by GNU Octave */ }
/// std::int64_t epoch = spec.build_info.source_date_epoch().value_or(315532800);
/// ```
///
/// A regular value type: copies are independent, `==` compares keys, order and values. Not
/// synchronised: share a const one freely, mutate one from one thread.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mip {

namespace detail {
struct BuildInfoAccess;
}

class BuildInfo {
public:
    /// Absent (mip.json has no `build_info`).
    BuildInfo() = default;

    /// From the compact or pretty text of a JSON object; "" = absent. Throws `SpecError` (field
    /// `build_info`) when the text is not a JSON object.
    [[nodiscard]] static BuildInfo from_json(std::string_view json_text);
    /// Compact JSON text, keys in their order; "" when absent.
    [[nodiscard]] std::string to_json() const;

    /// True when mip.json has no `build_info` at all (`{}` is present, and empty).
    [[nodiscard]] bool absent() const noexcept { return impl_ == nullptr; }
    /// The keys, in order.
    [[nodiscard]] std::vector<std::string> keys() const;
    /// Whether `key` is present (with any value, null included).
    [[nodiscard]] bool contains(std::string_view key) const;

    /// `source_date_epoch` when it is an integer.
    [[nodiscard]] std::optional<std::int64_t> source_date_epoch() const;
    /// `compile_engine` ("octave 7.3.0", "matlab R2024a") when it is a string.
    [[nodiscard]] std::optional<std::string> compile_engine() const;
    /// `recipe_sha256` when it is a string.
    [[nodiscard]] std::optional<std::string> recipe_sha256() const;
    /// Whether `compile_engine` names GNU Octave (its MEX files do not load in MATLAB).
    [[nodiscard]] bool compiled_with_octave() const;

    bool operator==(const BuildInfo& other) const;

private:
    friend struct detail::BuildInfoAccess;
    struct Impl;
    std::shared_ptr<const Impl> impl_;  ///< immutable once built; null = absent
};

}  // namespace mip
