// mip_consumer: publishes one package it writes itself into a local store with libmip, then
// checks what a user of the channel would get: an index listing the package, and its bundle in
// the store with the size and digest the index names.
//
//   mip_consumer <work-dir>      (the directory is emptied first)
//
// Exit code 0 when every check holds; otherwise 1 and the failed check on stderr.
#include <algorithm>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>

#include <mip/error.hpp>
#include <mip/index_assembler.hpp>
#include <mip/local_store.hpp>
#include <mip/pipeline.hpp>

namespace fs = std::filesystem;

namespace {

void write_file(const fs::path& path, const std::string& text) {
    fs::create_directories(path.parent_path());
    std::ofstream out(path, std::ios::binary);
    out << text;
    if (!out.flush()) {
        throw std::runtime_error("cannot write " + path.string());
    }
}

std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw std::runtime_error("cannot read " + path.string());
    }
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

void check(bool condition, const std::string& what) {
    if (!condition) {
        throw std::runtime_error("check failed: " + what);
    }
}

// A prepare.yaml recipe (path source) and the one function it ships.
void write_recipe(const fs::path& recipes) {
    const fs::path dir = recipes / "hello_consumer";
    write_file(dir / "prepare.yaml",
               "name: hello_consumer\n"
               "description: One greeting function, published by libmip's consumer example\n"
               "version: \"1.0.0\"\n"
               "license: MIT\n"
               "usage_examples:\n"
               "  - \"hello_consumer('mip')\"\n"
               "prepare:\n"
               "  path:\n"
               "    path: src\n");
    write_file(dir / "src" / "hello_consumer.m",
               "function msg = hello_consumer(name)\n"
               "%HELLO_CONSUMER Greets NAME.\n"
               "msg = ['Hello, ' name '!'];\n"
               "end\n");
}

int run(const fs::path& work) {
    fs::remove_all(work);
    write_recipe(work / "recipes");

    mip::PipelineOptions options;
    options.prepare.recipes = work / "recipes";
    options.build_dir = work / "build";
    options.store = (work / "store").string();
    options.run.source_date_epoch = 1700000000;  // reproducible timestamps and index
    options.run.jobs = 1;

    const mip::PublishReport report = mip::run_publish(options);
    for (const mip::StageReport& stage : report.stages) {
        if (const mip::ItemResult* failed = stage.first_failure()) {
            throw std::runtime_error(stage.stage + " failed: " + failed->package + ": " +
                                     failed->detail);
        }
    }
    check(report.ok(), "publish reports success");
    check(report.index.has_value(), "publish wrote an index");
    check(report.index->total_packages == 1, "the index lists one package");

    // The index on disk is what a fresh assembly from the store gives.
    mip::LocalStore store(work / "store");
    mip::RunOptions run;
    run.source_date_epoch = options.run.source_date_epoch;
    const mip::IndexResult index = mip::IndexAssembler(store, {}, run).assemble();
    check(read_file(report.index->index_json) == index.index_json(),
          "index.json equals a fresh assembly from the store");
    check(index.packages.size() == 1, "one package in the store");

    const mip::PackageSpec& spec = index.packages.front();
    check(spec.name == "hello_consumer" && spec.version == "1.0.0", "name and version");
    check(std::find(spec.exposed_symbols.begin(), spec.exposed_symbols.end(), "hello_consumer") !=
              spec.exposed_symbols.end(),
          "the package exposes hello_consumer");
    check(spec.mhl_sha256.has_value() && spec.mhl_size.has_value() && spec.mhl_url.has_value(),
          "the entry has mhl_url, mhl_sha256 and mhl_size");
    const std::string key = "sha256/" + *spec.mhl_sha256 + "/" + spec.wheel_name() + ".mhl";
    const auto object = store.head(key);
    check(object.has_value(), "the store holds " + key);
    check(object->size == *spec.mhl_size, "the bundle's size is the index's mhl_size");

    std::cout << "mip_consumer: libmip " << mip::version() << " published " << spec.wheel_name()
              << " (" << *spec.mhl_size << " bytes, sha256 " << *spec.mhl_sha256 << ") into "
              << store.root().string() << '\n';
    return EXIT_SUCCESS;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::cerr << "usage: mip_consumer <work-dir>\n";
        return 2;
    }
    try {
        return run(fs::absolute(argv[1]));
    } catch (const mip::Error& e) {
        std::cerr << "mip_consumer: libmip error: " << e.what() << '\n';
    } catch (const std::exception& e) {
        std::cerr << "mip_consumer: " << e.what() << '\n';
    }
    return EXIT_FAILURE;
}
