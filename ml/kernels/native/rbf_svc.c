// A two-class RBF C-SVC that takes the same steps as scikit-learn's SVC (libsvm inside), so that its decisions are
// scikit-learn's: the SMO solver of Fan, Chen & Lin (JMLR 6, 2005: second-order working-set selection) with libsvm's
// shrinking, gradient reconstruction and bias (Chang & Lin, "LIBSVM: a library for support vector machines"), in
// libsvm's order of operations, with the kernel matrix rounded to float as libsvm caches it and glibc's exp as
// scikit-learn's build uses (the floats it gives; see kernel_floats). The caller (ml/metrics/rbf-svc.ts) orders the
// rows as scikit-learn does (grouped by sorted label, the first class +1). Built with -ffp-contract=off: no fused multiply-adds, as in libsvm's build.
// Why here: the membership-inference attack trains one SVC per evaluation on ~2,000 points, and libsvm-js (libsvm
// in wasm) spent ~90 ms per fit, ~20% of the quickstart's CPU time.
#include "rbf_svc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define TAU 1e-12
enum { LOWER, UPPER, FREE };

typedef struct {
  int l, dims, active, unshrink, permuted;
  double C, eps, gamma;
  const double *x, *xsq;
  const signed char *sign;  // the rows' labels in training order
  float *Q;                 // l × l by training row: y_r y_c K(x_r, x_c), rounded to float as libsvm's cache
  signed char *y, *status;
  int *at;  // the training row at each position (shrinking swaps positions)
  double *alpha, *G, *Gbar;
  float *buf[3];
} Svc;

// exp(v) eight lanes at a time: v = n·ln2 + r with |r| ≤ ln2/2, e^r by its Taylor series to r^12 (truncation below
// 6e-15 relative), times 2^n. Relative error well below 1e-14 for v in [−700, 0]; kernel_floats checks that every
// result it uses is far from a float rounding boundary, so this bound needs no tight proof.
#define TILE 64  // fill_q's tile side, and the most arguments kernel_floats takes at once
typedef double v8d __attribute__((vector_size(64)));
typedef float v8f __attribute__((vector_size(32)));
typedef long long v8l __attribute__((vector_size(64)));
typedef int v8i __attribute__((vector_size(32)));
typedef unsigned long long v8u __attribute__((vector_size(64)));
static inline v8d v8d_splat(double d) { return (v8d){d, d, d, d, d, d, d, d}; }

static inline v8d exp_lanes(v8d v) {
  const v8d lowest = v8d_splat(-700), shift = v8d_splat(6755399441055744.0);  // 1.5 · 2^52: rounds to an integer
  const v8l low = v < lowest;                                                 // all ones where v is below −700
  const v8d a = (v8d)(((v8l)lowest & low) | ((v8l)v & ~low));
  const v8d t = a * 1.4426950408889634 + shift;
  const v8d n = t - shift;
  const v8d r = (a - n * 0.6931471803691238) - n * 1.9082149292705877e-10;  // ln 2 in two parts
  v8d p = r * (1.0 / 479001600.0) + 1.0 / 39916800.0;
  p = p * r + 1.0 / 3628800.0;
  p = p * r + 1.0 / 362880.0;
  p = p * r + 1.0 / 40320.0;
  p = p * r + 1.0 / 5040.0;
  p = p * r + 1.0 / 720.0;
  p = p * r + 1.0 / 120.0;
  p = p * r + 1.0 / 24.0;
  p = p * r + 1.0 / 6.0;
  p = p * r + 0.5;
  p = p * r + 1.0;
  p = p * r + 1.0;
  // t's low bits hold n: 2^n built in the exponent field (n ≥ −1010 here, a normal number).
  const v8u scale = ((v8u)t - 0x4338000000000000ULL + 1023) << 52;
  return p * (v8d)scale;
}

// out[i] = (float)exp(arg[i]) with glibc's exp, as libsvm caches kernel values, for len ≤ TILE arguments. The fast
// value e is within 1e-14 of exp(arg) (glibc's own error is ~1e-16), so where e·(1 ± 1e-12) round to the same float,
// glibc's result rounds to it too; else (a few values in a million) glibc's exp decides.
static void kernel_floats(const double *arg, float *out, int len) {
  const v8d below = v8d_splat(1 - 1e-12), above = v8d_splat(1 + 1e-12), lowest = v8d_splat(-700);
  v8d x[TILE / 8], e[TILE / 8];
  const int vectors = (len + 7) / 8;
  memset(x, 0, sizeof x);
  memcpy(x, arg, sizeof(double) * len);
  // Independent lanes first (the polynomial's chain is long: several vectors in flight hide it), then the checks.
  for (int v = 0; v < vectors; v++) e[v] = exp_lanes(x[v]);
  for (int v = 0; v < vectors; v++) {
    const v8f f = __builtin_convertvector(e[v], v8f);
    const v8i same = (f == __builtin_convertvector(e[v] * below, v8f)) &
                     (f == __builtin_convertvector(e[v] * above, v8f)) & __builtin_convertvector(x[v] > lowest, v8i);
    const int m = len - 8 * v < 8 ? len - 8 * v : 8;
    for (int j = 0; j < m; j++) out[8 * v + j] = same[j] ? f[j] : (float)exp(x[v][j]);
  }
}

// All of Q at once, upper triangle by tiles mirrored into the lower: the attack's problems read nearly every entry
// (shrinking starts only after a thousand steps), and tiles keep the mirrored writes in cache. A tile row's kernel
// values go through the vectorised exp together (glibc's exp, one at a time, was a third of a fit).
static void fill_q(Svc *s) {
  const int l = s->l, dims = s->dims;
  double arg[TILE];
  float k[TILE];
  for (int r0 = 0; r0 < l; r0 += TILE)
    for (int c0 = r0; c0 < l; c0 += TILE)
      for (int r = r0; r < r0 + TILE && r < l; r++) {
        const double *xr = s->x + (size_t)r * dims;
        const int cs = c0 > r ? c0 : r, ce = c0 + TILE < l ? c0 + TILE : l;
        for (int c = cs; c < ce; c++) {
          double dot = 0;
          for (int d = 0; d < dims; d++) dot += xr[d] * s->x[(size_t)c * dims + d];
          arg[c - cs] = -s->gamma * (s->xsq[r] + s->xsq[c] - 2 * dot);
        }
        kernel_floats(arg, k, ce - cs);
        for (int c = cs; c < ce; c++) {
          const float v = s->sign[r] == s->sign[c] ? k[c - cs] : -k[c - cs];
          s->Q[(size_t)r * l + c] = v;
          s->Q[(size_t)c * l + r] = v;
        }
      }
}

// Q's column at position i over positions [0, len): the row itself until shrinking first permutes positions.
static const float *column(Svc *s, int i, int len, int which) {
  const float *Qr = s->Q + (size_t)s->at[i] * s->l;
  if (!s->permuted) return Qr;
  float *out = s->buf[which];
  for (int k = 0; k < len; k++) out[k] = Qr[s->at[k]];
  return out;
}

static void update_status(Svc *s, int i) {
  s->status[i] = s->alpha[i] >= s->C ? UPPER : s->alpha[i] <= 0 ? LOWER : FREE;
}

#define SWAP(T, a, b) \
  do {                \
    T t_ = (a);       \
    (a) = (b);        \
    (b) = t_;         \
  } while (0)

static void swap_index(Svc *s, int i, int j) {
  s->permuted = 1;
  SWAP(signed char, s->y[i], s->y[j]);
  SWAP(double, s->G[i], s->G[j]);
  SWAP(signed char, s->status[i], s->status[j]);
  SWAP(double, s->alpha[i], s->alpha[j]);
  SWAP(int, s->at[i], s->at[j]);
  SWAP(double, s->Gbar[i], s->Gbar[j]);
}

static void reconstruct_gradient(Svc *s) {
  const int l = s->l, active = s->active;
  if (active == l) return;
  for (int j = active; j < l; j++) s->G[j] = s->Gbar[j] + -1.0;
  int nr_free = 0;
  for (int j = 0; j < active; j++) nr_free += s->status[j] == FREE;
  if ((double)nr_free * l > 2.0 * active * (l - active)) {
    for (int i = active; i < l; i++) {
      const float *Qi = column(s, i, active, 0);
      for (int j = 0; j < active; j++)
        if (s->status[j] == FREE) s->G[i] += s->alpha[j] * Qi[j];
    }
  } else {
    for (int i = 0; i < active; i++) {
      if (s->status[i] != FREE) continue;
      const float *Qi = column(s, i, l, 0);
      const double ai = s->alpha[i];
      for (int j = active; j < l; j++) s->G[j] += ai * Qi[j];
    }
  }
}

// 1 when optimal within eps; else the pair in *oi, *oj.
static int select_working_set(Svc *s, int *oi, int *oj) {
  double Gmax = -INFINITY, Gmax2 = -INFINITY, obj_diff_min = INFINITY;
  int Gmax_idx = -1, Gmin_idx = -1;
  const double *G = s->G;
  for (int t = 0; t < s->active; t++) {
    if (s->y[t] == 1) {
      if (s->status[t] != UPPER && -G[t] >= Gmax) {
        Gmax = -G[t];
        Gmax_idx = t;
      }
    } else if (s->status[t] != LOWER && G[t] >= Gmax) {
      Gmax = G[t];
      Gmax_idx = t;
    }
  }
  const int i = Gmax_idx;
  const float *Qi = i == -1 ? NULL : column(s, i, s->active, 0);
  const double yi2 = i == -1 ? 0 : 2.0 * s->y[i];
  for (int j = 0; j < s->active; j++) {
    double grad_diff, quad;
    if (s->y[j] == 1) {
      if (s->status[j] == LOWER) continue;
      grad_diff = Gmax + G[j];
      if (G[j] >= Gmax2) Gmax2 = G[j];
      if (!(grad_diff > 0)) continue;
      quad = 1.0 + 1.0 - yi2 * Qi[j];
    } else {
      if (s->status[j] == UPPER) continue;
      grad_diff = Gmax - G[j];
      if (-G[j] >= Gmax2) Gmax2 = -G[j];
      if (!(grad_diff > 0)) continue;
      quad = 1.0 + 1.0 + yi2 * Qi[j];
    }
    const double obj_diff = quad > 0 ? -(grad_diff * grad_diff) / quad : -(grad_diff * grad_diff) / TAU;
    if (obj_diff <= obj_diff_min) {
      Gmin_idx = j;
      obj_diff_min = obj_diff;
    }
  }
  if (Gmax + Gmax2 < s->eps || Gmin_idx == -1) return 1;
  *oi = Gmax_idx;
  *oj = Gmin_idx;
  return 0;
}

static int be_shrunk(const Svc *s, int i, double Gmax1, double Gmax2) {
  if (s->status[i] == UPPER) return s->y[i] == 1 ? -s->G[i] > Gmax1 : -s->G[i] > Gmax2;
  if (s->status[i] == LOWER) return s->y[i] == 1 ? s->G[i] > Gmax2 : s->G[i] > Gmax1;
  return 0;
}

static void do_shrinking(Svc *s) {
  double Gmax1 = -INFINITY, Gmax2 = -INFINITY;
  const double *G = s->G;
  for (int i = 0; i < s->active; i++) {
    if (s->y[i] == 1) {
      if (s->status[i] != UPPER && -G[i] >= Gmax1) Gmax1 = -G[i];
      if (s->status[i] != LOWER && G[i] >= Gmax2) Gmax2 = G[i];
    } else {
      if (s->status[i] != UPPER && -G[i] >= Gmax2) Gmax2 = -G[i];
      if (s->status[i] != LOWER && G[i] >= Gmax1) Gmax1 = G[i];
    }
  }
  if (!s->unshrink && Gmax1 + Gmax2 <= s->eps * 10) {
    s->unshrink = 1;
    reconstruct_gradient(s);
    s->active = s->l;
  }
  for (int i = 0; i < s->active; i++) {
    if (!be_shrunk(s, i, Gmax1, Gmax2)) continue;
    s->active--;
    while (s->active > i) {
      if (!be_shrunk(s, s->active, Gmax1, Gmax2)) {
        swap_index(s, i, s->active);
        break;
      }
      s->active--;
    }
  }
}

// Gbar = Σ over α at the upper bound of C·Q's column: follows row `i` entering or leaving that bound.
static void gbar_follow(Svc *s, int i, int was_upper) {
  if (was_upper == (s->status[i] == UPPER)) return;
  const float *Q = column(s, i, s->l, 1);
  const double C = was_upper ? -s->C : s->C;
  for (int k = 0; k < s->l; k++) s->Gbar[k] += C * Q[k];
}

static void take_step(Svc *s, int i, int j) {
  const double C = s->C;
  double *alpha = s->alpha, *G = s->G;
  const float *Qi = column(s, i, s->active, 1);
  const float *Qj = column(s, j, s->active, 2);
  const double old_ai = alpha[i], old_aj = alpha[j];
  if (s->y[i] != s->y[j]) {
    double quad = 1.0 + 1.0 + 2 * Qi[j];
    if (quad <= 0) quad = TAU;
    const double delta = (-G[i] - G[j]) / quad;
    const double diff = alpha[i] - alpha[j];
    alpha[i] += delta;
    alpha[j] += delta;
    if (diff > 0) {
      if (alpha[j] < 0) {
        alpha[j] = 0;
        alpha[i] = diff;
      }
    } else if (alpha[i] < 0) {
      alpha[i] = 0;
      alpha[j] = -diff;
    }
    if (diff > 0) {  // libsvm: diff > C_i − C_j, and C_i = C_j here
      if (alpha[i] > C) {
        alpha[i] = C;
        alpha[j] = C - diff;
      }
    } else if (alpha[j] > C) {
      alpha[j] = C;
      alpha[i] = C + diff;
    }
  } else {
    double quad = 1.0 + 1.0 - 2 * Qi[j];
    if (quad <= 0) quad = TAU;
    const double delta = (G[i] - G[j]) / quad;
    const double sum = alpha[i] + alpha[j];
    alpha[i] -= delta;
    alpha[j] += delta;
    if (sum > C) {
      if (alpha[i] > C) {
        alpha[i] = C;
        alpha[j] = sum - C;
      }
    } else if (alpha[j] < 0) {
      alpha[j] = 0;
      alpha[i] = sum;
    }
    if (sum > C) {
      if (alpha[j] > C) {
        alpha[j] = C;
        alpha[i] = sum - C;
      }
    } else if (alpha[i] < 0) {
      alpha[i] = 0;
      alpha[j] = sum;
    }
  }
  const double dai = alpha[i] - old_ai, daj = alpha[j] - old_aj;
  for (int k = 0; k < s->active; k++) G[k] += Qi[k] * dai + Qj[k] * daj;
  const int ui = s->status[i] == UPPER, uj = s->status[j] == UPPER;
  update_status(s, i);
  update_status(s, j);
  gbar_follow(s, i, ui);
  gbar_follow(s, j, uj);
}

static double calculate_rho(const Svc *s) {
  int nr_free = 0;
  double ub = INFINITY, lb = -INFINITY, sum_free = 0;
  for (int i = 0; i < s->active; i++) {
    const double yG = s->y[i] * s->G[i];
    if (s->status[i] == UPPER) {
      if (s->y[i] == -1)
        ub = fmin(ub, yG);
      else
        lb = fmax(lb, yG);
    } else if (s->status[i] == LOWER) {
      if (s->y[i] == 1)
        ub = fmin(ub, yG);
      else
        lb = fmax(lb, yG);
    } else {
      nr_free++;
      sum_free += yG;
    }
  }
  return nr_free > 0 ? sum_free / nr_free : (ub + lb) / 2;
}

// Q's storage, kept from fit to fit (one fit at a time per process: the addon's calls come from one thread). A fresh
// 16 MB block for each of the attack's fits was a third of a quickstart's page faults, ~12 µs each on the VMs measured.
static float *q_store = NULL;
static size_t q_capacity = 0;

static float *q_block(size_t floats) {
  if (floats <= q_capacity) return q_store;
  free(q_store);
  q_store = malloc(sizeof(float) * floats);
  q_capacity = q_store ? floats : 0;
  return q_store;
}

int rbf_svc_solve(int l, int dims, const double *x, const signed char *y, double C, double gamma, double eps,
                  double *alpha_out, double *rho, long *iterations) {
  Svc s = {.l = l, .dims = dims, .active = l, .C = C, .eps = eps, .gamma = gamma, .x = x, .sign = y};
  double *xsq = malloc(sizeof(double) * l);
  s.Q = q_block((size_t)l * l);
  s.y = malloc(l);
  s.status = malloc(l);
  s.at = malloc(sizeof(int) * l);
  s.alpha = calloc(l, sizeof(double));
  s.G = malloc(sizeof(double) * l);
  s.Gbar = calloc(l, sizeof(double));
  for (int b = 0; b < 3; b++) s.buf[b] = malloc(sizeof(float) * l);
  int ok = xsq && s.Q && s.y && s.status && s.at && s.alpha && s.G && s.Gbar && s.buf[0] && s.buf[1] && s.buf[2];
  if (ok) {
    for (int i = 0; i < l; i++) {
      double sq = 0;
      for (int d = 0; d < dims; d++) sq += x[(size_t)i * dims + d] * x[(size_t)i * dims + d];
      xsq[i] = sq;
      s.y[i] = y[i];
      s.status[i] = LOWER;
      s.at[i] = i;
      s.G[i] = -1;
    }
    s.xsq = xsq;
    fill_q(&s);
    // libsvm stops at max(10⁷, 100·l) iterations (scikit-learn's max_iter = −1 never does); the attack's problems
    // take one or two thousand.
    const long max_iter = l > 100000 ? 100L * l : 10000000L;
    long iter = 0;
    int counter = (l < 1000 ? l : 1000) + 1;
    while (iter < max_iter) {
      if (--counter == 0) {
        counter = l < 1000 ? l : 1000;
        do_shrinking(&s);
      }
      int i, j;
      if (select_working_set(&s, &i, &j)) {
        reconstruct_gradient(&s);
        s.active = l;
        if (select_working_set(&s, &i, &j)) break;
        counter = 1;
      }
      iter++;
      take_step(&s, i, j);
    }
    *rho = calculate_rho(&s);
    *iterations = iter;
    for (int p = 0; p < l; p++) alpha_out[s.at[p]] = s.alpha[p];
  }
  free(xsq);
  free(s.y);
  free(s.status);
  free(s.at);
  free(s.alpha);
  free(s.G);
  free(s.Gbar);
  for (int b = 0; b < 3; b++) free(s.buf[b]);
  return ok;
}

void rbf_svc_decisions(int n, int dims, const double *q, int count, const double *sv, const double *coef, double gamma,
                       double rho, double *out) {
  for (int r = 0; r < n; r++) {
    double sum = 0;
    for (int v = 0; v < count; v++) {
      double dist = 0;
      for (int d = 0; d < dims; d++) {
        const double diff = q[(size_t)r * dims + d] - sv[(size_t)v * dims + d];
        dist += diff * diff;
      }
      sum += coef[v] * exp(-gamma * dist);
    }
    out[r] = sum - rho;
  }
}
