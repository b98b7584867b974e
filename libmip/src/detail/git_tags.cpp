#include "detail/git_tags.hpp"

#include <algorithm>
#include <regex>
#include <set>

#include <mip/error.hpp>

#include "detail/git.hpp"
#include "detail/text.hpp"

namespace mip::detail {

namespace fs = std::filesystem;

namespace {

const char* const tagger_name = "mip-build";
const char* const tagger_email = "mip-build@invalid";

std::vector<std::string> split_lines(const std::string& text) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start < text.size()) {
        auto end = text.find('\n', start);
        if (end == std::string::npos) {
            end = text.size();
        }
        auto line = text.substr(start, end - start);
        if (!line.empty() && line.back() == '\r') {
            line.pop_back();
        }
        if (!line.empty()) {
            out.push_back(line);
        }
        start = end + 1;
    }
    return out;
}

/// Digit runs of a version part before any `rc`, and the rc number ("" = a release).
struct ParsedVersion {
    std::vector<std::string> fields;
    std::string rc;
    bool has_rc = false;
};

std::string strip_zeros(const std::string& digits) {
    auto first = digits.find_first_not_of('0');
    return first == std::string::npos ? std::string("0") : digits.substr(first);
}

ParsedVersion parse_version(const std::string& part) {
    ParsedVersion v;
    auto rc = part.find("rc");
    auto main = rc == std::string::npos ? part : part.substr(0, rc);
    std::string run;
    for (char c : main) {
        if (c >= '0' && c <= '9') {
            run += c;
        } else if (!run.empty()) {
            v.fields.push_back(strip_zeros(run));
            run.clear();
        }
    }
    if (!run.empty()) {
        v.fields.push_back(strip_zeros(run));
    }
    if (rc != std::string::npos) {
        v.has_rc = true;
        std::string digits;
        for (auto i = rc + 2; i < part.size() && part[i] >= '0' && part[i] <= '9'; ++i) {
            digits += part[i];
        }
        v.rc = strip_zeros(digits);
    }
    return v;
}

/// Compares non-negative integers written without leading zeros.
int compare_numbers(const std::string& a, const std::string& b) {
    if (a.size() != b.size()) {
        return a.size() < b.size() ? -1 : 1;
    }
    return a.compare(b) < 0 ? -1 : (a == b ? 0 : 1);
}

std::string trimmed(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) {
        s.pop_back();
    }
    return s;
}

struct TagRef {
    std::string name;  ///< without refs/tags/
    bool annotated = false;
    std::string stored_name;  ///< the name inside an annotated tag object
    std::string commit;       ///< peeled commit, "" when it does not peel to a commit
};

class TagRewriter {
public:
    TagRewriter(fs::path clone, const Environment& env, const TagRewriteOptions& options)
        : clone_(std::move(clone)), env_(env), options_(options) {}

    [[nodiscard]] std::string git(const std::vector<std::string>& args,
                                  const std::string& what,
                                  const Environment& extra = {}) const {
        return git_checked(args, clone_, env_, what, options_.timeout, extra);
    }

    [[nodiscard]] std::vector<TagRef> list_tags() const {
        auto out =
            git({"for-each-ref", "--format=%(refname)%09%(objecttype)%09%(tag)", "refs/tags"},
                "listing tags");
        std::vector<TagRef> tags;
        std::string peel_input;
        for (const auto& line : split_lines(out)) {
            auto f = split(line, '\t');
            if (f.size() < 2 || f[0].rfind("refs/tags/", 0) != 0) {
                continue;
            }
            TagRef t;
            t.name = f[0].substr(10);
            t.annotated = f[1] == "tag";
            t.stored_name = f.size() > 2 ? f[2] : std::string();
            tags.push_back(t);
            peel_input += "refs/tags/" + t.name + "^{commit}\n";
        }
        if (tags.empty()) {
            return tags;
        }
        auto r = run_git_input({"cat-file", "--batch-check=%(objectname)\t%(objecttype)"}, clone_,
                               env_, peel_input, options_.timeout);
        if (!r.ok()) {
            throw BuildError("", "peeling tags: `git cat-file --batch-check` failed (" +
                                     r.status_text() + "): " + tail_lines(r.err, 5));
        }
        auto lines = split_lines(r.output);
        for (std::size_t i = 0; i < tags.size() && i < lines.size(); ++i) {
            auto f = split(lines[i], '\t');
            if (f.size() == 2 && f[1] == "commit") {
                tags[i].commit = f[0];
            }
        }
        return tags;
    }

    void delete_tags(const std::vector<std::string>& names) const {
        if (names.empty()) {
            return;
        }
        std::string input;
        for (const auto& n : names) {
            input += "delete refs/tags/" + n + "\n";
        }
        auto r = run_git_input({"update-ref", "--stdin"}, clone_, env_, input, options_.timeout);
        if (!r.ok()) {
            throw BuildError("", "deleting tags: `git update-ref --stdin` failed (" +
                                     r.status_text() + "): " + tail_lines(r.err, 5));
        }
    }

    [[nodiscard]] std::string commit_time(const std::string& commit) const {
        return git({"show", "-s", "--format=%ct", commit}, "reading the commit time of " + commit);
    }

    /// Creates (or replaces) a deterministic annotated tag `name` on `commit`.
    void create_tag(const std::string& name, const std::string& commit) const {
        Environment extra = {{"GIT_COMMITTER_NAME", tagger_name},
                             {"GIT_COMMITTER_EMAIL", tagger_email},
                             {"GIT_COMMITTER_DATE", "@" + commit_time(commit) + " +0000"}};
        (void)git({"tag", "--no-sign", "-a", "-f", "-m", name, "--", name, commit},
                  "creating tag " + name, extra);
    }

    [[nodiscard]] std::optional<std::string> tag_commit(const std::string& name) const {
        auto r = run_git({"rev-parse", "--verify", "--quiet", "refs/tags/" + name + "^{commit}"},
                         clone_, env_, options_.timeout);
        if (!r.ok()) {
            return std::nullopt;
        }
        return trimmed(r.output);
    }

    TagRewrite run(const std::string& commit) {
        TagRewrite out;
        out.commit = commit;
        std::set<std::string> deleted;
        // 1. Misnamed annotated tags are re-created under their ref name; tags that do not peel
        //    to a commit go. (Non-version tags are deleted in step 2 anyway.)
        std::vector<std::string> doomed;
        for (const auto& t : list_tags()) {
            if (t.commit.empty() || !version_part(t.name)) {
                doomed.push_back(t.name);  // 2. every non-version tag, in one update-ref
            } else if (t.annotated && t.stored_name != t.name) {
                create_tag(t.name, t.commit);
                out.renames.emplace_back(t.stored_name, t.name);
            }
        }
        delete_tags(doomed);
        deleted.insert(doomed.begin(), doomed.end());
        // 3. C = the commit of the nearest (reachable) version tag.
        auto nearest =
            run_git({"describe", "--tags", "--abbrev=0", commit}, clone_, env_, options_.timeout);
        if (nearest.ok()) {
            auto name = trimmed(nearest.output);
            auto c = tag_commit(name);
            if (!c) {
                throw BuildError("", "git describe named tag '" + name +
                                         "', which does not resolve to a commit");
            }
            out.described = *c;
            // 4. The winner among the tags on C.
            std::vector<TagRef> on_c;
            for (auto& t : list_tags()) {
                if (t.commit == out.described) {
                    on_c.push_back(std::move(t));
                }
            }
            std::sort(on_c.begin(), on_c.end(), [](const TagRef& a, const TagRef& b) {
                if (a.annotated != b.annotated) {
                    return a.annotated;
                }
                int v = compare_version_parts(*version_part(a.name), *version_part(b.name));
                if (v != 0) {
                    return v > 0;
                }
                return a.name < b.name;
            });
            if (on_c.empty()) {
                throw BuildError(
                    "", "no tag points at " + out.described + " although git describe named it");
            }
            out.winner = on_c.front().name;
            // 5. N = prefix + part; other tags on C go.
            out.tag = options_.prefix + *version_part(out.winner);
            if (out.winner != out.tag) {
                if (auto elsewhere = tag_commit(out.tag);
                    elsewhere && *elsewhere != out.described) {
                    out.notes.push_back("tag " + out.tag + " on " + *elsewhere +
                                        " replaced by one on " + out.described);
                }
                create_tag(out.tag, out.described);
                out.renames.emplace_back(out.winner, out.tag);
            }
            std::vector<std::string> others;
            for (const auto& t : on_c) {
                if (t.name != out.tag) {
                    others.push_back(t.name);
                }
            }
            delete_tags(others);
            deleted.insert(others.begin(), others.end());
        } else {
            // 6. Fallback: prefix + 0.0 on the first-parent root.
            out.fallback = true;
            auto roots = split_lines(git({"rev-list", "--max-parents=0", "--first-parent", commit},
                                         "finding the root commit"));
            if (roots.empty()) {
                throw BuildError("", "no root commit found below " + commit);
            }
            out.described = roots.front();
            out.tag = options_.prefix + "0.0";
            if (auto elsewhere = tag_commit(out.tag); elsewhere && *elsewhere != out.described) {
                out.notes.push_back("tag " + out.tag + " on " + *elsewhere +
                                    " replaced by one on the root commit");
            }
            create_tag(out.tag, out.described);
        }
        for (const auto& [from, to] : out.renames) {
            deleted.erase(to);
        }
        out.deletions.assign(deleted.begin(), deleted.end());
        auto check = git({"describe", "--tags", "--abbrev=0", commit}, "describing " + commit);
        if (check != out.tag) {
            throw BuildError("", "after rewriting tags git describe prints '" + check +
                                     "', expected '" + out.tag + "'");
        }
        return out;
    }

private:
    fs::path clone_;
    const Environment& env_;
    TagRewriteOptions options_;
};

}  // namespace

std::optional<std::string> version_part(const std::string& tag) {
    static const std::regex pattern(
        "[0-9]+[_.-][0-9]+([_.-][0-9]+)?([_.-][0-9]+)?([._-]*rc[0-9]+)?");
    std::smatch m;
    if (!std::regex_search(tag, m, pattern)) {
        return std::nullopt;
    }
    return m.str(0);
}

int compare_version_parts(const std::string& a, const std::string& b) {
    auto va = parse_version(a);
    auto vb = parse_version(b);
    auto n = std::max(va.fields.size(), vb.fields.size());
    for (std::size_t i = 0; i < n; ++i) {
        const std::string fa = i < va.fields.size() ? va.fields[i] : "0";
        const std::string fb = i < vb.fields.size() ? vb.fields[i] : "0";
        if (int c = compare_numbers(fa, fb); c != 0) {
            return c;
        }
    }
    if (va.has_rc != vb.has_rc) {
        return va.has_rc ? -1 : 1;  // a release is above its candidates
    }
    return va.has_rc ? compare_numbers(va.rc, vb.rc) : 0;
}

TagRewrite rewrite_tags(const fs::path& clone,
                        const std::string& commit,
                        const Environment& env,
                        const TagRewriteOptions& options) {
    TagRewriter rewriter(clone, env, options);
    return rewriter.run(commit);
}

std::string describe_commit(const fs::path& clone,
                            const std::string& commit,
                            int abbrev,
                            const Environment& env) {
    return git_checked(
        {"describe", "--long", "--tags", "--abbrev=" + std::to_string(abbrev), commit}, clone, env,
        "describing " + commit);
}

// NOLINTNEXTLINE(bugprone-easily-swappable-parameters): documented order, tested.
std::string describe_to_version(const std::string& describe, const std::string& prefix) {
    auto v = describe;
    if (!prefix.empty() && v.rfind(prefix, 0) == 0) {
        v = v.substr(prefix.size());
    }
    std::replace(v.begin(), v.end(), '-', '_');
    return v;
}

}  // namespace mip::detail
