function r = sphere_area(x)
% SPHERE_AREA  stand-in for the conformance suite.
r = 4 * pi * x ^ 2;
end
