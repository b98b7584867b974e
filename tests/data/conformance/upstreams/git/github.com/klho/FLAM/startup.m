% Adds FLAM's folders (the upstream startup.m does the same for its tree).
flam_root = fileparts(mfilename('fullpath'));
addpath(fullfile(flam_root, 'core'));
addpath(fullfile(flam_root, 'hifie'));
addpath(fullfile(flam_root, 'hifie', 'kernels'));
clear flam_root
