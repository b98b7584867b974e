// A small, bounds-checked ELF reader (elf.hpp).

#include "detail/elf.hpp"

#include <cstdint>
#include <fstream>
#include <map>

#include <mip/error.hpp>

#include "detail/fs.hpp"

namespace mip::detail {

namespace {

constexpr std::uint32_t sht_dynamic = 6;
constexpr std::uint32_t sht_dynsym = 11;
constexpr std::uint32_t sht_gnu_verneed = 0x6ffffffe;
constexpr std::uint32_t sht_gnu_versym = 0x6fffffff;
constexpr std::uint64_t dt_null = 0;
constexpr std::uint64_t dt_needed = 1;
constexpr std::uint64_t dt_soname = 14;
constexpr std::size_t max_entries = 1U << 22;  // far above any real table; stops loops on junk

struct Section {
    std::uint32_t type = 0;
    std::uint64_t offset = 0;
    std::uint64_t size = 0;
    std::uint32_t link = 0;
    std::uint32_t info = 0;
    std::uint64_t entsize = 0;
};

class Image {
public:
    Image(std::string_view data, const std::string& label) : d_(data), label_(label) {
        if (!is_elf(d_) || d_.size() < 0x34) {
            fail("not an ELF file");
        }
        const auto cls = static_cast<unsigned char>(d_[4]);
        const auto enc = static_cast<unsigned char>(d_[5]);
        if ((cls != 1 && cls != 2) || (enc != 1 && enc != 2)) {
            fail("unknown ELF class or byte order");
        }
        is64_ = cls == 2;
        little_ = enc == 1;
    }

    [[noreturn]] void fail(const std::string& what) const {
        throw ArchiveError(label_ + ": malformed ELF file (" + what + ")");
    }

    [[nodiscard]] std::uint64_t u(std::uint64_t off, unsigned n) const {
        if (off > d_.size() || n > d_.size() - off) {
            fail("offset out of range");
        }
        std::uint64_t v = 0;
        for (unsigned i = 0; i < n; ++i) {
            const auto byte = static_cast<unsigned char>(d_[off + (little_ ? n - 1 - i : i)]);
            v = (v << 8U) | byte;
        }
        return v;
    }
    [[nodiscard]] std::uint64_t word(std::uint64_t off) const { return u(off, is64_ ? 8 : 4); }

    [[nodiscard]] std::string str(const Section& strtab, std::uint64_t index) const {
        if (index >= strtab.size) {
            fail("string index out of range");
        }
        const std::uint64_t start = strtab.offset + index;
        const std::uint64_t end = strtab.offset + strtab.size;
        if (end > d_.size() || start > end) {
            fail("string table out of range");
        }
        const auto stop = d_.find('\0', start);
        if (stop == std::string_view::npos || stop >= end) {
            fail("unterminated string");
        }
        return std::string(d_.substr(start, stop - start));
    }

    [[nodiscard]] std::vector<Section> sections() const {
        const std::uint64_t shoff = is64_ ? u(0x28, 8) : u(0x20, 4);
        const std::uint64_t entsize = is64_ ? u(0x3A, 2) : u(0x2E, 2);
        const std::uint64_t count = is64_ ? u(0x3C, 2) : u(0x30, 2);
        std::vector<Section> out;
        if (shoff == 0 || count == 0) {
            return out;
        }
        if (entsize < (is64_ ? 64U : 40U)) {
            fail("section header size");
        }
        for (std::uint64_t i = 0; i < count; ++i) {
            const std::uint64_t h = shoff + i * entsize;
            Section s;
            s.type = static_cast<std::uint32_t>(u(h + 4, 4));
            s.offset = is64_ ? u(h + 24, 8) : u(h + 16, 4);
            s.size = is64_ ? u(h + 32, 8) : u(h + 20, 4);
            s.link = static_cast<std::uint32_t>(is64_ ? u(h + 40, 4) : u(h + 24, 4));
            s.info = static_cast<std::uint32_t>(is64_ ? u(h + 44, 4) : u(h + 28, 4));
            s.entsize = is64_ ? u(h + 56, 8) : u(h + 36, 4);
            if (s.type != 8 /* SHT_NOBITS */ &&
                (s.offset > d_.size() || s.size > d_.size() - s.offset)) {
                fail("section " + std::to_string(i) + " out of range");
            }
            out.push_back(s);
        }
        return out;
    }

    [[nodiscard]] const Section& linked(const std::vector<Section>& all, const Section& s) const {
        if (s.link >= all.size()) {
            fail("section link out of range");
        }
        return all[s.link];
    }

    [[nodiscard]] bool is64() const { return is64_; }

private:
    std::string_view d_;
    const std::string& label_;
    bool is64_ = true;
    bool little_ = true;
};

void read_dynamic(const Image& img,
                  const std::vector<Section>& all,
                  const Section& s,
                  ElfInfo& out) {
    const unsigned step = img.is64() ? 16 : 8;
    const Section& strtab = img.linked(all, s);
    for (std::uint64_t off = s.offset; off + step <= s.offset + s.size; off += step) {
        const std::uint64_t tag = img.word(off);
        const std::uint64_t val = img.word(off + step / 2);
        if (tag == dt_null) {
            break;
        }
        if (tag == dt_needed) {
            out.needed.push_back(img.str(strtab, val));
        } else if (tag == dt_soname) {
            out.soname = img.str(strtab, val);
        }
    }
}

/// `.gnu.version_r`: (vna_other → index in out.version_needs).
std::map<std::uint64_t, std::size_t> read_verneed(const Image& img,
                                                  const std::vector<Section>& all,
                                                  const Section& s,
                                                  ElfInfo& out) {
    std::map<std::uint64_t, std::size_t> by_index;
    const Section& strtab = img.linked(all, s);
    std::uint64_t off = s.offset;
    for (std::uint32_t i = 0; i < s.info && i < max_entries; ++i) {
        const std::uint64_t cnt = img.u(off + 2, 2);
        const std::string file = img.str(strtab, img.u(off + 4, 4));
        std::uint64_t aux = off + img.u(off + 8, 4);
        for (std::uint64_t j = 0; j < cnt; ++j) {
            const std::uint64_t other = img.u(aux + 6, 2);
            by_index[other] = out.version_needs.size();
            out.version_needs.push_back({file, img.str(strtab, img.u(aux + 8, 4)), {}});
            const std::uint64_t next = img.u(aux + 12, 4);
            if (next == 0) {
                break;
            }
            aux += next;
        }
        const std::uint64_t next = img.u(off + 12, 4);
        if (next == 0) {
            break;
        }
        off += next;
    }
    return by_index;
}

/// Names each version need's undefined symbols (`.dynsym` + `.gnu.version`).
void bind_symbols(const Image& img,
                  const std::vector<Section>& all,
                  const std::map<std::uint64_t, std::size_t>& by_index,
                  ElfInfo& out) {
    const Section* dynsym = nullptr;
    const Section* versym = nullptr;
    for (const auto& s : all) {
        if (s.type == sht_dynsym) {
            dynsym = &s;
        } else if (s.type == sht_gnu_versym) {
            versym = &s;
        }
    }
    if (dynsym == nullptr || versym == nullptr) {
        return;
    }
    const std::uint64_t symsize = img.is64() ? 24 : 16;
    const Section& strtab = img.linked(all, *dynsym);
    const std::uint64_t count = std::min(dynsym->size / symsize, versym->size / 2);
    for (std::uint64_t i = 1; i < count && i < max_entries; ++i) {
        const std::uint64_t ver = img.u(versym->offset + i * 2, 2) & 0x7fffU;
        auto it = by_index.find(ver);
        if (it == by_index.end()) {
            continue;
        }
        const std::uint64_t sym = dynsym->offset + i * symsize;
        out.version_needs[it->second].symbols.push_back(img.str(strtab, img.u(sym, 4)));
    }
}

}  // namespace

bool is_elf(std::string_view data) noexcept {
    return data.size() >= 4 && data.substr(0, 4) == std::string_view(
                                                        "\x7f"
                                                        "ELF",
                                                        4);
}

bool is_elf_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    char magic[4] = {};
    return in.read(magic, 4) && is_elf(std::string_view(magic, 4));
}

ElfInfo parse_elf(std::string_view data, const std::string& label) {
    const Image img(data, label);
    const auto all = img.sections();
    ElfInfo out;
    std::map<std::uint64_t, std::size_t> by_index;
    for (const auto& s : all) {
        if (s.type == sht_dynamic) {
            read_dynamic(img, all, s, out);
        } else if (s.type == sht_gnu_verneed) {
            by_index = read_verneed(img, all, s, out);
        }
    }
    bind_symbols(img, all, by_index, out);
    return out;
}

ElfInfo read_elf(const std::filesystem::path& path) {
    return parse_elf(read_file(path), path.string());
}

std::optional<std::pair<int, int>> parse_version_pair(std::string_view text) {
    const auto dot = text.find('.');
    if (dot == std::string_view::npos || dot == 0 || dot + 1 >= text.size()) {
        return std::nullopt;
    }
    auto number = [](std::string_view digits) -> std::optional<int> {
        if (digits.empty() || digits.size() > 4) {
            return std::nullopt;
        }
        int v = 0;
        for (char c : digits) {
            if (c < '0' || c > '9') {
                return std::nullopt;
            }
            v = v * 10 + (c - '0');
        }
        return v;
    };
    std::string_view minor = text.substr(dot + 1);
    if (auto second = minor.find('.'); second != std::string_view::npos) {
        minor = minor.substr(0, second);  // GLIBC_2.3.4: 2.3 decides
    }
    auto a = number(text.substr(0, dot));
    auto b = number(minor);
    if (!a || !b) {
        return std::nullopt;
    }
    return std::make_pair(*a, *b);
}

std::optional<std::pair<int, int>> glibc_version(std::string_view name) {
    constexpr std::string_view prefix = "GLIBC_";
    if (name.substr(0, prefix.size()) != prefix) {
        return std::nullopt;
    }
    return parse_version_pair(name.substr(prefix.size()));
}

}  // namespace mip::detail
