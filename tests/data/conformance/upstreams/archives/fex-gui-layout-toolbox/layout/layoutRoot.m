function r = layoutRoot()
% LAYOUTROOT  stand-in for the conformance suite.
r = fileparts(mfilename('fullpath'));
end
