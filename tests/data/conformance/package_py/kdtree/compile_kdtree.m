% Builds the kdtree MEX files with a plain mex call per source.
fprintf('Compiling the kdtree MEX files...\n');

kdtree_path = fullfile(fileparts(mfilename('fullpath')), 'kdtree');

original_dir = pwd;
cd(kdtree_path);

try
    cpp_files = dir('*.cpp');
    for i = 1:length(cpp_files)
        cpp_file = cpp_files(i).name;
        fprintf('  %s\n', cpp_file);
        mex(cpp_file);
    end
catch ME
    cd(original_dir);
    rethrow(ME);
end

cd(original_dir);
