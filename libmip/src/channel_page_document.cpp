// Reading the index document of the channel page (channel_page_impl.hpp): either format, every
// problem collected and reported at once, naming the entry and field.

#include <cstdint>
#include <optional>

#include <mip/error.hpp>

#include "channel_page_impl.hpp"

namespace mip::detail::page {

namespace {

constexpr std::string_view subject = "index.json";

class Reader {
public:
    std::vector<Issue> issues;

    std::string str(const Json& e, const char* key, const std::string& where) {
        auto it = e.find(key);
        if (it == e.end() || it->is_null()) {
            return {};
        }
        if (!it->is_string()) {
            issues.push_back({where + "." + key, "must be a string"});
            return {};
        }
        return it->get<std::string>();
    }

    std::vector<std::string> strs(const Json& v, const std::string& field) {
        std::vector<std::string> out;
        if (v.is_null()) {
            return out;
        }
        if (!v.is_array()) {
            issues.push_back({field, "must be a list of strings"});
            return out;
        }
        for (const auto& x : v) {
            if (!x.is_string()) {
                issues.push_back({field, "must be a list of strings"});
                return {};
            }
            out.push_back(x.get<std::string>());
        }
        return out;
    }

    std::vector<std::string> strs(const Json& e, const char* key, const std::string& where) {
        auto it = e.find(key);
        return it == e.end() ? std::vector<std::string>{} : strs(*it, where + "." + key);
    }
};

}  // namespace

/// Top-level object with a `packages` list; throws SpecError otherwise.
Json parse_document(std::string_view text) {
    Json doc = detail::parse_json(text, subject);
    if (!doc.is_object()) {
        throw SpecError(std::string(subject), {{"", "must be a JSON object"}});
    }
    auto it = doc.find("packages");
    if (it == doc.end() || !it->is_array()) {
        throw SpecError(std::string(subject), {{"packages", "must be a list of entries"}});
    }
    return doc;
}

IndexFormat detect(const Json& doc) {
    std::optional<std::size_t> with_arch;
    std::optional<std::size_t> with_tag;
    const auto& list = doc["packages"];
    for (std::size_t i = 0; i < list.size(); ++i) {
        if (!list[i].is_object()) {
            continue;
        }
        if (!with_arch && list[i].contains("architecture")) {
            with_arch = i;
        }
        if (!with_tag && list[i].contains("platform_tag")) {
            with_tag = i;
        }
    }
    if (with_arch && with_tag) {
        throw SpecError(
            std::string(subject),
            {{"packages", "mixes formats: packages[" + std::to_string(*with_arch) +
                              "] has 'architecture' (current), packages[" +
                              std::to_string(*with_tag) + "] has 'platform_tag' (R2-era)"}});
    }
    if (with_arch || (!with_tag && doc.contains("github_repo"))) {
        return IndexFormat::current;
    }
    return IndexFormat::r2;
}

namespace {

/// Commit and origin of the bytes: R2 `source` (git: url + commit; multiple: the first git
/// item), current `commit_hash` + `repository`. `source` is free-form provenance (the assembler
/// does not check its shape), so anything unexpected in it is ignored, never an error.
void read_source(const Json& e, Build& b) {
    auto it = e.find("source");
    if (it == e.end() || !it->is_object()) {
        return;
    }
    auto text = [](const Json& o, const char* key) {
        auto f = o.find(key);
        return f != o.end() && f->is_string() ? f->get<std::string>() : std::string();
    };
    b.source_kind = text(*it, "type");
    const Json* src = &*it;
    if (b.source_kind == "multiple") {
        src = nullptr;
        auto items = it->find("items");
        if (items != it->end() && items->is_array()) {
            for (const auto& item : *items) {
                if (item.is_object() && text(item, "type") == "git") {
                    src = &item;
                    break;
                }
            }
        }
    }
    if (src != nullptr) {
        b.source_url = text(*src, "url");
        b.commit = text(*src, "commit");
        b.commit_repo = b.source_url;
    }
}

}  // namespace

void read_build(const Json& e, IndexFormat format, Build& b, std::vector<Issue>& issues) {
    Reader r;
    std::string where = "packages[" + std::to_string(b.index) + "]";
    const char* platform_key = format == IndexFormat::current ? "architecture" : "platform_tag";
    b.name = r.str(e, "name", where);
    b.version = r.str(e, "version", where);
    if (!b.name.empty()) {
        where += " (" + b.name + (b.version.empty() ? "" : " " + b.version) + ")";
    }
    if (b.name.empty()) {
        r.issues.push_back({where + ".name", "is required"});
    }
    if (b.version.empty()) {
        r.issues.push_back({where + ".version", "is required"});
    }
    if (!e.contains(platform_key)) {
        r.issues.push_back({where + "." + platform_key,
                            std::string("is required in the ") +
                                (format == IndexFormat::current ? "current" : "R2-era") +
                                " format"});
    }
    b.platform = r.str(e, platform_key, where);
    b.matlab_tag = r.str(e, "matlab_tag", where);
    b.abi_tag = r.str(e, "abi_tag", where);
    b.description = r.str(e, "description", where);
    b.license = r.str(e, "license", where);
    b.homepage = r.str(e, "homepage", where);
    b.repository = r.str(e, "repository", where);
    b.dependencies = r.strs(e, "dependencies", where);
    b.usage_examples = r.strs(e, "usage_examples", where);
    b.mhl_url = r.str(e, "mhl_url", where);
    b.mip_json_url = r.str(e, "mip_json_url", where);
    b.sha256 = r.str(e, "mhl_sha256", where);
    b.timestamp = r.str(e, "timestamp", where);
    if (auto s = e.find("mhl_size"); s != e.end() && !s->is_null()) {
        if (s->is_number_unsigned()) {
            b.size = s->get<std::uint64_t>();
        } else if (s->is_number_float() && s->get<double>() >= 0 &&
                   s->get<double>() ==
                       static_cast<double>(static_cast<std::uint64_t>(s->get<double>()))) {
            b.size = static_cast<std::uint64_t>(s->get<double>());
        } else {
            r.issues.push_back({where + ".mhl_size", "must be a non-negative integer"});
        }
    }
    if (format == IndexFormat::current) {
        b.paths = r.strs(e, "paths", where);
        if (auto x = e.find("extra_paths"); x != e.end() && !x->is_null()) {
            if (!x->is_object()) {
                r.issues.push_back({where + ".extra_paths", "must map groups to paths"});
            } else {
                for (const auto& [group, paths] : x->items()) {
                    std::string field = where + ".extra_paths.";
                    field += group;
                    b.extra_paths.emplace_back(group, r.strs(paths, field));
                }
            }
        }
        b.commit = r.str(e, "commit_hash", where);
        b.commit_repo = b.repository;
        b.source_hash = r.str(e, "source_hash", where);
    } else {
        b.symbols = r.strs(e, "exposed_symbols", where);
        read_source(e, b);
    }
    issues.insert(issues.end(), r.issues.begin(), r.issues.end());
}

Document read_document(std::string_view text, IndexFormat wanted) {
    Json doc = parse_document(text);
    Document d;
    d.format = wanted == IndexFormat::automatic ? detect(doc) : wanted;
    Reader r;
    d.github_repo = r.str(doc, "github_repo", "index");
    d.last_updated = r.str(doc, "last_updated", "index");
    const auto& list = doc["packages"];
    for (std::size_t i = 0; i < list.size(); ++i) {
        const auto& e = list[i];
        if (!e.is_object()) {
            r.issues.push_back({"packages[" + std::to_string(i) + "]", "must be an object"});
            continue;
        }
        Build b;
        b.index = i;
        read_build(e, d.format, b, r.issues);
        d.builds.push_back(std::move(b));
    }
    if (!r.issues.empty()) {
        throw SpecError(std::string(subject), r.issues);
    }
    return d;
}

}  // namespace mip::detail::page
