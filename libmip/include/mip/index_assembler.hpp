#pragma once
/// \file index_assembler.hpp
/// `IndexAssembler`: builds `index.json` from every `*.mhl.mip.json` sidecar directly under the
/// store's prefix; `write` adds the channel page and feeds (channel_page.hpp).

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <mip/package_spec.hpp>
#include <mip/run_options.hpp>
#include <mip/store.hpp>

namespace mip {

/// What only the index reads. From `RunOptions`: `base_url` (public URL of the store prefix;
/// "" = the store's default, `file://…` for a local store), `source_date_epoch`
/// (`last_updated`; nullopt = now), `max_in_flight`, the logger and progress.
struct IndexOptions {
    /// `--strict`: fail on a bad sidecar or a missing dependency instead of skipping.
    bool strict = false;
    /// `--verify`: re-download every `.mhl` and check its size and sha256.
    bool verify = false;
    /// ETag cache of sidecars for incremental assembly ("" = none). The result always equals a
    /// full assembly.
    std::filesystem::path cache_dir;
    /// `--full-listing`: list the store even when its index manifest (`mip-index-manifest.json`)
    /// could say what changed, and repair the manifest from the listing. Without it a warm
    /// cache and a manifest checked by a full listing within the last day replace the listing.
    bool full_listing = false;
    /// `--output-dir`: where `mip-build index` writes (`IndexAssembler::write` takes its
    /// directory explicitly).
    std::filesystem::path output_dir = "build/gh-pages";
    /// `--channel OWNER/NAME` (with `--format mip`, required): the index's `github_repo`
    /// (`OWNER/mip-NAME`); `output_dir` is then ready to deploy as
    /// `https://OWNER.github.io/mip-NAME/` (docs/current-format.md).
    std::string channel;
    /// `--allow-partial` (`--format mip`): list a release although some architecture its
    /// builds declare is not published yet (else it is held out, reported as a warning).
    bool allow_partial = false;
    /// `--compatibility-floor VERSION` (`--format mip`): the index's `mip_compatibility_floor`,
    /// the oldest mip client the channel works with (a numeric version; "" = none). `publish`
    /// takes it from the channel's `channel.yaml` when not given (docs/current-format.md).
    std::string compatibility_floor;
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
    /// What named the sidecars: "listing" (the store listed) or "manifest" (its index manifest).
    std::string sidecar_source;
    /// `--format mip`: the current format's index.json as assembled ("" = the R2 index, built
    /// from `packages`).
    std::string document;
    [[nodiscard]] std::string index_json() const;
    /// The channel page of `index_json()` (`render_channel_site`, channel_page.hpp).
    [[nodiscard]] std::string packages_html() const;
};

/// **Example**
/// ```cpp
/// auto store = mip::open_store("build/store");
/// mip::IndexAssembler assembler(*store, {.strict = true}, {.source_date_epoch = 1700000000});
/// mip::IndexAssembler::write(assembler.assemble(), "build/gh-pages");
/// ```
///
/// Thread-safety: one `assemble()` at a time per assembler (and per store); progress events
/// (stage "index") run on the calling thread.
class IndexAssembler {
public:
    /// `store` must outlive the assembler.
    IndexAssembler(Store& store, IndexOptions options = {}, RunOptions run = {});

    /// Lists, downloads (many at once) and validates every sidecar. Throws `SpecError` for an
    /// unusable base URL (missing, plain http, not https for an S3 store), under `strict` (or on
    /// normalised-name collisions, always), `RemoteError`/`NetworkError` when the listing fails.
    /// With `run.format == "mip"` the current format's index (`document`; `--channel` required,
    /// `https://` `mhl_url`s only, entries in the client's order).
    [[nodiscard]] IndexResult assemble();

    /// Writes `index.json`, `packages.html`, `feed.json` and `feed.xml` into `output_dir`,
    /// together or not at all (`write_channel_site`, channel_page.hpp). Throws `IoError`.
    static void write(const IndexResult& result, const std::filesystem::path& output_dir);

private:
    Store& store_;
    IndexOptions options_;
    RunOptions run_;
};

/// Index order comparison (§5): name bytewise, version descending, then tags and URL.
[[nodiscard]] bool index_order_less(const PackageSpec& a, const PackageSpec& b);

}  // namespace mip
