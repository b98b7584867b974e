% Builds the kdtree MEX functions (MATLAB's mex calling convention).
fprintf('Compiling the kdtree MEX files...\n');

% The toolbox folder, found from this script's location.
toolbox_dir = fullfile(fileparts(mfilename('fullpath')), 'kdtree/toolbox');

start_dir = pwd;
cd(toolbox_dir);

try
    sources = dir('*.cpp');
    for i = 1:length(sources)
        source = sources(i).name;
        fprintf('  %s\n', source);
        mex('CXXFLAGS=$CXXFLAGS -std=c++11', source);
    end
    fprintf('kdtree: done.\n');
catch err
    cd(start_dir);
    rethrow(err);
end

cd(start_dir);
