function v = mathutils_version()
%MATHUTILS_VERSION Version string of the mathutils package.
v = mathutils_private_version();
end
