% compile.m - builds the fastdot MEX function. `mip-build compile` runs this script with the
% package's .dir as the current folder, in MATLAB (`matlab -batch`, giving fastdot.mexa64 and
% friends) or GNU Octave (`octave-cli --eval`, whose mex gives fastdot.mex). An error here fails
% the compile stage for this package.
here = fileparts(mfilename('fullpath'));
cd(fullfile(here, 'fastdot'));
mex fastdot.c
cd(here);
