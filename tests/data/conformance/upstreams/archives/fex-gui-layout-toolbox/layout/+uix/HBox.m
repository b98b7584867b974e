classdef HBox
end
