// The declarative recipe kind: prepare.yaml (format spec §7(c)).
#include <mip/error.hpp>
#include <mip/helpers.hpp>
#include <mip/recipe.hpp>

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <set>

#include "detail/crypto.hpp"
#include "detail/fs.hpp"
#include "detail/git_source.hpp"
#include "detail/http.hpp"
#include "detail/json.hpp"
#include "detail/zip_reader.hpp"

namespace mip {

namespace fs = std::filesystem;
using detail::Json;

namespace {

struct SourceSpec {
    std::string kind;  ///< "", "download_zip", "clone_git", "path"
    std::string url;   ///< url, or the recipe-relative path for "path"
    std::string destination;
    std::optional<std::string> sha256;
    bool strip_top_level = false;
    std::optional<std::string> ref;
};

struct BuildSpec {
    std::string build_type = "standard";
    std::optional<std::string> matlab_tag, abi_tag, platform_tag, compile_script;
};

/// Reads typed values out of YAML, collecting every problem with its field path.
class YamlReader {
public:
    explicit YamlReader(std::vector<Issue>& issues) : issues_(issues) {}

    bool is_set(const YAML::Node& n) const { return n.IsDefined() && !n.IsNull(); }

    std::string str(const YAML::Node& n, const std::string& field, const std::string& fallback = {}) {
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
    void known_keys(const YAML::Node& map, const std::string& where, const std::set<std::string>& keys) {
        if (!map.IsMap()) {
            return;
        }
        for (const auto& kv : map) {
            auto k = kv.first.Scalar();
            if (keys.count(k) == 0) {
                issues_.push_back({where.empty() ? k : where + "." + k, "is not a known key"});
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

bool safe_relative(const std::string& p) {
    if (p.empty() || p.front() == '/' || p.find('\\') != std::string::npos) {
        return false;
    }
    auto norm = fs::path(p).lexically_normal().generic_string();
    return norm != ".." && norm.rfind("../", 0) != 0;
}

class YamlBuild final : public RecipeBuild {
public:
    YamlBuild(PackageSpec spec, SourceSpec source, std::vector<AddPath> addpaths, std::vector<std::string> extensions,
              std::vector<std::string> keep_prebuilt, std::vector<std::string> script_env)
        : spec_(std::move(spec)),
          source_(std::move(source)),
          addpaths_(std::move(addpaths)),
          extensions_(std::move(extensions)),
          keep_prebuilt_(std::move(keep_prebuilt)),
          script_env_(std::move(script_env)) {}

    const PackageSpec& spec() const override { return spec_; }
    PackageSpec& mutable_spec() override { return spec_; }
    std::vector<std::string> script_env() const override { return script_env_; }
    std::optional<std::int64_t> source_epoch() const override { return source_epoch_; }

    void resolve(const BuildContext& ctx) override {
        auto env = ctx.environment;
        auto timeout = std::chrono::seconds(ctx.timeout_seconds);
        Json src;
        if (source_.kind == "path") {
            auto from = (ctx.recipe_dir / source_.url).lexically_normal();
            if (!detail::is_within(from, ctx.recipe_dir) || !fs::is_directory(from)) {
                throw SpecError(spec_.name + ": prepare.yaml",
                                {{"prepare.path.path", "'" + source_.url + "' must be a directory inside the recipe directory"}});
            }
            src = {{"type", "path"}, {"url", source_.url}, {"ref", nullptr}, {"commit", nullptr},
                   {"sha256", detail::tree_hash(from)}};
        } else if (source_.kind == "download_zip") {
            // Download into the shared cache (outside the .dir) and pin its digest.
            auto downloads = ctx.cache_dir / "downloads";
            detail::create_dirs(downloads);
            archive_ = downloads / (detail::sha256_hex(source_.url).substr(0, 24) + ".zip");
            detail::HttpOptions http;
            http.total_timeout = timeout;
            http.logger = ctx.logger;
            if (source_.url.rfind("http://", 0) == 0) {
                ctx.logger.warning(spec_.name + ": downloading over plain http: " + detail::redact_url(source_.url));
            }
            auto digest = detail::http_download(source_.url, archive_, http);
            if (source_.sha256 && *source_.sha256 != digest) {
                throw SpecError(spec_.name + ": prepare.yaml",
                                {{"prepare.download_zip.sha256", "mismatch: expected " + *source_.sha256 + ", downloaded " + digest}});
            }
            src = {{"type", "zip"}, {"url", detail::redact_url(source_.url)}, {"ref", nullptr}, {"commit", nullptr},
                   {"sha256", digest}};
        } else if (source_.kind == "clone_git") {
            clone_ = detail::clone_or_fetch(source_.url, ctx.cache_dir / "git", env, timeout);
            auto rev = detail::resolve_rev(clone_, source_.ref.value_or(""), env);
            commit_ = rev.commit;
            source_epoch_ = rev.commit_time;
            src = {{"type", "git"}, {"url", detail::redact_url(source_.url)},
                   {"ref", source_.ref ? Json(*source_.ref) : Json(nullptr)}, {"commit", rev.commit}, {"sha256", nullptr}};
        }
        spec_.source_json = src.is_null() ? std::string() : detail::dump_compact(src);
    }

    void build(const BuildContext& ctx) override {
        auto timeout = std::chrono::seconds(ctx.timeout_seconds);
        auto dest = source_.destination.empty() ? ctx.dir : ctx.dir / source_.destination;
        if (source_.kind == "path") {
            detail::copy_tree(ctx.recipe_dir / source_.url, dest, true);
        } else if (source_.kind == "download_zip") {
            detail::extract_zip(archive_, dest, source_.strip_top_level);
        } else if (source_.kind == "clone_git") {
            detail::export_commit(clone_, commit_, ctx.work_dir / "checkouts", dest, ctx.environment, timeout);
        }
        auto removed = strip_prebuilt_binaries(ctx.dir, spec_.compile_script.has_value(), keep_prebuilt_);
        for (const auto& r : removed) {
            ctx.logger.info(spec_.name + ": removed prebuilt binary " + r);
        }
        std::vector<AddPath> items = addpaths_;
        if (items.empty()) {
            items.push_back({source_.destination.empty() ? "." : source_.destination, false, {}});
        }
        auto dirs = expand_addpaths(ctx.dir, items);
        create_load_and_unload_scripts(ctx.dir, dirs);
        spec_.exposed_symbols = collect_exposed_symbols_multiple_paths(ctx.dir, dirs, extensions_);
        if (spec_.compile_script) {
            auto script = ctx.recipe_dir / *spec_.compile_script;
            if (!fs::is_regular_file(script)) {
                throw SpecError(spec_.name + ": prepare.yaml",
                                {{"builds.compile_script", "'" + *spec_.compile_script + "' does not exist beside the recipe"}});
            }
            fs::copy_file(script, ctx.dir / *spec_.compile_script, fs::copy_options::overwrite_existing);
        }
    }

private:
    PackageSpec spec_;
    SourceSpec source_;
    std::vector<AddPath> addpaths_;
    std::vector<std::string> extensions_;
    std::vector<std::string> keep_prebuilt_;
    std::vector<std::string> script_env_;
    fs::path archive_;
    fs::path clone_;
    std::string commit_;
    std::optional<std::int64_t> source_epoch_;
};

const std::set<std::string> credential_names = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                                                "GITHUB_TOKEN", "GH_TOKEN", "ACTIONS_ID_TOKEN_REQUEST_TOKEN"};

std::optional<std::string> map_platform_tag(const std::string& tag, const Logger& logger, const std::string& who) {
    static const std::map<std::string, std::string> legacy = {
        {"macosx_10_9_x86_64", "macos_x86_64"}, {"macosx_11_0_arm64", "macos_arm64"}, {"win_amd64", "windows_x86_64"}};
    static const std::set<std::string> ours = {"any", "linux_x86_64", "linux_aarch64", "macos_arm64", "macos_x86_64",
                                               "windows_x86_64"};
    if (auto it = legacy.find(tag); it != legacy.end()) {
        logger.warning(who + ": platform tag '" + tag + "' mapped to '" + it->second + "'");
        return it->second;
    }
    if (ours.count(tag) != 0) {
        return tag;
    }
    return std::nullopt;
}

class YamlRecipeKind final : public RecipeKind {
public:
    std::string file_name() const override { return "prepare.yaml"; }

    std::vector<std::unique_ptr<RecipeBuild>> load(const RecipeContext& ctx) const override {
        auto file = ctx.recipe_dir / "prepare.yaml";
        std::string subject = ctx.recipe_dir.filename().string() + "/prepare.yaml";
        YAML::Node root;
        try {
            root = YAML::Load(detail::read_file(file));
        } catch (const YAML::Exception& e) {
            throw SpecError(subject, {{"", std::string("is not valid YAML: ") + e.what()}});
        }
        if (!root.IsMap()) {
            throw SpecError(subject, {{"", "must be a mapping of recipe keys"}});
        }
        std::vector<Issue> issues;
        YamlReader r(issues);
        r.known_keys(root, "", {"name", "description", "version", "build_number", "dependencies", "homepage",
                                "repository", "license", "symbol_extensions", "usage_examples", "prepare", "addpaths",
                                "keep_prebuilt", "script_env", "builds"});
        PackageSpec base;
        if (!r.is_set(root["name"])) {
            issues.push_back({"name", "is required"});
        }
        base.name = r.str(root["name"], "name");
        if (!base.name.empty()) {
            subject = base.name + ": " + subject;
        }
        base.description = r.str(root["description"], "description");
        base.version = r.str(root["version"], "version", "unspecified");
        base.build_number = r.integer(root["build_number"], "build_number", 0);
        base.dependencies = r.str_list(root["dependencies"], "dependencies");
        base.homepage = r.str(root["homepage"], "homepage");
        base.repository = r.str(root["repository"], "repository");
        base.license = r.str(root["license"], "license", "unspecified");
        base.usage_examples = r.str_list(root["usage_examples"], "usage_examples");
        auto extensions = r.str_list(root["symbol_extensions"], "symbol_extensions");
        if (!r.is_set(root["symbol_extensions"])) {
            extensions = {".m"};
        }
        for (std::size_t i = 0; i < extensions.size(); ++i) {
            if (extensions[i].size() < 2 || extensions[i][0] != '.') {
                issues.push_back({"symbol_extensions[" + std::to_string(i) + "]", "must look like \".m\""});
            }
        }
        auto keep = r.str_list(root["keep_prebuilt"], "keep_prebuilt");
        auto script_env = r.str_list(root["script_env"], "script_env");
        std::vector<std::string> env_names;
        for (std::size_t i = 0; i < script_env.size(); ++i) {
            const auto& n = script_env[i];
            std::string field = "script_env[" + std::to_string(i) + "]";
            bool ident = !n.empty() && (std::isalpha(static_cast<unsigned char>(n[0])) != 0 || n[0] == '_') &&
                         std::all_of(n.begin(), n.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_'; });
            if (!ident) {
                issues.push_back({field, "'" + n + "' is not a valid variable name"});
            } else if (credential_names.count(n) != 0) {
                issues.push_back({field, "'" + n + "' is a credential and cannot be passed to recipes"});
            } else if (std::find(env_names.begin(), env_names.end(), n) == env_names.end()) {
                env_names.push_back(n);
            }
        }

        // Source.
        SourceSpec source;
        YAML::Node prep = root["prepare"];
        if (r.is_set(prep)) {
            if (!prep.IsMap()) {
                issues.push_back({"prepare", "must be a mapping with one of download_zip, clone_git, path"});
            } else {
                r.known_keys(prep, "prepare", {"download_zip", "clone_git", "path"});
                int kinds = 0;
                for (const char* k : {"download_zip", "clone_git", "path"}) {
                    if (r.is_set(prep[k])) {
                        ++kinds;
                        source.kind = k;
                    }
                }
                if (kinds != 1) {
                    issues.push_back({"prepare", "must name exactly one source kind (download_zip, clone_git or path)"});
                } else {
                    std::string f = "prepare." + source.kind;
                    YAML::Node s = prep[source.kind];
                    if (!s.IsMap()) {
                        issues.push_back({f, "must be a mapping"});
                    } else if (source.kind == "download_zip") {
                        r.known_keys(s, f, {"url", "destination", "sha256", "strip_top_level"});
                        source.url = r.str(s["url"], f + ".url");
                        source.sha256 = r.opt_str(s["sha256"], f + ".sha256");
                        source.strip_top_level = r.boolean(s["strip_top_level"], f + ".strip_top_level", false);
                        if (source.url.rfind("https://", 0) != 0 && source.url.rfind("http://", 0) != 0 &&
                            source.url.rfind("file://", 0) != 0) {
                            issues.push_back({f + ".url", "must be an https:// (or file://) URL"});
                        }
                        if (source.sha256 && (source.sha256->size() != 64 ||
                                              source.sha256->find_first_not_of("0123456789abcdef") != std::string::npos)) {
                            issues.push_back({f + ".sha256", "must be 64 lowercase hex digits"});
                        }
                    } else if (source.kind == "clone_git") {
                        r.known_keys(s, f, {"url", "destination", "ref"});
                        source.url = r.str(s["url"], f + ".url");
                        source.ref = r.opt_str(s["ref"], f + ".ref");
                        if (source.url.empty()) {
                            issues.push_back({f + ".url", "is required"});
                        }
                    } else {
                        r.known_keys(s, f, {"path", "destination"});
                        source.url = r.str(s["path"], f + ".path");
                        if (!safe_relative(source.url)) {
                            issues.push_back({f + ".path", "'" + source.url + "' must be a relative path inside the recipe directory"});
                        }
                    }
                    if (s.IsMap()) {
                        source.destination = r.str(s["destination"], f + ".destination");
                        if (!source.destination.empty() && !safe_relative(source.destination)) {
                            issues.push_back({f + ".destination", "'" + source.destination + "' must be a relative path inside the package"});
                        }
                    }
                }
            }
        }

        // addpaths.
        std::vector<AddPath> addpaths;
        YAML::Node ap = root["addpaths"];
        if (r.is_set(ap)) {
            if (!ap.IsSequence()) {
                issues.push_back({"addpaths", "must be a list"});
            } else {
                for (std::size_t i = 0; i < ap.size(); ++i) {
                    std::string f = "addpaths[" + std::to_string(i) + "]";
                    AddPath item;
                    if (ap[i].IsScalar()) {
                        item.path = ap[i].Scalar();
                    } else if (ap[i].IsMap()) {
                        r.known_keys(ap[i], f, {"path", "recursive", "exclude"});
                        item.path = r.str(ap[i]["path"], f + ".path");
                        item.recursive = r.boolean(ap[i]["recursive"], f + ".recursive", false);
                        item.exclude = r.str_list(ap[i]["exclude"], f + ".exclude");
                    } else {
                        issues.push_back({f, "must be a path or {path, recursive, exclude}"});
                        continue;
                    }
                    if (!item.path.empty() && item.path != "." && !safe_relative(item.path)) {
                        issues.push_back({f, "'" + item.path + "' must be a relative path inside the package"});
                    }
                    addpaths.push_back(std::move(item));
                }
            }
        }

        // builds.
        std::vector<BuildSpec> builds;
        YAML::Node b = root["builds"];
        if (!r.is_set(b)) {
            builds.push_back({});
        } else if (!b.IsSequence()) {
            issues.push_back({"builds", "must be a list"});
        } else {
            for (std::size_t i = 0; i < b.size(); ++i) {
                std::string f = "builds[" + std::to_string(i) + "]";
                if (!b[i].IsMap()) {
                    issues.push_back({f, "must be a mapping"});
                    continue;
                }
                r.known_keys(b[i], f, {"build_type", "matlab_tag", "abi_tag", "platform_tag", "compile_script", "comment"});
                BuildSpec bs;
                if (!r.is_set(b[i]["build_type"])) {
                    issues.push_back({f + ".build_type", "is required"});
                }
                bs.build_type = r.str(b[i]["build_type"], f + ".build_type", "standard");
                bs.matlab_tag = r.opt_str(b[i]["matlab_tag"], f + ".matlab_tag");
                bs.abi_tag = r.opt_str(b[i]["abi_tag"], f + ".abi_tag");
                bs.platform_tag = r.opt_str(b[i]["platform_tag"], f + ".platform_tag");
                bs.compile_script = r.opt_str(b[i]["compile_script"], f + ".compile_script");
                (void)r.str(b[i]["comment"], f + ".comment");
                if (bs.platform_tag) {
                    auto mapped = map_platform_tag(*bs.platform_tag, ctx.logger, subject);
                    if (!mapped) {
                        issues.push_back({f + ".platform_tag", "'" + *bs.platform_tag + "' is not a platform tag (any, linux_x86_64, linux_aarch64, macos_arm64, macos_x86_64, windows_x86_64)"});
                    } else {
                        bs.platform_tag = mapped;
                    }
                }
                builds.push_back(std::move(bs));
            }
        }

        // Field-level validation of the metadata (names, version, URLs...).
        for (auto& issue : base.validate()) {
            issues.push_back(std::move(issue));
        }
        if (!issues.empty()) {
            throw SpecError(subject, issues);
        }

        std::vector<std::unique_ptr<RecipeBuild>> out;
        for (const auto& bs : builds) {
            if (bs.build_type != ctx.build_type) {
                continue;
            }
            PackageSpec spec = base;
            spec.compile_script = bs.compile_script;
            spec.matlab_tag = bs.matlab_tag.value_or("any");
            spec.abi_tag = bs.abi_tag.value_or("none");
            spec.platform_tag = bs.platform_tag.value_or(bs.compile_script ? ctx.host_platform_tag : "any");
            auto tag_issues = spec.wheel().validate();
            if (!tag_issues.empty()) {
                throw SpecError(subject, tag_issues);
            }
            out.push_back(std::make_unique<YamlBuild>(std::move(spec), source, addpaths, extensions, keep, env_names));
        }
        return out;
    }
};

}  // namespace

std::shared_ptr<RecipeKind> make_yaml_recipe_kind() { return std::make_shared<YamlRecipeKind>(); }

}  // namespace mip
