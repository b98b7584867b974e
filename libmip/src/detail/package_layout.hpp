#pragma once
// Private: the output format decides the packaging, the recipe only the content. A prepared
// `<wheel>.dir` (every recipe kind fills it the same way: package files at its root, mip.json,
// load/unload scripts) becomes an archive through one `PackageLayout`: the R2-era format
// (docs/formats.md) or the current one (docs/current-format.md). The bundler asks the layout
// for the archive's name, each entry's name and the two JSON documents; nothing else in the
// pipeline branches on the format.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include <mip/package_spec.hpp>

namespace mip::detail {

/// What a layout knows of the package being bundled.
struct LayoutInput {
    const PackageSpec& spec;
    std::filesystem::path dir;      ///< the prepared `<wheel>.dir`
    std::int64_t source_epoch = 0;  ///< the source date (build epoch or --source-date-epoch)
    std::int64_t zip_epoch = 0;     ///< the same, clamped to the ZIP range, even seconds
};

/// The written archive, for the sidecar.
struct ArchiveFacts {
    std::string sha256;
    std::uint64_t size = 0;
    std::optional<std::string> mhl_url;
};

class PackageLayout {
public:
    PackageLayout() = default;
    virtual ~PackageLayout() = default;
    PackageLayout(const PackageLayout&) = delete;  // polymorphic: held by reference
    PackageLayout& operator=(const PackageLayout&) = delete;
    PackageLayout(PackageLayout&&) = delete;
    PackageLayout& operator=(PackageLayout&&) = delete;
    /// "r2" or "mip" (`--format`).
    [[nodiscard]] virtual std::string format() const = 0;
    /// The archive's file name without `.mhl` (also the sidecar's, + `.mhl.mip.json`).
    [[nodiscard]] virtual std::string archive_stem(const PackageSpec& spec) const = 0;
    /// The entry name of the prepared dir's file `rel` (`/`-separated); nullopt = left out.
    /// `mip.json` stays `mip.json` in both formats.
    [[nodiscard]] virtual std::optional<std::string> entry_name(const PackageSpec& spec,
                                                                const std::string& rel) const = 0;
    /// The archived mip.json.
    [[nodiscard]] virtual std::string archive_json(const LayoutInput& in) const = 0;
    /// The sidecar `<stem>.mhl.mip.json`.
    [[nodiscard]] virtual std::string sidecar_json(const LayoutInput& in,
                                                   const ArchiveFacts& archive) const = 0;
    /// A sidecar (bundled or published) as the uploader handles it; `checked` also validates.
    /// SpecError naming `origin` when it does not parse (or validate).
    [[nodiscard]] virtual PackageSpec read_sidecar(const std::string& text,
                                                   const std::string& origin,
                                                   bool checked) const = 0;
    /// The sidecar text of a spec `read_sidecar` returned (its `mhl_url` as set since).
    [[nodiscard]] virtual std::string render_sidecar(const PackageSpec& spec) const = 0;
    /// The cache check: does the published sidecar describe what would be built now? R2: the
    /// cached fields (`compare_cached_fields`); current: name, version, architecture and
    /// `source_hash` (the release folder + the upstream pin, spec mip-current §5).
    [[nodiscard]] virtual CacheComparison compare_published(const PackageSpec& local,
                                                            const PackageSpec& published) const = 0;
    /// A package name as store keys spell it (the current format writes `-` as `_`).
    [[nodiscard]] virtual std::string key_name(const std::string& name) const = 0;
    /// The name part of an archive stem (`key_name` spelling); nullopt when it is none.
    [[nodiscard]] virtual std::optional<std::string> name_of_stem(
        const std::string& stem) const = 0;
};

/// The store object recording a store's format (`{"format": "mip"}`); absent = r2.
inline constexpr const char* store_format_key = "mip-store-format.json";

/// The layout of `format` ("r2" or "mip"); SpecError naming `--format` otherwise.
[[nodiscard]] const PackageLayout& package_layout(const std::string& format);

}  // namespace mip::detail
