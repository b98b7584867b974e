// The Preparer's work on one build (prepare-stages §2–§3.12): `Preparer::Impl::run` calls one
// function per stage, in order; each records its name in the build's prepare.log first.

#include <regex>

#include <mip/error.hpp>

#include "detail/build_info_access.hpp"
#include "detail/convert.hpp"
#include "detail/crypto.hpp"
#include "detail/fs.hpp"
#include "detail/git.hpp"
#include "detail/http.hpp"
#include "detail/lock.hpp"
#include "detail/package_layout.hpp"
#include "detail/process.hpp"
#include "detail/text.hpp"
#include "preparer_impl.hpp"

namespace mip {

using namespace prepare;  // NOLINT(google-build-using-namespace): this file implements it

/// `[{url, fetched_from}]` of the fetches that went through a source mirror (URL credentials
/// stripped), for the lock and build_info.json.
Json prepare::mirrored_fetches_json(const RecipeBuild& build) {
    Json out = Json::array();
    for (const auto& f : build.mirrored_fetches()) {
        out.push_back({{"url", detail::redact_url(f.url)},
                       {"fetched_from", detail::redact_url(f.fetched_from)}});
    }
    return out;
}

/// Strips `user:password@` from every URL-looking string of a document, except the verbatim
/// original recipe text (which the spec keeps byte for byte, like the recipe/ copy).
void prepare::redact_url_credentials(Json& value) {
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

double prepare::seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

/// Byte copy of a recipe directory, modes kept; `.git` skipped; a symlink or special file is a
/// SpecError naming the package and path.
// NOLINTNEXTLINE(bugprone-easily-swappable-parameters): from, to
void prepare::copy_recipe(const fs::path& from,
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
Json prepare::hash_files(const fs::path& root) {
    Json out = Json::object();
    for (const auto& rel : detail::list_tree(root, true)) {
        out[rel] = detail::sha256_file_hex(root / rel);
    }
    return out;
}

/// Every difference between two JSON values, as "path: lock X, now Y" lines.
void prepare::diff_json(const Json& lock,
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

void Preparer::Impl::run_prescript(const fs::path& work,
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
    p.timeout = std::chrono::seconds(options.recipe_timeout);
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
std::unique_ptr<RecipeBuild> Preparer::Impl::reload(const Job& job,
                                                    const fs::path& recipe_copy) const {
    const auto& want = job.build->spec();
    for (auto& b : kinds.at(job.recipe_file)->load(recipe_context(recipe_copy))) {
        const auto& s = b->spec();
        if (s.name == want.name && s.matlab_tag == want.matlab_tag && s.abi_tag == want.abi_tag &&
            s.platform_tag == want.platform_tag) {
            return std::move(b);
        }
    }
    throw SpecError(want.name + ": " + job.recipe_file,
                    {{"", "the build " + job.partial + " is gone after the prescript ran"}});
}

BuildRun::BuildRun(const Job& job, fs::path out)
    : out_dir(std::move(out)),
      arch(job.build->spec().platform_tag),
      package(job.build->spec().name),
      work(out_dir / job.partial) {}

void Preparer::Impl::run(Job& job) {
    if (run_options.dry_run) {
        plan(job);
        return;
    }
    BuildRun r(job, fs::absolute(options.output_dir));
    try {
        stage_partial(job, r);
        stage_recipe(job, r);
        stage_prescript(job, r);
        stage_toolchain(r);
        stage_sources(job, r);
        // The cache check, now that the version and the pins are known.
        r.log.begin("cache");
        if (!decide(job)) {
            detail::remove_tree(r.work);
            return;
        }
        stage_build_info(job, r);
        stage_work_area(job, r);
        stage_script_env(job, r);
        std::tie(r.epoch, r.epoch_source) = epoch_of(job, r);
        stage_build(job, r);
        if (!stage_metadata(job, r)) {
            return;
        }
        stage_lock(job, r);
        stage_rename(job, r);
    } catch (...) {
        fail_build(job, r);
    }
    job.result.seconds = seconds_since(r.t0);
}

/// `--dry-run` changes nothing and fetches nothing but metadata: the recipe is copied and
/// hashed in a private temporary directory (nothing is written under the build directory),
/// `path` sources are hashed where they are, and the published sidecar is read. A prescript is
/// recipe code and is not run, and `download_zip`/`clone_git` sources are not fetched: such a
/// package is planned, with what the real run would pin named.
void Preparer::Impl::plan(Job& job) {
    const detail::TempDir tmp(fs::temp_directory_path(), "mip-dry-run-");
    BuildRun r(job, tmp.path());
    try {
        stage_partial(job, r);
        stage_recipe(job, r);
        std::string unpinned;
        r.staged = dynamic_cast<detail::StagedBuild*>(job.build.get());
        if (fs::is_regular_file(r.recipe_copy / ("prescript." + r.arch + ".sh"))) {
            unpinned = "its prescript is not run in a dry run";
        } else if (r.staged != nullptr && r.staged->fetches_to_pin()) {
            unpinned = "its sources are not fetched in a dry run";
        }
        if (unpinned.empty()) {
            stage_toolchain(r);
            stage_sources(job, r);
            r.log.begin("cache");
            (void)decide(job);
        } else {
            try {
                job.published = fetch_published(job.build->spec(), job.cache_note);
            } catch (const std::exception& e) {
                job.cache_note = std::string("cache check failed: ") + e.what();
            }
            job.result.status = ItemStatus::planned;
            job.result.detail =
                job.published ? "would build unless its pinned sources match the published ones (" +
                                    unpinned + ")"
                              : "would build (not published; " + unpinned + ")";
        }
    } catch (...) {
        fail_build(job, r);
    }
    job.result.seconds = seconds_since(r.t0);
}

/// §2: a fresh `<name>.<tags>.partial` work area (the platform tag checked before any write).
void Preparer::Impl::stage_partial(Job& job, BuildRun& r) const {
    (void)job;
    static const std::regex arch_pattern("^[a-z0-9_]+$");
    if (!std::regex_match(r.arch, arch_pattern)) {  // validated before any write
        throw SpecError(r.package, {{"platform_tag", "'" + r.arch + "' must match ^[a-z0-9_]+$"}});
    }
    detail::create_dirs(r.out_dir);
    detail::remove_tree(r.work);  // a stale .partial
    detail::create_dirs(r.work);
    r.log.set_dir(r.work);
}

/// §2: the recipe copy.
void Preparer::Impl::stage_recipe(Job& job, BuildRun& r) const {
    r.log.begin("recipe");
    r.recipe_copy = r.work / "recipe";
    copy_recipe(job.recipe_dir, r.recipe_copy, job.recipe_dir, r.package + ": recipe directory");
    r.input_files = hash_files(r.recipe_copy);
    if (lock) {
        std::vector<std::string> diffs;
        diff_json(lock_value("recipe_input_files"), r.input_files, "recipe_input_files", diffs);
        if (!diffs.empty()) {
            throw LockMismatch(diffs);
        }
    }
}

/// §3.1: prescript.<arch>.sh, then the recipe is re-read.
void Preparer::Impl::stage_prescript(Job& job, BuildRun& r) const {
    r.log.begin("prescript");
    run_prescript(r.work, r.arch, r.log, r.prescript_entry);
    if (!r.prescript_entry.is_null()) {
        job.build = reload(job, r.recipe_copy);
    }
    r.recipe_files = hash_files(r.recipe_copy);
    r.staged = dynamic_cast<detail::StagedBuild*>(job.build.get());
}

/// §3.3: the toolchain (probed once per run).
void Preparer::Impl::stage_toolchain(BuildRun& r) {
    r.log.begin("toolchain");
    r.tools = &probed_toolchain();
    if (!r.tools->git || !detail::version_at_least(*r.tools->git, 2, 32, 0)) {
        throw BuildError(r.package, "stage build_info: git >= 2.32 is required (found " +
                                        r.tools->git.value_or("none") + ")");
    }
}

/// §3.5–§3.8: sources pinned (clone, resolve, tags, describe), version known.
void Preparer::Impl::stage_sources(Job& job, BuildRun& r) {
    r.log.begin("sources");
    r.ctx = context_for(job, r.work, r.staged != nullptr);
    if (run_options.dry_run) {  // only its parent is read (path sources exclude the output dir)
        r.ctx.work_dir = fs::absolute(options.output_dir) / job.partial;
    }
    if (r.staged) {
        detail::StageOptions so;
        so.tag_prefix = options.tag_prefix;
        so.abbrev = options.abbrev;
        if (lock) {
            so.locked_sources = lock_value("sources");
        }
        so.on_cloned = options.on_cloned;
        r.staged->set_stage_options(so);
    }
    auto& spec = job.build->mutable_spec();
    job.recipe_sha256 = detail::tree_hash(r.recipe_copy);
    job.build->resolve(r.ctx);
    {
        Json bi = Json::object();  // the published side compares build_info.recipe_sha256
        bi["recipe_sha256"] = job.recipe_sha256;
        spec.build_info = detail::BuildInfoAccess::make(std::move(bi));
    }
    auto spec_issues = spec.validate();
    if (!spec_issues.empty()) {
        throw SpecError(r.package + ": metadata after pinning the sources", spec_issues);
    }
    job.wheel = spec.wheel_name();
    job.result.wheel = job.wheel;
    for (const auto& n : r.staged ? r.staged->stage_notes() : std::vector<std::string>{}) {
        r.log.append("note: " + n);
        run_options.logger.info(r.package + ": " + n);
    }
}

/// §3.2: build information: the recipe's own git provenance (not needed to skip).
void Preparer::Impl::stage_build_info(Job& job, BuildRun& r) {
    r.log.begin("build_info");
    r.build_type = detail::detect_build_type(env);
    std::string warning;
    r.local_source =
        detail::local_recipe_source(job.recipe_dir, options.abbrev, env, warning, &recipe_repos);
    if (!warning.empty()) {
        run_options.logger.warning(r.package + ": " + warning);
        r.log.append("warning: " + warning);
    }
    r.recipe_source = detail::ci_recipe_source(r.build_type, r.local_source, env);
}

/// §2: `.partial` → `<W>.work`; the old .dir/.work of this wheel go (no stale .dir).
void Preparer::Impl::stage_work_area(Job& job, BuildRun& r) const {
    r.log.begin("work_area");
    r.final_dir = r.out_dir / (job.wheel + ".dir");
    auto work_dir = r.out_dir / (job.wheel + ".work");
    detail::remove_tree(r.final_dir);
    detail::remove_tree(work_dir);
    detail::rename_path(r.work, work_dir);
    r.work = work_dir;
    r.log.set_dir(r.work);
    r.ctx = context_for(job, r.work, r.staged != nullptr);
    r.stage_dir = r.ctx.dir;
    detail::remove_tree(r.stage_dir);
    detail::create_dirs(r.stage_dir);
}

/// §3.9: script_env captured verbatim when set, dropped when unset.
void Preparer::Impl::stage_script_env(Job& job, BuildRun& r) const {
    r.log.begin("script_env");
    Json locked_env = lock_value("script_env");
    for (const auto& name : job.build->script_env()) {
        std::optional<std::string> value;
        if (lock) {
            if (locked_env.is_object() && locked_env.contains(name)) {
                value = locked_env[name].get<std::string>();
                auto now = detail::env_find(env, name);
                if (now != value) {
                    run_options.logger.warning(
                        r.package + ": script_env " + name +
                        " differs from the environment; the lock's value is used");
                }
            }
        } else {
            value = detail::env_find(env, name);
        }
        if (!value) {
            r.log.append("script_env " + name + " is unset; dropped");
            run_options.logger.info(r.package + ": script_env variable " + name +
                                    " is unset; dropped");
            continue;
        }
        if (!detail::is_valid_utf8(*value)) {
            throw SpecError(r.package + ": script_env", {{name, "the value is not valid UTF-8"}});
        }
        r.script_env[name] = *value;
        r.set_names.push_back(name);
    }
    detail::write_file_atomic(r.work / "script_env.json", detail::dump_pretty(r.script_env), false);
}

/// §3.10 SOURCE_DATE_EPOCH (pins known for declarative recipes; after build for others).
std::pair<std::int64_t, std::string> Preparer::Impl::epoch_of(const Job& job,
                                                              const BuildRun& r) const {
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
    if (r.local_source.commit_time) {
        return {*r.local_source.commit_time, "recipe commit"};
    }
    return {detail::newest_mtime(job.recipe_dir), "recipe mtime"};
}

/// The build itself, with script_env exported.
void Preparer::Impl::stage_build(Job& job, BuildRun& r) const {
    r.log.begin("build");
    for (auto it = r.script_env.begin(); it != r.script_env.end(); ++it) {
        r.ctx.environment[it.key()] = it.value().get<std::string>();
    }
    if (!r.staged) {
        r.ctx.environment["SOURCE_DATE_EPOCH"] = std::to_string(r.epoch);
    }
    job.build->build(r.ctx);
    if (!fs::is_regular_file(r.stage_dir / "load_package.m")) {
        throw BuildError(r.package, "the recipe left no load_package.m at the package root");
    }
    if (!fs::is_regular_file(r.stage_dir / "unload_package.m")) {
        throw BuildError(r.package, "the recipe left no unload_package.m at the package root");
    }
    std::tie(r.epoch, r.epoch_source) = epoch_of(job, r);  // Python recipes pin while building
}

/// build_info.json and mip.json; false when the late cache check skips the package.
bool Preparer::Impl::stage_metadata(Job& job, BuildRun& r) const {
    r.log.begin("metadata");
    auto& spec = job.build->mutable_spec();
    auto info =
        detail::build_info_document(r.build_type, r.recipe_source, env, r.arch, r.epoch, *r.tools);
    r.mirrored = mirrored_fetches_json(*job.build);
    if (!r.mirrored.empty()) {  // provenance: which mirror each source came from
        info["source_mirrors"] = r.mirrored;
    }
    detail::write_file_atomic(r.work / "build_info.json", detail::dump_pretty(info), false);
    fill_build_info(job, spec, r.recipe_source, r.build_type, r.epoch, r.epoch_source);
    // Late cache check for recipes whose pins are known only after building.
    if (!job.build->pinned_before_build() && job.published && !options.force && !lock &&
        compare_cached_fields(spec, *job.published).equal) {
        detail::remove_tree(r.stage_dir);
        job.result.status = ItemStatus::skipped;
        job.result.detail = "published metadata matches (checked after building)";
        r.log.append("skipped: published metadata matches (checked after building)");
        return false;
    }
    auto issues = spec.validate();
    if (!issues.empty()) {
        throw SpecError(r.package + ": metadata after building", issues);
    }
    spec.timestamp = detail::iso8601_utc(r.epoch);  // from the epoch, never the clock
    spec.prepare_duration = seconds_since(r.t0);
    detail::write_file_atomic(r.stage_dir / "mip.json", spec.to_json(), false);
    return true;
}

/// §3.11: the rendered recipe, then (§3.12) the comparison with the lock.
void Preparer::Impl::stage_lock(Job& job, BuildRun& r) const {
    r.log.begin("lock");
    Json doc = lock_document(job, r.staged, r.set_names, r.script_env, r.epoch, r.epoch_source,
                             *r.tools, r.prescript_entry, r.input_files, r.recipe_files);
    if (!r.mirrored.empty()) {
        doc["source_mirrors"] = r.mirrored;
    }
    redact_url_credentials(doc);  // the lock on disk never holds URL credentials
    if (lock) {
        compare_with_lock(doc, r.package);
    }
    detail::write_file_atomic(r.work / "mip.lock.yaml", detail::render_lock(doc, MIP_VERSION),
                              false);
}

/// The one final rename.
void Preparer::Impl::stage_rename(Job& job, BuildRun& r) const {
    r.log.begin("rename");
    detail::rename_path(r.stage_dir, r.final_dir);
    std::error_code ignore;
    fs::remove(r.work / "compile.failed", ignore);  // a fresh .dir has not been compiled yet
    job.result.status = ItemStatus::done;
    job.result.path = r.final_dir.string();
    job.result.detail = job.cache_note.empty() ? "built" : "built (" + job.cache_note + ")";
    r.log.append("prepared " + job.wheel + " in " + std::to_string(seconds_since(r.t0)) + " s");
}

/// After any stage threw: nothing half-built stays, the item says which stage failed.
void Preparer::Impl::fail_build(Job& job, BuildRun& r) const {
    auto err = std::current_exception();
    std::error_code ignore;
    if (!r.stage_dir.empty()) {
        fs::remove_all(r.stage_dir, ignore);
    }
    if (!run_options.dry_run && !job.wheel.empty()) {
        fs::remove_all(r.out_dir / (job.wheel + ".dir"), ignore);  // no .dir after a failure
    }
    job.result.status = ItemStatus::failed;
    job.result.error_code = code_of(err);
    job.result.detail = message_of(err);
    r.log.append("FAILED in stage " + r.log.stage() + ": " + job.result.detail);
    if (run_options.dry_run) {
        fs::remove_all(r.work, ignore);
    }
}

BuildContext Preparer::Impl::context_for(const Job& job, const fs::path& work, bool staged) const {
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
        for (auto& [k, v] : minimal_environment(job.build->spec().platform_tag, explicit_epoch())) {
            if (k == "TZ" || k == "TOOLCHAIN_ARCH" || k == "SOURCE_DATE_EPOCH") {
                ctx.environment[k] = v;
            }
        }
    }
    ctx.timeout_seconds = options.recipe_timeout;
    ctx.ca_file = run_options.ca_file;
    ctx.logger = run_options.logger;
    ctx.source_mirrors = options.source_mirror;
    ctx.pass_env = run_options.pass_env;
    ctx.original_recipe_dir = job.recipe_dir;
    ctx.archive_limits = {options.max_download_mib, options.max_extract_mib,
                          options.max_archive_entries, options.max_compression_ratio};
    ctx.require_https = options.require_https;
    return ctx;
}

/// The cache decision: true = build. Fills status for skips and dry runs.
bool Preparer::Impl::decide(Job& job) {
    auto& spec = job.build->mutable_spec();
    if (lock) {
        job.cache_note = "--from-lock";
    } else if (options.force) {
        job.cache_note = "--force";
    } else {
        try {
            job.published = fetch_published(job.build->spec(), job.cache_note);
        } catch (const std::exception& e) {
            run_options.logger.warning(spec.name +
                                       ": cache check failed, building anyway: " + e.what());
            job.cache_note = "cache check failed";
        }
        if (job.published) {
            auto cmp =
                detail::package_layout(run_options.format).compare_published(spec, *job.published);
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
    if (run_options.dry_run) {
        job.result.status = ItemStatus::planned;
        job.result.detail =
            "would build (" +
            (job.cache_note.empty() ? std::string("no published metadata") : job.cache_note) + ")";
        return false;
    }
    return true;
}

void Preparer::Impl::fill_build_info(Job& job,
                                     PackageSpec& spec,
                                     const detail::RecipeSource& source,
                                     const std::string& build_type,
                                     std::int64_t epoch,
                                     const std::string& epoch_source) const {
    const Json* held = detail::BuildInfoAccess::object(spec.build_info);
    Json previous = held != nullptr ? *held : Json::object();
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
    spec.build_info = detail::BuildInfoAccess::make(std::move(bi));
}

}  // namespace mip
