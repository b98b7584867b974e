// mip-build compile: run each prepared package's compile script with MATLAB or GNU Octave.
#include "app.hpp"

namespace mip::cli {

void add_compile_command(CLI::App& app, GlobalOptions& g) {
    auto* sub = app.add_subcommand("compile",
                                   "Run compile.m in each prepared .dir with MATLAB or GNU Octave");
    add_selection_options(*sub, g);
    add_compile_options(*sub, g);
    add_pass_env_option(*sub, g);
    MIP_FIELD_OPTION(*sub, g.pipeline.compile, input_dir,
                     "Prepared .dir directories (default <build-dir>/prepared)");
    sub->callback(
        [&g]() { g.action = [&g]() { return print_stage(g, run_compile(g.pipeline)); }; });
}

}  // namespace mip::cli
