// The declarative recipe kind: prepare.yaml (format spec §7(c)).
#include <algorithm>
#include <set>

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
#include "detail/staged_build.hpp"
#include "detail/zip_reader.hpp"
#include "recipe_yaml_schema.hpp"

namespace mip {

namespace fs = std::filesystem;
using detail::Json;

namespace {

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
    YamlBuild(PackageSpec spec, std::shared_ptr<const detail::YamlRecipe> recipe)
        : spec_(std::move(spec)), recipe_(std::move(recipe)) {}

    [[nodiscard]] const PackageSpec& spec() const override { return spec_; }
    [[nodiscard]] PackageSpec& mutable_spec() override { return spec_; }
    [[nodiscard]] std::vector<std::string> script_env() const override {
        return recipe_->script_env;
    }
    [[nodiscard]] std::optional<std::int64_t> source_epoch() const override {
        return source_epoch_;
    }
    [[nodiscard]] std::vector<MirroredFetch> mirrored_fetches() const override { return mirrored_; }

    void set_stage_options(const detail::StageOptions& options) override { stage_ = options; }

    [[nodiscard]] std::string version_source() const override {
        if (derived_) {
            return "git";
        }
        return spec_.version == "unspecified" ? "unspecified" : "recipe";
    }

    [[nodiscard]] std::vector<std::string> stage_notes() const override { return notes_; }

    [[nodiscard]] bool fetches_to_pin() const override {
        return recipe_->source.kind == "clone_git" || recipe_->source.kind == "download_zip";
    }

    [[nodiscard]] Json lock_sources() const override {
        Json sources = Json::array();
        if (recipe_->source.kind == "clone_git") {
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
            s["url"] = detail::redact_url(recipe_->source.url);
            s["destination"] = recipe_->source.destination;
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
        } else if (recipe_->source.kind == "download_zip") {
            sources.push_back({{"kind", "zip"},
                               {"url", detail::redact_url(recipe_->source.url)},
                               {"destination", recipe_->source.destination},
                               {"sha256", archive_sha256_},
                               {"size", archive_size_}});
        } else if (recipe_->source.kind == "path") {
            sources.push_back({{"kind", "path"},
                               {"path", recipe_->source.url},
                               {"destination", recipe_->source.destination},
                               {"sha256", path_sha256_}});
        }
        return sources;
    }

    [[nodiscard]] Json resolved_recipe(const std::vector<std::string>& set_names) const override {
        // Structural edits on the parsed recipe, never text substitution.
        Json r = detail::parse_lock(recipe_->text, spec_.name + ": prepare.yaml");
        r["version"] = spec_.version;
        if (r.contains("prepare") && r["prepare"].is_object()) {
            auto& prep = r["prepare"];
            if (recipe_->source.kind == "clone_git" && prep.contains("clone_git") &&
                prep["clone_git"].is_object()) {
                prep["clone_git"]["commit"] = rev_.commit;
            } else if (recipe_->source.kind == "download_zip" && prep.contains("download_zip") &&
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
    [[nodiscard]] std::optional<Json> locked_source() const {
        if (!stage_.locked_sources || !stage_.locked_sources->is_array() ||
            stage_.locked_sources->empty()) {
            return std::nullopt;
        }
        return (*stage_.locked_sources)[0];
    }

    void resolve(const BuildContext& ctx) override {
        mirrored_.clear();
        Json src;
        if (recipe_->source.kind == "path") {
            src = resolve_path(ctx);
        } else if (recipe_->source.kind == "download_zip") {
            src = resolve_zip(ctx);
        } else if (recipe_->source.kind == "clone_git") {
            src = resolve_git(ctx);
        }
        spec_.source_json = src.is_null() ? std::string() : detail::dump_compact(src);
    }

    void build(const BuildContext& ctx) override {
        auto timeout = std::chrono::seconds(ctx.timeout_seconds);
        auto dest =
            recipe_->source.destination.empty() ? ctx.dir : ctx.dir / recipe_->source.destination;
        if (recipe_->source.kind == "path") {
            // The work area may have been renamed since resolve(): the recipe copy moved with it.
            detail::copy_path_source(path_in_recipe_
                                         ? (ctx.recipe_dir / recipe_->source.url).lexically_normal()
                                         : path_root_,
                                     dest, path_excluded_);
        } else if (recipe_->source.kind == "download_zip") {
            detail::extract_zip(ctx.work_dir / "downloads" / archive_name_, dest,
                                recipe_->source.strip_top_level, ctx.archive_limits,
                                detail::redact_url(recipe_->source.url));
        } else if (recipe_->source.kind == "clone_git") {
            auto repos = ctx.work_dir / "git-repos";
            auto clone = repos / clone_key_;
            submodules_ =
                detail::list_submodules(clone, rev_.commit, recipe_->source.url, ctx.environment);
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
        auto removed = strip_prebuilt_binaries(ctx.dir, spec_.compile_script.has_value(),
                                               recipe_->keep_prebuilt);
        for (const auto& r : removed) {
            ctx.logger.info(spec_.name + ": removed prebuilt binary " + r);
        }
        // The compile stage strips stale MEX files too; it must spare the same ones.
        if (!recipe_->keep_prebuilt.empty() &&
            std::none_of(spec_.extra_fields.begin(), spec_.extra_fields.end(),
                         [](const auto& kv) { return kv.first == "keep_prebuilt"; })) {
            spec_.extra_fields.emplace_back("keep_prebuilt",
                                            detail::dump_compact(Json(recipe_->keep_prebuilt)));
        }
        std::vector<AddPath> items = recipe_->addpaths;
        if (items.empty()) {
            items.push_back(
                {recipe_->source.destination.empty() ? "." : recipe_->source.destination,
                 false,
                 {}});
        }
        std::vector<std::string> dirs;
        try {
            dirs = expand_addpaths(ctx.dir, items);
        } catch (const SpecError& e) {  // name the recipe and the key as written
            std::vector<Issue> issues;
            for (const auto& issue : e.issues()) {
                auto field = issue.field;
                if (field.rfind("addpaths", 0) == 0) {
                    field = recipe_->addpaths_field + field.substr(8);
                }
                issues.push_back({field, issue.message});
            }
            throw SpecError(spec_.name + ": prepare.yaml", issues);
        }
        for (const auto& d : dirs) {
            if (!has_matlab_content(d == "." ? ctx.dir : ctx.dir / d, recipe_->extensions)) {
                std::string children;
                std::error_code ec;
                for (fs::directory_iterator it(ctx.dir / d, ec), end; !ec && it != end;
                     it.increment(ec)) {
                    children += (children.empty() ? "" : ", ") + it->path().filename().string() +
                                (it->is_directory() ? "/" : "");
                }
                ctx.logger.warning(
                    spec_.name + ": prepare.yaml: " + recipe_->addpaths_field + " puts '" + d +
                    "' on the path, but it holds no MATLAB files" +
                    (children.empty() ? std::string(" (it is empty)")
                                      : " (it holds: " + children + ")") +
                    "; a download_zip archive keeps its top folder under its destination");
            }
        }
        create_load_and_unload_scripts(ctx.dir, dirs);
        spec_.exposed_symbols =
            collect_exposed_symbols_multiple_paths(ctx.dir, dirs, recipe_->extensions);
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
        copy_test_script(ctx);
    }

private:
    /// `builds[].test_script`: shipped in the archive beside mip.json (the test stage runs it).
    void copy_test_script(const BuildContext& ctx) const {
        for (const auto& [key, value] : spec_.extra_fields) {
            if (key != "test_script") {
                continue;
            }
            const auto name = Json::parse(value).get<std::string>();
            const auto script = ctx.recipe_dir / name;
            if (!fs::is_regular_file(script)) {
                throw SpecError(
                    spec_.name + ": prepare.yaml",
                    {{"builds.test_script", "'" + name + "' does not exist beside the recipe"}});
            }
            fs::copy_file(script, ctx.dir / name, fs::copy_options::overwrite_existing);
        }
    }

    /// A plain `http://` source: refused under `--require-https`, else fetched with a warning
    /// (the lock pins its bytes: the archive's sha256, the commit).
    void check_plain_http(const BuildContext& ctx,
                          // NOLINTNEXTLINE(bugprone-easily-swappable-parameters): URL, field, verb
                          const std::string& fetch,
                          const std::string& field,
                          const std::string& verb) const {
        if (fetch.rfind("http://", 0) != 0) {
            return;
        }
        std::string shown = detail::redact_url(fetch);
        std::string via = fetch == recipe_->source.url ? "" : " (from --source-mirror)";
        if (ctx.require_https) {
            throw SpecError(spec_.name + ": prepare.yaml",
                            {{field, "'" + shown + "'" + via +
                                         " is plain http://, refused under --require-https"}});
        }
        ctx.logger.warning(spec_.name + ": " + verb + " over plain http: " + shown + via +
                           " (anyone on the path can change the bytes; the lock records what "
                           "was fetched, --require-https refuses it)");
    }

    /// `prepare.path`: the directory hashed (its `source` entry).
    Json resolve_path(const BuildContext& ctx) {
        Json src;
        // Inside the recipe directory: its copy in the work area (a prescript may have made
        // it). Outside (`path: ..`): resolved against the recipe directory as found, without
        // libmip's own output directories.
        path_root_ = (ctx.recipe_dir / recipe_->source.url).lexically_normal();
        path_excluded_.clear();
        path_in_recipe_ = detail::is_within(path_root_, ctx.recipe_dir);
        if (!path_in_recipe_) {
            auto base = ctx.original_recipe_dir.empty() ? ctx.recipe_dir : ctx.original_recipe_dir;
            path_root_ = fs::absolute(base / recipe_->source.url).lexically_normal();
            path_excluded_ = detail::path_source_exclusions(
                path_root_, {ctx.work_dir.parent_path(), ctx.cache_dir},
                spec_.name + ": prepare.yaml", "prepare.path.path");
        }
        if (!fs::is_directory(path_root_)) {
            throw SpecError(spec_.name + ": prepare.yaml",
                            {{"prepare.path.path",
                              "'" + recipe_->source.url + "' (" + path_root_.string() +
                                  ") must be a directory, relative to the recipe directory"}});
        }
        path_sha256_ = detail::path_source_hash(path_root_, path_excluded_);
        src = {{"type", "path"},
               {"url", recipe_->source.url},
               {"ref", nullptr},
               {"commit", nullptr},
               {"sha256", path_sha256_}};
        return src;
    }

    /// `prepare.download_zip`: downloaded into the work area and pinned by its digest.
    Json resolve_zip(const BuildContext& ctx) {
        auto timeout = std::chrono::seconds(ctx.timeout_seconds);
        auto locked = locked_source();
        Json src;
        // Downloaded into the work area (outside the .dir) and pinned by its digest.
        auto downloads = ctx.work_dir / "downloads";
        detail::create_dirs(downloads);
        archive_name_ = detail::sha256_hex(recipe_->source.url).substr(0, 24) + ".zip";
        auto archive = downloads / archive_name_;
        detail::HttpOptions http;
        http.total_timeout = timeout;
        http.logger = ctx.logger;
        http.ca_file = ctx.ca_file;
        http.max_bytes = ctx.archive_limits.max_download_bytes();
        std::string fetch = recipe_->source.url;
        if (auto mirrored = mirror_url(recipe_->source.url, ctx.source_mirrors)) {
            fetch = *mirrored;
            mirrored_.push_back({recipe_->source.url, fetch});
            ctx.logger.info(spec_.name + ": fetching " + detail::redact_url(recipe_->source.url) +
                            " from the mirror " + detail::redact_url(fetch));
        }
        check_plain_http(ctx, fetch, "prepare.download_zip.url", "downloading");
        auto digest = detail::http_download(fetch, archive, http);
        if (locked && locked->value("sha256", std::string()) != digest) {
            throw LockMismatch({"sources[0].sha256: the bytes of " + detail::redact_url(fetch) +
                                " changed: lock " + locked->value("sha256", std::string()) +
                                ", downloaded " + digest});
        }
        if (recipe_->source.sha256 && *recipe_->source.sha256 != digest) {
            throw SpecError(
                spec_.name + ": prepare.yaml",
                {{"prepare.download_zip.sha256",
                  "mismatch: expected " + *recipe_->source.sha256 + ", downloaded " + digest}});
        }
        archive_sha256_ = digest;
        archive_size_ = static_cast<std::uint64_t>(fs::file_size(archive));
        src = {{"type", "zip"},
               {"url", detail::redact_url(recipe_->source.url)},
               {"ref", nullptr},
               {"commit", nullptr},
               {"sha256", digest}};
        return src;
    }

    /// `prepare.clone_git`: cloned, pinned to a commit, tags rewritten, described.
    Json resolve_git(const BuildContext& ctx) {
        auto timeout = std::chrono::seconds(ctx.timeout_seconds);
        const auto& env = ctx.environment;
        auto locked = locked_source();
        Json src;
        // Clone fully first, then resolve inside the clone (never resolve-then-clone).
        clone_key_ = detail::git_url_key(recipe_->source.url);
        auto mirrored = mirror_url(recipe_->source.url, ctx.source_mirrors);
        if (mirrored) {
            mirrored_.push_back({recipe_->source.url, *mirrored});
            ctx.logger.info(spec_.name + ": cloning " + detail::redact_url(recipe_->source.url) +
                            " from the mirror " + detail::redact_url(*mirrored));
        }
        check_plain_http(ctx, mirrored.value_or(recipe_->source.url), "prepare.clone_git.url",
                         "cloning");
        auto clone = detail::clone_full(recipe_->source.url, ctx.work_dir / "git-repos", env,
                                        timeout, ctx.source_mirrors);
        if (stage_.on_cloned) {
            stage_.on_cloned(recipe_->source.url);
        }
        if (locked) {
            rev_ = detail::resolve_locked(clone, recipe_->source.ref.value_or(""),
                                          locked->value("commit", std::string()), env, timeout);
            rev_.rev_kind = locked->value("rev_kind", std::string("commit"));
        } else {
            rev_ = detail::resolve_rev(clone, recipe_->source.ref.value_or(""), env);
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
        if (recipe_->version_mode == "git" || recipe_->version_mode == "auto") {
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
               {"url", detail::redact_url(recipe_->source.url)},
               {"ref", recipe_->source.ref ? Json(*recipe_->source.ref) : Json(nullptr)},
               {"commit", rev_.commit},
               {"sha256", nullptr},
               {"describe", described}};
        return src;
    }

    PackageSpec spec_;
    std::shared_ptr<const detail::YamlRecipe> recipe_;  ///< the file, shared by its builds
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

class YamlRecipeKind final : public RecipeKind {
public:
    [[nodiscard]] std::string file_name() const override { return "prepare.yaml"; }

    [[nodiscard]] std::vector<std::unique_ptr<RecipeBuild>> load(
        const RecipeContext& ctx) const override {
        auto recipe = std::make_shared<const detail::YamlRecipe>(detail::read_prepare_yaml(ctx));
        std::vector<std::unique_ptr<RecipeBuild>> out;
        for (const auto& bs : recipe->builds) {
            if (bs.build_type != ctx.build_type) {
                continue;
            }
            PackageSpec spec = recipe->base;
            spec.compile_script = bs.compile_script;
            if (bs.test_script) {
                spec.extra_fields.emplace_back("test_script",
                                               detail::dump_compact(Json(*bs.test_script)));
            }
            spec.matlab_tag = bs.matlab_tag.value_or("any");
            spec.abi_tag = bs.abi_tag.value_or("none");
            spec.platform_tag =
                bs.platform_tag.value_or(bs.compile_script ? ctx.host_platform_tag : "any");
            auto tag_issues = spec.wheel().validate();
            if (!tag_issues.empty()) {
                throw SpecError(recipe->subject, tag_issues);
            }
            out.push_back(std::make_unique<YamlBuild>(std::move(spec), recipe));
        }
        return out;
    }
};

}  // namespace

std::shared_ptr<RecipeKind> make_yaml_recipe_kind() { return std::make_shared<YamlRecipeKind>(); }

}  // namespace mip
