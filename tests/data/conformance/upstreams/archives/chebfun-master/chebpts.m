function r = chebpts(n)
% CHEBPTS  stand-in for the conformance suite.
r = cos(pi * (n-1:-1:0) / (n - 1));
end
