// A max-heap of (distance, index) pairs, in the style of the upstream MyHeaps.h (C++11).
#pragma once
#include <algorithm>
#include <utility>
#include <vector>

class MaxHeap {
public:
    explicit MaxHeap(std::size_t capacity) : capacity_(capacity) {}
    void push(double distance, int index) {
        items_.emplace_back(distance, index);
        std::push_heap(items_.begin(), items_.end());
        if (items_.size() > capacity_) {
            std::pop_heap(items_.begin(), items_.end());
            items_.pop_back();
        }
    }
    std::vector<std::pair<double, int>> sorted() const {
        auto out = items_;
        std::sort_heap(out.begin(), out.end());
        return out;
    }
    bool valid() const { return std::is_heap(items_.begin(), items_.end()); }

private:
    std::size_t capacity_;
    std::vector<std::pair<double, int>> items_;
};
