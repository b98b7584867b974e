#pragma once
/// \file index_assembler.hpp
/// `IndexAssembler`: builds `index.json` from every `*.mhl.mip.json` sidecar directly under the
/// store's prefix; `write` adds the channel page and feeds (channel_page.hpp).

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <mip/log.hpp>
#include <mip/package_spec.hpp>
#include <mip/progress.hpp>
#include <mip/store.hpp>

namespace mip {

struct IndexOptions {
    /// Public URL of the store prefix; "" = the store's default (`file://…` for a local store).
    std::string base_url;
    bool strict = false;  ///< fail on a bad sidecar or missing dependency instead of skipping
    bool verify = false;  ///< re-download every `.mhl` and check size and sha256
    std::optional<std::int64_t> source_date_epoch;  ///< `last_updated`; nullopt = now
    std::size_t max_in_flight = 32;
    /// ETag cache of sidecars for incremental assembly ("" = none). The result always equals a
    /// full assembly.
    std::filesystem::path cache_dir;
    Logger logger;
    ProgressCallback progress;
    std::chrono::milliseconds progress_interval = default_progress_interval;
};

struct SkippedSidecar {
    std::string key;
    std::string reason;
    bool operator==(const SkippedSidecar&) const = default;
};

struct IndexResult {
    std::vector<PackageSpec> packages;  ///< in index order
    std::vector<SkippedSidecar> skipped;
    std::vector<std::string> warnings;
    std::string last_updated;
    std::size_t sidecars_listed = 0;
    std::size_t sidecars_downloaded = 0;  ///< < listed when the ETag cache served some
    [[nodiscard]] std::string index_json() const;
    /// The channel page of `index_json()` (`render_channel_site`, channel_page.hpp).
    [[nodiscard]] std::string packages_html() const;
};

class IndexAssembler {
public:
    IndexAssembler(Store& store, IndexOptions options);

    /// Lists, downloads (many at once) and validates every sidecar. Throws `SpecError` under
    /// `strict` (or on normalised-name collisions, always), `RemoteError`/`NetworkError` when
    /// the listing fails.
    [[nodiscard]] IndexResult assemble();

    /// Writes `index.json`, `packages.html`, `feed.json` and `feed.xml` into `output_dir`,
    /// together or not at all (`write_channel_site`, channel_page.hpp). Throws `IoError`.
    static void write(const IndexResult& result, const std::filesystem::path& output_dir);

private:
    Store& store_;
    IndexOptions options_;
};

/// Index order comparison (§5): name bytewise, version descending, then tags and URL.
[[nodiscard]] bool index_order_less(const PackageSpec& a, const PackageSpec& b);

}  // namespace mip
