classdef surfacefun
end
