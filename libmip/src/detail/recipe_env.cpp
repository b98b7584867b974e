#include "detail/recipe_env.hpp"

#include <algorithm>
#include <array>

#include <mip/error.hpp>

#include "detail/git.hpp"
#include "detail/git_source.hpp"

namespace mip::detail {

namespace {

constexpr std::array<const char*, 6> credentials = {
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",         "AWS_SESSION_TOKEN", "GITHUB_TOKEN",
    "GH_TOKEN",          "ACTIONS_ID_TOKEN_REQUEST_TOKEN"};

bool is_variable_name(const std::string& s) {
    auto alpha = [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
    };
    return !s.empty() && alpha(s[0]) && std::all_of(s.begin(), s.end(), [&](char c) {
        return alpha(c) || (c >= '0' && c <= '9');
    });
}

}  // namespace

bool is_credential_name(const std::string& name) {
    return std::any_of(credentials.begin(), credentials.end(),
                       [&](const char* c) { return name == c; });
}

void check_pass_env(const std::vector<std::string>& names) {
    std::vector<Issue> issues;
    for (const auto& name : names) {
        if (!is_variable_name(name)) {
            issues.push_back({name, "is not a valid variable name"});
        } else if (is_credential_name(name)) {
            issues.push_back({name, "is a credential and cannot be passed to recipes"});
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
