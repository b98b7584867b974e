function y = lerp(a, b, t)
%LERP Linear interpolation between a and b.
y = a + (b - a) .* t;
end
