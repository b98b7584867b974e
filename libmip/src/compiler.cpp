#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <cmath>
#include <exception>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <string_view>
#include <system_error>
#include <utility>

#include <mip/compiler.hpp>
#include <mip/error.hpp>
#include <mip/package_spec.hpp>

#include "detail/credentials.hpp"
#include "detail/engine_items.hpp"
#include "detail/env.hpp"
#include "detail/fs.hpp"
#include "detail/json.hpp"
#include "detail/octave_mex.hpp"
#include "detail/process.hpp"
#include "detail/progress.hpp"
#include "detail/text.hpp"

namespace mip {

namespace fs = std::filesystem;
using detail::Environment;
using detail::Json;

namespace {

/// §3.9: names handed through from the caller's environment (values are never recorded).
constexpr std::array<std::string_view, 15> pass_through_names = {
    "PATH",   "HOME",    "USER",    "USERNAME",         "LOGNAME",
    "TMPDIR", "TMP",     "TEMP",    "SYSTEMROOT",       "SYSTEMDRIVE",
    "WINDIR", "COMSPEC", "PATHEXT", "MLM_LICENSE_FILE", "LM_LICENSE_FILE"};

/// Set by libmip; script_env.json may not override them.
constexpr std::array<std::string_view, 3> fixed_names = {"TZ", "SOURCE_DATE_EPOCH",
                                                         "TOOLCHAIN_ARCH"};

/// MEX binaries removed before compiling (lower case).
constexpr std::array<std::string_view, 9> mex_extensions = {".mexa64",    ".mexglx", ".mexmaci64",
                                                            ".mexmaca64", ".mexmac", ".mexw64",
                                                            ".mexw32",    ".mex",    ".oct"};

constexpr std::size_t failure_tail_lines = 30;

bool is_fixed_name(std::string_view name) {
    return std::find(fixed_names.begin(), fixed_names.end(), name) != fixed_names.end();
}

bool is_mex_binary(const fs::path& path) {
    const std::string ext = detail::ascii_lower(path.extension().string());
    return std::find(mex_extensions.begin(), mex_extensions.end(), ext) != mex_extensions.end();
}

/// argv as a shell would read it (for logs and dry runs).
std::string display_command(const std::vector<std::string>& argv) {
    std::string out;
    for (const auto& arg : argv) {
        if (!out.empty()) {
            out += ' ';
        }
        bool plain = !arg.empty() && std::all_of(arg.begin(), arg.end(), [](char ch) {
            auto c = static_cast<unsigned char>(ch);
            return std::isalnum(c) != 0 ||
                   std::string_view("-_./=:,+@%").find(ch) != std::string_view::npos;
        });
        if (plain) {
            out += arg;
            continue;
        }
        out += '"';
        for (char c : arg) {
            if (c == '"' || c == '\\' || c == '$' || c == '`') {
                out += '\\';
            }
            out += c;
        }
        out += '"';
    }
    return out;
}

std::string format_seconds(double seconds) {
    std::ostringstream s;
    s.setf(std::ios::fixed);
    s.precision(2);
    s << seconds;
    return s.str();
}

/// One prepared `.dir` that has a compile script.
struct Candidate {
    fs::path dir;  ///< absolute
    fs::path work_dir;
    std::string wheel;
    std::string package;
    std::string script = "compile.m";
    std::string platform_tag = "any";
    std::optional<std::int64_t> source_date_epoch;
    std::vector<std::string> keep_prebuilt;
    std::string problem;  ///< non-empty: fails without running (metadata unusable)
};

std::string string_field(const Json& doc, const char* key, const std::string& fallback) {
    auto it = doc.find(key);
    if (it == doc.end() || it->is_null()) {
        return fallback;
    }
    if (!it->is_string()) {
        throw SpecError("mip.json", {{key, "must be a string"}});
    }
    return it->get<std::string>();
}

/// Reads what the compile stage needs from mip.json into `c` (throws SpecError).
void read_metadata(const Json& doc, Candidate& c) {
    if (!doc.is_object()) {
        throw SpecError("mip.json", {{"", "must be a JSON object"}});
    }
    WheelName wheel;
    wheel.name = string_field(doc, "name", "");
    wheel.version = string_field(doc, "version", "unspecified");
    wheel.matlab_tag = string_field(doc, "matlab_tag", "any");
    wheel.abi_tag = string_field(doc, "abi_tag", "none");
    wheel.platform_tag = string_field(doc, "platform_tag", "any");
    if (wheel.name.empty()) {
        throw SpecError("mip.json", {{"name", "is required"}});
    }
    c.package = wheel.name;
    c.platform_tag = wheel.platform_tag;
    if (wheel.str() != c.wheel) {
        throw SpecError("mip.json",
                        {{"name", "describes " + wheel.str() + ", not the directory's wheel"}});
    }
    c.script = string_field(doc, "compile_script", "compile.m");
    if (auto it = doc.find("keep_prebuilt"); it != doc.end() && !it->is_null()) {
        if (!it->is_array()) {
            throw SpecError("mip.json", {{"keep_prebuilt", "must be a list of paths"}});
        }
        for (const auto& item : *it) {
            if (!item.is_string()) {
                throw SpecError("mip.json", {{"keep_prebuilt", "must be a list of paths"}});
            }
            c.keep_prebuilt.push_back(item.get<std::string>());
        }
    }
    if (auto bi = doc.find("build_info"); bi != doc.end() && bi->is_object()) {
        if (auto e = bi->find("source_date_epoch"); e != bi->end() && e->is_number()) {
            double value = e->get<double>();
            if (value < 0 || std::floor(value) != value) {
                throw SpecError("mip.json", {{"build_info.source_date_epoch",
                                              "must be a non-negative integer"}});
            }
            c.source_date_epoch = static_cast<std::int64_t>(value);
        }
    }
}

/// The script's stem, or a problem for names MATLAB cannot run as `cd(...); <stem>`.
std::string check_script_name(const std::string& script) {
    if (script.size() < 3 || script.substr(script.size() - 2) != ".m") {
        return "compile_script '" + script + "' must be a .m file at the .dir root";
    }
    const std::string stem = script.substr(0, script.size() - 2);
    if (!detail::is_identifier(stem, detail::IdentifierRule::matlab)) {
        return "compile_script '" + script +
               "' must be named like a MATLAB identifier (letters, digits, '_')";
    }
    return {};
}

/// Lists the `.dir`s under `prepared_dir` that have a compile script, sorted.
std::vector<Candidate> find_candidates(const fs::path& prepared_dir, const Logger& logger) {
    std::error_code ec;
    if (!fs::is_directory(prepared_dir, ec)) {
        // As bundle: no prepared packages (e.g. every one was a cache hit) is not an error.
        logger.info("compile: " + prepared_dir.string() + " does not exist; nothing to compile");
        return {};
    }
    const fs::path root = fs::absolute(prepared_dir).lexically_normal();
    std::vector<fs::path> dirs;
    for (fs::directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
        const auto name = it->path().filename().string();
        std::error_code type_ec;
        if (name.size() > 4 && name.front() != '.' && name.substr(name.size() - 4) == ".dir" &&
            it->is_directory(type_ec)) {
            dirs.push_back(it->path());
        }
    }
    if (ec) {
        throw IoError("cannot list directory", root.string(), ec);
    }
    std::sort(dirs.begin(), dirs.end(),
              [](const fs::path& a, const fs::path& b) { return a.filename() < b.filename(); });

    std::vector<Candidate> out;
    for (const auto& dir : dirs) {
        Candidate c;
        c.dir = dir;
        c.wheel = std::string(strip_wheel_suffix(dir.filename().string()));
        c.work_dir = dir.parent_path() / (c.wheel + ".work");
        try {
            c.package = WheelName::parse(c.wheel).name;
        } catch (const SpecError&) {
            c.package.clear();
        }
        const fs::path mip_json = dir / "mip.json";
        bool declared = false;
        if (!fs::exists(mip_json)) {
            c.problem = "mip.json is missing";
        } else {
            try {
                const Json doc = detail::parse_json(detail::read_file(mip_json), mip_json.string());
                read_metadata(doc, c);
                declared = doc.contains("compile_script") && !doc["compile_script"].is_null();
            } catch (const Error& e) {
                c.problem = e.what();
            }
        }
        const bool present = fs::is_regular_file(dir / c.script);
        if (!present && !declared) {
            logger.debug(c.wheel + ": no " + c.script + ", nothing to compile");
            continue;
        }
        if (c.problem.empty() && !present) {
            c.problem = "compile_script '" + c.script + "' is declared but missing from the .dir";
        }
        if (c.problem.empty()) {
            c.problem = check_script_name(c.script);
        }
        out.push_back(std::move(c));
    }
    return out;
}

bool is_kept(const std::string& relative, const std::vector<std::string>& keep) {
    return std::any_of(keep.begin(), keep.end(), [&](std::string k) {
        while (!k.empty() && k.back() == '/') {
            k.pop_back();
        }
        return !k.empty() && (relative == k ||
                              (relative.size() > k.size() &&
                               relative.compare(0, k.size(), k) == 0 && relative[k.size()] == '/'));
    });
}

/// Removes MEX binaries left in `dir` (not `keep`); returns their relative paths, sorted.
std::vector<std::string> remove_stale_mex(const fs::path& dir,
                                          const std::vector<std::string>& keep) {
    std::vector<fs::path> found;
    std::error_code ec;
    for (fs::recursive_directory_iterator it(dir, fs::directory_options::none, ec), end;
         !ec && it != end; it.increment(ec)) {
        if (!it->is_directory(ec) || it->is_symlink(ec)) {
            if (is_mex_binary(it->path())) {
                found.push_back(it->path());
            }
        }
    }
    if (ec) {
        throw IoError("cannot list directory", dir.string(), ec);
    }
    std::vector<std::string> removed;
    for (const auto& path : found) {
        std::string relative = detail::relative_generic(path, dir);
        if (is_kept(relative, keep)) {
            continue;
        }
        if (!fs::remove(path, ec) && ec) {
            throw IoError("cannot remove stale MEX file", path.string(), ec);
        }
        removed.push_back(std::move(relative));
    }
    std::sort(removed.begin(), removed.end());
    return removed;
}

/// Places `key: value` right after `after` (or at the end) in an ordered object; an existing
/// key keeps its position.
void set_after(Json& object, const std::string& key, Json value, const std::string& after) {
    if (object.contains(key) || !object.contains(after)) {
        object[key] = std::move(value);
        return;
    }
    Json rebuilt = Json::object();
    for (auto it = object.begin(); it != object.end(); ++it) {
        rebuilt[it.key()] = std::move(it.value());
        if (it.key() == after) {
            rebuilt[key] = value;  // once: keys are unique
        }
    }
    object = std::move(rebuilt);
}

/// Records the compile in mip.json: parse, set two fields, write temp + rename.
void record_compile(const fs::path& mip_json, double seconds, const std::string& engine) {
    Json doc = detail::parse_json(detail::read_file(mip_json), mip_json.string());
    if (!doc.is_object()) {
        throw SpecError(mip_json.string(), {{"", "must be a JSON object"}});
    }
    set_after(doc, "compile_duration", std::round(seconds * 100.0) / 100.0, "prepare_duration");
    auto bi = doc.find("build_info");
    if (bi == doc.end() || !bi->is_object()) {
        // Keys before build_info in the §3 table; it goes after the last one present.
        std::string after;
        for (const char* key :
             {"source", "mhl_size", "mhl_sha256", "mhl_url", "compile_duration"}) {
            if (doc.contains(key)) {
                after = key;
                break;
            }
        }
        Json fresh = Json::object();
        fresh["compile_engine"] = engine;
        if (bi != doc.end()) {
            doc["build_info"] = std::move(fresh);  // null or malformed: replaced in place
        } else {
            set_after(doc, "build_info", std::move(fresh), after);
        }
    } else {
        (*bi)["compile_engine"] = engine;
    }
    detail::write_file_atomic(mip_json, detail::dump_pretty(doc));
}

/// The engine's environment (§3.9), from the caller's `source` environment.
Environment compile_environment(const Candidate& c,
                                const Environment& source,
                                const std::vector<std::string>& pass_env,
                                const Logger& logger) {
    Environment env;
    auto pass = [&](const std::string& name) {
        if (auto value = detail::env_find(source, name)) {
            env[name] = *value;
        }
    };
    for (auto name : pass_through_names) {
        pass(std::string(name));
    }
    for (const auto& name : pass_env) {
        if (!is_fixed_name(name)) {
            pass(name);
        }
    }
    env["TZ"] = "UTC";
    env["TOOLCHAIN_ARCH"] = c.platform_tag;
    if (c.source_date_epoch) {
        env["SOURCE_DATE_EPOCH"] = std::to_string(*c.source_date_epoch);
    }
    const fs::path script_env = c.work_dir / "script_env.json";
    if (!fs::exists(script_env)) {
        return env;
    }
    const Json doc = detail::parse_json(detail::read_file(script_env), script_env.string());
    if (!doc.is_object()) {
        throw SpecError(script_env.string(), {{"", "must be a JSON object of strings"}});
    }
    for (auto it = doc.begin(); it != doc.end(); ++it) {
        if (!detail::is_identifier(it.key(), detail::IdentifierRule::c)) {
            throw SpecError(script_env.string(), {{it.key(), "is not a valid variable name"}});
        }
        if (!it.value().is_string()) {
            throw SpecError(script_env.string(), {{it.key(), "must be a string"}});
        }
        if (is_fixed_name(it.key())) {
            logger.warning(c.wheel + ": script_env may not override " + it.key() + "; ignored");
            continue;
        }
        env[it.key()] = it.value().get<std::string>();
    }
    return env;
}

std::string stem_of(const std::string& script) { return script.substr(0, script.size() - 2); }

void append_text(const fs::path& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary | std::ios::app);
    out << text;
    if (!out) {
        throw IoError("cannot write log file", path.string());
    }
}

/// Writes `<wheel>.work/compile.failed`; never throws (the failure is already being reported).
void write_failure_marker(const Candidate& c, const std::string& reason, const Logger& logger) {
    try {
        detail::create_dirs(c.work_dir);
        detail::write_file_atomic(c.work_dir / "compile.failed", reason + "\n", false);
    } catch (const std::exception& e) {
        logger.error(c.wheel + ": cannot write compile.failed: " + e.what());
    }
}

/// Compiles one package; never throws.
ItemResult compile_one(const Candidate& c,
                       const CompileEngine& engine,
                       const Environment& source,
                       const CompileOptions& options,
                       const std::vector<std::string>& pass_env,
                       const Logger& logger,
                       const std::atomic<bool>* cancel) {
    ItemResult r;
    r.package = c.package;
    r.wheel = c.wheel;
    r.path = c.dir.string();
    auto fail = [&](ErrorCode code, const std::string& reason) {
        r.status = ItemStatus::failed;
        r.error_code = code;
        r.detail = reason;
        write_failure_marker(c, reason, logger);
        logger.error(reason.substr(0, reason.find('\n')));  // the output's tail is in `detail`
        return r;
    };
    const std::string label = (c.package.empty() ? c.wheel : c.package);
    if (!c.problem.empty()) {
        return fail(ErrorCode::invalid_spec, label + ": " + c.problem);
    }
    try {
        const std::string dir_text = c.dir.string();
        if (dir_text.find_first_of("\n\r") != std::string::npos) {
            return fail(ErrorCode::invalid_spec, label + ": the .dir path contains a line break");
        }
        detail::create_dirs(c.work_dir);
        detail::ProcessOptions run;
        run.env = compile_environment(c, source, pass_env, logger);
        run.argv = engine.command(c.dir, stem_of(c.script));
        if (engine.kind == EngineKind::octave) {  // MATLAB's mex convention (octave_mex.hpp)
            run.argv.back() =
                detail::install_octave_mex_shim(c.work_dir / "octave-mex") + run.argv.back();
        }
        run.cwd = c.dir;
        run.timeout = std::chrono::seconds(options.compile_timeout);
        run.capture_limit = 1 << 16;  // the whole output is in compile.log; keep a tail here
        const fs::path log_path = c.work_dir / "compile.log";
        run.log_file = log_path;
        run.cancel = cancel;  // Ctrl-C / a throwing progress callback kills the engine

        const auto removed = remove_stale_mex(c.dir, c.keep_prebuilt);
        std::string header = "# mip-build compile " + c.wheel +
                             "\n# engine: " + engine.description() + "\n# cwd: " + dir_text +
                             "\n# command: " + display_command(run.argv) + "\n# environment:";
        for (const auto& entry : run.env) {
            header += " " + entry.first;
        }
        header += "\n";
        for (const auto& path : removed) {
            header += "# removed stale MEX binary: " + path + "\n";
        }
        if (!removed.empty()) {
            logger.info(c.wheel + ": removed " + std::to_string(removed.size()) +
                        " stale MEX binar" + (removed.size() == 1 ? "y" : "ies") +
                        " before compiling");
        }
        detail::write_file_atomic(log_path, header, false);
        logger.info(c.wheel + ": running " + c.script + " with " + engine.description());

        const auto start = std::chrono::steady_clock::now();
        const detail::ProcessResult result = detail::run_process(run);
        const double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        r.seconds = seconds;
        append_text(log_path,
                    std::string(result.output.empty() || result.output.back() == '\n' ? "" : "\n") +
                        "# " + result.status_text() + " (" + format_seconds(seconds) + " s)\n");
        if (!result.ok()) {
            std::string reason = label + ": " + c.script + " failed with " + engine.description() +
                                 " (" + result.status_text() + "); full output in " +
                                 log_path.string();
            const std::string tail = detail::tail_lines(result.output, failure_tail_lines);
            if (!tail.empty()) {
                reason += "\n" + tail;
                if (reason.back() == '\n') {
                    reason.pop_back();
                }
            }
            return fail(ErrorCode::build_failed, reason);
        }
        record_compile(c.dir / "mip.json", seconds, engine.description());
        const fs::path marker = c.work_dir / "compile.failed";
        std::error_code ec;
        if (fs::remove(marker, ec)) {
            logger.debug(c.wheel + ": removed stale compile.failed");
        }
        r.status = ItemStatus::done;
        r.detail =
            "compiled with " + engine.description() + " in " + format_seconds(seconds) + " s";
        logger.info(c.wheel + ": " + r.detail);
        return r;
    } catch (const Error& e) {
        return fail(e.code(), label + ": " + e.what());
    } catch (const std::exception& e) {
        return fail(ErrorCode::internal, label + ": " + e.what());
    }
}

bool selected(const Candidate& c,
              const std::set<std::string>& wanted,
              const std::optional<Shard>& shard) {
    if (!wanted.empty() &&
        (c.package.empty() || wanted.count(normalize_package_name(c.package)) == 0)) {
        return false;
    }
    return !shard || shard->contains(c.package);
}

}  // namespace

Compiler::Compiler(CompileOptions options, RunOptions run)
    : options_(std::move(options)), run_(std::move(run)) {}

StageReport Compiler::compile() {
    const CompileOptions& c_opts = options_;
    const RunOptions& o = run_;
    StageReport report;
    report.stage = "compile";
    report.dry_run = o.dry_run;

    std::set<std::string> wanted;
    for (const auto& name : o.package) {
        wanted.insert(normalize_package_name(name));
    }
    std::vector<Candidate> all = find_candidates(c_opts.input_dir, o.logger);
    std::vector<Candidate> work;
    std::set<std::string> matched;
    for (auto& c : all) {
        if (!c.package.empty()) {
            matched.insert(normalize_package_name(c.package));
        }
        if (selected(c, wanted, o.shard)) {
            work.push_back(std::move(c));
        }
    }
    for (const auto& name : o.package) {
        if (matched.count(normalize_package_name(name)) == 0) {
            o.logger.info("compile: " + name + " has no prepared .dir with a compile script");
        }
    }

    const Environment source = detail::resolve_environment(o.environment);
    const detail::NonDumpableWhile sealed(source);  // compile scripts run below
    std::optional<CompileEngine> engine;
    if (!work.empty()) {
        if (o.dry_run) {
            try {
                engine = find_compile_engine(c_opts.engine, source, false);
            } catch (const SpecError& e) {
                o.logger.warning(std::string("compile (dry run): ") + e.what());
            }
        } else {
            engine = find_compile_engine(c_opts.engine, source, true);
            if (engine->version.empty()) {
                o.logger.warning("compile: could not read the version of " +
                                 engine->executable.string());
            }
            o.logger.info("compile: using " + engine->description() + " (" +
                          engine->executable.string() + ")");
        }
    }

    std::vector<detail::EngineItem> items;
    items.reserve(work.size());
    for (const auto& c : work) {
        items.push_back({c.package, c.wheel, c.dir});
    }

    detail::ProgressEmitter progress(o.progress, "compile", work.size());

    std::atomic<bool> cancel{false};  // set when a progress callback throws (Ctrl-C)
    auto run_item = [&](std::size_t i) -> ItemResult {
        const Candidate& c = work[i];
        ItemResult result;
        if (o.dry_run) {
            result.package = c.package;
            result.wheel = c.wheel;
            result.path = c.dir.string();
            if (!c.problem.empty()) {
                result.status = ItemStatus::failed;
                result.error_code = ErrorCode::invalid_spec;
                result.detail = (c.package.empty() ? c.wheel : c.package) + ": " + c.problem;
            } else {
                result.status = ItemStatus::planned;
                result.detail =
                    engine
                        ? "would run " + display_command(engine->command(c.dir, stem_of(c.script)))
                        : "would run " + c.script + " (no engine found)";
            }
        } else {
            result = compile_one(c, *engine, source, c_opts, o.pass_env, o.logger, &cancel);
        }
        return result;
    };
    report.items = detail::run_engine_items(items, o, progress, cancel, run_item);
    return report;
}

}  // namespace mip
