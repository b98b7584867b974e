#include <mip/error.hpp>
#include <mip/preparer.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <set>

#include "detail/convert.hpp"
#include "detail/crypto.hpp"
#include "detail/env.hpp"
#include "detail/fs.hpp"
#include "detail/git.hpp"
#include "detail/http.hpp"
#include "detail/json.hpp"
#include "detail/parallel.hpp"

namespace mip {

namespace fs = std::filesystem;
using detail::Json;

namespace {

/// One package build scheduled in this run.
struct Job {
    fs::path recipe_dir;
    std::string recipe_file;
    std::unique_ptr<RecipeBuild> build;
    std::string wheel;
    ItemResult result;
    bool needs_build = true;
    std::string recipe_sha256;
    std::optional<PackageSpec> published;
    std::string cache_note;
    bool resolved = false;
    bool ran = false;  ///< reached by the scheduler (else: stopped by an earlier failure)
};

struct RecipeInfo {
    std::string repository;
    std::string commit;
    std::optional<std::int64_t> commit_time;
};

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::string now_iso() {
    return detail::iso8601_utc(
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count());
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

}  // namespace

struct Preparer::Impl {
    PrepareOptions options;
    std::map<std::string, std::shared_ptr<RecipeKind>> kinds;  // by file name
    detail::Environment env;
    std::string host_tag;

    RecipeInfo recipe_info(const fs::path& recipe_dir) const {
        RecipeInfo info;
        auto url = detail::run_git({"remote", "get-url", "origin"}, recipe_dir, env, std::chrono::seconds(10));
        if (url.ok()) {
            auto u = url.output;
            while (!u.empty() && (u.back() == '\n' || u.back() == '\r')) {
                u.pop_back();
            }
            info.repository = detail::redact_url(u);
        }
        auto head = detail::run_git({"rev-parse", "HEAD"}, recipe_dir, env, std::chrono::seconds(10));
        if (head.ok()) {
            info.commit = head.output.substr(0, head.output.find('\n'));
            auto ct = detail::run_git({"log", "-1", "--format=%ct", "--", "."}, recipe_dir, env, std::chrono::seconds(10));
            if (ct.ok() && !ct.output.empty() && ct.output[0] != '\n') {
                info.commit_time = std::stoll(ct.output);
            }
        }
        return info;
    }

    std::string ci_kind() const {
        if (detail::env_get(env, "GITHUB_ACTIONS") == "true") {
            return "github_actions";
        }
        if (detail::env_get(env, "TRAVIS") == "true") {
            return "travis";
        }
        return "local";
    }

    Json ci_run_url() const {
        if (ci_kind() == "github_actions") {
            auto server = detail::env_get(env, "GITHUB_SERVER_URL");
            auto repo = detail::env_get(env, "GITHUB_REPOSITORY");
            auto run = detail::env_get(env, "GITHUB_RUN_ID");
            if (!repo.empty() && !run.empty()) {
                return (server.empty() ? std::string("https://github.com") : server) + "/" + repo + "/actions/runs/" + run;
            }
        }
        if (ci_kind() == "travis") {
            auto url = detail::env_get(env, "TRAVIS_JOB_WEB_URL");
            if (!url.empty()) {
                return url;
            }
        }
        return nullptr;
    }

    BuildContext context_for(const Job& job) const {
        BuildContext ctx;
        ctx.recipe_dir = job.recipe_dir;
        ctx.work_dir = fs::absolute(options.output_dir) / (job.wheel + ".work");
        ctx.dir = ctx.work_dir / "stage";
        ctx.cache_dir = fs::absolute(options.cache_dir);
        ctx.build_type = options.build_type;
        ctx.environment = env;
        ctx.timeout_seconds = options.recipe_timeout_seconds;
        ctx.logger = options.logger;
        return ctx;
    }

    /// Reads the published sidecar from the store or base URL; nullopt when absent.
    std::optional<PackageSpec> fetch_published(const std::string& wheel, std::string& note) const {
        std::string text;
        std::string key = wheel + ".mhl.mip.json";
        if (options.store != nullptr) {
            auto got = options.store->get(key);
            if (!got) {
                note = "not published";
                return std::nullopt;
            }
            text = std::move(*got);
        } else if (!options.base_url.empty()) {
            detail::HttpOptions http;
            http.total_timeout = std::chrono::seconds(10);
            http.connect_timeout = std::chrono::seconds(10);
            http.retries = 1;
            std::string base = options.base_url;
            while (!base.empty() && base.back() == '/') {
                base.pop_back();
            }
            auto r = detail::http_get(base + "/" + key, http);
            if (r.status == 404 || r.status == 403) {
                note = "not published";
                return std::nullopt;
            }
            if (r.status != 200) {
                throw NetworkError("cache check GET returned HTTP " + std::to_string(r.status), base + "/" + key);
            }
            text = std::move(r.body);
        } else {
            note = "no store to compare with";
            return std::nullopt;
        }
        return PackageSpec::from_json_unchecked(text, key);
    }

    void fill_build_info(Job& job, PackageSpec& spec, const RecipeInfo& info, std::int64_t epoch,
                         const std::string& epoch_source) const {
        Json previous = spec.build_info_json.empty() ? Json::object() : Json::parse(spec.build_info_json);
        Json bi = Json::object();  // §3 order
        bi["source_date_epoch"] = epoch;
        bi["epoch_source"] = epoch_source;
        bi["recipe_sha256"] = job.recipe_sha256;
        bi["recipe_repository"] = info.repository.empty() ? Json(nullptr) : Json(info.repository);
        bi["recipe_commit"] = info.commit.empty() ? Json(nullptr) : Json(info.commit);
        bi["build_type"] = options.build_type;
        bi["builder"] = std::string("libmip ") + MIP_VERSION;
        bi["host_platform"] = host_tag;
        bi["ci"] = ci_kind();
        bi["ci_run_url"] = ci_run_url();
        bi["compile_engine"] = previous.value("compile_engine", Json(nullptr));
        for (auto it = previous.begin(); it != previous.end(); ++it) {
            if (!bi.contains(it.key())) {
                bi[it.key()] = it.value();
            }
        }
        spec.build_info_json = detail::dump_compact(bi);
    }

    /// Pins sources, computes the cache key and decides whether to build.
    void resolve(Job& job) {
        auto ctx = context_for(job);
        auto& spec = job.build->mutable_spec();
        job.recipe_sha256 = detail::tree_hash(job.recipe_dir);
        job.build->resolve(ctx);
        // The published side compares build_info.recipe_sha256: record ours now.
        Json bi = Json::object();
        bi["recipe_sha256"] = job.recipe_sha256;
        spec.build_info_json = detail::dump_compact(bi);
        job.resolved = true;
        if (options.force) {
            job.cache_note = "--force";
            return;
        }
        try {
            job.published = fetch_published(job.wheel, job.cache_note);
        } catch (const std::exception& e) {
            options.logger.warning(spec.name + ": cache check failed, building anyway: " + e.what());
            job.cache_note = "cache check failed";
            return;
        }
        if (job.published) {
            auto cmp = compare_cached_fields(spec, *job.published);
            if (cmp.equal && job.build->pinned_before_build()) {
                job.needs_build = false;
                job.cache_note = "published metadata matches";
            } else if (cmp.equal) {
                job.cache_note = "published metadata matches so far (sources pinned after building)";
            } else {
                job.cache_note = "published '" + cmp.first_difference + "' differs";
            }
        }
    }

    void write_log(const fs::path& work_dir, const std::string& text) const {
        try {
            detail::create_dirs(work_dir / "logs");
            auto log = work_dir / "logs" / "prepare.log";
            std::string old = fs::exists(log) ? detail::read_file(log) : std::string();
            detail::write_file_atomic(log, old + text + "\n", false);
        } catch (const std::exception&) {  // logging must not mask the real error
        }
    }

    /// Builds one package into `<W>.dir` atomically.
    void build(Job& job) {
        auto t0 = std::chrono::steady_clock::now();
        auto ctx = context_for(job);
        auto out_dir = fs::absolute(options.output_dir);
        auto final_dir = out_dir / (job.wheel + ".dir");
        auto& spec = job.build->mutable_spec();
        try {
            detail::create_dirs(ctx.work_dir);
            detail::remove_tree(ctx.dir);
            detail::create_dirs(ctx.dir);
            // script_env: declared variables captured verbatim when set, dropped when unset.
            Json script_env = Json::object();
            for (const auto& name : job.build->script_env()) {
                if (auto v = detail::env_find(env, name)) {
                    script_env[name] = *v;
                    ctx.environment[name] = *v;
                } else {
                    options.logger.info(spec.name + ": script_env variable " + name + " is unset; dropped");
                }
            }
            detail::write_file_atomic(ctx.work_dir / "script_env.json", detail::dump_pretty(script_env), false);
            job.build->build(ctx);
            if (!fs::is_regular_file(ctx.dir / "load_package.m")) {
                throw BuildError(spec.name, "the recipe left no load_package.m at the package root");
            }
            if (!fs::is_regular_file(ctx.dir / "unload_package.m")) {
                throw BuildError(spec.name, "the recipe left no unload_package.m at the package root");
            }
            auto info = recipe_info(job.recipe_dir);
            std::int64_t epoch = 0;
            std::string epoch_source;
            if (options.source_date_epoch) {
                epoch = *options.source_date_epoch;
                epoch_source = "SOURCE_DATE_EPOCH";
            } else if (auto se = job.build->source_epoch()) {
                epoch = *se;
                epoch_source = "source commit";
            } else if (info.commit_time) {
                epoch = *info.commit_time;
                epoch_source = "recipe commit";
            } else {
                epoch = detail::newest_mtime(job.recipe_dir);
                epoch_source = "recipe mtime";
            }
            fill_build_info(job, spec, info, epoch, epoch_source);
            // Late cache check for recipes whose pins are known only after building.
            if (!job.build->pinned_before_build() && job.published && !options.force &&
                compare_cached_fields(spec, *job.published).equal) {
                detail::remove_tree(ctx.dir);
                job.result.status = ItemStatus::skipped;
                job.result.detail = "published metadata matches (checked after building)";
                return;
            }
            auto issues = spec.validate();
            if (!issues.empty()) {
                throw SpecError(spec.name + ": metadata after building", issues);
            }
            spec.timestamp = now_iso();
            spec.prepare_duration = seconds_since(t0);
            detail::write_file_atomic(ctx.dir / "mip.json", spec.to_json(), false);
            // Replace an old .dir: move it aside, move the new one in, then delete the old one.
            fs::path old;
            if (fs::exists(final_dir)) {
                old = out_dir / ("." + job.wheel + ".dir.old-" + detail::random_hex(4));
                detail::rename_path(final_dir, old);
            }
            detail::rename_path(ctx.dir, final_dir);
            if (!old.empty()) {
                detail::remove_tree(old);
            }
            // A fresh .dir has not been compiled yet.
            std::error_code ignore;
            fs::remove(ctx.work_dir / "compile.failed", ignore);
            job.result.status = ItemStatus::done;
            job.result.path = final_dir.string();
            job.result.detail = job.cache_note.empty() ? "built" : "built (" + job.cache_note + ")";
            write_log(ctx.work_dir, "prepared " + job.wheel + " in " + std::to_string(seconds_since(t0)) + " s");
        } catch (...) {
            auto err = std::current_exception();
            std::error_code ignore;
            fs::remove_all(ctx.dir, ignore);
            job.result.status = ItemStatus::failed;
            job.result.error_code = code_of(err);
            job.result.detail = message_of(err);
            write_log(ctx.work_dir, "FAILED " + job.wheel + ": " + job.result.detail);
        }
        job.result.seconds = seconds_since(t0);
    }
};

Preparer::Preparer(PrepareOptions options) : impl_(std::make_unique<Impl>()) {
    impl_->options = std::move(options);
    add_recipe_kind(make_yaml_recipe_kind());
    auto py = make_python_recipe_kind(impl_->options.python);
    add_recipe_kind(py);
}

Preparer::~Preparer() = default;
Preparer::Preparer(Preparer&&) noexcept = default;
Preparer& Preparer::operator=(Preparer&&) noexcept = default;

void Preparer::add_recipe_kind(std::shared_ptr<RecipeKind> kind) {
    if (kind) {
        impl_->kinds[kind->file_name()] = std::move(kind);
    }
}

const PrepareOptions& Preparer::options() const noexcept { return impl_->options; }

StageReport Preparer::prepare() {
    auto& o = impl_->options;
    impl_->env = detail::resolve_environment(o.environment);
    impl_->host_tag = host_platform_tag(o.platform_tag_override);
    StageReport report;
    report.stage = "prepare";
    report.dry_run = o.dry_run;
    auto recipes_dir = fs::absolute(o.recipes_dir).lexically_normal();
    if (!fs::is_directory(recipes_dir)) {
        throw IoError("recipes directory does not exist", recipes_dir.string());
    }
    std::vector<fs::path> dirs;
    for (const auto& e : fs::directory_iterator(recipes_dir)) {
        if (e.is_directory() && e.path().filename().string()[0] != '.') {
            dirs.push_back(e.path());
        }
    }
    std::sort(dirs.begin(), dirs.end());

    std::set<std::string> wanted(o.packages.begin(), o.packages.end());
    std::set<std::string> matched;
    auto selected = [&](const std::string& dir_name, const std::string& package) {
        if (wanted.empty()) {
            return true;
        }
        for (const auto& w : {dir_name, package}) {
            if (wanted.count(w) != 0) {
                matched.insert(w);
                return true;
            }
        }
        return false;
    };

    // Phase 1: load every recipe (sequential; cheap for YAML, one worker call for Python).
    std::vector<Job> jobs;
    std::map<std::string, std::string> wheels_seen;
    for (const auto& dir : dirs) {
        auto dir_name = dir.filename().string();
        std::vector<std::string> present;
        for (const auto& [file, kind] : impl_->kinds) {
            if (fs::is_regular_file(dir / file)) {
                present.push_back(file);
            }
        }
        if (present.empty()) {
            o.logger.debug("skipping " + dir_name + ": no recipe file");
            continue;
        }
        ItemResult item;
        item.package = dir_name;
        if (present.size() > 1) {
            if (!selected(dir_name, dir_name)) {
                continue;
            }
            item.status = ItemStatus::failed;
            item.error_code = ErrorCode::invalid_spec;
            item.detail = dir_name + ": holds more than one recipe file (" + present[0] + ", " + present[1] + ")";
            jobs.push_back(Job{dir, {}, nullptr, {}, item});
            continue;
        }
        RecipeContext rctx;
        rctx.recipe_dir = dir;
        rctx.build_type = o.build_type;
        rctx.host_platform_tag = impl_->host_tag;
        rctx.cache_dir = fs::absolute(o.cache_dir);
        rctx.environment = impl_->env;
        rctx.logger = o.logger;
        std::vector<std::unique_ptr<RecipeBuild>> builds;
        try {
            builds = impl_->kinds.at(present[0])->load(rctx);
        } catch (...) {
            if (!selected(dir_name, dir_name)) {
                continue;
            }
            item.status = ItemStatus::failed;
            item.error_code = code_of(std::current_exception());
            item.detail = message_of(std::current_exception());
            jobs.push_back(Job{dir, present[0], nullptr, {}, item});
            continue;
        }
        for (auto& b : builds) {
            const auto& spec = b->spec();
            if (!selected(dir_name, spec.name)) {
                continue;
            }
            if (o.shard && !o.shard->contains(spec.name)) {
                continue;
            }
            Job job;
            job.recipe_dir = dir;
            job.recipe_file = present[0];
            job.wheel = spec.wheel_name();
            job.result.package = spec.name;
            job.result.wheel = job.wheel;
            if (auto [it, inserted] = wheels_seen.emplace(job.wheel, dir_name); !inserted) {
                job.result.status = ItemStatus::failed;
                job.result.error_code = ErrorCode::invalid_spec;
                job.result.detail = job.wheel + " is built by both " + it->second + " and " + dir_name;
                jobs.push_back(std::move(job));
                continue;
            }
            job.build = std::move(b);
            jobs.push_back(std::move(job));
        }
    }
    for (const auto& w : wanted) {
        if (matched.count(w) == 0) {
            throw SpecError("--package", {{"package", "'" + w + "' matches no recipe directory or package in " + recipes_dir.string()}});
        }
    }

    // Phases 2–3: pin sources + cache check, then build; both in parallel, progress here.
    ProgressEvent event;
    event.stage = "prepare";
    event.total = jobs.size();
    std::atomic<std::size_t> done{0};
    std::mutex last_mutex;
    std::string last_item;
    auto emit = [&](ProgressPhase phase) {
        if (!o.progress) {
            return;
        }
        event.phase = phase;
        event.done = done.load();
        {
            std::lock_guard lock(last_mutex);
            event.item = last_item;
        }
        o.progress(event);
    };
    emit(ProgressPhase::started);
    std::atomic<bool> failed{false};
    detail::ParallelOptions popt;
    popt.jobs = std::max(1U, o.jobs);
    popt.tick_interval = o.progress_interval;
    detail::run_parallel(
        jobs.size(), popt,
        [&](std::size_t i) {
            auto& job = jobs[i];
            job.ran = true;
            if (!job.build) {  // the recipe could not be loaded
                ++done;
                failed.store(true);
                o.logger.error(job.result.detail);
                return o.keep_going;
            }
            if (failed.load() && !o.keep_going) {
                job.result.status = ItemStatus::skipped;
                job.result.detail = "not run: an earlier package failed";
                return false;
            }
            try {
                impl_->resolve(job);
            } catch (...) {
                job.result.status = ItemStatus::failed;
                job.result.error_code = code_of(std::current_exception());
                job.result.detail = message_of(std::current_exception());
            }
            if (job.result.status != ItemStatus::failed) {
                if (!job.needs_build) {
                    job.result.status = ItemStatus::skipped;
                    job.result.detail = job.cache_note;
                } else if (o.dry_run) {
                    job.result.status = ItemStatus::planned;
                    job.result.detail = "would build (" + (job.cache_note.empty() ? std::string("no published metadata") : job.cache_note) + ")";
                } else {
                    impl_->build(job);
                }
            }
            {
                std::lock_guard lock(last_mutex);
                last_item = job.wheel;
            }
            ++done;
            if (job.result.status == ItemStatus::failed) {
                failed.store(true);
                o.logger.error(job.result.detail);
                return o.keep_going;
            }
            o.logger.info(job.wheel + ": " + to_string(job.result.status) + " — " + job.result.detail);
            return true;
        },
        [&]() { emit(ProgressPhase::advanced); });
    for (auto& job : jobs) {
        if (!job.ran) {
            job.result.status = ItemStatus::skipped;
            job.result.detail = "not run: an earlier package failed";
        }
        report.items.push_back(job.result);
    }
    emit(ProgressPhase::finished);
    return report;
}

}  // namespace mip
