// The channel page and feeds (channel_page.hpp): the client's choice per platform in both index
// formats, format detection, escaping, the CSP hashes, byte-reproducibility, and writing the
// four site files together or not at all. Index documents are written here by hand, following
// mip-format.md §5 (R2-era) and mip-current.md §3-§4 (current). The browser tests are in
// tests/python/test_channel_page.py.

#include <algorithm>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <mip/channel_page.hpp>
#include <mip/error.hpp>
#include <mip/index_assembler.hpp>
#include <mip/local_store.hpp>

#include "channel_page_impl.hpp"
#include "detail/crypto.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using mip::ChannelPageOptions;
using mip::IndexFormat;
using mip::test::TempDir;
using Json = nlohmann::ordered_json;

namespace {

std::string sha_of(const std::string& s) { return mip::detail::sha256_hex(s); }

/// One R2-era index entry (the sidecar + mhl_url + mip_json_url).
Json r2_entry(const std::string& name, const std::string& version, const std::string& platform) {
    std::string wheel = name + "-" + version + "-any-none-" + platform;
    std::string sha = sha_of(wheel);
    return {{"name", name},
            {"description", "package " + name},
            {"version", version},
            {"build_number", 0},
            {"dependencies", Json::array()},
            {"homepage", "https://example.org/" + name},
            {"repository", "https://github.com/example/" + name},
            {"license", "MIT"},
            {"matlab_tag", "any"},
            {"abi_tag", "none"},
            {"platform_tag", platform},
            {"exposed_symbols", Json::array({name + "_fn"})},
            {"timestamp", "2024-01-02T03:04:05Z"},
            {"mhl_url", "https://example.org/core/packages/sha256/" + sha + "/" + wheel + ".mhl"},
            {"mhl_sha256", sha},
            {"mhl_size", 1234},
            {"source",
             {{"type", "git"},
              {"url", "https://github.com/example/" + name + ".git"},
              {"ref", nullptr},
              {"commit", "0123456789abcdef0123456789abcdef01234567"}}},
            {"mip_json_url", "https://example.org/core/packages/" + wheel + ".mhl.mip.json"}};
}

/// One current-format index entry (mip-current.md §3, §4).
Json current_entry(const std::string& name, const std::string& version, const std::string& arch) {
    std::string file = name + "-" + version + "-" + arch + ".mhl";
    std::string sha = sha_of(file);
    return {{"name", name},
            {"version", version},
            {"description", "package " + name},
            {"architecture", arch},
            {"dependencies", Json::array()},
            {"paths", Json::array({".", "src"})},
            {"extra_paths", {{"examples", Json::array({"examples"})}}},
            {"license", "BSD-3-Clause"},
            {"homepage", "https://example.org/" + name},
            {"repository", "https://github.com/example/" + name},
            {"install_type", "channel"},
            {"timestamp", "2025-03-04T05:06:07Z"},
            {"source_hash", sha_of("src " + file)},
            {"commit_hash", "89abcdef0123456789abcdef0123456789abcdef"},
            {"mhl_sha256", sha},
            {"mhl_size", 2048},
            {"mhl_url", "https://example.org/store/" + file},
            {"mip_json_url", "https://example.org/store/" + file + ".mip.json"}};
}

std::string r2_doc(const std::vector<Json>& entries) {
    Json doc = {{"packages", entries},
                {"total_packages", entries.size()},
                {"last_updated", "2024-02-03T04:05:06Z"}};
    return doc.dump(2);
}

std::string current_doc(const std::vector<Json>& entries,
                        const std::string& repo = "example-org/mip-science") {
    Json doc = {{"github_repo", repo},
                {"packages", entries},
                {"total_packages", entries.size()},
                {"last_updated", "2025-04-05T06:07:08Z"}};
    return doc.dump(2);
}

const mip::ChannelPackage& package(const mip::ChannelSummary& s, const std::string& name) {
    auto it = std::find_if(s.packages.begin(), s.packages.end(),
                           [&](const auto& p) { return p.name == name; });
    REQUIRE(it != s.packages.end());
    return *it;
}

const mip::PlatformChoice& choice(const mip::ChannelPackage& p, const std::string& platform) {
    auto it = std::find_if(p.choices.begin(), p.choices.end(),
                           [&](const auto& c) { return c.platform == platform; });
    REQUIRE(it != p.choices.end());
    return *it;
}

std::size_t count(const std::string& hay, const std::string& needle) {
    std::size_t n = 0;
    for (auto pos = hay.find(needle); pos != std::string::npos; pos = hay.find(needle, pos + 1)) {
        ++n;
    }
    return n;
}

std::string between(const std::string& s, const std::string& open, const std::string& close) {
    auto a = s.find(open);
    REQUIRE(a != std::string::npos);
    a += open.size();
    auto b = s.find(close, a);
    REQUIRE(b != std::string::npos);
    return s.substr(a, b - a);
}

}  // namespace

TEST_CASE("R2 page: the first exact platform_tag in index order wins, then any", "[channel]") {
    // Index order is newest first: 2.0 has only an `any` build, 1.0 a linux_x86_64 one.
    auto doc = r2_doc({r2_entry("alpha", "2.0", "any"), r2_entry("alpha", "1.0", "linux_x86_64"),
                       r2_entry("beta", "3.1", "macos_arm64"),
                       r2_entry("gamma", "1.0", "macosx_10_9_universal2"),
                       r2_entry("gamma", "0.9", "any")});
    auto s = mip::summarize_channel(doc);
    CHECK(s.format == IndexFormat::r2);
    CHECK(s.builds == 5);
    CHECK(s.platforms == std::vector<std::string>{"linux_x86_64", "linux_aarch64", "macos_arm64",
                                                  "macos_x86_64", "windows_x86_64",
                                                  "macosx_10_9_universal2"});
    const auto& alpha = package(s, "alpha");
    CHECK(alpha.newest_version == "2.0");
    // The R2-era client prefers the exact match, even of an older version...
    CHECK(choice(alpha, "linux_x86_64").version == "1.0");
    CHECK(choice(alpha, "linux_x86_64").entry == 1u);
    // ...and takes `any` elsewhere.
    CHECK(choice(alpha, "macos_arm64").version == "2.0");
    CHECK(choice(alpha, "macos_arm64").build == "any");
    REQUIRE(alpha.warnings.size() == 1);
    CHECK(alpha.warnings[0].find("linux_x86_64: the client installs 1.0") == 0);
    const auto& beta = package(s, "beta");
    CHECK(choice(beta, "macos_arm64").version == "3.1");
    CHECK_FALSE(choice(beta, "linux_x86_64").entry.has_value());
    CHECK(beta.warnings.empty());
    // universal2 only on macosx_* platforms; gamma's `any` everywhere else.
    const auto& gamma = package(s, "gamma");
    CHECK(choice(gamma, "macos_arm64").version == "0.9");
    CHECK(choice(gamma, "macosx_10_9_universal2").version == "1.0");
}

TEST_CASE("current page: newest version as the client picks it, never an older one", "[channel]") {
    auto doc = current_doc({
        current_entry("solver", "1.10.0", "linux_x86_64"),
        current_entry("solver", "1.10.0", "macos_arm64"),
        current_entry("solver", "1.9.0", "windows_x86_64"),  // older: never chosen
        current_entry("solver", "1.9.0", "any"),
        current_entry("solver", "main", "any"),  // numeric versions win over main
        current_entry("branchy", "master", "any"),
        current_entry("branchy", "main", "linux_x86_64"),  // main beats master
        current_entry("named", "zeta", "any"),
        current_entry("named", "alpha", "any"),        // first alphabetically
        current_entry("named", "unspecified", "any"),  // unspecified beats the alphabet
        current_entry("web", "2.0", "numbl_wasm"),
        current_entry("web", "2.0", "any"),
        current_entry("web", "2.0", "numbl_node"),
    });
    auto s = mip::summarize_channel(doc);
    CHECK(s.format == IndexFormat::current);
    CHECK(s.channel_name == "example-org/science");
    CHECK(s.platforms == std::vector<std::string>{"linux_x86_64", "macos_arm64", "macos_x86_64",
                                                  "windows_x86_64", "numbl_wasm", "numbl_node"});
    const auto& solver = package(s, "solver");
    CHECK(solver.newest_version == "1.10.0");
    CHECK(choice(solver, "linux_x86_64").version == "1.10.0");
    CHECK(choice(solver, "macos_arm64").build == "macos_arm64");
    CHECK_FALSE(choice(solver, "windows_x86_64").entry.has_value());
    CHECK_FALSE(choice(solver, "macos_x86_64").entry.has_value());
    // Display order: the chosen version's builds first.
    CHECK(solver.entries.front() == 0u);
    // windows lost its build in 1.10.0 (1.9.0 had windows_x86_64 and any): warned per platform.
    CHECK(solver.warnings.size() == 4);  // macos_x86_64, windows_x86_64, both numbl_*: via `any`
    CHECK(std::any_of(solver.warnings.begin(), solver.warnings.end(), [](const auto& w) {
        return w.find("windows_x86_64: the newest version 1.10.0 has no build for it") == 0 &&
               w.find("never falls back") != std::string::npos;
    }));
    const auto& branchy = package(s, "branchy");
    CHECK(branchy.newest_version == "main");
    CHECK(choice(branchy, "linux_x86_64").version == "main");
    CHECK_FALSE(choice(branchy, "macos_arm64").entry.has_value());
    CHECK(package(s, "named").newest_version == "unspecified");
    const auto& web = package(s, "web");
    CHECK(choice(web, "numbl_node").build == "numbl_node");
    CHECK(choice(web, "numbl_wasm").build == "numbl_wasm");
    CHECK(choice(web, "linux_x86_64").build == "any");

    SECTION("numbl_* falls back to numbl_wasm before any") {
        auto s2 = mip::summarize_channel(current_doc(
            {current_entry("web", "2.0", "numbl_wasm"), current_entry("web", "2.0", "any"),
             current_entry("other", "1.0", "numbl_node")}));
        CHECK(choice(package(s2, "web"), "numbl_node").build == "numbl_wasm");
        CHECK(choice(package(s2, "web"), "windows_x86_64").build == "any");
    }
    SECTION("without numeric versions, alphabetical order decides") {
        auto s3 = mip::summarize_channel(
            current_doc({current_entry("x", "beta", "any"), current_entry("x", "alpha", "any")}));
        CHECK(package(s3, "x").newest_version == "alpha");
    }
}

TEST_CASE("names group as clients compare them; dependencies and used-by", "[channel]") {
    auto lib = current_entry("Lin-Alg", "1.0", "any");
    auto app = current_entry("app", "1.0", "any");
    app["dependencies"] = {"lin_alg", "example-org/science/tools", "other-org/geo/mapper",
                           "missing"};
    auto tools = current_entry("tools", "2.0", "any");
    auto s = mip::summarize_channel(current_doc({app, lib, tools}));
    REQUIRE(s.packages.size() == 3);
    CHECK(s.packages[0].name == "app");
    CHECK(s.packages[1].name == "Lin-Alg");
    CHECK(s.packages[1].anchor == "Lin-Alg");
    CHECK(package(s, "Lin-Alg").used_by == std::vector<std::string>{"app"});
    CHECK(package(s, "tools").used_by == std::vector<std::string>{"app"});
    auto html = mip::render_channel_site(current_doc({app, lib, tools})).packages_html;
    CHECK(html.find("<a href=\"#Lin-Alg\">lin_alg</a>") != std::string::npos);
    CHECK(html.find("<a href=\"#tools\">example-org/science/tools</a>") != std::string::npos);
    CHECK(html.find("<a href=\"https://other-org.github.io/mip-geo/packages.html#mapper\">"
                    "other-org/geo/mapper</a>") != std::string::npos);
    CHECK(html.find("missing <span class=\"none\">(not in this channel)</span>") !=
          std::string::npos);
    // Outside mip-org/core the install line names the channel; each version has its own line.
    CHECK(html.find("<code class=\"cp\">mip install example-org/science/app</code>") !=
          std::string::npos);
    CHECK(html.find("<code class=\"cp\">mip install example-org/science/tools@2.0</code>") !=
          std::string::npos);
    auto core = mip::render_channel_site(current_doc({tools}, "mip-org/mip-core")).packages_html;
    CHECK(core.find("<code class=\"cp\">mip install tools</code>") != std::string::npos);
    CHECK(core.find("<code class=\"cp\">mip install tools@2.0</code>") != std::string::npos);
}

TEST_CASE("the format is detected from the document or forced", "[channel]") {
    CHECK(mip::detect_index_format(r2_doc({r2_entry("a", "1", "any")})) == IndexFormat::r2);
    CHECK(mip::detect_index_format(current_doc({current_entry("a", "1", "any")})) ==
          IndexFormat::current);
    CHECK(mip::detect_index_format(R"({"packages": []})") == IndexFormat::r2);
    CHECK(mip::detect_index_format(R"({"github_repo": "o/mip-c", "packages": []})") ==
          IndexFormat::current);
    auto mixed = r2_doc({r2_entry("a", "1", "any"), current_entry("b", "1", "any")});
    REQUIRE_THROWS_AS(mip::detect_index_format(mixed), mip::SpecError);
    try {
        (void)mip::summarize_channel(mixed);
        FAIL("mixed formats rendered");
    } catch (const mip::SpecError& e) {
        CHECK(std::string(e.what()).find("packages[1] has 'platform_tag'") == std::string::npos);
        CHECK(std::string(e.what()).find("packages[1] has 'architecture'") != std::string::npos);
    }
    ChannelPageOptions forced;
    forced.format = IndexFormat::current;
    try {
        (void)mip::summarize_channel(r2_doc({r2_entry("a", "1", "any")}), forced);
        FAIL("an R2 entry rendered as current");
    } catch (const mip::SpecError& e) {
        CHECK(e.subject() == "index.json");
        REQUIRE(e.issues().size() == 1);
        CHECK(e.issues()[0].field == "packages[0] (a 1).architecture");
    }
}

TEST_CASE("malformed index documents fail naming the entry and field", "[channel]") {
    REQUIRE_THROWS_AS(mip::summarize_channel("not json"), mip::SpecError);
    REQUIRE_THROWS_AS(mip::summarize_channel("[]"), mip::SpecError);
    REQUIRE_THROWS_AS(mip::summarize_channel(R"({"packages": {}})"), mip::SpecError);
    auto bad = r2_entry("broken", "1.0", "any");
    bad["description"] = 42;
    bad["dependencies"] = {"ok", 7};
    bad["mhl_size"] = -3;
    try {
        (void)mip::render_channel_site(r2_doc({r2_entry("fine", "1", "any"), bad}));
        FAIL("no error");
    } catch (const mip::SpecError& e) {
        std::vector<std::string> fields;
        for (const auto& i : e.issues()) {
            fields.push_back(i.field);
        }
        CHECK(fields == std::vector<std::string>{"packages[1] (broken 1.0).description",
                                                 "packages[1] (broken 1.0).dependencies",
                                                 "packages[1] (broken 1.0).mhl_size"});
    }
}

TEST_CASE("hostile metadata stays text: escaped, no links but https, no raw controls",
          "[channel]") {
    auto evil = r2_entry("evil", "1.0", "any");
    evil["description"] = std::string("<script>window.__pwned=1</script><img src=x onerror=") +
                          "\"window.__pwned=1\"> NUL:" + std::string(1, '\0') + " ESC:\x1b[31m" +
                          " DEL:\x7f C1:\xc2\x85 & 'q'";
    evil["homepage"] = "javascript:window.__pwned=1";
    evil["repository"] = "https://example.org/\"><script>x</script>";
    evil["mhl_url"] = "data:text/html,<script>alert(1)</script>";
    evil["mip_json_url"] = "http://insecure.example.org/evil.json";
    evil["license"] = "MIT\" onmouseover=\"x";
    evil["dependencies"] = {"<b>dep</b>", "javascript:alert(1)"};
    evil["source"]["commit"] = "<script>";
    auto site = mip::render_channel_site(r2_doc({evil}));
    const auto& html = site.packages_html;
    CHECK(count(html, "<script") == 1);  // the page's own
    CHECK(html.find("&lt;script&gt;window.__pwned=1&lt;/script&gt;&lt;img src=x onerror=&quot;"
                    "window.__pwned=1&quot;&gt;") != std::string::npos);
    CHECK(html.find("NUL:\xe2\x90\x80 ESC:\xe2\x90\x9b[31m DEL:\xe2\x90\xa1 C1:\xef\xbf\xbd "
                    "&amp; &#39;q&#39;") != std::string::npos);
    for (char c : html) {
        auto u = static_cast<unsigned char>(c);
        INFO("byte " << static_cast<int>(u));
        CHECK((u >= 0x20 || u == '\n' || u == '\t'));
        CHECK(u != 0x7F);
    }
    CHECK(html.find("href=\"javascript") == std::string::npos);
    CHECK(html.find("href=\"data:text") == std::string::npos);
    CHECK(html.find("href=\"http:") == std::string::npos);
    CHECK(html.find("<span class=\"mono\">javascript:window.__pwned=1</span>") !=
          std::string::npos);
    CHECK(html.find("href=\"https://example.org/&quot;&gt;&lt;script&gt;x&lt;/script&gt;\"") !=
          std::string::npos);
    CHECK(html.find("data-license=\"MIT&quot; onmouseover=&quot;x\"") != std::string::npos);
    // Every href is https:, a fragment or one of the site's own files.
    for (auto pos = html.find("href=\""); pos != std::string::npos;
         pos = html.find("href=\"", pos + 1)) {
        auto url = html.substr(pos + 6, html.find('"', pos + 6) - pos - 6);
        INFO(url);
        CHECK((url.rfind("https://", 0) == 0 || url.rfind('#', 0) == 0 || url == "feed.xml" ||
               url == "feed.json" || url == "index.json" || url == "data:,"));
    }
    // The Atom feed is well-formed XML 1.0 text: no control characters at all.
    for (char c : site.feed_xml) {
        auto u = static_cast<unsigned char>(c);
        CHECK((u >= 0x20 || u == '\n'));
    }
    CHECK(site.feed_xml.find("&lt;script&gt;") != std::string::npos);
    auto feed = Json::parse(site.feed_json);
    CHECK(feed["items"][0]["content_text"].get<std::string>().find("NUL:\xe2\x90\x80") !=
          std::string::npos);
    CHECK_FALSE(feed["items"][0].contains("attachments"));  // data: URL is not offered
}

TEST_CASE("the CSP allows exactly the page's own style and script, by sha256", "[channel]") {
    auto html = mip::render_channel_site(r2_doc({r2_entry("a", "1", "any")})).packages_html;
    auto csp = between(html, "<meta http-equiv=\"Content-Security-Policy\" content=\"", "\">");
    auto script = between(html, "<script>", "</script>");
    auto style = between(html, "<style>", "</style>");
    CHECK(csp.find("default-src 'none'") == 0);
    CHECK(csp.find("script-src 'sha256-" + mip::detail::base64(mip::detail::sha256_raw(script)) +
                   "'") != std::string::npos);
    CHECK(csp.find("style-src 'sha256-" + mip::detail::base64(mip::detail::sha256_raw(style)) +
                   "'") != std::string::npos);
    CHECK(csp.find("unsafe") == std::string::npos);
    CHECK(script.find("</") == std::string::npos);       // nothing can end the script early
    CHECK(html.find(" style=\"") == std::string::npos);  // no inline style attributes
    for (auto pos = html.find(" on"); pos != std::string::npos; pos = html.find(" on", pos + 1)) {
        auto end = pos + 3;
        while (end < html.size() && html[end] >= 'a' && html[end] <= 'z') {
            ++end;
        }
        INFO(html.substr(pos, 20));
        CHECK((end == html.size() || html[end] != '='));  // no inline event handlers
    }
}

TEST_CASE("the page and feeds are byte-reproducible and complete", "[channel]") {
    std::vector<Json> entries;
    for (int i = 0; i < 30; ++i) {
        auto e = r2_entry("pkg" + std::to_string(100 + i), "1." + std::to_string(i), "any");
        e["timestamp"] = "2024-01-" + std::to_string(10 + i % 20) + "T00:00:00Z";
        entries.push_back(e);
    }
    auto doc = r2_doc(entries);
    auto a = mip::render_channel_site(doc);
    auto b = mip::render_channel_site(doc);
    CHECK(a.packages_html == b.packages_html);
    CHECK(a.feed_json == b.feed_json);
    CHECK(a.feed_xml == b.feed_xml);
    CHECK(count(a.packages_html, "<section class=\"pkg\"") == 30);
    CHECK(a.summary.channel_name == "core");  // the first segment of the https store URL
    // Full description (no truncation), anchor, sha256, the install line.
    CHECK(a.packages_html.find("id=\"pkg105\"") != std::string::npos);
    CHECK(a.packages_html.find(entries[5]["mhl_sha256"].get<std::string>()) != std::string::npos);
    CHECK(a.packages_html.find("mip install pkg105") != std::string::npos);
    CHECK(a.packages_html.find("href=\"https://github.com/example/pkg105/commit/"
                               "0123456789abcdef0123456789abcdef01234567\"") != std::string::npos);

    ChannelPageOptions o;
    o.feed_entries = 5;
    o.site_url = "https://example.org/site";
    o.channel_name = "demo";
    auto f = mip::render_channel_site(doc, o);
    auto feed = Json::parse(f.feed_json);
    CHECK(feed["version"] == "https://jsonfeed.org/version/1.1");
    CHECK(feed["feed_url"] == "https://example.org/site/feed.json");
    REQUIRE(feed["items"].size() == 5);
    // Newest first by the entries' own timestamps (ties by name).
    CHECK(feed["items"][0]["date_published"] == "2024-01-29T00:00:00Z");
    CHECK(feed["items"][0]["title"] == "pkg119 1.19 (any)");
    CHECK(feed["items"][0]["url"] == "https://example.org/site/packages.html#pkg119");
    CHECK(feed["items"][0]["id"] == "urn:sha256:" + entries[19]["mhl_sha256"].get<std::string>());
    CHECK(feed["items"][1]["date_published"] == "2024-01-28T00:00:00Z");
    CHECK(count(f.feed_xml, "<entry>") == 5);
    CHECK(f.feed_xml.find("<updated>2024-02-03T04:05:06Z</updated>") != std::string::npos);
    CHECK(f.feed_xml.find("<title>demo: newest builds</title>") != std::string::npos);
    o.site_url = "http://example.org/";
    REQUIRE_THROWS_AS(mip::render_channel_site(doc, o), mip::SpecError);
}

TEST_CASE("write_channel_site replaces the four files together or not at all", "[channel]") {
    TempDir tmp;
    auto out = tmp / "gh-pages";
    auto old_doc = r2_doc({r2_entry("old", "1.0", "any")});
    auto new_doc = r2_doc({r2_entry("new", "2.0", "any")});
    mip::write_channel_site(old_doc, out);
    const std::vector<std::string> names = {"feed.json", "feed.xml", "index.json", "packages.html"};
    auto listing = [&] {
        std::vector<std::string> files;
        for (const auto& e : fs::directory_iterator(out)) {
            files.push_back(e.path().filename().string());
        }
        std::sort(files.begin(), files.end());
        return files;
    };
    REQUIRE(listing() == names);
    auto old_site = mip::render_channel_site(old_doc);
    CHECK(mip::test::read_file(out / "index.json") == old_doc);
    CHECK(mip::test::read_file(out / "packages.html") == old_site.packages_html);
    CHECK(mip::test::read_file(out / "feed.xml") == old_site.feed_xml);

    // A directory in the way of one file: the error names it, and every file keeps its old
    // bytes, whichever position the failing file has (index.json is renamed last, feed.json
    // first, so the files before it had already been replaced and are rolled back).
    auto blocked = GENERATE(as<std::string>{}, "index.json", "packages.html", "feed.json");
    INFO(blocked);
    std::map<std::string, std::string> before;
    for (const auto& n : names) {
        if (n != blocked) {
            before[n] = mip::test::read_file(out / n);
        }
    }
    fs::remove(out / blocked);
    fs::create_directories(out / blocked / "in-the-way");
    try {
        mip::write_channel_site(new_doc, out);
        FAIL("the blocked write succeeded");
    } catch (const mip::IoError& e) {
        CHECK(e.path() == (out / blocked).string());
        CHECK(std::string(e.what()).find("left as it was") != std::string::npos);
    }
    for (const auto& [n, bytes] : before) {
        INFO(n);
        CHECK(mip::test::read_file(out / n) == bytes);
    }
    CHECK(listing() == names);  // no temp file or backup left behind
    // Once the way is clear, the next write replaces all four.
    fs::remove_all(out / blocked);
    mip::write_channel_site(new_doc, out);
    CHECK(mip::test::read_file(out / "index.json") == new_doc);
    CHECK(mip::test::read_file(out / "packages.html") ==
          mip::render_channel_site(new_doc).packages_html);
    CHECK(listing() == names);
}

TEST_CASE("a bad index document writes nothing", "[channel]") {
    TempDir tmp;
    auto out = tmp / "site";
    mip::write_channel_site(r2_doc({r2_entry("ok", "1", "any")}), out);
    auto before = mip::test::read_file(out / "index.json");
    auto bad = r2_entry("bad", "1", "any");
    bad["name"] = 5;
    REQUIRE_THROWS_AS(mip::write_channel_site(r2_doc({bad}), out), mip::SpecError);
    CHECK(mip::test::read_file(out / "index.json") == before);
}

namespace {

/// The escaping rules of channel_page_text.cpp, one byte at a time: the reference the
/// run-at-a-time escapes must match byte for byte.
std::string escaped_by_the_rules(std::string_view s, bool xml, bool markup) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        auto c = static_cast<unsigned char>(s[i]);
        auto next = [&](std::size_t k) {
            return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0U;
        };
        if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7F) {
            unsigned code = c == 0x7F ? 0x2421U : 0x2400U + c;
            out += static_cast<char>(0xE0U | (code >> 12));
            out += static_cast<char>(0x80U | ((code >> 6) & 0x3FU));
            out += static_cast<char>(0x80U | (code & 0x3FU));
        } else if (c == 0xC2 && next(1) >= 0x80 && next(1) <= 0x9F) {
            out += "\xEF\xBF\xBD";
            ++i;
        } else if (c == 0xEF && next(1) == 0xBF && (next(2) == 0xBE || next(2) == 0xBF)) {
            out += "\xEF\xBF\xBD";
            i += 2;
        } else if (markup && c == '&') {
            out += "&amp;";
        } else if (markup && c == '<') {
            out += "&lt;";
        } else if (markup && c == '>') {
            out += "&gt;";
        } else if (markup && c == '"') {
            out += "&quot;";
        } else if (markup && c == '\'') {
            out += xml ? "&apos;" : "&#39;";
        } else {
            out += static_cast<char>(c);
        }
    }
    return out;
}

}  // namespace

TEST_CASE("the escapes equal their byte-at-a-time rules on hostile bytes", "[channel]") {
    // Mostly plain text with the bytes that need care mixed in, at every position (runs, a
    // sequence cut at the end of the string, neighbours of each other).
    const std::string care = std::string(
                                 "&<>\"'\t\n\x01\x1b\x7f\xc2\x85\xc2\xa0\xef\xbf\xbe\xef\xbf\xbf"
                                 "\xef\xbf\xbd\xe2\x90\x80") +
                             std::string(1, '\0');
    std::uint32_t seed = 12345;
    auto rnd = [&seed] {
        seed = seed * 1664525U + 1013904223U;
        return seed >> 8;
    };
    for (int round = 0; round < 3000; ++round) {
        std::string s;
        const auto n = rnd() % 40;
        for (std::uint32_t k = 0; k < n; ++k) {
            auto r = rnd() % 10;
            s += r < 4   ? static_cast<char>('a' + rnd() % 26)
                 : r < 8 ? care[rnd() % care.size()]
                         : static_cast<char>(rnd() % 256);
        }
        INFO("round " << round);
        std::string html = "<";  // appends to what is there
        mip::detail::page::append_html(html, s);
        CHECK(html == "<" + escaped_by_the_rules(s, false, true));
        CHECK(mip::detail::page::xml_esc(s) == escaped_by_the_rules(s, true, true));
        CHECK(mip::detail::page::visible(s) == escaped_by_the_rules(s, false, false));
    }
}

TEST_CASE("a page large enough to render in two halves equals one rendered whole", "[channel]") {
    // 300 packages render on two threads, 255 on one: the 255 shared packages' sections are the
    // same bytes in both, in index order, each once.
    std::vector<Json> entries;
    entries.reserve(300);
    for (int i = 0; i < 300; ++i) {
        entries.push_back(r2_entry("pkg" + std::to_string(1000 + i), "1.0", "any"));
    }
    auto section = [](const std::string& html, const std::string& name) {
        auto start = html.find("<section class=\"pkg\" id=\"" + name + "\"");
        REQUIRE(start != std::string::npos);
        auto end = html.find("</section>\n", start);
        REQUIRE(end != std::string::npos);
        return html.substr(start, end - start);
    };
    const auto halves = mip::render_channel_site(r2_doc(entries)).packages_html;
    const auto whole =
        mip::render_channel_site(r2_doc({entries.begin(), entries.begin() + 255})).packages_html;
    CHECK(count(halves, "<section class=\"pkg\"") == 300);
    std::size_t last = 0;
    for (int i = 0; i < 300; ++i) {
        const auto name = "pkg" + std::to_string(1000 + i);
        auto at = halves.find("<section class=\"pkg\" id=\"" + name + "\"");
        INFO(name);
        CHECK(at > last);
        last = at;
        if (i < 255) {
            CHECK(section(halves, name) == section(whole, name));
        }
    }
    CHECK(mip::render_channel_site(r2_doc(entries)).packages_html == halves);
}
