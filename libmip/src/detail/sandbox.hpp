#pragma once
// Private: the test stage's sandbox (tester.hpp, docs/testing.md "The sandbox"). A child started
// by run_process() with a `Sandbox` runs in its own mount and PID namespaces:
//
// - every mount but /proc, /sys, /dev is remounted read-only, except `writable` (bind-mounted
//   onto itself first), so the test cannot write outside its temporary root;
// - /dev/null is bind-mounted over each `deny` executable (compilers, linkers, mkoctfile,
//   mex), so running one fails with "Permission denied";
// - the engine runs as PID 2 under a small init (PID 1) that reaps orphans; when the engine
//   exits while other processes remain, init kills them and exits with `leftover_exit_code`,
//   printing one `mip-test: error:` line.
//
// The namespaces are made in the forked child *before* it drops its capabilities (process.cpp):
// as root directly, otherwise inside a new user namespace mapping the caller's uid onto itself.
// Everything the child needs is prepared here, before fork (nothing allocates after it).

#include <string>
#include <vector>

namespace mip::detail {

/// Exit status of the sandbox's init when the engine left processes behind.
inline constexpr int leftover_exit_code = 125;

struct Sandbox {
    std::string writable;                 ///< absolute; the one tree the child may write
    std::vector<std::string> deny;        ///< absolute real paths covered with /dev/null
    std::vector<std::string> readonly;    ///< mount points remounted read-only
    std::vector<unsigned long> ro_flags;  ///< the mount flags each keeps (nosuid, nodev…)
    std::string uid_map, gid_map;         ///< "<uid> <uid> 1" for the user-namespace path
};

/// The sandbox for a child writing only under `writable`: the mount points from
/// /proc/self/mountinfo, and the real paths of the compilers, linkers and MEX builders found
/// on `path_value` or in the usual directories.
[[nodiscard]] Sandbox make_sandbox(const std::string& writable, const std::string& path_value);

/// In the forked child (async-signal-safe): enters the namespaces and sets up the mounts; in
/// the child that will exec, returns. The processes above it (the one outside the PID
/// namespace and the init) never return: they relay the exit status. On a setup failure the
/// errno goes to `status_fd` and the child exits 127.
void enter_sandbox(const Sandbox& sandbox, int status_fd) noexcept;

}  // namespace mip::detail
