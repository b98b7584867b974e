#include "detail/git.hpp"

#include <algorithm>

#include <mip/error.hpp>

#include "detail/text.hpp"

namespace mip::detail {

const std::vector<std::pair<std::string, std::string>>& forced_git_config() {
    static const std::vector<std::pair<std::string, std::string>> config = {
        {"core.autocrlf", "false"},     {"core.eol", "lf"},
        {"tag.gpgSign", "false"},       {"advice.detachedHead", "false"},
        {"init.defaultBranch", "main"}, {"protocol.file.allow", "always"},
    };
    return config;
}

Environment git_environment(const Environment& base) {
    Environment env;
    for (const auto& [k, v] : base) {
        if (k.rfind("GIT_", 0) == 0 && k.rfind("GIT_TRACE", 0) != 0) {
            continue;
        }
        env[k] = v;
    }
    env["GIT_CONFIG_NOSYSTEM"] = "1";
    env["GIT_CONFIG_GLOBAL"] = "/dev/null";
    env["GIT_TERMINAL_PROMPT"] = "0";
    env["GIT_ASKPASS"] = "/bin/true";
    env["SSH_ASKPASS"] = "/bin/true";
    env["LC_ALL"] = "C";
    env["TZ"] = "UTC";
    const auto& cfg = forced_git_config();
    env["GIT_CONFIG_COUNT"] = std::to_string(cfg.size());
    for (std::size_t i = 0; i < cfg.size(); ++i) {
        env["GIT_CONFIG_KEY_" + std::to_string(i)] = cfg[i].first;
        env["GIT_CONFIG_VALUE_" + std::to_string(i)] = cfg[i].second;
    }
    if (env.find("PATH") == env.end()) {
        env["PATH"] = "/usr/local/bin:/usr/bin:/bin";
    }
    return env;
}

ProcessResult run_git(const std::vector<std::string>& args,
                      const std::filesystem::path& cwd,
                      const Environment& base,
                      std::chrono::seconds timeout,
                      const Environment& extra) {
    return run_git_input(args, cwd, base, std::string(), timeout, extra);
}

ProcessResult run_git_input(const std::vector<std::string>& args,
                            const std::filesystem::path& cwd,
                            const Environment& base,
                            const std::string& input,
                            std::chrono::seconds timeout,
                            const Environment& extra) {
    ProcessOptions p;
    p.stdin_data = input;
    p.argv.push_back("git");
    p.argv.insert(p.argv.end(), args.begin(), args.end());
    p.cwd = cwd;
    p.env = git_environment(base);
    for (const auto& [k, v] : extra) {
        p.env[k] = v;
    }
    p.timeout = timeout;
    p.separate_stderr = true;
    return run_process(p);
}

std::string git_checked(const std::vector<std::string>& args,
                        const std::filesystem::path& cwd,
                        const Environment& base,
                        const std::string& what,
                        std::chrono::seconds timeout,
                        const Environment& extra) {
    auto r = run_git(args, cwd, base, timeout, extra);
    if (!r.ok()) {
        std::string cmd = "git";
        for (const auto& a : args) {
            cmd += " " + a;
        }
        throw BuildError("", what + ": `" + cmd + "` failed (" + r.status_text() +
                                 "): " + tail_lines(r.err.empty() ? r.output : r.err, 5));
    }
    auto out = r.output;
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r' || out.back() == ' ')) {
        out.pop_back();
    }
    return out;
}

std::optional<std::string> git_version(const Environment& base) {
    ProcessResult r;
    try {
        r = run_git({"--version"}, {}, base, std::chrono::seconds(10));
    } catch (const Error&) {  // git is not installed
        return std::nullopt;
    }
    const std::string prefix = "git version ";
    if (!r.ok() || r.output.rfind(prefix, 0) != 0) {
        return std::nullopt;
    }
    auto v = r.output.substr(prefix.size());
    auto end = v.find_first_of(" \r\n");
    return v.substr(0, end);
}

bool version_at_least(const std::string& version, int major, int minor, int patch) {
    int parts[3] = {0, 0, 0};
    std::size_t pos = 0;
    for (int& part : parts) {
        std::size_t digits = 0;
        int value = 0;
        while (pos < version.size() && version[pos] >= '0' && version[pos] <= '9' && digits < 6) {
            value = value * 10 + (version[pos] - '0');
            ++pos;
            ++digits;
        }
        part = value;
        if (pos >= version.size() || version[pos] != '.') {
            break;
        }
        ++pos;
    }
    const int want[3] = {major, minor, patch};
    for (int i = 0; i < 3; ++i) {
        if (parts[i] != want[i]) {
            return parts[i] > want[i];
        }
    }
    return true;
}

bool is_full_commit_id(const std::string& text) {
    return is_lower_hex(text, 40) || is_lower_hex(text, 64);
}

}  // namespace mip::detail
