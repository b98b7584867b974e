function r = layoutRoot()
%LAYOUTROOT Folder of the layout package.
r = fileparts(mfilename('fullpath'));
end
