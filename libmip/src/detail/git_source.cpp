#include "detail/git_source.hpp"

#include <algorithm>
#include <map>

#include <mip/error.hpp>

#include "detail/fs.hpp"
#include "detail/git.hpp"
#include "detail/http.hpp"

namespace mip::detail {

namespace fs = std::filesystem;

std::string git_url_key(const std::string& url) {
    std::string key;
    auto scheme = url.find("://");
    if (url.rfind("file://", 0) == 0) {
        key = "_local/" + url.substr(7);
    } else if (scheme != std::string::npos) {
        auto rest = url.substr(scheme + 3);
        auto slash = rest.find('/');
        auto authority = rest.substr(0, slash);
        auto path = slash == std::string::npos ? std::string() : rest.substr(slash + 1);
        auto at = authority.rfind('@');
        if (at != std::string::npos) {
            authority = authority.substr(at + 1);
        }
        std::replace(authority.begin(), authority.end(), ':', '_');
        key = authority + "/" + path;
    } else if (auto colon = url.find(':');
               colon != std::string::npos && url.find('/') > colon && url[0] != '/') {
        auto host = url.substr(0, colon);
        auto at = host.rfind('@');
        if (at != std::string::npos) {
            host = host.substr(at + 1);
        }
        key = host + "/" + url.substr(colon + 1);
    } else {
        key = "_local/" + fs::absolute(url).lexically_normal().string();
    }
    // Normalise: no leading '/', no trailing '/', no empty/./.. segments.
    std::string out;
    std::size_t start = 0;
    while (start <= key.size()) {
        auto end = key.find('/', start);
        auto seg = key.substr(start, end == std::string::npos ? std::string::npos : end - start);
        if (seg == "." || seg == "..") {
            throw SpecError(redact_url(url),
                            {{"url", "'.' or '..' path segments are not allowed in a git URL"}});
        }
        if (!seg.empty()) {
            out += (out.empty() ? "" : "/") + seg;
        }
        if (end == std::string::npos) {
            break;
        }
        start = end + 1;
    }
    return out;
}

ResolvedRev resolve_rev(const fs::path& clone, const std::string& rev, const Environment& env) {
    ResolvedRev r;
    r.rev = rev;
    auto try_ref = [&](const std::string& ref) -> std::string {
        auto res = run_git({"rev-parse", "--verify", "--quiet", ref + "^{commit}"}, clone, env);
        if (!res.ok()) {
            return {};
        }
        auto out = res.output;
        while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) {
            out.pop_back();
        }
        return out;
    };
    if (rev.empty()) {
        r.rev_kind = "default";
        r.commit = try_ref("refs/remotes/origin/HEAD");
        if (r.commit.empty()) {
            r.commit = try_ref("HEAD");
        }
        // A full id wins over tags and branches; an abbreviated one (below) only after them.
        // NOLINTBEGIN(bugprone-branch-clone)
    } else if (is_full_commit_id(rev)) {
        r.rev_kind = "commit";
        r.commit = try_ref(rev);
    } else if (auto tag = try_ref("refs/tags/" + rev); !tag.empty()) {
        r.rev_kind = "tag";
        r.commit = tag;
    } else if (auto branch = try_ref("refs/remotes/origin/" + rev); !branch.empty()) {
        r.rev_kind = "branch";
        r.commit = branch;
    } else if (rev.size() >= 7 && std::all_of(rev.begin(), rev.end(), [](char c) {
                   return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
               })) {
        r.rev_kind = "commit";
        r.commit = try_ref(rev);
    }
    // NOLINTEND(bugprone-branch-clone)
    if (r.commit.empty()) {
        throw SpecError(
            "git source",
            {{"ref", rev.empty()
                         ? std::string("the repository has no default branch")
                         : "'" + rev + "' is not a commit, tag or branch of the repository"}});
    }
    r.commit_time =
        std::stoll(git_checked({"log", "-1", "--format=%ct", r.commit}, clone, env, "git log"));
    return r;
}

}  // namespace mip::detail

namespace mip::detail {

namespace {

std::string trim_newlines(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) {
        s.pop_back();
    }
    return s;
}

}  // namespace

bool is_local_url(const std::string& url) {
    if (url.rfind("file://", 0) == 0) {
        return true;
    }
    if (url.find("://") != std::string::npos) {
        return false;
    }
    auto colon = url.find(':');
    bool scp_like =
        colon != std::string::npos && url.find('/') > colon && !url.empty() && url[0] != '/';
    return !scp_like;
}

std::vector<std::pair<std::string, std::string>> mirror_git_config(
    const std::vector<SourceMirror>& mirrors) {
    std::vector<std::pair<std::string, std::string>> out;
    std::vector<std::string> originals;
    for (auto it = mirrors.rbegin(); it != mirrors.rend(); ++it) {  // the last one given wins
        if (std::find(originals.begin(), originals.end(), it->original) != originals.end()) {
            continue;
        }
        originals.push_back(it->original);
        out.emplace_back("url." + it->mirror + ".insteadOf", it->original);
    }
    std::reverse(out.begin(), out.end());
    return out;
}

fs::path clone_full(const std::string& url,
                    const fs::path& repos_dir,
                    const Environment& env,
                    std::chrono::seconds timeout,
                    const std::vector<SourceMirror>& mirrors) {
    auto key = git_url_key(url);
    auto clone = repos_dir / key;
    auto shown = redact_url(url);
    if (fs::exists(clone)) {
        auto origin = run_git({"config", "--get", "remote.origin.url"}, clone, env, timeout);
        if (origin.ok() && trim_newlines(origin.output) == url) {
            return clone;
        }
        throw SpecError(shown, {{"url", "git-repos key '" + key + "' is already used by " +
                                            redact_url(trim_newlines(origin.output))}});
    }
    create_dirs(clone.parent_path());
    std::vector<std::string> args = {"clone", "--quiet", "--no-checkout"};
    for (const auto& [setting, value] : mirror_git_config(mirrors)) {
        args.emplace_back("--config");
        args.push_back(setting);
        args.back() += '=';
        args.back() += value;
    }
    if (auto fetched = mirror_url(url, mirrors)) {
        shown += " (through " + redact_url(*fetched) + ")";
    }
    args.insert(args.end(), {"--", url, clone.string()});
    (void)git_checked(args, clone.parent_path(), env, "clone of " + shown, timeout);
    auto shallow = git_checked({"rev-parse", "--is-shallow-repository"}, clone, env, "rev-parse");
    if (shallow == "true") {
        throw SpecError(shown, {{"url", "the clone is shallow; a full history is needed"}});
    }
    return clone;
}

ResolvedRev resolve_locked(const fs::path& clone,
                           const std::string& rev,
                           const std::string& commit,
                           const Environment& env,
                           std::chrono::seconds timeout) {
    auto present = [&]() {
        return run_git({"cat-file", "-e", commit + "^{commit}"}, clone, env, timeout).ok();
    };
    if (!is_full_commit_id(commit)) {
        throw LockMismatch({"locked commit '" + commit + "' is not a full commit id"});
    }
    if (!present()) {
        (void)run_git({"fetch", "--quiet", "origin", commit}, clone, env, timeout);
        if (!present()) {
            throw LockMismatch(
                {"locked commit " + commit + " is not in the repository (fetched once)"});
        }
    }
    ResolvedRev r;
    r.rev = rev;
    r.rev_kind = "commit";
    r.commit = commit;
    r.commit_time =
        std::stoll(git_checked({"show", "-s", "--format=%ct", commit}, clone, env, "git show"));
    return r;
}

std::string resolve_submodule_url(const std::string& base_in, const std::string& url) {
    if (url.rfind("./", 0) == 0 || url == ".") {
        throw SpecError(redact_url(url),
                        {{"submodule.url", "'./' submodule URLs are not supported"}});
    }
    if (url.rfind("../", 0) != 0) {
        return url;
    }
    std::string base = base_in;
    while (base.size() > 1 && base.back() == '/') {
        base.pop_back();
    }
    std::string prefix;
    std::string path;
    if (auto scheme = base.find("://"); scheme != std::string::npos) {
        auto slash = base.find('/', scheme + 3);
        prefix = base.substr(0, slash);
        path = slash == std::string::npos ? std::string() : base.substr(slash);
    } else if (auto colon = base.find(':');
               colon != std::string::npos && base.find('/') > colon && base[0] != '/') {
        prefix = base.substr(0, colon + 1);
        path = base.substr(colon + 1);
    } else {
        path = base;
    }
    std::vector<std::string> segments;
    std::size_t start = 0;
    while (true) {
        auto end = path.find('/', start);
        segments.push_back(
            path.substr(start, end == std::string::npos ? std::string::npos : end - start));
        if (end == std::string::npos) {
            break;
        }
        start = end + 1;
    }
    if (path.empty()) {
        segments.clear();
    }
    std::string rest = url;
    while (rest.rfind("../", 0) == 0) {
        rest = rest.substr(3);
        // A leading "" is the root (or the host for scheme URLs): it cannot be dropped.
        if (segments.empty() || (segments.size() == 1 && segments[0].empty())) {
            throw SpecError(
                redact_url(url),
                {{"submodule.url", "climbs above the host or root of " + redact_url(base_in)}});
        }
        segments.pop_back();
    }
    if (rest.empty() || rest.rfind("./", 0) == 0 || rest.find("/../") != std::string::npos) {
        throw SpecError(redact_url(url), {{"submodule.url", "is not a plain '../name' URL"}});
    }
    std::string joined;
    for (std::size_t i = 0; i < segments.size(); ++i) {
        joined += (i == 0 ? "" : "/") + segments[i];
    }
    return segments.empty() ? prefix + rest : prefix + joined + "/" + rest;
}

std::vector<Submodule> list_submodules(const fs::path& clone,
                                       const std::string& commit,
                                       const std::string& source_url,
                                       const Environment& env) {
    std::vector<Submodule> out;
    auto has = run_git({"cat-file", "-e", commit + ":.gitmodules"}, clone, env);
    if (!has.ok()) {
        return out;
    }
    auto r = run_git({"config", "--blob", commit + ":.gitmodules", "--get-regexp",
                      "^submodule\\..*\\.(url|path)$"},
                     clone, env);
    if (!r.ok()) {
        return out;  // no entries
    }
    std::map<std::string, std::size_t> index;
    std::size_t start = 0;
    const auto& text = r.output;
    while (start < text.size()) {
        auto end = text.find('\n', start);
        auto line = text.substr(start, end == std::string::npos ? std::string::npos : end - start);
        start = end == std::string::npos ? text.size() : end + 1;
        auto space = line.find(' ');
        if (space == std::string::npos) {
            continue;
        }
        auto key = line.substr(0, space);
        auto value = line.substr(space + 1);
        auto dot = key.rfind('.');
        auto name = key.substr(10, dot - 10);  // between "submodule." and ".url"/".path"
        auto field = key.substr(dot + 1);
        auto [it, inserted] = index.emplace(name, out.size());
        if (inserted) {
            out.push_back({});
            out.back().name = name;
        }
        auto& sm = out[it->second];
        if (field == "url") {
            sm.url = value;
        } else {
            sm.path = value;
        }
    }
    bool source_local = is_local_url(source_url);
    for (auto& sm : out) {
        if (sm.path.empty() || sm.url.empty()) {
            throw SpecError(redact_url(source_url),
                            {{"submodule." + sm.name, "has no path or no url in .gitmodules"}});
        }
        if (sm.url.rfind("../", 0) == 0 || sm.url.rfind("./", 0) == 0) {
            sm.resolved_url = resolve_submodule_url(source_url, sm.url);
            sm.key = git_url_key(sm.resolved_url);
        } else {
            sm.resolved_url = sm.url;
            if (is_local_url(sm.url) && !source_local) {
                throw SpecError(redact_url(source_url),
                                {{"submodule." + sm.name + ".url",
                                  "absolute local URL '" + sm.url + "' in a remote repository"}});
            }
        }
        auto tree = run_git({"ls-tree", commit, "--", sm.path}, clone, env);
        auto line = trim_newlines(tree.output);
        // "160000 commit <sha>\t<path>"
        if (!tree.ok() || line.rfind("160000 commit ", 0) != 0) {
            throw SpecError(
                redact_url(source_url),
                {{"submodule." + sm.name, "'" + sm.path + "' is not a gitlink in " + commit}});
        }
        sm.commit = line.substr(14, line.find('\t') - 14);
    }
    return out;
}

std::vector<std::string> checkout_commit(const fs::path& clone,
                                         const std::string& commit,
                                         const fs::path& checkout,
                                         bool submodules,
                                         const Environment& env,
                                         std::chrono::seconds timeout,
                                         const std::vector<SourceMirror>& mirrors) {
    std::vector<std::string> warnings;
    create_dirs(checkout.parent_path());
    remove_tree(checkout);
    (void)git_checked(
        {"clone", "--quiet", "--no-checkout", "--", clone.string(), checkout.string()},
        checkout.parent_path(), env, "local clone", timeout);
    (void)git_checked({"checkout", "--quiet", "--detach", commit}, checkout, env,
                      "checkout of " + commit, timeout);
    if (submodules && fs::exists(checkout / ".gitmodules")) {
        std::vector<std::string> args = {"-c", "protocol.file.allow=always"};
        for (const auto& [setting, value] : mirror_git_config(mirrors)) {
            args.emplace_back("-c");
            args.push_back(setting);
            args.back() += '=';
            args.back() += value;
        }
        args.insert(args.end(), {"submodule", "--quiet", "update", "--init"});
        (void)git_checked(args, checkout, env, "submodule update", timeout);
        auto nested =
            run_git({"submodule", "--quiet", "foreach", "test ! -f .gitmodules || echo $sm_path"},
                    checkout, env, timeout);
        auto text = trim_newlines(nested.output);
        if (nested.ok() && !text.empty()) {
            warnings.push_back("nested submodules are not initialised (in " + text + ")");
        }
    }
    return warnings;
}

}  // namespace mip::detail
