#include "detail/credentials.hpp"

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>

#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <mip/credentials.hpp>

#include "detail/recipe_env.hpp"

extern char** environ;  // NOLINT: POSIX

namespace mip::detail {

namespace {

// One count for the whole process: overlapping guards (parallel verbs in one Python host) keep
// it non-dumpable until the last one ends.
std::mutex dumpable_mutex;     // NOLINT(cppcoreguidelines-avoid-non-const-global-variables)
int dumpable_holders = 0;      // NOLINT(cppcoreguidelines-avoid-non-const-global-variables)
int dumpable_before = -1;      // NOLINT(cppcoreguidelines-avoid-non-const-global-variables)
bool sealed_for_life = false;  // NOLINT(cppcoreguidelines-avoid-non-const-global-variables)

/// [env_start, env_end) of this process: the environment block the kernel shows as
/// /proc/self/environ (fields 50 and 51 of /proc/self/stat).
bool environment_block(std::uintptr_t& start, std::uintptr_t& end) {
    std::ifstream in("/proc/self/stat");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto paren = text.rfind(')');
    if (paren == std::string::npos) {
        return false;
    }
    std::istringstream fields(text.substr(paren + 1));
    std::string field;
    for (int n = 3; fields >> field; ++n) {  // the first field after ')' is field 3
        if (n == 50) {
            start = std::stoull(field);
        } else if (n == 51) {
            end = std::stoull(field);
            return start != 0 && end > start;
        }
    }
    return false;
}

void zero_value(char* entry) {
    char* eq = std::strchr(entry, '=');
    if (eq != nullptr) {
        std::memset(eq + 1, 0, std::strlen(eq + 1));
    }
}

}  // namespace

void drop_privileges_before_exec() noexcept {
    for (unsigned long cap = 0; cap <= 63; ++cap) {
        if (::prctl(PR_CAPBSET_DROP, cap, 0UL, 0UL, 0UL) != 0 && errno == EINVAL) {
            break;  // past the last capability this kernel knows
        }
    }
    (void)::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0UL, 0UL, 0UL);
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2] = {};
    (void)::syscall(SYS_capset, &header, data);
    (void)::prctl(PR_SET_NO_NEW_PRIVS, 1UL, 0UL, 0UL, 0UL);
}

bool holds_credentials(const Environment& env) {
    for (const auto& [name, value] : env) {
        if (!value.empty() && is_credential_name(name)) {
            return true;
        }
    }
    return false;
}

NonDumpableWhile::NonDumpableWhile(const Environment& env) {
    if (!holds_credentials(env)) {
        return;
    }
    std::lock_guard lock(dumpable_mutex);
    if (dumpable_holders++ == 0 && !sealed_for_life) {
        dumpable_before = ::prctl(PR_GET_DUMPABLE, 0UL, 0UL, 0UL, 0UL);
        (void)::prctl(PR_SET_DUMPABLE, 0UL, 0UL, 0UL, 0UL);
    }
    previous_ = 1;
}

NonDumpableWhile::~NonDumpableWhile() {
    if (previous_ < 0) {
        return;
    }
    std::lock_guard lock(dumpable_mutex);
    if (--dumpable_holders == 0 && !sealed_for_life && dumpable_before > 0) {
        (void)::prctl(PR_SET_DUMPABLE, static_cast<unsigned long>(dumpable_before), 0UL, 0UL, 0UL);
    }
}

}  // namespace mip::detail

namespace mip {

std::vector<std::string> seal_process_credentials() {
    std::vector<std::string> names;
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
        const char* eq = std::strchr(*e, '=');
        if (eq != nullptr && eq[1] != '\0') {
            std::string name(*e, static_cast<std::size_t>(eq - *e));
            if (detail::is_credential_name(name)) {
                names.push_back(name);
            }
        }
    }
    if (names.empty()) {
        return names;
    }
    {
        std::lock_guard lock(detail::dumpable_mutex);
        detail::sealed_for_life = true;
        (void)::prctl(PR_SET_DUMPABLE, 0UL, 0UL, 0UL, 0UL);
    }
    // The original block first (the kernel reads /proc/<pid>/environ from there, whatever
    // `environ` points to now), then whatever `environ` points to, then the entries themselves.
    std::uintptr_t start = 0;
    std::uintptr_t end = 0;
    if (detail::environment_block(start, end)) {
        char* p = reinterpret_cast<char*>(start);  // NOLINT: our own stack, mapped read-write
        char* const stop = reinterpret_cast<char*>(end);  // NOLINT
        while (p < stop) {
            std::size_t len = ::strnlen(p, static_cast<std::size_t>(stop - p));
            const char* eq = static_cast<const char*>(std::memchr(p, '=', len));
            if (eq != nullptr &&
                detail::is_credential_name(std::string(p, static_cast<std::size_t>(eq - p)))) {
                std::memset(p + (eq - p) + 1, 0, len - static_cast<std::size_t>(eq - p) - 1);
            }
            p += len + 1;
        }
    }
    for (const auto& name : names) {
        for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
            if (std::strncmp(*e, name.c_str(), name.size()) == 0 && (*e)[name.size()] == '=') {
                detail::zero_value(*e);
            }
        }
        ::unsetenv(name.c_str());
    }
    return names;
}

}  // namespace mip
