#pragma once
// Shared CLI state: the options every verb fills, how results are printed, exit codes.

#include <functional>
#include <string>
#include <string_view>

#include <CLI/CLI.hpp>

#include <mip/pipeline.hpp>
#include <mip/report.hpp>

namespace mip::cli {

/// Exit codes (docs/cli.md).
enum ExitCode : int {
    exit_ok = 0,
    exit_build_failed = 1,  ///< a recipe or compile script failed; internal errors
    exit_usage = 2,
    exit_spec = 3,     ///< invalid recipe or metadata
    exit_io = 4,       ///< local file system or archive
    exit_remote = 5,   ///< network or server error
    exit_auth = 6,     ///< credentials missing or rejected
    exit_partial = 7,  ///< --keep-going: some items failed, others succeeded
    exit_cancelled = 130,
};

[[nodiscard]] int exit_code_for(ErrorCode code);

struct GlobalOptions {
    PipelineOptions pipeline;
    bool json = false;
    int verbose = 0;
    bool quiet = false;
    std::vector<std::string> shard_text;  ///< raw --shard, parsed into pipeline.run.shard
    /// raw --source-mirror, parsed into pipeline.prepare.source_mirror
    std::vector<std::string> source_mirror_text;
    std::function<int()> action;  ///< set by the chosen verb
};

/// `--<field>`, `_` written `-`: the name of the flag that fills the field `field`.
[[nodiscard]] std::string flag_name(std::string_view field);

/// An option named after the field it fills (see `MIP_FIELD_OPTION`).
template <class T>
CLI::Option* add_field_option(CLI::App& sub,
                              std::string_view field,
                              T& value,
                              const std::string& help,
                              const std::string& short_name = "") {
    const std::string long_name = flag_name(field);
    return sub.add_option(short_name.empty() ? long_name : short_name + "," + long_name, value,
                          help);
}

/// A boolean flag named after the field it fills (see `MIP_FIELD_FLAG`).
inline CLI::Option* add_field_flag(CLI::App& sub,
                                   std::string_view field,
                                   bool& value,
                                   const std::string& help) {
    return sub.add_flag(flag_name(field), value, help);
}

/// The one way a verb gets a flag: `MIP_FIELD_OPTION(sub, p.run, max_in_flight, "...")` adds
/// `--max-in-flight` filling `p.run.max_in_flight`. The flag's name comes from the field's, so
/// the CLI cannot drift from the C++ (and Python) spelling; tests/python/test_option_names.py
/// checks the other layers.
#define MIP_FIELD_OPTION(sub, owner, field, help) \
    ::mip::cli::add_field_option((sub), #field, (owner).field, (help))
/// Like `MIP_FIELD_OPTION`, with a short name too (`"-j"`).
#define MIP_FIELD_OPTION_SHORT(sub, owner, field, short_name, help) \
    ::mip::cli::add_field_option((sub), #field, (owner).field, (help), (short_name))
#define MIP_FIELD_FLAG(sub, owner, field, help) \
    ::mip::cli::add_field_flag((sub), #field, (owner).field, (help))
/// A positional argument named after its field (`recipe_dir` in the help).
#define MIP_FIELD_POSITIONAL(sub, owner, field, help) \
    (sub).add_option(#field, (owner).field, (help))

/// Option groups shared by the verbs (each adds to `sub`, binding into `g`).
void add_selection_options(CLI::App& sub,
                           GlobalOptions& g);  // --package --shard -j --keep-going --dry-run
void add_store_options(CLI::App& sub, GlobalOptions& g);     // --store --base-url --endpoint ...
void add_recipe_options(CLI::App& sub, GlobalOptions& g);    // --recipes --force --build-type ...
void add_compile_options(CLI::App& sub, GlobalOptions& g);   // --engine --compile-timeout
void add_pass_env_option(CLI::App& sub, GlobalOptions& g);   // --pass-env
void add_test_options(CLI::App& sub, GlobalOptions& g);      // --test-engine --test-timeout ...
void add_test_mode_option(CLI::App& sub, GlobalOptions& g);  // --test skip|native (publish)
void add_index_options(CLI::App& sub, GlobalOptions& g);     // --strict --verify

/// The exit code a stage report stands for (0, a failure's category, or 7 with --keep-going).
[[nodiscard]] int stage_exit_code(const GlobalOptions& g, const StageReport& report);
/// Prints a stage report (human lines or JSON) and returns its exit code.
int print_stage(const GlobalOptions& g, const StageReport& report);
/// Human lines for a stage report (no JSON), to stdout.
void print_stage_lines(const StageReport& report);
/// `text` safe to print on a terminal: control characters other than tab and newline (NUL, ESC,
/// CR, DEL, the C1 controls such as CSI) written as `\xNN`/`\u00NN`, so store keys, sidecar
/// text and error messages cannot move the cursor, recolour or rewrite what was printed before.
[[nodiscard]] std::string terminal_text(std::string_view text);
int print_index(const GlobalOptions& g, const IndexReport& report);

void add_prepare_command(CLI::App& app, GlobalOptions& g);
void add_compile_command(CLI::App& app, GlobalOptions& g);
void add_bundle_command(CLI::App& app, GlobalOptions& g);
void add_test_command(CLI::App& app, GlobalOptions& g);
void add_upload_command(CLI::App& app, GlobalOptions& g);
void add_index_command(CLI::App& app, GlobalOptions& g);
void add_publish_command(CLI::App& app, GlobalOptions& g);

}  // namespace mip::cli
