// Python recipes (`package.py`, `packages.py`), run in a worker interpreter.
//
// Each load or build is one `<python> -m mip_build_helpers._worker ...` process (see
// bindings/python/mip_build_helpers/_worker.py for the protocol): the recipe runs isolated, so a
// raise, a hang (killed with its process group at the timeout), `sys.exit`, `os._exit` or a
// segfault becomes an error for that package only. The worker writes its answer as JSON to a
// file named on the command line; the recipe's stdout/stderr go to `<W>.work/logs/recipe.log`.

#include <algorithm>
#include <array>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <mip/error.hpp>
#include <mip/log.hpp>
#include <mip/package_spec.hpp>
#include <mip/recipe.hpp>

#include "detail/env.hpp"
#include "detail/fs.hpp"
#include "detail/json.hpp"
#include "detail/process.hpp"
#include "detail/text.hpp"

namespace mip {

namespace {

namespace fs = std::filesystem;
using detail::Json;

constexpr std::chrono::seconds load_timeout{600};

/// Variables a recipe process inherits from the caller's environment (besides script_env).
constexpr std::array<const char*, 25> pass_through_env = {
    "PATH",       "HOME",          "USER",         "USERNAME",       "LOGNAME",
    "TMPDIR",     "TMP",           "TEMP",         "SYSTEMROOT",     "SYSTEMDRIVE",
    "WINDIR",     "COMSPEC",       "PATHEXT",      "LANG",           "MIP_PLATFORM_TAG",
    "http_proxy", "https_proxy",   "no_proxy",     "HTTP_PROXY",     "HTTPS_PROXY",
    "NO_PROXY",   "SSL_CERT_FILE", "SSL_CERT_DIR", "CURL_CA_BUNDLE", "SOURCE_DATE_EPOCH"};

constexpr std::array<const char*, 6> credential_names = {
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",         "AWS_SESSION_TOKEN", "GITHUB_TOKEN",
    "GH_TOKEN",          "ACTIONS_ID_TOKEN_REQUEST_TOKEN"};

/// Platform tags a recipe may emit, and the wheel-style spellings mapped onto them.
constexpr std::array<const char*, 6> emitted_platform_tags = {
    "any", "linux_x86_64", "linux_aarch64", "macos_arm64", "macos_x86_64", "windows_x86_64"};
constexpr std::array<std::pair<const char*, const char*>, 3> mapped_platform_tags = {{
    {"macosx_10_9_x86_64", "macos_x86_64"},
    {"macosx_11_0_arm64", "macos_arm64"},
    {"win_amd64", "windows_x86_64"},
}};

struct WorkerSetup {
    PythonRecipeOptions options;
    std::string file_name;  // "package.py" or "packages.py"
};

/// The recipe process's environment: a pass-through subset of `env`, fixed variables, PYTHONPATH,
/// then the declared script_env values.
std::map<std::string, std::string> worker_environment(const WorkerSetup& setup,
                                                      const std::map<std::string, std::string>& env,
                                                      const std::string& build_type,
                                                      const fs::path& recipe_dir,
                                                      const std::vector<std::string>& script_env) {
    std::map<std::string, std::string> out;
    for (const char* name : pass_through_env) {
        if (auto v = detail::env_find(env, name)) {
            out[name] = *v;
        }
    }
    if (out.find("PATH") == out.end()) {
        out["PATH"] = "/usr/local/bin:/usr/bin:/bin";
    }
    std::string python_path = setup.options.python_path;
    if (auto existing = detail::env_find(env, "PYTHONPATH"); existing && !existing->empty()) {
        python_path = python_path.empty() ? *existing : python_path + ":" + *existing;
    }
    if (!python_path.empty()) {
        out["PYTHONPATH"] = python_path;
    }
    out["TZ"] = "UTC";
    out["PYTHONDONTWRITEBYTECODE"] = "1";
    out["PYTHONUNBUFFERED"] = "1";
    out["PYTHONUTF8"] = "1";
    out["PYTHONIOENCODING"] = "utf-8";
    out["BUILD_TYPE"] = build_type;
    out["MIP_RECIPE_DIR"] = recipe_dir.string();
    for (const auto& name : script_env) {
        if (auto v = detail::env_find(env, name)) {
            out[name] = *v;
        }
    }
    return out;
}

struct WorkerOutcome {
    detail::ProcessResult process;
    std::optional<Json> result;  // nullopt when the worker wrote none
};

WorkerOutcome run_worker(const WorkerSetup& setup,
                         std::vector<std::string> args,
                         const fs::path& result_path,
                         const fs::path& cwd,
                         std::map<std::string, std::string> env,
                         std::chrono::seconds timeout,
                         std::optional<fs::path> log_file,
                         const std::atomic<bool>* cancel = nullptr) {
    std::error_code ec;
    fs::remove(result_path, ec);
    detail::ProcessOptions po;
    po.argv = {setup.options.python.empty() ? std::string("python3") : setup.options.python, "-m",
               "mip_build_helpers._worker"};
    po.argv.insert(po.argv.end(), std::make_move_iterator(args.begin()),
                   std::make_move_iterator(args.end()));
    po.argv.push_back("--result");
    po.argv.push_back(result_path.string());
    po.cwd = cwd;
    po.env = std::move(env);
    po.timeout = timeout;
    po.log_file = std::move(log_file);
    po.capture_limit = 64 * 1024;
    po.cancel = cancel;
    WorkerOutcome out;
    out.process = detail::run_process(po);
    if (!out.process.timed_out && fs::is_regular_file(result_path, ec)) {
        out.result =
            detail::parse_json(detail::read_file(result_path), result_path.filename().string());
        fs::remove(result_path, ec);
    }
    return out;
}

/// Turns a worker that produced no usable result into a BuildError.
[[noreturn]] void throw_worker_failure(const std::string& package,
                                       const std::string& what,
                                       const WorkerOutcome& outcome,
                                       const std::chrono::seconds timeout,
                                       const std::string& log_hint) {
    const auto& p = outcome.process;
    std::string message;
    if (p.timed_out) {
        message = what + " timed out after " + std::to_string(timeout.count()) +
                  " s and was killed" + log_hint;
    } else {
        message = what + " ended without a result (" + p.status_text() + ")" + log_hint;
        const std::string tail = detail::tail_lines(p.output, 20);
        if (!tail.empty()) {
            message += "\nlast output:\n" + tail;
        }
    }
    throw BuildError(package, package + ": " + message);
}

[[noreturn]] void throw_recipe_raised(const std::string& package,
                                      const std::string& file,
                                      const Json& error,
                                      const std::string& log_hint) {
    const std::string phase = error.value("phase", std::string("recipe"));
    const std::string type = error.value("type", std::string("Exception"));
    const std::string msg = error.value("message", std::string());
    std::string message = package + ": " + file + ": " + phase + " raised " + type;
    if (!msg.empty()) {
        message += ": " + msg;
    }
    message += log_hint;
    const std::string tb = error.value("traceback", std::string());
    if (!tb.empty()) {
        message += "\n" + tb;
    }
    throw BuildError(package, message);
}

std::vector<Issue> issues_from(const Json& list) {
    std::vector<Issue> out;
    if (list.is_array()) {
        for (const auto& item : list) {
            if (item.is_array() && item.size() == 2) {
                out.push_back({item[0].get<std::string>(), item[1].get<std::string>()});
            }
        }
    }
    return out;
}

std::vector<std::string> strings_from(const Json& list) {
    std::vector<std::string> out;
    for (const auto& item : list) {
        out.push_back(item.get<std::string>());
    }
    return out;
}

/// Applies worker-checked attributes to a spec. Returns the declared script_env names.
std::vector<std::string> apply_attributes(PackageSpec& spec,
                                          const Json& attrs,
                                          std::vector<Issue>& issues,
                                          const Logger& logger,
                                          const std::string& subject) {
    auto str = [&](const char* key, std::string& field) {
        if (attrs.contains(key)) {
            field = attrs[key].get<std::string>();
        }
    };
    str("name", spec.name);
    str("description", spec.description);
    str("version", spec.version);
    str("homepage", spec.homepage);
    str("repository", spec.repository);
    str("license", spec.license);
    str("matlab_tag", spec.matlab_tag);
    str("abi_tag", spec.abi_tag);
    str("platform_tag", spec.platform_tag);
    if (attrs.contains("build_number")) {
        spec.build_number = attrs["build_number"].get<std::int64_t>();
    }
    if (attrs.contains("dependencies")) {
        spec.dependencies = strings_from(attrs["dependencies"]);
    }
    if (attrs.contains("usage_examples")) {
        spec.usage_examples = strings_from(attrs["usage_examples"]);
    }
    for (const auto& [from, to] : mapped_platform_tags) {
        if (spec.platform_tag == from) {
            logger.warning(subject + ": platform_tag '" + spec.platform_tag + "' is read as '" +
                           to + "'");
            spec.platform_tag = to;
        }
    }
    if (std::none_of(emitted_platform_tags.begin(), emitted_platform_tags.end(),
                     [&](const char* t) { return spec.platform_tag == t; })) {
        issues.push_back({"platform_tag", "'" + spec.platform_tag +
                                              "' is not a platform tag a recipe may emit (any, "
                                              "linux_x86_64, linux_aarch64, macos_arm64, "
                                              "macos_x86_64, windows_x86_64)"});
    }
    std::vector<std::string> script_env;
    if (attrs.contains("script_env")) {
        std::set<std::string> seen;
        for (auto& name : strings_from(attrs["script_env"])) {
            if (!detail::is_identifier(name, detail::IdentifierRule::c)) {
                issues.push_back({"script_env", "'" + name + "' is not a variable name"});
            } else if (std::any_of(credential_names.begin(), credential_names.end(),
                                   [&](const char* c) { return name == c; })) {
                issues.push_back({"script_env", name + " is a credential and may not be passed "
                                                       "to a recipe"});
            } else if (seen.insert(name).second) {
                script_env.push_back(name);
            }
        }
    }
    return script_env;
}

/// The recipe's working directory: the prepared output dir (`build/prepared`), as in the
/// reference, where recipes download and clone with relative paths.
fs::path recipe_cwd(const BuildContext& ctx) {
    return ctx.work_dir.has_parent_path() ? ctx.work_dir.parent_path() : ctx.dir.parent_path();
}

/// Entries of the shared working directory (build/prepared) that belong to no build: anything
/// but `<W>.dir`, `<W>.work`, `*.partial` and hidden scratch names.
std::set<std::string> foreign_entries(const fs::path& dir) {
    std::set<std::string> out;
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        auto name = it->path().filename().string();
        auto ends = [&name](std::string_view suffix) {
            return name.size() > suffix.size() &&
                   name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
        };
        static const std::set<std::string> pipeline_dirs = {"prepared", "bundled", "gh-pages",
                                                            "cache", "store"};
        if (name.empty() || name[0] == '.' || ends(".dir") || ends(".work") || ends(".partial") ||
            pipeline_dirs.count(name) != 0) {
            continue;
        }
        out.insert(name);
    }
    return out;
}

class PythonRecipeBuild final : public RecipeBuild {
public:
    PythonRecipeBuild(std::shared_ptr<const WorkerSetup> setup,
                      fs::path recipe_file,
                      std::size_t index,
                      bool has_prepare,
                      PackageSpec spec,
                      std::vector<std::string> script_env)
        : setup_(std::move(setup)),
          recipe_file_(std::move(recipe_file)),
          index_(index),
          has_prepare_(has_prepare),
          spec_(std::move(spec)),
          script_env_(std::move(script_env)) {}

    [[nodiscard]] const PackageSpec& spec() const override { return spec_; }
    [[nodiscard]] PackageSpec& mutable_spec() override { return spec_; }
    /// The sources are known only once prepare() has run.
    [[nodiscard]] bool pinned_before_build() const override { return false; }
    [[nodiscard]] std::vector<std::string> script_env() const override { return script_env_; }
    /// The newest commit time of the git sources prepare() cloned, once built.
    [[nodiscard]] std::optional<std::int64_t> source_epoch() const override {
        return source_epoch_;
    }

    void build(const BuildContext& ctx) override {
        const std::string package = spec_.name;
        const std::string subject = package + ": " + setup_->file_name;
        const fs::path logs = ctx.work_dir / "logs";
        detail::create_dirs(logs);
        const fs::path log_file = logs / "recipe.log";
        const std::string log_hint = " (log: " + log_file.string() + ")";
        const auto timeout = std::chrono::seconds(ctx.timeout_seconds);

        // Run the recipe from ctx.recipe_dir (the Preparer's copy in the work area, if it made
        // one), so the code that builds is the code recorded.
        std::error_code exists_ec;
        const fs::path recipe_file =
            fs::is_regular_file(ctx.recipe_dir / setup_->file_name, exists_ec)
                ? ctx.recipe_dir / setup_->file_name
                : recipe_file_;
        ctx.logger.info(package + ": running " + recipe_file.string() + " in a worker");
        // Watched: the shared cwd (build/prepared) and the build directory above it.
        const fs::path shared_cwd = recipe_cwd(ctx);
        const std::vector<fs::path> watched = {shared_cwd, shared_cwd.parent_path()};
        std::vector<std::set<std::string>> foreign_before;
        for (const auto& w : watched) {
            foreign_before.push_back(foreign_entries(w));
        }
        WorkerOutcome outcome =
            run_worker(*setup_,
                       {"build", "--recipe", recipe_file.string(), "--index",
                        std::to_string(index_), "--name", package, "--mhl-dir", ctx.dir.string()},
                       ctx.work_dir / "recipe-result.json", recipe_cwd(ctx),
                       worker_environment(*setup_, ctx.environment, ctx.build_type, ctx.recipe_dir,
                                          script_env_),
                       timeout, log_file, ctx.cancel);
        // A recipe may write only into its .dir (and temp dirs): files it left in the shared
        // working directory are removed and fail the build.
        std::vector<std::string> strays;
        for (std::size_t w = 0; w < watched.size(); ++w) {
            for (const auto& name : foreign_entries(watched[w])) {
                if (foreign_before[w].count(name) == 0) {
                    strays.push_back((watched[w] / name).string());
                    std::error_code ignore;
                    fs::remove_all(watched[w] / name, ignore);
                }
            }
        }
        if (!strays.empty()) {
            std::string list;
            for (const auto& n : strays) {
                list += (list.empty() ? "" : ", ") + n;
            }
            throw BuildError(package,
                             setup_->file_name + " wrote outside its package directory (" + list +
                                 "; removed). Write into mhl_dir or a temporary directory.");
        }
        if (!outcome.result) {
            throw_worker_failure(package, setup_->file_name + " " + method_name(), outcome, timeout,
                                 log_hint);
        }
        const Json& result = *outcome.result;
        if (!result.value("ok", false)) {
            throw_recipe_raised(package, setup_->file_name, result.value("error", Json::object()),
                                log_hint);
        }
        std::vector<Issue> issues = issues_from(result.value("issues", Json::array()));
        PackageSpec after = spec_;
        apply_attributes(after, result.value("attributes", Json::object()), issues, ctx.logger,
                         subject);
        // The wheel name was fixed when the recipe was loaded (cache check, work area).
        const std::array<std::pair<const char*, std::string PackageSpec::*>, 5> identity = {{
            {"name", &PackageSpec::name},
            {"version", &PackageSpec::version},
            {"matlab_tag", &PackageSpec::matlab_tag},
            {"abi_tag", &PackageSpec::abi_tag},
            {"platform_tag", &PackageSpec::platform_tag},
        }};
        for (const auto& [field, member] : identity) {
            if (after.*member != spec_.*member) {
                issues.push_back({field, "changed from '" + spec_.*member + "' to '" +
                                             after.*member + "' by " + method_name() +
                                             "; the wheel name must be known before building "
                                             "(set it in the constructor)"});
            }
        }
        std::vector<std::string> symbols =
            strings_from(result.value("exposed_symbols", Json::array()));
        std::sort(symbols.begin(), symbols.end());
        symbols.erase(std::unique(symbols.begin(), symbols.end()), symbols.end());
        after.exposed_symbols = std::move(symbols);
        after.source_json = source_json(result.value("sources", Json::array()));
        if (const Json epoch = result.value("source_epoch", Json()); epoch.is_number_integer()) {
            source_epoch_ = epoch.get<std::int64_t>();
        }
        for (auto& issue : after.validate()) {
            issues.push_back(std::move(issue));
        }
        if (!issues.empty()) {
            throw SpecError(subject, std::move(issues));
        }
        std::error_code ec;
        if (!fs::is_regular_file(ctx.dir / "load_package.m", ec)) {
            throw BuildError(package, subject + ": " + method_name() +
                                          " did not leave load_package.m at the root of " +
                                          ctx.dir.string() + log_hint);
        }
        spec_ = std::move(after);
    }

private:
    [[nodiscard]] std::string method_name() const { return has_prepare_ ? "prepare()" : "build()"; }

    static std::string source_json(const Json& sources) {
        if (!sources.is_array() || sources.empty()) {
            return "";
        }
        if (sources.size() == 1) {
            return detail::dump_compact(sources[0]);
        }
        Json multiple = Json::object();
        multiple["type"] = "multiple";
        multiple["items"] = sources;
        return detail::dump_compact(multiple);
    }

    std::shared_ptr<const WorkerSetup> setup_;
    fs::path recipe_file_;
    std::size_t index_;
    bool has_prepare_;
    PackageSpec spec_;
    std::vector<std::string> script_env_;
    std::optional<std::int64_t> source_epoch_;
};

class PythonRecipeKind final : public RecipeKind {
public:
    explicit PythonRecipeKind(std::shared_ptr<const WorkerSetup> setup)
        : setup_(std::move(setup)) {}

    [[nodiscard]] std::string file_name() const override { return setup_->file_name; }

    [[nodiscard]] std::vector<std::unique_ptr<RecipeBuild>> load(
        const RecipeContext& ctx) const override {
        const fs::path recipe_file = ctx.recipe_dir / setup_->file_name;
        const std::string dir_name = ctx.recipe_dir.filename().string();
        const std::string file_subject = dir_name + "/" + setup_->file_name;
        detail::TempDir tmp;
        WorkerOutcome outcome = run_worker(
            *setup_, {"load", "--recipe", recipe_file.string()}, tmp.path() / "load.json",
            ctx.recipe_dir,
            worker_environment(*setup_, ctx.environment, ctx.build_type, ctx.recipe_dir, {}),
            load_timeout, std::nullopt);
        if (!outcome.result) {
            throw_worker_failure(dir_name, "loading " + setup_->file_name, outcome, load_timeout,
                                 "");
        }
        const Json& result = *outcome.result;
        if (!result.value("ok", false)) {
            throw_recipe_raised(dir_name, setup_->file_name, result.value("error", Json::object()),
                                "");
        }
        if (auto issues = issues_from(result.value("issues", Json::array())); !issues.empty()) {
            throw SpecError(file_subject, std::move(issues));
        }
        std::vector<std::unique_ptr<RecipeBuild>> builds;
        for (const auto& entry : result.value("packages", Json::array())) {
            const auto index = entry.value("index", std::size_t{0});
            const Json attrs = entry.value("attributes", Json::object());
            std::string label = attrs.contains("name")
                                    ? attrs["name"].get<std::string>()
                                    : (setup_->file_name == "packages.py"
                                           ? "packages[" + std::to_string(index) + "]"
                                           : std::string("Package"));
            const std::string subject = label + ": " + file_subject;
            std::vector<Issue> issues = issues_from(entry.value("issues", Json::array()));
            PackageSpec spec;
            std::vector<std::string> script_env =
                apply_attributes(spec, attrs, issues, ctx.logger, subject);
            if (issues.empty()) {
                for (auto& issue : spec.validate()) {
                    issues.push_back(std::move(issue));
                }
            }
            if (!issues.empty()) {
                throw SpecError(subject, std::move(issues));
            }
            const bool has_prepare = entry.value("has_prepare", true);
            if (!has_prepare) {
                ctx.logger.debug(subject + ": no prepare(); build(mhl_dir) is used");
            }
            builds.push_back(std::make_unique<PythonRecipeBuild>(
                setup_, recipe_file, index, has_prepare, std::move(spec), std::move(script_env)));
        }
        return builds;
    }

private:
    std::shared_ptr<const WorkerSetup> setup_;
};

}  // namespace

std::shared_ptr<RecipeKind> make_python_recipe_kind(PythonRecipeOptions options) {
    return std::make_shared<PythonRecipeKind>(
        std::make_shared<const WorkerSetup>(WorkerSetup{std::move(options), "package.py"}));
}

std::shared_ptr<RecipeKind> make_python_packages_recipe_kind(PythonRecipeOptions options) {
    return std::make_shared<PythonRecipeKind>(
        std::make_shared<const WorkerSetup>(WorkerSetup{std::move(options), "packages.py"}));
}

}  // namespace mip
