#include "detail/index_cache.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <stdexcept>
#include <string_view>
#include <system_error>

#include <fcntl.h>
#include <libdeflate.h>
#include <unistd.h>

#include <mip/error.hpp>

#include "detail/convert.hpp"
#include "detail/fd.hpp"
#include "detail/fs.hpp"
#include "detail/json.hpp"

namespace mip::detail {

namespace fs = std::filesystem;

namespace {

// Layout: the magic line, then fields, each `<decimal length>:<bytes>`; a list is its count as a
// field, then its items; the file ends with `end <CRC-32 of everything before it, 8 hex>\n`.
// Anything else is not a cache of this version (a flipped byte inside a field is caught by the
// checksum, not only a broken frame).
constexpr std::string_view magic = "mip-index-cache 2\n";
constexpr std::string_view trailer = "end ";
constexpr std::size_t trailer_size = trailer.size() + 8 + 1;

std::string crc_hex_of(std::uint32_t crc) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out(8, '0');
    for (int i = 7, shift = 0; i >= 0; --i, shift += 4) {
        out[static_cast<std::size_t>(i)] = digits[(crc >> shift) & 0xfU];
    }
    return out;
}

std::string crc_hex(std::string_view body) {
    return crc_hex_of(libdeflate_crc32(0, body.data(), body.size()));
}

/// The trailer of a file whose bytes before it are `pieces`: "end <CRC-32>\n".
std::string trailer_of(const std::vector<std::string_view>& pieces) {
    std::uint32_t crc = 0;
    for (auto p : pieces) {
        crc = libdeflate_crc32(crc, p.data(), p.size());
    }
    return std::string(trailer) + crc_hex_of(crc) + '\n';
}

class Writer {
public:
    std::string out;

    void str(std::string_view s) {
        out += std::to_string(s.size());
        out += ':';
        out += s;
    }
    void list(const std::vector<std::string>& v) {
        str(std::to_string(v.size()));
        for (const auto& s : v) {
            str(s);
        }
    }
};

struct Malformed : std::runtime_error {
    using std::runtime_error::runtime_error;
};

class Reader {
public:
    explicit Reader(std::string_view in) : in_(in) {}

    std::string_view view() {
        std::size_t n = 0;
        auto colon = in_.find(':', pos_);
        if (colon == std::string_view::npos || colon == pos_ || colon - pos_ > 19) {
            throw Malformed("a field's length is missing");
        }
        auto [p, ec] = std::from_chars(in_.data() + pos_, in_.data() + colon, n);
        if (ec != std::errc() || p != in_.data() + colon || n > in_.size() - colon - 1) {
            throw Malformed("a field's length is wrong");
        }
        auto s = in_.substr(colon + 1, n);
        pos_ = colon + 1 + n;
        return s;
    }
    std::string str() { return std::string(view()); }
    std::size_t count() {
        auto v = view();
        std::size_t n = 0;
        auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
        if (v.empty() || ec != std::errc() || p != v.data() + v.size() || n > in_.size()) {
            throw Malformed("a count is wrong");
        }
        return n;
    }
    std::vector<std::string> list() {
        std::vector<std::string> v(count());
        for (auto& s : v) {
            s = str();
        }
        return v;
    }
    [[nodiscard]] bool at_end() const { return pos_ == in_.size(); }
    [[nodiscard]] std::size_t pos() const { return pos_; }
    [[nodiscard]] std::string_view since(std::size_t start) const {
        return in_.substr(start, pos_ - start);
    }

private:
    std::string_view in_;
    std::size_t pos_ = magic.size();
};

void write_build(Writer& w, const page::Build& b) {
    for (const auto* s :
         {&b.name, &b.version, &b.platform, &b.matlab_tag, &b.abi_tag, &b.description, &b.license,
          &b.homepage, &b.repository, &b.mhl_url, &b.mip_json_url, &b.sha256, &b.timestamp,
          &b.commit, &b.commit_repo, &b.source_kind, &b.source_url, &b.source_hash}) {
        w.str(*s);
    }
    for (const auto* v : {&b.dependencies, &b.symbols, &b.paths, &b.usage_examples}) {
        w.list(*v);
    }
    w.str(std::to_string(b.extra_paths.size()));
    for (const auto& [group, paths] : b.extra_paths) {
        w.str(group);
        w.list(paths);
    }
    w.str(b.size ? std::to_string(*b.size) : std::string());
}

page::Build read_build(Reader& r) {
    page::Build b;
    for (auto* s :
         {&b.name, &b.version, &b.platform, &b.matlab_tag, &b.abi_tag, &b.description, &b.license,
          &b.homepage, &b.repository, &b.mhl_url, &b.mip_json_url, &b.sha256, &b.timestamp,
          &b.commit, &b.commit_repo, &b.source_kind, &b.source_url, &b.source_hash}) {
        *s = r.str();
    }
    for (auto* v : {&b.dependencies, &b.symbols, &b.paths, &b.usage_examples}) {
        *v = r.list();
    }
    for (std::size_t n = r.count(); n > 0; --n) {
        auto group = r.str();
        b.extra_paths.emplace_back(std::move(group), r.list());
    }
    auto size = r.view();
    if (!size.empty()) {
        std::uint64_t v = 0;
        auto [p, ec] = std::from_chars(size.data(), size.data() + size.size(), v);
        if (ec != std::errc() || p != size.data() + size.size()) {
            throw Malformed("a size is wrong");
        }
        b.size = v;
    }
    return b;
}

void write_entry(Writer& w, const IndexEntry& e) {
    w.str(e.skip_reason);
    for (const auto* s :
         {&e.name, &e.version, &e.matlab_tag, &e.abi_tag, &e.platform_tag, &e.mhl_url}) {
        w.str(*s);
    }
    w.str(e.text);
    w.list(e.dependencies);
    w.str(e.plain ? "1" : "0");
    write_build(w, e.build);
}

std::shared_ptr<IndexEntry> read_entry(Reader& r) {
    auto e = std::make_shared<IndexEntry>();
    e->skip_reason = r.str();
    for (auto* s :
         {&e->name, &e->version, &e->matlab_tag, &e->abi_tag, &e->platform_tag, &e->mhl_url}) {
        *s = r.str();
    }
    e->text = r.view();
    e->dependencies = r.list();
    e->plain = r.view() == "1";
    e->build = read_build(r);
    return e;
}

}  // namespace

std::string load_index_cache(const fs::path& file, IndexCache& cache) {
    cache = {};
    std::error_code ec;
    if (!fs::is_regular_file(file, ec)) {
        return {};
    }
    std::shared_ptr<const std::string> bytes;
    try {
        bytes = std::make_shared<const std::string>(read_file(file));
    } catch (const std::exception& e) {
        return e.what();
    }
    const std::string& text = *bytes;
    if (text.compare(0, magic.size(), magic) != 0) {
        return "not an index cache of this version";
    }
    const std::size_t body = text.size() - std::min(text.size(), trailer_size);
    if (body < magic.size() || text.compare(body, trailer.size(), trailer) != 0 ||
        text.back() != '\n' ||
        text.compare(body + trailer.size(), 8, crc_hex(std::string_view(text).substr(0, body))) !=
            0) {
        return "its checksum does not match (truncated or damaged)";
    }
    try {
        Reader r(std::string_view(text).substr(0, body));
        cache.base = r.str();
        const std::size_t count = r.count();
        cache.items.reserve(count);
        for (std::size_t n = count; n > 0; --n) {
            const auto start = r.pos();
            auto key = r.str();
            IndexCacheItem item;
            item.etag = r.str();
            item.data = r.view();
            if (r.view() == "1") {
                item.entry = read_entry(r);
            }
            item.record = r.since(start);
            cache.items.insert_or_assign(std::move(key), std::move(item));
        }
        if (!r.at_end()) {
            throw Malformed("it does not end where it should (truncated or appended to)");
        }
        cache.bytes = std::move(bytes);
    } catch (const Malformed& e) {
        cache = {};
        return e.what();
    }
    return {};
}

PendingCacheWrite::PendingCacheWrite(const fs::path& file, IndexCacheImage image)
    : file_(file), temp_(temp_sibling(file)) {
    written_ = std::async(std::launch::async, [file, temp = temp_, image = std::move(image)] {
        create_dirs(file.parent_path());
        remove_stale_temps(file);
        UniqueFd f(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
        if (!f.valid()) {
            throw IoError("cannot create file", temp.string(),
                          std::error_code(errno, std::generic_category()));
        }
        const auto end = trailer_of(image.pieces);
        for (auto p : image.pieces) {
            if (auto ec = write_all(f.get(), p.data(), p.size())) {
                throw IoError("cannot write file", temp.string(), ec);
            }
        }
        if (auto ec = write_all(f.get(), end.data(), end.size())) {
            throw IoError("cannot write file", temp.string(), ec);
        }
    });
}

PendingCacheWrite::~PendingCacheWrite() {
    if (written_.valid()) {
        try {
            written_.get();
        } catch (const std::exception&) {  // not finished: its error is nobody's now
        }
    }
    if (!placed_) {
        std::error_code ec;
        fs::remove(temp_, ec);
    }
}

void PendingCacheWrite::finish() {
    if (placed_) {
        return;
    }
    written_.get();
    rename_path(temp_, file_);
    placed_ = true;
    std::error_code ec;
    fs::remove(file_.parent_path() / std::string(old_index_cache_name), ec);
}

std::shared_ptr<IndexEntry> make_index_entry(const PackageSpec& spec) {
    auto e = std::make_shared<IndexEntry>();
    e->name = spec.name;
    e->version = spec.version;
    e->matlab_tag = spec.matlab_tag;
    e->abi_tag = spec.abi_tag;
    e->platform_tag = spec.platform_tag;
    e->mhl_url = spec.mhl_url.value_or("");
    e->dependencies = spec.dependencies;
    const Json j = spec_to_json(spec);
    // dump_pretty's bytes, each line indented by the two levels of index.json's packages list
    auto text = dump_pretty(j);
    text.pop_back();
    auto& own = e->own_text;
    own.reserve(text.size() + text.size() / 8 + 4);
    own += "    ";
    for (char c : text) {
        own += c;
        if (c == '\n') {
            own += "    ";
        }
    }
    e->text = own;  // the entry is never moved (shared_ptr): the view stays valid
    std::vector<Issue> issues;
    page::read_build(j, IndexFormat::r2, e->build, issues);
    e->plain = issues.empty() && !j.contains("architecture");
    return e;
}

std::string splice_index(const std::vector<IndexEntry*>& entries, const std::string& last_updated) {
    std::size_t bytes = 128 + last_updated.size();
    for (const auto* e : entries) {
        bytes += e->text.size() + 2;
    }
    std::string out;
    out.reserve(bytes);
    out += "{\n  \"packages\": ";
    if (entries.empty()) {
        out += "[]";
    } else {
        out += "[\n";
        for (std::size_t i = 0; i < entries.size(); ++i) {
            if (i > 0) {
                out += ",\n";
            }
            out += entries[i]->text;
        }
        out += "\n  ]";
    }
    out += ",\n  \"total_packages\": " + std::to_string(entries.size()) +
           ",\n  \"last_updated\": " + dump_compact(Json(last_updated)) + "\n}\n";
    return out;
}

IndexCacheImage serialize_index_cache(
    const std::string& base,
    const std::vector<std::pair<std::string, const IndexCacheItem*>>& items,
    std::shared_ptr<const std::string> read) {
    IndexCacheImage image;
    image.keep = std::move(read);
    Writer w;
    std::size_t fresh = 0;  // what is encoded anew (all of it in a cold run)
    for (const auto& [key, item] : items) {
        if (item->record.empty()) {
            fresh += key.size() + item->data.size() +
                     (item->entry ? 2 * item->entry->text.size() : 0) + 64;
        }
    }
    w.out.reserve(fresh + 256);
    auto flush = [&image, &w] {
        if (!w.out.empty()) {
            image.pieces.emplace_back(image.owned.emplace_back(std::move(w.out)));
            w.out.clear();
        }
    };
    w.out += magic;
    w.str(base);
    w.str(std::to_string(items.size()));
    for (const auto& [key, item] : items) {
        if (!item->record.empty()) {
            // unchanged since read: its bytes as they were (runs of them, one piece)
            flush();
            auto& last = image.pieces;
            if (!last.empty() && image.keep && last.back().data() >= image.keep->data() &&
                last.back().data() + last.back().size() == item->record.data()) {
                last.back() =
                    std::string_view(last.back().data(), last.back().size() + item->record.size());
            } else {
                last.push_back(item->record);
            }
            continue;
        }
        w.str(key);
        w.str(item->etag);
        w.str(item->data);
        w.str(item->entry ? "1" : "0");
        if (item->entry) {
            write_entry(w, *item->entry);
        }
    }
    flush();
    return image;
}

}  // namespace mip::detail
