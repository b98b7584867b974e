% Builds the kdtree MEX files (MATLAB's mex calling convention).
fprintf('Compiling the kdtree MEX files...\n');

kdtree_path = fullfile(fileparts(mfilename('fullpath')), 'kdtree');

original_dir = pwd;
cd(kdtree_path);

try
    cpp_files = dir('*.cpp');
    for i = 1:length(cpp_files)
        cpp_file = cpp_files(i).name;
        fprintf('  %s\n', cpp_file);
        mex('CXXFLAGS=$CXXFLAGS -std=c++14', cpp_file);
    end
catch ME
    cd(original_dir);
    rethrow(ME);
end

cd(original_dir);
