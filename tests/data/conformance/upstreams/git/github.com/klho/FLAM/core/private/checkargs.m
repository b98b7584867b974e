function r = checkargs()
% CHECKARGS  stand-in for the conformance suite.
r = true;
end
