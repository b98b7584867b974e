/* Peak envelope kernel for sk_envelope (compile with `mex sk_envelope_mex.c`). */
#include "mex.h"
#include <math.h>

void mexFunction(int nlhs, mxArray *plhs[], int nrhs, const mxArray *prhs[]) {
    if (nrhs != 1 || !mxIsDouble(prhs[0])) {
        mexErrMsgIdAndTxt("signalkit:args", "expected one double array");
    }
    mwSize n = mxGetNumberOfElements(prhs[0]);
    const double *x = mxGetPr(prhs[0]);
    plhs[0] = mxCreateDoubleMatrix(mxGetM(prhs[0]), mxGetN(prhs[0]), mxREAL);
    double *e = mxGetPr(plhs[0]);
    for (mwSize k = 0; k < n; ++k) {
        double a = fabs(x[k]);
        e[k] = (k > 0 && 0.99 * e[k - 1] > a) ? 0.99 * e[k - 1] : a;
    }
    (void)nlhs;
}
