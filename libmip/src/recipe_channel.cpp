// The channel-tree recipe kind: packages/<name>/<release>/{mip.yaml,source.yaml,...}
// (spec mip-current §1, docs/current-format.md). Read in recipe_channel_schema.cpp.
#include <algorithm>

#include <mip/error.hpp>
#include <mip/helpers.hpp>
#include <mip/recipe.hpp>

#include "detail/crypto.hpp"
#include "detail/fs.hpp"
#include "detail/git_source.hpp"
#include "detail/http.hpp"
#include "detail/json.hpp"
#include "detail/staged_build.hpp"
#include "detail/tar_source.hpp"
#include "detail/zip_reader.hpp"
#include "recipe_channel_schema.hpp"

namespace mip {

namespace fs = std::filesystem;
using detail::ChannelPath;
using detail::Json;

namespace {

std::vector<AddPath> to_addpaths(const std::vector<ChannelPath>& items) {
    std::vector<AddPath> out;
    out.reserve(items.size());
    for (const auto& p : items) {
        out.push_back({p.path, p.recursive, {}});
    }
    return out;
}

/// `path` (inside `root`, possibly not existing) reached without following a symlink out.
bool stays_inside(const fs::path& root, const fs::path& path) {
    return detail::is_within(fs::weakly_canonical(path), fs::weakly_canonical(root));
}

class ChannelBuild final : public RecipeBuild, public detail::StagedBuild {
public:
    ChannelBuild(PackageSpec spec,
                 std::shared_ptr<const detail::ChannelRecipe> recipe,
                 std::size_t build_index)
        : spec_(std::move(spec)), recipe_(std::move(recipe)), index_(build_index) {}

    [[nodiscard]] const PackageSpec& spec() const override { return spec_; }
    [[nodiscard]] PackageSpec& mutable_spec() override { return spec_; }
    [[nodiscard]] std::optional<std::int64_t> source_epoch() const override {
        return source_epoch_;
    }
    [[nodiscard]] std::vector<MirroredFetch> mirrored_fetches() const override { return mirrored_; }
    [[nodiscard]] bool versioned_work_area() const override { return true; }

    void set_stage_options(const detail::StageOptions& options) override { stage_ = options; }
    [[nodiscard]] std::string version_source() const override { return "recipe"; }
    [[nodiscard]] std::vector<std::string> stage_notes() const override { return notes_; }

    [[nodiscard]] Json lock_sources() const override {
        const auto& s = recipe_->source;
        Json e = Json::object();
        e["kind"] = s.kind;
        e["url"] = detail::redact_url(s.url);
        if (s.kind == "git") {
            e["rev"] = s.branch ? Json(*s.branch) : Json(nullptr);
            e["rev_kind"] = rev_.rev_kind;
            e["commit"] = rev_.commit;
            e["commit_time"] = rev_.commit_time;
        } else {
            e["sha256"] = archive_sha256_;
            e["size"] = archive_size_;
        }
        return Json::array({e});
    }

    [[nodiscard]] Json resolved_recipe(const std::vector<std::string>& set_names) const override {
        (void)set_names;
        Json r = Json::object();
        r["release"] = recipe_->release;
        r["name"] = spec_.name;
        r["version"] = spec_.version;
        r["source"] = Json::parse(spec_.source_json.empty() ? "null" : spec_.source_json);
        return r;
    }

    void resolve(const BuildContext& ctx) override {
        mirrored_.clear();
        const auto& s = recipe_->source;
        Json src = Json::object();
        src["type"] = s.kind;
        src["url"] = detail::redact_url(s.url);
        src["ref"] = s.branch ? Json(*s.branch) : Json(nullptr);
        std::string pin;
        if (s.kind == "git") {
            resolve_git(ctx);
            src["commit"] = rev_.commit;
            src["sha256"] = nullptr;
            pin = rev_.commit;
        } else {
            resolve_archive(ctx);
            src["commit"] = nullptr;
            src["sha256"] = archive_sha256_;
            pin = archive_sha256_;
        }
        if (!s.subdirectory.empty()) {
            src["subdirectory"] = s.subdirectory;
        }
        spec_.source_json = detail::dump_compact(src);
        // §5: the release folder (the recipe copy: relative `/` paths and bytes, sorted)
        // combined with the upstream pin.
        auto source_hash = detail::sha256_hex(detail::tree_hash(ctx.recipe_dir) + "\n" + pin);
        set_extra("source_hash", Json(source_hash));
        set_extra("commit_hash", s.kind == "git" ? Json(rev_.commit) : Json(nullptr));
    }

    void build(const BuildContext& ctx) override {
        fetch_into(ctx, ctx.dir);
        remove_listed(ctx.dir);
        overlay(ctx);
        const auto& b = recipe_->builds[index_];
        if (spec_.compile_script) {
            auto removed = strip_prebuilt_binaries(ctx.dir, true);
            for (const auto& r : removed) {
                ctx.logger.info(spec_.name + ": removed prebuilt binary " + r);
            }
        }
        for (const auto& [field, script] : {std::pair{"compile_script", b.compile_script},
                                            std::pair{"test_script", b.test_script}}) {
            if (script && !fs::is_regular_file(fs::symlink_status(ctx.dir / *script))) {
                throw SpecError(
                    spec_.name + ": " + recipe_->subject,
                    {{"builds[" + std::to_string(index_) + "]." + field,
                      "'" + *script + "' is neither in the release folder nor in the source"}});
            }
        }
        auto dirs = expand(ctx.dir, b.paths.value_or(recipe_->paths),
                           b.paths ? "builds[" + std::to_string(index_) + "].paths" : "paths");
        Json extra = Json::object();
        for (const auto& [group, items] : recipe_->extra_paths) {
            extra[group] = expand(ctx.dir, items, "extra_paths." + group);
        }
        // The R2 layout's entry points (the current layout drops them: the client adds `paths`).
        create_load_and_unload_scripts(ctx.dir, dirs);
        spec_.exposed_symbols = collect_exposed_symbols_multiple_paths(ctx.dir, dirs, {});
        set_extra("paths", Json(dirs));
        set_extra("extra_paths", extra);
        set_extra("test_script", b.test_script ? Json(*b.test_script) : Json(nullptr));
        Json declared = Json::array();
        for (const auto& bs : recipe_->builds) {
            for (const auto& a : bs.architectures) {
                declared.push_back(a);
            }
        }
        set_extra("declared_architectures", declared);
    }

private:
    void set_extra(const std::string& key, const Json& value) {
        auto& f = spec_.extra_fields;
        f.erase(std::remove_if(f.begin(), f.end(), [&](const auto& kv) { return kv.first == key; }),
                f.end());
        if (!value.is_null()) {
            f.emplace_back(key, detail::dump_compact(value));
        }
    }

    /// A plain `http://` URL: refused under `--require-https`, else a warning (the sha256 of
    /// the bytes is recorded).
    void check_plain_http(const BuildContext& ctx, const std::string& fetch) const {
        if (fetch.rfind("http://", 0) != 0) {
            return;
        }
        const auto& s = recipe_->source;
        if (ctx.require_https) {
            throw SpecError(spec_.name + ": " + source_subject(),
                            {{"source." + s.kind, "'" + detail::redact_url(fetch) +
                                                      "' is plain http://, refused under "
                                                      "--require-https"}});
        }
        ctx.logger.warning(spec_.name + ": fetching over plain http: " + detail::redact_url(fetch) +
                           " (its sha256 is recorded)");
    }

    void resolve_git(const BuildContext& ctx) {
        const auto& s = recipe_->source;
        auto timeout = std::chrono::seconds(ctx.timeout_seconds);
        auto mirrored = mirror_url(s.url, ctx.source_mirrors);
        if (mirrored) {
            mirrored_.push_back({s.url, *mirrored});
        }
        check_plain_http(ctx, mirrored.value_or(s.url));
        clone_key_ = detail::git_url_key(s.url);
        auto clone = detail::clone_full(s.url, ctx.work_dir / "git-repos", ctx.environment, timeout,
                                        ctx.source_mirrors);
        if (stage_.on_cloned) {
            stage_.on_cloned(s.url);
        }
        const Json* locked = stage_.locked_sources && stage_.locked_sources->is_array() &&
                                     !stage_.locked_sources->empty()
                                 ? &(*stage_.locked_sources)[0]
                                 : nullptr;
        if (locked != nullptr) {
            rev_ = detail::resolve_locked(clone, s.branch.value_or(""),
                                          locked->value("commit", std::string()), ctx.environment,
                                          timeout);
        } else {
            // §5: resolved for every git source, also without `branch:` (the remote's HEAD).
            rev_ = detail::resolve_rev(clone, s.branch.value_or(""), ctx.environment);
        }
        source_epoch_ = rev_.commit_time;
    }

    void resolve_archive(const BuildContext& ctx) {
        const auto& s = recipe_->source;
        auto downloads = ctx.work_dir / "downloads";
        detail::create_dirs(downloads);
        archive_name_ = detail::sha256_hex(s.url).substr(0, 24) + ".download";
        detail::HttpOptions http;
        http.total_timeout = std::chrono::seconds(ctx.timeout_seconds);
        http.logger = ctx.logger;
        http.ca_file = ctx.ca_file;
        http.max_bytes = ctx.archive_limits.max_download_bytes();
        std::string fetch = s.url;
        if (auto mirrored = mirror_url(s.url, ctx.source_mirrors)) {
            fetch = *mirrored;
            mirrored_.push_back({s.url, fetch});
        }
        check_plain_http(ctx, fetch);
        archive_sha256_ = detail::http_download(fetch, downloads / archive_name_, http);
        archive_size_ = static_cast<std::uint64_t>(fs::file_size(downloads / archive_name_));
    }

    void fetch_into(const BuildContext& ctx, const fs::path& dest) {
        const auto& s = recipe_->source;
        auto timeout = std::chrono::seconds(ctx.timeout_seconds);
        auto label = spec_.name + " " + s.kind + " " + detail::redact_url(s.url);
        if (s.kind == "zip") {  // §1: extracted as is (no top folder stripped)
            detail::extract_zip(ctx.work_dir / "downloads" / archive_name_, dest, false,
                                ctx.archive_limits, label);
            return;
        }
        if (s.kind == "tarball") {
            auto tmp = ctx.work_dir / "tarball";
            detail::remove_tree(tmp);
            detail::extract_tarball(ctx.work_dir / "downloads" / archive_name_, tmp,
                                    ctx.archive_limits, label, ctx.environment, timeout);
            detail::copy_tree(tmp, dest, false);
            return;
        }
        auto repos = ctx.work_dir / "git-repos";
        auto clone = repos / clone_key_;
        if (s.submodules) {
            for (const auto& sm :
                 detail::list_submodules(clone, rev_.commit, s.url, ctx.environment)) {
                if (!sm.key.empty()) {  // relative: a sibling clone, where git looks for it
                    (void)detail::clone_full(sm.resolved_url, repos, ctx.environment, timeout,
                                             ctx.source_mirrors);
                }
            }
        }
        auto checkout = ctx.work_dir / "checkouts" / "0";
        for (auto& w : detail::checkout_commit(clone, rev_.commit, checkout, s.submodules,
                                               ctx.environment, timeout, ctx.source_mirrors)) {
            ctx.logger.warning(spec_.name + ": " + w);
            notes_.push_back(w);
        }
        auto from = checkout;
        if (!s.subdirectory.empty()) {
            from = checkout / s.subdirectory;
            if (!fs::is_directory(fs::symlink_status(from)) || !stays_inside(checkout, from)) {
                throw SpecError(spec_.name + ": " + source_subject(),
                                {{"source.subdirectory", "'" + s.subdirectory +
                                                             "' is not a directory of commit " +
                                                             rev_.commit.substr(0, 12)}});
            }
        }
        detail::copy_tree(from, dest, true);
    }

    [[nodiscard]] std::string source_subject() const {
        return recipe_->subject.substr(0, recipe_->subject.size() - 8) + "source.yaml";
    }

    /// `remove_dirs` / `remove_files`, relative to the source root, never through a symlink.
    void remove_listed(const fs::path& root) const {
        const auto& s = recipe_->source;
        for (const auto& [field, list, want_dir] :
             {std::tuple{"source.remove_dirs", &s.remove_dirs, true},
              std::tuple{"source.remove_files", &s.remove_files, false}}) {
            for (std::size_t i = 0; i < list->size(); ++i) {
                const auto& rel = (*list)[i];
                auto p = root / rel;
                auto st = fs::symlink_status(p);
                if (!fs::exists(st)) {
                    notes_.push_back(std::string(field) + ": '" + rel + "' is not in the source");
                    continue;
                }
                bool is_dir = fs::is_directory(st);
                if (!stays_inside(root, p.parent_path()) || is_dir != want_dir) {
                    throw SpecError(
                        spec_.name + ": " + source_subject(),
                        {{std::string(field) + "[" + std::to_string(i) + "]",
                          "'" + rel + "' is " + (is_dir ? "a directory" : "not a directory") +
                              " of the source" + (want_dir ? "" : " (use remove_dirs)")}});
                }
                detail::remove_tree(p);
            }
        }
    }

    /// The release folder's other files, copied over the fetched source.
    void overlay(const BuildContext& ctx) const {
        for (const auto& rel : recipe_->overlay_files) {
            auto to = ctx.dir / rel;
            if (!stays_inside(ctx.dir, to.parent_path())) {
                throw SpecError(spec_.name + ": " + recipe_->subject,
                                {{"release folder", "'" + rel +
                                                        "' would be written through a symlink "
                                                        "of the source"}});
            }
            detail::create_dirs(to.parent_path());
            if (fs::is_symlink(fs::symlink_status(to)) || fs::is_regular_file(to)) {
                fs::remove(to);
            }
            detail::copy_file_checked(ctx.recipe_dir / rel, to);
        }
    }

    std::vector<std::string> expand(const fs::path& root,
                                    const std::vector<ChannelPath>& items,
                                    const std::string& field) const {
        try {
            return expand_addpaths(root, to_addpaths(items));
        } catch (const SpecError& e) {  // name the file and the key as written
            std::vector<Issue> issues;
            for (const auto& issue : e.issues()) {
                auto f = issue.field;
                if (f.rfind("addpaths", 0) == 0) {
                    f.replace(0, 8, field);
                }
                issues.push_back({f, issue.message});
            }
            throw SpecError(spec_.name + ": " + recipe_->subject, issues);
        }
    }

    PackageSpec spec_;
    std::shared_ptr<const detail::ChannelRecipe> recipe_;
    std::size_t index_ = 0;  ///< which of the release's builds
    detail::StageOptions stage_;
    std::string clone_key_;
    detail::ResolvedRev rev_;
    std::string archive_name_;
    std::string archive_sha256_;
    std::uint64_t archive_size_ = 0;
    std::vector<MirroredFetch> mirrored_;
    mutable std::vector<std::string> notes_;
    std::optional<std::int64_t> source_epoch_;
};

class ChannelRecipeKind final : public RecipeKind {
public:
    [[nodiscard]] std::string file_name() const override { return "mip.yaml"; }

    [[nodiscard]] std::vector<std::unique_ptr<RecipeBuild>> load(
        const RecipeContext& ctx) const override {
        auto recipe =
            std::make_shared<const detail::ChannelRecipe>(detail::read_channel_recipe(ctx));
        std::vector<std::unique_ptr<RecipeBuild>> out;
        for (std::size_t i = 0; i < recipe->builds.size(); ++i) {
            const auto& bs = recipe->builds[i];
            for (const auto& arch : bs.architectures) {
                // §1: `any` everywhere, a platform architecture on that platform only.
                if (arch != "any" && arch != ctx.host_platform_tag) {
                    ctx.logger.info(recipe->subject + ": " + arch +
                                    " is built on its own platform, not on " +
                                    ctx.host_platform_tag);
                    continue;
                }
                PackageSpec spec = recipe->base;
                spec.compile_script = bs.compile_script;
                spec.platform_tag = arch;
                out.push_back(std::make_unique<ChannelBuild>(std::move(spec), recipe, i));
            }
        }
        return out;
    }
};

}  // namespace

std::shared_ptr<RecipeKind> make_channel_recipe_kind() {
    return std::make_shared<ChannelRecipeKind>();
}

}  // namespace mip
