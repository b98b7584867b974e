#include "detail/crypto.hpp"

#include <array>
#include <fstream>
#include <vector>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <mip/error.hpp>

#include "detail/text.hpp"

namespace mip::detail {

namespace {
struct MdCtxDeleter {
    void operator()(EVP_MD_CTX* ctx) const noexcept { EVP_MD_CTX_free(ctx); }
};
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;

std::string digest_of(const EVP_MD* md, std::string_view data) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
    unsigned int len = 0;
    if (EVP_Digest(data.data(), data.size(), out.data(), &len, md, nullptr) != 1) {
        throw Error(ErrorCode::internal, "EVP_Digest failed");
    }
    return std::string(reinterpret_cast<const char*>(out.data()), len);
}

std::string file_digest(const EVP_MD* md, const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw IoError("cannot open file for hashing", path.string());
    }
    MdCtx ctx(EVP_MD_CTX_new());
    if (!ctx || EVP_DigestInit_ex(ctx.get(), md, nullptr) != 1) {
        throw Error(ErrorCode::internal, "EVP_DigestInit_ex failed");
    }
    std::vector<char> buffer(1 << 16);
    while (in) {
        in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
        auto n = in.gcount();
        if (n > 0) {
            EVP_DigestUpdate(ctx.get(), buffer.data(), static_cast<std::size_t>(n));
        }
    }
    if (in.bad()) {
        throw IoError("read error while hashing", path.string());
    }
    std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx.get(), out.data(), &len);
    return hex_encode(std::string_view(reinterpret_cast<const char*>(out.data()), len));
}
}  // namespace

struct Digest::Impl {
    MdCtx ctx{EVP_MD_CTX_new()};
};

Digest::Digest(DigestAlgorithm algorithm) : impl_(std::make_unique<Impl>()) {
    const EVP_MD* md = algorithm == DigestAlgorithm::sha256 ? EVP_sha256() : EVP_md5();
    if (!impl_->ctx || EVP_DigestInit_ex(impl_->ctx.get(), md, nullptr) != 1) {
        throw Error(ErrorCode::internal, "EVP_DigestInit_ex failed");
    }
}
Digest::~Digest() = default;
void Digest::update(std::string_view data) { update(data.data(), data.size()); }
void Digest::update(const void* data, std::size_t size) {
    EVP_DigestUpdate(impl_->ctx.get(), data, size);
}
std::string Digest::digest() {
    std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
    unsigned int len = 0;
    EVP_DigestFinal_ex(impl_->ctx.get(), out.data(), &len);
    return std::string(reinterpret_cast<const char*>(out.data()), len);
}

std::string sha256_raw(std::string_view data) { return digest_of(EVP_sha256(), data); }
std::string sha256_hex(std::string_view data) { return hex_encode(sha256_raw(data)); }
std::string sha256_file_hex(const std::filesystem::path& path) {
    return file_digest(EVP_sha256(), path);
}
std::string md5_hex(std::string_view data) { return hex_encode(digest_of(EVP_md5(), data)); }
std::string md5_file_hex(const std::filesystem::path& path) { return file_digest(EVP_md5(), path); }
std::string md5_base64(std::string_view data) { return base64(digest_of(EVP_md5(), data)); }

std::string base64(std::string_view bytes) {
    std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
    int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                            reinterpret_cast<const unsigned char*>(bytes.data()),
                            static_cast<int>(bytes.size()));
    out.resize(static_cast<std::size_t>(n));
    return out;
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
    unsigned int len = 0;
    if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
             reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(),
             &len) == nullptr) {
        throw Error(ErrorCode::internal, "HMAC-SHA256 failed");
    }
    return std::string(reinterpret_cast<const char*>(out.data()), len);
}

std::string random_hex(std::size_t bytes) {
    std::string raw(bytes, '\0');
    if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes)) != 1) {
        throw Error(ErrorCode::internal, "RAND_bytes failed");
    }
    return hex_encode(raw);
}

}  // namespace mip::detail
