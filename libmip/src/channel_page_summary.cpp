// The channel page's summary (channel_page_impl.hpp): versions as clients compare them, and
// what each format's client installs on each platform.

#include <algorithm>
#include <set>

#include <mip/package_spec.hpp>

#include "channel_page_impl.hpp"
#include "detail/crypto.hpp"
#include "detail/text.hpp"

namespace mip::detail::page {

namespace {

// The client platforms each format's page lists, before the ones the index adds.
const std::vector<std::string> r2_platforms = {"linux_x86_64", "linux_aarch64", "macos_arm64",
                                               "macos_x86_64", "windows_x86_64"};
const std::vector<std::string> current_platforms = {"linux_x86_64", "macos_arm64", "macos_x86_64",
                                                    "windows_x86_64", "numbl_wasm"};

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
// NOLINTNEXTLINE(bugprone-easily-swappable-parameters): a comparison, the order is its meaning.
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

}  // namespace

// ---------------------------------------------------------------------------------------------
// The client's choice.

bool valid_anchor(std::string_view name) {
    return !name.empty() &&
           ((name[0] >= 'a' && name[0] <= 'z') || (name[0] >= 'A' && name[0] <= 'Z') ||
            (name[0] >= '0' && name[0] <= '9')) &&
           is_token(name);
}

namespace {

/// `id` of a package section: the name itself (so `packages.html#chebfun` works), or for names
/// outside the name rules "_p" + hex of the bytes. Page chrome ids start with "_", which no
/// valid name does, so the two never collide.
std::string anchor_for(std::string_view name) {
    return valid_anchor(name) ? std::string(name) : "_p" + detail::hex_encode(name);
}

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

/// Page title: the option, else from `github_repo` ("owner/mip-ch" → "owner/ch"), else the first
/// path segment of an https:// store URL, else "local" for a `file://` store, else "mip".
std::string channel_name(const Document& d, const ChannelPageOptions& options) {
    std::string name = options.channel_name;
    if (name.empty() && !d.github_repo.empty()) {
        auto slash = d.github_repo.find('/');
        if (slash != std::string::npos && d.github_repo.compare(slash + 1, 4, "mip-") == 0) {
            name = d.github_repo.substr(0, slash) + "/" + d.github_repo.substr(slash + 5);
        } else {
            name = d.github_repo;
        }
    }
    if (name.empty()) {
        for (const auto& b : d.builds) {
            const auto& url = is_https_url(b.mip_json_url) ? b.mip_json_url : b.mhl_url;
            if (!is_https_url(url)) {
                continue;
            }
            auto path = url.find('/', 8);
            if (path != std::string::npos) {
                auto end = url.find('/', path + 1);
                if (end != std::string::npos && end > path + 1) {
                    name = url.substr(path + 1, end - path - 1);
                    break;
                }
            }
        }
    }
    if (name.empty()) {
        bool local = !d.builds.empty() &&
                     detail::ascii_lower(d.builds.front().mhl_url).rfind("file://", 0) == 0;
        name = local ? "local" : "mip";
    }
    return name;
}

/// The format's client platforms, then any other the index names.
std::vector<std::string> client_platforms(const Document& d) {
    auto platforms = d.format == IndexFormat::current ? current_platforms : r2_platforms;
    std::set<std::string> extra;
    for (const auto& b : d.builds) {
        if (b.platform != "any" && !b.platform.empty() &&
            std::find(platforms.begin(), platforms.end(), b.platform) == platforms.end()) {
            extra.insert(b.platform);
        }
    }
    platforms.insert(platforms.end(), extra.begin(), extra.end());
    return platforms;
}

/// Groups the builds by name as clients compare names; the first spelling is shown.
void group_by_name(const Document& d, Grouped& g) {
    auto& packages = g.summary.packages;
    for (std::size_t i = 0; i < d.builds.size(); ++i) {
        auto key = normalize_package_name(d.builds[i].name);
        auto [it, inserted] = g.by_normalized.emplace(key, packages.size());
        if (inserted) {
            ChannelPackage p;
            p.name = d.builds[i].name;
            p.anchor = anchor_for(p.name);
            packages.push_back(std::move(p));
        }
        packages[it->second].entries.push_back(i);
    }
}

/// Sets the package's newest version as its format's client sees it; the current format also
/// orders the entries by the client's preference of their versions.
void rank_versions(const Document& d, ChannelPackage& p) {
    // Versions in first-appearance order.
    std::vector<std::string> versions;
    for (auto i : p.entries) {
        if (std::find(versions.begin(), versions.end(), d.builds[i].version) == versions.end()) {
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
}

/// Current format: `older` serves `platform`, the newest version does not.
std::string no_fallback_warning(const std::string& platform,
                                const std::string& newest_version,
                                const Build& older) {
    return platform + ": the newest version " + newest_version + " has no build for it, although " +
           older.version + " had one (" + older.platform +
           "); mip install fails there, since the client never falls back to an older version";
}

/// R2 format: the client's choice `c` is not of the newest version.
std::string not_newest_warning(const PlatformChoice& c, const std::string& newest_version) {
    return c.platform + ": the client installs " + c.version + " (" + c.build +
           "), not the newest version " + newest_version + ", which has no " + c.platform +
           " build: the R2-era client takes the first exact match in index order";
}

/// Current format, `platform` without a build of the newest version: would an older version
/// have served it? The client never falls back, so the page warns.
void warn_if_older_served(const Document& d, ChannelPackage& p, const std::string& platform) {
    for (auto i : p.entries) {
        if (d.builds[i].version == p.newest_version) {
            continue;
        }
        std::vector<std::size_t> one{i};
        if (choose_current_variant(d, one, platform)) {
            p.warnings.push_back(no_fallback_warning(platform, p.newest_version, d.builds[i]));
            break;
        }
    }
}

/// What the client installs on each platform, and warnings where that surprises.
void choose_platforms(const Document& d,
                      const std::vector<std::string>& platforms,
                      ChannelPackage& p) {
    std::vector<std::size_t> newest;
    for (auto i : p.entries) {
        if (d.builds[i].version == p.newest_version) {
            newest.push_back(i);
        }
    }
    for (const auto& platform : platforms) {
        PlatformChoice c;
        c.platform = platform;
        c.entry = d.format == IndexFormat::current ? choose_current_variant(d, newest, platform)
                                                   : choose_r2(d, p.entries, platform);
        if (c.entry) {
            c.version = d.builds[*c.entry].version;
            c.build = d.builds[*c.entry].platform;
        }
        if (d.format == IndexFormat::current && !c.entry) {
            warn_if_older_served(d, p, platform);
        } else if (d.format == IndexFormat::r2 && c.entry && c.version != p.newest_version) {
            p.warnings.push_back(not_newest_warning(c, p.newest_version));
        }
        p.choices.push_back(std::move(c));
    }
}

/// Packages by normalized name (then spelling), and `by_normalized` pointing at the new order.
void sort_packages(Grouped& g) {
    auto& packages = g.summary.packages;
    std::sort(packages.begin(), packages.end(),
              [](const ChannelPackage& a, const ChannelPackage& b) {
                  auto na = normalize_package_name(a.name);
                  auto nb = normalize_package_name(b.name);
                  return na != nb ? na < nb : a.name < b.name;
              });
    g.by_normalized.clear();
    for (std::size_t i = 0; i < packages.size(); ++i) {
        g.by_normalized.emplace(normalize_package_name(packages[i].name), i);
    }
}

}  // namespace

Grouped summarize(const Document& d, const ChannelPageOptions& options) {
    Grouped g;
    auto& s = g.summary;
    s.format = d.format;
    s.builds = d.builds.size();
    s.channel_name = channel_name(d, options);
    s.platforms = client_platforms(d);
    group_by_name(d, g);
    for (auto& p : s.packages) {
        rank_versions(d, p);
        choose_platforms(d, s.platforms, p);
    }
    sort_packages(g);
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

}  // namespace mip::detail::page
