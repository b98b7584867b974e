function check_vector(x)
%CHECK_VECTOR Errors unless x is a numeric vector.
    if ~isnumeric(x) || ~isvector(x)
        error('statkit:notVector', 'expected a numeric vector');
    end
end
