#pragma once
// Private: what recipe processes (prescripts, Python recipe workers) may see beyond the fixed
// pass-through set: `--pass-env` names, checked with the rule `script_env` follows (a variable
// name; credentials refused), and the git settings that route their own git clones through the
// source mirrors.

#include <string>
#include <vector>

#include <mip/source_mirror.hpp>

#include "detail/env.hpp"

namespace mip::detail {

/// Names that never reach recipe code (`script_env`, `--pass-env`).
[[nodiscard]] bool is_credential_name(const std::string& name);

/// Throws SpecError (subject `--pass-env`) listing every name that is not a variable name or is
/// a credential.
void check_pass_env(const std::vector<std::string>& names);

/// Isolated git configuration for the git children of recipe code (prepare-stages §3.4: no user
/// or system config, no prompts, the forced settings) plus `url.<mirror>.insteadOf=<original>`
/// for each source mirror, as `GIT_CONFIG_*` variables.
[[nodiscard]] Environment recipe_git_environment(const std::vector<SourceMirror>& mirrors);

}  // namespace mip::detail
