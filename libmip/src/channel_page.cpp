// The channel page (packages.html) and feeds, rendered from an index document. See
// channel_page.hpp and docs/channel-page.md. This file: the feeds and the public functions; the
// rest in channel_page_*.cpp (channel_page_impl.hpp lists them).

#include <algorithm>
#include <tuple>
#include <utility>

#include <mip/channel_page.hpp>
#include <mip/error.hpp>
#include <mip/package_spec.hpp>

#include "channel_page_impl.hpp"
#include "detail/json.hpp"
#include "detail/replace_together.hpp"

namespace mip {

namespace fs = std::filesystem;
namespace page = detail::page;

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

// ---------------------------------------------------------------------------------------------
// Feeds.

namespace detail::page {
namespace {

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
}  // namespace detail::page

IndexFormat detect_index_format(std::string_view index_json) {
    return page::detect(page::parse_document(index_json));
}

ChannelSummary summarize_channel(std::string_view index_json, const ChannelPageOptions& options) {
    auto d = page::read_document(index_json, options.format);
    auto g = page::summarize(d, options);
    auto [owner, channel] = page::owner_channel(d.github_repo);
    page::add_reverse_dependencies(d, g, owner, channel);
    return std::move(g.summary);
}

ChannelSite page::render_site(const Document& d, const ChannelPageOptions& options) {
    auto g = page::summarize(d, options);
    auto [owner, channel] = page::owner_channel(d.github_repo);
    page::add_reverse_dependencies(d, g, owner, channel);
    page::Context c{d, g, owner, channel, "", page::site_url(options, d.github_repo)};
    if (d.format == IndexFormat::current && !owner.empty() &&
        !(owner == "mip-org" && channel == "core")) {
        c.install_prefix = owner + "/" + channel + "/";
    }
    ChannelSite site;
    site.packages_html = page::render_html(c);
    auto newest = page::newest_builds(d, options.feed_entries);
    site.feed_json = page::render_feed_json(c, newest);
    site.feed_xml = page::render_feed_xml(c, newest);
    site.summary = std::move(g.summary);
    return site;
}

ChannelSite render_channel_site(std::string_view index_json, const ChannelPageOptions& options) {
    return page::render_site(page::read_document(index_json, options.format), options);
}

void page::write_site(std::string_view index_json,
                      const Document& d,
                      const fs::path& output_dir,
                      const ChannelPageOptions& options,
                      const std::function<void()>& before_replacing) {
    auto site = render_site(d, options);
    if (before_replacing) {
        before_replacing();
    }
    // index.json last: the file clients read changes only once the page and feeds are in place.
    detail::replace_files_together(output_dir, {{"feed.json", site.feed_json},
                                                {"feed.xml", site.feed_xml},
                                                {"packages.html", site.packages_html},
                                                {"index.json", index_json}});
}

void write_channel_site(std::string_view index_json,
                        const fs::path& output_dir,
                        const ChannelPageOptions& options) {
    page::write_site(index_json, page::read_document(index_json, options.format), output_dir,
                     options);
}

}  // namespace mip
