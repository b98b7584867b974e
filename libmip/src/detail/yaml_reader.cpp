// Shared YAML recipe reading helpers (yaml_reader.hpp).
#include "detail/yaml_reader.hpp"

#include "detail/yaml_expansion.hpp"

namespace mip::detail {

namespace fs = std::filesystem;

bool safe_relative(const std::string& p) {
    if (p.empty() || p.front() == '/' || p.find('\\') != std::string::npos) {
        return false;
    }
    auto norm = fs::path(p).lexically_normal().generic_string();
    return norm != ".." && norm.rfind("../", 0) != 0;
}

// NOLINTNEXTLINE(bugprone-easily-swappable-parameters): the text, then what it is
YAML::Node parse_root(const std::string& text, const std::string& subject) {
    YAML::Node root;
    try {
        root = YAML::Load(text);
    } catch (const YAML::Exception& e) {
        throw SpecError(subject, {{"", std::string("is not valid YAML: ") + e.what()}});
    }
    if (!root.IsMap()) {
        throw SpecError(subject, {{"", "must be a mapping of recipe keys"}});
    }
    check_yaml_expansion(root, subject);  // the readers copy every alias
    return root;
}

}  // namespace mip::detail
