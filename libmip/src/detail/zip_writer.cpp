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

struct Fd {
    int fd = -1;
    Fd() = default;
    explicit Fd(int f) : fd(f) {}
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd() {
        if (fd >= 0) {
            ::close(fd);
        }
    }
};

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

    Fd out{::open(archive.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666)};
    if (out.fd < 0) {
        throw IoError("cannot create archive", archive.string(), last_error());
    }
    try {
        Sink sink(out.fd, error_path);
        ByteBuffer input;       // whole files below zip_mmap_threshold
        ByteBuffer compressed;  // deflate output, sized by libdeflate_deflate_compress_bound
        std::string central;
        central.reserve(entries.size() * (zip_central_header_size + 64));

        for (const auto& e : entries) {
            if (e.name.empty() || e.name.size() > 0xFFFF) {
                throw ArchiveError("zip entry name of " + std::to_string(e.name.size()) + " bytes");
            }
            // The bytes of this entry: in memory, read whole, or mapped.
            const unsigned char* data = nullptr;
            std::uint64_t size = 0;
            Fd in;
            Mapping map;
            if (e.content) {
                data = reinterpret_cast<const unsigned char*>(e.content->data());
                size = e.content->size();
            } else {
                in.fd = ::open(e.source.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
                if (in.fd < 0) {
                    throw IoError("cannot read", e.source.string(), last_error());
                }
                struct stat st {};
                if (::fstat(in.fd, &st) != 0) {
                    throw IoError("cannot stat", e.source.string(), last_error());
                }
                if (!S_ISREG(st.st_mode)) {
                    throw ArchiveError("'" + e.name + "' (" + e.source.string() +
                                       ") is no longer a regular file");
                }
                if (static_cast<std::uint64_t>(st.st_size) != e.size) {
                    changed_size(e, static_cast<std::uint64_t>(st.st_size));
                }
                size = e.size;
                if (size >= zip32_limit) {
                    throw ArchiveError("'" + e.name +
                                       "' is 4 GiB or larger; mip clients refuse ZIP64 archives");
                }
                if (size >= zip_mmap_threshold) {
                    map.size = static_cast<std::size_t>(size);
                    map.addr = ::mmap(nullptr, map.size, PROT_READ, MAP_PRIVATE, in.fd, 0);
                    if (map.addr == MAP_FAILED) {
                        throw IoError("cannot map", e.source.string(), last_error());
                    }
                    (void)::madvise(map.addr, map.size, MADV_SEQUENTIAL);
                    data = static_cast<const unsigned char*>(map.addr);
                } else if (size > 0) {
                    auto* buf = input.reserve(static_cast<std::size_t>(size));
                    read_exactly(in.fd, e, buf);
                    data = buf;
                }
            }
            const auto n = static_cast<std::size_t>(size);
            const std::uint32_t crc = n == 0 ? 0 : libdeflate_crc32(0, data, n);

            // Method rule: deflate only when it is strictly smaller than the input.
            std::uint16_t method = method_stored;
            const unsigned char* payload = data;
            std::size_t payload_size = n;
            if (n > 0 && compressor) {
                auto bound = libdeflate_deflate_compress_bound(compressor.get(), n);
                auto* buf = compressed.reserve(bound);
                auto c = libdeflate_deflate_compress(compressor.get(), data, n, buf, bound);
                if (c == 0) {
                    throw ArchiveError("libdeflate failed to compress '" + e.name + "'");
                }
                if (c < n) {
                    method = method_deflate;
                    payload = buf;
                    payload_size = c;
                }
            }
            const std::uint64_t offset = sink.offset();
            if (offset + zip_local_header_size + e.name.size() + payload_size >= zip32_limit) {
                throw ArchiveError(too_big);
            }
            bool non_ascii = false;
            for (char ch : e.name) {
                non_ascii = non_ascii || static_cast<unsigned char>(ch) >= 0x80;
            }
            const std::uint16_t flags = non_ascii ? flag_utf8 : 0;
            const auto name_len = static_cast<std::uint16_t>(e.name.size());
            const auto csize = static_cast<std::uint32_t>(payload_size);
            const auto usize = static_cast<std::uint32_t>(n);

            unsigned char local[zip_local_header_size];
            put32(local + 0, 0x04034b50);
            put16(local + 4, version_needed);
            put16(local + 6, flags);
            put16(local + 8, method);
            put16(local + 10, options.dos_time);
            put16(local + 12, options.dos_date);
            put32(local + 14, crc);
            put32(local + 18, csize);
            put32(local + 22, usize);
            put16(local + 26, name_len);
            put16(local + 28, 0);  // extra field length
            sink.write(local, sizeof local);
            sink.write(e.name.data(), e.name.size());
            if (payload_size > 0) {
                sink.write(payload, payload_size);
            }
            if (map.addr != MAP_FAILED) {
                // A mapping does not see growth; a file that shrank under it faults (SIGBUS)
                // when read, which no check can turn into an error. Catch what can be caught.
                struct stat st {};
                if (::fstat(in.fd, &st) == 0 && static_cast<std::uint64_t>(st.st_size) != e.size) {
                    changed_size(e, static_cast<std::uint64_t>(st.st_size));
                }
            }

            unsigned char cd[zip_central_header_size];
            put32(cd + 0, 0x02014b50);
            put16(cd + 4, version_made_by);
            put16(cd + 6, version_needed);
            put16(cd + 8, flags);
            put16(cd + 10, method);
            put16(cd + 12, options.dos_time);
            put16(cd + 14, options.dos_date);
            put32(cd + 16, crc);
            put32(cd + 20, csize);
            put32(cd + 24, usize);
            put16(cd + 28, name_len);
            put16(cd + 30, 0);  // extra field length
            put16(cd + 32, 0);  // comment length
            put16(cd + 34, 0);  // disk number start
            put16(cd + 36, 0);  // internal attributes
            put32(cd + 38, static_cast<std::uint32_t>(e.executable ? 0100755 : 0100644) << 16U);
            put32(cd + 42, static_cast<std::uint32_t>(offset));
            central.append(reinterpret_cast<const char*>(cd), sizeof cd);
            central.append(e.name);
        }

        const std::uint64_t cd_offset = sink.offset();
        const std::uint64_t total = cd_offset + central.size() + zip_end_record_size;
        if (total >= zip32_limit) {
            throw ArchiveError(too_big);
        }
        sink.write(central.data(), central.size());
        unsigned char end[zip_end_record_size];
        put32(end + 0, 0x06054b50);
        put16(end + 4, 0);  // this disk
        put16(end + 6, 0);  // disk with the central directory
        put16(end + 8, static_cast<std::uint16_t>(entries.size()));
        put16(end + 10, static_cast<std::uint16_t>(entries.size()));
        put32(end + 12, static_cast<std::uint32_t>(central.size()));
        put32(end + 16, static_cast<std::uint32_t>(cd_offset));
        put16(end + 20, 0);  // comment length
        sink.write(end, sizeof end);
        sink.flush();

        const int fd = out.fd;
        out.fd = -1;
        if (::close(fd) != 0) {
            throw IoError("cannot write archive", error_path, last_error());
        }
        return {sink.hex_digest(), sink.offset()};
    } catch (...) {
        ::unlink(archive.c_str());
        throw;
    }
}

}  // namespace mip::detail
