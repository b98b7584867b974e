#pragma once
// Private to the channel page (channel_page.hpp), split by issue 14's file-size rule:
// channel_page_text.cpp (text escaping and checks), channel_page_document.cpp (reading the index
// document), channel_page_summary.cpp (versions as clients compare them, the client's choice),
// channel_page_html.cpp (packages.html), channel_page.cpp (feeds and the public functions).
// What those files share is declared here, in its own namespace.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <mip/channel_page.hpp>
#include <mip/error.hpp>

#include "detail/json.hpp"

namespace mip::detail::page {

// ---------------------------------------------------------------------------------------------
// Text escaping and checks (channel_page_text.cpp). Every string from the document goes through
// one of the escapes.

/// Appends `s` as HTML text or attribute value, control characters made visible.
void append_html(std::string& out, std::string_view s);
/// Text or attribute value for XML 1.0 (which forbids the control characters outright).
std::string xml_esc(std::string_view s);
/// Text for JSON strings of the feed: the same visible control pictures as the page.
std::string visible(std::string_view s);
/// Only `https:` URLs become links; they may not hold whitespace or control characters.
bool is_https_url(std::string_view url);
bool is_token(std::string_view s);
/// Whether `s` is `min` to `max` lower-case hex digits.
bool is_hex(std::string_view s, std::size_t min, std::size_t max);
/// "YYYY-MM-DDTHH:MM:SSZ", optionally with a fraction of a second (RFC 3339, UTC).
bool is_timestamp(std::string_view t);
std::string percent_encode(std::string_view s);
/// "1.2 MB" (SI units, one decimal, integer arithmetic: no locale, no rounding drift).
std::string human_size(std::uint64_t bytes);

// ---------------------------------------------------------------------------------------------
// The document (channel_page_document.cpp).

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

/// Top-level object with a `packages` list; throws SpecError otherwise.
Json parse_document(std::string_view text);
IndexFormat detect(const Json& doc);
Document read_document(std::string_view text, IndexFormat wanted);
/// One entry of `packages` (an object) read into `b` (`b.index` set by the caller); its
/// problems appended to `issues`. What `read_document` does for each entry.
void read_build(const Json& e, IndexFormat format, Build& b, std::vector<Issue>& issues);

// ---------------------------------------------------------------------------------------------
// The client's choice (channel_page_summary.cpp).

struct Grouped {
    ChannelSummary summary;
    std::map<std::string, std::size_t> by_normalized;  // normalized name -> package
};

bool valid_anchor(std::string_view name);
Grouped summarize(const Document& d, const ChannelPageOptions& options);
/// The package's representative build: the first of its newest version.
const Build& head_build(const Document& d, const ChannelPackage& p);

/// `owner/channel/name` dependency → (owner, channel, name); bare names give empty parts.
struct DepName {
    std::string owner, channel, name;
};

DepName parse_dependency(const std::string& dep);
void add_reverse_dependencies(const Document& d,
                              Grouped& g,
                              const std::string& own_owner,
                              const std::string& own_channel);
std::pair<std::string, std::string> owner_channel(const std::string& github_repo);

// ---------------------------------------------------------------------------------------------
// Rendering (channel_page_html.cpp; the feeds in channel_page.cpp).

struct Context {
    const Document& d;
    const Grouped& g;
    std::string owner, channel;  // current format, from github_repo
    std::string install_prefix;  // "" or "owner/channel/"
    std::string site;            // "" or https://…/ (trailing slash)
};

std::string render_html(const Context& c);

/// The page and feeds of a document already read (`render_channel_site` without the parse).
ChannelSite render_site(const Document& d, const ChannelPageOptions& options);
/// `write_channel_site` of a document already read: `index_json` is its text, `d` what
/// `read_document` gives for it (the index assembler builds both in memory).
/// `before_replacing` runs once the files are rendered, before any is written.
void write_site(std::string_view index_json,
                const Document& d,
                const std::filesystem::path& output_dir,
                const ChannelPageOptions& options = {},
                const std::function<void()>& before_replacing = {});

}  // namespace mip::detail::page
