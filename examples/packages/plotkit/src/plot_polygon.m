function h = plot_polygon(x, y)
%PLOT_POLYGON Draw a closed polygon and its bounding box.
h = plot([x x(1)], [y y(1)], '-');
b = bbox(x, y);
hold on
rectangle('Position', [b(1) b(2) b(3)-b(1) b(4)-b(2)], 'LineStyle', ':');
hold off
end
