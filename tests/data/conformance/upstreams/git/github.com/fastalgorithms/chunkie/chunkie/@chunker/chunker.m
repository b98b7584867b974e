classdef chunker
end
