% fmm2d stand-in: nothing to compile yet (the real recipe's script is a placeholder too).
fprintf('fmm2d: no MEX files to build\n');
