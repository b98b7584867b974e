// A channel tree's release folder read into typed values, every problem collected with its file
// and field (recipe_channel_schema.hpp). The builds that run it are in recipe_channel.cpp.
#include "recipe_channel_schema.hpp"

#include <algorithm>
#include <regex>
#include <set>

#include <yaml-cpp/yaml.h>

#include <mip/error.hpp>

#include "detail/fs.hpp"
#include "detail/yaml_reader.hpp"

namespace mip::detail {

namespace {

namespace fs = std::filesystem;

/// `paths`-like lists: `[{path, recursive?}]` (a bare string is accepted as `{path: s}`).
std::vector<ChannelPath> read_paths(YamlReader& r, const YAML::Node& n, const std::string& field) {
    std::vector<ChannelPath> out;
    if (!r.is_set(n)) {
        return out;
    }
    if (!n.IsSequence()) {
        r.add(field, "must be a list of {path, recursive}");
        return out;
    }
    for (std::size_t i = 0; i < n.size(); ++i) {
        auto f = field + "[" + std::to_string(i) + "]";
        ChannelPath p;
        if (n[i].IsScalar()) {
            p.path = n[i].Scalar();
        } else if (n[i].IsMap()) {
            r.known_keys(n[i], f, {"path", "recursive"});
            p.path = r.str(n[i]["path"], f + ".path");
            p.recursive = r.boolean(n[i]["recursive"], f + ".recursive", false);
            if (!r.is_set(n[i]["path"])) {
                r.add(f + ".path", "is required");
                continue;
            }
        } else {
            r.add(f, "must be a {path, recursive} mapping");
            continue;
        }
        if (p.path != "." && !safe_relative(p.path)) {
            r.add(f + ".path", "'" + p.path + "' must be a relative path inside the package");
            continue;
        }
        out.push_back(p);
    }
    return out;
}

/// Relative paths that must stay inside the source root (`remove_dirs`, `remove_files`).
std::vector<std::string> read_relative_list(YamlReader& r,
                                            const YAML::Node& n,
                                            const std::string& field) {
    auto items = r.str_list(n, field);
    std::vector<std::string> out;
    for (std::size_t i = 0; i < items.size(); ++i) {
        auto norm = fs::path(items[i]).lexically_normal().generic_string();
        if (!safe_relative(items[i]) || norm == "." || norm.empty()) {
            r.add(field + "[" + std::to_string(i) + "]",
                  "'" + items[i] + "' must be a relative path inside the source");
        } else {
            out.push_back(items[i]);
        }
    }
    return out;
}

void read_metadata(YamlReader& r, const YAML::Node& root, ChannelRecipe& out) {
    r.known_keys(root, "",
                 {"name", "version", "description", "license", "homepage", "repository",
                  "dependencies", "paths", "extra_paths", "builds"});
    auto& s = out.base;
    s.name = r.str(root["name"], "name");
    static const std::regex name_rule("^[A-Za-z0-9]([-A-Za-z0-9_]*[A-Za-z0-9])?$");
    if (!r.is_set(root["name"])) {
        r.add("name", "is required");
    } else if (!std::regex_match(s.name, name_rule)) {
        r.add("name",
              "'" + s.name +
                  "' must match ^[A-Za-z0-9]([-A-Za-z0-9_]*[A-Za-z0-9])?$ (letters, digits, "
                  "'-' and '_', starting and ending with a letter or digit)");
    }
    s.description = r.str(root["description"], "description");
    s.license = r.str(root["license"], "license", "unspecified");
    if (s.license.empty()) {
        s.license = "unspecified";
    }
    s.homepage = r.str(root["homepage"], "homepage");
    s.repository = r.str(root["repository"], "repository");
    s.dependencies = r.str_list(root["dependencies"], "dependencies");
    auto version = r.str(root["version"], "version");
    // §1: a numeric release must equal a set version; a non-numeric one wins; blank takes it.
    if (!version.empty() && !numeric_release(version)) {
        r.add("version", "'" + version + "' must be blank or numeric (digits and dots)");
    } else if (numeric_release(out.release) && !version.empty() && version != out.release) {
        r.add("version", "'" + version + "' differs from its release folder '" + out.release +
                             "' (a numeric release folder must equal the version)");
    }
    s.version = out.release;
    out.paths = read_paths(r, root["paths"], "paths");
    if (!r.is_set(root["paths"])) {
        out.paths.push_back({".", false});
    }
    auto ep = root["extra_paths"];
    if (r.is_set(ep)) {
        if (!ep.IsMap()) {
            r.add("extra_paths", "must be a mapping of group → list of {path, recursive}");
        } else {
            static const std::regex group_rule("^[A-Za-z0-9_-]+$");
            for (const auto& kv : ep) {
                auto group = kv.first.Scalar();
                if (!std::regex_match(group, group_rule)) {
                    r.add("extra_paths", "group '" + group + "' must be letters, digits, - and _");
                    continue;
                }
                out.extra_paths.emplace_back(group,
                                             read_paths(r, kv.second, "extra_paths." + group));
            }
            std::sort(out.extra_paths.begin(), out.extra_paths.end(),
                      [](const auto& a, const auto& b) { return a.first < b.first; });
        }
    }
}

/// A script named by a build: a file name inside the source root.
std::optional<std::string> read_script(YamlReader& r, const YAML::Node& n, const std::string& f) {
    auto v = r.opt_str(n, f);
    if (v && (!safe_relative(*v) || fs::path(*v).extension() != ".m")) {
        r.add(f, "'" + *v + "' must be a relative path to a .m file inside the source");
        return std::nullopt;
    }
    return v;
}

void read_builds(YamlReader& r, const YAML::Node& root, ChannelRecipe& out) {
    auto b = root["builds"];
    if (!r.is_set(b)) {
        r.add("builds", "is required (a list of {architectures, compile_script?, test_script?})");
        return;
    }
    if (!b.IsSequence() || b.size() == 0) {
        r.add("builds", "must be a non-empty list");
        return;
    }
    const auto& known = channel_architectures();
    std::set<std::string> declared;
    for (std::size_t i = 0; i < b.size(); ++i) {
        auto f = "builds[" + std::to_string(i) + "]";
        if (!b[i].IsMap()) {
            r.add(f, "must be a mapping");
            continue;
        }
        r.known_keys(b[i], f, {"architectures", "compile_script", "test_script", "paths"});
        ChannelBuildSpec bs;
        bs.architectures = r.str_list(b[i]["architectures"], f + ".architectures");
        if (bs.architectures.empty()) {
            r.add(f + ".architectures", "must list at least one architecture");
        }
        for (std::size_t k = 0; k < bs.architectures.size(); ++k) {
            const auto& a = bs.architectures[k];
            auto af = f + ".architectures[" + std::to_string(k) + "]";
            if (std::find(known.begin(), known.end(), a) == known.end()) {
                r.add(af, "'" + a +
                              "' is not an architecture (any, linux_x86_64, macos_arm64, "
                              "macos_x86_64, windows_x86_64, numbl_wasm)");
            } else if (!declared.insert(a).second) {
                r.add(af, "'" + a + "' is declared by two builds");
            }
        }
        bs.compile_script = read_script(r, b[i]["compile_script"], f + ".compile_script");
        bs.test_script = read_script(r, b[i]["test_script"], f + ".test_script");
        if (r.is_set(b[i]["paths"])) {
            bs.paths = read_paths(r, b[i]["paths"], f + ".paths");
        }
        out.builds.push_back(std::move(bs));
    }
}

void read_source(YamlReader& r, const YAML::Node& root, ChannelSource& out) {
    r.known_keys(root, "", {"source"});
    auto s = root["source"];
    if (!r.is_set(s) || !s.IsMap()) {
        r.add("source", "is required: a mapping with one of git, zip or tarball");
        return;
    }
    r.known_keys(s, "source",
                 {"git", "zip", "tarball", "branch", "subdirectory", "submodules", "remove_dirs",
                  "remove_files"});
    int kinds = 0;
    for (const char* k : {"git", "zip", "tarball"}) {
        if (r.is_set(s[k])) {
            ++kinds;
            out.kind = k;
        }
    }
    if (kinds != 1) {
        r.add("source", "must name exactly one of git, zip or tarball");
        return;
    }
    out.url = r.str(s[out.kind], "source." + out.kind);
    static const std::regex url_rule("^(https?|file)://[^\\s]+$");
    bool local_git = out.kind == "git" && !out.url.empty() && out.url.front() == '/';
    if (!local_git && !std::regex_match(out.url, url_rule)) {
        r.add("source." + out.kind, "'" + out.url +
                                        "' must be an https://, http:// or file:// URL" +
                                        (out.kind == "git" ? " (or an absolute local path)" : ""));
    }
    if (out.kind != "git") {
        for (const char* k : {"branch", "subdirectory", "submodules"}) {
            if (r.is_set(s[k])) {
                r.add(std::string("source.") + k, "applies to git sources only");
            }
        }
    }
    out.branch = r.opt_str(s["branch"], "source.branch");
    if (out.branch && (out.branch->empty() || out.branch->front() == '-')) {
        r.add("source.branch", "'" + *out.branch + "' is not a branch or tag name");
    }
    out.subdirectory = r.str(s["subdirectory"], "source.subdirectory");
    if (!out.subdirectory.empty() && !safe_relative(out.subdirectory)) {
        r.add("source.subdirectory",
              "'" + out.subdirectory + "' must be a relative path inside the repository");
    }
    out.submodules = r.boolean(s["submodules"], "source.submodules", false);
    out.remove_dirs = read_relative_list(r, s["remove_dirs"], "source.remove_dirs");
    out.remove_files = read_relative_list(r, s["remove_files"], "source.remove_files");
}

}  // namespace

const std::vector<std::string>& channel_architectures() {
    static const std::vector<std::string> all = {"any",          "linux_x86_64",   "macos_arm64",
                                                 "macos_x86_64", "windows_x86_64", "numbl_wasm"};
    return all;
}

bool numeric_release(const std::string& release) {
    static const std::regex numeric("^[0-9]+(\\.[0-9]+)*$");
    return std::regex_match(release, numeric);
}

ChannelRecipe read_channel_recipe(const RecipeContext& ctx) {
    ChannelRecipe out;
    const auto& dir = ctx.recipe_dir;
    out.release = dir.filename().string();
    auto folder = dir.parent_path().filename().string() + "/" + out.release;
    out.subject = folder + "/mip.yaml";
    auto mip_text = read_file(dir / "mip.yaml");
    auto mip_root = parse_root(mip_text, out.subject);
    std::vector<Issue> issues;
    YamlReader r(issues);
    if (auto p = check_version(out.release); !p.empty()) {
        issues.push_back({"release folder", "'" + out.release + "' " + p});
    }
    read_metadata(r, mip_root, out);
    read_builds(r, mip_root, out);
    auto package = dir.parent_path().filename().string();
    if (!out.base.name.empty() && out.base.name != package) {
        issues.push_back(
            {"name", "'" + out.base.name + "' differs from its package folder '" + package + "'"});
    }
    const std::string who = out.base.name.empty() ? package : out.base.name;
    if (!issues.empty()) {
        throw SpecError(who + ": " + out.subject, issues);
    }
    auto source_subject = folder + "/source.yaml";
    if (!fs::is_regular_file(dir / "source.yaml")) {
        throw SpecError(who + ": " + source_subject,
                        {{"", "is missing (every release folder needs mip.yaml and source.yaml)"}});
    }
    auto source_root = parse_root(read_file(dir / "source.yaml"), source_subject);
    read_source(r, source_root, out.source);
    if (!issues.empty()) {
        throw SpecError(who + ": " + source_subject, issues);
    }
    for (const auto& rel : list_tree(dir)) {
        if (rel != "mip.yaml" && rel != "source.yaml") {
            out.overlay_files.push_back(rel);
        }
    }
    return out;
}

}  // namespace mip::detail
