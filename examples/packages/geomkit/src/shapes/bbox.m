function b = bbox(x, y)
%BBOX Axis-aligned bounding box [xmin ymin xmax ymax].
b = [min(x), min(y), max(x), max(y)];
end
