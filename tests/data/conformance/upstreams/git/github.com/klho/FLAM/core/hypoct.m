function r = hypoct()
% HYPOCT  stand-in for the conformance suite.
r = 'hypoct';
end
