// The channel page (packages.html) and feeds, rendered from an index document. See
// channel_page.hpp and docs/channel-page.md.

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <map>
#include <set>
#include <tuple>
#include <utility>

#include <mip/channel_page.hpp>
#include <mip/error.hpp>
#include <mip/package_spec.hpp>

#include "detail/channel_page_assets.hpp"
#include "detail/crypto.hpp"
#include "detail/json.hpp"
#include "detail/replace_together.hpp"
#include "detail/text.hpp"

namespace mip {

namespace fs = std::filesystem;
using detail::Json;

std::string_view to_string(IndexFormat format) noexcept {
    switch (format) {
        case IndexFormat::r2:
            return "r2";
        case IndexFormat::current:
            return "current";
        case IndexFormat::automatic:
            break;
    }
    return "automatic";
}

namespace {

constexpr std::string_view subject = "index.json";

// The client platforms each format's page lists, before the ones the index adds.
const std::vector<std::string> r2_platforms = {"linux_x86_64", "linux_aarch64", "macos_arm64",
                                               "macos_x86_64", "windows_x86_64"};
const std::vector<std::string> current_platforms = {"linux_x86_64", "macos_arm64", "macos_x86_64",
                                                    "windows_x86_64", "numbl_wasm"};

// ---------------------------------------------------------------------------------------------
// Text escaping. Every string from the document goes through one of these.

/// Appends `s` with control characters made visible: C0 controls (but tab and newline) and DEL
/// become their Unicode control pictures (U+2400 + c, U+2421), C1 controls and the
/// noncharacters U+FFFE/U+FFFF become U+FFFD. `escape` handles the other ASCII bytes.
template <typename Escape>
void append_visible(std::string& out, std::string_view s, Escape escape) {
    for (std::size_t i = 0; i < s.size(); ++i) {
        auto c = static_cast<unsigned char>(s[i]);
        if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7F) {
            unsigned code = c == 0x7F ? 0x2421U : 0x2400U + c;
            out += static_cast<char>(0xE0U | (code >> 12));
            out += static_cast<char>(0x80U | ((code >> 6) & 0x3FU));
            out += static_cast<char>(0x80U | (code & 0x3FU));
        } else if (c == 0xC2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) >= 0x80 &&
                   static_cast<unsigned char>(s[i + 1]) <= 0x9F) {
            out += "\xEF\xBF\xBD";
            ++i;
        } else if (c == 0xEF && i + 2 < s.size() && static_cast<unsigned char>(s[i + 1]) == 0xBF &&
                   (static_cast<unsigned char>(s[i + 2]) == 0xBE ||
                    static_cast<unsigned char>(s[i + 2]) == 0xBF)) {
            out += "\xEF\xBF\xBD";
            i += 2;
        } else if (!escape(out, static_cast<char>(c))) {
            out += static_cast<char>(c);
        }
    }
}

bool html_special(std::string& out, char c) {
    switch (c) {
        case '&':
            out += "&amp;";
            return true;
        case '<':
            out += "&lt;";
            return true;
        case '>':
            out += "&gt;";
            return true;
        case '"':
            out += "&quot;";
            return true;
        case '\'':
            out += "&#39;";
            return true;
        default:
            return false;
    }
}

bool xml_special(std::string& out, char c) {
    if (c == '\'') {
        out += "&apos;";
        return true;
    }
    return html_special(out, c);
}

/// Text or attribute value for XML 1.0 (which forbids the control characters outright).
std::string xml_esc(std::string_view s) {
    std::string out;
    out.reserve(s.size() + 8);
    append_visible(out, s, xml_special);
    return out;
}

/// Text for JSON strings of the feed: the same visible control pictures as the page.
std::string visible(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    append_visible(out, s, [](std::string&, char) { return false; });
    return out;
}

/// Only `https:` URLs become links; they may not hold whitespace or control characters.
bool is_https_url(std::string_view url) {
    if (url.size() <= 8 || detail::ascii_lower(url.substr(0, 8)) != "https://") {
        return false;
    }
    return std::none_of(url.begin(), url.end(), [](char c) {
        auto u = static_cast<unsigned char>(c);
        return u <= 0x20 || u == 0x7F;
    });
}

bool is_token(std::string_view s) {
    return !s.empty() && s != "." && s != ".." && std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '-' || c == '_' || c == '.';
    });
}

/// Whether `s` is `min` to `max` lower-case hex digits.
bool is_hex(std::string_view s, std::size_t min, std::size_t max) {
    return s.size() >= min && s.size() <= max && detail::is_lower_hex(s, s.size());
}

/// "YYYY-MM-DDTHH:MM:SSZ", optionally with a fraction of a second (RFC 3339, UTC).
bool is_timestamp(std::string_view t) {
    auto digits = [&](std::size_t from, std::size_t n) {
        return from + n <= t.size() &&
               std::all_of(t.begin() + static_cast<std::ptrdiff_t>(from),
                           t.begin() + static_cast<std::ptrdiff_t>(from + n),
                           [](char c) { return c >= '0' && c <= '9'; });
    };
    if (t.size() < 20 || !digits(0, 4) || t[4] != '-' || !digits(5, 2) || t[7] != '-' ||
        !digits(8, 2) || t[10] != 'T' || !digits(11, 2) || t[13] != ':' || !digits(14, 2) ||
        t[16] != ':' || !digits(17, 2) || t.back() != 'Z') {
        return false;
    }
    if (t.size() == 20) {
        return true;
    }
    return t[19] == '.' && t.size() > 21 && digits(20, t.size() - 21);
}

std::string percent_encode(std::string_view s) {
    static const char* hex = "0123456789ABCDEF";
    std::string out;
    for (char c : s) {
        auto u = static_cast<unsigned char>(c);
        if ((u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') ||
            u == '-' || u == '_' || u == '.' || u == '~') {
            out += c;
        } else {
            out += '%';
            out += hex[u >> 4];
            out += hex[u & 0xF];
        }
    }
    return out;
}

/// "1.2 MB" (SI units, one decimal, integer arithmetic: no locale, no rounding drift).
std::string human_size(std::uint64_t bytes) {
    if (bytes < 1000) {
        return std::to_string(bytes) + " B";
    }
    const char* units[] = {"kB", "MB", "GB", "TB"};
    std::uint64_t unit = 1000;
    std::size_t u = 0;
    while (u + 1 < std::size(units) && bytes >= unit * 1000) {
        unit *= 1000;
        ++u;
    }
    std::uint64_t tenths = (bytes * 10 + unit / 2) / unit;
    return std::to_string(tenths / 10) + "." + std::to_string(tenths % 10) + " " + units[u];
}

// ---------------------------------------------------------------------------------------------
// Versions as clients compare them.

bool is_numeric_version(std::string_view v) {
    if (v.empty()) {
        return false;
    }
    std::size_t start = 0;
    while (true) {
        auto dot = v.find('.', start);
        auto part =
            v.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
        if (part.empty() ||
            !std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; })) {
            return false;
        }
        if (dot == std::string_view::npos) {
            return true;
        }
        start = dot + 1;
    }
}

std::vector<std::string_view> split_dots(std::string_view v) {
    std::vector<std::string_view> parts;
    std::size_t start = 0;
    while (true) {
        auto dot = v.find('.', start);
        parts.push_back(
            v.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
        if (dot == std::string_view::npos) {
            return parts;
        }
        start = dot + 1;
    }
}

/// Compares two digit strings as integers of any length.
int compare_digits(std::string_view a, std::string_view b) {
    while (a.size() > 1 && a.front() == '0') {
        a.remove_prefix(1);
    }
    while (b.size() > 1 && b.front() == '0') {
        b.remove_prefix(1);
    }
    if (a.size() != b.size()) {
        return a.size() < b.size() ? -1 : 1;
    }
    return a == b ? 0 : (a < b ? -1 : 1);
}

/// Numeric versions part by part, missing parts 0 (the clients' compare_versions).
int compare_numeric(std::string_view a, std::string_view b) {
    auto pa = split_dots(a);
    auto pb = split_dots(b);
    for (std::size_t i = 0; i < std::max(pa.size(), pb.size()); ++i) {
        int c = compare_digits(i < pa.size() ? pa[i] : "0", i < pb.size() ? pb[i] : "0");
        if (c != 0) {
            return c;
        }
    }
    return 0;
}

/// Current client's preference (select_best_version): lower rank = preferred. Numeric versions
/// first, highest first (equal ones bytewise); then main, master, unspecified; then the rest
/// alphabetically (bytewise).
bool current_prefers(const std::string& a, const std::string& b) {
    bool na = is_numeric_version(a);
    bool nb = is_numeric_version(b);
    if (na != nb) {
        return na;
    }
    if (na) {
        int c = compare_numeric(a, b);
        return c != 0 ? c > 0 : a < b;
    }
    auto rank = [](const std::string& v) {
        return v == "main" ? 0 : v == "master" ? 1 : v == "unspecified" ? 2 : 3;
    };
    if (rank(a) != rank(b)) {
        return rank(a) < rank(b);
    }
    return a < b;
}

/// R2 index order's newest-first (mip-format §5): all-digit dotted versions first, as integer
/// tuples; others bytewise, descending.
bool r2_newer(const std::string& a, const std::string& b) {
    bool na = is_numeric_version(a);
    bool nb = is_numeric_version(b);
    if (na != nb) {
        return na;
    }
    if (na) {
        int c = compare_numeric(a, b);
        if (c != 0) {
            return c > 0;
        }
    }
    return a > b;
}

// ---------------------------------------------------------------------------------------------
// The document.

struct Build {
    std::size_t index = 0;
    std::string name, version, platform;  // platform: platform_tag (R2) or architecture
    std::string matlab_tag, abi_tag;
    std::string description, license, homepage, repository;
    std::vector<std::string> dependencies, symbols, paths, usage_examples;
    std::vector<std::pair<std::string, std::vector<std::string>>> extra_paths;
    std::string mhl_url, mip_json_url, sha256, timestamp, commit, commit_repo, source_kind,
        source_url, source_hash;
    std::optional<std::uint64_t> size;
};

struct Document {
    IndexFormat format = IndexFormat::r2;
    std::string github_repo, last_updated;
    std::vector<Build> builds;
};

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

Document read_document(std::string_view text, IndexFormat wanted) {
    Json doc = parse_document(text);
    Document d;
    d.format = wanted == IndexFormat::automatic ? detect(doc) : wanted;
    Reader r;
    d.github_repo = r.str(doc, "github_repo", "index");
    d.last_updated = r.str(doc, "last_updated", "index");
    const auto& list = doc["packages"];
    const char* platform_key = d.format == IndexFormat::current ? "architecture" : "platform_tag";
    for (std::size_t i = 0; i < list.size(); ++i) {
        const auto& e = list[i];
        std::string where = "packages[" + std::to_string(i) + "]";
        if (!e.is_object()) {
            r.issues.push_back({where, "must be an object"});
            continue;
        }
        Build b;
        b.index = i;
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
                                    (d.format == IndexFormat::current ? "current" : "R2-era") +
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
        if (d.format == IndexFormat::current) {
            b.paths = r.strs(e, "paths", where);
            if (auto x = e.find("extra_paths"); x != e.end() && !x->is_null()) {
                if (!x->is_object()) {
                    r.issues.push_back({where + ".extra_paths", "must map groups to paths"});
                } else {
                    for (const auto& [group, paths] : x->items()) {
                        b.extra_paths.emplace_back(group,
                                                   r.strs(paths, where + ".extra_paths." + group));
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
        d.builds.push_back(std::move(b));
    }
    if (!r.issues.empty()) {
        throw SpecError(std::string(subject), r.issues);
    }
    return d;
}

// ---------------------------------------------------------------------------------------------
// The client's choice.

bool valid_anchor(std::string_view name) {
    return !name.empty() &&
           ((name[0] >= 'a' && name[0] <= 'z') || (name[0] >= 'A' && name[0] <= 'Z') ||
            (name[0] >= '0' && name[0] <= '9')) &&
           is_token(name);
}

/// `id` of a package section: the name itself (so `packages.html#chebfun` works), or for names
/// outside the name rules "_p" + hex of the bytes. Page chrome ids start with "_", which no
/// valid name does, so the two never collide.
std::string anchor_for(std::string_view name) {
    return valid_anchor(name) ? std::string(name) : "_p" + detail::hex_encode(name);
}

struct Grouped {
    ChannelSummary summary;
    std::map<std::string, std::size_t> by_normalized;  // normalized name -> package
};

/// First entry (in `entries` order) whose platform equals `tag`.
std::optional<std::size_t> first_with(const Document& d,
                                      const std::vector<std::size_t>& entries,
                                      std::string_view tag) {
    for (auto i : entries) {
        if (d.builds[i].platform == tag) {
            return i;
        }
    }
    return std::nullopt;
}

std::optional<std::size_t> choose_r2(const Document& d,
                                     const std::vector<std::size_t>& entries,
                                     const std::string& platform) {
    if (auto exact = first_with(d, entries, platform)) {
        return exact;
    }
    if (platform.rfind("macosx_", 0) == 0) {
        if (auto universal = first_with(d, entries, "macosx_10_9_universal2")) {
            return universal;
        }
    }
    return first_with(d, entries, "any");
}

std::optional<std::size_t> choose_current_variant(const Document& d,
                                                  const std::vector<std::size_t>& entries,
                                                  const std::string& platform) {
    if (auto exact = first_with(d, entries, platform)) {
        return exact;
    }
    if (platform.rfind("numbl_", 0) == 0 && platform != "numbl_wasm") {
        if (auto wasm = first_with(d, entries, "numbl_wasm")) {
            return wasm;
        }
    }
    return first_with(d, entries, "any");
}

Grouped summarize(const Document& d, const ChannelPageOptions& options) {
    Grouped g;
    auto& s = g.summary;
    s.format = d.format;
    s.builds = d.builds.size();

    // Channel name.
    s.channel_name = options.channel_name;
    if (s.channel_name.empty() && !d.github_repo.empty()) {
        auto slash = d.github_repo.find('/');
        if (slash != std::string::npos && d.github_repo.compare(slash + 1, 4, "mip-") == 0) {
            s.channel_name = d.github_repo.substr(0, slash) + "/" + d.github_repo.substr(slash + 5);
        } else {
            s.channel_name = d.github_repo;
        }
    }
    if (s.channel_name.empty()) {
        for (const auto& b : d.builds) {
            const auto& url = is_https_url(b.mip_json_url) ? b.mip_json_url : b.mhl_url;
            if (!is_https_url(url)) {
                continue;
            }
            auto path = url.find('/', 8);
            if (path != std::string::npos) {
                auto end = url.find('/', path + 1);
                if (end != std::string::npos && end > path + 1) {
                    s.channel_name = url.substr(path + 1, end - path - 1);
                    break;
                }
            }
        }
    }
    if (s.channel_name.empty()) {
        bool local = !d.builds.empty() &&
                     detail::ascii_lower(d.builds.front().mhl_url).rfind("file://", 0) == 0;
        s.channel_name = local ? "local" : "mip";
    }

    // Platforms: the format's client platforms, then any other the index names.
    s.platforms = d.format == IndexFormat::current ? current_platforms : r2_platforms;
    std::set<std::string> extra;
    for (const auto& b : d.builds) {
        if (b.platform != "any" && !b.platform.empty() &&
            std::find(s.platforms.begin(), s.platforms.end(), b.platform) == s.platforms.end()) {
            extra.insert(b.platform);
        }
    }
    s.platforms.insert(s.platforms.end(), extra.begin(), extra.end());

    // Group by name as clients compare names; the first spelling is shown.
    for (std::size_t i = 0; i < d.builds.size(); ++i) {
        auto key = normalize_package_name(d.builds[i].name);
        auto [it, inserted] = g.by_normalized.emplace(key, s.packages.size());
        if (inserted) {
            ChannelPackage p;
            p.name = d.builds[i].name;
            p.anchor = anchor_for(p.name);
            s.packages.push_back(std::move(p));
        }
        s.packages[it->second].entries.push_back(i);
    }

    for (auto& p : s.packages) {
        // Versions in first-appearance order.
        std::vector<std::string> versions;
        for (auto i : p.entries) {
            if (std::find(versions.begin(), versions.end(), d.builds[i].version) ==
                versions.end()) {
                versions.push_back(d.builds[i].version);
            }
        }
        if (d.format == IndexFormat::current) {
            auto ranked = versions;
            std::stable_sort(ranked.begin(), ranked.end(), current_prefers);
            p.newest_version = ranked.front();
            std::vector<std::size_t> ordered;
            for (const auto& v : ranked) {
                for (auto i : p.entries) {
                    if (d.builds[i].version == v) {
                        ordered.push_back(i);
                    }
                }
            }
            p.entries = std::move(ordered);
        } else {
            p.newest_version = *std::min_element(versions.begin(), versions.end(), r2_newer);
        }
        std::vector<std::size_t> newest;
        for (auto i : p.entries) {
            if (d.builds[i].version == p.newest_version) {
                newest.push_back(i);
            }
        }
        for (const auto& platform : s.platforms) {
            PlatformChoice c;
            c.platform = platform;
            c.entry = d.format == IndexFormat::current ? choose_current_variant(d, newest, platform)
                                                       : choose_r2(d, p.entries, platform);
            if (c.entry) {
                c.version = d.builds[*c.entry].version;
                c.build = d.builds[*c.entry].platform;
            }
            if (d.format == IndexFormat::current && !c.entry) {
                // Would an older version have served this platform? The client never falls back.
                for (auto i : p.entries) {
                    if (d.builds[i].version == p.newest_version) {
                        continue;
                    }
                    std::vector<std::size_t> one{i};
                    if (choose_current_variant(d, one, platform)) {
                        p.warnings.push_back(platform + ": the newest version " + p.newest_version +
                                             " has no build for it, although " +
                                             d.builds[i].version + " had one (" +
                                             d.builds[i].platform +
                                             "); mip install fails there, since the client "
                                             "never falls back to an older version");
                        break;
                    }
                }
            } else if (d.format == IndexFormat::r2 && c.entry && c.version != p.newest_version) {
                p.warnings.push_back(
                    platform + ": the client installs " + c.version + " (" + c.build +
                    "), not the newest version " + p.newest_version + ", which has no " + platform +
                    " build: the R2-era client takes the first exact match in index order");
            }
            p.choices.push_back(std::move(c));
        }
    }

    std::sort(s.packages.begin(), s.packages.end(),
              [](const ChannelPackage& a, const ChannelPackage& b) {
                  auto na = normalize_package_name(a.name);
                  auto nb = normalize_package_name(b.name);
                  return na != nb ? na < nb : a.name < b.name;
              });
    g.by_normalized.clear();
    for (std::size_t i = 0; i < s.packages.size(); ++i) {
        g.by_normalized.emplace(normalize_package_name(s.packages[i].name), i);
    }
    return g;
}

/// The package's representative build: the first of its newest version.
const Build& head_build(const Document& d, const ChannelPackage& p) {
    for (auto i : p.entries) {
        if (d.builds[i].version == p.newest_version) {
            return d.builds[i];
        }
    }
    return d.builds[p.entries.front()];
}

/// `owner/channel/name` dependency → (owner, channel, name); bare names give empty parts.
struct DepName {
    std::string owner, channel, name;
};

DepName parse_dependency(const std::string& dep) {
    DepName n;
    auto first = dep.find('/');
    auto last = dep.rfind('/');
    if (first != std::string::npos && last != first && dep.find('/', first + 1) == last) {
        n.owner = dep.substr(0, first);
        n.channel = dep.substr(first + 1, last - first - 1);
        n.name = dep.substr(last + 1);
    } else {
        n.name = dep;
    }
    return n;
}

void add_reverse_dependencies(const Document& d,
                              Grouped& g,
                              const std::string& own_owner,
                              const std::string& own_channel) {
    auto& packages = g.summary.packages;
    std::vector<std::set<std::string>> users(packages.size());
    for (const auto& p : packages) {
        for (const auto& dep : head_build(d, p).dependencies) {
            auto n = parse_dependency(dep);
            if (!n.owner.empty() && (n.owner != own_owner || n.channel != own_channel)) {
                continue;
            }
            auto it = g.by_normalized.find(normalize_package_name(n.name));
            if (it != g.by_normalized.end()) {
                users[it->second].insert(p.name);
            }
        }
    }
    for (std::size_t i = 0; i < packages.size(); ++i) {
        packages[i].used_by.assign(users[i].begin(), users[i].end());
    }
}

std::pair<std::string, std::string> owner_channel(const std::string& github_repo) {
    auto slash = github_repo.find('/');
    if (slash == std::string::npos || github_repo.compare(slash + 1, 4, "mip-") != 0) {
        return {};
    }
    auto owner = github_repo.substr(0, slash);
    auto channel = github_repo.substr(slash + 5);
    if (!is_token(owner) || !is_token(channel)) {
        return {};
    }
    return {owner, channel};
}

// ---------------------------------------------------------------------------------------------
// Rendering.

struct Context {
    const Document& d;
    const Grouped& g;
    std::string owner, channel;  // current format, from github_repo
    std::string install_prefix;  // "" or "owner/channel/"
    std::string site;            // "" or https://…/ (trailing slash)
};

/// The page under construction: markup appended as is, text escaped (`text`). Appending in
/// place keeps a 2,000-package page from allocating a temporary per fragment.
class Html {
public:
    explicit Html(std::string& out) : out_(out) {}
    Html& operator<<(std::string_view markup) {
        out_ += markup;
        return *this;
    }
    Html& text(std::string_view s) {
        append_visible(out_, s, html_special);
        return *this;
    }
    Html& number(std::uint64_t n) {
        out_ += std::to_string(n);
        return *this;
    }
    /// `<a href>` for https URLs, the text in a monospace span for anything else.
    Html& link(std::string_view url, std::string_view label) {
        if (!is_https_url(url)) {
            *this << "<span class=\"mono\">";
            return text(label) << "</span>";
        }
        *this << "<a href=\"";
        text(url) << "\">";
        return text(label) << "</a>";
    }

private:
    std::string& out_;
};

const char* const dash = "<span class=\"none\">—</span>";

/// The commit's page on a known forge (github.com, codeberg.org, gitlab.com, bitbucket.org),
/// or "" when the repository is elsewhere or the commit is not a hex hash.
std::string commit_url(const Build& b) {
    if (!is_hex(b.commit, 7, 64) || !is_https_url(b.commit_repo)) {
        return {};
    }
    std::string repo = b.commit_repo;
    while (!repo.empty() && repo.back() == '/') {
        repo.pop_back();
    }
    if (repo.size() > 4 && repo.compare(repo.size() - 4, 4, ".git") == 0) {
        repo.resize(repo.size() - 4);
    }
    auto host_end = repo.find('/', 8);
    std::string host = detail::ascii_lower(
        repo.substr(8, host_end == std::string::npos ? std::string::npos : host_end - 8));
    std::string path = host_end == std::string::npos ? "" : repo.substr(host_end);
    auto slashes = std::count(path.begin(), path.end(), '/');
    if ((host == "github.com" || host == "codeberg.org") && slashes == 2) {
        return repo + "/commit/" + b.commit;
    }
    if (host == "gitlab.com" && slashes >= 2) {
        return repo + "/-/commit/" + b.commit;
    }
    if (host == "bitbucket.org" && slashes == 2) {
        return repo + "/commits/" + b.commit;
    }
    return {};
}

/// Where the bytes came from: the upstream commit (linked on a known forge), else the source
/// kind and URL; plus the current format's source_hash.
void put_source(Html& h, const Build& b) {
    bool any = false;
    if (!b.commit.empty()) {
        auto url = commit_url(b);
        if (url.empty()) {
            h << "<span class=\"mono\" title=\"";
            h.text(b.commit) << "\">";
            h.text(b.commit.substr(0, 12)) << "</span>";
        } else {
            h << "<a class=\"mono\" href=\"";
            h.text(url) << "\">";
            h.text(b.commit.substr(0, 12)) << "</a>";
        }
        any = true;
    } else if (!b.source_kind.empty()) {
        h << "<span class=\"badge\">";
        h.text(b.source_kind) << "</span>";
        if (!b.source_url.empty()) {
            h << " ";
            h.link(b.source_url, b.source_url);
        }
        any = true;
    }
    if (!b.source_hash.empty()) {
        h << (any ? "<br>" : "") << "<span class=\"mono\" title=\"source_hash ";
        h.text(b.source_hash) << "\">src ";
        h.text(b.source_hash.substr(0, 12)) << "</span>";
        any = true;
    }
    if (!any) {
        h << dash;
    }
}

void put_date(Html& h, const std::string& timestamp) {
    if (timestamp.empty()) {
        h << dash;
    } else if (!is_timestamp(timestamp)) {
        h.text(timestamp);
    } else {
        h << "<time datetime=\"" << timestamp << "\">" << std::string_view(timestamp).substr(0, 10)
          << "</time>";
    }
}

/// A `<td>` with the size (exact bytes in its title).
void put_size_cell(Html& h, const std::optional<std::uint64_t>& size) {
    if (!size) {
        h << "<td>" << dash << "</td>";
        return;
    }
    h << "<td class=\"n\" title=\"";
    h.number(*size) << " bytes\">" << human_size(*size) << "</td>";
}

void put_sha(Html& h, const std::string& sha) {
    if (sha.empty()) {
        h << dash;
        return;
    }
    h << "<code class=\"cp sha\">";
    h.text(sha) << "</code>";
}

void put_dependency(Html& h, const Context& c, const std::string& dep) {
    auto n = parse_dependency(dep);
    bool local = n.owner.empty() || (n.owner == c.owner && n.channel == c.channel);
    if (local) {
        auto it = c.g.by_normalized.find(normalize_package_name(n.name));
        if (it != c.g.by_normalized.end()) {
            h << "<a href=\"#";
            h.text(c.g.summary.packages[it->second].anchor) << "\">";
            h.text(dep) << "</a>";
        } else {
            h.text(dep) << " <span class=\"none\">(not in this channel)</span>";
        }
    } else if (is_token(n.owner) && is_token(n.channel) && valid_anchor(n.name)) {
        h.link("https://" + n.owner + ".github.io/mip-" + n.channel + "/packages.html#" + n.name,
               dep);
    } else {
        h.text(dep);
    }
}

void put_list(Html& h, const std::vector<std::string>& items) {
    for (std::size_t i = 0; i < items.size(); ++i) {
        h << (i == 0 ? "" : ", ");
        h.text(items[i]);
    }
}

void render_choices(Html& h, const Context& c, const ChannelPackage& p) {
    // Platforms that get the same build share a row.
    std::vector<std::pair<std::optional<std::size_t>, std::vector<std::string>>> rows;
    for (const auto& choice : p.choices) {
        auto it = std::find_if(rows.begin(), rows.end(),
                               [&](const auto& r) { return r.first == choice.entry; });
        if (it == rows.end()) {
            rows.push_back({choice.entry, {choice.platform}});
        } else {
            it->second.push_back(choice.platform);
        }
    }
    h << "<table class=\"choice\"><caption>What <code>mip install ";
    h.text(c.install_prefix).text(p.name)
        << "</code> installs on each platform</caption>\n<thead><tr><th>Platform</th>"
           "<th>Version</th><th>Build</th><th>Size</th><th>sha256</th><th>Date</th></tr></thead>"
           "\n<tbody>\n";
    for (const auto& [entry, platforms] : rows) {
        std::string names;
        std::string shown;
        for (std::size_t i = 0; i < platforms.size(); ++i) {
            names += (i == 0 ? "" : " ") + platforms[i];
            shown += (i == 0 ? "" : ", ") + platforms[i];
        }
        if (platforms.size() == c.g.summary.platforms.size()) {
            shown = "every platform";
        }
        h << (entry ? "<tr" : "<tr class=\"unavailable\"") << " data-platforms=\"";
        h.text(names) << "\"><td>";
        h.text(shown) << "</td>";
        if (!entry) {
            h << "<td colspan=\"5\">no build: not installable here</td></tr>\n";
            continue;
        }
        const auto& b = c.d.builds[*entry];
        h << "<td class=\"v\">";
        h.text(b.version) << "</td><td>";
        if (c.d.format == IndexFormat::r2 && !b.matlab_tag.empty() &&
            (b.matlab_tag != "any" || b.abi_tag != "none")) {
            h.text(b.matlab_tag) << " / ";
            h.text(b.abi_tag) << " / ";
        }
        h.text(b.platform) << "</td>";
        put_size_cell(h, b.size);
        h << "<td>";
        put_sha(h, b.sha256);
        h << "</td><td>";
        put_date(h, b.timestamp);
        h << "</td></tr>\n";
    }
    h << "</tbody></table>\n";
}

void render_builds(Html& h, const Context& c, const ChannelPackage& p) {
    h << "<details><summary>";
    h.number(p.entries.size()) << (p.entries.size() == 1 ? " build" : " builds")
                               << " (versions, hashes, sources)</summary>\n<table "
                                  "class=\"builds\"><thead><tr><th>Version</th><th>Platform</th>"
                                  "<th>Size</th><th>sha256</th><th>Date</th><th>Source</th>"
                                  "<th>Files</th></tr></thead>\n<tbody>\n";
    std::set<std::string> versions_shown;
    auto file_link = [&h](const std::string& url, const char* label) {
        if (url.empty()) {
            h << dash;
        } else {
            h.link(url, is_https_url(url) ? std::string_view(label) : std::string_view(url));
        }
    };
    for (auto i : p.entries) {
        const auto& b = c.d.builds[i];
        h << "<tr><td>";
        h.text(b.version);
        if (c.d.format == IndexFormat::current && versions_shown.insert(b.version).second) {
            h << "<br><code class=\"cp\">mip install ";
            h.text(c.install_prefix).text(p.name) << "@";
            h.text(b.version) << "</code>";
        }
        h << "</td><td>";
        h.text(b.platform) << "</td>";
        put_size_cell(h, b.size);
        h << "<td>";
        put_sha(h, b.sha256);
        h << "</td><td>";
        put_date(h, b.timestamp);
        h << "</td><td>";
        put_source(h, b);
        h << "</td><td>";
        file_link(b.mhl_url, ".mhl");
        h << " · ";
        file_link(b.mip_json_url, "metadata");
        h << "</td></tr>\n";
    }
    h << "</tbody></table>\n</details>\n";
}

void render_package(Html& h, const Context& c, const ChannelPackage& p) {
    const auto& b = head_build(c.d, p);
    std::string platforms;
    for (const auto& choice : p.choices) {
        if (choice.entry) {
            platforms += (platforms.empty() ? "" : " ") + choice.platform;
        }
    }
    const std::string& license = b.license.empty() ? std::string("unspecified") : b.license;
    h << "<section class=\"pkg\" id=\"";
    h.text(p.anchor) << "\" data-name=\"";
    h.text(detail::ascii_lower(p.name)) << "\" data-platforms=\"";
    h.text(platforms) << "\" data-license=\"";
    h.text(license) << "\">\n<h2><a class=\"self\" href=\"#";
    h.text(p.anchor) << "\">";
    h.text(p.name) << "</a> <span class=\"version\">";
    h.text(p.newest_version) << "</span> <span class=\"badge\">";
    h.text(license) << "</span></h2>\n";
    if (!b.description.empty()) {
        h << "<p class=\"desc\">";
        h.text(b.description) << "</p>\n";
    }
    h << "<dl class=\"meta\">\n<dt>Install</dt><dd><code class=\"cp\">mip install ";
    h.text(c.install_prefix).text(p.name) << "</code></dd>\n";
    if (!b.homepage.empty()) {
        h << "<dt>Homepage</dt><dd>";
        h.link(b.homepage, b.homepage) << "</dd>\n";
    }
    if (!b.repository.empty()) {
        h << "<dt>Repository</dt><dd>";
        h.link(b.repository, b.repository) << "</dd>\n";
    }
    h << "<dt>Depends on</dt><dd class=\"deps\">";
    if (b.dependencies.empty()) {
        h << "<span class=\"none\">nothing</span>";
    }
    for (std::size_t i = 0; i < b.dependencies.size(); ++i) {
        h << (i == 0 ? "" : ", ");
        put_dependency(h, c, b.dependencies[i]);
    }
    h << "</dd>\n<dt>Used by</dt><dd class=\"used-by\">";
    if (p.used_by.empty()) {
        h << "<span class=\"none\">no package of this channel</span>";
    }
    for (std::size_t i = 0; i < p.used_by.size(); ++i) {
        auto it = c.g.by_normalized.find(normalize_package_name(p.used_by[i]));
        h << (i == 0 ? "<a href=\"#" : ", <a href=\"#");
        h.text(c.g.summary.packages[it->second].anchor) << "\">";
        h.text(p.used_by[i]) << "</a>";
    }
    h << "</dd>\n";
    if (c.d.format == IndexFormat::current) {
        h << "<dt>Paths</dt><dd class=\"symbols mono\">";
        if (b.paths.empty()) {
            h << "<span class=\"none\">none</span>";
        }
        put_list(h, b.paths);
        h << "</dd>\n";
        for (const auto& [group, paths] : b.extra_paths) {
            h << "<dt>Extra paths <code>";
            h.text(group) << "</code></dt><dd class=\"symbols mono\">";
            put_list(h, paths);
            h << " <span class=\"none\">(mip load ";
            h.text(p.name) << " --with ";
            h.text(group) << ")</span></dd>\n";
        }
    } else {
        h << "<dt>Exposed symbols</dt><dd>";
        if (b.symbols.empty()) {
            h << "<span class=\"none\">none listed</span>";
        } else if (b.symbols.size() <= 12) {
            h << "<span class=\"symbols mono\">";
            put_list(h, b.symbols);
            h << "</span>";
        } else {
            h << "<details><summary>";
            h.number(b.symbols.size()) << " symbols</summary><span class=\"symbols mono\">";
            put_list(h, b.symbols);
            h << "</span></details>";
        }
        h << "</dd>\n";
    }
    h << "</dl>\n";
    if (!b.usage_examples.empty()) {
        h << "<details><summary>Usage examples</summary>\n";
        for (const auto& example : b.usage_examples) {
            h << "<pre><code>";
            h.text(example) << "</code></pre>\n";
        }
        h << "</details>\n";
    }
    render_choices(h, c, p);
    for (const auto& w : p.warnings) {
        h << "<p class=\"warn\" role=\"note\">&#9888; ";
        h.text(w) << "</p>\n";
    }
    render_builds(h, c, p);
    h << "</section>\n";
}

std::string csp_hash(std::string_view text) {
    return "'sha256-" + detail::base64(detail::sha256_raw(text)) + "'";
}

std::string render_html(const Context& c) {
    const auto& s = c.g.summary;
    const std::string& title = s.channel_name;
    std::string out;
    out.reserve(8192 + s.builds * 700 + s.packages.size() * 1200);
    Html h(out);
    h << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      << "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src "
      << csp_hash(detail::channel_page_css) << "; script-src " << csp_hash(detail::channel_page_js)
      << "; img-src data:; base-uri 'none'; form-action 'none'\">\n"
      << "<meta name=\"referrer\" content=\"no-referrer\">\n"
      << "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      << "<meta name=\"generator\" content=\"libmip\">\n<title>";
    h.text(title) << " · mip channel</title>\n<link rel=\"icon\" href=\"data:,\">\n"
                  << "<link rel=\"alternate\" type=\"application/atom+xml\" title=\"";
    h.text(title) << ": newest builds\" href=\"feed.xml\">\n"
                  << "<link rel=\"alternate\" type=\"application/feed+json\" title=\"";
    h.text(title) << ": newest builds\" href=\"feed.json\">\n<style>" << detail::channel_page_css
                  << "</style>\n</head>\n<body>\n<header>\n<h1 id=\"_top\">";
    h.text(title) << " <small>mip channel</small></h1>\n<p class=\"summary\">";
    h.number(s.packages.size()) << (s.packages.size() == 1 ? " package · " : " packages · ");
    h.number(s.builds) << (s.builds == 1 ? " build · " : " builds · ")
                       << (s.format == IndexFormat::current
                               ? "current mip format (architecture, newest version per client)"
                               : "R2-era format (platform_tag, first match per client)");
    if (!c.d.last_updated.empty()) {
        h << " · updated ";
        put_date(h, c.d.last_updated);
    }
    h << "</p>\n<p class=\"feeds\">Newest builds: <a href=\"feed.xml\">Atom feed</a> · <a "
         "href=\"feed.json\">JSON Feed</a> · the data: <a href=\"index.json\">index.json</a></p>\n";
    // Search and filters: only with JavaScript (the script un-hides them).
    std::set<std::string> licenses;
    for (const auto& p : s.packages) {
        const auto& b = head_build(c.d, p);
        licenses.insert(b.license.empty() ? "unspecified" : b.license);
    }
    h << "<div id=\"_controls\" hidden>\n<label>Search <input type=\"search\" id=\"_q\" "
         "placeholder=\"name, description, symbol\" autocomplete=\"off\" spellcheck=\"false\">"
         "</label>\n<label>Platform <select id=\"_platform\"><option value=\"\">all "
         "platforms</option>";
    for (const auto& platform : s.platforms) {
        h << "<option value=\"";
        h.text(platform) << "\">";
        h.text(platform) << "</option>";
    }
    h << "</select></label>\n<label>License <select id=\"_license\"><option value=\"\">all "
         "licenses</option>";
    for (const auto& license : licenses) {
        h << "<option value=\"";
        h.text(license) << "\">";
        h.text(license) << "</option>";
    }
    h << "</select></label>\n<span id=\"_shown\" aria-live=\"polite\"></span>\n</div>\n"
      << "</header>\n<main>\n";
    if (s.packages.empty()) {
        h << "<p class=\"none\">This channel has no packages yet.</p>\n";
    }
    for (const auto& p : s.packages) {
        render_package(h, c, p);
    }
    h << "</main>\n<footer>Generated by libmip from index.json. The choice per platform is the "
         "client's: "
      << (s.format == IndexFormat::current
              ? "the highest numeric version (else main, master, unspecified, the first "
                "alphabetically), then the exact architecture, else numbl_wasm for numbl_*, else "
                "any; never an older version."
              : "the first entry in index order whose platform_tag matches exactly, else the "
                "first any.")
      << "</footer>\n<script>" << detail::channel_page_js << "</script>\n</body>\n</html>\n";
    return out;
}

// Feeds --------------------------------------------------------------------------------------

std::vector<std::size_t> newest_builds(const Document& d, std::size_t n) {
    std::vector<std::size_t> order(d.builds.size());
    for (std::size_t i = 0; i < order.size(); ++i) {
        order[i] = i;
    }
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        const auto& x = d.builds[a];
        const auto& y = d.builds[b];
        bool tx = is_timestamp(x.timestamp);
        bool ty = is_timestamp(y.timestamp);
        if (tx != ty) {
            return tx;
        }
        if (tx && x.timestamp != y.timestamp) {
            return x.timestamp > y.timestamp;
        }
        return std::tie(x.name, x.version, x.platform) < std::tie(y.name, y.version, y.platform);
    });
    if (order.size() > n) {
        order.resize(n);
    }
    return order;
}

std::string entry_id(const Build& b) {
    if (is_hex(b.sha256, 64, 64)) {
        return "urn:sha256:" + b.sha256;
    }
    return "urn:mip-build:" + percent_encode(b.name) + ":" + percent_encode(b.version) + ":" +
           percent_encode(b.platform);
}

std::string entry_title(const Build& b) {
    return b.name + " " + b.version + " (" + b.platform + ")";
}

std::string feed_updated(const Document& d, const std::vector<std::size_t>& newest) {
    std::string updated = is_timestamp(d.last_updated) ? d.last_updated : "";
    for (auto i : newest) {
        if (is_timestamp(d.builds[i].timestamp) && d.builds[i].timestamp > updated) {
            updated = d.builds[i].timestamp;
        }
    }
    return updated.empty() ? "1970-01-01T00:00:00Z" : updated;
}

std::string render_feed_json(const Context& c, const std::vector<std::size_t>& newest) {
    const auto& s = c.g.summary;
    Json feed = Json::object();
    feed["version"] = "https://jsonfeed.org/version/1.1";
    feed["title"] = visible(s.channel_name) + ": newest builds";
    if (!c.site.empty()) {
        feed["home_page_url"] = c.site + "packages.html";
        feed["feed_url"] = c.site + "feed.json";
    }
    feed["description"] = "The newest package builds of the mip channel " +
                          visible(s.channel_name) + ", newest first.";
    feed["language"] = "en";
    Json items = Json::array();
    for (auto i : newest) {
        const auto& b = c.d.builds[i];
        Json item = Json::object();
        item["id"] = entry_id(b);
        auto g = c.g.by_normalized.find(normalize_package_name(b.name));
        item["url"] = c.site + "packages.html#" + s.packages[g->second].anchor;
        item["title"] = visible(entry_title(b));
        item["content_text"] = visible(b.description.empty() ? b.name : b.description);
        if (is_timestamp(b.timestamp)) {
            item["date_published"] = b.timestamp;
        }
        item["tags"] = Json::array({visible(b.platform)});
        if (is_https_url(b.mhl_url)) {
            Json attachment = {{"url", b.mhl_url}, {"mime_type", "application/zip"}};
            if (b.size) {
                attachment["size_in_bytes"] = *b.size;
            }
            item["attachments"] = Json::array({attachment});
        }
        items.push_back(std::move(item));
    }
    feed["items"] = std::move(items);
    return detail::dump_pretty(feed);
}

std::string render_feed_xml(const Context& c, const std::vector<std::size_t>& newest) {
    const auto& s = c.g.summary;
    std::string updated = feed_updated(c.d, newest);
    std::string x = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n";
    x += "<feed xmlns=\"http://www.w3.org/2005/Atom\">\n";
    x += "<id>" +
         (c.site.empty() ? "urn:mip-channel:" + percent_encode(s.channel_name)
                         : xml_esc(c.site + "feed.xml")) +
         "</id>\n";
    x += "<title>" + xml_esc(s.channel_name) + ": newest builds</title>\n";
    x += "<updated>" + xml_esc(updated) + "</updated>\n";
    x += "<author><name>" + xml_esc(s.channel_name) + "</name></author>\n";
    x += "<link rel=\"self\" type=\"application/atom+xml\" href=\"" + xml_esc(c.site) +
         "feed.xml\"/>\n";
    x += "<link rel=\"alternate\" type=\"text/html\" href=\"" + xml_esc(c.site) +
         "packages.html\"/>\n";
    x += "<generator>libmip</generator>\n";
    for (auto i : newest) {
        const auto& b = c.d.builds[i];
        auto g = c.g.by_normalized.find(normalize_package_name(b.name));
        x += "<entry>\n<id>" + xml_esc(entry_id(b)) + "</id>\n<title>" + xml_esc(entry_title(b)) +
             "</title>\n<updated>" + xml_esc(is_timestamp(b.timestamp) ? b.timestamp : updated) +
             "</updated>\n";
        x += "<link rel=\"alternate\" type=\"text/html\" href=\"" +
             xml_esc(c.site + "packages.html#" + s.packages[g->second].anchor) + "\"/>\n";
        if (is_https_url(b.mhl_url)) {
            x += "<link rel=\"enclosure\" type=\"application/zip\" href=\"" + xml_esc(b.mhl_url) +
                 "\"" + (b.size ? " length=\"" + std::to_string(*b.size) + "\"" : "") + "/>\n";
        }
        x += "<category term=\"" + xml_esc(b.platform) + "\"/>\n";
        x += "<summary>" + xml_esc(b.description.empty() ? b.name : b.description) +
             "</summary>\n</entry>\n";
    }
    x += "</feed>\n";
    return x;
}

std::string site_url(const ChannelPageOptions& options, const std::string& github_repo) {
    std::string site = options.site_url;
    if (!site.empty()) {
        if (!is_https_url(site)) {
            throw SpecError("channel page", {{"site_url", "must be an https:// URL"}});
        }
    } else if (auto [owner, channel] = owner_channel(github_repo); !owner.empty()) {
        site = "https://" + owner + ".github.io/mip-" + channel + "/";
    }
    if (!site.empty() && site.back() != '/') {
        site += '/';
    }
    return site;
}

}  // namespace

IndexFormat detect_index_format(std::string_view index_json) {
    return detect(parse_document(index_json));
}

ChannelSummary summarize_channel(std::string_view index_json, const ChannelPageOptions& options) {
    auto d = read_document(index_json, options.format);
    auto g = summarize(d, options);
    auto [owner, channel] = owner_channel(d.github_repo);
    add_reverse_dependencies(d, g, owner, channel);
    return std::move(g.summary);
}

ChannelSite render_channel_site(std::string_view index_json, const ChannelPageOptions& options) {
    auto d = read_document(index_json, options.format);
    auto g = summarize(d, options);
    auto [owner, channel] = owner_channel(d.github_repo);
    add_reverse_dependencies(d, g, owner, channel);
    Context c{d, g, owner, channel, "", site_url(options, d.github_repo)};
    if (d.format == IndexFormat::current && !owner.empty() &&
        !(owner == "mip-org" && channel == "core")) {
        c.install_prefix = owner + "/" + channel + "/";
    }
    ChannelSite site;
    site.packages_html = render_html(c);
    auto newest = newest_builds(d, options.feed_entries);
    site.feed_json = render_feed_json(c, newest);
    site.feed_xml = render_feed_xml(c, newest);
    site.summary = std::move(g.summary);
    return site;
}

void write_channel_site(std::string_view index_json,
                        const fs::path& output_dir,
                        const ChannelPageOptions& options) {
    auto site = render_channel_site(index_json, options);
    // index.json last: the file clients read changes only once the page and feeds are in place.
    detail::replace_files_together(output_dir, {{"feed.json", site.feed_json},
                                                {"feed.xml", site.feed_xml},
                                                {"packages.html", site.packages_html},
                                                {"index.json", index_json}});
}

}  // namespace mip
