// idx = kdtree_k_nearest_neighbors(points, query, k): 1-based indices of the k points nearest
// to the row vector query, nearest first (stand-in).
#include "MyHeaps.h"
#include "mex.h"

void mexFunction(int nlhs, mxArray* plhs[], int nrhs, const mxArray* prhs[]) {
    if (nrhs != 3) {
        mexErrMsgTxt("kdtree_k_nearest_neighbors(points, query, k)");
    }
    const double* p = mxGetPr(prhs[0]);
    const double* q = mxGetPr(prhs[1]);
    const auto n = mxGetM(prhs[0]);
    const auto d = mxGetN(prhs[0]);
    const auto k = static_cast<std::size_t>(mxGetScalar(prhs[2]));
    MaxHeap heap(k);
    for (mwSize i = 0; i < n; ++i) {
        double dist = 0;
        for (mwSize c = 0; c < d; ++c) {
            const double diff = p[i + c * n] - q[c];
            dist += diff * diff;
        }
        heap.push(dist, static_cast<int>(i));
    }
    if (!heap.valid()) {
        mexErrMsgTxt("heap property lost");
    }
    const auto best = heap.sorted();
    plhs[0] = mxCreateDoubleMatrix(best.size(), 1, mxREAL);
    double* out = mxGetPr(plhs[0]);
    for (std::size_t i = 0; i < best.size(); ++i) {
        out[i] = best[i].second + 1;
    }
}
