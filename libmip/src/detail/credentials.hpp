#pragma once
// Private: what keeps credentials held by this process from the processes it starts —
// capabilities dropped in each child before exec, and a non-dumpable window while recipe code
// runs (docs/ci.md, "What a recipe can reach").

#include "detail/env.hpp"

namespace mip::detail {

/// In a forked child, before exec (async-signal-safe, allocates nothing): empties the capability
/// bounding set, the ambient, inheritable, permitted and effective sets, and sets
/// `PR_SET_NO_NEW_PRIVS`, so the program (even as uid 0) cannot ptrace-read its ancestors or
/// regain privileges through a set-uid file. Steps the kernel refuses (no CAP_SETPCAP) are
/// skipped: an unprivileged child has nothing to drop.
void drop_privileges_before_exec() noexcept;

/// While alive and `env` holds a credential: this process is non-dumpable (other processes
/// of the same uid cannot read its memory or environment). Restores the previous state after.
class NonDumpableWhile {
public:
    explicit NonDumpableWhile(const Environment& env);
    ~NonDumpableWhile();
    NonDumpableWhile(const NonDumpableWhile&) = delete;
    NonDumpableWhile& operator=(const NonDumpableWhile&) = delete;
    NonDumpableWhile(NonDumpableWhile&&) = delete;
    NonDumpableWhile& operator=(NonDumpableWhile&&) = delete;

private:
    int previous_ = -1;  ///< -1: nothing changed
};

/// True when a variable of `env` is a credential (`is_credential_name`) with a value.
[[nodiscard]] bool holds_credentials(const Environment& env);

}  // namespace mip::detail
