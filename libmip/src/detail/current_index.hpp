#pragma once
// Private: the channel index of the current format (spec mip-current §4) as a pure function of
// the published sidecars, so its rules are tested without a store: `github_repo` from
// `--channel OWNER/NAME`, entries = sidecar + `mhl_url` (https:// only) + `mip_json_url`,
// sorted by lowercased name, version (numeric parts as integers), architecture; a release whose
// declared architectures are not all published is held out unless `allow_partial`; names equal
// after lowercasing and `-`→`_` are refused. The index stage is to call it with the store's
// sidecars (not wired yet: docs/current-format.md).

#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <mip/index_assembler.hpp>
#include <mip/run_options.hpp>
#include <mip/store.hpp>

#include "detail/json.hpp"

namespace mip::detail {

struct CurrentIndexOptions {
    std::string channel;  ///< `OWNER/NAME`: github_repo `OWNER/mip-NAME`
    std::string
        base_url;  ///< https:// URL of the store prefix (sidecars: `<base>/<stem>.mhl.mip.json`)
    std::optional<std::string> compatibility_floor;  ///< channel.yaml `mip_compatibility_floor`
    bool allow_partial = false;                      ///< `--allow-partial`
    std::string last_updated;                        ///< `YYYY-MM-DDTHH:MM:SSZ`
    /// (name, version) → the architectures its builds declare (from the recipes); a release
    /// absent here is complete with what is published.
    std::map<std::pair<std::string, std::string>, std::set<std::string>> declared;
};

// NOLINTNEXTLINE(bugprone-exception-escape): its implicit moves; nlohmann's asserts, not throws.
struct CurrentIndex {
    Json document;
    std::vector<std::string> held;  ///< "kdtree 2.0: held: waiting for macos_arm64"
};

/// Builds the index. Throws SpecError naming the package and field: a channel that is not
/// `OWNER/NAME`, a sidecar without name/version/architecture, an `mhl_url` that is not https://,
/// two names that collide once normalised.
[[nodiscard]] CurrentIndex build_current_index(const std::vector<Json>& sidecars,
                                               const CurrentIndexOptions& options);

/// `IndexAssembler::assemble()` for `--format mip`: every `<stem>.mhl.mip.json` under the
/// store's prefix read (many at once) and checked as the current layout reads it, then
/// `build_current_index`. A bad sidecar is skipped (named in `skipped`), or fails the run under
/// `strict`; held releases become warnings.
[[nodiscard]] IndexResult assemble_current_index(Store& store,
                                                 const IndexOptions& options,
                                                 const RunOptions& run);

}  // namespace mip::detail
