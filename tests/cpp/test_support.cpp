#include "test_support.hpp"

#include <fstream>
#include <random>
#include <stdexcept>

#include <mip/package_spec.hpp>

extern char** environ;  // NOLINT

namespace mip::test {

Preparer preparer_for(const PrepareSetup& setup) {
    return Preparer(static_cast<const PrepareOptions&>(setup),
                    static_cast<const RunOptions&>(setup), setup.store);
}

TempDir::TempDir() {
    std::random_device rd;
    for (int i = 0; i < 100; ++i) {
        auto candidate =
            fs::temp_directory_path() / ("mip-test-" + std::to_string(rd()) + std::to_string(i));
        if (fs::create_directory(candidate)) {
            path_ = candidate;
            return;
        }
    }
    throw std::runtime_error("cannot create a temporary directory");
}

TempDir::~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
}

void write_file(const fs::path& path, const std::string& content, bool executable) {
    fs::create_directories(path.parent_path());
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << content;
    out.close();
    fs::permissions(path, executable ? fs::perms(0755) : fs::perms(0644));
}

std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw std::runtime_error("cannot read " + path.string());
    }
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

fs::path make_prepared_dir(const fs::path& parent,
                           const std::string& name,
                           const std::string& version) {
    PackageSpec spec;
    spec.name = name;
    spec.version = version;
    spec.description = "test package " + name;
    spec.exposed_symbols = {name + "_fn"};
    spec.timestamp = "2024-01-02T03:04:05Z";
    spec.build_info = mip::BuildInfo::from_json(
        R"({"source_date_epoch":1700000000,"host_platform":"linux_x86_64","ci":"local","ci_run_url":null})");
    auto dir = parent / (spec.wheel_name() + ".dir");
    write_file(dir / "mip.json", spec.to_json());
    write_file(dir / "load_package.m",
               "addpath(fullfile(fileparts(mfilename('fullpath')), 'src'));\n");
    write_file(dir / "unload_package.m",
               "rmpath(fullfile(fileparts(mfilename('fullpath')), 'src'));\n");
    write_file(dir / "src" / (name + "_fn.m"),
               "function y = " + name + "_fn(x)\ny = 2 * x;\nend\n");
    return dir;
}

fs::path examples_dir() { return fs::path(MIP_SOURCE_DIR) / "examples" / "packages"; }

std::map<std::string, std::string> environment() {
    std::map<std::string, std::string> env;
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
        std::string entry(*e);
        auto eq = entry.find('=');
        if (eq != std::string::npos && eq > 0) {
            env.emplace(entry.substr(0, eq), entry.substr(eq + 1));
        }
    }
    return env;
}

}  // namespace mip::test
