// mip-build publish: prepare → compile → bundle → test → upload → index.
#include <iostream>

#include "app.hpp"

namespace mip::cli {

void add_publish_command(CLI::App& app, GlobalOptions& g) {
    auto* sub = app.add_subcommand("publish",
                                   "All stages in order: prepare, compile, bundle, test, upload, "
                                   "index");
    add_recipe_options(*sub, g);
    add_selection_options(*sub, g);
    add_store_options(*sub, g);
    add_compile_options(*sub, g);
    add_test_mode_option(*sub, g);
    add_test_options(*sub, g);
    add_pass_env_option(*sub, g);
    add_index_options(*sub, g);
    sub->callback([&g]() {
        g.action = [&g]() {
            auto report = run_publish(g.pipeline);
            if (g.json) {
                std::cout << report.to_json();
            } else {
                for (const auto& stage : report.stages) {
                    print_stage_lines(stage);
                }
            }
            int code = exit_ok;
            for (const auto& stage : report.stages) {
                if (code == exit_ok) {
                    code = stage_exit_code(g, stage);
                }
            }
            if (report.index) {
                if (!g.json) {
                    (void)print_index(g, *report.index);
                }
            } else if (!g.json) {
                std::cout
                    << "index: not assembled (a stage failed; the previous index stays valid)\n";
            }
            return code;
        };
    });
}

}  // namespace mip::cli
