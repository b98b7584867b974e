function m = statkit_trimmean(x, percent)
%STATKIT_TRIMMEAN Mean after dropping percent/2 % of the values at each end.
    x = sort(x(:));
    k = floor(numel(x) * percent / 200);
    m = mean(x(k + 1:end - k));
end
