#pragma once
/// \file package_spec.hpp
/// `PackageSpec`: the metadata of one package build, i.e. the contents of `mip.json`, its sidecar
/// `<wheel>.mhl.mip.json` and one `index.json` entry. Also the wheel name and its parser, and the
/// cache comparison used to skip unchanged packages.
///
/// **Example**
/// ```cpp
/// auto spec = mip::PackageSpec::from_json(text, "sidecar.mhl.mip.json");  // throws SpecError
/// spec.mhl_url = "https://pkgs.example.org/core/" + spec.wheel_name() + ".mhl";
/// if (auto issues = spec.validate(); !issues.empty()) { /* field + message each */ }
/// std::string written = spec.to_json();  // unknown keys and build_info kept as read
/// auto wheel = mip::WheelName::parse("gui-layout-toolbox-2.4.2-any-none-any.mhl");
/// ```
///
/// All types here are regular values; the functions are pure and thread-safe. What throws says
/// so (`SpecError` for text that does not parse or validate, `IoError` for `load`).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <mip/build_info.hpp>
#include <mip/error.hpp>

namespace mip {

/// `<name>-<version>-<matlab_tag>-<abi_tag>-<platform_tag>`.
struct WheelName {
    std::string name;
    std::string version;
    std::string matlab_tag = "any";
    std::string abi_tag = "none";
    std::string platform_tag = "any";

    /// Joins the five parts with `-`.
    [[nodiscard]] std::string str() const;
    /// Checks every part against the format rules; returns every problem.
    [[nodiscard]] std::vector<Issue> validate() const;
    /// Parses a wheel name, optionally followed by one of the suffixes `.dir`, `.work`, `.mhl`,
    /// `.mhl.mip.json`. Splits at the *last four* `-` (names may contain `-`, versions and tags
    /// may not). Throws `SpecError` naming the input when it does not parse or validate.
    [[nodiscard]] static WheelName parse(std::string_view text);
    bool operator==(const WheelName&) const = default;
};

/// Strips a known suffix (`.mhl.mip.json`, `.mhl`, `.dir`, `.work`) if present.
[[nodiscard]] std::string_view strip_wheel_suffix(std::string_view file_name);

/// Names as clients compare them: lower-cased, `-` replaced by `_`.
[[nodiscard]] std::string normalize_package_name(std::string_view name);

/// Field-level validators, shared by PackageSpec and recipe loaders. Each returns "" when valid,
/// else a message such as "must not contain '/'".
[[nodiscard]] std::string check_package_name(std::string_view name);
[[nodiscard]] std::string check_version(std::string_view version);
/// A dependency: a package name, or `owner/channel/name` (three names; another channel's
/// package, as the current format allows).
[[nodiscard]] std::string check_dependency_name(std::string_view dependency);
[[nodiscard]] std::string check_tag(std::string_view tag);

/// One package's metadata (mip.json). A regular value type.
///
/// JSON-valued fields that libmip does not interpret (`source`, unknown keys) are kept as
/// compact JSON text, and `build_info` as a `BuildInfo` (typed accessors over the parsed
/// object), so the public API stays free of a JSON library and every read-modify-write
/// preserves them.
struct PackageSpec {
    std::string name;
    std::string description;
    std::string version = "unspecified";
    std::int64_t build_number = 0;
    std::vector<std::string> dependencies;
    std::string homepage;
    std::string repository;
    std::string license = "unspecified";
    std::string matlab_tag = "any";
    std::string abi_tag = "none";
    std::string platform_tag = "any";
    std::vector<std::string> usage_examples;
    std::vector<std::string> exposed_symbols;
    std::optional<std::string> compile_script;
    std::string timestamp;  ///< "YYYY-MM-DDTHH:MM:SSZ"; "" = not yet set
    double prepare_duration = 0;
    double compile_duration = 0;
    std::optional<std::string> mhl_url;
    std::optional<std::string> mhl_sha256;
    std::optional<std::uint64_t> mhl_size;
    std::optional<std::string> mip_json_url;  ///< index entries only
    std::string source_json;                  ///< `source` as compact JSON; "" = absent/null
    BuildInfo build_info;                     ///< `build_info`; absent() when missing
    /// Keys libmip does not know, in read order, each value as compact JSON text.
    std::vector<std::pair<std::string, std::string>> extra_fields;

    [[nodiscard]] WheelName wheel() const;
    [[nodiscard]] std::string wheel_name() const { return wheel().str(); }

    /// Every problem at once; each `Issue::field` names the field. Checks names (no path
    /// separators, `..`, whitespace or control characters), version, tags, dependencies, URLs,
    /// hashes and the compile script name.
    [[nodiscard]] std::vector<Issue> validate() const;

    /// Parses mip.json text. Throws `SpecError` (subject = `origin`) listing every type error and
    /// every `validate()` issue. Integral floats are accepted for integer fields.
    [[nodiscard]] static PackageSpec from_json(std::string_view json_text,
                                               std::string_view origin = "mip.json");
    /// Like `from_json` but skips `validate()` (type errors still throw).
    [[nodiscard]] static PackageSpec from_json_unchecked(std::string_view json_text,
                                                         std::string_view origin = "mip.json");
    /// Reads and parses a file; `IoError` if unreadable.
    [[nodiscard]] static PackageSpec load(const std::string& path);

    /// mip.json text: UTF-8, 2-space indent, `\n`, final newline, known keys in table order,
    /// then unknown keys in read order. Absent optionals are omitted.
    [[nodiscard]] std::string to_json() const;

    bool operator==(const PackageSpec&) const = default;
};

/// Result of the cache comparison.
struct CacheComparison {
    bool equal = false;
    std::string first_difference;  ///< field name of the first differing cached field
    [[nodiscard]] explicit operator bool() const noexcept { return equal; }
};

/// Compares the cached fields of two specs (`name`, `description`, `version`, `build_number`,
/// `dependencies`, `homepage`, `repository`, `license`, the tags, `usage_examples`, `source`,
/// `build_info.recipe_sha256`). Missing, null, "", [] and {} compare equal; numbers by value.
[[nodiscard]] CacheComparison compare_cached_fields(const PackageSpec& local,
                                                    const PackageSpec& published);

/// The names of the cached fields, in comparison order.
[[nodiscard]] const std::vector<std::string>& cached_field_names();

}  // namespace mip
