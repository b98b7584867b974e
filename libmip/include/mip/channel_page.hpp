#pragma once
/// \file channel_page.hpp
/// The channel's web page (`packages.html`) and its feeds (`feed.json`, JSON Feed 1.1;
/// `feed.xml`, Atom), rendered from an **index document** (the text of `index.json`) of either
/// format: the R2-era format libmip publishes today (`mip-format.md` §5: `platform_tag`,
/// `exposed_symbols`) and the current mip format (`mip-current.md` §3–§4: `architecture`,
/// `paths`, `github_repo`). See docs/channel-page.md.
///
/// Everything is a pure function of the document and the options: the same index gives the
/// same bytes (no clock, no environment, no locale).
///
/// **Example**
/// ```cpp
/// auto site = mip::render_channel_site(index_json_text);
/// // site.packages_html, site.feed_json, site.feed_xml
/// mip::write_channel_site(index_json_text, "build/gh-pages");  // all four files, or none
/// ```

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mip {

/// Which index format a document is in.
enum class IndexFormat {
    automatic,  ///< detect (`detect_index_format`)
    r2,         ///< R2-era: entries carry `platform_tag` (mip-format.md)
    current,    ///< current mip: entries carry `architecture` (mip-current.md)
};

/// "automatic", "r2" or "current".
[[nodiscard]] std::string_view to_string(IndexFormat format) noexcept;

struct ChannelPageOptions {
    /// `automatic` detects the format from the document; `r2`/`current` force it (entries must
    /// then carry `platform_tag` resp. `architecture`).
    IndexFormat format = IndexFormat::automatic;
    /// Shown as the page title; "" = derived: `github_repo` "owner/mip-ch" gives "owner/ch",
    /// else the first path segment of an https:// store URL (mip-format §11.6: the channel),
    /// else "local" for a `file://` store, else "mip".
    std::string channel_name{};
    /// https:// URL of the directory the page is served from (for the feeds' absolute links);
    /// "" = `https://<owner>.github.io/mip-<ch>/` from `github_repo`, else relative links.
    std::string site_url{};
    /// How many of the newest builds the feeds list.
    std::size_t feed_entries = 50;
};

/// What the client installs on one platform.
struct PlatformChoice {
    std::string platform;              ///< client platform (`linux_x86_64`, `numbl_wasm`, …)
    std::optional<std::size_t> entry;  ///< position in the document's `packages`; none = nothing
    std::string version;               ///< the chosen build's version ("" when none)
    std::string build;                 ///< the chosen build's platform tag/architecture
    bool operator==(const PlatformChoice&) const = default;
};

/// One package of the page (all builds sharing a name, compared as clients do).
struct ChannelPackage {
    std::string name;    ///< first spelling in the document (the client's display form)
    std::string anchor;  ///< `id` of its section: `packages.html#<anchor>`
    /// The version `mip install NAME` targets: current format, the client's choice (§4);
    /// R2, the newest in index order (the R2 client itself may install an older one).
    std::string newest_version;
    std::vector<std::size_t> entries;     ///< positions in `packages`, in display order
    std::vector<PlatformChoice> choices;  ///< one per page platform, in page order
    std::vector<std::string> warnings;    ///< "newest version lacks a platform…"
    std::vector<std::string> used_by;     ///< packages depending on this one (display names)
    bool operator==(const ChannelPackage&) const = default;
};

/// The client's view of a channel, as the page shows it.
struct ChannelSummary {
    IndexFormat format = IndexFormat::r2;
    std::string channel_name;
    std::vector<std::string> platforms;  ///< the client platforms the page lists
    std::vector<ChannelPackage> packages;
    std::size_t builds = 0;  ///< entries in the document
    bool operator==(const ChannelSummary&) const = default;
};

struct ChannelSite {
    std::string packages_html;
    std::string feed_json;  ///< JSON Feed 1.1
    std::string feed_xml;   ///< Atom (RFC 4287)
    ChannelSummary summary;
};

/// The format of an index document: `github_repo` at the top level or `architecture` in the
/// entries means current, `platform_tag` means R2; a document without entries or markers is R2.
/// Throws `SpecError` (subject "index.json") for text that is not an index document, or whose
/// entries mix both formats.
[[nodiscard]] IndexFormat detect_index_format(std::string_view index_json);

/// Groups builds and computes each platform's choice exactly as the format's client does:
/// R2 — the first entry in index order whose `platform_tag` equals the platform, else (for
/// `macosx_*` platforms) the first `macosx_10_9_universal2`, else the first `any`; current —
/// the highest numeric version, else `main`, else `master`, else `unspecified`, else the first
/// alphabetically, and within it the exact architecture, else `numbl_wasm` for `numbl_*`, else
/// `any`, never an older version. Throws `SpecError` naming the entry and field for malformed
/// entries. Thread-safe (pure).
[[nodiscard]] ChannelSummary summarize_channel(std::string_view index_json,
                                               const ChannelPageOptions& options = {});

/// Renders `packages.html`, `feed.json` and `feed.xml`. Byte-reproducible; every text is
/// escaped (control characters shown as visible symbols), only `https:` URLs become links, and
/// a Content-Security-Policy `<meta>` allows only the page's own style and script (by sha256).
/// Throws as `summarize_channel`. Thread-safe (pure).
[[nodiscard]] ChannelSite render_channel_site(std::string_view index_json,
                                              const ChannelPageOptions& options = {});

/// Writes `index.json` (the text as given), `packages.html`, `feed.json` and `feed.xml` into
/// `output_dir` (created if missing) **together or not at all**: all four are written to temp
/// files first; then each is renamed into place (index.json last) with the old file kept as a
/// hard-linked backup, and a failed rename restores every file already replaced. Other files in
/// `output_dir` are left alone. A crash between two renames leaves a journal
/// (`.mip-replace.journal`) from which the next call (or `index` run) first restores the old
/// set; a live writer's journal is an `IoError` ("in use by pid N"). Throws `IoError` naming the
/// file (nothing replaced), or as `render_channel_site` (nothing written).
void write_channel_site(std::string_view index_json,
                        const std::filesystem::path& output_dir,
                        const ChannelPageOptions& options = {});

}  // namespace mip
