function r = chunkerinterior(x)
% CHUNKERINTERIOR  stand-in for the conformance suite.
r = x > 0;
end
