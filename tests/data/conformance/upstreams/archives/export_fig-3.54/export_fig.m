function r = export_fig()
% EXPORT_FIG  stand-in for the conformance suite.
r = 'exported';
end
