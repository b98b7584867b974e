function r = hifie2(x)
% HIFIE2  stand-in for the conformance suite.
r = 2 * x;
end
