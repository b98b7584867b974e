#include "app.hpp"

#include <iostream>
#include <map>

namespace mip::cli {

int exit_code_for(ErrorCode code) {
    switch (code) {
        case ErrorCode::build_failed:
        case ErrorCode::internal:
            return exit_build_failed;
        case ErrorCode::invalid_spec:
        case ErrorCode::lock_mismatch:
            return exit_spec;
        case ErrorCode::io:
        case ErrorCode::archive:
            return exit_io;
        case ErrorCode::network:
        case ErrorCode::remote:
            return exit_remote;
        case ErrorCode::auth:
            return exit_auth;
        case ErrorCode::cancelled:
            return exit_cancelled;
    }
    return exit_build_failed;
}

std::string flag_name(std::string_view field) {
    std::string out = "--";
    for (char c : field) {
        out += c == '_' ? '-' : c;
    }
    return out;
}

void add_selection_options(CLI::App& sub, GlobalOptions& g) {
    auto& run = g.pipeline.run;
    MIP_FIELD_OPTION(sub, run, package, "Only this package (repeatable)")->type_name("NAME");
    // --shard fills run.shard: its text is parsed (Shard::parse) after CLI11, in main().
    sub.add_option(flag_name("shard"), g.shard_text, "Only the packages of shard K of N (K/N)")
        ->type_name("K/N")
        ->expected(1);
    MIP_FIELD_OPTION_SHORT(sub, run, jobs, "-j", "Packages in parallel (0 = number of cores)")
        ->capture_default_str();
    MIP_FIELD_FLAG(sub, run, keep_going, "Carry on after a failure and report every failure");
    MIP_FIELD_FLAG(sub, run, dry_run, "Decide and report; change nothing");
}

void add_store_options(CLI::App& sub, GlobalOptions& g) {
    auto& p = g.pipeline;
    MIP_FIELD_OPTION(sub, p, store,
                     "Store URL: a directory, file:///dir or s3://bucket/prefix (default "
                     "<build-dir>/store; env MIP_STORE)")
        ->type_name("URL");
    MIP_FIELD_OPTION(sub, p.run, base_url,
                     "Public https:// URL of the store prefix (env MIP_BASE_URL)")
        ->type_name("URL");
    MIP_FIELD_OPTION(sub, p.store_options, endpoint,
                     "S3 endpoint URL (default: env AWS_ENDPOINT_URL)")
        ->type_name("URL");
    MIP_FIELD_FLAG(sub, p.store_options, allow_insecure_loopback,
                   "Allow a plain http:// S3 endpoint on 127.0.0.1/localhost (tests only)");
    MIP_FIELD_OPTION(sub, p.store_options, request_deadline,
                     "Seconds one S3 request may take, all retries included (0 = none)")
        ->capture_default_str();
    MIP_FIELD_OPTION(sub, p.run, ca_file, "CA bundle for TLS verification")->type_name("FILE");
    MIP_FIELD_OPTION(sub, p.run, max_in_flight, "Requests in flight at once (1-256)")
        ->capture_default_str()
        ->check(CLI::Range(1, 256));
    MIP_FIELD_FLAG(sub, p.run, flat_urls,
                   "mhl_url = <base>/<wheel>.mhl instead of the content-addressed key");
    MIP_FIELD_OPTION(sub, p.run, format,
                     "Output format: r2 (R2-era archives) or mip (today's client; "
                     "docs/current-format.md)")
        ->capture_default_str()
        ->check(CLI::IsMember({"r2", "mip"}));
    MIP_FIELD_FLAG(sub, p.upload, allow_overwrite,
                   "With --flat-urls: replace a published .mhl with other bytes");
    MIP_FIELD_FLAG(sub, p.upload, allow_octave_builds,
                   "Upload packages compiled with GNU Octave to S3");
    MIP_FIELD_FLAG(sub, p.upload, flat_copy,
                   "Also write the flat <wheel>.mhl (a server-side copy) where the store holds "
                   "no flat names yet");
}

void add_recipe_options(CLI::App& sub, GlobalOptions& g) {
    auto& p = g.pipeline;
    MIP_FIELD_OPTION(sub, p.prepare, recipes, "Directory of recipe directories")
        ->capture_default_str();
    MIP_FIELD_FLAG(sub, p.prepare, force, "Rebuild even when the published metadata matches");
    MIP_FIELD_OPTION(sub, p.prepare, build_type, "Build type to prepare (env BUILD_TYPE)")
        ->capture_default_str();
    MIP_FIELD_OPTION(sub, p.run, source_date_epoch,
                     "Fixed time for reproducible output (env SOURCE_DATE_EPOCH)");
    MIP_FIELD_OPTION(sub, p.prepare, recipe_timeout, "Seconds a Python recipe may run")
        ->capture_default_str();
    MIP_FIELD_OPTION(sub, p.prepare, python,
                     "Python interpreter for package.py/packages.py recipes (env MIP_PYTHON)");
    MIP_FIELD_OPTION(sub, p.prepare, python_path,
                     "Prepended to the recipe worker's PYTHONPATH (env MIP_PYTHONPATH)")
        ->type_name("DIRS");
    MIP_FIELD_OPTION(sub, p.prepare, max_download_mib,
                     "MiB one source download may bring (zip bombs, endless bodies)")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    MIP_FIELD_OPTION(sub, p.prepare, max_extract_mib,
                     "Total uncompressed MiB of one source archive")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    MIP_FIELD_OPTION(sub, p.prepare, max_archive_entries, "Entries in one source archive")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    MIP_FIELD_OPTION(sub, p.prepare, max_compression_ratio,
                     "Uncompressed:compressed size of one archive entry of 1 MiB or more")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    MIP_FIELD_FLAG(sub, p.prepare, require_https,
                   "Refuse plain http:// source URLs (fetched with a warning otherwise)");
    // --source-mirror fills prepare.source_mirror: its text is parsed (SourceMirror::parse)
    // after CLI11 and after MIP_SOURCE_MIRRORS, in main().
    sub.add_option(flag_name("source_mirror"), g.source_mirror_text,
                   "Fetch source URLs starting with FROM from TO instead (repeatable; the longest "
                   "FROM wins; env MIP_SOURCE_MIRRORS)")
        ->type_name("FROM=TO");
}

void add_pass_env_option(CLI::App& sub, GlobalOptions& g) {
    MIP_FIELD_OPTION(sub, g.pipeline.run, pass_env,
                     "Also pass this environment variable to recipe processes and the compile "
                     "engine (repeatable; credentials are refused)")
        ->type_name("NAME");
}

void add_compile_options(CLI::App& sub, GlobalOptions& g) {
    auto& p = g.pipeline;
    MIP_FIELD_OPTION(sub, p.compile, engine, "auto, matlab, octave, or the path of either")
        ->capture_default_str();
    MIP_FIELD_OPTION(sub, p.compile, compile_timeout, "Seconds one compile may run")
        ->capture_default_str();
}

void add_test_options(CLI::App& sub, GlobalOptions& g) {
    auto& p = g.pipeline;
    MIP_FIELD_OPTION(sub, p.tester, test_engine, "auto, matlab, octave, or the path of either")
        ->capture_default_str();
    MIP_FIELD_OPTION(sub, p.tester, test_timeout, "Seconds one package's test may run")
        ->capture_default_str();
    MIP_FIELD_OPTION(sub, p.tester, glibc_floor,
                     "Newest GLIBC_x.y symbol version a shipped binary may need")
        ->capture_default_str();
    MIP_FIELD_OPTION(sub, p.tester, audit_library,
                     "LD_AUDIT library recording loaded MEX files (default: libmip's)");
    MIP_FIELD_FLAG(sub, p.tester, no_sandbox,
                   "Run tests without the namespace sandbox (compilers, writes, leftovers "
                   "not caught)");
}

void add_test_mode_option(CLI::App& sub, GlobalOptions& g) {
    const std::map<std::string, TestMode> modes = {{"skip", TestMode::skip},
                                                   {"native", TestMode::native}};
    MIP_FIELD_OPTION(sub, g.pipeline.tester, test,
                     "skip, or native: test every bundle with this machine's engine before upload")
        ->transform(CLI::CheckedTransformer(modes))
        ->default_str("native");
}

void add_index_options(CLI::App& sub, GlobalOptions& g) {
    auto& p = g.pipeline;
    MIP_FIELD_FLAG(sub, p.index, strict,
                   "Fail on a bad sidecar or a missing dependency instead of skipping");
    MIP_FIELD_FLAG(sub, p.index, verify, "Re-download every .mhl and check its size and sha256");
    MIP_FIELD_FLAG(sub, p.index, full_listing,
                   "List the store instead of trusting its index manifest, and repair the "
                   "manifest (a listing also runs when the manifest's last one is a day old)");
    MIP_FIELD_OPTION(sub, p.index, channel,
                     "With --format mip: OWNER/NAME, the index's github_repo (OWNER/mip-NAME); "
                     "the output is ready for https://OWNER.github.io/mip-NAME/")
        ->type_name("OWNER/NAME");
    MIP_FIELD_FLAG(sub, p.index, allow_partial,
                   "With --format mip: list a release before every declared architecture is "
                   "published");
    MIP_FIELD_OPTION(sub, p.index, compatibility_floor,
                     "With --format mip: the index's mip_compatibility_floor, the oldest mip "
                     "client the channel works with (publish reads it from channel.yaml)")
        ->type_name("VERSION");
}

std::string terminal_text(std::string_view text) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7F) {
            out += "\\x";
            out += digits[c >> 4U];
            out += digits[c & 0xFU];
        } else if (c == 0xC2 && i + 1 < text.size() &&
                   static_cast<unsigned char>(text[i + 1]) >= 0x80 &&
                   static_cast<unsigned char>(text[i + 1]) <= 0x9F) {  // U+0080..U+009F
            const auto d = static_cast<unsigned char>(text[i + 1]);
            out += "\\u00";
            out += digits[d >> 4U];
            out += digits[d & 0xFU];
            ++i;
        } else {
            out += static_cast<char>(c);
        }
    }
    return out;
}

void print_stage_lines(const StageReport& report) {
    const char* prefix = report.dry_run ? "[dry-run] " : "";
    for (const auto& item : report.items) {
        std::string name = item.wheel.empty() ? item.package : item.wheel;
        std::cout << prefix << report.stage << ": " << to_string(item.status) << " "
                  << terminal_text(name);
        if (!item.detail.empty()) {
            std::cout << " — " << terminal_text(item.detail);
        }
        std::cout << "\n";
    }
    std::cout << prefix << report.stage << ": " << report.count(ItemStatus::done) << " done, "
              << report.count(ItemStatus::skipped) << " skipped, "
              << report.count(ItemStatus::planned) << " planned, "
              << report.count(ItemStatus::failed) << " failed\n";
}

int stage_exit_code(const GlobalOptions& g, const StageReport& report) {
    const auto* failure = report.first_failure();
    if (failure == nullptr) {
        return exit_ok;
    }
    if (g.pipeline.run.keep_going && report.count(ItemStatus::failed) < report.items.size()) {
        return exit_partial;
    }
    return exit_code_for(failure->error_code);
}

int print_stage(const GlobalOptions& g, const StageReport& report) {
    if (g.json) {
        std::cout << report.to_json();
    } else {
        print_stage_lines(report);
    }
    return stage_exit_code(g, report);
}

int print_index(const GlobalOptions& g, const IndexReport& report) {
    if (g.json) {
        std::cout << report.to_json();
        return exit_ok;
    }
    const char* prefix = report.written ? "" : "[dry-run] ";
    std::cout << prefix << "index: " << report.total_packages << " package(s), "
              << report.skipped.size() << " skipped sidecar(s)\n";
    for (const auto& s : report.skipped) {
        std::cout << prefix << "index: skipped " << terminal_text(s.key) << " — "
                  << terminal_text(s.reason) << "\n";
    }
    if (report.written) {
        std::cout << "index: wrote " << terminal_text(report.index_json.string()) << "\n";
        std::cout << "index: wrote " << terminal_text(report.packages_html.string()) << "\n";
    } else {
        std::cout << "[dry-run] index: would write " << terminal_text(report.index_json.string())
                  << "\n";
    }
    return exit_ok;
}

}  // namespace mip::cli
