function r = chunkerfuncTest()
% CHUNKERFUNCTEST  stand-in for the conformance suite.
r = 0;
end
