#include "detail/yaml_expansion.hpp"

#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <mip/error.hpp>

namespace mip::detail {

namespace {

// What a reader sees below one node: the node itself, every node under it (each alias counted as
// its whole value) and their scalar text.
struct Expansion {
    std::uint64_t nodes = 0;
    std::uint64_t bytes = 0;
};

// yaml-cpp has no public node identity, but an alias *is* its anchored node (the builder hands
// out the same detail::node), and Tag() returns a reference into that node's own data: its
// address identifies the node for as long as the tree lives.
const void* identity(const YAML::Node& n) { return &n.Tag(); }

std::vector<YAML::Node> children(const YAML::Node& n) {
    std::vector<YAML::Node> out;
    if (n.IsSequence()) {
        for (const auto& item : n) {
            out.push_back(item);
        }
    } else if (n.IsMap()) {
        for (const auto& kv : n) {
            out.push_back(kv.first);
            out.push_back(kv.second);
        }
    }
    return out;
}

struct Frame {
    YAML::Node node;
    std::vector<YAML::Node> children;
    std::size_t next = 0;
    Expansion sum;
};

}  // namespace

// Depth first over the distinct nodes, each one's expansion computed once and reused wherever an
// alias repeats it: the cost is the size of the document, not of its expansion. A node reached
// again while still open is an alias inside its own anchor (`&a [x, *a]`): infinite, refused.
void check_yaml_expansion(const YAML::Node& root,
                          const std::string& origin,
                          const YamlExpansionLimits& limits) {
    auto refuse = [&](const std::string& what) {
        throw SpecError(origin, {{"", "expands through its aliases (*name) to " + what +
                                          "; a recipe or lock never needs that (alias "
                                          "amplification, a \"billion laughs\" document?)"}});
    };
    auto check = [&](const Expansion& e) {
        if (e.nodes > limits.max_nodes) {
            refuse("more than " + std::to_string(limits.max_nodes) + " nodes");
        }
        if (e.bytes > limits.max_scalar_bytes) {
            refuse("more than " + std::to_string(limits.max_scalar_bytes >> 20) + " MiB of text");
        }
    };
    std::unordered_map<const void*, Expansion> done;
    std::unordered_set<const void*> open;
    std::vector<Frame> stack;
    auto enter = [&](const YAML::Node& n) {
        open.insert(identity(n));
        stack.push_back(Frame{n, children(n), 0, {}});
    };
    enter(root);
    while (true) {
        Frame& top = stack.back();
        if (top.next < top.children.size()) {
            const YAML::Node child = top.children[top.next++];
            const void* id = identity(child);
            if (auto it = done.find(id); it != done.end()) {
                top.sum.nodes += it->second.nodes;
                top.sum.bytes += it->second.bytes;
                check(top.sum);
            } else if (open.count(id) != 0) {
                refuse("an infinite tree (an alias inside its own anchor)");
            } else {
                enter(child);
            }
            continue;
        }
        Expansion own = top.sum;
        own.nodes += 1;
        if (top.node.IsScalar()) {
            own.bytes += top.node.Scalar().size();
        }
        check(own);
        const void* id = identity(top.node);
        open.erase(id);
        done.emplace(id, own);
        stack.pop_back();
        if (stack.empty()) {
            return;
        }
        stack.back().sum.nodes += own.nodes;
        stack.back().sum.bytes += own.bytes;
        check(stack.back().sum);
    }
}

}  // namespace mip::detail
