// The verbs (pipeline.hpp): options in, services called, reports out. Each verb resolves the
// options, opens the store it needs and hands every service its own options and the shared
// `run` block as they are.

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <memory>
#include <optional>
#include <system_error>

#include <mip/error.hpp>
#include <mip/pipeline.hpp>

#include "detail/build_dir_lock.hpp"
#include "detail/channel_config.hpp"
#include "detail/convert.hpp"
#include "detail/env.hpp"
#include "detail/index_cache.hpp"
#include "detail/json.hpp"
#include "detail/package_layout.hpp"
#include "detail/publish_store.hpp"
#include "detail/replace_together.hpp"

namespace mip {

namespace fs = std::filesystem;
using detail::Json;

const char* version() noexcept { return MIP_VERSION; }

PipelineOptions PipelineOptions::from_environment() {
    PipelineOptions o;
    auto env = detail::process_environment();
    if (auto v = detail::env_find(env, "BUILD_TYPE"); v && !v->empty()) {
        o.prepare.build_type = *v;
    }
    if (auto v = detail::env_find(env, "SOURCE_DATE_EPOCH"); v && !v->empty()) {
        o.run.source_date_epoch = detail::parse_epoch(*v, "SOURCE_DATE_EPOCH");
    }
    if (auto v = detail::env_find(env, "MIP_STORE"); v && !v->empty()) {
        o.store = *v;
    }
    if (auto v = detail::env_find(env, "MIP_BASE_URL"); v && !v->empty()) {
        o.run.base_url = *v;
    }
    if (auto v = detail::env_find(env, "MIP_PLATFORM_TAG"); v && !v->empty()) {
        o.prepare.platform_tag_override = *v;
    }
    if (auto v = detail::env_find(env, "MIP_SOURCE_MIRRORS"); v && !v->empty()) {
        o.prepare.source_mirror = parse_source_mirrors(*v);
    }
    o.run.environment = std::move(env);  // the snapshot: seal_process_credentials() may follow
    return o;
}

PipelineOptions PipelineOptions::resolved() const {
    PipelineOptions r = *this;
    auto fill = [](fs::path& dir, const fs::path& value) {
        if (dir.empty()) {
            dir = value;
        }
    };
    fill(r.prepare.output_dir, build_dir / "prepared");
    fill(r.prepare.cache_dir, build_dir / "cache");
    fill(r.compile.input_dir, r.prepare.output_dir);
    fill(r.bundle.input_dir, r.prepare.output_dir);
    fill(r.bundle.output_dir, build_dir / "bundled");
    fill(r.upload.input_dir, r.bundle.output_dir);
    fill(r.tester.input_dir, r.bundle.output_dir);
    fill(r.tester.work_dir, r.prepare.output_dir);
    fill(r.index.cache_dir, build_dir / "cache" / "index");
    fill(r.index.output_dir, build_dir / "gh-pages");
    if (r.store.empty()) {
        r.store = fs::absolute(build_dir / "store").lexically_normal().string();
    }
    return r;
}

namespace {

/// The store a stage uses: the publish run's shared one, else its own.
class StageStore {
public:
    StageStore(const PipelineOptions& o, Store* shared) : store_(shared) {
        if (store_ == nullptr) {
            owned_ = open_store(o.store, o.store_options, o.run);
            store_ = owned_.get();
        }
    }
    Store& operator*() const { return *store_; }
    [[nodiscard]] Store* get() const { return store_; }

private:
    std::unique_ptr<Store> owned_;
    Store* store_ = nullptr;
};

StageReport prepare_stage(const PipelineOptions& o, Store* shared) {
    std::optional<StageStore> store;
    if (!o.prepare.force) {
        store.emplace(o, shared);
    }
    Preparer preparer(o.prepare, o.run, store ? store->get() : nullptr);
    return preparer.prepare();
}

StageReport upload_stage(const PipelineOptions& o, Store* shared) {
    StageStore store(o, shared);
    return Uploader(*store, o.upload, o.run).upload();
}

/// `index` only reads a store: a local one that does not exist is a mistyped path, not an
/// empty channel (opening it would create it and publish an empty index).
void require_existing_local_store(const std::string& url) {
    if (url.empty() || url.rfind("s3://", 0) == 0) {
        return;
    }
    const std::string path = url.rfind("file://", 0) == 0 ? url.substr(7) : url;
    std::error_code ec;
    if (!std::filesystem::is_directory(path, ec)) {
        throw IoError(
            "--store: the store directory does not exist (index reads a store; upload "
            "creates one)",
            path, {ENOENT, std::generic_category()});
    }
}

IndexReport index_stage(const PipelineOptions& o, Store* shared) {
    // A run killed between its site renames: the old set back first, even if this run fails.
    if (!o.run.dry_run) {
        if (auto restored = detail::recover_replace(o.index.output_dir); !restored.empty()) {
            o.run.logger.warning(restored);
        }
    }
    if (shared == nullptr) {
        require_existing_local_store(o.store);
    }
    StageStore store(o, shared);
    // The R2 index: cached sidecars' entries spliced, the page from the document in memory.
    const bool site_path = detail::package_layout(o.run.format).format() == "r2" &&
                           o.index.compatibility_floor.empty();
    detail::IndexSite site;
    if (site_path) {
        site = detail::assemble_index_site(*store, o.index, o.run);
    } else {
        IndexAssembler assembler(*store, o.index, o.run);
        site.result = assembler.assemble();
        site.total_packages = site.result.packages.size();
    }
    const auto& result = site.result;
    IndexReport report;
    report.total_packages = site.total_packages;
    report.skipped = result.skipped;
    report.warnings = result.warnings;
    report.sidecars_downloaded = result.sidecars_downloaded;
    report.sidecar_source = result.sidecar_source;
    report.index_json = o.index.output_dir / "index.json";
    report.packages_html = o.index.output_dir / "packages.html";
    if (!o.run.dry_run) {
        if (site_path) {
            detail::write_index_site(site, o.index.output_dir);
        } else {
            IndexAssembler::write(result, o.index.output_dir);
        }
        report.written = true;
    }
    return report;
}

/// publish of a channel: `mip_compatibility_floor` from the channel's channel.yaml, unless
/// `--compatibility-floor` gave one. Read before any stage, so a bad file stops the run before
/// anything is written.
void apply_channel_config(PipelineOptions& o) {
    if (!o.index.compatibility_floor.empty()) {
        return;
    }
    const auto file = detail::find_channel_yaml(o.prepare.recipes);
    if (!file) {
        return;
    }
    const auto config = detail::read_channel_config(*file);
    if (config.compatibility_floor.empty()) {
        return;
    }
    if (detail::package_layout(o.run.format).format() == "r2") {
        o.run.logger.warning(file->string() +
                             ": mip_compatibility_floor is not used: the R2 index has no such "
                             "field (it is for --format mip)");
        return;
    }
    o.index.compatibility_floor = config.compatibility_floor;
    o.run.logger.info("publish: the channel requires mip >= " + config.compatibility_floor + " (" +
                      file->string() + ")");
}

/// One run per build directory while a verb writes into it (a dry run writes nothing).
std::optional<detail::BuildDirLock> lock_build_dir(const PipelineOptions& o) {
    if (o.run.dry_run) {
        return std::nullopt;
    }
    return std::optional<detail::BuildDirLock>(std::in_place, o.build_dir);
}

}  // namespace

StageReport run_prepare(const PipelineOptions& options) {
    const auto o = options.resolved();
    const auto lock = lock_build_dir(o);
    return prepare_stage(o, nullptr);
}

StageReport run_compile(const PipelineOptions& options) {
    const auto o = options.resolved();
    const auto lock = lock_build_dir(o);
    return Compiler(o.compile, o.run).compile();
}

StageReport run_bundle(const PipelineOptions& options) {
    const auto o = options.resolved();
    const auto lock = lock_build_dir(o);
    return Bundler(o.bundle, o.run).bundle_all();
}

StageReport run_test(const PipelineOptions& options) {
    const auto o = options.resolved();
    const auto lock = lock_build_dir(o);
    return Tester(o.tester, o.run).test();
}

StageReport run_upload(const PipelineOptions& options) {
    const auto o = options.resolved();
    const auto lock = lock_build_dir(o);
    return upload_stage(o, nullptr);
}

IndexReport run_index(const PipelineOptions& options) {
    const auto o = options.resolved();
    const auto lock = lock_build_dir(o);
    return index_stage(o, nullptr);
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
    j["sidecar_source"] = sidecar_source;
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

PublishReport run_publish(const PipelineOptions& options) {
    auto o = options.resolved();
    apply_channel_config(o);
    const auto lock = lock_build_dir(o);
    PublishReport report;
    auto stage_ok = [&o](const StageReport& s) { return s.ok() || o.run.keep_going; };
    // One store for every stage: its connections stay open, and the upload's check reuses the
    // prepare stage's reads.
    detail::PublishStore store(open_store(o.store, o.store_options, o.run));
    report.stages.push_back(prepare_stage(o, &store));
    if (!stage_ok(report.stages.back())) {
        return report;
    }
    report.stages.push_back(Compiler(o.compile, o.run).compile());
    if (report.stages.back().items.empty()) {
        o.run.logger.info("compile: no prepared package has a compile script; nothing to compile");
    }
    if (!stage_ok(report.stages.back())) {
        return report;
    }
    report.stages.push_back(Bundler(o.bundle, o.run).bundle_all());
    if (!stage_ok(report.stages.back())) {
        return report;
    }
    if (o.tester.test == TestMode::native) {
        report.stages.push_back(Tester(o.tester, o.run, &store).test());
        if (!stage_ok(report.stages.back())) {
            return report;
        }
    }
    report.stages.push_back(upload_stage(o, &store));
    // The index only after every upload succeeded: an earlier failure leaves the old index valid.
    bool all_ok = std::all_of(report.stages.begin(), report.stages.end(),
                              [](const StageReport& s) { return s.ok(); });
    if (!all_ok) {
        o.run.logger.error(
            "publish: not assembling the index because a stage failed; the previous index stays "
            "valid");
        return report;
    }
    // The index reads the store as it is; a listed sidecar unchanged since the prepare stage
    // read it is not read again.
    store.revalidated_reads_only();
    report.index = index_stage(o, &store);
    return report;
}

}  // namespace mip
