// Python recipes (`package.py`, `packages.py`), run in a worker interpreter.
//
// Each load or build is one `<python> -m mip_build_helpers._worker ...` process (see
// bindings/python/mip_build_helpers/_worker.py for the protocol): the recipe runs isolated, so a
// raise, a hang (killed with its process group at the timeout), `sys.exit`, `os._exit` or a
// segfault becomes an error for that package only. The worker writes its answer as JSON to a
// file named on the command line; the recipe's stdout/stderr go to `<W>.work/logs/recipe.log`.
//
// Each build process gets a private, empty working directory (`<W>.work/cwd`) and temp directory
// (`<W>.work/tmp`): real recipes clone and download into their cwd with fixed relative names
// (`fmm2d_clone`, `temp_download.zip`, `export_fig-3.54`), so recipes running in parallel must not
// share one. What a recipe leaves there is its own, and is removed once it succeeded.

#include <algorithm>
#include <array>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <mip/error.hpp>
#include <mip/log.hpp>
#include <mip/package_spec.hpp>
#include <mip/recipe.hpp>

#include "detail/env.hpp"
#include "detail/fs.hpp"
#include "detail/http.hpp"
#include "detail/json.hpp"
#include "detail/process.hpp"
#include "detail/recipe_env.hpp"
#include "detail/text.hpp"
#include "recipe_python_worker.hpp"

namespace mip {

namespace {

namespace fs = std::filesystem;
using detail::Json;
using detail::python_worker::run_worker;
using detail::python_worker::throw_recipe_raised;
using detail::python_worker::throw_worker_failure;
using detail::python_worker::worker_environment;
using detail::python_worker::WorkerEnvironment;
using detail::python_worker::WorkerOutcome;
using detail::python_worker::WorkerSetup;

constexpr std::chrono::seconds load_timeout{600};

/// Platform tags a recipe may emit, and the wheel-style spellings mapped onto them.
constexpr std::array<const char*, 6> emitted_platform_tags = {
    "any", "linux_x86_64", "linux_aarch64", "macos_arm64", "macos_x86_64", "windows_x86_64"};
constexpr std::array<std::pair<const char*, const char*>, 3> mapped_platform_tags = {{
    {"macosx_10_9_x86_64", "macos_x86_64"},
    {"macosx_11_0_arm64", "macos_arm64"},
    {"win_amd64", "windows_x86_64"},
}};

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
            } else if (auto why = detail::refused_variable(name)) {
                issues.push_back({"script_env", "'" + name + "' " + *why});
            } else if (seen.insert(name).second) {
                script_env.push_back(name);
            }
        }
    }
    return script_env;
}

/// Entries of a directory recipe processes could reach (build/prepared, build/) that belong to
/// no build: anything but `<W>.dir`, `<W>.work`, `*.partial`, hidden names and the pipeline's own
/// directories.
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

/// Start and end markers of the recipe processes writing into one prepared directory
/// (`<prepared>/.mip-recipe-runs/<W>.start|.end`, kept across runs), so that a process can tell
/// afterwards which other recipe processes — of any recipe kind, on any thread, in any libmip
/// process — ran while it did. A write outside the package directories is attributed to a
/// process only when it ran alone.
class RunMarkers {
public:
    RunMarkers(const fs::path& prepared, std::string wheel)
        : dir_(prepared / ".mip-recipe-runs"), wheel_(std::move(wheel)) {
        detail::create_dirs(dir_);
        start_ = touch(".start");
    }
    RunMarkers(const RunMarkers&) = delete;
    RunMarkers& operator=(const RunMarkers&) = delete;
    RunMarkers(RunMarkers&&) = delete;
    RunMarkers& operator=(RunMarkers&&) = delete;
    ~RunMarkers() {
        if (!ended_) {
            try {
                (void)touch(".end");
            } catch (...) {  // best effort on the way out of a failure
            }
        }
    }

    /// Marks the end; returns the other wheels whose run overlapped this one, sorted.
    std::vector<std::string> finished() {
        const auto end = touch(".end");
        ended_ = true;
        std::vector<std::string> others;
        std::error_code ec;
        for (fs::directory_iterator it(dir_, ec), stop; !ec && it != stop; it.increment(ec)) {
            const auto name = it->path().filename().string();
            if (name.size() <= 6 || name.compare(name.size() - 6, 6, ".start") != 0) {
                continue;
            }
            const auto other = name.substr(0, name.size() - 6);
            std::error_code tec;
            const auto other_start = fs::last_write_time(it->path(), tec);
            if (other == wheel_ || tec) {
                continue;
            }
            // No end, or one left from an earlier run: still running.
            auto other_end = fs::last_write_time(dir_ / (other + ".end"), tec);
            if (tec || other_end < other_start) {
                other_end = fs::file_time_type::max();
            }
            if (other_start <= end && other_end >= start_) {
                others.push_back(other);
            }
        }
        std::sort(others.begin(), others.end());
        return others;
    }

private:
    fs::file_time_type touch(const char* suffix) {
        const auto path = dir_ / (wheel_ + suffix);
        detail::write_file_atomic(path, "", false);
        return fs::last_write_time(path);
    }

    fs::path dir_;
    std::string wheel_;
    fs::file_time_type start_;
    bool ended_ = false;
};

/// Wraps a legacy load script the recipe wrote instead of `load_package.m` (real recipes of the
/// package.py era write `setup.m`; the reference helpers' `create_load_m_and_unload_m` wrote
/// `load.m`/`unload.m`): `load_package.m` runs it, and `unload_package.m` runs the legacy unload
/// script or else removes every path entry inside the package. Returns what was written.
std::vector<std::string> wrap_legacy_load_scripts(const fs::path& dir) {
    std::error_code ec;
    auto exists = [&](const char* name) { return fs::is_regular_file(dir / name, ec); };
    auto runner = [](const char* script) {
        return std::string("run(fullfile(fileparts(mfilename('fullpath')), '") + script + "'));\n";
    };
    // Every path entry inside the package, whatever the legacy script added; no variable is left.
    const std::string remove_all =
        "% Written by libmip: removes every path entry inside this package.\n"
        "mip_unload_root__ = fileparts(mfilename('fullpath'));\n"
        "mip_unload_dirs__ = strsplit(path, pathsep);\n"
        "mip_unload_dirs__ = mip_unload_dirs__(strcmp(mip_unload_dirs__, mip_unload_root__) | "
        "strncmp(mip_unload_dirs__, [mip_unload_root__ filesep], numel(mip_unload_root__) + 1));\n"
        "if ~isempty(mip_unload_dirs__)\n"
        "    rmpath(mip_unload_dirs__{:});\n"
        "end\n"
        "clear mip_unload_root__ mip_unload_dirs__\n";
    std::vector<std::string> written;
    if (!exists("load_package.m")) {
        const char* legacy =
            exists("setup.m") ? "setup.m" : (exists("load.m") ? "load.m" : nullptr);
        if (legacy == nullptr) {
            return written;
        }
        detail::write_file_atomic(dir / "load_package.m",
                                  "% Written by libmip: runs the recipe's " + std::string(legacy) +
                                      ".\n" + runner(legacy),
                                  false);
        written.push_back(std::string("load_package.m (runs ") + legacy + ")");
    }
    if (!exists("unload_package.m")) {
        if (exists("unload.m")) {
            detail::write_file_atomic(
                dir / "unload_package.m",
                "% Written by libmip: runs the recipe's unload.m.\n" + runner("unload.m"), false);
            written.emplace_back("unload_package.m (runs unload.m)");
        } else {
            detail::write_file_atomic(dir / "unload_package.m", remove_all, false);
            written.emplace_back("unload_package.m (removes the package's path entries)");
        }
    }
    return written;
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
        // A private, empty cwd and TMPDIR for this process alone: whatever the recipe writes
        // there is its own (parallel recipes never see each other's `*_clone` directories).
        const fs::path cwd = ctx.work_dir / "cwd";
        const fs::path tmp = ctx.work_dir / "tmp";
        for (const auto& d : {cwd, tmp}) {
            detail::remove_tree(d);
            detail::create_dirs(d);
        }
        WorkerEnvironment wenv{ctx.build_type,     ctx.recipe_dir,     script_env_,
                               ctx.pass_env,       ctx.source_mirrors, tmp,
                               ctx.archive_limits, ctx.require_https};
        // Writes that escape the package directory (through absolute or `..` paths) land in
        // directories every recipe process can reach: compared before and after.
        const fs::path prepared = ctx.work_dir.parent_path();
        const std::vector<fs::path> watched = {prepared, prepared.parent_path()};
        std::vector<std::set<std::string>> before;
        before.reserve(watched.size());
        for (const auto& w : watched) {
            before.push_back(foreign_entries(w));
        }
        auto work_name = ctx.work_dir.filename().string();
        RunMarkers markers(prepared, work_name.substr(0, work_name.size() - 5));  // minus .work
        WorkerOutcome outcome = run_worker(
            *setup_,
            {"build", "--recipe", recipe_file.string(), "--index", std::to_string(index_), "--name",
             package, "--mhl-dir", ctx.dir.string()},
            ctx.work_dir / "recipe-result.json", cwd,
            worker_environment(*setup_, ctx.environment, wenv), timeout, log_file, ctx.cancel);
        check_escapes(package, watched, before, markers.finished(), ctx.logger);
        if (!outcome.result) {
            throw_worker_failure(package, setup_->file_name + " " + method_name(), outcome, timeout,
                                 log_hint);
        }
        const Json& result = *outcome.result;
        if (!result.value("ok", false)) {
            throw_recipe_raised(package, setup_->file_name, result.value("error", Json::object()),
                                log_hint);
        }
        mirrored_.clear();
        for (const auto& m : result.value("mirrors", Json::array())) {
            if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
                mirrored_.push_back({m[0].get<std::string>(), m[1].get<std::string>()});
            }
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
        warn_plain_http(ctx, subject, result.value("sources", Json::array()));
        if (const Json epoch = result.value("source_epoch", Json()); epoch.is_number_integer()) {
            source_epoch_ = epoch.get<std::int64_t>();
        }
        for (auto& issue : after.validate()) {
            issues.push_back(std::move(issue));
        }
        if (!issues.empty()) {
            throw SpecError(subject, std::move(issues));
        }
        for (const auto& w : wrap_legacy_load_scripts(ctx.dir)) {
            std::string line = subject + ": wrote ";
            line += w;
            ctx.logger.info(line);
        }
        std::error_code ec;
        if (!fs::is_regular_file(ctx.dir / "load_package.m", ec)) {
            throw BuildError(package, subject + ": " + method_name() +
                                          " left no load_package.m (nor a legacy setup.m or "
                                          "load.m) at the root of " +
                                          ctx.dir.string() + log_hint);
        }
        spec_ = std::move(after);
        // The scratch space served this recipe only.
        for (const auto& d : {cwd, tmp}) {
            std::error_code ignore;
            fs::remove_all(d, ignore);
        }
    }

    [[nodiscard]] std::vector<MirroredFetch> mirrored_fetches() const override { return mirrored_; }

    /// New entries in the watched directories: written by this recipe when it ran alone (then
    /// removed, and the build fails); otherwise possibly by a recipe running alongside, so they
    /// are left in place and named in a warning.
    void check_escapes(const std::string& package,
                       const std::vector<fs::path>& watched,
                       const std::vector<std::set<std::string>>& before,
                       const std::vector<std::string>& alongside,
                       const Logger& logger) const {
        std::vector<fs::path> appeared;
        for (std::size_t w = 0; w < watched.size(); ++w) {
            for (const auto& name : foreign_entries(watched[w])) {
                if (before[w].count(name) == 0) {
                    appeared.push_back(watched[w] / name);
                }
            }
        }
        if (appeared.empty()) {
            return;
        }
        std::string list;
        for (const auto& p : appeared) {
            list += (list.empty() ? "" : ", ") + p.string();
        }
        if (!alongside.empty()) {
            std::string names;
            for (const auto& n : alongside) {
                names += (names.empty() ? "" : ", ") + n;
            }
            logger.warning(package + ": " + list + " appeared outside the package directories " +
                           "while " + setup_->file_name + " ran alongside " + names +
                           "; left in place (it cannot be told which recipe wrote it)");
            return;
        }
        for (const auto& p : appeared) {
            std::error_code ignore;
            fs::remove_all(p, ignore);
        }
        throw BuildError(package, setup_->file_name + " wrote outside its package directory (" +
                                      list +
                                      "; removed). Write into mhl_dir, the working directory or "
                                      "a temporary directory.");
    }

private:
    /// The helpers' fetches over plain http:// (their warning went to the recipe log): one
    /// warning each for the run's output, with the sha256 the lock pins.
    static void warn_plain_http(const BuildContext& ctx,
                                const std::string& subject,
                                const Json& sources) {
        for (const auto& s : sources) {
            if (!s.is_object() || !s.contains("url") || !s["url"].is_string()) {
                continue;
            }
            const auto url = s["url"].get<std::string>();
            if (url.rfind("http://", 0) != 0) {
                continue;
            }
            std::string pinned =
                s.contains("sha256") && s["sha256"].is_string()
                    ? " (sha256 " + s["sha256"].get<std::string>() + ", recorded in the lock)"
                    : "";
            std::string message = subject + ": downloaded over plain http: ";
            message += detail::redact_url(url);
            message += pinned;
            message += "; --require-https refuses it";
            ctx.logger.warning(message);
        }
    }

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
    std::vector<MirroredFetch> mirrored_;
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
        // Loading runs the recipe's module-level code: in a private, empty cwd too.
        detail::TempDir tmp;
        detail::create_dirs(tmp.path() / "cwd");
        WorkerEnvironment wenv{ctx.build_type, ctx.recipe_dir, {}, ctx.pass_env, {}, {}, {}, false};
        WorkerOutcome outcome = run_worker(*setup_, {"load", "--recipe", recipe_file.string()},
                                           tmp.path() / "load.json", tmp.path() / "cwd",
                                           worker_environment(*setup_, ctx.environment, wenv),
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
                                           ? "packages[" + std::to_string(index).append("]")
                                           : std::string("Package"));
            std::string subject = label;
            subject += ": ";
            subject += file_subject;
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
