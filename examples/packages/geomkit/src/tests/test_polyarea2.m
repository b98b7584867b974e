function test_polyarea2()
assert(abs(polyarea2([0 1 1 0], [0 0 1 1]) - 1) < 1e-12);
end
