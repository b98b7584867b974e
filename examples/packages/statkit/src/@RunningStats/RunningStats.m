classdef RunningStats
%RUNNINGSTATS Welford's running mean and variance.
    properties
        n = 0
        m = 0
        s = 0
    end
    methods
        function obj = push(obj, x)
            obj.n = obj.n + 1;
            d = x - obj.m;
            obj.m = obj.m + d / obj.n;
            obj.s = obj.s + d * (x - obj.m);
        end
        function v = mean(obj)
            v = obj.m;
        end
        function v = var(obj)
            v = obj.s / max(obj.n - 1, 1);
        end
    end
end
