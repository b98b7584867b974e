#include "recipe_python_worker.hpp"

#include <array>
#include <iterator>
#include <utility>

#include <mip/error.hpp>

#include "detail/env.hpp"
#include "detail/fs.hpp"
#include "detail/recipe_env.hpp"
#include "detail/text.hpp"

namespace mip::detail::python_worker {

namespace {

/// Variables a recipe process inherits from the caller's environment (besides script_env).
constexpr std::array<const char*, 25> pass_through_env = {
    "PATH",       "HOME",          "USER",         "USERNAME",       "LOGNAME",
    "TMPDIR",     "TMP",           "TEMP",         "SYSTEMROOT",     "SYSTEMDRIVE",
    "WINDIR",     "COMSPEC",       "PATHEXT",      "LANG",           "MIP_PLATFORM_TAG",
    "http_proxy", "https_proxy",   "no_proxy",     "HTTP_PROXY",     "HTTPS_PROXY",
    "NO_PROXY",   "SSL_CERT_FILE", "SSL_CERT_DIR", "CURL_CA_BUNDLE", "SOURCE_DATE_EPOCH"};

}  // namespace

// The recipe process's environment: a pass-through subset of `env`, the `--pass-env` names,
// fixed variables, PYTHONPATH, isolated git config (with the source mirrors as `insteadOf`),
// then the declared script_env values.
std::map<std::string, std::string> worker_environment(const WorkerSetup& setup,
                                                      const std::map<std::string, std::string>& env,
                                                      const WorkerEnvironment& w) {
    std::map<std::string, std::string> out;
    for (const char* name : pass_through_env) {
        if (auto v = env_find(env, name)) {
            out[name] = *v;
        }
    }
    for (const auto& name : w.pass_env) {
        if (auto v = env_find(env, name)) {
            out[name] = *v;
        }
    }
    if (out.find("PATH") == out.end()) {
        out["PATH"] = "/usr/local/bin:/usr/bin:/bin";
    }
    std::string python_path = setup.options.python_path;
    if (auto existing = env_find(env, "PYTHONPATH"); existing && !existing->empty()) {
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
    out["BUILD_TYPE"] = w.build_type;
    out["MIP_RECIPE_DIR"] = w.recipe_dir.string();
    if (!w.tmp_dir.empty()) {
        out["TMPDIR"] = w.tmp_dir.string();
    }
    // The recipe's own git children (`subprocess.run(["git", "clone", ...])`) ignore the user's
    // and system's git config and fetch through the mirrors; the helpers read
    // MIP_SOURCE_MIRRORS, and the worker routes `requests` through it.
    for (auto& [k, v] : recipe_git_environment(w.mirrors)) {
        out[k] = v;
    }
    if (!w.mirrors.empty()) {
        out["MIP_SOURCE_MIRRORS"] = format_source_mirrors(w.mirrors);
    }
    // download_and_extract_zip() applies the run's archive limits (--max-download-mib...).
    const auto& l = w.archive_limits;
    out["MIP_ARCHIVE_LIMITS"] = "max_download_mib=" + std::to_string(l.max_download_mib) +
                                " max_extract_mib=" + std::to_string(l.max_extract_mib) +
                                " max_archive_entries=" + std::to_string(l.max_archive_entries) +
                                " max_compression_ratio=" + std::to_string(l.max_compression_ratio);
    if (w.require_https) {
        out["MIP_REQUIRE_HTTPS"] = "1";
    }
    for (const auto& name : w.script_env) {
        if (auto v = env_find(env, name)) {
            out[name] = *v;
        }
    }
    return out;
}

WorkerOutcome run_worker(const WorkerSetup& setup,
                         std::vector<std::string> args,
                         // NOLINTNEXTLINE(bugprone-easily-swappable-parameters)
                         const fs::path& result_path,
                         const fs::path& cwd,
                         std::map<std::string, std::string> env,
                         std::chrono::seconds timeout,
                         std::optional<fs::path> log_file,
                         const std::atomic<bool>* cancel) {
    std::error_code ec;
    fs::remove(result_path, ec);
    ProcessOptions po;
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
    po.capture_limit = std::size_t{64} * 1024;
    po.cancel = cancel;
    WorkerOutcome out;
    out.process = run_process(po);
    if (!out.process.timed_out && fs::is_regular_file(result_path, ec)) {
        out.result = parse_json(read_file(result_path), result_path.filename().string());
        fs::remove(result_path, ec);
    }
    return out;
}

// Turns a worker that produced no usable result into a BuildError.
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
        const std::string tail = tail_lines(p.output, 20);
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

}  // namespace mip::detail::python_worker
