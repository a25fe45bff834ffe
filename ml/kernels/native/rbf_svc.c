// A two-class RBF C-SVC that takes the same steps as scikit-learn's SVC (libsvm inside), so that its decisions are
// scikit-learn's: the SMO solver of Fan, Chen & Lin (JMLR 6, 2005: second-order working-set selection) with libsvm's
// shrinking, gradient reconstruction and bias (Chang & Lin, "LIBSVM: a library for support vector machines"), in
// libsvm's order of operations, with the kernel matrix rounded to float as libsvm caches it and glibc's exp as
// scikit-learn's build uses (the floats it gives; see kernel_floats). The caller (ml/metrics/rbf-svc.ts) orders the
// rows as scikit-learn does (grouped by sorted label, the first class +1). Built with -ffp-contract=off: no fused
// multiply-adds, as in libsvm's build, but in the fast exp (FAST_EXP), whose every result is checked against a bound.
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
  // By position, for select_working_set's vector loops: y as ±1.0, and all ones where α may move up (y = +1 below
  // C, y = −1 above 0) or down (the other way). Kept with status and y.
  double *yd;
  long long *up, *down;
  float *buf[3];
} Svc;

// exp(v) eight lanes at a time: v = n·ln2 + r with |r| ≤ ln2/2, e^r by its Taylor series to r^12 (truncation below
// 6e-15 relative), times 2^n. Relative error well below 1e-14 for v in [−700, 0]; kernel_floats checks that every
// result it uses is far from a float rounding boundary, so this bound needs no tight proof. Its multiply-adds may
// fuse (more accurate, and half the arithmetic: with the mirror below, a 2,000-point fit 14.4 → 12.9 ms).
#if defined(__GNUC__) && !defined(__clang__)
#define FAST_EXP __attribute__((optimize("fp-contract=fast")))
#else
#define FAST_EXP
#endif
#define TILE 64  // fill_q's tile side, and the most arguments kernel_floats takes at once
typedef double v8d __attribute__((vector_size(64)));
typedef float v8f __attribute__((vector_size(32)));
typedef long long v8l __attribute__((vector_size(64)));
typedef int v8i __attribute__((vector_size(32)));
typedef unsigned long long v8u __attribute__((vector_size(64)));
static inline v8d v8d_splat(double d) { return (v8d){d, d, d, d, d, d, d, d}; }

FAST_EXP static inline v8d exp_lanes(v8d v) {
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

// A row segment of Q, len ≤ TILE kernel values y_r·y_c·(float)exp(arg[c]), with glibc's exp as libsvm caches them.
// The fast value e is within 1e-14 of exp(arg) (glibc's own error is ~1e-16), so where e·(1 ± 1e-12) round to the
// same float, glibc's result rounds to it too; else (a few values in a million) glibc's exp decides. `flip` holds
// the sign bit (y_r ≠ y_c) of each entry.
FAST_EXP static void kernel_floats(const double *arg, const unsigned *flip, float *out, int len) {
  const v8d below = v8d_splat(1 - 1e-12), above = v8d_splat(1 + 1e-12);
  const v8f lowest_f = {-700, -700, -700, -700, -700, -700, -700, -700};
  v8d x[TILE / 8], e[TILE / 8];
  const int vectors = (len + 7) / 8;
  memcpy(x, arg, sizeof(double) * len);
  for (int k = len; k < 8 * vectors; k++) x[k / 8][k % 8] = 0;
  // Independent lanes first (the polynomial's chain is long: several vectors in flight hide it), then the checks.
  for (int v = 0; v < vectors; v++) e[v] = exp_lanes(x[v]);
  for (int v = 0; v < vectors; v++) {
    v8f f = __builtin_convertvector(e[v], v8f);
    // The argument's clamp checked as a float (an argument that rounds to −700 counts as clamped: glibc decides).
    const v8i same = (f == __builtin_convertvector(e[v] * below, v8f)) &
                     (f == __builtin_convertvector(e[v] * above, v8f)) &
                     (__builtin_convertvector(x[v], v8f) > lowest_f);
    const int m = len - 8 * v < 8 ? len - 8 * v : 8;
    unsigned long long words[4];  // all ones where every lane is the same (four words: no lane-by-lane extraction)
    memcpy(words, &same, sizeof words);
    if (__builtin_expect((words[0] & words[1] & words[2] & words[3]) != ~0ULL, 0))
      for (int j = 0; j < m; j++)
        if (!same[j]) f[j] = (float)exp(x[v][j]);
    v8i bits;
    memcpy(&bits, &f, sizeof bits);
    for (int j = 0; j < 8; j++) bits[j] ^= (int)flip[8 * v + j];
    memcpy(&f, &bits, sizeof f);
    if (m == 8)
      memcpy(out + 8 * v, &f, sizeof f);
    else
      for (int j = 0; j < m; j++) out[8 * v + j] = f[j];
  }
}

// All of Q at once, upper triangle by tiles mirrored into the lower: the attack's problems read nearly every entry
// (shrinking starts only after a thousand steps), and tiles keep the mirrored writes in cache. A tile row's kernel
// values go through the vectorised exp together (glibc's exp, one at a time, was a third of a fit); the arguments
// are computed lane by lane in libsvm's order (dot products summed over the dimensions from 0).
static void fill_q(Svc *s) {
  const int l = s->l, dims = s->dims;
  double arg[TILE], dot[TILE];
  unsigned flip[TILE];
  for (int r0 = 0; r0 < l; r0 += TILE)
    for (int c0 = r0; c0 < l; c0 += TILE) {
      const int re = r0 + TILE < l ? r0 + TILE : l, ce = c0 + TILE < l ? c0 + TILE : l;
      for (int r = r0; r < re; r++) {
        const double *xr = s->x + (size_t)r * dims;
        const int cs = c0 > r ? c0 : r, n = ce - cs;
        const double *xc = s->x + (size_t)cs * dims, *sqc = s->xsq + cs;
        const signed char *yc = s->sign + cs;
        for (int c = 0; c < n; c++) dot[c] = 0;
        if (dims == 1)
          for (int c = 0; c < n; c++) dot[c] += xr[0] * xc[c];
        else
          for (int d = 0; d < dims; d++)
            for (int c = 0; c < n; c++) dot[c] += xr[d] * xc[(size_t)c * dims + d];
        const double sqr = s->xsq[r], g = -s->gamma;
        for (int c = 0; c < n; c++) arg[c] = g * (sqr + sqc[c] - 2 * dot[c]);
        for (int c = 0; c < n; c++) flip[c] = s->sign[r] == yc[c] ? 0 : 0x80000000u;
        for (int c = n; c < TILE; c++) flip[c] = 0;
        kernel_floats(arg, flip, s->Q + (size_t)r * l + cs, n);
      }
      // The tile's mirror below the diagonal, a row at a time: the reads go down the rows just written (in L1), the
      // writes along a row (written down a column, one cache line a value, they were a fifth of fill_q's time).
      for (int c = c0; c < ce; c++) {
        float *to = s->Q + (size_t)c * l;
        const int end = c0 == r0 ? c : re;  // on a diagonal tile, the rows above c only
        for (int r = r0; r < end; r++) to[r] = s->Q[(size_t)r * l + c];
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
  const int positive = s->y[i] == 1;
  s->yd[i] = positive ? 1.0 : -1.0;
  s->up[i] = -(long long)(s->status[i] != (positive ? UPPER : LOWER));
  s->down[i] = -(long long)(s->status[i] != (positive ? LOWER : UPPER));
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
  SWAP(double, s->yd[i], s->yd[j]);
  SWAP(long long, s->up[i], s->up[j]);
  SWAP(long long, s->down[i], s->down[j]);
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

// select_working_set's vectors: as wide as the machine's registers (GCC splits wider ones badly: 8 lanes built for
// AVX2 took three times as long as libsvm's scalar loops).
#if defined(__AVX512F__)
#define LANES 8
#elif defined(__AVX__)
#define LANES 4
#else
#define LANES 2
#endif
typedef double vd __attribute__((vector_size(8 * LANES)));
typedef long long vl __attribute__((vector_size(8 * LANES)));
typedef float vf __attribute__((vector_size(4 * LANES)));
static inline vd vd_splat(double d) { return (vd){0} + d; }

/** The largest lane of `best`, and the last position reaching it among those lanes (-1 where none did). */
static double merge_lanes(vd best, vl at, int *index) {
  double value = best[0];
  for (int k = 1; k < LANES; k++) value = best[k] > value ? best[k] : value;
  long long i = -1;
  for (int k = 0; k < LANES; k++)
    if (best[k] == value && at[k] > i) i = at[k];
  *index = (int)i;
  return value;
}

// 1 when optimal within eps; else the pair in *oi, *oj. libsvm's loops LANES positions at a time: each lane keeps
// its own best and the last position reaching it (libsvm's ≥ and ≤ keep the last of equal values), then the lanes
// are merged; every value is computed as libsvm computes it (y·G and 2 − 2·y_i·y_j·Q_ij are exact rewrites).
static int select_working_set(Svc *s, int *oi, int *oj) {
  const double *G = s->G;
  const int active = s->active, whole = active - active % LANES;
  const vd minus_inf = vd_splat(-INFINITY);
  vl lane, none;
  for (int k = 0; k < LANES; k++) lane[k] = k, none[k] = -1;
  // i: the largest −y·G among positions that may move up (y = +1 below C, y = −1 above 0).
  vd best = minus_inf;
  vl at = none;
  int t = 0;
  for (; t < whole; t += LANES) {
    vd y, g;
    vl may;
    memcpy(&y, s->yd + t, sizeof y);
    memcpy(&g, G + t, sizeof g);
    memcpy(&may, s->up + t, sizeof may);
    const vd v = (vd)(((vl)-(y * g) & may) | ((vl)minus_inf & ~may));
    const vl take = may & (v >= best);
    best = (vd)(((vl)v & take) | ((vl)best & ~take));
    at = ((lane + t) & take) | (at & ~take);
  }
  int Gmax_idx;
  double Gmax = merge_lanes(best, at, &Gmax_idx);
  for (; t < active; t++) {
    const double v = s->y[t] == 1 ? (s->status[t] != UPPER ? -G[t] : -INFINITY) : (s->status[t] != LOWER ? G[t] : -INFINITY);
    if (v != -INFINITY && v >= Gmax) {
      Gmax = v;
      Gmax_idx = t;
    }
  }
  if (Gmax_idx == -1) return 1;  // no position can move up: libsvm's Gmax + Gmax2 is −∞ < eps
  const int i = Gmax_idx;
  const float *Qi = column(s, i, active, 0);
  const double yi2 = 2.0 * s->y[i];
  // j: the least objective change −(Gmax + y·G)²/(2 − 2·y_i·y_j·Q_ij) among positions that may move down; Gmax2,
  // the largest y·G among them.
  vd reach = minus_inf, least = vd_splat(INFINITY);
  vl least_at = none;
  const vd gmax = vd_splat(Gmax), two = vd_splat(2.0), tau = vd_splat(TAU), zero = vd_splat(0);
  int j = 0;
  for (; j < whole; j += LANES) {
    vd y, g;
    vl may;
    vf qf;
    memcpy(&y, s->yd + j, sizeof y);
    memcpy(&g, G + j, sizeof g);
    memcpy(&may, s->down + j, sizeof may);
    memcpy(&qf, Qi + j, sizeof qf);
    const vd yg = y * g;
    const vl higher = may & (yg >= reach);
    reach = (vd)(((vl)yg & higher) | ((vl)reach & ~higher));
    const vd grad_diff = gmax + yg;
    const vd quad = two - (yi2 * y) * __builtin_convertvector(qf, vd);
    const vl positive = quad > zero;
    const vd denom = (vd)(((vl)quad & positive) | ((vl)tau & ~positive));
    const vd obj = -(grad_diff * grad_diff) / denom;
    const vl take = may & (grad_diff > zero) & (obj <= least);
    least = (vd)(((vl)obj & take) | ((vl)least & ~take));
    least_at = ((lane + j) & take) | (least_at & ~take);
  }
  double Gmax2 = reach[0];
  for (int k = 1; k < LANES; k++) Gmax2 = reach[k] > Gmax2 ? reach[k] : Gmax2;
  // The least objective: merge_lanes on its negation (−∞ lanes hold no candidate).
  int Gmin_idx;
  double obj_diff_min = -merge_lanes(-least, least_at, &Gmin_idx);
  for (; j < active; j++) {
    const double yg = s->y[j] * G[j];
    if (s->y[j] == 1 ? s->status[j] == LOWER : s->status[j] == UPPER) continue;
    if (yg >= Gmax2) Gmax2 = yg;
    const double grad_diff = Gmax + yg;
    if (!(grad_diff > 0)) continue;
    const double quad = 2.0 - (yi2 * s->y[j]) * Qi[j];
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
  s.yd = malloc(sizeof(double) * l);
  s.up = malloc(sizeof(long long) * l);
  s.down = malloc(sizeof(long long) * l);
  for (int b = 0; b < 3; b++) s.buf[b] = malloc(sizeof(float) * l);
  int ok = xsq && s.Q && s.y && s.status && s.at && s.alpha && s.G && s.Gbar && s.yd && s.up && s.down && s.buf[0] && s.buf[1] && s.buf[2];
  if (ok) {
    for (int i = 0; i < l; i++) {
      double sq = 0;
      for (int d = 0; d < dims; d++) sq += x[(size_t)i * dims + d] * x[(size_t)i * dims + d];
      xsq[i] = sq;
      s.y[i] = y[i];
      s.at[i] = i;
      update_status(&s, i);
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
  free(s.yd);
  free(s.up);
  free(s.down);
  for (int b = 0; b < 3; b++) free(s.buf[b]);
  return ok;
}

// ‖q − v‖² summed over the dimensions in order, as libsvm's predict computes the RBF's argument.
static inline double squared_distance(const double *q, const double *v, int dims) {
  double dist = 0;
  for (int d = 0; d < dims; d++) {
    const double diff = q[d] - v[d];
    dist += diff * diff;
  }
  return dist;
}

// One row's decision value as libsvm's predict sums it: Σ_v coef_v·exp(−γ‖q − sv_v‖²) − ρ, glibc's exp.
static double decision_exact(int dims, const double *q, int count, const double *sv, const double *coef, double gamma,
                             double rho) {
  double sum = 0;
  for (int v = 0; v < count; v++) {
    sum += coef[v] * exp(-gamma * squared_distance(q, sv + (size_t)v * dims, dims));
  }
  return sum - rho;
}

void rbf_svc_decisions(int n, int dims, const double *q, int count, const double *sv, const double *coef, double gamma,
                       double rho, int signs_only, double *out) {
  for (int r = 0; r < n; r++) {
    const double *qr = q + (size_t)r * dims;
    if (!signs_only) {
      out[r] = decision_exact(dims, qr, count, sv, coef, gamma, rho);
      continue;
    }
    // The same sum over the vectorised exp (relative error < 1e-14 a term) and the sum of its terms' magnitudes B:
    // the two sums differ by under 1e-14·B (the terms) + 2·count·2^-53·B (each addition's rounding, both sides),
    // under 2e-12·B for the 8,192 vectors at most (RBF_SVC_MAX_POINTS), so a value farther than 1e-11·B from 0 has
    // libsvm's sign; the others (and rows with an argument exp_lanes clamps) are summed again exactly.
    double sum = 0, bound = 0;
    int clamped = 0;
    for (int v0 = 0; v0 < count; v0 += TILE) {
      const int m = count - v0 < TILE ? count - v0 : TILE, vectors = (m + 7) / 8;
      v8d arg[TILE / 8];
      for (int v = 0; v < 8 * vectors; v++) {
        const double dist = v < m ? squared_distance(qr, sv + (size_t)(v0 + v) * dims, dims) : 0;
        arg[v / 8][v % 8] = -gamma * dist;
        clamped |= arg[v / 8][v % 8] < -700;
      }
      for (int k = 0; k < vectors; k++) arg[k] = exp_lanes(arg[k]);
      for (int v = 0; v < m; v++) {
        const double term = coef[v0 + v] * arg[v / 8][v % 8];
        sum += term;
        bound += fabs(term);
      }
    }
    const double value = sum - rho;
    out[r] = clamped || fabs(value) <= 1e-11 * (bound + fabs(rho)) ? decision_exact(dims, qr, count, sv, coef, gamma, rho)
                                                                 : value;
  }
}
