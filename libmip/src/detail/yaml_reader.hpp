#pragma once
// Private: reading YAML recipe files into typed values with every problem collected as an
// `Issue` naming its field path. Shared by prepare.yaml (recipe_yaml_schema.cpp) and the
// channel tree's mip.yaml/source.yaml (recipe_channel_schema.cpp).

#include <cstdint>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include <mip/error.hpp>

namespace mip::detail {

/// Reads typed values out of YAML, collecting every problem with its field path.
class YamlReader {
public:
    explicit YamlReader(std::vector<Issue>& issues) : issues_(issues) {}

    [[nodiscard]] bool is_set(const YAML::Node& n) const { return n.IsDefined() && !n.IsNull(); }

    std::string str(const YAML::Node& n,
                    // NOLINTNEXTLINE(bugprone-easily-swappable-parameters)
                    const std::string& field,
                    const std::string& fallback = {}) {
        if (!is_set(n)) {
            return fallback;
        }
        if (!n.IsScalar()) {
            issues_.push_back({field, "must be a string"});
            return fallback;
        }
        return n.Scalar();
    }
    std::optional<std::string> opt_str(const YAML::Node& n, const std::string& field) {
        if (!is_set(n)) {
            return std::nullopt;
        }
        return str(n, field);
    }
    bool boolean(const YAML::Node& n, const std::string& field, bool fallback) {
        if (!is_set(n)) {
            return fallback;
        }
        bool v = fallback;
        if (!n.IsScalar() || !YAML::convert<bool>::decode(n, v)) {
            issues_.push_back({field, "must be true or false"});
        }
        return v;
    }
    std::int64_t integer(const YAML::Node& n, const std::string& field, std::int64_t fallback) {
        if (!is_set(n)) {
            return fallback;
        }
        std::int64_t v = fallback;
        if (!n.IsScalar() || !YAML::convert<std::int64_t>::decode(n, v)) {
            issues_.push_back({field, "must be an integer"});
        }
        return v;
    }
    std::vector<std::string> str_list(const YAML::Node& n, const std::string& field) {
        std::vector<std::string> out;
        if (!is_set(n)) {
            return out;
        }
        if (!n.IsSequence()) {
            issues_.push_back({field, "must be a list of strings"});
            return out;
        }
        for (std::size_t i = 0; i < n.size(); ++i) {
            if (!n[i].IsScalar()) {
                issues_.push_back({field + "[" + std::to_string(i) + "]", "must be a string"});
            } else {
                out.push_back(n[i].Scalar());
            }
        }
        return out;
    }
    void known_keys(const YAML::Node& map,
                    const std::string& where,
                    const std::set<std::string>& keys) {
        if (!map.IsMap()) {
            return;
        }
        std::string known;
        for (const auto& k : keys) {
            known += (known.empty() ? "" : ", ") + k;
        }
        const std::string problem = "is not a known key (expected: " + known + ")";
        for (const auto& kv : map) {
            auto k = kv.first.Scalar();
            if (keys.count(k) == 0) {
                std::string field = where;
                if (!field.empty()) {
                    field += '.';
                }
                field += k;
                issues_.push_back({field, problem});
            }
        }
    }
    void add(const std::string& field, const std::string& problem) {
        if (!problem.empty()) {
            issues_.push_back({field, problem});
        }
    }

private:
    std::vector<Issue>& issues_;
};

/// A relative `/`-separated path that stays inside its root (no leading `/`, no `\\`, no
/// climbing out with `..`).
[[nodiscard]] bool safe_relative(const std::string& p);

/// Parses YAML text whose root must be a mapping (SpecError naming `subject` otherwise), and
/// checks it against alias amplification.
[[nodiscard]] YAML::Node parse_root(const std::string& text, const std::string& subject);

}  // namespace mip::detail
