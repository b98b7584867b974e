#include "detail/yaml_expansion.hpp"

#include <vector>

#include <mip/error.hpp>

namespace mip::detail {

void check_yaml_expansion(const YAML::Node& root,
                          const std::string& origin,
                          const YamlExpansionLimits& limits) {
    std::uint64_t nodes = 0;
    std::uint64_t bytes = 0;
    auto refuse = [&](const std::string& what) {
        throw SpecError(origin, {{"", "expands through its aliases (*name) to more than " + what +
                                          "; a recipe or lock never needs that many (alias "
                                          "amplification, a \"billion laughs\" document?)"}});
    };
    std::vector<YAML::Node> pending{root};
    while (!pending.empty()) {
        YAML::Node n = pending.back();
        pending.pop_back();
        if (++nodes > limits.max_nodes) {
            refuse(std::to_string(limits.max_nodes) + " nodes");
        }
        switch (n.Type()) {
            case YAML::NodeType::Scalar:
                bytes += n.Scalar().size();
                if (bytes > limits.max_scalar_bytes) {
                    refuse(std::to_string(limits.max_scalar_bytes >> 20) + " MiB of text");
                }
                break;
            case YAML::NodeType::Sequence:
                for (const auto& item : n) {
                    pending.push_back(item);
                }
                break;
            case YAML::NodeType::Map:
                for (const auto& kv : n) {
                    pending.push_back(kv.first);
                    pending.push_back(kv.second);
                }
                break;
            case YAML::NodeType::Null:
            case YAML::NodeType::Undefined:
                break;
        }
    }
}

}  // namespace mip::detail
