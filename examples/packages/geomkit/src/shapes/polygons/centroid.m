function c = centroid(x, y)
%CENTROID Vertex centroid of a polygon.
c = [mean(x), mean(y)];
end
