// libFuzzer target: the prepare.yaml loader (make_yaml_recipe_kind()->load) on a recipe file in a
// private temporary directory. Loading only parses and validates (no fetching); anything but a
// mip::Error escaping is a bug.
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

#include <mip/error.hpp>
#include <mip/recipe.hpp>

namespace {

struct Scratch {
    std::filesystem::path dir;
    Scratch() {
        std::string templ =
            (std::filesystem::temp_directory_path() / "mip-fuzz-yaml-XXXXXX").string();
        if (::mkdtemp(templ.data()) == nullptr) {
            std::abort();
        }
        dir = templ;
        std::filesystem::create_directories(dir / "recipe" / "src");
    }
    ~Scratch() {
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
    }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static Scratch scratch;
    static auto kind = mip::make_yaml_recipe_kind();
    {
        std::ofstream out(scratch.dir / "recipe" / "prepare.yaml",
                          std::ios::binary | std::ios::trunc);
        out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    }
    mip::RecipeContext ctx;
    ctx.recipe_dir = scratch.dir / "recipe";
    ctx.host_platform_tag = "linux_x86_64";
    ctx.cache_dir = scratch.dir / "cache";
    try {
        auto builds = kind->load(ctx);
        for (const auto& b : builds) {
            (void)b->spec().wheel_name();
        }
    } catch (const mip::Error&) {
    }
    return 0;
}
