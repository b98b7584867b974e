function z = statkit_zscore(x)
%STATKIT_ZSCORE Robust z-score: (x - median) / (1.4826 * MAD).
    x = x(:);
    m = median(x);
    s = 1.4826 * median(abs(x - m));
    if s == 0
        s = 1;
    end
    z = (x - m) / s;
end
