#pragma once
// Private: the index assembler's cache of sidecars (`<build-dir>/cache/index/index-cache.bin`)
// and the index entry each one became, so that a warm incremental `mip-build index` parses only
// the sidecars that changed and splices index.json from the stored entry texts
// (docs/performance.md, "Incremental index"). Errors: a file that is not a complete cache of this
// version is reported by `load_index_cache` returning a reason, never half-used.

#include <cstddef>
#include <deque>
#include <filesystem>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <mip/index_assembler.hpp>
#include <mip/package_spec.hpp>

#include "channel_page_impl.hpp"

namespace mip::detail {

/// What one sidecar became in the index (valid for the cache's base URL only).
struct IndexEntry {
    std::string skip_reason;  ///< not "": skipped with this reason (no entry)
    /// The sort and dependency fields of its PackageSpec (index_order_less, the checks).
    std::string name, version, matlab_tag, abi_tag, platform_tag, mhl_url;
    std::vector<std::string> dependencies;
    /// Its index.json entry, indented as in index.json, no final newline: a view of the cache
    /// file's bytes (`IndexCache::bytes`) or of `own_text`.
    std::string_view text;
    std::string own_text;
    /// False when the page cannot be rendered from `build` (an entry with an `architecture`
    /// key, or one `read_document` would reject): the run renders from the index text then.
    bool plain = true;
    page::Build build;  ///< what `read_document` reads from the entry (`index` unset)
};

struct IndexCacheItem {
    std::string etag;
    /// The sidecar's bytes: a view of the cache file's bytes or of the run's GET result (both
    /// outlive the item's use).
    std::string_view data;
    std::shared_ptr<IndexEntry> entry;  ///< null: not processed under this base URL
    /// The item's bytes in the cache file read (key to entry), while the item is unchanged
    /// since: `serialize_index_cache` copies them instead of writing the fields again. Cleared
    /// by whoever changes the etag, data or entry.
    std::string_view record;
};

struct IndexCache {
    std::shared_ptr<const std::string> bytes;  ///< the file read, which the views point into
    std::string base;                          ///< the base URL the entries were made with
    std::unordered_map<std::string, IndexCacheItem> items;
};

/// The cache file's name in the cache directory; and the name of the JSON form of older
/// versions (removed when the new one is written).
inline constexpr std::string_view index_cache_name = "index-cache.bin";
inline constexpr std::string_view old_index_cache_name = "index-etag-cache.json";

/// Reads `file` into `cache`. Returns "" on success or when the file does not exist (empty
/// cache); otherwise why it is unusable (the cache is left empty). Throws nothing for bad bytes.
std::string load_index_cache(const std::filesystem::path& file, IndexCache& cache);

/// The cache file's bytes but its trailer (written with it by `PendingCacheWrite`), as pieces to
/// write in order: an item unchanged since the file was read is a view of that file's bytes
/// (`keep`), the rest is owned here. So a warm run that changed 20 of 2,000 items neither copies
/// nor re-encodes the other 1,980.
struct IndexCacheImage {
    std::shared_ptr<const std::string> keep;  ///< the cache file read, which views point into
    std::deque<std::string> owned;            ///< (a deque: its strings never move)
    std::vector<std::string_view> pieces;
};

/// The cache file of `base`, then each (key, item) in the given order. `read` is the cache file
/// the items' records point into (`IndexCache::bytes`; null when none does).
IndexCacheImage serialize_index_cache(
    const std::string& base,
    const std::vector<std::pair<std::string, const IndexCacheItem*>>& items,
    std::shared_ptr<const std::string> read);

/// The cache file written on a second thread to a temp sibling; `finish()` waits for it
/// (rethrowing its IoError) and renames it into place on the calling thread (the run's renames
/// keep one thread and one order). Unfinished, the destructor waits and removes the temp.
class PendingCacheWrite {
public:
    PendingCacheWrite(const std::filesystem::path& file, IndexCacheImage image);
    ~PendingCacheWrite();
    PendingCacheWrite(const PendingCacheWrite&) = delete;
    PendingCacheWrite& operator=(const PendingCacheWrite&) = delete;
    PendingCacheWrite(PendingCacheWrite&&) = delete;
    PendingCacheWrite& operator=(PendingCacheWrite&&) = delete;
    void finish();

private:
    std::filesystem::path file_, temp_;
    std::future<void> written_;
    bool placed_ = false;
};

/// The index entry of a validated sidecar's spec (`mhl_url` and `mip_json_url` set).
std::shared_ptr<IndexEntry> make_index_entry(const PackageSpec& spec);

/// index.json of the entries (in index order): the bytes `IndexResult::index_json()` gives for
/// the same packages, spliced from the entry texts.
std::string splice_index(const std::vector<IndexEntry*>& entries, const std::string& last_updated);

/// The R2 index as `mip-build index` makes it (index_assembler.cpp): what `IndexAssembler`
/// assembles, without a PackageSpec per cached sidecar (`result.packages` stays empty), with
/// index.json spliced and the page's document built in memory.
struct IndexSite {
    IndexResult result;
    std::size_t total_packages = 0;
    std::string index_json;
    std::optional<page::Document> document;  ///< nullopt: render the page from `index_json`
    /// The cache file's write, still under way (null: nothing to write, e.g. unchanged).
    std::unique_ptr<PendingCacheWrite> cache_write;
};
IndexSite assemble_index_site(Store& store, const IndexOptions& options, const RunOptions& run);
/// `IndexAssembler::write` of an `IndexSite`; waits for its cache write (rethrowing its
/// IoError) once the page is rendered, before the site's files are written.
void write_index_site(IndexSite& site, const std::filesystem::path& output_dir);

}  // namespace mip::detail
