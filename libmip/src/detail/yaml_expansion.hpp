#pragma once
// Private guard against YAML alias amplification ("billion laughs"): a small document whose
// aliases repeat an anchored value expands, once read or converted, to gigabytes. Every reader of
// YAML text (prepare.yaml, mip.lock.yaml) checks the parsed tree before using it.

#include <cstdint>
#include <string>

#include <yaml-cpp/yaml.h>

namespace mip::detail {

struct YamlExpansionLimits {
    std::uint64_t max_nodes = 1000000;          ///< nodes, each alias counted as its whole value
    std::uint64_t max_scalar_bytes = 16 << 20;  ///< scalar text, aliases counted likewise
};

/// Walks `root` as a reader would see it (an alias visits its anchored value again), stopping as
/// soon as a limit is passed: then SpecError naming `origin`. Cost bounded by the limits.
void check_yaml_expansion(const YAML::Node& root,
                          const std::string& origin,
                          const YamlExpansionLimits& limits = {});

}  // namespace mip::detail
