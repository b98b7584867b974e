% compile.m - builds the fastdot MEX function. `mip-build compile` runs this script with the
% package's .dir as the current folder, in MATLAB (`matlab -batch`, giving fastdot.mexa64 and
% friends) or GNU Octave (`octave-cli --eval`, giving fastdot.mex). Write `mex` the MATLAB way:
% under Octave, mip-build maps MATLAB's options onto mkoctfile (docs/compile.md). An error here
% fails the compile stage for this package.
here = fileparts(mfilename('fullpath'));
cd(fullfile(here, 'fastdot'));
mex -largeArrayDims -O CFLAGS='$CFLAGS -std=c99' fastdot.c
cd(here);
