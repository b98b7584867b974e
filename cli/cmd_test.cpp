// mip-build test: install, load and test each bundled package, as a client would use it.
#include "app.hpp"

namespace mip::cli {

void add_test_command(CLI::App& app, GlobalOptions& g) {
    auto* sub = app.add_subcommand(
        "test",
        "Install each bundled .mhl into a temporary root, load and test it, check binaries");
    add_selection_options(*sub, g);
    add_test_options(*sub, g);
    add_pass_env_option(*sub, g);
    MIP_FIELD_OPTION(*sub, g.pipeline.tester, input_dir,
                     "Bundled .mhl files (default <build-dir>/bundled)");
    MIP_FIELD_OPTION(*sub, g.pipeline.tester, work_dir,
                     "Where <wheel>.work/test.log goes (default <build-dir>/prepared)");
    sub->callback([&g]() { g.action = [&g]() { return print_stage(g, run_test(g.pipeline)); }; });
}

}  // namespace mip::cli
