% test_plotkit.m - the test stage's test of plotkit (and of geomkit and mathutils beneath it).
% It runs after the package and its dependencies were loaded the client's way.
b = bbox([0 2 1], [0 1 3]);
assert(isequal(b, [0 0 2 3]));
assert(exist('plot_polygon', 'file') == 2);
headless = exist('OCTAVE_VERSION', 'builtin') && isempty(available_graphics_toolkits());
if headless
    disp('plotkit: no graphics toolkit; plot_polygon not drawn');
else
    set(0, 'DefaultFigureVisible', 'off');
    h = plot_polygon([0 1 1 0], [0 0 1 1]);
    assert(ishghandle(h));
    close all;
end
