// The declarative recipe kind: prepare.yaml (format spec §7(c)).
#include <algorithm>
#include <set>

#include <yaml-cpp/yaml.h>

#include <mip/error.hpp>
#include <mip/helpers.hpp>
#include <mip/recipe.hpp>

#include "detail/crypto.hpp"
#include "detail/fs.hpp"
#include "detail/git_source.hpp"
#include "detail/git_tags.hpp"
#include "detail/http.hpp"
#include "detail/json.hpp"
#include "detail/lock.hpp"
#include "detail/path_source.hpp"
#include "detail/recipe_env.hpp"
#include "detail/staged_build.hpp"
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

    std::string str(const YAML::Node& n,
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
        for (const auto& kv : map) {
            auto k = kv.first.Scalar();
            if (keys.count(k) == 0) {
                issues_.push_back({where.empty() ? k : where + "." + k,
                                   "is not a known key (expected: " + known + ")"});
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

/// A relative path with `/` (it may climb out with `..`: `prepare.path.path`).
bool relative_path(const std::string& p) {
    return !p.empty() && p.front() != '/' && p.find('\\') == std::string::npos;
}

/// Whether a directory holds anything MATLAB would find on the path (a file with one of
/// `extensions`, a `.m`/`.p`/`.mex*` file, or a `+package`/`@class` folder).
bool has_matlab_content(const fs::path& dir, const std::vector<std::string>& extensions) {
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        auto name = it->path().filename().string();
        if (it->is_directory(ec)) {
            if (!name.empty() && (name[0] == '+' || name[0] == '@')) {
                return true;
            }
            continue;
        }
        auto ext = it->path().extension().string();
        if (ext == ".m" || ext == ".p" || ext.rfind(".mex", 0) == 0 ||
            std::find(extensions.begin(), extensions.end(), ext) != extensions.end()) {
            return true;
        }
    }
    return false;
}

class YamlBuild final : public RecipeBuild, public detail::StagedBuild {
public:
    YamlBuild(PackageSpec spec,
              SourceSpec source,
              std::vector<AddPath> addpaths,
              std::string addpaths_field,
              std::vector<std::string> extensions,
              std::vector<std::string> keep_prebuilt,
              std::vector<std::string> script_env,
              std::string version_mode,
              std::string recipe_text)
        : spec_(std::move(spec)),
          source_(std::move(source)),
          addpaths_(std::move(addpaths)),
          addpaths_field_(std::move(addpaths_field)),
          extensions_(std::move(extensions)),
          keep_prebuilt_(std::move(keep_prebuilt)),
          script_env_(std::move(script_env)),
          version_mode_(std::move(version_mode)),
          recipe_text_(std::move(recipe_text)) {}

    const PackageSpec& spec() const override { return spec_; }
    PackageSpec& mutable_spec() override { return spec_; }
    std::vector<std::string> script_env() const override { return script_env_; }
    std::optional<std::int64_t> source_epoch() const override { return source_epoch_; }
    std::vector<MirroredFetch> mirrored_fetches() const override { return mirrored_; }

    void set_stage_options(const detail::StageOptions& options) override { stage_ = options; }

    std::string version_source() const override {
        if (derived_) {
            return "git";
        }
        return spec_.version == "unspecified" ? "unspecified" : "recipe";
    }

    std::vector<std::string> stage_notes() const override { return notes_; }

    Json lock_sources() const override {
        Json sources = Json::array();
        if (source_.kind == "clone_git") {
            Json tags = Json::object();
            tags["winner"] = rewrite_.winner.empty() ? Json(nullptr) : Json(rewrite_.winner);
            tags["tag"] = rewrite_.tag;
            tags["tagged_commit"] = rewrite_.described;
            tags["fallback"] = rewrite_.fallback;
            Json renames = Json::array();
            for (const auto& [from, to] : rewrite_.renames) {
                renames.push_back({{"from", from}, {"to", to}});
            }
            tags["renames"] = renames;
            tags["deletions"] = rewrite_.deletions;
            Json subs = Json::array();
            for (const auto& sm : submodules_) {
                subs.push_back({{"path", sm.path},
                                {"url", detail::redact_url(sm.url)},
                                {"resolved_url", detail::redact_url(sm.resolved_url)},
                                {"key", sm.key.empty() ? Json(nullptr) : Json(sm.key)},
                                {"commit", sm.commit}});
            }
            Json s = Json::object();
            s["kind"] = "git";
            s["url"] = detail::redact_url(source_.url);
            s["destination"] = source_.destination;
            s["key"] = clone_key_;
            s["rev"] = rev_.rev.empty() ? Json(nullptr) : Json(rev_.rev);
            s["rev_kind"] = rev_.rev_kind;
            s["commit"] = rev_.commit;
            s["commit_time"] = rev_.commit_time;
            s["describe"] = describe_;
            s["version"] = detail::describe_to_version(describe_, stage_.tag_prefix);
            s["tags"] = tags;
            s["submodules"] = subs;
            sources.push_back(s);
        } else if (source_.kind == "download_zip") {
            sources.push_back({{"kind", "zip"},
                               {"url", detail::redact_url(source_.url)},
                               {"destination", source_.destination},
                               {"sha256", archive_sha256_},
                               {"size", archive_size_}});
        } else if (source_.kind == "path") {
            sources.push_back({{"kind", "path"},
                               {"path", source_.url},
                               {"destination", source_.destination},
                               {"sha256", path_sha256_}});
        }
        return sources;
    }

    Json resolved_recipe(const std::vector<std::string>& set_names) const override {
        // Structural edits on the parsed recipe, never text substitution.
        Json r = detail::parse_lock(recipe_text_, spec_.name + ": prepare.yaml");
        r["version"] = spec_.version;
        if (r.contains("prepare") && r["prepare"].is_object()) {
            auto& prep = r["prepare"];
            if (source_.kind == "clone_git" && prep.contains("clone_git") &&
                prep["clone_git"].is_object()) {
                prep["clone_git"]["commit"] = rev_.commit;
            } else if (source_.kind == "download_zip" && prep.contains("download_zip") &&
                       prep["download_zip"].is_object()) {
                prep["download_zip"]["sha256"] = archive_sha256_;
            }
        }
        if (r.contains("script_env")) {
            r["script_env"] = set_names;
        }
        return r;
    }

    /// The lock's entry for this source (from `--from-lock`), if any.
    std::optional<Json> locked_source() const {
        if (!stage_.locked_sources || !stage_.locked_sources->is_array() ||
            stage_.locked_sources->empty()) {
            return std::nullopt;
        }
        return (*stage_.locked_sources)[0];
    }

    void resolve(const BuildContext& ctx) override {
        auto env = ctx.environment;
        auto timeout = std::chrono::seconds(ctx.timeout_seconds);
        auto locked = locked_source();
        Json src;
        mirrored_.clear();
        if (source_.kind == "path") {
            // Inside the recipe directory: its copy in the work area (a prescript may have made
            // it). Outside (`path: ..`): resolved against the recipe directory as found, without
            // libmip's own output directories.
            path_root_ = (ctx.recipe_dir / source_.url).lexically_normal();
            path_excluded_.clear();
            path_in_recipe_ = detail::is_within(path_root_, ctx.recipe_dir);
            if (!path_in_recipe_) {
                auto base =
                    ctx.original_recipe_dir.empty() ? ctx.recipe_dir : ctx.original_recipe_dir;
                path_root_ = fs::absolute(base / source_.url).lexically_normal();
                path_excluded_ = detail::path_source_exclusions(
                    path_root_, {ctx.work_dir.parent_path(), ctx.cache_dir},
                    spec_.name + ": prepare.yaml", "prepare.path.path");
            }
            if (!fs::is_directory(path_root_)) {
                throw SpecError(spec_.name + ": prepare.yaml",
                                {{"prepare.path.path",
                                  "'" + source_.url + "' (" + path_root_.string() +
                                      ") must be a directory, relative to the recipe directory"}});
            }
            path_sha256_ = detail::path_source_hash(path_root_, path_excluded_);
            src = {{"type", "path"},
                   {"url", source_.url},
                   {"ref", nullptr},
                   {"commit", nullptr},
                   {"sha256", path_sha256_}};
        } else if (source_.kind == "download_zip") {
            // Downloaded into the work area (outside the .dir) and pinned by its digest.
            auto downloads = ctx.work_dir / "downloads";
            detail::create_dirs(downloads);
            archive_name_ = detail::sha256_hex(source_.url).substr(0, 24) + ".zip";
            auto archive = downloads / archive_name_;
            detail::HttpOptions http;
            http.total_timeout = timeout;
            http.logger = ctx.logger;
            http.ca_file = ctx.ca_file;
            std::string fetch = source_.url;
            if (auto mirrored = mirror_url(source_.url, ctx.source_mirrors)) {
                fetch = *mirrored;
                mirrored_.push_back({source_.url, fetch});
                ctx.logger.info(spec_.name + ": fetching " + detail::redact_url(source_.url) +
                                " from the mirror " + detail::redact_url(fetch));
            }
            if (fetch.rfind("http://", 0) == 0) {
                ctx.logger.warning(spec_.name +
                                   ": downloading over plain http: " + detail::redact_url(fetch));
            }
            auto digest = detail::http_download(fetch, archive, http);
            if (locked && locked->value("sha256", std::string()) != digest) {
                throw LockMismatch({"sources[0].sha256: lock " +
                                    locked->value("sha256", std::string()) + ", downloaded " +
                                    digest});
            }
            if (source_.sha256 && *source_.sha256 != digest) {
                throw SpecError(
                    spec_.name + ": prepare.yaml",
                    {{"prepare.download_zip.sha256",
                      "mismatch: expected " + *source_.sha256 + ", downloaded " + digest}});
            }
            archive_sha256_ = digest;
            archive_size_ = static_cast<std::uint64_t>(fs::file_size(archive));
            src = {{"type", "zip"},
                   {"url", detail::redact_url(source_.url)},
                   {"ref", nullptr},
                   {"commit", nullptr},
                   {"sha256", digest}};
        } else if (source_.kind == "clone_git") {
            // Clone fully first, then resolve inside the clone (never resolve-then-clone).
            clone_key_ = detail::git_url_key(source_.url);
            if (auto mirrored = mirror_url(source_.url, ctx.source_mirrors)) {
                mirrored_.push_back({source_.url, *mirrored});
                ctx.logger.info(spec_.name + ": cloning " + detail::redact_url(source_.url) +
                                " from the mirror " + detail::redact_url(*mirrored));
            }
            auto clone = detail::clone_full(source_.url, ctx.work_dir / "git-repos", env, timeout,
                                            ctx.source_mirrors);
            if (stage_.on_cloned) {
                stage_.on_cloned(source_.url);
            }
            if (locked) {
                rev_ = detail::resolve_locked(clone, source_.ref.value_or(""),
                                              locked->value("commit", std::string()), env, timeout);
                rev_.rev_kind = locked->value("rev_kind", std::string("commit"));
            } else {
                rev_ = detail::resolve_rev(clone, source_.ref.value_or(""), env);
            }
            source_epoch_ = rev_.commit_time;
            detail::TagRewriteOptions topt;
            topt.prefix = stage_.tag_prefix;
            topt.timeout = timeout;
            rewrite_ = detail::rewrite_tags(clone, rev_.commit, env, topt);
            for (const auto& n : rewrite_.notes) {
                notes_.push_back(n);
            }
            describe_ = detail::describe_commit(clone, rev_.commit, stage_.abbrev, env);
            if (version_mode_ == "git" || version_mode_ == "auto") {
                spec_.version = detail::describe_to_version(describe_, stage_.tag_prefix);
                derived_ = true;
                auto issues = spec_.validate();
                if (!issues.empty()) {
                    throw SpecError(spec_.name + ": version from git describe '" + describe_ + "'",
                                    issues);
                }
            }
            // The describe string is recorded whether or not the version comes from it, without
            // the --tag-prefix (which names tags only and must not change published bytes).
            std::string described = describe_;
            if (!stage_.tag_prefix.empty() && described.rfind(stage_.tag_prefix, 0) == 0) {
                described.erase(0, stage_.tag_prefix.size());
            }
            src = {{"type", "git"},
                   {"url", detail::redact_url(source_.url)},
                   {"ref", source_.ref ? Json(*source_.ref) : Json(nullptr)},
                   {"commit", rev_.commit},
                   {"sha256", nullptr},
                   {"describe", described}};
        }
        spec_.source_json = src.is_null() ? std::string() : detail::dump_compact(src);
    }

    void build(const BuildContext& ctx) override {
        auto timeout = std::chrono::seconds(ctx.timeout_seconds);
        auto dest = source_.destination.empty() ? ctx.dir : ctx.dir / source_.destination;
        if (source_.kind == "path") {
            // The work area may have been renamed since resolve(): the recipe copy moved with it.
            detail::copy_path_source(
                path_in_recipe_ ? (ctx.recipe_dir / source_.url).lexically_normal() : path_root_,
                dest, path_excluded_);
        } else if (source_.kind == "download_zip") {
            detail::extract_zip(ctx.work_dir / "downloads" / archive_name_, dest,
                                source_.strip_top_level);
        } else if (source_.kind == "clone_git") {
            auto repos = ctx.work_dir / "git-repos";
            auto clone = repos / clone_key_;
            submodules_ = detail::list_submodules(clone, rev_.commit, source_.url, ctx.environment);
            for (const auto& sm : submodules_) {
                if (!sm.key
                         .empty()) {  // relative: a full sibling clone, where git will look for it
                    if (auto mirrored = mirror_url(sm.resolved_url, ctx.source_mirrors)) {
                        mirrored_.push_back({sm.resolved_url, *mirrored});
                    }
                    (void)detail::clone_full(sm.resolved_url, repos, ctx.environment, timeout,
                                             ctx.source_mirrors);
                }
            }
            auto checkout = ctx.work_dir / "checkouts" / "0";
            for (auto& w :
                 detail::checkout_commit(clone, rev_.commit, checkout, !submodules_.empty(),
                                         ctx.environment, timeout, ctx.source_mirrors)) {
                ctx.logger.warning(spec_.name + ": " + w);
                notes_.push_back(w);
            }
            detail::copy_tree(checkout, dest, true);
        }
        auto removed =
            strip_prebuilt_binaries(ctx.dir, spec_.compile_script.has_value(), keep_prebuilt_);
        for (const auto& r : removed) {
            ctx.logger.info(spec_.name + ": removed prebuilt binary " + r);
        }
        // The compile stage strips stale MEX files too; it must spare the same ones.
        if (!keep_prebuilt_.empty() &&
            std::none_of(spec_.extra_fields.begin(), spec_.extra_fields.end(),
                         [](const auto& kv) { return kv.first == "keep_prebuilt"; })) {
            spec_.extra_fields.emplace_back("keep_prebuilt",
                                            detail::dump_compact(Json(keep_prebuilt_)));
        }
        std::vector<AddPath> items = addpaths_;
        if (items.empty()) {
            items.push_back({source_.destination.empty() ? "." : source_.destination, false, {}});
        }
        std::vector<std::string> dirs;
        try {
            dirs = expand_addpaths(ctx.dir, items);
        } catch (const SpecError& e) {  // name the recipe and the key as written
            std::vector<Issue> issues;
            for (const auto& issue : e.issues()) {
                auto field = issue.field;
                if (field.rfind("addpaths", 0) == 0) {
                    field = addpaths_field_ + field.substr(8);
                }
                issues.push_back({field, issue.message});
            }
            throw SpecError(spec_.name + ": prepare.yaml", issues);
        }
        for (const auto& d : dirs) {
            if (!has_matlab_content(d == "." ? ctx.dir : ctx.dir / d, extensions_)) {
                std::string children;
                std::error_code ec;
                for (fs::directory_iterator it(ctx.dir / d, ec), end; !ec && it != end;
                     it.increment(ec)) {
                    children += (children.empty() ? "" : ", ") + it->path().filename().string() +
                                (it->is_directory() ? "/" : "");
                }
                ctx.logger.warning(
                    spec_.name + ": prepare.yaml: " + addpaths_field_ + " puts '" + d +
                    "' on the path, but it holds no MATLAB files" +
                    (children.empty() ? std::string(" (it is empty)")
                                      : " (it holds: " + children + ")") +
                    "; a download_zip archive keeps its top folder under its destination");
            }
        }
        create_load_and_unload_scripts(ctx.dir, dirs);
        spec_.exposed_symbols = collect_exposed_symbols_multiple_paths(ctx.dir, dirs, extensions_);
        if (spec_.compile_script) {
            auto script = ctx.recipe_dir / *spec_.compile_script;
            if (!fs::is_regular_file(script)) {
                throw SpecError(
                    spec_.name + ": prepare.yaml",
                    {{"builds.compile_script",
                      "'" + *spec_.compile_script + "' does not exist beside the recipe"}});
            }
            fs::copy_file(script, ctx.dir / *spec_.compile_script,
                          fs::copy_options::overwrite_existing);
        }
    }

private:
    PackageSpec spec_;
    SourceSpec source_;
    std::vector<AddPath> addpaths_;
    std::string addpaths_field_;  ///< "prepare.addpaths" (canonical) or "addpaths"
    std::vector<std::string> extensions_;
    std::vector<std::string> keep_prebuilt_;
    std::vector<std::string> script_env_;
    std::string version_mode_;  ///< recipe | git | auto (unspecified: git when a git source exists)
    std::string recipe_text_;
    detail::StageOptions stage_;
    std::string archive_name_;
    std::string archive_sha256_;
    std::uint64_t archive_size_ = 0;
    std::string path_sha256_;
    fs::path path_root_;                      ///< the resolved `prepare.path` directory
    bool path_in_recipe_ = true;              ///< it lies in the recipe directory (its copy)
    std::vector<std::string> path_excluded_;  ///< left out of it (libmip's own output)
    std::vector<MirroredFetch> mirrored_;
    std::string clone_key_;
    detail::ResolvedRev rev_;
    detail::TagRewrite rewrite_;
    std::string describe_;
    bool derived_ = false;
    std::vector<detail::Submodule> submodules_;
    std::vector<std::string> notes_;
    std::optional<std::int64_t> source_epoch_;
};

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

class YamlRecipeKind final : public RecipeKind {
public:
    std::string file_name() const override { return "prepare.yaml"; }

    std::vector<std::unique_ptr<RecipeBuild>> load(const RecipeContext& ctx) const override {
        auto file = ctx.recipe_dir / "prepare.yaml";
        std::string subject = ctx.recipe_dir.filename().string() + "/prepare.yaml";
        YAML::Node root;
        auto recipe_text = detail::read_file(file);
        try {
            root = YAML::Load(recipe_text);
        } catch (const YAML::Exception& e) {
            throw SpecError(subject, {{"", std::string("is not valid YAML: ") + e.what()}});
        }
        if (!root.IsMap()) {
            throw SpecError(subject, {{"", "must be a mapping of recipe keys"}});
        }
        std::vector<Issue> issues;
        YamlReader r(issues);
        r.known_keys(root, "",
                     {"name", "description", "version", "build_number", "dependencies", "homepage",
                      "repository", "license", "symbol_extensions", "usage_examples", "prepare",
                      "addpaths", "keep_prebuilt", "script_env", "builds"});
        PackageSpec base;
        if (!r.is_set(root["name"])) {
            issues.push_back({"name", "is required"});
        }
        base.name = r.str(root["name"], "name");
        if (!base.name.empty()) {
            subject = base.name + ": " + subject;
        }
        base.description = r.str(root["description"], "description");
        base.version = r.str(root["version"], "version");
        // version: git → derived from git describe; absent or empty → the same when a git source
        // exists; anything else, `unspecified` included, is kept as written (prepare-stages §3.8:
        // deriving would rename every published package of a migrating channel).
        std::string version_mode =
            base.version == "git" ? "git" : (base.version.empty() ? "auto" : "recipe");
        if (base.version.empty()) {
            base.version = "unspecified";
        }
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
                issues.push_back(
                    {"symbol_extensions[" + std::to_string(i) + "]", "must look like \".m\""});
            }
        }
        auto keep = r.str_list(root["keep_prebuilt"], "keep_prebuilt");
        auto script_env = r.str_list(root["script_env"], "script_env");
        std::vector<std::string> env_names;
        for (std::size_t i = 0; i < script_env.size(); ++i) {
            const auto& n = script_env[i];
            std::string field = "script_env[" + std::to_string(i) + "]";
            bool ident = !n.empty() &&
                         (std::isalpha(static_cast<unsigned char>(n[0])) != 0 || n[0] == '_') &&
                         std::all_of(n.begin(), n.end(), [](char c) {
                             return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
                         });
            if (!ident) {
                issues.push_back({field, "'" + n + "' is not a valid variable name"});
            } else if (auto why = detail::refused_variable(n)) {  // one rule with --pass-env
                issues.push_back({field, "'" + n + "' " + *why});
            } else if (std::find(env_names.begin(), env_names.end(), n) == env_names.end()) {
                env_names.push_back(n);
            }
        }

        // Source.
        SourceSpec source;
        YAML::Node prep = root["prepare"];
        if (r.is_set(prep)) {
            if (!prep.IsMap()) {
                issues.push_back(
                    {"prepare", "must be a mapping with one of download_zip, clone_git, path"});
            } else {
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
                    issues.push_back({"prepare",
                                      "must name exactly one source kind (download_zip, clone_git "
                                      "or path), plus addpaths"});
                } else if (kinds == 1) {
                    std::string f = "prepare." + source.kind;
                    YAML::Node s = prep[source.kind];
                    if (!s.IsMap()) {
                        issues.push_back({f, "must be a mapping"});
                    } else if (source.kind == "download_zip") {
                        r.known_keys(s, f, {"url", "destination", "sha256", "strip_top_level"});
                        source.url = r.str(s["url"], f + ".url");
                        source.sha256 = r.opt_str(s["sha256"], f + ".sha256");
                        source.strip_top_level =
                            r.boolean(s["strip_top_level"], f + ".strip_top_level", false);
                        if (source.url.rfind("https://", 0) != 0 &&
                            source.url.rfind("http://", 0) != 0 &&
                            source.url.rfind("file://", 0) != 0) {
                            issues.push_back({f + ".url", "must be an https:// (or file://) URL"});
                        }
                        if (source.sha256 && (source.sha256->size() != 64 ||
                                              source.sha256->find_first_not_of(
                                                  "0123456789abcdef") != std::string::npos)) {
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
                        if (!relative_path(source.url)) {
                            issues.push_back(
                                {f + ".path", "'" + source.url +
                                                  "' must be a path relative to the recipe "
                                                  "directory, with '/' (it may leave it: '..')"});
                        }
                    }
                    if (s.IsMap()) {
                        source.destination = r.str(s["destination"], f + ".destination");
                        if (!source.destination.empty() && !safe_relative(source.destination)) {
                            issues.push_back({f + ".destination",
                                              "'" + source.destination +
                                                  "' must be a relative path inside the package"});
                        }
                    }
                }
            }
        }

        // addpaths.
        // addpaths: under prepare: in every real recipe (canonical); the top level is accepted.
        std::vector<AddPath> addpaths;
        std::string ap_field = "prepare.addpaths";
        YAML::Node ap;
        bool nested = r.is_set(prep) && prep.IsMap() && r.is_set(prep["addpaths"]);
        if (nested && r.is_set(root["addpaths"])) {
            issues.push_back({"addpaths",
                              "is given both at the top level and as prepare.addpaths; "
                              "keep one (prepare.addpaths is the canonical place)"});
        } else if (nested) {
            ap.reset(prep["addpaths"]);
        } else if (r.is_set(root["addpaths"])) {
            ap.reset(root["addpaths"]);
            ap_field = "addpaths";
        }
        if (r.is_set(ap)) {
            if (!ap.IsSequence()) {
                issues.push_back({ap_field, "must be a list"});
            } else {
                for (std::size_t i = 0; i < ap.size(); ++i) {
                    std::string f = ap_field + "[" + std::to_string(i) + "]";
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
                        issues.push_back(
                            {f, "'" + item.path + "' must be a relative path inside the package"});
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
                r.known_keys(b[i], f,
                             {"build_type", "matlab_tag", "abi_tag", "platform_tag",
                              "compile_script", "comment"});
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
                if (bs.build_type != ctx.build_type) {
                    // Never run, so not held to the tag rules (the real kdtree recipe keeps a
                    // disabled `macosx--disable` build with `platform_tag: macosx`).
                    ctx.logger.info(subject + ": " + f + " (build_type '" + bs.build_type +
                                    "') is not selected by BUILD_TYPE '" + ctx.build_type +
                                    "'; it is not run and its tags are not checked");
                    builds.push_back(std::move(bs));
                    continue;
                }
                if (bs.platform_tag) {
                    auto mapped = map_platform_tag(*bs.platform_tag, ctx.logger, subject);
                    if (!mapped) {
                        issues.push_back(
                            {f + ".platform_tag",
                             "'" + *bs.platform_tag +
                                 "' is not a platform tag (any, linux_x86_64, linux_aarch64, "
                                 "macos_arm64, macos_x86_64, windows_x86_64)"});
                    } else {
                        bs.platform_tag = mapped;
                    }
                }
                builds.push_back(std::move(bs));
            }
        }

        std::error_code status_error;  // e.g. a name too long for the file system: not a dir
        if (source.kind == "path" && relative_path(source.url) &&
            !fs::is_directory(ctx.recipe_dir / source.url, status_error)) {
            // Fail early unless a prescript may still generate it (it runs in the work area).
            bool has_prescript = false;
            for (const auto& e : fs::directory_iterator(ctx.recipe_dir)) {
                auto n = e.path().filename().string();
                has_prescript = has_prescript || (n.rfind("prescript.", 0) == 0 && n.size() > 13 &&
                                                  n.compare(n.size() - 3, 3, ".sh") == 0);
            }
            if (!has_prescript) {
                issues.push_back(
                    {"prepare.path.path",
                     "'" + source.url + "' is not a directory (relative to the recipe directory)"});
            }
        }
        if (version_mode == "git" && source.kind != "clone_git") {
            issues.push_back({"version", "'git' needs a prepare.clone_git source"});
        }
        if (version_mode == "auto" && source.kind != "clone_git") {
            version_mode = "recipe";
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
            spec.platform_tag =
                bs.platform_tag.value_or(bs.compile_script ? ctx.host_platform_tag : "any");
            auto tag_issues = spec.wheel().validate();
            if (!tag_issues.empty()) {
                throw SpecError(subject, tag_issues);
            }
            out.push_back(std::make_unique<YamlBuild>(std::move(spec), source, addpaths, ap_field,
                                                      extensions, keep, env_names, version_mode,
                                                      recipe_text));
        }
        return out;
    }
};

}  // namespace

std::shared_ptr<RecipeKind> make_yaml_recipe_kind() { return std::make_shared<YamlRecipeKind>(); }

}  // namespace mip
