#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <map>
#include <mutex>
#include <regex>
#include <set>

#include <mip/error.hpp>
#include <mip/preparer.hpp>

#include "detail/build_info.hpp"
#include "detail/build_info_access.hpp"
#include "detail/convert.hpp"
#include "detail/credentials.hpp"
#include "detail/crypto.hpp"
#include "detail/env.hpp"
#include "detail/fs.hpp"
#include "detail/git.hpp"
#include "detail/http.hpp"
#include "detail/json.hpp"
#include "detail/lock.hpp"
#include "detail/package_layout.hpp"
#include "detail/parallel.hpp"
#include "detail/process.hpp"
#include "detail/progress.hpp"
#include "detail/recipe_env.hpp"
#include "detail/staged_build.hpp"
#include "detail/text.hpp"
#include "preparer_impl.hpp"

namespace mip {

using namespace prepare;  // NOLINT(google-build-using-namespace): this file implements it

namespace {

const std::vector<const char*> pass_through_names = {
    "PATH",   "HOME",    "USER",    "USERNAME",         "LOGNAME",
    "TMPDIR", "TMP",     "TEMP",    "SYSTEMROOT",       "SYSTEMDRIVE",
    "WINDIR", "COMSPEC", "PATHEXT", "MLM_LICENSE_FILE", "LM_LICENSE_FILE"};

}  // namespace

const detail::Toolchain& Preparer::Impl::probed_toolchain() {
    std::call_once(toolchain_once, [this]() {
        toolchain = toolchain_probe.valid() ? toolchain_probe.get() : detail::probe_toolchain(env);
    });
    return toolchain;
}

std::optional<std::int64_t> Preparer::Impl::explicit_epoch() const {
    if (run_options.source_date_epoch) {
        return run_options.source_date_epoch;
    }
    if (auto v = detail::env_find(env, "SOURCE_DATE_EPOCH"); v && !v->empty()) {
        return detail::parse_epoch(*v, "SOURCE_DATE_EPOCH");
    }
    return std::nullopt;
}

Json Preparer::Impl::ci_run_url(const std::string& build_type) const {
    if (build_type == "github_actions") {
        auto server = detail::env_get(env, "GITHUB_SERVER_URL");
        auto repo = detail::env_get(env, "GITHUB_REPOSITORY");
        auto run_id = detail::env_get(env, "GITHUB_RUN_ID");
        if (!repo.empty() && !run_id.empty()) {
            return detail::redact_url(
                (server.empty() ? std::string("https://github.com") : server) + "/" + repo +
                "/actions/runs/" + run_id);
        }
    }
    if (build_type == "travis") {
        auto url = detail::env_get(env, "TRAVIS_JOB_WEB_URL");
        if (!url.empty()) {
            return url;
        }
    }
    return nullptr;
}

/// The environment recipe code sees (§3.9): pass-through names, fixed values, script_env.
detail::Environment Preparer::Impl::minimal_environment(const std::string& arch,
                                                        std::optional<std::int64_t> epoch) const {
    detail::Environment out;
    for (const char* name : pass_through_names) {
        if (auto v = detail::env_find(env, name)) {
            out[name] = *v;
        }
    }
    for (const auto& name : run_options.pass_env) {  // --pass-env (checked: no credentials)
        if (auto v = detail::env_find(env, name)) {
            out[name] = *v;
        }
    }
    out["TZ"] = "UTC";
    out["TOOLCHAIN_ARCH"] = arch;
    if (epoch) {
        out["SOURCE_DATE_EPOCH"] = std::to_string(*epoch);
    }
    return out;
}

std::optional<PackageSpec> Preparer::Impl::fetch_published(const PackageSpec& spec,
                                                           std::string& note) const {
    std::string text;
    const auto& layout = detail::package_layout(run_options.format);
    std::string key = layout.archive_stem(spec) + ".mhl.mip.json";
    if (store != nullptr) {
        if (auto it = prefetched.find(key); it != prefetched.end()) {
            // This key's answer only (rethrows if the batch itself failed); a copy of the
            // shared future per caller, as two threads must not share one.
            const std::shared_future<GetResult> answer = it->second;
            const GetResult& got = answer.get();
            if (got.error) {
                std::rethrow_exception(got.error);
            }
            if (!got.found) {
                note = "not published";
                return std::nullopt;
            }
            return layout.read_sidecar(got.data, key, false);
        }
        auto got = store->get(key);
        if (!got) {
            note = "not published";
            return std::nullopt;
        }
        text = std::move(*got);
    } else if (!run_options.base_url.empty()) {
        detail::HttpOptions http;
        http.total_timeout = std::chrono::seconds(10);
        http.connect_timeout = std::chrono::seconds(10);
        http.retries = 1;
        std::string base = run_options.base_url;
        while (!base.empty() && base.back() == '/') {
            base.pop_back();
        }
        auto r = detail::http_get(base + "/" + key, http);
        if (r.status == 404 || r.status == 403) {
            note = "not published";
            return std::nullopt;
        }
        if (r.status != 200) {
            throw NetworkError("cache check GET returned HTTP " + std::to_string(r.status),
                               base + "/" + key);
        }
        text = std::move(r.body);
    } else {
        note = "no store to compare with";
        return std::nullopt;
    }
    return layout.read_sidecar(text, key, false);
}

/// The lock's value for `key`, or null.
RecipeContext Preparer::Impl::recipe_context(const fs::path& recipe_dir) const {
    RecipeContext rctx;
    rctx.recipe_dir = recipe_dir;
    rctx.build_type = options.build_type;
    rctx.host_platform_tag = host_tag;
    rctx.cache_dir = fs::absolute(options.cache_dir);
    rctx.environment = env;
    rctx.logger = run_options.logger;
    rctx.pass_env = run_options.pass_env;
    return rctx;
}

Json Preparer::Impl::lock_value(const std::string& key) const {
    return lock && lock->contains(key) ? (*lock)[key] : Json(nullptr);
}

Preparer::Preparer(PrepareOptions options, RunOptions run, Store* store)
    : impl_(std::make_unique<Impl>()) {
    impl_->options = std::move(options);
    impl_->run_options = std::move(run);
    impl_->store = store;
    const PythonRecipeOptions python{impl_->options.python, impl_->options.python_path};
    add_recipe_kind(make_yaml_recipe_kind());
    add_recipe_kind(make_channel_recipe_kind());
    auto py = make_python_recipe_kind(python);
    add_recipe_kind(py);
    add_recipe_kind(make_python_packages_recipe_kind(python));
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

const RunOptions& Preparer::run_options() const noexcept { return impl_->run_options; }

namespace {

/// `--package`: which names were asked for, and which of them matched something.
class PackageSelection {
public:
    explicit PackageSelection(const std::vector<std::string>& packages)
        : wanted_(packages.begin(), packages.end()) {}
    /// Whether a build of `package` from the recipe directory `dir_name` is selected.
    bool selected(const std::string& dir_name, const std::string& package) {
        if (wanted_.empty()) {
            return true;
        }
        for (const auto& w : {dir_name, package}) {
            if (wanted_.count(w) != 0) {
                matched_.insert(w);
                return true;
            }
        }
        return false;
    }
    /// Throws `SpecError` for the first `--package` that matched nothing.
    void check_all_matched(const fs::path& recipes_dir) const {
        for (const auto& w : wanted_) {
            if (matched_.count(w) == 0) {
                throw SpecError("--package", {{"package", "'" + w +
                                                              "' matches no recipe directory or "
                                                              "package in " +
                                                              recipes_dir.string()}});
            }
        }
    }

private:
    std::set<std::string> wanted_;
    std::set<std::string> matched_;
};

/// Never return (or throw) while the prefetch batch still runs: it writes into the run's state.
struct JoinPrefetch {
    std::shared_future<void>& done;
    explicit JoinPrefetch(std::shared_future<void>& d) : done(d) {}
    JoinPrefetch(const JoinPrefetch&) = delete;
    JoinPrefetch& operator=(const JoinPrefetch&) = delete;
    JoinPrefetch(JoinPrefetch&&) = delete;
    JoinPrefetch& operator=(JoinPrefetch&&) = delete;
    ~JoinPrefetch() {
        if (done.valid()) {
            done.wait();
        }
        done = {};
    }
};

}  // namespace

void Preparer::Impl::start_run() {
    auto& o = options;
    env = detail::resolve_environment(run_options.environment);
    host_tag = host_platform_tag(o.platform_tag_override);
    if (!toolchain_started) {
        toolchain_started = true;
        toolchain_probe =
            std::async(std::launch::async, [env = env] { return detail::probe_toolchain(env); });
    }
    lock.reset();
    if (o.abbrev < 7 || o.abbrev > 40) {
        throw SpecError("--abbrev", {{"abbrev", std::to_string(o.abbrev) + " is outside 7-40"}});
    }
    detail::check_pass_env(run_options.pass_env);
}

prepare::RecipeDirs Preparer::Impl::recipe_dirs() {
    auto& o = options;
    RecipeDirs found;
    if (!o.from_lock.empty()) {
        // --from-lock: exactly the build the lock records, from one recipe directory.
        auto lock_path = fs::absolute(o.from_lock).lexically_normal();
        lock = detail::parse_lock(detail::read_file(lock_path), lock_path.string());
        const auto& lk = *lock;
        if (lk.value("lock_version", Json(0)) != Json(1) || !lk.contains("package") ||
            !lk["package"].is_object() || !lk.contains("source_date_epoch") ||
            !lk["source_date_epoch"].is_number_integer()) {
            throw SpecError(lock_path.string(),
                            {{"lock_version", "is not a version 1 mip.lock.yaml"}});
        }
        found.locked_package = lk["package"];
        auto dir =
            o.recipe_dir.empty() ? lock_path.parent_path() / "recipe" : fs::absolute(o.recipe_dir);
        dir = dir.lexically_normal();
        if (!fs::is_directory(dir)) {
            throw IoError("recipe directory does not exist", dir.string());
        }
        found.recipes_dir = dir.parent_path();
        found.dirs.push_back(dir);
    } else {
        found.recipes_dir = fs::absolute(o.recipes).lexically_normal();
        if (!fs::is_directory(found.recipes_dir)) {
            throw IoError("recipes directory does not exist", found.recipes_dir.string());
        }
        for (const auto& e : fs::directory_iterator(found.recipes_dir)) {
            if (e.is_directory() && e.path().filename().string()[0] != '.') {
                add_recipe_dir(e.path(), found.dirs);
            }
        }
        std::sort(found.dirs.begin(), found.dirs.end());
    }
    return found;
}

/// A recipe directory, or a channel tree's package folder: then each release folder holding a
/// `mip.yaml` is one (`<name>/<release>`).
void Preparer::Impl::add_recipe_dir(const fs::path& dir, std::vector<fs::path>& dirs) const {
    for (const auto& [file, kind] : kinds) {
        if (fs::is_regular_file(dir / file)) {
            dirs.push_back(dir);
            return;
        }
    }
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        if (it->is_directory() && it->path().filename().string()[0] != '.' &&
            fs::is_regular_file(it->path() / "mip.yaml")) {
            dirs.push_back(it->path());
        }
    }
}

void Preparer::Impl::load_recipe_dir(const fs::path& dir,
                                     const RecipeDirs& found,
                                     Selector& selected,
                                     LoadState& state) {
    auto& jobs = state.jobs;
    auto dir_name = detail::relative_generic(dir, found.recipes_dir);
    std::vector<std::string> present;
    for (const auto& [file, kind] : kinds) {
        if (fs::is_regular_file(dir / file)) {
            present.push_back(file);
        }
    }
    if (present.empty()) {
        run_options.logger.debug("skipping " + dir_name + ": no recipe file");
        return;
    }
    ItemResult item;
    item.package = dir_name;
    if (present.size() > 1) {
        if (!selected(dir_name, dir_name)) {
            return;
        }
        item.status = ItemStatus::failed;
        item.error_code = ErrorCode::invalid_spec;
        item.detail =
            dir_name + ": holds more than one recipe file (" + present[0] + ", " + present[1] + ")";
        jobs.push_back(Job{dir, {}, nullptr, {}, item});
        return;
    }
    std::vector<std::unique_ptr<RecipeBuild>> builds;
    try {
        builds = kinds.at(present[0])->load(recipe_context(dir));
    } catch (...) {
        if (!selected(dir_name, dir_name)) {
            return;
        }
        item.status = ItemStatus::failed;
        item.error_code = code_of(std::current_exception());
        item.detail = message_of(std::current_exception());
        jobs.push_back(Job{dir, present[0], nullptr, {}, item});
        return;
    }
    for (auto& b : builds) {
        const auto& spec = b->spec();
        if (!selected(dir_name, spec.name)) {
            continue;
        }
        if (run_options.shard && !run_options.shard->contains(spec.name)) {
            continue;
        }
        const auto& locked_package = found.locked_package;
        if (lock && (spec.name != locked_package.value("name", std::string()) ||
                     spec.matlab_tag != locked_package.value("matlab_tag", std::string()) ||
                     spec.abi_tag != locked_package.value("abi_tag", std::string()) ||
                     spec.platform_tag != locked_package.value("platform_tag", std::string()))) {
            continue;
        }
        Job job;
        job.recipe_dir = dir;
        job.recipe_file = present[0];
        job.wheel = spec.wheel_name();
        job.partial = spec.name + "." +
                      (b->versioned_work_area() ? spec.version + "." : std::string()) +
                      spec.matlab_tag + "-" + spec.abi_tag + "-" + spec.platform_tag + ".partial";
        job.result.package = spec.name;
        job.result.wheel = job.wheel;
        if (auto [it, inserted] = state.wheels_seen.emplace(job.wheel, dir_name); !inserted) {
            job.result.status = ItemStatus::failed;
            job.result.error_code = ErrorCode::invalid_spec;
            job.result.detail = job.wheel + " is built by both " + it->second + " and " + dir_name;
            jobs.push_back(std::move(job));
            continue;
        }
        if (auto [it, inserted] = state.partials_seen.emplace(job.partial, dir_name); !inserted) {
            job.result.status = ItemStatus::failed;
            job.result.error_code = ErrorCode::invalid_spec;
            job.result.detail = spec.name + " with tags " + spec.matlab_tag + "-" + spec.abi_tag +
                                "-" + spec.platform_tag + " is built twice in one run (" +
                                it->second + " and " + dir_name + " would share the work area " +
                                job.partial + ")";
            jobs.push_back(std::move(job));
            continue;
        }
        job.build = std::move(b);
        jobs.push_back(std::move(job));
    }
}

void Preparer::Impl::start_prefetch(const std::vector<Job>& jobs) {
    // The cache check's reads, all at once: one batch over the store's connections instead of
    // one round trip per package inside the workers.
    auto& o = options;
    prefetched.clear();  // nothing from an earlier prepare() of this Preparer
    if (store == nullptr || o.force || lock) {
        return;
    }
    std::vector<GetRequest> requests;
    std::set<std::string> keys;
    for (const auto& job : jobs) {
        if (!job.build) {
            continue;
        }
        auto key = detail::package_layout(run_options.format).archive_stem(job.build->spec()) +
                   ".mhl.mip.json";
        if (keys.insert(key).second) {
            requests.push_back({key, {}});
        }
    }
    if (requests.empty()) {
        return;
    }
    // On its own thread: the workers copy and hash recipes and pin sources meanwhile, and each
    // waits only for its own sidecar at its cache decision (a future per key, set as the store
    // hands over that answer).
    auto answers = std::make_shared<std::vector<std::promise<GetResult>>>(requests.size());
    for (std::size_t i = 0; i < requests.size(); ++i) {
        prefetched.emplace(requests[i].key, (*answers)[i].get_future().share());
    }
    prefetch_done =
        std::async(std::launch::async, [from = store, answers, requests = std::move(requests)] {
            BatchOptions batch;
            batch.stage = "prepare:cache";
            std::vector<bool> answered(requests.size(), false);
            try {
                from->get_each(
                    requests,
                    [&](std::size_t i, GetResult r) {
                        if (!answered[i]) {
                            answered[i] = true;
                            (*answers)[i].set_value(std::move(r));
                        }
                    },
                    batch);
            } catch (...) {  // the batch itself failed: every key still waiting gets it
                for (std::size_t i = 0; i < requests.size(); ++i) {
                    if (!answered[i]) {
                        (*answers)[i].set_exception(std::current_exception());
                    }
                }
                return;
            }
            for (std::size_t i = 0; i < requests.size(); ++i) {
                if (!answered[i]) {  // a store that gave no answer: that check fails, named
                    GetResult none;
                    none.key = requests[i].key;
                    none.error = std::make_exception_ptr(
                        Error(ErrorCode::internal, "the store gave no answer for " + none.key));
                    (*answers)[i].set_value(std::move(none));
                }
            }
        }).share();
}

void Preparer::Impl::run_jobs(std::vector<Job>& jobs) {
    // Phases 2–3: pin sources + cache check, then build; both in parallel, progress here.
    detail::ProgressEmitter progress(run_options.progress, "prepare", jobs.size());
    progress.started();
    std::atomic<bool> failed{false};
    detail::ParallelOptions popt;
    cancel.store(false);
    popt.cancel = &cancel;
    popt.jobs = run_options.effective_jobs();
    popt.tick_interval = run_options.progress_interval;
    detail::run_parallel(
        jobs.size(), popt,
        [&](std::size_t i) {
            auto& job = jobs[i];
            job.ran = true;
            if (!job.build) {  // the recipe could not be loaded
                progress.count_done();
                failed.store(true);
                run_options.logger.error(job.result.detail);
                return run_options.keep_going;
            }
            if (failed.load() && !run_options.keep_going) {
                job.result.status = ItemStatus::skipped;
                job.result.detail = "not run: an earlier package failed";
                return false;
            }
            run(job);
            progress.item_done(job.wheel);
            if (job.result.status == ItemStatus::failed) {
                failed.store(true);
                run_options.logger.error(job.result.detail);
                return run_options.keep_going;
            }
            run_options.logger.info(job.wheel + ": " + to_string(job.result.status) + " — " +
                                    job.result.detail);
            return true;
        },
        [&]() { progress.advanced(); });
    progress.finished();
}

StageReport Preparer::prepare() {
    auto& o = impl_->options;
    impl_->start_run();
    const detail::NonDumpableWhile sealed(impl_->env);  // recipe code runs below
    StageReport report;
    report.stage = "prepare";
    report.dry_run = impl_->run_options.dry_run;
    const RecipeDirs found = impl_->recipe_dirs();

    // Phase 1: load every recipe (sequential; cheap for YAML, one worker call for Python).
    PackageSelection selection(impl_->run_options.package);
    Selector selected = [&selection](const std::string& dir_name, const std::string& package) {
        return selection.selected(dir_name, package);
    };
    LoadState state;
    for (const auto& dir : found.dirs) {
        impl_->load_recipe_dir(dir, found, selected, state);
    }
    if (impl_->lock && state.jobs.empty()) {
        throw LockMismatch({"package: the recipe in " + found.dirs.front().string() +
                            " has no build " + found.locked_package.value("name", std::string()) +
                            " with the locked tags for build type " + o.build_type});
    }
    selection.check_all_matched(found.recipes_dir);

    impl_->start_prefetch(state.jobs);
    const JoinPrefetch join_prefetch(impl_->prefetch_done);
    impl_->run_jobs(state.jobs);
    for (auto& job : state.jobs) {
        if (!job.ran) {
            job.result.status = ItemStatus::skipped;
            job.result.detail = "not run: an earlier package failed";
        }
        report.items.push_back(job.result);
    }
    return report;
}

}  // namespace mip
