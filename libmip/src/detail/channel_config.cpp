// channel.yaml (channel_config.hpp).
#include "detail/channel_config.hpp"

#include <regex>
#include <system_error>
#include <vector>

#include <mip/error.hpp>

#include "detail/fs.hpp"
#include "detail/yaml_reader.hpp"

namespace mip::detail {

namespace fs = std::filesystem;

std::optional<fs::path> find_channel_yaml(const fs::path& recipes) {
    std::error_code ec;
    if (auto here = recipes / "channel.yaml"; fs::is_regular_file(here, ec)) {
        return here;
    }
    const auto dir = recipes.lexically_normal();
    const auto name = (dir.has_filename() ? dir : dir.parent_path()).filename();
    if (name == "packages") {
        auto beside = (dir.has_filename() ? dir : dir.parent_path()).parent_path() / "channel.yaml";
        if (fs::is_regular_file(beside, ec)) {
            return beside;
        }
    }
    return std::nullopt;
}

std::string check_compatibility_floor(const std::string& version) {
    static const std::regex numeric("^[0-9]+(\\.[0-9]+)*$");
    if (std::regex_match(version, numeric)) {
        return {};
    }
    return "'" + version + "' is not a numeric version (digits and dots, e.g. 1.2.0)";
}

ChannelConfig read_channel_config(const fs::path& file) {
    ChannelConfig out;
    out.file = file;
    const std::string subject = file.string();
    const auto text = read_file(file);
    try {
        if (YAML::Load(text).IsNull()) {
            return out;  // empty, or comments only: nothing set
        }
    } catch (const YAML::Exception&) {  // parse_root names the problem
    }
    auto root = parse_root(text, subject);
    std::vector<Issue> issues;
    YamlReader r(issues);
    out.compatibility_floor = r.str(root["mip_compatibility_floor"], "mip_compatibility_floor");
    if (issues.empty() && r.is_set(root["mip_compatibility_floor"])) {
        r.add("mip_compatibility_floor", check_compatibility_floor(out.compatibility_floor));
    }
    if (!issues.empty()) {
        throw SpecError(subject, issues);
    }
    return out;
}

}  // namespace mip::detail
