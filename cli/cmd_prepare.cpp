// mip-build prepare: run each recipe into <build-dir>/prepared/<wheel>.dir.
#include "app.hpp"

namespace mip::cli {

void add_prepare_command(CLI::App& app, GlobalOptions& g) {
    auto* sub =
        app.add_subcommand("prepare", "Run each recipe into <build-dir>/prepared/<wheel>.dir");
    add_recipe_options(*sub, g);
    add_selection_options(*sub, g);
    add_store_options(*sub, g);
    add_pass_env_option(*sub, g);
    auto& p = g.pipeline.prepare;
    MIP_FIELD_OPTION(*sub, p, output_dir, "Where .dir/.work go (default <build-dir>/prepared)");
    MIP_FIELD_OPTION(*sub, p, from_lock, "Prepare again exactly what a mip.lock.yaml records")
        ->type_name("FILE");
    MIP_FIELD_POSITIONAL(*sub, p, recipe_dir,
                         "With --from-lock: the recipe directory (default: recipe/ beside the "
                         "lock)")
        ->type_name("RECIPE_DIR");
    MIP_FIELD_OPTION(*sub, p, tag_prefix,
                     "Prefix of the rewritten version tags (versions never carry it)")
        ->type_name("P");
    MIP_FIELD_OPTION(*sub, p, abbrev, "Commit digits in git-derived versions")
        ->check(CLI::Range(7, 40))
        ->capture_default_str();
    MIP_FIELD_FLAG(*sub, p, strict_toolchain,
                   "With --from-lock: a toolchain difference is an error");
    sub->callback(
        [&g]() { g.action = [&g]() { return print_stage(g, run_prepare(g.pipeline)); }; });
}

}  // namespace mip::cli
