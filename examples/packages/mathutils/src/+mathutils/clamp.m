function y = clamp(x, lo, hi)
%CLAMP Limit x to the range [lo, hi].
y = min(max(x, lo), hi);
end
