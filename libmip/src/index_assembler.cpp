#include <algorithm>
#include <chrono>
#include <future>
#include <map>
#include <tuple>
#include <unordered_map>

#include <mip/channel_page.hpp>
#include <mip/error.hpp>
#include <mip/index_assembler.hpp>

#include "detail/base_url.hpp"
#include "detail/convert.hpp"
#include "detail/crypto.hpp"
#include "detail/current_index.hpp"
#include "detail/fs.hpp"
#include "detail/index_cache.hpp"
#include "detail/index_checks.hpp"
#include "detail/index_manifest.hpp"
#include "detail/json.hpp"
#include "detail/package_layout.hpp"

namespace mip {

namespace fs = std::filesystem;
using detail::Json;

namespace {

constexpr std::string_view sidecar_suffix = ".mhl.mip.json";
/// The periodic consistency check: a manifest whose last full listing is older than this (or
/// dated in the future) makes the run list the store again (docs/performance.md).
constexpr std::int64_t manifest_max_age_seconds = std::int64_t{24} * 3600;

std::int64_t unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

/// index_order_less of two packages' fields (a missing mhl_url as "").
template <typename A, typename B>
bool order_less(const A& a, const std::string& a_url, const B& b, const std::string& b_url) {
    if (a.name != b.name) {
        return a.name < b.name;
    }
    int v = detail::version_order(a.version, b.version);
    if (v != 0) {
        return v < 0;
    }
    auto ta = std::tie(a.matlab_tag, a.abi_tag, a.platform_tag);
    auto tb = std::tie(b.matlab_tag, b.abi_tag, b.platform_tag);
    if (ta != tb) {
        return ta < tb;
    }
    return a_url < b_url;
}

}  // namespace

bool index_order_less(const PackageSpec& a, const PackageSpec& b) {
    return order_less(a, a.mhl_url.value_or(""), b, b.mhl_url.value_or(""));
}

namespace {

/// One `assemble()`: the store, the options, and what the steps hand to each other.
class Assembly {
public:
    /// `need_specs`: a PackageSpec per package (`IndexResult::packages`), every sidecar parsed;
    /// else (`mip-build index`) a cached sidecar's stored index entry serves.
    Assembly(Store& store, const IndexOptions& options, const RunOptions& run, bool need_specs)
        : store_(store), options_(options), run_(run), need_specs_(need_specs || options.verify) {}

    IndexResult assemble() {
        base_ = detail::resolve_base_url(run_.base_url, store_, "index");
        // With a cache to read, the manifest's GET goes out first and the cache is read while it
        // travels (the store is not used meanwhile; the result is collected before anything else
        // asks it).
        if (!options_.cache_dir.empty() &&
            fs::exists(options_.cache_dir / std::string(detail::index_cache_name))) {
            manifest_pending_ = std::async(std::launch::async,
                                           [this] { return detail::read_index_manifest(store_); });
        }
        load_cache();
        const bool listed = !read_from_manifest();
        if (listed) {
            list_sidecars();
        }
        auto packages = parse_sidecars();
        if (listed) {
            repair_manifest();
        }
        check_names_and_dependencies();
        if (options_.verify) {
            verify_bundles(packages);
        }
        std::sort(packages.begin(), packages.end(), index_order_less);
        std::sort(entries_.begin(), entries_.end(), [](const auto* a, const auto* b) {
            return order_less(*a, a->mhl_url, *b, b->mhl_url);
        });
        result_.packages = std::move(packages);
        std::int64_t now = run_.source_date_epoch
                               ? *run_.source_date_epoch
                               : std::chrono::duration_cast<std::chrono::seconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count();
        result_.last_updated = detail::iso8601_utc(now);
        run_.logger.info("index: " + std::to_string(entries_.size()) + " package(s), " +
                         std::to_string(result_.skipped.size()) + " skipped");
        return std::move(result_);
    }

    /// After `assemble()`: the cache's write, under way (may be invalid: nothing to write).
    std::unique_ptr<detail::PendingCacheWrite> cache_write() { return std::move(cache_write_); }

    /// After `assemble()`: the packages' entries in index order.
    /// (The cache is written from bytes serialized before: the caller may take from them.)
    [[nodiscard]] std::vector<detail::IndexEntry*>& entries() { return entries_; }

private:
    static bool is_sidecar(const std::string& key) {
        return key.size() > sidecar_suffix.size() &&
               key.compare(key.size() - sidecar_suffix.size(), sidecar_suffix.size(),
                           sidecar_suffix) == 0;
    }

    /// The cache of an earlier run (detail/index_cache.hpp). One that cannot be read is a
    /// warning and a full assembly (rewritten at the end).
    void load_cache() {
        if (options_.cache_dir.empty()) {
            return;
        }
        cache_file_ = options_.cache_dir / std::string(detail::index_cache_name);
        if (auto problem = detail::load_index_cache(cache_file_, cache_); !problem.empty()) {
            run_.logger.warning("ignoring unreadable index cache " + cache_file_.string() + ": " +
                                problem + "; assembling the index in full");
            cache_dirty_ = true;
        }
        if (fs::exists(options_.cache_dir / std::string(detail::old_index_cache_name))) {
            cache_dirty_ = true;  // the JSON cache of older versions goes when this one is written
        }
        if (cache_.base != base_) {
            for (auto& [key, item] : cache_.items) {
                item.entry.reset();  // entries hold URLs made from the base URL
                item.record = {};
            }
            cache_dirty_ = true;
        }
        cached_count_ = cache_.items.size();
    }

    /// The manifest's reason not to serve this run ("" = it may).
    [[nodiscard]] std::string manifest_unusable() const {
        if (options_.full_listing) {
            return "--full-listing";
        }
        if (!manifest_.present) {
            return std::string("no ") + detail::index_manifest_key + " yet";
        }
        if (!manifest_.manifest) {
            return "ignoring " + std::string(detail::index_manifest_key) + ": " + manifest_.problem;
        }
        const auto at = manifest_.manifest->listed_at;
        if (at == 0) {
            return std::string(detail::index_manifest_key) + " not yet checked by a full listing";
        }
        const auto now = unix_now();
        if (at > now + 300 || now - at > manifest_max_age_seconds) {
            return std::string(detail::index_manifest_key) +
                   ": its last full listing is more than a day old (or in the future)";
        }
        return {};
    }

    /// One GET of the manifest, then GETs of the sidecars whose ETag the cache does not hold.
    /// False (nothing kept) when the run must list the store instead: a cold cache (the manifest
    /// is not even read), `--full-listing`, no usable manifest, or a sidecar the manifest names
    /// that is gone.
    bool read_from_manifest() {
        if (cache_.items.empty() && !options_.full_listing) {
            // A cold cache is a full assembly either way: the listing alone, as always.
            run_.logger.info("no index cache: listing the store");
            if (manifest_pending_.valid()) {
                try {
                    (void)manifest_pending_.get();  // read for nothing: the cache was unusable
                } catch (const std::exception&) {
                }
            }
            return false;
        }
        manifest_read_ = true;
        try {
            manifest_ = manifest_pending_.valid() ? manifest_pending_.get()
                                                  : detail::read_index_manifest(store_);
        } catch (const Error& e) {
            if (e.code() == ErrorCode::network || e.code() == ErrorCode::auth) {
                throw;
            }
            manifest_ = {};
            manifest_.problem = e.what();
            run_.logger.warning(std::string("cannot read ") + detail::index_manifest_key + ": " +
                                e.what() + "; listing the store");
            return false;
        }
        if (auto why = manifest_unusable(); !why.empty()) {
            if (manifest_.present && !manifest_.manifest) {
                run_.logger.warning(why + "; listing the store");
            } else {
                run_.logger.info(why + "; listing the store");
            }
            return false;
        }
        const auto& entries = manifest_.manifest->sidecars;
        std::vector<GetRequest> requests;
        for (const auto& [key, etag] : entries) {
            const auto* hit = cached(key);
            const std::string cached_etag = hit != nullptr ? hit->etag : std::string();
            if (hit != nullptr && cached_etag == etag) {
                continue;  // the manifest says it is unchanged
            }
            requests.push_back({key, cached_etag});
        }
        auto got = store_.get_many(requests, batch_options());
        std::map<std::string, GetResult> by_key;
        for (auto& g : got) {
            if (!g.error && !g.found) {
                run_.logger.warning(g.key + " is in " + detail::index_manifest_key +
                                    " but not in the store; listing the store");
                return false;
            }
            by_key.emplace(g.key, std::move(g));
        }
        for (const auto& [key, etag] : entries) {
            sidecars_.push_back(ObjectInfo{key, 0, etag, {}});
            if (auto it = by_key.find(key); it != by_key.end()) {
                got_.push_back(std::move(it->second));
            } else {
                GetResult r;
                r.key = key;
                r.found = true;
                r.not_modified = true;
                r.etag = etag;
                got_.push_back(std::move(r));
            }
        }
        result_.sidecars_listed = sidecars_.size();
        result_.sidecar_source = "manifest";
        run_.logger.info(std::string(detail::index_manifest_key) + " names " +
                         std::to_string(sidecars_.size()) + " sidecar(s); " +
                         std::to_string(requests.size()) + " not in the index cache");
        return true;
    }

    /// After a listing that read the manifest: the manifest made to match it (trusted from now
    /// on), unless it already does and is fresh. An absent one is created by `--full-listing`
    /// only. Entries uploaders wrote during the listing are kept (`merge_listing`). A store that
    /// refuses the write (read-only credentials) only warns.
    void repair_manifest() {
        if (run_.dry_run || !manifest_read_) {
            return;
        }
        if (!manifest_.present && !options_.full_listing) {
            return;  // only uploaders and --full-listing create one: a store without stays so
        }
        std::map<std::string, std::string> listed;
        for (const auto& s : sidecars_) {
            if (s.etag.empty() || !detail::is_sidecar_key(s.key)) {
                run_.logger.info("not writing " + std::string(detail::index_manifest_key) +
                                 ": the listing of " + s.key + " cannot be recorded");
                return;
            }
            listed.emplace(s.key, s.etag);
        }
        if (manifest_.manifest && manifest_.manifest->sidecars == listed &&
            manifest_unusable().empty()) {
            return;  // the listing confirmed it
        }
        const auto now = unix_now();
        const std::optional<detail::IndexManifest> base = manifest_.manifest;
        try {
            auto r =
                detail::update_index_manifest(store_, [&](const detail::ManifestRead& current) {
                    return std::optional<detail::IndexManifest>(
                        detail::merge_listing(listed, now, base, current.manifest));
                });
            if (r.gave_up) {
                run_.logger.warning(std::string("could not update ") + detail::index_manifest_key +
                                    ": concurrent writers on every attempt");
            } else {
                run_.logger.info(std::string("wrote ") + detail::index_manifest_key + " (" +
                                 std::to_string(listed.size()) + " sidecar(s) listed)");
            }
        } catch (const Error& e) {
            run_.logger.warning(std::string("could not update ") + detail::index_manifest_key +
                                ": " + e.what());
        }
    }

    [[nodiscard]] BatchOptions batch_options() const {
        BatchOptions batch;
        batch.max_in_flight = run_.max_in_flight;
        batch.progress = run_.progress;
        batch.progress_interval = run_.progress_interval;
        batch.stage = "index";
        return batch;
    }

    /// Lists the sidecars and gets the ones the cache cannot answer.
    void list_sidecars() {
        // A sidecar whose listed ETag equals the cached one is served from the cache without a
        // request: the listing already revalidated it, so an incremental run costs the listing plus
        // the changed objects. A cached sidecar whose ETag differs is fetched with If-None-Match (a
        // store whose GET and LIST ETags differ in form can still answer 304). The GETs of a
        // listing page start while the next page is fetched (`Store::list_and_get`).
        auto want = [&](const ObjectInfo& s) -> std::optional<GetRequest> {
            if (!is_sidecar(s.key)) {
                return std::nullopt;
            }
            const auto* hit = cached(s.key);
            const bool in_cache = hit != nullptr;
            const std::string cached_etag = in_cache ? hit->etag : std::string();
            if (in_cache && !s.etag.empty() && cached_etag == s.etag) {
                return std::nullopt;  // revalidated by the listing
            }
            GetRequest r{s.key, {}};
            if (in_cache && !cached_etag.empty()) {
                r.if_none_match = cached_etag;
            }
            return r;
        };
        auto options = batch_options();
        options.on_got = [this](const GetResult& g) { parse_ahead(g); };
        auto listed = store_.list_and_get("", false, want, options);
        for (auto& o : listed) {
            if (!is_sidecar(o.info.key)) {
                continue;
            }
            if (o.got) {
                got_.push_back(std::move(*o.got));
            } else {  // served from the cache
                GetResult r;
                r.key = o.info.key;
                r.found = true;
                r.not_modified = true;
                r.etag = o.info.etag;
                got_.push_back(std::move(r));
            }
            sidecars_.push_back(std::move(o.info));
        }
        result_.sidecars_listed = sidecars_.size();
        result_.sidecar_source = "listing";
        run_.logger.info("listed " + std::to_string(sidecars_.size()) + " sidecar(s) in " +
                         store_.describe());
    }

    void skip(const std::string& key, const std::string& reason) {
        if (options_.strict) {
            throw SpecError(key, {{"", reason}});
        }
        run_.logger.warning("skipping " + key + ": " + reason);
        result_.skipped.push_back({key, reason});
    }

    /// A sidecar's bytes validated into its index entry (or a skip reason); `spec` receives the
    /// package when not null.
    std::shared_ptr<detail::IndexEntry> make_entry(const std::string& key,
                                                   std::string_view data,
                                                   PackageSpec* spec_out) {
        auto skipped = [](std::string reason) {
            auto e = std::make_shared<detail::IndexEntry>();
            // An empty reason would read as "not skipped": an error's text can be empty (a key
            // that starts with a NUL byte ends what() at once).
            e->skip_reason =
                reason.empty() ? std::string("is not a valid sidecar") : std::move(reason);
            return e;
        };
        PackageSpec spec;
        try {
            spec = PackageSpec::from_json(data, key);
        } catch (const SpecError& e) {
            return skipped(e.what());
        }
        // §5: clients need these; a sidecar must state them, not inherit defaults.
        if (auto missing = detail::missing_required_field(data); !missing.empty()) {
            return skipped("field '" + missing + "' is missing");
        }
        auto basename = key.substr(key.rfind('/') == std::string::npos ? 0 : key.rfind('/') + 1);
        auto expected = spec.wheel_name() + std::string(sidecar_suffix);
        if (basename != expected) {
            std::string why = "its fields describe " + expected;
            why += ", not " + basename;
            return skipped(why);
        }
        if (!spec.mhl_url) {
            spec.mhl_url = base_ + "/" + spec.wheel_name() + ".mhl";  // legacy sidecars
        }
        spec.mip_json_url = base_ + "/" + key;
        auto issues = spec.validate();
        if (!issues.empty()) {
            return skipped(SpecError(key, issues).what());
        }
        auto entry = detail::make_index_entry(spec);
        if (spec_out != nullptr) {
            *spec_out = std::move(spec);
        }
        return entry;
    }

    /// A sidecar's entry made the moment its GET is over, while the others are in flight (the
    /// calling thread waits on the network meanwhile); `parse_sidecars` takes it. Anything
    /// unexpected leaves the sidecar to `parse_sidecars`, which reports it in order.
    void parse_ahead(const GetResult& g) noexcept {
        if (g.error || !g.found || g.not_modified) {
            return;
        }
        try {
            Premade p;
            if (need_specs_) {
                p.spec = std::make_unique<PackageSpec>();
            }
            p.entry = make_entry(g.key, g.data, p.spec.get());
            premade_.insert_or_assign(g.key, std::move(p));
        } catch (...) {  // NOLINT(bugprone-empty-catch): made again, in order, by parse_sidecars
        }
    }

    /// Each sidecar validated into its index entry (or skipped): a cached one whose ETag is
    /// unchanged keeps its stored entry (unless `need_specs_`). The cache is rewritten when it
    /// changed.
    std::vector<PackageSpec> parse_sidecars() {
        std::vector<PackageSpec> packages;
        next_.reserve(got_.size());
        for (std::size_t i = 0; i < got_.size(); ++i) {
            auto& g = got_[i];
            const auto& key = sidecars_[i].key;
            if (g.error) {
                try {
                    std::rethrow_exception(g.error);
                } catch (const Error& e) {
                    if (e.code() == ErrorCode::network || e.code() == ErrorCode::auth) {
                        throw;
                    }
                    skip(key, std::string("cannot be read: ") + e.what());
                }
                continue;
            }
            if (!g.found) {
                skip(key, "disappeared while the index was assembled");
                continue;
            }
            detail::IndexCacheItem item;
            if (g.not_modified) {
                if (auto it = cache_.items.find(key); it != cache_.items.end()) {
                    item =
                        std::move(it->second);  // each key once: the cache's copy is not read again
                    ++reused_;
                }
            } else {
                item.data = g.data;  // got_ outlives the cache written from it
                ++result_.sidecars_downloaded;
            }
            auto etag = g.etag.empty() ? sidecars_[i].etag : g.etag;
            if (etag != item.etag) {
                item.etag = std::move(etag);
                item.record = {};
                cache_dirty_ = true;
            }
            if (need_specs_ || !item.entry) {
                cache_dirty_ = cache_dirty_ || !item.entry;
                PackageSpec spec;
                if (auto pre = premade_.find(key); pre != premade_.end()) {
                    item.entry = std::move(pre->second.entry);
                    if (pre->second.spec) {
                        spec = std::move(*pre->second.spec);
                    }
                } else {
                    item.entry = make_entry(key, item.data, need_specs_ ? &spec : nullptr);
                }
                item.record = {};
                if (item.entry->skip_reason.empty() && need_specs_) {
                    packages.push_back(std::move(spec));
                }
            }
            if (!item.entry->skip_reason.empty()) {
                skip(key, item.entry->skip_reason);
            } else {
                entries_.push_back(item.entry.get());
            }
            if (!item.etag.empty()) {
                next_.emplace_back(key, std::move(item));
            } else {
                kept_alive_.push_back(std::move(item.entry));
            }
        }
        decltype(premade_)().swap(premade_);  // all taken (what is left was never listed)
        write_cache();
        return packages;
    }

    /// The cache of this run, unless it equals the one read (or this is a dry run).
    void write_cache() {
        if (cache_file_.empty() || run_.dry_run ||
            (!cache_dirty_ && reused_ == cached_count_ && next_.size() == cached_count_)) {
            return;
        }
        std::vector<std::pair<std::string, const detail::IndexCacheItem*>> items;
        items.reserve(next_.size());
        for (const auto& [key, item] : next_) {
            items.emplace_back(key, &item);
        }
        // Not durable (a cache lost in a crash is a full assembly; a torn one fails its CRC). On
        // `mip-build index`'s path the bytes go to disk while the page is rendered.
        cache_write_ = std::make_unique<detail::PendingCacheWrite>(
            cache_file_, detail::serialize_index_cache(base_, items, cache_.bytes));
        if (need_specs_) {
            cache_write_->finish();
        }
    }

    /// Names that collide once normalised are an error; missing dependencies and cycles warn
    /// (or fail under `strict`).
    void check_names_and_dependencies() {
        const auto& packages = entries_;
        // Names that collide once normalised are an error.
        std::map<std::string, std::string> spelling;
        std::vector<Issue> collisions;
        for (const auto* p : packages) {
            auto [it, inserted] = spelling.emplace(normalize_package_name(p->name), p->name);
            if (!inserted && it->second != p->name) {
                collisions.push_back(
                    {"name", "'" + p->name + "' and '" + it->second +
                                 "' collide (names compare lower-cased with '-' as '_')"});
            }
        }
        if (!collisions.empty()) {
            throw SpecError("index", collisions);
        }
        for (const auto* p : packages) {
            for (const auto& d : p->dependencies) {
                if (spelling.find(normalize_package_name(d)) == spelling.end()) {
                    std::string w =
                        WheelName{p->name, p->version, p->matlab_tag, p->abi_tag, p->platform_tag}
                            .str() +
                        " depends on '" + d + "', which is not in the index";
                    if (options_.strict) {
                        throw SpecError("index", {{"dependencies", w}});
                    }
                    run_.logger.warning(w);
                    result_.warnings.push_back(w);
                }
            }
        }

        // §11.7: cycles are reported (clients resolve dependencies recursively).
        for (const auto& cycle : detail::dependency_cycles(packages)) {
            std::string w = "dependency cycle: " + cycle;
            if (options_.strict) {
                throw SpecError("index", {{"dependencies", w}});
            }
            run_.logger.warning(w);
            result_.warnings.push_back(w);
        }
    }

    /// `--verify`: every .mhl is downloaded and must match its sidecar's size and digest.
    void verify_bundles(const std::vector<PackageSpec>& packages) {
        for (const auto& p : packages) {
            const auto& url = *p.mhl_url;
            if (url.rfind(base_ + "/", 0) != 0) {
                throw SpecError(p.wheel_name(),
                                {{"mhl_url", "'" + url + "' is outside the store; cannot verify"}});
            }
            auto data = store_.get(url.substr(base_.size() + 1));
            if (!data) {
                throw SpecError(p.wheel_name(),
                                {{"mhl_url", "'" + url + "' does not exist in the store"}});
            }
            if ((p.mhl_size && *p.mhl_size != data->size()) ||
                (p.mhl_sha256 && *p.mhl_sha256 != detail::sha256_hex(*data))) {
                throw SpecError(
                    p.wheel_name(),
                    {{"mhl_sha256", "the stored .mhl does not match its sidecar's size/sha256"}});
            }
        }
    }

    Store& store_;
    const IndexOptions& options_;
    const RunOptions& run_;
    std::string base_;
    IndexResult result_;
    [[nodiscard]] const detail::IndexCacheItem* cached(const std::string& key) const {
        auto it = cache_.items.find(key);
        return it == cache_.items.end() ? nullptr : &it->second;
    }

    bool need_specs_;
    std::future<detail::ManifestRead> manifest_pending_;      ///< the manifest's GET, under way
    std::unique_ptr<detail::PendingCacheWrite> cache_write_;  ///< under way (no `need_specs_`)
    detail::IndexCache cache_;
    std::size_t cached_count_ = 0;  ///< items in the cache read
    std::size_t reused_ = 0;        ///< of them taken over by this run
    bool cache_dirty_ = false;      ///< an item or entry new or changed, or the cache unreadable
    fs::path cache_file_;
    std::vector<std::pair<std::string, detail::IndexCacheItem>> next_;  ///< the cache written
    std::vector<std::shared_ptr<detail::IndexEntry>> kept_alive_;       ///< entries not cached
    std::vector<detail::IndexEntry*> entries_;                          ///< the packages' entries
    std::vector<ObjectInfo> sidecars_;
    std::vector<GetResult> got_;
    struct Premade {
        std::shared_ptr<detail::IndexEntry> entry;
        std::unique_ptr<PackageSpec> spec;  ///< with `need_specs_`
    };
    std::unordered_map<std::string, Premade> premade_;  ///< parse_ahead's entries by key
    detail::ManifestRead manifest_;
    bool manifest_read_ = false;  ///< this run read the manifest (a warm cache or --full-listing)
};

}  // namespace

IndexAssembler::IndexAssembler(Store& store, IndexOptions options, RunOptions run)
    : store_(store), options_(std::move(options)), run_(std::move(run)) {}

IndexResult IndexAssembler::assemble() {
    if (detail::package_layout(run_.format).format() != "r2") {
        return detail::assemble_current_index(store_, options_, run_);
    }
    if (!options_.compatibility_floor.empty()) {
        throw SpecError("--compatibility-floor",
                        {{"compatibility_floor",
                          "is a field of the current format's index (--format mip); the R2 "
                          "index has none"}});
    }
    return Assembly(store_, options_, run_, true).assemble();
}

detail::IndexSite detail::assemble_index_site(Store& store,
                                              const IndexOptions& options,
                                              const RunOptions& run) {
    Assembly assembly(store, options, run, false);
    IndexSite site;
    site.result = assembly.assemble();
    site.cache_write = assembly.cache_write();
    auto& entries = assembly.entries();
    site.total_packages = entries.size();
    site.index_json = splice_index(entries, site.result.last_updated);
    page::Document d;
    d.last_updated = site.result.last_updated;
    d.builds.reserve(entries.size());
    for (auto* e : entries) {
        if (!e->plain) {
            return site;  // the page from the text, as write_channel_site reads it
        }
        d.builds.push_back(std::move(e->build));  // the cache's bytes are made already
        d.builds.back().index = d.builds.size() - 1;
    }
    site.document = std::move(d);
    return site;
}

void detail::write_index_site(IndexSite& site, const fs::path& output_dir) {
    // The cache's write overlaps the rendering, and is over (its IoError thrown) before the first
    // site file is written: the run's file operations keep one order.
    auto cache_written = [&site] {
        if (site.cache_write) {
            site.cache_write->finish();
        }
    };
    if (site.document) {
        page::write_site(site.index_json, *site.document, output_dir, {}, cache_written);
    } else {
        cache_written();
        write_channel_site(site.index_json, output_dir);
    }
}

std::string IndexResult::index_json() const {
    if (!document.empty()) {
        return document;
    }
    Json doc = Json::object();
    Json list = Json::array();
    for (const auto& p : packages) {
        list.push_back(detail::spec_to_json(p));
    }
    doc["packages"] = std::move(list);
    doc["total_packages"] = packages.size();
    doc["last_updated"] = last_updated;
    return detail::dump_pretty(doc);
}

std::string IndexResult::packages_html() const {
    return render_channel_site(index_json()).packages_html;
}

void IndexAssembler::write(const IndexResult& result, const fs::path& output_dir) {
    // index.json, packages.html, feed.json and feed.xml together or not at all (index.json last).
    write_channel_site(result.index_json(), output_dir);
}

}  // namespace mip
