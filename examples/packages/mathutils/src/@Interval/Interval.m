classdef Interval
    %INTERVAL A closed interval [lo, hi].
    properties
        lo
        hi
    end
    methods
        function obj = Interval(lo, hi)
            obj.lo = lo;
            obj.hi = hi;
        end
        function w = width(obj)
            w = obj.hi - obj.lo;
        end
    end
end
