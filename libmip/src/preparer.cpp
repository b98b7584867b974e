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
#include "detail/convert.hpp"
#include "detail/crypto.hpp"
#include "detail/env.hpp"
#include "detail/fs.hpp"
#include "detail/git.hpp"
#include "detail/http.hpp"
#include "detail/json.hpp"
#include "detail/lock.hpp"
#include "detail/parallel.hpp"
#include "detail/process.hpp"
#include "detail/recipe_env.hpp"
#include "detail/staged_build.hpp"

namespace mip {

namespace fs = std::filesystem;
using detail::Json;

namespace {

const std::vector<const char*> pass_through_names = {
    "PATH",   "HOME",    "USER",    "USERNAME",         "LOGNAME",
    "TMPDIR", "TMP",     "TEMP",    "SYSTEMROOT",       "SYSTEMDRIVE",
    "WINDIR", "COMSPEC", "PATHEXT", "MLM_LICENSE_FILE", "LM_LICENSE_FILE"};

/// One package build scheduled in this run.
struct Job {
    fs::path recipe_dir;
    std::string recipe_file;
    std::unique_ptr<RecipeBuild> build;
    std::string wheel;
    ItemResult result;
    std::string partial;  ///< `<name>.<matlab_tag>-<abi_tag>-<platform_tag>.partial`
    std::string recipe_sha256;
    std::optional<PackageSpec> published;
    std::string cache_note;
    bool ran = false;  ///< reached by the scheduler (else: stopped by an earlier failure)
};

/// Strips `user:password@` from every URL-looking string of a document, except the verbatim
/// original recipe text (which the spec keeps byte for byte, like the recipe/ copy).
void redact_url_credentials(Json& value) {
    if (value.is_string()) {
        const auto& text = value.get_ref<const std::string&>();
        auto scheme = text.find("://");
        if (scheme != std::string::npos && text.find('@') != std::string::npos &&
            text.find_first_of(" \n") == std::string::npos) {
            value = detail::redact_url(text) + (text.find('?') != std::string::npos ? "?…" : "");
        }
        return;
    }
    if (value.is_object()) {
        for (auto it = value.begin(); it != value.end(); ++it) {
            if (it.key() != "original_recipe") {
                redact_url_credentials(it.value());
            }
        }
    } else if (value.is_array()) {
        for (auto& v : value) {
            redact_url_credentials(v);
        }
    }
}

/// `[{url, fetched_from}]` of the fetches that went through a source mirror (URL credentials
/// stripped), for the lock and build_info.json.
Json mirrored_fetches_json(const RecipeBuild& build) {
    Json out = Json::array();
    for (const auto& f : build.mirrored_fetches()) {
        out.push_back({{"url", detail::redact_url(f.url)},
                       {"fetched_from", detail::redact_url(f.fetched_from)}});
    }
    return out;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
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

/// Byte copy of a recipe directory, modes kept; `.git` skipped; a symlink or special file is a
/// SpecError naming the package and path.
void copy_recipe(const fs::path& from,
                 const fs::path& to,
                 const fs::path& root,
                 const std::string& subject) {
    detail::create_dirs(to);
    std::vector<fs::directory_entry> entries;
    std::error_code ec;
    for (fs::directory_iterator it(from, ec), end; !ec && it != end; it.increment(ec)) {
        entries.push_back(*it);
    }
    if (ec) {
        throw IoError("cannot list the recipe directory", from.string(), ec);
    }
    for (const auto& e : entries) {
        auto name = e.path().filename();
        if (name == ".git") {
            continue;
        }
        auto rel = detail::relative_generic(e.path(), root);
        auto st = e.symlink_status();
        if (fs::is_symlink(st)) {
            throw SpecError(
                subject,
                {{rel, "is a symbolic link; recipe directories must not contain symlinks"}});
        }
        if (fs::is_directory(st)) {
            copy_recipe(e.path(), to / name, root, subject);
        } else if (fs::is_regular_file(st)) {
            detail::copy_file_checked(e.path(), to / name,
                                      static_cast<unsigned>(st.permissions()) & 07777U);
        } else {
            throw SpecError(subject, {{rel, "is not a regular file or directory"}});
        }
    }
}

/// `{relative path: sha256}` of every file under `root`, bytewise path order.
Json hash_files(const fs::path& root) {
    Json out = Json::object();
    for (const auto& rel : detail::list_tree(root, true)) {
        out[rel] = detail::sha256_file_hex(root / rel);
    }
    return out;
}

/// Every difference between two JSON values, as "path: lock X, now Y" lines.
void diff_json(const Json& lock,
               const Json& now,
               const std::string& path,
               std::vector<std::string>& out) {
    if (lock.is_object() && now.is_object()) {
        for (auto it = lock.begin(); it != lock.end(); ++it) {
            auto sub = path.empty() ? it.key() : path + "." + it.key();
            if (!now.contains(it.key())) {
                out.push_back(sub + ": in the lock, missing now");
            } else {
                diff_json(it.value(), now[it.key()], sub, out);
            }
        }
        for (auto it = now.begin(); it != now.end(); ++it) {
            if (!lock.contains(it.key())) {
                out.push_back((path.empty() ? it.key() : path + "." + it.key()) +
                              ": not in the lock, now " + it.value().dump());
            }
        }
        return;
    }
    if (lock.is_array() && now.is_array() && lock.size() == now.size()) {
        for (std::size_t i = 0; i < lock.size(); ++i) {
            diff_json(lock[i], now[i], path + "[" + std::to_string(i) + "]", out);
        }
        return;
    }
    if (lock != now) {
        auto show = [](const Json& v) {
            auto text = v.dump();
            return text.size() > 200 ? text.substr(0, 200) + "..." : text;
        };
        out.push_back(path + ": lock " + show(lock) + ", now " + show(now));
    }
}

/// Records stage, command, status and stderr tail in `logs/prepare.log` of the current work dir.
class StageLog {
public:
    void set_dir(const fs::path& work) { work_ = work; }
    void begin(const std::string& stage) {
        stage_ = stage;
        append("stage " + stage);
    }
    [[nodiscard]] const std::string& stage() const { return stage_; }
    void append(const std::string& line) const {
        if (work_.empty()) {
            return;
        }
        try {
            if (created_ != work_) {
                detail::create_dirs(work_ / "logs");
                created_ = work_;
            }
            detail::append_file(work_ / "logs" / "prepare.log", line + "\n");
        } catch (const std::exception&) {  // logging must not mask the real error
        }
    }

private:
    fs::path work_;
    mutable fs::path created_;  ///< the work dir whose logs/ exists
    std::string stage_ = "start";
};

}  // namespace

struct Preparer::Impl {
    PrepareOptions options;
    std::atomic<bool> cancel{false};  ///< set when a progress callback throws: children are killed
    std::map<std::string, std::shared_ptr<RecipeKind>> kinds;  // by file name
    detail::Environment env;
    std::string host_tag;
    std::optional<Json> lock;  ///< the parsed `from_lock`
    /// Sidecars fetched for the cache check in one batch, by key (`<wheel>.mhl.mip.json`),
    /// while the workers do their local work up to the cache decision; written only by that
    /// batch and read after `prefetch_done`. A wheel whose name changes once its sources are
    /// pinned is not in here and is fetched on its own.
    std::map<std::string, GetResult> prefetched;
    std::shared_future<void> prefetch_done;
    std::once_flag toolchain_once;
    detail::Toolchain toolchain;
    /// The recipe repositories' HEAD facts, asked of git once per repository per run.
    detail::RecipeRepoCache recipe_repos;

    /// The toolchain probes (git, octave, cc, ... --version: ~0.1 s of processes) start with
    /// the run and overlap the cache check's requests.
    std::future<detail::Toolchain> toolchain_probe;
    bool toolchain_started = false;

    const detail::Toolchain& probed_toolchain() {
        std::call_once(toolchain_once, [this]() {
            toolchain =
                toolchain_probe.valid() ? toolchain_probe.get() : detail::probe_toolchain(env);
        });
        return toolchain;
    }

    std::optional<std::int64_t> explicit_epoch() const {
        if (options.source_date_epoch) {
            return options.source_date_epoch;
        }
        if (auto v = detail::env_find(env, "SOURCE_DATE_EPOCH"); v && !v->empty()) {
            return detail::parse_epoch(*v, "SOURCE_DATE_EPOCH");
        }
        return std::nullopt;
    }

    Json ci_run_url(const std::string& build_type) const {
        if (build_type == "github_actions") {
            auto server = detail::env_get(env, "GITHUB_SERVER_URL");
            auto repo = detail::env_get(env, "GITHUB_REPOSITORY");
            auto run = detail::env_get(env, "GITHUB_RUN_ID");
            if (!repo.empty() && !run.empty()) {
                return detail::redact_url(
                    (server.empty() ? std::string("https://github.com") : server) + "/" + repo +
                    "/actions/runs/" + run);
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
    detail::Environment minimal_environment(const std::string& arch,
                                            std::optional<std::int64_t> epoch) const {
        detail::Environment out;
        for (const char* name : pass_through_names) {
            if (auto v = detail::env_find(env, name)) {
                out[name] = *v;
            }
        }
        for (const auto& name : options.pass_env) {  // --pass-env (checked: no credentials)
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

    std::optional<PackageSpec> fetch_published(const std::string& wheel, std::string& note) const {
        std::string text;
        std::string key = wheel + ".mhl.mip.json";
        if (options.store != nullptr) {
            if (prefetch_done.valid()) {
                prefetch_done.get();  // rethrows if the batch itself failed
            }
            if (auto it = prefetched.find(key); it != prefetched.end()) {
                if (it->second.error) {
                    std::rethrow_exception(it->second.error);
                }
                if (!it->second.found) {
                    note = "not published";
                    return std::nullopt;
                }
                return PackageSpec::from_json_unchecked(it->second.data, key);
            }
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
                throw NetworkError("cache check GET returned HTTP " + std::to_string(r.status),
                                   base + "/" + key);
            }
            text = std::move(r.body);
        } else {
            note = "no store to compare with";
            return std::nullopt;
        }
        return PackageSpec::from_json_unchecked(text, key);
    }

    /// The lock's value for `key`, or null.
    Json lock_value(const std::string& key) const {
        return lock && lock->contains(key) ? (*lock)[key] : Json(nullptr);
    }

    void run_prescript(const fs::path& work,
                       const std::string& arch,
                       StageLog& log,
                       Json& prescript_entry) const {
        auto name = "prescript." + arch + ".sh";
        auto script = work / "recipe" / name;
        if (!fs::is_regular_file(script)) {
            prescript_entry = nullptr;
            return;
        }
        prescript_entry = {{"name", name}, {"sha256", detail::sha256_file_hex(script)}};
        detail::ProcessOptions p;
        p.argv = {"bash", name};
        p.cwd = work / "recipe";
        p.env = detail::git_environment(minimal_environment(arch, explicit_epoch()));
        p.log_file = work / "logs" / "prescript.log";
        p.timeout = std::chrono::seconds(options.recipe_timeout_seconds);
        detail::create_dirs(work / "logs");
        log.append("command: bash " + name + " (cwd recipe/)");
        detail::ProcessResult r;
        try {
            r = detail::run_process(p);
        } catch (const IoError& e) {
            throw BuildError("", "stage prescript: cannot run bash " + name + ": " + e.what());
        }
        log.append("status: " + r.status_text());
        if (!r.ok()) {
            throw BuildError("", "stage prescript: " + name + " failed (" + r.status_text() +
                                     "): " + detail::tail_lines(r.output, 10));
        }
    }

    /// Re-reads the recipe from the work area's copy (after a prescript) and picks this build.
    std::unique_ptr<RecipeBuild> reload(const Job& job, const fs::path& recipe_copy) const {
        RecipeContext rctx;
        rctx.recipe_dir = recipe_copy;
        rctx.build_type = options.build_type;
        rctx.host_platform_tag = host_tag;
        rctx.cache_dir = fs::absolute(options.cache_dir);
        rctx.environment = env;
        rctx.logger = options.logger;
        rctx.pass_env = options.pass_env;
        const auto& want = job.build->spec();
        for (auto& b : kinds.at(job.recipe_file)->load(rctx)) {
            const auto& s = b->spec();
            if (s.name == want.name && s.matlab_tag == want.matlab_tag &&
                s.abi_tag == want.abi_tag && s.platform_tag == want.platform_tag) {
                return std::move(b);
            }
        }
        throw SpecError(want.name + ": " + job.recipe_file,
                        {{"", "the build " + job.partial + " is gone after the prescript ran"}});
    }

    /// Runs every stage of one build (prepare-stages §2–§3.12).
    void run(Job& job) {
        auto t0 = std::chrono::steady_clock::now();
        auto out_dir = fs::absolute(options.output_dir);
        const auto arch = job.build->spec().platform_tag;
        const auto package = job.build->spec().name;
        StageLog log;
        fs::path work = out_dir / job.partial;
        fs::path stage_dir;
        try {
            static const std::regex arch_pattern("^[a-z0-9_]+$");
            if (!std::regex_match(arch, arch_pattern)) {  // validated before any write
                throw SpecError(package,
                                {{"platform_tag", "'" + arch + "' must match ^[a-z0-9_]+$"}});
            }
            detail::create_dirs(out_dir);
            detail::remove_tree(work);  // a stale .partial
            detail::create_dirs(work);
            log.set_dir(work);

            // §2: the recipe copy.
            log.begin("recipe");
            auto recipe_copy = work / "recipe";
            copy_recipe(job.recipe_dir, recipe_copy, job.recipe_dir,
                        package + ": recipe directory");
            Json input_files = hash_files(recipe_copy);
            if (lock) {
                std::vector<std::string> diffs;
                diff_json(lock_value("recipe_input_files"), input_files, "recipe_input_files",
                          diffs);
                if (!diffs.empty()) {
                    throw LockMismatch(diffs);
                }
            }

            // §3.1: prescript.<arch>.sh, then the recipe is re-read.
            log.begin("prescript");
            Json prescript_entry;
            run_prescript(work, arch, log, prescript_entry);
            if (!prescript_entry.is_null()) {
                job.build = reload(job, recipe_copy);
            }
            Json recipe_files = hash_files(recipe_copy);
            auto* staged = dynamic_cast<detail::StagedBuild*>(job.build.get());

            // §3.3: the toolchain (probed once per run).
            log.begin("toolchain");
            const auto& tools = probed_toolchain();
            if (!tools.git || !detail::version_at_least(*tools.git, 2, 32, 0)) {
                throw BuildError(package, "stage build_info: git >= 2.32 is required (found " +
                                              tools.git.value_or("none") + ")");
            }

            // §3.5–§3.8: sources pinned (clone, resolve, tags, describe), version known.
            log.begin("sources");
            auto ctx = context_for(job, work, staged != nullptr);
            if (staged) {
                detail::StageOptions so;
                so.tag_prefix = options.tag_prefix;
                so.abbrev = options.abbrev;
                if (lock) {
                    so.locked_sources = lock_value("sources");
                }
                so.on_cloned = options.on_cloned;
                staged->set_stage_options(so);
            }
            auto& spec = job.build->mutable_spec();
            job.recipe_sha256 = detail::tree_hash(recipe_copy);
            job.build->resolve(ctx);
            {
                Json bi = Json::object();  // the published side compares build_info.recipe_sha256
                bi["recipe_sha256"] = job.recipe_sha256;
                spec.build_info_json = detail::dump_compact(bi);
            }
            auto spec_issues = spec.validate();
            if (!spec_issues.empty()) {
                throw SpecError(package + ": metadata after pinning the sources", spec_issues);
            }
            job.wheel = spec.wheel_name();
            job.result.wheel = job.wheel;
            for (const auto& n : staged ? staged->stage_notes() : std::vector<std::string>{}) {
                log.append("note: " + n);
                options.logger.info(package + ": " + n);
            }

            // The cache check, now that the version and the pins are known.
            log.begin("cache");
            if (!decide(job)) {
                detail::remove_tree(work);
                return;
            }

            // §3.2: build information: the recipe's own git provenance (not needed to skip).
            log.begin("build_info");
            auto build_type = detail::detect_build_type(env);
            std::string warning;
            auto local_source = detail::local_recipe_source(job.recipe_dir, options.abbrev, env,
                                                            warning, &recipe_repos);
            if (!warning.empty()) {
                options.logger.warning(package + ": " + warning);
                log.append("warning: " + warning);
            }
            auto recipe_source = detail::ci_recipe_source(build_type, local_source, env);

            // §2: `.partial` → `<W>.work`; the old .dir/.work of this wheel go (no stale .dir).
            log.begin("work_area");
            auto final_dir = out_dir / (job.wheel + ".dir");
            auto work_dir = out_dir / (job.wheel + ".work");
            detail::remove_tree(final_dir);
            detail::remove_tree(work_dir);
            detail::rename_path(work, work_dir);
            work = work_dir;
            log.set_dir(work);
            ctx = context_for(job, work, staged != nullptr);
            stage_dir = ctx.dir;
            detail::remove_tree(stage_dir);
            detail::create_dirs(stage_dir);

            // §3.9: script_env captured verbatim when set, dropped when unset.
            log.begin("script_env");
            Json script_env = Json::object();
            std::vector<std::string> set_names;
            Json locked_env = lock_value("script_env");
            for (const auto& name : job.build->script_env()) {
                std::optional<std::string> value;
                if (lock) {
                    if (locked_env.is_object() && locked_env.contains(name)) {
                        value = locked_env[name].get<std::string>();
                        auto now = detail::env_find(env, name);
                        if (now != value) {
                            options.logger.warning(
                                package + ": script_env " + name +
                                " differs from the environment; the lock's value is used");
                        }
                    }
                } else {
                    value = detail::env_find(env, name);
                }
                if (!value) {
                    log.append("script_env " + name + " is unset; dropped");
                    options.logger.info(package + ": script_env variable " + name +
                                        " is unset; dropped");
                    continue;
                }
                if (!detail::is_valid_utf8(*value)) {
                    throw SpecError(package + ": script_env",
                                    {{name, "the value is not valid UTF-8"}});
                }
                script_env[name] = *value;
                set_names.push_back(name);
            }
            detail::write_file_atomic(work / "script_env.json", detail::dump_pretty(script_env),
                                      false);

            // §3.10 SOURCE_DATE_EPOCH (pins known for declarative recipes; after build for others).
            auto epoch_of = [&]() -> std::pair<std::int64_t, std::string> {
                if (lock) {
                    return {lock_value("source_date_epoch").get<std::int64_t>(),
                            lock_value("epoch_source").get<std::string>()};
                }
                if (auto e = explicit_epoch()) {
                    return {*e, "SOURCE_DATE_EPOCH"};
                }
                if (auto se = job.build->source_epoch()) {
                    return {*se, "source commit"};
                }
                if (local_source.commit_time) {
                    return {*local_source.commit_time, "recipe commit"};
                }
                return {detail::newest_mtime(job.recipe_dir), "recipe mtime"};
            };
            auto [epoch, epoch_source] = epoch_of();

            // The build itself, with script_env exported.
            log.begin("build");
            for (auto it = script_env.begin(); it != script_env.end(); ++it) {
                ctx.environment[it.key()] = it.value().get<std::string>();
            }
            if (!staged) {
                ctx.environment["SOURCE_DATE_EPOCH"] = std::to_string(epoch);
            }
            job.build->build(ctx);
            if (!fs::is_regular_file(stage_dir / "load_package.m")) {
                throw BuildError(package, "the recipe left no load_package.m at the package root");
            }
            if (!fs::is_regular_file(stage_dir / "unload_package.m")) {
                throw BuildError(package,
                                 "the recipe left no unload_package.m at the package root");
            }
            std::tie(epoch, epoch_source) = epoch_of();  // Python recipes pin while building

            log.begin("metadata");
            auto info =
                detail::build_info_document(build_type, recipe_source, env, arch, epoch, tools);
            auto mirrored = mirrored_fetches_json(*job.build);
            if (!mirrored.empty()) {  // provenance: which mirror each source came from
                info["source_mirrors"] = mirrored;
            }
            detail::write_file_atomic(work / "build_info.json", detail::dump_pretty(info), false);
            fill_build_info(job, spec, recipe_source, build_type, epoch, epoch_source);
            // Late cache check for recipes whose pins are known only after building.
            if (!job.build->pinned_before_build() && job.published && !options.force && !lock &&
                compare_cached_fields(spec, *job.published).equal) {
                detail::remove_tree(stage_dir);
                job.result.status = ItemStatus::skipped;
                job.result.detail = "published metadata matches (checked after building)";
                log.append("skipped: published metadata matches (checked after building)");
                return;
            }
            auto issues = spec.validate();
            if (!issues.empty()) {
                throw SpecError(package + ": metadata after building", issues);
            }
            spec.timestamp = detail::iso8601_utc(epoch);  // from the epoch, never the clock
            spec.prepare_duration = seconds_since(t0);
            detail::write_file_atomic(stage_dir / "mip.json", spec.to_json(), false);

            // §3.11: the rendered recipe, then (§3.12) the comparison with the lock.
            log.begin("lock");
            Json doc = lock_document(job, staged, set_names, script_env, epoch, epoch_source, tools,
                                     prescript_entry, input_files, recipe_files);
            if (!mirrored.empty()) {
                doc["source_mirrors"] = mirrored;
            }
            redact_url_credentials(doc);  // the lock on disk never holds URL credentials
            if (lock) {
                compare_with_lock(doc, package);
            }
            detail::write_file_atomic(work / "mip.lock.yaml", detail::render_lock(doc, MIP_VERSION),
                                      false);

            // The one final rename.
            log.begin("rename");
            detail::rename_path(stage_dir, final_dir);
            std::error_code ignore;
            fs::remove(work / "compile.failed", ignore);  // a fresh .dir has not been compiled yet
            job.result.status = ItemStatus::done;
            job.result.path = final_dir.string();
            job.result.detail = job.cache_note.empty() ? "built" : "built (" + job.cache_note + ")";
            log.append("prepared " + job.wheel + " in " + std::to_string(seconds_since(t0)) + " s");
        } catch (...) {
            auto err = std::current_exception();
            std::error_code ignore;
            if (!stage_dir.empty()) {
                fs::remove_all(stage_dir, ignore);
            }
            if (!options.dry_run && !job.wheel.empty()) {
                fs::remove_all(out_dir / (job.wheel + ".dir"), ignore);  // no .dir after a failure
            }
            job.result.status = ItemStatus::failed;
            job.result.error_code = code_of(err);
            job.result.detail = message_of(err);
            log.append("FAILED in stage " + log.stage() + ": " + job.result.detail);
            if (options.dry_run) {
                fs::remove_all(work, ignore);
            }
        }
        job.result.seconds = seconds_since(t0);
    }

    [[nodiscard]] BuildContext context_for(const Job& job,
                                           const fs::path& work,
                                           bool staged) const {
        BuildContext ctx;
        ctx.cancel = &cancel;
        ctx.recipe_dir = work / "recipe";
        ctx.work_dir = work;
        ctx.dir = work / "stage";
        ctx.cache_dir = fs::absolute(options.cache_dir);
        ctx.build_type = options.build_type;
        // Declarative builds run only isolated git. Python recipe code keeps this process's
        // environment (its worker needs PYTHONPATH, proxies...; recipe_python.cpp owns that
        // isolation) with script_env and TOOLCHAIN_ARCH/SOURCE_DATE_EPOCH/TZ set on top; the
        // prescript and the compile stage get the minimal §3.9 environment.
        ctx.environment = env;
        if (!staged) {
            for (auto& [k, v] :
                 minimal_environment(job.build->spec().platform_tag, explicit_epoch())) {
                if (k == "TZ" || k == "TOOLCHAIN_ARCH" || k == "SOURCE_DATE_EPOCH") {
                    ctx.environment[k] = v;
                }
            }
        }
        ctx.timeout_seconds = options.recipe_timeout_seconds;
        ctx.ca_file = options.ca_file;
        ctx.logger = options.logger;
        ctx.source_mirrors = options.source_mirrors;
        ctx.pass_env = options.pass_env;
        ctx.original_recipe_dir = job.recipe_dir;
        return ctx;
    }

    /// The cache decision: true = build. Fills status for skips and dry runs.
    bool decide(Job& job) {
        auto& spec = job.build->mutable_spec();
        if (lock) {
            job.cache_note = "--from-lock";
        } else if (options.force) {
            job.cache_note = "--force";
        } else {
            try {
                job.published = fetch_published(job.wheel, job.cache_note);
            } catch (const std::exception& e) {
                options.logger.warning(spec.name +
                                       ": cache check failed, building anyway: " + e.what());
                job.cache_note = "cache check failed";
            }
            if (job.published) {
                auto cmp = compare_cached_fields(spec, *job.published);
                if (cmp.equal && job.build->pinned_before_build()) {
                    job.result.status = ItemStatus::skipped;
                    job.result.detail = job.cache_note = "published metadata matches";
                    return false;
                }
                job.cache_note =
                    cmp.equal ? "published metadata matches so far (sources pinned after building)"
                              : "published '" + cmp.first_difference + "' differs";
            }
        }
        if (options.dry_run) {
            job.result.status = ItemStatus::planned;
            job.result.detail =
                "would build (" +
                (job.cache_note.empty() ? std::string("no published metadata") : job.cache_note) +
                ")";
            return false;
        }
        return true;
    }

    void fill_build_info(Job& job,
                         PackageSpec& spec,
                         const detail::RecipeSource& source,
                         const std::string& build_type,
                         std::int64_t epoch,
                         const std::string& epoch_source) const {
        Json previous =
            spec.build_info_json.empty() ? Json::object() : Json::parse(spec.build_info_json);
        Json bi = Json::object();  // §3 order
        bi["source_date_epoch"] = epoch;
        bi["epoch_source"] = epoch_source;
        bi["recipe_sha256"] = job.recipe_sha256;
        bi["recipe_repository"] = source.repo ? Json(*source.repo) : Json(nullptr);
        bi["recipe_commit"] = source.commit ? Json(*source.commit) : Json(nullptr);
        bi["build_type"] = options.build_type;
        bi["builder"] = std::string("libmip ") + MIP_VERSION;
        bi["host_platform"] = host_tag;
        bi["ci"] = build_type;
        bi["ci_run_url"] = ci_run_url(build_type);
        bi["compile_engine"] = previous.value("compile_engine", Json(nullptr));
        for (auto it = previous.begin(); it != previous.end(); ++it) {
            if (!bi.contains(it.key())) {
                bi[it.key()] = it.value();
            }
        }
        spec.build_info_json = detail::dump_compact(bi);
    }

    Json lock_document(const Job& job,
                       detail::StagedBuild* staged,
                       const std::vector<std::string>& set_names,
                       const Json& script_env,
                       std::int64_t epoch,
                       const std::string& epoch_source,
                       const detail::Toolchain& tc,
                       const Json& prescript_entry,
                       const Json& input_files,
                       const Json& recipe_files) const {
        const auto& spec = job.build->spec();
        Json doc = Json::object();
        doc["lock_version"] = 1;
        doc["package"] = {
            {"name", spec.name},
            {"version", spec.version},
            {"version_source", staged ? staged->version_source() : std::string("recipe")},
            {"build_number", spec.build_number},
            {"matlab_tag", spec.matlab_tag},
            {"abi_tag", spec.abi_tag},
            {"platform_tag", spec.platform_tag}};
        if (staged) {
            doc["recipe"] = staged->resolved_recipe(set_names);
            doc["sources"] = staged->lock_sources();
        } else {
            doc["recipe"] = {{"name", spec.name},
                             {"version", spec.version},
                             {"build_number", spec.build_number},
                             {"script_env", set_names}};
            Json sources = Json::array();
            if (!spec.source_json.empty()) {
                auto src = Json::parse(spec.source_json);
                if (src.value("type", std::string()) == "multiple" && src.contains("items")) {
                    sources = src["items"];
                } else if (!src.is_null()) {
                    sources.push_back(src);
                }
            }
            doc["sources"] = sources;
        }
        doc["script_env"] = script_env;
        doc["source_date_epoch"] = epoch;
        doc["epoch_source"] = epoch_source;
        doc["toolchain"] = detail::toolchain_json(tc);
        Json git_config = Json::object();
        for (const auto& [k, v] : detail::forced_git_config()) {
            git_config[k] = v;
        }
        doc["git_config"] = git_config;
        doc["prescript"] = prescript_entry;
        doc["recipe_input_files"] = input_files;
        doc["recipe_files"] = recipe_files;
        auto text = detail::read_file(job.recipe_dir / job.recipe_file);
        doc["original_recipe"] = {
            {"path", job.recipe_file}, {"sha256", detail::sha256_hex(text)}, {"text", text}};
        return doc;
    }

    /// §3.12: every difference from the lock is a LockMismatch; toolchain ones warn unless strict.
    void compare_with_lock(const Json& doc, const std::string& package) const {
        std::vector<std::string> diffs;
        std::vector<std::string> toolchain_diffs;
        for (auto it = lock->begin(); it != lock->end(); ++it) {
            if (it.key() == "source_mirrors") {
                continue;
            }
            if (!doc.contains(it.key())) {
                diffs.push_back(it.key() + ": in the lock, missing now");
                continue;
            }
            diff_json(it.value(), doc[it.key()], it.key(),
                      it.key() == "toolchain" ? toolchain_diffs : diffs);
        }
        // Fetching through a mirror (or not) changes no byte: a difference is only logged.
        Json locked_mirrors = lock->contains("source_mirrors") ? (*lock)["source_mirrors"] : Json();
        Json now_mirrors = doc.contains("source_mirrors") ? doc["source_mirrors"] : Json();
        if (locked_mirrors != now_mirrors) {
            options.logger.info(package +
                                ": the sources were fetched through other mirrors than "
                                "when the lock was made");
        }
        for (const auto& d : toolchain_diffs) {
            if (options.strict_toolchain) {
                diffs.push_back(d);
            } else {
                options.logger.warning(package + ": toolchain differs from the lock: " + d);
            }
        }
        if (!diffs.empty()) {
            throw LockMismatch(diffs);
        }
    }
};

Preparer::Preparer(PrepareOptions options) : impl_(std::make_unique<Impl>()) {
    impl_->options = std::move(options);
    add_recipe_kind(make_yaml_recipe_kind());
    auto py = make_python_recipe_kind(impl_->options.python);
    add_recipe_kind(py);
    add_recipe_kind(make_python_packages_recipe_kind(impl_->options.python));
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
    if (!impl_->toolchain_started) {
        impl_->toolchain_started = true;
        impl_->toolchain_probe = std::async(
            std::launch::async, [env = impl_->env] { return detail::probe_toolchain(env); });
    }
    StageReport report;
    report.stage = "prepare";
    report.dry_run = o.dry_run;
    impl_->lock.reset();
    if (o.abbrev < 7 || o.abbrev > 40) {
        throw SpecError("--abbrev", {{"abbrev", std::to_string(o.abbrev) + " is outside 7-40"}});
    }
    detail::check_pass_env(o.pass_env);
    std::vector<fs::path> dirs;
    fs::path recipes_dir;
    Json locked_package;
    if (!o.from_lock.empty()) {
        // --from-lock: exactly the build the lock records, from one recipe directory.
        auto lock_path = fs::absolute(o.from_lock).lexically_normal();
        impl_->lock = detail::parse_lock(detail::read_file(lock_path), lock_path.string());
        const auto& lk = *impl_->lock;
        if (lk.value("lock_version", Json(0)) != Json(1) || !lk.contains("package") ||
            !lk["package"].is_object() || !lk.contains("source_date_epoch") ||
            !lk["source_date_epoch"].is_number_integer()) {
            throw SpecError(lock_path.string(),
                            {{"lock_version", "is not a version 1 mip.lock.yaml"}});
        }
        locked_package = lk["package"];
        auto dir = o.lock_recipe_dir.empty() ? lock_path.parent_path() / "recipe"
                                             : fs::absolute(o.lock_recipe_dir);
        dir = dir.lexically_normal();
        if (!fs::is_directory(dir)) {
            throw IoError("recipe directory does not exist", dir.string());
        }
        recipes_dir = dir.parent_path();
        dirs.push_back(dir);
    } else {
        recipes_dir = fs::absolute(o.recipes_dir).lexically_normal();
        if (!fs::is_directory(recipes_dir)) {
            throw IoError("recipes directory does not exist", recipes_dir.string());
        }
        for (const auto& e : fs::directory_iterator(recipes_dir)) {
            if (e.is_directory() && e.path().filename().string()[0] != '.') {
                dirs.push_back(e.path());
            }
        }
        std::sort(dirs.begin(), dirs.end());
    }
    std::map<std::string, std::string> partials_seen;

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
            item.detail = dir_name + ": holds more than one recipe file (" + present[0] + ", " +
                          present[1] + ")";
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
        rctx.pass_env = o.pass_env;
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
            if (impl_->lock &&
                (spec.name != locked_package.value("name", std::string()) ||
                 spec.matlab_tag != locked_package.value("matlab_tag", std::string()) ||
                 spec.abi_tag != locked_package.value("abi_tag", std::string()) ||
                 spec.platform_tag != locked_package.value("platform_tag", std::string()))) {
                continue;
            }
            Job job;
            job.recipe_dir = dir;
            job.recipe_file = present[0];
            job.wheel = spec.wheel_name();
            job.partial = spec.name + "." + spec.matlab_tag + "-" + spec.abi_tag + "-" +
                          spec.platform_tag + ".partial";
            job.result.package = spec.name;
            job.result.wheel = job.wheel;
            if (auto [it, inserted] = wheels_seen.emplace(job.wheel, dir_name); !inserted) {
                job.result.status = ItemStatus::failed;
                job.result.error_code = ErrorCode::invalid_spec;
                job.result.detail =
                    job.wheel + " is built by both " + it->second + " and " + dir_name;
                jobs.push_back(std::move(job));
                continue;
            }
            if (auto [it, inserted] = partials_seen.emplace(job.partial, dir_name); !inserted) {
                job.result.status = ItemStatus::failed;
                job.result.error_code = ErrorCode::invalid_spec;
                job.result.detail = spec.name + " with tags " + spec.matlab_tag + "-" +
                                    spec.abi_tag + "-" + spec.platform_tag +
                                    " is built twice in one run (" + it->second + " and " +
                                    dir_name + " would share the work area " + job.partial + ")";
                jobs.push_back(std::move(job));
                continue;
            }
            job.build = std::move(b);
            jobs.push_back(std::move(job));
        }
    }
    if (impl_->lock && jobs.empty()) {
        throw LockMismatch({"package: the recipe in " + dirs.front().string() + " has no build " +
                            locked_package.value("name", std::string()) +
                            " with the locked tags for build type " + o.build_type});
    }
    for (const auto& w : wanted) {
        if (matched.count(w) == 0) {
            throw SpecError("--package",
                            {{"package", "'" + w + "' matches no recipe directory or package in " +
                                             recipes_dir.string()}});
        }
    }

    // The cache check's reads, all at once: one batch over the store's connections instead of
    // one round trip per package inside the workers.
    impl_->prefetched.clear();  // nothing from an earlier prepare() of this Preparer
    if (o.store != nullptr && !o.force && !impl_->lock) {
        std::vector<GetRequest> requests;
        std::set<std::string> keys;
        for (const auto& job : jobs) {
            if (job.build && keys.insert(job.wheel + ".mhl.mip.json").second) {
                requests.push_back({job.wheel + ".mhl.mip.json", {}});
            }
        }
        if (!requests.empty()) {
            // On its own thread: the workers copy and hash recipes and pin sources meanwhile,
            // and wait for it only at their cache decision.
            impl_->prefetch_done =
                std::async(std::launch::async, [impl = impl_.get(), store = o.store,
                                                requests = std::move(requests)] {
                    BatchOptions batch;
                    batch.stage = "prepare:cache";
                    auto got = store->get_many(requests, batch);
                    for (std::size_t i = 0; i < got.size() && i < requests.size(); ++i) {
                        impl->prefetched.emplace(requests[i].key, std::move(got[i]));
                    }
                }).share();
        }
    }
    // Never return (or throw) while the batch still runs: it writes into this run's state.
    struct JoinPrefetch {
        std::shared_future<void>& done;
        ~JoinPrefetch() {
            if (done.valid()) {
                done.wait();
            }
            done = {};
        }
    } join_prefetch{impl_->prefetch_done};

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
    impl_->cancel.store(false);
    popt.cancel = &impl_->cancel;
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
            impl_->run(job);
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
            o.logger.info(job.wheel + ": " + to_string(job.result.status) + " — " +
                          job.result.detail);
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
