function r = hatchfill2()
% HATCHFILL2  stand-in for the conformance suite.
r = 'hatched';
end
