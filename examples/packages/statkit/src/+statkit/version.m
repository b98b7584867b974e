function v = version()
%VERSION statkit's version string.
    v = '0.3.1';
end
