// idx = kdtree_nearest_neighbor(points, query): 1-based index of the point nearest to each row
// of query (stand-in: an exhaustive search through MyHeaps.h).
#include "MyHeaps.h"
#include "mex.h"

void mexFunction(int nlhs, mxArray* plhs[], int nrhs, const mxArray* prhs[]) {
    if (nrhs != 2) {
        mexErrMsgTxt("kdtree_nearest_neighbor(points, query)");
    }
    const double* p = mxGetPr(prhs[0]);
    const double* q = mxGetPr(prhs[1]);
    const auto n = mxGetM(prhs[0]);
    const auto d = mxGetN(prhs[0]);
    const auto m = mxGetM(prhs[1]);
    plhs[0] = mxCreateDoubleMatrix(m, 1, mxREAL);
    double* out = mxGetPr(plhs[0]);
    for (mwSize j = 0; j < m; ++j) {
        MaxHeap heap(1);
        for (mwSize i = 0; i < n; ++i) {
            double dist = 0;
            for (mwSize k = 0; k < d; ++k) {
                const double diff = p[i + k * n] - q[j + k * m];
                dist += diff * diff;
            }
            heap.push(dist, static_cast<int>(i));
        }
        out[j] = heap.sorted().front().second + 1;
    }
}
