// The recipe helper functions of mip/helpers.hpp (format spec §8) and host_platform_tag.
#include <algorithm>
#include <cctype>
#include <set>

#include <sys/utsname.h>

#include <mip/error.hpp>
#include <mip/helpers.hpp>
#include <mip/recipe.hpp>

#include "detail/crypto.hpp"
#include "detail/env.hpp"
#include "detail/fs.hpp"
#include "detail/git.hpp"
#include "detail/http.hpp"
#include "detail/text.hpp"
#include "detail/zip_reader.hpp"

namespace mip {

namespace fs = std::filesystem;
using detail::ascii_lower;
using detail::IdentifierRule;
using detail::is_identifier;

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() &&
           s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool pruned_dir_name(const std::string& name, const std::vector<std::string>& exclude) {
    return name == ".git" || name == "private" ||
           (!name.empty() && (name[0] == '+' || name[0] == '@')) ||
           std::find(exclude.begin(), exclude.end(), name) != exclude.end();
}

std::vector<fs::path> sorted_children(const fs::path& dir) {
    std::vector<fs::path> out;
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        out.push_back(it->path());
    }
    if (ec) {
        throw IoError("cannot list directory", dir.string(), ec);
    }
    std::sort(out.begin(), out.end(), [](const fs::path& a, const fs::path& b) {
        return a.filename().string() < b.filename().string();
    });
    return out;
}

void collect_dirs_below(const fs::path& dir,
                        const std::vector<std::string>& exclude,
                        std::vector<fs::path>& out) {
    for (const auto& child : sorted_children(dir)) {
        if (fs::is_directory(fs::symlink_status(child)) &&
            !pruned_dir_name(child.filename().string(), exclude)) {
            out.push_back(child);
            collect_dirs_below(child, exclude, out);
        }
    }
}

bool has_m_file(const fs::path& dir) {
    for (const auto& child : sorted_children(dir)) {
        if (fs::is_regular_file(fs::symlink_status(child)) && child.extension() == ".m") {
            return true;
        }
    }
    return false;
}

std::string matlab_quote(const std::string& s) {
    std::string out;
    for (char c : s) {
        out += c;
        if (c == '\'') {
            out += '\'';
        }
    }
    return out;
}

}  // namespace

CloneResult clone_repository_and_remove_git(const std::string& repository_url,
                                            const fs::path& clone_dir,
                                            const CloneOptions& options) {
    std::error_code ec;
    if (fs::exists(clone_dir, ec) && !fs::is_empty(clone_dir, ec)) {
        throw SpecError(clone_dir.string(), {{"clone_dir", "is not empty"}});
    }
    auto env = detail::process_environment();
    auto timeout = std::chrono::seconds(options.timeout_seconds);
    auto shown = detail::redact_url(repository_url);
    bool ref_is_commit = options.ref && detail::is_full_commit_id(*options.ref);
    auto parent = fs::absolute(clone_dir).parent_path();
    detail::create_dirs(parent);
    std::vector<std::string> args = {"clone", "--quiet", "--no-tags"};
    if (!ref_is_commit) {
        args.push_back("--depth");
        args.push_back("1");
        if (options.ref) {
            args.push_back("--branch");
            args.push_back(*options.ref);
        }
    }
    args.push_back("--");
    args.push_back(repository_url);
    args.push_back(fs::absolute(clone_dir).string());
    options.logger.info("cloning " + shown + (options.ref ? " at " + *options.ref : ""));
    try {
        (void)detail::git_checked(args, parent, env, "clone of " + shown, timeout);
        if (ref_is_commit) {
            (void)detail::git_checked({"checkout", "--quiet", "--detach", *options.ref}, clone_dir,
                                      env, "checkout of " + *options.ref + " in " + shown, timeout);
        }
        CloneResult result;
        result.commit =
            detail::git_checked({"rev-parse", "HEAD"}, clone_dir, env, "rev-parse", timeout);
        auto ct = detail::git_checked({"log", "-1", "--format=%ct", "HEAD"}, clone_dir, env, "log",
                                      timeout);
        result.commit_time = std::stoll(ct);
        // Remove every .git dir or file (submodules have .git files).
        std::vector<fs::path> gits;
        for (auto it = fs::recursive_directory_iterator(clone_dir);
             it != fs::recursive_directory_iterator(); ++it) {
            if (it->path().filename() == ".git") {
                gits.push_back(it->path());
                if (it->is_directory()) {
                    it.disable_recursion_pending();
                }
            }
        }
        for (const auto& g : gits) {
            detail::remove_tree(g);
        }
        return result;
    } catch (...) {
        std::error_code ignore;
        fs::remove_all(clone_dir, ignore);
        throw;
    }
}

std::string download_and_extract_zip(const std::string& url,
                                     const fs::path& extract_dir,
                                     const DownloadOptions& options) {
    auto shown = detail::redact_url(url);
    if (url.rfind("https://", 0) != 0 && url.rfind("file://", 0) != 0) {
        if (url.rfind("http://", 0) == 0) {
            options.logger.warning("downloading over plain http: " + shown);
        } else {
            throw SpecError(shown, {{"url", "must be https:// or file://"}});
        }
    }
    std::optional<detail::TempDir> temp;
    fs::path dir = options.cache_dir;
    if (dir.empty()) {
        temp.emplace(fs::temp_directory_path(), "mip-download-");
        dir = temp->path();
    }
    detail::create_dirs(dir);
    auto archive = dir / (detail::sha256_hex(url).substr(0, 16) + ".zip");
    detail::HttpOptions http;
    http.total_timeout = std::chrono::seconds(options.timeout_seconds);
    http.retries = options.retries;
    http.logger = options.logger;
    http.max_bytes = options.limits.max_download_bytes();
    options.logger.info("downloading " + shown);
    auto digest = detail::http_download(url, archive, http);
    if (options.sha256 && ascii_lower(*options.sha256) != digest) {
        fs::remove(archive);
        throw SpecError(shown,
                        {{"sha256", "mismatch: expected " + *options.sha256 + ", got " + digest}});
    }
    detail::extract_zip(archive, extract_dir, options.strip_top_level, options.limits, shown);
    return digest;
}

std::vector<std::string> collect_exposed_symbols(const fs::path& base_dir,
                                                 const std::vector<std::string>& extensions) {
    std::set<std::string> symbols;
    if (!fs::is_directory(base_dir)) {
        throw SpecError(base_dir.string(), {{"base_dir", "is not a directory"}});
    }
    for (const auto& child : sorted_children(base_dir)) {
        auto name = child.filename().string();
        auto st = fs::status(child);
        if (fs::is_directory(st)) {
            if (name.size() > 1 && (name[0] == '+' || name[0] == '@') &&
                is_identifier(name.substr(1), IdentifierRule::matlab)) {
                symbols.insert(name.substr(1));
            }
            continue;
        }
        for (const auto& ext : extensions) {
            if (ends_with(name, ext) && name.size() > ext.size()) {
                auto stem = name.substr(0, name.size() - ext.size());
                if (is_identifier(stem, IdentifierRule::matlab)) {
                    symbols.insert(stem);
                }
                break;
            }
        }
    }
    return {symbols.begin(), symbols.end()};
}

std::vector<std::string> collect_exposed_symbols_multiple_paths(
    const fs::path& base_dir,
    // NOLINTNEXTLINE(bugprone-easily-swappable-parameters): the reference helper's signature.
    const std::vector<std::string>& paths,
    const std::vector<std::string>& extensions) {
    std::set<std::string> symbols;
    for (const auto& p : paths) {
        for (auto& s : collect_exposed_symbols(p == "." ? base_dir : base_dir / p, extensions)) {
            symbols.insert(std::move(s));
        }
    }
    return {symbols.begin(), symbols.end()};
}

std::vector<std::string> collect_exposed_symbols_recursive(
    const fs::path& package_dir,
    const std::string& base_path,
    const std::vector<std::string>& exclude_dirs) {
    auto base = base_path.empty() || base_path == "." ? package_dir : package_dir / base_path;
    std::vector<fs::path> dirs{base};
    collect_dirs_below(base, exclude_dirs, dirs);
    std::set<std::string> symbols;
    for (const auto& d : dirs) {
        for (auto& s : collect_exposed_symbols(d)) {
            symbols.insert(std::move(s));
        }
    }
    return {symbols.begin(), symbols.end()};
}

void create_load_and_unload_scripts(const fs::path& mhl_dir,
                                    const std::vector<std::string>& dirs_to_add_to_path) {
    auto root = fs::absolute(mhl_dir).lexically_normal();
    std::vector<std::string> rels;
    for (const auto& d : dirs_to_add_to_path) {
        fs::path p = fs::path(d).is_absolute() ? fs::path(d) : root / d;
        p = p.lexically_normal();
        auto rel = p.lexically_relative(root).generic_string();
        if (rel.empty() || rel == "." || rel == "./") {
            rel = ".";
        } else if (!rel.empty() && rel.back() == '/') {
            rel.pop_back();
        }
        if (rel == ".." || rel.rfind("../", 0) == 0) {
            throw SpecError(mhl_dir.string(), {{"dirs_to_add_to_path",
                                                "'" + d + "' lies outside the package directory"}});
        }
        if (std::find(rels.begin(), rels.end(), rel) == rels.end()) {
            rels.push_back(rel);
        }
    }
    auto line = [](const std::string& fn, const std::string& rel) {
        if (rel == ".") {
            return fn + "(fileparts(mfilename('fullpath')));\n";
        }
        return fn + "(fullfile(fileparts(mfilename('fullpath')), '" + matlab_quote(rel) + "'));\n";
    };
    std::string load;
    std::string unload;
    for (const auto& rel : rels) {
        load += line("addpath", rel);
    }
    for (auto it = rels.rbegin(); it != rels.rend(); ++it) {
        unload += line("rmpath", *it);
    }
    detail::write_file_atomic(root / "load_package.m", load, false);
    detail::write_file_atomic(root / "unload_package.m", unload, false);
}

std::vector<std::string> generate_recursive_subdir_list(
    // NOLINTNEXTLINE(bugprone-easily-swappable-parameters): the reference helper's signature.
    const fs::path& mhl_dir,
    const fs::path& base_dir,
    const std::vector<std::string>& exclude_dirs) {
    auto root = fs::absolute(mhl_dir).lexically_normal();
    auto base = (base_dir.is_absolute() ? base_dir : root / base_dir).lexically_normal();
    std::vector<fs::path> dirs;
    collect_dirs_below(base, exclude_dirs, dirs);
    std::vector<std::string> out;
    out.reserve(dirs.size());
    for (const auto& d : dirs) {
        out.push_back(d.lexically_relative(root).generic_string());
    }
    std::sort(out.begin(), out.end());
    return out;
}

std::vector<std::string> strip_prebuilt_binaries(const fs::path& base_dir,
                                                 bool compiled,
                                                 const std::vector<std::string>& keep) {
    static const std::vector<std::string> mex = {".mexa64", ".mexglx", ".mexmaci64", ".mexmaca64",
                                                 ".mexmac", ".mexw64", ".mexw32"};
    static const std::vector<std::string> built = {".mex", ".oct", ".dll", ".dylib", ".so",
                                                   ".a",   ".lib", ".o",   ".obj",   ".exe"};
    std::vector<std::string> removed;
    for (const auto& rel : detail::list_tree(base_dir, false)) {
        if (std::find(keep.begin(), keep.end(), rel) != keep.end()) {
            continue;
        }
        auto name = ascii_lower(fs::path(rel).filename().string());
        bool strip =
            std::any_of(mex.begin(), mex.end(), [&](const auto& e) { return ends_with(name, e); });
        if (!strip && compiled) {
            strip = std::any_of(built.begin(), built.end(),
                                [&](const auto& e) { return ends_with(name, e); });
            // .so.<n>
            auto so = name.rfind(".so.");
            if (!strip && so != std::string::npos) {
                auto rest = name.substr(so + 4);
                strip = !rest.empty() && std::all_of(rest.begin(), rest.end(), [](char c) {
                    return std::isdigit(static_cast<unsigned char>(c)) != 0 || c == '.';
                });
            }
        }
        if (strip) {
            fs::remove(base_dir / rel);
            removed.push_back(rel);
        }
    }
    return removed;
}

std::vector<std::string> expand_addpaths(const fs::path& mhl_dir,
                                         const std::vector<AddPath>& items) {
    auto root = fs::absolute(mhl_dir).lexically_normal();
    std::vector<std::string> out;
    auto add = [&out](const std::string& p) {
        if (std::find(out.begin(), out.end(), p) == out.end()) {
            out.push_back(p);
        }
    };
    std::vector<Issue> issues;
    for (std::size_t i = 0; i < items.size(); ++i) {
        const auto& item = items[i];
        std::string field = "addpaths[" + std::to_string(i) + "]";
        std::string p = item.path.empty() ? "." : item.path;
        if (fs::path(p).is_absolute() || p.find('\\') != std::string::npos) {
            issues.push_back({field, "'" + p + "' must be a relative path with '/'"});
            continue;
        }
        auto full = (root / p).lexically_normal();
        auto rel = full.lexically_relative(root).generic_string();
        if (rel == ".." || rel.rfind("../", 0) == 0) {
            issues.push_back({field, "'" + p + "' lies outside the package directory"});
            continue;
        }
        if (!rel.empty() && rel.back() == '/') {
            rel.pop_back();
        }
        if (rel.empty()) {
            rel = ".";
        }
        if (!fs::is_directory(full)) {
            issues.push_back({field, "'" + p + "' does not exist in the prepared directory"});
            continue;
        }
        add(rel);
        if (item.recursive) {
            std::vector<fs::path> dirs;
            collect_dirs_below(full, item.exclude, dirs);
            std::vector<std::string> rels;
            for (const auto& d : dirs) {
                if (has_m_file(d)) {
                    rels.push_back(d.lexically_relative(root).generic_string());
                }
            }
            std::sort(rels.begin(), rels.end());
            for (const auto& r : rels) {
                add(r);
            }
        }
    }
    if (!issues.empty()) {
        throw SpecError("addpaths", issues);
    }
    return out;
}

std::string host_platform_tag(const std::string& override_tag) {
    if (!override_tag.empty()) {
        auto why = check_tag(override_tag);
        if (!why.empty()) {
            throw SpecError("MIP_PLATFORM_TAG", {{"MIP_PLATFORM_TAG", why}});
        }
        return override_tag;
    }
    struct utsname u {};
    if (uname(&u) != 0) {
        throw SpecError("host", {{"platform", "uname failed"}});
    }
    std::string sys = ascii_lower(u.sysname);
    std::string machine = ascii_lower(u.machine);
    if (machine == "amd64") {
        machine = "x86_64";
    }
    if (machine == "arm64") {
        machine = "aarch64";
    }
    if (sys == "linux" && (machine == "x86_64" || machine == "aarch64")) {
        return "linux_" + machine;
    }
    if (sys == "darwin") {
        return machine == "x86_64" ? "macos_x86_64" : "macos_arm64";
    }
    throw SpecError("host", {{"platform", "unsupported host " + sys + "/" + machine}});
}

}  // namespace mip
