// What today's mip client expects of a package (current_format.hpp).
#include "detail/current_format.hpp"

#include <algorithm>
#include <regex>

#include <mip/error.hpp>

#include "detail/fs.hpp"
#include "detail/text.hpp"

namespace mip::detail {

namespace fs = std::filesystem;

// NOLINTNEXTLINE(bugprone-easily-swappable-parameters): the file name's order, documented.
std::string current_archive_stem(const std::string& name,
                                 const std::string& version,
                                 const std::string& architecture) {
    std::string n = name;
    std::replace(n.begin(), n.end(), '-', '_');
    return n + "-" + version + "-" + architecture;
}

std::string current_entry_name(const std::string& name, const std::string& rel) {
    return name + "/" + rel;
}

fs::path current_install_dir(const fs::path& root,
                             const std::string& owner,
                             const std::string& channel,
                             const std::string& name) {
    return root / "packages" / "gh" / owner / channel / name;
}

fs::path current_path_dir(const fs::path& install_dir,
                          const std::string& name,
                          const std::string& path) {
    return path == "." ? install_dir / name : install_dir / name / path;
}

std::string current_architecture(const PackageSpec& spec) { return spec.platform_tag; }

namespace {

/// The `addpath` lines `create_load_and_unload_scripts` writes, back into relative paths.
std::optional<std::vector<std::string>> paths_from_load_script(const std::string& text) {
    static const std::regex root_line(R"(^addpath\(fileparts\(mfilename\('fullpath'\)\)\);$)");
    static const std::regex sub_line(
        R"(^addpath\(fullfile\(fileparts\(mfilename\('fullpath'\)\), '((?:[^']|'')*)'\)\);$)");
    std::vector<std::string> out;
    for (const auto& line : split(text, '\n')) {
        std::smatch m;
        if (line.empty()) {
            continue;
        }
        if (std::regex_match(line, root_line)) {
            out.emplace_back(".");
        } else if (std::regex_match(line, m, sub_line)) {
            std::string p = m[1];
            for (std::size_t at = p.find("''"); at != std::string::npos;
                 at = p.find("''", at + 1)) {
                p.erase(at, 1);
            }
            out.push_back(p);
        } else {
            return std::nullopt;
        }
    }
    return out;
}

std::optional<Json> extra(const PackageSpec& spec, const std::string& key) {
    for (const auto& [k, v] : spec.extra_fields) {
        if (k == key) {
            return Json::parse(v);
        }
    }
    return std::nullopt;
}

}  // namespace

std::vector<std::string> current_paths(const PackageSpec& spec, const fs::path& prepared_dir) {
    if (auto recorded = extra(spec, "paths"); recorded && recorded->is_array()) {
        std::vector<std::string> out;
        for (const auto& p : *recorded) {
            if (p.is_string()) {
                out.push_back(p.get<std::string>());
            }
        }
        return out;
    }
    auto load = prepared_dir / "load_package.m";
    if (fs::is_regular_file(load)) {
        if (auto parsed = paths_from_load_script(read_file(load))) {
            return *parsed;
        }
    }
    throw SpecError(spec.name + ": " + load.string(),
                    {{"paths",
                      "the current format needs the package's paths: mip.json records "
                      "none and load_package.m is not libmip's generated one"}});
}

Json current_mip_json(const PackageSpec& spec,
                      const std::vector<std::string>& paths,
                      const std::string& timestamp) {
    Json j = Json::object();
    j["name"] = spec.name;
    j["version"] = spec.version.empty() ? std::string("unspecified") : spec.version;
    j["description"] = spec.description;
    j["architecture"] = current_architecture(spec);
    j["dependencies"] = spec.dependencies;
    j["paths"] = paths;
    j["extra_paths"] = extra(spec, "extra_paths").value_or(Json::object());
    j["license"] = spec.license;
    j["homepage"] = spec.homepage;
    j["repository"] = spec.repository;
    j["install_type"] = "mhl";
    j["timestamp"] = timestamp;
    if (spec.compile_script) {
        j["compile_script"] = *spec.compile_script;
    }
    for (const char* key : {"test_script", "source_hash", "commit_hash"}) {
        if (auto v = extra(spec, key); v && v->is_string()) {
            j[key] = *v;
        }
    }
    return j;
}

int compare_versions(const std::string& a, const std::string& b) {
    static const std::regex numeric("^[0-9]+(\\.[0-9]+)*$");
    if (std::regex_match(a, numeric) && std::regex_match(b, numeric)) {
        auto pa = split(a, '.');
        auto pb = split(b, '.');
        for (std::size_t i = 0; i < std::max(pa.size(), pb.size()); ++i) {
            auto x = i < pa.size() ? pa[i] : std::string("0");
            auto y = i < pb.size() ? pb[i] : std::string("0");
            x.erase(0, std::min(x.find_first_not_of('0'), x.size() - 1));
            y.erase(0, std::min(y.find_first_not_of('0'), y.size() - 1));
            if (x.size() != y.size()) {
                return x.size() < y.size() ? -1 : 1;
            }
            if (x != y) {
                return x < y ? -1 : 1;
            }
        }
        return 0;
    }
    return a < b ? -1 : (a == b ? 0 : 1);
}

}  // namespace mip::detail
