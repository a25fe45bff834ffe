// The attack's RBF C-SVC (rbf_svc.c), called through the addon's N-API wrappers in unprune_blas.c.
#ifndef UNPRUNE_RBF_SVC_H
#define UNPRUNE_RBF_SVC_H

/** Solves the two-class C-SVC dual for rows x (l × dims, row-major) with labels y (±1); alpha_out gets α (≥ 0) per
 *  row, *rho the bias. Returns 0 when memory ran out. */
int rbf_svc_solve(int l, int dims, const double *x, const signed char *y, double C, double gamma, double eps,
                  double *alpha_out, double *rho, long *iterations);

/** out[r] = Σ_v coef[v]·exp(−gamma·‖q_r − sv_v‖²) − rho for n query rows, as libsvm sums it; with signs_only, a
 *  value whose sign is certain may be off in its last digits (predictions need only the signs). */
void rbf_svc_decisions(int n, int dims, const double *q, int count, const double *sv, const double *coef, double gamma,
                       double rho, int signs_only, double *out);

#endif
