/* fastdot.c - r = fastdot(a, b): dot product of two real double vectors of equal length.
 *
 * A C MEX function for MATLAB and GNU Octave. It uses only the MEX API both provide (the
 * separate-complex API, MATLAB's default), so `mex fastdot.c` builds it in either. */
#include <stddef.h>

#include "mex.h"

static void check_vector(const mxArray* a, const char* which) {
    if (!mxIsDouble(a) || mxIsComplex(a) || mxIsSparse(a)) {
        mexErrMsgIdAndTxt("fastdot:type", "%s must be a real, full double array", which);
    }
    if (mxGetNumberOfDimensions(a) != 2 || (mxGetM(a) > 1 && mxGetN(a) > 1)) {
        mexErrMsgIdAndTxt("fastdot:shape", "%s must be a vector", which);
    }
}

void mexFunction(int nlhs, mxArray* plhs[], int nrhs, const mxArray* prhs[]) {
    if (nrhs != 2) {
        mexErrMsgIdAndTxt("fastdot:nargin", "expected 2 inputs, got %d", nrhs);
    }
    if (nlhs > 1) {
        mexErrMsgIdAndTxt("fastdot:nargout", "returns one output");
    }
    check_vector(prhs[0], "the first input");
    check_vector(prhs[1], "the second input");
    const size_t n = mxGetNumberOfElements(prhs[0]);
    if (mxGetNumberOfElements(prhs[1]) != n) {
        mexErrMsgIdAndTxt("fastdot:size", "inputs have %lu and %lu elements",
                          (unsigned long)n, (unsigned long)mxGetNumberOfElements(prhs[1]));
    }
    const double* a = mxGetPr(prhs[0]);
    const double* b = mxGetPr(prhs[1]);
    double sum = 0.0;
    for (size_t i = 0; i < n; ++i) {
        sum += a[i] * b[i];
    }
    plhs[0] = mxCreateDoubleScalar(sum);
}
