// libFuzzer target: detail::extract_zip on arbitrary bytes written to a temporary file. Only
// mip::Error may escape, and nothing may ever be written outside the destination directory
// (the scratch directory holds only the archive and the destination afterwards; the destination
// holds no symlink).
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

#include <mip/error.hpp>

#include "detail/zip_reader.hpp"

namespace fs = std::filesystem;

namespace {

struct Scratch {
    fs::path dir;
    Scratch() {
        std::string templ = (fs::temp_directory_path() / "mip-fuzz-zip-XXXXXX").string();
        if (::mkdtemp(templ.data()) == nullptr) {
            std::abort();
        }
        dir = templ;
        // Extraction goes two levels down, so an escape by "../" lands in a place we check.
        fs::create_directories(dir / "a" / "b");
    }
    ~Scratch() {
        std::error_code ec;
        fs::remove_all(dir, ec);
    }
};

void check_nothing_escaped(const fs::path& dir) {
    for (const auto& e : fs::recursive_directory_iterator(dir)) {
        auto rel = e.path().lexically_relative(dir).generic_string();
        bool expected = rel == "a" || rel == "a/b" || rel == "a/b/in.zip" || rel == "a/b/out" ||
                        rel.rfind("a/b/out/", 0) == 0;
        if (!expected || e.is_symlink()) {
            std::abort();  // written outside the destination, or a symlink was created
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static Scratch scratch;
    const fs::path archive = scratch.dir / "a" / "b" / "in.zip";
    const fs::path dest = scratch.dir / "a" / "b" / "out";
    {
        std::ofstream out(archive, std::ios::binary | std::ios::trunc);
        out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    }
    bool strip = size > 0 && (data[size - 1] & 1) != 0;
    try {
        mip::detail::extract_zip(archive, dest, strip);
    } catch (const mip::Error&) {
    }
    check_nothing_escaped(scratch.dir);
    std::error_code ec;
    fs::remove_all(dest, ec);
    return 0;
}
