// prepare.yaml read into typed values, every problem collected with its field path
// (recipe_yaml_schema.hpp). The builds that run it are in recipe_yaml.cpp.
#include "recipe_yaml_schema.hpp"

#include <algorithm>
#include <map>
#include <set>

#include <yaml-cpp/yaml.h>

#include <mip/error.hpp>

#include "detail/fs.hpp"
#include "detail/recipe_env.hpp"
#include "detail/yaml_expansion.hpp"
#include "detail/yaml_reader.hpp"

namespace mip::detail {

namespace {

namespace fs = std::filesystem;

/// A relative path with `/` (it may climb out with `..`: `prepare.path.path`).
bool relative_path(const std::string& p) {
    return !p.empty() && p.front() != '/' && p.find('\\') == std::string::npos;
}

std::optional<std::string> map_platform_tag(const std::string& tag,
                                            const Logger& logger,
                                            const std::string& who) {
    static const std::map<std::string, std::string> legacy = {
        {"macosx_10_9_x86_64", "macos_x86_64"},
        {"macosx_11_0_arm64", "macos_arm64"},
        {"win_amd64", "windows_x86_64"}};
    static const std::set<std::string> ours = {"any",         "linux_x86_64", "linux_aarch64",
                                               "macos_arm64", "macos_x86_64", "windows_x86_64"};
    if (auto it = legacy.find(tag); it != legacy.end()) {
        logger.warning(who + ": platform tag '" + tag + "' mapped to '" + it->second + "'");
        return it->second;
    }
    if (ours.count(tag) != 0) {
        return tag;
    }
    return std::nullopt;
}

/// `script_env`: valid variable names, never one `detail::refused_variable` refuses, each once.
std::vector<std::string> read_script_env(YamlReader& r, const YAML::Node& root) {
    auto script_env = r.str_list(root["script_env"], "script_env");
    std::vector<std::string> names;
    for (std::size_t i = 0; i < script_env.size(); ++i) {
        const auto& n = script_env[i];
        std::string field = "script_env[" + std::to_string(i) + "]";
        bool ident = !n.empty() &&
                     (std::isalpha(static_cast<unsigned char>(n[0])) != 0 || n[0] == '_') &&
                     std::all_of(n.begin(), n.end(), [](char c) {
                         return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
                     });
        if (!ident) {
            r.add(field, "'" + n + "' is not a valid variable name");
        } else if (auto why = detail::refused_variable(n)) {  // one rule with --pass-env
            r.add(field, "'" + n + "' " + *why);
        } else if (std::find(names.begin(), names.end(), n) == names.end()) {
            names.push_back(n);
        }
    }
    return names;
}

/// The package metadata, symbol extensions, keep_prebuilt and script_env.
void read_metadata(YamlReader& r, const YAML::Node& root, YamlRecipe& out) {
    PackageSpec& base = out.base;
    if (!r.is_set(root["name"])) {
        r.add("name", "is required");
    }
    base.name = r.str(root["name"], "name");
    if (!base.name.empty()) {
        out.subject = base.name + ": " + out.subject;
    }
    base.description = r.str(root["description"], "description");
    base.version = r.str(root["version"], "version");
    // version: git → derived from git describe; absent or empty → the same when a git source
    // exists; anything else, `unspecified` included, is kept as written (prepare-stages §3.8:
    // deriving would rename every published package of a migrating channel).
    out.version_mode = base.version == "git" ? "git" : (base.version.empty() ? "auto" : "recipe");
    if (base.version.empty()) {
        base.version = "unspecified";
    }
    base.build_number = r.integer(root["build_number"], "build_number", 0);
    base.dependencies = r.str_list(root["dependencies"], "dependencies");
    base.homepage = r.str(root["homepage"], "homepage");
    base.repository = r.str(root["repository"], "repository");
    base.license = r.str(root["license"], "license", "unspecified");
    base.usage_examples = r.str_list(root["usage_examples"], "usage_examples");
    out.extensions = r.str_list(root["symbol_extensions"], "symbol_extensions");
    if (!r.is_set(root["symbol_extensions"])) {
        out.extensions = {".m"};
    }
    for (std::size_t i = 0; i < out.extensions.size(); ++i) {
        if (out.extensions[i].size() < 2 || out.extensions[i][0] != '.') {
            r.add("symbol_extensions[" + std::to_string(i) + "]", "must look like \".m\"");
        }
    }
    out.keep_prebuilt = r.str_list(root["keep_prebuilt"], "keep_prebuilt");
    for (std::size_t i = 0; i < out.keep_prebuilt.size(); ++i) {
        if (!safe_relative(out.keep_prebuilt[i])) {
            r.add("keep_prebuilt[" + std::to_string(i) + "]",
                  "'" + out.keep_prebuilt[i] + "' must be a relative path inside the package");
        }
    }
    out.script_env = read_script_env(r, root);
}

/// The fields of one source kind's mapping `s` (field path `f`, "prepare.<kind>").
void read_source_fields(YamlReader& r,
                        const YAML::Node& s,
                        const std::string& f,
                        YamlSource& source) {
    if (source.kind == "download_zip") {
        r.known_keys(s, f, {"url", "destination", "sha256", "strip_top_level"});
        source.url = r.str(s["url"], f + ".url");
        source.sha256 = r.opt_str(s["sha256"], f + ".sha256");
        source.strip_top_level = r.boolean(s["strip_top_level"], f + ".strip_top_level", false);
        if (source.url.rfind("https://", 0) != 0 && source.url.rfind("http://", 0) != 0 &&
            source.url.rfind("file://", 0) != 0) {
            r.add(f + ".url",
                  "must be an https://, http:// (fetched with a warning) or file:// URL");
        }
        if (source.sha256 &&
            (source.sha256->size() != 64 ||
             source.sha256->find_first_not_of("0123456789abcdef") != std::string::npos)) {
            r.add(f + ".sha256", "must be 64 lowercase hex digits");
        }
    } else if (source.kind == "clone_git") {
        r.known_keys(s, f, {"url", "destination", "ref"});
        source.url = r.str(s["url"], f + ".url");
        source.ref = r.opt_str(s["ref"], f + ".ref");
        if (source.url.empty()) {
            r.add(f + ".url", "is required");
        }
    } else {
        r.known_keys(s, f, {"path", "destination"});
        source.url = r.str(s["path"], f + ".path");
        if (!relative_path(source.url)) {
            r.add(f + ".path", "'" + source.url +
                                   "' must be a path relative to the recipe directory, with '/' "
                                   "(it may leave it: '..')");
        }
    }
    source.destination = r.str(s["destination"], f + ".destination");
    if (!source.destination.empty() && !safe_relative(source.destination)) {
        r.add(f + ".destination",
              "'" + source.destination + "' must be a relative path inside the package");
    }
}

/// `prepare:`: exactly one source kind (or none, with addpaths only).
YamlSource read_source(YamlReader& r, const YAML::Node& prep) {
    YamlSource source;
    if (!r.is_set(prep)) {
        return source;
    }
    if (!prep.IsMap()) {
        r.add("prepare", "must be a mapping with one of download_zip, clone_git, path");
        return source;
    }
    r.known_keys(prep, "prepare", {"download_zip", "clone_git", "path", "addpaths"});
    int kinds = 0;
    for (const char* k : {"download_zip", "clone_git", "path"}) {
        if (r.is_set(prep[k])) {
            ++kinds;
            source.kind = k;
        }
    }
    if (kinds > 1 || (kinds == 0 && !r.is_set(prep["addpaths"]))) {
        source.kind.clear();
        r.add("prepare",
              "must name exactly one source kind (download_zip, clone_git or path), plus addpaths");
    } else if (kinds == 1) {
        std::string f = "prepare." + source.kind;
        YAML::Node s = prep[source.kind];
        if (!s.IsMap()) {
            r.add(f, "must be a mapping");
        } else {
            read_source_fields(r, s, f, source);
        }
    }
    return source;
}

/// `addpaths` under `prepare:` in every real recipe (canonical); the top level is accepted.
void read_addpaths(YamlReader& r, const YAML::Node& root, YamlRecipe& out) {
    YAML::Node prep = root["prepare"];
    YAML::Node ap;
    bool nested = r.is_set(prep) && prep.IsMap() && r.is_set(prep["addpaths"]);
    if (nested && r.is_set(root["addpaths"])) {
        r.add("addpaths",
              "is given both at the top level and as prepare.addpaths; keep one "
              "(prepare.addpaths is the canonical place)");
    } else if (nested) {
        ap.reset(prep["addpaths"]);
    } else if (r.is_set(root["addpaths"])) {
        ap.reset(root["addpaths"]);
        out.addpaths_field = "addpaths";
    }
    if (!r.is_set(ap)) {
        return;
    }
    if (!ap.IsSequence()) {
        r.add(out.addpaths_field, "must be a list");
        return;
    }
    for (std::size_t i = 0; i < ap.size(); ++i) {
        std::string f = out.addpaths_field + "[" + std::to_string(i) + "]";
        AddPath item;
        if (ap[i].IsScalar()) {
            item.path = ap[i].Scalar();
        } else if (ap[i].IsMap()) {
            r.known_keys(ap[i], f, {"path", "recursive", "exclude"});
            item.path = r.str(ap[i]["path"], f + ".path");
            item.recursive = r.boolean(ap[i]["recursive"], f + ".recursive", false);
            item.exclude = r.str_list(ap[i]["exclude"], f + ".exclude");
            for (std::size_t k = 0; k < item.exclude.size(); ++k) {
                if (!safe_relative(item.exclude[k])) {
                    r.add(f + ".exclude[" + std::to_string(k) + "]",
                          "'" + item.exclude[k] + "' must be a relative path inside the package");
                }
            }
        } else {
            r.add(f, "must be a path or {path, recursive, exclude}");
            continue;
        }
        if (!item.path.empty() && item.path != "." && !safe_relative(item.path)) {
            r.add(f, "'" + item.path + "' must be a relative path inside the package");
        }
        out.addpaths.push_back(std::move(item));
    }
}

/// One `builds[i]` entry (field path `f`). A build not selected by BUILD_TYPE is never run, so
/// it is not held to the tag rules (the real kdtree recipe keeps a disabled `macosx--disable`
/// build with `platform_tag: macosx`); its keys are still checked.
YamlBuildSpec read_build(YamlReader& r,
                         const YAML::Node& b,
                         const std::string& f,
                         const RecipeContext& ctx,
                         const std::string& subject) {
    r.known_keys(b, f,
                 {"build_type", "matlab_tag", "abi_tag", "platform_tag", "compile_script",
                  "test_script", "comment"});
    YamlBuildSpec bs;
    if (!r.is_set(b["build_type"])) {
        r.add(f + ".build_type", "is required");
    }
    bs.build_type = r.str(b["build_type"], f + ".build_type", "standard");
    bs.matlab_tag = r.opt_str(b["matlab_tag"], f + ".matlab_tag");
    bs.abi_tag = r.opt_str(b["abi_tag"], f + ".abi_tag");
    bs.platform_tag = r.opt_str(b["platform_tag"], f + ".platform_tag");
    bs.compile_script = r.opt_str(b["compile_script"], f + ".compile_script");
    bs.test_script = r.opt_str(b["test_script"], f + ".test_script");
    if (bs.test_script &&
        (bs.test_script->find_first_of("/\\") != std::string::npos || bs.test_script->size() < 3 ||
         bs.test_script->substr(bs.test_script->size() - 2) != ".m")) {
        r.add(f + ".test_script", "'" + *bs.test_script + "' must be a .m file beside the recipe");
    }
    (void)r.str(b["comment"], f + ".comment");
    if (bs.build_type != ctx.build_type) {
        ctx.logger.info(subject + ": " + f + " (build_type '" + bs.build_type +
                        "') is not selected by BUILD_TYPE '" + ctx.build_type +
                        "'; it is not run and its tags are not checked");
        return bs;
    }
    if (bs.platform_tag) {
        auto mapped = map_platform_tag(*bs.platform_tag, ctx.logger, subject);
        if (!mapped) {
            r.add(f + ".platform_tag", "'" + *bs.platform_tag +
                                           "' is not a platform tag (any, linux_x86_64, "
                                           "linux_aarch64, macos_arm64, macos_x86_64, "
                                           "windows_x86_64)");
        } else {
            bs.platform_tag = mapped;
        }
    }
    return bs;
}

/// `builds:`; absent = one standard build.
std::vector<YamlBuildSpec> read_builds(YamlReader& r,
                                       const YAML::Node& root,
                                       const RecipeContext& ctx,
                                       const std::string& subject) {
    std::vector<YamlBuildSpec> builds;
    YAML::Node b = root["builds"];
    if (!r.is_set(b)) {
        builds.push_back({});
    } else if (!b.IsSequence()) {
        r.add("builds", "must be a list");
    } else {
        for (std::size_t i = 0; i < b.size(); ++i) {
            std::string f = "builds[" + std::to_string(i) + "]";
            if (!b[i].IsMap()) {
                r.add(f, "must be a mapping");
                continue;
            }
            builds.push_back(read_build(r, b[i], f, ctx, subject));
        }
    }
    return builds;
}

/// A `prepare.path` directory must exist now, unless a prescript may still generate it (it
/// runs in the work area).
void check_path_source(YamlReader& r, const RecipeContext& ctx, const YamlSource& source) {
    std::error_code status_error;  // e.g. a name too long for the file system: not a dir
    if (source.kind != "path" || !relative_path(source.url) ||
        fs::is_directory(ctx.recipe_dir / source.url, status_error)) {
        return;
    }
    for (const auto& e : fs::directory_iterator(ctx.recipe_dir)) {
        auto n = e.path().filename().string();
        if (n.rfind("prescript.", 0) == 0 && n.size() > 13 &&
            n.compare(n.size() - 3, 3, ".sh") == 0) {
            return;
        }
    }
    r.add("prepare.path.path",
          "'" + source.url + "' is not a directory (relative to the recipe directory)");
}

}  // namespace

YamlRecipe read_prepare_yaml(const RecipeContext& ctx) {
    YamlRecipe out;
    out.subject = ctx.recipe_dir.filename().string() + "/prepare.yaml";
    out.text = read_file(ctx.recipe_dir / "prepare.yaml");
    YAML::Node root = parse_root(out.text, out.subject);
    std::vector<Issue> issues;
    YamlReader r(issues);
    r.known_keys(root, "",
                 {"name", "description", "version", "build_number", "dependencies", "homepage",
                  "repository", "license", "symbol_extensions", "usage_examples", "prepare",
                  "addpaths", "keep_prebuilt", "script_env", "builds"});
    read_metadata(r, root, out);
    out.source = read_source(r, root["prepare"]);
    read_addpaths(r, root, out);
    out.builds = read_builds(r, root, ctx, out.subject);
    check_path_source(r, ctx, out.source);
    if (out.version_mode == "git" && out.source.kind != "clone_git") {
        r.add("version", "'git' needs a prepare.clone_git source");
    }
    if (out.version_mode == "auto" && out.source.kind != "clone_git") {
        out.version_mode = "recipe";
    }
    // Field-level validation of the metadata (names, version, URLs...).
    for (auto& issue : out.base.validate()) {
        issues.push_back(std::move(issue));
    }
    if (!issues.empty()) {
        throw SpecError(out.subject, issues);
    }
    return out;
}

}  // namespace mip::detail
