function r = tracking()
% TRACKING  stand-in for the conformance suite.
r = 'off';
end
