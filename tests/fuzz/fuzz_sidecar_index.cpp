// libFuzzer target: one sidecar object in a store -> `index` (IndexAssembler::assemble, what
// `mip-build index` reads) -> the channel site (render_channel_site). The input is
// "<key>\n<sidecar bytes>": the key names the object (".mhl.mip.json" appended unless it ends so),
// next to one valid sidecar. Invalid UTF-8 and control characters in the key or the sidecar
// must never crash or escape: a bad sidecar is skipped with a reason that is valid UTF-8 (or,
// for normalised-name collisions, a mip::Error whose message is valid UTF-8), index.json is
// valid UTF-8, and packages.html, feed.json and feed.xml are valid UTF-8 without a raw control
// character (issue 13, items 2 and 15). The store is in memory: deterministic and fast.
#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include <mip/channel_page.hpp>
#include <mip/error.hpp>
#include <mip/index_assembler.hpp>
#include <mip/store.hpp>

#include "detail/crypto.hpp"
#include "detail/text.hpp"

namespace {

class MemoryStore final : public mip::Store {
public:
    [[nodiscard]] std::string describe() const override { return "memory://fuzz"; }
    [[nodiscard]] std::string default_base_url() const override { return ""; }
    mip::PutResult put(const mip::PutRequest& request) override {
        objects_[request.key] = request.data;
        mip::PutResult r;
        r.key = request.key;
        r.written = true;
        return r;
    }
    [[nodiscard]] std::optional<std::string> get(const std::string& key) override {
        auto it = objects_.find(key);
        if (it == objects_.end()) {
            return std::nullopt;
        }
        return it->second;
    }
    bool get_to_file(const std::string& /*key*/, const std::filesystem::path& /*dest*/) override {
        return false;  // --verify is not fuzzed
    }
    [[nodiscard]] std::optional<mip::ObjectInfo> head(const std::string& key) override {
        auto it = objects_.find(key);
        if (it == objects_.end()) {
            return std::nullopt;
        }
        return info_of(it->first, it->second);
    }
    [[nodiscard]] std::vector<mip::ObjectInfo> list(const std::string& prefix,
                                                    bool recursive) override {
        std::vector<mip::ObjectInfo> out;
        for (const auto& [key, data] : objects_) {  // std::map: sorted bytewise
            if (key.rfind(prefix, 0) == 0 &&
                (recursive || key.find('/', prefix.size()) == std::string::npos)) {
                out.push_back(info_of(key, data));
            }
        }
        return out;
    }
    void remove(const std::string& key) override { objects_.erase(key); }

private:
    static mip::ObjectInfo info_of(const std::string& key, const std::string& data) {
        return {key, data.size(), mip::detail::md5_hex(data), ""};
    }
    std::map<std::string, std::string> objects_;
};

constexpr std::string_view good_sidecar =
    R"({"name": "good", "version": "1.0", "build_number": 0, "dependencies": [],)"
    R"( "description": "a valid neighbour", "homepage": "", "repository": "",)"
    R"( "license": "MIT", "matlab_tag": "any", "abi_tag": "none", "platform_tag": "any",)"
    R"( "usage_examples": [], "exposed_symbols": [], "timestamp": "2024-01-01T00:00:00Z",)"
    R"( "prepare_duration": 0, "compile_duration": 0, "source": null,)"
    R"( "mhl_sha256": "0000000000000000000000000000000000000000000000000000000000000000",)"
    R"( "mhl_size": 1, "mhl_url": "https://example.invalid/fuzz/good-1.0-any-none-any.mhl"})";

void require_utf8(std::string_view text) {
    if (!mip::detail::is_valid_utf8(text)) {
        std::abort();
    }
}

/// Valid UTF-8 and no raw C0 control (but tab and newline), DEL or C1 control.
void require_shown(std::string_view text) {
    require_utf8(text);
    for (std::size_t i = 0; i < text.size(); ++i) {
        auto c = static_cast<unsigned char>(text[i]);
        if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7F ||
            (c == 0xC2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) >= 0x80 &&
             static_cast<unsigned char>(text[i + 1]) <= 0x9F)) {
            std::abort();
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view input(reinterpret_cast<const char*>(data), size);
    const auto newline = input.find('\n');
    if (newline == std::string_view::npos) {
        return 0;
    }
    std::string key(input.substr(0, newline));
    constexpr std::string_view suffix = ".mhl.mip.json";
    if (key.size() < suffix.size() || key.substr(key.size() - suffix.size()) != suffix) {
        key += suffix;
    }
    MemoryStore store;
    (void)store.put({"good-1.0-any-none-any.mhl.mip.json",
                     std::nullopt,
                     std::string(good_sidecar),
                     {},
                     {},
                     {}});
    (void)store.put({key, std::nullopt, std::string(input.substr(newline + 1)), {}, {}, {}});

    mip::RunOptions run;
    run.base_url = "https://example.invalid/fuzz";
    run.source_date_epoch = 1700000000;
    run.environment = std::map<std::string, std::string>{};
    mip::IndexResult result;
    try {
        result = mip::IndexAssembler(store, {}, run).assemble();
    } catch (const mip::Error& e) {
        require_utf8(e.what());
        return 0;
    }
    for (const auto& s : result.skipped) {
        require_utf8(s.reason);
    }
    for (const auto& w : result.warnings) {
        require_utf8(w);
    }
    const std::string index_json = result.index_json();
    require_utf8(index_json);
    mip::ChannelSite site;
    try {
        site = mip::render_channel_site(index_json);
    } catch (const mip::Error& e) {  // the index writer and the page reader disagree: a bug
        std::abort();
    }
    require_shown(site.packages_html);
    require_shown(site.feed_json);
    require_shown(site.feed_xml);
    return 0;
}
