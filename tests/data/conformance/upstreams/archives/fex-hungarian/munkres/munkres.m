function [assignment, cost] = munkres(costMat)
% MUNKRES  optimal assignment (stand-in: exhaustive over permutations, small matrices only).
n = size(costMat, 1);
p = perms(1:n);
best = inf;
assignment = [];
for k = 1:size(p, 1)
    c = sum(costMat(sub2ind(size(costMat), 1:n, p(k, :))));
    if c < best
        best = c;
        assignment = p(k, :);
    end
end
cost = best;
end
