#include "detail/build_info.hpp"

#include <ctime>

#include <zip.h>

#include <mip/error.hpp>

#include "detail/fs.hpp"
#include "detail/git.hpp"
#include "detail/http.hpp"
#include "detail/process.hpp"

namespace mip::detail {

namespace fs = std::filesystem;

namespace {

std::optional<std::string> first_line(const std::string& text) {
    auto line = text.substr(0, text.find('\n'));
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) {
        line.pop_back();
    }
    if (line.empty()) {
        return std::nullopt;
    }
    return line;
}

std::optional<std::string> git_line(const std::vector<std::string>& args,
                                    const fs::path& dir,
                                    const Environment& env) {
    try {
        auto r = run_git(args, dir, env, std::chrono::seconds(10));
        if (!r.ok()) {
            return std::nullopt;
        }
        return first_line(r.output);
    } catch (const Error&) {
        return std::nullopt;
    }
}

/// Value of a variable, or nullopt when unset or empty.
std::optional<std::string> ci_var(const Environment& env, const std::string& name) {
    auto v = env_find(env, name);
    if (!v || v->empty()) {
        return std::nullopt;
    }
    return v;
}

Json opt(const std::optional<std::string>& v) { return v ? Json(*v) : Json(nullptr); }

/// The first line a probe prints, or nullopt (missing tool, failure, timeout).
std::optional<std::string> probe(const std::vector<std::string>& argv, const Environment& env) {
    ProcessOptions p;
    p.argv = argv;
    p.env = env;
    p.env["LC_ALL"] = "C";
    p.timeout = std::chrono::seconds(10);
    p.separate_stderr = true;
    try {
        auto r = run_process(p);
        if (!r.ok()) {
            return std::nullopt;
        }
        return first_line(r.output);
    } catch (const Error&) {
        return std::nullopt;
    }
}

std::optional<std::string> xml_element(const std::string& xml, const std::string& name) {
    auto open = xml.find("<" + name + ">");
    if (open == std::string::npos) {
        return std::nullopt;
    }
    auto start = open + name.size() + 2;
    auto close = xml.find("</" + name + ">", start);
    if (close == std::string::npos) {
        return std::nullopt;
    }
    return xml.substr(start, close - start);
}

}  // namespace

std::string detect_build_type(const Environment& env) {
    if (env_get(env, "GITHUB_ACTIONS") == "true") {
        return "github_actions";
    }
    if (env_get(env, "TRAVIS") == "true") {
        return "travis";
    }
    return "local";
}

namespace {

/// The nearest directory at or above `dir` holding `.git` (a directory, or a file for worktrees
/// and submodules); nullopt when there is none. Found without running git.
std::optional<fs::path> git_top_level(const fs::path& dir) {
    std::error_code ec;
    for (auto p = fs::absolute(dir, ec).lexically_normal(); !ec; p = p.parent_path()) {
        if (fs::exists(p / ".git", ec)) {
            return p;
        }
        if (p == p.parent_path()) {
            break;
        }
    }
    return std::nullopt;
}

RecipeSource repository_facts(const fs::path& recipe_dir, int abbrev, const Environment& env) {
    RecipeSource s;
    s.commit = git_line({"rev-parse", "--verify", "--quiet", "HEAD"}, recipe_dir, env);
    if (!s.commit) {
        return s;
    }
    if (auto url = git_line({"remote", "get-url", "origin"}, recipe_dir, env)) {
        s.repo = redact_url(*url);
    }
    s.branch = git_line({"symbolic-ref", "--short", "-q", "HEAD"}, recipe_dir, env);
    s.describe = git_line({"describe", "--long", "--tags", "--abbrev=" + std::to_string(abbrev)},
                          recipe_dir, env);
    return s;
}

}  // namespace

RecipeSource local_recipe_source(const fs::path& recipe_dir,
                                 int abbrev,
                                 const Environment& env,
                                 std::string& warning,
                                 RecipeRepoCache* cache) {
    RecipeSource s;
    // GIT_DIR / GIT_WORK_TREE would point git elsewhere: then ask git itself every time.
    const bool redirected = env_find(env, "GIT_DIR") || env_find(env, "GIT_WORK_TREE");
    const auto top = redirected ? std::nullopt : git_top_level(recipe_dir);
    if (!redirected && !top) {
        warning = "the recipe directory " + recipe_dir.string() + " is not in a git repository";
        return s;
    }
    if (cache != nullptr && top) {
        std::lock_guard lock(cache->mutex);
        auto it = cache->by_top_level.find(*top);
        if (it == cache->by_top_level.end()) {
            it = cache->by_top_level.emplace(*top, repository_facts(recipe_dir, abbrev, env)).first;
        }
        s = it->second;
    } else {
        s = repository_facts(recipe_dir, abbrev, env);
    }
    if (!s.commit) {
        warning = "the recipe directory " + recipe_dir.string() +
                  " is not in a git repository (or git is missing)";
        return s;
    }
    try {
        // --no-optional-locks: never refresh (write) the user's index.
        auto st = run_git({"--no-optional-locks", "status", "--porcelain", "--", "."}, recipe_dir,
                          env, std::chrono::seconds(10));
        if (st.ok()) {
            s.dirty = !st.output.empty();
        }
    } catch (const Error&) {
    }
    if (auto ct = git_line({"log", "-1", "--format=%ct", "--", "."}, recipe_dir, env)) {
        try {
            s.commit_time = std::stoll(*ct);
        } catch (const std::exception&) {
        }
    }
    return s;
}

RecipeSource ci_recipe_source(const std::string& build_type,
                              RecipeSource local,
                              const Environment& env) {
    if (build_type == "github_actions") {
        auto server = ci_var(env, "GITHUB_SERVER_URL").value_or("https://github.com");
        auto repo = ci_var(env, "GITHUB_REPOSITORY");
        local.repo =
            repo ? std::optional<std::string>(redact_url(server + "/" + *repo)) : std::nullopt;
        if (auto head = ci_var(env, "GITHUB_HEAD_REF")) {
            local.branch = head;
        } else if (env_get(env, "GITHUB_REF").rfind("refs/heads/", 0) == 0) {
            local.branch = ci_var(env, "GITHUB_REF_NAME");
        } else {
            local.branch = std::nullopt;
        }
        local.commit = ci_var(env, "GITHUB_SHA");
    } else if (build_type == "travis") {
        auto slug = ci_var(env, "TRAVIS_REPO_SLUG");
        if (!slug) {
            slug = ci_var(env, "TRAVIS_PULL_REQUEST_SLUG");
        }
        local.repo =
            slug ? std::optional<std::string>("https://github.com/" + *slug) : std::nullopt;
        local.branch = ci_var(env, "TRAVIS_BRANCH");
        local.commit = ci_var(env, "TRAVIS_COMMIT");
    }
    return local;
}

Json ci_object(const std::string& build_type, const Environment& env) {
    std::vector<const char*> names;
    if (build_type == "github_actions") {
        names = {"GITHUB_REF",        "GITHUB_RUN_ID",   "GITHUB_RUN_NUMBER", "GITHUB_RUN_ATTEMPT",
                 "GITHUB_EVENT_NAME", "GITHUB_WORKFLOW", "GITHUB_ACTION"};
    } else if (build_type == "travis") {
        names = {"TRAVIS_JOB_ID", "TRAVIS_JOB_NUMBER", "TRAVIS_EVENT_TYPE"};
    } else {
        return nullptr;
    }
    Json o = Json::object();
    for (const char* n : names) {
        o[n] = opt(ci_var(env, n));
    }
    return o;
}

Toolchain probe_toolchain(const Environment& env) {
    Toolchain t;
    t.mip_build = MIP_VERSION;
    t.libzip = zip_libzip_version();
    t.git = git_version(env);
    auto path = env_get(env, "PATH");
    if (auto matlab = find_executable("matlab", path)) {
        std::error_code ec;
        auto real = fs::canonical(*matlab, ec);
        if (!ec) {
            auto xml_path = real.parent_path().parent_path() / "VersionInfo.xml";
            if (fs::is_regular_file(xml_path)) {
                try {
                    auto xml = read_file(xml_path);
                    t.matlab_release = xml_element(xml, "release");
                    t.matlab_version = xml_element(xml, "version");
                } catch (const Error&) {
                }
            }
        }
    }
    if (auto line = probe({"octave-cli", "--version"}, env)) {
        auto pos = line->rfind("version ");
        t.octave = pos == std::string::npos ? *line : line->substr(pos + 8);
    }
    auto cc = env_get(env, "CC");
    std::vector<std::string> argv;
    std::size_t start = 0;
    while (start < cc.size()) {
        auto end = cc.find(' ', start);
        auto word = cc.substr(start, end == std::string::npos ? std::string::npos : end - start);
        if (!word.empty()) {
            argv.push_back(word);
        }
        start = end == std::string::npos ? cc.size() : end + 1;
    }
    if (argv.empty()) {
        argv.push_back("cc");
    }
    argv.push_back("--version");
    t.compiler = probe(argv, env);
    return t;
}

Json toolchain_json(const Toolchain& t) {
    Json j = Json::object();
    j["mip_build"] = opt(t.mip_build);
    j["libzip"] = opt(t.libzip);
    j["git"] = opt(t.git);
    j["matlab"] = {{"release", opt(t.matlab_release)}, {"version", opt(t.matlab_version)}};
    j["octave"] = opt(t.octave);
    j["compiler"] = opt(t.compiler);
    return j;
}

Toolchain toolchain_from_json(const Json& j) {
    auto get = [](const Json& o, const char* k) -> std::optional<std::string> {
        if (o.is_object() && o.contains(k) && o[k].is_string()) {
            return o[k].get<std::string>();
        }
        return std::nullopt;
    };
    Toolchain t;
    t.mip_build = get(j, "mip_build");
    t.libzip = get(j, "libzip");
    t.git = get(j, "git");
    if (j.is_object() && j.contains("matlab")) {
        t.matlab_release = get(j["matlab"], "release");
        t.matlab_version = get(j["matlab"], "version");
    }
    t.octave = get(j, "octave");
    t.compiler = get(j, "compiler");
    return t;
}

std::string compact_date(std::int64_t epoch) {
    auto t = static_cast<std::time_t>(epoch);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    auto n = std::strftime(buf, sizeof buf, "%Y%m%d_%H%M%S", &tm);
    return std::string(buf, n);
}

Json build_info_document(const std::string& build_type,
                         const RecipeSource& source,
                         const Environment& env,
                         const std::string& toolchain_arch,
                         std::int64_t source_date_epoch,
                         const Toolchain& toolchain) {
    Json doc = Json::object();
    doc["build_type"] = build_type;
    doc["recipe_source"] = {{"repo", opt(source.repo)},
                            {"branch", opt(source.branch)},
                            {"commit", opt(source.commit)},
                            {"describe", opt(source.describe)},
                            {"dirty", source.dirty ? Json(*source.dirty) : Json(nullptr)}};
    if (build_type != "local") {
        doc[build_type] = ci_object(build_type, env);
    }
    doc["toolchain_arch"] = toolchain_arch;
    doc["source_date_epoch"] = source_date_epoch;
    doc["date"] = compact_date(source_date_epoch);
    doc["toolchain"] = toolchain_json(toolchain);
    return doc;
}

}  // namespace mip::detail
