// The channel page's packages.html (channel_page_impl.hpp; docs/channel-page.md): one section per
// package, the client's choice per platform, every build; its CSS and JavaScript inline, allowed
// by hash in the Content-Security-Policy.

#include <algorithm>
#include <cstdint>
#include <future>
#include <optional>
#include <set>

#include <mip/package_spec.hpp>

#include "channel_page_impl.hpp"
#include "detail/channel_page_assets.hpp"
#include "detail/crypto.hpp"
#include "detail/text.hpp"

namespace mip::detail::page {

namespace {

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
        append_html(out_, s);
        return *this;
    }
    Html& number(std::uint64_t n) {
        out_ += std::to_string(n);
        return *this;
    }
    /// `<a href>` for https URLs, the text in a monospace span for anything else.
    // NOLINTNEXTLINE(bugprone-easily-swappable-parameters): href then text, as in the markup.
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

/// What the page's string reserves: enough for most pages (the builds dominate).
std::size_t out_reserve(const Context& c) {
    return 8192 + c.g.summary.builds * 700 + c.g.summary.packages.size() * 1200;
}

std::string csp_hash(std::string_view text) {
    return "'sha256-" + detail::base64(detail::sha256_raw(text)) + "'";
}

}  // namespace

std::string render_html(const Context& c) {
    const auto& s = c.g.summary;
    const std::string& title = s.channel_name;
    std::string out;
    out.reserve(out_reserve(c));
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
    // A large page renders its second half on another thread (the sections are independent):
    // from 256 packages, where the render is on the critical path of an incremental index, to
    // 4,000, above which the half page held twice (~1.4 KB a package) costs more memory than the
    // render's ~50 ms are worth beside the network time of a catalogue that size.
    constexpr std::size_t two_threads_from = 256;
    constexpr std::size_t two_threads_up_to = 4000;
    const auto& packages = s.packages;
    const std::size_t half =
        packages.size() >= two_threads_from && packages.size() <= two_threads_up_to
            ? packages.size() / 2
            : packages.size();
    std::future<std::string> second;
    if (half < packages.size()) {
        second = std::async(std::launch::async, [&c, &packages, half] {
            std::string rest;
            rest.reserve(out_reserve(c) / 2);
            Html h2(rest);
            for (std::size_t i = half; i < packages.size(); ++i) {
                render_package(h2, c, packages[i]);
            }
            return rest;
        });
    }
    for (std::size_t i = 0; i < half; ++i) {
        render_package(h, c, packages[i]);
    }
    if (second.valid()) {
        out += second.get();
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

}  // namespace mip::detail::page
