#pragma once
// Private: what recipe processes (prescripts, Python recipe workers) may see beyond the fixed
// pass-through set: `--pass-env` names, checked with the rule `script_env` follows (a variable
// name; credentials refused), and the git settings that route their own git clones through the
// source mirrors.

#include <optional>
#include <string>
#include <vector>

#include <mip/source_mirror.hpp>

#include "detail/env.hpp"

namespace mip::detail {

/// The one rule for names recipe code may be handed (`script_env` of every recipe kind,
/// `--pass-env`): nullopt when allowed, else why not, naming the rule — a credential (by list:
/// AWS_*, GitHub tokens…; by pattern: a name containing SECRET, PASSWORD, PASSWD, TOKEN,
/// CREDENTIAL, PRIVATE_KEY, or ending in _KEY / _KEY_ID / _PASS / _PWD), or a variable that
/// decides what a process runs (by list: PATH, PYTHONPATH, BASH_ENV…; by pattern: LD_*, DYLD_*,
/// GIT_CONFIG*). `name` is assumed to be a valid variable name.
[[nodiscard]] std::optional<std::string> refused_variable(const std::string& name);

/// The credential part of that rule: names whose values are secrets (never passed to recipes,
/// scrubbed from the process's own environment block by `seal_process_credentials`).
[[nodiscard]] bool is_credential_name(const std::string& name);

/// Throws SpecError (subject `--pass-env`) listing every name that is not a variable name or is
/// a credential.
void check_pass_env(const std::vector<std::string>& names);

/// Isolated git configuration for the git children of recipe code (prepare-stages §3.4: no user
/// or system config, no prompts, the forced settings) plus `url.<mirror>.insteadOf=<original>`
/// for each source mirror, as `GIT_CONFIG_*` variables.
[[nodiscard]] Environment recipe_git_environment(const std::vector<SourceMirror>& mirrors);

}  // namespace mip::detail
