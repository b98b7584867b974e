function r = Kfun(x)
% KFUN  stand-in for the conformance suite.
r = x .^ 2;
end
