#pragma once
// Private: the index manifest, `mip-index-manifest.json` at the root of an R2-format store
// (docs/formats.md). It names every sidecar with the ETag it had when written, so an
// incremental `index` reads one object instead of listing the store, then GETs only the
// sidecars whose ETag its cache does not hold. Uploaders add their sidecars with conditional
// writes (If-Match on the manifest's ETag, If-None-Match: * to create it), re-reading and
// merging on 412; only a full listing marks it trusted (`listed_at`), so a manifest an uploader
// created on a store it never saw whole is never taken for complete.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include <mip/log.hpp>
#include <mip/store.hpp>

namespace mip::detail {

inline constexpr const char* index_manifest_key = "mip-index-manifest.json";

/// Sidecar key -> ETag, and when a full listing last wrote it.
struct IndexManifest {
    std::map<std::string, std::string> sidecars;
    /// Unix seconds of the full listing that last wrote it; 0 = never (not trusted).
    std::int64_t listed_at = 0;
    bool operator==(const IndexManifest&) const = default;
};

/// A key the index reads: `<wheel>.mhl.mip.json` directly under the prefix.
[[nodiscard]] bool is_sidecar_key(std::string_view key);

/// Canonical text: sorted keys, one sidecar a line (byte-stable for equal manifests).
[[nodiscard]] std::string render_index_manifest(const IndexManifest& manifest);

/// Parses and checks every field; throws SpecError naming the manifest and the field (a key
/// that is no sidecar key, an empty or control-character ETag, an unknown format version).
[[nodiscard]] IndexManifest parse_index_manifest(std::string_view text);

/// An uploader's merge: `ours` over `current` (absent = a new, untrusted manifest), and the
/// entries of `unchanged` (sidecars it found already published) where `current` has none: they
/// fill gaps (a run killed before its manifest update) but never replace what another uploader
/// wrote. Every other entry and `listed_at` stay. nullopt when there is nothing to change.
/// An upload's sidecars: key -> ETag.
struct UploadedSidecars {
    std::map<std::string, std::string> written;    ///< uploaded by this run (`ours`)
    std::map<std::string, std::string> unchanged;  ///< found already published
};
[[nodiscard]] std::optional<IndexManifest> merge_uploaded(
    const std::optional<IndexManifest>& current, const UploadedSidecars& sidecars);

/// A full listing's repair: the listed sidecars, except where the manifest changed between
/// `base` (read before the listing) and `current` (read now): such an entry was written by an
/// uploader during the listing and is kept (the listing may have passed its key already).
/// Entries unchanged since `base` follow the listing, so a deleted sidecar's entry goes.
[[nodiscard]] IndexManifest merge_listing(const std::map<std::string, std::string>& listed,
                                          std::int64_t listed_at,
                                          const std::optional<IndexManifest>& base,
                                          const std::optional<IndexManifest>& current);

/// The manifest as stored. `present` with no `manifest` = unreadable (`problem` says why).
struct ManifestRead {
    bool present = false;
    std::optional<IndexManifest> manifest;
    std::string etag;
    std::string problem;
};

/// One GET of the manifest. Throws what the store throws for the GET itself.
[[nodiscard]] ManifestRead read_index_manifest(Store& store);

/// What a GET of the manifest gave: `read_index_manifest` without the request (an upload GETs
/// it with its listing).
[[nodiscard]] ManifestRead manifest_read_of(const GetResult& got, Store& store);

struct ManifestUpdateOptions {
    std::uint32_t max_attempts = 10;
    std::chrono::milliseconds backoff{20};  ///< first wait after a 412; doubles, with jitter
    /// The manifest as read earlier in the run: the first attempt merges into it instead of
    /// reading it again (one round trip less); if it changed since, the write meets a 412 and
    /// the next attempt reads it as usual.
    std::optional<ManifestRead> first_read;
};

struct ManifestUpdate {
    bool written = false;
    bool gave_up = false;  ///< every attempt met a concurrent writer (412)
    std::uint32_t attempts = 0;
};

/// Read, `merge(current read)` (nullopt = nothing to write), conditional write; a 412 (or a 404
/// to If-Match: the object went away) starts over with a fresh read, after a growing, jittered
/// wait. Store errors other than the precondition are thrown.
using ManifestMerge = std::function<std::optional<IndexManifest>(const ManifestRead& current)>;
[[nodiscard]] ManifestUpdate update_index_manifest(Store& store,
                                                   const ManifestMerge& merge,
                                                   const ManifestUpdateOptions& options = {});

/// The uploader's step, after its sidecars landed: adds `ours` (sidecar key -> the ETag its PUT
/// returned) and fills gaps from `unchanged` (`merge_uploaded`). An empty ETag (a store that did
/// not say) leaves the manifest untrusted
/// (`listed_at` 0: the next index lists). When every attempt met a concurrent writer, one
/// unconditional write marks it untrusted, keeping what it holds plus `ours`: the next index
/// then lists the store and repairs it, so no entry is ever lost to the index. Throws store
/// errors (the upload then fails: its sidecars are published, the manifest may lack them).
void record_uploaded_sidecars(Store& store,
                              const UploadedSidecars& sidecars,
                              const Logger& logger,
                              const ManifestUpdateOptions& options = {});

}  // namespace mip::detail
