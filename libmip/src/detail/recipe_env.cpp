#include "detail/recipe_env.hpp"

#include <algorithm>
#include <array>

#include <mip/error.hpp>

#include "detail/git.hpp"
#include "detail/git_source.hpp"

namespace mip::detail {

namespace {

// The credential list: names that are secrets whatever they look like.
constexpr std::array<const char*, 12> credential_list = {"AWS_ACCESS_KEY_ID",
                                                         "AWS_SECRET_ACCESS_KEY",
                                                         "AWS_SESSION_TOKEN",
                                                         "AWS_SECURITY_TOKEN",
                                                         "GITHUB_TOKEN",
                                                         "GH_TOKEN",
                                                         "GH_ENTERPRISE_TOKEN",
                                                         "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
                                                         "ACTIONS_ID_TOKEN_REQUEST_URL",
                                                         "ACTIONS_RUNTIME_TOKEN",
                                                         "CLOUDFLARE_API_TOKEN",
                                                         "R2_ACCESS_KEY_ID"};
// The credential pattern: parts of a name that mark a secret.
constexpr std::array<const char*, 6> credential_words = {"SECRET", "PASSWORD",   "PASSWD",
                                                         "TOKEN",  "CREDENTIAL", "PRIVATE_KEY"};
constexpr std::array<const char*, 4> credential_suffixes = {"_KEY", "_KEY_ID", "_PASS", "_PWD"};
// Variables that decide which program runs or what it loads.
constexpr std::array<const char*, 11> control_list = {
    "PATH", "PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONUSERBASE", "BASH_ENV",
    "ENV",  "IFS",        "SHELLOPTS",  "PERL5OPT",      "NODE_OPTIONS"};
constexpr std::array<const char*, 3> control_prefixes = {"LD_", "DYLD_", "GIT_CONFIG"};

std::string upper(const std::string& s) {
    std::string out = s;
    for (auto& c : out) {
        if (c >= 'a' && c <= 'z') {
            c = static_cast<char>(c - 'a' + 'A');
        }
    }
    return out;
}

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() &&
           s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

/// Why `name` is a credential, or "" if it is not.
std::string credential_reason(const std::string& name) {
    const std::string u = upper(name);
    for (const char* c : credential_list) {
        if (u == c) {
            return "is a credential (on the credential list)";
        }
    }
    for (const char* w : credential_words) {
        if (u.find(w) != std::string::npos) {
            return std::string("is a credential (the name contains '") + w + "')";
        }
    }
    for (const char* sfx : credential_suffixes) {
        if (ends_with(u, sfx)) {
            return std::string("is a credential (the name ends in '") + sfx + "')";
        }
    }
    return {};
}

bool is_variable_name(const std::string& s) {
    auto alpha = [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
    };
    return !s.empty() && alpha(s[0]) && std::all_of(s.begin(), s.end(), [&](char c) {
        return alpha(c) || (c >= '0' && c <= '9');
    });
}

}  // namespace

std::optional<std::string> refused_variable(const std::string& name) {
    if (auto why = credential_reason(name); !why.empty()) {
        return why + " and cannot be passed to recipes";
    }
    for (const char* c : control_list) {
        if (name == c) {
            return std::string(
                "decides what programs run or load (on the list of process-control "
                "variables) and cannot be passed to recipes");
        }
    }
    for (const char* p : control_prefixes) {
        if (name.rfind(p, 0) == 0) {
            return std::string("decides what programs run or load (the name starts with '") + p +
                   "') and cannot be passed to recipes";
        }
    }
    return std::nullopt;
}

bool is_credential_name(const std::string& name) { return !credential_reason(name).empty(); }

void check_pass_env(const std::vector<std::string>& names) {
    std::vector<Issue> issues;
    for (const auto& name : names) {
        if (!is_variable_name(name)) {
            issues.push_back({name, "is not a valid variable name"});
        } else if (auto why = refused_variable(name)) {
            issues.push_back({name, *why});
        }
    }
    if (!issues.empty()) {
        throw SpecError("--pass-env", issues);
    }
}

Environment recipe_git_environment(const std::vector<SourceMirror>& mirrors) {
    Environment env;
    env["GIT_CONFIG_NOSYSTEM"] = "1";
    env["GIT_CONFIG_GLOBAL"] = "/dev/null";
    env["GIT_TERMINAL_PROMPT"] = "0";
    std::vector<std::pair<std::string, std::string>> config = forced_git_config();
    for (auto& setting : mirror_git_config(mirrors)) {
        config.push_back(std::move(setting));
    }
    env["GIT_CONFIG_COUNT"] = std::to_string(config.size());
    for (std::size_t i = 0; i < config.size(); ++i) {
        env["GIT_CONFIG_KEY_" + std::to_string(i)] = config[i].first;
        env["GIT_CONFIG_VALUE_" + std::to_string(i)] = config[i].second;
    }
    return env;
}

}  // namespace mip::detail
