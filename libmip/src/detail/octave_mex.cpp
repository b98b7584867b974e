#include "detail/octave_mex.hpp"

#include "detail/fs.hpp"

namespace mip::detail {

namespace {

// The shim is Octave code (it only ever runs in Octave): unwind_protect restores the environment
// mkoctfile reads its flags from. Keep it in step with docs/compile.md.
const char* const shim_text = R"octave(function varargout = mex(varargin)
% MEX  MATLAB's mex calling convention on GNU Octave, written by libmip (mip-build compile).
%
%   Maps the MATLAB form onto mkoctfile --mex: NAME=value assignments of the variables listed in
%   KNOWN below ($NAME in a value expands to its current value), -largeArrayDims,
%   -compatibleArrayDims, -R2017b, -R2018a, -O, -g, -v, -silent, -c, -outdir DIR, -output NAME,
%   -Idir, -Ldir, -llib (-lmwblas and -lmwlapack become Octave's BLAS and LAPACK), -DNAME[=value],
%   -UNAME, and C, C++ and Fortran sources, objects and libraries. Anything else is an error
%   naming it. The result is NAME.mex (Octave's MEX extension), in -outdir or the current folder.
  known = {'CC', 'CXX', 'FC', 'CFLAGS', 'CXXFLAGS', 'FFLAGS', 'CPPFLAGS', 'LDFLAGS', ...
           'COPTIMFLAGS', 'CXXOPTIMFLAGS', 'FOPTIMFLAGS', 'LDOPTIMFLAGS', ...
           'CDEBUGFLAGS', 'CXXDEBUGFLAGS', 'FDEBUGFLAGS', 'LDDEBUGFLAGS', ...
           'COMPFLAGS', 'LINKFLAGS', 'LINKLIBS', 'DEFINES', 'INCLUDE'};
  assigned = struct();
  outdir = '';
  output = '';
  debug = false;
  optimize = false;
  compile_only = false;
  flags = {};
  files = {};
  undefs = {};
  i = 1;
  while i <= numel(varargin)
    a = varargin{i};
    if ~ischar(a) || (~isempty(a) && ~isrow(a))
      error('mex: argument %d is not a character string', i);
    end
    tok = regexp(a, '^([A-Za-z_][A-Za-z0-9_]*)=(.*)$', 'tokens', 'once');
    if ~isempty(tok)
      name = tok{1};
      if ~any(strcmp(name, known))
        error(['mex: the variable %s (in ''%s'') is not supported by libmip''s mex for ', ...
               'GNU Octave; supported: %s'], name, a, strjoin(known, ' '));
      end
      assigned.(name) = expand_value(strip_quotes(tok{2}), a, assigned, known);
      i = i + 1;
      continue;
    end
    switch a
      case {'-largeArrayDims', '-compatibleArrayDims', '-silent'}
        % Octave's MEX API always has large array dimensions; quiet is the default.
      case {'-R2017b', '-R2018a'}
        flags{end+1} = a;
      case '-O'
        optimize = true;
      case '-g'
        debug = true;
        flags{end+1} = '-g';
      case '-v'
        flags{end+1} = '-v';
      case '-c'
        compile_only = true;
        flags{end+1} = '-c';
      case {'-outdir', '-output'}
        if i == numel(varargin) || isempty(varargin{i+1}) || ~ischar(varargin{i+1})
          error('mex: %s needs a value', a);
        end
        if strcmp(a, '-outdir')
          outdir = varargin{i+1};
        else
          output = varargin{i+1};
        end
        i = i + 1;
      otherwise
        [flags, files, undefs] = classify(a, flags, files, undefs);
    end
    i = i + 1;
  end
  % DEFINES and INCLUDE (before the sources) and LINKLIBS (after them) hold arguments too.
  for v = {'DEFINES', 'INCLUDE', 'LINKLIBS'}
    if isfield(assigned, v{1})
      words = strsplit(strtrim(assigned.(v{1})));
      for w = words(~cellfun(@isempty, words))
        [flags, files, undefs] = classify(w{1}, flags, files, undefs);
      end
    end
  end
  sources = files(~cellfun(@isempty, regexp(files, ...
      '\.(c|C|cc|cpp|cxx|c\+\+|f|F|for|f90|F90|o)$', 'once')));
  if isempty(sources)
    error('mex: no C, C++ or Fortran source file given');
  end
  if compile_only && (~isempty(outdir) || ~isempty(output))
    error('mex: -c cannot be combined with -outdir or -output here');
  end
  % -UNAME drops this call's -DNAME and undefines NAME after the compiler's own flags.
  for u = undefs
    keep = true(size(flags));
    for k = 1:numel(flags)
      f = flags{k};
      keep(k) = ~(strcmp(f, ['-D' u{1}]) || strncmp(f, ['-D' u{1} '='], numel(u{1}) + 3));
    end
    flags = flags(keep);
  end
  undef_flags = strjoin(strcat('-U', undefs), ' ');

  % The variables mkoctfile reads from the environment, composed as MATLAB composes its own.
  opt = optimize || ~debug;
  values = struct();
  values.CC = current_value('CC', assigned);
  values.CXX = current_value('CXX', assigned);
  values.F77 = current_value('FC', assigned);
  values.CPPFLAGS = current_value('CPPFLAGS', assigned);
  values.CFLAGS = join_words({current_value('CFLAGS', assigned), ...
      current_value('COMPFLAGS', assigned), choose(opt, debug, 'COPTIMFLAGS', 'CDEBUGFLAGS', ...
      assigned), undef_flags});
  values.CXXFLAGS = join_words({current_value('CXXFLAGS', assigned), ...
      current_value('COMPFLAGS', assigned), choose(opt, debug, 'CXXOPTIMFLAGS', ...
      'CXXDEBUGFLAGS', assigned), undef_flags});
  values.FFLAGS = join_words({current_value('FFLAGS', assigned), ...
      choose(opt, debug, 'FOPTIMFLAGS', 'FDEBUGFLAGS', assigned)});
  values.LDFLAGS = join_words({current_value('LDFLAGS', assigned), ...
      current_value('LINKFLAGS', assigned), choose(opt, debug, 'LDOPTIMFLAGS', ...
      'LDDEBUGFLAGS', assigned)});

  args = [{'--mex'}, flags];
  target = '';
  if ~compile_only
    if isempty(output)
      [~, stem] = fileparts(sources{1});
    else
      stem = regexprep(output, '\.(mex[a-z0-9]*|oct)$', '');
    end
    target = [stem '.mex'];
    if ~isempty(outdir)
      if ~exist(outdir, 'dir')
        [ok, msg] = mkdir(outdir);
        if ~ok
          error('mex: cannot create -outdir %s: %s', outdir, msg);
        end
      end
      target = fullfile(outdir, target);
    end
    args = [args, {'-o', target}];
  end
  args = [args, files];

  names = fieldnames(values);
  saved = cell(size(names));
  changed = false(size(names));
  for k = 1:numel(names)
    saved{k} = getenv(names{k});
    default = strtrim(mkoctfile('-p', names{k}));
    changed(k) = ~strcmp(strtrim(values.(names{k})), default);
    if changed(k)
      setenv(names{k}, values.(names{k}));
    end
  end
  printf('Building with mkoctfile (GNU Octave): %s\n', strjoin(args(2:end), ' '));
  unwind_protect
    [out, status] = mkoctfile(args{:});
  unwind_protect_cleanup
    for k = find(changed(:)')
      if isempty(saved{k})
        unsetenv(names{k});
      else
        setenv(names{k}, saved{k});
      end
    end
  end_unwind_protect
  if ~isempty(out)
    printf('%s', out);
    if out(end) ~= "\n"
      printf('\n');
    end
  end
  if status ~= 0 && nargout == 0
    error('mex: building %s failed (mkoctfile exit status %d); the compiler''s messages are above', ...
          strjoin(sources, ' '), status);
  end
  if status == 0
    printf('MEX completed successfully.\n');
  end
  if nargout > 0
    varargout{1} = status;
  end
end

function [flags, files, undefs] = classify(a, flags, files, undefs)
  if isempty(a)
    return;
  end
  if a(1) ~= '-'
    if isempty(regexp(a, '\.(c|C|cc|cpp|cxx|c\+\+|f|F|for|f90|F90|o|a|so)$', 'once'))
      error(['mex: ''%s'' is not a C, C++ or Fortran source, an object file or a library ', ...
             '(.c .cpp .cc .cxx .f .F .f90 .F90 .o .a .so)'], a);
    end
    files{end+1} = a;
    return;
  end
  kind = '';
  if numel(a) > 2
    kind = a(2);
  end
  switch kind
    case {'I', 'L'}
      flags{end+1} = a;
    case 'D'
      flags{end+1} = regexprep(a, '#', '=', 'once');  % MATLAB's -DNAME#VALUE form too
    case 'U'
      undefs{end+1} = a(3:end);
    case 'l'
      lib = a(3:end);
      switch lib
        case {'mx', 'mex'}
          % Octave links its MEX API itself.
        case 'mwblas'
          flags = [flags, words_of(mkoctfile('-p', 'BLAS_LIBS'))];
        case 'mwlapack'
          flags = [flags, words_of(mkoctfile('-p', 'LAPACK_LIBS')), ...
                   words_of(mkoctfile('-p', 'BLAS_LIBS'))];
        otherwise
          if strncmp(lib, 'mw', 2) || any(strcmp(lib, {'mat', 'eng', 'ut'}))
            error('mex: the MATLAB library %s (-l%s) does not exist under GNU Octave', lib, lib);
          end
          flags{end+1} = a;
      end
    otherwise
      error('mex: option ''%s'' is not supported by libmip''s mex for GNU Octave', a);
  end
end

function value = current_value(name, assigned)
  % The value a $NAME refers to: this call's assignment, else Octave's (mkoctfile -p), else ''.
  if isfield(assigned, name)
    value = assigned.(name);
  elseif any(strcmp(name, {'CC', 'CXX', 'CFLAGS', 'CXXFLAGS', 'FFLAGS', 'CPPFLAGS', 'LDFLAGS'}))
    value = strtrim(mkoctfile('-p', name));
  elseif strcmp(name, 'FC')
    value = strtrim(mkoctfile('-p', 'F77'));
  else
    value = '';
  end
end

function value = choose(opt, debug, optim_name, debug_name, assigned)
  parts = {};
  if opt
    parts{end+1} = current_value(optim_name, assigned);
  end
  if debug
    parts{end+1} = current_value(debug_name, assigned);
  end
  value = join_words(parts);
end

function value = expand_value(value, arg, assigned, known)
  [toks, rest] = regexp(value, '\$([A-Za-z_][A-Za-z0-9_]*)', 'tokens', 'split');
  out = rest{1};
  for k = 1:numel(toks)
    ref = toks{k}{1};
    if strcmp(ref, 'MATLABROOT')
      sub = matlabroot();
    elseif any(strcmp(ref, known))
      sub = current_value(ref, assigned);
    else
      error('mex: $%s (in ''%s'') is not a variable libmip''s mex for GNU Octave knows', ref, arg);
    end
    out = [out sub rest{k+1}];
  end
  value = out;
end

function value = strip_quotes(value)
  if numel(value) >= 2 && any(value(1) == '''"') && value(end) == value(1)
    value = value(2:end-1);
  end
end

function value = join_words(parts)
  parts = cellfun(@strtrim, parts, 'UniformOutput', false);
  value = strjoin(parts(~cellfun(@isempty, parts)), ' ');
end

function words = words_of(text)
  words = strsplit(strtrim(text));
  words = words(~cellfun(@isempty, words));
end
)octave";

}  // namespace

const std::string& octave_mex_shim() {
    static const std::string text = shim_text;
    return text;
}

std::string install_octave_mex_shim(const fs::path& dir) {
    create_dirs(dir);
    write_file_atomic(dir / "mex.m", octave_mex_shim(), false);
    std::string quoted;
    for (char c : fs::absolute(dir).lexically_normal().string()) {
        quoted += c;
        if (c == '\'') {
            quoted += '\'';
        }
    }
    return "warning('off', 'Octave:shadowed-function'); addpath('" + quoted +
           "'); warning('on', 'Octave:shadowed-function'); ";
}

}  // namespace mip::detail
