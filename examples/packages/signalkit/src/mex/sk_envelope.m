function e = sk_envelope(x)
%SK_ENVELOPE Peak envelope; uses the sk_envelope_mex kernel when compiled.
    if exist('sk_envelope_mex', 'file') == 3
        e = sk_envelope_mex(x);
    else
        e = abs(x);
        for k = 2:numel(e)
            e(k) = max(e(k), 0.99 * e(k - 1));
        end
    end
end
