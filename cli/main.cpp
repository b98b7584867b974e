// mip-build: the command-line front end. Parses arguments, dispatches to one verb, and is the
// only place that catches exceptions and chooses exit codes (docs/cli.md).
#include <cstdlib>
#include <iostream>

#include <unistd.h>

#include <mip/credentials.hpp>
#include <mip/error.hpp>

#include "app.hpp"
#include "progress_bar.hpp"

namespace {

mip::LogLevel level_for(int verbose, bool quiet) {
    if (quiet) {
        return mip::LogLevel::error;
    }
    if (verbose >= 2) {
        return mip::LogLevel::debug;
    }
    return verbose == 1 ? mip::LogLevel::info : mip::LogLevel::warning;
}

std::string env_or(const char* name, const std::string& fallback) {
    const char* v = std::getenv(name);
    return v != nullptr && *v != '\0' ? std::string(v) : fallback;
}

int run(int argc, char** argv) {
    using namespace mip::cli;
    GlobalOptions g;
    try {
        g.pipeline = mip::PipelineOptions::from_environment();
        // Credentials now live in the snapshot only: gone from this process's environment
        // block, and the process unreadable by the recipe code it runs (docs/ci.md).
        (void)mip::seal_process_credentials();
    } catch (const mip::Error& e) {
        std::cerr << "mip-build: error: " << mip::cli::terminal_text(e.what()) << "\n";
        return exit_code_for(e.code());
    }
    // The recipe interpreter's defaults (--python, --python-path override them).
    g.pipeline.prepare.python = env_or("MIP_PYTHON", MIP_DEFAULT_PYTHON);
#ifdef MIP_DEFAULT_PYTHONPATH
    g.pipeline.prepare.python_path = env_or("MIP_PYTHONPATH", MIP_DEFAULT_PYTHONPATH);
#else
    g.pipeline.prepare.python_path = env_or("MIP_PYTHONPATH", "");
#endif
    CLI::App app{"mip-build: build and publish MATLAB packages for mip", "mip-build"};
    app.set_version_flag("--version", std::string("mip-build (libmip) ") + mip::version());
    app.require_subcommand(1);
    app.fallthrough();
    MIP_FIELD_OPTION(app, g.pipeline, build_dir,
                     "Root of prepared/, bundled/, gh-pages/, cache/, store/")
        ->capture_default_str();
    app.add_flag("-v,--verbose", g.verbose, "More logging (-vv for debug)");
    app.add_flag("-q,--quiet", g.quiet, "Errors only, no progress");
    app.add_flag("--json", g.json, "Print one JSON document with the results on stdout");
    add_prepare_command(app, g);
    add_compile_command(app, g);
    add_bundle_command(app, g);
    add_test_command(app, g);
    add_upload_command(app, g);
    add_index_command(app, g);
    add_publish_command(app, g);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e) == 0 ? exit_ok : exit_usage;
    }

    // Flags that contradict or do nothing are usage errors, not silently ignored.
    if (g.quiet && g.verbose > 0) {
        std::cerr << "mip-build: error: -q/--quiet and -v/--verbose contradict each other\n";
        return exit_usage;
    }
    if (g.pipeline.upload.allow_overwrite && !g.pipeline.run.flat_urls) {
        std::cerr << "mip-build: error: --allow-overwrite only applies with --flat-urls (the "
                     "content-addressed sha256/ objects are never overwritten)\n";
        return exit_usage;
    }
    bool tty = ::isatty(STDERR_FILENO) != 0;
    ProgressBar bar(tty, !g.quiet);
    auto level = level_for(g.verbose, g.quiet);
    g.pipeline.run.logger = mip::Logger(
        [&bar](mip::LogLevel lvl, std::string_view message) {
            bar.clear();
            std::cerr << "mip-build: " << mip::to_string(lvl) << ": " << terminal_text(message)
                      << "\n";
        },
        level);
    g.pipeline.run.progress = [&bar](const mip::ProgressEvent& e) { bar(e); };
    install_interrupt_handler();
    try {
        if (g.pipeline.run.source_date_epoch) {  // the check SOURCE_DATE_EPOCH gets
            (void)mip::checked_source_date_epoch(*g.pipeline.run.source_date_epoch,
                                                 "--source-date-epoch");
        }
        for (const auto& s : g.shard_text) {
            g.pipeline.run.shard = mip::Shard::parse(s);
        }
        for (const auto& m : g.source_mirror_text) {  // after MIP_SOURCE_MIRRORS: wins ties
            g.pipeline.prepare.source_mirror.push_back(mip::SourceMirror::parse(m));
        }
        int code = g.action ? g.action() : exit_usage;
        bar.clear();
        return code;
    } catch (const mip::Error& e) {
        bar.clear();
        std::cerr << "mip-build: error: " << mip::cli::terminal_text(e.what()) << "\n";
        return exit_code_for(e.code());
    } catch (const std::exception& e) {
        bar.clear();
        std::cerr << "mip-build: internal error: " << mip::cli::terminal_text(e.what()) << "\n";
        return exit_build_failed;
    }
}

}  // namespace

int main(int argc, char** argv) {
    // What escapes run() (std::bad_alloc while the options are set up, a CLI11 construction
    // error) is an internal error with its exit code, never std::terminate.
    try {
        return run(argc, argv);
    } catch (const std::exception& e) {
        std::cerr << "mip-build: internal error: " << mip::cli::terminal_text(e.what()) << "\n";
    } catch (...) {
        std::cerr << "mip-build: internal error: unknown exception\n";
    }
    return mip::cli::exit_build_failed;
}
