function y = sk_movavg(x, n)
%SK_MOVAVG Moving average over n samples (causal).
    y = filter(ones(1, n) / n, 1, x);
end
