#include <mip/bundler.hpp>
#include <mip/compiler.hpp>
#include <mip/error.hpp>
#include <mip/pipeline.hpp>
#include <mip/preparer.hpp>
#include <mip/store.hpp>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>

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
    return o;
}

fs::path PipelineOptions::prepared() const { return prepared_dir.empty() ? build_dir / "prepared" : prepared_dir; }
fs::path PipelineOptions::bundled() const { return bundled_dir.empty() ? build_dir / "bundled" : bundled_dir; }
fs::path PipelineOptions::index_output() const { return index_dir.empty() ? build_dir / "gh-pages" : index_dir; }
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

bool is_s3(const PipelineOptions& o) { return o.store_url().rfind("s3://", 0) == 0; }

std::string base_url_for(const PipelineOptions& o, Store& store) {
    std::string base = o.base_url.empty() ? store.default_base_url() : o.base_url;
    while (!base.empty() && base.back() == '/') {
        base.pop_back();
    }
    if (base.empty()) {
        throw SpecError("--base-url", {{"base_url", "is required with " + store.describe() + " (the public https:// URL of the store prefix)"}});
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
    if (!o.packages.empty() && std::find(o.packages.begin(), o.packages.end(), package) == o.packages.end()) {
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
        if (!e.is_directory() || name.size() < 5 || name.substr(name.size() - 4) != ".dir" || name[0] == '.') {
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

StageReport run_prepare(const PipelineOptions& o) {
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
    p.logger = o.logger;
    p.progress = o.progress;
    p.progress_interval = o.progress_interval;
    std::unique_ptr<Store> store;
    if (!o.force) {
        store = open_pipeline_store(o);
        p.store = store.get();
    }
    Preparer preparer(std::move(p));
    return preparer.prepare();
}

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
            item.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
            progress.item_done(item.wheel);
            return item.status != ItemStatus::failed || o.keep_going;
        },
        [&]() { progress.tick(); });
    for (std::size_t i = 0; i < dirs.size(); ++i) {
        if (!ran[i]) {
            report.items[i].package = dirs[i].second;
            report.items[i].wheel = std::string(strip_wheel_suffix(dirs[i].first.filename().string()));
            report.items[i].status = ItemStatus::skipped;
            report.items[i].detail = "not run: an earlier package failed";
        }
    }
    progress.finished();
    return report;
}

StageReport run_upload(const PipelineOptions& o) {
    StageReport report;
    report.stage = "upload";
    report.dry_run = o.dry_run;
    auto store = open_pipeline_store(o);
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
            if (e.is_regular_file() && n.size() > 4 && n.substr(n.size() - 4) == ".mhl" && n[0] != '.') {
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
                    throw SpecError(mhl.filename().string(), {{"sidecar", "is missing: " + sidecar_path.filename().string()}});
                }
                auto spec = PackageSpec::from_json(detail::read_file(sidecar_path), sidecar_path.string());
                if (spec.wheel_name() != item.wheel) {
                    throw SpecError(sidecar_path.string(), {{"name", "describes " + spec.wheel_name()}});
                }
                auto sha = detail::sha256_file_hex(mhl);
                if (!spec.mhl_sha256 || *spec.mhl_sha256 != sha || !spec.mhl_size || *spec.mhl_size != fs::file_size(mhl)) {
                    throw SpecError(sidecar_path.string(), {{"mhl_sha256", "does not match " + mhl.filename().string() + " (re-run bundle)"}});
                }
                if (is_s3(o) && !o.allow_octave_builds && !spec.build_info_json.empty()) {
                    auto bi = Json::parse(spec.build_info_json);
                    if (bi.value("compile_engine", Json(nullptr)).is_string() &&
                        bi["compile_engine"].get<std::string>().rfind("octave", 0) == 0) {
                        throw BuildError(spec.name, "was compiled with GNU Octave, whose MEX files do not load in MATLAB; pass --allow-octave-builds to upload it anyway");
                    }
                }
                spec.mhl_url = Bundler::mhl_url(base, item.wheel, sha, o.flat_urls);
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
        auto got = store->get_many(gets, batch);
        for (std::size_t i = 0; i < uploads.size(); ++i) {
            auto& u = uploads[i];
            if (got[i].error || !got[i].found) {
                continue;
            }
            try {
                auto published = PackageSpec::from_json_unchecked(got[i].data, gets[i].key);
                if (published.mhl_sha256 == u.sidecar.mhl_sha256 && published.mhl_url == u.sidecar.mhl_url &&
                    compare_cached_fields(u.sidecar, published).equal) {
                    auto& item = report.items[u.item];
                    item.status = ItemStatus::skipped;
                    item.detail = "unchanged in " + store->describe();
                    u.active = false;
                } else if (o.flat_urls && !o.allow_overwrite && published.mhl_sha256 &&
                           published.mhl_sha256 != u.sidecar.mhl_sha256) {
                    fail(u, std::make_exception_ptr(RemoteError(
                                u.wheel + ".mhl is already published with other bytes; with --flat-urls, replacing it needs --allow-overwrite",
                                RemoteErrorInfo{412, "", "", "", u.wheel + ".mhl", "PutObject"})));
                }
            } catch (const std::exception&) {  // an unreadable old sidecar is simply replaced
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
    auto put_phase = [&](const std::string& stage, auto make_request, auto on_result) {
        std::vector<PutRequest> requests;
        std::vector<Upload*> owners;
        for (auto& u : uploads) {
            if (u.active) {
                requests.push_back(make_request(u));
                owners.push_back(&u);
            }
        }
        if (requests.empty()) {
            return;
        }
        batch.stage = stage;
        auto results = store->put_many(requests, batch);
        for (std::size_t i = 0; i < results.size(); ++i) {
            report.items[owners[i]->item].attempts += results[i].attempts;
            if (results[i].error) {
                fail(*owners[i], results[i].error);
                continue;
            }
            try {
                on_result(*owners[i], results[i]);
            } catch (...) {
                fail(*owners[i], std::current_exception());
            }
        }
    };
    // 1. Content-addressed, write-once copy: what the index points at.
    if (!o.flat_urls) {
        put_phase(
            "upload:sha256",
            [](Upload& u) {
                PutRequest r;
                r.key = "sha256/" + *u.sidecar.mhl_sha256 + "/" + u.wheel + ".mhl";
                r.file = u.mhl;
                r.options = {"application/zip", "public, max-age=31536000, immutable", true, {}};
                return r;
            },
            [&](Upload& u, const PutResult& r) {
                if (r.precondition_failed) {
                    auto info = store->head("sha256/" + *u.sidecar.mhl_sha256 + "/" + u.wheel + ".mhl");
                    if (!info || info->size != *u.sidecar.mhl_size) {
                        throw RemoteError("sha256/" + *u.sidecar.mhl_sha256 + "/" + u.wheel +
                                              ".mhl exists with a different size",
                                          RemoteErrorInfo{412, "PreconditionFailed", "", "", u.wheel, "PutObject"});
                    }
                }
            });
    }
    if (stop_now()) {
        return report;
    }
    // 2. The flat name (reference layout), replaced on rebuild.
    put_phase(
        "upload:mhl",
        [](Upload& u) {
            PutRequest r;
            r.key = u.wheel + ".mhl";
            r.file = u.mhl;
            r.options = {"application/zip", "no-cache", false, {}};
            return r;
        },
        [](Upload&, const PutResult&) {});
    if (stop_now()) {
        return report;
    }
    // 3. The sidecar, last: the index is assembled from sidecars only.
    put_phase(
        "upload:sidecar",
        [](Upload& u) {
            PutRequest r;
            r.key = u.wheel + ".mhl.mip.json";
            r.data = u.sidecar.to_json();
            r.options = {"application/json", "no-cache", false, {}};
            return r;
        },
        [&](Upload& u, const PutResult&) {
            auto& item = report.items[u.item];
            item.status = ItemStatus::done;
            item.path = *u.sidecar.mhl_url;
            item.detail = "uploaded to " + store->describe();
            // Keep the local sidecar in step with what was published.
            detail::write_file_atomic(fs::path(u.mhl.string() + ".mip.json"), u.sidecar.to_json());
        });
    double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    for (auto& item : report.items) {
        if (item.status == ItemStatus::done) {
            item.seconds = elapsed;
        }
    }
    return report;
}

IndexReport run_index(const PipelineOptions& o) {
    auto store = open_pipeline_store(o);
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
    return index.has_value() && std::all_of(stages.begin(), stages.end(), [](const StageReport& s) { return s.ok(); });
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
    report.stages.push_back(run_prepare(o));
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
    report.stages.push_back(run_upload(o));
    // The index only after every upload succeeded: an earlier failure leaves the old index valid.
    bool all_ok = std::all_of(report.stages.begin(), report.stages.end(), [](const StageReport& s) { return s.ok(); });
    if (!all_ok) {
        o.logger.error("publish: not assembling the index because a stage failed; the previous index stays valid");
        return report;
    }
    report.index = run_index(o);
    return report;
}

}  // namespace mip
