function r = sk_rms(x)
%SK_RMS Root mean square.
    r = sqrt(mean(abs(x(:)).^2));
end
