function r = fastdot(a, b)
%FASTDOT Dot product of two real double vectors of equal length (a C MEX function).
%   R = FASTDOT(A, B) returns sum(A(:) .* B(:)) as a double scalar. A and B must be real,
%   full, double vectors with the same number of elements; their orientations may differ.
%
%   Example:
%       r = fastdot([1 2 3], [4 5 6])   % r = 32
%
%   This file holds the help text only: the compiled MEX file in this folder takes precedence.
error('fastdot:notCompiled', 'fastdot: the MEX file is missing; run compile.m first');
end
