function a = polyarea2(x, y)
%POLYAREA2 Signed area of a simple polygon (shoelace formula).
a = 0.5 * sum(x .* circshift(y, -1) - circshift(x, -1) .* y);
end
