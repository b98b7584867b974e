function v = mathutils_private_version()
v = '1.2.0';
end
