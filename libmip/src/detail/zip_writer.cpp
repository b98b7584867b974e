#include "detail/zip_writer.hpp"

#include <cerrno>
#include <cstring>
#include <memory>
#include <new>

#include <fcntl.h>
#include <libdeflate.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mip/error.hpp>

#include "detail/crypto.hpp"
#include "detail/fd.hpp"
#include "detail/fs.hpp"

// The archive bytes (and so every published mhl_sha256) depend on the deflate implementation:
// the build pins libdeflate 1.14 (cmake/MipDependencies.cmake); catch a mismatched header too.
static_assert(LIBDEFLATE_VERSION_MAJOR == 1 && LIBDEFLATE_VERSION_MINOR == 14,
              "libmip's .mhl writer is pinned to libdeflate 1.14");

namespace mip::detail {

namespace {

constexpr std::uint32_t zip32_limit = 0xFFFFFFFFU;  // ZIP64 sentinel: never reached
constexpr std::uint16_t version_made_by = 0x0314;   // Unix (3), spec 2.0 (20)
constexpr std::uint16_t version_needed = 20;
constexpr std::uint16_t flag_utf8 = 0x0800;
constexpr std::uint16_t method_stored = 0;
constexpr std::uint16_t method_deflate = 8;
constexpr std::size_t write_buffer_size = std::size_t{1} << 20;

std::error_code last_error() { return {errno, std::generic_category()}; }

struct CompressorFree {
    void operator()(libdeflate_compressor* c) const noexcept { libdeflate_free_compressor(c); }
};

/// A read-only private mapping, unmapped at scope exit.
struct Mapping {
    void* addr = MAP_FAILED;
    std::size_t size = 0;
    Mapping() = default;
    Mapping(const Mapping&) = delete;
    Mapping& operator=(const Mapping&) = delete;
    Mapping(Mapping&&) = delete;
    Mapping& operator=(Mapping&&) = delete;
    ~Mapping() {
        if (addr != MAP_FAILED) {
            ::munmap(addr, size);
        }
    }
};

/// A growable byte buffer that is never zero-filled.
class ByteBuffer {
public:
    unsigned char* reserve(std::size_t n) {
        if (n > capacity_) {
            data_ = std::make_unique_for_overwrite<unsigned char[]>(n);
            capacity_ = n;
        }
        return data_.get();
    }

private:
    std::unique_ptr<unsigned char[]> data_;
    std::size_t capacity_ = 0;
};

void put16(unsigned char* p, std::uint16_t v) {
    p[0] = static_cast<unsigned char>(v & 0xFFU);
    p[1] = static_cast<unsigned char>(v >> 8U);
}
void put32(unsigned char* p, std::uint32_t v) {
    put16(p, static_cast<std::uint16_t>(v & 0xFFFFU));
    put16(p + 2, static_cast<std::uint16_t>(v >> 16U));
}

/// Buffered writer over a file descriptor that hashes everything it writes.
class Sink {
public:
    Sink(int fd, std::string error_path)
        : fd_(fd),
          error_path_(std::move(error_path)),
          buffer_(std::make_unique_for_overwrite<char[]>(write_buffer_size)) {}

    void write(const void* data, std::size_t n) {
        sha_.update(data, n);
        offset_ += n;
        const auto* p = static_cast<const char*>(data);
        if (used_ + n > write_buffer_size) {
            flush();
            if (n >= write_buffer_size) {
                write_fully(p, n);
                return;
            }
        }
        std::memcpy(buffer_.get() + used_, p, n);
        used_ += n;
    }

    void flush() {
        write_fully(buffer_.get(), used_);
        used_ = 0;
    }

    [[nodiscard]] std::uint64_t offset() const noexcept { return offset_; }
    [[nodiscard]] std::string hex_digest() { return sha_.hex_digest(); }

private:
    void write_fully(const char* p, std::size_t n) {
        if (auto ec = write_all(fd_, p, n)) {
            throw IoError("cannot write archive", error_path_, ec);
        }
    }

    int fd_;
    std::string error_path_;
    std::unique_ptr<char[]> buffer_;
    std::size_t used_ = 0;
    std::uint64_t offset_ = 0;
    Sha256 sha_;
};

[[noreturn]] void changed_size(const ZipWriteEntry& e, std::uint64_t now) {
    throw ArchiveError("'" + e.name + "' (" + e.source.string() +
                       ") changed size while bundling: " + std::to_string(e.size) +
                       " bytes when listed, " + std::to_string(now) + " now");
}

/// Reads exactly `e.size` bytes of `fd` into `out`; ArchiveError if the file is shorter or longer.
void read_exactly(int fd, const ZipWriteEntry& e, unsigned char* out) {
    std::uint64_t got = 0;
    while (got < e.size) {
        auto n = ::read(fd, out + got, static_cast<std::size_t>(e.size - got));
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            throw IoError("cannot read", e.source.string(), last_error());
        }
        if (n == 0) {
            changed_size(e, got);
        }
        got += static_cast<std::uint64_t>(n);
    }
    unsigned char probe = 0;
    while (true) {
        auto n = ::read(fd, &probe, 1);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            throw IoError("cannot read", e.source.string(), last_error());
        }
        if (n > 0) {
            struct stat st {};
            changed_size(
                e, ::fstat(fd, &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : e.size + 1);
        }
        return;
    }
}

/// The bytes of one entry: in memory, read whole into `input`, or mapped (large files).
struct EntrySource {
    const unsigned char* data = nullptr;
    std::uint64_t size = 0;
    UniqueFd in;
    Mapping map;
};

void open_entry(const ZipWriteEntry& e, ByteBuffer& input, EntrySource& src) {
    if (e.content) {
        src.data = reinterpret_cast<const unsigned char*>(e.content->data());
        src.size = e.content->size();
        return;
    }
    src.in.reset(::open(e.source.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
    if (!src.in.valid()) {
        throw IoError("cannot read", e.source.string(), last_error());
    }
    struct stat st {};
    if (::fstat(src.in.get(), &st) != 0) {
        throw IoError("cannot stat", e.source.string(), last_error());
    }
    if (!S_ISREG(st.st_mode)) {
        throw ArchiveError("'" + e.name + "' (" + e.source.string() +
                           ") is no longer a regular file");
    }
    if (static_cast<std::uint64_t>(st.st_size) != e.size) {
        changed_size(e, static_cast<std::uint64_t>(st.st_size));
    }
    src.size = e.size;
    if (src.size >= zip32_limit) {
        throw ArchiveError("'" + e.name +
                           "' is 4 GiB or larger; mip clients refuse ZIP64 archives");
    }
    if (src.size >= zip_mmap_threshold) {
        src.map.size = static_cast<std::size_t>(src.size);
        src.map.addr = ::mmap(nullptr, src.map.size, PROT_READ, MAP_PRIVATE, src.in.get(), 0);
        if (src.map.addr == MAP_FAILED) {
            throw IoError("cannot map", e.source.string(), last_error());
        }
        (void)::madvise(src.map.addr, src.map.size, MADV_SEQUENTIAL);
        src.data = static_cast<const unsigned char*>(src.map.addr);
    } else if (src.size > 0) {
        auto* buf = input.reserve(static_cast<std::size_t>(src.size));
        read_exactly(src.in.get(), e, buf);
        src.data = buf;
    }
}

/// A mapping does not see growth; a file that shrank under it faults (SIGBUS) when read, which
/// no check can turn into an error. Catch what can be caught.
void check_mapped_size(const ZipWriteEntry& e, const EntrySource& src) {
    if (src.map.addr == MAP_FAILED) {
        return;
    }
    struct stat st {};
    if (::fstat(src.in.get(), &st) == 0 && static_cast<std::uint64_t>(st.st_size) != e.size) {
        changed_size(e, static_cast<std::uint64_t>(st.st_size));
    }
}

/// The header fields shared by an entry's local and central headers.
struct EntryHeader {
    std::uint16_t flags = 0;
    std::uint16_t method = method_stored;
    std::uint32_t crc = 0;
    std::uint32_t csize = 0;
    std::uint32_t usize = 0;
    std::uint16_t name_len = 0;
};

/// What goes into the archive for `n` bytes at `data`. Method rule: deflate only when it is
/// strictly smaller than the input.
struct Payload {
    const unsigned char* bytes = nullptr;
    std::size_t size = 0;
    std::uint16_t method = method_stored;
};

Payload compress_entry(libdeflate_compressor* compressor,
                       const unsigned char* data,
                       std::size_t n,
                       ByteBuffer& compressed,
                       const std::string& name) {
    Payload out{data, n, method_stored};
    if (n > 0 && compressor != nullptr) {
        auto bound = libdeflate_deflate_compress_bound(compressor, n);
        auto* buf = compressed.reserve(bound);
        auto c = libdeflate_deflate_compress(compressor, data, n, buf, bound);
        if (c == 0) {
            throw ArchiveError("libdeflate failed to compress '" + name + "'");
        }
        if (c < n) {
            out = {buf, c, method_deflate};
        }
    }
    return out;
}

void write_local_header(Sink& sink,
                        const EntryHeader& h,
                        const std::string& name,
                        const ZipWriteOptions& options) {
    unsigned char local[zip_local_header_size];
    put32(local + 0, 0x04034b50);
    put16(local + 4, version_needed);
    put16(local + 6, h.flags);
    put16(local + 8, h.method);
    put16(local + 10, options.dos_time);
    put16(local + 12, options.dos_date);
    put32(local + 14, h.crc);
    put32(local + 18, h.csize);
    put32(local + 22, h.usize);
    put16(local + 26, h.name_len);
    put16(local + 28, 0);  // extra field length
    sink.write(local, sizeof local);
    sink.write(name.data(), name.size());
}

void append_central_header(std::string& central,
                           const EntryHeader& h,
                           const ZipWriteEntry& e,
                           std::uint64_t offset,
                           const ZipWriteOptions& options) {
    unsigned char cd[zip_central_header_size];
    put32(cd + 0, 0x02014b50);
    put16(cd + 4, version_made_by);
    put16(cd + 6, version_needed);
    put16(cd + 8, h.flags);
    put16(cd + 10, h.method);
    put16(cd + 12, options.dos_time);
    put16(cd + 14, options.dos_date);
    put32(cd + 16, h.crc);
    put32(cd + 20, h.csize);
    put32(cd + 24, h.usize);
    put16(cd + 28, h.name_len);
    put16(cd + 30, 0);  // extra field length
    put16(cd + 32, 0);  // comment length
    put16(cd + 34, 0);  // disk number start
    put16(cd + 36, 0);  // internal attributes
    put32(cd + 38, static_cast<std::uint32_t>(e.executable ? 0100755 : 0100644) << 16U);
    put32(cd + 42, static_cast<std::uint32_t>(offset));
    central.append(reinterpret_cast<const char*>(cd), sizeof cd);
    central.append(e.name);
}

void write_end_record(
    Sink& sink,
    // NOLINTNEXTLINE(bugprone-easily-swappable-parameters): the record's field order
    std::size_t entries,
    std::size_t central_size,
    std::uint64_t cd_offset) {
    unsigned char end[zip_end_record_size];
    put32(end + 0, 0x06054b50);
    put16(end + 4, 0);  // this disk
    put16(end + 6, 0);  // disk with the central directory
    put16(end + 8, static_cast<std::uint16_t>(entries));
    put16(end + 10, static_cast<std::uint16_t>(entries));
    put32(end + 12, static_cast<std::uint32_t>(central_size));
    put32(end + 16, static_cast<std::uint32_t>(cd_offset));
    put16(end + 20, 0);  // comment length
    sink.write(end, sizeof end);
}

/// Everything an archive being written needs between entries.
struct ZipState {
    Sink& sink;
    const ZipWriteOptions& options;
    libdeflate_compressor* compressor;
    const std::string& too_big;
    ByteBuffer input;       // whole files below zip_mmap_threshold
    ByteBuffer compressed;  // deflate output, sized by libdeflate_deflate_compress_bound
    std::string central;
};

/// Writes one entry (local header, name, payload) and appends its central header.
void write_entry(ZipState& z, const ZipWriteEntry& e) {
    if (e.name.empty() || e.name.size() > 0xFFFF) {
        throw ArchiveError("zip entry name of " + std::to_string(e.name.size()) + " bytes");
    }
    EntrySource src;
    open_entry(e, z.input, src);
    const auto n = static_cast<std::size_t>(src.size);
    EntryHeader h;
    h.crc = n == 0 ? 0 : libdeflate_crc32(0, src.data, n);
    const Payload payload = compress_entry(z.compressor, src.data, n, z.compressed, e.name);
    const std::uint64_t offset = z.sink.offset();
    if (offset + zip_local_header_size + e.name.size() + payload.size >= zip32_limit) {
        throw ArchiveError(z.too_big);
    }
    bool non_ascii = false;
    for (char ch : e.name) {
        non_ascii = non_ascii || static_cast<unsigned char>(ch) >= 0x80;
    }
    h.flags = non_ascii ? flag_utf8 : 0;
    h.method = payload.method;
    h.name_len = static_cast<std::uint16_t>(e.name.size());
    h.csize = static_cast<std::uint32_t>(payload.size);
    h.usize = static_cast<std::uint32_t>(n);
    write_local_header(z.sink, h, e.name, z.options);
    if (payload.size > 0) {
        z.sink.write(payload.bytes, payload.size);
    }
    check_mapped_size(e, src);
    append_central_header(z.central, h, e, offset, z.options);
}

}  // namespace

ZipWriteResult write_zip(const std::filesystem::path& archive,
                         const std::vector<ZipWriteEntry>& entries,
                         const ZipWriteOptions& options) {
    const std::string error_path =
        options.error_path.empty() ? archive.string() : options.error_path;
    const std::string archive_name = std::filesystem::path(error_path).filename().string();
    const std::string too_big =
        archive_name + " would be 4 GiB or larger; mip clients refuse ZIP64 archives";
    if (entries.size() > 0xFFFF) {
        throw ArchiveError(archive_name + " would hold " + std::to_string(entries.size()) +
                           " files; a non-ZIP64 archive holds at most 65535");
    }
    if (options.level < 0 || options.level > 9) {
        throw ArchiveError("compression level " + std::to_string(options.level) +
                           " is not in 0..9");
    }
    std::unique_ptr<libdeflate_compressor, CompressorFree> compressor;
    if (options.level > 0) {
        compressor.reset(libdeflate_alloc_compressor(options.level));
        if (!compressor) {
            throw std::bad_alloc();
        }
    }

    UniqueFd out(::open(archive.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666));
    if (!out.valid()) {
        throw IoError("cannot create archive", archive.string(), last_error());
    }
    try {
        Sink sink(out.get(), error_path);
        ZipState z{sink, options, compressor.get(), too_big, {}, {}, {}};
        z.central.reserve(entries.size() * (zip_central_header_size + 64));
        for (const auto& e : entries) {
            write_entry(z, e);
        }

        const std::uint64_t cd_offset = sink.offset();
        const std::uint64_t total = cd_offset + z.central.size() + zip_end_record_size;
        if (total >= zip32_limit) {
            throw ArchiveError(too_big);
        }
        sink.write(z.central.data(), z.central.size());
        write_end_record(sink, entries.size(), z.central.size(), cd_offset);
        sink.flush();

        if (auto ec = out.close()) {
            throw IoError("cannot write archive", error_path, ec);
        }
        return {sink.hex_digest(), sink.offset()};
    } catch (...) {
        ::unlink(archive.c_str());
        throw;
    }
}

}  // namespace mip::detail
