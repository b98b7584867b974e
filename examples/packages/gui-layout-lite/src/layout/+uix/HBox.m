classdef HBox < handle
    %HBOX Arrange children horizontally.
    properties
        Children = {}
    end
end
