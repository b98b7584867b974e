#include "detail/env.hpp"

#include <charconv>

#include <mip/error.hpp>
#include <mip/run_options.hpp>

extern char** environ;  // NOLINT: POSIX

namespace mip::detail {

Environment process_environment() {
    Environment env;
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
        std::string entry(*e);
        auto eq = entry.find('=');
        if (eq == std::string::npos || eq == 0) {
            continue;
        }
        env.emplace(entry.substr(0, eq), entry.substr(eq + 1));
    }
    return env;
}

std::string env_get(const Environment& env, const std::string& name) {
    auto it = env.find(name);
    return it == env.end() ? std::string() : it->second;
}

std::optional<std::string> env_find(const Environment& env, const std::string& name) {
    auto it = env.find(name);
    if (it == env.end()) {
        return std::nullopt;
    }
    return it->second;
}

Environment resolve_environment(const std::optional<Environment>& options) {
    return options ? *options : process_environment();
}

std::int64_t parse_epoch(const std::string& text, const std::string& origin) {
    std::int64_t value = -1;
    const char* b = text.data();
    const char* e = b + text.size();
    auto r = std::from_chars(b, e, value);
    if (text.empty() || r.ec != std::errc{} || r.ptr != e || value < 0) {
        throw SpecError(origin,
                        {{"SOURCE_DATE_EPOCH",
                          "'" + text + "' is not a non-negative integer number of seconds"}});
    }
    return checked_source_date_epoch(value, origin);
}

}  // namespace mip::detail
