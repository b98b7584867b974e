#pragma once
// Keeping the process's own credentials away from the recipe code it runs (docs/ci.md).

#include <string>
#include <vector>

namespace mip {

/// For a process that holds credentials in its environment and runs untrusted recipe code
/// (`mip-build` calls it once its environment is snapshotted by
/// `PipelineOptions::from_environment()`): when a credential variable (the rule of `script_env`
/// and `--pass-env`) is set, marks the process non-dumpable for the rest of its life (no core
/// file; `/proc/<pid>/mem` and `environ` unreadable for processes without `CAP_SYS_PTRACE`),
/// overwrites those values with zero bytes in the original environment block (what
/// `/proc/<pid>/environ` shows) and removes them from `environ`. Returns the names scrubbed.
/// Recipe and compile processes are started without capabilities and with `no_new_privs`
/// regardless, so they cannot ptrace-read their ancestors even as root.
std::vector<std::string> seal_process_credentials();

}  // namespace mip
