#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include <mip/bundler.hpp>
#include <mip/compiler.hpp>
#include <mip/error.hpp>
#include <mip/pipeline.hpp>
#include <mip/preparer.hpp>
#include <mip/store.hpp>

#include "detail/convert.hpp"
#include "detail/crypto.hpp"
#include "detail/env.hpp"
#include "detail/fs.hpp"
#include "detail/json.hpp"
#include "detail/parallel.hpp"

namespace mip {

namespace fs = std::filesystem;
using detail::Json;

const char* version() noexcept { return MIP_VERSION; }

PipelineOptions PipelineOptions::from_environment() {
    PipelineOptions o;
    auto env = detail::process_environment();
    if (auto v = detail::env_find(env, "BUILD_TYPE"); v && !v->empty()) {
        o.build_type = *v;
    }
    if (auto v = detail::env_find(env, "SOURCE_DATE_EPOCH"); v && !v->empty()) {
        o.source_date_epoch = detail::parse_epoch(*v, "SOURCE_DATE_EPOCH");
    }
    if (auto v = detail::env_find(env, "MIP_STORE"); v && !v->empty()) {
        o.store = *v;
    }
    if (auto v = detail::env_find(env, "MIP_BASE_URL"); v && !v->empty()) {
        o.base_url = *v;
    }
    if (auto v = detail::env_find(env, "MIP_PLATFORM_TAG"); v && !v->empty()) {
        o.platform_tag_override = *v;
    }
    if (auto v = detail::env_find(env, "MIP_SOURCE_MIRRORS"); v && !v->empty()) {
        o.source_mirrors = parse_source_mirrors(*v);
    }
    return o;
}

fs::path PipelineOptions::prepared() const {
    return prepared_dir.empty() ? build_dir / "prepared" : prepared_dir;
}
fs::path PipelineOptions::bundled() const {
    return bundled_dir.empty() ? build_dir / "bundled" : bundled_dir;
}
fs::path PipelineOptions::index_output() const {
    return index_dir.empty() ? build_dir / "gh-pages" : index_dir;
}
std::string PipelineOptions::store_url() const {
    return store.empty() ? fs::absolute(build_dir / "store").lexically_normal().string() : store;
}
unsigned PipelineOptions::effective_jobs() const {
    return jobs != 0 ? jobs : std::max(1U, std::thread::hardware_concurrency());
}

namespace {

std::unique_ptr<Store> open_pipeline_store(const PipelineOptions& o) {
    StoreOptions so;
    so.logger = o.logger;
    so.endpoint = o.endpoint;
    so.allow_insecure_loopback = o.allow_insecure_loopback;
    so.ca_file = o.ca_file;
    so.max_in_flight = o.max_in_flight;
    return open_store(o.store_url(), so);
}

/// The upload check lists the store instead of reading each sidecar above this many packages
/// (one round of requests at the default 32 in flight).
constexpr std::size_t check_by_listing_above = 32;

bool is_s3(const PipelineOptions& o) { return o.store_url().rfind("s3://", 0) == 0; }

/// The store a stage uses: the publish run's shared one, else its own.
class StageStore {
public:
    StageStore(const PipelineOptions& o, Store* shared) : store_(shared) {
        if (store_ == nullptr) {
            owned_ = open_pipeline_store(o);
            store_ = owned_.get();
        }
    }
    Store& operator*() const { return *store_; }
    Store* operator->() const { return store_; }
    [[nodiscard]] Store* get() const { return store_; }

private:
    std::unique_ptr<Store> owned_;
    Store* store_ = nullptr;
};

/// One publish run's store: the prepare stage's reads of published sidecars are remembered, so
/// the upload stage's "already published?" check only asks about keys nobody read yet (one
/// round of requests per package instead of two). Writes through it drop what it remembers of
/// their keys. Another publisher writing the same keys between the two stages is no different
/// from one writing during the upload: the create-only bundle key still guards the bytes.
class PublishStore final : public Store {
public:
    explicit PublishStore(std::unique_ptr<Store> inner) : inner_(std::move(inner)) {}
    /// The store itself, without the memory (the index reads the store as it is).
    [[nodiscard]] Store& inner() const { return *inner_; }

    [[nodiscard]] std::string describe() const override { return inner_->describe(); }
    [[nodiscard]] std::string default_base_url() const override {
        return inner_->default_base_url();
    }
    PutResult put(const PutRequest& request) override {
        forget(request.key);
        return inner_->put(request);
    }
    [[nodiscard]] std::optional<std::string> get(const std::string& key) override {
        return inner_->get(key);
    }
    bool get_to_file(const std::string& key, const fs::path& destination) override {
        return inner_->get_to_file(key, destination);
    }
    [[nodiscard]] std::optional<ObjectInfo> head(const std::string& key) override {
        return inner_->head(key);
    }
    [[nodiscard]] std::vector<ObjectInfo> list(const std::string& prefix, bool recursive) override {
        return inner_->list(prefix, recursive);
    }
    void remove(const std::string& key) override {
        forget(key);
        inner_->remove(key);
    }
    [[nodiscard]] std::vector<PutResult> put_many(const std::vector<PutRequest>& requests,
                                                  const BatchOptions& options) override {
        for (const auto& r : requests) {
            forget(r.key);
        }
        return inner_->put_many(requests, options);
    }
    [[nodiscard]] std::vector<std::vector<PutResult>> put_chains(
        const std::vector<std::vector<PutRequest>>& chains, const BatchOptions& options) override {
        for (const auto& chain : chains) {
            for (const auto& r : chain) {
                forget(r.key);
            }
        }
        return inner_->put_chains(chains, options);
    }
    [[nodiscard]] std::vector<HeadResult> head_many(const std::vector<std::string>& keys,
                                                    const BatchOptions& options) override {
        return inner_->head_many(keys, options);
    }
    /// Unconditional reads are answered from memory when an earlier one got an answer.
    [[nodiscard]] std::vector<GetResult> get_many(const std::vector<GetRequest>& requests,
                                                  const BatchOptions& options) override {
        std::vector<GetResult> results(requests.size());
        std::vector<GetRequest> missing;
        std::vector<std::size_t> where;
        {
            std::lock_guard lock(mutex_);
            for (std::size_t i = 0; i < requests.size(); ++i) {
                auto it =
                    requests[i].if_none_match.empty() ? memo_.find(requests[i].key) : memo_.end();
                if (it != memo_.end()) {
                    results[i] = it->second;
                } else {
                    missing.push_back(requests[i]);
                    where.push_back(i);
                }
            }
        }
        if (missing.empty()) {
            return results;
        }
        auto got = inner_->get_many(missing, options);
        std::lock_guard lock(mutex_);
        for (std::size_t k = 0; k < got.size(); ++k) {
            if (!got[k].error && !got[k].not_modified) {
                memo_[missing[k].key] = got[k];
            }
            results[where[k]] = std::move(got[k]);
        }
        return results;
    }

private:
    void forget(const std::string& key) {
        std::lock_guard lock(mutex_);
        memo_.erase(key);
    }

    std::unique_ptr<Store> inner_;
    std::mutex mutex_;
    std::map<std::string, GetResult> memo_;
};

std::string base_url_for(const PipelineOptions& o, Store& store) {
    std::string base = o.base_url.empty() ? store.default_base_url() : o.base_url;
    while (!base.empty() && base.back() == '/') {
        base.pop_back();
    }
    if (base.empty()) {
        throw SpecError("--base-url",
                        {{"base_url", "is required with " + store.describe() +
                                          " (the public https:// URL of the store prefix)"}});
    }
    if (base.rfind("http://", 0) == 0) {
        throw SpecError("--base-url", {{"base_url", "must use https:// (plain http is refused)"}});
    }
    if (is_s3(o) && base.rfind("https://", 0) != 0) {
        throw SpecError("--base-url", {{"base_url", "must be an https:// URL for an S3 store"}});
    }
    return base;
}

bool selected(const PipelineOptions& o, const std::string& package) {
    if (!o.packages.empty() &&
        std::find(o.packages.begin(), o.packages.end(), package) == o.packages.end()) {
        return false;
    }
    return !o.shard || o.shard->contains(package);
}

ErrorCode code_of(std::exception_ptr e) {
    try {
        std::rethrow_exception(e);
    } catch (const Error& err) {
        return err.code();
    } catch (...) {
        return ErrorCode::internal;
    }
}

std::string message_of(std::exception_ptr e) {
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& err) {
        return err.what();
    } catch (...) {
        return "unknown error";
    }
}

/// Progress for a stage whose items finish on worker threads.
class StageProgress {
public:
    StageProgress(const PipelineOptions& o, std::string stage, std::size_t total) : o_(o) {
        event_.stage = std::move(stage);
        event_.total = total;
    }
    void started() { emit(ProgressPhase::started); }
    void item_done(const std::string& item) {
        std::lock_guard lock(mutex_);
        last_ = item;
        ++done_;
    }
    void tick() { emit(ProgressPhase::advanced); }
    void finished() { emit(ProgressPhase::finished); }

private:
    void emit(ProgressPhase phase) {
        if (!o_.progress) {
            return;
        }
        {
            std::lock_guard lock(mutex_);
            event_.done = done_;
            event_.item = last_;
        }
        event_.phase = phase;
        o_.progress(event_);
    }
    const PipelineOptions& o_;
    ProgressEvent event_;
    std::mutex mutex_;
    std::string last_;
    std::uint64_t done_ = 0;
};

/// Prepared `<wheel>.dir` directories, sorted, with their package names.
std::vector<std::pair<fs::path, std::string>> prepared_dirs(const PipelineOptions& o) {
    std::vector<std::pair<fs::path, std::string>> out;
    auto dir = o.prepared();
    if (!fs::is_directory(dir)) {
        return out;
    }
    for (const auto& e : fs::directory_iterator(dir)) {
        auto name = e.path().filename().string();
        if (!e.is_directory() || name.size() < 5 || name.substr(name.size() - 4) != ".dir" ||
            name[0] == '.') {
            continue;
        }
        std::string package;
        try {
            package = WheelName::parse(name).name;
        } catch (const SpecError&) {
            package = name;
        }
        if (selected(o, package)) {
            out.emplace_back(e.path(), package);
        }
    }
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace

namespace {

StageReport prepare_stage(const PipelineOptions& o, Store* shared) {
    PrepareOptions p;
    p.recipes_dir = o.recipes_dir;
    p.output_dir = o.prepared();
    p.cache_dir = o.build_dir / "cache";
    p.packages = o.packages;
    p.force = o.force;
    p.dry_run = o.dry_run;
    p.keep_going = o.keep_going;
    p.build_type = o.build_type;
    p.jobs = o.effective_jobs();
    p.shard = o.shard;
    p.source_date_epoch = o.source_date_epoch;
    p.platform_tag_override = o.platform_tag_override;
    p.recipe_timeout_seconds = o.recipe_timeout_seconds;
    p.ca_file = o.ca_file;
    p.environment = o.environment;
    p.python = o.python;
    p.tag_prefix = o.tag_prefix;
    p.abbrev = o.abbrev;
    p.from_lock = o.from_lock;
    p.lock_recipe_dir = o.lock_recipe_dir;
    p.strict_toolchain = o.strict_toolchain;
    p.source_mirrors = o.source_mirrors;
    p.pass_env = o.pass_env;
    p.logger = o.logger;
    p.progress = o.progress;
    p.progress_interval = o.progress_interval;
    std::optional<StageStore> store;
    if (!o.force) {
        store.emplace(o, shared);
        p.store = store->get();
    }
    Preparer preparer(std::move(p));
    return preparer.prepare();
}

}  // namespace

StageReport run_prepare(const PipelineOptions& o) { return prepare_stage(o, nullptr); }

StageReport run_compile(const PipelineOptions& o) {
    CompileOptions c;
    c.prepared_dir = o.prepared();
    c.packages = o.packages;
    c.engine = o.engine;
    c.jobs = o.effective_jobs();
    c.keep_going = o.keep_going;
    c.dry_run = o.dry_run;
    c.timeout_seconds = o.compile_timeout_seconds;
    c.pass_env = o.pass_env;
    c.shard = o.shard;
    c.environment = o.environment;
    c.logger = o.logger;
    c.progress = o.progress;
    c.progress_interval = o.progress_interval;
    Compiler compiler(std::move(c));
    return compiler.compile();
}

StageReport run_bundle(const PipelineOptions& o) {
    StageReport report;
    report.stage = "bundle";
    report.dry_run = o.dry_run;
    auto dirs = prepared_dirs(o);
    report.items.resize(dirs.size());
    BundleOptions b;
    b.source_date_epoch = o.source_date_epoch;
    b.base_url = o.base_url;
    b.flat_urls = o.flat_urls;
    b.logger = o.logger;
    Bundler bundler(b);
    StageProgress progress(o, "bundle", dirs.size());
    progress.started();
    std::atomic<bool> failed{false};
    detail::ParallelOptions popt;
    popt.jobs = o.effective_jobs();
    popt.tick_interval = o.progress_interval;
    std::vector<bool> ran(dirs.size(), false);
    detail::run_parallel(
        dirs.size(), popt,
        [&](std::size_t i) {
            auto& item = report.items[i];
            const auto& [dir, package] = dirs[i];
            item.package = package;
            item.wheel = std::string(strip_wheel_suffix(dir.filename().string()));
            ran[i] = true;
            auto t0 = std::chrono::steady_clock::now();
            if (failed.load() && !o.keep_going) {
                item.status = ItemStatus::skipped;
                item.detail = "not run: an earlier package failed";
                return false;
            }
            if (o.dry_run) {
                item.status = ItemStatus::planned;
                item.detail = "would bundle into " + (o.bundled() / (item.wheel + ".mhl")).string();
            } else {
                try {
                    auto r = bundler.bundle(dir, o.bundled());
                    item.status = ItemStatus::done;
                    item.path = r.mhl_path.string();
                    item.detail = "sha256 " + r.sha256 + ", " + std::to_string(r.size) + " bytes";
                } catch (...) {
                    item.status = ItemStatus::failed;
                    item.error_code = code_of(std::current_exception());
                    item.detail = message_of(std::current_exception());
                    failed.store(true);
                    o.logger.error(item.detail);
                }
            }
            item.seconds =
                std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
            progress.item_done(item.wheel);
            return item.status != ItemStatus::failed || o.keep_going;
        },
        [&]() { progress.tick(); });
    for (std::size_t i = 0; i < dirs.size(); ++i) {
        if (!ran[i]) {
            report.items[i].package = dirs[i].second;
            report.items[i].wheel =
                std::string(strip_wheel_suffix(dirs[i].first.filename().string()));
            report.items[i].status = ItemStatus::skipped;
            report.items[i].detail = "not run: an earlier package failed";
        }
    }
    progress.finished();
    return report;
}

namespace {

StageReport upload_stage(const PipelineOptions& o, Store* shared) {
    StageReport report;
    report.stage = "upload";
    report.dry_run = o.dry_run;
    StageStore store(o, shared);
    const std::string base = base_url_for(o, *store);
    auto bundled = o.bundled();

    struct Upload {
        PackageSpec sidecar;
        fs::path mhl;
        std::string wheel;
        std::size_t item = 0;
        bool active = true;
    };
    std::vector<Upload> uploads;
    if (fs::is_directory(bundled)) {
        std::vector<fs::path> mhls;
        for (const auto& e : fs::directory_iterator(bundled)) {
            auto n = e.path().filename().string();
            if (e.is_regular_file() && n.size() > 4 && n.substr(n.size() - 4) == ".mhl" &&
                n[0] != '.') {
                mhls.push_back(e.path());
            }
        }
        std::sort(mhls.begin(), mhls.end());
        for (const auto& mhl : mhls) {
            ItemResult item;
            item.wheel = std::string(strip_wheel_suffix(mhl.filename().string()));
            try {
                item.package = WheelName::parse(item.wheel).name;
                if (!selected(o, item.package)) {
                    continue;
                }
                auto sidecar_path = fs::path(mhl.string() + ".mip.json");
                if (!fs::is_regular_file(sidecar_path)) {
                    throw SpecError(
                        mhl.filename().string(),
                        {{"sidecar", "is missing: " + sidecar_path.filename().string()}});
                }
                auto spec =
                    PackageSpec::from_json(detail::read_file(sidecar_path), sidecar_path.string());
                if (spec.wheel_name() != item.wheel) {
                    throw SpecError(sidecar_path.string(),
                                    {{"name", "describes " + spec.wheel_name()}});
                }
                if (!spec.mhl_sha256 || !spec.mhl_size || *spec.mhl_size != fs::file_size(mhl)) {
                    throw SpecError(sidecar_path.string(),
                                    {{"mhl_sha256", "does not match " + mhl.filename().string() +
                                                        " (re-run bundle)"}});
                }
                if (is_s3(o) && !o.allow_octave_builds && !spec.build_info_json.empty()) {
                    auto bi = Json::parse(spec.build_info_json);
                    if (bi.value("compile_engine", Json(nullptr)).is_string() &&
                        bi["compile_engine"].get<std::string>().rfind("octave", 0) == 0) {
                        throw BuildError(
                            spec.name,
                            "was compiled with GNU Octave, whose MEX files do not load in MATLAB; "
                            "pass --allow-octave-builds to upload it anyway");
                    }
                }
                spec.mhl_url = Bundler::mhl_url(base, item.wheel, *spec.mhl_sha256, o.flat_urls);
                spec.mip_json_url.reset();
                Upload u{std::move(spec), mhl, item.wheel, report.items.size(), true};
                uploads.push_back(std::move(u));
            } catch (...) {
                item.status = ItemStatus::failed;
                item.error_code = code_of(std::current_exception());
                item.detail = message_of(std::current_exception());
            }
            report.items.push_back(item);
        }
    }
    auto fail = [&](Upload& u, std::exception_ptr e) {
        auto& item = report.items[u.item];
        item.status = ItemStatus::failed;
        item.error_code = code_of(e);
        item.detail = message_of(e);
        u.active = false;
        o.logger.error(item.wheel + ": " + item.detail);
    };
    auto stop_now = [&]() { return !o.keep_going && !report.ok(); };
    if (stop_now()) {
        return report;
    }
    BatchOptions batch;
    batch.max_in_flight = o.max_in_flight;
    batch.progress = o.progress;
    batch.progress_interval = o.progress_interval;
    batch.stage = "upload";

    // 0. Skip packages whose published sidecar already matches (same bytes, same metadata).
    {
        std::vector<GetRequest> gets;
        for (auto& u : uploads) {
            gets.push_back({u.wheel + ".mhl.mip.json", {}});
        }
        batch.stage = "upload:check";
        std::vector<GetResult> got(uploads.size());
        std::vector<bool> identical(uploads.size(), false);
        if (uploads.size() > check_by_listing_above) {
            // Many packages: one listing (1,000 keys a page) says which sidecars exist, and an
            // ETag equal to the MD5 of our sidecar (S3/R2 single-part objects) proves it is
            // byte-identical; only the others are read.
            std::map<std::string, std::size_t> index_of;
            std::vector<std::string> md5(uploads.size());
            for (std::size_t i = 0; i < uploads.size(); ++i) {
                index_of[gets[i].key] = i;
                md5[i] = detail::md5_hex(uploads[i].sidecar.to_json());
            }
            auto listed = store->list_and_get(
                "", false,
                [&](const ObjectInfo& info) -> std::optional<GetRequest> {
                    auto it = index_of.find(info.key);
                    if (it == index_of.end()) {
                        return std::nullopt;
                    }
                    if (info.etag == md5[it->second]) {
                        identical[it->second] = true;
                        return std::nullopt;
                    }
                    return GetRequest{info.key, {}};
                },
                batch);
            for (auto& l : listed) {
                if (l.got) {
                    got[index_of[l.info.key]] = std::move(*l.got);
                }
            }
        } else {
            got = store->get_many(gets, batch);
        }
        for (std::size_t i = 0; i < uploads.size(); ++i) {
            auto& u = uploads[i];
            if (identical[i]) {
                auto& item = report.items[u.item];
                item.status = ItemStatus::skipped;
                item.detail = "unchanged in " + store->describe();
                u.active = false;
                continue;
            }
            if (got[i].error || !got[i].found) {
                continue;
            }
            try {
                auto published = PackageSpec::from_json_unchecked(got[i].data, gets[i].key);
                if (published.mhl_sha256 == u.sidecar.mhl_sha256 &&
                    published.mhl_url == u.sidecar.mhl_url &&
                    compare_cached_fields(u.sidecar, published).equal) {
                    auto& item = report.items[u.item];
                    item.status = ItemStatus::skipped;
                    item.detail = "unchanged in " + store->describe();
                    u.active = false;
                } else if (o.flat_urls && !o.allow_overwrite && published.mhl_sha256 &&
                           published.mhl_sha256 != u.sidecar.mhl_sha256) {
                    fail(u, std::make_exception_ptr(RemoteError(
                                u.wheel + ".mhl is already published with other bytes; with "
                                          "--flat-urls, replacing it needs --allow-overwrite",
                                RemoteErrorInfo{412, "", "", "", u.wheel + ".mhl", "PutObject"})));
                }
            } catch (const std::exception&) {  // an unreadable old sidecar is simply replaced
            }
        }
    }
    // Every bundle's bytes must still be the ones its sidecar names (hashed on all cores); the
    // digest is then handed to the store, which signs it instead of hashing the file again.
    {
        std::vector<std::exception_ptr> bad(uploads.size());
        detail::ParallelOptions par;
        par.jobs = o.effective_jobs();
        detail::run_parallel(
            uploads.size(), par,
            [&](std::size_t i) {
                try {
                    if (uploads[i].active &&
                        detail::sha256_file_hex(uploads[i].mhl) != *uploads[i].sidecar.mhl_sha256) {
                        auto sidecar = uploads[i].mhl.string() + ".mip.json";
                        throw SpecError(
                            sidecar,
                            {{"mhl_sha256", "does not match " + uploads[i].mhl.filename().string() +
                                                " (re-run bundle)"}});
                    }
                } catch (...) {
                    bad[i] = std::current_exception();
                }
                return true;
            },
            [] {});
        for (std::size_t i = 0; i < uploads.size(); ++i) {
            if (bad[i]) {
                fail(uploads[i], bad[i]);
            }
        }
    }
    if (o.dry_run) {
        for (auto& u : uploads) {
            if (u.active) {
                report.items[u.item].status = ItemStatus::planned;
                report.items[u.item].detail = "would upload to " + store->describe();
            }
        }
        return report;
    }
    if (stop_now()) {
        return report;
    }
    auto t0 = std::chrono::steady_clock::now();
    // Per package, in this order (mip-format §8.2): the write-once content-addressed bundle
    // (an existing one of the same size is ours), the flat name as a server-side copy of it,
    // then the sidecar. Under --flat-urls the flat name is uploaded directly. Each package
    // moves to its next step as soon as its previous one landed.
    std::vector<std::vector<PutRequest>> chains;
    std::vector<Upload*> owners;
    for (auto& u : uploads) {
        if (!u.active) {
            continue;
        }
        std::vector<PutRequest> chain;
        const std::string cas_key = "sha256/" + *u.sidecar.mhl_sha256 + "/" + u.wheel + ".mhl";
        PutRequest flat;
        flat.key = u.wheel + ".mhl";
        flat.options = {"application/zip", "no-cache", false, {}, {}};
        if (!o.flat_urls) {
            PutRequest cas;
            cas.key = cas_key;
            cas.file = u.mhl;
            cas.sha256 = *u.sidecar.mhl_sha256;
            cas.options = {"application/zip",
                           "public, max-age=31536000, immutable",
                           true,
                           {},
                           *u.sidecar.mhl_size};
            chain.push_back(std::move(cas));
            flat.copy_from = cas_key;
        } else {
            flat.file = u.mhl;
            flat.sha256 = *u.sidecar.mhl_sha256;
        }
        chain.push_back(std::move(flat));
        PutRequest sidecar;
        sidecar.key = u.wheel + ".mhl.mip.json";
        sidecar.data = u.sidecar.to_json();
        sidecar.options = {"application/json", "no-cache", false, {}, {}};
        chain.push_back(std::move(sidecar));
        chains.push_back(std::move(chain));
        owners.push_back(&u);
    }
    if (!chains.empty()) {
        batch.stage = "upload";
        auto results = store->put_chains(chains, batch);
        for (std::size_t i = 0; i < results.size(); ++i) {
            Upload& u = *owners[i];
            auto& item = report.items[u.item];
            std::exception_ptr error;
            for (const auto& r : results[i]) {
                item.attempts += r.attempts;
                if (r.error && !error) {
                    error = r.error;
                }
            }
            if (error) {
                fail(u, error);
                continue;
            }
            item.status = ItemStatus::done;
            item.path = *u.sidecar.mhl_url;
            item.detail = "uploaded to " + store->describe();
            // Keep the local sidecar in step with what was published.
            try {
                detail::write_file_atomic(fs::path(u.mhl.string() + ".mip.json"),
                                          chains[i].back().data);
            } catch (...) {
                fail(u, std::current_exception());
            }
        }
    }
    double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    for (auto& item : report.items) {
        if (item.status == ItemStatus::done) {
            item.seconds = elapsed;
        }
    }
    return report;
}

IndexReport index_stage(const PipelineOptions& o, Store* shared) {
    StageStore store(o, shared);
    IndexOptions io;
    io.base_url = base_url_for(o, *store);
    io.strict = o.strict;
    io.verify = o.verify;
    io.source_date_epoch = o.source_date_epoch;
    io.max_in_flight = o.max_in_flight;
    io.cache_dir = o.build_dir / "cache" / "index";
    io.logger = o.logger;
    io.progress = o.progress;
    io.progress_interval = o.progress_interval;
    IndexAssembler assembler(*store, io);
    auto result = assembler.assemble();
    IndexReport report;
    report.total_packages = result.packages.size();
    report.skipped = result.skipped;
    report.warnings = result.warnings;
    report.sidecars_downloaded = result.sidecars_downloaded;
    report.index_json = o.index_output() / "index.json";
    report.packages_html = o.index_output() / "packages.html";
    if (!o.dry_run) {
        IndexAssembler::write(result, o.index_output());
        report.written = true;
    }
    return report;
}

}  // namespace

StageReport run_upload(const PipelineOptions& o) { return upload_stage(o, nullptr); }

IndexReport run_index(const PipelineOptions& o) { return index_stage(o, nullptr); }

std::string IndexReport::to_json() const {
    Json j;
    j["stage"] = "index";
    j["written"] = written;
    j["index_json"] = index_json.string();
    j["packages_html"] = packages_html.string();
    j["total_packages"] = total_packages;
    Json skipped_list = Json::array();
    for (const auto& s : skipped) {
        skipped_list.push_back({{"key", s.key}, {"reason", s.reason}});
    }
    j["skipped"] = std::move(skipped_list);
    j["warnings"] = warnings;
    j["sidecars_downloaded"] = sidecars_downloaded;
    return detail::dump_pretty(j);
}

bool PublishReport::ok() const {
    return index.has_value() &&
           std::all_of(stages.begin(), stages.end(), [](const StageReport& s) { return s.ok(); });
}

std::string PublishReport::to_json() const {
    Json j;
    Json list = Json::array();
    for (const auto& s : stages) {
        list.push_back(detail::report_to_json(s));
    }
    j["stages"] = std::move(list);
    j["index"] = index ? Json::parse(index->to_json()) : Json(nullptr);
    j["ok"] = ok();
    return detail::dump_pretty(j);
}

PublishReport run_publish(const PipelineOptions& o) {
    PublishReport report;
    auto stage_ok = [&o](const StageReport& s) { return s.ok() || o.keep_going; };
    // One store for every stage: its connections stay open, and the upload's check reuses the
    // prepare stage's reads.
    PublishStore store(open_pipeline_store(o));
    report.stages.push_back(prepare_stage(o, &store));
    if (!stage_ok(report.stages.back())) {
        return report;
    }
    report.stages.push_back(run_compile(o));
    if (report.stages.back().items.empty()) {
        o.logger.info("compile: no prepared package has a compile script; nothing to compile");
    }
    if (!stage_ok(report.stages.back())) {
        return report;
    }
    report.stages.push_back(run_bundle(o));
    if (!stage_ok(report.stages.back())) {
        return report;
    }
    report.stages.push_back(upload_stage(o, &store));
    // The index only after every upload succeeded: an earlier failure leaves the old index valid.
    bool all_ok = std::all_of(report.stages.begin(), report.stages.end(),
                              [](const StageReport& s) { return s.ok(); });
    if (!all_ok) {
        o.logger.error(
            "publish: not assembling the index because a stage failed; the previous index stays "
            "valid");
        return report;
    }
    report.index = index_stage(o, &store.inner());
    return report;
}

}  // namespace mip
