// Tester (tester.hpp): install each bundle into a temporary root as a client does, check its
// binaries, load and test it in the engine, check MEX coverage. One package = test_one().

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <exception>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string_view>
#include <system_error>

#include <mip/compiler.hpp>
#include <mip/error.hpp>
#include <mip/package_spec.hpp>
#include <mip/recipe.hpp>
#include <mip/tester.hpp>

#include "detail/binary_checks.hpp"
#include "detail/credentials.hpp"
#include "detail/elf.hpp"
#include "detail/engine_items.hpp"
#include "detail/env.hpp"
#include "detail/fs.hpp"
#include "detail/json.hpp"
#include "detail/process.hpp"
#include "detail/progress.hpp"
#include "detail/sandbox.hpp"
#include "detail/test_harness.hpp"
#include "detail/test_install.hpp"

namespace mip {

namespace fs = std::filesystem;
using detail::Environment;

const char* to_string(TestMode mode) noexcept {
    switch (mode) {
        case TestMode::skip:
            return "skip";
        case TestMode::native:
            return "native";
    }
    return "native";
}

Tester::Tester(TestOptions options, RunOptions run, Store* store)
    : options_(std::move(options)), run_(std::move(run)), store_(store) {}

fs::path Tester::failure_marker(const fs::path& mhl) {
    return fs::path(mhl.string() + ".test-failed");
}

namespace {

/// Variables handed through to the engine from the caller's environment.
constexpr std::array<std::string_view, 6> pass_through_names = {
    "PATH", "USER", "LOGNAME", "MLM_LICENSE_FILE", "LM_LICENSE_FILE", "DISPLAY"};

constexpr std::size_t failure_tail_lines = 20;
/// In the root: the objects the engine mapped, one path a line (the audit library appends).
const char* const loaded_objects_file = "loaded-objects.txt";

struct Candidate {
    fs::path mhl;
    std::string wheel;
    std::string package;
    std::string sha256;   ///< from the sidecar ("" when unreadable)
    std::string problem;  ///< non-empty: fails without running
};

/// Everything test_one() shares across packages.
struct Context {
    const TestOptions& options;
    const CompileEngine& engine;
    const Environment& source;
    const std::vector<std::string>& pass_env;
    std::pair<int, int> floor;
    fs::path audit;
    std::string host_tag;
    std::vector<fs::path> bundle_dirs;  ///< where dependencies are looked up, in order
    const Logger& logger;
    const std::atomic<bool>* cancel;
};

std::vector<Candidate> collect(const TestOptions& o, const RunOptions& run) {
    std::vector<Candidate> out;
    if (!fs::is_directory(o.input_dir)) {
        return out;
    }
    for (const auto& e : fs::directory_iterator(o.input_dir)) {
        const auto n = e.path().filename().string();
        if (!e.is_regular_file() || n.size() <= 4 || n.substr(n.size() - 4) != ".mhl" ||
            n[0] == '.') {
            continue;
        }
        Candidate c;
        c.mhl = fs::absolute(e.path());
        c.wheel = std::string(strip_wheel_suffix(n));
        try {
            const auto id = detail::bundle_id(n);
            if (!id) {
                throw SpecError(n, {{"",
                                     "is neither an R2 wheel name "
                                     "(<name>-<version>-<matlab>-<abi>-<platform>.mhl) nor a "
                                     "current one (<name>-<version>-<architecture>.mhl)"}});
            }
            c.package = id->name;
            const auto sidecar = fs::path(c.mhl.string() + ".mip.json");
            const auto spec = detail::read_bundle_spec(detail::read_file(sidecar), sidecar.string(),
                                                       id->format, true);
            c.sha256 = spec.mhl_sha256.value_or("");
        } catch (const std::exception& ex) {
            c.problem = ex.what();
        }
        if (!run.package.empty() &&
            std::find(run.package.begin(), run.package.end(), c.package) == run.package.end()) {
            continue;
        }
        if (run.shard && !run.shard->contains(c.package)) {
            continue;
        }
        out.push_back(std::move(c));
    }
    std::sort(out.begin(), out.end(),
              [](const Candidate& a, const Candidate& b) { return a.mhl < b.mhl; });
    return out;
}

fs::path find_audit_library(const TestOptions& o) {
    if (!o.audit_library.empty()) {
        if (!fs::is_regular_file(o.audit_library)) {
            throw SpecError("--audit-library", {{"audit_library", "'" + o.audit_library.string() +
                                                                      "' does not exist"}});
        }
        return fs::absolute(o.audit_library);
    }
    std::error_code ec;
    const fs::path program = fs::read_symlink("/proc/self/exe", ec);
    const fs::path relocated =
        ec ? fs::path() : program.parent_path().parent_path() / MIP_LDAUDIT_RELATIVE;
    for (const fs::path& p :
         {fs::path(MIP_LDAUDIT_INSTALLED), relocated, fs::path(MIP_LDAUDIT_BUILD)}) {
        if (!p.empty() && fs::is_regular_file(p, ec)) {
            return p;
        }
    }
    throw SpecError("--audit-library", {{"audit_library", "mip_ldaudit.so was found neither at " +
                                                              std::string(MIP_LDAUDIT_INSTALLED) +
                                                              " nor at " + MIP_LDAUDIT_BUILD}});
}

/// The engine's environment: pass-through names, HOME/TMPDIR inside the root, the audit hook.
Environment test_environment(const Context& ctx, const fs::path& root) {
    Environment env;
    auto pass = [&](const std::string& name) {
        if (auto value = detail::env_find(ctx.source, name)) {
            env[name] = *value;
        }
    };
    for (auto name : pass_through_names) {
        pass(std::string(name));
    }
    for (const auto& name : ctx.pass_env) {
        pass(name);
    }
    env["HOME"] = (root / "home").string();
    env["TMPDIR"] = (root / "tmp").string();
    env["TZ"] = "UTC";
    env["LD_AUDIT"] = ctx.audit.string();
    env["MIP_TEST_LOADED_OBJECTS"] = (root / loaded_objects_file).string();
    return env;
}

/// mip.json `test_script` of an installed package: "" when absent; SpecError when malformed.
std::string declared_test_script(const detail::InstalledPackage& p) {
    const auto doc = detail::parse_json(p.mip_json, p.name + "/mip.json");
    auto it = doc.find("test_script");
    if (it == doc.end() || it->is_null()) {
        return "";
    }
    if (!it->is_string()) {
        throw SpecError(p.name + "/mip.json", {{"test_script", "must be a string"}});
    }
    auto name = it->get<std::string>();
    if (name.empty() || name.find('/') != std::string::npos || name.size() < 3 ||
        name.substr(name.size() - 2) != ".m") {
        throw SpecError(p.name + "/mip.json",
                        {{"test_script", "'" + name + "' must be a .m file at the package root"}});
    }
    if (!fs::is_regular_file(p.dir / name)) {
        throw SpecError(p.name + "/mip.json",
                        {{"test_script", "'" + name + "' is missing from the archive"}});
    }
    return name;
}

/// Writes or clears the marker the Uploader reads; never throws.
void set_marker(const Candidate& c, const std::string* reason, const Logger& logger) {
    const fs::path marker = Tester::failure_marker(c.mhl);
    try {
        if (reason == nullptr) {
            std::error_code ec;
            fs::remove(marker, ec);
        } else {
            detail::write_file_atomic(marker, c.sha256 + "\n" + *reason + "\n", false);
        }
    } catch (const std::exception& e) {
        logger.error(c.wheel + ": cannot update " + marker.string() + ": " + e.what());
    }
}

/// A package installed under the root with its dependencies, and what its test runs.
struct Installed {
    detail::InstalledPackage package;
    detail::TestPlan plan;
};

/// Installs the package and its dependencies under `root` (dependencies first).
Installed install_all(const Candidate& c, const Context& ctx, const fs::path& root) {
    Installed out;
    auto& pkg = out.package;
    auto& plan = out.plan;
    pkg = detail::install_package(c.mhl, root, c.package);
    const auto spec = detail::read_bundle_spec(pkg.mip_json, c.package + "/mip.json", pkg.format);
    plan.package = c.package;
    for (const auto& dep : detail::resolve_dependencies(spec.dependencies, ctx.bundle_dirs,
                                                        ctx.host_tag, c.package)) {
        const auto id = detail::bundle_id(dep.filename().string());
        plan.loads.push_back(
            detail::install_package(dep, root, id ? id->name : dep.stem().string()).load);
    }
    plan.loads.push_back(pkg.load);
    plan.test_script_name = declared_test_script(pkg);
    if (!plan.test_script_name.empty()) {
        plan.test_script = (pkg.dir / plan.test_script_name).string();
    }
    plan.examples = spec.usage_examples;
    return out;
}

// NOLINTNEXTLINE(bugprone-easily-swappable-parameters): the message, then what it quotes
std::string with_tail(std::string reason, const std::string& output) {
    const std::string tail = detail::tail_lines(output, failure_tail_lines);
    if (!tail.empty()) {
        reason += "\n" + tail;
        while (!reason.empty() && reason.back() == '\n') {
            reason.pop_back();
        }
    }
    return reason;
}

/// What one engine run gave: "" or why the package fails, and how long it ran.
struct EngineRun {
    std::string failure;
    double seconds = 0;
};

/// Runs the engine on the harness and judges the result; `pkg_dir`: where the package's
/// archive was extracted (its MEX files must all have been loaded).
EngineRun run_engine(const std::string& package,
                     const fs::path& pkg_dir,
                     const Context& ctx,
                     const fs::path& root,
                     const fs::path& log_path,
                     const std::string& what) {
    const fs::path loaded = root / loaded_objects_file;
    detail::ProcessOptions run;
    run.env = test_environment(ctx, root);
    run.argv = ctx.engine.command(root / "work", "mip_test_harness");
    run.cwd = root / "work";
    run.timeout = std::chrono::seconds(ctx.options.test_timeout);
    run.capture_limit = 1 << 16;
    run.log_file = log_path;
    run.cancel = ctx.cancel;
    std::optional<detail::Sandbox> sandbox;
    if (!ctx.options.no_sandbox) {
        sandbox = detail::make_sandbox(root.string(), detail::env_get(run.env, "PATH"));
        run.sandbox = &*sandbox;
    }
    detail::append_file(log_path, "# engine: " + ctx.engine.description() +
                                      "\n# root: " + root.string() + "\n# runs: " + what + "\n");
    const auto result = detail::run_process(run);
    EngineRun out;
    out.seconds = result.seconds;
    detail::append_file(log_path, "\n# " + result.status_text() + "\n");
    const std::string label = package + ": test (" + what + ")";
    if (result.timed_out) {
        out.failure = with_tail(
            label + " timed out after " + std::to_string(ctx.options.test_timeout) +
                " s (--test-timeout); the engine was killed; full log in " + log_path.string(),
            result.output);
        return out;
    }
    if (result.exit_code == detail::leftover_exit_code && sandbox) {
        out.failure =
            with_tail(label + " left processes behind (killed); full log in " + log_path.string(),
                      result.output);
        return out;
    }
    if (!result.ok()) {
        std::string first = detail::first_error_line(result.output);
        out.failure = with_tail(label + " failed (" + result.status_text() + ")" +
                                    (first.empty() ? "" : ": " + first) + "; full log in " +
                                    log_path.string(),
                                result.output);
        return out;
    }
    const bool octave = ctx.engine.kind == EngineKind::octave;
    const auto untouched = detail::untouched_mex_files(
        detail::loadable_mex_files(pkg_dir, octave),
        fs::exists(loaded) ? detail::read_file(loaded) : std::string(), pkg_dir);
    if (!untouched.empty()) {
        std::string names;
        for (const auto& n : untouched) {
            names += (names.empty() ? "" : ", ") + n;
        }
        out.failure = label + ": shipped MEX file" + (untouched.size() == 1 ? " " : "s ") + names +
                      (untouched.size() == 1 ? " was" : " were") +
                      " never loaded by the test (every MEX file must be exercised); full log in " +
                      log_path.string();
        return out;
    }
    return out;
}

/// Tests one package; never throws.
ItemResult test_one(const Candidate& c, const Context& ctx) {
    ItemResult r;
    r.package = c.package;
    r.wheel = c.wheel;
    r.path = c.mhl.string();
    auto fail = [&](ErrorCode code, const std::string& reason) {
        r.status = ItemStatus::failed;
        r.error_code = code;
        r.detail = reason;
        set_marker(c, &reason, ctx.logger);
        ctx.logger.error(reason.substr(0, reason.find('\n')));
        return r;
    };
    const std::string label = c.package.empty() ? c.wheel : c.package;
    if (!c.problem.empty()) {
        return fail(ErrorCode::invalid_spec, label + ": " + c.problem);
    }
    try {
        const fs::path work_dir = ctx.options.work_dir / (c.wheel + ".work");
        detail::create_dirs(work_dir);
        const fs::path log_path = fs::absolute(work_dir / "test.log");
        detail::write_file_atomic(log_path, "# mip-build test " + c.wheel + "\n", false);
        const detail::TempDir root(fs::temp_directory_path(), "mip-test-");
        for (const char* sub : {"home", "tmp", "work"}) {
            detail::create_dirs(root.path() / sub);
        }
        const Installed installed = install_all(c, ctx, root.path());
        const auto problems = detail::check_binaries(installed.package.archive_dir, ctx.floor);
        if (!problems.empty()) {
            std::string reason = label + ": binary check failed: " + problems.front();
            for (std::size_t i = 1; i < problems.size(); ++i) {
                reason += "\n" + problems[i];
            }
            detail::append_file(log_path, reason + "\n");
            return fail(ErrorCode::build_failed, reason);
        }
        const std::string what = detail::write_harness(installed.plan, root.path() / "work");
        ctx.logger.info(c.wheel + ": testing (" + what + ") with " + ctx.engine.description());
        const EngineRun ran =
            run_engine(c.package, installed.package.archive_dir, ctx, root.path(), log_path, what);
        const double seconds = ran.seconds;
        r.seconds = seconds;
        if (!ran.failure.empty()) {
            return fail(ErrorCode::build_failed, ran.failure);
        }
        set_marker(c, nullptr, ctx.logger);
        r.status = ItemStatus::done;
        std::ostringstream s;
        s.setf(std::ios::fixed);
        s.precision(2);
        s << "passed (" << what << ") in " << seconds << " s; log " << log_path.string();
        r.detail = s.str();
        ctx.logger.info(c.wheel + ": " + r.detail);
        return r;
    } catch (const Error& e) {
        return fail(e.code(), label + ": " + e.what());
    } catch (const std::exception& e) {
        return fail(ErrorCode::internal, label + ": " + e.what());
    }
}

/// The format a bundle's name says (R2 when it says none).
detail::ArchiveFormat format_of(const fs::path& mhl) {
    const auto id = detail::bundle_id(mhl.filename().string());
    return id ? id->format : detail::ArchiveFormat::r2;
}

/// The store's packages by normalised name and platform tag: their bundle stems (one listing,
/// of the sidecars: a store written without flat copies holds no `<stem>.mhl` at its top).
std::map<std::string, std::map<std::string, std::string>> published_bundles(Store& store) {
    std::map<std::string, std::map<std::string, std::string>> out;
    constexpr std::string_view sidecar_suffix = ".mhl.mip.json";
    for (const auto& info : store.list("", false)) {
        const auto& key = info.key;
        if (key.size() <= sidecar_suffix.size() ||
            key.compare(key.size() - sidecar_suffix.size(), sidecar_suffix.size(),
                        sidecar_suffix) != 0) {
            continue;
        }
        if (auto id = detail::bundle_id(key)) {  // else not a bundle name
            out[normalize_package_name(id->name)][id->tag] = std::string(strip_wheel_suffix(key));
        }
    }
    return out;
}

/// Where a published bundle's bytes are: its content-addressed key when its sidecar names one
/// (`mhl_url` ending in `sha256/<hex>/<stem>.mhl`), else the flat `<stem>.mhl`.
std::string bundle_key(const std::string& stem, const PackageSpec& spec) {
    std::string flat = stem + ".mhl";
    if (spec.mhl_sha256 && spec.mhl_url) {
        std::string cas = "sha256/" + *spec.mhl_sha256 + "/" + flat;
        const auto& url = *spec.mhl_url;
        if (url.size() > cas.size() && url.compare(url.size() - cas.size(), cas.size(), cas) == 0 &&
            url[url.size() - cas.size() - 1] == '/') {
            return cas;
        }
    }
    return flat;
}

/// Fetches into `into` the published bundles (and sidecars) of the dependencies the
/// candidates need that `input_dir` lacks, recursively. On the calling thread, before the
/// engines start; what the store lacks is left for the resolver to report.
void fetch_store_dependencies(const std::vector<Candidate>& work,
                              Store& store,
                              // NOLINTNEXTLINE(bugprone-easily-swappable-parameters): from, to
                              const fs::path& input_dir,
                              const fs::path& into,
                              const std::string& host_tag,
                              const Logger& logger) {
    std::set<std::string> have;
    for (const auto& name : detail::bundled_names(input_dir)) {
        have.insert(name);
    }
    std::vector<std::string> queue;
    for (const auto& c : work) {
        try {
            const auto sidecar = fs::path(c.mhl.string() + ".mip.json");
            const auto spec = detail::read_bundle_spec(detail::read_file(sidecar), sidecar.string(),
                                                       format_of(c.mhl));
            queue.insert(queue.end(), spec.dependencies.begin(), spec.dependencies.end());
        } catch (const std::exception&) {  // the package itself fails on it, named
        }
    }
    std::optional<std::map<std::string, std::map<std::string, std::string>>> published;
    while (!queue.empty()) {
        const std::string name = normalize_package_name(detail::dependency_name(queue.back()));
        queue.pop_back();
        if (!have.insert(name).second) {
            continue;
        }
        if (!published) {
            published = published_bundles(store);
        }
        auto it = published->find(name);
        if (it == published->end()) {
            continue;
        }
        for (const auto& tag : {host_tag, std::string("any")}) {
            auto t = it->second.find(tag);
            if (t == it->second.end()) {
                continue;
            }
            detail::create_dirs(into);
            const std::string flat_key = t->second + ".mhl";
            const std::string sidecar_key = flat_key + ".mip.json";
            if (!store.get_to_file(sidecar_key, into / sidecar_key)) {
                break;
            }
            const auto spec = detail::read_bundle_spec(detail::read_file(into / sidecar_key),
                                                       sidecar_key, format_of(flat_key));
            // The sidecar says where the bytes are; they land under the flat name either way
            // (as `bundle` writes it).
            if (!store.get_to_file(bundle_key(t->second, spec), into / flat_key)) {
                fs::remove(into / sidecar_key);
                break;
            }
            logger.info("test: dependency " + flat_key + " fetched from " + store.describe());
            queue.insert(queue.end(), spec.dependencies.begin(), spec.dependencies.end());
            break;
        }
    }
}

}  // namespace

StageReport Tester::test() {
    const TestOptions& t = options_;
    const RunOptions& o = run_;
    StageReport report;
    report.stage = "test";
    report.dry_run = o.dry_run;
    const auto floor = detail::parse_version_pair(t.glibc_floor);
    if (!floor) {
        throw SpecError("--glibc-floor",
                        {{"glibc_floor", "'" + t.glibc_floor + "' is not a version like 2.28"}});
    }
    const std::vector<Candidate> work = collect(t, o);
    const Environment source = detail::resolve_environment(o.environment);
    std::optional<CompileEngine> engine;
    fs::path audit;
    if (!work.empty() && o.dry_run) {
        try {
            engine = find_compile_engine(t.test_engine, source, false);
        } catch (const SpecError& e) {
            o.logger.warning(std::string("test (dry run): ") + e.what());
        }
    } else if (!work.empty()) {
        engine = find_compile_engine(t.test_engine, source, true);
        audit = find_audit_library(t);
        o.logger.info("test: using " + engine->description() + " (" + engine->executable.string() +
                      ")");
    }
    std::vector<detail::EngineItem> items;
    items.reserve(work.size());
    for (const auto& c : work) {
        items.push_back({c.package, c.wheel, c.mhl});
    }
    const detail::NonDumpableWhile sealed(source);  // package code runs below
    detail::ProgressEmitter progress(o.progress, "test", work.size());
    std::atomic<bool> cancel{false};
    const std::string host_tag = host_platform_tag();
    // Dependencies the run did not bundle: the store's published ones, fetched once.
    std::optional<detail::TempDir> fetched;
    std::vector<fs::path> bundle_dirs{t.input_dir};
    if (store_ != nullptr && !o.dry_run && !work.empty()) {
        fetched.emplace(fs::temp_directory_path(), "mip-test-deps-");
        fetch_store_dependencies(work, *store_, t.input_dir, fetched->path(), host_tag, o.logger);
        bundle_dirs.push_back(fetched->path());
    }
    auto run_item = [&](std::size_t i) -> ItemResult {
        const Candidate& c = work[i];
        ItemResult result;
        if (o.dry_run) {
            result.package = c.package;
            result.wheel = c.wheel;
            result.path = c.mhl.string();
            result.status = ItemStatus::planned;
            result.detail = "would install, load and test with " +
                            (engine ? engine->description() : std::string("(no engine found)"));
        } else {
            const Context ctx{t,     *engine,  source,      o.pass_env, *floor,
                              audit, host_tag, bundle_dirs, o.logger,   &cancel};
            result = test_one(c, ctx);
        }
        return result;
    };
    report.items = detail::run_engine_items(items, o, progress, cancel, run_item);
    return report;
}

}  // namespace mip
