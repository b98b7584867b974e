function r = chunkerfunc(x)
% CHUNKERFUNC  stand-in for the conformance suite.
r = x + 1;
end
