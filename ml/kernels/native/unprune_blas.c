// Native training kernels for the wasm backend over Debian's OpenBLAS: matmul, conv2d and its two gradients
// (im2col / col2im around one sgemm per chunk; a direct vector kernel for inputs of few channels), max-pool
// gradient, bias add and bias gradient, and a fused masked SGD-momentum update. Tensors
// arrive as Float32Array views of the wasm heap (or any Float32Array); outputs are written in place into views the
// caller allocated. Layouts are tfjs's: row-major, NHWC activations, [fh, fw, cin, cout] filters.
// Work runs on the calling (main) thread, split with the addon's own thread pool (setThreads) for products and
// convolutions large enough to pay for it; OpenBLAS itself always runs single-threaded on whichever thread calls it.
#define _POSIX_C_SOURCE 200809L  // clock_gettime under -std=c11
#define NAPI_VERSION 8
#include <node_api.h>
#include <cblas.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__FMA__) || defined(__AVX2__)
#include <immintrin.h>
#endif

#include "rbf_svc.h"

// OpenBLAS extensions (declared in its cblas.h on Debian, repeated here for other layouts).
extern void openblas_set_num_threads(int);
extern char *openblas_get_config(void);
extern char *openblas_get_corename(void);

#define MAX_ARGS 12
// im2col works in row chunks of at most this many floats (4 MiB): bounded memory for big convs, cache-friendly.
#define CHUNK_FLOATS (1 << 20)

static void sgemm(enum CBLAS_TRANSPOSE ta, enum CBLAS_TRANSPOSE tb, size_t m, size_t n, size_t k, const float *A,
                  size_t lda, const float *B, size_t ldb, float beta, float *C, size_t ldc) {
  cblas_sgemm(CblasRowMajor, ta, tb, m, n, k, 1.0f, A, lda, B, ldb, beta, C, ldc);
}

// ---- The kernel thread pool ----
// OpenBLAS's own threads did not pay for this project's shapes: LeNet-5 trained 20% slower on 2 OpenBLAS threads
// than on 1 (its convolutions are im2col chunks and per-image loops around products too small to split well, and
// OpenBLAS re-synchronises its pool per call). Instead each kernel splits its own outer loop (images, rows of a
// product) into `parts` contiguous ranges, one per thread, each calling single-threaded OpenBLAS. A split that only
// partitions outputs gives the same bits as one thread; the two filter gradients sum per-range partials in range
// order, so their bits depend on the thread count (deterministic for a given count). Work below PARALLEL_MIN_MACS
// stays on the calling thread: handing work to a helper costs from a few microseconds (spinning) to ~140 (asleep).
#define MAX_THREADS 64
#define PARALLEL_MIN_MACS (2.0 * 1024 * 1024)
// A helper spins this long for the next split before sleeping: kernels of a training step come up to a few
// milliseconds apart, and waking a sleeping helper took ~140 µs on a 2-vCPU VM (a 128×120×256 product: 35 µs split
// with the helper spinning, 165–187 µs with it asleep, 52 µs on one thread; measured).
#define POOL_SPIN_NS 5000000

typedef void (*part_fn)(void *ctx, int part, int parts);

static int max_threads = 1;

static struct {
  pthread_mutex_t mu;
  pthread_cond_t go, done;
  atomic_ulong generation;
  atomic_int remaining;
  part_fn fn;
  void *ctx;
  int parts, started;
} pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER};

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

static long long now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

// Spins up to POOL_SPIN_NS while `still()` holds; returns whether it still holds.
static int spin_while(int (*still)(const void *), const void *arg) {
  const long long until = now_ns() + POOL_SPIN_NS;
  while (still(arg)) {
    for (int i = 0; i < 64; i++) cpu_relax();
    if (now_ns() > until) return still(arg);
  }
  return 0;
}

static int generation_is(const void *seen) {
  return atomic_load_explicit(&pool.generation, memory_order_acquire) == *(const unsigned long *)seen;
}

static int parts_remaining(const void *unused) {
  (void)unused;
  return atomic_load_explicit(&pool.remaining, memory_order_acquire) > 0;
}

typedef struct {
  int id;
  unsigned long seen;  // the generation current when it was started: it waits for the next one
} PoolThreadStart;

static void *pool_thread(void *arg) {
  const int id = ((PoolThreadStart *)arg)->id;
  unsigned long seen = ((PoolThreadStart *)arg)->seen;
  free(arg);
  for (;;) {
    if (spin_while(generation_is, &seen)) {
      pthread_mutex_lock(&pool.mu);
      while (generation_is(&seen)) pthread_cond_wait(&pool.go, &pool.mu);
      pthread_mutex_unlock(&pool.mu);
    }
    seen = atomic_load_explicit(&pool.generation, memory_order_acquire);
    if (id < pool.parts) pool.fn(pool.ctx, id, pool.parts);
    if (atomic_fetch_sub_explicit(&pool.remaining, 1, memory_order_acq_rel) == 1) {
      pthread_mutex_lock(&pool.mu);
      pthread_cond_signal(&pool.done);
      pthread_mutex_unlock(&pool.mu);
    }
  }
  return NULL;
}

// How many parts work of `macs` multiply-adds (or element visits) is worth splitting into, at most `units`.
static int parts_for(double macs, size_t units) {
  int parts = macs < PARALLEL_MIN_MACS ? 1 : max_threads;
  return (size_t)parts > units ? (int)(units ? units : 1) : parts;
}

// Runs fn(ctx, p, parts) for p < parts, part 0 on the calling thread, and returns when all are done. Calls come
// from the JavaScript thread only, one at a time.
static void run_parts(part_fn fn, void *ctx, int parts) {
  while (parts > 1 && pool.started < parts - 1) {
    pthread_t t;
    PoolThreadStart *start = malloc(sizeof *start);
    if (start) *start = (PoolThreadStart){pool.started + 1, atomic_load(&pool.generation)};
    if (!start || pthread_create(&t, NULL, pool_thread, start) != 0) {
      free(start);
      parts = pool.started + 1;  // could not start another: split among those there are
      break;
    }
    pthread_detach(t);
    pool.started++;
  }
  if (parts <= 1) {
    fn(ctx, 0, 1);
    return;
  }
  pool.fn = fn;
  pool.ctx = ctx;
  pool.parts = parts;
  atomic_store_explicit(&pool.remaining, pool.started, memory_order_release);
  pthread_mutex_lock(&pool.mu);
  atomic_fetch_add_explicit(&pool.generation, 1, memory_order_acq_rel);
  pthread_cond_broadcast(&pool.go);
  pthread_mutex_unlock(&pool.mu);
  fn(ctx, 0, parts);
  if (spin_while(parts_remaining, NULL)) {
    pthread_mutex_lock(&pool.mu);
    while (parts_remaining(NULL)) pthread_cond_wait(&pool.done, &pool.mu);
    pthread_mutex_unlock(&pool.mu);
  }
}

// Part p of `parts` of [0, n): [n·p/parts, n·(p+1)/parts).
static inline size_t part_begin(size_t n, int p, int parts) { return n * (size_t)p / (size_t)parts; }

static float *scratch = NULL;
static size_t scratch_len = 0;

static float *scratch_floats(size_t n) {
  if (n > scratch_len) {
    float *p = realloc(scratch, n * sizeof(float));
    if (!p) return NULL;
    scratch = p;
    scratch_len = n;
  }
  return scratch;
}

typedef struct {
  napi_env env;
  napi_value argv[MAX_ARGS];
  size_t argc;
  int failed;
} Args;

static int fail(Args *a, const char *msg) {
  if (!a->failed) napi_throw_type_error(a->env, NULL, msg);
  a->failed = 1;
  return 0;
}

static int get_args(napi_env env, napi_callback_info info, Args *a, size_t want) {
  a->env = env;
  a->argc = MAX_ARGS;
  a->failed = 0;
  if (napi_get_cb_info(env, info, &a->argc, a->argv, NULL, NULL) != napi_ok) return fail(a, "bad call");
  if (a->argc < want) return fail(a, "too few arguments");
  return 1;
}

static float *f32_arg(Args *a, size_t i, size_t need) {
  napi_typedarray_type type;
  size_t len;
  void *data;
  if (a->failed) return NULL;
  if (napi_get_typedarray_info(a->env, a->argv[i], &type, &len, &data, NULL, NULL) != napi_ok ||
      type != napi_float32_array) {
    fail(a, "expected a Float32Array");
    return NULL;
  }
  if (len < need) {
    fail(a, "Float32Array is shorter than the shape needs");
    return NULL;
  }
  return (float *)data;
}

static int32_t *i32_arg(Args *a, size_t i, size_t need) {
  napi_typedarray_type type;
  size_t len;
  void *data;
  if (a->failed) return NULL;
  if (napi_get_typedarray_info(a->env, a->argv[i], &type, &len, &data, NULL, NULL) != napi_ok ||
      type != napi_int32_array || len < need) {
    fail(a, "expected an Int32Array of dimensions");
    return NULL;
  }
  return (int32_t *)data;
}

static double num_arg(Args *a, size_t i) {
  double v = 0;
  if (!a->failed && napi_get_value_double(a->env, a->argv[i], &v) != napi_ok) fail(a, "expected a number");
  return v;
}

static int bool_arg(Args *a, size_t i) {
  bool v = false;
  if (!a->failed && napi_get_value_bool(a->env, a->argv[i], &v) != napi_ok) fail(a, "expected a boolean");
  return v;
}

typedef struct {
  int batch, m, n, k, ta, tb, ba, bb;
  const float *A, *B;
  float *C;
} Gemm;

// Products [i0, i1) of the batch, rows [r0, r1) of each (columns [r0, r1) when split by columns).
static void gemm_range(const Gemm *g, int i0, int i1, size_t r0, size_t r1, int by_columns) {
  const size_t sa = (size_t)g->m * g->k, sb = (size_t)g->k * g->n, sc = (size_t)g->m * g->n;
  for (int i = i0; i < i1; i++) {
    const float *A = g->A + (g->ba == 1 ? 0 : i * sa), *B = g->B + (g->bb == 1 ? 0 : i * sb);
    float *C = g->C + i * sc;
    // Rows of op(A) start r0 rows (or, transposed, columns) in; columns of op(B) likewise.
    if (by_columns)
      sgemm(g->ta ? CblasTrans : CblasNoTrans, g->tb ? CblasTrans : CblasNoTrans, g->m, r1 - r0, g->k, A,
            g->ta ? g->m : g->k, B + (g->tb ? r0 * g->k : r0), g->tb ? g->k : g->n, 0.0f, C + r0, g->n);
    else
      sgemm(g->ta ? CblasTrans : CblasNoTrans, g->tb ? CblasTrans : CblasNoTrans, r1 - r0, g->n, g->k,
            A + (g->ta ? r0 : r0 * g->k), g->ta ? g->m : g->k, B, g->tb ? g->k : g->n, 0.0f, C + r0 * g->n, g->n);
  }
}

// A batch of several products splits by products; a single one by rows, or by columns when it has few rows, in
// multiples of 16 (whole register tiles for OpenBLAS's kernels).
static void gemm_part(void *ctx, int p, int parts) {
  const Gemm *g = ctx;
  if (g->batch >= parts) {
    gemm_range(g, part_begin(g->batch, p, parts), part_begin(g->batch, p + 1, parts), 0, g->m, 0);
    return;
  }
  const int by_columns = g->n > g->m;
  const size_t len = by_columns ? g->n : g->m, tiles = (len + 15) / 16;
  size_t r0 = part_begin(tiles, p, parts) * 16, r1 = part_begin(tiles, p + 1, parts) * 16;
  if (r1 > len) r1 = len;
  if (r0 < r1) gemm_range(g, 0, g->batch, r0, r1, by_columns);
}

// gemm(a, b, c, dims Int32Array[batch, m, n, k, transA, transB, batchA, batchB]):
// c[i] = op(a[i or 0]) · op(b[i or 0]) for i < batch; a batch of 1 broadcasts.
static napi_value gemm(napi_env env, napi_callback_info info) {
  Args a;
  if (!get_args(env, info, &a, 4)) return NULL;
  int32_t *d = i32_arg(&a, 3, 8);
  if (!d) return NULL;
  Gemm g = {d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7], NULL, NULL, NULL};
  const size_t sa = (size_t)g.m * g.k, sb = (size_t)g.k * g.n, sc = (size_t)g.m * g.n;
  g.A = f32_arg(&a, 0, sa * g.ba), g.B = f32_arg(&a, 1, sb * g.bb), g.C = f32_arg(&a, 2, sc * g.batch);
  if (a.failed) return NULL;
  const size_t units = g.batch > 1 ? (size_t)g.batch : ((size_t)(g.m > g.n ? g.m : g.n) + 15) / 16;
  run_parts(gemm_part, &g, parts_for((double)g.batch * sc * g.k, units));
  return NULL;
}

// Convolution geometry, NHWC, dilation 1: [n, h, w, c, oh, ow, co, fh, fw, sh, sw, top, left].
typedef struct {
  int n, h, w, c, oh, ow, co, fh, fw, sh, sw, top, left;
  size_t m, k;
} Conv;

static int conv_dims(Args *a, size_t i, Conv *g) {
  int32_t *d = i32_arg(a, i, 13);
  if (!d) return 0;
  g->n = d[0], g->h = d[1], g->w = d[2], g->c = d[3], g->oh = d[4], g->ow = d[5], g->co = d[6];
  g->fh = d[7], g->fw = d[8], g->sh = d[9], g->sw = d[10], g->top = d[11], g->left = d[12];
  g->m = (size_t)g->n * g->oh * g->ow;
  g->k = (size_t)g->fh * g->fw * g->c;
  return 1;
}

static size_t chunk_rows(const Conv *g) {
  size_t r = CHUNK_FLOATS / (g->k ? g->k : 1);
  return r < 1 ? 1 : r;
}

// Rows [r0, r1) of the patch matrix: row (b, y, x) holds the receptive field in (kh, kw, ci) order, zero-padded.
// Along kw the field is one contiguous run of fw·c floats in NHWC (stride-1 columns), copied as a block.
static void im2col(const Conv *g, const float *x, float *cols, size_t r0, size_t r1) {
  const size_t c = g->c, run = (size_t)g->fw * c;
  for (size_t r = r0; r < r1; r++) {
    const int xo = r % g->ow, yo = (r / g->ow) % g->oh, b = r / ((size_t)g->ow * g->oh);
    const int iw0 = xo * g->sw - g->left;
    const int inside = iw0 >= 0 && iw0 + g->fw <= g->w;
    float *dst = cols + (r - r0) * g->k;
    for (int kh = 0; kh < g->fh; kh++, dst += run) {
      const int ih = yo * g->sh + kh - g->top;
      if (ih < 0 || ih >= g->h) {
        memset(dst, 0, run * sizeof(float));
        continue;
      }
      const float *src = x + (((size_t)b * g->h + ih) * g->w) * c;
      if (inside) {
        src += (size_t)iw0 * c;
        for (size_t i = 0; i < run; i++) dst[i] = src[i];
        continue;
      }
      for (int kw = 0; kw < g->fw; kw++) {
        const int iw = iw0 + kw;
        float *d = dst + (size_t)kw * c;
        if (iw < 0 || iw >= g->w) memset(d, 0, c * sizeof(float));
        else memcpy(d, src + (size_t)iw * c, c * sizeof(float));
      }
    }
  }
}

// Scatter-adds rows [r0, r1) of a patch-gradient matrix back into image layout (dx must start zeroed).
static void col2im(const Conv *g, const float *cols, float *dx, size_t r0, size_t r1) {
  const size_t c = g->c, run = (size_t)g->fw * c;
  for (size_t r = r0; r < r1; r++) {
    const int xo = r % g->ow, yo = (r / g->ow) % g->oh, b = r / ((size_t)g->ow * g->oh);
    const int iw0 = xo * g->sw - g->left;
    const int inside = iw0 >= 0 && iw0 + g->fw <= g->w;
    const float *src = cols + (r - r0) * g->k;
    for (int kh = 0; kh < g->fh; kh++, src += run) {
      const int ih = yo * g->sh + kh - g->top;
      if (ih < 0 || ih >= g->h) continue;
      float *out = dx + (((size_t)b * g->h + ih) * g->w) * c;
      if (inside) {
        out += (size_t)iw0 * c;
        for (size_t i = 0; i < run; i++) out[i] += src[i];
        continue;
      }
      for (int kw = 0; kw < g->fw; kw++) {
        const int iw = iw0 + kw;
        if (iw < 0 || iw >= g->w) continue;
        for (size_t ci = 0; ci < c; ci++) out[(size_t)iw * c + ci] += src[(size_t)kw * c + ci];
      }
    }
  }
}

// Direct convolution for few input channels (a first layer: 1 or 3 channels). Its im2col rows are a handful of
// floats and the product is 25×6-thin, so sgemm ran LeNet-5's conv1 at 15 GFLOP/s. Instead each image is copied
// into zero-padded channel planes of row stride wp = ow + fw − 1, which makes the convolution one-dimensional: the
// output at flat position o = oy·wp + ox reads plane position o + kh·wp + kw. Outputs are computed 8 flat positions
// per vector (the fw − 1 positions per row with ox ≥ ow are computed and dropped), one vector per output channel,
// two vectors (or two taps) at a time so that each load feeds two fused multiply-adds. Stride 1 only.
#define DIRECT_MAX_CIN 4
typedef float v8 __attribute__((vector_size(32)));
typedef float v8u __attribute__((vector_size(32), aligned(4)));

static inline v8 load8(const float *p) { return *(const v8u *)p; }
static inline v8 splat8(float s) { return (v8){s, s, s, s, s, s, s, s}; }
static inline v8 fma8(v8 a, v8 b, v8 c) {
#if defined(__FMA__)
  return _mm256_fmadd_ps(a, b, c);
#else
  return a * b + c;
#endif
}

static int is_direct(const Conv *g) { return g->c <= DIRECT_MAX_CIN && g->sh == 1 && g->sw == 1; }

typedef struct {
  size_t wp, flat, flat16, plen;  // row stride, flat outputs oh·wp, rounded up to 16, one plane's length
} Planes;

static Planes planes_of(const Conv *g) {
  Planes p;
  p.wp = (size_t)g->ow + g->fw - 1;
  p.flat = (size_t)g->oh * p.wp;
  p.flat16 = (p.flat + 15) / 16 * 16;
  p.plen = p.flat16 + (size_t)(g->fh - 1) * p.wp + g->fw - 1;
  return p;
}

// Copies image b into the planes. Positions outside the image are never written, so the zeros the caller put
// there once stay valid for every image.
static void fill_planes(const Conv *g, const Planes *p, const float *x, int b, float *planes) {
  const long ix0 = g->left < 0 ? -g->left : 0, ix1 = (long)p->wp - g->left < g->w ? (long)p->wp - g->left : g->w;
  for (int iy = 0; iy < g->h; iy++) {
    const long py = (long)iy + g->top;
    if (py < 0 || py >= g->oh + g->fh - 1 || ix1 <= ix0) continue;
    const float *row = x + (((size_t)b * g->h + iy) * g->w) * g->c;
    float *dst = planes + py * p->wp + g->left;
    if (g->c == 1) {
      memcpy(dst + ix0, row + ix0, (ix1 - ix0) * sizeof(float));
      continue;
    }
    for (int ci = 0; ci < g->c; ci++, dst += p->plen)
      for (long ix = ix0; ix < ix1; ix++) dst[ix] = row[ix * g->c + ci];
  }
}

// Flat outputs [o0, o0 + 16) of channels [c0, c0 + CB) of image b; CB is a compile-time constant at each call.
static inline __attribute__((always_inline)) void direct_tile(const Conv *g, const Planes *p, const float *planes,
                                                              const float *f, float *y, int b, size_t o0, int c0,
                                                              const int CB) {
  v8 a0[8], a1[8];
  for (int j = 0; j < CB; j++) a0[j] = a1[j] = splat8(0);
  const float *w = f + c0;
  for (int kh = 0; kh < g->fh; kh++)
    for (int kw = 0; kw < g->fw; kw++)
      for (int ci = 0; ci < g->c; ci++, w += g->co) {
        const float *src = planes + ci * p->plen + kh * p->wp + kw + o0;
        const v8 r0 = load8(src), r1 = load8(src + 8);
        for (int j = 0; j < CB; j++) {
          const v8 wj = splat8(w[j]);
          a0[j] = fma8(r0, wj, a0[j]);
          a1[j] = fma8(r1, wj, a1[j]);
        }
      }
  for (int i = 0; i < 16 && o0 + i < p->flat; i++) {
    const size_t oy = (o0 + i) / p->wp, ox = (o0 + i) % p->wp;
    if (ox >= (size_t)g->ow) continue;
    float *out = y + (((size_t)b * g->oh + oy) * g->ow + ox) * g->co + c0;
    for (int j = 0; j < CB; j++) out[j] = i < 8 ? a0[j][i] : a1[j][i - 8];
  }
}

// One call of a direct kernel: its geometry, operands, and `parts` scratch regions of `part_floats` each.
typedef struct {
  const Conv *g;
  const Planes *p;
  const float *x, *other;
  float *out, *scratch;
  size_t part_floats;
} Direct;

// y[b, oy, ox, co] = Σ_{kh, kw, ci} x[b, oy + kh − top, ox + kw − left, ci] · f[kh, kw, ci, co], images split.
static void direct_conv2d_part(void *ctx, int part, int parts) {
  const Direct *d = ctx;
  const Conv *g = d->g;
  float *planes = d->scratch + part * d->part_floats;
  for (int b = part_begin(g->n, part, parts), last = part_begin(g->n, part + 1, parts); b < last; b++) {
    fill_planes(g, d->p, d->x, b, planes);
    for (size_t o0 = 0; o0 < d->p->flat; o0 += 16)
      for (int c0 = 0; c0 < g->co; c0 += 8) switch (g->co - c0 < 8 ? g->co - c0 : 8) {
#define TILE(n) \
  case n:       \
    direct_tile(g, d->p, planes, d->other, d->out, b, o0, c0, n); \
    break;
          TILE(1) TILE(2) TILE(3) TILE(4) TILE(5) TILE(6) TILE(7) TILE(8)
#undef TILE
        }
  }
}

static int direct_conv2d(const Conv *g, const float *x, const float *f, float *y) {
  const Planes p = planes_of(g);
  const int parts = parts_for((double)g->m * g->k * g->co, g->n);
  const size_t part_floats = (size_t)g->c * p.plen;
  float *planes = scratch_floats(parts * part_floats);
  if (!planes) return 0;
  memset(planes, 0, parts * part_floats * sizeof(float));
  Direct d = {g, &p, x, f, y, planes, part_floats};
  run_parts(direct_conv2d_part, &d, parts);
  return 1;
}

// Where tap t — filter index (kh, kw, ci) flattened as [fh, fw, cin] — starts reading in the planes.
static size_t tap_offset(const Conv *g, const Planes *p, size_t t) {
  const size_t ci = t % g->c, kw = (t / g->c) % g->fw, kh = t / g->c / g->fw;
  return ci * p->plen + kh * p->wp + kw;
}

// Lane-wise partial sums for taps t0 and t0 + 1 (plane offsets s0, s1) and channels [c0, c0 + CB) over one image's
// dy tiles; `lanes` holds 8 lanes per (tap, channel).
static inline __attribute__((always_inline)) void direct_filter_pair(const Conv *g, const float *s0, const float *s1,
                                                                     const float *dtiles, size_t ntiles, float *l0,
                                                                     float *l1, const int CB) {
  v8 a0[8], a1[8];
  for (int j = 0; j < CB; j++) a0[j] = load8(l0 + 8 * j), a1[j] = load8(l1 + 8 * j);
  for (size_t k = 0; k < ntiles; k++, s0 += 8, s1 += 8, dtiles += 64) {
    const v8 r0 = load8(s0), r1 = load8(s1);
    for (int j = 0; j < CB; j++) {
      const v8 d = load8(dtiles + 8 * j);
      a0[j] = fma8(r0, d, a0[j]);
      a1[j] = fma8(r1, d, a1[j]);
    }
  }
  for (int j = 0; j < CB; j++) *(v8u *)(l0 + 8 * j) = a0[j], *(v8u *)(l1 + 8 * j) = a1[j];
}

// dw[kh, kw, ci, co] = Σ_{b, oy, ox} x[b, oy + kh − top, ox + kw − left, ci] · dy[b, oy, ox, co]. dy is laid out
// as tiles of 8 flat positions × 8 channels (zero where ox ≥ ow, so dropped positions add nothing); each
// (tap, channel) keeps 8 lane-wise sums over its part's images; the parts' sums are added lane by lane in part
// order, then the lanes: a fixed order for a given thread count.
static size_t direct_lanes_len(const Conv *g) { return ((size_t)g->fh * g->fw * g->c + 1) * g->co * 8; }

static void direct_filter_part(void *ctx, int part, int parts) {
  const Direct *d = ctx;
  const Conv *g = d->g;
  const Planes p = *d->p;
  const float *x = d->x, *dy = d->other;
  const size_t taps = (size_t)g->fh * g->fw * g->c, ntiles = p.flat16 / 8, nblocks = ((size_t)g->co + 7) / 8;
  float *lanes = d->scratch + part * d->part_floats;
  float *planes = lanes + direct_lanes_len(g), *dtiles = planes + (size_t)g->c * p.plen;
  for (int b = part_begin(g->n, part, parts), last = part_begin(g->n, part + 1, parts); b < last; b++) {
    fill_planes(g, &p, x, b, planes);
    const float *img = dy + (size_t)b * g->oh * g->ow * g->co;
    for (int co = 0; co < g->co; co++) {
      float *dst = dtiles + (co / 8) * ntiles * 64 + (co % 8) * 8;
      const float *src = img + co;
      for (int oy = 0; oy < g->oh; oy++)
        for (size_t o = (size_t)oy * p.wp, end = o + g->ow; o < end; o++, src += g->co) dst[(o / 8) * 64 + o % 8] = *src;
    }
    for (size_t t = 0; t < taps; t += 2) {
      const size_t t1 = t + 1 < taps ? t + 1 : t;  // the spare slot's pair reads tap t again
      const float *s0 = planes + tap_offset(g, &p, t), *s1 = planes + tap_offset(g, &p, t1);
      for (size_t blk = 0; blk < nblocks; blk++) {
        const int c0 = blk * 8;
        float *l0 = lanes + (t * g->co + c0) * 8, *l1 = lanes + ((t + 1) * g->co + c0) * 8;
        const float *tiles = dtiles + blk * ntiles * 64;
        switch (g->co - c0 < 8 ? g->co - c0 : 8) {
#define PAIR(n) \
  case n:       \
    direct_filter_pair(g, s0, s1, tiles, ntiles, l0, l1, n); \
    break;
          PAIR(1) PAIR(2) PAIR(3) PAIR(4) PAIR(5) PAIR(6) PAIR(7) PAIR(8)
#undef PAIR
        }
      }
    }
  }
}

static int direct_conv2d_backprop_filter(const Conv *g, const float *x, const float *dy, float *dw) {
  const Planes p = planes_of(g);
  const size_t taps = (size_t)g->fh * g->fw * g->c, ntiles = p.flat16 / 8, nblocks = ((size_t)g->co + 7) / 8;
  const size_t lanes_len = direct_lanes_len(g);
  const size_t part_floats = lanes_len + (size_t)g->c * p.plen + nblocks * ntiles * 64;
  const int parts = parts_for((double)g->m * g->k * g->co, g->n);
  float *lanes = scratch_floats(parts * part_floats);
  if (!lanes) return 0;
  // Zeros once: the sums (with one spare tap, which an odd tap count pairs its last tap with), and the planes' padding
  // and the dy tiles' dropped positions, which are never written.
  memset(lanes, 0, parts * part_floats * sizeof(float));
  Direct d = {g, &p, x, dy, dw, lanes, part_floats};
  run_parts(direct_filter_part, &d, parts);
  for (int part = 1; part < parts; part++)
    for (size_t i = 0; i < lanes_len; i++) lanes[i] += lanes[part * part_floats + i];
  for (size_t t = 0; t < taps; t++)
    for (int co = 0; co < g->co; co++) {
      const float *l = lanes + (t * g->co + co) * 8;
      float s = 0;
      for (int i = 0; i < 8; i++) s += l[i];
      dw[t * g->co + co] = s;
    }
  return 1;
}

static int is_pointwise(const Conv *g) {
  return g->fh == 1 && g->fw == 1 && g->sh == 1 && g->sw == 1 && g->top == 0 && g->left == 0;
}

typedef struct {
  const Conv *g;
  const float *x, *other;
  float *out, *region;
  size_t rows, part_floats;
  int filter_gradient;
} Patches;

// Rows [m·part/parts, m·(part+1)/parts) of the patch matrix, a chunk of `rows` at a time.
static void patch_part(void *ctx, int part, int parts) {
  const Patches *p = ctx;
  const Conv *g = p->g;
  const int pointwise = is_pointwise(g);
  const size_t m0 = part_begin(g->m, part, parts), m1 = part_begin(g->m, part + 1, parts);
  float *mine = p->region + part * p->part_floats;
  float *cols = pointwise ? (float *)p->x : mine;
  float *dw = part == 0 ? p->out : mine + (pointwise ? 0 : p->rows * g->k);
  if (p->filter_gradient && m0 == m1) memset(dw, 0, g->k * g->co * sizeof(float));
  for (size_t r0 = m0; r0 < m1; r0 += p->rows) {
    const size_t r1 = r0 + p->rows < m1 ? r0 + p->rows : m1;
    // A pointwise convolution's patch matrix is its input, rows as they are.
    const float *patches = pointwise ? cols + r0 * g->k : cols;
    if (!pointwise) im2col(g, p->x, cols, r0, r1);
    if (p->filter_gradient)
      sgemm(CblasTrans, CblasNoTrans, g->k, g->co, r1 - r0, patches, g->k, p->other + r0 * g->co, g->co,
            r0 == m0 ? 0.0f : 1.0f, dw, g->co);
    else
      sgemm(CblasNoTrans, CblasNoTrans, r1 - r0, g->co, g->k, patches, g->k, p->other, g->co, 0.0f,
            p->out + r0 * g->co, g->co);
  }
}

// The two products over the patch matrix, built chunk by chunk: the forward pass (x, filter, y) computes
// y[M, co] = patches[M, K] · filter[K, co]; the filter gradient (x, dy, dw) computes
// dw[K, co] = Σ_chunks patches[M, K]ᵀ · dy[M, co].
static napi_value patch_product(napi_env env, napi_callback_info info, int filter_gradient) {
  Args a;
  Conv g;
  if (!get_args(env, info, &a, 4) || !conv_dims(&a, 3, &g)) return NULL;
  float *x = f32_arg(&a, 0, (size_t)g.n * g.h * g.w * g.c);
  float *other = f32_arg(&a, 1, filter_gradient ? g.m * g.co : g.k * g.co);
  float *out = f32_arg(&a, 2, filter_gradient ? g.k * g.co : g.m * g.co);
  if (a.failed) return NULL;
  if (is_direct(&g)) {
    const int ok = filter_gradient ? direct_conv2d_backprop_filter(&g, x, other, out) : direct_conv2d(&g, x, other, out);
    if (!ok) fail(&a, "out of memory");
    return NULL;
  }
  const int pointwise = is_pointwise(&g), parts = parts_for((double)g.m * g.k * g.co, g.m);
  const size_t rows = pointwise ? g.m : chunk_rows(&g), cols_floats = pointwise ? 0 : rows * g.k;
  // Per part: its patch chunk, and for the filter gradient its partial sum (part 0 sums into `out` itself).
  const size_t part_floats = cols_floats + (filter_gradient ? g.k * g.co : 0);
  float *region = part_floats ? scratch_floats(parts * part_floats) : NULL;
  if (part_floats && !region) return fail(&a, "out of memory"), NULL;
  Patches p = {&g, x, other, out, region, rows, part_floats, filter_gradient};
  run_parts(patch_part, &p, parts);
  for (int part = 1; filter_gradient && part < parts; part++) {
    const float *partial = region + part * part_floats + cols_floats;
    for (size_t i = 0; i < g.k * g.co; i++) out[i] += partial[i];
  }
  return NULL;
}

// conv2d(x, filter, y, dims)
static napi_value conv2d(napi_env env, napi_callback_info info) { return patch_product(env, info, 0); }

// conv2dBackpropFilter(x, dy, dw, dims)
static napi_value conv2d_backprop_filter(napi_env env, napi_callback_info info) {
  return patch_product(env, info, 1);
}

// Images [n·part/parts, n·(part+1)/parts): their patch-matrix rows, whose col2im writes only their own images.
// Patches.x is dy and .other the filter here.
static void backprop_input_part(void *ctx, int part, int parts) {
  const Patches *p = ctx;
  const Conv *g = p->g;
  const size_t per_image = (size_t)g->oh * g->ow, image_floats = (size_t)g->h * g->w * g->c;
  const size_t b0 = part_begin(g->n, part, parts), b1 = part_begin(g->n, part + 1, parts);
  const size_t m0 = b0 * per_image, m1 = b1 * per_image;
  const float *dy = p->x, *f = p->other;
  float *dx = p->out;
  if (is_pointwise(g)) {
    if (m1 > m0) sgemm(CblasNoTrans, CblasTrans, m1 - m0, g->k, g->co, dy + m0 * g->co, g->co, f, g->co, 0.0f,
                       dx + m0 * g->k, g->k);
    return;
  }
  memset(dx + b0 * image_floats, 0, (b1 - b0) * image_floats * sizeof(float));
  float *cols = p->region + part * p->part_floats;
  for (size_t r0 = m0; r0 < m1; r0 += p->rows) {
    const size_t r1 = r0 + p->rows < m1 ? r0 + p->rows : m1;
    sgemm(CblasNoTrans, CblasTrans, r1 - r0, g->k, g->co, dy + r0 * g->co, g->co, f, g->co, 0.0f, cols, g->k);
    col2im(g, cols, dx, r0, r1);
  }
}

// conv2dBackpropInput(dy, filter, dx, dims): dpatches[M, K] = dy[M, co] · filter[K, co]ᵀ, then col2im into dx.
static napi_value conv2d_backprop_input(napi_env env, napi_callback_info info) {
  Args a;
  Conv g;
  if (!get_args(env, info, &a, 4) || !conv_dims(&a, 3, &g)) return NULL;
  const size_t xlen = (size_t)g.n * g.h * g.w * g.c;
  float *dy = f32_arg(&a, 0, g.m * g.co), *f = f32_arg(&a, 1, g.k * g.co), *dx = f32_arg(&a, 2, xlen);
  if (a.failed) return NULL;
  const int parts = parts_for((double)g.m * g.k * g.co, g.n);
  const size_t rows = is_pointwise(&g) ? 0 : chunk_rows(&g);
  float *region = rows ? scratch_floats(parts * rows * g.k) : NULL;
  if (rows && !region) return fail(&a, "out of memory"), NULL;
  Patches p = {&g, dy, f, dx, region, rows, rows * g.k, 0};
  run_parts(backprop_input_part, &p, parts);
  return NULL;
}

// maxPoolGrad(x, dy, dx, dims[n, h, w, c, oh, ow, fh, fw, sh, sw, top, left]): each window's gradient goes to its
// first maximum in row-major scan order (tfjs cpu semantics: the first in-bounds value is taken, then only a
// strictly greater one replaces it, so a leading NaN stays). One output row at a time, window offsets outermost
// and branch-free selects (bit masks: GCC turns `take ? v : b` back into a branch) — data-dependent branches here
// mispredicted half the time (3x slower, measured). 128-bit vectors: GCC's 256/512-bit versions of these short
// channel loops ran 3x slower than SSE (0.36 ms for LeNet-5's pool 1, measured).
// maxPool(x, y, dims): the forward pass, the same scan with each window's maximum written out (y non-null).
typedef struct {
  int n, h, w, c, oh, ow, fh, fw, sh, sw, top, left;
  const float *x, *dy;
  float *dx, *best, *y;
  int32_t *at;
} PoolGrad;

// Images [n·part/parts, n·(part+1)/parts), with the part's own row of running maxima.
__attribute__((target("prefer-vector-width=128"))) static void max_pool_grad_part(void *ctx, int part, int parts) {
  const PoolGrad *p = ctx;
  const int h = p->h, w = p->w, c = p->c, oh = p->oh, ow = p->ow, fh = p->fh, fw = p->fw;
  const int sh = p->sh, sw = p->sw, top = p->top, left = p->left;
  const size_t q = (size_t)ow * c, image = (size_t)h * w * c;
  const int b0 = part_begin(p->n, part, parts), b1 = part_begin(p->n, part + 1, parts);
  const float *x = p->x, *dy = p->dy;
  float *dx = p->dx, *best = p->best + part * q;
  int32_t *at = p->at + part * q;
  if (!p->y) memset(dx + b0 * image, 0, (size_t)(b1 - b0) * image * sizeof(float));
  for (int b = b0; b < b1; b++)
    for (int y = 0; y < oh; y++) {
      for (size_t i = 0; i < q; i++) best[i] = 0, at[i] = -1;
      for (int i = 0; i < fh; i++) {
        const int ih = y * sh - top + i;
        if (ih < 0 || ih >= h) continue;
        const float *row = x + ((size_t)b * h + ih) * w * c;
        for (int j = 0; j < fw; j++) {
          const int32_t k = i * fw + j;
          for (int xo = 0; xo < ow; xo++) {
            const int iw = xo * sw - left + j;
            if (iw < 0 || iw >= w) continue;
            const float *src = row + (size_t)iw * c;
            float *bb = best + (size_t)xo * c;
            int32_t *aa = at + (size_t)xo * c;
            for (int ch = 0; ch < c; ch++) {
              const float v = src[ch];
              const int32_t take = -(int32_t)((v > bb[ch]) | (aa[ch] < 0));
              int32_t vb, bbits;
              memcpy(&vb, &v, 4);
              memcpy(&bbits, bb + ch, 4);
              bbits = (vb & take) | (bbits & ~take);
              memcpy(bb + ch, &bbits, 4);
              aa[ch] = (k & take) | (aa[ch] & ~take);
            }
          }
        }
      }
      if (p->y) {
        memcpy(p->y + ((size_t)b * oh + y) * q, best, q * sizeof(float));
        continue;
      }
      const float *g = dy + ((size_t)b * oh + y) * q;
      for (int xo = 0; xo < ow; xo++)
        for (int ch = 0; ch < c; ch++) {
          const int32_t k = at[(size_t)xo * c + ch];
          if (k < 0) continue;
          const int ih = y * sh - top + k / fw, iw = xo * sw - left + k % fw;
          dx[(((size_t)b * h + ih) * w + iw) * c + ch] += g[(size_t)xo * c + ch];
        }
    }
}

static napi_value max_pool_scan(napi_env env, napi_callback_info info, int forward) {
  Args a;
  if (!get_args(env, info, &a, forward ? 3 : 4)) return NULL;
  int32_t *d = i32_arg(&a, forward ? 2 : 3, 12);
  if (!d) return NULL;
  PoolGrad p = {d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7], d[8], d[9], d[10], d[11]};
  const size_t xlen = (size_t)p.n * p.h * p.w * p.c, q = (size_t)p.ow * p.c, ylen = (size_t)p.n * p.oh * p.ow * p.c;
  p.x = f32_arg(&a, 0, xlen);
  if (forward)
    p.y = f32_arg(&a, 1, ylen);
  else
    p.dy = f32_arg(&a, 1, ylen), p.dx = f32_arg(&a, 2, xlen);
  if (a.failed) return NULL;
  // Element visits stand in for multiply-adds when deciding to split.
  const int parts = parts_for((double)xlen * 4, p.n);
  p.best = malloc(parts * q * sizeof(float));
  p.at = malloc(parts * q * sizeof(int32_t));
  if (!p.best || !p.at) return free(p.best), free(p.at), fail(&a, "out of memory"), NULL;
  run_parts(max_pool_grad_part, &p, parts);
  free(p.best);
  free(p.at);
  return NULL;
}

static napi_value max_pool_grad(napi_env env, napi_callback_info info) { return max_pool_scan(env, info, 0); }
static napi_value max_pool(napi_env env, napi_callback_info info) { return max_pool_scan(env, info, 1); }

// sgdStep(w, g, buf, mask|null, outW, outBuf, lr, momentum, first, nesterov, weightDecay):
// PyTorch's SGD with the mask fused in: g' = (g + wd·w)·mask; buf' = first ? g' : mom·buf + g';
// w' = (w − lr·(nesterov ? g' + mom·buf' : buf'))·mask. outBuf is ignored when momentum is 0.
// One element-wise pass; the flags are compile-time constants in each specialisation below, so GCC drops the
// branches and vectorises the loop (restrict: tfjs gives every input and output its own buffer). Element by element
// it is the same sequence of roundings whatever the vector width, so every specialisation is bit-identical to the
// op-by-op update.

// One element: the new weight, and (with momentum) the new momentum in *b. buf and mask are read by the caller only
// where the flags use them (buf: momentum after the first step; mask: masked).
static inline __attribute__((always_inline)) float sgd_element(float w, float g, float buf, float mask, float *b,
                                                              float lr, float mom, float wd, int has_wd, int has_mask,
                                                              int has_mom, int first, int nesterov) {
  if (has_wd) g += wd * w;
  if (has_mask) g *= mask;
  float d = g;
  if (has_mom) {
    *b = first ? g : mom * buf + g;
    d = nesterov ? g + mom * *b : *b;
  }
  const float next = w - lr * d;
  return has_mask ? next * mask : next;
}

static inline __attribute__((always_inline)) void sgd_pass(size_t len, const float *restrict w,
                                                          const float *restrict g, const float *restrict buf,
                                                          const float *restrict mask, float *restrict ow,
                                                          float *restrict ob, float lr, float mom, float wd,
                                                          int has_wd, int has_mask, int has_mom, int first,
                                                          int nesterov) {
  for (size_t i = 0; i < len; i++) {
    float b = 0;
    ow[i] = sgd_element(w[i], g[i], has_mom && !first ? buf[i] : 0, has_mask ? mask[i] : 1, &b, lr, mom, wd, has_wd,
                        has_mask, has_mom, first, nesterov);
    if (has_mom) ob[i] = b;
  }
}

// The same update written over w and buf (outW is w, outBuf is buf): a trainer that owns its arrays keeps three of
// them live instead of five. The dense MLP's first layer (235k weights) updates in ~110 µs instead of ~215 µs, its
// arrays no longer spilling out of L2.
static inline __attribute__((always_inline)) void sgd_pass_in_place(size_t len, float *restrict w,
                                                                   const float *restrict g, float *restrict buf,
                                                                   const float *restrict mask, float lr, float mom,
                                                                   float wd, int has_wd, int has_mask, int has_mom,
                                                                   int first, int nesterov) {
  for (size_t i = 0; i < len; i++) {
    float b = 0;
    w[i] = sgd_element(w[i], g[i], has_mom && !first ? buf[i] : 0, has_mask ? mask[i] : 1, &b, lr, mom, wd, has_wd,
                       has_mask, has_mom, first, nesterov);
    if (has_mom) buf[i] = b;
  }
}

static napi_value sgd_step(napi_env env, napi_callback_info info) {
  Args a;
  if (!get_args(env, info, &a, 11)) return NULL;
  size_t len;
  napi_typedarray_type type;
  void *data;
  if (napi_get_typedarray_info(env, a.argv[0], &type, &len, &data, NULL, NULL) != napi_ok ||
      type != napi_float32_array)
    return fail(&a, "expected a Float32Array"), NULL;
  napi_valuetype mt;
  napi_typeof(env, a.argv[3], &mt);
  const float lr = num_arg(&a, 6), mom = num_arg(&a, 7), wd = num_arg(&a, 10);
  const int first = bool_arg(&a, 8), nesterov = bool_arg(&a, 9);
  float *w = f32_arg(&a, 0, len), *g = f32_arg(&a, 1, len), *ow = f32_arg(&a, 4, len);
  float *mask = mt == napi_null || mt == napi_undefined ? NULL : f32_arg(&a, 3, len);
  float *buf = mom != 0 && !first ? f32_arg(&a, 2, len) : NULL, *ob = mom != 0 ? f32_arg(&a, 5, len) : NULL;
  if (a.failed) return NULL;
  const int has_wd = wd != 0, has_mask = mask != NULL, has_mom = mom != 0;
  // In place: outW is w and, with momentum, outBuf is buf (on the first step buf is not read, so outBuf alone).
  const int in_place = ow == w && (!has_mom || first || ob == buf);
  if (!in_place && (ow == w || ow == g || (ob && (ob == buf || ob == g || ob == w))))
    return fail(&a, "sgdStep: outputs must be distinct from the inputs, or exactly w and buf (in place)"), NULL;
  // The training loop's cases (momentum, no Nesterov; with and without decay and mask; first step or not) get
  // their own vectorised pass; anything else takes the general one.
#define SGD_CASE(WD, MASK, FIRST)                                                                            \
  if (has_mom && !nesterov && has_wd == WD && has_mask == MASK && first == FIRST) {                          \
    if (in_place)                                                                                             \
      sgd_pass_in_place(len, w, g, ob, mask, lr, mom, wd, WD, MASK, 1, FIRST, 0);                            \
    else                                                                                                      \
      sgd_pass(len, w, g, buf, mask, ow, ob, lr, mom, wd, WD, MASK, 1, FIRST, 0);                            \
    return NULL;                                                                                              \
  }
  SGD_CASE(1, 1, 0)
  SGD_CASE(1, 1, 1)
  SGD_CASE(0, 1, 0)
  SGD_CASE(0, 1, 1)
  SGD_CASE(1, 0, 0)
  SGD_CASE(1, 0, 1)
  SGD_CASE(0, 0, 0)
  SGD_CASE(0, 0, 1)
#undef SGD_CASE
  if (in_place)
    sgd_pass_in_place(len, w, g, ob, mask, lr, mom, wd, has_wd, has_mask, has_mom, first, nesterov);
  else
    sgd_pass(len, w, g, buf, mask, ow, ob, lr, mom, wd, has_wd, has_mask, has_mom, first, nesterov);
  return NULL;
}

// biasAdd(x, bias, out, dims[rows, c]): out[r, j] = x[r, j] + bias[j] (a bias over the last axis; tfjs's broadcast
// Add on wasm takes a general strided path for it, 1.1 ms of a LeNet-5 step). biasAddRelu: then max(·, 0), the
// hidden layers of a layer chain trained without tfjs (ml/kernels/layer-chain-trainer.ts), the sum rounded the same.
static inline __attribute__((always_inline)) napi_value bias_add_then(napi_env env, napi_callback_info info,
                                                                      int relu) {
  Args a;
  if (!get_args(env, info, &a, 4)) return NULL;
  int32_t *d = i32_arg(&a, 3, 2);
  if (!d) return NULL;
  const size_t rows = (size_t)d[0], c = (size_t)d[1];
  float *x = f32_arg(&a, 0, rows * c), *b = f32_arg(&a, 1, c), *out = f32_arg(&a, 2, rows * c);
  if (a.failed) return NULL;
  for (size_t r = 0; r < rows; r++)
    for (size_t j = 0; j < c; j++) {
      const float v = x[r * c + j] + b[j];
      out[r * c + j] = relu && v < 0 ? 0 : v; // NaN passes, so a diverging run's loss still says so
    }
  return NULL;
}

static napi_value bias_add(napi_env env, napi_callback_info info) { return bias_add_then(env, info, 0); }
static napi_value bias_add_relu(napi_env env, napi_callback_info info) { return bias_add_then(env, info, 1); }

// reluGrad(dy, y, dx, dims[len]): dx = dy · step(y), y the ReLU's output (positive exactly where its input is), a
// product as in tfjs's gradient (zeros keep dy's sign; NaN stays NaN).
static napi_value relu_grad(napi_env env, napi_callback_info info) {
  Args a;
  if (!get_args(env, info, &a, 4)) return NULL;
  int32_t *d = i32_arg(&a, 3, 1);
  if (!d) return NULL;
  const size_t len = (size_t)d[0];
  float *dy = f32_arg(&a, 0, len), *y = f32_arg(&a, 1, len), *dx = f32_arg(&a, 2, len);
  if (a.failed) return NULL;
  // Selects, not branches: GCC vectorises them into compares and blends (the branches, taken at random on about half
  // the units, mispredicted: 8% of a quickstart's CPU went here). NaN in y passes through as before.
  for (size_t i = 0; i < len; i++) {
    const float yi = y[i], gate = yi > 0 ? 1.0f : 0.0f;
    dx[i] = dy[i] * (yi == yi ? gate : yi);
  }
  return NULL;
}

// gatherRows(src, rows, dst, dims[width], ahead?): dst's i-th row of `width` floats is src's row rows[i]: a batch from
// a data set (one memcpy a row instead of a typed-array view and a copy each in JavaScript), or with width 1 a pruned
// layer's compact weights from row order to column order. `ahead` (optional, rows of src): the next batch's rows,
// prefetched into L2 after the copy so that they arrive while the step runs (a data set larger than what stays
// cached, MNIST's 6,000 rows = 18.8 MB on a 32 MB L3, made each 128-row gather wait on memory: 55 µs against 13).
static napi_value gather_rows(napi_env env, napi_callback_info info) {
  Args a;
  if (!get_args(env, info, &a, 4)) return NULL;
  size_t count = 0, src_len = 0;
  napi_get_typedarray_info(env, a.argv[1], NULL, &count, NULL, NULL, NULL);
  napi_get_typedarray_info(env, a.argv[0], NULL, &src_len, NULL, NULL, NULL);
  int32_t *d = i32_arg(&a, 3, 1), *rows = i32_arg(&a, 1, count);
  if (!d) return NULL;
  const size_t width = (size_t)d[0];
  float *src = f32_arg(&a, 0, src_len), *dst = f32_arg(&a, 2, count * width);
  if (a.failed) return NULL;
  for (size_t i = 0; i < count; i++) {
    if (rows[i] < 0 || ((size_t)rows[i] + 1) * width > src_len) return fail(&a, "gatherRows: row out of range"), NULL;
    if (width == 1)
      dst[i] = src[rows[i]];
    else
      memcpy(dst + i * width, src + (size_t)rows[i] * width, width * sizeof(float));
  }
  napi_valuetype at = napi_undefined;
  if (a.argc > 4) napi_typeof(env, a.argv[4], &at);
  if (at == napi_undefined || at == napi_null) return NULL;
  size_t next = 0;
  napi_get_typedarray_info(env, a.argv[4], NULL, &next, NULL, NULL, NULL);
  const int32_t *ahead = i32_arg(&a, 4, next);
  if (!ahead) return NULL;
  for (size_t i = 0; i < next; i++) {
    if (ahead[i] < 0 || ((size_t)ahead[i] + 1) * width > src_len) continue;  // a hint only: nothing to refuse
    const char *row = (const char *)(src + (size_t)ahead[i] * width);
    for (size_t at_byte = 0; at_byte < width * sizeof(float); at_byte += 64) __builtin_prefetch(row + at_byte, 0, 2);
  }
  return NULL;
}

// decodeRows(codes, rows, dst, scaleShift, dims[width], ahead?): gatherRows from the bytes a split was normalised
// from: dst's row i, feature j = (float)(codes[rows[i], j]·scale[j] − shift[j]) in double, the expression
// splitFromBytes (ml/data/dataset.ts) evaluates in JavaScript, so the floats are the split's own; scaleShift holds
// `width` scales then `width` shifts. A quarter of the bytes to read (MNIST's 6,000 rows: 4.7 MB of codes, 18.8 MB of
// floats). Each row's lines are requested DECODE_AHEAD rows before it is decoded: prefetching the whole next batch
// at the end of a call left it to a training step that evicts much of it, and 45% of this function's samples waited
// on its loads (a quickstart's decodes 858 → 543 samples; a 128-row batch after 4 MB of other traffic 52–58 → 42–47
// µs). `ahead` now only starts the next call's first rows.
#define DECODE_AHEAD 4
static napi_value decode_rows(napi_env env, napi_callback_info info) {
  Args a;
  if (!get_args(env, info, &a, 5)) return NULL;
  size_t count = 0, src_len = 0;
  napi_typedarray_type type;
  void *data = NULL;
  napi_get_typedarray_info(env, a.argv[1], NULL, &count, NULL, NULL, NULL);
  if (napi_get_typedarray_info(env, a.argv[0], &type, &src_len, &data, NULL, NULL) != napi_ok ||
      type != napi_uint8_array)
    return fail(&a, "decodeRows: expected the codes as a Uint8Array"), NULL;
  const uint8_t *codes = data;
  int32_t *d = i32_arg(&a, 4, 1), *rows = i32_arg(&a, 1, count);
  if (!d) return NULL;
  const size_t width = (size_t)d[0];
  float *dst = f32_arg(&a, 2, count * width);
  size_t pairs = 0;
  if (a.failed) return NULL;
  if (napi_get_typedarray_info(env, a.argv[3], &type, &pairs, &data, NULL, NULL) != napi_ok ||
      type != napi_float64_array || pairs < 2 * width)
    return fail(&a, "decodeRows: expected `width` scales and shifts as a Float64Array"), NULL;
  const double *scale = data, *shift = scale + width;
  for (size_t i = 0; i < count; i++) {
    if (rows[i] < 0 || ((size_t)rows[i] + 1) * width > src_len) return fail(&a, "decodeRows: row out of range"), NULL;
    if (i + DECODE_AHEAD < count && rows[i + DECODE_AHEAD] >= 0 &&
        ((size_t)rows[i + DECODE_AHEAD] + 1) * width <= src_len) {
      const char *row = (const char *)(codes + (size_t)rows[i + DECODE_AHEAD] * width);
      for (size_t at_byte = 0; at_byte < width; at_byte += 64) __builtin_prefetch(row + at_byte, 0, 3);
    }
    const uint8_t *in = codes + (size_t)rows[i] * width;
    float *out = dst + i * width;
    for (size_t j = 0; j < width; j++) out[j] = (float)((double)in[j] * scale[j] - shift[j]);
  }
  if (a.argc > 5) {
    napi_valuetype at = napi_undefined;
    napi_typeof(env, a.argv[5], &at);
    if (at == napi_undefined || at == napi_null) return NULL;
    size_t next = 0;
    napi_get_typedarray_info(env, a.argv[5], NULL, &next, NULL, NULL, NULL);
    const int32_t *ahead = i32_arg(&a, 5, next);
    if (!ahead) return NULL;
    if (next > DECODE_AHEAD) next = DECODE_AHEAD;
    for (size_t i = 0; i < next; i++) {
      if (ahead[i] < 0 || ((size_t)ahead[i] + 1) * width > src_len) continue;  // a hint only: nothing to refuse
      const char *row = (const char *)(codes + (size_t)ahead[i] * width);
      for (size_t at_byte = 0; at_byte < width; at_byte += 64) __builtin_prefetch(row + at_byte, 0, 2);
    }
  }
  return NULL;
}

// columnSum(x, out, dims[rows, c]): out[j] = Σ_r x[r, j], rows in order (the bias gradient: a sum over every axis
// but the last).
static napi_value column_sum(napi_env env, napi_callback_info info) {
  Args a;
  if (!get_args(env, info, &a, 3)) return NULL;
  int32_t *d = i32_arg(&a, 2, 2);
  if (!d) return NULL;
  const size_t rows = (size_t)d[0], c = (size_t)d[1];
  float *x = f32_arg(&a, 0, rows * c), *out = f32_arg(&a, 1, c);
  if (a.failed) return NULL;
  for (size_t j = 0; j < c; j++) out[j] = 0;
  for (size_t r = 0; r < rows; r++)
    for (size_t j = 0; j < c; j++) out[j] += x[r * c + j];
  return NULL;
}

// ---- Batch normalisation in training mode (a layer chain trained without tfjs: vgg-small) ----
// Over x[rows, c] (every axis but the channels folded into rows): batch mean and biased variance per channel,
// accumulated in double (tfjs's moments sums in float32; the two agree to float32 rounding, and the test compares
// them with a tolerance), then y = γ·(x − mean)/√(var + ε) + β, and max(·, 0) where asked.
static double *bn_acc = NULL;
static size_t bn_acc_len = 0;

static double *bn_scratch(size_t n) {
  if (n > bn_acc_len) {
    double *p = realloc(bn_acc, n * sizeof(double));
    if (!p) return NULL;
    bn_acc = p;
    bn_acc_len = n;
  }
  for (size_t i = 0; i < n; i++) bn_acc[i] = 0;
  return bn_acc;
}

// batchNormTrain(x, gamma, beta, y, stats, dims[rows, c, relu], eps): stats gets the batch mean (c floats) then the
// biased variance (c floats): the running statistics' update and the gradient take them from there.
static napi_value batch_norm_train(napi_env env, napi_callback_info info) {
  Args a;
  if (!get_args(env, info, &a, 7)) return NULL;
  int32_t *d = i32_arg(&a, 5, 3);
  if (!d) return NULL;
  const size_t rows = (size_t)d[0], c = (size_t)d[1];
  const int relu = d[2];
  float *x = f32_arg(&a, 0, rows * c), *gamma = f32_arg(&a, 1, c), *beta = f32_arg(&a, 2, c);
  float *y = f32_arg(&a, 3, rows * c), *stats = f32_arg(&a, 4, 2 * c);
  const double eps = num_arg(&a, 6);
  if (a.failed) return NULL;
  if (rows == 0) return fail(&a, "batchNormTrain: no rows"), NULL;
  double *acc = bn_scratch(4 * c);
  if (!acc) return fail(&a, "out of memory"), NULL;
  double *mean = acc, *sq = acc + c, *scale = acc + 2 * c, *shift = acc + 3 * c;
  for (size_t r = 0; r < rows; r++)
    for (size_t j = 0; j < c; j++) mean[j] += x[r * c + j];
  for (size_t j = 0; j < c; j++) mean[j] /= (double)rows;
  for (size_t r = 0; r < rows; r++)
    for (size_t j = 0; j < c; j++) {
      const double dev = x[r * c + j] - mean[j];
      sq[j] += dev * dev;
    }
  for (size_t j = 0; j < c; j++) {
    const float m = (float)mean[j], v = (float)(sq[j] / (double)rows);
    stats[j] = m;
    stats[c + j] = v;
    // From the rounded statistics, as the gradient will see them.
    scale[j] = gamma[j] / sqrt((double)v + eps);
    shift[j] = beta[j] - (double)m * scale[j];
  }
  for (size_t r = 0; r < rows; r++)
    for (size_t j = 0; j < c; j++) {
      const float v = (float)(x[r * c + j] * scale[j] + shift[j]);
      y[r * c + j] = relu && v < 0 ? 0 : v;
    }
  return NULL;
}

// batchNormGrad(x, dy, gamma, stats, dx, dparams, dims[rows, c], eps): with x̂ = (x − mean)/√(var + ε) from stats
// (batchNormTrain's), dβ = Σ dy and dγ = Σ dy·x̂ into dparams (dγ then dβ), and the input gradient through the batch
// statistics: dx = γ/√(var + ε) · (dy − dβ/rows − x̂·dγ/rows), unless dx is empty (the parameters' gradients only).
static napi_value batch_norm_grad(napi_env env, napi_callback_info info) {
  Args a;
  if (!get_args(env, info, &a, 8)) return NULL;
  int32_t *d = i32_arg(&a, 6, 2);
  if (!d) return NULL;
  const size_t rows = (size_t)d[0], c = (size_t)d[1];
  float *x = f32_arg(&a, 0, rows * c), *dy = f32_arg(&a, 1, rows * c), *gamma = f32_arg(&a, 2, c);
  size_t dx_len = 0;
  napi_get_typedarray_info(env, a.argv[4], NULL, &dx_len, NULL, NULL, NULL);
  float *stats = f32_arg(&a, 3, 2 * c), *dx = f32_arg(&a, 4, dx_len ? rows * c : 0), *dparams = f32_arg(&a, 5, 2 * c);
  const double eps = num_arg(&a, 7);
  if (a.failed) return NULL;
  if (rows == 0) return fail(&a, "batchNormGrad: no rows"), NULL;
  double *acc = bn_scratch(4 * c);
  if (!acc) return fail(&a, "out of memory"), NULL;
  double *dgamma = acc, *dbeta = acc + c, *inv = acc + 2 * c, *mean = acc + 3 * c;
  for (size_t j = 0; j < c; j++) {
    mean[j] = stats[j];
    inv[j] = 1 / sqrt((double)stats[c + j] + eps);
  }
  for (size_t r = 0; r < rows; r++)
    for (size_t j = 0; j < c; j++) {
      const double g = dy[r * c + j];
      dbeta[j] += g;
      dgamma[j] += g * (x[r * c + j] - mean[j]);
    }
  for (size_t j = 0; j < c; j++) {
    dgamma[j] *= inv[j];
    dparams[j] = (float)dgamma[j];
    dparams[c + j] = (float)dbeta[j];
  }
  if (dx_len == 0) return NULL;
  const double n = (double)rows;
  for (size_t r = 0; r < rows; r++)
    for (size_t j = 0; j < c; j++) {
      const double xhat = (x[r * c + j] - mean[j]) * inv[j];
      dx[r * c + j] = (float)(gamma[j] * inv[j] * (dy[r * c + j] - dbeta[j] / n - xhat * dgamma[j] / n));
    }
  return NULL;
}

// ---- Sparse dense-layer products (a pruned layer's kernel used through its mask's pattern) ----
// A pattern lists a [k, n] weight matrix's kept entries twice: by column (for y = x·w and the weight gradient) and by
// row (for the input gradient). Int32Array: [k, n, nnz, colptr[n + 1], colrows[nnz], rowptr[k + 1], rowcols[nnz]].
// Weights stay in their dense row-major array (entries outside the pattern are ignored: zero under the mask).
// Examples go one register's width at a time (16 with AVX-512, 8 with AVX2), transposed into a scratch block so each
// kept weight is one vector multiply-add over that many examples. The width follows the build's registers: a 16-float
// type built for AVX2 lives on the stack (the products ran 6–7× slower than sgemm on a Zen 3).
#if defined(__AVX512F__)
#define REG_LANES 16
#else
#define REG_LANES 8
#endif
typedef float vreg __attribute__((vector_size(REG_LANES * 4)));
typedef float vregu __attribute__((vector_size(REG_LANES * 4), aligned(4)));
typedef int32_t vregi __attribute__((vector_size(REG_LANES * 4)));
// Multiply-adds here may fuse (the file is built with -ffp-contract=off so that the SGD update rounds like the op-by-op
// one; these products have no op-by-op twin to match, and fused they do half the vector arithmetic).
#if defined(__GNUC__) && !defined(__clang__)
#define SPARSE_FMA __attribute__((optimize("fp-contract=fast")))
#else
#define SPARSE_FMA
#endif
#define SP_BLOCK REG_LANES

typedef struct {
  int k, n, nnz;
  const int32_t *colptr, *colrows, *rowptr, *rowcols;
} Pattern;

static int pattern_of(const int32_t *p, size_t len, Pattern *out) {
  if (len < 3) return 0;
  out->k = p[0];
  out->n = p[1];
  out->nnz = p[2];
  if (out->k < 0 || out->n < 0 || out->nnz < 0 || len < 3 + (size_t)out->n + 1 + out->nnz + out->k + 1 + out->nnz)
    return 0;
  out->colptr = p + 3;
  out->colrows = out->colptr + out->n + 1;
  out->rowptr = out->colrows + out->nnz;
  out->rowcols = out->rowptr + out->k + 1;
  return 1;
}

static vreg *sp_scratch = NULL;
static size_t sp_scratch_vectors = 0;

static vreg *sparse_scratch(size_t vectors) {
  if (vectors > sp_scratch_vectors) {
    free(sp_scratch);
    sp_scratch = aligned_alloc(64, vectors * sizeof(vreg));
    sp_scratch_vectors = sp_scratch ? vectors : 0;
  }
  return sp_scratch;
}

static int *sp_cursors = NULL;
static size_t sp_cursors_len = 0;

// One cursor per row of a pattern (the weight gradient's walk); kept between calls like the vectors above.
static int *sparse_cursors(size_t rows) {
  if (rows > sp_cursors_len) {
    free(sp_cursors);
    sp_cursors = malloc((rows ? rows : 1) * sizeof(int));
    sp_cursors_len = sp_cursors ? rows : 0;
  }
  return sp_cursors;
}

// One swap stage of a REG_LANES-square transpose held as row vectors: the off-diagonal h × h blocks of every 2h × 2h
// block trade places (h = REG_LANES / 2, …, 2, 1 in turn transposes the whole).
#define TRANSPOSE_STAGE(m, h)                                                                                        \
  do {                                                                                                               \
    const vregi lo = LANE_LIST(MASK_LO, h), hi = LANE_LIST(MASK_HI, h);                                              \
    for (int r = 0; r < REG_LANES; r++) {                                                                            \
      if (r & (h)) continue;                                                                                         \
      const vreg a = (m)[r], b = (m)[r + (h)];                                                                       \
      (m)[r] = __builtin_shuffle(a, b, lo);                                                                          \
      (m)[r + (h)] = __builtin_shuffle(a, b, hi);                                                                    \
    }                                                                                                                \
  } while (0)
// Row r keeps its own columns outside the moving blocks and takes row r + h's; row r + h the reverse.
#define MASK_LO(h, c) (((c) & (h)) ? REG_LANES + (c) - (h) : (c))
#define MASK_HI(h, c) (((c) & (h)) ? REG_LANES + (c) : (c) + (h))
#define LANE_LIST8(F, h, o) \
  F(h, o), F(h, o + 1), F(h, o + 2), F(h, o + 3), F(h, o + 4), F(h, o + 5), F(h, o + 6), F(h, o + 7)
#if REG_LANES == 16
#define LANE_LIST(F, h) {LANE_LIST8(F, h, 0), LANE_LIST8(F, h, 8)}
#else
#define LANE_LIST(F, h) {LANE_LIST8(F, h, 0)}
#endif

static inline void transpose_lanes(vreg m[REG_LANES]) {
#if REG_LANES == 16
  TRANSPOSE_STAGE(m, 8);
#endif
  TRANSPOSE_STAGE(m, 4);
  TRANSPOSE_STAGE(m, 2);
  TRANSPOSE_STAGE(m, 1);
}

// rows × cols of src (row-major, rows ≤ REG_LANES) into dst[c] lanes (zero beyond rows); dst[c] lands every `step`
// vectors. A register's width of columns at a time (one element at a time took 100k scalar stores for a batch of
// the MLP's input, ~40 µs a call); the last cols % REG_LANES element by element.
static void transpose_block(const float *src, size_t stride, int rows, int cols, vreg *dst, size_t step) {
  int c0 = 0;
  for (; c0 + REG_LANES <= cols; c0 += REG_LANES) {
    vreg m[REG_LANES];
    for (int t = 0; t < REG_LANES; t++)
      m[t] = t < rows ? (vreg)(*(const vregu *)(src + (size_t)t * stride + c0)) : (vreg){0};
    transpose_lanes(m);
    for (int c = 0; c < REG_LANES; c++) dst[(size_t)(c0 + c) * step] = m[c];
  }
  for (int c = c0; c < cols; c++) dst[c * step] = (vreg){0};
  for (int t = 0; t < rows; t++) {
    const float *s = src + (size_t)t * stride;
    for (int c = c0; c < cols; c++) dst[c * step][t] = s[c];
  }
}

// The pattern's weights in column order (vals[p] = w[colrows[p], j]) or row order (w[r, rowcols[q]]): gathered once
// per call instead of once per block of examples.
static void gather_by_column(const float *w, const Pattern *P, float *vals) {
  for (int j = 0; j < P->n; j++)
    for (int p = P->colptr[j]; p < P->colptr[j + 1]; p++) vals[p] = w[(size_t)P->colrows[p] * P->n + j];
}
static void gather_by_row(const float *w, const Pattern *P, float *vals) {
  for (int r = 0; r < P->k; r++)
    for (int q = P->rowptr[r]; q < P->rowptr[r + 1]; q++) vals[q] = w[(size_t)r * P->n + P->rowcols[q]];
}

typedef float v8f __attribute__((vector_size(32)));
typedef float v4f __attribute__((vector_size(16)));

// The lanes' sum as a tree (halves added, then quarters): a few shuffles, not 16 dependent adds.
static inline float lane_sum(vreg s) {
#if REG_LANES == 16
  union {
    vreg v;
    v8f h[2];
  } a = {s};
  const v8f eight = a.h[0] + a.h[1];
#else
  const v8f eight = s;
#endif
  union {
    v8f v;
    v4f q[2];
  } b = {eight};
  const v4f q = b.q[0] + b.q[1];
  return (q[0] + q[2]) + (q[1] + q[3]);
}

// Examples a pass over the pattern takes: 32, SP_PASS vectors per input row (2 with AVX-512, 4 with AVX2), so each
// kept weight's index and value load serve SP_PASS multiply-adds; SP_WEIGHTS kept weights a step make eight
// independent sums either way, enough to keep both FMA pipes busy (four waited on the adds' latency). With AVX2, two
// vectors a row walked the pattern eight times a batch of 128 and ran 23% slower than AVX-512's four walks.
#define SP_PASS (32 / REG_LANES)
#define SP_WEIGHTS (8 / SP_PASS)

// y[b, n] = x[b, k] · w[k, n] over the pattern's entries; w null: vals already holds them by column.
SPARSE_FMA static void sparse_matmul(int b, const float *x, const float *w, const Pattern *P, float *y, vreg *xt,
                                     const float *vals) {
  const int k = P->k, n = P->n;
  if (w) gather_by_column(w, P, (float *)vals);
  for (int i0 = 0; i0 < b; i0 += SP_PASS * SP_BLOCK) {
    int count[SP_PASS];  // examples in each vector (the last pass may hold fewer)
    for (int v = 0; v < SP_PASS; v++) {
      const int left = b - i0 - v * SP_BLOCK;
      count[v] = left < 0 ? 0 : left < SP_BLOCK ? left : SP_BLOCK;
      transpose_block(x + (size_t)(i0 + v * SP_BLOCK) * k, k, count[v], k, xt + v, SP_PASS);
    }
    for (int j = 0; j < n; j++) {
      vreg acc[SP_WEIGHTS][SP_PASS] = {{{0}}};
      int p = P->colptr[j];
      const int e = P->colptr[j + 1];
      const int32_t *rows = P->colrows;
      for (; p + SP_WEIGHTS <= e; p += SP_WEIGHTS) {
#pragma GCC unroll 4
        for (int u = 0; u < SP_WEIGHTS; u++) {
          const vreg *r = xt + SP_PASS * (size_t)rows[p + u];
#pragma GCC unroll 4
          for (int v = 0; v < SP_PASS; v++) acc[u][v] += vals[p + u] * r[v];
        }
      }
      for (; p < e; p++) {
        const vreg *r = xt + SP_PASS * (size_t)rows[p];
#pragma GCC unroll 4
        for (int v = 0; v < SP_PASS; v++) acc[0][v] += vals[p] * r[v];
      }
#pragma GCC unroll 4
      for (int v = 0; v < SP_PASS; v++) {
#if SP_WEIGHTS == 4
        const vreg sum = (acc[0][v] + acc[1][v]) + (acc[2][v] + acc[3][v]);
#else
        const vreg sum = acc[0][v] + acc[1][v];
#endif
        for (int t = 0; t < count[v]; t++) y[(size_t)(i0 + v * SP_BLOCK + t) * n + j] = sum[t];
      }
    }
  }
}

// dx[b, k] = dy[b, n] · wᵀ over the pattern's entries; w null: vals already holds them by row.
SPARSE_FMA static void sparse_matmul_grad_x(int b, const float *dy, const float *w, const Pattern *P, float *dx,
                                            vreg *dyt, const float *vals) {
  const int k = P->k, n = P->n;
  if (w) gather_by_row(w, P, (float *)vals);
  for (int i0 = 0; i0 < b; i0 += SP_BLOCK) {
    const int bs = b - i0 < SP_BLOCK ? b - i0 : SP_BLOCK;
    transpose_block(dy + (size_t)i0 * n, n, bs, n, dyt, 1);
    for (int r = 0; r < k; r++) {
      vreg a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
      int q = P->rowptr[r];
      const int e = P->rowptr[r + 1];
      const int32_t *cols = P->rowcols;
      for (; q + 4 <= e; q += 4) {
        a0 += vals[q] * dyt[cols[q]];
        a1 += vals[q + 1] * dyt[cols[q + 1]];
        a2 += vals[q + 2] * dyt[cols[q + 2]];
        a3 += vals[q + 3] * dyt[cols[q + 3]];
      }
      for (; q < e; q++) a0 += vals[q] * dyt[cols[q]];
      const vreg acc = (a0 + a1) + (a2 + a3);
      for (int t = 0; t < bs; t++) dx[(size_t)(i0 + t) * k + r] = acc[t];
    }
  }
}

// One kept weight's gradient: its input row's blocks of examples times its output column's, summed in two halves
// (even and odd blocks) and then across lanes. The tiled loop below does the same operations four weights at a time.
SPARSE_FMA static inline float block_dot(const vreg *xr, const vreg *d, int blocks) {
  vreg s = {0}, t = {0};
  int c = 0;
  for (; c + 2 <= blocks; c += 2) {
    s += xr[c] * d[c];
    t += xr[c + 1] * d[c + 1];
  }
  if (c < blocks) s += xr[c] * d[c];
  return lane_sum(s + t);
}

static unsigned char *uniform_rows = NULL;
static size_t uniform_rows_len = 0;

// The rows of x (transposed: `blocks` vectors a row) that hold one value in every example, that of the first such
// row: flags[r] = 1. Returns that row, or −1 where there is none.
static int uniform_input_rows(const vreg *xt, int k, int b, int blocks, unsigned char *flags) {
  int ref = -1;
  for (int r = 0; r < k; r++) {
    const vreg *xr = xt + (size_t)r * blocks;
    if (ref < 0) {
      const float v = xr[0][0];
      int same = 1;
      for (int i = 0; i < b && same; i++) same = !memcmp(&xr[i / SP_BLOCK][i % SP_BLOCK], &v, sizeof v);
      if (same) ref = r;
      flags[r] = (unsigned char)same;
    } else
      flags[r] = !memcmp(xr, xt + (size_t)ref * blocks, (size_t)blocks * sizeof(vreg));
  }
  return ref;
}

// dw[k, n] = x[b, k]ᵀ · dy[b, n] at the pattern's entries, zero elsewhere; compact: dw is the nnz entries by row
// (nothing else written). xt holds k·⌈b/REG_LANES⌉ vectors, dyt n·⌈b/REG_LANES⌉.
// Rows of x that hold one value throughout the batch (normalised MNIST's background: a third of the pixels of a
// 128-example batch) give a kept weight in column j the same gradient whichever such row it is in: block_dot of
// identical vectors. It is computed once per column and copied, the same bits as computing it for each weight.
SPARSE_FMA static void sparse_matmul_grad_w(int b, const float *x, const float *dy, const Pattern *P, float *dw,
                                            vreg *xt, vreg *dyt, int *cursor, int compact,
                                            unsigned char *uniform, float *column_sums) {
  const int k = P->k, n = P->n, blocks = (b + SP_BLOCK - 1) / SP_BLOCK;
  // Row r's c-th block of examples at r * blocks + c.
  for (int c = 0; c < blocks; c++) {
    const int i0 = c * SP_BLOCK, bs = b - i0 < SP_BLOCK ? b - i0 : SP_BLOCK;
    transpose_block(x + (size_t)i0 * k, k, bs, k, xt + c, blocks);
    transpose_block(dy + (size_t)i0 * n, n, bs, n, dyt + c, blocks);
  }
  if (!compact) memset(dw, 0, (size_t)k * n * sizeof(float));
  int ref = -1;
  if (b > 0)
    ref = uniform_input_rows(xt, k, b, blocks, uniform);
  else
    for (int r = 0; r < k; r++) uniform[r] = 0;
  if (ref >= 0) {
    const vreg *xr = xt + (size_t)ref * blocks;
    for (int j = 0; j < n; j++) column_sums[j] = block_dot(xr, dyt + (size_t)j * blocks, blocks);
    for (int r = 0; r < k; r++) {
      if (!uniform[r]) continue;
      float *dwr = compact ? dw : dw + (size_t)r * n;
      const int32_t *cols = P->rowcols;
      for (int q = P->rowptr[r]; q < P->rowptr[r + 1]; q++) dwr[compact ? q : cols[q]] = column_sums[cols[q]];
    }
  }
  // Tiles of rows × columns whose examples fit in L1 together (~16 KB each side): walking the pattern column by
  // column instead streamed a row of x from L2 for every kept weight and ran at L2's bandwidth (~25 cycles a
  // weight). Each row keeps a cursor into its kept columns (ascending), advanced one column tile at a time.
  const int tile = blocks >= 64 * 16 / REG_LANES ? 4 : (int)(16384 / sizeof(vreg)) / (blocks ? blocks : 1);
  for (int r0 = 0; r0 < k; r0 += tile) {
    const int r1 = r0 + tile < k ? r0 + tile : k;
    for (int r = r0; r < r1; r++) cursor[r] = P->rowptr[r];
    for (int j0 = 0; j0 < n; j0 += tile) {
      const int j1 = j0 + tile < n ? j0 + tile : n;
      for (int r = r0; r < r1; r++) {
        if (uniform[r]) continue;
        const vreg *xr = xt + (size_t)r * blocks;
        // Entry q of row r goes to dwr[cols[q]]: the row of the dense matrix, or the compact list itself.
        float *dwr = compact ? dw : dw + (size_t)r * n;
        const int32_t *at = compact ? NULL : P->rowcols;
        const int e = P->rowptr[r + 1];
        const int32_t *cols = P->rowcols;
        int q = cursor[r];
        // Four kept weights a step, each summed in two halves (even and odd blocks): eight independent sums.
        for (; q + 4 <= e && cols[q + 3] < j1; q += 4) {
          const vreg *d0 = dyt + (size_t)cols[q] * blocks, *d1 = dyt + (size_t)cols[q + 1] * blocks;
          const vreg *d2 = dyt + (size_t)cols[q + 2] * blocks, *d3 = dyt + (size_t)cols[q + 3] * blocks;
          vreg s0 = {0}, s1 = {0}, s2 = {0}, s3 = {0}, t0 = {0}, t1 = {0}, t2 = {0}, t3 = {0};
          int c = 0;
          for (; c + 2 <= blocks; c += 2) {
            s0 += xr[c] * d0[c];
            s1 += xr[c] * d1[c];
            s2 += xr[c] * d2[c];
            s3 += xr[c] * d3[c];
            t0 += xr[c + 1] * d0[c + 1];
            t1 += xr[c + 1] * d1[c + 1];
            t2 += xr[c + 1] * d2[c + 1];
            t3 += xr[c + 1] * d3[c + 1];
          }
          if (c < blocks) {
            s0 += xr[c] * d0[c];
            s1 += xr[c] * d1[c];
            s2 += xr[c] * d2[c];
            s3 += xr[c] * d3[c];
          }
          dwr[at ? at[q] : q] = lane_sum(s0 + t0);
          dwr[at ? at[q + 1] : q + 1] = lane_sum(s1 + t1);
          dwr[at ? at[q + 2] : q + 2] = lane_sum(s2 + t2);
          dwr[at ? at[q + 3] : q + 3] = lane_sum(s3 + t3);
        }
        for (; q < e && cols[q] < j1; q++) dwr[at ? at[q] : q] = block_dot(xr, dyt + (size_t)cols[q] * blocks, blocks);
        cursor[r] = q;
      }
    }
  }
}

static int32_t *pattern_arg(Args *a, size_t i, Pattern *P) {
  napi_typedarray_type type;
  size_t len;
  void *data;
  if (a->failed) return NULL;
  if (napi_get_typedarray_info(a->env, a->argv[i], &type, &len, &data, NULL, NULL) != napi_ok ||
      type != napi_int32_array || !pattern_of((const int32_t *)data, len, P)) {
    fail(a, "expected an Int32Array sparsity pattern");
    return NULL;
  }
  return (int32_t *)data;
}

// The sparse kernels' common arguments: (a, b, pattern, out, dims[batch]); 0 when they are wrong (an error thrown).
// dims[1], when given and 1, says the weights (or the weight gradient) are compact: the pattern's nnz entries, by
// column for sparseMatMul and by row otherwise (ml/kernels/layer-chain-trainer.ts keeps pruned layers so).
static int sparse_args(napi_env env, napi_callback_info info, Args *a, Pattern *P, int *batch, int *compact) {
  if (!get_args(env, info, a, 5) || !pattern_arg(a, 2, P)) return 0;
  int32_t *d = i32_arg(a, 4, 1);
  if (!d) return 0;
  size_t len = 0;
  napi_get_typedarray_info(env, a->argv[4], NULL, &len, NULL, NULL, NULL);
  *batch = d[0];
  *compact = len > 1 && d[1] == 1;
  return 1;
}

// sparseMatMul(x, w, pattern, y, dims[b]): y[b, n] = x[b, k] · w[k, n] over the pattern.
static napi_value sparse_matmul_napi(napi_env env, napi_callback_info info) {
  Args a;
  Pattern P;
  int b;
  int compact;
  if (!sparse_args(env, info, &a, &P, &b, &compact)) return NULL;
  float *x = f32_arg(&a, 0, (size_t)b * P.k), *y = f32_arg(&a, 3, (size_t)b * P.n);
  float *w = f32_arg(&a, 1, compact ? (size_t)P.nnz : (size_t)P.k * P.n);
  if (a.failed) return NULL;
  vreg *xt = sparse_scratch(SP_PASS * (size_t)P.k + ((size_t)P.nnz + REG_LANES - 1) / REG_LANES);
  if (!xt) return fail(&a, "out of memory"), NULL;
  sparse_matmul(b, x, compact ? NULL : w, &P, y, xt, compact ? w : (float *)(xt + SP_PASS * (size_t)P.k));
  return NULL;
}

// sparseMatMulGradX(dy, w, pattern, dx, dims[b]): dx[b, k] = dy[b, n] · wᵀ over the pattern.
static napi_value sparse_matmul_grad_x_napi(napi_env env, napi_callback_info info) {
  Args a;
  Pattern P;
  int b;
  int compact;
  if (!sparse_args(env, info, &a, &P, &b, &compact)) return NULL;
  float *dy = f32_arg(&a, 0, (size_t)b * P.n), *dx = f32_arg(&a, 3, (size_t)b * P.k);
  float *w = f32_arg(&a, 1, compact ? (size_t)P.nnz : (size_t)P.k * P.n);
  if (a.failed) return NULL;
  vreg *dyt = sparse_scratch((size_t)P.n + ((size_t)P.nnz + REG_LANES - 1) / REG_LANES);
  if (!dyt) return fail(&a, "out of memory"), NULL;
  sparse_matmul_grad_x(b, dy, compact ? NULL : w, &P, dx, dyt, compact ? w : (float *)(dyt + P.n));
  return NULL;
}

// sparseMatMulGradW(x, dy, pattern, dw, dims[b]): dw[k, n] = x[b, k]ᵀ · dy[b, n] at the pattern, zero elsewhere.
static napi_value sparse_matmul_grad_w_napi(napi_env env, napi_callback_info info) {
  Args a;
  Pattern P;
  int b;
  int compact;
  if (!sparse_args(env, info, &a, &P, &b, &compact)) return NULL;
  const size_t blocks = ((size_t)b + SP_BLOCK - 1) / SP_BLOCK;
  float *x = f32_arg(&a, 0, (size_t)b * P.k), *dy = f32_arg(&a, 1, (size_t)b * P.n);
  float *dw = f32_arg(&a, 3, compact ? (size_t)P.nnz : (size_t)P.k * P.n);
  if (a.failed) return NULL;
  vreg *xt = sparse_scratch(((size_t)P.k + P.n) * blocks);
  int *cursor = sparse_cursors(P.k);
  if ((size_t)P.k > uniform_rows_len) {
    free(uniform_rows);
    uniform_rows = malloc(P.k ? (size_t)P.k : 1);
    uniform_rows_len = uniform_rows ? (size_t)P.k : 0;
  }
  float *uniform_sums = scratch_floats(P.n ? (size_t)P.n : 1);
  if (!xt || !cursor || (P.k && !uniform_rows) || !uniform_sums) return fail(&a, "out of memory"), NULL;
  sparse_matmul_grad_w(b, x, dy, &P, dw, xt, xt + (size_t)P.k * blocks, cursor, compact, uniform_rows, uniform_sums);
  return NULL;
}

// ---- A dense layer over inputs that mostly hold one value (normalised MNIST: 81% of its pixels are the background's) ----
// x = c + s with s sparse: x·w = c·colsum(w) + s·w, and the weight gradient xᵀ·dy = c·colsum(dy) (every row) + sᵀ·dy.
// The sparse terms go entry by entry: each adds a multiple of a row of w (or of dy) to a row of the output, ~19% of
// sgemm's multiply-adds for MNIST. The same sums in another order: rounding differs from sgemm's.

#if !defined(__AVX512F__) && defined(__AVX2__)
// AVX2 has no compress instruction: for each 8-lane mask, the permutation that moves its lanes first (one byte a
// lane, widened on load), built once when the addon loads.
static uint64_t compress_lanes[256];
__attribute__((constructor)) static void fill_compress_lanes(void) {
  for (int m = 0; m < 256; m++) {
    uint64_t perm = 0;
    int at = 0;
    for (int lane = 0; lane < 8; lane++)
      if (m & (1 << lane)) perm |= (uint64_t)lane << (8 * at++);
    compress_lanes[m] = perm;
  }
}
#endif

// s's entries of row r (k values; those ≠ c, NaN included) at idx/vals, their columns and r − c; returns the count.
// AVX-512: sixteen at a time, compressed in registers and stored under a mask (compress-to-memory is microcoded on
// Zen 4); AVX2: eight at a time, permuted by compress_lanes and stored whole (the lanes past the entries land where
// later entries of the row go: the caller's buffers hold all k of a row); the rest one at a time without a branch (a
// branch on the 19% of MNIST's pixels that differ mispredicts).
static int32_t row_entries(const float *r, int k, float c, int32_t *idx, float *vals) {
  int32_t q = 0;
  int j = 0;
#if defined(__AVX512F__)
  const __m512 cv = _mm512_set1_ps(c);
  __m512i cols = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  for (; j + 16 <= k; j += 16, cols = _mm512_add_epi32(cols, _mm512_set1_epi32(16))) {
    const __m512 v = _mm512_loadu_ps(r + j);
    const __mmask16 m = _mm512_cmp_ps_mask(v, cv, _CMP_NEQ_UQ);
    const int n = __builtin_popcount(m);
    const __mmask16 low = (__mmask16)((1u << n) - 1);
    _mm512_mask_storeu_ps(vals + q, low, _mm512_maskz_compress_ps(m, _mm512_sub_ps(v, cv)));
    _mm512_mask_storeu_epi32(idx + q, low, _mm512_maskz_compress_epi32(m, cols));
    q += n;
  }
#elif defined(__AVX2__)
  const __m256 cv = _mm256_set1_ps(c);
  __m256i cols = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  for (; j + 8 <= k; j += 8, cols = _mm256_add_epi32(cols, _mm256_set1_epi32(8))) {
    const __m256 v = _mm256_loadu_ps(r + j);
    const int m = _mm256_movemask_ps(_mm256_cmp_ps(v, cv, _CMP_NEQ_UQ));
    const __m256i perm = _mm256_cvtepu8_epi32(_mm_cvtsi64_si128((long long)compress_lanes[m]));
    _mm256_storeu_ps(vals + q, _mm256_permutevar8x32_ps(_mm256_sub_ps(v, cv), perm));
    _mm256_storeu_si256((__m256i *)(idx + q), _mm256_permutevar8x32_epi32(cols, perm));
    q += __builtin_popcount(m);
  }
#endif
  for (; j < k; j++) {
    // Written unconditionally, kept by advancing: the last write may land one past the entries (the caller's
    // buffers hold all k of a row).
    idx[q] = j, vals[q] = r[j] - c;
    q += r[j] != c;
  }
  return q;
}

// Entries listed by row (ptr[b + 1], each one's column in idx) listed again by column (cptr[k + 1], each one's row
// in cidx): a counting sort, so rows stay ascending within a column.
static void transpose_entries(int b, int k, const int32_t *ptr, const int32_t *idx, const float *vals, int32_t *cptr,
                              int32_t *cidx, float *cvals) {
  memset(cptr, 0, ((size_t)k + 1) * sizeof(int32_t));
  for (int32_t q = 0; q < ptr[b]; q++) cptr[idx[q] + 1]++;
  for (int j = 0; j < k; j++) cptr[j + 1] += cptr[j];
  for (int i = 0; i < b; i++)
    for (int32_t q = ptr[i]; q < ptr[i + 1]; q++) {
      const int32_t at = cptr[idx[q]]++;
      cidx[at] = i, cvals[at] = vals[q];
    }
  for (int j = k; j > 0; j--) cptr[j] = cptr[j - 1];
  cptr[0] = 0;
}

static int32_t *off_ptr = NULL, *off_idx = NULL;
static float *off_vals = NULL;
static size_t off_len = 0;

// s's entries of x[b, k] (those ≠ c) by row (ptr[b + 1], then each entry's column) or, byColumn, by column
// (ptr[k + 1], then each entry's row); vals the entries' x − c. Returns how many there are, or −1 out of memory.
static int32_t offset_entries(const float *x, int b, int k, float c, int by_column, int32_t *ptr, int32_t *idx,
                              float *vals) {
  if (by_column) {
    // By row into scratch first, then transposed.
    const size_t all = (size_t)b * k + (size_t)b + 1;
    if (all > off_len) {
      free(off_ptr), free(off_idx), free(off_vals);
      off_ptr = malloc(all * sizeof(int32_t)), off_idx = malloc(all * sizeof(int32_t));
      off_vals = malloc(all * sizeof(float));
      off_len = off_ptr && off_idx && off_vals ? all : 0;
      if (!off_len) return -1;
    }
    const int32_t nnz = offset_entries(x, b, k, c, 0, off_ptr, off_idx, off_vals);
    transpose_entries(b, k, off_ptr, off_idx, off_vals, ptr, idx, vals);
    return nnz;
  }
  int32_t q = 0;
  for (int i = 0; i < b; i++) {
    ptr[i] = q;
    q += row_entries(x + (size_t)i * k, k, c, idx + q, vals + q);
  }
  ptr[b] = q;
  return q;
}

#define OFFSET_VECTORS 6
typedef float v8fu __attribute__((vector_size(32), aligned(4)));
typedef float v4fu __attribute__((vector_size(16), aligned(4)));
// The registers' width (REG_LANES; a 16-float type built for AVX2 lives on the stack and ran 5× slower than sgemm).
typedef vreg offset_vec;
typedef vregu offset_vecu;
#define OFFSET_LANES REG_LANES

// out[i, :] = c·colsum(m) + Σ vals[p]·m[idx[p], :] over row i's entries, for rows i < rows; m is [mrows, n].
// Columns go OFFSET_VECTORS vectors at a time, held in registers while a row's entries go by, the chunk outer so that
// m's slice (784 × 384 B for the MLP's input layer) stays in L2 for the whole batch; the last n % OFFSET_LANES
// columns in 8-, 4- and 1-wide pieces.
SPARSE_FMA static void offset_product(int rows, int n, int mrows, const int32_t *ptr, const int32_t *idx,
                                      const float *vals, const float *m, float c, float *init, float *out) {
  memset(init, 0, (size_t)n * sizeof(float));
  for (int r = 0; r < mrows; r++)
    for (int j = 0; j < n; j++) init[j] += m[(size_t)r * n + j];
  for (int j = 0; j < n; j++) init[j] *= c;
  const int full = n / OFFSET_LANES * OFFSET_LANES;
  for (int j0 = 0; j0 < full; j0 += OFFSET_LANES * OFFSET_VECTORS) {
    const int left = (full - j0) / OFFSET_LANES, nv = left < OFFSET_VECTORS ? left : OFFSET_VECTORS;
    for (int i = 0; i < rows; i++) {
      offset_vec a[OFFSET_VECTORS];
      for (int v = 0; v < nv; v++) a[v] = (offset_vec)(*(const offset_vecu *)(init + j0 + OFFSET_LANES * v));
      for (int p = ptr[i]; p < ptr[i + 1]; p++) {
        const float s = vals[p];
        const float *row = m + (size_t)idx[p] * n + j0;
        if (nv == OFFSET_VECTORS)
          for (int v = 0; v < OFFSET_VECTORS; v++) a[v] += s * (offset_vec)(*(const offset_vecu *)(row + OFFSET_LANES * v));
        else
          for (int v = 0; v < nv; v++) a[v] += s * (offset_vec)(*(const offset_vecu *)(row + OFFSET_LANES * v));
      }
      for (int v = 0; v < nv; v++) *(offset_vecu *)(out + (size_t)i * n + j0 + OFFSET_LANES * v) = a[v];
    }
  }
  const int tail = n - full;
  if (!tail) return;
  const int has8 = tail >= 8, has4 = tail - 8 * has8 >= 4, rest = full + 8 * has8 + 4 * has4;
  for (int i = 0; i < rows; i++) {
    v8f a8 = {0};
    v4f a4 = {0};
    float a1[3] = {0};
    if (has8) a8 = *(const v8fu *)(init + full);
    if (has4) a4 = *(const v4fu *)(init + full + 8 * has8);
    for (int j = rest; j < n; j++) a1[j - rest] = init[j];
    for (int p = ptr[i]; p < ptr[i + 1]; p++) {
      const float s = vals[p];
      const float *row = m + (size_t)idx[p] * n;
      if (has8) a8 += s * *(const v8fu *)(row + full);
      if (has4) a4 += s * *(const v4fu *)(row + full + 8 * has8);
      for (int j = rest; j < n; j++) a1[j - rest] += s * row[j];
    }
    float *o = out + (size_t)i * n;
    if (has8) *(v8fu *)(o + full) = a8;
    if (has4) *(v4fu *)(o + full + 8 * has8) = a4;
    for (int j = rest; j < n; j++) o[j] = a1[j - rest];
  }
}

// offsetEntries(x, entries, vals, dims[b, k, byColumn], c): s's entries of x (see offset_entries) into entries
// ([ptr, idx]: b + 1 or k + 1, then b·k at most) and vals (b·k at most); returns their count.
static napi_value offset_entries_napi(napi_env env, napi_callback_info info) {
  Args a;
  if (!get_args(env, info, &a, 5)) return NULL;
  int32_t *d = i32_arg(&a, 3, 3);
  if (!d) return NULL;
  const int b = d[0], k = d[1], by_column = d[2];
  if (b < 0 || k < 0) return fail(&a, "bad dimensions"), NULL;
  const size_t all = (size_t)b * k, heads = (size_t)(by_column ? k : b) + 1;
  float *x = f32_arg(&a, 0, all), *vals = f32_arg(&a, 2, all);
  int32_t *entries = i32_arg(&a, 1, heads + all);
  const float c = (float)num_arg(&a, 4);
  if (a.failed) return NULL;
  const int32_t nnz = offset_entries(x, b, k, c, by_column, entries, entries + heads, vals);
  if (nnz < 0) return fail(&a, "out of memory"), NULL;
  napi_value out;
  napi_create_int32(env, nnz, &out);
  return out;
}

// A listing's starts in order and its indices below `limit` (checked before any kernel follows them); throws if not.
static int entries_valid(Args *a, const int32_t *entries, int heads, int limit) {
  for (int i = 0; i < heads; i++)
    if (entries[i] < 0 || entries[i] > entries[i + 1]) return fail(a, "entries' row starts are not in order");
  const int32_t *idx = entries + heads + 1;
  for (int32_t q = 0; q < entries[heads]; q++)
    if (idx[q] < 0 || idx[q] >= limit) return fail(a, "an entry's index is outside m");
  return 1;
}

// offsetProduct(entries, vals, m, out, dims[rows, n, mrows], c): out[rows, n] = c·colsum(m) + the entries' rows of m
// (entries as offsetEntries wrote them, with `rows` heads).
static napi_value offset_product_napi(napi_env env, napi_callback_info info) {
  Args a;
  if (!get_args(env, info, &a, 6)) return NULL;
  int32_t *d = i32_arg(&a, 4, 3);
  if (!d) return NULL;
  const int rows = d[0], n = d[1], mrows = d[2];
  if (rows < 0 || n < 0 || mrows < 0) return fail(&a, "bad dimensions"), NULL;
  int32_t *entries = i32_arg(&a, 0, (size_t)rows + 1);
  if (!entries) return NULL;
  const int32_t nnz = entries[rows];
  const float *vals = f32_arg(&a, 1, (size_t)nnz), *m = f32_arg(&a, 2, (size_t)mrows * n);
  float *out = f32_arg(&a, 3, (size_t)rows * n);
  const float c = (float)num_arg(&a, 5);
  if (a.failed || !i32_arg(&a, 0, (size_t)rows + 1 + nnz)) return NULL;
  const int32_t *idx = entries + rows + 1;
  if (!entries_valid(&a, entries, rows, mrows)) return NULL;
  float *init = scratch_floats((size_t)n);
  if (!init) return fail(&a, "out of memory"), NULL;
  offset_product(rows, n, mrows, entries, idx, vals, m, c, init, out);
  return NULL;
}

// offsetTranspose(entries, vals, columns, columnVals, dims[b, k]): offsetEntries' listing by row (b + 1 starts)
// listed again by column (k + 1 starts), as offsetEntries would list it by column; the input is not read again.
static napi_value offset_transpose_napi(napi_env env, napi_callback_info info) {
  Args a;
  if (!get_args(env, info, &a, 5)) return NULL;
  int32_t *d = i32_arg(&a, 4, 2);
  if (!d) return NULL;
  const int b = d[0], k = d[1];
  if (b < 0 || k < 0) return fail(&a, "bad dimensions"), NULL;
  int32_t *entries = i32_arg(&a, 0, (size_t)b + 1);
  if (!entries) return NULL;
  const int32_t nnz = entries[b];
  if (nnz < 0 || !i32_arg(&a, 0, (size_t)b + 1 + nnz) || !entries_valid(&a, entries, b, k)) return NULL;
  const float *vals = f32_arg(&a, 1, (size_t)nnz);
  int32_t *columns = i32_arg(&a, 2, (size_t)k + 1 + nnz);
  float *cvals = f32_arg(&a, 3, (size_t)nnz);
  if (a.failed) return NULL;
  transpose_entries(b, k, entries, entries + b + 1, vals, columns, columns + k + 1, cvals);
  return NULL;
}


// ---- The membership-inference attack's RBF C-SVC (rbf_svc.c; ml/metrics/rbf-svc.ts orders the rows) ----
static void *typed_arg(Args *a, size_t i, napi_typedarray_type want, size_t need, const char *what) {
  napi_typedarray_type type;
  size_t len;
  void *data;
  if (a->failed) return NULL;
  if (napi_get_typedarray_info(a->env, a->argv[i], &type, &len, &data, NULL, NULL) != napi_ok || type != want ||
      len < need) {
    fail(a, what);
    return NULL;
  }
  return data;
}

// The element count of typed array argument i (0 after a failure, which the typed_arg calls then report).
static size_t typed_len(Args *a, size_t i) {
  size_t len = 0;
  if (!a->failed && napi_get_typedarray_info(a->env, a->argv[i], NULL, &len, NULL, NULL, NULL) != napi_ok)
    fail(a, "expected a typed array");
  return len;
}

// rbfSvcSolve(x: Float64Array, y: Int8Array (±1), alpha: Float64Array, [dims, C, gamma, eps]: Float64Array)
// → [rho, iterations]; alpha gets one α per row.
static napi_value rbf_svc_solve_napi(napi_env env, napi_callback_info info) {
  Args a;
  if (!get_args(env, info, &a, 4)) return NULL;
  const double *p = typed_arg(&a, 3, napi_float64_array, 4, "expected [dims, C, gamma, eps] as a Float64Array");
  if (a.failed) return NULL;
  const int dims = (int)p[0];
  const size_t l = typed_len(&a, 1);
  if (dims < 1) return fail(&a, "dims must be at least 1"), NULL;
  const double *x = typed_arg(&a, 0, napi_float64_array, l * dims, "expected rows as a Float64Array");
  const signed char *y = typed_arg(&a, 1, napi_int8_array, l, "expected ±1 labels as an Int8Array");
  double *alpha = typed_arg(&a, 2, napi_float64_array, l, "expected α as a Float64Array");
  if (a.failed) return NULL;
  double rho = 0;
  long iterations = 0;
  if (!rbf_svc_solve((int)l, dims, x, y, p[1], p[2], p[3], alpha, &rho, &iterations))
    return fail(&a, "out of memory"), NULL;
  napi_value out, v;
  napi_create_array_with_length(env, 2, &out);
  napi_create_double(env, rho, &v);
  napi_set_element(env, out, 0, v);
  napi_create_double(env, (double)iterations, &v);
  napi_set_element(env, out, 1, v);
  return out;
}

// rbfSvcDecisions(q: Float64Array, sv: Float64Array, coef: Float64Array, out: Float64Array,
// [dims, gamma, rho, signsOnly?]).
static napi_value rbf_svc_decisions_napi(napi_env env, napi_callback_info info) {
  Args a;
  if (!get_args(env, info, &a, 5)) return NULL;
  const double *p = typed_arg(&a, 4, napi_float64_array, 3, "expected [dims, gamma, rho] as a Float64Array");
  if (a.failed) return NULL;
  const int dims = (int)p[0];
  const size_t n = typed_len(&a, 3), count = typed_len(&a, 2);
  if (dims < 1) return fail(&a, "dims must be at least 1"), NULL;
  const double *q = typed_arg(&a, 0, napi_float64_array, n * dims, "expected queries as a Float64Array");
  const double *sv = typed_arg(&a, 1, napi_float64_array, count * dims, "expected support vectors as a Float64Array");
  const double *coef = typed_arg(&a, 2, napi_float64_array, count, "expected coefficients as a Float64Array");
  double *out = typed_arg(&a, 3, napi_float64_array, n, "expected a Float64Array for the decisions");
  if (a.failed) return NULL;
  const int signs_only = typed_len(&a, 4) > 3 && p[3] != 0;
  rbf_svc_decisions((int)n, dims, q, (int)count, sv, coef, p[1], p[2], signs_only, out);
  return NULL;
}

// ---- Pruning's top-k: the k largest scores (ml/prune/mask-ops.ts's topK, whose JavaScript this replaces) ----
// Scores become unsigned keys in float order (−0 below +0, NaNs above +∞); a 16-bit histogram of the eligible
// keys' high halves finds the bucket of the (m − k)-th smallest, a second over that bucket's low halves the key;
// every key above it is kept, then the first (lowest-index) keys equal to it until k are. SynFlow calls this 100
// times per mask; in JavaScript it took 3.3 ms (5.7 with a mask of eligible entries) for the MLP's 266k weights.
static inline uint32_t float_key(uint32_t b) {
  return (b & 0x7fffffffu) > 0x7f800000u ? 0xffffffffu : b & 0x80000000u ? ~b : b | 0x80000000u;
}

// The (m − k)-th smallest eligible key, m counted on the way. Branch-free over the flags (each adds 1 or 0: a
// branch on them mispredicted on SynFlow's masks).
static uint32_t histogram_select(const uint32_t *bits, const uint8_t *eligible, size_t n, size_t k, size_t *m_out) {
  static uint32_t hist[65536];  // one call at a time: the addon is called from the JavaScript thread
  memset(hist, 0, sizeof hist);
  size_t m = 0;
  for (size_t i = 0; i < n; i++) {
    const uint32_t e = eligible[i] != 0;
    hist[float_key(bits[i]) >> 16] += e;
    m += e;
  }
  *m_out = m;
  if (k == 0 || k >= m) return 0;
  size_t rank = m - k;
  uint32_t high = 0;
  while (rank >= hist[high]) rank -= hist[high++];
  memset(hist, 0, sizeof hist);
  for (size_t i = 0; i < n; i++) {
    const uint32_t key = float_key(bits[i]);
    if (key >> 16 == high) hist[key & 0xffff] += eligible[i] != 0;
  }
  uint32_t low = 0;
  while (rank >= hist[low]) rank -= hist[low++];
  return high << 16 | low;
}

// topK(scores: Float32Array, eligible: Uint8Array (empty: all are), keep: Uint8Array, dims [k]): keep gets 1 at
// the chosen entries, 0 elsewhere.
static napi_value top_k(napi_env env, napi_callback_info info) {
  Args a;
  if (!get_args(env, info, &a, 4)) return NULL;
  const size_t n = typed_len(&a, 0), flags = typed_len(&a, 1);
  const int32_t *d = i32_arg(&a, 3, 1);
  const uint32_t *bits = typed_arg(&a, 0, napi_float32_array, n, "expected scores as a Float32Array");
  const uint8_t *given = flags ? typed_arg(&a, 1, napi_uint8_array, n, "expected eligible flags as a Uint8Array") : NULL;
  uint8_t *keep = typed_arg(&a, 2, napi_uint8_array, n, "expected a Uint8Array for the kept entries");
  if (a.failed) return NULL;
  uint8_t *all = given ? NULL : malloc(n ? n : 1);  // no flags: all eligible (one code path, ~10 µs to fill)
  if (!given && !all) return fail(&a, "out of memory"), NULL;
  if (all) memset(all, 1, n);
  const uint8_t *eligible = given ? given : all;
  const size_t k = d[0] > 0 ? (size_t)d[0] : 0;
  size_t m;
  const uint32_t threshold = histogram_select(bits, eligible, n, k, &m);
  if (k == 0 || k >= m) {
    for (size_t i = 0; i < n; i++) keep[i] = k != 0 && eligible[i] != 0;
  } else {
    size_t above = 0;
    for (size_t i = 0; i < n; i++) {
      const uint8_t take = (float_key(bits[i]) > threshold) & (eligible[i] != 0);
      keep[i] = take;
      above += take;
    }
    for (size_t i = 0, ties = k - above; i < n && ties > 0; i++)
      if (float_key(bits[i]) == threshold && eligible[i]) {
        keep[i] = 1;
        ties--;
      }
  }
  free(all);
  return NULL;
}

// ---- Softmax cross-entropy with integer labels, and its gradient (one kernel each instead of ~20 small tfjs ops) ----
// loss = −(1/b) Σ_i Σ_j onehot(y_i)_j · log softmax(z_i)_j, as tfjs's op-by-op form (a label outside [0, c) has an
// all-zero one-hot row: it adds nothing, and the mean still divides by b). Gradient: dz_ij = dy · (p_ij · s_i −
// onehot_ij) / b with s_i = Σ_j onehot_ij. float32 throughout, row maximum subtracted before exp.
static float row_log_sum_exp(const float *z, int c, float *mx) {
  float m = z[0];
  for (int j = 1; j < c; j++) m = z[j] > m ? z[j] : m;
  float sum = 0;
  for (int j = 0; j < c; j++) sum += expf(z[j] - m);
  *mx = m;
  return logf(sum);
}

// softmaxCrossEntropy(logits, labels, out[1], dims[b, c])
static napi_value softmax_cross_entropy(napi_env env, napi_callback_info info) {
  Args a;
  if (!get_args(env, info, &a, 4)) return NULL;
  int32_t *d = i32_arg(&a, 3, 2);
  if (!d) return NULL;
  const int b = d[0], c = d[1];
  float *z = f32_arg(&a, 0, (size_t)b * c), *out = f32_arg(&a, 2, 1);
  int32_t *y = i32_arg(&a, 1, (size_t)b);
  if (a.failed) return NULL;
  float total = 0;
  for (int i = 0; i < b; i++) {
    if (y[i] < 0 || y[i] >= c) continue;
    float m;
    const float lse = row_log_sum_exp(z + (size_t)i * c, c, &m);
    total += (z[(size_t)i * c + y[i]] - m) - lse;
  }
  out[0] = b > 0 ? -(total / b) : 0;
  return NULL;
}

// softmaxCrossEntropyGrad(logits, labels, dy[1], dz, dims[b, c])
static napi_value softmax_cross_entropy_grad(napi_env env, napi_callback_info info) {
  Args a;
  if (!get_args(env, info, &a, 5)) return NULL;
  int32_t *d = i32_arg(&a, 4, 2);
  if (!d) return NULL;
  const int b = d[0], c = d[1];
  float *z = f32_arg(&a, 0, (size_t)b * c), *dy = f32_arg(&a, 2, 1), *dz = f32_arg(&a, 3, (size_t)b * c);
  int32_t *y = i32_arg(&a, 1, (size_t)b);
  if (a.failed) return NULL;
  const float scale = b > 0 ? dy[0] / b : 0;
  for (int i = 0; i < b; i++) {
    const float *zi = z + (size_t)i * c;
    float *gi = dz + (size_t)i * c;
    const int in_range = y[i] >= 0 && y[i] < c;
    if (!in_range) {
      for (int j = 0; j < c; j++) gi[j] = 0;
      continue;
    }
    float m;
    const float lse = row_log_sum_exp(zi, c, &m);
    for (int j = 0; j < c; j++) gi[j] = scale * (expf(zi[j] - m - lse) - (j == y[i] ? 1.0f : 0.0f));
  }
  return NULL;
}

static napi_value set_threads(napi_env env, napi_callback_info info) {
  Args a;
  if (!get_args(env, info, &a, 1)) return NULL;
  const double t = num_arg(&a, 0);
  if (a.failed) return NULL;
  max_threads = t < 1 ? 1 : t > MAX_THREADS ? MAX_THREADS : (int)t;
  openblas_set_num_threads(1);
  return NULL;
}

static napi_value describe(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out, v;
  napi_create_object(env, &out);
  napi_create_string_utf8(env, openblas_get_config(), NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, out, "config", v);
  napi_create_string_utf8(env, openblas_get_corename(), NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, out, "core", v);
  napi_create_int32(env, max_threads, &v);
  napi_set_named_property(env, out, "threads", v);
  // The vector kernels' register width as built (-march): 512 with AVX-512, 256 with AVX2, else 128.
#if defined(__AVX512F__)
  napi_create_int32(env, 512, &v);
#elif defined(__AVX2__)
  napi_create_int32(env, 256, &v);
#else
  napi_create_int32(env, 128, &v);
#endif
  napi_set_named_property(env, out, "vectorBits", v);
  return out;
}

static napi_value init(napi_env env, napi_value exports) {
  const struct {
    const char *name;
    napi_callback fn;
  } fns[] = {{"gemm", gemm},
             {"conv2d", conv2d},
             {"conv2dBackpropFilter", conv2d_backprop_filter},
             {"conv2dBackpropInput", conv2d_backprop_input},
             {"maxPoolGrad", max_pool_grad},
             {"maxPool", max_pool},
             {"sgdStep", sgd_step},
             {"biasAdd", bias_add},
             {"columnSum", column_sum},
             {"biasAddRelu", bias_add_relu},
             {"reluGrad", relu_grad},
             {"gatherRows", gather_rows},
             {"decodeRows", decode_rows},
             {"topK", top_k},
             {"batchNormTrain", batch_norm_train},
             {"batchNormGrad", batch_norm_grad},
             {"sparseMatMul", sparse_matmul_napi},
             {"softmaxCrossEntropy", softmax_cross_entropy},
             {"softmaxCrossEntropyGrad", softmax_cross_entropy_grad},
             {"sparseMatMulGradX", sparse_matmul_grad_x_napi},
             {"sparseMatMulGradW", sparse_matmul_grad_w_napi},
             {"offsetEntries", offset_entries_napi},
             {"offsetProduct", offset_product_napi},
             {"offsetTranspose", offset_transpose_napi},
             {"rbfSvcSolve", rbf_svc_solve_napi},
             {"rbfSvcDecisions", rbf_svc_decisions_napi},
             {"setThreads", set_threads},
             {"describe", describe}};
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    napi_value f;
    napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].fn, NULL, &f);
    napi_set_named_property(env, exports, fns[i].name, f);
  }
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
