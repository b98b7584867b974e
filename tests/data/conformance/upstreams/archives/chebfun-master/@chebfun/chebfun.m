classdef chebfun
end
